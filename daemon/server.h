/*
 * server: the TCP listener on [network] listen. It hands accepted sockets to peers and
 * survives descriptor exhaustion: on EMFILE/ENFILE it pauses accepting and resumes on
 * a timer (libevent 2.1.12's listener would otherwise spin).
 */
#ifndef ROGATORY_SERVER_H
#define ROGATORY_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct rogatoryd;
struct server;

/* Binds and listens. Writes the bound port to <state_dir>/listen.port. -1 + err. */
int server_start(struct rogatoryd *d, struct server **out, char *err, size_t errlen);
/* Stops accepting (shutdown). */
void server_stop(struct server *s);
void server_free(struct server *s);
uint16_t server_port(const struct server *s);

#endif
