/*
 * 20-audit: the tamper-evident audit log between real daemons (issue 17).
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "support.h"
#include "traffic.h"

static const char *const ids2[] = {"BD-ACC", "FR-MJ"};

static int
ctl(struct tnet *t, int i, char **out, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ctl(struct tnet *t, int i, char **out, const char *fmt, ...)
{
	char args[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return tnet_ctl(t, i, out, args);
}

Test(audit, smoke, .timeout = 120)
{
	struct tnet *t = tnet_new("audit", ids2, 2);
	tnet_opt(t, 0, "audit.checkpoint_every=1s");
	tnet_opt(t, 1, "audit.checkpoint_every=1s");
	tnet_start(t, 0);
	tnet_start(t, 1);
	char *id = tr_send(t, 0, "FR-MJ", "audited", 0, 0);
	cr_assert(tr_wait_state(t, 0, id, "delivered", 20000));
	cr_assert(tnet_wait_log(t, 0, "cosigned our checkpoint", 20000));
	cr_assert(tnet_wait_log(t, 1, "cosigned our checkpoint", 20000));
	char *out = NULL;
	int rc = ctl(t, 0, &out, "audit verify");
	fprintf(stderr, "verify: %d %s\n", rc, out);
	free(out);
	rc = ctl(t, 0, &out, "audit status");
	fprintf(stderr, "status: %d %s\n", rc, out);
	free(out);
	rc = ctl(t, 0, &out, "audit prove --id %s --out %s/proof.json", id, t->dir);
	fprintf(stderr, "prove: %d %s\n", rc, out);
	free(out);
	rc = ctl(t, 0, &out, "audit check %s/proof.json --ca %s", t->dir, t->ca);
	fprintf(stderr, "check: %d %s\n", rc, out);
	free(out);
	free(id);
	tnet_free(t);
}
