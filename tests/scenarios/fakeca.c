/* SPDX-License-Identifier: MIT */
/*
 * The scripted fake ACME CA of the engine scenarios (see fakeca.h). It
 * owns the server-side state machine of RFC 8555 (nonces §6.5, accounts
 * §7.3, orders §7.4, authorizations and dns-01 §7.5/§8.4, finalize and
 * download §7.4.2, key change §7.3.5, revocation §7.6), RFC 9773
 * renewalInfo and the fault injection. State that depends on time
 * (validations, processing, expiry) is advanced lazily at every request
 * from the world's fake clock, so the CA has no timers of its own. It must
 * not trust the engine: every check a real CA makes is made here, with
 * thumbprints and key conversions computed independently of acme/pki.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/jws.h"
#include "acme/pki.h"
#include "common/base64.h"
#include "common/errors.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "tests/scenarios/fakeca.h"

#define CA_MAX_BODY (64 * 1024)
#define CA_MAX_FAULTS 32
#define PT "urn:ietf:params:acme:error:"

/* Object states, kept apart from acme/msg.h on purpose. */
enum st {
	S_PENDING,
	S_READY,
	S_PROCESSING,
	S_VALID,
	S_INVALID,
	S_DEACTIVATED,
	S_EXPIRED,
	S_REVOKED
};
static const char *const st_names[] = {
    "pending", "ready",       "processing", "valid",
    "invalid", "deactivated", "expired",    "revoked",
};

struct ca_account {
	EVP_PKEY *key;
	cJSON *jwk;
	cJSON *contact;
	char thumb[ACME_THUMB_LEN + 1];
	char status[16];
	char eab[64];
};

struct ca_authz {
	char ident[256]; /* without "*." */
	bool wildcard;
	enum st status;
	uint64_t expires_ms;
	unsigned account;
	char token[ACME_THUMB_LEN + 1];
	char http_token[ACME_THUMB_LEN + 1];
	enum st chall;
	uint64_t validate_at; /* 0: not triggered; UINT64_MAX: stalled */
	int64_t validated;
	cJSON *error;
};

struct ca_order {
	unsigned account;
	enum st status;
	uint64_t expires_ms;
	char **names;
	size_t nnames;
	unsigned *authz;
	size_t nauthz;
	char *profile, *replaces;
	uint64_t processing_until;
	int cert; /* index or -1 */
	bool downloaded;
};

struct fakeca {
	struct fakeca_cfg cfg;
	fakeca_now_fn now;
	fakeca_dns_fn dns;
	void *arg;
	uint64_t rng;

	EVP_PKEY *root_key, *alt_root_key, *int_key;
	X509 *root, *alt_root, *inter, *inter_alt;
	char *root_pem, *alt_root_pem, *int_pem, *int_alt_pem;

	uint8_t *nonce_used; /* per issued nonce counter: 0 issued, 1 used */
	size_t nnonces;

	struct ca_account *acc;
	size_t nacc;
	struct ca_order *ord;
	size_t nord;
	struct ca_authz *az;
	size_t naz;
	struct fakeca_cert *certs;
	size_t ncerts;

	struct fakeca_fault faults[CA_MAX_FAULTS];
	unsigned fault_seen[CA_MAX_FAULTS];
	size_t nfaults;

	struct fakeca_req *log;
	size_t nlog;
	unsigned badnonces;
	unsigned max_open;
};

/* ---- small helpers ---------------------------------------------------- */

