/* SPDX-License-Identifier: MIT */
/*
 * Engine scenarios, issuance: one name, three names with a wildcard, the
 * account found again after a restart (never a second account), External
 * Account Binding, preferred chain, profiles, the delegation check and 100
 * domains under max_concurrent. Each runs the real engine against the fake
 * CA in the fake world (world.h) and asserts what a user would see:
 * statuses, errors, certificates, requests made and fake time spent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "acme/engine.h"
#include "acme/pki.h"
#include "common/base64.h"
#include "common/errors.h"
#include "common/xalloc.h"
#include "tests/scenarios/world.h"

/* a world with cc (NULL: defaults) and an engine, not started */
static struct world *
mk(const struct fakeca_cfg *cc, uint64_t seed)
{
	struct world *w = world_new(cc, seed);
	assert_non_null(w);
	return w;
}

static void
go(struct world *w, const char *id, const char *const *names, size_t n)
{
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add(w, id, "sub1", names, n, true), 0);
	acme_engine_start(w->e);
}

static void
finish(struct world *w)
{
	assert_int_equal(w->nviolations, 0);
	world_free(w);
}

/* renew_at without ARI: 1/3 of the lifetime left (1/2 under 10 days)
 * minus up to 1/20 of it (acme/engine.h) */
static void
assert_renew_at_default(const struct acme_domain *d)
{
	int64_t l = d->not_after - d->not_before;
	int64_t at = d->not_before + (l < 10 * FAKECA_DAY ? l / 2 : l * 2 / 3);
	if (d->renew_at < at - l / 20 - 1 || d->renew_at > at + 1)
		fail_msg("renew_at %+lld s from notBefore, want %lld..%lld",
			 (long long)(d->renew_at - d->not_before),
			 (long long)(at - l / 20 - d->not_before),
			 (long long)(at - d->not_before));
}

static void
test_happy_one_name(void **state)
{
	const char *names[] = {"www.example.com"};
	char id[ACME_ID_LEN + 1];
	struct fakeca_cfg cc;
	struct acme_certinfo ci;
	const struct acme_domain *d, *p;
	struct world *w;
	(void)state;
	fakeca_cfg_default(&cc);
	cc.offer_http01 = true; /* listed first: dns-01 must be picked */
	w = mk(&cc, 1);
	world_id(1, id);
	go(w, id, names, 1);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	d = world_domain(w, id);
	assert_int_equal(world_cert_check(d, names, 1, &ci), 0);
	assert_int_equal(ci.not_after - ci.not_before, 90 * FAKECA_DAY);
	assert_string_equal(ci.issuer_cn, FAKECA_INT_CN);
	assert_non_null(d->key_pem);
	assert_null(d->error);
	assert_int_equal(d->failures, 0);
	assert_null(d->order_url);
	assert_renew_at_default(d);
	/* the CA saw one account, one order, one finalize, no waste */
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	/* a stored key without URL is looked up first (onlyReturnExisting),
	 * then created: at most two newAccount requests */
	assert_true(fakeca_count(w->ca, FEP_NEWACCT) <= 2);
	assert_int_equal(fakeca_norders(w->ca), 1);
	assert_int_equal(fakeca_count(w->ca, FEP_FINALIZE), 1);
	assert_int_equal(fakeca_count(w->ca, FEP_CHALL), 1);
	assert_int_equal(fakeca_badnonces(w->ca), 0);
	assert_string_equal(fakeca_cert_at(w->ca, 0)->serial, ci.serial);
	/* fast: validation 200 ms, 40-60 ms latency, 1 s polls */
	assert_true(w->now - W_T0 < 30 * W_SEC);
	/* the TXT value came and went */
	assert_true(w->txt_adds >= 1);
	assert_int_equal(world_txt_total(w), 0);
	assert_int_equal(w->n_cert_issued, 1);
	assert_int_equal(w->n_finalize_checked, 1);
	/* the host persisted the result and the account URL */
	p = world_persisted(w, id);
	assert_non_null(p);
	assert_int_equal(p->status, ACME_DS_VALID);
	assert_string_equal(p->cert_pem, d->cert_pem);
	assert_non_null(w->acct.url);
	assert_string_equal(w->acct.url, FAKECA_BASE "/acct/0");
	assert_true(acme_engine_ready(w->e));
	/* nothing more to do for weeks but wait (no ARI to poll): at most
	 * a directory refresh a day, no busy ticking */
	{
		size_t n = fakeca_nreq(w->ca);
		unsigned dirs = fakeca_count(w->ca, FEP_DIR);
		assert_int_equal(world_run(w, NULL, NULL, 30 * W_DAY), W_TIME);
		assert_true(fakeca_count(w->ca, FEP_DIR) - dirs <= 31);
		assert_int_equal(fakeca_nreq(w->ca) - n,
				 fakeca_count(w->ca, FEP_DIR) - dirs);
		assert_true(w->steps < 30 * 24 * 4);
		assert_int_equal(w->n_cert_issued, 1);
	}
	acme_certinfo_free(&ci);
	finish(w);
}

