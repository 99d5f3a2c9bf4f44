/*
 * status: `rogatoryctl status`, `peers`, `connect ID` and `crl install FILE`: the daemon
 * itself and the authorities it links with. The CRL file is read here, with the
 * operator's rights; only its DER bytes reach the daemon, which alone decides whether
 * it becomes the effective CRL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "ctl.h"

static void print_status(const json_t *r);
static void print_crl(const json_t *crl);
static void print_crl_install(const json_t *r);
static void print_peers(const json_t *r);
static void print_connect(const json_t *r);

int
ctl_status_status(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return ctl_usage("status");
	Rogatory__Ctl__V1__StatusRequest q = ROGATORY__CTL__V1__STATUS_REQUEST__INIT;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_STATUS;
	req.status = &q;
	return ctl_call(c, &req, print_status);
}

static void
print_status(const json_t *r)
{
	printf("authority      %s\n", ctl_jstr(r, "authority"));
	printf("version        %s\n", ctl_jstr(r, "version"));
	printf("uptime         %lld s\n",
	    (long long)json_integer_value(json_object_get(r, "uptime_s")));
	printf("listen         %s (port %lld)\n", ctl_jstr(r, "listen"),
	    (long long)json_integer_value(json_object_get(r, "port")));
	printf("links          %lld up, %lld peers in the directory\n",
	    (long long)json_integer_value(json_object_get(r, "links_up")),
	    (long long)json_integer_value(json_object_get(r, "peers_total")));
	printf("certificate    expires %s\n", ctl_jstr(r, "certificate_not_after"));
	const json_t *crl = json_object_get(r, "crl");
	if (crl == NULL || json_is_null(crl))
		printf("crl            none: revocation is off\n");
	else
		print_crl(crl);
	const json_t *dir = json_object_get(r, "directory");
	const json_t *serial = json_object_get(dir, "serial");
	if (dir == NULL)
		return;
	if (serial == NULL || json_is_null(serial))
		printf("directory      unsigned, %s\n", ctl_jstr(dir, "path"));
	else
		printf("directory      signed, serial %lld, from %s\n",
		    (long long)json_integer_value(serial), ctl_jstr(dir, "source"));
}

/* "crl            number 3, next update 2026-12-04T10:00:00Z, EXPIRED (...)" */
static void
print_crl(const json_t *crl)
{
	bool expired = json_is_true(json_object_get(crl, "expired"));
	printf("crl            number %lld, next update %s, %lld revoked, from %s%s\n",
	    (long long)json_integer_value(json_object_get(crl, "number")),
	    ctl_jstr(crl, "next_update"),
	    (long long)json_integer_value(json_object_get(crl, "revoked")),
	    ctl_jstr(crl, "source"),
	    expired ? ", EXPIRED: only CRL-only links until a fresh CRL is installed"
	    : json_is_true(json_object_get(crl, "renewal_due")) ? ", renewal due" : "");
}

static void
print_crl_install(const json_t *r)
{
	printf("adopted\n");
	print_crl(json_object_get(r, "crl"));
}

int
ctl_status_crl(struct ctl *c, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[0], "install") != 0)
		return ctl_usage("crl");
	uint8_t *der = NULL;
	size_t len = 0;
	char err[512];
	if (crl_file_read(argv[1], &der, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "rogatoryctl: %s\n", err);
		return 2;
	}
	Rogatory__Ctl__V1__CrlInstallRequest q = ROGATORY__CTL__V1__CRL_INSTALL_REQUEST__INIT;
	q.der.data = der;
	q.der.len = len;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CRL_INSTALL;
	req.crl_install = &q;
	int rc = ctl_call(c, &req, print_crl_install);
	free(der);
	return rc;
}

int
ctl_status_peers(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return ctl_usage("peers");
	Rogatory__Ctl__V1__PeersRequest q = ROGATORY__CTL__V1__PEERS_REQUEST__INIT;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_PEERS;
	req.peers = &q;
	return ctl_call(c, &req, print_peers);
}

/* STATE is the link's; a paused authority shows "paused" after it (its messages wait). */
static void
print_peers(const json_t *r)
{
	printf("%-20s %-18s %-5s %-21s %-21s %s\n", "AUTHORITY", "STATE", "LINKS",
	    "LAST CONTACT", "CERT EXPIRES", "LAST ERROR");
	size_t i;
	const json_t *p;
	json_array_foreach(r, i, p) {
		char state[32];
		snprintf(state, sizeof(state), "%s%s", ctl_jstr(p, "state"),
		    json_is_true(json_object_get(p, "paused")) ? ",paused" : "");
		printf("%-20s %-18s %-5lld %-21s %-21s %s\n", ctl_jstr(p, "id"), state,
		    (long long)json_integer_value(json_object_get(p, "links_up")),
		    ctl_jstr(p, "last_contact"), ctl_jstr(p, "certificate_not_after"),
		    ctl_jstr(p, "last_error"));
	}
}

int
ctl_status_connect(struct ctl *c, int argc, char **argv)
{
	if (argc != 1 || argv[0][0] == '-')
		return ctl_usage("connect");
	if (!ctl_authority_arg("", argv[0]))
		return 2;
	Rogatory__Ctl__V1__ConnectRequest q = ROGATORY__CTL__V1__CONNECT_REQUEST__INIT;
	ctl_bin(&q.authority_id, argv[0]);
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_CONNECT;
	req.connect = &q;
	return ctl_call(c, &req, print_connect);
}