static uint32_t
rnd(struct fakeca *ca)
{
	/* xorshift64*: reproducible per seed */
	ca->rng ^= ca->rng >> 12;
	ca->rng ^= ca->rng << 25;
	ca->rng ^= ca->rng >> 27;
	return (uint32_t)((ca->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint64_t
now_ms(struct fakeca *ca)
{
	return ca->now(ca->arg);
}

static void
fmt_time(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
random_token(struct fakeca *ca, char out[ACME_THUMB_LEN + 1])
{
	uint8_t b[32];
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)rnd(ca);
	ad_b64url_encode(b, sizeof(b), out);
}

static char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

/* base64url text -> malloc'd bytes (NUL-terminated for text use). */
static uint8_t *
b64_dec(const char *s, size_t *outlen)
{
	size_t n = strlen(s);
	uint8_t *buf = xmalloc(n + 1);
	int r = ad_b64url_decode(s, n, buf, n + 1);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	buf[r] = 0;
	if (outlen)
		*outlen = (size_t)r;
	return buf;
}

const char *
fakeca_ep_name(enum fakeca_ep ep)
{
	static const char *const n[FEP__COUNT] = {
	    "any",         "directory",   "newNonce",  "newAccount", "account",
	    "newOrder",    "order",       "authz",     "challenge",  "finalize",
	    "certificate", "renewalInfo", "keyChange", "revokeCert", "unknown",
	};
	return ep < FEP__COUNT ? n[ep] : "?";
}

void
fakeca_resp_free(struct fakeca_resp *r)
{
	free(r->error);
	free(r->body);
	free(r->content_type);
	free(r->location);
	free(r->replay_nonce);
	free(r->retry_after);
	for (size_t i = 0; i < r->nlinks; i++)
		free(r->links[i]);
	memset(r, 0, sizeof(*r));
}

void
fakeca_resp_view(const struct fakeca_resp *r, struct acme_http_resp *out)
{
	memset(out, 0, sizeof(*out));
	out->status = r->status;
	out->error = r->error;
	out->body = r->body;
	out->body_len = r->body_len;
	out->content_type = r->content_type;
	out->location = r->location;
	out->replay_nonce = r->replay_nonce;
	out->retry_after = r->retry_after;
	for (size_t i = 0; i < r->nlinks; i++)
		out->links[i] = r->links[i];
	out->nlinks = r->nlinks;
}

static void
add_link(struct fakeca_resp *r, const char *url, const char *rel)
{
	if (r->nlinks < ACME_HTTP_MAX_LINKS)
		r->links[r->nlinks++] = xasprintf("<%s>;rel=\"%s\"", url, rel);
}

static char *
new_nonce(struct fakeca *ca)
{
	/* counter (4 bytes) + 4 random bytes, base64url: RFC 8555 §6.5.1
	 * only asks for base64url; the counter finds the used flag */
	uint8_t b[8];
	uint32_t c = (uint32_t)ca->nnonces;
	uint32_t r = rnd(ca);
	char out[AD_B64URL_LEN(8)];
	ca->nonce_used = xrealloc(ca->nonce_used, ca->nnonces + 1);
	ca->nonce_used[ca->nnonces++] = 0;
	for (int i = 0; i < 4; i++) {
		b[i] = (uint8_t)(c >> (24 - 8 * i));
		b[4 + i] = (uint8_t)(r >> (24 - 8 * i));
	}
	ad_b64url_encode(b, sizeof(b), out);
	return xstrdup(out);
}

/* true if nonce was issued and not used yet; marks it used */
static bool
take_nonce(struct fakeca *ca, const char *nonce)
{
	uint8_t b[16];
	int n = ad_b64url_decode(nonce, strlen(nonce), b, sizeof(b));
	uint32_t c;
	if (n != 8)
		return false;
	c = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
	    b[3];
	if (c >= ca->nnonces || ca->nonce_used[c])
		return false;
	ca->nonce_used[c] = 1;
	return true;
}

static void
set_json(struct fakeca_resp *r, int status, cJSON *obj)
{
	r->status = status;
	r->body = cJSON_PrintUnformatted(obj);
	if (!r->body)
		abort();
	r->body_len = strlen(r->body);
	r->content_type = xstrdup("application/json");
	cJSON_Delete(obj);
}

static cJSON *
problem_json(const char *type, const char *detail, int status)
{
	cJSON *p = cJSON_CreateObject();
	char *t = xasprintf(PT "%s", type);
	cJSON_AddStringToObject(p, "type", t);
	cJSON_AddStringToObject(p, "detail", detail);
	if (status)
		cJSON_AddNumberToObject(p, "status", status);
	free(t);
	return p;
}

static void
set_problem(struct fakeca *ca, struct fakeca_resp *r, int status,
	    const char *type, const char *detail)
{
	set_json(r, status, problem_json(type, detail, status));
	free(r->content_type);
	r->content_type = xstrdup("application/problem+json");
	if (!r->replay_nonce)
		r->replay_nonce = new_nonce(ca);
}

/* ---- PKI of the CA ----------------------------------------------------- */

struct ext_def {
	int nid;
	const char *val;
};

static X509 *
make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
	  const uint8_t *serial, size_t serial_len, int64_t nb, int64_t na,
	  bool is_ca, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;
	BIGNUM *bn = BN_bin2bn(serial, (int)serial_len, NULL);
	struct ext_def ext[6];
	size_t next = 0;

	if (!x || !name || !bn)
		abort();
	X509_set_version(x, 2);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	if (cn)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					   (const unsigned char *)cn, -1, -1,
					   0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	X509_set_pubkey(x, pub);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na);

	if (is_ca) {
		ext[next++] =
		    (struct ext_def){NID_basic_constraints, "critical,CA:TRUE"};
		ext[next++] = (struct ext_def){NID_key_usage,
					       "critical,keyCertSign,cRLSign"};
		ext[next++] =
		    (struct ext_def){NID_subject_key_identifier, "hash"};
	} else {
		ext[next++] = (struct ext_def){NID_basic_constraints,
					       "critical,CA:FALSE"};
		ext[next++] = (struct ext_def){NID_key_usage,
					       "critical,digitalSignature"};
		ext[next++] = (struct ext_def){NID_ext_key_usage, "serverAuth"};
		ext[next++] = (struct ext_def){NID_subject_alt_name, san};
	}
	/* the AKI is what RFC 9773 §4.1 builds the certificate id from */
	ext[next++] =
	    (struct ext_def){NID_authority_key_identifier, "keyid:always"};
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	for (size_t i = 0; i < next; i++) {
		X509_EXTENSION *e =
		    X509V3_EXT_conf_nid(NULL, &ctx, ext[i].nid, ext[i].val);
		if (!e)
			abort();
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (!X509_sign(x, issuer_key, EVP_sha256()))
		abort();
	return x;
}

static char *
cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	char *s = xstrndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

static void
ca_pki_init(struct fakeca *ca)
{
	int64_t t = (int64_t)(now_ms(ca) / 1000);
	int64_t nb = t - 365 * FAKECA_DAY, na = t + 10 * 365 * FAKECA_DAY;
	uint8_t s1[] = {1}, s2[] = {2}, s3[] = {3}, s4[] = {4};

	ca->root_key = EVP_EC_gen("P-256");
	ca->alt_root_key = EVP_EC_gen("P-256");
	ca->int_key = EVP_EC_gen("P-256");
	if (!ca->root_key || !ca->alt_root_key || !ca->int_key)
		abort();
	ca->root = make_cert(FAKECA_ROOT_CN, ca->root_key, NULL, ca->root_key,
			     s1, 1, nb, na, true, NULL);
	ca->alt_root = make_cert(FAKECA_ALT_ROOT_CN, ca->alt_root_key, NULL,
				 ca->alt_root_key, s2, 1, nb, na, true, NULL);
	/* one intermediate key, two certificates: the alternate chain of
	 * RFC 8555 §7.4.2 leads to another root by a cross-signature */
	ca->inter = make_cert(FAKECA_INT_CN, ca->int_key, ca->root,
			      ca->root_key, s3, 1, nb, na, true, NULL);
	ca->inter_alt = make_cert(FAKECA_INT_CN, ca->int_key, ca->alt_root,
				  ca->alt_root_key, s4, 1, nb, na, true, NULL);
	ca->root_pem = cert_pem(ca->root);
	ca->alt_root_pem = cert_pem(ca->alt_root);
	ca->int_pem = cert_pem(ca->inter);
	ca->int_alt_pem = cert_pem(ca->inter_alt);
}

/* RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial
 * content octets, a leading 0x00 included when the DER has one) */
static void
ari_id_of(X509 *leaf, char *out, size_t cap)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(leaf);
	const ASN1_INTEGER *ser = X509_get0_serialNumber(leaf);
	unsigned char *der = NULL, *p;
	int n = i2d_ASN1_INTEGER(ser, &der);
	char a[128], s[128];
	if (!aki || n < 3 || n > 60 || der[1] >= 0x80)
		abort();
	p = der + 2;
	ad_b64url_encode(ASN1_STRING_get0_data(aki),
			 (size_t)ASN1_STRING_length(aki), a);
	ad_b64url_encode(p, (size_t)n - 2, s);
	OPENSSL_free(der);
	snprintf(out, cap, "%s.%s", a, s);
}

static uint32_t
validity_for(const struct fakeca *ca, const char *profile)
{
	for (size_t i = 0; profile && i < ca->cfg.nprofiles; i++)
		if (!strcmp(ca->cfg.profiles[i].name, profile) &&
		    ca->cfg.profiles[i].validity_s)
			return ca->cfg.profiles[i].validity_s;
	return ca->cfg.validity_s;
}

static void
issue(struct fakeca *ca, unsigned oi, EVP_PKEY *pub)
{
	struct ca_order *o = &ca->ord[oi];
	struct fakeca_cert *c;
	uint8_t serial[16];
	char *san = xstrdup(""), *tmp;
	int64_t nb = (int64_t)(now_ms(ca) / 1000);
	X509 *leaf;
	char *leaf_pem;
	BIGNUM *bn;
	char *hex;

	for (size_t i = 0; i < o->nnames; i++) {
		tmp = xasprintf("%s%sDNS:%s", san, i ? "," : "", o->names[i]);
		free(san);
		san = tmp;
	}
	/* first byte 0x10..0xff: sometimes the top bit is set, so the ARI
	 * serial needs its 0x00 pad (RFC 9773 §4.1 example) */
	for (size_t i = 0; i < sizeof(serial); i++)
		serial[i] = (uint8_t)rnd(ca);
	serial[0] = (uint8_t)(0x10 + serial[0] % 0xf0);
	leaf = make_cert(strlen(o->names[0]) <= 64 ? o->names[0] : NULL, pub,
			 ca->inter, ca->int_key, serial, sizeof(serial), nb,
			 nb + validity_for(ca, o->profile), false, san);
	free(san);

	ca->certs =
	    xreallocarray(ca->certs, ca->ncerts + 1, sizeof(*ca->certs));
	c = &ca->certs[ca->ncerts];
	memset(c, 0, sizeof(*c));
	c->id = (unsigned)ca->ncerts;
	c->order = oi;
	c->account = o->account;
	leaf_pem = cert_pem(leaf);
	c->pem = xasprintf("%s%s", leaf_pem, ca->int_pem);
	c->alt_pem = xasprintf("%s%s", leaf_pem, ca->int_alt_pem);
	free(leaf_pem);
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	hex = BN_bn2hex(bn);
	for (char *p = hex; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
	ad_strlcpy(c->serial, hex, sizeof(c->serial));
	OPENSSL_free(hex);
	BN_free(bn);
	ari_id_of(leaf, c->ari_id, sizeof(c->ari_id));
	c->not_before = nb;
	c->not_after = nb + validity_for(ca, o->profile);
	X509_free(leaf);
	o->cert = (int)ca->ncerts++;
}

/* ---- JWK (independent of acme/pki.c) ----------------------------------- */

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
fakeca_jwk_thumb(const cJSON *jwk, char out[ACME_THUMB_LEN + 1])
{
	/* RFC 7638 §3.2: required members only, lexicographic order, no
	 * whitespace */
	const char *kty = jstr(jwk, "kty");
	char *canon;
	uint8_t md[32];
	if (!kty)
		return AD_EMALF;
	if (!strcmp(kty, "EC")) {
		const char *crv = jstr(jwk, "crv"), *x = jstr(jwk, "x"),
			   *y = jstr(jwk, "y");
		if (!crv || !x || !y)
			return AD_EMALF;
		canon = xasprintf("{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\","
				  "\"y\":\"%s\"}",
				  crv, x, y);
	} else if (!strcmp(kty, "RSA")) {
		const char *e = jstr(jwk, "e"), *n = jstr(jwk, "n");
		if (!e || !n)
			return AD_EMALF;
		canon = xasprintf("{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
				  e, n);
	} else {
		return AD_EMALF;
	}
	SHA256((const unsigned char *)canon, strlen(canon), md);
	free(canon);
	ad_b64url_encode(md, sizeof(md), out);
	return 0;
}

EVP_PKEY *
fakeca_jwk_to_pkey(const cJSON *jwk)
{
	const char *kty = jstr(jwk, "kty");
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *key = NULL;
	uint8_t *a = NULL, *b = NULL, pt[1 + 2 * 66];
	size_t alen = 0, blen = 0;
	BIGNUM *n = NULL, *e = NULL;

	if (!kty || !bld)
		goto out;
	if (!strcmp(kty, "EC")) {
		const char *crv = jstr(jwk, "crv");
		const char *x = jstr(jwk, "x"), *y = jstr(jwk, "y");
		size_t clen;
		const char *group;
		if (!crv || !x || !y)
			goto out;
		if (!strcmp(crv, "P-256")) {
			clen = 32;
			group = "prime256v1";
		} else if (!strcmp(crv, "P-384")) {
			clen = 48;
			group = "secp384r1";
		} else {
			goto out;
		}
		a = b64_dec(x, &alen);
		b = b64_dec(y, &blen);
		if (!a || !b || alen != clen || blen != clen)
			goto out;
		pt[0] = 4; /* uncompressed point (SEC 1 §2.3.3) */
		memcpy(pt + 1, a, clen);
		memcpy(pt + 1 + clen, b, clen);
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
						group, 0);
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
						 pt, 1 + 2 * clen);
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else if (!strcmp(kty, "RSA")) {
		const char *ns = jstr(jwk, "n"), *es = jstr(jwk, "e");
		if (!ns || !es)
			goto out;
		a = b64_dec(ns, &alen);
		b = b64_dec(es, &blen);
		if (!a || !b || alen < 256 || blen == 0 || blen > 8)
			goto out;
		n = BN_bin2bn(a, (int)alen, NULL);
		e = BN_bin2bn(b, (int)blen, NULL);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (!pctx || !params || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		key = NULL;
out:
	free(a);
	free(b);
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(pctx);
	return key;
}

static const char *
alg_of(EVP_PKEY *k)
{
	if (EVP_PKEY_is_a(k, "RSA"))
		return "RS256";
	if (EVP_PKEY_is_a(k, "EC"))
		return EVP_PKEY_get_bits(k) == 384 ? "ES384" : "ES256";
	return "?";
}

/* ---- construction ------------------------------------------------------ */

void
fakeca_cfg_default(struct fakeca_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->validity_s = 90 * FAKECA_DAY;
	cfg->order_lifetime_s = 7 * FAKECA_DAY;
	cfg->validation_ms = 200;
	cfg->processing_ms = 0;
	cfg->ari_start_off = 60 * FAKECA_DAY;
	cfg->ari_end_off = 62 * FAKECA_DAY;
}

struct fakeca *
fakeca_new(const struct fakeca_cfg *cfg, fakeca_now_fn now, fakeca_dns_fn dns,
	   void *arg, uint64_t seed)
{
	struct fakeca *ca = xcalloc(1, sizeof(*ca));
	ca->cfg = *cfg;
	ca->now = now;
	ca->dns = dns;
	ca->arg = arg;
	ca->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
	ca_pki_init(ca);
	return ca;
}

void
fakeca_free(struct fakeca *ca)
{
	if (!ca)
		return;
	for (size_t i = 0; i < ca->nacc; i++) {
		EVP_PKEY_free(ca->acc[i].key);
		cJSON_Delete(ca->acc[i].jwk);
		cJSON_Delete(ca->acc[i].contact);
	}
	for (size_t i = 0; i < ca->nord; i++) {
		for (size_t j = 0; j < ca->ord[i].nnames; j++)
			free(ca->ord[i].names[j]);
		free(ca->ord[i].names);
		free(ca->ord[i].authz);
		free(ca->ord[i].profile);
		free(ca->ord[i].replaces);
	}
	for (size_t i = 0; i < ca->naz; i++)
		cJSON_Delete(ca->az[i].error);
	for (size_t i = 0; i < ca->ncerts; i++) {
		free(ca->certs[i].pem);
		free(ca->certs[i].alt_pem);
	}
	for (size_t i = 0; i < ca->nlog; i++) {
		free(ca->log[i].url);
		free(ca->log[i].payload);
		free(ca->log[i].kid);
		free(ca->log[i].ptype);
	}
	free(ca->acc);
	free(ca->ord);
	free(ca->az);
	free(ca->certs);
	free(ca->log);
	free(ca->nonce_used);
	X509_free(ca->root);
	X509_free(ca->alt_root);
	X509_free(ca->inter);
	X509_free(ca->inter_alt);
	EVP_PKEY_free(ca->root_key);
	EVP_PKEY_free(ca->alt_root_key);
	EVP_PKEY_free(ca->int_key);
	free(ca->root_pem);
	free(ca->alt_root_pem);
	free(ca->int_pem);
	free(ca->int_alt_pem);
	free(ca);
}

struct fakeca_cfg *
fakeca_cfg(struct fakeca *ca)
{
	return &ca->cfg;
}

void
fakeca_fault_add(struct fakeca *ca, const struct fakeca_fault *f)
{
	if (ca->nfaults >= CA_MAX_FAULTS)
		abort();
	ca->faults[ca->nfaults] = *f;
	ca->faults[ca->nfaults].applied = 0;
	ca->fault_seen[ca->nfaults] = 0;
	ca->nfaults++;
}

void
fakeca_faults_disarm(struct fakeca *ca)
{
	for (size_t i = 0; i < ca->nfaults; i++)
		ca->faults[i].count = ca->faults[i].applied;
}

const struct fakeca_fault *
fakeca_fault_get(const struct fakeca *ca, size_t i)
{
	return i < ca->nfaults ? &ca->faults[i] : NULL;
}

/*
 * The first armed fault that matches, consumed. Request faults match ep
 * and method; validation faults (validation == true) match by kind:
 * FK_CHALL_STALL when the challenge is triggered (ep FEP_CHALL),
 * FK_CHALL_INVALID when it is validated (ep FEP_ANY).
 */
static struct fakeca_fault *
fault_take(struct fakeca *ca, enum fakeca_ep ep, const char *method,
	   bool validation)
{
	for (size_t i = 0; i < ca->nfaults; i++) {
		struct fakeca_fault *f = &ca->faults[i];
		bool vf =
		    f->kind == FK_CHALL_INVALID || f->kind == FK_CHALL_STALL;
		if (vf != validation || f->applied >= f->count)
			continue;
		if (!validation) {
			if (f->ep != FEP_ANY && f->ep != ep)
				continue;
			if (f->method && strcmp(f->method, method))
				continue;
		} else if (f->kind != (ep == FEP_CHALL ? FK_CHALL_STALL
						       : FK_CHALL_INVALID)) {
			continue;
		}
		if (ca->fault_seen[i]++ < f->skip)
			continue;
		f->applied++;
		return f;
	}
	return NULL;
}

/* ---- time-driven state (lazy) ----------------------------------------- */

static void
validate(struct fakeca *ca, struct ca_authz *a)
{
	char name[300], want[ACME_THUMB_LEN + 1], *ka, *detail;
	uint8_t md[32];
	struct fakeca_fault *f = fault_take(ca, FEP_ANY, "", true);

	snprintf(name, sizeof(name), "_acme-challenge.%s", a->ident);
	/* RFC 8555 §8.1/§8.4: the digest of the key authorization, computed
	 * here from the account's current key */
	ka = xasprintf("%s.%s", a->token, ca->acc[a->account].thumb);
	SHA256((const unsigned char *)ka, strlen(ka), md);
	free(ka);
	ad_b64url_encode(md, sizeof(md), want);

	if (f) {
		cJSON *sub = cJSON_CreateArray(), *sp, *id;
		detail = xasprintf("%s for %s",
				   f->detail ? f->detail
					     : "fake CA refused the TXT record",
				   name);
		a->error = problem_json(f->type ? f->type : "incorrectResponse",
					detail, 403);
		free(detail);
		sp = problem_json("dns", "SERVFAIL looking up TXT", 0);
		id = cJSON_CreateObject();
		cJSON_AddStringToObject(id, "type", "dns");
		cJSON_AddStringToObject(id, "value", a->ident);
		cJSON_AddItemToObject(sp, "identifier", id);
		cJSON_AddItemToArray(sub, sp);
		cJSON_AddItemToObject(a->error, "subproblems", sub);
	} else if (!ca->dns || !ca->dns(ca->arg, name, want)) {
		detail = xasprintf("No TXT record with the expected value "
				   "found at %s",
				   name);
		a->error = problem_json("incorrectResponse", detail, 403);
		free(detail);
	}
	a->chall = a->error ? S_INVALID : S_VALID;
	a->status = a->chall;
	a->validated = (int64_t)(now_ms(ca) / 1000);
}

static unsigned
count_open(const struct fakeca *ca)
{
	unsigned n = 0;
	for (size_t i = 0; i < ca->nord; i++)
		if (ca->ord[i].status != S_INVALID && !ca->ord[i].downloaded)
			n++;
	return n;
}

static void
advance(struct fakeca *ca)
{
	uint64_t now = now_ms(ca);
	for (size_t i = 0; i < ca->naz; i++) {
		struct ca_authz *a = &ca->az[i];
		if (a->chall == S_PROCESSING && now >= a->validate_at)
			validate(ca, a);
		if ((a->status == S_PENDING) && now >= a->expires_ms) {
			a->status = S_EXPIRED;
			if (a->chall == S_PENDING || a->chall == S_PROCESSING)
				a->chall = S_INVALID;
		}
	}
	for (size_t i = 0; i < ca->nord; i++) {
		struct ca_order *o = &ca->ord[i];
		if (o->status == S_PENDING) {
			bool all = true, bad = false;
			for (size_t j = 0; j < o->nauthz; j++) {
				enum st s = ca->az[o->authz[j]].status;
				all = all && s == S_VALID;
				bad = bad || (s != S_VALID && s != S_PENDING);
			}
			/* RFC 8555 §7.1.6: an order whose authorizations
			 * fail or expire becomes invalid */
			if (bad || now >= o->expires_ms)
				o->status = S_INVALID;
			else if (all)
				o->status = S_READY;
		} else if (o->status == S_READY && now >= o->expires_ms) {
			o->status = S_INVALID;
		} else if (o->status == S_PROCESSING &&
			   now >= o->processing_until) {
			o->status = S_VALID;
		}
	}
}

/* ---- JSON views --------------------------------------------------------- */

static char *
url_of(const char *kind, unsigned i)
{
	return xasprintf(FAKECA_BASE "/%s/%u", kind, i);
}

static void
add_url(cJSON *o, const char *key, const char *kind, unsigned i)
{
	char *u = url_of(kind, i);
	cJSON_AddStringToObject(o, key, u);
	free(u);
}

static cJSON *
account_json(const struct fakeca *ca, unsigned i)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", ca->acc[i].status);
	if (ca->acc[i].contact)
		cJSON_AddItemToObject(o, "contact",
				      cJSON_Duplicate(ca->acc[i].contact, 1));
	add_url(o, "orders", "orders", i);
	return o;
}

static cJSON *
chall_json(const struct fakeca *ca, unsigned i, bool http)
{
	const struct ca_authz *a = &ca->az[i];
	cJSON *c = cJSON_CreateObject();
	char t[40];
	cJSON_AddStringToObject(c, "type", http ? "http-01" : "dns-01");
	add_url(c, "url", http ? "chall-http" : "chall", i);
	cJSON_AddStringToObject(c, "token", http ? a->http_token : a->token);
	cJSON_AddStringToObject(c, "status",
				st_names[http ? S_PENDING : a->chall]);
	if (!http && a->chall == S_VALID) {
		fmt_time(a->validated, t, sizeof(t));
		cJSON_AddStringToObject(c, "validated", t);
	}
	if (!http && a->error)
		cJSON_AddItemToObject(c, "error", cJSON_Duplicate(a->error, 1));
	return c;
}

static cJSON *
authz_json(const struct fakeca *ca, unsigned i)
{
	const struct ca_authz *a = &ca->az[i];
	cJSON *o = cJSON_CreateObject(), *id = cJSON_CreateObject();
	cJSON *ch = cJSON_CreateArray();
	char t[40];
	cJSON_AddStringToObject(id, "type", "dns");
	cJSON_AddStringToObject(id, "value", a->ident);
	cJSON_AddItemToObject(o, "identifier", id);
	cJSON_AddStringToObject(o, "status", st_names[a->status]);
	fmt_time((int64_t)(a->expires_ms / 1000), t, sizeof(t));
	cJSON_AddStringToObject(o, "expires", t);
	if (a->wildcard)
		cJSON_AddTrueToObject(o, "wildcard");
	/* http-01 first, so an engine that takes challenges[0] fails */
	if (ca->cfg.offer_http01 && !a->wildcard)
		cJSON_AddItemToArray(ch, chall_json(ca, i, true));
	cJSON_AddItemToArray(ch, chall_json(ca, i, false));
	cJSON_AddItemToObject(o, "challenges", ch);
	return o;
}

static cJSON *
order_json(const struct fakeca *ca, unsigned i)
{
	const struct ca_order *o = &ca->ord[i];
	cJSON *j = cJSON_CreateObject(), *ids = cJSON_CreateArray();
	cJSON *az = cJSON_CreateArray();
	char t[40];
	cJSON_AddStringToObject(j, "status", st_names[o->status]);
	fmt_time((int64_t)(o->expires_ms / 1000), t, sizeof(t));
	cJSON_AddStringToObject(j, "expires", t);
	for (size_t k = 0; k < o->nnames; k++) {
		cJSON *id = cJSON_CreateObject();
		cJSON_AddStringToObject(id, "type", "dns");
		cJSON_AddStringToObject(id, "value", o->names[k]);
		cJSON_AddItemToArray(ids, id);
	}
	cJSON_AddItemToObject(j, "identifiers", ids);
	for (size_t k = 0; k < o->nauthz; k++) {
		char *u = url_of("authz", o->authz[k]);
		cJSON_AddItemToArray(az, cJSON_CreateString(u));
		free(u);
	}
	cJSON_AddItemToObject(j, "authorizations", az);
	add_url(j, "finalize", "finalize", i);
	if (o->status == S_VALID && o->cert >= 0)
		add_url(j, "certificate", "cert", (unsigned)o->cert);
	if (o->profile)
		cJSON_AddStringToObject(j, "profile", o->profile);
	if (o->replaces)
		cJSON_AddStringToObject(j, "replaces", o->replaces);
	return j;
}

/* ---- request handling --------------------------------------------------- */

struct jws_in {
	char *hdr, *payload; /* decoded texts */
	cJSON *hj, *pj;      /* parsed (pj NULL for "" payload) */
	int acct;            /* kid account, -1 for jwk */
	EVP_PKEY *jwk_key;   /* key built from the jwk header, or NULL */
	char *nonce_out;
};

static void
jws_in_free(struct jws_in *j)
{
	free(j->hdr);
	free(j->payload);
	cJSON_Delete(j->hj);
	cJSON_Delete(j->pj);
	EVP_PKEY_free(j->jwk_key);
}

/* Decode the "protected" member without verifying (to pick the key). */
static cJSON *
peek_protected(const char *body, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(body, len), *h = NULL;
	const char *p = j ? jstr(j, "protected") : NULL;
	uint8_t *dec;
	size_t n;
	if (p && jstr(j, "payload") && jstr(j, "signature") &&
	    (dec = b64_dec(p, &n)) != NULL) {
		h = cJSON_ParseWithLength((const char *)dec, n);
		free(dec);
		if (h && !cJSON_IsObject(h)) {
			cJSON_Delete(h);
			h = NULL;
		}
	}
	cJSON_Delete(j);
	return h;
}

static int
find_account_by_thumb(const struct fakeca *ca, const char *thumb)
{
	for (size_t i = 0; i < ca->nacc; i++)
		if (!strcmp(ca->acc[i].thumb, thumb))
			return (int)i;
	return -1;
}

static int
parse_idx(const char *path, const char *prefix, unsigned *out)
{
	size_t n = strlen(prefix);
	int used = 0;
	if (strncmp(path, prefix, n) || path[n] < '0' || path[n] > '9')
		return -1;
	if (sscanf(path + n, "%u%n", out, &used) != 1 || path[n + used])
		return -1;
	return 0;
}

static enum fakeca_ep
route(const struct fakeca *ca, const char *url, unsigned *idx,
      const char **rest)
{
	size_t bl = strlen(FAKECA_BASE);
	const char *p;
	*rest = NULL;
	if (strncmp(url, FAKECA_BASE, bl))
		return FEP_UNKNOWN;
	p = url + bl;
	if (!strcmp(p, "/dir"))
		return FEP_DIR;
	if (!strcmp(p, "/nonce"))
		return FEP_NONCE;
	if (!strcmp(p, "/new-acct"))
		return FEP_NEWACCT;
	if (!strcmp(p, "/new-order"))
		return FEP_NEWORDER;
	if (!strcmp(p, "/key-change"))
		return FEP_KEYCHANGE;
	if (!strcmp(p, "/revoke"))
		return FEP_REVOKE;
	if (!strncmp(p, "/renewal-info/", 14)) {
		*rest = p + 14;
		return ca->cfg.ari ? FEP_RENEWAL : FEP_UNKNOWN;
	}
	if (!parse_idx(p, "/acct/", idx))
		return FEP_ACCT;
	if (!parse_idx(p, "/order/", idx))
		return FEP_ORDER;
	if (!parse_idx(p, "/authz/", idx))
		return FEP_AUTHZ;
	if (!parse_idx(p, "/chall/", idx))
		return FEP_CHALL;
	if (!parse_idx(p, "/finalize/", idx))
		return FEP_FINALIZE;
	if (!parse_idx(p, "/cert/", idx)) {
		return FEP_CERT;
	}
	if (!strncmp(p, "/cert/", 6)) {
		/* "/cert/N/alt" */
		int used = 0;
		if (sscanf(p + 6, "%u/alt%n", idx, &used) == 1 && used &&
		    !p[6 + used]) {
			*rest = "alt";
			return FEP_CERT;
		}
	}
	return FEP_UNKNOWN;
}

/*
 * RFC 8555 §6.2-§6.5: parse and check the JWS of a POST. Returns 0, or
 * fills out with the error response and returns -1.
 */
static int
check_jws(struct fakeca *ca, const struct acme_http_req *req, enum fakeca_ep ep,
	  struct jws_in *j, struct fakeca_req *lg, struct fakeca_resp *out)
{
	cJSON *h;
	const char *kid, *url, *nonce, *alg;
	const cJSON *jwk;
	EVP_PKEY *key;
	int r;

	memset(j, 0, sizeof(*j));
	j->acct = -1;
	if (!req->content_type ||
	    strcmp(req->content_type, "application/jose+json")) {
		set_problem(ca, out, 415, "malformed",
			    "Content-Type must be application/jose+json");
		return -1;
	}
	if (!req->body || req->body_len == 0 || req->body_len > CA_MAX_BODY ||
	    !(h = peek_protected(req->body, req->body_len))) {
		set_problem(ca, out, 400, "malformed", "not a flattened JWS");
		return -1;
	}
	j->hj = h;
	kid = jstr(h, "kid");
	url = jstr(h, "url");
	nonce = jstr(h, "nonce");
	alg = jstr(h, "alg");
	jwk = cJSON_GetObjectItemCaseSensitive(h, "jwk");
	if (kid)
		lg->kid = xstrdup(kid);
	/* §6.4: the url header must be the request URL */
	if (!url || strcmp(url, req->url)) {
		set_problem(ca, out, 401, "unauthorized",
			    "JWS url header does not match the request URL");
		return -1;
	}
	/* §6.5: an unused nonce we issued */
	if (!nonce || !take_nonce(ca, nonce)) {
		set_problem(ca, out, 400, "badNonce",
			    "JWS has an invalid "
			    "anti-replay nonce");
		return -1;
	}
	if (ca->cfg.badnonce_next > 0 ||
	    (ca->cfg.badnonce_pct && rnd(ca) % 100 < ca->cfg.badnonce_pct)) {
		if (ca->cfg.badnonce_next > 0)
			ca->cfg.badnonce_next--;
		set_problem(ca, out, 400, "badNonce",
			    "JWS has an invalid anti-replay nonce (injected)");
		return -1;
	}
	/* §6.2: jwk for newAccount (and revokeCert by certificate key),
	 * kid for everything else, never both */
	if ((kid != NULL) == (jwk != NULL) || (ep == FEP_NEWACCT && !jwk) ||
	    (ep != FEP_NEWACCT && !kid)) {
		set_problem(ca, out, 400, "malformed",
			    "wrong choice of jwk/kid for this resource");
		return -1;
	}
	if (kid) {
		unsigned ai;
		const char *p = kid;
		if (strncmp(p, FAKECA_BASE "/acct/", strlen(FAKECA_BASE) + 6) ||
		    parse_idx(p + strlen(FAKECA_BASE), "/acct/", &ai) ||
		    ai >= ca->nacc) {
			set_problem(ca, out, 400, "accountDoesNotExist",
				    "unknown kid");
			return -1;
		}
		if (strcmp(ca->acc[ai].status, "valid")) {
			set_problem(ca, out, 401, "unauthorized",
				    "account is not valid");
			return -1;
		}
		j->acct = (int)ai;
		key = ca->acc[ai].key;
	} else {
		j->jwk_key = fakeca_jwk_to_pkey(jwk);
		if (!j->jwk_key) {
			set_problem(ca, out, 400, "badPublicKey",
				    "unusable jwk");
			return -1;
		}
		key = j->jwk_key;
	}
	if (!alg || strcmp(alg, alg_of(key))) {
		set_problem(ca, out, 400, "badSignatureAlgorithm",
			    "alg does not fit the key");
		return -1;
	}
	r = acme_jws_verify(req->body, req->body_len, key, &j->hdr,
			    &j->payload);
	if (r < 0) {
		set_problem(ca, out, 400, "malformed",
			    "JWS signature does not verify");
		return -1;
	}
	if (kid)
		ad_strlcpy(lg->thumb, ca->acc[j->acct].thumb,
			   sizeof(lg->thumb));
	else
		fakeca_jwk_thumb(jwk, lg->thumb);
	lg->payload = xstrdup(j->payload);
	if (j->payload[0]) {
		j->pj = cJSON_Parse(j->payload);
		if (!cJSON_IsObject(j->pj)) {
			set_problem(ca, out, 400, "malformed",
				    "payload is not a JSON object");
			return -1;
		}
	}
	return 0;
}

/* RFC 8555 §7.3.4: HS256 over the account JWK, with our one EAB key. */
static const char *
check_eab(struct fakeca *ca, const cJSON *eab, const cJSON *jwk)
{
	const char *p = jstr(eab, "protected"), *pl = jstr(eab, "payload");
	const char *sig = jstr(eab, "signature");
	cJSON *h = NULL, *pj = NULL;
	uint8_t *dec, mac[32];
	unsigned maclen = 0;
	char want[AD_B64URL_LEN(32)], *signing;
	size_t n;
	const char *err = NULL;

	if (!p || !pl || !sig)
		return "externalAccountBinding is not a JWS";
	if ((dec = b64_dec(p, &n)) != NULL) {
		h = cJSON_ParseWithLength((const char *)dec, n);
		free(dec);
	}
	if ((dec = b64_dec(pl, &n)) != NULL) {
		pj = cJSON_ParseWithLength((const char *)dec, n);
		free(dec);
	}
	if (!h || !pj) {
		err = "externalAccountBinding does not decode";
		goto out;
	}
	if (!jstr(h, "alg") || strcmp(jstr(h, "alg"), "HS256") ||
	    cJSON_GetObjectItemCaseSensitive(h, "nonce")) {
		err = "externalAccountBinding must be HS256 without nonce";
		goto out;
	}
	if (!jstr(h, "url") ||
	    strcmp(jstr(h, "url"), FAKECA_BASE "/new-acct")) {
		err = "externalAccountBinding url is not newAccount";
		goto out;
	}
	if (!ca->cfg.eab_kid || !jstr(h, "kid") ||
	    strcmp(jstr(h, "kid"), ca->cfg.eab_kid)) {
		err = "unknown external account key id";
		goto out;
	}
	if (!cJSON_Compare(pj, jwk, 1)) {
		err = "externalAccountBinding payload is not the account key";
		goto out;
	}
	signing = xasprintf("%s.%s", p, pl);
	HMAC(EVP_sha256(), ca->cfg.eab_key, (int)ca->cfg.eab_key_len,
	     (const unsigned char *)signing, strlen(signing), mac, &maclen);
	free(signing);
	ad_b64url_encode(mac, maclen, want);
	if (strlen(sig) != strlen(want) ||
	    !ad_ct_equal(sig, want, strlen(want)))
		err = "external account binding MAC does not verify";
out:
	cJSON_Delete(h);
	cJSON_Delete(pj);
	return err;
}

static void
h_newacct(struct fakeca *ca, struct jws_in *j, struct fakeca_resp *out)
{
	const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(j->hj, "jwk");
	char thumb[ACME_THUMB_LEN + 1];
	const cJSON *p = j->pj, *c, *eab;
	struct ca_account *a;
	int ai;

	if (!p) {
		set_problem(ca, out, 400, "malformed", "empty newAccount");
		return;
	}
	fakeca_jwk_thumb(jwk, thumb);
	ai = find_account_by_thumb(ca, thumb);
	if (ai >= 0) {
		/* §7.3.1: a known key gets its account back, 200 */
		if (strcmp(ca->acc[ai].status, "valid")) {
			set_problem(ca, out, 401, "unauthorized",
				    "account deactivated");
			return;
		}
		set_json(out, 200, account_json(ca, (unsigned)ai));
		out->location = url_of("acct", (unsigned)ai);
		return;
	}
	if (cJSON_IsTrue(
		cJSON_GetObjectItemCaseSensitive(p, "onlyReturnExisting"))) {
		set_problem(ca, out, 400, "accountDoesNotExist",
			    "no account for this key");
		return;
	}
	if (!cJSON_IsTrue(
		cJSON_GetObjectItemCaseSensitive(p, "termsOfServiceAgreed"))) {
		set_problem(ca, out, 403, "userActionRequired",
			    "terms of service must be agreed");
		return;
	}
	c = cJSON_GetObjectItemCaseSensitive(p, "contact");
	if (c) {
		const cJSON *it;
		if (!cJSON_IsArray(c)) {
			set_problem(ca, out, 400, "invalidContact",
				    "contact is not an array");
			return;
		}
		cJSON_ArrayForEach(it, c)
		{
			if (!cJSON_IsString(it) ||
			    strncmp(it->valuestring, "mailto:", 7)) {
				set_problem(ca, out, 400, "unsupportedContact",
					    "only mailto: contacts");
				return;
			}
		}
	}
	eab = cJSON_GetObjectItemCaseSensitive(p, "externalAccountBinding");
	if (ca->cfg.eab_required && !eab) {
		set_problem(ca, out, 400, "externalAccountRequired",
			    "this CA requires an external account binding");
		return;
	}
	if (eab) {
		const char *err = check_eab(ca, eab, jwk);
		if (err) {
			set_problem(ca, out, 401, "unauthorized", err);
			return;
		}
	}
	ca->acc = xreallocarray(ca->acc, ca->nacc + 1, sizeof(*ca->acc));
	a = &ca->acc[ca->nacc];
	memset(a, 0, sizeof(*a));
	a->key = j->jwk_key;
	j->jwk_key = NULL;
	a->jwk = cJSON_Duplicate(jwk, 1);
	a->contact = c ? cJSON_Duplicate(c, 1) : NULL;
	ad_strlcpy(a->thumb, thumb, sizeof(a->thumb));
	ad_strlcpy(a->status, "valid", sizeof(a->status));
	if (eab)
		ad_strlcpy(a->eab, ca->cfg.eab_kid, sizeof(a->eab));
	set_json(out, 201, account_json(ca, (unsigned)ca->nacc));
	out->location = url_of("acct", (unsigned)ca->nacc);
	ca->nacc++;
}

static void
h_acct(struct fakeca *ca, unsigned idx, struct jws_in *j,
       struct fakeca_resp *out)
{
	const cJSON *st, *c;
	if (idx != (unsigned)j->acct) {
		set_problem(ca, out, 403, "unauthorized", "not your account");
		return;
	}
	if (j->pj) {
		st = cJSON_GetObjectItemCaseSensitive(j->pj, "status");
		c = cJSON_GetObjectItemCaseSensitive(j->pj, "contact");
		if (st) {
			/* §7.3.6: the only status a client may set */
			if (!cJSON_IsString(st) ||
			    strcmp(st->valuestring, "deactivated")) {
				set_problem(ca, out, 400, "malformed",
					    "bad account status");
				return;
			}
			ad_strlcpy(ca->acc[idx].status, "deactivated",
				   sizeof(ca->acc[idx].status));
		}
		if (c) {
			if (!cJSON_IsArray(c)) {
				set_problem(ca, out, 400, "invalidContact",
					    "contact is not an array");
				return;
			}
			cJSON_Delete(ca->acc[idx].contact);
			ca->acc[idx].contact = cJSON_Duplicate(c, 1);
		}
	}
	set_json(out, 200, account_json(ca, idx));
}

static bool
good_dns_name(const char *s)
{
	size_t n = strlen(s);
	if (!strncmp(s, "*.", 2))
		s += 2, n -= 2;
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.'))
			return false;
	return true;
}

static bool
has_profile(const struct fakeca *ca, const char *name)
{
	for (size_t i = 0; i < ca->cfg.nprofiles; i++)
		if (!strcmp(ca->cfg.profiles[i].name, name))
			return true;
	return false;
}

static void
h_neworder(struct fakeca *ca, struct jws_in *j, struct fakeca_resp *out)
{
	const cJSON *ids =
	    j->pj ? cJSON_GetObjectItemCaseSensitive(j->pj, "identifiers")
		  : NULL;
	const cJSON *prof, *rep, *it;
	struct fakeca_cert *replaced = NULL;
	struct ca_order o;
	uint64_t now = now_ms(ca);

	if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) < 1 ||
	    cJSON_GetArraySize(ids) > ACME_MAX_NAMES) {
		set_problem(ca, out, 400, "malformed", "bad identifiers");
		return;
	}
	prof = cJSON_GetObjectItemCaseSensitive(j->pj, "profile");
	if (prof && (!cJSON_IsString(prof) || !ca->cfg.nprofiles ||
		     !has_profile(ca, prof->valuestring))) {
		set_problem(ca, out, 400, "invalidProfile",
			    ca->cfg.nprofiles ? "unknown profile"
					      : "this CA has no profiles");
		return;
	}
	rep = cJSON_GetObjectItemCaseSensitive(j->pj, "replaces");
	if (rep) {
		struct fakeca_cert *c = NULL;
		for (size_t i = 0; cJSON_IsString(rep) && i < ca->ncerts; i++)
			if (!strcmp(ca->certs[i].ari_id, rep->valuestring))
				c = &ca->certs[i];
		/* RFC 9773 §5 */
		if (!c || c->account != (unsigned)j->acct) {
			set_problem(ca, out, 400, "malformed",
				    "replaces names no certificate of yours");
			return;
		}
		if (c->replaced) {
			set_problem(ca, out, 409, "alreadyReplaced",
				    "certificate already replaced");
			return;
		}
		replaced = c; /* marked once the order exists */
	}
	memset(&o, 0, sizeof(o));
	o.account = (unsigned)j->acct;
	o.status = S_PENDING;
	o.expires_ms = now + (uint64_t)ca->cfg.order_lifetime_s * 1000;
	o.cert = -1;
	o.names = xcalloc((size_t)cJSON_GetArraySize(ids), sizeof(char *));
	o.authz = xcalloc((size_t)cJSON_GetArraySize(ids), sizeof(unsigned));
	cJSON_ArrayForEach(it, ids)
	{
		const char *t = jstr(it, "type"), *v = jstr(it, "value");
		struct ca_authz *a;
		if (!t || !v || strcmp(t, "dns") || !good_dns_name(v)) {
			set_problem(ca, out, 400, "rejectedIdentifier",
				    "identifier not acceptable");
			goto fail;
		}
		for (size_t k = 0; k < o.nnames; k++)
			if (!strcmp(o.names[k], v)) {
				set_problem(ca, out, 400, "malformed",
					    "duplicate identifier");
				goto fail;
			}
		o.names[o.nnames++] = xstrdup(v);
		if (ca->cfg.authz_reuse) {
			/* like Let's Encrypt: a valid authorization of the
			 * account for the same identifier is reused */
			size_t k;
			for (k = 0; k < ca->naz; k++) {
				const struct ca_authz *z = &ca->az[k];
				if (z->account == o.account &&
				    z->status == S_VALID &&
				    z->wildcard == !strncmp(v, "*.", 2) &&
				    !strcmp(z->ident,
					    z->wildcard ? v + 2 : v) &&
				    z->expires_ms > now)
					break;
			}
			if (k < ca->naz) {
				o.authz[o.nauthz++] = (unsigned)k;
				continue;
			}
		}
		ca->az = xreallocarray(ca->az, ca->naz + 1, sizeof(*ca->az));
		a = &ca->az[ca->naz];
		memset(a, 0, sizeof(*a));
		a->wildcard = !strncmp(v, "*.", 2);
		ad_strlcpy(a->ident, a->wildcard ? v + 2 : v, sizeof(a->ident));
		a->status = S_PENDING;
		a->chall = S_PENDING;
		a->expires_ms = o.expires_ms;
		a->account = o.account;
		random_token(ca, a->token);
		random_token(ca, a->http_token);
		o.authz[o.nauthz++] = (unsigned)ca->naz++;
	}
	if (prof)
		o.profile = xstrdup(prof->valuestring);
	if (rep) {
		o.replaces = xstrdup(rep->valuestring);
		replaced->replaced = true;
	}
	ca->ord = xreallocarray(ca->ord, ca->nord + 1, sizeof(*ca->ord));
	ca->ord[ca->nord] = o;
	advance(ca); /* all authorizations reused: "ready" at once */
	set_json(out, 201, order_json(ca, (unsigned)ca->nord));
	out->location = url_of("order", (unsigned)ca->nord);
	ca->nord++;
	return;
fail:
	for (size_t k = 0; k < o.nnames; k++)
		free(o.names[k]);
	free(o.names);
	free(o.authz);
}

