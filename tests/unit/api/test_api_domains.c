/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of server/api_domains.c: the CNAMEs a user must create
 * (srv_domain_cnames), /domains routing, and every endpoint run against a
 * fake ACME side (the srv_acme_* functions of server/acme.h are defined
 * here), with the real body parsers, PEM splitting (acme/pki.c) and, for
 * the owner index, a real store in synchronous mode.
 *
 * Checked: answers and codes (202/200/404/409/429/400), that a domain of
 * another registration is exactly as "not found" as an unknown id, that
 * the reply comes exactly once whether the ACME side calls back inside
 * the call or later, and that the PEM files are the right parts of the
 * chain with Cache-Control: no-store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "acme/engine.h"
#include "common/errors.h"
#include "common/log.h"
#include "server/acme.h"
#include "server/api.h"
#include "server/store.h"

#include "chain_fixture.h"

#define OWNER "11111111-1111-4111-8111-111111111111"
#define OTHER "22222222-2222-4222-8222-222222222222"
#define SUB "33333333-3333-4333-8333-333333333333"
#define APEX "auth.example.test"

/* ---- the fake ACME side ------------------------------------------------ */

#define FAKE_MAX 128
static struct {
	struct acme_domain d[FAKE_MAX];
	size_t n;
	unsigned next_id;
	bool async;	    /* add/delete answer later (fake_complete) */
	srv_acme_done done; /* the one pending callback */
	void *done_arg;
	int done_status;
	const char *done_detail;
	char pending_delete[ACME_ID_LEN + 1];
	int renew_rc, revoke_rc, last_reason;
	int adds, renews, revokes, deletes;
	struct srv_acme_add last_add;
	size_t last_add_ntlsa;
} fake;

static struct srv_acme *const FAKE_ACME = (struct srv_acme *)&fake;

/* A real store in synchronous mode: GET /domains reads the owner's ids
 * from it, and the fake writes rows as the glue does. */
static struct srv_store *store;
static char store_dir[64];

static void
row_put(const struct acme_domain *d)
{
	cJSON *j = acme_domain_to_json(d);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_non_null(s);
	assert_int_equal(srv_store_domain_put(store, d->id, d->owner, s, NULL,
					      NULL),
			 0);
	free(s);
}

static struct acme_domain *
fake_new(const char *owner, const char *const *names, size_t n)
{
	assert_true(fake.n < FAKE_MAX);
	struct acme_domain *d = &fake.d[fake.n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "aaaaaaaa-0000-4000-8000-%012u",
		 fake.next_id++);
	snprintf(d->owner, sizeof(d->owner), "%s", owner);
	snprintf(d->subdomain, sizeof(d->subdomain), "%s", SUB);
	d->names = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		d->names[i] = strdup(names[i]);
	d->nnames = n;
	d->status = ACME_DS_PENDING;
	d->created = 1767225600; /* 2026-01-01T00:00:00Z */
	return d;
}

const struct acme_domain *
srv_acme_domain_find(struct srv_acme *a, const char *id)
{
	assert_ptr_equal(a, FAKE_ACME);
	for (size_t i = 0; i < fake.n; i++)
		if (strcmp(fake.d[i].id, id) == 0)
			return &fake.d[i];
	return NULL;
}

int
srv_acme_domain_add(struct srv_acme *a, const struct srv_acme_add *req,
		    srv_acme_done done, void *arg)
{
	assert_ptr_equal(a, FAKE_ACME);
	fake.adds++;
	fake.last_add = *req;
	fake.last_add_ntlsa = req->ntlsa;
	/* the glue's own validation: reported through done, synchronously */
	if (req->nnames && strcmp(req->names[0], "refused.test") == 0) {
		done(arg, AD_EINVAL, "refused.test: not allowed", NULL);
		return AD_EINVAL;
	}
	if (req->nnames && strcmp(req->names[0], "ioerror.test") == 0)
		return AD_EIO; /* without calling done */
	struct acme_domain *d = fake_new(req->owner, req->names, req->nnames);
	snprintf(d->subdomain, sizeof(d->subdomain), "%s", req->subdomain);
	for (size_t i = 0; i < req->ntlsa && i < ACME_MAX_TLSA; i++)
		d->tlsa[d->ntlsa++] = req->tlsa[i];
	if (req->key_type)
		assert_int_equal(
			acme_keytype_parse(req->key_type, &d->key_type), 0);
	if (req->csr_pem)
		d->csr_pem = strdup(req->csr_pem);
	d->status = ACME_DS_AWAITING_DELEGATION;
	row_put(d);
	if (fake.async) {
		fake.done = done;
		fake.done_arg = arg;
		fake.done_status = 0;
		return 0;
	}
	done(arg, 0, NULL, d);
	return 0;
}