static void
print_connect(const json_t *r)
{
	printf("dialing %s; see `rogatoryctl peers`\n", ctl_jstr(r, "authority"));
}

/*
 * `rogatoryctl directory [ID]`: the directory as the daemon holds it. Every authority a
 * line; one authority whole, with what it asks of each kind of request.
 */
static void print_directory(const json_t *r);
static bool directory_one;     /* an ID was given: print that authority whole */

int
ctl_status_directory(struct ctl *c, int argc, char **argv)
{
	if (argc > 1 || (argc == 1 && argv[0][0] == '-'))
		return ctl_usage("directory");
	if (argc == 1 && !ctl_authority_arg("", argv[0]))
		return 2;
	Rogatory__Ctl__V1__DirectoryRequest q = ROGATORY__CTL__V1__DIRECTORY_REQUEST__INIT;
	ctl_bin(&q.authority_id, argc == 1 ? argv[0] : NULL);
	directory_one = argc == 1;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_DIRECTORY;
	req.directory = &q;
	return ctl_call(c, &req, print_directory);
}

/* The strings of array a joined by ", " ("-" when empty). */
static const char *
joined(const json_t *a, char *buf, size_t len)
{
	size_t i, n = 0;
	const json_t *v;
	buf[0] = '\0';
	json_array_foreach(a, i, v) {
		int w = snprintf(buf + n, len - n, "%s%s", n > 0 ? ", " : "",
		    json_is_string(v) ? json_string_value(v) : "?");
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	return n > 0 ? buf : "-";
}

static const char *
yes_no_unsaid(const json_t *v)
{
	return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "-";
}

/* One kind's requirements, indented under "asks for KIND requests". */
static void
print_requirements(const char *kind, const json_t *q)
{
	char buf[1024];
	printf("%s requests:\n", kind);
	printf("  legal bases      %s\n", ctl_jstr(q, "legal_bases"));
	printf("  languages        %s\n", joined(json_object_get(q, "languages"), buf,
	    sizeof(buf)));
	printf("  certified copies %s\n", yes_no_unsaid(json_object_get(q, "certified_copies")));
	printf("  translation      %s\n", yes_no_unsaid(json_object_get(q, "translation")));
	printf("  urgent contact   %s\n", ctl_jstr(q, "urgent_contact"));
	printf("  procedures       %s\n", ctl_jstr(q, "url"));
}

static void
print_authority(const json_t *a)
{
	char buf[1024];
	printf("id               %s\n", ctl_jstr(a, "id"));
	printf("name             %s\n", ctl_jstr(a, "name"));
	printf("country          %s\n", ctl_jstr(a, "country"));
	printf("address          %s\n", ctl_jstr(a, "address"));
	printf("kinds            %s\n", joined(json_object_get(a, "kinds"), buf, sizeof(buf)));
	printf("languages        %s\n", joined(json_object_get(a, "languages"), buf,
	    sizeof(buf)));
	printf("link             %s (%lld up)\n", ctl_jstr(a, "link"),
	    (long long)json_integer_value(json_object_get(a, "links_up")));
	printf("certificate      expires %s\n", ctl_jstr(a, "certificate_not_after"));
	const json_t *reqs = json_object_get(a, "requirements");
	if (json_object_size(reqs) == 0) {
		printf("requirements     none published in the directory\n");
		return;
	}
	const char *kind;
	const json_t *q;
	json_object_foreach((json_t *)reqs, kind, q)
		print_requirements(kind, q);
}

static void
print_directory(const json_t *r)
{
	const json_t *all = json_object_get(r, "authorities");
	size_t i;
	const json_t *a;
	if (directory_one && json_array_size(all) == 1) {
		print_authority(json_array_get(all, 0));
		return;
	}
	/* Kinds and languages as wide as the widest of this directory; the name last. */
	char kinds[512], langs[256], exp[11];
	int kw = 5, lw = 9;
	json_array_foreach(all, i, a) {
		int w = (int)strlen(joined(json_object_get(a, "kinds"), kinds, sizeof(kinds)));
		kw = w > kw ? w : kw;
		w = (int)strlen(joined(json_object_get(a, "languages"), langs, sizeof(langs)));
		lw = w > lw ? w : lw;
	}
	printf("%-16s %-2s %-10s %-10s %-4s %-*s %-*s %s\n", "AUTHORITY", "CC", "LINK", "CERT UNTIL",
	    "REQS", lw, "LANGUAGES", kw, "KINDS", "NAME");
	json_array_foreach(all, i, a) {
		/* The certificate's expiry day (directory ID shows the time). */
		snprintf(exp, sizeof(exp), "%s", ctl_jstr(a, "certificate_not_after"));
		printf("%-16s %-2s %-10s %-10s %-4zu %-*s %-*s %s\n", ctl_jstr(a, "id"),
		    ctl_jstr(a, "country"), ctl_jstr(a, "link"), exp,
		    json_array_size(json_object_get(a, "requirements_for")), lw,
		    joined(json_object_get(a, "languages"), langs, sizeof(langs)), kw,
		    joined(json_object_get(a, "kinds"), kinds, sizeof(kinds)), ctl_jstr(a, "name"));
	}
}
