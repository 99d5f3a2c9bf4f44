/*
 * snapshot: one reading of what the metrics and the alerts report about the daemon:
 * every authority (link, certificate seen, paused, open outbound messages per state and
 * the oldest of them, unfetched inbound ones), our certificate, the effective CRL, the
 * store's size and the room on its disk. Taken on the loop thread (store reads on the
 * read-only connection); taking it changes nothing.
 */
#ifndef ROGATORY_SNAPSHOT_H
#define ROGATORY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "peer.h"
#include "store.h"
#include "text.h"

struct rogatoryd;

struct snapshot_peer {
	char id[AUTHORITY_ID_MAX + 1];
	bool listed;                  /* in the directory (else: only messages name it) */
	enum peer_state state;
	unsigned links_up;
	time_t cert_not_after;        /* 0: not seen since start */
	char last_error[160];
	bool paused;
	int64_t queue[STORE_STATE_COUNT]; /* open outbound messages per state */
	int64_t open;                 /* their sum */
	int64_t oldest_open_us;       /* created_us of the oldest open one; 0: none */
	int64_t unfetched;            /* received from it, not fetched */
	bool audit_fork;              /* as its witness: a fork of its audit log seen, and no
	                               * consistent checkpoint of it accepted since */
};

struct snapshot_cases {
	enum store_dir dir;           /* STORE_OUT: we sent the request */
	char state[40];
	int64_t count;
};

struct snapshot {
	int64_t now_us;               /* wall clock */
	char self[AUTHORITY_ID_MAX + 1];
	time_t own_not_after;
	bool crl_on;                  /* revocation is on: the CRL fields hold */
	uint64_t crl_number;
	time_t crl_this_update, crl_next_update;
	bool store_read;              /* the store's statistics were read (else zero) */
	int64_t store_bytes;          /* -1: unknown */
	uint64_t store_max;           /* [store] max_size; 0: none */
	int64_t disk_free, disk_total; /* bytes on state_dir's file system; -1: unknown */
	struct snapshot_peer *peers;  /* the directory's authorities first, in its order */
	size_t npeers;
	struct snapshot_cases *cases; /* cases per direction and state (store_read) */
	size_t ncases;
};

/* Fills s (snapshot_free it after). 0; -1 only when out of memory (a store that cannot
 * be read leaves store_read false). */
int snapshot_take(struct rogatoryd *d, struct snapshot *s);
void snapshot_free(struct snapshot *s);
/* The entry of authority id, or NULL. */
const struct snapshot_peer *snapshot_peer(const struct snapshot *s, const char *id);

#endif