int
srv_acme_domain_renew(struct srv_acme *a, const char *id)
{
	assert_ptr_equal(a, FAKE_ACME);
	fake.renews++;
	if (!srv_acme_domain_find(a, id))
		return AD_ENOENT;
	return fake.renew_rc;
}

int
srv_acme_domain_revoke(struct srv_acme *a, const char *id, int reason)
{
	assert_ptr_equal(a, FAKE_ACME);
	fake.revokes++;
	fake.last_reason = reason;
	if (!srv_acme_domain_find(a, id))
		return AD_ENOENT;
	return fake.revoke_rc;
}

/* Gone from the engine only (the row stays, as after a crash between
 * the two, or before the daemon applied a CLI request). */
static void
fake_remove(const char *id)
{
	for (size_t i = 0; i < fake.n; i++) {
		if (strcmp(fake.d[i].id, id) != 0)
			continue;
		acme_domain_clear(&fake.d[i]);
		memmove(&fake.d[i], &fake.d[i + 1],
			(fake.n - i - 1) * sizeof(fake.d[0]));
		fake.n--;
		return;
	}
}

int
srv_acme_domain_delete(struct srv_acme *a, const char *id, srv_acme_done done,
		       void *arg)
{
	assert_ptr_equal(a, FAKE_ACME);
	fake.deletes++;
	if (!srv_acme_domain_find(a, id))
		return AD_ENOENT;
	if (fake.async) {
		snprintf(fake.pending_delete, sizeof(fake.pending_delete), "%s",
			 id);
		fake.done = done;
		fake.done_arg = arg;
		return 0;
	}
	fake_remove(id);
	srv_store_domain_delete(store, id, NULL, NULL);
	done(arg, 0, NULL, NULL);
	return 0;
}

/* Run the pending add/delete callback (the "commit"). */
static void
fake_complete(int status)
{
	srv_acme_done done = fake.done;
	assert_non_null(done);
	fake.done = NULL;
	if (fake.pending_delete[0]) {
		if (status == 0) {
			fake_remove(fake.pending_delete);
			srv_store_domain_delete(store, fake.pending_delete,
						NULL, NULL);
		}
		fake.pending_delete[0] = '\0';
		done(fake.done_arg, status, NULL, NULL);
		return;
	}
	if (status != 0) {
		/* the commit failed: the domain never existed */
		char id[ACME_ID_LEN + 1];
		snprintf(id, sizeof(id), "%s", fake.d[fake.n - 1].id);
		fake_remove(id);
		srv_store_domain_delete(store, id, NULL, NULL);
		done(fake.done_arg, status, "store failed", NULL);
		return;
	}
	done(fake.done_arg, 0, NULL, &fake.d[fake.n - 1]);
}

static void
fake_reset(void)
{
	for (size_t i = 0; i < fake.n; i++)
		acme_domain_clear(&fake.d[i]);
	memset(&fake, 0, sizeof(fake));
}

/* ---- capturing replies --------------------------------------------------- */

struct cap {
	int calls;
	int status;
	char ctype[64];
	char extra[256];
	char *body;
	size_t len;
	cJSON *json;
};

static void
capture(void *arg, int status, const char *ctype, const char *extra,
	const char *body, size_t len)
{
	struct cap *c = arg;
	c->calls++;
	c->status = status;
	snprintf(c->ctype, sizeof(c->ctype), "%s", ctype ? ctype : "");
	snprintf(c->extra, sizeof(c->extra), "%s", extra ? extra : "");
	free(c->body);
	c->body = malloc(len + 1);
	memcpy(c->body, body, len);
	c->body[len] = '\0';
	c->len = len;
	cJSON_Delete(c->json);
	c->json = strcmp(c->ctype, "application/json") == 0
			  ? cJSON_ParseWithLength(body, len)
			  : NULL;
}

static void
cap_clear(struct cap *c)
{
	free(c->body);
	cJSON_Delete(c->json);
	memset(c, 0, sizeof(*c));
}

static struct srv_api__doms *doms;

/* One request: route, then exec as `owner`; the capture holds the
 * answer (calls == 0 while an asynchronous operation is pending). */
static void
req(struct cap *c, const char *owner, const char *method, const char *path,
    const char *body)
{
	struct srv_api__droute r;
	cap_clear(c);
	assert_true(srv_api__domains_route(method, path, &r));
	assert_true(r.op >= SRV_API__D_LIST);
	struct srv_api__dreq q = {
		.acme = FAKE_ACME,
		.doms = doms,
		.store = store,
		.apex = APEX,
		.owner = owner,
		.subdomain = SUB,
		.body = (const uint8_t *)(body ? body : ""),
		.body_len = body ? strlen(body) : 0,
		.reply = capture,
		.arg = c,
	};
	srv_api__domains_exec(&r, &q);
}

