/* SPDX-License-Identifier: MIT */
/*
 * Engine scenarios, a certificate's life after issuance: renewal by an
 * RFC 9773 window (with "replaces" and Retry-After), by 2/3 of the
 * lifetime without ARI (1/2 for 6-day certificates), account key rollover
 * (RFC 8555 §7.3.5), revocation (§7.6), account deactivation (§7.3.6),
 * deleting a domain in the middle of an order and crash/restart in the
 * middle of an order (resumed by URL, or ordered again when the CA forgot
 * it). Fake days pass in milliseconds of real time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme/engine.h"
#include "acme/pki.h"
#include "common/errors.h"
#include "tests/scenarios/world.h"

static const char *const one[] = {"life.example.com"};

static struct world *
start(const struct fakeca_cfg *cc, uint64_t seed, char *id)
{
	struct world *w = world_new(cc, seed);
	world_id((unsigned)seed, id);
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add(w, id, "sub1", one, 1, true), 0);
	acme_engine_start(w->e);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	return w;
}

static void
finish(struct world *w)
{
	assert_int_equal(w->nviolations, 0);
	world_free(w);
}

static bool
cond_certs(struct world *w, void *arg)
{
	return w->n_cert_issued >= *(unsigned *)arg;
}

static enum world_rc
run_certs(struct world *w, unsigned n, uint64_t limit)
{
	return world_run(w, cond_certs, &n, limit);
}

struct renew_win {
	const char *id;
	int64_t s, e;
};

static bool
cond_renew_in(struct world *w, void *arg)
{
	const struct renew_win *r = arg;
	const struct acme_domain *d = world_domain(w, r->id);
	return d && d->renew_at >= r->s && d->renew_at <= r->e;
}

static void
test_ari_window(void **state)
{
	struct fakeca_cfg cc;
	char id[ACME_ID_LEN + 1], *old_ari;
	const struct acme_domain *d;
	const struct fakeca_cert *c0;
	const struct fakeca_req *r, *prev = NULL;
	struct renew_win rw;
	struct world *w;
	size_t n;
	(void)state;
	fakeca_cfg_default(&cc);
	cc.ari = true;
	cc.ari_start_off = 30 * FAKECA_DAY;
	cc.ari_end_off = 32 * FAKECA_DAY;
	cc.ari_retry_after_s = 6 * 3600;
	w = start(&cc, 41, id);
	c0 = fakeca_cert_at(w->ca, 0);
	d = world_domain(w, id);
	assert_non_null(d->ari_id);
	assert_string_equal(d->ari_id, c0->ari_id);
	old_ari = strdup(d->ari_id);

	/* the window is learnt and renew_at lands inside it */
	rw.id = id;
	rw.s = c0->not_before + 30 * FAKECA_DAY;
	rw.e = c0->not_before + 32 * FAKECA_DAY;
	assert_int_equal(world_run(w, cond_renew_in, &rw, W_DAY), W_COND);
	assert_true(fakeca_count(w->ca, FEP_RENEWAL) >= 1);

	/* at that time: a new order that replaces the old certificate */
	assert_int_equal(run_certs(w, 2, 40 * W_DAY), W_COND);
	r = world_req(w, FEP_NEWORDER, 1);
	assert_non_null(r);
	assert_true(r->t_ms >= (uint64_t)rw.s * 1000);
	assert_true(r->t_ms <= (uint64_t)rw.e * 1000 + W_HOUR);
	assert_non_null(strstr(r->payload, "\"replaces\""));
	assert_string_equal(fakeca_order_replaces(w->ca, 1), old_ari);
	assert_int_equal(fakeca_norders(w->ca), 2);
	d = world_domain(w, id);
	assert_int_equal(d->status, ACME_DS_VALID);
	assert_string_equal(d->ari_id, fakeca_cert_at(w->ca, 1)->ari_id);
	assert_int_equal(world_cert_check(d, one, 1, NULL), 0);

	/* Retry-After on renewalInfo: polls of one certificate at least
	 * 6 h apart */
	n = fakeca_nreq(w->ca);
	for (size_t i = 0; i < n; i++) {
		r = fakeca_req_at(w->ca, i);
		if (r->ep != FEP_RENEWAL || !strstr(r->url, old_ari))
			continue;
		if (prev && r->t_ms - prev->t_ms < 6 * W_HOUR)
			fail_msg("renewalInfo polled after %llu s",
				 (unsigned long long)(r->t_ms - prev->t_ms) /
				     1000);
		prev = r;
	}
	/* ~30 days at one poll per 6 h, not a poll per tick */
	assert_true(fakeca_count(w->ca, FEP_RENEWAL) <= 32 * 4 + 4);
	free(old_ari);
	finish(w);
}

