/*
 * pause: the set of paused authorities in memory (contract in pause.h). The store is the
 * truth; this copy changes only after a commit (pause_set from the op's completion), so
 * what the outbox obeys is always what a restart would load.
 */
#include "pause.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "text.h"

struct pause_entry {
	char peer[AUTHORITY_ID_MAX + 1];
	int64_t since_us;
};

struct pause {
	struct pause_entry *v;
	size_t n, cap;
};

static struct pause_entry *pause_find(const struct pause *p, const char *peer);
static void pause_load_cb(void *arg, const char *peer, int64_t since_us);

int
pause_new(struct store *st, struct pause **out, char *err, size_t errlen)
{
	struct pause *p = calloc(1, sizeof(*p));
	*out = NULL;
	if (p == NULL)
		return err_set(err, errlen, "out of memory");
	if (store_paused_list(st, pause_load_cb, p) != 0) {
		pause_free(p);
		return err_set(err, errlen, "cannot read the paused authorities from the store");
	}
	for (size_t i = 0; i < p->n; i++)
		log_notice("outbound messages to %s are paused (rogatoryctl resume %s)",
		    p->v[i].peer, p->v[i].peer);
	*out = p;
	return 0;
}

static void
pause_load_cb(void *arg, const char *peer, int64_t since_us)
{
	pause_set(arg, peer, true, since_us);
}

void
pause_free(struct pause *p)
{
	if (p == NULL)
		return;
	free(p->v);
	free(p);
}

static struct pause_entry *
pause_find(const struct pause *p, const char *peer)
{
	for (size_t i = 0; p != NULL && i < p->n; i++)
		if (strcmp(p->v[i].peer, peer) == 0)
			return &p->v[i];
	return NULL;
}

bool
pause_is(const struct pause *p, const char *peer)
{
	return pause_find(p, peer) != NULL;
}

int64_t
pause_since_us(const struct pause *p, const char *peer)
{
	const struct pause_entry *e = pause_find(p, peer);
	return e != NULL ? e->since_us : 0;
}

void
pause_set(struct pause *p, const char *peer, bool on, int64_t since_us)
{
	struct pause_entry *e = pause_find(p, peer);
	if (!on) {
		if (e != NULL)
			*e = p->v[--p->n];
		return;
	}
	if (e != NULL)
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct pause_entry *v = realloc(p->v, cap * sizeof(*v));
		if (v == NULL)
			fatal("out of memory");
		p->v = v;
		p->cap = cap;
	}
	e = &p->v[p->n++];
	snprintf(e->peer, sizeof(e->peer), "%s", peer);
	e->since_us = since_us;
}

size_t
pause_count(const struct pause *p)
{
	return p != NULL ? p->n : 0;
}
