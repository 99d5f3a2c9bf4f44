/*
 * config: reads rogatoryd.conf through one table of keys that drives the parser, the
 * defaults, the restart-or-reload decision and the example file. It must never accept a
 * key the table does not list, nor stop at the first problem: every error is collected.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert.h"
#include "conffile.h"
#include "crl.h"
#include "ctlsock.h"
#include "privdrop.h"

enum cfg_type {
	CFG_ID,         /* char[AUTHORITY_ID_MAX + 1] */
	CFG_HOSTPORT,   /* char * at off, host and port at off_host, off_port */
	CFG_DURATION,   /* uint64_t milliseconds */
	CFG_UINT,       /* uint32_t */
	CFG_SIZE,       /* uint32_t bytes */
	CFG_SIZE64,     /* uint64_t bytes */
	CFG_USER,       /* char *, an existing user other than root */
	CFG_FILE,       /* char *, absolute, must be a readable file */
	CFG_PATH,       /* char *, absolute, need not exist yet */
	CFG_GROUP,      /* char *, an existing group name */
	CFG_MODE,       /* mode_t */
	CFG_LOGLEVEL,   /* enum log_level */
};

struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	const char *def;        /* default, parsed exactly like a value from the file */
	const char *example;    /* shown in the example file when there is no default */
	bool required;
	bool reload;            /* SIGHUP applies a change; false: only a restart does */
	size_t off;             /* the field in struct config */
	size_t off_host, off_port; /* CFG_HOSTPORT only */
	size_t off_line;        /* an int field getting the key's line; 0: none */
	uint64_t min, max;      /* CFG_DURATION (ms), CFG_SIZE (bytes), CFG_UINT */
	const char *doc;        /* for the example file; '\n' starts a new comment line */
};

#define OFF(f) offsetof(struct config, f)
#define KiB UINT64_C(1024)
#define MiB (UINT64_C(1024) * KiB)
#define SEC UINT64_C(1000)
#define MIN (UINT64_C(60) * SEC)
#define HOUR (UINT64_C(60) * MIN)
#define DAY (UINT64_C(24) * HOUR)

static const struct {
	const char *name;
	const char *doc;
} cfg_sections[] = {
	{ "authority", "Who this daemon is." },
	{ "network", "Links with the other authorities (TLS 1.3, mutual authentication)." },
	{ "tls", "This authority's credentials, issued by the network CA\n"
	    "(pki/rogatory-pki issue DIR ID)." },
	{ "store", "Where messages are kept." },
	{ "control", "The local socket used by rogatoryctl." },
	{ "daemon", "The daemon's process." },
	{ "log", "Diagnostics (not the delivery log)." },
	{ "delivery", "Retrying messages that could not be delivered." },
	{ "limits", "Sizes, rates and descriptors: what one peer or a flood of strangers may\n"
	    "cost. Every limit has a default sized for a central authority." },
	{ "audit", "The tamper-evident audit log: every event is an entry of a Merkle tree\n"
	    "whose signed checkpoints the other authorities witness (SECURITY.md)." },
	{ "metrics", "Prometheus metrics over HTTP (GET /metrics only). Off unless listen is\n"
	    "set; bind it to loopback or a management network, never the peers' one." },
	{ "alerts", "Conditions an operator must hear about before they hurt: each raises\n"
	    "an event \"alert\" and a warning once when it starts, and \"alert-cleared\"\n"
	    "once when it ends (rogatoryctl alerts lists those active now). Certificates\n"
	    "expiring within 30, 7 and 1 days and a CRL in the last quarter of its\n"
	    "validity always count; the keys below tune the others." },
	{ "cases", "Deadlines of the requests tracked as cases (rogatoryctl requests shows\n"
	    "them). acknowledge-by runs from the receiver's signed receipt time, the same\n"
	    "instant on both sides; respond-by is the requester's date when it gives one,\n"
	    "else respond_within.KIND after receipt (0s: none); a postponement's estimate\n"
	    "replaces it. Events due-soon and overdue are recorded once per case and clock." },
	{ "directory", "The authorities of the network." },
};
#define CFG_N_SECTIONS (sizeof(cfg_sections) / sizeof(cfg_sections[0]))

