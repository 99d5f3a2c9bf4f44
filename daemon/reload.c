/*
 * reload: the reload sequence (contract in reload.h). Everything new is built first
 * (config, TLS context, CRL, signing key); only when all of it succeeded is it swapped
 * in, so a broken file, key or CRL never leaves the daemon half reloaded.
 */
#include "reload.h"

#include <stdio.h>
#include <time.h>

#include "config.h"
#include "crl.h"
#include "dirsig.h"
#include "diag.h"
#include "events.h"
#include "evidence.h"
#include "inbox.h"
#include "journal.h"
#include "log.h"
#include "outbox.h"
#include "peer.h"
#include "revocation.h"
#include "rogatoryd.h"
#include "sdnotify.h"
#include "store.h"
#include "tls.h"

#define CERT_WARN_DAYS 30
#define DAY_S (24 * 3600)

static int reload_apply(struct rogatoryd *d, struct diag *notes);

void
reload_check_certificate(struct rogatoryd *d)
{
	time_t na = tls_own_not_after(d->tls);
	time_t now = time(NULL);
	if (na - now < (time_t)CERT_WARN_DAYS * DAY_S)
		log_warn("our certificate %s expires in %ld days (%ld); renew it with "
		         "rogatory-pki and reload",
		    d->cfg->tls_certificate, (long)((na - now) / DAY_S), (long)na);
}

int
reload_run(struct rogatoryd *d, struct diag *notes)
{
	char err[512];
	sdnotify_reloading();
	log_notice("reload: reading %s", d->cfg->path);
	/* logrotate moved the file away and asks for a reload: the log follows first,
	 * whatever becomes of the configuration. */
	if (d->events != NULL && events_reopen(d->events, err, sizeof(err)) != 0) {
		log_warn("reload: %s", err);
		diag_add(notes, d->cfg->path, 0, "%s", err);
	}
	int rc = reload_apply(d, notes);
	sdnotify("READY=1");
	return rc;
}

static int
reload_apply(struct rogatoryd *d, struct diag *notes)
{
	struct config *ncfg = NULL;
	char err[512];
	size_t before = notes->n;
	if (config_load(d->cfg->path, &ncfg, notes) != 0) {
		for (size_t i = before; i < notes->n; i++)
			log_err("%s", notes->lines[i]);
		log_err("reload failed; keeping the running configuration");
		return -1;
	}
	struct tls *ntls = NULL;
	struct crl *ncrl = NULL;
	if (revocation_prepare(ncfg, &ncrl, &ntls, err, sizeof(err)) != 0) {
		log_err("reload failed: %s; keeping the running configuration", err);
		diag_add(notes, ncfg->path, 0, "%s", err);
		config_free(ncfg);
		return -1;
	}
	/* A refused signed directory is a note, not a failure: the running one stays. */
	struct dirsig *nds = NULL;
	if (ncfg->directory_signature != NULL &&
	    dirsig_load(ncfg, ncrl, 0, notes, &nds, &ncfg->directory, err, sizeof(err)) != 0) {
		log_err("reload failed: %s; keeping the running configuration", err);
		diag_add(notes, ncfg->path, 0, "%s", err);
		tls_free(ntls);
		crl_free(ncrl);
		config_free(ncfg);
		return -1;
	}
	struct evidence_signer *nsigner = NULL;
	if (evidence_signer_load(ncfg->tls_certificate, ncfg->tls_key, &nsigner, err,
	        sizeof(err)) != 0) {
		log_err("reload failed: %s; keeping the running configuration", err);
		diag_add(notes, ncfg->path, 0, "%s", err);
		dirsig_free(nds);
		tls_free(ntls);
		crl_free(ncrl);
		config_free(ncfg);
		return -1;
	}
	/* Start-up-only keys keep their running values until a restart; say which. */
	config_restart_needed(d->cfg, ncfg, notes);
	for (size_t i = before; i < notes->n; i++)
		log_warn("reload: %s", notes->lines[i]);
	bool renewed = !evidence_signer_same(d->signer, nsigner);
	evidence_signer_free(d->signer);
	d->signer = nsigner;
	struct config *old = d->cfg;
	struct tls *otls = d->tls;
	d->cfg = ncfg;
	d->tls = ntls;
	uint64_t dserial = dirsig_serial(d->dirsig);
	dirsig_free(d->dirsig);
	d->dirsig = nds;
	/* Links keep a reference to the context they were made with. */
	tls_free(otls);
	peers_sync(d->peers, d->cfg->directory);
	peers_recheck(d->peers);
	/* A newer signed directory goes on to the peers that announced an older one. */
	if (dirsig_serial(d->dirsig) > dserial)
		peers_directory_spread(d->peers);
	/* After the context swap: a higher number from the file spreads like any adoption. */
	revocation_replace(d->revocation, ncrl);
	inbox_reset_trust(d->inbox);
	if (renewed)
		outbox_resign(d->outbox);
	log_set_level(d->cfg->log_level);
	store_set_max_size(d->store, d->cfg->store_max_size);
	config_free(old);
	reload_check_certificate(d);
	/* A change of what the daemon does: an event, so an entry of the audit log (a
	 * signal carries no operator; `rogatoryctl reload` carries its caller). */
	journal_link_event(d, "reloaded", NULL, STORE_OUT, "configuration reloaded");
	log_notice("reload: done (%zu peers in the directory)", peers_count(d->peers));
	return 0;
}
