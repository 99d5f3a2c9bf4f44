/*
 * control: the web console's rule for every control request type, against the table of
 * docs/OPERATIONS.md ("The web console: sessions and roles") written out here by hand:
 * each request of control.proto has a row (a new one cannot go in unguarded), its
 * lowest role, and whether it needs the session's CSRF token (everything that changes
 * something does; nothing a viewer may do but logout does).
 */
#include <criterion/criterion.h>

#include <string.h>

#include "control.h"
#include "session.h"
#include "wire.h"

static const struct {
	const char *field;      /* the Request oneof member in control.proto */
	int role;
	bool csrf;
} want[] = {
	{"status", SESSION_VIEWER, false},
	{"peers", SESSION_VIEWER, false},
	{"connect", SESSION_OPERATOR, true},
	{"crl_install", CONTROL_OP_HOST, true},
	{"send", SESSION_OFFICER, true},
	{"queue", SESSION_VIEWER, false},
	{"show", SESSION_VIEWER, false},
	{"inbox", SESSION_VIEWER, false},
	{"retry", SESSION_OPERATOR, true},
	{"cancel", SESSION_OPERATOR, true},
	{"log", SESSION_VIEWER, false},
	{"verify", SESSION_VIEWER, false},
	{"upload", SESSION_OFFICER, true},
	{"fetch", SESSION_VIEWER, false},
	{"fetched", SESSION_OFFICER, true},
	{"quarantine", CONTROL_OP_HOST, true},
	{"export", SESSION_VIEWER, false},
	{"cases", SESSION_VIEWER, false},
	{"case_get", SESSION_VIEWER, false},
	{"authority", SESSION_VIEWER, false},
	{"directory", SESSION_VIEWER, false},
	{"stats", SESSION_VIEWER, false},
	{"messages", SESSION_VIEWER, false},
	{"audit_verify", CONTROL_OP_HOST, false},
	{"audit_prove", CONTROL_OP_HOST, true},
	{"audit_status", SESSION_VIEWER, false},
	{"pause", SESSION_OPERATOR, true},
	{"resume", SESSION_OPERATOR, true},
	{"reload", CONTROL_OP_HOST, true},
	{"alerts", SESSION_VIEWER, false},
	{"console_login", CONTROL_OP_HOST, true},
	{"console_redeem", CONTROL_OP_HOST, true},
	{"console_whoami", SESSION_VIEWER, false},
	{"console_sessions", CONTROL_OP_HOST, false},
	{"console_revoke", CONTROL_OP_HOST, true},
	{"console_logout", SESSION_VIEWER, true},
};

Test(control, every_request_has_its_console_rule)
{
	const ProtobufCMessageDescriptor *d = &rogatory__ctl__v1__request__descriptor;
	size_t ops = 0;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) == 0)
			continue;
		ops++;
		const char *name = NULL;
		bool csrf = false;
		int role = control_op_policy((int)f->id, &name, &csrf);
		cr_assert_neq(role, CONTROL_OP_UNKNOWN, "request %s (%u) has no row in control.c's "
		    "table", f->name, f->id);
		size_t k = 0;
		while (k < sizeof(want) / sizeof(want[0]) && strcmp(want[k].field, f->name) != 0)
			k++;
		cr_assert_lt(k, sizeof(want) / sizeof(want[0]), "request %s is not in this test's "
		    "table (nor, then, in OPERATIONS.md's)", f->name);
		cr_assert_eq(role, want[k].role, "request %s: role %d, expected %d", f->name, role,
		    want[k].role);
		cr_assert_eq(csrf, want[k].csrf, "request %s: csrf %d, expected %d", f->name, csrf,
		    want[k].csrf);
		/* What an officer or operator may do changes something: never without CSRF. */
		if (role > SESSION_VIEWER)
			cr_assert(csrf, "request %s needs a role above viewer but no CSRF token",
			    f->name);
	}
	cr_assert_eq(ops, sizeof(want) / sizeof(want[0]), "control.proto has %zu requests, this "
	    "test %zu", ops, sizeof(want) / sizeof(want[0]));
	const char *name;
	bool csrf;
	cr_assert_eq(control_op_policy(9999, &name, &csrf), CONTROL_OP_UNKNOWN);
}