static const struct cfg_key cfg_keys[] = {
	{ .section = "authority", .name = "id", .type = CFG_ID, .required = true,
	  .off = OFF(authority_id), .example = "FR-MJ",
	  .doc = "This authority's id, as listed in the directory and in its certificate\n"
	      "(subjectAltName URI urn:rogatory:authority:<ID>)." },
	{ .section = "network", .name = "listen", .type = CFG_HOSTPORT, .required = true,
	  .off = OFF(listen), .off_host = OFF(listen_host), .off_port = OFF(listen_port),
	  .example = "0.0.0.0:7000",
	  .doc = "Address and port for links from other authorities; [v6]:port for IPv6.\n"
	      "Port 0 takes a free port and writes it to <state_dir>/listen.port." },
	{ .section = "network", .name = "handshake_timeout", .type = CFG_DURATION,
	  .def = "5s", .reload = true, .off = OFF(handshake_timeout_ms),
	  .min = 100, .max = 10 * MIN,
	  .doc = "A connection that has not finished TLS and Hello by then is closed." },
	{ .section = "network", .name = "keepalive", .type = CFG_DURATION, .def = "30s",
	  .reload = true, .off = OFF(keepalive_ms), .min = SEC, .max = HOUR,
	  .doc = "An idle link sends a Ping this often." },
	{ .section = "network", .name = "dead_after", .type = CFG_DURATION, .def = "90s",
	  .reload = true, .off = OFF(dead_after_ms), .min = 2 * SEC, .max = DAY,
	  .doc = "A link that has received nothing for this long is closed as dead.\n"
	      "Must be longer than keepalive." },
	{ .section = "network", .name = "max_unauthenticated", .type = CFG_UINT,
	  .def = "256", .reload = true, .off = OFF(max_unauthenticated), .min = 1,
	  .max = 65536,
	  .doc = "Connections allowed in the handshake at once; when full, the oldest is\n"
	      "closed to make room, so strangers cannot use up the daemon's descriptors." },
	{ .section = "tls", .name = "certificate", .type = CFG_FILE, .required = true,
	  .reload = true, .off = OFF(tls_certificate),
	  .off_line = OFF(tls_certificate_line), .example = "tls/FR-MJ.crt",
	  .doc = "This authority's certificate (PEM)." },
	{ .section = "tls", .name = "key", .type = CFG_FILE, .required = true,
	  .reload = true, .off = OFF(tls_key), .off_line = OFF(tls_key_line),
	  .example = "tls/FR-MJ.key",
	  .doc = "Its private key (PEM), readable by the daemon's user only (mode 0600)." },
	{ .section = "tls", .name = "ca", .type = CFG_FILE, .required = true, .reload = true,
	  .off = OFF(tls_ca), .off_line = OFF(tls_ca_line), .example = "tls/ca.crt",
	  .doc = "The network CA certificate: the only trust anchor (never the system's)." },
	{ .section = "tls", .name = "crl", .type = CFG_FILE, .reload = true, .off = OFF(tls_crl),
	  .off_line = OFF(tls_crl_line), .example = "tls/crl.pem",
	  .doc = "The network's CRL (PEM or DER, from rogatory-pki crl). Set: revocation is\n"
	      "enforced with the newest valid CRL from this file, <state_dir>/crl.der or\n"
	      "a peer. Unset: revocation is off (rogatoryd -n and the start-up log warn)." },
	{ .section = "store", .name = "state_dir", .type = CFG_PATH, .required = true,
	  .off = OFF(state_dir), .example = "/var/lib/rogatory",
	  .doc = "Folder of the message store and the daemon's state; mode 0700." },
	{ .section = "store", .name = "max_size", .type = CFG_SIZE64, .def = "0",
	  .reload = true, .off = OFF(store_max_size), .min = 0, .max = 65536 * 1024 * MiB,
	  .doc = "Largest size of the message store (rogatory.db). When it is reached,\n"
	      "submissions are refused with \"store full\" and inbound transfers are\n"
	      "answered TRY_LATER (senders retry); nothing stored is lost. Raise it and\n"
	      "reload to recover. 0: no limit but the disk's." },
	{ .section = "control", .name = "socket", .type = CFG_PATH,
	  .def = "/run/rogatoryd/control.sock", .off = OFF(control_socket),
	  .doc = "Unix socket for rogatoryctl. Its folder must belong to root or to the\n"
	      "daemon's user and be writable by no one else (rogatoryd -n checks)." },
	{ .section = "control", .name = "group", .type = CFG_GROUP, .off = OFF(control_group),
	  .example = "rogatory",
	  .doc = "Operators' group: the socket is given to it and its members may use\n"
	      "rogatoryctl (with the shipped systemd unit: rogatory). Must exist. Unset:\n"
	      "only root and the daemon's own user; anyone else who reaches the socket\n"
	      "gets one permission-denied answer naming its uid." },
	{ .section = "control", .name = "mode", .type = CFG_MODE, .def = "0660",
	  .off = OFF(control_mode),
	  .doc = "Permissions of the socket; nothing for others (use group)." },
	{ .section = "daemon", .name = "user", .type = CFG_USER, .off = OFF(daemon_user),
	  .example = "rogatory",
	  .doc = "Started as root (outside systemd), rogatoryd binds its listener and\n"
	      "creates the control socket, then becomes this user for good. The key, CRL,\n"
	      "directory, this file and state_dir must stay usable by it (rogatoryd -n\n"
	      "checks). Unset and started as root: a warning. Not started as root: it must\n"
	      "already run as this user (systemd's User=)." },
	{ .section = "daemon", .name = "group", .type = CFG_GROUP, .off = OFF(daemon_group),
	  .example = "rogatory",
	  .doc = "Primary group after the drop (with the user's other groups).\n"
	      "Unset: the user's own group." },
	{ .section = "log", .name = "delivery_log", .type = CFG_PATH, .off = OFF(delivery_log),
	  .reload = false, .example = "/var/lib/rogatory/delivery.jsonl",
	  .doc = "Delivery log: one JSON line per event (metadata only, never content).\n"
	      "Unset: <state_dir>/delivery.jsonl." },
	{ .section = "log", .name = "level", .type = CFG_LOGLEVEL, .def = "info",
	  .reload = true, .off = OFF(log_level),
	  .doc = "Lowest level written." },
	{ .section = "delivery", .name = "retry_min", .type = CFG_DURATION, .def = "5s",
	  .reload = true, .off = OFF(retry_min_ms), .min = 100, .max = HOUR,
	  .doc = "First delay before retrying a failed delivery; it doubles each time." },
	{ .section = "delivery", .name = "retry_max", .type = CFG_DURATION, .def = "10m",
	  .reload = true, .off = OFF(retry_max_ms), .min = SEC, .max = 7 * DAY,
	  .doc = "Longest delay between retries. At least retry_min." },
	{ .section = "delivery", .name = "expire_after", .type = CFG_DURATION, .def = "7d",
	  .reload = true, .off = OFF(expire_after_ms), .min = SEC, .max = 365 * DAY,
	  .doc = "A message still undelivered this long after submission becomes expired\n"
	      "(never transmitted) or unconfirmed (transmitted, no receipt; still retried)." },
	{ .section = "delivery", .name = "window", .type = CFG_UINT, .def = "64",
	  .reload = true, .off = OFF(window), .min = 1, .max = 4096,
	  .doc = "Transfers in flight on one link before their receipts (never more than\n"
	      "the peer's own window)." },
	{ .section = "delivery", .name = "max_message_size", .type = CFG_SIZE, .def = "64M",
	  .reload = true, .off = OFF(max_message_size), .min = 64 * KiB, .max = 4096 * MiB - 1,
	  .doc = "Largest message (signed document and attachments) sent or accepted." },
	{ .section = "delivery", .name = "peer_quota", .type = CFG_SIZE64, .def = "4G",
	  .reload = true, .off = OFF(peer_quota), .min = 0, .max = 65536 * 1024 * MiB,
	  .doc = "Bytes one sending authority may hold here unsettled: messages received\n"
	      "and not yet fetched by an operator, its quarantined documents, and\n"
	      "attachments being received. Above it, its transfers get TRY_LATER.\n"
	      "0: no quota. At least max_message_size, so one message always fits." },
	{ .section = "delivery", .name = "staging_timeout", .type = CFG_DURATION, .def = "15m",
	  .reload = true, .off = OFF(staging_timeout_ms), .min = SEC, .max = DAY,
	  .doc = "An inbound message whose attachments are not complete this long after\n"
	      "its transfer is dropped (the sender resends it)." },
	{ .section = "limits", .name = "max_frame", .type = CFG_SIZE, .def = "4M",
	  .reload = true, .off = OFF(max_frame), .min = MiB + 64 * KiB, .max = 64 * MiB,
	  .doc = "Largest frame accepted or sent; a larger one closes the link.\n"
	      "Attachments travel in chunks that fit in it (1M of data + 64K)." },
	{ .section = "limits", .name = "max_inflight_bytes", .type = CFG_SIZE, .def = "16M",
	  .reload = true, .off = OFF(max_inflight_bytes), .min = 64 * KiB,
	  .max = 4096 * MiB - 1,
	  .doc = "Bytes of transfers sent to one peer and not yet answered by a receipt.\n"
	      "Bounds what a peer that stops reading makes us hold in memory (with\n"
	      "[delivery] window). A larger message is still sent, alone." },
	{ .section = "limits", .name = "max_inflight_total", .type = CFG_SIZE, .def = "256M",
	  .reload = true, .off = OFF(max_inflight_total), .min = 64 * KiB,
	  .max = 4096 * MiB - 1,
	  .doc = "Bytes of transfers sent to all peers together and not yet answered.\n"
	      "A peer with nothing in flight may still send one message, so every\n"
	      "message up to max_message_size stays admissible." },
	{ .section = "limits", .name = "peer_read_rate", .type = CFG_SIZE, .def = "256M",
	  .reload = true, .off = OFF(peer_read_rate), .min = 64 * KiB, .max = 4096 * MiB - 1,
	  .doc = "Bytes per second read from one authority, over all its links (bursts of\n"
	      "one max_frame always pass, so every message gets through). Times\n"
	      "dead_after, it must exceed max_inflight_bytes + max_frame." },
	{ .section = "limits", .name = "max_link_output", .type = CFG_SIZE, .def = "4M",
	  .reload = true, .off = OFF(max_link_output), .min = 64 * KiB, .max = 1024 * MiB,
	  .doc = "Bytes we wrote on one link that its peer has not read yet, above which\n"
	      "the link stops reading until the peer catches up: a peer that sends and\n"
	      "never reads (answers, Pongs) costs at most this. Links opened after a\n"
	      "reload use the new value." },
	{ .section = "limits", .name = "max_inbound_bytes", .type = CFG_SIZE, .def = "16M",
	  .reload = true, .off = OFF(max_inbound_bytes), .min = 64 * KiB,
	  .max = 4096 * MiB - 1,
	  .doc = "Bytes received from one authority (documents, attachment chunks) and\n"
	      "waiting for the store's commit; above it, that authority's links stop\n"
	      "reading until the store has caught up to half of it." },
	{ .section = "limits", .name = "max_inbound_total", .type = CFG_SIZE, .def = "256M",
	  .reload = true, .off = OFF(max_inbound_total), .min = 64 * KiB,
	  .max = 4096 * MiB - 1,
	  .doc = "The same for all authorities together: above it, every inbound link\n"
	      "stops reading until the store has caught up to half of it." },
	{ .section = "limits", .name = "max_peer_links", .type = CFG_UINT, .def = "4",
	  .reload = true, .off = OFF(max_peer_links), .min = 1, .max = 64,
	  .doc = "Authenticated inbound links one authority may hold at once; a further\n"
	      "one closes its oldest (logged). An honest peer needs one, two while it\n"
	      "reconnects." },
	{ .section = "limits", .name = "max_open_files", .type = CFG_UINT, .def = "0",
	  .off = OFF(max_open_files), .min = 0, .max = 1048576,
	  .doc = "File descriptor limit (RLIMIT_NOFILE) set at start and logged. 0: raise\n"
	      "the soft limit to the hard one (systemd's LimitNOFILE). When descriptors\n"
	      "run out, accepting pauses for a second instead of failing." },
	{ .section = "audit", .name = "checkpoint_every", .type = CFG_DURATION, .def = "60s",
	  .reload = true, .off = OFF(checkpoint_every_ms), .min = SEC, .max = DAY,
	  .doc = "How often a checkpoint of the audit log is signed (only when the log\n"
	      "grew; also at shutdown) and offered to every linked authority to witness." },
	{ .section = "metrics", .name = "listen", .type = CFG_HOSTPORT, .off = OFF(metrics_listen),
	  .off_host = OFF(metrics_host), .off_port = OFF(metrics_port),
	  .example = "127.0.0.1:9470",
	  .doc = "Address and port of the metrics endpoint (Prometheus text format).\n"
	      "Unset: no endpoint. Anyone who reaches it learns authority ids, queue\n"
	      "sizes and certificate expiry, never message content." },
	{ .section = "alerts", .name = "interval", .type = CFG_DURATION, .def = "1m",
	  .reload = true, .off = OFF(alert_interval_ms), .min = 100, .max = HOUR,
	  .doc = "How often the alert conditions are checked. A reload applies a new\n"
	      "value at the next check." },
	{ .section = "alerts", .name = "peer_down_after", .type = CFG_DURATION, .def = "1h",
	  .reload = true, .off = OFF(alert_peer_down_after_ms), .min = SEC, .max = 30 * DAY,
	  .doc = "An authority we keep dialing (messages wait for it, or an operator\n"
	      "asked) and cannot reach for this long raises peer-down; a link that\n"
	      "comes up clears it." },
	{ .section = "alerts", .name = "stuck_after", .type = CFG_DURATION, .def = "24h",
	  .reload = true, .off = OFF(alert_stuck_after_ms), .min = SEC, .max = 365 * DAY,
	  .doc = "A message to an authority still undelivered this long after its\n"
	      "submission raises messages-stuck for that authority." },
	{ .section = "alerts", .name = "store_full_percent", .type = CFG_UINT, .def = "90",
	  .reload = true, .off = OFF(alert_store_full_percent), .min = 1, .max = 100,
	  .doc = "Store use above this percentage raises store-full: of [store] max_size\n"
	      "when it is set, else of the disk holding state_dir." },
	{ .section = "cases", .name = "acknowledge_within", .type = CFG_DURATION, .def = "7d",
	  .reload = true, .off = OFF(case_ack_within_ms), .min = SEC, .max = 3650 * DAY,
	  .doc = "The requested authority acknowledges a request this long after it was\n"
	      "received (the EIO's Annex B asks for one week)." },
#define RESPOND_DOC "respond-by of a request of this kind that gives no date of its own,\n" \
	"counted from its receipt; 0s: none."
	{ .section = "cases", .name = "respond_within.mla", .type = CFG_DURATION, .def = "90d",
	  .reload = true, .off = OFF(case_respond_within_ms[1]), .max = 3650 * DAY,
	  .doc = RESPOND_DOC },
	{ .section = "cases", .name = "respond_within.extradition", .type = CFG_DURATION,
	  .def = "60d", .reload = true, .off = OFF(case_respond_within_ms[2]), .max = 3650 * DAY,
	  .doc = RESPOND_DOC },
	{ .section = "cases", .name = "respond_within.provisional-arrest", .type = CFG_DURATION,
	  .def = "10d", .reload = true, .off = OFF(case_respond_within_ms[3]), .max = 3650 * DAY,
	  .doc = RESPOND_DOC },
	{ .section = "cases", .name = "respond_within.asset-recovery", .type = CFG_DURATION,
	  .def = "90d", .reload = true, .off = OFF(case_respond_within_ms[4]), .max = 3650 * DAY,
	  .doc = RESPOND_DOC },
	{ .section = "cases", .name = "respond_within.service-of-documents", .type = CFG_DURATION,
	  .def = "30d", .reload = true, .off = OFF(case_respond_within_ms[5]), .max = 3650 * DAY,
	  .doc = RESPOND_DOC },
	{ .section = "cases", .name = "respond_within.other", .type = CFG_DURATION, .def = "0s",
	  .reload = true, .off = OFF(case_respond_within_ms[6]), .max = 3650 * DAY,
	  .doc = RESPOND_DOC },
#undef RESPOND_DOC
	{ .section = "cases", .name = "warn_before", .type = CFG_DURATION, .def = "3d",
	  .reload = true, .off = OFF(case_warn_before_ms), .min = 0, .max = 3650 * DAY,
	  .doc = "The event due-soon is recorded this long before a clock runs out." },
	{ .section = "cases", .name = "check_every", .type = CFG_DURATION, .def = "1m",
	  .reload = true, .off = OFF(case_check_every_ms), .min = SEC, .max = DAY,
	  .doc = "How often the daemon looks for clocks that passed (also at start and\n"
	      "after the wall clock jumps)." },
	{ .section = "directory", .name = "path", .type = CFG_FILE, .required = true,
	  .reload = true, .off = OFF(directory_path), .off_line = OFF(directory_line),
	  .example = "directory.conf",
	  .doc = "The directory of authorities (see directory.conf.example)." },
	{ .section = "directory", .name = "signature", .type = CFG_PATH, .reload = true,
	  .off = OFF(directory_signature), .off_line = OFF(directory_signature_line),
	  .example = "directory.conf.sig",
	  .doc = "The directory's signature, from rogatory-pki sign-directory (path + .sig).\n"
	      "Set: only a directory signed by the network operator's directory key is\n"
	      "used, never an older one than the last good one (kept in\n"
	      "<state_dir>/directory.signed, also when a peer passed on a newer one); a\n"
	      "bad file is refused and the last good one kept. Unset: path is used as it is." },
};
#define CFG_N_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

