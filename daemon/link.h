/*
 * link: one authenticated connection between two daemons, dialed or accepted.
 * States: connecting -> handshaking -> hello -> ready -> closing. The peer's identity
 * comes from its certificate's SAN URI only; no application byte is written before it
 * is checked (outbound: it must be the id we dialed; inbound: the owner's authorize
 * callback decides, e.g. "is it in the directory"). Frames are bounded by max_frame
 * before they are buffered. A link frees itself after its closed callback ran.
 */
#ifndef ROGATORY_LINK_H
#define ROGATORY_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "text.h"
#include "wire.h"
#include "wirechunk.h"

struct evbuffer;

struct event_base;
struct evdns_base;
struct tls;
struct link;

enum link_state {
	LINK_CONNECTING,
	LINK_HANDSHAKING,
	LINK_HELLO,
	LINK_READY,
	LINK_CLOSING,
};

enum link_dir { LINK_OUTBOUND, LINK_INBOUND };

/* Output bytes below which a ready link asks its owner for more (callbacks.drained). */
#define LINK_DRAIN_LOW (512u << 10)

struct link_params {
	uint64_t handshake_timeout_ms; /* TLS handshake + Hello exchange */
	uint64_t keepalive_ms;         /* Ping when idle this long */
	uint64_t dead_after_ms;        /* close when nothing was received this long */
	uint32_t max_frame;            /* inbound frame limit */
	/* Unsent output bytes above which the link stops reading until the peer has read
	 * it down to LINK_DRAIN_LOW: what a peer that sends and never reads can make us
	 * hold ([limits] max_link_output). */
	uint32_t max_output;
	/* What our Hello says. The window binds the peer: an inbound link on which more
	 * Transfers are unanswered than it (a Receipt, or an Error naming a message, answers
	 * one) is closed with Error PROTOCOL. */
	const char *our_id;
	uint32_t window;
	uint64_t max_message_size;
	uint64_t crl_number;
};

struct link_callbacks {
	/* Inbound only, after the handshake: may this authority connect? 0 yes; -1 no,
	 * with *code and why filled (the link sends an Error and closes). */
	int (*authorize)(void *owner, struct link *l, const char *peer_id,
	    Rogatory__V1__ErrorCode *code, char *why, size_t whylen);
	/* Our Hello is about to go (the peer's id is known): the owner may fill what it says
	 * of this peer in particular (audit_witnessed). May be NULL. */
	void (*hello)(void *owner, struct link *l, Rogatory__V1__Hello *h);
	/* Hello exchanged both ways: the link is ready for application frames. */
	void (*ready)(void *owner, struct link *l);
	/* An application frame on a ready link (not Hello/Ping/Pong). env is freed after
	 * the call returns. */
	void (*frame)(void *owner, struct link *l, const Rogatory__V1__Envelope *env);
	/* Inbound ready links: a Chunk frame whose head wirechunk recognised; its data are
	 * the h->data_len bytes at the head of in (in the socket's buffer, not contiguous).
	 * The callee reads them in place (evbuffer_peek) and never drains in; the link
	 * drains them after the call. May be NULL: every Chunk goes through frame then. */
	void (*chunk)(void *owner, struct link *l, const struct wirechunk_head *h,
	    struct evbuffer *in);
	/* Ready links: the output buffer drained to LINK_DRAIN_LOW bytes (may be NULL). */
	void (*drained)(void *owner, struct link *l);
	/* The link is gone. authenticated: it had passed the certificate check. */
	void (*closed)(void *owner, struct link *l, bool authenticated, const char *reason);
};

/* Dials host:port expecting authority expected_id. NULL + err on immediate failure;
 * later failures arrive through closed. */
struct link *link_dial(struct event_base *base, struct evdns_base *dns, struct tls *tls,
    const char *host, const char *port, const char *expected_id,
    const struct link_params *p, const struct link_callbacks *cb, void *owner, char *err,
    size_t errlen);

/* Takes over an accepted fd. NULL + err on failure (fd is closed then). */
struct link *link_accept(struct event_base *base, struct tls *tls, int fd,
    const struct sockaddr *sa, socklen_t salen, const struct link_params *p,
    const struct link_callbacks *cb, void *owner, char *err, size_t errlen);

/* Sends one frame (ready links). -1 when the link is closing or the frame is too large. */
int link_send(struct link *l, const Rogatory__V1__Envelope *env);

