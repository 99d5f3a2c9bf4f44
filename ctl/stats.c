/*
 * stats: `rogatoryctl stats [--since DATE] [--until DATE] [--peer ID] [--json | --csv]`:
 * the daemon's statistics tables (StatsRequest), printed as readable tables, as one JSON
 * document, or as CSV (RFC 4180) for the periodic reports. The period is read here
 * (a date or an RFC 3339 UTC time, checked to be a real day) and sent as µs; every
 * number comes from the daemon as computed; nothing is added up here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "termsafe.h"
#include "text.h"

static const char stats_usage[] = "usage: rogatoryctl stats [--since DATE] [--until DATE] "
    "[--peer ID] [--json | --csv]\n";

/* A date (YYYY-MM-DD, 00:00 UTC) or an RFC 3339 UTC time: µs since 1970. The day must
 * exist (2026-02-30 is refused, not read as 2026-03-02). 0 / -1. */
static int
stats_time(const char *s, int64_t *out)
{
	if (strlen(s) < 10 || s[4] != '-' || s[7] != '-' || (s[10] != '\0' && s[10] != 'T'))
		return -1;
	if (ctl_log_time(s, 0, out) != 0 || *out < 0)
		return -1;
	time_t t = (time_t)(*out / 1000000);
	struct tm tm;
	char day[16];
	if (gmtime_r(&t, &tm) == NULL || strftime(day, sizeof(day), "%Y-%m-%d", &tm) != 10)
		return -1;
	return strncmp(day, s, 10) == 0 ? 0 : -1;
}

static int
stats_parse(int argc, char **argv, Rogatory__Ctl__V1__StatsRequest *q, bool *csv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--csv") == 0) {
			*csv = true;
			continue;
		}
		if (v == NULL || (strcmp(a, "--since") != 0 && strcmp(a, "--until") != 0 &&
		    strcmp(a, "--peer") != 0)) {
			fputs(stats_usage, stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--peer") == 0) {
			if (!ctl_authority_arg("--peer", v))
				return 2;
			ctl_bin(&q->peer, v);
			continue;
		}
		int64_t *t = a[2] == 's' ? &q->since_us : &q->until_us;
		if (stats_time(v, t) != 0 || *t == 0) {
			fprintf(stderr, "rogatoryctl: %s %s: expected a date like 2026-01-01 (00:00 "
			    "UTC) or a UTC time like 2026-01-31T23:59:59.999Z\n", a, v);
			return 2;
		}
	}
	if (q->since_us > 0 && q->until_us > 0 && q->until_us <= q->since_us) {
		fprintf(stderr, "rogatoryctl: --until must be after --since\n");
		return 2;
	}
	return 0;
}

/* A cell as text: "-" for null (human) or "" (CSV); reals with two decimals. */
static void
cell_text(const json_t *v, bool csv, char *buf, size_t len)
{
	if (json_is_null(v) || v == NULL)
		snprintf(buf, len, "%s", csv ? "" : "-");
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, csv ? "%g" : "%.2f", json_real_value(v));
	else
		snprintf(buf, len, "%s", json_string_value(v) != NULL ? json_string_value(v) : "");
}

/* RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled. */
static void
csv_field(const char *s, bool first)
{
	if (!first)
		putchar(',');
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* Each table: a line with its name, a line with its column names, its rows; CRLF line
 * ends; a blank line between tables. */
static void
print_csv(const json_t *r)
{
	size_t i, k, m;
	json_t *t, *col, *row, *v;
	json_array_foreach(json_object_get(r, "tables"), i, t) {
		if (i > 0)
			fputs("\r\n", stdout);
		csv_field(ctl_jstr(t, "name"), true);
		fputs("\r\n", stdout);
		json_array_foreach(json_object_get(t, "columns"), k, col) {
			csv_field(json_string_value(col) != NULL ? json_string_value(col) : "", k == 0);
		}
		fputs("\r\n", stdout);
		json_array_foreach(json_object_get(t, "rows"), k, row) {
			json_array_foreach(row, m, v) {
				char buf[1024];
				cell_text(v, true, buf, sizeof(buf));
				csv_field(buf, m == 0);
			}
			fputs("\r\n", stdout);
		}
	}
}

/* Display width: UTF-8 code points (the escaped text is what is printed). */
static int
width(const char *s)
{
	int w = 0;
	for (; *s != '\0'; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void
print_table(const json_t *t)
{
	const json_t *cols = json_object_get(t, "columns"), *rows = json_object_get(t, "rows");
	size_t nc = json_array_size(cols), i, k;
	json_t *row;
	int w[16] = {0};
	char buf[1024];
	if (nc > 16)
		nc = 16;
	printf("%s\n", ctl_jstr(t, "title"));
	if (json_array_size(rows) == 0) {
		printf("  (none)\n\n");
		return;
	}
	for (k = 0; k < nc; k++)
		w[k] = width(json_string_value(json_array_get(cols, k)));
	json_array_foreach(rows, i, row) {
		for (k = 0; k < nc; k++) {
			cell_text(json_array_get(row, k), false, buf, sizeof(buf));
			if (width(buf) > w[k])
				w[k] = width(buf);
		}
	}
	/* Numbers right-aligned, text left-aligned, as the first row shows them. */
	const json_t *first = json_array_get(rows, 0);
	for (int line = -1; line < (int)json_array_size(rows); line++) {
		fputs(" ", stdout);
		for (k = 0; k < nc; k++) {
			const json_t *v = line < 0 ? json_array_get(cols, k)
			    : json_array_get(json_array_get(rows, (size_t)line), k);
			cell_text(v, false, buf, sizeof(buf));
			bool num = json_is_number(json_array_get(first, k)) ||
			    json_is_null(json_array_get(first, k));
			int pad = w[k] - width(buf);
			printf(" %*s%s%*s", num ? pad : 0, "", buf, num ? 0 : pad, "");
		}
		putchar('\n');
	}
	putchar('\n');
}

static void
print_human(const json_t *r)
{
	const json_t *since = json_object_get(r, "since"), *until = json_object_get(r, "until");
	printf("Statistics from %s to %s%s, %s%s (generated %s)\n\n",
	    json_is_string(since) ? json_string_value(since) : "the start",
	    json_is_string(until) ? json_string_value(until) : "now",
	    json_is_string(until) ? " (exclusive)" : "",
	    json_is_string(json_object_get(r, "peer")) ? "authority " : "every authority",
	    json_is_string(json_object_get(r, "peer")) ? ctl_jstr(r, "peer") : "",
	    ctl_jstr(r, "generated"));
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(r, "tables"), i, t)
		print_table(t);
}

int
ctl_stats_run(struct ctl *c, int argc, char **argv)
{
	Rogatory__Ctl__V1__StatsRequest q = ROGATORY__CTL__V1__STATS_REQUEST__INIT;
	bool csv = false;
	int rc = stats_parse(argc, argv, &q, &csv);
	if (rc != 0)
		return rc;
	if (csv && c->json) {
		fprintf(stderr, "rogatoryctl: stats: --json or --csv, not both\n");
		return 2;
	}
	Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
	req.op_case = ROGATORY__CTL__V1__REQUEST__OP_STATS;
	req.stats = &q;
	Rogatory__Ctl__V1__Reply *r = ctl_roundtrip(c, &req, &rc);
	if (r == NULL)
		return rc;
	json_error_t je;
	json_t *j = json_loadb((const char *)r->json.data, r->json.len, 0, &je);
	wire_ctl_reply_free(r);
	if (j == NULL) {
		fprintf(stderr, "rogatoryctl: daemon answer is not JSON: %s\n", je.text);
		return 1;
	}
	if (c->json) {
		ctl_json_print(j, false);
	} else {
		/* What a peer wrote (an offence's name) is escaped for a terminal, not in a
		 * file: a CSV for a report keeps the text as it is. */
		if (!csv || isatty(STDOUT_FILENO))
			ctl_json_termsafe(j);
		if (csv)
			print_csv(j);
		else
			print_human(j);
	}
	json_decref(j);
	return fflush(stdout) == 0 ? 0 : 1;
}
