/*
 * fuzz_evidence: signed-object verification on pieces taken from the input:
 * evidence_verify (context prefix, signer certificate DER and SAN, ECDSA signature) and
 * evidence_open_document / evidence_open_receipt on a SignedObject made of the same
 * pieces. Input: [flags][body length, 2 bytes BE][body][signature length, 1 byte]
 * [signature][certificate: the rest]. flags bit 0: receipt context.
 */
#include <string.h>

#include "evidence.h"
#include "fuzz.h"
#include "wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	bool receipt = (data[0] & 1) != 0;
	size_t body_len = ((size_t)data[1] << 8) | data[2];
	size_t off = 3;
	if (body_len > size - off)
		return 0;
	const uint8_t *body = data + off;
	off += body_len;
	if (off >= size)
		return 0;
	size_t sig_len = data[off++];
	if (sig_len > size - off)
		return 0;
	const uint8_t *sig = data + off;
	off += sig_len;
	const uint8_t *cert = data + off;
	size_t cert_len = size - off;

	char err[512], signer[AUTHORITY_ID_MAX + 1];
	(void)evidence_verify(body, body_len, sig, sig_len, cert, cert_len,
	    receipt ? EVIDENCE_RECEIPT : EVIDENCE_DOCUMENT, signer, err, sizeof(err));

	Rogatory__V1__SignedObject o = ROGATORY__V1__SIGNED_OBJECT__INIT;
	o.body.data = (uint8_t *)body;
	o.body.len = body_len;
	o.signature.data = (uint8_t *)sig;
	o.signature.len = sig_len;
	o.signer_certificate.data = (uint8_t *)cert;
	o.signer_certificate.len = cert_len;
	if (receipt) {
		Rogatory__V1__ReceiptBody *r = NULL;
		if (evidence_open_receipt(&o, signer, &r, err, sizeof(err)) == 0)
			wire_receipt_body_free(r);
	} else {
		Rogatory__V1__DocumentBody *b = NULL;
		if (evidence_open_document(&o, signer, &b, err, sizeof(err)) == 0) {
			uint8_t hash[EVIDENCE_HASH_LEN];
			evidence_payload_hash(body, body_len, hash);
			wire_document_body_free(b);
		}
	}
	return 0;
}
