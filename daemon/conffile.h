/*
 * conffile: the line-level INI reading shared by config (rogatoryd.conf) and directory
 * (directory.conf): line numbers, syntax, duplicate sections and keys. It knows no key
 * names and never decides whether a value is good; that is the caller's table.
 *
 * The dialect, the same for both files:
 *   - `[section]` headers; `key = value` lines; key names are [a-z0-9_]+, with . and - allowed inside;
 *   - comments are whole lines starting with `;` or `#` (indentation allowed);
 *   - no inline comments: ` ;` or ` #` inside a value is an error rather than being
 *     silently cut off (inih would cut at ` ;` but keep ` #`, a trap for operators);
 *   - no continuation lines: an indented non-comment line is an error (inih would join
 *     it to the previous key as a second value);
 *   - a line is at most CONFFILE_LINE_MAX bytes, valid UTF-8, no NUL bytes;
 *   - a section or a key given twice is an error naming the line of the first.
 */
#ifndef ROGATORY_CONFFILE_H
#define ROGATORY_CONFFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "diag.h"

/* Longest line accepted, in bytes without the newline (inih's buffer is 200 with NUL). */
#define CONFFILE_LINE_MAX 199

struct conffile_ops {
	/* A well-formed [name] header. Return 0 to read its keys, -1 to skip them (the
	 * callee has added the reason to the diag). */
	int (*section)(void *user, const char *name, int line);
	/* A key = value line (value trimmed, possibly empty) of an accepted section, the
	 * key not seen before in that section. */
	void (*key)(void *user, const char *section, const char *key, const char *value,
	    int line);
};

/*
 * Reads path, calling ops for each section and key; every syntax problem goes into d as
 * "path:LINE: message" and reading continues. 0 when the file was read to the end, -1
 * when it could not be opened or read (reported in d as "path: cannot read: <reason>").
 */
int conffile_parse(const char *path, const struct conffile_ops *ops, void *user,
    struct diag *d);
/* The same over bytes already read and checked (a signed directory); path names them in
 * the diagnostics. */
int conffile_parse_mem(const char *path, const uint8_t *buf, size_t len,
    const struct conffile_ops *ops, void *user, struct diag *d);

/* "host:port" or "[v6]:port"; host a DNS name, IPv4 or bracketed IPv6 address; port
 * decimal, 0 only when allow_port_zero. *host (without brackets) and *port are malloc'd.
 * 0 / -1 + err saying what was expected. */
int conffile_parse_hostport(const char *s, bool allow_port_zero, char **host, char **port,
    char *err, size_t errlen);

/* Absolute path: path itself when absolute, else dir/path. NULL + err when empty. */
char *conffile_path(const char *dir, const char *path, char *err, size_t errlen);

/* malloc that never returns NULL (out of memory is fatal at configuration time). */
char *conffile_strdup(const char *s);

#endif
