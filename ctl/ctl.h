/*
 * ctl: what rogatoryctl's command files (status, messages, send, fetch, log, oper,
 * export, draft, case, audit) share with ctl/rogatoryctl.c (the command table, the
 * connection): one request/reply exchange, printing the daemon's answer as a table
 * or as JSON, the terminal-safe form of everything a peer or the store wrote, argument
 * helpers. Each command is one `ctl_<file>_<command>` run function named in the table.
 * Exit codes of a command: 0 done, 1 the daemon refused or failed (its message on
 * stderr), 2 usage (a usage line on stderr), 3 cannot reach the daemon.
 */
#ifndef ROGATORY_CTL_H
#define ROGATORY_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "wire.h"

/* Seconds a reply may take (none while following the log or uploading). */
#define CTL_TIMEOUT_S 30

struct casedoc_problems;

struct ctl {
	const char *socket_path;
	bool json;
	int fd;
	uint64_t next_id;
	bool quiet;             /* export: print nothing (a command that runs several) */
};

/* A command: parses its arguments, talks to the daemon, prints; returns the exit code. */
typedef int (*ctl_run)(struct ctl *c, int argc, char **argv);
/* Prints a reply's JSON as a table (strings already terminal-safe). */
typedef void (*ctl_print)(const json_t *result);

/* ---- rogatoryctl.c ---- */

/* Prints "usage: rogatoryctl NAME ARGS" (from the command table) on stderr; returns 2. */
int ctl_usage(const char *name);
/* Connects to the daemon unless connected (ctl_send does it for the first request).
 * 0 / -1 (said: "rogatoryd is not running (no socket at PATH)", ...). */
int ctl_open(struct ctl *c);
/* One Request frame to the daemon. 0 / -1 (message printed). */
int ctl_send(struct ctl *c, const Rogatory__Ctl__V1__Request *req);
/* Reads one Reply; NULL (message printed) when the daemon hung up or sent garbage. */
Rogatory__Ctl__V1__Reply *ctl_recv(struct ctl *c);
/* Sets req's version and a new request id, sends it, reads its Reply (free it with
 * wire_ctl_reply_free). NULL (message printed) when the daemon cannot be reached (*rc 3)
 * or answers anything but OK to this request (*rc 1). */
Rogatory__Ctl__V1__Reply *ctl_roundtrip(struct ctl *c, Rogatory__Ctl__V1__Request *req,
    int *rc);
/* One request, one reply, printed with print (or as JSON with --json). Exit code. */
int ctl_call(struct ctl *c, Rogatory__Ctl__V1__Request *req, ctl_print print);
/* A refusal on stderr: "rogatoryctl: WHERE CODE: TEXT", terminal-safe. */
void ctl_say_refusal(const char *where, const Rogatory__Ctl__V1__Reply *r);
/* Writes j as --json does: indented, ASCII only, a newline after. */
void ctl_json_print(const json_t *j, bool compact);
/* Every string in j replaced by its terminal-safe form (termsafe.h), for the tables. */
void ctl_json_termsafe(json_t *j);
/* A string member of o, or "-". */
const char *ctl_jstr(const json_t *o, const char *key);
/* A NUL-terminated string (NULL: empty) as protobuf bytes; s must outlive the request. */
void ctl_bin(ProtobufCBinaryData *b, const char *s);
/* The one argument of show/retry/cancel/verify: a message id. 0; -1 wrong count (the
 * caller prints the usage); -2 not a UUID (said). */
int ctl_msg_id_arg(int argc, char **argv, ProtobufCBinaryData *out);
/* An authority id argument; false (said, naming what) when it is not one. */
bool ctl_authority_arg(const char *what, const char *s);
/* write(2) until all n bytes are written. 0 / -1 (errno set). */
int ctl_write_all(int fd, const uint8_t *p, size_t n);

/* ---- status.c: the daemon and its peers ---- */
int ctl_status_status(struct ctl *c, int argc, char **argv);
int ctl_status_peers(struct ctl *c, int argc, char **argv);
int ctl_status_connect(struct ctl *c, int argc, char **argv);
int ctl_status_crl(struct ctl *c, int argc, char **argv);
int ctl_status_directory(struct ctl *c, int argc, char **argv);

