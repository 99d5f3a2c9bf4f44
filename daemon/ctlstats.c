/*
 * ctlstats: answers StatsRequest (contract in ctlstats.h) from the store's statistics
 * tables: each row's cells become JSON by the column's type (directions, kinds and
 * statuses by name). Every count is the store's SQL; nothing is summed or sorted here.
 */
#include "ctlstats.h"

#include <stdio.h>
#include <string.h>

#include "clocks.h"
#include "link.h"
#include "rogatoryd.h"
#include "store.h"

/* How long one stats request may keep the loop thread (its SQL runs there, on the read
 * connection): past it the request is refused, never the links starved. */
#define CTLSTATS_BUDGET_MS 2000

struct rows {
	const struct store_stat_table *t;
	json_t *rows;
};

static json_t *
cell_json(enum store_stat_type type, const struct store_stat_value *v)
{
	if (v->null)
		return json_null();
	switch (type) {
	case STORE_STAT_INT: return json_integer(v->i);
	case STORE_STAT_REAL: return json_real(v->r);
	case STORE_STAT_DIR: return json_string(v->i == STORE_IN ? "incoming" : "outgoing");
	case STORE_STAT_KIND: return json_string(wire_kind_name((Rogatory__V1__Kind)v->i));
	case STORE_STAT_STATUS: return json_string(wire_status_name((Rogatory__V1__Status)v->i));
	case STORE_STAT_TEXT: break;
	}
	return json_string(v->text);
}

static int
row_cb(void *arg, const struct store_stat_value *v)
{
	struct rows *r = arg;
	json_t *row = json_array();
	for (size_t i = 0; i < r->t->n_cols; i++)
		json_array_append_new(row, cell_json(r->t->cols[i].type, &v[i]));
	return json_array_append_new(r->rows, row);
}

void
ctlstats_run(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res)
{
	struct rogatoryd *d = control_daemon(c);
	const Rogatory__Ctl__V1__StatsRequest *q = req->stats;
	char peer[AUTHORITY_ID_MAX + 1];
	snprintf(peer, sizeof(peer), "%.*s", (int)q->peer.len, (const char *)q->peer.data);
	struct store_stats_filter f = {.since_us = q->since_us, .until_us = q->until_us,
	    .peer = peer, .now_us = clocks_now_us(), .deadline_ms =
	    (int64_t)link_now_ms() + CTLSTATS_BUDGET_MS};
	size_t n;
	const struct store_stat_table *t = store_stat_tables(&n);
	json_t *o = json_object(), *tables = json_array();
	json_object_set_new(o, "since", control_time_us(q->since_us));
	json_object_set_new(o, "until", control_time_us(q->until_us));
	json_object_set_new(o, "peer", peer[0] ? json_string(peer) : json_null());
	/* The time the overdue cases are judged at (the daemon's clock). */
	json_object_set_new(o, "generated", control_time_us(f.now_us));
	json_object_set_new(o, "tables", tables);
	for (size_t i = 0; i < n; i++) {
		json_t *tab = json_object(), *cols = json_array();
		struct rows r = {.t = &t[i], .rows = json_array()};
		json_object_set_new(tab, "name", json_string(t[i].name));
		json_object_set_new(tab, "title", json_string(t[i].title));
		for (size_t k = 0; k < t[i].n_cols; k++)
			json_array_append_new(cols, json_string(t[i].cols[k].name));
		json_object_set_new(tab, "columns", cols);
		json_object_set_new(tab, "rows", r.rows);
		json_array_append_new(tables, tab);
		if (store_stats_table(d->store, i, &f, row_cb, &r) != 0) {
			json_decref(o);
			if (f.over_budget) {
				res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_REFUSED;
				res->error_code = "too-long";
				snprintf(res->error_text, sizeof(res->error_text), "the statistics took "
				    "more than %d ms (table %s), which the daemon does not spend away "
				    "from its links: ask for a shorter period (--since, --until) or one "
				    "authority (--peer)", CTLSTATS_BUDGET_MS, t[i].name);
				return;
			}
			res->code = ROGATORY__CTL__V1__REPLY_CODE__REPLY_CODE_INTERNAL;
			res->error_code = "store-error";
			snprintf(res->error_text, sizeof(res->error_text), "cannot compute the "
			    "statistics table %s (the daemon's log says why)", t[i].name);
			return;
		}
	}
	res->json = o;
}
