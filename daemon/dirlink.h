/*
 * dirlink: the signed directory passed on peer to peer (PROTOCOL.md section 17), as the
 * CRL is: our serial in each Hello, a Directory frame to a peer that announced an older
 * one, a peer's Directory judged by dirsig and, when newer and good, applied like a
 * reload of the directory (authorities no longer listed lose their links at once) and
 * passed on. It never dials for it and never closes a link over a refused Directory.
 */
#ifndef ROGATORY_DIRLINK_H
#define ROGATORY_DIRLINK_H

#include "wire.h"

struct link;
struct rogatoryd;

/* A ready link (not CRL-only): sends our signed directory when the peer announced an
 * older one (never to a peer that announced 0: it runs unsigned). */
void dirlink_ready(struct rogatoryd *d, struct link *l);
/* A Directory frame from the link's peer. */
void dirlink_frame(struct rogatoryd *d, struct link *l, const Rogatory__V1__Directory *m);

#endif