static void
retry_after(struct fakeca_resp *out, unsigned s)
{
	if (s)
		out->retry_after = xasprintf("%u", s);
}

static void
h_order(struct fakeca *ca, unsigned idx, struct jws_in *j,
	struct fakeca_resp *out)
{
	if (idx >= ca->nord || idx < ca->cfg.forget_below) {
		set_problem(ca, out, 404, "malformed", "no such order");
		return;
	}
	if (ca->ord[idx].account != (unsigned)j->acct) {
		set_problem(ca, out, 403, "unauthorized", "not your order");
		return;
	}
	set_json(out, 200, order_json(ca, idx));
	if (ca->ord[idx].status == S_PROCESSING)
		retry_after(out, ca->cfg.processing_retry_after_s);
}

static void
h_authz(struct fakeca *ca, unsigned idx, struct jws_in *j,
	struct fakeca_resp *out)
{
	if (idx >= ca->naz) {
		set_problem(ca, out, 404, "malformed", "no such authorization");
		return;
	}
	if (ca->az[idx].account != (unsigned)j->acct) {
		set_problem(ca, out, 403, "unauthorized", "not yours");
		return;
	}
	if (j->pj) {
		/* §7.5.2: deactivation */
		const char *s = jstr(j->pj, "status");
		if (!s || strcmp(s, "deactivated")) {
			set_problem(ca, out, 400, "malformed",
				    "bad authorization update");
			return;
		}
		ca->az[idx].status = S_DEACTIVATED;
	}
	set_json(out, 200, authz_json(ca, idx));
	if (ca->az[idx].status == S_PENDING)
		retry_after(out, ca->cfg.authz_retry_after_s);
}

