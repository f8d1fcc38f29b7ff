/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the ACME engine (acme/engine*.c): the pure helpers of
 * engine.h (status names, renewal time with and without an RFC 9773
 * window, challenge names, the domain record's JSON round trip, every
 * rejection of the strict parser, deep copy) and a small end-to-end drive
 * of the state machine against a minimal CA scripted inside this file
 * (directory, account lookup + creation, delegation check, one order for
 * one name with a badNonce, dns-01 through a fake zone, finalize with a
 * certificate signed here by an OpenSSL test CA, renewalInfo, renewal with
 * "replaces" and authorization reuse, revocation, deletion) on a fake
 * clock. The full scenario suite lives in tests/scenarios.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/engine.h"
#include "acme/jws.h"
#include "acme/pki.h"
#include "common/base64.h"
#include "common/errors.h"

#define DAY 86400

/* ---- pure helpers ------------------------------------------------------ */

static void
test_dstatus(void **state)
{
	static const char *want[] = {"awaiting_delegation",
				     "pending",
				     "valid",
				     "renewing",
				     "invalid",
				     "revoked"};
	enum acme_dstatus s;
	(void)state;
	for (int i = 0; i < 6; i++) {
		assert_string_equal(acme_dstatus_name((enum acme_dstatus)i),
				    want[i]);
		assert_int_equal(acme_dstatus_parse(want[i], &s), 0);
		assert_int_equal((int)s, i);
	}
	assert_int_equal(acme_dstatus_parse("VALID", &s), AD_EINVAL);
	assert_int_equal(acme_dstatus_parse("", &s), AD_EINVAL);
	assert_int_equal(acme_dstatus_parse(NULL, &s), AD_EINVAL);
}

static void
test_challenge_name(void **state)
{
	char out[272];
	(void)state;
	acme_challenge_name("example.com", out, sizeof(out));
	assert_string_equal(out, "_acme-challenge.example.com");
	acme_challenge_name("*.example.com", out, sizeof(out));
	assert_string_equal(out, "_acme-challenge.example.com");
	acme_challenge_name("a.b.example.com", out, sizeof(out));
	assert_string_equal(out, "_acme-challenge.a.b.example.com");
	/* truncated, still terminated */
	acme_challenge_name("example.com", out, 10);
	assert_int_equal(strlen(out), 9);
}

static void
test_renew_time(void **state)
{
	const int64_t nb = 1700000000, na = nb + 90 * DAY;
	(void)state;
	/* 1/3 of 90 days left, jitter 0 .. 1/20 of the lifetime */
	assert_int_equal(acme_renew_time(nb, na, 0, 0, 0), na - 30 * DAY);
	assert_int_equal(acme_renew_time(nb, na, 0, 0, UINT32_MAX),
			 na - 30 * DAY - (90 * DAY) / 20);
	int64_t mid = acme_renew_time(nb, na, 0, 0, UINT32_MAX / 2);
	assert_true(mid < na - 30 * DAY && mid > na - 30 * DAY - 90 * DAY / 20);
	/* under 10 days: half the lifetime */
	const int64_t sna = nb + 6 * DAY;
	assert_int_equal(acme_renew_time(nb, sna, 0, 0, 0), nb + 3 * DAY);
	assert_int_equal(acme_renew_time(nb, sna, 0, 0, UINT32_MAX),
			 nb + 3 * DAY - (6 * DAY) / 20);
	/* exactly 10 days is not "under": 1/3 */
	assert_int_equal(acme_renew_time(nb, nb + 10 * DAY, 0, 0, 0),
			 nb + 10 * DAY - (10 * DAY) / 3);
	/* an ARI window: a uniform point inside, ends included */
	const int64_t ws = nb + 50 * DAY, we = nb + 52 * DAY;
	assert_int_equal(acme_renew_time(nb, na, ws, we, 0), ws);
	assert_int_equal(acme_renew_time(nb, na, ws, we, UINT32_MAX), we);
	int64_t t = acme_renew_time(nb, na, ws, we, UINT32_MAX / 4);
	assert_true(t > ws && t < ws + DAY);
	/* a window in the past (RFC 9773 §4.2: renew now) stays in it */
	t = acme_renew_time(nb, na, nb - 10, nb - 5, 12345);
	assert_true(t >= nb - 10 && t <= nb - 5);
	/* empty or inverted window: the lifetime rule */
	assert_int_equal(acme_renew_time(nb, na, ws, ws, 0), na - 30 * DAY);
	assert_int_equal(acme_renew_time(nb, na, we, ws, 0), na - 30 * DAY);
	/* nonsense lifetime: not after */
	assert_int_equal(acme_renew_time(na, nb, 0, 0, 0), nb);
}

#define ID1 "0f8fad5b-d9cb-469f-a165-70867728950e"
#define SUB1 "d420c923-bbd7-4056-ab64-c3ca54c9b3cf"
#define OWN1 "7c9e6679-7425-40de-944b-e07fc1f90ae7"

