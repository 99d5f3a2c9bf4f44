/*
 * benchattach: the attachment phases of `make bench` (figures written into b->out).
 */
#ifndef ROGATORY_BENCHATTACH_H
#define ROGATORY_BENCHATTACH_H

struct bench;

/* One message with a b->c.large_mb attachment A -> B: MB/s, peak RSS, CPU per MiB. */
void benchattach_large(struct bench *b);
/* One with a b->c.huge_mb attachment (skipped without room): peak RSS, disk use. */
void benchattach_huge(struct bench *b);
/* The same size again, its receiver B killed (SIGKILL) at its durable step at 90 %
 * and started again: the bytes sent on the new link after B's Resume. */
void benchattach_restart(struct bench *b);

#endif