/* ---- messages.c: outbound and inbound messages, one or listed ---- */
int ctl_messages_queue(struct ctl *c, int argc, char **argv);
int ctl_messages_inbox(struct ctl *c, int argc, char **argv);
int ctl_messages_show(struct ctl *c, int argc, char **argv);
int ctl_messages_retry(struct ctl *c, int argc, char **argv);
int ctl_messages_cancel(struct ctl *c, int argc, char **argv);
int ctl_messages_verify(struct ctl *c, int argc, char **argv);
/* One message as `show` prints it (also fetch's last line). */
void ctl_messages_print_one(const json_t *r);
/* One event line (show, log). */
void ctl_messages_print_event(const json_t *e);

/* ---- send.c ---- */
/* send ... | send --batch FILE|- | send --to ID --document FILE ... */
int ctl_send_run(struct ctl *c, int argc, char **argv);
/* One `send` from its arguments (--to, --kind, --subject, --field, --attach, ...): the
 * submission, its attachments' upload, the answer printed. An exit code. */
int ctl_send_one(struct ctl *c, int argc, char **argv);

/* ---- fetch.c: what arrived ---- */
int ctl_fetch_run(struct ctl *c, int argc, char **argv);
int ctl_fetch_quarantine(struct ctl *c, int argc, char **argv);

/* ---- log.c ---- */
int ctl_log_run(struct ctl *c, int argc, char **argv);
/* "2026-03-01T10:00:00Z" (a fraction of a second allowed, as the log prints times),
 * "2026-03-01T10:00:00" (UTC), "2026-03-01" (00:00 UTC), or a duration ago ("90m", "2h",
 * "7d"): µs since 1970. 0 / -1. */
int ctl_log_time(const char *s, int64_t now_us, int64_t *out);

/* ---- oper.c: the operator's actions on the daemon ---- */
int ctl_oper_pause(struct ctl *c, int argc, char **argv);
int ctl_oper_resume(struct ctl *c, int argc, char **argv);
int ctl_oper_reload(struct ctl *c, int argc, char **argv);
int ctl_oper_alerts(struct ctl *c, int argc, char **argv);

/* ---- export.c ---- */
/* rogatoryctl export ID [--from AUTHORITY] --out DIR. */
int ctl_export_run(struct ctl *c, int argc, char **argv);

/* ---- draft.c: `draft KIND [--to ID]`; `send --to ID --document FILE ...` (wanted: its
 * arguments name --document), checked here before anything reaches the daemon ---- */
int ctl_draft_run(struct ctl *c, int argc, char **argv);
bool ctl_document_wanted(int argc, char **argv);
int ctl_document_send(struct ctl *c, int argc, char **argv);
/* "rogatoryctl: WHERE: path: reason" on stderr, one line per problem. */
void ctl_problems_print(const char *where, const struct casedoc_problems *pr);
/* What the directory says of id (AuthorityRequest): NULL when unknown (printed). */
json_t *ctl_authority(struct ctl *c, const char *id, int *rc);

/* ---- case.c: `requests`, `request ID`, `update ID --status S ...`, and `export` of a
 * request with its case's documents ---- */
int ctl_requests_run(struct ctl *c, int argc, char **argv);
int ctl_request_run(struct ctl *c, int argc, char **argv);
int ctl_update_run(struct ctl *c, int argc, char **argv);
int ctl_case_export_run(struct ctl *c, int argc, char **argv);

/* ---- stats.c: `stats [--since DATE] [--until DATE] [--peer ID] [--csv]` ---- */
int ctl_stats_run(struct ctl *c, int argc, char **argv);

/* ---- audit.c: `audit verify | prove | check | status` (check needs no daemon: the
 * connection is made by the first request) ---- */
int ctl_audit_run(struct ctl *c, int argc, char **argv);

/* ---- console.c: `console login NAME [--role R] [--url BASE] | sessions | revoke NAME`,
 * the web console's one-time login links and sessions ---- */
int ctl_console_run(struct ctl *c, int argc, char **argv);

#endif