static void
fill_domain(struct acme_domain *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->id, ID1);
	strcpy(d->owner, OWN1);
	strcpy(d->subdomain, SUB1);
	d->nnames = 2;
	d->names = calloc(2, sizeof(char *));
	d->names[0] = strdup("example.com");
	d->names[1] = strdup("*.example.com");
	d->key_type = ACME_KEY_EC384;
	d->csr_pem = strdup("-----BEGIN CERTIFICATE REQUEST-----\nx\n");
	d->ntlsa = 2;
	d->tlsa[0].port = 443;
	strcpy(d->tlsa[0].proto, "tcp");
	d->tlsa[1].port = 853;
	strcpy(d->tlsa[1].proto, "udp");
	d->created = 1700000001;
	d->deploy_hook = strdup("/usr/local/bin/reload");
	d->in_zone = true;
	d->status = ACME_DS_RENEWING;
	d->error = strdup("rateLimited: too many");
	d->failures = 3;
	d->next_attempt = 1700000002;
	d->cert_pem = strdup("CERT");
	d->key_pem = strdup("KEY");
	d->key_created = 1700000003;
	d->not_before = 1700000004;
	d->not_after = 1700000005;
	d->renew_at = 1700000006;
	d->ari_id = strdup("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	d->order_url = strdup("https://ca.test/order/7");
	d->next_key_pem = strdup("NEXTKEY");
}

static void
assert_same_str(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
assert_same_domain(const struct acme_domain *a, const struct acme_domain *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->owner, b->owner);
	assert_string_equal(a->subdomain, b->subdomain);
	assert_int_equal(a->nnames, b->nnames);
	for (size_t i = 0; i < a->nnames; i++)
		assert_string_equal(a->names[i], b->names[i]);
	assert_int_equal(a->key_type, b->key_type);
	assert_same_str(a->csr_pem, b->csr_pem);
	assert_int_equal(a->ntlsa, b->ntlsa);
	for (size_t i = 0; i < a->ntlsa; i++) {
		assert_int_equal(a->tlsa[i].port, b->tlsa[i].port);
		assert_string_equal(a->tlsa[i].proto, b->tlsa[i].proto);
	}
	assert_int_equal(a->created, b->created);
	assert_same_str(a->deploy_hook, b->deploy_hook);
	assert_int_equal(a->in_zone, b->in_zone);
	assert_int_equal(a->status, b->status);
	assert_same_str(a->error, b->error);
	assert_int_equal(a->failures, b->failures);
	assert_int_equal(a->next_attempt, b->next_attempt);
	assert_same_str(a->cert_pem, b->cert_pem);
	assert_same_str(a->key_pem, b->key_pem);
	assert_int_equal(a->key_created, b->key_created);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->not_after, b->not_after);
	assert_int_equal(a->renew_at, b->renew_at);
	assert_same_str(a->ari_id, b->ari_id);
	assert_same_str(a->order_url, b->order_url);
	assert_same_str(a->next_key_pem, b->next_key_pem);
}

static void
test_domain_json_roundtrip(void **state)
{
	struct acme_domain d, back, cp;
	(void)state;
	fill_domain(&d);
	cJSON *j = acme_domain_to_json(&d);
	assert_non_null(j);
	/* through text, as the store keeps it */
	char *txt = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	j = cJSON_Parse(txt);
	free(txt);
	assert_int_equal(cJSON_GetObjectItem(j, "created")->valuedouble,
			 1700000001);
	assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring,
			    "renewing");
	assert_string_equal(cJSON_GetObjectItem(j, "key_type")->valuestring,
			    "ec384");
	assert_int_equal(acme_domain_from_json(j, &back), 0);
	assert_same_domain(&d, &back);
	cJSON_Delete(j);

	/* deep copy: equal, and no pointer shared */
	memset(&cp, 0, sizeof(cp));
	assert_int_equal(acme_domain_copy(&cp, &d), 0);
	assert_same_domain(&d, &cp);
	assert_ptr_not_equal(cp.names, d.names);
	assert_ptr_not_equal(cp.names[0], d.names[0]);
	assert_ptr_not_equal(cp.cert_pem, d.cert_pem);
	assert_ptr_not_equal(cp.key_pem, d.key_pem);
	acme_domain_clear(&d);
	assert_same_domain(&cp, &back);
	acme_domain_clear(&cp);
	acme_domain_clear(&back);
	assert_null(back.names);
	assert_int_equal(back.nnames, 0);

	/* a minimal record: NULL members stay NULL */
	memset(&d, 0, sizeof(d));
	strcpy(d.id, ID1);
	strcpy(d.subdomain, SUB1);
	d.nnames = 1;
	d.names = calloc(1, sizeof(char *));
	d.names[0] = strdup("a.example");
	d.status = ACME_DS_PENDING;
	j = acme_domain_to_json(&d);
	assert_null(cJSON_GetObjectItem(j, "cert_pem"));
	assert_int_equal(acme_domain_from_json(j, &back), 0);
	assert_same_domain(&d, &back);
	cJSON_Delete(j);
	acme_domain_clear(&d);
	acme_domain_clear(&back);
}

/* Apply one change to a valid record's JSON and expect AD_EMALF. */
static void
expect_reject(const char *what, void (*mut)(cJSON *j, const void *arg),
	      const void *arg)
{
	struct acme_domain d, out;
	fill_domain(&d);
	cJSON *j = acme_domain_to_json(&d);
	acme_domain_clear(&d);
	mut(j, arg);
	int rc = acme_domain_from_json(j, &out);
	cJSON_Delete(j);
	if (rc != AD_EMALF)
		fail_msg("%s: accepted (rc %d)", what, rc);
	/* nothing left to free on error */
	assert_null(out.names);
	assert_null(out.cert_pem);
}

struct kv {
	const char *key;
	const char *json; /* replacement value as JSON text, NULL: delete */
};

static void
mut_set(cJSON *j, const void *arg)
{
	const struct kv *kv = arg;
	cJSON_DeleteItemFromObjectCaseSensitive(j, kv->key);
	if (kv->json) {
		cJSON *v = cJSON_Parse(kv->json);
		assert_non_null(v);
		cJSON_AddItemToObject(j, kv->key, v);
	}
}

