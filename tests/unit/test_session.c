/*
 * session: login links and console sessions with a hand-driven monotonic clock: a link
 * works once and only within its time, sessions end when idle or past their limit (a
 * re-check without touch does not keep one alive), CSRF tokens are checked exactly, the
 * bounds drop the oldest link and the least recently used session, revoke ends only the
 * name it is given.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "session.h"

static const struct session_times times = {.login_s = 600, .idle_s = 1800, .max_s = 43200};

static const uint8_t *
u(const char *s)
{
	return (const uint8_t *)s;
}

static void
login(struct sessions *s, const char *name, enum session_role role, uint64_t now,
    char tok[SESSION_TOKEN_HEX + 1])
{
	uint64_t exp;
	char err[128];
	cr_assert_eq(sessions_login(s, name, role, now, tok, &exp, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(exp, now + 600 * 1000);
	cr_assert_eq(strlen(tok), SESSION_TOKEN_HEX);
	cr_assert_eq(strspn(tok, "0123456789abcdef"), SESSION_TOKEN_HEX, "%s", tok);
}

/* A session for name opened at now; its token into stok, its view into si. */
static void
open_session(struct sessions *s, const char *name, enum session_role role, uint64_t now,
    char stok[SESSION_TOKEN_HEX + 1], struct session_info *si)
{
	char tok[SESSION_TOKEN_HEX + 1];
	login(s, name, role, now, tok);
	cr_assert_eq(sessions_redeem(s, u(tok), strlen(tok), now, stok, si), 0);
}

Test(session, a_login_link_works_once)
{
	struct sessions *s = sessions_new(&times);
	char tok[SESSION_TOKEN_HEX + 1], stok[SESSION_TOKEN_HEX + 1], again[SESSION_TOKEN_HEX + 1];
	struct session_info si;
	login(s, "alice", SESSION_OFFICER, 1000, tok);
	cr_assert_eq(sessions_logins(s, 1000), 1);
	cr_assert_eq(sessions_redeem(s, u(tok), strlen(tok), 2000, stok, &si), 0);
	cr_assert_str_eq(si.name, "alice");
	cr_assert_eq(si.role, SESSION_OFFICER);
	cr_assert_eq(si.expires_ms, 2000 + 43200ull * 1000);
	cr_assert_eq(si.idle_expires_ms, 2000 + 1800ull * 1000);
	cr_assert_str_neq(stok, tok);
	cr_assert_str_neq(si.csrf, stok);
	cr_assert_eq(sessions_redeem(s, u(tok), strlen(tok), 2001, again, &si), -1);
	cr_assert_eq(sessions_logins(s, 2001), 0);
	cr_assert_eq(sessions_count(s, 2001), 1);
	sessions_free(s);
}

Test(session, unknown_expired_and_malformed_links_are_refused)
{
	struct sessions *s = sessions_new(&times);
	char tok[SESSION_TOKEN_HEX + 1], stok[SESSION_TOKEN_HEX + 1];
	struct session_info si;
	login(s, "bob", SESSION_VIEWER, 0, tok);
	cr_assert_eq(sessions_redeem(s, u("00000000000000000000000000000000"), 32, 1, stok, &si),
	    -1);
	cr_assert_eq(sessions_redeem(s, u(tok), 31, 1, stok, &si), -1);
	cr_assert_eq(sessions_redeem(s, u(""), 0, 1, stok, &si), -1);
	/* At 10 minutes sharp it has lapsed. */
	cr_assert_eq(sessions_redeem(s, u(tok), strlen(tok), 600 * 1000, stok, &si), -1);
	cr_assert_eq(sessions_logins(s, 600 * 1000), 0);
	/* Just before, it works. */
	login(s, "bob", SESSION_VIEWER, 0, tok);
	cr_assert_eq(sessions_redeem(s, u(tok), strlen(tok), 600 * 1000 - 1, stok, &si), 0);
	sessions_free(s);
}

