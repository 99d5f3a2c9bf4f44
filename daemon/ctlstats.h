/*
 * ctlstats: the daemon's side of `rogatoryctl stats` (control request StatsRequest): the
 * store's statistics tables (storestats.c) as one JSON reply. Reads only; no state
 * between requests. Registered in control.c's table.
 */
#ifndef ROGATORY_CTLSTATS_H
#define ROGATORY_CTLSTATS_H

#include "ctlop.h"

/* stats: {"since", "until", "peer", "generated", "tables": [{"name", "title", "columns",
 * "rows"}]} (docs/PROTOCOL.md section 10). */
void ctlstats_run(struct control *c, const Rogatory__Ctl__V1__Request *req,
    struct control_result *res);

#endif
