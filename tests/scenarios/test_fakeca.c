/* SPDX-License-Identifier: MIT */
/*
 * Tests of the fake CA alone, driven by a minimal hand-written client
 * (acme/jws.c signs, acme/pki.c makes keys and CSRs): directory and
 * nonces, account creation and lookup, EAB, the dns-01 flow with the
 * digest computed independently, finalize and download (chain names,
 * validity, alternate chain, ARI id cross-checked against acme/pki.c),
 * renewalInfo, key change, revocation and the injected faults. The
 * scenarios rely on every one of these behaving as RFC 8555 says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/sha.h>

#include "acme/jws.h"
#include "acme/msg.h"
#include "acme/pki.h"
#include "common/base64.h"
#include "common/errors.h"
#include "common/xalloc.h"
#include "tests/scenarios/fakeca.h"

#define T0 1796083200000ULL

struct cl {
	struct fakeca *ca;
	uint64_t now;
	EVP_PKEY *key;
	char *kid;
	char *nonce;
	char dns_name[8][300];
	char dns_val[8][64];
	size_t ndns;
};

static bool
dns_fn(void *arg, const char *name, const char *value)
{
	struct cl *c = arg;
	for (size_t i = 0; i < c->ndns; i++)
		if (!strcmp(c->dns_name[i], name) &&
		    !strcmp(c->dns_val[i], value))
			return true;
	return false;
}

static uint64_t
now_fn(void *arg)
{
	return ((struct cl *)arg)->now;
}

static struct cl *
cl_new(const struct fakeca_cfg *cfg)
{
	struct cl *c = xcalloc(1, sizeof(*c));
	struct fakeca_cfg def;
	if (!cfg) {
		fakeca_cfg_default(&def);
		cfg = &def;
	}
	c->now = T0;
	c->ca = fakeca_new(cfg, now_fn, dns_fn, c, 7);
	assert_int_equal(acme_key_generate(ACME_KEY_EC256, &c->key), 0);
	return c;
}

static void
cl_free(struct cl *c)
{
	fakeca_free(c->ca);
	EVP_PKEY_free(c->key);
	free(c->kid);
	free(c->nonce);
	free(c);
}

static void
get(struct cl *c, const char *method, const char *url, struct fakeca_resp *r)
{
	struct acme_http_req q = {.id = 1, .method = method, .url = url};
	fakeca_handle(c->ca, &q, r);
	if (r->replay_nonce) {
		free(c->nonce);
		c->nonce = xstrdup(r->replay_nonce);
	}
}

static void
fresh_nonce(struct cl *c)
{
	struct fakeca_resp r;
	get(c, "HEAD", FAKECA_BASE "/nonce", &r);
	assert_int_equal(r.status, 200);
	fakeca_resp_free(&r);
}

/* POST payload to url signed by key (kid unless jwk is asked for). */
static void
post_key(struct cl *c, EVP_PKEY *key, bool jwk, const char *url,
	 const char *payload, struct fakeca_resp *r)
{
	char *body = NULL;
	struct acme_http_req q = {.id = 2, .method = "POST", .url = url};
	if (!c->nonce)
		fresh_nonce(c);
	assert_int_equal(acme_jws_sign(key, jwk ? NULL : c->kid, c->nonce, url,
				       payload, &body),
			 0);
	q.body = body;
	q.body_len = strlen(body);
	q.content_type = "application/jose+json";
	free(c->nonce);
	c->nonce = NULL;
	fakeca_handle(c->ca, &q, r);
	if (r->replay_nonce)
		c->nonce = xstrdup(r->replay_nonce);
	free(body);
}

static void
post(struct cl *c, const char *url, const char *payload, struct fakeca_resp *r)
{
	post_key(c, c->key, false, url, payload, r);
}

static bool
is_problem(const struct fakeca_resp *r, const char *name)
{
	struct acme_problem p;
	bool ok;
	if (acme_problem_parse(r->body, r->body_len, &p) < 0)
		return false;
	ok = acme_problem_is(&p, name);
	acme_problem_free(&p);
	return ok;
}

