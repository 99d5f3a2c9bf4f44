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
