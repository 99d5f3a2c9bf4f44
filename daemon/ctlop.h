/*
 * ctlop: what a control request handler sees. control.c dispatches through its table of
 * handlers; a family of commands with its own file (ctlexport.c) implements handlers of
 * this type with these helpers. Nothing outside the control handlers includes it.
 */
#ifndef ROGATORY_CTLOP_H
#define ROGATORY_CTLOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "wire.h"

struct control;
struct proof;
struct rogatoryd;
struct store_msg;

/* A handler fills *json (owned by the caller afterwards) or an error. */
struct control_result {
	Rogatory__Ctl__V1__ReplyCode code;
	const char *error_code;
	char error_text[512];
	json_t *json;
	bool deferred;          /* the handler replies later (after a store commit) */
};

typedef void (*control_handler)(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);

struct rogatoryd *control_daemon(struct control *c);

/* Bytes for Reply.data of the reply being made; the control module frees them after. */
void control_reply_data(struct control *c, uint8_t *data, size_t len);

/*
 * The stored message a request names (blobs included): with sender empty, our outbound
 * message with that id, else the oldest inbound one; with sender our own id, the
 * outbound one only; with another, the one received from that authority. -1 with res
 * filled (NOT_FOUND, "not-found").
 */
int control_find_message(struct control *c, const ProtobufCBinaryData *id,
    const ProtobufCBinaryData *sender, struct store_msg *m, struct control_result *res);

/* A reply that comes later (after a store commit, or work spread over loop turns): the
 * handler sets nothing else in res, keeps the handle, and replies through it once. */
struct control_later;
struct control_later *control_later(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
struct rogatoryd *control_later_daemon(const struct control_later *l);
/* The client hung up (or the daemon stops): the work may end early. */
bool control_later_gone(const struct control_later *l);
/* Replies when the client is still there, frees res->json and the handle. */
void control_later_reply(struct control_later *l, struct control_result *res);

/* A proof as `verify` answers it: {"id", "valid", "checks": [{"check", "ok", "detail"}]}. */
json_t *control_proof_json(const char *id, const struct proof *p);

/* A stored message as `show` answers it: ids, direction, peer, kind, state, attempts,
 * times, last error, receipt present. */
json_t *control_msg_json(const struct store_msg *m);
/* Its signed document as `fetch` answers it: ids, times, type, kind, status, subject,
 * "fields" [{name, value}], attachments with their SHA-256; NULL when it does not decode. */
json_t *control_doc_json(const struct store_msg *m);
/* A wall-clock time in µs as RFC 3339 UTC with µs; null for 0. */
json_t *control_time_json(int64_t us);

#endif
