/*
 * nofile: the daemon's descriptor limit (RLIMIT_NOFILE), set once at start from
 * [limits] max_open_files. A low default soft limit (often 1024) would let a connection
 * flood exhaust descriptors long before max_unauthenticated matters.
 */
#ifndef ROGATORY_NOFILE_H
#define ROGATORY_NOFILE_H

#include <stdint.h>

/* 0: soft limit = hard limit; n: soft limit = n (never above the hard limit unless we
 * are root, which may raise both). Logs the result; a refusal is a warning (the daemon
 * runs with what it has). Returns the soft limit in force afterwards. */
uint64_t nofile_apply(uint32_t max_open_files);

#endif
