/*
 * fuzz_ctl: the control socket's decoders on one frame body: wire_ctl_request_decode
 * (the daemon's side, the input that matters) and wire_ctl_reply_decode (rogatoryctl's).
 */
#include "fuzz.h"
#include "wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	Rogatory__Ctl__V1__Request *req = NULL;
	if (wire_ctl_request_decode(data, size, &req, err, sizeof(err)) == 0)
		wire_ctl_request_free(req);
	Rogatory__Ctl__V1__Reply *rep = NULL;
	if (wire_ctl_reply_decode(data, size, &rep, err, sizeof(err)) == 0)
		wire_ctl_reply_free(rep);
	return 0;
}
