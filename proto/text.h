/*
 * text: checks for every piece of text that crosses a boundary (wire, config, control
 * socket, CLI). Pure functions on (pointer, length); no allocation, no locale.
 */
#ifndef ROGATORY_TEXT_H
#define ROGATORY_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTHORITY_ID_MAX 52   /* CC + 3 x ("-" + 16) */
#define UUID_TEXT_LEN 36
#define AUTHORITY_URI_PREFIX "urn:rogatory:authority:"

/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF) without NUL bytes. */
bool text_utf8_valid(const uint8_t *s, size_t len);

/* ^[A-Z]{2}(-[A-Z0-9]{1,16}){1,3}$ */
bool text_authority_id_valid(const uint8_t *s, size_t len);

/* Canonical lower-case UUID text, 8-4-4-4-12 hex digits. */
bool text_uuid_valid(const uint8_t *s, size_t len);

/* YYYY-MM-DD naming a real calendar day. */
bool text_date_valid(const uint8_t *s, size_t len);

/* A short machine code: [a-z0-9-]{1,max}. */
bool text_code_valid(const uint8_t *s, size_t len, size_t max);

/* ISO 3166-1 alpha-2 code assigned to a country ("FR", "BD", ...). */
bool text_country_valid(const char *cc);

/* ISO 639-1 language code ("en", "fr", ...). */
bool text_language_valid(const char *lc);

/* Fills out with a random version-4 UUID in canonical text (37 bytes with NUL). 0 / -1. */
int text_uuid_random(char out[UUID_TEXT_LEN + 1]);

#endif
