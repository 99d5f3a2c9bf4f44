/*
 * stagerec: the text of a staging record (contract in stagerec.h). One "key values" per
 * line, in a fixed order, so that a record cut or edited by hand is refused whole, with
 * the line named, rather than half read.
 */
#include "stagerec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

#define STAGEREC_MAGIC "rogatory-staging 1"

static void
hex_put(const uint8_t *h, char out[2 * STAGEREC_HASH_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < STAGEREC_HASH_LEN; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * STAGEREC_HASH_LEN] = '\0';
}

static int
hex_get(const char *s, uint8_t *h)
{
	for (size_t i = 0; i < 2 * STAGEREC_HASH_LEN; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			h[i / 2] = (uint8_t)(v << 4);
		else
			h[i / 2] |= (uint8_t)v;
	}
	return s[2 * STAGEREC_HASH_LEN] == '\0' ? 0 : -1;
}

size_t
stagerec_format(const struct stagerec *r, char *out, size_t outlen)
{
	char ph[2 * STAGEREC_HASH_LEN + 1], px[2 * STAGEREC_HASH_LEN + 1];
	hex_put(r->payload_hash, ph);
	hex_put(r->prefix, px);
	size_t k = (size_t)snprintf(out, outlen, STAGEREC_MAGIC "\nbset %" PRId64 "\nsender %s\n"
	    "message %s\npayload %s\nsize %" PRIu64 "\nstarted %" PRId64 "\nattachments %zu\n",
	    r->bset, r->sender, r->msg_id, ph, r->size, r->started_s, r->n);
	for (size_t i = 0; i < r->n && k < outlen; i++) {
		char h[2 * STAGEREC_HASH_LEN + 1];
		hex_put(r->sha256[i], h);
		k += (size_t)snprintf(out + k, outlen - k, "att %" PRIu64 " %s\n", r->sizes[i], h);
	}
	if (k < outlen)
		k += (size_t)snprintf(out + k, outlen - k, "durable %" PRIu32 " %" PRIu64 " %s\n",
		    r->att, r->off, px);
	return k < outlen ? k : outlen - 1;
}

/* The next line of *p (up to end) into line (NUL-terminated). 0 / -1 none or too long. */
static int
next_line(const char **p, const char *end, char *line, size_t linelen)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (*p >= end || nl == NULL || (size_t)(nl - *p) >= linelen)
		return -1;
	memcpy(line, *p, (size_t)(nl - *p));
	line[nl - *p] = '\0';
	*p = nl + 1;
	return 0;
}

/* The fields of one line in order; each check says whether it holds. */
static int
parse_head(const char **p, const char *end, struct stagerec *r, int *ln)
{
	char line[256], h[2 * STAGEREC_HASH_LEN + 2];
	char tail;
	if (next_line(p, end, line, sizeof(line)) != 0 || strcmp(line, STAGEREC_MAGIC) != 0)
		return -1;
	(*ln)++;
	if (next_line(p, end, line, sizeof(line)) != 0 ||
	    sscanf(line, "bset %" SCNd64 "%c", &r->bset, &tail) != 1 || r->bset <= 0)
		return -1;
	(*ln)++;
	if (next_line(p, end, line, sizeof(line)) != 0 || strncmp(line, "sender ", 7) != 0 ||
	    strlen(line + 7) == 0 || strlen(line + 7) > AUTHORITY_ID_MAX ||
	    !text_authority_id_valid((const uint8_t *)line + 7, strlen(line + 7)))
		return -1;
	memcpy(r->sender, line + 7, strlen(line + 7) + 1);   /* its length checked above */
	(*ln)++;
	if (next_line(p, end, line, sizeof(line)) != 0 || strncmp(line, "message ", 8) != 0 ||
	    strlen(line + 8) != UUID_TEXT_LEN ||
	    !text_uuid_valid((const uint8_t *)line + 8, UUID_TEXT_LEN))
		return -1;
	memcpy(r->msg_id, line + 8, UUID_TEXT_LEN + 1);
	(*ln)++;
	if (next_line(p, end, line, sizeof(line)) != 0 ||
	    sscanf(line, "payload %65s", h) != 1 || hex_get(h, r->payload_hash) != 0)
		return -1;
	(*ln)++;
	if (next_line(p, end, line, sizeof(line)) != 0 ||
	    strchr(line, '-') != NULL || sscanf(line, "size %" SCNu64 "%c", &r->size, &tail) != 1)
		return -1;
	(*ln)++;
	if (next_line(p, end, line, sizeof(line)) != 0 ||
	    sscanf(line, "started %" SCNd64 "%c", &r->started_s, &tail) != 1 || r->started_s <= 0)
		return -1;
	(*ln)++;
	if (next_line(p, end, line, sizeof(line)) != 0 ||
	    sscanf(line, "attachments %zu%c", &r->n, &tail) != 1 || r->n == 0 ||
	    r->n > STAGEREC_ATTACHMENTS_MAX)
		return -1;
	return 0;
}

int
stagerec_parse(const char *text, size_t len, struct stagerec *r, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	char line[256], h[2 * STAGEREC_HASH_LEN + 2];
	char tail;
	int ln = 1;
	memset(r, 0, sizeof(*r));
	if (parse_head(&p, end, r, &ln) != 0)
		return err_set(err, errlen, "line %d: not what a staging record holds there", ln);
	uint64_t total = 0;
	for (size_t i = 0; i < r->n; i++) {
		ln++;
		/* No '-': sscanf's SCNu64 would take "-1" as 2^64 - 1. */
		if (next_line(&p, end, line, sizeof(line)) != 0 || strchr(line, '-') != NULL ||
		    sscanf(line, "att %" SCNu64 " %65s", &r->sizes[i], h) != 2 ||
		    hex_get(h, r->sha256[i]) != 0)
			return err_set(err, errlen, "line %d: not an attachment's size and SHA-256",
			    ln);
		if (r->sizes[i] > r->size - total)
			return err_set(err, errlen, "line %d: attachments larger than the message "
			    "(%" PRIu64 " bytes)", ln, r->size);
		total += r->sizes[i];
	}
	ln++;
	if (next_line(&p, end, line, sizeof(line)) != 0 || strchr(line, '-') != NULL ||
	    sscanf(line, "durable %" SCNu32 " %" SCNu64 " %65s", &r->att, &r->off, h) != 3 ||
	    hex_get(h, r->prefix) != 0)
		return err_set(err, errlen, "line %d: not a durable point", ln);
	if (r->att >= r->n || r->off > r->sizes[r->att])
		return err_set(err, errlen, "line %d: durable point (attachment %" PRIu32 ", offset "
		    "%" PRIu64 ") outside the manifest", ln, r->att, r->off);
	if (p != end)
		return err_set(err, errlen, "line %d: text after the durable point", ln + 1);
	(void)tail;
	return 0;
}

uint64_t
stagerec_durable_bytes(const struct stagerec *r)
{
	uint64_t b = r->off;
	for (uint32_t i = 0; i < r->att && i < r->n; i++)
		b += r->sizes[i];
	return b;
}