static void
test_three_names_wildcard(void **state)
{
	const char *names[] = {"example.com", "*.example.com",
			       "www.example.com"};
	char id[ACME_ID_LEN + 1];
	struct world *w = mk(NULL, 2);
	(void)state;
	world_id(2, id);
	go(w, id, names, 3);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	assert_int_equal(world_cert_check(world_domain(w, id), names, 3, NULL),
			 0);
	assert_int_equal(fakeca_count(w->ca, FEP_CHALL), 3);
	/* example.com and *.example.com share _acme-challenge.example.com:
	 * both values must be at the subdomain at once (RFC 8555 §8.4) */
	assert_true(w->max_txt_one_sub >= 2);
	assert_int_equal(world_txt_count(w, "sub1"), 0);
	assert_int_equal(w->txt_dels - w->txt_del_missing, w->txt_adds);
	assert_int_equal(fakeca_norders(w->ca), 1);
	finish(w);
}

static bool
cond_ready(struct world *w, void *arg)
{
	(void)arg;
	return w->e && acme_engine_ready(w->e);
}

static bool
cond_account_made(struct world *w, void *arg)
{
	(void)arg;
	return fakeca_naccounts(w->ca) >= 1;
}

static bool
only_return_existing(const struct fakeca_req *r)
{
	return r && r->payload &&
	       strstr(r->payload, "\"onlyReturnExisting\"") &&
	       strstr(r->payload, "true");
}

static void
test_account_found_again(void **state)
{
	const char *names[] = {"a.example.com"};
	char id[ACME_ID_LEN + 1];
	struct world *w = mk(NULL, 3);
	unsigned before;
	(void)state;
	world_id(3, id);
	go(w, id, names, 1);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	assert_string_equal(w->acct.url, FAKECA_BASE "/acct/0");

	/* restart with the same key but the URL lost */
	free(w->acct.url);
	w->acct.url = NULL;
	before = fakeca_count(w->ca, FEP_NEWACCT);
	assert_int_equal(world_restart(w), 0);
	assert_int_equal(world_run(w, cond_ready, NULL, 10 * W_MIN), W_COND);
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	assert_true(only_return_existing(world_req(w, FEP_NEWACCT, before)));
	assert_non_null(w->acct.url);
	assert_string_equal(w->acct.url, FAKECA_BASE "/acct/0");
	/* the certificate is current: nothing is ordered again */
	assert_int_equal(world_domain(w, id)->status, ACME_DS_VALID);
	assert_int_equal(world_run(w, NULL, NULL, W_HOUR), W_TIME);
	assert_int_equal(fakeca_norders(w->ca), 1);
	finish(w);

	/* crash while newAccount is in flight: the CA made the account,
	 * we never heard; the next start must find it, not make another */
	w = mk(NULL, 4);
	go(w, id, names, 1);
	assert_int_equal(world_run(w, cond_account_made, NULL, W_MIN), W_COND);
	assert_null(w->acct.url);
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	assert_int_equal(world_restart(w), 0);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	finish(w);
}

static void
eab_cfg(struct fakeca_cfg *cc)
{
	fakeca_cfg_default(cc);
	cc->eab_required = true;
	cc->eab_kid = "kid-1";
	for (int i = 0; i < 32; i++)
		cc->eab_key[i] = (uint8_t)(0xa0 + i);
	cc->eab_key_len = 32;
}

static bool
cond_eng_error(struct world *w, void *arg)
{
	(void)arg;
	return w->e && acme_engine_error(w->e) != NULL;
}

