/*
 * Unit tests for the manual pages in man/ (mdoc): rogatoryd.conf.5's key reference is
 * the config table's own output (config_write_man) and names every key in its section;
 * rogatoryctl.8 names every command of the ctl's table (rogatoryctl --json help);
 * rogatory-pki.8 every command of the script; rogatoryd.8 every option; and `mandoc -T
 * lint` finds nothing but cross-references to pages not installed yet. OPERATIONS.md
 * names every alert of the rules' table and every metric family.
 *
 * Regenerating rogatoryd.conf.5 after a change to the table: run this test once
 * (build/tests/unit --filter 'man/conf*') and copy build/rogatoryd.conf.5 to man/.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "../support/support.h"
#include "alertrule.h"
#include "config.h"
#include "metrics.h"

#define BEGIN_KEYS ".\\\" BEGIN KEYS\n"
#define END_KEYS ".\\\" END KEYS\n"

static char *
page(const char *name)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "man/%s", name);
	char *text = ts_read_file(ts_src_path(rel), NULL);
	cr_assert_not_null(text, "man/%s missing", name);
	return text;
}

Test(man, conf_page_is_generated_from_the_table)
{
	char *text = page("rogatoryd.conf.5"), *gen = NULL, out[PATH_MAX];
	size_t len = 0;
	FILE *f = open_memstream(&gen, &len);
	cr_assert_not_null(f);
	config_write_man(f);
	fclose(f);
	char *b = strstr(text, BEGIN_KEYS), *e = strstr(text, END_KEYS);
	cr_assert(b != NULL && e != NULL && b < e, "rogatoryd.conf.5: no BEGIN/END KEYS markers");
	b += strlen(BEGIN_KEYS);
	/* The page as it should be, for `cp build/rogatoryd.conf.5 man/`. */
	snprintf(out, sizeof(out), "%s/rogatoryd.conf.5", ts_build());
	f = fopen(out, "w");
	cr_assert_not_null(f);
	fprintf(f, "%.*s%s%s", (int)(b - text), text, gen, e);
	fclose(f);
	cr_assert((size_t)(e - b) == len && memcmp(b, gen, len) == 0, "man/rogatoryd.conf.5's "
	    "keys differ from the config table; the table's page is %s", out);
	free(gen);
	free(text);
}

Test(man, conf_page_names_every_key_in_its_section)
{
	char *text = page("rogatoryd.conf.5");
	const char *section = NULL, *name;
	bool reload;
	for (size_t i = 0; (name = config_key_at(i, &section, &reload)) != NULL; i++) {
		char head[64], item[96];
		snprintf(head, sizeof(head), ".Ss \\&[%s]\\&\n", section);
		snprintf(item, sizeof(item), ".It Cm %s\n", name);
		const char *s = strstr(text, head);
		cr_assert_not_null(s, "no section [%s]", section);
		const char *next = strstr(s + 1, ".Ss ");
		const char *k = strstr(s, item);
		cr_assert(k != NULL && (next == NULL || k < next), "[%s] %s is not in its section",
		    section, name);
		/* Its reload rule is stated after it. */
		const char *rule = strstr(k, reload ? "A reload applies a change." :
		    "Only a restart applies a change.");
		const char *after = strstr(k + 1, ".It ");
		cr_assert(rule != NULL && (after == NULL || rule < after), "[%s] %s: reload rule",
		    section, name);
	}
	cr_assert_gt(config_key_count(), 40);
	free(text);
}

Test(man, ctl_page_names_every_command)
{
	char *out = NULL, *text = page("rogatoryctl.8");
	int rc = ts_sh(&out, "'%s' --json help", ts_build_path("rogatoryctl"));
	cr_assert_eq(rc, 0, "%s", out);
	json_t *table = json_loads(out, 0, NULL);
	cr_assert(json_is_array(table) && json_array_size(table) > 10, "%s", out);
	size_t i;
	json_t *cmd;
	json_array_foreach(table, i, cmd) {
		const char *name = json_string_value(json_object_get(cmd, "command"));
		char a[64], b[64];
		snprintf(a, sizeof(a), ".It Ic %s\n", name);
		snprintf(b, sizeof(b), ".Ic %s\n", name);
		cr_assert(strstr(text, a) != NULL || strstr(text, b) != NULL ||
		    (snprintf(a, sizeof(a), ".It Ic %s ", name), strstr(text, a) != NULL),
		    "rogatoryctl.8 does not describe `%s`", name);
	}
	json_decref(table);
	free(out);
	free(text);
}

Test(man, pki_page_names_every_command)
{
	char *out = NULL, *text = page("rogatory-pki.8");
	/* The script's dispatch: "init) cmd_init ...", "sign-directory) cmd_sign_directory" */
	int rc = ts_sh(&out, "sed -n 's/^\\([a-z-]*\\)) cmd_.*/\\1/p' '%s'", ts_pki());
	cr_assert_eq(rc, 0);
	int n = 0;
	for (char *save = NULL, *c = strtok_r(out, "\n", &save); c != NULL;
	     c = strtok_r(NULL, "\n", &save), n++) {
		char want[64];
		snprintf(want, sizeof(want), ".It Cm %s", c);
		cr_assert(strstr(text, want) != NULL, "rogatory-pki.8 does not describe `%s`", c);
	}
	cr_assert_geq(n, 8);
	free(out);
	free(text);
}

Test(man, daemon_page_names_every_option)
{
	char *text = page("rogatoryd.8");
	static const char *const opts[] = {"c", "d", "f", "n", "V"};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char want[32];
		snprintf(want, sizeof(want), ".It Fl %s", opts[i]);
		cr_assert(strstr(text, want) != NULL, "rogatoryd.8: no -%s", opts[i]);
	}
	cr_assert(strstr(text, "SIGHUP") != NULL && strstr(text, "READY=1") != NULL);
	free(text);
}

/* mandoc -T lint: nothing but references to our own pages (and logrotate's) that are
 * not installed on this machine yet. */
Test(man, mandoc_lint_is_clean)
{
	char *out = NULL;
	cr_assert_eq(ts_sh(NULL, "command -v mandoc >/dev/null"), 0, "mandoc is not installed "
	    "(make deps)");
	int rc = ts_sh(&out, "cd '%s' && mandoc -T lint man/rogatoryd.8 man/rogatoryctl.8 "
	    "man/rogatoryd.conf.5 man/rogatory-pki.8 2>&1 | grep -v 'referenced manual not found' "
	    "| grep -v 'mandoc.db' || true", ts_src());
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(out, "", "mandoc -T lint:\n%s", out);
	free(out);
}

Test(man, operations_doc_names_every_alert_and_metric)
{
	char *doc = ts_read_file(ts_src_path("docs/OPERATIONS.md"), NULL);
	cr_assert_not_null(doc);
	for (size_t i = 0; i < alertrule_count(); i++) {
		char want[64];
		snprintf(want, sizeof(want), "| `%s` |", alertrule_at(i)->name);
		cr_assert(strstr(doc, want) != NULL, "OPERATIONS.md: no row for alert %s",
		    alertrule_at(i)->name);
	}
	for (size_t i = 0; i < metrics_family_count(); i++) {
		char want[96];
		snprintf(want, sizeof(want), "| `%s` | %s |", metrics_family_at(i)->name,
		    metrics_family_at(i)->type);
		cr_assert(strstr(doc, want) != NULL, "OPERATIONS.md: no row for %s",
		    metrics_family_at(i)->name);
	}
	free(doc);
}
