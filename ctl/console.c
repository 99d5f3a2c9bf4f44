/*
 * console: `rogatoryctl console login NAME [--role R] [--url BASE] | sessions | revoke
 * NAME`, the host operator's side of the web console's access (docs/OPERATIONS.md, "The
 * web console: sessions and roles"). login prints a one-time link (BASE/login?token=HEX,
 * valid 10 minutes and once) for the operator to hand to NAME; it never writes the token
 * anywhere but stdout. sessions lists the live sessions; revoke ends NAME's sessions and
 * unused links. Arguments are checked here before anything reaches the daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define CONSOLE_DEFAULT_URL "http://127.0.0.1:8743"
#define CONSOLE_URL_MAX 512

static int console_usage(void);
static bool console_name_ok(const char *s);
static bool console_url_ok(const char *s, char *out, size_t cap);
static int console_login(struct ctl *c, int argc, char **argv);
static int console_sessions(struct ctl *c, int argc);
static int console_revoke(struct ctl *c, int argc, char **argv);
static void print_sessions(const json_t *r);
static void print_revoke(const json_t *r);

static int
console_usage(void)
{
	fprintf(stderr, "usage: rogatoryctl console login NAME [--role viewer|officer|operator] "
	                "[--url BASE]\n"
	                "       rogatoryctl console sessions\n"
	                "       rogatoryctl console revoke NAME\n");
	return 2;
}

/* [A-Za-z0-9._-]{1,32}, as the daemon checks it (proto/wire.c). */
static bool
console_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 32 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	        "0123456789._-") != n) {
		fprintf(stderr, "rogatoryctl: console: %s is not a name (1 to 32 letters, digits, "
		    "'.', '_' or '-')\n", s);
		return false;
	}
	return true;
}

/* An http:// or https:// base of printable ASCII without spaces; its trailing '/'s
 * dropped into out. */
static bool
console_url_ok(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);
	bool scheme = strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
	bool clean = n < cap;
	for (size_t i = 0; i < n && clean; i++)
		clean = s[i] > 0x20 && s[i] < 0x7f && s[i] != '?' && s[i] != '#';
	if (!scheme || !clean) {
		fprintf(stderr, "rogatoryctl: console: %s is not the console's base URL (like "
		    "%s or https://console.example:8743, no query)\n", s, CONSOLE_DEFAULT_URL);
		return false;
	}
	snprintf(out, cap, "%s", s);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
	return true;
}

static int
console_login(struct ctl *c, int argc, char **argv)
{
	const char *name = NULL, *role = "viewer", *url = getenv("ROGATORY_CONSOLE_URL");
	char base[CONSOLE_URL_MAX];
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			url = argv[++i];
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			return console_usage();
	}
	if (name == NULL)
		return console_usage();
	if (!console_name_ok(name))
		return 2;
	if (strcmp(role, "viewer") != 0 && strcmp(role, "officer") != 0 &&
	    strcmp(role, "operator") != 0) {
		fprintf(stderr, "rogatoryctl: console login: role %s: viewer, officer or "
		    "operator\n", role);
		return 2;
	}
	if (url == NULL || url[0] == '\0')
		url = CONSOLE_DEFAULT_URL;
	if (!console_url_ok(url, base, sizeof(base)))
		return 2;
	Rogatory__Ctl__V1__ConsoleLoginRequest q = ROGATORY__CTL__V1__CONSOLE_LOGIN_REQUEST__INIT;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	ctl_bin(&q.name, name);
	ctl_bin(&q.role, role);
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_LOGIN;
	req.console_login = &q;
	int rc;
	Rogatory__Ctl__V1__Reply *r = ctl_roundtrip(c, &req, &rc);
	if (r == NULL)
		return rc;
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, NULL);
	wire_ctl_reply_free(r);
	const char *token = json_string_value(json_object_get(j, "token"));
	if (token == NULL || strspn(token, "0123456789abcdef") != 32 || token[32] != '\0') {
		fprintf(stderr, "rogatoryctl: console login: the daemon's answer holds no token\n");
		json_decref(j);
		return 1;
	}
	char link[CONSOLE_URL_MAX + 64];
	snprintf(link, sizeof(link), "%s/login?token=%s", base, token);
	if (c->json) {
		json_object_set_new(j, "url", json_string(link));
		ctl_json_print(j, false);
	} else {
		ctl_json_termsafe(j);
		printf("%s\n", link);
		printf("a login link for %s (%s), valid once, until %s\n", ctl_jstr(j, "name"),
		    ctl_jstr(j, "role"), ctl_jstr(j, "expires"));
	}
	json_decref(j);
	return 0;
}

static int
console_sessions(struct ctl *c, int argc)
{
	if (argc != 1)
		return console_usage();
	Rogatory__Ctl__V1__ConsoleSessionsRequest q =
	    ROGATORY__CTL__V1__CONSOLE_SESSIONS_REQUEST__INIT;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_SESSIONS;
	req.console_sessions = &q;
	return ctl_call(c, &req, print_sessions);
}

static void
print_sessions(const json_t *r)
{
	size_t i;
	const json_t *s;
	if (json_array_size(r) == 0) {
		printf("no console session is open\n");
		return;
	}
	printf("%-32s %-8s %-27s %-27s %-27s %s\n", "NAME", "ROLE", "CREATED", "LAST USED",
	    "IDLE UNTIL", "ENDS");
	json_array_foreach(r, i, s)
		printf("%-32s %-8s %-27s %-27s %-27s %s\n", ctl_jstr(s, "name"), ctl_jstr(s, "role"),
		    ctl_jstr(s, "created"), ctl_jstr(s, "last_used"), ctl_jstr(s, "idle_expires"),
		    ctl_jstr(s, "expires"));
}

static int
console_revoke(struct ctl *c, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return console_usage();
	if (!console_name_ok(argv[1]))
		return 2;
	Rogatory__Ctl__V1__ConsoleRevokeRequest q = ROGATORY__CTL__V1__CONSOLE_REVOKE_REQUEST__INIT;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	ctl_bin(&q.name, argv[1]);
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONSOLE_REVOKE;
	req.console_revoke = &q;
	return ctl_call(c, &req, print_revoke);
}

static void
print_revoke(const json_t *r)
{
	printf("%s: %lld console sessions ended, %lld unused login links revoked\n",
	    ctl_jstr(r, "name"), (long long)json_integer_value(json_object_get(r, "ended")),
	    (long long)json_integer_value(json_object_get(r, "links")));
}

int
ctl_console_run(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return console_usage();
	if (strcmp(argv[0], "login") == 0)
		return console_login(c, argc - 1, argv + 1);
	if (strcmp(argv[0], "sessions") == 0)
		return console_sessions(c, argc);
	if (strcmp(argv[0], "revoke") == 0)
		return console_revoke(c, argc, argv);
	return console_usage();
}