static void
test_eab(void **state)
{
	const char *names[] = {"eab.example.com"};
	char id[ACME_ID_LEN + 1], good[AD_B64URL_LEN(32)];
	char bad[AD_B64URL_LEN(32)];
	uint8_t wrong[32];
	struct fakeca_cfg cc;
	struct world *w;
	(void)state;
	eab_cfg(&cc);
	ad_b64url_encode(cc.eab_key, 32, good);
	for (int i = 0; i < 32; i++)
		wrong[i] = (uint8_t)(0x11 * i);
	ad_b64url_encode(wrong, 32, bad);
	world_id(5, id);

	/* missing: a clear account-level error, no account, no order */
	w = mk(&cc, 5);
	go(w, id, names, 1);
	assert_int_equal(world_run(w, cond_eng_error, NULL, 10 * W_MIN),
			 W_COND);
	assert_true(world_eng_error_seen(w, "external"));
	assert_false(acme_engine_ready(w->e));
	assert_int_equal(world_run(w, NULL, NULL, W_HOUR), W_TIME);
	assert_int_equal(fakeca_naccounts(w->ca), 0);
	assert_int_equal(fakeca_norders(w->ca), 0);
	assert_int_not_equal(world_domain(w, id)->status, ACME_DS_VALID);
	/* no hammering: backoff between attempts */
	assert_true(fakeca_count(w->ca, FEP_NEWACCT) < 30);
	finish(w);

	/* wrong key: the CA's refusal is shown */
	w = mk(&cc, 6);
	w->cfg.eab_kid = "kid-1";
	w->cfg.eab_hmac_key = bad;
	go(w, id, names, 1);
	assert_int_equal(world_run(w, cond_eng_error, NULL, 10 * W_MIN),
			 W_COND);
	assert_true(world_eng_error_seen(w, "binding") ||
		    world_eng_error_seen(w, "unauthorized"));
	assert_int_equal(world_run(w, NULL, NULL, W_HOUR), W_TIME);
	assert_int_equal(fakeca_naccounts(w->ca), 0);
	assert_true(fakeca_count(w->ca, FEP_NEWACCT) >= 1);
	finish(w);

	/* right key: bound account, certificate */
	w = mk(&cc, 7);
	w->cfg.eab_kid = "kid-1";
	w->cfg.eab_hmac_key = good;
	go(w, id, names, 1);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	assert_string_equal(fakeca_account_eab(w->ca, 0), "kid-1");
	assert_null(acme_engine_error(w->e));
	finish(w);
}

static void
test_preferred_chain(void **state)
{
	const char *names[] = {"chain.example.com"};
	char id[ACME_ID_LEN + 1];
	struct fakeca_cfg cc;
	struct acme_certinfo ci;
	struct world *w;
	(void)state;
	fakeca_cfg_default(&cc);
	cc.alt_chain = true;
	world_id(8, id);
	for (int pass = 0; pass < 3; pass++) {
		w = mk(&cc, 8 + (uint64_t)pass);
		/* alternate root by CN; default; an unknown CN falls back */
		w->cfg.preferred_chain = pass == 0   ? FAKECA_ALT_ROOT_CN
					 : pass == 1 ? NULL
						     : "No Such Root";
		go(w, id, names, 1);
		assert_int_equal(
		    world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN), W_COND);
		assert_int_equal(
		    world_cert_check(world_domain(w, id), names, 1, &ci), 0);
		assert_string_equal(ci.root_cn, pass == 0 ? FAKECA_ALT_ROOT_CN
							  : FAKECA_ROOT_CN);
		acme_certinfo_free(&ci);
		finish(w);
	}
}

static void
test_profiles(void **state)
{
	static const struct fakeca_profile profs[] = {
	    {"classic", 90 * FAKECA_DAY},
	    {"shortlived", 6 * FAKECA_DAY},
	};
	const char *names[] = {"short.example.com"};
	char id[ACME_ID_LEN + 1];
	struct fakeca_cfg cc;
	struct acme_certinfo ci;
	const struct fakeca_req *r;
	struct world *w;
	(void)state;
	world_id(9, id);

	/* listed: sent, and the CA's 6-day profile applies */
	fakeca_cfg_default(&cc);
	cc.profiles = profs;
	cc.nprofiles = 2;
	w = mk(&cc, 9);
	w->cfg.profile = "shortlived";
	go(w, id, names, 1);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	r = world_req(w, FEP_NEWORDER, 0);
	assert_non_null(r);
	assert_non_null(strstr(r->payload, "\"profile\""));
	assert_string_equal(fakeca_order_profile(w->ca, 0), "shortlived");
	assert_int_equal(world_cert_check(world_domain(w, id), names, 1, &ci),
			 0);
	assert_int_equal(ci.not_after - ci.not_before, 6 * FAKECA_DAY);
	assert_renew_at_default(world_domain(w, id));
	acme_certinfo_free(&ci);
	finish(w);

	/* not listed: not sent (the CA would refuse the order) */
	w = mk(NULL, 10);
	w->cfg.profile = "shortlived";
	go(w, id, names, 1);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	r = world_req(w, FEP_NEWORDER, 0);
	assert_non_null(r);
	assert_null(strstr(r->payload, "\"profile\""));
	assert_null(fakeca_order_profile(w->ca, 0));
	finish(w);
}