static void
test_ari_window_moves(void **state)
{
	struct fakeca_cfg cc;
	char id[ACME_ID_LEN + 1];
	const struct fakeca_req *r;
	struct world *w;
	int64_t s;
	(void)state;
	fakeca_cfg_default(&cc);
	cc.ari = true;
	cc.ari_start_off = 60 * FAKECA_DAY;
	cc.ari_end_off = 61 * FAKECA_DAY;
	cc.ari_retry_after_s = 6 * 3600;
	w = start(&cc, 42, id);
	assert_int_equal(world_run(w, NULL, NULL, W_DAY), W_TIME);
	assert_int_equal(w->n_cert_issued, 1);
	/* the CA moves the window to "soon" (e.g. before a mass
	 * revocation): seen at the next poll, renewal inside it */
	s = (int64_t)(w->now / 1000) + FAKECA_DAY;
	fakeca_cfg(w->ca)->ari_abs_start = s;
	fakeca_cfg(w->ca)->ari_abs_end = s + 3600;
	assert_int_equal(run_certs(w, 2, 5 * W_DAY), W_COND);
	r = world_req(w, FEP_NEWORDER, 1);
	assert_non_null(r);
	assert_true(r->t_ms >= (uint64_t)s * 1000);
	assert_true(r->t_ms <= (uint64_t)(s + 3600) * 1000 + W_MIN);
	finish(w);
}

static void
renew_without_ari(uint64_t seed, uint32_t validity)
{
	struct fakeca_cfg cc;
	char id[ACME_ID_LEN + 1];
	const struct acme_domain *d;
	const struct fakeca_req *r;
	int64_t nb, na, at, l, renew_at;
	struct world *w;
	fakeca_cfg_default(&cc);
	cc.validity_s = validity;
	w = start(&cc, seed, id);
	d = world_domain(w, id);
	nb = d->not_before;
	na = d->not_after;
	l = na - nb;
	assert_int_equal(l, validity);
	/* 1/3 left (1/2 for short-lived), jitter up to 1/20 earlier */
	at = nb + (l < 10 * FAKECA_DAY ? l / 2 : l * 2 / 3);
	renew_at = d->renew_at;
	if (renew_at < at - l / 20 - 1 || renew_at > at + 1)
		fail_msg("renew_at at %+lld s, want about %+lld s",
			 (long long)(renew_at - nb), (long long)(at - nb));
	assert_int_equal(run_certs(w, 2, (uint64_t)l * 1000), W_COND);
	r = world_req(w, FEP_NEWORDER, 1);
	assert_non_null(r);
	/* not before renew_at, and not much after */
	assert_true(r->t_ms >= (uint64_t)renew_at * 1000);
	assert_true(r->t_ms <= (uint64_t)renew_at * 1000 + W_HOUR);
	/* no ARI in the directory: no "replaces" */
	assert_null(strstr(r->payload, "replaces"));
	assert_int_equal(fakeca_count(w->ca, FEP_RENEWAL), 0);
	d = world_domain(w, id);
	assert_int_equal(d->status, ACME_DS_VALID);
	assert_true(d->not_before >= renew_at);
	assert_int_equal(world_cert_check(d, one, 1, NULL), 0);
	finish(w);
}

static void
test_renew_without_ari(void **state)
{
	(void)state;
	renew_without_ari(43, 90 * FAKECA_DAY);
	renew_without_ari(44, 6 * FAKECA_DAY);
}

struct kc_arg {
	const char *thumb;
	unsigned changed; /* account_changed calls before the rollover */
};

