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
struct control_pending;
struct proof;
struct rogatoryd;
struct store_event;
struct store_event_filter;
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
/* The web console's login links and sessions (session.h). */
struct sessions;
struct session_info;
struct sessions *control_sessions(struct control *c);
/* The console session the request being handled came with (checked: live, its role
 * enough, its CSRF token when needed); NULL when the caller acts as itself. */
const struct session_info *control_session(const struct control *c);
/* The uid of the client whose request is being handled (for the log and events). */
unsigned control_caller_uid(const struct control *c);

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

/* A message as the listings answer it ({"id", "direction", "peer", "state", ...}). */
json_t *control_msg_json(const struct store_msg *m);
/* The proof of retrieval of stored message m (PROTOCOL.md section 16): when it was
 * retrieved, by whom, our receipt or theirs; NULL when there is none. */
json_t *control_retrieval_json(struct rogatoryd *d, const struct store_msg *m);
/* Its signed document as `fetch` answers it: ids, times, type, kind, status, subject,
 * "fields" [{name, value}], attachments with their SHA-256; NULL when it does not decode. */
json_t *control_doc_json(const struct store_msg *m);
/* An event as its delivery-log line, parsed. */
json_t *control_event_json(const struct store_event *e);
/* µs since 1970 as "2026-11-27T19:16:13.235123Z"; null for 0. */
json_t *control_time_us(int64_t us);

/*
 * A reply that comes later (after a store commit): control_defer marks res deferred and
 * remembers the client and the request; control_pending_reply sends res to that client
 * (when it is still connected) and frees p; res->json is consumed either way.
 */
struct control_pending *control_defer(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
void control_pending_reply(struct control_pending *p, struct control_result *res);
struct rogatoryd *control_pending_daemon(const struct control_pending *p);
/* An outbox_reply_fn whose arg is a control_pending: the message, or the refusal. */
void control_async_reply(void *arg, int ok, const struct store_msg *m,
    const char *error_code, const char *error_text);

/* Subscribes the client of the request being handled to every event with seq above
 * after_seq that matches f (copied): each one is a further Reply to request_id, until
 * the client hangs up. -1 when it follows already (one subscription per connection). */
int control_follow(struct control *c, uint64_t request_id, int64_t after_seq,
    const struct store_event_filter *f);

#endif