Test(session, idle_and_absolute_time_outs)
{
	struct sessions *s = sessions_new(&times);
	char stok[SESSION_TOKEN_HEX + 1];
	struct session_info si, got;
	open_session(s, "carol", SESSION_OPERATOR, 0, stok, &si);
	uint64_t idle = 1800ull * 1000;
	/* A re-check without touch does not move the idle time-out. */
	cr_assert_eq(sessions_find(s, u(stok), 32, idle - 10, false, &got), 0);
	cr_assert_eq(got.idle_expires_ms, idle);
	cr_assert_eq(sessions_find(s, u(stok), 32, idle, false, &got), -1);
	cr_assert_eq(sessions_count(s, idle), 0);

	/* Used every 20 minutes it lives until its 12 hours, not a minute more. */
	open_session(s, "carol", SESSION_OPERATOR, 0, stok, &si);
	uint64_t t = 0;
	for (; t + 1200 * 1000 < 43200ull * 1000; t += 1200 * 1000)
		cr_assert_eq(sessions_find(s, u(stok), 32, t, true, &got), 0, "at %llu",
		    (unsigned long long)t);
	cr_assert_leq(got.idle_expires_ms, 43200ull * 1000);
	cr_assert_eq(sessions_find(s, u(stok), 32, 43200ull * 1000, true, &got), -1);
	/* A wrong or short token finds nothing. */
	cr_assert_eq(sessions_find(s, u("0123456789abcdef0123456789abcdef"), 32, 0, true, &got),
	    -1);
	sessions_free(s);
}

Test(session, csrf_token_checked_exactly)
{
	struct sessions *s = sessions_new(&times);
	char stok[SESSION_TOKEN_HEX + 1], other[SESSION_TOKEN_HEX + 1];
	struct session_info si, so;
	open_session(s, "dave", SESSION_OFFICER, 0, stok, &si);
	open_session(s, "erin", SESSION_OFFICER, 0, other, &so);
	cr_assert(sessions_csrf_ok(s, si.serial, u(si.csrf), 32));
	cr_assert_not(sessions_csrf_ok(s, si.serial, u(so.csrf), 32), "another session's token");
	cr_assert_not(sessions_csrf_ok(s, si.serial, u(si.csrf), 31));
	cr_assert_not(sessions_csrf_ok(s, si.serial, u(""), 0));
	cr_assert_not(sessions_csrf_ok(s, si.serial, u(stok), 32), "the session token is not it");
	cr_assert_eq(sessions_end(s, si.serial, "logged out"), 0);
	cr_assert_not(sessions_csrf_ok(s, si.serial, u(si.csrf), 32), "an ended session");
	cr_assert_eq(sessions_end(s, si.serial, "logged out"), -1);
	sessions_free(s);
}

Test(session, at_most_64_links_the_oldest_dropped)
{
	struct sessions *s = sessions_new(&times);
	char first[SESSION_TOKEN_HEX + 1], tok[SESSION_TOKEN_HEX + 1], stok[SESSION_TOKEN_HEX + 1];
	struct session_info si;
	login(s, "first", SESSION_VIEWER, 0, first);
	for (int i = 1; i < SESSION_LOGINS_MAX; i++)
		login(s, "many", SESSION_VIEWER, (uint64_t)i, tok);
	cr_assert_eq(sessions_logins(s, 100), SESSION_LOGINS_MAX);
	login(s, "last", SESSION_VIEWER, 100, tok);
	cr_assert_eq(sessions_logins(s, 100), SESSION_LOGINS_MAX);
	cr_assert_eq(sessions_redeem(s, u(first), 32, 101, stok, &si), -1, "the oldest dropped");
	cr_assert_eq(sessions_redeem(s, u(tok), 32, 101, stok, &si), 0);
	sessions_free(s);
}

Test(session, at_most_256_sessions_the_least_recently_used_ended)
{
	struct sessions *s = sessions_new(&times);
	static char toks[SESSION_MAX][SESSION_TOKEN_HEX + 1];
	char extra[SESSION_TOKEN_HEX + 1];
	struct session_info si;
	for (int i = 0; i < SESSION_MAX; i++)
		open_session(s, "user", SESSION_VIEWER, (uint64_t)i, toks[i], &si);
	/* Session 0 is used again: session 1 is now the least recently used. */
	cr_assert_eq(sessions_find(s, u(toks[0]), 32, 1000, true, &si), 0);
	open_session(s, "newcomer", SESSION_VIEWER, 1001, extra, &si);
	cr_assert_eq(sessions_count(s, 1002), SESSION_MAX);
	cr_assert_eq(sessions_find(s, u(toks[1]), 32, 1002, false, &si), -1);
	cr_assert_eq(sessions_find(s, u(toks[0]), 32, 1002, false, &si), 0);
	cr_assert_eq(sessions_find(s, u(extra), 32, 1002, false, &si), 0);
	sessions_free(s);
}