/* Sends a Chunk frame of len data bytes (ready links) without packing it: its header
 * and head go into the output buffer, then fill(arg, dst, len) writes the data into it
 * (0 ok, -1 failed). The bytes are those link_send would write. 0; -1 when the link is
 * closing or the frame is above the peer's max_frame; -2 when fill failed (nothing
 * written). */
int link_send_chunk(struct link *l, const char *msg_id, uint32_t index, uint64_t offset,
    size_t len, int (*fill)(void *arg, uint8_t *dst, size_t len), void *arg);

/* Closes: sends an Error frame first when code is not UNSPECIFIED and the handshake is
 * done, flushes, sends close_notify. reason goes to the log and the closed callback. */
void link_close(struct link *l, Rogatory__V1__ErrorCode code, const char *reason);

/* Why a link does not read: it reads while no hold is set. The link sets
 * LINK_HOLD_OUTPUT itself (max_output); owners set the others (backpressure). */
enum {
	LINK_HOLD_OUTPUT = 1u << 0,   /* the peer does not read what we write */
	LINK_HOLD_PEER = 1u << 1,     /* this authority's bytes wait for the store */
	LINK_HOLD_TOTAL = 1u << 2,    /* all authorities' bytes wait for the store */
	LINK_HOLD_REHASH = 1u << 3,   /* staging kept across a restart is being re-hashed */
};
/* Sets or clears hold `why` (one LINK_HOLD_* bit). Frames already buffered are not
 * handled while held; clearing the last hold handles them. */
void link_hold(struct link *l, unsigned why, bool on);
unsigned link_holds(const struct link *l);

enum link_state link_state(const struct link *l);
enum link_dir link_dir(const struct link *l);
bool link_authenticated(const struct link *l);
const char *link_peer_id(const struct link *l);   /* "" before the handshake */
const char *link_subject(const struct link *l);   /* peer certificate subject */
const char *link_remote(const struct link *l);    /* "127.0.0.1:4711" */
time_t link_peer_not_after(const struct link *l);
/* The peer's Hello (ready links). */
uint32_t link_peer_window(const struct link *l);
uint64_t link_peer_max_message_size(const struct link *l);
uint64_t link_peer_crl_number(const struct link *l);
/* The size of our audit log's newest checkpoint the peer says it holds (its Hello). */
uint64_t link_peer_audit_witnessed(const struct link *l);
/* The protocol version the link speaks: the highest both Hellos' ranges hold (ready
 * links; 0 before). Version 2 carries proof of retrieval (PROTOCOL.md section 16). */
uint32_t link_version(const struct link *l);
/* What we know of the peer's crlNumber: its Hello's, raised once a Crl went either way. */
void link_set_peer_crl_number(struct link *l, uint64_t n);
/* The signed directory's serial the peer runs on: its Hello's, raised once a Directory
 * went either way. */
uint64_t link_peer_directory_serial(const struct link *l);
void link_set_peer_directory_serial(struct link *l, uint64_t n);
/* Admitted only because our effective CRL has expired (tls_verify_info.crl_only): after
 * Hello it carries Crl, Ping, Pong and Error, answers anything else with Error CRL_ONLY,
 * closes after handshake_timeout at the latest, and never counts as up for delivery. */
bool link_crl_only(const struct link *l);
/* The peer certificate's serial, upper-case hex ("" before the handshake), for the
 * revocation re-check of live links. */
const char *link_peer_cert_serial(const struct link *l);
/* Bytes waiting in the output buffer. */
size_t link_output_pending(const struct link *l);
/* Monotonic ms of creation (the server evicts the oldest unauthenticated link). */
uint64_t link_created_ms(const struct link *l);
void *link_owner_data(const struct link *l);
/* A number unique to this link for the process's lifetime: asynchronous work (a store
 * commit) keeps the serial, never the pointer, and finds the link again through
 * peers_link_find, or learns that it is gone. */
uint64_t link_serial(const struct link *l);
void link_set_owner_data(struct link *l, void *data);

/* A read budget shared by several links ([limits] peer_read_rate for one peer): bytes
 * per second, with bursts of one max_frame so that every frame gets through. The
 * creator holds one reference; each joined link holds one until it finishes. */
struct link_rate;
struct link_rate *link_rate_new(struct event_base *base, uint32_t bytes_per_s,
    uint32_t max_frame);
void link_rate_set(struct link_rate *r, uint32_t bytes_per_s, uint32_t max_frame);
void link_rate_release(struct link_rate *r);
/* From here on, bytes read on l count against r. */
void link_rate_join(struct link *l, struct link_rate *r);

/* Monotonic and wall clocks in ms. */
uint64_t link_now_ms(void);
int64_t link_wall_ms(void);

#endif