static void
mut_not_object(cJSON *j, const void *arg)
{
	(void)arg;
	cJSON *ids = cJSON_GetObjectItem(j, "id");
	(void)ids;
	/* turn the whole thing into an array holding the object */
	cJSON *copy = cJSON_Duplicate(j, 1);
	cJSON *child = j->child;
	while (child) {
		cJSON *next = child->next;
		cJSON_Delete(cJSON_DetachItemViaPointer(j, child));
		child = next;
	}
	j->type = cJSON_Array;
	cJSON_AddItemToArray(j, copy);
}

static void
test_domain_json_rejects(void **state)
{
	static char many[8192], longname[300], toolong_err[5000];
	static const struct kv cases[] = {
	    {"id", NULL},
	    {"id", "\"short\""},
	    {"id", "\"0f8fad5b-d9cb-469f-a165-70867728950e0\""},
	    {"id", "\"0f8fad5b d9cb-469f-a165-70867728950e\""},
	    {"id", "42"},
	    {"owner", NULL},
	    {"owner", "\"0f8fad5b-d9cb-469f-a165-70867728950e0\""},
	    {"owner", "\"a/b\""},
	    {"subdomain", NULL},
	    {"subdomain", "\"\""},
	    {"subdomain", "\"a b\""},
	    {"names", NULL},
	    {"names", "[]"},
	    {"names", "\"example.com\""},
	    {"names", "[1]"},
	    {"names", "[\"Example.com\"]"},
	    {"names", "[\"\"]"},
	    {"names", "[\"a..b\"]"},
	    {"names", "[\".a.b\"]"},
	    {"names", "[\"a.b.\"]"},
	    {"names", "[\"a.*.b\"]"},
	    {"names", "[\"*\"]"},
	    {"names", "[\"*.\"]"},
	    {"names", "[\"**.a\"]"},
	    {"names", "[\"a_b.example\"]"},
	    {"names", "[\"-a.example\"]"},
	    {"names", "[\"a b.example\"]"},
	    {"key_type", NULL},
	    {"key_type", "\"ec521\""},
	    {"key_type", "1"},
	    {"status", NULL},
	    {"status", "\"Valid\""},
	    {"status", "\"unknown\""},
	    {"tlsa", "{}"},
	    {"tlsa", "[{\"port\":0,\"proto\":\"tcp\"}]"},
	    {"tlsa", "[{\"port\":65536,\"proto\":\"tcp\"}]"},
	    {"tlsa", "[{\"port\":443.5,\"proto\":\"tcp\"}]"},
	    {"tlsa", "[{\"port\":\"443\",\"proto\":\"tcp\"}]"},
	    {"tlsa", "[{\"port\":443,\"proto\":\"icmp\"}]"},
	    {"tlsa", "[{\"port\":443}]"},
	    {"tlsa", "[1]"},
	    {"tlsa", "[{\"port\":1,\"proto\":\"tcp\"},{\"port\":2,\"proto\":"
		     "\"tcp\"},{\"port\":3,\"proto\":\"tcp\"},{\"port\":4,"
		     "\"proto\":\"tcp\"},{\"port\":5,\"proto\":\"tcp\"},{"
		     "\"port\":6,\"proto\":\"tcp\"},{\"port\":7,\"proto\":"
		     "\"tcp\"},{\"port\":8,\"proto\":\"tcp\"},{\"port\":9,"
		     "\"proto\":\"tcp\"}]"},
	    {"created", "1.5"},
	    {"created", "-1"},
	    {"created", "\"1700000000\""},
	    {"created", "1e300"},
	    {"not_after", "true"},
	    {"renew_at", "-5"},
	    {"next_attempt", "null"},
	    {"key_created", "[]"},
	    {"not_before", "3.25"},
	    {"failures", "-1"},
	    {"failures", "4294967296"},
	    {"in_zone", "1"},
	    {"in_zone", "\"true\""},
	    {"csr_pem", "5"},
	    {"cert_pem", "{}"},
	    {"key_pem", "[]"},
	    {"next_key_pem", "false"},
	    {"order_url", "1"},
	    {"ari_id", "2"},
	    {"deploy_hook", "[]"},
	    {"error", "7"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[200];
		snprintf(what, sizeof(what), "%s = %s", cases[i].key,
			 cases[i].json ? cases[i].json : "(absent)");
		expect_reject(what, mut_set, &cases[i]);
	}
	/* 101 names */
	size_t off = 0;
	off += (size_t)snprintf(many + off, sizeof(many) - off, "[");
	for (int i = 0; i <= ACME_MAX_NAMES; i++)
		off +=
		    (size_t)snprintf(many + off, sizeof(many) - off,
				     "%s\"n%d.example.com\"", i ? "," : "", i);
	snprintf(many + off, sizeof(many) - off, "]");
	struct kv k = {"names", many};
	expect_reject("101 names", mut_set, &k);
	/* a 254-character name: three labels of 63, one of 62 */
	memset(longname, 0, sizeof(longname));
	strcpy(longname, "[\"");
	for (int i = 0; i < 3; i++) {
		memset(longname + strlen(longname), 'a', 63);
		strcat(longname, ".");
	}
	memset(longname + strlen(longname), 'b', 62);
	strcat(longname, "\"]");
	assert_int_equal(strlen(longname), 254 + 4);
	k.json = longname;
	expect_reject("254-char name", mut_set, &k);
	/* a 64-character label */
	k.json = "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaa"
		 ".example\"]";
	expect_reject("64-char label", mut_set, &k);
	/* overlong error text */
	memset(toolong_err, 'x', sizeof(toolong_err) - 1);
	toolong_err[0] = '"';
	toolong_err[sizeof(toolong_err) - 2] = '"';
	toolong_err[sizeof(toolong_err) - 1] = '\0';
	struct kv ke = {"error", toolong_err};
	expect_reject("4998-char error", mut_set, &ke);
	expect_reject("not an object", mut_not_object, NULL);

	/* and the accepting side of the edges */
	struct acme_domain d, out;
	fill_domain(&d);
	free(d.names[1]);
	d.names[1] = strdup("xn--bcher-kva.a-b.example");
	/* 253 characters: the longest name */
	free(d.names[0]);
	d.names[0] = calloc(1, 254);
	for (int i = 0; i < 3; i++) {
		memset(d.names[0] + strlen(d.names[0]), 'c', 63);
		strcat(d.names[0], ".");
	}
	memset(d.names[0] + strlen(d.names[0]), 'd', 61);
	assert_int_equal(strlen(d.names[0]), 253);
	d.tlsa[0].port = 65535;
	strcpy(d.tlsa[0].proto, "sctp");
	cJSON *j = acme_domain_to_json(&d);
	assert_int_equal(acme_domain_from_json(j, &out), 0);
	assert_same_domain(&d, &out);
	cJSON_Delete(j);
	acme_domain_clear(&d);
	acme_domain_clear(&out);
	assert_int_equal(acme_domain_from_json(NULL, &out), AD_EMALF);
}

/* ---- the smoke drive: a minimal scripted CA --------------------------- */

#define CA "https://ca.test"
#define APEX "auth.example.test"
#define NAME1 "www.example.com"

struct pending {
	uint64_t id;
	char method[8];
	char url[300];
	char *body;
	size_t len;
};

struct world {
	uint64_t now;
	struct acme_engine *e;
	struct pending q[32];
	size_t nq;
	uint64_t rid;
	char rname[300];
	bool rpending;
	bool cname_ok;
	char txt[8][ACME_THUMB_LEN + 1];
	size_t ntxt;
	unsigned txt_adds, changed, acct_changed, issued, deleted;
	enum acme_dstatus seen_status;
	bool saw_next_key; /* next_key_pem set while an order ran */

	/* the CA */
	EVP_PKEY *ca_key;
	X509 *ca;
	EVP_PKEY *acct_key;
	bool acct_exists;
	unsigned nonce_ctr;
	unsigned char nonce_used[8192];
	unsigned n_lookup, n_create, n_neworder, n_badnonce, n_head, n_ari;
	unsigned n_revoke, n_chall;
	bool authz_valid;
	unsigned order_n; /* current order number */
	int order_status; /* 0 pending, 1 ready, 2 valid */
	unsigned serial;
	char *cert_pem;
	char leaf_ari[256];
	int64_t leaf_nb;
	char replaces[256];
};

static struct world *W;

static uint64_t
w_now(void *ctx)
{
	return ((struct world *)ctx)->now;
}

static uint32_t
w_random(void *ctx)
{
	(void)ctx;
	return UINT32_MAX / 2;
}

static int
w_http(void *ctx, const struct acme_http_req *req)
{
	struct world *w = ctx;
	assert_true(w->nq < 32);
	struct pending *p = &w->q[w->nq++];
	p->id = req->id;
	snprintf(p->method, sizeof(p->method), "%s", req->method);
	snprintf(p->url, sizeof(p->url), "%s", req->url);
	p->body = req->body ? strndup(req->body, req->body_len) : NULL;
	p->len = req->body_len;
	if (req->body)
		assert_string_equal(req->content_type, "application/jose+json");
	return 0;
}

static int
w_resolve(void *ctx, uint64_t id, const char *name)
{
	struct world *w = ctx;
	assert_false(w->rpending);
	w->rpending = true;
	w->rid = id;
	snprintf(w->rname, sizeof(w->rname), "%s", name);
	return 0;
}

static int
w_txt_add(void *ctx, const char *sub, const char *value)
{
	struct world *w = ctx;
	assert_string_equal(sub, SUB1);
	assert_int_equal(strlen(value), ACME_THUMB_LEN);
	assert_true(w->ntxt < 8);
	strcpy(w->txt[w->ntxt++], value);
	w->txt_adds++;
	return 0;
}

static void
w_txt_del(void *ctx, const char *sub, const char *value)
{
	struct world *w = ctx;
	assert_string_equal(sub, SUB1);
	for (size_t i = 0; i < w->ntxt; i++) {
		if (strcmp(w->txt[i], value) == 0) {
			memmove(w->txt[i], w->txt[i + 1],
				(w->ntxt - i - 1) * sizeof(w->txt[0]));
			w->ntxt--;
			return;
		}
	}
	fail_msg("txt_del of a value never added");
}

static void
w_domain_changed(void *ctx, const struct acme_domain *d)
{
	struct world *w = ctx;
	w->changed++;
	w->seen_status = d->status;
	if (d->order_url && d->next_key_pem)
		w->saw_next_key = true;
}

static void
w_account_changed(void *ctx, const struct acme_account_state *a)
{
	struct world *w = ctx;
	w->acct_changed++;
	assert_non_null(a->key_pem);
}

static void
w_cert_issued(void *ctx, const struct acme_domain *d)
{
	struct world *w = ctx;
	w->issued++;
	assert_non_null(d->cert_pem);
}

static void
w_domain_deleted(void *ctx, const struct acme_domain *d)
{
	struct world *w = ctx;
	assert_string_equal(d->id, ID1);
	w->deleted++;
}

static void
iso_time(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static X509 *
make_ca(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	X509V3_CTX ctx;
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)"Engine Test Root",
				   -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	X509_NAME_free(nm);
	X509_gmtime_adj(X509_getm_notBefore(x), -DAY);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650L * DAY);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext =
	    X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
				  "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static char *
pem_of(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	PEM_write_bio_X509(b, x);
	long n = BIO_get_mem_data(b, &p);
	/* BIO memory is not NUL-terminated (strndup would scan past it
	 * under ASan's strict_string_checks) */
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	BIO_free(b);
	return s;
}

/* Issue a certificate for a CSR (DER), valid 90 days from now. */
static char *
ca_sign(struct world *w, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	X509V3_CTX ctx;
	time_t t = (time_t)(w->now / 1000);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	X509 *x = X509_new();
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)++w->serial + 100);
	X509_set_issuer_name(x, X509_get_subject_name(w->ca));
	X509_set_subject_name(x, X509_REQ_get_subject_name(req));
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &t);
	X509_time_adj_ex(X509_getm_notAfter(x), 90, 0, &t);
	X509_set_pubkey(x, X509_REQ_get0_pubkey(req));
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++)
		X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509V3_set_ctx(&ctx, w->ca, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(
	    NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, w->ca_key, EVP_sha256()) > 0);
	char *leaf = pem_of(x), *root = pem_of(w->ca);
	char *chain = malloc(strlen(leaf) + strlen(root) + 1);
	strcpy(chain, leaf);
	strcat(chain, root);
	free(leaf);
	free(root);
	X509_free(x);
	X509_REQ_free(req);
	struct acme_certinfo info;
	assert_int_equal(acme_chain_parse(chain, strlen(chain), NULL, &info),
			 0);
	strcpy(w->leaf_ari, info.ari_id);
	w->leaf_nb = info.not_before;
	acme_certinfo_free(&info);
	return chain;
}

