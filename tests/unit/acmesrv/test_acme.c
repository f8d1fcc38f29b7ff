/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of server/acme.c without a CA: the engine points at a closed
 * loopback port, so it only ever fails to connect and backs off, while we
 * check what the glue owns - the account key committed before the engine
 * starts (and reused, or replaced for another CA), validation and
 * normalisation of POST /domains requests, the commit-then-add order,
 * deletes (one, per owner, from the CLI's request queue), the API's own
 * domain for [api] tls = acme, and the TLSA records restored into the
 * zone from a stored certificate; the account side: CLI requests
 * (register handed to the API's loader, a key change that is never
 * stored unless accepted), the account error kept in the row, and a
 * deactivated account refusing renew/add. Every test has its own
 * directory, store and loop; every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/engine.h"
#include "acme/pki.h"
#include "common/errors.h"
#include "common/util.h"
#include "server/acme.h"
#include "server/config.h"
#include "server/store.h"
#include "zones/zone.h"

#define APEX "auth.example.test"
#define DIR1 "http://127.0.0.1:9/dir" /* discard port: nothing listens */
#define DIR2 "http://127.0.0.1:9/other"
#define OWNER_A "aaaaaaaa-0000-4000-8000-000000000001"
#define SUB_A "5aaaaaaa-0000-4000-8000-000000000001"
#define OWNER_B "bbbbbbbb-0000-4000-8000-000000000002"
#define SUB_B "5bbbbbbb-0000-4000-8000-000000000002"

static char *const no_env[] = {NULL};

struct fx {
	char dir[64];
	char db[128];
	uv_loop_t loop;
	struct srv_config *cfg;
	struct zone *zone;
	struct srv_store *store;
	struct srv_acme *acme;
	int api_cert_calls;
};

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/adacme.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/acmedns.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Load a configuration: the common part, then extra (lines of [acme]
 * unless extra starts with its own section header). */
static struct srv_config *
mkcfg(struct fx *f, const char *directory, const char *extra)
{
	char text[2048], err[512];
	struct srv_config *cfg = NULL;

	snprintf(text, sizeof(text),
		 "[zone]\ndomain = " APEX "\nnsname = ns1." APEX "\n"
		 "nsadmin = hostmaster." APEX "\n"
		 "[api]\nlisten = 127.0.0.1:8443\n"
		 "[store]\npath = %s\n"
		 "[certs]\ndir = %s/certs\n"
		 "[acme]\ndirectory = %s\nresolver = 127.0.0.1:9\n"
		 "%s%s\n",
		 f->db, f->dir, directory, extra[0] == '[' ? "" : "[acme]\n",
		 extra);
	if (srv_config_load_buf("t.conf", text, strlen(text), no_env, &cfg, err,
				sizeof(err)) != 0)
		fail_msg("config: %s", err);
	return cfg;
}

static void
on_api_cert(void *arg, const char *cert, const char *key)
{
	struct fx *f = arg;
	(void)cert;
	(void)key;
	f->api_cert_calls++;
}

/* Start zone + store + srv_acme with cfg (taken). */
static int
start(struct fx *f, struct srv_config *cfg)
{
	char err[512];
	struct zone_params zp = {
	    .domain = cfg->domain,
	    .nsadmin = cfg->nsadmin,
	    .mname = cfg->nsname,
	    .soa_ttl = 3600,
	    .minimum = 300,
	    .serial = 1,
	    .edns_size = 1232,
	    .txt_ttl = 1,
	};
	f->cfg = cfg;
	uv_loop_init(&f->loop);
	assert_int_equal(zone_create(&zp, &f->zone), 0);
	if (srv_store_open(&f->loop, cfg->store_path, &f->store, err,
			   sizeof(err)))
		fail_msg("store: %s", err);
	struct srv_acme_opts o = {
	    .loop = &f->loop,
	    .cfg = cfg,
	    .zone = f->zone,
	    .store = f->store,
	    .api_cert = on_api_cert,
	    .api_cert_arg = f,
	};
	int r = srv_acme_new(&o, &f->acme, err, sizeof(err));
	if (r)
		print_message("srv_acme_new: %s\n", err);
	return r;
}

/* Stop in main.c's order; every handle closes, so the loop ends. */
static void
stop(struct fx *f)
{
	srv_store_close(f->store);
	srv_acme_free(f->acme);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	zone_free(f->zone);
	srv_config_free(f->cfg);
	f->acme = NULL;
	f->store = NULL;
	f->zone = NULL;
	f->cfg = NULL;
}

/* Run the loop until *flag or ms passed. */
static void
run_until(struct fx *f, const int *flag, uint64_t ms)
{
	uint64_t end = ad_mono_ms() + ms;
	while (!*flag && ad_mono_ms() < end)
		uv_run(&f->loop, UV_RUN_NOWAIT), usleep(1000);
}

/* ---- reading the store beside the daemon ------------------------------- */

struct rows {
	char *account;
	size_t n;
	char id[16][64], owner[16][64];
	char *json[16];
};

static int
rows_account(void *arg, const char *json)
{
	struct rows *r = arg;
	r->account = strdup(json);
	return 0;
}

static int
rows_domain(void *arg, const char *id, const char *owner, const char *json)
{
	struct rows *r = arg;
	assert_true(r->n < 16);
	snprintf(r->id[r->n], 64, "%s", id);
	snprintf(r->owner[r->n], 64, "%s", owner);
	r->json[r->n] = strdup(json);
	r->n++;
	return 0;
}

static void
rows_read(struct fx *f, struct rows *r)
{
	static const struct srv_store_acme_visitor v = {rows_account,
							rows_domain};
	struct srv_store *s = NULL;
	char err[256];
	memset(r, 0, sizeof(*r));
	if (srv_store_open(NULL, f->db, &s, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(srv_store_acme_load(s, &v, r), 0);
	srv_store_close(s);
}

static void
rows_free(struct rows *r)
{
	free(r->account);
	for (size_t i = 0; i < r->n; i++)
		free(r->json[i]);
}

static char *
json_get(const char *json, const char *key)
{
	cJSON *j = cJSON_Parse(json);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	char *s = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
	cJSON_Delete(j);
	return s;
}

/* ---- DNS: answers of one type at a name -------------------------------- */

/* ANCOUNT of the answer to name/type; with want (len bytes), 0 unless the
 * response carries those bytes (an RDATA we expect). */
static unsigned
answers_with(struct fx *f, const char *name, uint16_t type, const uint8_t *want,
	     size_t wlen)
{
	uint8_t q[300], out[4096];
	size_t n = 12;
	const char *p = name;

	memset(q, 0, 12);
	q[0] = 0x12;
	q[5] = 1; /* QDCOUNT */
	while (*p) {
		const char *e = strchr(p, '.');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		q[n++] = (uint8_t)l;
		memcpy(q + n, p, l);
		n += l;
		p += l + (e ? 1 : 0);
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(type >> 8);
	q[n++] = (uint8_t)type;
	q[n++] = 0;
	q[n++] = 1;
	struct zone_qopts o = {.tcp = true, .now_ms = ad_now_ms()};
	size_t rl = zone_answer(f->zone, q, n, out, sizeof(out), &o, NULL);
	assert_true(rl >= 12);
	if (want && !memmem(out, rl, want, wlen))
		return 0;
	return (unsigned)(out[6] << 8 | out[7]);
}

static unsigned
answers(struct fx *f, const char *name, uint16_t type)
{
	return answers_with(f, name, type, NULL, 0);
}

/* ---- add requests -------------------------------------------------------- */

struct addres {
	int called, status;
	char detail[256];
	struct acme_domain d;
};

static void
on_done(void *arg, int status, const char *detail, const struct acme_domain *d)
{
	struct addres *r = arg;
	r->called++;
	r->status = status;
	snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : "");
	acme_domain_clear(&r->d);
	if (d)
		assert_int_equal(acme_domain_copy(&r->d, d), 0);
}

static int
add(struct fx *f, struct addres *res, const char *owner, const char *sub,
    const char *const *names, size_t n, const char *key_type, const char *csr,
    const struct acme_tlsa_port *tlsa, size_t ntlsa)
{
	struct srv_acme_add req = {
	    .owner = owner,
	    .subdomain = sub,
	    .names = names,
	    .nnames = n,
	    .key_type = key_type,
	    .csr_pem = csr,
	    .tlsa = tlsa,
	    .ntlsa = ntlsa,
	};
	memset(res, 0, sizeof(*res));
	assert_int_equal(srv_acme_domain_add(f->acme, &req, on_done, res), 0);
	run_until(f, &res->called, 5000);
	assert_int_equal(res->called, 1);
	return res->status;
}

/* A CSR PEM for names, signed with a fresh P-256 key. */
static char *
csr_pem(const char *const *names, size_t n)
{
	EVP_PKEY *k = NULL;
	uint8_t *der = NULL;
	size_t dl = 0;
	assert_int_equal(acme_key_generate(ACME_KEY_EC256, &k), 0);
	assert_int_equal(acme_csr_make(k, names, n, &der, &dl), 0);
	const uint8_t *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)dl);
	assert_non_null(req);
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509_REQ(b, req);
	char *data;
	long len = BIO_get_mem_data(b, &data);
	/* BIO memory is not NUL-terminated (strndup would scan past it
	 * under ASan's strict_string_checks) */
	char *s = malloc((size_t)len + 1);
	assert_non_null(s);
	memcpy(s, data, (size_t)len);
	s[len] = '\0';
	BIO_free(b);
	X509_REQ_free(req);
	free(der);
	EVP_PKEY_free(k);
	return s;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_disabled(void **state)
{
	struct fx *f = *state;
	struct srv_config *cfg = mkcfg(f, "", "");
	f->acme = (struct srv_acme *)1;
	assert_int_equal(start(f, cfg), 0);
	assert_null(f->acme);
	stop(f);
	/* nothing written */
	struct rows r;
	rows_read(f, &r);
	assert_null(r.account);
	assert_int_equal(r.n, 0);
	rows_free(&r);
}

static void
test_account_key(void **state)
{
	struct fx *f = *state;
	struct rows r;

	assert_int_equal(start(f, mkcfg(f, DIR1, "")), 0);
	assert_non_null(f->acme);
	/* committed by the time srv_acme_new returned: read it from a
	 * second connection while the daemon side still runs */
	rows_read(f, &r);
	assert_non_null(r.account);
	char *key1 = json_get(r.account, "key_pem");
	char *dir = json_get(r.account, "directory");
	assert_non_null(key1);
	assert_non_null(strstr(key1, "-----BEGIN PRIVATE KEY-----"));
	assert_string_equal(dir, DIR1);
	free(dir);
	rows_free(&r);
	stop(f);

	/* a restart keeps the account */
	assert_int_equal(start(f, mkcfg(f, DIR1, "")), 0);
	stop(f);
	rows_read(f, &r);
	char *key2 = json_get(r.account, "key_pem");
	assert_string_equal(key1, key2);
	free(key2);
	rows_free(&r);

	/* another CA: a new key of the configured type */
	assert_int_equal(start(f, mkcfg(f, DIR2, "account_key_type = ec384")),
			 0);
	stop(f);
	rows_read(f, &r);
	char *key3 = json_get(r.account, "key_pem");
	dir = json_get(r.account, "directory");
	assert_string_not_equal(key1, key3);
	assert_string_equal(dir, DIR2);
	EVP_PKEY *k = NULL;
	enum acme_keytype kt;
	assert_int_equal(acme_key_from_pem(key3, strlen(key3), &k), 0);
	assert_int_equal(acme_key_type(k, &kt), 0);
	assert_int_equal(kt, ACME_KEY_EC384);
	EVP_PKEY_free(k);
	free(key3);
	free(dir);
	free(key1);
	rows_free(&r);
}

static void
test_add_validation(void **state)
{
	struct fx *f = *state;
	struct addres res;
	static const struct {
		const char *names[3];
		size_t n;
		const char *key_type;
		const char *why; /* a word of the detail */
	} bad[] = {
	    {{NULL}, 0, NULL, "no names"},
	    {{"example"}, 1, NULL, "two labels"},
	    {{"a..example.com"}, 1, NULL, "label"},
	    {{"-a.example.com"}, 1, NULL, "'-'"},
	    {{"www.*.example.com"}, 1, NULL, "character"},
	    {{"*example.com"}, 1, NULL, "wildcard"},
	    {{"a_b.example.com"}, 1, NULL, "character"},
	    {{"www.example.com", "WWW.example.com."}, 2, NULL, "duplicate"},
	    {{"www.example.com"}, 1, "ed25519", "key_type"},
	};

	assert_int_equal(start(f, mkcfg(f, DIR1, "")), 0);
	for (size_t i = 0; i < AD_ARRAY_SIZE(bad); i++) {
		assert_int_equal(add(f, &res, OWNER_A, SUB_A, bad[i].names,
				     bad[i].n, bad[i].key_type, NULL, NULL, 0),
				 AD_EINVAL);
		if (!strstr(res.detail, bad[i].why))
			fail_msg("case %zu: detail \"%s\" lacks \"%s\"", i,
				 res.detail, bad[i].why);
	}
	/* 101 names */
	const char *many[101];
	char buf[101][32];
	for (int i = 0; i < 101; i++) {
		snprintf(buf[i], sizeof(buf[i]), "n%d.example.com", i);
		many[i] = buf[i];
	}
	assert_int_equal(
	    add(f, &res, OWNER_A, SUB_A, many, 101, NULL, NULL, NULL, 0),
	    AD_EINVAL);
	/* bad TLSA */
	const char *one[] = {"www.example.com"};
	struct acme_tlsa_port t[2] = {{0, "tcp"}, {443, "tcp"}};
	assert_int_equal(add(f, &res, OWNER_A, SUB_A, one, 1, NULL, NULL, t, 1),
			 AD_EINVAL);
	t[0] = (struct acme_tlsa_port){443, "icmp"};
	assert_int_equal(add(f, &res, OWNER_A, SUB_A, one, 1, NULL, NULL, t, 1),
			 AD_EINVAL);
	t[0] = (struct acme_tlsa_port){443, "tcp"};
	assert_int_equal(add(f, &res, OWNER_A, SUB_A, one, 1, NULL, NULL, t, 2),
			 AD_EINVAL);
	/* a CSR that is not one */
	assert_int_equal(add(f, &res, OWNER_A, SUB_A, one, 1, NULL,
			     "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
			     "-----END CERTIFICATE REQUEST-----\n",
			     NULL, 0),
			 AD_EINVAL);
	/* nothing was stored */
	struct rows r;
	rows_read(f, &r);
	assert_int_equal(r.n, 0);
	rows_free(&r);
	stop(f);
}

static bool
uuid_shaped(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return true;
}

static void
test_add_and_delete(void **state)
{
	struct fx *f = *state;
	struct addres res;
	struct rows r;
	const char *names[] = {"WWW.Example.COM.", "*.example.com"};
	struct acme_tlsa_port t[1] = {{443, "tcp"}};

	assert_int_equal(start(f, mkcfg(f, DIR1, "check_delegation = false")),
			 0);
	assert_int_equal(
	    add(f, &res, OWNER_A, SUB_A, names, 2, "rsa2048", NULL, t, 1), 0);
	assert_true(uuid_shaped(res.d.id));
	assert_int_equal(res.d.nnames, 2);
	assert_string_equal(res.d.names[0], "www.example.com");
	assert_string_equal(res.d.names[1], "*.example.com");
	assert_int_equal(res.d.key_type, ACME_KEY_RSA2048);
	assert_string_equal(res.d.owner, OWNER_A);
	assert_string_equal(res.d.subdomain, SUB_A);
	assert_int_equal(res.d.ntlsa, 1);
	assert_false(res.d.in_zone);
	assert_true(res.d.created > 1700000000);
	char id1[64];
	snprintf(id1, sizeof(id1), "%s", res.d.id);
	/* the engine has it, the store has it */
	const struct acme_domain *d = srv_acme_domain_find(f->acme, id1);
	assert_non_null(d);
	assert_string_equal(d->names[0], "www.example.com");
	rows_read(f, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.id[0], id1);
	assert_string_equal(r.owner[0], OWNER_A);
	rows_free(&r);
	acme_domain_clear(&res.d);

	/* a CSR alone gives the names; the key type is the default */
	const char *cn[] = {"mail.example.org"};
	char *csr = csr_pem(cn, 1);
	assert_int_equal(
	    add(f, &res, OWNER_B, SUB_B, NULL, 0, NULL, csr, NULL, 0), 0);
	assert_int_equal(res.d.nnames, 1);
	assert_string_equal(res.d.names[0], "mail.example.org");
	assert_non_null(res.d.csr_pem);
	char id2[64];
	snprintf(id2, sizeof(id2), "%s", res.d.id);
	acme_domain_clear(&res.d);
	/* CSR names must equal the names when both are given */
	const char *other[] = {"mail.example.org", "smtp.example.org"};
	assert_int_equal(
	    add(f, &res, OWNER_B, SUB_B, other, 2, NULL, csr, NULL, 0),
	    AD_EINVAL);
	const char *same[] = {"MAIL.example.org."};
	assert_int_equal(
	    add(f, &res, OWNER_B, SUB_B, same, 1, NULL, csr, NULL, 0), 0);
	acme_domain_clear(&res.d);
	free(csr);

	struct srv_acme_stats st;
	srv_acme_stats(f->acme, &st);
	assert_int_equal(st.by_status[0] + st.by_status[1] + st.by_status[2] +
			     st.by_status[3] + st.by_status[4] +
			     st.by_status[5],
			 3);

	/* delete one: done after the commit, the row goes */
	assert_int_equal(
	    srv_acme_domain_delete(f->acme, "no-such-id", on_done, &res),
	    AD_ENOENT);
	memset(&res, 0, sizeof(res));
	assert_int_equal(srv_acme_domain_delete(f->acme, id1, on_done, &res),
			 0);
	run_until(f, &res.called, 5000);
	assert_int_equal(res.called, 1);
	assert_int_equal(res.status, 0);
	assert_null(srv_acme_domain_find(f->acme, id1));
	rows_read(f, &r);
	assert_int_equal(r.n, 2);
	rows_free(&r);

	/* every domain of an owner */
	srv_acme_owner_deleted(f->acme, OWNER_B);
	assert_null(srv_acme_domain_find(f->acme, id2));
	stop(f); /* drains the deletes */
	rows_read(f, &r);
	assert_int_equal(r.n, 0);
	rows_free(&r);
}

/* the API's own certificate: fixed id, in-zone challenge name, owner "" */
static void
test_api_domain(void **state)
{
	struct fx *f = *state;
	struct rows r;
	const char *extra = "[api]\ntls = acme\ntls_domain = API." APEX "\n"
			    "[acme]\ncheck_delegation = false";

	assert_int_equal(start(f, mkcfg(f, DIR1, extra)), 0);
	stop(f);
	rows_read(f, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.owner[0], "");
	char *sub = json_get(r.json[0], "subdomain");
	assert_non_null(sub);
	assert_string_equal(sub, "_acme-challenge.api");
	free(sub);
	char id[64];
	snprintf(id, sizeof(id), "%s", r.id[0]);
	assert_true(uuid_shaped(id));
	rows_free(&r);
	/* no certificate yet: HTTPS must wait */
	assert_int_equal(f->api_cert_calls, 0);

	/* same name: same domain */
	assert_int_equal(start(f, mkcfg(f, DIR1, extra)), 0);
	const struct acme_domain *d = srv_acme_domain_find(f->acme, id);
	assert_non_null(d);
	assert_true(d->in_zone);
	assert_string_equal(d->names[0], "api." APEX);
	/* TLSA for the API's own port is asked for */
	assert_int_equal(d->ntlsa, 1);
	assert_int_equal(d->tlsa[0].port, 8443);
	stop(f);
	rows_read(f, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.id[0], id);
	rows_free(&r);

	/* the apex itself; the old one is deleted */
	assert_int_equal(start(f, mkcfg(f, DIR1,
					"[api]\ntls = acme\n"
					"[acme]\ncheck_delegation = false")),
			 0);
	assert_null(srv_acme_domain_find(f->acme, id));
	stop(f);
	rows_read(f, &r);
	assert_int_equal(r.n, 1);
	assert_string_not_equal(r.id[0], id);
	sub = json_get(r.json[0], "subdomain");
	assert_string_equal(sub, "_acme-challenge");
	free(sub);
	rows_free(&r);

	/* a tls_domain outside the zone is a configuration error */
	struct srv_config *cfg = NULL;
	char err[256];
	const char *bad = "[zone]\ndomain = " APEX "\nnsname = ns1." APEX
			  "\nnsadmin = h." APEX "\n[api]\ntls = acme\n"
			  "tls_domain = api.example.com\n"
			  "[acme]\ndirectory = " DIR1 "\n";
	assert_int_not_equal(srv_config_load_buf("t.conf", bad, strlen(bad),
						 no_env, &cfg, err,
						 sizeof(err)),
			     0);
	assert_non_null(strstr(err, "tls_domain"));
	/* "xauth.example.test" only ends like the apex */
	const char *bad2 = "[zone]\ndomain = " APEX "\nnsname = ns1." APEX
			   "\nnsadmin = h." APEX "\n[api]\ntls = acme\n"
			   "tls_domain = x" APEX "\n"
			   "[acme]\ndirectory = " DIR1 "\n";
	assert_int_not_equal(srv_config_load_buf("t.conf", bad2, strlen(bad2),
						 no_env, &cfg, err,
						 sizeof(err)),
			     0);
}

/* A self-signed leaf for names with key k, as a PEM text. */
static char *
self_signed(EVP_PKEY *k, const char *name)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	char san[300];
	snprintf(san, sizeof(san), "DNS:%s", name);
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *e =
	    X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	char *data;
	long len = BIO_get_mem_data(b, &data);
	/* BIO memory is not NUL-terminated (strndup would scan past it
	 * under ASan's strict_string_checks) */
	char *s = malloc((size_t)len + 1);
	assert_non_null(s);
	memcpy(s, data, (size_t)len);
	s[len] = '\0';
	BIO_free(b);
	X509_free(x);
	return s;
}

/* TLSA 3 1 1 sets come back from a stored certificate at start-up and go
 * with the domain; a delete queued by the CLI is carried out */
static void
test_tlsa_restore_and_cli_delete(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = NULL, *k2 = NULL;
	struct acme_domain d;
	char tlsa_name[160];

	assert_int_equal(acme_key_generate(ACME_KEY_EC256, &k), 0);
	assert_int_equal(acme_key_generate(ACME_KEY_EC256, &k2), 0);
	memset(&d, 0, sizeof(d));
	snprintf(d.id, sizeof(d.id), "%s",
		 "0d0d0d0d-0000-4000-8000-000000000001");
	snprintf(d.owner, sizeof(d.owner), "%s", OWNER_A);
	snprintf(d.subdomain, sizeof(d.subdomain), "%s", SUB_A);
	d.names = calloc(1, sizeof(char *));
	d.names[0] = strdup("www.example.com");
	d.nnames = 1;
	d.tlsa[0] = (struct acme_tlsa_port){443, "tcp"};
	d.tlsa[1] = (struct acme_tlsa_port){25, "tcp"};
	d.ntlsa = 2;
	d.status = ACME_DS_VALID;
	d.created = 1700000000;
	d.cert_pem = self_signed(k, "www.example.com");
	assert_int_equal(acme_key_to_pem(k, &d.key_pem), 0);
	/* a renewal in flight: its key is published too */
	assert_int_equal(acme_key_to_pem(k2, &d.next_key_pem), 0);
	d.order_url = strdup("http://127.0.0.1:9/order/1");
	struct acme_certinfo ci;
	memset(&ci, 0, sizeof(ci));
	assert_int_equal(
	    acme_chain_parse(d.cert_pem, strlen(d.cert_pem), NULL, &ci), 0);
	d.not_before = ci.not_before;
	d.not_after = ci.not_after;
	d.renew_at = ci.not_after - 30 * 86400;
	acme_certinfo_free(&ci);

	/* stored as the daemon would have */
	struct srv_store *s = NULL;
	char err[256];
	int st = -1;
	assert_int_equal(srv_store_open(NULL, f->db, &s, err, sizeof(err)), 0);
	cJSON *j = acme_domain_to_json(&d);
	char *json = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_int_equal(
	    srv_store_domain_put(s, d.id, d.owner, json, NULL, NULL), 0);
	free(json);
	srv_store_close(s);

	assert_int_equal(start(f, mkcfg(f, DIR1, "check_delegation = false")),
			 0);
	assert_non_null(srv_acme_domain_find(f->acme, d.id));
	snprintf(tlsa_name, sizeof(tlsa_name), "_443._tcp.%s." APEX, SUB_A);
	assert_int_equal(answers(f, tlsa_name, 52), 2);
	/* 3 1 1 + SHA-256(SPKI) of the current key, and of the next one */
	uint8_t rd[2][35] = {{3, 1, 1}, {3, 1, 1}};
	assert_int_equal(acme_spki_sha256(k, rd[0] + 3), 0);
	assert_int_equal(acme_spki_sha256(k2, rd[1] + 3), 0);
	assert_int_equal(answers_with(f, tlsa_name, 52, rd[0], 35), 2);
	assert_int_equal(answers_with(f, tlsa_name, 52, rd[1], 35), 2);
	snprintf(tlsa_name, sizeof(tlsa_name), "_25._tcp.%s." APEX, SUB_A);
	assert_int_equal(answers(f, tlsa_name, 52), 2);

	/* the CLI queues a delete for the running daemon (polled every
	 * 2 s) */
	assert_int_equal(srv_store_open(NULL, f->db, &s, err, sizeof(err)), 0);
	assert_int_equal(
	    srv_store_request_put(s, "delete", d.id, NULL, NULL, NULL), 0);
	srv_store_close(s);
	uint64_t end = ad_mono_ms() + 6000;
	while (srv_acme_domain_find(f->acme, d.id) && ad_mono_ms() < end) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		usleep(5000);
	}
	assert_null(srv_acme_domain_find(f->acme, d.id));
	assert_int_equal(answers(f, tlsa_name, 52), 0);
	stop(f);
	struct rows r;
	rows_read(f, &r);
	assert_int_equal(r.n, 0);
	rows_free(&r);
	(void)st;
	acme_domain_clear(&d);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* ---- the account: CLI requests, errors, deactivation --------------------- */

struct loader {
	int calls;
	char user[64];
};

static int
fake_loader(void *arg, const char *username)
{
	struct loader *l = arg;
	l->calls++;
	snprintf(l->user, sizeof(l->user), "%s", username);
	return 0;
}

/* Run the loop until the stored account row has key (any value), or ms. */
static char *
wait_row_field(struct fx *f, const char *key, uint64_t ms)
{
	uint64_t end = ad_mono_ms() + ms;
	for (;;) {
		struct rows r;
		rows_read(f, &r);
		char *v = r.account ? json_get(r.account, key) : NULL;
		rows_free(&r);
		if (v || ad_mono_ms() >= end)
			return v;
		for (int i = 0; i < 20; i++)
			uv_run(&f->loop, UV_RUN_NOWAIT), usleep(1000);
	}
}

/*
 * With a CA that cannot be reached: "register" goes to the registration
 * loader; the account error (directory unreachable) is reported, stored
 * in the account row and the account is not ready; a queued key change
 * never replaces the stored key (only an accepted rollover may), and a
 * contact the CA never saw is not stored.
 */
static void
test_account_requests_offline(void **state)
{
	struct fx *f = *state;
	struct loader l = {0};
	struct srv_store *s = NULL;
	struct srv_acme_stats st;
	struct rows r;
	char err[256];

	assert_int_equal(start(f, mkcfg(f, DIR1, "")), 0);
	srv_acme_set_registration_loader(f->acme, fake_loader, &l);
	rows_read(f, &r);
	char *key1 = json_get(r.account, "key_pem");
	assert_non_null(key1);
	rows_free(&r);

	/* what `acmedns domains add` and `acmedns account` queue */
	assert_int_equal(srv_store_open(NULL, f->db, &s, err, sizeof(err)), 0);
	assert_int_equal(srv_store_request_put(s, "register", OWNER_B, OWNER_B,
					       NULL, NULL),
			 0);
	assert_int_equal(srv_store_request_put(s, "key_change", "account",
					       "ec384", NULL, NULL),
			 0);
	assert_int_equal(srv_store_request_put(s, "contact", "account",
					       "x@example.test", NULL, NULL),
			 0);
	srv_store_close(s);
	run_until(f, &l.calls, 6000);
	assert_int_equal(l.calls, 1);
	assert_string_equal(l.user, OWNER_B);

	/* the directory cannot be fetched: an account-level error */
	uint64_t end = ad_mono_ms() + 6000;
	while (!srv_acme_account_error(f->acme) && ad_mono_ms() < end)
		uv_run(&f->loop, UV_RUN_NOWAIT), usleep(1000);
	const char *e = srv_acme_account_error(f->acme);
	assert_non_null(e);
	assert_non_null(strstr(e, DIR1));
	srv_acme_stats(f->acme, &st);
	assert_false(st.account_ready);
	assert_false(srv_acme_account_deactivated(f->acme));
	/* ... kept in the account row for the CLI */
	char *stored_err = wait_row_field(f, "error", 5000);
	assert_non_null(stored_err);
	assert_non_null(strstr(stored_err, DIR1));
	free(stored_err);
	stop(f);

	rows_read(f, &r);
	char *key2 = json_get(r.account, "key_pem");
	char *contact = json_get(r.account, "contact");
	assert_string_equal(key1, key2);
	assert_null(contact);
	rows_free(&r);
	free(key1);
	free(key2);
}

/*
 * A deactivated account (as stored): renew and add are refused with
 * AD_EAUTH (the API answers 409 account_deactivated), and rewriting the
 * row (its error changed) keeps the contact set through the CLI.
 */
static void
test_account_deactivated(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = NULL;
	struct addres res;
	struct rows r;
	char err[256];
	static const char *const names[] = {"d.example.com"};

	assert_int_equal(start(f, mkcfg(f, DIR1, "")), 0);
	assert_int_equal(add(f, &res, OWNER_A, SUB_A, names, 1, NULL, NULL,
			     NULL, 0),
			 0);
	char id[ACME_ID_LEN + 1];
	snprintf(id, sizeof(id), "%s", res.d.id);
	acme_domain_clear(&res.d);
	stop(f);

	/* what the daemon stores after a deactivation and a contact */
	rows_read(f, &r);
	cJSON *j = cJSON_Parse(r.account);
	rows_free(&r);
	cJSON_AddStringToObject(j, "url", "http://127.0.0.1:9/acct/1");
	cJSON_AddStringToObject(j, "status", "deactivated");
	cJSON_AddStringToObject(j, "contact", "c@example.test");
	/* an error of an earlier run, to be replaced by the current one */
	cJSON_DeleteItemFromObject(j, "error");
	cJSON_AddStringToObject(j, "error", "stale problem");
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_int_equal(srv_store_open(NULL, f->db, &s, err, sizeof(err)), 0);
	assert_int_equal(srv_store_account_put(s, text, NULL, NULL), 0);
	srv_store_close(s);
	free(text);

	assert_int_equal(start(f, mkcfg(f, DIR1, "")), 0);
	assert_true(srv_acme_account_deactivated(f->acme));
	assert_non_null(srv_acme_domain_find(f->acme, id));
	assert_int_equal(srv_acme_domain_renew(f->acme, id), AD_EAUTH);
	assert_int_equal(srv_acme_domain_renew(f->acme, "nope"), AD_ENOENT);
	struct srv_acme_add req = {.owner = OWNER_A,
				   .subdomain = SUB_A,
				   .names = names,
				   .nnames = 1};
	memset(&res, 0, sizeof(res));
	assert_int_equal(srv_acme_domain_add(f->acme, &req, on_done, &res), 0);
	assert_int_equal(res.called, 1);
	assert_int_equal(res.status, AD_EAUTH);
	assert_non_null(strstr(res.detail, "deactivated"));
	/* the row is written again once the engine reports its error */
	char *stored_err = NULL;
	uint64_t end = ad_mono_ms() + 6000;
	do {
		free(stored_err);
		uv_run(&f->loop, UV_RUN_NOWAIT);
		usleep(2000);
		stored_err = wait_row_field(f, "error", 200);
	} while ((!stored_err || strcmp(stored_err, "stale problem") == 0) &&
		 ad_mono_ms() < end);
	assert_non_null(stored_err);
	assert_non_null(strstr(stored_err, DIR1));
	free(stored_err);
	stop(f);
	rows_read(f, &r);
	char *contact = json_get(r.account, "contact");
	char *status = json_get(r.account, "status");
	assert_string_equal(contact, "c@example.test");
	assert_string_equal(status, "deactivated");
	free(contact);
	free(status);
	rows_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_account_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_validation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_add_and_delete, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_api_domain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tlsa_restore_and_cli_delete,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_account_requests_offline,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_account_deactivated, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
