/*
 * config: rogatoryd.conf (INI). One table of keys serves the parser, the defaults and
 * the documentation (configs/rogatoryd.conf.example mirrors it). A key is in the table
 * only once the feature it configures exists, so no setting is ever silently ignored.
 * Errors name FILE:LINE and the key and say what was expected; every error is collected
 * (see diag), none stops the parse early. Relative paths are taken relative to the
 * config file's folder.
 */
#ifndef ROGATORY_CONFIG_H
#define ROGATORY_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "diag.h"
#include "directory.h"
#include "log.h"
#include "text.h"

struct config {
	char *path;                 /* the config file as given */
	char *dir;                  /* its folder, for relative paths */

	char authority_id[AUTHORITY_ID_MAX + 1]; /* [authority] id */

	char *listen;               /* [network] listen, "host:port" */
	char *listen_host;
	char *listen_port;          /* "0" allowed: bound port goes to <state_dir>/listen.port */
	uint64_t handshake_timeout_ms;
	uint64_t keepalive_ms;
	uint64_t dead_after_ms;
	uint32_t max_unauthenticated;

	char *tls_certificate;      /* absolute paths after parsing */
	char *tls_key;
	char *tls_ca;
	int tls_certificate_line;   /* line of the key naming the file, for errors inside it */
	int tls_key_line;
	int tls_ca_line;
	char *tls_crl;              /* [tls] crl; NULL: revocation is off */
	int tls_crl_line;

	char *state_dir;
	uint64_t store_max_size;    /* [store] max_size, bytes; 0: no limit */

	char *control_socket;
	char *control_group;        /* NULL: no group set */
	mode_t control_mode;

	char *daemon_user;          /* [daemon] user; NULL: no privilege drop */
	char *daemon_group;         /* [daemon] group; NULL: the user's own group */

	enum log_level log_level;

	uint64_t retry_min_ms;
	uint64_t retry_max_ms;
	uint64_t expire_after_ms;   /* [delivery] expire_after */
	uint32_t window;            /* [delivery] window: transfers in flight per link */
	uint32_t max_message_size;  /* [delivery] max_message_size, bytes */
	uint64_t peer_quota;        /* [delivery] peer_quota, bytes; 0: none */
	uint64_t staging_timeout_ms;
	char *delivery_log;         /* [log] delivery_log; NULL: <state_dir>/delivery.jsonl */

	uint32_t max_frame;
	uint32_t max_inflight_bytes; /* [limits] per peer, transfers awaiting a receipt */
	uint32_t max_inflight_total; /* [limits] all peers together */
	uint32_t peer_read_rate;    /* [limits] bytes/s read from one peer, all its links */
	uint32_t max_link_output;   /* [limits] unsent bytes before a link stops reading */
	uint32_t max_inbound_bytes; /* [limits] one peer's received bytes awaiting a commit */
	uint32_t max_inbound_total; /* [limits] all peers' received bytes awaiting a commit */
	uint32_t max_peer_links;    /* [limits] authenticated inbound links per authority */
	uint32_t max_open_files;    /* [limits] RLIMIT_NOFILE; 0: soft = hard */
	uint64_t checkpoint_every_ms; /* [audit] checkpoint_every */

	char *metrics_listen;       /* [metrics] listen; NULL: no metrics endpoint */
	char *metrics_host;
	char *metrics_port;

	uint64_t alert_interval_ms;      /* [alerts] interval: how often conditions are checked */
	uint64_t alert_peer_down_after_ms; /* [alerts] peer_down_after */
	uint64_t alert_stuck_after_ms;   /* [alerts] stuck_after */
	uint32_t alert_store_full_percent; /* [alerts] store_full_percent */

	uint64_t case_ack_within_ms;     /* [cases] acknowledge_within */
	uint64_t case_respond_within_ms[7]; /* [cases] respond_within.KIND by Kind; 0: none */
	uint64_t case_warn_before_ms;    /* [cases] warn_before */
	uint64_t case_check_every_ms;    /* [cases] check_every */

	char *directory_path;
	int directory_line;
	char *directory_signature;  /* [directory] signature; NULL: the directory is unsigned */
	int directory_signature_line;

	struct directory *directory; /* loaded from directory_path by config_load; with
	                              * directory_signature, NULL until dirsig_load sets it */

	time_t tls_not_after;       /* our certificate's expiry, from cert_check_credentials */
};

/*
 * Parses path into a new config, loads the directory it names and checks everything a
 * start-up needs (credentials via cert_check_credentials, own id in the directory).
 * Returns 0 and *out, or -1 with every problem appended to d (as "FILE:LINE: message").
 */
int config_load(const char *path, struct config **out, struct diag *d);
void config_free(struct config *c);

/*
 * For a reload (SIGHUP): the number of keys that differ between cur and next but are
 * applied only at start-up ([network] listen, [store] state_dir, [control] *); each is
 * noted in d as "FILE: [section] key changed; it takes effect only after a restart".
 */
size_t config_restart_needed(const struct config *cur, const struct config *next,
    struct diag *d);

/* Writes the documented example configuration generated from the key table (every key,
 * its unit, range, default and whether a reload applies it). */
void config_write_example(FILE *f);

/* Writes the key reference of man/rogatoryd.conf.5 (mdoc) generated from the table:
 * per section its text, per key its text, value, default and whether a reload applies
 * it. */
void config_write_man(FILE *f);
/* The table's keys, for the tests that hold the documentation to it: key i's name (NULL
 * past the end), its section and whether a reload applies it. */
size_t config_key_count(void);
const char *config_key_at(size_t i, const char **section, bool *reload);

/* For rogatoryctl -c: [control] socket of path (absolute; the default when unset),
 * reading only that key, so an operator needs no access to the key or certificate. */
int config_control_socket(const char *path, char *out, size_t outlen, char *err,
    size_t errlen);

/* Value parsers (also used by the ctl and the tests). 0 / -1 + err. */
/* "250ms", "5s", "10m", "2h", "7d"; a bare number is refused (the unit is required). */
int config_parse_duration(const char *s, uint64_t *ms, char *err, size_t errlen);
/* "512", "64K", "4M", "1G" (powers of 1024). */
int config_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* "host:port" / "[v6]:port"; port 0..65535. */
int config_parse_hostport(const char *s, char **host, char **port, char *err, size_t errlen);

#endif
