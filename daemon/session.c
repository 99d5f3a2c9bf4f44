/*
 * session: login links and console sessions in memory (contract in session.h). It must
 * never keep or log a login or session token in the clear, never answer differently
 * for an unknown, used or expired login token, and never grow past its bounds.
 */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "log.h"

#define SESSION_HASH_LEN 32

struct login {
	bool used;                      /* slot holds an unused token */
	uint8_t hash[SESSION_HASH_LEN]; /* SHA-256 of the token's hex text */
	char name[SESSION_NAME_MAX + 1];
	enum session_role role;
	uint64_t created_ms;
	uint64_t expires_ms;
};

struct sess {
	bool live;
	uint8_t hash[SESSION_HASH_LEN];
	struct session_info info;
};

struct sessions {
	struct session_times t;
	struct login logins[SESSION_LOGINS_MAX];
	struct sess sess[SESSION_MAX];
	uint64_t next_serial;
};

static int random_hex(char out[SESSION_TOKEN_HEX + 1]);
static void sha256(const uint8_t *p, size_t n, uint8_t out[SESSION_HASH_LEN]);
static void sweep(struct sessions *s, uint64_t now_ms);
static void sess_end(struct sess *x, const char *why);
static uint64_t idle_deadline(const struct sessions *s, const struct session_info *i);

static const char *const role_names[] = {"viewer", "officer", "operator"};

void
session_times_default(struct session_times *t)
{
	t->login_s = 600;
	t->idle_s = 1800;
	t->max_s = 43200;
#ifdef ROGATORY_TEST_HOOKS
	const char *e = getenv("ROGATORY_TEST_CONSOLE_TIMES");
	if (e == NULL || e[0] == '\0')
		return;
	unsigned long long v[3];
	const char *p = e;
	for (int i = 0; i < 3; i++) {
		char *end;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		bool last = i == 2;
		if (errno != 0 || end == p || *p == '-' || v[i] == 0 || v[i] > 86400ULL * 365 ||
		    *end != (last ? '\0' : ',')) {
			log_warn("ROGATORY_TEST_CONSOLE_TIMES=%s: not LOGIN,IDLE,MAX seconds; ignored",
			    e);
			return;
		}
		p = end + 1;
	}
	t->login_s = v[0];
	t->idle_s = v[1];
	t->max_s = v[2];
	log_notice("test hook: console login links last %llus, sessions %llus idle, %llus "
	    "at most", v[0], v[1], v[2]);
#endif
}

struct sessions *
sessions_new(const struct session_times *t)
{
	struct sessions *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->t = *t;
	s->next_serial = 1;
	return s;
}

void
sessions_free(struct sessions *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

const char *
session_role_name(enum session_role r)
{
	return (unsigned)r < sizeof(role_names) / sizeof(role_names[0]) ? role_names[r] : "?";
}

int
session_role_parse(const char *p, size_t len, enum session_role *out)
{
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (strlen(role_names[i]) == len && memcmp(role_names[i], p, len) == 0) {
			*out = (enum session_role)i;
			return 0;
		}
	}
	return -1;
}