struct cfg_parse {
	struct config *c;
	struct diag *d;
	int section_line[CFG_N_SECTIONS];  /* 0: section absent */
	int key_line[CFG_N_KEYS];          /* 0: key absent */
	bool key_bad[CFG_N_KEYS];          /* given but refused: no follow-up errors */
};

typedef int (*cfg_set_fn)(struct config *c, const struct cfg_key *k, const char *v,
    char *err, size_t errlen);

static int set_id(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen);
static int set_hostport(struct config *c, const struct cfg_key *k, const char *v,
    char *err, size_t errlen);
static int set_duration(struct config *c, const struct cfg_key *k, const char *v,
    char *err, size_t errlen);
static int set_uint(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen);
static int set_size(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen);
static int set_size64(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen);
static int set_user(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen);
static int set_file(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen);
static int set_path(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen);
static int set_group(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen);
static int set_mode(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen);
static int set_loglevel(struct config *c, const struct cfg_key *k, const char *v,
    char *err, size_t errlen);

/* Per type: its setter and, for those without a range, what a good value looks like. */
static const struct {
	cfg_set_fn set;
	const char *expect;
} cfg_types[] = {
	[CFG_ID] = { set_id, "an authority id like FR-MJ" },
	[CFG_HOSTPORT] = { set_hostport, "host:port like 0.0.0.0:7000 or [::]:7000" },
	[CFG_DURATION] = { set_duration, NULL },
	[CFG_UINT] = { set_uint, NULL },
	[CFG_SIZE] = { set_size, NULL },
	[CFG_SIZE64] = { set_size64, NULL },
	[CFG_USER] = { set_user, "an existing user name other than root" },
	[CFG_FILE] = { set_file, "a file path, relative to this file's folder" },
	[CFG_PATH] = { set_path, "a path, relative to this file's folder" },
	[CFG_GROUP] = { set_group, "an existing group name" },
	[CFG_MODE] = { set_mode, "octal permissions like 0660" },
	[CFG_LOGLEVEL] = { set_loglevel, "debug, info, notice, warn or error" },
};