static bool
cond_thumb(struct world *w, void *arg)
{
	const struct kc_arg *a = arg;
	return !strcmp(fakeca_account_thumb(w->ca, 0), a->thumb) &&
	       w->n_account_changed > a->changed;
}

static void
test_key_change(void **state)
{
	char id[ACME_ID_LEN + 1], thumb[ACME_THUMB_LEN + 1], *pem;
	EVP_PKEY *nk, *stored;
	const struct fakeca_req *r;
	unsigned orders_before;
	struct kc_arg kc;
	struct world *w = start(NULL, 45, id);
	(void)state;
	assert_int_equal(acme_key_generate(ACME_KEY_EC256, &nk), 0);
	assert_int_equal(acme_key_to_pem(nk, &pem), 0);
	assert_int_equal(acme_jwk_thumbprint(nk, thumb), 0);
	kc.thumb = thumb;
	kc.changed = w->n_account_changed;
	assert_int_equal(acme_engine_key_change(w->e, pem), 0);
	assert_int_equal(world_run(w, cond_thumb, &kc, 10 * W_MIN), W_COND);
	/* the host was told the new key */
	assert_int_equal(acme_key_from_pem(w->acct.key_pem,
					   strlen(w->acct.key_pem), &stored),
			 0);
	assert_int_equal(EVP_PKEY_eq(stored, nk), 1);
	EVP_PKEY_free(stored);
	assert_int_equal(fakeca_count(w->ca, FEP_KEYCHANGE), 1);
	/* further orders are signed by the new key */
	orders_before = fakeca_count(w->ca, FEP_NEWORDER);
	assert_int_equal(acme_engine_renew(w->e, id), 0);
	assert_int_equal(run_certs(w, 2, 10 * W_MIN), W_COND);
	r = world_req(w, FEP_NEWORDER, orders_before);
	assert_non_null(r);
	assert_string_equal(r->thumb, thumb);
	assert_int_equal(r->status, 201);
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	/* and a restart with the stored (new) key finds the same account */
	free(w->acct.url);
	w->acct.url = NULL;
	assert_int_equal(world_restart(w), 0);
	assert_int_equal(world_run(w, NULL, NULL, 10 * W_MIN), W_TIME);
	assert_true(acme_engine_ready(w->e));
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	acme_secret_free(pem);
	EVP_PKEY_free(nk);
	finish(w);
}

static void
test_revoke(void **state)
{
	char id[ACME_ID_LEN + 1];
	struct acme_certinfo ci;
	const struct fakeca_cert *c;
	struct world *w = start(NULL, 46, id);
	(void)state;
	assert_int_equal(world_cert_check(world_domain(w, id), one, 1, &ci), 0);
	assert_int_equal(acme_engine_revoke(w->e, id, 7), AD_EINVAL);
	assert_int_equal(acme_engine_revoke(w->e, id, 11), AD_EINVAL);
	assert_int_equal(acme_engine_revoke(w->e, "nope", 1), AD_ENOENT);
	assert_int_equal(acme_engine_revoke(w->e, id, 4), 0);
	assert_int_equal(world_run_status(w, id, ACME_DS_REVOKED, 10 * W_MIN),
			 W_COND);
	c = fakeca_cert_at(w->ca, 0);
	assert_true(c->revoked);
	assert_int_equal(c->reason, 4);
	assert_string_equal(c->serial, ci.serial);
	assert_int_equal(fakeca_count(w->ca, FEP_REVOKE), 1);
	assert_true(w->n_revoked_issued >= 1);
	assert_int_equal(world_persisted(w, id)->status, ACME_DS_REVOKED);
	/* a revoked domain is not renewed behind the user's back */
	assert_int_equal(world_run(w, NULL, NULL, 100 * W_DAY), W_TIME);
	assert_int_equal(fakeca_norders(w->ca), 1);
	acme_certinfo_free(&ci);
	finish(w);
}

static bool
cond_acct_deactivated(struct world *w, void *arg)
{
	(void)arg;
	return !strcmp(fakeca_account_status(w->ca, 0), "deactivated");
}

