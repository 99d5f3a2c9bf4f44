/*
 * dirlink: the signed directory between peers (contract in dirlink.h). Error policy: a
 * Directory that is refused is logged as a warning (only an authenticated authority can
 * send one) and
 * the link stays up, as for a refused Crl; one that cannot be persisted is not adopted.
 */
#include "dirlink.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "config.h"
#include "directory.h"
#include "dirsig.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "revocation.h"
#include "rogatoryd.h"

struct dirlink_apply {
	struct rogatoryd *d;
	struct directory *dir;
};

static void dirlink_apply_cb(evutil_socket_t fd, short what, void *arg);

void
dirlink_ready(struct rogatoryd *d, struct link *l)
{
	uint64_t ours = dirsig_serial(d->dirsig), theirs = link_peer_directory_serial(l);
	/* A peer that announced 0 runs an unsigned directory (or predates the signed one
	 * and would refuse the frame): it is never sent one. */
	if (ours == 0 || theirs == 0 || theirs >= ours)
		return;
	Rogatory__V1__Envelope env = ROGATORY__V1__ENVELOPE__INIT;
	env.msg_case = ROGATORY__V1__ENVELOPE__MSG_DIRECTORY;
	env.directory = (Rogatory__V1__Directory *)dirsig_message(d->dirsig);
	if (link_send(l, &env) != 0)
		return;
	log_info("peer %s: sent the signed directory, serial %" PRIu64 " (it announced %"
	    PRIu64 ")", link_peer_id(l), ours, link_peer_directory_serial(l));
	link_set_peer_directory_serial(l, ours);
}

void
dirlink_frame(struct rogatoryd *d, struct link *l, const Rogatory__V1__Directory *m)
{
	char source[400], msg[1600];
	snprintf(source, sizeof(source), "peer %s (%s)", link_peer_id(l), link_subject(l));
	struct directory *dir = NULL;
	const struct crl *crl = revocation_crl(d->revocation);
	switch (dirsig_offer(&d->dirsig, d->cfg, crl, m, source, &dir, msg, sizeof(msg))) {
	case DIRSIG_ADOPTED:
		break;
	case DIRSIG_NOT_NEWER:
		log_debug("%s", msg);
		return;
	case DIRSIG_REFUSED:
		log_warn("%s", msg);
		return;
	case DIRSIG_ERROR:
		log_err("%s", msg);
		return;
	}
	log_notice("%s", msg);
	/* What the peer holds now, so it is not sent back. */
	link_set_peer_directory_serial(l, dirsig_serial(d->dirsig));
	/* Applied at once but outside this link's callback: peers_sync may close links (the
	 * sender's own, if the new directory drops it) and free their peers. */
	struct dirlink_apply *a = malloc(sizeof(*a));
	const struct timeval now = {0, 0};
	if (a == NULL)
		fatal("out of memory");
	a->d = d;
	a->dir = dir;
	if (event_base_once(d->base, -1, EV_TIMEOUT, dirlink_apply_cb, a, &now) != 0)
		dirlink_apply_cb(-1, 0, a);
}

/* Applied as a reload applies a directory: swapped in, every link re-judged (an
 * authority no longer listed loses its links now), then passed on. */
static void
dirlink_apply_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct dirlink_apply *a = arg;
	struct rogatoryd *d = a->d;
	directory_free(d->cfg->directory);
	d->cfg->directory = a->dir;
	free(a);
	peers_sync(d->peers, d->cfg->directory);
	peers_directory_spread(d->peers);
}