static int cfg_section_cb(void *user, const char *name, int line);
static void cfg_key_cb(void *user, const char *section, const char *key, const char *value,
    int line);
static void cfg_unknown_key(struct cfg_parse *p, const char *section, const char *key,
    int line);
static size_t cfg_edit_distance(const char *a, const char *b);
static void cfg_set_defaults(struct config *c);
static void cfg_check_required(struct cfg_parse *p);
static void cfg_check_relations(struct cfg_parse *p);
static void cfg_check_directory(struct cfg_parse *p);
static void cfg_check_credentials(struct cfg_parse *p);
static void cfg_check_crl(struct cfg_parse *p);
static int cfg_key_index(const char *section, const char *name);
static const char *cfg_expect(const struct cfg_key *k, char *buf, size_t len);
static const char *cfg_fmt_duration(uint64_t ms, char *buf, size_t len);
static const char *cfg_fmt_size(uint64_t b, char *buf, size_t len);
static int cfg_parse_number(const char *s, const char **end, uint64_t *out);
static char *cfg_folder(const char *path);
static bool cfg_equal(const struct cfg_key *k, const struct config *a,
    const struct config *b);

#define FIELD(c, k, type) ((type *)(void *)((char *)(c) + (k)->off))
#define CFIELD(c, k, type) ((const type *)(const void *)((const char *)(c) + (k)->off))

int
config_load(const char *path, struct config **out, struct diag *d)
{
	static const struct conffile_ops ops = { cfg_section_cb, cfg_key_cb };
	struct cfg_parse p = { .d = d };
	size_t before = d->n;

	*out = NULL;
	struct config *c = calloc(1, sizeof(*c));
	if (c == NULL)
		fatal("out of memory");
	c->path = conffile_strdup(path);
	c->dir = cfg_folder(path);
	p.c = c;
	cfg_set_defaults(c);
	if (conffile_parse(path, &ops, &p, d) == 0) {
		cfg_check_required(&p);
		cfg_check_relations(&p);
		cfg_check_directory(&p);
		cfg_check_credentials(&p);
		cfg_check_crl(&p);
		privdrop_check(c, d);
		ctlsock_check(c, d);
	}
	if (d->n != before) {
		config_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < CFG_N_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->type == CFG_HOSTPORT) {
			free(*(char **)(void *)((char *)c + k->off_host));
			free(*(char **)(void *)((char *)c + k->off_port));
		}
		if (k->type == CFG_HOSTPORT || k->type == CFG_FILE || k->type == CFG_PATH ||
		    k->type == CFG_GROUP || k->type == CFG_USER)
			free(*FIELD(c, k, char *));
	}
	directory_free(c->directory);
	free(c->path);
	free(c->dir);
	free(c);
}

/* The config file's folder, absolute, for relative paths in it. */
static char *
cfg_folder(const char *path)
{
	char *copy = conffile_strdup(path);
	char *abs = realpath(dirname(copy), NULL);
	if (abs == NULL) {
		/* The file cannot be read either; conffile_parse reports that. */
		abs = conffile_strdup(dirname(copy));
	}
	free(copy);
	return abs;
}

static void
cfg_set_defaults(struct config *c)
{
	for (size_t i = 0; i < CFG_N_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		char err[256];
		if (k->def != NULL && cfg_types[k->type].set(c, k, k->def, err, sizeof(err)) < 0)
			fatal("config table: default of [%s] %s: %s", k->section, k->name, err);
	}
}

