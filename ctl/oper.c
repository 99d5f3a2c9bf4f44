/*
 * oper: the operator's actions on the daemon itself: `rogatoryctl pause ID` / `resume
 * ID` (our outbound messages to one authority wait, or go again), `reload` (what SIGHUP
 * does, with the daemon's answer: what needs a restart, or every problem) and `alerts`
 * (the conditions active now).
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static void print_pause(const json_t *r);
static void print_reload(const json_t *r);
static void print_alerts(const json_t *r);
static int pause_or_resume(struct ctl *c, const char *name, int argc, char **argv);

static int
pause_or_resume(struct ctl *c, const char *name, int argc, char **argv)
{
	if (argc != 1 || argv[0][0] == '-')
		return ctl_usage(name);
	if (!ctl_authority_arg("", argv[0]))
		return 2;
	Rogatory__Ctl__V1__PauseRequest p = ROGATORY__CTL__V1__PAUSE_REQUEST__INIT;
	Rogatory__Ctl__V1__ResumeRequest r = ROGATORY__CTL__V1__RESUME_REQUEST__INIT;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	if (strcmp(name, "pause") == 0) {
		ctl_bin(&p.authority_id, argv[0]);
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_PAUSE;
		req.pause = &p;
	} else {
		ctl_bin(&r.authority_id, argv[0]);
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_RESUME;
		req.resume = &r;
	}
	return ctl_call(c, &req, print_pause);
}

int
ctl_oper_pause(struct ctl *c, int argc, char **argv)
{
	return pause_or_resume(c, "pause", argc, argv);
}

int
ctl_oper_resume(struct ctl *c, int argc, char **argv)
{
	return pause_or_resume(c, "resume", argc, argv);
}

static void
print_pause(const json_t *r)
{
	bool paused = json_is_true(json_object_get(r, "paused"));
	bool changed = json_is_true(json_object_get(r, "changed"));
	if (paused)
		printf("%s: outbound messages paused%s since %s; they wait until `rogatoryctl "
		    "resume %s`\n", ctl_jstr(r, "authority"), changed ? "" : " already",
		    ctl_jstr(r, "since"), ctl_jstr(r, "authority"));
	else
		printf("%s: outbound messages %s\n", ctl_jstr(r, "authority"),
		    changed ? "resumed; they go out again" : "were not paused");
}

int
ctl_oper_reload(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return ctl_usage("reload");
	Rogatory__Ctl__V1__ReloadRequest q = ROGATORY__CTL__V1__RELOAD_REQUEST__INIT;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_RELOAD;
	req.reload = &q;
	return ctl_call(c, &req, print_reload);
}

static void
print_reload(const json_t *r)
{
	size_t i;
	const json_t *n;
	printf("reloaded (%lld authorities in the directory); delivery log reopened\n",
	    (long long)json_integer_value(json_object_get(r, "peers")));
	json_array_foreach(json_object_get(r, "notes"), i, n)
		printf("note: %s\n", json_string_value(n));
}

int
ctl_oper_alerts(struct ctl *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return ctl_usage("alerts");
	Rogatory__Ctl__V1__AlertsRequest q = ROGATORY__CTL__V1__ALERTS_REQUEST__INIT;
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_ALERTS;
	req.alerts = &q;
	return ctl_call(c, &req, print_alerts);
}

static void
print_alerts(const json_t *r)
{
	size_t i;
	const json_t *a;
	if (json_array_size(r) == 0) {
		printf("no alert is active\n");
		return;
	}
	printf("%-26s %-14s %-27s %s\n", "ALERT", "SUBJECT", "SINCE", "DETAIL");
	json_array_foreach(r, i, a)
		printf("%-26s %-14s %-27s %s\n", ctl_jstr(a, "alert"), ctl_jstr(a, "subject"),
		    ctl_jstr(a, "since"), ctl_jstr(a, "detail"));
}
