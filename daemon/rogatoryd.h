/*
 * rogatoryd: the daemon's context, passed to every module instead of globals. Only
 * main.c creates it; modules read the fields they need and own their own pointers.
 */
#ifndef ROGATORY_ROGATORYD_H
#define ROGATORY_ROGATORYD_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct evdns_base;
struct event;
struct config;
struct tls;
struct peers;
struct server;
struct control;
struct revocation;
struct store;
struct events;
struct outbox;
struct inbox;
struct evidence_signer;
struct audit;
struct witness;
struct pause;
struct metrics;
struct alerts;
struct retrieval;

#define ROGATORY_VERSION "0.1.0"

/* The operator whose control request is being handled (SO_PEERCRED): journal_op_new
 * copies it into every event made meanwhile, so the audit log names who asked. */
struct rogatoryd_actor {
	bool set;
	uint32_t uid;
	char user[64];
};

struct rogatoryd {
	struct event_base *base;
	struct evdns_base *dns;
	struct config *cfg;         /* swapped by a successful reload */
	struct tls *tls;            /* swapped by a successful reload; links keep theirs */
	struct peers *peers;
	struct server *server;
	struct control *control;
	struct revocation *revocation; /* the effective CRL at work (off: no CRL inside) */
	struct dirsig *dirsig;      /* the signed directory in force; NULL when unsigned */
	struct store *store;
	struct events *events;
	struct outbox *outbox;
	struct inbox *inbox;
	struct evidence_signer *signer; /* our key: signs documents and receipts */
	struct audit *audit;        /* our audit log's checkpoints and their witnesses */
	struct witness *witness;    /* the other authorities' checkpoints we witness */
	struct rogatoryd_actor actor;
	struct pause *paused;       /* authorities an operator paused (outbound) */
	struct metrics *metrics;    /* [metrics] listen; NULL when off */
	struct alerts *alerts;      /* the alert conditions, checked on a timer */
	struct deadlines *deadlines; /* the cases' clocks, scanned on a timer */
	struct retrieval *retrieval; /* proof of retrieval: ours to send, theirs to receipt */
	bool foreground;
	bool stopping;
	int64_t started_wall_ms;
	uint64_t started_mono_ms;
	uint16_t listen_port;       /* the bound port */
};

#endif
