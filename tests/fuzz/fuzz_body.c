/*
 * fuzz_body: the serialized bodies inside SignedObject.body (after the context prefix),
 * each input through wire_document_body_decode, wire_receipt_body_decode and
 * wire_retrieval_body_decode, wire_directory_body_decode (and, as a directory.conf.sig file or a stored signed
 * directory, wire_signed_object_decode and wire_directory_decode): the field checks and
 * the byte-for-byte re-pack check.
 */
#include "fuzz.h"
#include "wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	Rogatory__V1__DocumentBody *d = NULL;
	if (wire_document_body_decode(data, size, &d, err, sizeof(err)) == 0)
		wire_document_body_free(d);
	Rogatory__V1__ReceiptBody *r = NULL;
	if (wire_receipt_body_decode(data, size, &r, err, sizeof(err)) == 0)
		wire_receipt_body_free(r);
	Rogatory__V1__RetrievalBody *t = NULL;
	if (wire_retrieval_body_decode(data, size, &t, err, sizeof(err)) == 0)
		wire_audit_free(t);
	Rogatory__V1__DirectoryBody *db = NULL;
	if (wire_directory_body_decode(data, size, &db, err, sizeof(err)) == 0)
		wire_audit_free(db);
	Rogatory__V1__SignedObject *so = NULL;
	if (wire_signed_object_decode(data, size, &so, err, sizeof(err)) == 0)
		wire_audit_free(so);
	Rogatory__V1__Directory *dir = NULL;
	if (wire_directory_decode(data, size, &dir, err, sizeof(err)) == 0)
		wire_audit_free(dir);
	return 0;
}