static void
h_chall(struct fakeca *ca, unsigned idx, struct jws_in *j,
	struct fakeca_resp *out)
{
	struct ca_authz *a;
	char *up;
	if (idx >= ca->naz) {
		set_problem(ca, out, 404, "malformed", "no such challenge");
		return;
	}
	a = &ca->az[idx];
	if (a->account != (unsigned)j->acct) {
		set_problem(ca, out, 403, "unauthorized", "not yours");
		return;
	}
	if (j->pj) {
		/* §7.5.1: the client says it is ready with "{}" */
		if (cJSON_GetArraySize(j->pj) != 0) {
			set_problem(ca, out, 400, "malformed",
				    "challenge response must be {}");
			return;
		}
		/* a repeated answer to a finished authorization: Pebble
		 * refuses it, Boulder shows the challenge as it is */
		if (a->status != S_PENDING && ca->cfg.strict_chall_post) {
			set_problem(ca, out, 400, "malformed",
				    "authorization is not pending");
			return;
		}
		if (a->chall == S_PENDING) {
			a->chall = S_PROCESSING;
			a->validate_at = now_ms(ca) + ca->cfg.validation_ms;
			if (fault_take(ca, FEP_CHALL, "", true))
				a->validate_at = UINT64_MAX;
		}
	}
	set_json(out, 200, chall_json(ca, idx, false));
	up = url_of("authz", idx);
	add_link(out, up, "up");
	free(up);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
h_finalize(struct fakeca *ca, unsigned idx, struct jws_in *j,
	   struct fakeca_resp *out)
{
	struct ca_order *o;
	const char *csr;
	uint8_t *der = NULL, *der2 = NULL;
	size_t n = 0, der2_len = 0, nn = 0;
	const unsigned char *p;
	X509_REQ *req = NULL;
	BIO *b = NULL;
	char *pem, **names = NULL;
	EVP_PKEY *pub = NULL;
	long pl;
	bool same = true;

