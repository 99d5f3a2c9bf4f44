/*
 * auditcheck: the offline check of a proof bundle (contract in auditcheck.h). It must
 * never call a bundle valid on the strength of a field no signature or hash covers.
 *
 * Error policy: the first failure is written into r->problem with the bundle's place;
 * nothing is logged (the caller prints), nothing is fatal.
 */
#include "auditcheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auditproof.h"
#include "cert.h"
#include "evidence.h"
#include "log.h"
#include "merkle.h"
#include "wire.h"

/* What a signed part of the bundle (checkpoint, cosignature) holds, decoded. */
struct signed_part {
	uint8_t *body, *sig, *cert;
	size_t body_len, sig_len, cert_len;
};

static int bad(struct auditcheck *r, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int b64(const json_t *o, const char *key, uint8_t **out, size_t *len);
static int hex32(const json_t *s, uint8_t out[MERKLE_HASH_LEN]);
static int part_get(const json_t *o, struct signed_part *p);
static void part_clear(struct signed_part *p);
static int chain_ok(X509_STORE *store, const struct signed_part *p, int64_t at_ms, char *err,
    size_t errlen);
static int check_checkpoint(const json_t *cj, X509_STORE *store, struct auditcheck *r,
    uint8_t root[MERKLE_HASH_LEN], uint8_t cp_sha[EVIDENCE_HASH_LEN]);
static int check_entries(const json_t *entries, const uint8_t root[MERKLE_HASH_LEN],
    struct auditcheck *r);
static int check_cosignatures(const json_t *cos, X509_STORE *store,
    const uint8_t root[MERKLE_HASH_LEN], const uint8_t cp_sha[EVIDENCE_HASH_LEN],
    struct auditcheck *r);

static int
bad(struct auditcheck *r, const char *fmt, ...)
{
	va_list ap;
	if (r->problem[0] != '\0')
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->problem, sizeof(r->problem), fmt, ap);
	va_end(ap);
	return -1;
}