static const char *
jstr(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void
assert_error(const struct cap *c, int status, const char *code)
{
	assert_int_equal(c->calls, 1);
	if (c->status != status)
		fail_msg("status %d, want %d: %s", c->status, status, c->body);
	assert_non_null(c->json);
	assert_string_equal(jstr(c->json, "error"), code);
	assert_non_null(jstr(c->json, "detail"));
	assert_non_null(strstr(c->extra, "Cache-Control: no-store"));
}

static void
store_path(char *out, size_t cap, const char *suffix)
{
	snprintf(out, cap, "%s/s.db%s", store_dir, suffix);
}

static int
setup(void **state)
{
	(void)state;
	char path[128], err[256];
	fake_reset();
	doms = srv_api__doms_new();
	snprintf(store_dir, sizeof(store_dir), "/tmp/test_api_domains.XXXXXX");
	if (!mkdtemp(store_dir))
		return -1;
	store_path(path, sizeof(path), "");
	return srv_store_open(NULL, path, &store, err, sizeof(err)) ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	char path[128];
	srv_api__doms_free(doms);
	doms = NULL;
	fake_reset();
	srv_store_close(store);
	store = NULL;
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		store_path(path, sizeof(path), sfx[i]);
		unlink(path);
	}
	rmdir(store_dir);
	return 0;
}

/* ---- srv_domain_cnames --------------------------------------------------- */

static void
test_cnames(void **state)
{
	(void)state;
	static const char *const names[] = {"example.test", "*.example.test",
					    "www.example.test"};
	struct acme_domain *d = fake_new(OWNER, names, 3);
	struct srv_domain_cname c[16];

	/* example.test and *.example.test share one challenge name */
	size_t n = srv_domain_cnames(APEX, d, c, 16);
	assert_int_equal(n, 2);
	assert_string_equal(c[0].name, "_acme-challenge.example.test.");
	assert_string_equal(c[0].target, SUB "." APEX ".");
	assert_string_equal(c[1].name, "_acme-challenge.www.example.test.");
	assert_string_equal(c[1].target, SUB "." APEX ".");
	srv_domain_cnames_free(c, n);

	/* TLSA names for every non-wildcard name and port */
	d->tlsa[0] = (struct acme_tlsa_port){.port = 443, .proto = "tcp"};
	d->tlsa[1] = (struct acme_tlsa_port){.port = 853, .proto = "udp"};
	d->ntlsa = 2;
	assert_true(SRV_DOMAIN_CNAMES_MAX(d) >= 6);
	n = srv_domain_cnames(APEX, d, c, 16);
	assert_int_equal(n, 6);
	assert_string_equal(c[2].name, "_443._tcp.example.test.");
	assert_string_equal(c[2].target, "_443._tcp." SUB "." APEX ".");
	assert_string_equal(c[3].name, "_443._tcp.www.example.test.");
	assert_string_equal(c[4].name, "_853._udp.example.test.");
	assert_string_equal(c[5].target, "_853._udp." SUB "." APEX ".");
	srv_domain_cnames_free(c, n);

	/* cap is respected */
	n = srv_domain_cnames(APEX, d, c, 3);
	assert_int_equal(n, 3);
	srv_domain_cnames_free(c, n);
	assert_int_equal(srv_domain_cnames(APEX, d, c, 0), 0);

	/* the API's own certificate lives in our zone: nothing to create */
	d->in_zone = true;
	assert_int_equal(srv_domain_cnames(APEX, d, c, 16), 0);
	d->in_zone = false;

	/* a wildcard-only domain: one challenge CNAME, no TLSA name */
	static const char *const wild[] = {"*.w.test"};
	struct acme_domain *w = fake_new(OWNER, wild, 1);
	w->tlsa[0] = (struct acme_tlsa_port){.port = 443, .proto = "tcp"};
	w->ntlsa = 1;
	n = srv_domain_cnames(APEX, w, c, 16);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].name, "_acme-challenge.w.test.");
	srv_domain_cnames_free(c, n);
}

/* ---- routing ------------------------------------------------------------- */