static void
test_deactivate(void **state)
{
	char id[ACME_ID_LEN + 1];
	struct world *w = start(NULL, 47, id);
	(void)state;
	assert_int_equal(acme_engine_deactivate(w->e), 0);
	assert_int_equal(world_run(w, cond_acct_deactivated, NULL, 10 * W_MIN),
			 W_COND);
	assert_int_equal(world_run(w, NULL, NULL, W_HOUR), W_TIME);
	assert_non_null(w->acct.status);
	assert_string_equal(w->acct.status, "deactivated");
	/* every domain stops: nothing more is ordered, ever */
	assert_int_equal(world_run(w, NULL, NULL, 100 * W_DAY), W_TIME);
	assert_int_equal(fakeca_norders(w->ca), 1);
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	finish(w);
}

static bool
cond_txt_inflight(struct world *w, void *arg)
{
	return world_txt_count(w, arg) > 0 &&
	       fakeca_count(w->ca, FEP_CHALL) >= 1 && w->nev > 0;
}

static void
test_delete_mid_order(void **state)
{
	struct fakeca_cfg cc;
	char id[ACME_ID_LEN + 1];
	struct world *w;
	size_t before, n;
	(void)state;
	fakeca_cfg_default(&cc);
	cc.validation_ms = 5000;
	w = world_new(&cc, 48);
	world_id(48, id);
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add(w, id, "sub1", one, 1, true), 0);
	acme_engine_start(w->e);
	assert_int_equal(world_run(w, cond_txt_inflight, "sub1", W_MIN),
			 W_COND);
	assert_int_equal(acme_engine_delete(w->e, id), 0);
	/* at once: TXT gone, host told, domain gone */
	assert_int_equal(world_txt_total(w), 0);
	assert_int_equal(w->n_deleted, 1);
	assert_null(world_domain(w, id));
	assert_null(world_persisted(w, id));
	assert_int_equal(acme_engine_delete(w->e, id), AD_ENOENT);
	before = fakeca_nreq(w->ca);
	/* late responses arrive and are ignored */
	assert_int_equal(world_run(w, NULL, NULL, W_HOUR), W_TIME);
	assert_int_equal(w->nev, 0);
	assert_int_equal(world_txt_total(w), 0);
	assert_int_equal(w->n_cert_issued, 0);
	n = fakeca_nreq(w->ca);
	for (size_t i = before; i < n; i++) {
		enum fakeca_ep ep = fakeca_req_at(w->ca, i)->ep;
		if (ep == FEP_NEWORDER || ep == FEP_ORDER || ep == FEP_AUTHZ ||
		    ep == FEP_CHALL || ep == FEP_FINALIZE || ep == FEP_CERT)
			fail_msg("%s request after delete", fakeca_ep_name(ep));
	}
	assert_int_equal(fakeca_norders(w->ca), 1);
	finish(w);
}

static bool
cond_count(struct world *w, void *arg)
{
	const unsigned *a = arg; /* ep, n */
	return fakeca_count(w->ca, (enum fakeca_ep)a[0]) >= a[1];
}

/* forget: the CA lost the order when we come back */
static void
restart_case(uint64_t seed, enum fakeca_ep crash_after, bool forget)
{
	struct fakeca_cfg cc;
	char id[ACME_ID_LEN + 1];
	unsigned arg[2] = {crash_after, 1};
	const struct acme_domain *p;
	struct world *w;
	fakeca_cfg_default(&cc);
	cc.validation_ms = 3000;
	cc.processing_ms = 4000;
	cc.processing_retry_after_s = 2;
	w = world_new(&cc, seed);
	world_id((unsigned)seed, id);
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add(w, id, "sub1", one, 1, true), 0);
	acme_engine_start(w->e);
	assert_int_equal(world_run(w, cond_count, arg, W_MIN), W_COND);
	/* the order URL was persisted before we crash */
	p = world_persisted(w, id);
	assert_non_null(p);
	assert_non_null(p->order_url);
	assert_true(w->nev > 0); /* requests outstanding */
	if (forget)
		fakeca_cfg(w->ca)->forget_below = fakeca_norders(w->ca);
	assert_int_equal(world_restart(w), 0);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, W_HOUR),
			 W_COND);
	assert_int_equal(world_cert_check(world_domain(w, id), one, 1, NULL),
			 0);
	/* resumed by URL: one order; forgotten: exactly one more */
	assert_int_equal(fakeca_norders(w->ca), forget ? 2 : 1);
	assert_int_equal(fakeca_ncerts(w->ca), 1);
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	assert_int_equal(w->n_cert_issued, 1);
	assert_int_equal(world_txt_total(w), 0);
	finish(w);
}