	if (idx >= ca->nord || idx < ca->cfg.forget_below) {
		set_problem(ca, out, 404, "malformed", "no such order");
		return;
	}
	o = &ca->ord[idx];
	if (o->account != (unsigned)j->acct) {
		set_problem(ca, out, 403, "unauthorized", "not your order");
		return;
	}
	if (o->status != S_READY) {
		set_problem(ca, out, 403, "orderNotReady",
			    "order is not ready");
		return;
	}
	csr = j->pj ? jstr(j->pj, "csr") : NULL;
	if (!csr || !(der = b64_dec(csr, &n)) || n > 16384) {
		set_problem(ca, out, 400, "badCSR", "csr is not base64url");
		goto out;
	}
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)n);
	if (!req || p != der + n) {
		set_problem(ca, out, 400, "badCSR", "csr is not DER");
		goto out;
	}
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509_REQ(b, req);
	pl = BIO_get_mem_data(b, &pem);
	if (acme_csr_parse(pem, (size_t)pl, &names, &nn, &der2, &der2_len,
			   &pub) < 0) {
		set_problem(ca, out, 400, "badCSR", "csr does not parse");
		goto out;
	}
	/* §7.4: the CSR must name exactly the order's identifiers */
	if (nn != o->nnames) {
		same = false;
	} else {
		char **a = xcalloc(nn, sizeof(char *));
		char **bb = xcalloc(nn, sizeof(char *));
		for (size_t i = 0; i < nn; i++) {
			a[i] = names[i];
			bb[i] = o->names[i];
		}
		qsort(a, nn, sizeof(char *), cmp_str);
		qsort(bb, nn, sizeof(char *), cmp_str);
		for (size_t i = 0; i < nn; i++)
			same = same && !strcmp(a[i], bb[i]);
		free(a);
		free(bb);
	}
	if (!same) {
		set_problem(ca, out, 400, "badCSR",
			    "CSR names differ from the order's");
		goto out;
	}
	if (EVP_PKEY_eq(pub, ca->acc[o->account].key) == 1) {
		set_problem(ca, out, 400, "badCSR",
			    "certificate key must not be the account key");
		goto out;
	}
	issue(ca, idx, pub);
	if (ca->cfg.processing_ms) {
		o->status = S_PROCESSING;
		o->processing_until = now_ms(ca) + ca->cfg.processing_ms;
	} else {
		o->status = S_VALID;
	}
	set_json(out, 200, order_json(ca, idx));
	out->location = url_of("order", idx);
	if (o->status == S_PROCESSING)
		retry_after(out, ca->cfg.processing_retry_after_s);
