/*
 * log: diagnostics for rogatoryd and its tools (not the delivery log; see events).
 * To stderr in the foreground (-f), to syslog otherwise. Never used for data that
 * must survive: that goes through store and events.
 *
 * Return convention for the whole project (written once, here):
 *   functions return 0 on success and -1 on failure; a failing function either writes
 *   a message naming the thing and the place into a caller-supplied `char *err, size_t
 *   errlen`, or logs it, and its header comment says which. Predicates return bool.
 */
#ifndef ROGATORY_LOG_H
#define ROGATORY_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_NOTICE, LOG_LEVEL_WARN,
                 LOG_LEVEL_ERR };

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* to_stderr: foreground; otherwise syslog with ident. min: lowest level written.
 * In the foreground under systemd (log_journal_stream), lines get "<N>" priorities. */
void log_init(const char *ident, bool to_stderr, enum log_level min);
/* Whether stderr is the journal stream systemd gave us ($JOURNAL_STREAM = its DEV:INO). */
bool log_journal_stream(void);
void log_set_level(enum log_level min);
/* Parses "debug", "info", "notice", "warn", "error"; -1 when unknown. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level lvl, const char *fmt, ...) PRINTF_LIKE(2, 3);
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)

/* Broken invariant at start-up: log and exit(1). */
void fatal(const char *fmt, ...) PRINTF_LIKE(1, 2) __attribute__((noreturn));

/*
 * Rate-limited warning for things a stranger can trigger (refused handshakes):
 * at most `burst` lines per `key` slot per 10 s; suppressed lines are counted and
 * reported with the next line that passes. key: a small integer class (0..15).
 */
void log_ratelimited(unsigned key, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* snprintf into err (when err != NULL); always returns -1 so callers can `return err_set(...)`. */
int err_set(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

#endif
