/*
 * ctloper: answers PauseRequest, ResumeRequest, RetryRequest, ReloadRequest and
 * AlertsRequest (contract in ctloper.h). Every change goes through the journal (a store
 * op with its event), and the reply comes after the commit; the in-memory pause set
 * follows the store, never leads it. Nothing an operator sends here can stop the daemon:
 * a bad id is an answer, a failed commit is an answer.
 */
#include "ctloper.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "directory.h"
#include "journal.h"
#include "log.h"
#include "outbox.h"
#include "pause.h"
#include "peer.h"
#include "reload.h"
#include "rogatoryd.h"
#include "store.h"

#define BULK_IDS_MAX 100
#define BULK_PAGE 256
#define ALERTS_MAX 1024
#define BULK_PEERS_MAX 256

/* A bulk retry: one outbox_retry per message, one reply when the last has answered. */
struct bulk {
	struct control_pending *p;
	unsigned pending;
	bool submitting;
	unsigned retried, refused, paused;
	json_t *ids;
	char peers[BULK_PEERS_MAX][AUTHORITY_ID_MAX + 1];  /* to dial now */
	size_t npeers;
};

static void pause_done(struct journal_op *jo);
static void retry_one(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void retry_bulk(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);
static void dial_now(struct rogatoryd *d, const char *peer);
static void bulk_answer(void *arg, int ok, const struct store_msg *m, const char *code,
    const char *text);
static void bulk_finish(struct bulk *b);
static void bulk_peer(struct bulk *bk, const char *peer);
static void refuse(struct control_result *res, Rogatory__Ctl__V1__ReplyCode code,
    const char *error_code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
refuse(struct control_result *res, Rogatory__Ctl__V1__ReplyCode code, const char *error_code,
    const char *fmt, ...)
{
	va_list ap;
	res->code = code;
	res->error_code = error_code;
	va_start(ap, fmt);
	vsnprintf(res->error_text, sizeof(res->error_text), fmt, ap);
	va_end(ap);
}

/* ---- pause, resume ---- */

void
ctloper_pause(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	struct rogatoryd *d = control_daemon(c);
	bool on = req->op_case == ROGATORY__CTL__V1__REQUEST__OP_PAUSE;
	const ProtobufCBinaryData *b = on ? &req->pause->authority_id : &req->resume->authority_id;
	char id[AUTHORITY_ID_MAX + 1];
	snprintf(id, sizeof(id), "%.*s", (int)b->len, (const char *)b->data);
	if (strcmp(id, d->cfg->authority_id) == 0) {
		refuse(res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED, "refused",
		    "%s is this authority", id);
		return;
	}
	/* A paused authority that left the directory can still be resumed. */
	if (directory_find(d->cfg->directory, id) == NULL && !(pause_is(d->paused, id) && !on)) {
		refuse(res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_NOT_FOUND, "unknown-authority",
		    "unknown authority %s (not in the directory %s)", id, d->cfg->directory_path);
		return;
	}
	struct journal_op *jo = journal_op_new(d, STORE_OP_PAUSE);
	jo->op.on = on;
	snprintf(jo->op.event.peer, sizeof(jo->op.event.peer), "%s", id);
	snprintf(jo->op.event.reason, sizeof(jo->op.event.reason), "%s by an operator (uid %u)",
	    on ? "paused" : "resumed", control_caller_uid(c));
	snprintf(jo->text, sizeof(jo->text), "%u", control_caller_uid(c));
	jo->arg = control_defer(c, req, res);
	jo->done = pause_done;
	journal_submit(jo);
}

static void
pause_done(struct journal_op *jo)
{
	struct rogatoryd *d = jo->d;
	const char *id = jo->op.event.peer;
	bool on = jo->op.on;
	struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK};
	if (jo->op.result == STORE_R_OK || jo->op.result == STORE_R_STALE) {
		bool changed = jo->op.result == STORE_R_OK;
		if (changed) {
			pause_set(d->paused, id, on, jo->op.event.ts_us);
			log_notice("operator (uid %s) %s outbound messages to %s", jo->text,
			    on ? "paused" : "resumed", id);
		}
		json_t *o = json_object();
		json_object_set_new(o, "authority", json_string(id));
		json_object_set_new(o, "paused", json_boolean(on));
		json_object_set_new(o, "changed", json_boolean(changed));
		json_object_set_new(o, "since", on ? control_time_us(pause_since_us(d->paused, id))
		                                   : json_null());
		res.json = o;
	} else {
		refuse(&res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL,
		    jo->op.result == STORE_R_FULL ? "store-full" : "store-error", "%s", jo->op.error);
	}
	control_pending_reply(jo->arg, &res);
}

/* ---- retry ---- */

void
ctloper_retry(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	if (req->retry->message_id.len > 0)
		retry_one(c, req, res);
	else
		retry_bulk(c, req, res);
}

/* One message; refused while its authority is paused (it would not go anyway). */
static void
retry_one(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	struct rogatoryd *d = control_daemon(c);
	char id[UUID_TEXT_LEN + 1];
	const ProtobufCBinaryData *b = &req->retry->message_id;
	snprintf(id, sizeof(id), "%.*s", (int)b->len, (const char *)b->data);
	struct store_msg m = {0};
	if (store_get(d->store, STORE_OUT, d->cfg->authority_id, id, &m) == 0 &&
	    pause_is(d->paused, m.recipient)) {
		refuse(res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED, "paused",
		    "%s is for %s, whose outbound messages are paused: rogatoryctl resume %s", id,
		    m.recipient, m.recipient);
		store_msg_clear(&m);
		return;
	}
	char peer[AUTHORITY_ID_MAX + 1];
	snprintf(peer, sizeof(peer), "%s", m.recipient);
	store_msg_clear(&m);
	outbox_retry(d->outbox, id, control_async_reply, control_defer(c, req, res));
	dial_now(d, peer);
}

/* An operator's retry also ends the authority's dial backoff: it is dialed now. */
static void
dial_now(struct rogatoryd *d, const char *peer)
{
	char err[256];
	if (peer[0] != '\0' && peers_connect(d->peers, peer, err, sizeof(err)) != 0)
		log_debug("retry: %s not dialed: %s", peer, err);
}

/*
 * --peer ID: its queued, retrying and unconfirmed messages; --all-failed: every retrying
 * or unconfirmed message (its last attempt failed), those of paused authorities left
 * out (counted). Each is an operator retry of its own (outstate OP_RETRY).
 */
static void
retry_bulk(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	static const enum store_state peer_states[] = {STORE_QUEUED, STORE_RETRYING,
	    STORE_UNCONFIRMED};
	struct rogatoryd *d = control_daemon(c);
	const Rogatory__Ctl__V1__RetryRequest *q = req->retry;
	char peer[AUTHORITY_ID_MAX + 1];
	snprintf(peer, sizeof(peer), "%.*s", (int)q->peer.len, (const char *)q->peer.data);
	if (peer[0] != '\0' && pause_is(d->paused, peer)) {
		refuse(res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED, "paused",
		    "outbound messages to %s are paused: rogatoryctl resume %s", peer, peer);
		return;
	}
	struct bulk *bk = calloc(1, sizeof(*bk));
	struct store_msg *page = calloc(BULK_PAGE, sizeof(*page));
	if (bk == NULL || page == NULL)
		fatal("out of memory");
	bk->ids = json_array();
	bk->p = control_defer(c, req, res);
	bk->submitting = true;
	for (size_t s = peer[0] != '\0' ? 0 : 1; s < sizeof(peer_states) / sizeof(peer_states[0]);
	     s++) {
		int64_t after = 0;
		int n;
		while ((n = store_list_state(d->store, peer_states[s], after, page, BULK_PAGE)) > 0) {
			for (int i = 0; i < n; i++) {
				after = page[i].rowid;
				if (peer[0] != '\0' && strcmp(page[i].recipient, peer) != 0) {
					/* another authority's */
				} else if (peer[0] == '\0' && pause_is(d->paused, page[i].recipient)) {
					bk->paused++;
				} else {
					bk->pending++;
					outbox_retry(d->outbox, page[i].msg_id, bulk_answer, bk);
					bulk_peer(bk, page[i].recipient);
				}
				store_msg_clear(&page[i]);
			}
			if (n < BULK_PAGE)
				break;
		}
	}
	free(page);
	log_notice("operator (uid %u): retry %s%s: %u messages", control_caller_uid(c),
	    peer[0] != '\0' ? "--peer " : "--all-failed", peer, bk->pending);
	for (size_t i = 0; i < bk->npeers; i++)
		dial_now(d, bk->peers[i]);
	bk->submitting = false;
	bulk_finish(bk);
}

/* Remembers a recipient of the retried messages (each is dialed once, after). */
static void
bulk_peer(struct bulk *bk, const char *peer)
{
	for (size_t i = 0; i < bk->npeers; i++)
		if (strcmp(bk->peers[i], peer) == 0)
			return;
	if (bk->npeers < BULK_PEERS_MAX)
		snprintf(bk->peers[bk->npeers++], sizeof(bk->peers[0]), "%s", peer);
}

static void
bulk_answer(void *arg, int ok, const struct store_msg *m, const char *code, const char *text)
{
	(void)code;
	(void)text;
	struct bulk *bk = arg;
	if (ok == 0) {
		bk->retried++;
		if (m != NULL && json_array_size(bk->ids) < BULK_IDS_MAX)
			json_array_append_new(bk->ids, json_string(m->msg_id));
	} else {
		bk->refused++;      /* its state changed meanwhile (delivered, expired, ...) */
	}
	bk->pending--;
	bulk_finish(bk);
}

static void
bulk_finish(struct bulk *bk)
{
	if (bk->submitting || bk->pending > 0)
		return;
	struct control_result res = {.code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_OK};
	json_t *o = json_object();
	json_object_set_new(o, "retried", json_integer(bk->retried));
	json_object_set_new(o, "refused", json_integer(bk->refused));
	json_object_set_new(o, "paused", json_integer(bk->paused));
	json_object_set_new(o, "ids", bk->ids);
	res.json = o;
	control_pending_reply(bk->p, &res);
	free(bk);
}

/* ---- reload, alerts ---- */

void
ctloper_reload(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	(void)req;
	struct rogatoryd *d = control_daemon(c);
	struct diag notes = {0};
	log_notice("operator (uid %u) asked for a reload", control_caller_uid(c));
	if (reload_run(d, &notes) != 0) {
		size_t off = 0;
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
		res->error_code = "reload-failed";
		off = (size_t)snprintf(res->error_text, sizeof(res->error_text), "reload refused, "
		    "the running configuration stays:");
		for (size_t i = 0; i < notes.n && off < sizeof(res->error_text); i++)
			off += (size_t)snprintf(res->error_text + off, sizeof(res->error_text) - off,
			    "%s%s", i ? "; " : " ", notes.lines[i]);
		diag_free(&notes);
		return;
	}
	json_t *o = json_object(), *a = json_array();
	for (size_t i = 0; i < notes.n; i++)
		json_array_append_new(a, json_string(notes.lines[i]));
	json_object_set_new(o, "reloaded", json_true());
	json_object_set_new(o, "notes", a);
	json_object_set_new(o, "peers", json_integer(
	    (json_int_t)(d->cfg->directory != NULL ? d->cfg->directory->n : 0)));
	res->json = o;
	diag_free(&notes);
}

void
ctloper_alerts(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	(void)req;
	struct rogatoryd *d = control_daemon(c);
	struct store_alert *v = calloc(ALERTS_MAX, sizeof(*v));
	if (v == NULL)
		fatal("out of memory");
	int n = store_alerts_list(d->store, v, ALERTS_MAX);
	if (n < 0) {
		free(v);
		refuse(res, ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL, "store-error",
		    "cannot read the active alerts");
		return;
	}
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "alert", json_string(v[i].name));
		json_object_set_new(o, "subject", v[i].subject[0] ? json_string(v[i].subject)
		                                                  : json_null());
		json_object_set_new(o, "since", control_time_us(v[i].since_us));
		json_object_set_new(o, "detail", json_string(v[i].detail));
		json_array_append_new(a, o);
	}
	free(v);
	res->json = a;
}
