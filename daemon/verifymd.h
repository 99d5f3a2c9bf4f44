/*
 * verifymd: VERIFY.md of an evidence bundle: the commands (openssl, protoc, sha256sum,
 * coreutils) that check each of its files by hand, each followed by what it must print
 * for this message. It writes only values rogatory validated or computed (ids, hex,
 * numbers, times), never a text a peer chose, and nothing that changes between two
 * exports of the same stored message (no "now"), so the file's SHA-256 is stable.
 */
#ifndef ROGATORY_VERIFYMD_H
#define ROGATORY_VERIFYMD_H

#include <stddef.h>
#include <stdint.h>

struct bundle;

/* *out (malloc'd, *len bytes, not NUL-terminated). Never fails (fatal on no memory). */
void verifymd_render(const struct bundle *b, const char *exporter, uint8_t **out, size_t *len);

#endif
