/*
 * fuzz_audit: the audit log's bodies (PROTOCOL.md section 15), each input through
 * wire_audit_entry_decode, wire_checkpoint_body_decode and wire_cosignature_body_decode:
 * the field checks and the byte-for-byte re-pack check. (Witness frames go through
 * fuzz_envelope.)
 */
#include "fuzz.h"
#include "wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	Rogatory__V1__AuditEntry *e = NULL;
	if (wire_audit_entry_decode(data, size, &e, err, sizeof(err)) == 0)
		wire_audit_free(e);
	Rogatory__V1__CheckpointBody *c = NULL;
	if (wire_checkpoint_body_decode(data, size, &c, err, sizeof(err)) == 0)
		wire_audit_free(c);
	Rogatory__V1__CosignatureBody *w = NULL;
	if (wire_cosignature_body_decode(data, size, &w, err, sizeof(err)) == 0)
		wire_audit_free(w);
	return 0;
}