out:
	free(der);
	free(der2);
	acme_names_free(names);
	EVP_PKEY_free(pub);
	X509_REQ_free(req);
	BIO_free(b);
}

static void
h_cert(struct fakeca *ca, unsigned idx, const char *rest, struct jws_in *j,
       struct fakeca_resp *out)
{
	struct fakeca_cert *c;
	char *u;
	bool alt = rest != NULL;
	if (idx >= ca->ncerts) {
		set_problem(ca, out, 404, "malformed", "no such certificate");
		return;
	}
	c = &ca->certs[idx];
	if (c->account != (unsigned)j->acct) {
		set_problem(ca, out, 403, "unauthorized", "not yours");
		return;
	}
	if (alt && !ca->cfg.alt_chain) {
		set_problem(ca, out, 404, "malformed", "no alternate chain");
		return;
	}
	out->status = 200;
	out->body = xstrdup(alt ? c->alt_pem : c->pem);
	out->body_len = strlen(out->body);
	out->content_type = xstrdup("application/pem-certificate-chain");
	/* §7.4.2: the other chain(s) by rel="alternate" */
	if (ca->cfg.alt_chain) {
		u = alt ? url_of("cert", idx)
			: xasprintf(FAKECA_BASE "/cert/%u/alt", idx);
		add_link(out, u, "alternate");
		free(u);
	}
	add_link(out, FAKECA_BASE "/issuer/1", "up");
	ca->ord[c->order].downloaded = true;
}