static char *
order_json(struct world *w)
{
	static const char *st[] = {"pending", "ready", "valid"};
	char buf[200], exp[40];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", st[w->order_status]);
	iso_time((int64_t)(w->now / 1000) + 7 * DAY, exp, sizeof(exp));
	cJSON_AddStringToObject(o, "expires", exp);
	cJSON *ids = cJSON_AddArrayToObject(o, "identifiers");
	cJSON *id = cJSON_CreateObject();
	cJSON_AddStringToObject(id, "type", "dns");
	cJSON_AddStringToObject(id, "value", NAME1);
	cJSON_AddItemToArray(ids, id);
	cJSON *az = cJSON_AddArrayToObject(o, "authorizations");
	cJSON_AddItemToArray(az, cJSON_CreateString(CA "/authz/1"));
	snprintf(buf, sizeof(buf), CA "/order/%u/finalize", w->order_n);
	cJSON_AddStringToObject(o, "finalize", buf);
	if (w->order_status == 2) {
		snprintf(buf, sizeof(buf), CA "/cert/%u", w->order_n);
		cJSON_AddStringToObject(o, "certificate", buf);
	}
	char *txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return txt;
}

static const char TOKEN[] = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";

/* Verify the JWS like a strict CA: signature, url, fresh nonce, kid. */
static int
check_jws(struct world *w, const struct pending *p, bool want_jwk,
	  char **payload)
{
	char *prot = NULL;
	int rc = acme_jws_verify(p->body, p->len, want_jwk ? NULL : w->acct_key,
				 &prot, payload);
	assert_int_equal(rc, 0);
	cJSON *h = cJSON_Parse(prot);
	free(prot);
	assert_non_null(h);
	assert_string_equal(cJSON_GetObjectItem(h, "url")->valuestring, p->url);
	if (want_jwk) {
		assert_non_null(cJSON_GetObjectItem(h, "jwk"));
		assert_null(cJSON_GetObjectItem(h, "kid"));
	} else {
		assert_string_equal(cJSON_GetObjectItem(h, "kid")->valuestring,
				    CA "/acct/1");
	}
	const char *n = cJSON_GetObjectItem(h, "nonce")->valuestring;
	unsigned k = (unsigned)strtoul(n + 1, NULL, 10);
	int ok = n[0] == 'n' && k > 0 && k <= w->nonce_ctr && k < 8192 &&
		 !w->nonce_used[k];
	if (ok)
		w->nonce_used[k] = 1;
	cJSON_Delete(h);
	return ok ? 0 : -1;
}

