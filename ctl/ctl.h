/*
 * ctl: what rogatoryctl's command files (ctl/export.c, ctl/draft.c, ctl/case.c,
 * ctl/audit.c) share
 * with ctl/rogatoryctl.c: the connection to the daemon, one request/reply exchange,
 * writing whole buffers, terminal-safe JSON, one `send`. Exit codes of a command: 0
 * done, 1 the daemon refused or failed, 2 usage, 3 cannot reach it.
 */
#ifndef ROGATORY_CTL_H
#define ROGATORY_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "wire.h"

struct casedoc_problems;

struct ctl {
	const char *socket_path;
	bool json;
	int fd;
	uint64_t next_id;
	bool quiet;             /* export: print nothing (a command that runs several) */
};

/* Connects to c->socket_path (c->fd). 0 / -1 (message printed). */
int ctl_connect(struct ctl *c);
/* One Request frame to the daemon. 0 / -1 (message printed). */
int ctl_send(struct ctl *c, const Rogatory__Ctl__V1__Request *req);
/* Reads one Reply; NULL (message printed) when the daemon hung up or sent garbage. */
Rogatory__Ctl__V1__Reply *ctl_recv(struct ctl *c);
/* Sets req's version and a new request id, sends it, reads its Reply (free it with
 * wire_ctl_reply_free). NULL (message printed) when the daemon cannot be reached (*rc 3)
 * or answers anything but OK to this request (*rc 1). */
Rogatory__Ctl__V1__Reply *ctl_roundtrip(struct ctl *c, Rogatory__Ctl__V1__Request *req,
    int *rc);
/* write(2) until all n bytes are written. 0 / -1 (errno set). */
int ctl_write_all(int fd, const uint8_t *p, size_t n);

/* rogatoryctl export ID [--from AUTHORITY] --out DIR (ctl/export.c). */
int ctl_export_run(struct ctl *c, int argc, char **argv);
/* rogatoryctl audit verify | prove | check | status (ctl/audit.c); connects itself when
 * it needs the daemon (check works without one). */
int ctl_audit_run(struct ctl *c, int argc, char **argv);

/* Every string in j made terminal-safe (termsafe.h), for human output. */
void ctl_json_termsafe(json_t *j);
/* One `send` from its arguments (--to, --kind, --subject, --field, --attach, ...): the
 * submission, its attachments' upload, the answer printed. An exit code. */
int ctl_send_one(struct ctl *c, int argc, char **argv);

/* ctl/draft.c: `draft KIND [--to ID]`; `send --to ID --document FILE ...` (wanted: its
 * arguments name --document), checked here before anything reaches the daemon. */
int ctl_draft_run(struct ctl *c, int argc, char **argv);
bool ctl_document_wanted(int argc, char **argv);
int ctl_document_send(struct ctl *c, int argc, char **argv);
/* "rogatoryctl: WHERE: path: reason" on stderr, one line per problem. */
void ctl_problems_print(const char *where, const struct casedoc_problems *pr);
/* What the directory says of id (AuthorityRequest): NULL when unknown (printed). */
json_t *ctl_authority(struct ctl *c, const char *id, int *rc);

/* ctl/case.c: `requests`, `request ID`, `update ID --status S ...`, and `export` of a
 * request with its case's documents. */
int ctl_requests_run(struct ctl *c, int argc, char **argv);
int ctl_request_run(struct ctl *c, int argc, char **argv);
int ctl_update_run(struct ctl *c, int argc, char **argv);
int ctl_case_export_run(struct ctl *c, int argc, char **argv);

#endif