static void
h_renewal(struct fakeca *ca, const char *id, struct fakeca_resp *out)
{
	const struct fakeca_cert *c = fakeca_cert_by_ari(ca, id);
	cJSON *o, *w;
	char t[40];
	int64_t s, e;
	if (!c) {
		set_problem(ca, out, 404, "malformed", "unknown certificate");
		return;
	}
	if (ca->cfg.ari_abs_start) {
		s = ca->cfg.ari_abs_start;
		e = ca->cfg.ari_abs_end;
	} else {
		s = c->not_before + ca->cfg.ari_start_off;
		e = c->not_before + ca->cfg.ari_end_off;
	}
	o = cJSON_CreateObject();
	w = cJSON_CreateObject();
	fmt_time(s, t, sizeof(t));
	cJSON_AddStringToObject(w, "start", t);
	fmt_time(e, t, sizeof(t));
	cJSON_AddStringToObject(w, "end", t);
	cJSON_AddItemToObject(o, "suggestedWindow", w);
	cJSON_AddStringToObject(o, "explanationURL",
				FAKECA_BASE "/docs/renewal");
	set_json(out, 200, o);
	retry_after(out, ca->cfg.ari_retry_after_s);
}

static void
h_keychange(struct fakeca *ca, struct jws_in *j, const char *url,
	    struct fakeca_resp *out)
{
	struct ca_account *a = &ca->acc[j->acct];
	cJSON *ih = NULL, *ip = NULL;
	const cJSON *jwk, *old;
	EVP_PKEY *nk = NULL;
	char *hdr = NULL, *pl = NULL, thumb[ACME_THUMB_LEN + 1];
	const char *acct;
	char *kid = url_of("acct", (unsigned)j->acct);
	int other;

	/* §7.3.5: the payload is a JWS signed by the new key */
	if (!j->payload[0] ||
	    !(ih = peek_protected(j->payload, strlen(j->payload)))) {
		set_problem(ca, out, 400, "malformed", "inner JWS missing");
		goto out;
	}
	jwk = cJSON_GetObjectItemCaseSensitive(ih, "jwk");
	if (!jwk || cJSON_GetObjectItemCaseSensitive(ih, "kid") ||
	    cJSON_GetObjectItemCaseSensitive(ih, "nonce") || !jstr(ih, "url") ||
	    strcmp(jstr(ih, "url"), url)) {
		set_problem(ca, out, 400, "malformed",
			    "inner JWS header must have jwk and url, no nonce");
		goto out;
	}
	if (!(nk = fakeca_jwk_to_pkey(jwk)) ||
	    acme_jws_verify(j->payload, strlen(j->payload), nk, &hdr, &pl) <
		0 ||
	    !(ip = cJSON_Parse(pl))) {
		set_problem(ca, out, 400, "malformed",
			    "inner JWS does not verify");
		goto out;
	}
	acct = jstr(ip, "account");
	old = cJSON_GetObjectItemCaseSensitive(ip, "oldKey");
	if (!acct || strcmp(acct, kid) || !old ||
	    !cJSON_Compare(old, a->jwk, 1)) {
		set_problem(ca, out, 400, "malformed",
			    "inner payload account/oldKey mismatch");
		goto out;
	}
	fakeca_jwk_thumb(jwk, thumb);
	other = find_account_by_thumb(ca, thumb);
	if (other >= 0) {
		set_problem(ca, out, 409, "malformed",
			    "new key already in use");
		out->location = url_of("acct", (unsigned)other);
		goto out;
	}
	EVP_PKEY_free(a->key);
	cJSON_Delete(a->jwk);
	a->key = nk;
	nk = NULL;
	a->jwk = cJSON_Duplicate(jwk, 1);
	ad_strlcpy(a->thumb, thumb, sizeof(a->thumb));
	set_json(out, 200, account_json(ca, (unsigned)j->acct));
out:
	cJSON_Delete(ih);
	cJSON_Delete(ip);
	EVP_PKEY_free(nk);
	free(hdr);
	free(pl);
	free(kid);
}

static void
h_revoke(struct fakeca *ca, struct jws_in *j, struct fakeca_resp *out)
{
	const char *cs = j->pj ? jstr(j->pj, "certificate") : NULL;
	const cJSON *rj =
	    j->pj ? cJSON_GetObjectItemCaseSensitive(j->pj, "reason") : NULL;
	uint8_t *der = NULL;
	size_t n;
	const unsigned char *p;
	X509 *x = NULL;
	struct fakeca_cert *c = NULL;
	int reason = 0;

	if (!cs || !(der = b64_dec(cs, &n))) {
		set_problem(ca, out, 400, "malformed", "certificate missing");
		goto out;
	}
	p = der;
	if (!(x = d2i_X509(NULL, &p, (long)n)) || p != der + n) {
		set_problem(ca, out, 400, "malformed", "certificate not DER");
		goto out;
	}
	for (size_t i = 0; i < ca->ncerts; i++) {
		X509 *y;
		char *pem = ca->certs[i].pem;
		BIO *b = BIO_new_mem_buf(pem, -1);
		y = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
		if (y && X509_cmp(x, y) == 0)
			c = &ca->certs[i];
		X509_free(y);
	}
	if (!c) {
		set_problem(ca, out, 404, "malformed", "unknown certificate");
		goto out;
	}
	if (c->account != (unsigned)j->acct) {
		set_problem(ca, out, 403, "unauthorized",
			    "certificate of another account");
		goto out;
	}
	if (rj) {
		/* RFC 5280 §5.3.1 codes; 7 is unused */
		if (!cJSON_IsNumber(rj) || rj->valuedouble < 0 ||
		    rj->valuedouble > 10 || rj->valueint == 7 ||
		    rj->valuedouble != (double)rj->valueint) {
			set_problem(ca, out, 400, "badRevocationReason",
				    "bad reason");
			goto out;
		}
		reason = rj->valueint;
	}
	if (c->revoked) {
		set_problem(ca, out, 400, "alreadyRevoked", "already revoked");
		goto out;
	}
	c->revoked = true;
	c->reason = reason;
	out->status = 200;
out:
	free(der);
	X509_free(x);
}

static cJSON *
directory_json(const struct fakeca *ca)
{
	cJSON *d = cJSON_CreateObject(), *m = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "newNonce", FAKECA_BASE "/nonce");
	cJSON_AddStringToObject(d, "newAccount", FAKECA_BASE "/new-acct");
	cJSON_AddStringToObject(d, "newOrder", FAKECA_BASE "/new-order");
	cJSON_AddStringToObject(d, "revokeCert", FAKECA_BASE "/revoke");
	cJSON_AddStringToObject(d, "keyChange", FAKECA_BASE "/key-change");
	if (ca->cfg.ari)
		cJSON_AddStringToObject(d, "renewalInfo",
					FAKECA_BASE "/renewal-info");
	cJSON_AddStringToObject(m, "termsOfService", FAKECA_BASE "/tos");
	cJSON_AddStringToObject(m, "website", "https://ca.test/");
	if (ca->cfg.eab_required)
		cJSON_AddTrueToObject(m, "externalAccountRequired");
	if (ca->cfg.nprofiles) {
		cJSON *p = cJSON_CreateObject();
		for (size_t i = 0; i < ca->cfg.nprofiles; i++)
			cJSON_AddStringToObject(p, ca->cfg.profiles[i].name,
						"a fake profile");
		cJSON_AddItemToObject(m, "profiles", p);
	}
	cJSON_AddItemToObject(d, "meta", m);
	return d;
}

