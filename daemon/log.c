/*
 * log: leveled diagnostics to stderr or syslog, plus a rate limiter for lines that
 * unauthenticated strangers can cause. Never blocks on anything but the write itself.
 * Under systemd (stderr is the journal's stream, $JOURNAL_STREAM) each line starts with
 * its syslog priority, "<4>warn: ...", which journald turns into the entry's priority,
 * and carries no timestamp of its own (the journal has one).
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static bool log_stderr = true;
static bool log_journal;        /* stderr is journald's stream: "<N>" prefixes */
static enum log_level log_min = LOG_LEVEL_INFO;

static const char *const level_names[] = {"debug", "info", "notice", "warn", "error"};
static const int level_syslog[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR};

bool
log_journal_stream(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	char *end = NULL;
	/* "DEV:INO" of the stream systemd connected; ours only when stderr is still it. */
	if (js == NULL || js[0] < '0' || js[0] > '9')
		return false;
	errno = 0;
	unsigned long long dev = strtoull(js, &end, 10), ino = 0;
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0' || fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *ident, bool to_stderr, enum log_level min)
{
	log_stderr = to_stderr;
	log_min = min;
	log_journal = to_stderr && log_journal_stream();
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level min)
{
	log_min = min;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return 0;
	}
	return -1;
}

void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	if (lvl < log_min)
		return;
	if (!log_stderr) {
		vsyslog(level_syslog[lvl], fmt, ap);
		return;
	}
	char line[2048];
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_journal) {
		fprintf(stderr, "<%d>%s: %s\n", level_syslog[lvl], level_names[lvl], line);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s\n", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
	    level_names[lvl], line);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

#define RL_SLOTS 16
#define RL_WINDOW_S 10
#define RL_BURST 5

static struct {
	time_t window_start;
	unsigned passed;
	unsigned suppressed;
} rl[RL_SLOTS];

void
log_ratelimited(unsigned key, const char *fmt, ...)
{
	key %= RL_SLOTS;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - rl[key].window_start >= RL_WINDOW_S) {
		rl[key].window_start = now.tv_sec;
		rl[key].passed = 0;
	}
	if (rl[key].passed >= RL_BURST) {
		rl[key].suppressed++;
		return;
	}
	rl[key].passed++;
	char line[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (rl[key].suppressed > 0) {
		log_warn("%s (%u similar lines suppressed)", line, rl[key].suppressed);
		rl[key].suppressed = 0;
	} else {
		log_warn("%s", line);
	}
}

int
err_set(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}