static void
respond(struct world *w, struct pending *p)
{
	struct acme_http_resp r = {0};
	char nonce[24], loc[128] = "", *body = NULL, *payload = NULL;
	const char *u = p->url;
	int status = 200;

	snprintf(nonce, sizeof(nonce), "n%u", ++w->nonce_ctr);
	r.replay_nonce = nonce;
	if (strcmp(p->method, "GET") == 0 && strcmp(u, CA "/dir") == 0) {
		body = strdup(
		    "{\"newNonce\":\"" CA "/nonce\",\"newAccount\":\"" CA
		    "/new-acct\",\"newOrder\":\"" CA
		    "/new-order\",\"revokeCert\":\"" CA
		    "/revoke\",\"keyChange\":\"" CA
		    "/key-change\",\"renewalInfo\":\"" CA
		    "/ari\",\"meta\":{\"termsOfService\":\"" CA "/tos\"}}");
	} else if (strcmp(p->method, "HEAD") == 0 &&
		   strcmp(u, CA "/nonce") == 0) {
		w->n_head++;
	} else if (strcmp(p->method, "GET") == 0 &&
		   strncmp(u, CA "/ari/", strlen(CA "/ari/")) == 0) {
		/* RFC 9773: first days 30..35 of the certificate, then the
		 * window moves to days 40..45 */
		char s[40], e[40];
		int64_t nb = w->leaf_nb;
		w->n_ari++;
		assert_string_equal(u + strlen(CA "/ari/"), w->leaf_ari);
		iso_time(nb + (w->n_ari == 1 ? 30 : 40) * DAY, s, sizeof(s));
		iso_time(nb + (w->n_ari == 1 ? 35 : 45) * DAY, e, sizeof(e));
		body = malloc(200);
		snprintf(
		    body, 200,
		    "{\"suggestedWindow\":{\"start\":\"%s\",\"end\":\"%s\"}}",
		    s, e);
		r.retry_after = "86400";
	} else if (strcmp(p->method, "POST") != 0) {
		status = 404;
	} else if (strcmp(u, CA "/new-acct") == 0) {
		if (check_jws(w, p, true, &payload) != 0)
			goto badnonce;
		if (strstr(payload, "onlyReturnExisting")) {
			w->n_lookup++;
			if (!w->acct_exists) {
				status = 400;
				body = strdup(
				    "{\"type\":\"urn:ietf:params:acme:error:"
				    "accountDoesNotExist\",\"detail\":\"no\"}");
			}
		} else {
			w->n_create++;
			assert_non_null(
			    strstr(payload, "\"termsOfServiceAgreed\":true"));
			assert_non_null(
			    strstr(payload, "mailto:admin@example.test"));
			w->acct_exists = true;
			status = 201;
		}
		if (w->acct_exists) {
			strcpy(loc, CA "/acct/1");
			body = strdup("{\"status\":\"valid\"}");
		}
	} else {
		if (check_jws(w, p, false, &payload) != 0)
			goto badnonce;
		if (strcmp(u, CA "/new-order") == 0) {
			w->n_neworder++;
			if (w->n_neworder == 1) {
				/* one spurious badNonce: must be re-signed */
				goto badnonce;
			}
			cJSON *o = cJSON_Parse(payload);
			cJSON *ids = cJSON_GetObjectItem(o, "identifiers");
			assert_int_equal(cJSON_GetArraySize(ids), 1);
			assert_string_equal(
			    cJSON_GetObjectItem(cJSON_GetArrayItem(ids, 0),
						"value")
				->valuestring,
			    NAME1);
			cJSON *rep = cJSON_GetObjectItem(o, "replaces");
			snprintf(w->replaces, sizeof(w->replaces), "%s",
				 rep ? rep->valuestring : "");
			cJSON_Delete(o);
			w->order_n++;
			w->order_status = 0;
			snprintf(loc, sizeof(loc), CA "/order/%u", w->order_n);
			status = 201;
			body = order_json(w);
		} else if (strcmp(u, CA "/authz/1") == 0) {
			assert_string_equal(payload, "");
			char buf[600];
			snprintf(buf, sizeof(buf),
				 "{\"identifier\":{\"type\":\"dns\",\"value\":"
				 "\"" NAME1 "\"},\"status\":\"%s\","
				 "\"challenges\":[{\"type\":\"http-01\","
				 "\"url\":\"" CA "/chall/0\",\"token\":\"%s\","
				 "\"status\":\"pending\"},{\"type\":\"dns-01\","
				 "\"url\":\"" CA "/chall/1\",\"token\":\"%s\","
				 "\"status\":\"%s\"}]}",
				 w->authz_valid ? "valid" : "pending", TOKEN,
				 TOKEN, w->authz_valid ? "valid" : "pending");
			body = strdup(buf);
		} else if (strcmp(u, CA "/chall/1") == 0) {
			char thumb[ACME_THUMB_LEN + 1],
			    want[ACME_THUMB_LEN + 1];
			bool found = false;
			w->n_chall++;
			assert_string_equal(payload, "{}");
			assert_int_equal(
			    acme_jwk_thumbprint(w->acct_key, thumb), 0);
			assert_int_equal(acme_dns01_value(TOKEN, thumb, want),
					 0);
			for (size_t i = 0; i < w->ntxt; i++)
				found |= strcmp(w->txt[i], want) == 0;
			/* the value is in the zone before the answer */
			assert_true(found);
			w->authz_valid = true;
			w->order_status = 1;
			body = strdup("{\"type\":\"dns-01\",\"url\":\"" CA
				      "/chall/1\",\"status\":\"valid\","
				      "\"token\":\"evaGxfADs6pSRb2LAv9IZf17Dt3"
				      "juxGJ-PCt92wr-oA\"}");
		} else if (strncmp(u, CA "/order/", strlen(CA "/order/")) ==
			       0 &&
			   strstr(u, "/finalize")) {
			cJSON *o = cJSON_Parse(payload);
			const char *csr =
			    cJSON_GetObjectItem(o, "csr")->valuestring;
			uint8_t der[4096];
			int n = ad_b64url_decode(csr, strlen(csr), der,
						 sizeof(der));
			assert_true(n > 0);
			assert_int_equal(w->order_status, 1);
			/* the TXT values are gone once the order is ready */
			assert_int_equal(w->ntxt, 0);
			free(w->cert_pem);
			w->cert_pem = ca_sign(w, der, (size_t)n);
			cJSON_Delete(o);
			w->order_status = 2;
			body = order_json(w);
		} else if (strncmp(u, CA "/order/", strlen(CA "/order/")) ==
			   0) {
			assert_string_equal(payload, "");
			/* reused authorization: ready at the first look */
			if (w->order_status == 0 && w->authz_valid)
				w->order_status = 1;
			body = order_json(w);
		} else if (strncmp(u, CA "/cert/", strlen(CA "/cert/")) == 0) {
			assert_string_equal(payload, "");
			body = strdup(w->cert_pem);
			r.content_type = "application/pem-certificate-chain";
		} else if (strcmp(u, CA "/revoke") == 0) {
			cJSON *o = cJSON_Parse(payload);
			assert_int_equal(
			    cJSON_GetObjectItem(o, "reason")->valueint, 4);
			assert_non_null(cJSON_GetObjectItem(o, "certificate"));
			cJSON_Delete(o);
			w->n_revoke++;
		} else {
			status = 404;
		}
	}
	goto send;
badnonce:
	w->n_badnonce++;
	status = 400;
	body = strdup("{\"type\":\"urn:ietf:params:acme:error:badNonce\","
		      "\"detail\":\"stale\"}");
send:
	free(payload);
	r.status = status;
	r.body = body;
	r.body_len = body ? strlen(body) : 0;
	r.location = loc[0] ? loc : NULL;
	acme_engine_http_done(w->e, p->id, &r);
	free(body);
}

