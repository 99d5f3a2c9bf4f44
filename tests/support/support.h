/*
 * support: what the Criterion tests share. Processes are started with posix_spawn (a
 * Criterion test that forks and returns through Criterion code hangs the runner), temp
 * folders live under $TMPDIR, ports come from 20000-32767 (outside the ephemeral range,
 * so a restarted daemon gets its port back). Paths come from the environment the
 * Makefile sets: ROGATORY_SRC (the source tree) and ROGATORY_BUILD (the build folder).
 * Every function aborts the test (cr_fatal-style, via cr_assert) on internal failure,
 * so tests read straight through.
 */
#ifndef ROGATORY_TEST_SUPPORT_H
#define ROGATORY_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* $ROGATORY_SRC, $ROGATORY_BUILD (absolute). */
const char *ts_src(void);
const char *ts_build(void);
/* Path of a file under the source tree / build folder (static buffer rotation: 8 slots). */
const char *ts_src_path(const char *rel);
const char *ts_build_path(const char *rel);

/* New empty folder $TMPDIR/rogatory-<tag>-XXXXXX, mode 0700. Caller frees. */
char *ts_tmpdir(const char *tag);
/* rm -rf path. */
void ts_rmrf(const char *path);

/* Runs argv[0] (PATH searched) with posix_spawnp; stdout+stderr captured into *out
 * (malloc'd, NUL-terminated; out may be NULL). Returns the exit status, or 128+signal. */
int ts_run(char *const argv[], char **out);
/* Same through /bin/sh -c with a formatted command line. */
int ts_sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Starts argv in the background; stdout+stderr appended to log_path. Returns the pid. */
pid_t ts_spawn(char *const argv[], const char *log_path);
/* Waits up to timeout_ms for pid to exit. Returns exit status, 128+signal, or -1 on time-out. */
int ts_wait_exit(pid_t pid, int timeout_ms);
/* kill(pid, sig) then reap (SIGKILL after 5 s if it does not exit). Returns the status. */
int ts_stop(pid_t pid, int sig);

/* Whole file, NUL-terminated; NULL when missing. */
char *ts_read_file(const char *path, size_t *len);
void ts_write_file(const char *path, const char *content, mode_t mode);
/* printf into a new file. */
void ts_writef(const char *path, mode_t mode, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Polls (every 20 ms) until the file contains needle; true if it did within timeout_ms. */
bool ts_wait_file_contains(const char *path, const char *needle, int timeout_ms);
/* Count of non-overlapping occurrences of needle in the file (0 when missing). */
int ts_file_count(const char *path, const char *needle);

/* A TCP port in 20000-32767 that is free on 127.0.0.1 now (randomised start). */
int ts_free_port(void);

/* Absolute path of pki/rogatory-pki in the source tree. */
const char *ts_pki(void);

/* True under `make asan` (ASAN_OPTIONS set): freed memory waits in ASan's quarantine
 * (256 MiB by default), so memory bounds measured on a daemon must scale. */
bool ts_sanitizer(void);

#endif