static int
cfg_section_cb(void *user, const char *name, int line)
{
	struct cfg_parse *p = user;
	char known[256] = "";
	for (size_t i = 0; i < CFG_N_SECTIONS; i++) {
		if (strcmp(cfg_sections[i].name, name) == 0) {
			p->section_line[i] = line;
			return 0;
		}
		size_t n = strlen(known);
		snprintf(known + n, sizeof(known) - n, "%s[%s]", i ? ", " : "",
		    cfg_sections[i].name);
	}
	diag_add(p->d, p->c->path, line, "unknown section [%s]; expected one of %s", name,
	    known);
	return -1;
}

static void
cfg_key_cb(void *user, const char *section, const char *key, const char *value, int line)
{
	struct cfg_parse *p = user;
	int i = cfg_key_index(section, key);
	if (i < 0) {
		cfg_unknown_key(p, section, key, line);
		return;
	}
	const struct cfg_key *k = &cfg_keys[i];
	char err[512], expect[128];
	p->key_line[i] = line;
	if (k->off_line != 0)
		*(int *)(void *)((char *)p->c + k->off_line) = line;
	if (value[0] == '\0')
		err_set(err, sizeof(err), "empty value; expected %s",
		    cfg_expect(k, expect, sizeof(expect)));
	else if (cfg_types[k->type].set(p->c, k, value, err, sizeof(err)) == 0)
		return;
	p->key_bad[i] = true;
	diag_add(p->d, p->c->path, line, "[%s] %s: %s", section, key, err);
}

static int
cfg_key_index(const char *section, const char *name)
{
	for (size_t i = 0; i < CFG_N_KEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Names a likely meant key: a near spelling in the section, or the key in another one. */
static void
cfg_unknown_key(struct cfg_parse *p, const char *section, const char *key, int line)
{
	const struct cfg_key *hint = NULL;
	size_t best = 3;
	for (size_t i = 0; i < CFG_N_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		size_t dist = cfg_edit_distance(k->name, key);
		if (strcmp(k->section, section) != 0 && dist != 0)
			continue;
		if (dist < best) {
			best = dist;
			hint = k;
		}
	}
	if (hint != NULL)
		diag_add(p->d, p->c->path, line, "unknown key [%s] %s (did you mean [%s] %s?)",
		    section, key, hint->section, hint->name);
	else
		diag_add(p->d, p->c->path, line, "unknown key [%s] %s", section, key);
}

/* Levenshtein distance, capped at 3 for long or very different names. */
static size_t
cfg_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];
	if (la >= 63 || lb >= 63)
		return 3;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = diag + (a[i - 1] != b[j - 1]);
			size_t del = row[j] + 1, ins = row[j - 1] + 1;
			row[j] = cost < del ? (cost < ins ? cost : ins) : (del < ins ? del : ins);
			diag = up;
		}
	}
	return row[lb];
}

static void
cfg_check_required(struct cfg_parse *p)
{
	for (size_t i = 0; i < CFG_N_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (!k->required || p->key_line[i] != 0)
			continue;
		int sline = 0;
		for (size_t s = 0; s < CFG_N_SECTIONS; s++)
			if (strcmp(cfg_sections[s].name, k->section) == 0)
				sline = p->section_line[s];
		char expect[128];
		diag_add(p->d, p->c->path, sline, "missing [%s] %s (required; %s)", k->section,
		    k->name, cfg_expect(k, expect, sizeof(expect)));
	}
}

/* Reports a pair that must be ordered at the line of whichever key was given. */
static void
cfg_check_order(struct cfg_parse *p, const char *section, const char *lo_name,
    const char *hi_name, bool strict)
{
	int lo = cfg_key_index(section, lo_name), hi = cfg_key_index(section, hi_name);
	if (p->key_bad[lo] || p->key_bad[hi])
		return;
	uint64_t lv = *CFIELD(p->c, &cfg_keys[lo], uint64_t);
	uint64_t hv = *CFIELD(p->c, &cfg_keys[hi], uint64_t);
	if (strict ? hv > lv : hv >= lv)
		return;
	char a[32], b[32];
	int line = p->key_line[hi] ? p->key_line[hi] : p->key_line[lo];
	diag_add(p->d, p->c->path, line, "[%s] %s: %s must be %s %s (%s)", section, hi_name,
	    cfg_fmt_duration(hv, a, sizeof(a)), strict ? "longer than" : "at least", lo_name,
	    cfg_fmt_duration(lv, b, sizeof(b)));
}

/* A rate-limited receiver must still read a full window of transfers within dead_after,
 * or the sender takes the link for dead and the receipts come late. */
static void
cfg_check_rate(struct cfg_parse *p)
{
	int r = cfg_key_index("limits", "peer_read_rate");
	int da = cfg_key_index("network", "dead_after");
	if (p->key_bad[r] || p->key_bad[da])
		return;
	const struct config *c = p->c;
	uint64_t need = (uint64_t)c->max_inflight_bytes + c->max_frame;
	if ((uint64_t)c->peer_read_rate * (c->dead_after_ms / 1000) > need)
		return;
	diag_add(p->d, c->path, p->key_line[r] ? p->key_line[r] : p->key_line[da],
	    "[limits] peer_read_rate: %u bytes/s for dead_after (%llu s) reads less than "
	    "max_inflight_bytes + max_frame (%llu bytes); raise it", c->peer_read_rate,
	    (unsigned long long)(c->dead_after_ms / 1000), (unsigned long long)need);
}

static void
cfg_check_relations(struct cfg_parse *p)
{
	cfg_check_order(p, "network", "keepalive", "dead_after", true);
	cfg_check_order(p, "delivery", "retry_min", "retry_max", false);
	cfg_check_rate(p);
	int q = cfg_key_index("delivery", "peer_quota");
	if (!p->key_bad[q] && p->c->peer_quota != 0 &&
	    p->c->peer_quota < p->c->max_message_size)
		diag_add(p->d, p->c->path, p->key_line[q] ? p->key_line[q] : 0,
		    "[delivery] peer_quota: %llu bytes, below max_message_size (%u): one message "
		    "must always fit", (unsigned long long)p->c->peer_quota,
		    p->c->max_message_size);
}

static void
cfg_check_directory(struct cfg_parse *p)
{
	struct config *c = p->c;
	int di = cfg_key_index("directory", "path");
	int ii = cfg_key_index("authority", "id");
	if (c->directory_path == NULL || p->key_bad[di])
		return;
	/* Signed: the directory is chosen with the CRL at hand (dirsig_load, after
	 * config_load), so a bad file does not stop a daemon that holds a good one. */
	if (c->directory_signature != NULL)
		return;
	if (directory_load(c->directory_path, &c->directory, p->d) < 0)
		return;
	if (p->key_line[ii] != 0 && !p->key_bad[ii] &&
	    directory_find(c->directory, c->authority_id) == NULL)
		diag_add(p->d, c->path, p->key_line[ii], "[authority] id %s is not in the "
		    "directory %s", c->authority_id, c->directory_path);
}