/* Post-processing faults: garble what would have been answered. */
static void
garble(struct fakeca_resp *out, enum fakeca_fault_kind k)
{
	if (k == FK_TRUNCATE) {
		if (out->body_len > 1) {
			out->body_len /= 2;
			out->body[out->body_len] = 0;
		}
	} else if (k == FK_WRONG_TYPES) {
		cJSON *j = out->body
			       ? cJSON_ParseWithLength(out->body, out->body_len)
			       : NULL;
		cJSON *it;
		if (!j)
			return;
		/* every member changes its JSON type */
		cJSON_ArrayForEach(it, j)
		{
			cJSON *r;
			if (cJSON_IsString(it))
				r = cJSON_CreateNumber(42);
			else if (cJSON_IsArray(it))
				r = cJSON_CreateString("not-a-list");
			else if (cJSON_IsObject(it))
				r = cJSON_CreateArray();
			else
				r = cJSON_CreateString("x");
			cJSON_ReplaceItemViaPointer(j, it, r);
			it = r;
		}
		free(out->body);
		out->body = cJSON_PrintUnformatted(j);
		out->body_len = strlen(out->body);
		cJSON_Delete(j);
	} else if (k == FK_HUGE) {
		size_t n = 2u << 20;
		char *b = xmalloc(n + 1);
		memset(b, ' ', n);
		memcpy(b, "{\"pad\":\"", 8);
		memset(b + 8, 'A', n - 16);
		memcpy(b + n - 8, "\"}      ", 8);
		b[n] = 0;
		free(out->body);
		out->body = b;
		out->body_len = n;
	}
}

void
fakeca_handle(struct fakeca *ca, const struct acme_http_req *req,
	      struct fakeca_resp *out)
{
	struct fakeca_req *lg;
	struct fakeca_fault *f;
	struct jws_in j;
	unsigned idx = 0;
	const char *rest = NULL;
	enum fakeca_ep ep;
	bool post = !strcmp(req->method, "POST");

	memset(out, 0, sizeof(*out));
	memset(&j, 0, sizeof(j));
	advance(ca);
	ep = route(ca, req->url, &idx, &rest);
	ca->log = xreallocarray(ca->log, ca->nlog + 1, sizeof(*ca->log));
	lg = &ca->log[ca->nlog++];
	memset(lg, 0, sizeof(*lg));
	lg->t_ms = now_ms(ca);
	lg->ep = ep;
	ad_strlcpy(lg->method, req->method, sizeof(lg->method));
	lg->url = xstrdup(req->url);

	/* front-end faults: the request never reaches the CA proper */
	f = fault_take(ca, ep, req->method, false);
	if (f && f->kind == FK_TRANSPORT) {
		out->status = 0;
		out->error = xstrdup("Connection refused (injected)");
		goto done;
	}
	if (f && f->kind == FK_STATUS) {
		set_problem(ca, out, f->status,
			    f->type ? f->type : "serverInternal",
			    f->detail ? f->detail : "injected failure");
		retry_after(out, f->retry_after_s);
		goto done;
	}

	if (ep == FEP_DIR || ep == FEP_NONCE || ep == FEP_RENEWAL) {
		bool head = !strcmp(req->method, "HEAD");
		if (strcmp(req->method, "GET") && !(head && ep == FEP_NONCE)) {
			set_problem(ca, out, 405, "malformed",
				    "method not allowed");
		} else if (ep == FEP_DIR) {
			set_json(out, 200, directory_json(ca));
		} else if (ep == FEP_NONCE) {
			/* §7.2: HEAD 200, GET 204 */
			out->status = head ? 200 : 204;
			out->replay_nonce = new_nonce(ca);
		} else {
			h_renewal(ca, rest, out);
		}
		goto done;
	}
	if (ep == FEP_UNKNOWN) {
		set_problem(ca, out, 404, "malformed", "no such resource");
		goto done;
	}
	if (!post) {
		/* §6.3: everything else is POST(-as-GET) */
		set_problem(ca, out, 405, "malformed", "use POST-as-GET");
		goto done;
	}
	if (check_jws(ca, req, ep, &j, lg, out) < 0)
		goto done;
	switch (ep) {
	case FEP_NEWACCT:
		h_newacct(ca, &j, out);
		break;
	case FEP_ACCT:
		h_acct(ca, idx, &j, out);
		break;
	case FEP_NEWORDER:
		h_neworder(ca, &j, out);
		break;
	case FEP_ORDER:
		h_order(ca, idx, &j, out);
		break;
	case FEP_AUTHZ:
		h_authz(ca, idx, &j, out);
		break;
	case FEP_CHALL:
		h_chall(ca, idx, &j, out);
		break;
	case FEP_FINALIZE:
		h_finalize(ca, idx, &j, out);
		break;
	case FEP_CERT:
		h_cert(ca, idx, rest, &j, out);
		break;
	case FEP_KEYCHANGE:
		h_keychange(ca, &j, req->url, out);
		break;
	case FEP_REVOKE:
		h_revoke(ca, &j, out);
		break;
	default:
		set_problem(ca, out, 404, "malformed", "no such resource");
		break;
	}
	/* §6.5: every response to a POST carries a fresh nonce */
	if (!out->replay_nonce)
		out->replay_nonce = new_nonce(ca);
done:
	if (f && (f->kind == FK_TRUNCATE || f->kind == FK_WRONG_TYPES ||
		  f->kind == FK_HUGE))
		garble(out, f->kind);
	if (f && f->kind == FK_LOST) {
		fakeca_resp_free(out);
		out->status = 0;
		out->error = xstrdup("Operation timed out (injected, the CA "
				     "acted)");
	}
	jws_in_free(&j);
	advance(ca);
	{
		unsigned open = count_open(ca);
		if (open > ca->max_open)
			ca->max_open = open;
	}
	lg->status = out->status;
	if (out->content_type &&
	    !strcmp(out->content_type, "application/problem+json")) {
		cJSON *p = cJSON_ParseWithLength(out->body, out->body_len);
		const char *t = p ? jstr(p, "type") : NULL;
		if (t && !strncmp(t, PT, strlen(PT))) {
			lg->ptype = xstrdup(t + strlen(PT));
			if (!strcmp(lg->ptype, "badNonce"))
				ca->badnonces++;
		}
		cJSON_Delete(p);
	}
}

/* ---- inspection --------------------------------------------------------- */

size_t
fakeca_nreq(const struct fakeca *ca)
{
	return ca->nlog;
}

const struct fakeca_req *
fakeca_req_at(const struct fakeca *ca, size_t i)
{
	return i < ca->nlog ? &ca->log[i] : NULL;
}

unsigned
fakeca_count(const struct fakeca *ca, enum fakeca_ep ep)
{
	unsigned n = 0;
	for (size_t i = 0; i < ca->nlog; i++)
		if (ep == FEP_ANY || ca->log[i].ep == ep)
			n++;
	return n;
}

size_t
fakeca_find(const struct fakeca *ca, enum fakeca_ep ep, unsigned k)
{
	for (size_t i = 0; i < ca->nlog; i++)
		if ((ep == FEP_ANY || ca->log[i].ep == ep) && k-- == 0)
			return i;
	return SIZE_MAX;
}

unsigned
fakeca_naccounts(const struct fakeca *ca)
{
	return (unsigned)ca->nacc;
}

unsigned
fakeca_norders(const struct fakeca *ca)
{
	return (unsigned)ca->nord;
}

unsigned
fakeca_badnonces(const struct fakeca *ca)
{
	return ca->badnonces;
}

unsigned
fakeca_open_orders(const struct fakeca *ca)
{
	return count_open(ca);
}

unsigned
fakeca_max_open_orders(const struct fakeca *ca)
{
	return ca->max_open;
}

size_t
fakeca_ncerts(const struct fakeca *ca)
{
	return ca->ncerts;
}

const struct fakeca_cert *
fakeca_cert_at(const struct fakeca *ca, size_t i)
{
	return i < ca->ncerts ? &ca->certs[i] : NULL;
}

const struct fakeca_cert *
fakeca_cert_by_ari(const struct fakeca *ca, const char *id)
{
	for (size_t i = 0; id && i < ca->ncerts; i++)
		if (!strcmp(ca->certs[i].ari_id, id))
			return &ca->certs[i];
	return NULL;
}

const char *
fakeca_account_thumb(const struct fakeca *ca, unsigned i)
{
	return i < ca->nacc ? ca->acc[i].thumb : NULL;
}

const char *
fakeca_account_eab(const struct fakeca *ca, unsigned i)
{
	return i < ca->nacc ? ca->acc[i].eab : NULL;
}

const char *
fakeca_account_status(const struct fakeca *ca, unsigned i)
{
	return i < ca->nacc ? ca->acc[i].status : NULL;
}

const char *
fakeca_order_status(const struct fakeca *ca, unsigned i)
{
	return i < ca->nord ? st_names[ca->ord[i].status] : NULL;
}

const char *
fakeca_order_replaces(const struct fakeca *ca, unsigned i)
{
	return i < ca->nord ? ca->ord[i].replaces : NULL;
}

const char *
fakeca_order_profile(const struct fakeca *ca, unsigned i)
{
	return i < ca->nord ? ca->ord[i].profile : NULL;
}

const char *
fakeca_root_pem(const struct fakeca *ca, bool alt)
{
	return alt ? ca->alt_root_pem : ca->root_pem;
}