static void
test_restart_mid_order(void **state)
{
	(void)state;
	restart_case(50, FEP_CHALL, false);    /* during validation */
	restart_case(51, FEP_FINALIZE, false); /* while processing */
	restart_case(52, FEP_CHALL, true);     /* the CA forgot it */
}

static void
key_reuse_case(uint64_t seed, unsigned max_age_days, bool same)
{
	char id[ACME_ID_LEN + 1], *old;
	struct world *w = world_new(NULL, seed);
	w->cfg.key_max_age_days = max_age_days;
	world_id((unsigned)seed, id);
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add(w, id, "sub1", one, 1, true), 0);
	acme_engine_start(w->e);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	old = strdup(world_domain(w, id)->key_pem);
	assert_int_equal(world_run(w, NULL, NULL, W_DAY), W_TIME);
	assert_int_equal(acme_engine_renew(w->e, id), 0);
	assert_int_equal(run_certs(w, 2, 10 * W_MIN), W_COND);
	assert_int_equal(world_cert_check(world_domain(w, id), one, 1, NULL),
			 0);
	assert_int_equal(!strcmp(old, world_domain(w, id)->key_pem), same);
	free(old);
	finish(w);
}

static void
test_key_reuse(void **state)
{
	(void)state;
	key_reuse_case(60, 30, true); /* young key kept (TLSA stays) */
	key_reuse_case(61, 0, false); /* a new key every time */
}

static void
test_renewal_failures_keep_cert(void **state)
{
	struct fakeca_fault f = {.kind = FK_CHALL_INVALID,
				 .count = 100000,
				 .detail = "renewal refused 51d2"};
	char id[ACME_ID_LEN + 1], *cert;
	const struct acme_domain *d;
	struct world *w = start(NULL, 62, id);
	(void)state;
	cert = strdup(world_domain(w, id)->cert_pem);
	fakeca_fault_add(w->ca, &f);
	assert_int_equal(acme_engine_renew(w->e, id), 0);
	/* many failures, but the current certificate stays served */
	assert_int_equal(world_run(w, NULL, NULL, 3 * W_DAY), W_TIME);
	d = world_domain(w, id);
	assert_true(d->status == ACME_DS_RENEWING ||
		    d->status == ACME_DS_VALID);
	assert_string_equal(d->cert_pem, cert);
	assert_true(d->failures >= ACME_ENGINE_MAX_FAILS);
	assert_non_null(d->error);
	assert_non_null(strstr(d->error, "renewal refused 51d2"));
	assert_true(fakeca_norders(w->ca) > ACME_ENGINE_MAX_FAILS);
	/* backoff, not a storm: capped retries over 3 days */
	assert_true(fakeca_norders(w->ca) < 200);
	/* the CA recovers: renewed, error and failures cleared */
	fakeca_faults_disarm(w->ca);
	assert_int_equal(run_certs(w, 2, 3 * W_DAY), W_COND);
	d = world_domain(w, id);
	assert_int_equal(d->status, ACME_DS_VALID);
	assert_string_not_equal(d->cert_pem, cert);
	assert_null(d->error);
	assert_int_equal(d->failures, 0);
	assert_int_equal(world_txt_total(w), 0);
	free(cert);
	finish(w);
}