static void
test_route(void **state)
{
	(void)state;
	struct srv_api__droute r;
	const char *id = "AAAAAAAA-0000-4000-8000-000000000001";
	char p[128];

	assert_false(srv_api__domains_route("GET", "/register", &r));
	assert_false(srv_api__domains_route("GET", "/domainsx", &r));
	assert_false(srv_api__domains_route("GET", "/", &r));

	assert_true(srv_api__domains_route("GET", "/domains", &r));
	assert_int_equal(r.op, SRV_API__D_LIST);
	assert_true(srv_api__domains_route("POST", "/domains", &r));
	assert_int_equal(r.op, SRV_API__D_ADD);
	assert_true(srv_api__domains_route("PUT", "/domains", &r));
	assert_int_equal(r.op, SRV_API__D_METHOD);
	assert_string_equal(r.allow, "GET, POST, OPTIONS");
	assert_true(srv_api__domains_route("OPTIONS", "/domains", &r));
	assert_int_equal(r.op, SRV_API__D_OPTIONS);

	snprintf(p, sizeof(p), "/domains/%s", id);
	assert_true(srv_api__domains_route("GET", p, &r));
	assert_int_equal(r.op, SRV_API__D_GET);
	/* ids are normalised to lower case */
	assert_string_equal(r.id, "aaaaaaaa-0000-4000-8000-000000000001");
	assert_true(srv_api__domains_route("DELETE", p, &r));
	assert_int_equal(r.op, SRV_API__D_DELETE);
	assert_true(srv_api__domains_route("POST", p, &r));
	assert_int_equal(r.op, SRV_API__D_METHOD);
	assert_string_equal(r.allow, "GET, DELETE, OPTIONS");

	static const char *const files[] = {"fullchain.pem", "cert.pem",
					    "chain.pem", "key.pem"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "/domains/%s/%s", id, files[i]);
		assert_true(srv_api__domains_route("GET", p, &r));
		assert_int_equal(r.op, SRV_API__D_FILE);
		assert_string_equal(r.file, files[i]);
		assert_true(srv_api__domains_route("DELETE", p, &r));
		assert_int_equal(r.op, SRV_API__D_METHOD);
		assert_string_equal(r.allow, "GET, OPTIONS");
	}
	snprintf(p, sizeof(p), "/domains/%s/renew", id);
	assert_true(srv_api__domains_route("POST", p, &r));
	assert_int_equal(r.op, SRV_API__D_RENEW);
	assert_true(srv_api__domains_route("GET", p, &r));
	assert_int_equal(r.op, SRV_API__D_METHOD);
	assert_string_equal(r.allow, "POST, OPTIONS");
	snprintf(p, sizeof(p), "/domains/%s/revoke", id);
	assert_true(srv_api__domains_route("POST", p, &r));
	assert_int_equal(r.op, SRV_API__D_REVOKE);

	/* anything else under /domains is not found, whatever the method */
	static const char *const bad[] = {
		"/domains/",
		"/domains/x",
		"/domains/aaaaaaaa-0000-4000-8000-00000000000",
		"/domains/aaaaaaaa-0000-4000-8000-0000000000011",
		"/domains/aaaaaaaa-0000-4000-8000-00000000000g",
		"/domains/aaaaaaaa_0000-4000-8000-000000000001",
		"/domains/aaaaaaaa-0000-4000-8000-000000000001/",
		"/domains/aaaaaaaa-0000-4000-8000-000000000001/other",
		"/domains/aaaaaaaa-0000-4000-8000-000000000001/key.pem/x",
		"/domains/aaaaaaaa-0000-4000-8000-000000000001/renew/",
		"/domains//aaaaaaaa-0000-4000-8000-000000000001",
		"/domains/../register",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(srv_api__domains_route("GET", bad[i], &r));
		if (r.op != SRV_API__D_NOTFOUND)
			fail_msg("%s: op %d", bad[i], r.op);
		assert_true(srv_api__domains_route("POST", bad[i], &r));
		assert_int_equal(r.op, SRV_API__D_NOTFOUND);
	}
}

/* ---- endpoints ----------------------------------------------------------- */

