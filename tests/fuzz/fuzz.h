/*
 * fuzz: what the libFuzzer harnesses share. Each harness is one fuzz_<target>.c with
 * LLVMFuzzerTestOneInput calling the real library; it must be deterministic, free all it
 * takes and never write outside its own temporary folder. The same objects link with
 * libFuzzer (make fuzz) or with driver.c for plain replay (make fuzz-replay).
 */
#ifndef ROGATORY_FUZZ_H
#define ROGATORY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The entry point libFuzzer (or driver.c) calls once per input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A per-process temporary folder, made on first use and removed (with what the
 * harnesses wrote in it) at exit. Aborts when it cannot be made. */
const char *fuzz_tmpdir(void);

/* Writes data to <tmpdir>/name (replacing it) and returns the path (static buffer
 * per call site is the caller's business: copy it if needed). Aborts on failure. */
const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size);

/* A NUL-terminated malloc'd copy of data (aborts on ENOMEM). */
char *fuzz_strndup(const uint8_t *data, size_t size);

#endif