static void
test_authz_reuse(void **state)
{
	struct fakeca_cfg cc;
	char id[ACME_ID_LEN + 1];
	unsigned adds, challs;
	struct world *w;
	(void)state;
	fakeca_cfg_default(&cc);
	cc.authz_reuse = true;
	w = start(&cc, 63, id);
	adds = w->txt_adds;
	challs = fakeca_count(w->ca, FEP_CHALL);
	assert_int_equal(world_run(w, NULL, NULL, W_DAY), W_TIME);
	/* the CA still holds a valid authorization: the new order is
	 * "ready" at once, nothing to publish or answer */
	assert_int_equal(acme_engine_renew(w->e, id), 0);
	assert_int_equal(run_certs(w, 2, 10 * W_MIN), W_COND);
	assert_int_equal(fakeca_norders(w->ca), 2);
	assert_int_equal(fakeca_count(w->ca, FEP_CHALL), challs);
	assert_int_equal(w->txt_adds, adds);
	assert_int_equal(world_cert_check(world_domain(w, id), one, 1, NULL),
			 0);
	finish(w);
}

static void
test_lost_revoke(void **state)
{
	struct fakeca_fault fr = {
	    .ep = FEP_REVOKE, .kind = FK_LOST, .count = 1};
	char id[ACME_ID_LEN + 1];
	struct world *w;
	(void)state;
	/* revoked, answer lost: the retry's alreadyRevoked means done */
	w = start(NULL, 64, id);
	fakeca_fault_add(w->ca, &fr);
	assert_int_equal(acme_engine_revoke(w->e, id, 1), 0);
	assert_int_equal(world_run_status(w, id, ACME_DS_REVOKED, W_HOUR),
			 W_COND);
	assert_true(fakeca_cert_at(w->ca, 0)->revoked);
	assert_int_equal(fakeca_count(w->ca, FEP_REVOKE), 2);
	finish(w);
}

static void
test_lost_key_change(void **state)
{
	struct fakeca_fault fk = {
	    .ep = FEP_KEYCHANGE, .kind = FK_LOST, .count = 1};
	char id[ACME_ID_LEN + 1], thumb[ACME_THUMB_LEN + 1], *pem;
	EVP_PKEY *nk, *stored;
	struct world *w;
	(void)state;
	/* key changed, answer lost: the CA knows only the new key now; the
	 * engine must find out (e.g. newAccount onlyReturnExisting with the
	 * new key), use it and tell the host */
	w = start(NULL, 65, id);
	fakeca_fault_add(w->ca, &fk);
	assert_int_equal(acme_key_generate(ACME_KEY_EC256, &nk), 0);
	assert_int_equal(acme_key_to_pem(nk, &pem), 0);
	assert_int_equal(acme_jwk_thumbprint(nk, thumb), 0);
	assert_int_equal(acme_engine_key_change(w->e, pem), 0);
	assert_int_equal(world_run(w, NULL, NULL, W_HOUR), W_TIME);
	assert_string_equal(fakeca_account_thumb(w->ca, 0), thumb);
	assert_int_equal(acme_engine_renew(w->e, id), 0);
	assert_int_equal(run_certs(w, 2, W_DAY), W_COND);
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	assert_int_equal(acme_key_from_pem(w->acct.key_pem,
					   strlen(w->acct.key_pem), &stored),
			 0);
	assert_int_equal(EVP_PKEY_eq(stored, nk), 1);
	EVP_PKEY_free(stored);
	acme_secret_free(pem);
	EVP_PKEY_free(nk);
	finish(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_ari_window, world_free_all),
	    cmocka_unit_test_teardown(test_ari_window_moves, world_free_all),
	    cmocka_unit_test_teardown(test_renew_without_ari, world_free_all),
	    cmocka_unit_test_teardown(test_key_change, world_free_all),
	    cmocka_unit_test_teardown(test_revoke, world_free_all),
	    cmocka_unit_test_teardown(test_deactivate, world_free_all),
	    cmocka_unit_test_teardown(test_delete_mid_order, world_free_all),
	    cmocka_unit_test_teardown(test_restart_mid_order, world_free_all),
	    cmocka_unit_test_teardown(test_key_reuse, world_free_all),
	    cmocka_unit_test_teardown(test_renewal_failures_keep_cert,
				      world_free_all),
	    cmocka_unit_test_teardown(test_authz_reuse, world_free_all),
	    cmocka_unit_test_teardown(test_lost_revoke, world_free_all),
	    cmocka_unit_test_teardown(test_lost_key_change, world_free_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