/* [tls] crl must be a CRL of our CA; whether it is still valid or the newest is the
 * effective-CRL rule's business (crl), decided when the daemon starts or reloads. */
static void
cfg_check_crl(struct cfg_parse *p)
{
	struct config *c = p->c;
	int ki = cfg_key_index("tls", "crl"), ci = cfg_key_index("tls", "ca");
	if (c->tls_crl == NULL || p->key_bad[ki] || p->key_line[ci] == 0 || p->key_bad[ci])
		return;
	char err[512];
	uint64_t number;
	time_t next_update;
	if (crl_file_check(c->tls_crl, c->tls_ca, &number, &next_update, err, sizeof(err)) != 0)
		diag_add(p->d, c->path, c->tls_crl_line, "[tls] crl: %s", err);
}

/* Our certificate and key, checked now so a bad one stops the start, not the first link. */
static void
cfg_check_credentials(struct cfg_parse *p)
{
	struct config *c = p->c;
	static const char *const names[] = { "id", "certificate", "key", "ca" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int k = cfg_key_index(i == 0 ? "authority" : "tls", names[i]);
		if (p->key_line[k] == 0 || p->key_bad[k])
			return;
	}
	char err[512];
	if (cert_check_credentials(c->tls_certificate, c->tls_key, c->tls_ca, c->authority_id,
	    &c->tls_not_after, err, sizeof(err)) == 0)
		return;
	/* Blame the file the message names; the certificate when it names several. */
	const char *which = "certificate";
	int line = c->tls_certificate_line;
	if (strstr(err, c->tls_key) != NULL) {
		which = "key";
		line = c->tls_key_line;
	} else if (strstr(err, c->tls_certificate) == NULL && strstr(err, c->tls_ca) != NULL) {
		which = "ca";
		line = c->tls_ca_line;
	}
	diag_add(p->d, c->path, line, "[tls] %s: %s", which, err);
}

size_t
config_restart_needed(const struct config *cur, const struct config *next, struct diag *d)
{
	size_t n = 0;
	for (size_t i = 0; i < CFG_N_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->reload || cfg_equal(k, cur, next))
			continue;
		diag_add(d, next->path, 0, "[%s] %s changed; it takes effect only after a "
		    "restart", k->section, k->name);
		n++;
	}
	return n;
}

static bool
cfg_equal(const struct cfg_key *k, const struct config *a, const struct config *b)
{
	switch (k->type) {
	case CFG_ID:
		return strcmp(CFIELD(a, k, char), CFIELD(b, k, char)) == 0;
	case CFG_DURATION:
		return *CFIELD(a, k, uint64_t) == *CFIELD(b, k, uint64_t);
	case CFG_UINT:
	case CFG_SIZE:
		return *CFIELD(a, k, uint32_t) == *CFIELD(b, k, uint32_t);
	case CFG_SIZE64:
		return *CFIELD(a, k, uint64_t) == *CFIELD(b, k, uint64_t);
	case CFG_MODE:
		return *CFIELD(a, k, mode_t) == *CFIELD(b, k, mode_t);
	case CFG_LOGLEVEL:
		return *CFIELD(a, k, enum log_level) == *CFIELD(b, k, enum log_level);
	default: {
		const char *x = *CFIELD(a, k, char *), *y = *CFIELD(b, k, char *);
		return (x == NULL && y == NULL) || (x && y && strcmp(x, y) == 0);
	}
	}
}

/* ---- setters: one per type; each refuses with what was expected ---- */

static int
set_id(struct config *c, const struct cfg_key *k, const char *v, char *err, size_t errlen)
{
	if (!text_authority_id_valid((const uint8_t *)v, strlen(v)))
		return err_set(err, errlen, "\"%s\" is not a valid authority id; expected "
		    "CC-AGENCY like FR-MJ or US-DOJ-OIA (country code, then 1-3 parts of "
		    "A-Z0-9)", v);
	snprintf(FIELD(c, k, char), AUTHORITY_ID_MAX + 1, "%s", v);
	return 0;
}

static int
set_hostport(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen)
{
	char *host, *port;
	if (config_parse_hostport(v, &host, &port, err, errlen) < 0)
		return -1;
	char **h = (char **)(void *)((char *)c + k->off_host);
	char **p = (char **)(void *)((char *)c + k->off_port);
	free(*h);
	free(*p);
	free(*FIELD(c, k, char *));
	*h = host;
	*p = port;
	*FIELD(c, k, char *) = conffile_strdup(v);
	return 0;
}

static int
cfg_range(const struct cfg_key *k, const char *v, uint64_t x, char *err, size_t errlen)
{
	char expect[128];
	if (x >= k->min && x <= k->max)
		return 0;
	return err_set(err, errlen, "\"%s\" is out of range; expected %s", v,
	    cfg_expect(k, expect, sizeof(expect)));
}

static int
set_duration(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen)
{
	uint64_t ms = 0;
	if (config_parse_duration(v, &ms, err, errlen) < 0 ||
	    cfg_range(k, v, ms, err, errlen) < 0)
		return -1;
	*FIELD(c, k, uint64_t) = ms;
	return 0;
}

static int
set_uint(struct config *c, const struct cfg_key *k, const char *v, char *err, size_t errlen)
{
	uint64_t n;
	const char *end;
	if (cfg_parse_number(v, &end, &n) < 0 || *end != '\0') {
		char expect[128];
		return err_set(err, errlen, "\"%s\" is not a number; expected %s", v,
		    cfg_expect(k, expect, sizeof(expect)));
	}
	if (cfg_range(k, v, n, err, errlen) < 0)
		return -1;
	*FIELD(c, k, uint32_t) = (uint32_t)n;
	return 0;
}

static int
set_size(struct config *c, const struct cfg_key *k, const char *v, char *err, size_t errlen)
{
	uint64_t b = 0;
	if (config_parse_size(v, &b, err, errlen) < 0 || cfg_range(k, v, b, err, errlen) < 0)
		return -1;
	*FIELD(c, k, uint32_t) = (uint32_t)b;
	return 0;
}

static int
set_size64(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen)
{
	uint64_t b = 0;
	if (config_parse_size(v, &b, err, errlen) < 0 || cfg_range(k, v, b, err, errlen) < 0)
		return -1;
	*FIELD(c, k, uint64_t) = b;
	return 0;
}

static int
set_user(struct config *c, const struct cfg_key *k, const char *v, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(v);
	if (pw == NULL)
		return err_set(err, errlen, "user \"%s\" does not exist", v);
	if (pw->pw_uid == 0)
		return err_set(err, errlen, "\"%s\" is root; unset [daemon] user to run as "
		    "root", v);
	free(*FIELD(c, k, char *));
	*FIELD(c, k, char *) = conffile_strdup(v);
	return 0;
}