Test(session, revoke_ends_only_that_name)
{
	struct sessions *s = sessions_new(&times);
	char a1[SESSION_TOKEN_HEX + 1], a2[SESSION_TOKEN_HEX + 1], b[SESSION_TOKEN_HEX + 1];
	char link[SESSION_TOKEN_HEX + 1];
	struct session_info si, list[8];
	open_session(s, "alice", SESSION_VIEWER, 0, a1, &si);
	open_session(s, "alice", SESSION_OPERATOR, 1, a2, &si);
	open_session(s, "bob", SESSION_VIEWER, 2, b, &si);
	login(s, "alice", SESSION_VIEWER, 3, link);
	cr_assert_eq(sessions_list(s, 4, list, 8), 3);
	cr_assert_str_eq(list[0].name, "alice");
	cr_assert_str_eq(list[2].name, "bob");
	int ns, nl;
	sessions_revoke(s, "alice", &ns, &nl);
	cr_assert_eq(ns, 2);
	cr_assert_eq(nl, 1);
	cr_assert_eq(sessions_find(s, u(a1), 32, 5, true, &si), -1);
	cr_assert_eq(sessions_find(s, u(a2), 32, 5, true, &si), -1);
	cr_assert_eq(sessions_find(s, u(b), 32, 5, true, &si), 0);
	cr_assert_eq(sessions_redeem(s, u(link), 32, 5, a1, &si), -1);
	cr_assert_eq(sessions_list(s, 6, list, 8), 1);
	sessions_free(s);
}

Test(session, names_roles_and_tokens)
{
	cr_assert(session_name_valid(u("a.b_c-D9"), 8));
	cr_assert(session_name_valid(u("x"), 1));
	cr_assert_not(session_name_valid(u(""), 0));
	cr_assert_not(session_name_valid(u("with space"), 10));
	cr_assert_not(session_name_valid(u("console:x"), 9));
	cr_assert_not(session_name_valid(u("abcdefghijklmnopqrstuvwxyz0123456"), 33));
	enum session_role r;
	cr_assert_eq(session_role_parse("officer", 7, &r), 0);
	cr_assert_eq(r, SESSION_OFFICER);
	cr_assert_eq(session_role_parse("operator", 8, &r), 0);
	cr_assert_eq(r, SESSION_OPERATOR);
	cr_assert_eq(session_role_parse("admin", 5, &r), -1);
	cr_assert_eq(session_role_parse("view", 4, &r), -1);
	cr_assert_str_eq(session_role_name(SESSION_VIEWER), "viewer");
	/* Tokens differ from one link to the next. */
	struct sessions *s = sessions_new(&times);
	char t1[SESSION_TOKEN_HEX + 1], t2[SESSION_TOKEN_HEX + 1];
	login(s, "a", SESSION_VIEWER, 0, t1);
	login(s, "a", SESSION_VIEWER, 0, t2);
	cr_assert_str_neq(t1, t2);
	sessions_free(s);
}

Test(session, test_hook_times)
{
	struct session_times t;
	setenv("ROGATORY_TEST_CONSOLE_TIMES", "2,3,4", 1);
	session_times_default(&t);
	cr_assert_eq(t.login_s, 2);
	cr_assert_eq(t.idle_s, 3);
	cr_assert_eq(t.max_s, 4);
	setenv("ROGATORY_TEST_CONSOLE_TIMES", "2,0,4", 1);
	session_times_default(&t);
	cr_assert_eq(t.login_s, 600, "a zero is refused: the defaults");
	setenv("ROGATORY_TEST_CONSOLE_TIMES", "2,3", 1);
	session_times_default(&t);
	cr_assert_eq(t.idle_s, 1800);
	unsetenv("ROGATORY_TEST_CONSOLE_TIMES");
	session_times_default(&t);
	cr_assert_eq(t.max_s, 43200);
}
