/*
 * session: the web console's login links and sessions, in the daemon's memory only (a
 * restart ends them all). A login token (rogatoryctl console login) is 128 random bits
 * shown once as 32 lowercase hex digits, valid 10 minutes and once, kept only as its
 * SHA-256. Redeeming it opens a session: a 128-bit session token (kept as its SHA-256)
 * and a 128-bit CSRF token, an idle time-out (30 min) and an absolute one (12 h) on the
 * monotonic clock. Bounded: 64 unused login tokens (the oldest dropped) and 256
 * sessions (the least recently used ended), each drop logged. Tokens are compared in
 * constant time; nothing here logs a token.
 *
 * Times: every function takes now_ms from the monotonic clock (link_now_ms in the
 * daemon; the unit tests pass their own), so the module has no clock of its own.
 * Return convention (log.h): 0 / -1; sessions_redeem's -1 says nothing on purpose (the
 * same answer for an unknown, used or expired token).
 */
#ifndef ROGATORY_SESSION_H
#define ROGATORY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SESSION_TOKEN_HEX 32        /* 128 bits as lowercase hex */
#define SESSION_NAME_MAX 32
#define SESSION_LOGINS_MAX 64
#define SESSION_MAX 256

enum session_role { SESSION_VIEWER, SESSION_OFFICER, SESSION_OPERATOR };

/* The lifetimes, in seconds (defaults: 600, 1800, 43200). */
struct session_times {
	uint64_t login_s;
	uint64_t idle_s;
	uint64_t max_s;
};

/* A session as the control handlers see it; times on the monotonic clock (ms). */
struct session_info {
	uint64_t serial;            /* unique while the daemon runs; 0: none */
	char name[SESSION_NAME_MAX + 1];
	enum session_role role;
	char csrf[SESSION_TOKEN_HEX + 1];
	uint64_t created_ms;
	uint64_t last_used_ms;
	uint64_t expires_ms;        /* absolute: created + max */
	uint64_t idle_expires_ms;   /* last use + idle, never after expires_ms */
};

struct sessions;

/* The default times, or in ROGATORY_TEST_HOOKS builds those of
 * $ROGATORY_TEST_CONSOLE_TIMES="LOGIN,IDLE,MAX" (seconds, each > 0; anything else is
 * ignored with a warning). */
void session_times_default(struct session_times *t);
struct sessions *sessions_new(const struct session_times *t);
void sessions_free(struct sessions *s);

/* "viewer", "officer", "operator" and back; -1 when unknown. */
const char *session_role_name(enum session_role r);
int session_role_parse(const char *p, size_t len, enum session_role *out);
/* [A-Za-z0-9._-]{1,32}. */
bool session_name_valid(const uint8_t *s, size_t len);

/* A new login token for name and role into token (33 bytes); *expires_ms when it lapses.
 * -1 + err when no random bytes could be had. */
int sessions_login(struct sessions *s, const char *name, enum session_role role,
    uint64_t now_ms, char token[SESSION_TOKEN_HEX + 1], uint64_t *expires_ms, char *err,
    size_t errlen);
/* Redeems token (once): a new session, its token into session (33 bytes) and its view
 * into out. -1 for a token unknown, used or expired alike (no oracle), or no random. */
int sessions_redeem(struct sessions *s, const uint8_t *token, size_t len, uint64_t now_ms,
    char session[SESSION_TOKEN_HEX + 1], struct session_info *out);
/* The live session of token: 0 with *out; -1 when unknown, ended, idle or past its
 * 12 h (ended ones are dropped and logged). touch: this is a use (idle time-out moves). */
int sessions_find(struct sessions *s, const uint8_t *token, size_t len, uint64_t now_ms,
    bool touch, struct session_info *out);
/* Whether csrf is the CSRF token of the session serial (constant time). */
bool sessions_csrf_ok(struct sessions *s, uint64_t serial, const uint8_t *csrf, size_t len);
/* Every live session, oldest first, into out (at most max): the count. */
int sessions_list(struct sessions *s, uint64_t now_ms, struct session_info *out, int max);
/* Ends every session and unused login token of name: how many of each. */
void sessions_revoke(struct sessions *s, const char *name, int *nsess, int *nlogins);
/* Ends the session serial (logout): 0, -1 when it is not live. */
int sessions_end(struct sessions *s, uint64_t serial, const char *why);
/* Live sessions and unused login tokens now (expired ones dropped first). */
int sessions_count(struct sessions *s, uint64_t now_ms);
int sessions_logins(struct sessions *s, uint64_t now_ms);

#endif