static void
test_delegation_check(void **state)
{
	const char *names[] = {"www.example.com"};
	char id[ACME_ID_LEN + 1];
	const struct acme_domain *d;
	const struct fakeca_req *r;
	uint64_t added;
	struct world *w = mk(NULL, 11);
	(void)state;
	w->cfg.check_delegation = true;
	w->cfg.delegation_recheck_s = 60;
	world_id(11, id);
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add(w, id, "sub1", names, 1, false), 0);
	acme_engine_start(w->e);
	/* no CNAME: waits, says which CNAME is missing, orders nothing */
	assert_int_equal(world_run(w, NULL, NULL, 5 * W_MIN), W_TIME);
	d = world_domain(w, id);
	assert_int_equal(d->status, ACME_DS_AWAITING_DELEGATION);
	assert_non_null(d->error);
	assert_non_null(strstr(d->error, "_acme-challenge.www.example.com"));
	assert_int_equal(fakeca_count(w->ca, FEP_NEWORDER), 0);
	assert_true(w->n_resolve >= 2);               /* rechecked */
	assert_true(w->n_resolve <= 5 * 60 / 60 + 2); /* not hammered */
	/* a CNAME to somewhere else is not a delegation */
	world_cname(w, "_acme-challenge.www.example.com", "elsewhere");
	assert_int_equal(world_run(w, NULL, NULL, 3 * W_MIN), W_TIME);
	assert_int_equal(world_domain(w, id)->status,
			 ACME_DS_AWAITING_DELEGATION);
	/* the right one: proceeds on the next recheck */
	world_cname(w, "_acme-challenge.www.example.com", "sub1");
	added = w->now;
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	r = world_req(w, FEP_NEWORDER, 0);
	assert_non_null(r);
	assert_true(r->t_ms >= added);
	assert_true(r->t_ms <= added + 61 * W_SEC);
	assert_null(world_domain(w, id)->error);
	finish(w);
}

static void
test_hundred_domains(void **state)
{
	enum { N = 100 };
	char ids[N][ACME_ID_LEN + 1], name[N][64], sub[N][16];
	struct world *w = mk(NULL, 12);
	(void)state;
	w->cfg.max_concurrent = 10;
	assert_int_equal(world_engine_new(w), 0);
	for (unsigned i = 0; i < N; i++) {
		const char *n1[1];
		world_id(100 + i, ids[i]);
		snprintf(name[i], sizeof(name[i]), "h%u.example.com", i);
		snprintf(sub[i], sizeof(sub[i]), "sub%u", i);
		n1[0] = name[i];
		assert_int_equal(world_add(w, ids[i], sub[i], n1, 1, true), 0);
	}
	acme_engine_start(w->e);
	assert_int_equal(acme_engine_count(w->e), N);
	assert_int_equal(world_run_all(w, ACME_DS_VALID, W_DAY), W_COND);
	assert_int_equal(fakeca_norders(w->ca), N);
	assert_int_equal(w->n_cert_issued, N);
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	/* at most max_concurrent orders open at the CA, and more than one:
	 * they do run in parallel */
	assert_true(fakeca_max_open_orders(w->ca) <= 10);
	assert_true(fakeca_max_open_orders(w->ca) >= 5);
	assert_int_equal(world_txt_total(w), 0);
	for (unsigned i = 0; i < N; i++) {
		const char *n1[1] = {name[i]};
		assert_int_equal(
		    world_cert_check(world_domain(w, ids[i]), n1, 1, NULL), 0);
	}
	/* parallel, not serial: 100 x ~2 s would be 200 s */
	assert_true(w->now - W_T0 < 120 * W_SEC);
	finish(w);
}

/* A CSR as PEM for names, signed by k. Caller frees. */
static char *
csr_pem(EVP_PKEY *k, const char *const *names, size_t n)
{
	uint8_t *der;
	size_t dl;
	const unsigned char *p;
	X509_REQ *req;
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;
	assert_int_equal(acme_csr_make(k, names, n, &der, &dl), 0);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)dl);
	assert_non_null(req);
	assert_true(PEM_write_bio_X509_REQ(b, req));
	len = BIO_get_mem_data(b, &data);
	out = xstrndup(data, (size_t)len);
	BIO_free(b);
	X509_REQ_free(req);
	free(der);
	return out;
}