static void
test_add_get_list(void **state)
{
	(void)state;
	struct cap c = {0};

	req(&c, OWNER, "POST", "/domains",
	    "{\"names\":[\"Example.test\",\"*.example.test\"],"
	    "\"key_type\":\"ec384\",\"tlsa\":[{\"port\":443,\"proto\":"
	    "\"tcp\"}]}");
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.status, 202);
	assert_non_null(strstr(c.extra, "Cache-Control: no-store"));
	/* what reached the ACME side */
	assert_string_equal(fake.last_add.owner, OWNER);
	assert_string_equal(fake.last_add.subdomain, SUB);
	assert_int_equal(fake.last_add.nnames, 2);
	assert_string_equal(fake.d[0].names[0], "example.test");
	assert_int_equal(fake.d[0].key_type, ACME_KEY_EC384);
	assert_int_equal(fake.last_add_ntlsa, 1);
	/* the answer */
	const char *id = jstr(c.json, "id");
	assert_non_null(id);
	assert_string_equal(id, fake.d[0].id);
	assert_string_equal(jstr(c.json, "status"), "awaiting_delegation");
	const cJSON *cn = cJSON_GetObjectItem(c.json, "cnames");
	assert_int_equal(cJSON_GetArraySize(cn), 2);
	assert_string_equal(jstr(cJSON_GetArrayItem(cn, 0), "name"),
			    "_acme-challenge.example.test.");
	assert_string_equal(jstr(cJSON_GetArrayItem(cn, 0), "target"),
			    SUB "." APEX ".");
	assert_string_equal(jstr(cJSON_GetArrayItem(cn, 1), "name"),
			    "_443._tcp.example.test.");
	char did[64], path[128];
	snprintf(did, sizeof(did), "%s", id);

	/* GET /domains/{id} */
	snprintf(path, sizeof(path), "/domains/%s", did);
	struct acme_domain *d = &fake.d[0];
	d->status = ACME_DS_VALID;
	d->not_before = 1767225600; /* 2026-01-01T00:00:00Z */
	d->not_after = 1774915200;  /* 2026-03-31T00:00:00Z */
	d->renew_at = 0;
	d->error = strdup("last try: rateLimited");
	req(&c, OWNER, "GET", path, NULL);
	assert_int_equal(c.status, 200);
	assert_string_equal(jstr(c.json, "id"), did);
	assert_string_equal(jstr(c.json, "status"), "valid");
	assert_string_equal(jstr(c.json, "not_before"), "2026-01-01T00:00:00Z");
	assert_string_equal(jstr(c.json, "not_after"), "2026-03-31T00:00:00Z");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(c.json, "renew_at")));
	assert_string_equal(jstr(c.json, "error"), "last try: rateLimited");
	assert_string_equal(jstr(c.json, "key_type"), "ec384");
	assert_int_equal(
		cJSON_GetArraySize(cJSON_GetObjectItem(c.json, "names")), 2);
	assert_int_equal(
		cJSON_GetArraySize(cJSON_GetObjectItem(c.json, "cnames")), 2);
	const cJSON *t = cJSON_GetObjectItem(c.json, "tlsa");
	assert_int_equal(cJSON_GetArraySize(t), 1);
	assert_int_equal(
		cJSON_GetObjectItem(cJSON_GetArrayItem(t, 0), "port")->valueint,
		443);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c.json, "csr")));
	/* no private material in the view, ever */
	d->key_pem = strdup(FIX_KEY);
	req(&c, OWNER, "GET", path, NULL);
	assert_null(strstr(c.body, "PRIVATE KEY"));
	assert_null(cJSON_GetObjectItem(c.json, "key_pem"));

	/* a second domain, then the list: oldest first, own only */
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"b.test\"]}");
	assert_int_equal(c.status, 202);
	req(&c, OTHER, "POST", "/domains", "{\"names\":[\"c.test\"]}");
	assert_int_equal(c.status, 202);
	req(&c, OWNER, "GET", "/domains", NULL);
	assert_int_equal(c.status, 200);
	assert_true(cJSON_IsArray(c.json));
	assert_int_equal(cJSON_GetArraySize(c.json), 2);
	const cJSON *e0 = cJSON_GetArrayItem(c.json, 0);
	assert_string_equal(jstr(e0, "id"), did);
	assert_string_equal(jstr(e0, "status"), "valid");
	assert_string_equal(jstr(e0, "not_after"), "2026-03-31T00:00:00Z");
	assert_string_equal(
		cJSON_GetArrayItem(cJSON_GetObjectItem(e0, "names"), 1)
			->valuestring,
		"*.example.test");
	const cJSON *e1 = cJSON_GetArrayItem(c.json, 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(e1, "not_after")));
	req(&c, OTHER, "GET", "/domains", NULL);
	assert_int_equal(cJSON_GetArraySize(c.json), 1);
	/* a domain gone behind the API's back drops out of the list */
	fake_remove(did);
	req(&c, OWNER, "GET", "/domains", NULL);
	assert_int_equal(cJSON_GetArraySize(c.json), 1);
	/* nobody's list is an empty array, not null */
	req(&c, "44444444-4444-4444-8444-444444444444", "GET", "/domains",
	    NULL);
	assert_int_equal(c.status, 200);
	assert_string_equal(c.body, "[]");
	cap_clear(&c);
}

