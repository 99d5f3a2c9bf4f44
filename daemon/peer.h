/*
 * peer: the authorities of the directory as seen from here, and every link to them.
 * It dials when asked (operator or outbound work), retries with exponential backoff and
 * jitter between retry_min and retry_max, admits inbound links only for authorities of
 * the directory, and bounds connections that have not authenticated yet.
 */
#ifndef ROGATORY_PEER_H
#define ROGATORY_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct rogatoryd;
struct directory;
struct peers;

enum peer_state { PEER_IDLE, PEER_CONNECTING, PEER_UP, PEER_BACKOFF };

/* A snapshot for status output; strings valid until the next call into peers. */
struct peer_info {
	const char *id;
	const char *name;
	const char *address;
	enum peer_state state;
	unsigned links_up;          /* ready links, both directions */
	int64_t last_contact_ms;    /* wall clock; 0 = never */
	const char *last_error;     /* "" when none */
	time_t cert_not_after;      /* 0 = not seen */
	uint64_t retry_in_ms;       /* PEER_BACKOFF: time to the next dial */
};

struct peers *peers_new(struct rogatoryd *d);
void peers_free(struct peers *ps);

/* After a reload: adds new authorities, closes the links of removed ones. */
void peers_sync(struct peers *ps, const struct directory *dir);
/* Closes links whose peer certificate has expired (the links also check on their tick)
 * or is revoked by the effective CRL. */
void peers_recheck(struct peers *ps);
/* The effective CRL changed: recheck, send it on every ready link whose peer holds an
 * older one, and dial once (no retry) each authority without a usable link. */
void peers_crl_changed(struct peers *ps);
/* A newer signed directory is in force (d->dirsig): sent on every ready link whose peer
 * announced an older serial. No dial: it reaches the others on their next link. */
void peers_directory_spread(struct peers *ps);

/* Takes an accepted connection (from server). Evicts the oldest unauthenticated link
 * when max_unauthenticated is reached. */
void peers_accept(struct peers *ps, int fd, const struct sockaddr *sa, socklen_t salen);

/* Dial id now (operator "connect"). -1 + err when id is unknown or is ourselves. */
int peers_connect(struct peers *ps, const char *id, char *err, size_t errlen);

/* Outbound work for id: dial unless a link is up, being dialed, or in backoff. false
 * when id is not an authority of the directory (nothing to dial; the caller says so). */
bool peers_want(struct peers *ps, const char *id);
/* Sets or clears a LINK_HOLD_* bit on every authenticated inbound link of authority id
 * (NULL: of every authority): backpressure from the inbox. */
void peers_hold_inbound(struct peers *ps, const char *id, unsigned hold, bool on);
/* A ready link (either direction, not CRL-only) to authority id, or NULL. */
struct link *peers_ready_link(const struct peers *ps, const char *id);
/* The open link with this serial (link_serial), or NULL when it is gone. */
struct link *peers_link_find(const struct peers *ps, uint64_t serial);

/* Closes every link (shutdown). */
void peers_close_all(struct peers *ps, const char *reason);

size_t peers_count(const struct peers *ps);
/* Every authority's snapshot in directory order, in one walk (*n of them); free() it.
 * Its strings are valid until the next call into peers. */
struct peer_info *peers_info_all(const struct peers *ps, size_t *n);
unsigned peers_links_up(const struct peers *ps);
/* Links open (any state) and unauthenticated inbound links, for status and tests. */
unsigned peers_links_open(const struct peers *ps);
unsigned peers_unauthenticated(const struct peers *ps);
const char *peer_state_name(enum peer_state s);

#endif