/* Run the world until done() or until the clock would pass until_ms. */
static void
drive(struct world *w, uint64_t until_ms, bool (*done)(struct world *w))
{
	for (int steps = 0; steps < 20000; steps++) {
		if (done && done(w))
			return;
		if (w->nq) {
			struct pending p = w->q[0];
			memmove(w->q, w->q + 1, (w->nq - 1) * sizeof(w->q[0]));
			w->nq--;
			respond(w, &p);
			free(p.body);
			continue;
		}
		if (w->rpending) {
			char want[300];
			w->rpending = false;
			assert_string_equal(w->rname, "_acme-challenge." NAME1);
			/* any case, trailing dot: must still match */
			snprintf(want, sizeof(want), "%s.AUTH.example.TEST.",
				 SUB1);
			acme_engine_resolve_done(w->e, w->rid,
						 w->cname_ok ? 0 : AD_ENOENT,
						 w->cname_ok ? want : NULL);
			continue;
		}
		uint64_t t = acme_engine_next_wakeup(w->e);
		if (t == UINT64_MAX || t > until_ms)
			return;
		if (t > w->now)
			w->now = t;
		acme_engine_tick(w->e);
	}
	fail_msg("the engine made no progress (busy loop?)");
}

static bool
is_valid(struct world *w)
{
	const struct acme_domain *d = acme_engine_find(w->e, ID1);
	return d && d->status == ACME_DS_VALID && w->nq == 0;
}