static void
test_add_errors(void **state)
{
	(void)state;
	struct cap c = {0};

	req(&c, OWNER, "POST", "/domains", "{\"names\":\"x\"}");
	assert_error(&c, 400, "bad_names");
	req(&c, OWNER, "POST", "/domains", "not json");
	assert_error(&c, 400, "malformed_json_payload");
	req(&c, OWNER, "POST", "/domains",
	    "{\"names\":[\"a.test\"],\"key_type\":\"dsa\"}");
	assert_error(&c, 400, "bad_key_type");
	req(&c, OWNER, "POST", "/domains",
	    "{\"names\":[\"a.test\"],\"tlsa\":[{\"port\":0}]}");
	assert_error(&c, 400, "bad_tlsa");
	req(&c, OWNER, "POST", "/domains", "{\"csr\":\"x\"}");
	assert_error(&c, 400, "bad_csr");
	assert_int_equal(fake.adds, 0); /* nothing reached the ACME side */

	/* refused by the ACME side (done inside the call): once, 400 */
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"refused.test\"]}");
	assert_error(&c, 400, "bad_names");
	assert_string_equal(jstr(c.json, "detail"),
			    "refused.test: not allowed");
	/* a failure without a callback */
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"ioerror.test\"]}");
	assert_error(&c, 500, "db_error");
	/* neither left a pending count behind: 100 adds still fit */
	for (int i = 0; i < SRV_API_MAX_DOMAINS; i++) {
		char b[64];
		snprintf(b, sizeof(b), "{\"names\":[\"h%d.test\"]}", i);
		req(&c, OWNER, "POST", "/domains", b);
		assert_int_equal(c.status, 202);
	}
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"one-more.test\"]}");
	assert_error(&c, 429, "too_many_domains");
	/* the limit is per registration */
	req(&c, OTHER, "POST", "/domains", "{\"names\":[\"one-more.test\"]}");
	assert_int_equal(c.status, 202);
	/* deleting one makes room */
	char path[128];
	snprintf(path, sizeof(path), "/domains/%s", fake.d[0].id);
	req(&c, OWNER, "DELETE", path, NULL);
	assert_int_equal(c.status, 200);
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"one-more.test\"]}");
	assert_int_equal(c.status, 202);
	cap_clear(&c);
}

static void
test_async(void **state)
{
	(void)state;
	struct cap c = {0};

	/* the 202 only after the commit */
	fake.async = true;
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"a.test\"]}");
	assert_int_equal(c.calls, 0);
	fake_complete(0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.status, 202);
	char id[64], path[128];
	snprintf(id, sizeof(id), "%s", jstr(c.json, "id"));

	/* adds in flight count for the limit: 98 done + this one + one
	 * pending = 100 */
	fake.async = false;
	for (int i = 0; i < SRV_API_MAX_DOMAINS - 2; i++) {
		char b[64];
		snprintf(b, sizeof(b), "{\"names\":[\"h%d.test\"]}", i);
		req(&c, OWNER, "POST", "/domains", b);
		assert_int_equal(c.status, 202);
	}
	struct cap pend = {0};
	fake.async = true;
	req(&pend, OWNER, "POST", "/domains", "{\"names\":[\"b.test\"]}");
	assert_int_equal(pend.calls, 0);
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"c.test\"]}");
	assert_error(&c, 429, "too_many_domains");
	/* the pending one fails at its commit: room again */
	fake_complete(AD_EIO);
	assert_error(&pend, 500, "db_error");
	cap_clear(&pend);
	fake.async = false;
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"c.test\"]}");
	assert_int_equal(c.status, 202);
	fake.async = true;

	/* a delete answers after its commit, and only then */
	snprintf(path, sizeof(path), "/domains/%s", id);
	req(&c, OWNER, "DELETE", path, NULL);
	assert_int_equal(c.calls, 0);
	fake_complete(0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.status, 200);
	assert_string_equal(jstr(c.json, "id"), id);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c.json, "deleted")));
	fake.async = false;
	req(&c, OWNER, "GET", path, NULL);
	assert_error(&c, 404, "not_found");
	req(&c, OWNER, "GET", "/domains", NULL);
	assert_int_equal(cJSON_GetArraySize(c.json), SRV_API_MAX_DOMAINS - 1);
	assert_null(strstr(c.body, id));
	cap_clear(&c);
}

static void
test_foreign_and_unknown(void **state)
{
	(void)state;
	struct cap c = {0}, u = {0};
	static const char *const n[] = {"x.test"};
	struct acme_domain *d = fake_new(OTHER, n, 1);
	d->cert_pem = malloc(strlen(FIX_LEAF) + strlen(FIX_ROOT) + 1);
	strcpy(d->cert_pem, FIX_LEAF);
	strcat(d->cert_pem, FIX_ROOT);
	d->key_pem = strdup(FIX_KEY);
	d->status = ACME_DS_VALID;
	const char *unknown = "aaaaaaaa-0000-4000-8000-999999999999";
	static const char *const sfx[] = {"",	       "/fullchain.pem",
					  "/cert.pem", "/chain.pem",
					  "/key.pem",  "/renew",
					  "/revoke"};
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		char p1[128], p2[128];
		const char *m = i >= 5 ? "POST" : "GET";
		snprintf(p1, sizeof(p1), "/domains/%s%s", d->id, sfx[i]);
		snprintf(p2, sizeof(p2), "/domains/%s%s", unknown, sfx[i]);
		req(&c, OWNER, m, p1, NULL);
		req(&u, OWNER, m, p2, NULL);
		assert_error(&c, 404, "not_found");
		/* byte for byte the same answer: existence does not leak */
		assert_string_equal(c.body, u.body);
	}
	char p[128];
	snprintf(p, sizeof(p), "/domains/%s", d->id);
	req(&c, OWNER, "DELETE", p, NULL);
	assert_error(&c, 404, "not_found");
	assert_int_equal(fake.deletes, 0);
	assert_int_equal(fake.renews, 0);
	assert_int_equal(fake.revokes, 0);
	assert_int_equal(fake.n, 1);
	/* the owner sees it */
	req(&c, OTHER, "GET", p, NULL);
	assert_int_equal(c.status, 200);
	cap_clear(&c);
	cap_clear(&u);
}

