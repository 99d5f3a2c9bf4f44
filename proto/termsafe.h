/*
 * termsafe: text from a peer or from the store made safe to print on a terminal. Every
 * code point a terminal would act on instead of displaying, or that reorders what is
 * displayed, becomes visible escape text; everything else (UTF-8 included) is copied.
 * Used for every string rogatoryctl prints from a peer or the store, and by the daemon
 * where text from outside lands in a log line or a reason (certificate subjects).
 * The escaping is for reading, not for parsing: a backslash is copied as it is.
 */
#ifndef ROGATORY_TERMSAFE_H
#define ROGATORY_TERMSAFE_H

#include <stddef.h>

/* Bytes out needs for any input of len bytes (the widest escape is 4 bytes a byte). */
#define TERMSAFE_MAX(len) (4 * (len) + 1)

/*
 * Copies s[0..len) into out (outlen > 0 bytes, always NUL-terminated) with:
 *   C0 controls U+0000-U+001F (LF and TAB too) and DEL  ->  \x1b, \x0a, \x7f
 *   C1 controls U+0080-U+009F                           ->  \u009b
 *   bidi embeddings, overrides, isolates                ->  \u202e, \u2066
 *     (U+202A-U+202E, U+2066-U+2069)
 *   each byte that is not part of well-formed UTF-8     ->  \xff
 * An escape or a character that does not fit whole is left out, with what follows it.
 * Returns out.
 */
const char *termsafe(const void *s, size_t len, char *out, size_t outlen);

/* The same into a new string (free it); NULL when out of memory. */
char *termsafe_dup(const void *s, size_t len);

#endif