static void
new_account(struct cl *c)
{
	struct fakeca_resp r;
	post_key(c, c->key, true, FAKECA_BASE "/new-acct",
		 "{\"termsOfServiceAgreed\":true,"
		 "\"contact\":[\"mailto:a@example.test\"]}",
		 &r);
	assert_int_equal(r.status, 201);
	assert_non_null(r.location);
	c->kid = xstrdup(r.location);
	fakeca_resp_free(&r);
}

static void
test_directory_and_nonces(void **state)
{
	struct cl *c = cl_new(NULL);
	struct fakeca_resp r;
	struct acme_directory d;
	(void)state;
	get(c, "GET", FAKECA_DIR, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(acme_directory_parse(r.body, r.body_len, &d), 0);
	assert_string_equal(d.new_nonce, FAKECA_BASE "/nonce");
	assert_null(d.renewal_info);
	assert_false(d.eab_required);
	acme_directory_free(&d);
	fakeca_resp_free(&r);
	get(c, "GET", FAKECA_BASE "/nonce", &r);
	assert_int_equal(r.status, 204);
	assert_non_null(r.replay_nonce);
	fakeca_resp_free(&r);
	/* GET on a POST-only resource: §6.3 */
	get(c, "GET", FAKECA_BASE "/order/0", &r);
	assert_int_equal(r.status, 405);
	fakeca_resp_free(&r);
	cl_free(c);
}

static void
test_account_rules(void **state)
{
	struct cl *c = cl_new(NULL);
	struct fakeca_resp r;
	char *kid;
	(void)state;
	post_key(c, c->key, true, FAKECA_BASE "/new-acct",
		 "{\"onlyReturnExisting\":true}", &r);
	assert_int_equal(r.status, 400);
	assert_true(is_problem(&r, "accountDoesNotExist"));
	fakeca_resp_free(&r);
	post_key(c, c->key, true, FAKECA_BASE "/new-acct", "{}", &r);
	assert_int_equal(r.status, 403);
	assert_true(is_problem(&r, "userActionRequired"));
	fakeca_resp_free(&r);
	new_account(c);
	kid = xstrdup(c->kid);
	/* found again, by key */
	post_key(c, c->key, true, FAKECA_BASE "/new-acct",
		 "{\"onlyReturnExisting\":true}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.location, kid);
	fakeca_resp_free(&r);
	assert_int_equal(fakeca_naccounts(c->ca), 1);

	/* replayed nonce */
	{
		char *old = xstrdup(c->nonce), *body = NULL;
		struct acme_http_req q = {.id = 3,
					  .method = "POST",
					  .url = kid,
					  .content_type =
					      "application/jose+json"};
		post(c, kid, "", &r);
		assert_int_equal(r.status, 200);
		fakeca_resp_free(&r);
		assert_int_equal(
		    acme_jws_sign(c->key, kid, old, kid, "", &body), 0);
		q.body = body;
		q.body_len = strlen(body);
		fakeca_handle(c->ca, &q, &r);
		assert_int_equal(r.status, 400);
		assert_true(is_problem(&r, "badNonce"));
		assert_non_null(r.replay_nonce);
		fakeca_resp_free(&r);
		free(body);
		free(old);
	}
	/* url header must be the request URL (§6.4) */
	{
		char *body = NULL;
		struct acme_http_req q = {.id = 4,
					  .method = "POST",
					  .url = FAKECA_BASE "/new-order",
					  .content_type =
					      "application/jose+json"};
		assert_int_equal(
		    acme_jws_sign(c->key, kid, c->nonce, kid, "", &body), 0);
		q.body = body;
		q.body_len = strlen(body);
		fakeca_handle(c->ca, &q, &r);
		assert_int_equal(r.status, 401);
		fakeca_resp_free(&r);
		free(body);
	}
	/* unknown kid */
	free(c->kid);
	c->kid = xstrdup(FAKECA_BASE "/acct/99");
	post(c, FAKECA_BASE "/new-order", "{}", &r);
	assert_true(is_problem(&r, "accountDoesNotExist"));
	fakeca_resp_free(&r);
	/* the 400 answers above all counted as such */
	assert_int_equal(fakeca_badnonces(c->ca), 1);
	free(kid);
	cl_free(c);
}

static void
test_eab(void **state)
{
	struct fakeca_cfg cfg;
	struct cl *c;
	struct fakeca_resp r;
	cJSON *p, *eab;
	char *txt;
	const uint8_t wrong[32] = {9};
	(void)state;
	fakeca_cfg_default(&cfg);
	cfg.eab_required = true;
	cfg.eab_kid = "kid-1";
	memset(cfg.eab_key, 0x5a, 32);
	cfg.eab_key_len = 32;
	c = cl_new(&cfg);

	post_key(c, c->key, true, FAKECA_BASE "/new-acct",
		 "{\"termsOfServiceAgreed\":true}", &r);
	assert_true(is_problem(&r, "externalAccountRequired"));
	fakeca_resp_free(&r);

	for (int pass = 0; pass < 2; pass++) {
		p = cJSON_CreateObject();
		cJSON_AddTrueToObject(p, "termsOfServiceAgreed");
		assert_int_equal(
		    acme_jws_eab("kid-1", pass ? cfg.eab_key : wrong, 32,
				 c->key, FAKECA_BASE "/new-acct", &eab),
		    0);
		cJSON_AddItemToObject(p, "externalAccountBinding", eab);
		txt = cJSON_PrintUnformatted(p);
		post_key(c, c->key, true, FAKECA_BASE "/new-acct", txt, &r);
		if (pass == 0) {
			assert_int_equal(r.status, 401);
			assert_true(is_problem(&r, "unauthorized"));
			assert_int_equal(fakeca_naccounts(c->ca), 0);
		} else {
			assert_int_equal(r.status, 201);
			assert_string_equal(fakeca_account_eab(c->ca, 0),
					    "kid-1");
		}
		fakeca_resp_free(&r);
		free(txt);
		cJSON_Delete(p);
	}
	cl_free(c);
}

/* newOrder for names, returns the order index; fills authz urls */
static char *
order_for(struct cl *c, const char *const *names, size_t n, const char *extra)
{
	cJSON *p = cJSON_CreateObject(), *ids = cJSON_CreateArray();
	struct fakeca_resp r;
	char *txt, *loc;
	for (size_t i = 0; i < n; i++) {
		cJSON *id = cJSON_CreateObject();
		cJSON_AddStringToObject(id, "type", "dns");
		cJSON_AddStringToObject(id, "value", names[i]);
		cJSON_AddItemToArray(ids, id);
	}
	cJSON_AddItemToObject(p, "identifiers", ids);
	if (extra)
		cJSON_AddStringToObject(p, "replaces", extra);
	txt = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	post(c, FAKECA_BASE "/new-order", txt, &r);
	free(txt);
	assert_int_equal(r.status, 201);
	loc = xstrdup(r.location);
	fakeca_resp_free(&r);
	return loc;
}

static void
fetch_order(struct cl *c, const char *url, struct acme_order *o)
{
	struct fakeca_resp r;
	post(c, url, "", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(acme_order_parse(r.body, r.body_len, o), 0);
	fakeca_resp_free(&r);
}

/* The same for an authorization (caller frees *a). */
static void
fetch_authz(struct cl *c, const char *url, struct acme_authz *a)
{
	struct fakeca_resp r;
	post(c, url, "", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(acme_authz_parse(r.body, r.body_len, a), 0);
	fakeca_resp_free(&r);
}

/* Publish and trigger every authz of the order; returns the number of
 * authorizations. */
static size_t
solve(struct cl *c, const char *order_url, bool publish)
{
	struct acme_order o;
	char thumb[ACME_THUMB_LEN + 1];
	fetch_order(c, order_url, &o);
	assert_int_equal(acme_jwk_thumbprint(c->key, thumb), 0);
	for (size_t i = 0; i < o.nauthzs; i++) {
		struct fakeca_resp r;
		struct acme_authz a;
		const struct acme_challenge *ch;
		fetch_authz(c, o.authzs[i], &a);
		ch = acme_authz_dns01(&a);
		assert_non_null(ch);
		if (publish) {
			char *ka, want[64];
			uint8_t md[32];
			/* digest computed here and by acme/pki.c agree */
			ka = NULL;
			assert_true(asprintf(&ka, "%s.%s", ch->token, thumb) >
				    0);
			SHA256((const unsigned char *)ka, strlen(ka), md);
			free(ka);
			ad_b64url_encode(md, 32, want);
			assert_int_equal(acme_dns01_value(ch->token, thumb,
							  c->dns_val[c->ndns]),
					 0);
			assert_string_equal(want, c->dns_val[c->ndns]);
			snprintf(c->dns_name[c->ndns], 300,
				 "_acme-challenge.%s", a.ident.value);
			c->ndns++;
		}
		post(c, ch->url, "{}", &r);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.nlinks, 1);
		fakeca_resp_free(&r);
		acme_authz_free(&a);
	}
	{
		size_t n = o.nauthzs;
		acme_order_free(&o);
		return n;
	}
}

static char *
finalize_and_fetch(struct cl *c, const char *order_url,
		   const char *const *names, size_t n, struct fakeca_resp *cr)
{
	struct acme_order o;
	struct fakeca_resp r;
	EVP_PKEY *k;
	uint8_t *der;
	size_t dl;
	char *b64, *txt;
	fetch_order(c, order_url, &o);
	assert_int_equal(o.status, ACME_ST_READY);
	assert_int_equal(acme_key_generate(ACME_KEY_EC256, &k), 0);
	assert_int_equal(acme_csr_make(k, names, n, &der, &dl), 0);
	b64 = xmalloc(AD_B64URL_LEN(dl));
	ad_b64url_encode(der, dl, b64);
	assert_true(asprintf(&txt, "{\"csr\":\"%s\"}", b64) > 0);
	post(c, o.finalize, txt, &r);
	assert_int_equal(r.status, 200);
	fakeca_resp_free(&r);
	acme_order_free(&o);
	fetch_order(c, order_url, &o);
	assert_int_equal(o.status, ACME_ST_VALID);
	assert_non_null(o.certificate);
	post(c, o.certificate, "", cr);
	assert_int_equal(cr->status, 200);
	assert_string_equal(cr->content_type,
			    "application/pem-certificate-chain");
	acme_order_free(&o);
	free(txt);
	free(b64);
	free(der);
	EVP_PKEY_free(k);
	return NULL;
}

static int
link_cb(void *arg, const char *url, size_t len)
{
	char *out = arg;
	snprintf(out, 256, "%.*s", (int)len, url);
	return 1;
}

static void
test_issue_flow(void **state)
{
	struct fakeca_cfg cfg;
	struct cl *c;
	struct fakeca_resp r;
	struct acme_certinfo ci;
	const char *names[] = {"example.com", "*.example.com"};
	char *ou, alt[256] = "";
	const struct fakeca_cert *fc;
	(void)state;
	fakeca_cfg_default(&cfg);
	cfg.alt_chain = true;
	cfg.ari = true;
	cfg.ari_retry_after_s = 3600;
	c = cl_new(&cfg);
	new_account(c);
	{
		/* thumbprints agree: acme/pki.c vs the CA's own */
		cJSON *jwk;
		char a[ACME_THUMB_LEN + 1], b[ACME_THUMB_LEN + 1];
		assert_int_equal(acme_jwk(c->key, &jwk), 0);
		assert_int_equal(fakeca_jwk_thumb(jwk, a), 0);
		assert_int_equal(acme_jwk_thumbprint(c->key, b), 0);
		assert_string_equal(a, b);
		cJSON_Delete(jwk);
	}
	ou = order_for(c, names, 2, NULL);
	/* both authorizations share one identifier value */
	assert_int_equal(solve(c, ou, true), 2);
	c->now += 1000;
	finalize_and_fetch(c, ou, names, 2, &r);
	assert_int_equal(acme_chain_parse(r.body, r.body_len, NULL, &ci), 0);
	assert_int_equal(ci.nnames, 2);
	assert_int_equal(ci.not_after - ci.not_before, 90 * FAKECA_DAY);
	assert_int_equal(ci.not_before, (int64_t)(c->now / 1000));
	assert_string_equal(ci.issuer_cn, FAKECA_INT_CN);
	assert_string_equal(ci.root_cn, FAKECA_ROOT_CN);
	fc = fakeca_cert_at(c->ca, 0);
	assert_non_null(fc);
	/* RFC 9773 id: computed by the CA and by acme/pki.c */
	assert_string_equal(ci.ari_id, fc->ari_id);
	assert_string_equal(ci.serial, fc->serial);
	assert_true(fakeca_cert_by_ari(c->ca, ci.ari_id) == fc);
	/* alternate chain */
	for (size_t i = 0; i < r.nlinks; i++)
		acme_link_each(r.links[i], strlen(r.links[i]), "alternate",
			       link_cb, alt);
	assert_true(alt[0]);
	fakeca_resp_free(&r);
	acme_certinfo_free(&ci);
	post(c, alt, "", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(acme_chain_parse(r.body, r.body_len, NULL, &ci), 0);
	assert_string_equal(ci.root_cn, FAKECA_ALT_ROOT_CN);
	fakeca_resp_free(&r);

	/* renewalInfo: window relative to notBefore, Retry-After */
	{
		char url[512];
		struct acme_renewal_info ri;
		snprintf(url, sizeof(url), FAKECA_BASE "/renewal-info/%s",
			 ci.ari_id);
		get(c, "GET", url, &r);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.retry_after, "3600");
		assert_int_equal(
		    acme_renewal_info_parse(r.body, r.body_len, &ri), 0);
		assert_int_equal(ri.start, ci.not_before + 60 * FAKECA_DAY);
		assert_int_equal(ri.end, ci.not_before + 62 * FAKECA_DAY);
		acme_renewal_info_free(&ri);
		fakeca_resp_free(&r);
	}
	/* replaces: once, and only a known id */
	{
		char *o2 = order_for(c, names, 2, ci.ari_id);
		struct fakeca_resp r2;
		assert_string_equal(fakeca_order_replaces(c->ca, 1), ci.ari_id);
		free(o2);
		post(c, FAKECA_BASE "/new-order",
		     "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
		     "\"example.com\"}],\"replaces\":\"nope\"}",
		     &r2);
		assert_int_equal(r2.status, 400);
		fakeca_resp_free(&r2);
		/* profiles: none listed, so none accepted */
		post(c, FAKECA_BASE "/new-order",
		     "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
		     "\"example.com\"}],\"profile\":\"classic\"}",
		     &r2);
		assert_true(is_problem(&r2, "invalidProfile"));
		fakeca_resp_free(&r2);
	}
	acme_certinfo_free(&ci);
	free(ou);
	assert_int_equal(fakeca_max_open_orders(c->ca), 1);
	cl_free(c);
}

static void
test_challenge_failures_and_expiry(void **state)
{
	struct cl *c = cl_new(NULL);
	const char *names[] = {"www.example.com"};
	struct fakeca_fault f = {
	    .kind = FK_CHALL_INVALID, .count = 1, .detail = "scripted refusal"};
	struct acme_order o;
	struct acme_authz a;
	char summary[512];
	char *ou;
	(void)state;
	new_account(c);

	/* no TXT published: invalid with the name in the detail */
	ou = order_for(c, names, 1, NULL);
	solve(c, ou, false);
	c->now += 1000;
	fetch_order(c, ou, &o);
	assert_int_equal(o.status, ACME_ST_INVALID);
	fetch_authz(c, o.authzs[0], &a);
	assert_int_equal(a.status, ACME_ST_INVALID);
	assert_true(a.challenges[0].has_error);
	assert_non_null(strstr(a.challenges[0].error.detail,
			       "_acme-challenge.www.example.com"));
	acme_authz_free(&a);
	acme_order_free(&o);
	free(ou);

	/* forced failure with subproblems */
	fakeca_fault_add(c->ca, &f);
	ou = order_for(c, names, 1, NULL);
	solve(c, ou, true);
	c->now += 1000;
	fetch_order(c, ou, &o);
	assert_int_equal(o.status, ACME_ST_INVALID);
	fetch_authz(c, o.authzs[0], &a);
	assert_int_equal(a.challenges[0].error.nsub, 1);
	acme_problem_summary(&a.challenges[0].error, summary, sizeof(summary));
	assert_non_null(strstr(summary, "scripted refusal"));
	acme_authz_free(&a);
	acme_order_free(&o);
	free(ou);
	assert_int_equal(fakeca_fault_get(c->ca, 0)->applied, 1);

	/* stalled validation: the order expires (§7.1.6) */
	f.kind = FK_CHALL_STALL;
	fakeca_fault_add(c->ca, &f);
	ou = order_for(c, names, 1, NULL);
	solve(c, ou, true);
	c->now += 6ULL * FAKECA_DAY * 1000;
	fetch_order(c, ou, &o);
	assert_int_equal(o.status, ACME_ST_PENDING);
	acme_order_free(&o);
	c->now += 2ULL * FAKECA_DAY * 1000;
	fetch_order(c, ou, &o);
	assert_int_equal(o.status, ACME_ST_INVALID);
	fetch_authz(c, o.authzs[0], &a);
	assert_int_equal(a.status, ACME_ST_EXPIRED);
	acme_authz_free(&a);
	acme_order_free(&o);
	free(ou);
	cl_free(c);
}

static void
test_keychange_and_revoke(void **state)
{
	struct cl *c = cl_new(NULL);
	const char *names[] = {"a.example.com"};
	struct fakeca_resp r, cr;
	EVP_PKEY *nk;
	char *inner, *ou, *b64, txt[4096];
	uint8_t *der;
	size_t dl;
	char thumb[ACME_THUMB_LEN + 1];
	(void)state;
	new_account(c);
	ou = order_for(c, names, 1, NULL);
	solve(c, ou, true);
	c->now += 1000;
	finalize_and_fetch(c, ou, names, 1, &cr);

	assert_int_equal(acme_key_generate(ACME_KEY_EC384, &nk), 0);
	assert_int_equal(acme_jws_keychange(c->key, nk, c->kid,
					    FAKECA_BASE "/key-change", &inner),
			 0);
	post(c, FAKECA_BASE "/key-change", inner, &r);
	assert_int_equal(r.status, 200);
	fakeca_resp_free(&r);
	free(inner);
	assert_int_equal(acme_jwk_thumbprint(nk, thumb), 0);
	assert_string_equal(fakeca_account_thumb(c->ca, 0), thumb);
	/* the old key no longer signs for the account */
	post(c, c->kid, "", &r);
	assert_int_equal(r.status, 400);
	fakeca_resp_free(&r);
	EVP_PKEY_free(c->key);
	c->key = nk;
	post(c, c->kid, "", &r);
	assert_int_equal(r.status, 200);
	fakeca_resp_free(&r);

	assert_int_equal(acme_cert_der(cr.body, cr.body_len, &der, &dl), 0);
	b64 = xmalloc(AD_B64URL_LEN(dl));
	ad_b64url_encode(der, dl, b64);
	snprintf(txt, sizeof(txt), "{\"certificate\":\"%s\",\"reason\":7}",
		 b64);
	post(c, FAKECA_BASE "/revoke", txt, &r);
	assert_true(is_problem(&r, "badRevocationReason"));
	fakeca_resp_free(&r);
	snprintf(txt, sizeof(txt), "{\"certificate\":\"%s\",\"reason\":4}",
		 b64);
	post(c, FAKECA_BASE "/revoke", txt, &r);
	assert_int_equal(r.status, 200);
	fakeca_resp_free(&r);
	assert_true(fakeca_cert_at(c->ca, 0)->revoked);
	assert_int_equal(fakeca_cert_at(c->ca, 0)->reason, 4);
	post(c, FAKECA_BASE "/revoke", txt, &r);
	assert_true(is_problem(&r, "alreadyRevoked"));
	fakeca_resp_free(&r);
	fakeca_resp_free(&cr);
	free(b64);
	free(der);
	free(ou);
	cl_free(c);
}

static void
test_faults(void **state)
{
	struct cl *c = cl_new(NULL);
	struct fakeca_resp r;
	struct fakeca_fault f429 = {.ep = FEP_NEWORDER,
				    .kind = FK_STATUS,
				    .count = 1,
				    .status = 429,
				    .type = "rateLimited",
				    .retry_after_s = 120};
	struct fakeca_fault ft = {
	    .ep = FEP_DIR, .kind = FK_TRANSPORT, .count = 2, .skip = 1};
	struct fakeca_fault fg = {
	    .ep = FEP_ACCT, .kind = FK_TRUNCATE, .count = 1};
	struct fakeca_fault fh = {.ep = FEP_ACCT, .kind = FK_HUGE, .count = 1};
	struct fakeca_fault fw = {
	    .ep = FEP_ACCT, .kind = FK_WRONG_TYPES, .count = 1};
	struct acme_account a;
	(void)state;
	fakeca_fault_add(c->ca, &f429);
	fakeca_fault_add(c->ca, &ft);
	fakeca_fault_add(c->ca, &fg);
	fakeca_fault_add(c->ca, &fh);
	fakeca_fault_add(c->ca, &fw);
	new_account(c);
	post(c, FAKECA_BASE "/new-order", "{}", &r);
	assert_int_equal(r.status, 429);
	assert_string_equal(r.retry_after, "120");
	assert_true(is_problem(&r, "rateLimited"));
	assert_non_null(r.replay_nonce);
	fakeca_resp_free(&r);
	/* skip 1, then 2 transport failures, then fine */
	for (int i = 0; i < 4; i++) {
		get(c, "GET", FAKECA_DIR, &r);
		assert_int_equal(r.status, i == 1 || i == 2 ? 0 : 200);
		fakeca_resp_free(&r);
	}
	post(c, c->kid, "", &r);
	assert_int_equal(r.status, 200);
	assert_int_not_equal(acme_account_parse(r.body, r.body_len, &a), 0);
	fakeca_resp_free(&r);
	post(c, c->kid, "", &r);
	assert_int_equal(r.body_len, 2u << 20);
	fakeca_resp_free(&r);
	post(c, c->kid, "", &r);
	assert_int_equal(acme_account_parse(r.body, r.body_len, &a), AD_EMALF);
	fakeca_resp_free(&r);
	post(c, c->kid, "", &r);
	assert_int_equal(acme_account_parse(r.body, r.body_len, &a), 0);
	acme_account_free(&a);
	fakeca_resp_free(&r);

	/* badNonce injection: exactly the next K */
	fakeca_cfg(c->ca)->badnonce_next = 3;
	for (int i = 0; i < 4; i++) {
		post(c, c->kid, "", &r);
		assert_int_equal(r.status, i < 3 ? 400 : 200);
		assert_non_null(r.replay_nonce);
		fakeca_resp_free(&r);
	}
	assert_int_equal(fakeca_badnonces(c->ca), 3);
	cl_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_directory_and_nonces),
	    cmocka_unit_test(test_account_rules),
	    cmocka_unit_test(test_eab),
	    cmocka_unit_test(test_issue_flow),
	    cmocka_unit_test(test_challenge_failures_and_expiry),
	    cmocka_unit_test(test_keychange_and_revoke),
	    cmocka_unit_test(test_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