static void
test_files(void **state)
{
	(void)state;
	struct cap c = {0};
	static const char *const n[] = {"example.test", "*.example.test"};
	struct acme_domain *d = fake_new(OWNER, n, 2);
	char p[128];

	/* before issuance */
	static const char *const f[] = {"fullchain.pem", "cert.pem",
					"chain.pem", "key.pem"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "/domains/%s/%s", d->id, f[i]);
		req(&c, OWNER, "GET", p, NULL);
		assert_error(&c, 404, "no_certificate");
	}
	/* issued: the parts of the chain, private and uncached */
	size_t ll = strlen(FIX_LEAF), rl = strlen(FIX_ROOT);
	d->cert_pem = malloc(ll + rl + 1);
	memcpy(d->cert_pem, FIX_LEAF, ll);
	memcpy(d->cert_pem + ll, FIX_ROOT, rl + 1);
	d->key_pem = strdup(FIX_KEY);
	d->status = ACME_DS_VALID;

	snprintf(p, sizeof(p), "/domains/%s/cert.pem", d->id);
	req(&c, OWNER, "GET", p, NULL);
	assert_int_equal(c.status, 200);
	assert_string_equal(c.ctype, "application/x-pem-file");
	assert_non_null(strstr(c.extra, "Cache-Control: no-store"));
	assert_string_equal(c.body, FIX_LEAF);
	snprintf(p, sizeof(p), "/domains/%s/chain.pem", d->id);
	req(&c, OWNER, "GET", p, NULL);
	assert_int_equal(c.status, 200);
	assert_string_equal(c.body, FIX_ROOT);
	snprintf(p, sizeof(p), "/domains/%s/fullchain.pem", d->id);
	req(&c, OWNER, "GET", p, NULL);
	assert_int_equal(c.status, 200);
	assert_int_equal(c.len, ll + rl);
	assert_memory_equal(c.body, FIX_LEAF, ll);
	assert_memory_equal(c.body + ll, FIX_ROOT, rl);
	snprintf(p, sizeof(p), "/domains/%s/key.pem", d->id);
	req(&c, OWNER, "GET", p, NULL);
	assert_int_equal(c.status, 200);
	assert_string_equal(c.ctype, "application/x-pem-file");
	assert_non_null(strstr(c.extra, "Cache-Control: no-store"));
	assert_string_equal(c.body, FIX_KEY);

	/* a CSR domain: the key never was ours */
	free(d->key_pem);
	d->key_pem = NULL;
	d->csr_pem = strdup("-----BEGIN CERTIFICATE REQUEST-----\n");
	req(&c, OWNER, "GET", p, NULL);
	assert_error(&c, 404, "no_key");
	snprintf(p, sizeof(p), "/domains/%s/cert.pem", d->id);
	req(&c, OWNER, "GET", p, NULL);
	assert_int_equal(c.status, 200);
	snprintf(p, sizeof(p), "/domains/%s", d->id);
	req(&c, OWNER, "GET", p, NULL);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c.json, "csr")));

	/* an unreadable stored chain is a server error, not a crash */
	free(d->cert_pem);
	d->cert_pem = strdup("garbage");
	snprintf(p, sizeof(p), "/domains/%s/fullchain.pem", d->id);
	req(&c, OWNER, "GET", p, NULL);
	assert_error(&c, 500, "internal_error");
	cap_clear(&c);
}