bool
session_name_valid(const uint8_t *p, size_t len)
{
	if (len < 1 || len > SESSION_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static int
random_hex(char out[SESSION_TOKEN_HEX + 1])
{
	uint8_t b[SESSION_TOKEN_HEX / 2];
	if (RAND_bytes(b, (int)sizeof(b)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

static void
sha256(const uint8_t *p, size_t n, uint8_t out[SESSION_HASH_LEN])
{
	unsigned int len = SESSION_HASH_LEN;
	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
		fatal("session: SHA-256 failed");
}

static uint64_t
idle_deadline(const struct sessions *s, const struct session_info *i)
{
	uint64_t d = i->last_used_ms + s->t.idle_s * 1000;
	return d < i->expires_ms ? d : i->expires_ms;
}

static void
sess_end(struct sess *x, const char *why)
{
	log_info("console session of %s (%s) ended: %s", x->info.name,
	    session_role_name(x->info.role), why);
	OPENSSL_cleanse(x, sizeof(*x));
}

/* Drops what lapsed: login tokens past their 10 minutes, sessions idle or past 12 h. */
static void
sweep(struct sessions *s, uint64_t now_ms)
{
	for (size_t i = 0; i < SESSION_LOGINS_MAX; i++) {
		struct login *l = &s->logins[i];
		if (l->used && now_ms >= l->expires_ms) {
			log_info("console login link for %s (%s) expired unused", l->name,
			    session_role_name(l->role));
			OPENSSL_cleanse(l, sizeof(*l));
		}
	}
	for (size_t i = 0; i < SESSION_MAX; i++) {
		struct sess *x = &s->sess[i];
		if (!x->live)
			continue;
		if (now_ms >= x->info.expires_ms)
			sess_end(x, "its time limit passed");
		else if (now_ms >= idle_deadline(s, &x->info))
			sess_end(x, "idle time-out");
	}
}

int
sessions_login(struct sessions *s, const char *name, enum session_role role, uint64_t now_ms,
    char token[SESSION_TOKEN_HEX + 1], uint64_t *expires_ms, char *err, size_t errlen)
{
	sweep(s, now_ms);
	struct login *slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < SESSION_LOGINS_MAX && slot == NULL; i++) {
		struct login *l = &s->logins[i];
		if (!l->used)
			slot = l;
		else if (oldest == NULL || l->created_ms < oldest->created_ms)
			oldest = l;
	}
	if (random_hex(token) != 0)
		return err_set(err, errlen, "no random bytes for a login token");
	if (slot == NULL) {
		log_warn("console: %d unused login links; the oldest (for %s) is dropped",
		    SESSION_LOGINS_MAX, oldest->name);
		OPENSSL_cleanse(oldest, sizeof(*oldest));
		slot = oldest;
	}
	slot->used = true;
	sha256((const uint8_t *)token, SESSION_TOKEN_HEX, slot->hash);
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->role = role;
	slot->created_ms = now_ms;
	slot->expires_ms = now_ms + s->t.login_s * 1000;
	*expires_ms = slot->expires_ms;
	log_info("console login link created for %s (%s), valid %llu s", name,
	    session_role_name(role), (unsigned long long)s->t.login_s);
	return 0;
}

int
sessions_redeem(struct sessions *s, const uint8_t *token, size_t len, uint64_t now_ms,
    char session[SESSION_TOKEN_HEX + 1], struct session_info *out)
{
	uint8_t h[SESSION_HASH_LEN];
	sweep(s, now_ms);
	sha256(token, len, h);
	struct login *found = NULL;
	/* Every slot is compared, so the time says nothing of where (or whether) it is. */
	for (size_t i = 0; i < SESSION_LOGINS_MAX; i++) {
		struct login *l = &s->logins[i];
		if (l->used && CRYPTO_memcmp(l->hash, h, SESSION_HASH_LEN) == 0)
			found = l;
	}
	if (found == NULL || len != SESSION_TOKEN_HEX)
		return -1;
	struct sess *slot = NULL, *lru = NULL;
	for (size_t i = 0; i < SESSION_MAX && slot == NULL; i++) {
		struct sess *x = &s->sess[i];
		if (!x->live)
			slot = x;
		else if (lru == NULL || x->info.last_used_ms < lru->info.last_used_ms)
			lru = x;
	}
	struct sess fresh = {.live = true};
	if (random_hex(session) != 0 || random_hex(fresh.info.csrf) != 0)
		return -1;
	if (slot == NULL) {
		log_warn("console: %d sessions open; the least recently used one is ended",
		    SESSION_MAX);
		sess_end(lru, "too many sessions (the least recently used)");
		slot = lru;
	}
	sha256((const uint8_t *)session, SESSION_TOKEN_HEX, fresh.hash);
	fresh.info.serial = s->next_serial++;
	snprintf(fresh.info.name, sizeof(fresh.info.name), "%s", found->name);
	fresh.info.role = found->role;
	fresh.info.created_ms = now_ms;
	fresh.info.last_used_ms = now_ms;
	fresh.info.expires_ms = now_ms + s->t.max_s * 1000;
	fresh.info.idle_expires_ms = idle_deadline(s, &fresh.info);
	*slot = fresh;
	*out = fresh.info;
	OPENSSL_cleanse(found, sizeof(*found));     /* once */
	OPENSSL_cleanse(&fresh, sizeof(fresh));
	log_info("console login link of %s (%s) redeemed: session opened", out->name,
	    session_role_name(out->role));
	return 0;
}

int
sessions_find(struct sessions *s, const uint8_t *token, size_t len, uint64_t now_ms,
    bool touch, struct session_info *out)
{
	uint8_t h[SESSION_HASH_LEN];
	sweep(s, now_ms);
	sha256(token, len, h);
	struct sess *found = NULL;
	for (size_t i = 0; i < SESSION_MAX; i++) {
		struct sess *x = &s->sess[i];
		if (x->live && CRYPTO_memcmp(x->hash, h, SESSION_HASH_LEN) == 0)
			found = x;
	}
	if (found == NULL || len != SESSION_TOKEN_HEX)
		return -1;
	if (touch)
		found->info.last_used_ms = now_ms;
	found->info.idle_expires_ms = idle_deadline(s, &found->info);
	*out = found->info;
	return 0;
}

bool
sessions_csrf_ok(struct sessions *s, uint64_t serial, const uint8_t *csrf, size_t len)
{
	uint8_t want[SESSION_HASH_LEN], got[SESSION_HASH_LEN];
	for (size_t i = 0; i < SESSION_MAX; i++) {
		struct sess *x = &s->sess[i];
		if (!x->live || x->info.serial != serial)
			continue;
		sha256((const uint8_t *)x->info.csrf, SESSION_TOKEN_HEX, want);
		sha256(csrf, len, got);
		return len == SESSION_TOKEN_HEX &&
		    CRYPTO_memcmp(want, got, SESSION_HASH_LEN) == 0;
	}
	return false;
}

int
sessions_list(struct sessions *s, uint64_t now_ms, struct session_info *out, int max)
{
	sweep(s, now_ms);
	int n = 0;
	for (size_t i = 0; i < SESSION_MAX && n < max; i++)
		if (s->sess[i].live)
			out[n++] = s->sess[i].info;
	/* Oldest first (serials grow with time); at most 256: insertion sort. */
	for (int i = 1; i < n; i++) {
		struct session_info v = out[i];
		int j = i - 1;
		for (; j >= 0 && out[j].serial > v.serial; j--)
			out[j + 1] = out[j];
		out[j + 1] = v;
	}
	return n;
}

void
sessions_revoke(struct sessions *s, const char *name, int *nsess, int *nlogins)
{
	*nsess = 0;
	*nlogins = 0;
	for (size_t i = 0; i < SESSION_MAX; i++) {
		struct sess *x = &s->sess[i];
		if (x->live && strcmp(x->info.name, name) == 0) {
			sess_end(x, "revoked by an operator");
			(*nsess)++;
		}
	}
	for (size_t i = 0; i < SESSION_LOGINS_MAX; i++) {
		struct login *l = &s->logins[i];
		if (l->used && strcmp(l->name, name) == 0) {
			log_info("console login link for %s (%s) revoked by an operator", l->name,
			    session_role_name(l->role));
			OPENSSL_cleanse(l, sizeof(*l));
			(*nlogins)++;
		}
	}
}

int
sessions_end(struct sessions *s, uint64_t serial, const char *why)
{
	for (size_t i = 0; i < SESSION_MAX; i++) {
		struct sess *x = &s->sess[i];
		if (x->live && x->info.serial == serial) {
			sess_end(x, why);
			return 0;
		}
	}
	return -1;
}

int
sessions_count(struct sessions *s, uint64_t now_ms)
{
	sweep(s, now_ms);
	int n = 0;
	for (size_t i = 0; i < SESSION_MAX; i++)
		n += s->sess[i].live;
	return n;
}

int
sessions_logins(struct sessions *s, uint64_t now_ms)
{
	sweep(s, now_ms);
	int n = 0;
	for (size_t i = 0; i < SESSION_LOGINS_MAX; i++)
		n += s->logins[i].used;
	return n;
}
