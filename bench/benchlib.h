/*
 * benchlib: the benchmark driver's plumbing — child processes (every one is killed at
 * exit, whatever happens), daemons in a throw-away folder, the delivery log read as it
 * grows, /proc memory figures and percentiles. It never touches the source tree
 * except bench/results/ (written by the caller).
 */
#ifndef ROGATORY_BENCHLIB_H
#define ROGATORY_BENCHLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Paths of the source tree and the build folder (set once by main). */
struct bench_env {
	const char *src;   /* the source tree (pki/rogatory-pki, configs/) */
	const char *build; /* rogatoryd, rogatoryctl, bench/limits, bench/manypeers */
	char *dir;         /* the throw-away folder */
	char *ca_dir;      /* <dir>/ca */
	const char *conf_more; /* sections the bench itself appends to every config, or NULL */
};

struct bnode {
	char id[32];
	int port;
	char home[400];    /* <dir>/<id> */
	char conf[440];
	char sock[440];
	char log[440];     /* the daemon's stderr (-f) */
	char state[440];
	char dlog[480];    /* the delivery log */
	pid_t pid;
};

_Noreturn void bl_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Kills every live child (SIGKILL after a grace period) and removes nothing. */
void bl_kill_all(void);
/* Installs the exit and signal handlers that call bl_kill_all. */
void bl_guard(void);

double bl_mono_s(void);
int64_t bl_wall_us(void);
void bl_sleep_ms(double ms);

/* posix_spawn argv with stdout+stderr to out_path (NULL: /dev/null); stdin from in_fd
 * (-1: /dev/null). The pid is remembered for bl_kill_all. */
pid_t bl_spawn(char *const argv[], const char *out_path, int in_fd);
/* Waits up to timeout_ms; exit status, 128+signal, or -1 while still running. */
int bl_wait(pid_t pid, int timeout_ms);
/* SIGTERM (or sig), then SIGKILL after 10 s; returns the status. */
int bl_stop(pid_t pid, int sig);
/* Runs a shell command; its stdout (malloc'd) in *out unless NULL. */
int bl_sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A free TCP port on 127.0.0.1 (bound and released). */
int bl_free_port(void);
/* Node id, config and folders under env->dir; the directory file is written apart. */
void bl_node_init(const struct bench_env *env, struct bnode *n, const char *id);
/* One [authority] section for the directory file. */
void bl_directory_entry(FILE *f, const char *id, const char *address);
/* Starts rogatoryd -f -c conf; returns the seconds until it logged "started as". */
double bl_node_start(const struct bench_env *env, struct bnode *n);
void bl_node_stop(struct bnode *n);
/* rogatoryctl -s sock ARGS; output in *out (may be NULL). Exit status. */
int bl_ctl(const struct bench_env *env, const struct bnode *n, char **out, const char *args);

/* /proc/PID/status field in KiB ("VmRSS", "VmHWM"); -1 when unreadable. */
long bl_proc_kb(pid_t pid, const char *field);
/* CPU seconds (user + system) the process has used; -1 when unreadable. */
double bl_proc_cpu_s(pid_t pid);
/* The same from one stat file (/proc/PID/task/TID/stat); its comm into comm unless NULL. */
double bl_stat_cpu_s(const char *path, char *comm, size_t commlen);
/* Seconds its threads spent runnable but waiting for a CPU (schedstat): how much other
 * load on the machine held it back; -1 when unreadable. */
double bl_proc_runwait_s(pid_t pid);
/* Resets VmHWM to the current RSS (clear_refs 5). */
void bl_reset_hwm(pid_t pid);
long long bl_file_size(const char *path);

/* The delivery log as it grows. Events of one phase are told apart by message id:
 * bl_msg_id(phase, i) makes the ids; bl_msg_index finds (phase, i) again. */
struct bl_phase {
	unsigned tag;
	int n;
	int64_t *queued_us, *delivered_us; /* 0 until seen */
	int64_t *sent_us;       /* the first `sent` (A's log), 0 until seen */
	int64_t *received_us;   /* `received` (the receiver's log), 0 until seen */
	int queued, delivered, failed, received;
	/* Events of one commit share their timestamp: the distinct timestamps of the
	 * phase's events (in seq order) count the commits that carried them. */
	int commits, events;
	int64_t last_us;
};
void bl_msg_id(char out[37], unsigned tag, int i);
struct bl_phase *bl_phase_new(unsigned tag, int n);
void bl_phase_free(struct bl_phase *p);

struct bl_tail {
	int fd;
	char *buf;
	size_t len, cap;
	int64_t last_link_up_us;
	int link_ups;
};
/* Opens path and skips what it holds now (from_start: reads it all). */
void bl_tail_open(struct bl_tail *t, const char *path);
void bl_tail_open_from(struct bl_tail *t, const char *path, bool from_start);
/* Reads the new complete lines and records their events in ph (NULL: links only). */
void bl_tail_poll(struct bl_tail *t, struct bl_phase *ph);
void bl_tail_close(struct bl_tail *t);
/* Polls until ph has `want` delivered (or failed) or timeout_s passed; false on time-out. */
bool bl_tail_wait(struct bl_tail *t, struct bl_phase *ph, int want, double timeout_s);

/* Sorted copy statistics over the (delivered - queued) of a phase, in ms. */
struct bl_lat {
	int n;
	double p50, p90, p99, max;
};
struct bl_lat bl_latency(const struct bl_phase *ph);
/* Sorts v[0..n) ascending; then the nearest-rank percentile p (0..1) of it, 0 when n == 0. */
void bl_sort(double *v, int n);
double bl_pct(const double *v, int n, double p);

/* One JSON line of a 1 KiB request to `to` with id bl_msg_id(tag, i). */
int bl_batch_line(char *buf, size_t cap, const char *to, unsigned tag, int i);

#endif