static void
test_renew_revoke(void **state)
{
	(void)state;
	struct cap c = {0};
	static const char *const n[] = {"r.test"};
	struct acme_domain *d = fake_new(OWNER, n, 1);
	char p[128];

	snprintf(p, sizeof(p), "/domains/%s/renew", d->id);
	req(&c, OWNER, "POST", p, NULL);
	assert_int_equal(c.status, 202);
	assert_string_equal(jstr(c.json, "id"), d->id);
	assert_string_equal(jstr(c.json, "status"), "pending");
	assert_int_equal(fake.renews, 1);
	fake.renew_rc = AD_EINVAL;
	req(&c, OWNER, "POST", p, NULL);
	assert_error(&c, 409, "cannot_renew");
	fake.renew_rc = 0;

	snprintf(p, sizeof(p), "/domains/%s/revoke", d->id);
	req(&c, OWNER, "POST", p, NULL);
	assert_error(&c, 409, "no_certificate");
	assert_int_equal(fake.revokes, 0);
	d->cert_pem = strdup(FIX_LEAF);
	d->status = ACME_DS_VALID;
	req(&c, OWNER, "POST", p, "{\"reason\":7}");
	assert_error(&c, 400, "bad_reason");
	req(&c, OWNER, "POST", p, "{\"reason\":\"x\"}");
	assert_error(&c, 400, "bad_reason");
	req(&c, OWNER, "POST", p, "{\"why\":1}");
	assert_error(&c, 400, "malformed_json_payload");
	assert_int_equal(fake.revokes, 0);
	req(&c, OWNER, "POST", p, "{\"reason\":4}");
	assert_int_equal(c.status, 202);
	assert_int_equal(fake.last_reason, 4);
	req(&c, OWNER, "POST", p, NULL);
	assert_int_equal(c.status, 202);
	assert_int_equal(fake.last_reason, 0); /* unspecified */
	fake.revoke_rc = AD_EINVAL;
	req(&c, OWNER, "POST", p, "{}");
	assert_error(&c, 409, "cannot_revoke");
	fake.revoke_rc = 0;
	d->status = ACME_DS_REVOKED;
	req(&c, OWNER, "POST", p, "{}");
	assert_error(&c, 409, "already_revoked");
	cap_clear(&c);
}

/* The owner index from the store's rows (start-up), and its reset on
 * DELETE /register. */
static void
test_index_load(void **state)
{
	(void)state;
	struct cap c = {0};

	static const char *const n[] = {"l.test"};
	struct acme_domain *d1 = fake_new(OWNER, n, 1);
	struct acme_domain *d2 = fake_new(OTHER, n, 1);
	/* rows as the glue writes them (the daemon's start-up) */
	row_put(d1);
	row_put(d2);
	assert_int_equal(srv_api__doms_load(doms, store), 0);

	req(&c, OWNER, "GET", "/domains", NULL);
	assert_int_equal(cJSON_GetArraySize(c.json), 1);
	assert_string_equal(jstr(cJSON_GetArrayItem(c.json, 0), "id"),
			    d1->id);
	req(&c, OTHER, "GET", "/domains", NULL);
	assert_int_equal(cJSON_GetArraySize(c.json), 1);

	/* the index counts for the limit: 99 more fit, not 100 */
	for (int i = 0; i < SRV_API_MAX_DOMAINS - 1; i++) {
		char b[64];
		snprintf(b, sizeof(b), "{\"names\":[\"h%d.test\"]}", i);
		req(&c, OWNER, "POST", "/domains", b);
		assert_int_equal(c.status, 202);
	}
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"x.test\"]}");
	assert_error(&c, 429, "too_many_domains");
	/* one gone behind the API's back (CLI delete): room for one */
	fake_remove(d1->id);
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"x.test\"]}");
	assert_int_equal(c.status, 202);

	/* DELETE /register: the owner's ids are forgotten */
	srv_api__doms_owner_deleted(doms, OWNER);
	req(&c, OTHER, "GET", "/domains", NULL);
	assert_int_equal(cJSON_GetArraySize(c.json), 1);
	cap_clear(&c);
}

/* A domain the CLI added while the daemon runs: its row is in the store
 * and the engine took the request; the API never saw it. */
static void
test_list_cli_added(void **state)
{
	(void)state;
	struct cap c = {0};
	static const char *const n[] = {"cli.test"};
	struct acme_domain *d = fake_new(OWNER, n, 1);
	d->created = 100; /* older than the API's: listed first */
	req(&c, OWNER, "POST", "/domains", "{\"names\":[\"api.test\"]}");
	assert_int_equal(c.status, 202);
	req(&c, OWNER, "GET", "/domains", NULL);
	assert_int_equal(cJSON_GetArraySize(c.json), 1); /* no row yet */
	row_put(d);
	req(&c, OWNER, "GET", "/domains", NULL);
	assert_int_equal(cJSON_GetArraySize(c.json), 2);
	assert_string_equal(jstr(cJSON_GetArrayItem(c.json, 0), "id"), d->id);
	/* a row the engine does not manage (yet) is not listed */
	static const char *const m[] = {"queued.test"};
	struct acme_domain *q = fake_new(OWNER, m, 1);
	row_put(q);
	fake_remove(q->id);
	req(&c, OWNER, "GET", "/domains", NULL);
	assert_int_equal(cJSON_GetArraySize(c.json), 2);
	cap_clear(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cnames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_get_list, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_add_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_and_unknown, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renew_revoke, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_index_load, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list_cli_added, setup,
						teardown),
	};
	ad_log_set_level(AD_LOG_WARN); /* one line per add is noise here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