static int
set_path(struct config *c, const struct cfg_key *k, const char *v, char *err, size_t errlen)
{
	char *abs = conffile_path(c->dir, v, err, errlen);
	if (abs == NULL)
		return -1;
	free(*FIELD(c, k, char *));
	*FIELD(c, k, char *) = abs;
	return 0;
}

/* Opened now, so an unreadable file is reported at the line that names it. */
static int
set_file(struct config *c, const struct cfg_key *k, const char *v, char *err, size_t errlen)
{
	if (set_path(c, k, v, err, errlen) < 0)
		return -1;
	const char *abs = *FIELD(c, k, char *);
	struct stat st;
	int fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_set(err, errlen, "cannot read %s: %s", abs, strerror(errno));
	int r = fstat(fd, &st);
	close(fd);
	if (r == 0 && !S_ISREG(st.st_mode))
		return err_set(err, errlen, "%s is not a regular file", abs);
	return 0;
}

static int
set_group(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen)
{
	if (getgrnam(v) == NULL)
		return err_set(err, errlen, "group \"%s\" does not exist", v);
	free(*FIELD(c, k, char *));
	*FIELD(c, k, char *) = conffile_strdup(v);
	return 0;
}

static int
set_mode(struct config *c, const struct cfg_key *k, const char *v, char *err, size_t errlen)
{
	size_t len = strlen(v);
	if (len > 4 || strspn(v, "01234567") != len)
		return err_set(err, errlen, "\"%s\" is not octal permissions; expected like "
		    "0660", v);
	unsigned long m = strtoul(v, NULL, 8);
	if (m > 0777)
		return err_set(err, errlen, "\"%s\" has bits beyond 0777", v);
	/* Whoever reaches the socket can send requests in the authority's name. */
	if (m & 0007)
		return err_set(err, errlen, "\"%s\" lets every local user in; give the "
		    "operators a group and use 0660", v);
	*FIELD(c, k, mode_t) = (mode_t)m;
	return 0;
}

static int
set_loglevel(struct config *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen)
{
	if (log_level_parse(v, FIELD(c, k, enum log_level)) < 0)
		return err_set(err, errlen, "\"%s\" is not a log level; expected %s", v,
		    cfg_types[CFG_LOGLEVEL].expect);
	return 0;
}

/* ---- value parsers ---- */

/* Leading decimal digits into *out; -1 when there are none or they overflow. */
static int
cfg_parse_number(const char *s, const char **end, uint64_t *out)
{
	uint64_t n = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*end = p;
	*out = n;
	return p == s ? -1 : 0;
}

int
config_parse_duration(const char *s, uint64_t *ms, char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = { { "ms", 1 }, { "s", SEC }, { "m", MIN }, { "h", HOUR }, { "d", DAY } };
	const char *end;
	uint64_t n;
	if (s[0] < '0' || s[0] > '9')
		return err_set(err, errlen, "\"%s\" is not a duration; expected a number and "
		    "a unit like 30s, 5m", s);
	if (cfg_parse_number(s, &end, &n) < 0)
		return err_set(err, errlen, "\"%s\" is too large", s);
	if (*end == '\0')
		return err_set(err, errlen, "\"%s\" has no unit; expected a duration like "
		    "30s, 5m", s);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (n > UINT64_MAX / units[i].ms)
			return err_set(err, errlen, "\"%s\" is too large", s);
		*ms = n * units[i].ms;
		return 0;
	}
	return err_set(err, errlen, "\"%s\" has an unknown unit \"%s\"; expected ms, s, m, h "
	    "or d", s, end);
}

int
config_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	const char *end;
	uint64_t n, mult;
	if (s[0] < '0' || s[0] > '9')
		return err_set(err, errlen, "\"%s\" is not a size; expected a byte count or a "
		    "number with K, M or G like 64K, 4M", s);
	if (cfg_parse_number(s, &end, &n) < 0)
		return err_set(err, errlen, "\"%s\" is too large", s);
	if (strcmp(end, "") == 0)
		mult = 1;
	else if (strcmp(end, "K") == 0)
		mult = KiB;
	else if (strcmp(end, "M") == 0)
		mult = MiB;
	else if (strcmp(end, "G") == 0)
		mult = 1024 * MiB;
	else
		return err_set(err, errlen, "\"%s\" has an unknown unit \"%s\"; expected K, M "
		    "or G (powers of 1024) or a plain byte count", s, end);
	if (n > UINT64_MAX / mult)
		return err_set(err, errlen, "\"%s\" is too large", s);
	*bytes = n * mult;
	return 0;
}

int
config_parse_hostport(const char *s, char **host, char **port, char *err, size_t errlen)
{
	return conffile_parse_hostport(s, true, host, port, err, errlen);
}

/* ---- what a good value looks like, for errors and the example file ---- */

static const char *
cfg_fmt_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = { { "d", DAY }, { "h", HOUR }, { "m", MIN }, { "s", SEC } };
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms >= units[i].ms && ms % units[i].ms == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", ms / units[i].ms, units[i].unit);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64 "ms", ms);
	return buf;
}

static const char *
cfg_fmt_size(uint64_t b, char *buf, size_t len)
{
	if (b >= 1024 * MiB && b % (1024 * MiB) == 0)
		snprintf(buf, len, "%" PRIu64 "G", b / (1024 * MiB));
	else if (b >= MiB && b % MiB == 0)
		snprintf(buf, len, "%" PRIu64 "M", b / MiB);
	else if (b >= KiB && b % KiB == 0)
		snprintf(buf, len, "%" PRIu64 "K", b / KiB);
	else
		snprintf(buf, len, "%" PRIu64, b);
	return buf;
}

static const char *
cfg_expect(const struct cfg_key *k, char *buf, size_t len)
{
	char lo[32], hi[32];
	switch (k->type) {
	case CFG_DURATION:
		snprintf(buf, len, "a duration from %s to %s", cfg_fmt_duration(k->min, lo,
		    sizeof(lo)), cfg_fmt_duration(k->max, hi, sizeof(hi)));
		break;
	case CFG_SIZE:
	case CFG_SIZE64:
		snprintf(buf, len, "a size from %s to %s", cfg_fmt_size(k->min, lo, sizeof(lo)),
		    cfg_fmt_size(k->max, hi, sizeof(hi)));
		break;
	case CFG_UINT:
		snprintf(buf, len, "a number from %" PRIu64 " to %" PRIu64, k->min, k->max);
		break;
	default:
		snprintf(buf, len, "%s", cfg_types[k->type].expect);
		break;
	}
	return buf;
}

/* ---- the example file (configs/rogatoryd.conf.example is this output) ---- */

