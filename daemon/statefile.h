/*
 * statefile: a file of state_dir replaced whole (the effective CRL, the signed directory
 * in force): after a crash it is the old one or the new one, never a mix or a part.
 */
#ifndef ROGATORY_STATEFILE_H
#define ROGATORY_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

/* Writes dir/name as data (len bytes), mode 0600: NAME.tmp, fsync, rename, fsync of dir.
 * 0, or -1 with err (NAME.tmp removed). */
int statefile_write(const char *dir, const char *name, const uint8_t *data, size_t len,
    char *err, size_t errlen);

#endif
