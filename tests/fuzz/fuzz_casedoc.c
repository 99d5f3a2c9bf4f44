/*
 * fuzz_casedoc: the documents of daemon/casedoc.c, casejson.c: the first byte chooses a
 * kind, the second a status (0: a request); the rest is read twice, as the operator's
 * JSON document (casedoc_encode, then casedoc_check on what it made) and as the fields a
 * peer sends ("name=value" lines judged by casedoc_check, then shown as JSON again).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "casedoc.h"
#include "fuzz.h"

static void
fuzz_document(Rogatory__V1__Kind kind, Rogatory__V1__Status st, const uint8_t *data,
    size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (doc == NULL)
		return;
	struct casedoc_out out;
	struct casedoc_problems pr;
	if (casedoc_encode(doc, st, &out, &pr) == 0) {
		struct casedoc_in in;
		Rogatory__V1__Kind k = kind;
		if (st == ROGATORY__V1__STATUS__STATUS_UNSPECIFIED &&
		    wire_kind_parse(out.kind, &k) != 0)
			abort();   /* encode accepted a kind it cannot name */
		casedoc_in_out(&in, &out, k, st);
		char text[2048];
		casedoc_check(&in, &pr);
		casedoc_problems_text(&pr, text, sizeof(text));
	}
	casedoc_out_free(&out);
	json_decref(doc);
}

static void
fuzz_fields(Rogatory__V1__Kind kind, Rogatory__V1__Status st, const uint8_t *data,
    size_t size)
{
	struct casedoc_in in;
	struct casedoc_problems pr;
	Rogatory__Ctl__V1__SendRequest q = ROGATORY__CTL__V1__SEND_REQUEST__INIT;
	casedoc_in_send(&in, &q, kind, st);
	in.subject = (const uint8_t *)"s";
	in.subject_len = 1;
	size_t start = 0;
	while (start < size && in.n_fields < WIRE_FIELDS_MAX) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		const uint8_t *eq = memchr(data + start, '=', end - start);
		if (eq != NULL)
			in.fields[in.n_fields++] = (struct casedoc_field){data + start,
			    (size_t)(eq - data) - start, eq + 1, end - (size_t)(eq - data) - 1};
		start = end + 1;
	}
	casedoc_check(&in, &pr);
	json_decref(casedoc_fields_json(in.fields, in.n_fields));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	Rogatory__V1__Kind kind = (Rogatory__V1__Kind)(1 + data[0] % 6);
	Rogatory__V1__Status st = (Rogatory__V1__Status)(data[1] % 14);
	fuzz_document(kind, st, data + 2, size - 2);
	fuzz_fields(kind, st, data + 2, size - 2);
	return 0;
}
