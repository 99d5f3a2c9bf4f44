/*
 * rogatory-console.8 (man/): clean under `mandoc -T lint` (but for references to pages
 * not installed on this machine), and it names every key of the console's config table
 * and every option. Kept apart from test_man.c, whose page list is the daemon's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../support/support.h"
#include "cconf.h"

Test(console_man, mandoc_lint_is_clean)
{
	char *out = NULL;
	cr_assert_eq(ts_sh(NULL, "command -v mandoc >/dev/null"), 0, "mandoc is not installed "
	    "(make deps)");
	int rc = ts_sh(&out, "cd '%s' && mandoc -T lint man/rogatory-console.8 2>&1 | "
	    "grep -v 'referenced manual not found' | grep -v 'mandoc.db' || true", ts_src());
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(out, "", "mandoc -T lint:\n%s", out);
	free(out);
}

Test(console_man, the_page_names_every_key_and_option)
{
	char *text = ts_read_file(ts_src_path("man/rogatory-console.8"), NULL);
	cr_assert_not_null(text);
	char *ex = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&ex, &len);
	cconf_write_example(f);
	fclose(f);
	/* Every "key =" line of the table's example. */
	for (char *line = strtok(ex, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (line[0] == ';' || line[0] == '[')
			continue;
		char key[64], want[96];
		cr_assert_eq(sscanf(line, "%63[a-z_] =", key), 1, "%s", line);
		snprintf(want, sizeof(want), ".It Cm %s\n", key);
		cr_assert(strstr(text, want) != NULL, "rogatory-console.8 does not describe %s", key);
	}
	static const char *const opts[] = {"c", "d", "n"};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char want[32];
		snprintf(want, sizeof(want), ".It Fl %s", opts[i]);
		cr_assert(strstr(text, want) != NULL, "rogatory-console.8: no -%s", opts[i]);
	}
	free(ex);
	free(text);
}
