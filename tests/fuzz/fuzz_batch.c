/*
 * fuzz_batch: the batch submission reader of `rogatoryctl send --batch`: each line of
 * the input through send_parse_json, which is static in ctl/send.c, so the ctl's files
 * are included here whole (rogatoryctl.c's main renamed) rather than changed: send.c
 * and every command file the command table names. A line that parses is
 * packed as the Request the ctl would send and decoded as the daemon would
 * (wire_ctl_request_decode). Note: a line without "id" gets a random message id, so
 * the packed bytes (not the paths taken) differ between runs.
 */
#include <stdint.h>
#include <stddef.h>

int rogatoryctl_main(int argc, char **argv);
#define main rogatoryctl_main
#include "../../ctl/rogatoryctl.c"
#undef main
/* The command files its command table names. */
#include "../../ctl/export.c"
#include "../../ctl/draft.c"
#include "../../ctl/case.c"
#include "../../ctl/console.c"
#include "../../ctl/audit.c"
#include "../../ctl/fetch.c"
#include "../../ctl/log.c"
#include "../../ctl/messages.c"
#include "../../ctl/oper.c"
#include "../../ctl/send.c"
#include "../../ctl/stats.c"
#include "../../ctl/status.c"

#include "fuzz.h"

static void batch_fuzz_line(const char *line);

static void
batch_fuzz_line(const char *line)
{
	struct send_args sa;
	char err[256];
	memset(&sa, 0, sizeof(sa));
	rogatory__ctl__v1__send_request__init(&sa.req);
	if (send_parse_json(&sa, line, err, sizeof(err)) == 0) {
		Rogatory__Ctl__V1__Request req = ROGATORY__CTL__V1__REQUEST__INIT;
		req.op_case = ROGATORY__CTL__V1__REQUEST__OP_SEND;
		req.send = &sa.req;
		req.version = CONTROL_PROTOCOL_VERSION;
		req.request_id = 1;
		size_t n = rogatory__ctl__v1__request__get_packed_size(&req);
		uint8_t *buf = malloc(n ? n : 1);
		if (buf == NULL)
			abort();
		if (rogatory__ctl__v1__request__pack(&req, buf) != n)
			abort();
		Rogatory__Ctl__V1__Request *back = NULL;
		if (wire_ctl_request_decode(buf, n, &back, err, sizeof(err)) == 0)
			wire_ctl_request_free(back);
		free(buf);
	}
	send_args_free(&sa);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Lines as getline gives them to send_batch: empty ones skipped. */
	size_t start = 0;
	while (start < size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		if (end > start) {
			char *line = fuzz_strndup(data + start, end - start);
			batch_fuzz_line(line);
			free(line);
		}
		start = end + 1;
	}
	return 0;
}
