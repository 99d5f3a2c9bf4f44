/*
 * fuzz_envelope: one peer frame body through wire_envelope_decode, then what the link
 * does next with the messages that carry signed objects: a Transfer's document opened
 * (evidence_open_document) and its routing copies compared (wire_transfer_matches), a
 * Receipt's body opened (evidence_open_receipt).
 */
#include "evidence.h"
#include "fuzz.h"
#include "wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Rogatory__V1__Envelope *env = NULL;
	char err[512], signer[AUTHORITY_ID_MAX + 1];
	if (wire_envelope_decode(data, size, &env, err, sizeof(err)) != 0)
		return 0;
	if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_TRANSFER) {
		Rogatory__V1__DocumentBody *b = NULL;
		if (evidence_open_document(env->transfer->document, signer, &b, err,
		        sizeof(err)) == 0) {
			(void)wire_transfer_matches(env->transfer, b, err, sizeof(err));
			wire_document_body_free(b);
		}
	} else if (env->msg_case == ROGATORY__V1__ENVELOPE__MSG_RECEIPT) {
		Rogatory__V1__ReceiptBody *r = NULL;
		if (evidence_open_receipt(env->receipt->receipt, signer, &r, err, sizeof(err)) == 0)
			wire_receipt_body_free(r);
	}
	wire_envelope_free(env);
	return 0;
}