static const char cfg_example_head[] =
    "# rogatoryd.conf: configuration of one central authority's rogatoryd.\n"
    "#\n"
    "# Format: [section] headers and \"key = value\" lines. Comments are lines of their\n"
    "# own starting with # or ; (no comments after a value). No indented lines, at\n"
    "# most 199 bytes a line, a key at most once; values are not quoted (quotes would\n"
    "# be part of the value). Unknown sections and keys are errors, never ignored.\n"
    "# Durations need a unit: ms, s, m, h or d (250ms, 30s, 10m, 2h, 7d).\n"
    "# Sizes are a byte count or a number with K, M or G (powers of 1024).\n"
    "# Relative paths are taken relative to the folder of this file.\n"
    "# \"Reload: yes\": SIGHUP (systemctl reload rogatoryd) applies a change.\n"
    "# \"Reload: no\": the daemon keeps the old value until it is restarted.\n"
    "# Check a file without starting the daemon: rogatoryd -n -c FILE\n"
    "# Keys shown commented out are optional and show their default.\n";

static void
cfg_write_comment(FILE *f, const char *text)
{
	for (const char *s = text; *s != '\0';) {
		size_t n = strcspn(s, "\n");
		fprintf(f, "# %.*s\n", (int)n, s);
		s += n + (s[n] == '\n');
	}
}

void
config_write_example(FILE *f)
{
	fputs(cfg_example_head, f);
	for (size_t s = 0; s < CFG_N_SECTIONS; s++) {
		fprintf(f, "\n[%s]\n", cfg_sections[s].name);
		cfg_write_comment(f, cfg_sections[s].doc);
		for (size_t i = 0; i < CFG_N_KEYS; i++) {
			const struct cfg_key *k = &cfg_keys[i];
			char expect[128];
			if (strcmp(k->section, cfg_sections[s].name) != 0)
				continue;
			fputs("\n", f);
			cfg_write_comment(f, k->doc);
			fprintf(f, "# Value: %s. %s%s. Reload: %s.\n",
			    cfg_expect(k, expect, sizeof(expect)),
			    k->required ? "Required" : k->def ? "Default: " : "Optional",
			    k->def ? k->def : "", k->reload ? "yes" : "no");
			if (k->required)
				fprintf(f, "%s = %s\n", k->name, k->example);
			else
				fprintf(f, "#%s = %s\n", k->name, k->def ? k->def : k->example);
		}
	}
}

/* ---- the manual page's key reference (man/rogatoryd.conf.5 holds this output) ---- */

/* Text for an mdoc body: the table's lines joined and wrapped under 80 columns, one
 * sentence a line (mandoc's rule), backslashes escaped, no line starting with a control
 * character. */
static void
cfg_man_text(FILE *f, const char *text)
{
	size_t col = 0;
	for (const char *s = text; *s != '\0';) {
		while (*s == ' ' || *s == '\n')
			s++;
		size_t n = strcspn(s, " \n");
		if (n == 0)
			break;
		if (col > 0 && col + 1 + n > 79) {
			fputc('\n', f);
			col = 0;
		}
		if (col > 0) {
			fputc(' ', f);
			col++;
		} else if (s[0] == '.' || s[0] == '\'') {
			fputs("\\&", f);
		}
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '\\')
				fputs("\\e", f);
			else
				fputc(s[i], f);
		}
		col += n;
		/* A sentence ends: the next one starts a line of its own. */
		char last = s[n - 1];
		s += n;
		if ((last == '.' || last == '?' || last == '!') && *s != '\0' &&
		    s[strspn(s, " \n")] != '\0') {
			fputc('\n', f);
			col = 0;
		}
	}
	if (col > 0)
		fputc('\n', f);
}

void
config_write_man(FILE *f)
{
	fputs(".\\\" Generated from the key table in daemon/config.c (config_write_man):\n"
	    ".\\\" the unit test config/man_page_is_generated_from_the_table says how to\n"
	    ".\\\" regenerate it.\n", f);
	for (size_t s = 0; s < CFG_N_SECTIONS; s++) {
		fprintf(f, ".Ss \\&[%s]\\&\n", cfg_sections[s].name);
		cfg_man_text(f, cfg_sections[s].doc);
		fputs(".Bl -tag -width Ds\n", f);
		for (size_t i = 0; i < CFG_N_KEYS; i++) {
			const struct cfg_key *k = &cfg_keys[i];
			char expect[128];
			if (strcmp(k->section, cfg_sections[s].name) != 0)
				continue;
			fprintf(f, ".It Cm %s\n", k->name);
			cfg_man_text(f, k->doc);
			fputs(".Pp\n", f);
			fprintf(f, "Value: %s.\n", cfg_expect(k, expect, sizeof(expect)));
			if (k->required)
				fprintf(f, "Required, for example\n.Ql %s .\n", k->example);
			else if (k->def != NULL)
				fprintf(f, "Default:\n.Ql %s .\n", k->def);
			else
				fprintf(f, "Optional, for example\n.Ql %s .\n", k->example);
			fprintf(f, "%s\n", k->reload ? "A reload applies a change."
			                              : "Only a restart applies a change.");
		}
		fputs(".El\n", f);
	}
}

size_t
config_key_count(void)
{
	return CFG_N_KEYS;
}

const char *
config_key_at(size_t i, const char **section, bool *reload)
{
	if (i >= CFG_N_KEYS)
		return NULL;
	*section = cfg_keys[i].section;
	*reload = cfg_keys[i].reload;
	return cfg_keys[i].name;
}

struct ctl_socket_scan {
	char *value;
};

static int
ctl_scan_section(void *user, const char *name, int line)
{
	(void)user;
	(void)line;
	return strcmp(name, "control") == 0 ? 0 : -1;
}

static void
ctl_scan_key(void *user, const char *section, const char *key, const char *value, int line)
{
	(void)section;
	(void)line;
	struct ctl_socket_scan *s = user;
	if (strcmp(key, "socket") == 0 && s->value == NULL)
		s->value = conffile_strdup(value);
}

int
config_control_socket(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
	static const struct conffile_ops ops = {ctl_scan_section, ctl_scan_key};
	struct ctl_socket_scan scan = {0};
	struct diag d = {0};
	int rc = -1;
	if (conffile_parse(path, &ops, &scan, &d) != 0) {
		err_set(err, errlen, "%s", d.n > 0 ? d.lines[0] : path);
		goto done;
	}
	const char *v = scan.value;
	for (size_t i = 0; v == NULL && i < CFG_N_KEYS; i++)
		if (strcmp(cfg_keys[i].section, "control") == 0 &&
		    strcmp(cfg_keys[i].name, "socket") == 0)
			v = cfg_keys[i].def;
	char *dir = conffile_strdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, strlen(dir) + 1, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	char *abs = conffile_path(dir, v, err, errlen);
	free(dir);
	if (abs == NULL)
		goto done;
	if (strlen(abs) >= outlen) {
		err_set(err, errlen, "%s: [control] socket path too long", path);
	} else {
		snprintf(out, outlen, "%s", abs);
		rc = 0;
	}
	free(abs);
done:
	free(scan.value);
	diag_free(&d);
	return rc;
}