/* Base64 text of o[key] as bytes (malloc'd). -1 when missing or not base64. */
static int
b64(const json_t *o, const char *key, uint8_t **out, size_t *len)
{
	const json_t *s = json_object_get(o, key);
	*out = NULL;
	*len = 0;
	if (!json_is_string(s))
		return -1;
	size_t n = json_string_length(s);
	const char *t = json_string_value(s);
	if (n == 0 || n % 4 != 0 || n > 4 * (WIRE_BODY_MAX / 3 + 1))
		return -1;
	uint8_t *buf = malloc(n / 4 * 3 + 1);
	if (buf == NULL)
		return -1;
	int got = EVP_DecodeBlock(buf, (const unsigned char *)t, (int)n);
	if (got < 0) {
		free(buf);
		return -1;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	size_t pad = (t[n - 1] == '=') + (t[n - 2] == '=');
	*out = buf;
	*len = (size_t)got - pad;
	return 0;
}

static int
hex32(const json_t *s, uint8_t out[MERKLE_HASH_LEN])
{
	return json_is_string(s) ? merkle_hash_from_hex(json_string_value(s), out) : -1;
}

static int
part_get(const json_t *o, struct signed_part *p)
{
	memset(p, 0, sizeof(*p));
	if (!json_is_object(o) || b64(o, "body", &p->body, &p->body_len) != 0 ||
	    b64(o, "signature", &p->sig, &p->sig_len) != 0 ||
	    b64(o, "certificate", &p->cert, &p->cert_len) != 0) {
		part_clear(p);
		return -1;
	}
	return 0;
}

static void
part_clear(struct signed_part *p)
{
	free(p->body);
	free(p->sig);
	free(p->cert);
	memset(p, 0, sizeof(*p));
}

static int
chain_ok(X509_STORE *store, const struct signed_part *p, int64_t at_ms, char *err,
    size_t errlen)
{
	X509 *c = NULL;
	if (cert_from_der(p->cert, p->cert_len, &c, err, errlen) != 0)
		return -1;
	int rc = cert_verify_at(store, c, (time_t)(at_ms / 1000), err, errlen);
	X509_free(c);
	return rc;
}

static int
check_checkpoint(const json_t *cj, X509_STORE *store, struct auditcheck *r,
    uint8_t root[MERKLE_HASH_LEN], uint8_t cp_sha[EVIDENCE_HASH_LEN])
{
	struct signed_part p;
	char signer[AUTHORITY_ID_MAX + 1], why[400];
	Rogatory__V1__CheckpointBody *b = NULL;
	Rogatory__V1__SignedObject so;
	if (part_get(cj, &p) != 0)
		return bad(r, "checkpoint: body, signature or certificate missing or not base64");
	wire_signed_object_set(&so, p.body, p.body_len, p.sig, p.sig_len, p.cert, p.cert_len);
	int rc = -1;
	if (evidence_open_checkpoint(&so, signer, &b, why, sizeof(why)) != 0)
		bad(r, "checkpoint: %s", why);
	else if (strcmp(signer, r->origin) != 0)
		bad(r, "checkpoint: signed by %s, but the bundle is of %s's log", signer, r->origin);
	else if (chain_ok(store, &p, b->time_ms, why, sizeof(why)) != 0)
		bad(r, "checkpoint: the certificate of %s at the signing time: %s", signer, why);
	else
		rc = 0;
	if (rc == 0) {
		r->size = b->tree_size;
		r->time_ms = b->time_ms;
		memcpy(root, b->root_hash.data, MERKLE_HASH_LEN);
		evidence_payload_hash(p.body, p.body_len, cp_sha);
	}
	wire_audit_free(b);
	part_clear(&p);
	return rc;
}

static int
check_entries(const json_t *entries, const uint8_t root[MERKLE_HASH_LEN], struct auditcheck *r)
{
	size_t i;
	const json_t *e;
	if (!json_is_array(entries) || json_array_size(entries) == 0)
		return bad(r, "entries: none");
	json_array_foreach(entries, i, e) {
		uint8_t *bytes = NULL, leaf[MERKLE_HASH_LEN];
		uint8_t path[MERKLE_PROOF_MAX][MERKLE_HASH_LEN];
		size_t len = 0;
		char why[300];
		Rogatory__V1__AuditEntry *a = NULL;
		const json_t *pj = json_object_get(e, "path");
		const json_t *ij = json_object_get(e, "index");
		if (b64(e, "entry", &bytes, &len) != 0)
			return bad(r, "entries[%zu]: entry missing or not base64", i);
		int d = wire_audit_entry_decode(bytes, len, &a, why, sizeof(why));
		merkle_leaf_hash(bytes, len, leaf);
		free(bytes);
		if (d != 0)
			return bad(r, "entries[%zu]: %s", i, why);
		uint64_t seq = a->seq;
		wire_audit_free(a);
		if (!json_is_integer(ij) || json_integer_value(ij) != (json_int_t)seq - 1)
			return bad(r, "entries[%zu] (seq %" PRIu64 "): index must be seq - 1", i, seq);
		if (!json_is_array(pj) || json_array_size(pj) > MERKLE_PROOF_MAX)
			return bad(r, "entries[%zu] (seq %" PRIu64 "): no path", i, seq);
		for (size_t k = 0; k < json_array_size(pj); k++)
			if (hex32(json_array_get(pj, k), path[k]) != 0)
				return bad(r, "entries[%zu] (seq %" PRIu64 "): path[%zu] is not 64 lower-case "
				    "hex digits", i, seq, k);
		if (!merkle_inclusion_verify(seq - 1, r->size, leaf, path, json_array_size(pj), root))
			return bad(r, "entries[%zu] (seq %" PRIu64 "): its inclusion proof does not lead "
			    "to the checkpoint's root: the entry or its path was changed", i, seq);
		r->entries++;
	}
	return 0;
}

static int
check_cosignatures(const json_t *cos, X509_STORE *store, const uint8_t root[MERKLE_HASH_LEN],
    const uint8_t cp_sha[EVIDENCE_HASH_LEN], struct auditcheck *r)
{
	size_t i;
	const json_t *cj;
	if (cos != NULL && !json_is_array(cos))
		return bad(r, "cosignatures: not a list");
	json_array_foreach(cos, i, cj) {
		struct signed_part p;
		char signer[AUTHORITY_ID_MAX + 1], why[400];
		Rogatory__V1__CosignatureBody *b = NULL;
		Rogatory__V1__SignedObject so;
		if (part_get(cj, &p) != 0)
			return bad(r, "cosignatures[%zu]: body, signature or certificate missing", i);
		wire_signed_object_set(&so, p.body, p.body_len, p.sig, p.sig_len, p.cert, p.cert_len);
		int rc = -1;
		if (evidence_open_cosignature(&so, signer, &b, why, sizeof(why)) != 0)
			bad(r, "cosignatures[%zu]: %s", i, why);
		else if (b->origin.len != strlen(r->origin) ||
		    memcmp(b->origin.data, r->origin, b->origin.len) != 0 ||
		    b->tree_size != r->size || memcmp(b->root_hash.data, root, MERKLE_HASH_LEN) != 0 ||
		    memcmp(b->checkpoint_sha256.data, cp_sha, EVIDENCE_HASH_LEN) != 0)
			bad(r, "cosignatures[%zu]: %s cosigned another checkpoint than this one", i,
			    signer);
		else if (chain_ok(store, &p, b->time_ms, why, sizeof(why)) != 0)
			bad(r, "cosignatures[%zu]: the certificate of %s at the signing time: %s", i,
			    signer, why);
		else if (r->cosigners < AUDITCHECK_COSIGNERS_MAX) {
			snprintf(r->cosigner[r->cosigners], sizeof(r->cosigner[0]), "%s", signer);
			r->cosigned_ms[r->cosigners++] = b->time_ms;
			rc = 0;
		}
		wire_audit_free(b);
		part_clear(&p);
		if (rc != 0)
			return bad(r, "cosignatures[%zu]: too many", i);
	}
	return 0;
}

int
auditcheck_bundle(const json_t *bundle, const char *ca_path, struct auditcheck *r)
{
	X509_STORE *store = NULL;
	uint8_t root[MERKLE_HASH_LEN], cp_sha[EVIDENCE_HASH_LEN];
	char err[300];
	const json_t *f = json_object_get(bundle, "format");
	const json_t *o = json_object_get(bundle, "origin");
	memset(r, 0, sizeof(*r));
	if (!json_is_string(f) || strcmp(json_string_value(f), AUDITPROOF_FORMAT) != 0)
		return bad(r, "format: not %s", AUDITPROOF_FORMAT);
	if (!json_is_string(o) || !text_authority_id_valid((const uint8_t *)json_string_value(o),
	        json_string_length(o)))
		return bad(r, "origin: not an authority id");
	snprintf(r->origin, sizeof(r->origin), "%s", json_string_value(o));
	if (cert_store_load(ca_path, &store, err, sizeof(err)) != 0)
		return bad(r, "%s", err);
	int rc = -1;
	if (check_checkpoint(json_object_get(bundle, "checkpoint"), store, r, root, cp_sha) == 0 &&
	    check_entries(json_object_get(bundle, "entries"), root, r) == 0 &&
	    check_cosignatures(json_object_get(bundle, "cosignatures"), store, root, cp_sha,
	        r) == 0)
		rc = 0;
	X509_STORE_free(store);
	return rc;
}