static bool
issued_twice(struct world *w)
{
	return w->issued >= 2 && is_valid(w);
}

static bool
is_revoked(struct world *w)
{
	const struct acme_domain *d = acme_engine_find(w->e, ID1);
	return d && d->status == ACME_DS_REVOKED;
}

static void
test_engine_smoke(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	EVP_PKEY *ak = NULL;
	char *akpem = NULL;
	struct acme_domain d;
	(void)state;
	W = w;
	w->now = (uint64_t)time(NULL) * 1000;
	assert_int_equal(acme_key_generate(ACME_KEY_EC256, &w->ca_key), 0);
	w->ca = make_ca(w->ca_key);
	assert_int_equal(acme_key_generate(ACME_KEY_EC256, &ak), 0);
	assert_int_equal(acme_key_to_pem(ak, &akpem), 0);
	w->acct_key = ak;

	struct acme_ops ops = {
	    .ctx = w,
	    .now_ms = w_now,
	    .random = w_random,
	    .http = w_http,
	    .resolve = w_resolve,
	    .txt_add = w_txt_add,
	    .txt_del = w_txt_del,
	    .domain_changed = w_domain_changed,
	    .account_changed = w_account_changed,
	    .cert_issued = w_cert_issued,
	    .domain_deleted = w_domain_deleted,
	};
	struct acme_engine_cfg cfg = {
	    .directory = CA "/dir",
	    .email = "admin@example.test",
	    .zone_apex = APEX,
	    .check_delegation = true,
	};
	struct acme_account_state acct = {.key_pem = akpem};
	struct acme_account_state bad = {.key_pem = "not a key"};

	assert_int_equal(acme_engine_new(&cfg, &ops, &bad, &w->e), AD_EINVAL);
	assert_null(w->e);
	assert_int_equal(acme_engine_new(&cfg, &ops, &acct, &w->e), 0);

	/* a new domain from the API */
	memset(&d, 0, sizeof(d));
	strcpy(d.id, ID1);
	strcpy(d.owner, OWN1);
	strcpy(d.subdomain, SUB1);
	d.nnames = 1;
	d.names = calloc(1, sizeof(char *));
	d.names[0] = strdup("Bad_Name");
	d.status = ACME_DS_PENDING;
	assert_int_equal(acme_engine_add(w->e, &d), AD_EINVAL);
	free(d.names[0]);
	d.names[0] = strdup(NAME1);
	assert_int_equal(acme_engine_add(w->e, &d), 0);
	assert_int_equal(acme_engine_add(w->e, &d), AD_EEXIST);
	acme_domain_clear(&d);
	assert_int_equal(acme_engine_count(w->e), 1);
	/* nothing happens before start */
	assert_int_equal(acme_engine_next_wakeup(w->e), UINT64_MAX);
	assert_int_equal(w->nq, 0);

	/* directory, lookup (none), creation; then the CNAME is missing */
	acme_engine_start(w->e);
	uint64_t t0 = w->now;
	drive(w, t0 + 30000, NULL);
	assert_true(acme_engine_ready(w->e));
	assert_null(acme_engine_error(w->e));
	assert_int_equal(w->n_lookup, 1);
	assert_int_equal(w->n_create, 1);
	assert_int_equal(w->acct_changed, 1);
	assert_string_equal(acme_engine_account(w->e)->url, CA "/acct/1");
	const struct acme_domain *cur = acme_engine_find(w->e, ID1);
	assert_non_null(cur);
	assert_int_equal(cur->status, ACME_DS_AWAITING_DELEGATION);
	assert_non_null(cur->error);
	assert_string_equal(cur->error,
			    "CNAME _acme-challenge." NAME1 ". -> " SUB1 "." APEX
			    ". missing (found: none)");
	assert_int_equal(w->n_neworder, 0);
	/* the recheck is scheduled, not spun */
	uint64_t nw = acme_engine_next_wakeup(w->e);
	assert_true(nw > w->now && nw <= t0 + 61000);

	/* the user creates the CNAME: the recheck finds it and the order
	 * runs to a certificate */
	w->cname_ok = true;
	drive(w, t0 + 3600000, is_valid);
	cur = acme_engine_find(w->e, ID1);
	assert_int_equal(cur->status, ACME_DS_VALID);
	assert_true(w->now >= t0 + 60000 * 8 / 10);
	assert_null(cur->error);
	assert_int_equal(cur->failures, 0);
	assert_null(cur->order_url);
	assert_null(cur->next_key_pem);
	assert_true(w->saw_next_key);
	assert_non_null(cur->cert_pem);
	assert_non_null(cur->key_pem);
	assert_string_equal(cur->cert_pem, w->cert_pem);
	assert_int_equal(w->issued, 1);
	assert_int_equal(w->txt_adds, 1);
	assert_int_equal(w->ntxt, 0);       /* removed again */
	assert_int_equal(w->n_neworder, 2); /* one badNonce, re-signed */
	assert_int_equal(w->n_badnonce, 1);
	assert_int_equal(w->n_chall, 1);
	assert_string_equal(w->replaces, "");
	assert_string_equal(cur->ari_id, w->leaf_ari);
	/* the key matches the certificate */
	EVP_PKEY *ck = NULL;
	struct acme_certinfo info;
	assert_int_equal(
	    acme_key_from_pem(cur->key_pem, strlen(cur->key_pem), &ck), 0);
	assert_int_equal(
	    acme_chain_parse(cur->cert_pem, strlen(cur->cert_pem), ck, &info),
	    0);
	assert_int_equal(cur->not_before, info.not_before);
	assert_int_equal(cur->not_after, info.not_after);
	acme_certinfo_free(&info);
	EVP_PKEY_free(ck);
	/* ARI at issuance: the middle of days 30..35 (random is 1/2) */
	assert_int_equal(w->n_ari, 1);
	assert_int_equal(cur->renew_at,
			 w->leaf_nb + 30 * DAY + (5 * DAY) / 2 - 1);
	int64_t first_after = cur->not_after;
	char *first_key = strdup(cur->key_pem);

	/* the ARI window moves (day 40..45) when refetched a day later:
	 * the renewal follows it, with "replaces" and the authorization
	 * reused (no new TXT value) */
	drive(w, w->now + 100ull * DAY * 1000, issued_twice);
	cur = acme_engine_find(w->e, ID1);
	assert_int_equal(w->issued, 2);
	assert_true(w->n_ari >= 2);
	assert_int_equal(cur->status, ACME_DS_VALID);
	assert_true(cur->not_after > first_after);
	/* renewed inside the moved window, not the first one */
	assert_true(w->leaf_nb >= first_after - 90 * DAY + 40 * DAY);
	assert_string_not_equal(cur->key_pem, first_key);
	assert_int_equal(w->txt_adds, 1);
	assert_int_equal(w->n_chall, 1);
	assert_true(w->replaces[0] != '\0');
	free(first_key);

	/* revoke (reason 4, superseded) */
	assert_int_equal(acme_engine_revoke(w->e, ID1, 7), AD_EINVAL);
	assert_int_equal(acme_engine_revoke(w->e, "nope", 1), AD_ENOENT);
	assert_int_equal(acme_engine_revoke(w->e, ID1, 4), 0);
	unsigned issued = w->issued;
	drive(w, w->now + 60000, is_revoked);
	cur = acme_engine_find(w->e, ID1);
	assert_int_equal(cur->status, ACME_DS_REVOKED);
	assert_int_equal(cur->renew_at, 0);
	assert_int_equal(w->n_revoke, 1);
	assert_int_equal(w->issued, issued + 1);
	/* a revoked domain waits for a renew request: nothing scheduled */
	drive(w, w->now + 30ull * DAY * 1000, NULL);
	assert_int_equal(acme_engine_find(w->e, ID1)->status, ACME_DS_REVOKED);

	/* delete */
	assert_int_equal(acme_engine_delete(w->e, ID1), 0);
	assert_int_equal(w->deleted, 1);
	assert_int_equal(acme_engine_count(w->e), 0);
	assert_null(acme_engine_find(w->e, ID1));
	assert_int_equal(acme_engine_delete(w->e, ID1), AD_ENOENT);

	acme_engine_free(w->e);
	for (size_t i = 0; i < w->nq; i++)
		free(w->q[i].body);
	acme_secret_free(akpem);
	EVP_PKEY_free(ak);
	EVP_PKEY_free(w->ca_key);
	X509_free(w->ca);
	free(w->cert_pem);
	free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dstatus),
	    cmocka_unit_test(test_challenge_name),
	    cmocka_unit_test(test_renew_time),
	    cmocka_unit_test(test_domain_json_roundtrip),
	    cmocka_unit_test(test_domain_json_rejects),
	    cmocka_unit_test(test_engine_smoke),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
