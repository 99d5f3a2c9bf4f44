/*
 * ctlconsole: the console's session requests (contract in ctlconsole.h). It must never
 * log a token, and console_redeem answers the same refusal for every token that does
 * not open a session. Names and roles arrive checked by wire.
 */
#include "ctlconsole.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "log.h"
#include "request.h"
#include "session.h"

static json_t *mono_time(uint64_t mono_ms, uint64_t now_ms);
static json_t *info_json(const struct session_info *si, uint64_t now_ms, bool csrf);

/* A monotonic deadline as the wall-clock time it falls on. */
static json_t *
mono_time(uint64_t mono_ms, uint64_t now_ms)
{
	int64_t delta_ms = (int64_t)mono_ms - (int64_t)now_ms;
	return control_time_us(request_now_us() + delta_ms * 1000);
}

static json_t *
info_json(const struct session_info *si, uint64_t now_ms, bool csrf)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(si->name));
	json_object_set_new(o, "role", json_string(session_role_name(si->role)));
	if (csrf)
		json_object_set_new(o, "csrf", json_string(si->csrf));
	json_object_set_new(o, "created", mono_time(si->created_ms, now_ms));
	json_object_set_new(o, "last_used", mono_time(si->last_used_ms, now_ms));
	json_object_set_new(o, "expires", mono_time(si->expires_ms, now_ms));
	json_object_set_new(o, "idle_expires", mono_time(si->idle_expires_ms, now_ms));
	return o;
}

static void
name_of(char out[SESSION_NAME_MAX + 1], const ProtobufCBinaryData *b)
{
	snprintf(out, SESSION_NAME_MAX + 1, "%.*s", (int)b->len, (const char *)b->data);
}

void
ctlconsole_login(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	const Rogatory__Ctl__V1__ConsoleLoginRequest *q = req->console_login;
	char name[SESSION_NAME_MAX + 1], token[SESSION_TOKEN_HEX + 1];
	enum session_role role = SESSION_VIEWER;
	name_of(name, &q->name);
	(void)session_role_parse((const char *)q->role.data, q->role.len, &role);
	uint64_t now = link_now_ms(), expires;
	if (sessions_login(control_sessions(c), name, role, now, token, &expires,
	        res->error_text, sizeof(res->error_text)) != 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
		res->error_code = "no-random";
		return;
	}
	log_info("control: uid %u made a console login link for %s (%s)",
	    control_caller_uid(c), name, session_role_name(role));
	json_t *o = json_object();
	json_object_set_new(o, "token", json_string(token));
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "role", json_string(session_role_name(role)));
	json_object_set_new(o, "expires", mono_time(expires, now));
	res->json = o;
	memset(token, 0, sizeof(token));
}

void
ctlconsole_redeem(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	const ProtobufCBinaryData *t = &req->console_redeem->token;
	char session[SESSION_TOKEN_HEX + 1];
	struct session_info si;
	uint64_t now = link_now_ms();
	if (sessions_redeem(control_sessions(c), t->data, t->len, now, session, &si) != 0) {
		res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
		res->error_code = "login-invalid";
		snprintf(res->error_text, sizeof(res->error_text), "this login link is not valid "
		    "(unknown, already used or expired): ask for a new one (rogatoryctl console "
		    "login NAME)");
		log_notice("control: uid %u: a console login link was refused (unknown, used or "
		    "expired)", control_caller_uid(c));
		return;
	}
	json_t *o = info_json(&si, now, true);
	json_object_set_new(o, "session", json_string(session));
	res->json = o;
	memset(session, 0, sizeof(session));
}

void
ctlconsole_whoami(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	(void)req;
	res->json = info_json(control_session(c), link_now_ms(), true);
}

void
ctlconsole_sessions(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	(void)req;
	struct session_info *all = calloc(SESSION_MAX, sizeof(*all));
	if (all == NULL)
		fatal("out of memory");
	uint64_t now = link_now_ms();
	int n = sessions_list(control_sessions(c), now, all, SESSION_MAX);
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, info_json(&all[i], now, false));
	free(all);
	res->json = a;
}

void
ctlconsole_revoke(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	char name[SESSION_NAME_MAX + 1];
	int ns, nl;
	name_of(name, &req->console_revoke->name);
	sessions_revoke(control_sessions(c), name, &ns, &nl);
	log_info("control: uid %u revoked the console access of %s: %d sessions, %d login "
	    "links", control_caller_uid(c), name, ns, nl);
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "ended", json_integer(ns));
	json_object_set_new(o, "links", json_integer(nl));
	res->json = o;
}

void
ctlconsole_logout(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	(void)req;
	const struct session_info *si = control_session(c);
	int r = sessions_end(control_sessions(c), si->serial, "logged out");
	json_t *o = json_object();
	json_object_set_new(o, "ended", json_integer(r == 0 ? 1 : 0));
	res->json = o;
}