static void
test_user_csr(void **state)
{
	const char *names[] = {"csr.example.com", "www.csr.example.com"};
	char id[ACME_ID_LEN + 1];
	struct acme_domain d;
	struct acme_certinfo ci;
	const struct acme_domain *v;
	EVP_PKEY *k;
	struct world *w = mk(NULL, 13);
	(void)state;
	assert_int_equal(acme_key_generate(ACME_KEY_EC384, &k), 0);
	memset(&d, 0, sizeof(d));
	world_id(13, id);
	memcpy(d.id, id, sizeof(d.id));
	strcpy(d.subdomain, "sub1");
	strcpy(d.owner, "owner");
	d.names = xcalloc(2, sizeof(char *));
	d.names[0] = xstrdup(names[0]);
	d.names[1] = xstrdup(names[1]);
	d.nnames = 2;
	d.key_type = ACME_KEY_EC384;
	d.csr_pem = csr_pem(k, names, 2);
	d.status = ACME_DS_PENDING;
	world_cname(w, "_acme-challenge.csr.example.com", "sub1");
	world_cname(w, "_acme-challenge.www.csr.example.com", "sub1");
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add_domain(w, &d), 0);
	acme_domain_clear(&d);
	acme_engine_start(w->e);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	v = world_domain(w, id);
	/* the user's key: nothing generated, nothing stored */
	assert_null(v->key_pem);
	assert_int_equal(world_cert_check(v, names, 2, NULL), 0);
	assert_int_equal(
	    acme_chain_parse(v->cert_pem, strlen(v->cert_pem), k, &ci), 0);
	acme_certinfo_free(&ci);
	EVP_PKEY_free(k);
	finish(w);
}

static void
test_in_zone(void **state)
{
	const char *names[] = {"api." W_APEX};
	char id[ACME_ID_LEN + 1];
	struct acme_domain d;
	struct world *w = mk(NULL, 14);
	(void)state;
	w->cfg.check_delegation = true;
	memset(&d, 0, sizeof(d));
	world_id(14, id);
	memcpy(d.id, id, sizeof(d.id));
	/* the API's own certificate: the challenge name is in our zone */
	strcpy(d.subdomain, "_acme-challenge.api");
	d.names = xcalloc(1, sizeof(char *));
	d.names[0] = xstrdup(names[0]);
	d.nnames = 1;
	d.in_zone = true;
	d.status = ACME_DS_PENDING;
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add_domain(w, &d), 0);
	acme_domain_clear(&d);
	acme_engine_start(w->e);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, 10 * W_MIN),
			 W_COND);
	assert_int_equal(world_cert_check(world_domain(w, id), names, 1, NULL),
			 0);
	assert_int_equal(w->n_resolve, 0); /* no delegation to check */
	assert_true(w->txt_adds >= 1);
	assert_int_equal(world_txt_count(w, "_acme-challenge.api"), 0);
	finish(w);
}

static void
test_shared_subdomain(void **state)
{
	const char *a[] = {"a.example.com"}, *b[] = {"b.example.com"};
	char ida[ACME_ID_LEN + 1], idb[ACME_ID_LEN + 1];
	struct world *w = mk(NULL, 15);
	(void)state;
	/* two domains of one registration: one TXT set, two owners */
	world_id(15, ida);
	world_id(16, idb);
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add(w, ida, "shared", a, 1, true), 0);
	assert_int_equal(world_add(w, idb, "shared", b, 1, true), 0);
	acme_engine_start(w->e);
	assert_int_equal(world_run_all(w, ACME_DS_VALID, 10 * W_MIN), W_COND);
	/* neither cleaned up the other's value too early */
	assert_int_equal(fakeca_norders(w->ca), 2);
	assert_true(w->max_txt_one_sub >= 2);
	assert_int_equal(world_txt_count(w, "shared"), 0);
	assert_int_equal(world_cert_check(world_domain(w, ida), a, 1, NULL), 0);
	assert_int_equal(world_cert_check(world_domain(w, idb), b, 1, NULL), 0);
	finish(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_happy_one_name, world_free_all),
	    cmocka_unit_test_teardown(test_three_names_wildcard,
				      world_free_all),
	    cmocka_unit_test_teardown(test_account_found_again, world_free_all),
	    cmocka_unit_test_teardown(test_eab, world_free_all),
	    cmocka_unit_test_teardown(test_preferred_chain, world_free_all),
	    cmocka_unit_test_teardown(test_profiles, world_free_all),
	    cmocka_unit_test_teardown(test_delegation_check, world_free_all),
	    cmocka_unit_test_teardown(test_hundred_domains, world_free_all),
	    cmocka_unit_test_teardown(test_user_csr, world_free_all),
	    cmocka_unit_test_teardown(test_in_zone, world_free_all),
	    cmocka_unit_test_teardown(test_shared_subdomain, world_free_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
