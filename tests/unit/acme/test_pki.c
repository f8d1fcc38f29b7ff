/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of acme/pki.c against real OpenSSL: key type names, the
 * syntax of certificate names, key generation and PEM round trips, the
 * RFC 7638 §3.1 thumbprint example, JWK coordinate padding, the dns-01
 * value recomputed independently, CSR make/parse (wildcards, the
 * 100-name limit, tampering), and chains built here with
 * the X509 API (validity, serial, names, issuers, order, limits, key
 * match, split, DER, SPKI hash) including the RFC 9773 §4.1 ARI example.
 * Expected values are either published vectors or recomputed here with
 * OpenSSL directly, never outputs copied from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/pki.h"
#include "common/base64.h"
#include "common/errors.h"

/* One shared key per type: RSA-4096 generation is slow under ASan. */
static EVP_PKEY *ec256, *ec384, *rsa2048;

static int
setup(void **state)
{
	(void)state;
	if (acme_key_generate(ACME_KEY_EC256, &ec256) != 0 ||
	    acme_key_generate(ACME_KEY_EC384, &ec384) != 0 ||
	    acme_key_generate(ACME_KEY_RSA2048, &rsa2048) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(rsa2048);
	return 0;
}

static void
b64url(const uint8_t *in, size_t n, char *out)
{
	ad_b64url_encode(in, n, out);
}

/* ---- keys ---- */

static void
test_keytype_names(void **state)
{
	enum acme_keytype t;
	static const char *const names[] = {"ec256", "ec384", "rsa2048",
					    "rsa3072", "rsa4096"};

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(acme_keytype_parse(names[i], &t), 0);
		assert_int_equal((int)t, (int)i);
		assert_string_equal(acme_keytype_name(t), names[i]);
	}
	assert_int_equal(acme_keytype_parse("EC256", &t), AD_EINVAL);
	assert_int_equal(acme_keytype_parse("rsa1024", &t), AD_EINVAL);
	assert_int_equal(acme_keytype_parse("", &t), AD_EINVAL);
	assert_int_equal(acme_keytype_parse(NULL, &t), AD_EINVAL);
}

/* ---- names ---- */

static void
test_name_valid(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
	    {"example.test", true},
	    {"*.example.test", true},
	    {"test", true}, /* one label: syntax only, policy is the API's */
	    {"a-b.c0.1.test", true},
	    {"xn--bcher-kva.example", true},
	    {"", false},
	    {"*", false},
	    {"*.", false},
	    {"*.*.a.test", false}, /* a wildcard only as the leftmost label */
	    {"a.*.test", false},
	    {"*a.test", false},
	    {"Example.test", false}, /* callers lower-case first */
	    {"example.test.", false},
	    {".example.test", false},
	    {"a..test", false},
	    {"-a.test", false},
	    {"a-.test", false},
	    {"a_b.test", false},
	    {"a b.test", false},
	};
	char label[80], name[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *n = cases[i].name;

		if (acme_name_valid(n, strlen(n)) != cases[i].ok)
			fail_msg("acme_name_valid(\"%s\") != %d", n,
				 cases[i].ok);
	}
	assert_false(acme_name_valid(NULL, 0));
	/* len is honoured: no NUL needed, and a NUL inside len is no
	 * name byte */
	assert_true(acme_name_valid("a.test!!", 6));
	assert_false(acme_name_valid("a.test", 5 + 2));

	/* labels: 63 bytes at most (RFC 1035 §2.3.4) */
	memset(label, 'a', 63);
	strcpy(label + 63, ".test");
	assert_true(acme_name_valid(label, strlen(label)));
	memset(label, 'a', 64);
	strcpy(label + 64, ".test");
	assert_false(acme_name_valid(label, strlen(label)));

	/* 253 bytes in all, the "*." of a wildcard included */
	for (size_t o = 0; o < 253; o += 50)
		memcpy(name + o,
		       "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.",
		       50);
	name[253] = '\0';
	name[252] = 'c'; /* no trailing dot: 253 = 5 * 50 + 3 */
	assert_int_equal(strlen(name), 253);
	assert_true(acme_name_valid(name, 253));
	assert_false(acme_name_valid("*.", 2));
	memcpy(name, "*.", 2);
	assert_true(acme_name_valid(name, 253));
	name[253] = 'd';
	name[254] = '\0';
	assert_false(acme_name_valid(name, 254));
}

static void
check_key(EVP_PKEY *key, enum acme_keytype want)
{
	enum acme_keytype t;
	EVP_PKEY *back = NULL;
	BIGNUM *e = NULL;
	char *pem = NULL;
	const char *alg;

	assert_int_equal(acme_key_type(key, &t), 0);
	assert_int_equal((int)t, (int)want);
	alg = acme_key_alg(key);
	assert_non_null(alg);
	switch (want) {
	case ACME_KEY_EC256:
		assert_string_equal(alg, "ES256");
		assert_true(EVP_PKEY_is_a(key, "EC"));
		assert_int_equal(EVP_PKEY_get_bits(key), 256);
		break;
	case ACME_KEY_EC384:
		assert_string_equal(alg, "ES384");
		assert_true(EVP_PKEY_is_a(key, "EC"));
		assert_int_equal(EVP_PKEY_get_bits(key), 384);
		break;
	default:
		assert_string_equal(alg, "RS256");
		assert_true(EVP_PKEY_is_a(key, "RSA"));
		assert_int_equal(EVP_PKEY_get_bits(key),
				 want == ACME_KEY_RSA2048   ? 2048
				 : want == ACME_KEY_RSA3072 ? 3072
							    : 4096);
		assert_int_equal(
		    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e), 1);
		assert_true(BN_is_word(e, 65537));
		BN_free(e);
		break;
	}
	assert_int_equal(acme_key_to_pem(key, &pem), 0);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----\n"));
	assert_int_equal(acme_key_from_pem(pem, strlen(pem), &back), 0);
	assert_int_equal(EVP_PKEY_eq(key, back), 1);
	assert_int_equal(acme_key_type(back, &t), 0);
	assert_int_equal((int)t, (int)want);
	acme_secret_free(pem);
	EVP_PKEY_free(back);
}

static void
test_key_generate_all(void **state)
{
	(void)state;
	for (int t = ACME_KEY_EC256; t <= ACME_KEY_RSA4096; t++) {
		EVP_PKEY *key = NULL;

		assert_int_equal(acme_key_generate((enum acme_keytype)t, &key),
				 0);
		check_key(key, (enum acme_keytype)t);
		EVP_PKEY_free(key);
	}
}

static void
test_key_pem_forms(void **state)
{
	BIO *bio = BIO_new(BIO_s_mem());
	EVP_PKEY *back = NULL;
	char *data;
	long n;

	(void)state;
	/* traditional "EC PRIVATE KEY" form is accepted */
	assert_int_equal(PEM_write_bio_PrivateKey_traditional(
			     bio, ec256, NULL, NULL, 0, NULL, NULL),
			 1);
	n = BIO_get_mem_data(bio, &data);
	assert_non_null(memmem(data, (size_t)n, "BEGIN EC PRIVATE KEY", 20));
	assert_int_equal(acme_key_from_pem(data, (size_t)n, &back), 0);
	assert_int_equal(EVP_PKEY_eq(ec256, back), 1);
	EVP_PKEY_free(back);
	BIO_free(bio);

	/* encrypted PKCS#8 is refused (and must not prompt) */
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, ec256,
						       EVP_aes_128_cbc(), NULL,
						       0, NULL, (void *)"pw"),
			 1);
	n = BIO_get_mem_data(bio, &data);
	assert_int_equal(acme_key_from_pem(data, (size_t)n, &back), AD_EMALF);
	assert_null(back);
	BIO_free(bio);

	assert_int_equal(acme_key_from_pem("garbage", 7, &back), AD_EMALF);
	assert_int_equal(acme_key_from_pem("", 0, &back), AD_EMALF);
	assert_int_equal(ERR_peek_error(), 0);
	acme_secret_free(NULL);
}

static void
test_key_type_other(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	enum acme_keytype t;
	cJSON *jwk = NULL;
	char th[ACME_THUMB_LEN + 1];

	(void)state;
	assert_non_null(ed);
	assert_non_null(p521);
	assert_int_equal(acme_key_type(ed, &t), AD_EUNSUP);
	assert_int_equal(acme_key_type(p521, &t), AD_EUNSUP);
	assert_null(acme_key_alg(ed));
	assert_null(acme_key_alg(p521));
	assert_int_equal(acme_jwk(ed, &jwk), AD_EUNSUP);
	assert_int_equal(acme_jwk_thumbprint(p521, th), AD_EUNSUP);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p521);
}

/* RSA keys of unlisted sizes map to the next listed size up. */
static void
test_key_type_rsa_sizes(void **state)
{
	static const struct {
		size_t bits;
		enum acme_keytype want;
	} cases[] = {
	    {1024, ACME_KEY_RSA2048},
	    {2560, ACME_KEY_RSA3072},
	};
	enum acme_keytype t;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		EVP_PKEY *k =
		    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", cases[i].bits);

		assert_non_null(k);
		assert_int_equal(acme_key_type(k, &t), 0);
		assert_int_equal((int)t, (int)cases[i].want);
		assert_string_equal(acme_key_alg(k), "RS256");
		EVP_PKEY_free(k);
	}
	assert_int_equal(
	    acme_key_generate((enum acme_keytype)99, &(EVP_PKEY *){NULL}),
	    AD_EINVAL);
}

/* ---- JWK and thumbprint ---- */

/* RFC 7638 §3.1 example key. */
static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7"
    "aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXA"
    "rwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7"
    "d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lF"
    "d2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

static EVP_PKEY *
rsa_from_ne(const char *n_b64, const char *e_b64)
{
	uint8_t nb[512], eb[8];
	int nl = ad_b64url_decode(n_b64, strlen(n_b64), nb, sizeof(nb));
	int el = ad_b64url_decode(e_b64, strlen(e_b64), eb, sizeof(eb));
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n, *e;
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;

	assert_true(nl > 0 && el > 0);
	n = BN_bin2bn(nb, nl, NULL);
	e = BN_bin2bn(eb, el, NULL);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, "n", n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, "e", e), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return key;
}

static void
test_thumbprint_rfc7638(void **state)
{
	EVP_PKEY *key = rsa_from_ne(rfc7638_n, "AQAB");
	char th[ACME_THUMB_LEN + 1];
	cJSON *jwk = NULL;
	char *text;

	(void)state;
	assert_int_equal(acme_jwk_thumbprint(key, th), 0);
	assert_string_equal(th, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

	/* the JWK object: {"e","kty","n"} in that order */
	assert_int_equal(acme_jwk(key, &jwk), 0);
	text = cJSON_PrintUnformatted(jwk);
	assert_non_null(text);
	{
		char want[600];

		snprintf(want, sizeof(want),
			 "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"%s\"}",
			 rfc7638_n);
		assert_string_equal(text, want);
	}
	cJSON_free(text);
	cJSON_Delete(jwk);
	EVP_PKEY_free(key);
}

/*
 * EC JWK: x and y are exactly the field size (RFC 7518 §6.2.1.2) and equal
 * the halves of the uncompressed point OpenSSL reports; the thumbprint is
 * SHA-256 of the canonical text built here. Many keys, so that coordinates
 * with leading zero octets (1 in 128 keys per curve) are exercised.
 */
static void
check_ec_jwk(EVP_PKEY *key, const char *crv, size_t fs)
{
	uint8_t pt[1 + 2 * 48], digest[32];
	char x[AD_B64URL_LEN(48)], y[AD_B64URL_LEN(48)], canon[300];
	char th[ACME_THUMB_LEN + 1], want[ACME_THUMB_LEN + 1];
	size_t ptlen = 0;
	cJSON *jwk = NULL, *it;

	assert_int_equal(
	    EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt,
					    sizeof(pt), &ptlen),
	    1);
	assert_int_equal(ptlen, 1 + 2 * fs);
	assert_int_equal(pt[0], 0x04);
	b64url(pt + 1, fs, x);
	b64url(pt + 1 + fs, fs, y);
	assert_int_equal(acme_jwk(key, &jwk), 0);
	it = jwk->child;
	assert_string_equal(it->string, "crv");
	assert_string_equal(it->valuestring, crv);
	it = it->next;
	assert_string_equal(it->string, "kty");
	assert_string_equal(it->valuestring, "EC");
	it = it->next;
	assert_string_equal(it->string, "x");
	assert_string_equal(it->valuestring, x);
	it = it->next;
	assert_string_equal(it->string, "y");
	assert_string_equal(it->valuestring, y);
	assert_null(it->next);
	cJSON_Delete(jwk);

	snprintf(canon, sizeof(canon),
		 "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		 crv, x, y);
	assert_non_null(
	    SHA256((const unsigned char *)canon, strlen(canon), digest));
	b64url(digest, 32, want);
	assert_int_equal(acme_jwk_thumbprint(key, th), 0);
	assert_string_equal(th, want);
}

static void
test_jwk_ec_padding(void **state)
{
	(void)state;
	for (int i = 0; i < 300; i++) {
		EVP_PKEY *k = NULL;

		assert_int_equal(acme_key_generate(ACME_KEY_EC256, &k), 0);
		check_ec_jwk(k, "P-256", 32);
		EVP_PKEY_free(k);
		assert_int_equal(acme_key_generate(ACME_KEY_EC384, &k), 0);
		check_ec_jwk(k, "P-384", 48);
		EVP_PKEY_free(k);
	}
}

/* ---- dns-01 ---- */

static void
test_dns01_value(void **state)
{
	const char *token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
	char th[ACME_THUMB_LEN + 1], v[ACME_THUMB_LEN + 1], want[64];
	char keyauth[200], big[300];
	uint8_t digest[32];

	(void)state;
	assert_int_equal(acme_jwk_thumbprint(ec256, th), 0);
	snprintf(keyauth, sizeof(keyauth), "%s.%s", token, th);
	assert_non_null(
	    SHA256((const unsigned char *)keyauth, strlen(keyauth), digest));
	b64url(digest, 32, want);
	assert_int_equal(acme_dns01_value(token, th, v), 0);
	assert_string_equal(v, want);
	assert_int_equal(strlen(v), ACME_THUMB_LEN);

	memset(big, 'A', 256);
	big[256] = '\0';
	assert_int_equal(acme_dns01_value(big, th, v), 0);
	big[256] = 'A';
	big[257] = '\0';
	assert_int_equal(acme_dns01_value(big, th, v), AD_EINVAL);
	assert_int_equal(acme_dns01_value("", th, v), AD_EINVAL);
	assert_int_equal(acme_dns01_value("a.b", th, v), AD_EINVAL);
	assert_int_equal(acme_dns01_value("a b", th, v), AD_EINVAL);
	assert_int_equal(acme_dns01_value(token, "short", v), AD_EINVAL);
	assert_int_equal(acme_dns01_value(NULL, th, v), AD_EINVAL);
}

/* ---- CSR ---- */

static char *
der_to_pem(const char *label, const uint8_t *der, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_int_equal(PEM_write_bio(bio, label, "", der, (long)len) > 0, 1);
	n = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

/* acme_csr_parse() of pem for its names only (the DER copy is dropped). */
static int
pem_names(const char *pem, char ***names, size_t *n)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	int r =
	    acme_csr_parse(pem, strlen(pem), names, n, &der, &der_len, NULL);

	free(der);
	return r;
}

/* pem_names() of a CSR in DER form, armoured first. */
static int
der_names(const uint8_t *der, size_t der_len, char ***names, size_t *n)
{
	char *pem = der_to_pem("CERTIFICATE REQUEST", der, der_len);
	int r = pem_names(pem, names, n);

	free(pem);
	return r;
}

static void
test_csr_roundtrip(void **state)
{
	const char *names[] = {"Example.COM", "*.example.com",
			       "www.example.com"};
	uint8_t *der = NULL, *der2 = NULL;
	size_t der_len = 0, der2_len = 0, n = 0;
	const unsigned char *p;
	char **got = NULL, *pem, cn[100];
	EVP_PKEY *pub = NULL;
	X509_REQ *req;

	(void)state;
	assert_int_equal(acme_csr_make(ec256, names, 3, &der, &der_len), 0);

	/* inspect independently: version 0, CN, SANs, self-signature */
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)der_len);
	assert_non_null(req);
	assert_int_equal(X509_REQ_get_version(req), 0);
	assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	assert_int_equal(
	    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req),
				      NID_commonName, cn, sizeof(cn)),
	    11);
	assert_string_equal(cn, "Example.COM");
	assert_int_equal(X509_REQ_get_signature_nid(req),
			 NID_ecdsa_with_SHA256);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), ec256), 1);
	X509_REQ_free(req);

	pem = der_to_pem("CERTIFICATE REQUEST", der, der_len);
	assert_int_equal(
	    acme_csr_parse(pem, strlen(pem), &got, &n, &der2, &der2_len, &pub),
	    0);
	assert_int_equal(n, 3);
	assert_string_equal(got[0], "example.com");
	assert_string_equal(got[1], "*.example.com");
	assert_string_equal(got[2], "www.example.com");
	assert_null(got[3]);
	assert_int_equal(der2_len, der_len);
	assert_memory_equal(der2, der, der_len);
	assert_int_equal(EVP_PKEY_eq(pub, ec256), 1);
	acme_names_free(got);
	free(der2);
	EVP_PKEY_free(pub);

	/* pub is optional */
	assert_int_equal(pem_names(pem, &got, &n), 0);
	acme_names_free(got);

	/* tampered: flip a bit in the signature (the last octet) */
	free(pem);
	der[der_len - 1] ^= 0x01;
	pem = der_to_pem("CERTIFICATE REQUEST", der, der_len);
	assert_int_equal(
	    acme_csr_parse(pem, strlen(pem), &got, &n, &der2, &der2_len, &pub),
	    AD_EMALF);
	assert_null(got);
	assert_null(der2);
	assert_null(pub);
	free(pem);
	free(der);
	assert_int_equal(ERR_peek_error(), 0);
}

/* RSA CSR, tampered in its subject (signature no longer matches). */
static void
test_csr_rsa_tamper_body(void **state)
{
	const char *names[] = {"abc.example.org"};
	uint8_t *der = NULL;
	size_t der_len = 0, n = 0;
	char **got = NULL, *hit;

	(void)state;
	assert_int_equal(acme_csr_make(rsa2048, names, 1, &der, &der_len), 0);
	hit = memmem(der, der_len, "abc.example.org", 15);
	assert_non_null(hit);
	hit[0] = 'x'; /* CN "xbc.example.org" */
	assert_int_equal(der_names(der, der_len, &got, &n), AD_EMALF);
	assert_null(got);
	free(der);
}

static char **
make_names(size_t n)
{
	char **v = calloc(n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		v[i] = malloc(40);
		snprintf(v[i], 40, "h%zu.example.net", i);
	}
	return v;
}

static void
test_csr_limits(void **state)
{
	char **names = make_names(101), **got = NULL;
	uint8_t *der = NULL, *der2 = NULL;
	size_t der_len = 0, der2_len = 0, n = 0;
	char longname[100];

	(void)state;
	/* exactly 100: fine */
	assert_int_equal(acme_csr_make(ec256, (const char *const *)names, 100,
				       &der, &der_len),
			 0);
	assert_int_equal(der_names(der, der_len, &got, &n), 0);
	assert_int_equal(n, 100);
	assert_string_equal(got[99], "h99.example.net");
	acme_names_free(got);
	free(der);

	/* 101 -> AD_ELIMIT */
	assert_int_equal(acme_csr_make(ec256, (const char *const *)names, 101,
				       &der, &der_len),
			 0);
	got = NULL;
	assert_int_equal(der_names(der, der_len, &got, &n), AD_ELIMIT);
	assert_null(got);
	free(der);
	acme_names_free(names);

	/* a first name longer than 64 bytes: no CN, still in the SANs */
	memset(longname, 'a', 70);
	strcpy(longname + 70, ".example.com");
	{
		const char *v[] = {longname};
		X509_REQ *req;
		const unsigned char *p;

		assert_int_equal(acme_csr_make(ec256, v, 1, &der, &der_len), 0);
		p = der;
		req = d2i_X509_REQ(NULL, &p, (long)der_len);
		assert_int_equal(
		    X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 0);
		X509_REQ_free(req);
		assert_int_equal(der_names(der, der_len, &got, &n), 0);
		assert_int_equal(n, 1);
		assert_string_equal(got[0], longname);
		acme_names_free(got);
		free(der);
	}

	/* no names, bad names */
	{
		const char *bad[] = {"a b.example.com"};
		const char *empty[] = {""};

		assert_int_equal(acme_csr_make(ec256, bad, 0, &der, &der_len),
				 AD_EINVAL);
		assert_int_equal(acme_csr_make(ec256, bad, 1, &der, &der_len),
				 AD_EINVAL);
		assert_int_equal(acme_csr_make(ec256, empty, 1, &der, &der_len),
				 AD_EINVAL);
	}
	assert_int_equal(
	    acme_csr_parse("junk", 4, &got, &n, &der2, &der2_len, NULL),
	    AD_EMALF);
}

/* A CSR built here with a CN that is not among the SANs, and one with an
 * IP address SAN. */
static char *
csr_custom(const char *cn, const char *san_conf)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *nm = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(req, nm);
	if (san_conf != NULL) {
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(
		    NULL, NULL, NID_subject_alt_name, san_conf);

		assert_non_null(ext);
		sk_X509_EXTENSION_push(exts, ext);
		X509_REQ_add_extensions(req, exts);
	}
	X509_REQ_set_pubkey(req, ec256);
	assert_true(X509_REQ_sign(req, ec256, EVP_sha256()) > 0);
	PEM_write_bio_X509_REQ(bio, req);
	n = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(nm);
	X509_REQ_free(req);
	return out;
}

static void
test_csr_cn_and_other_sans(void **state)
{
	char **got = NULL, *pem;
	size_t n = 0;

	(void)state;
	pem =
	    csr_custom("CN.Example.com",
		       "DNS:a.example.com,DNS:B.EXAMPLE.COM,DNS:a.example.com");
	assert_int_equal(pem_names(pem, &got, &n), 0);
	/* duplicates folded, lower-cased, CN appended */
	assert_int_equal(n, 3);
	assert_string_equal(got[0], "a.example.com");
	assert_string_equal(got[1], "b.example.com");
	assert_string_equal(got[2], "cn.example.com");
	acme_names_free(got);
	free(pem);

	/* CN only */
	pem = csr_custom("only.example.com", NULL);
	assert_int_equal(pem_names(pem, &got, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], "only.example.com");
	acme_names_free(got);
	free(pem);

	/* an IP SAN cannot match a DNS identifier: refused */
	pem = csr_custom("x.example.com", "DNS:x.example.com,IP:192.0.2.1");
	got = NULL;
	assert_int_equal(pem_names(pem, &got, &n), AD_EMALF);
	assert_null(got);
	free(pem);
}

/* ---- certificates and chains ---- */

struct certspec {
	const char *cn;
	X509 *issuer;          /* NULL: self-signed */
	EVP_PKEY *issuer_key;  /* NULL: self-signed */
	EVP_PKEY *key;         /* subject key */
	const uint8_t *serial; /* big-endian magnitude */
	size_t serial_len;
	const char *san;    /* X509V3 conf text or NULL */
	const uint8_t *ski; /* subjectKeyIdentifier or NULL */
	size_t ski_len;
	int aki; /* add AKI keyid from the issuer's SKI */
	int64_t not_before, not_after;
};

static X509 *
make_cert(const struct certspec *s)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	BIGNUM *bn = BN_bin2bn(s->serial, (int)s->serial_len, NULL);
	ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(bn, NULL);
	X509V3_CTX ctx;
	X509 *issuer = s->issuer != NULL ? s->issuer : x;
	EVP_PKEY *ikey = s->issuer_key != NULL ? s->issuer_key : s->key;

	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(X509_set_serialNumber(x, serial), 1);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)s->cn, -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	assert_non_null(
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->not_before));
	assert_non_null(
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->not_after));
	X509_set_pubkey(x, s->key);
	if (s->ski != NULL) {
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

		ASN1_OCTET_STRING_set(os, s->ski, (int)s->ski_len);
		assert_int_equal(X509_add1_ext_i2d(x,
						   NID_subject_key_identifier,
						   os, 0, X509V3_ADD_DEFAULT),
				 1);
		ASN1_OCTET_STRING_free(os);
	}
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (s->aki) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(
		    NULL, &ctx, NID_authority_key_identifier, "keyid:always");

		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (s->san != NULL) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(
		    NULL, &ctx, NID_subject_alt_name, s->san);

		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	X509_NAME_free(nm);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return x;
}

static size_t
append_pem(char *buf, size_t off, size_t cap, X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	PEM_write_bio_X509(bio, x);
	n = BIO_get_mem_data(bio, &data);
	assert_true(off + (size_t)n < cap);
	memcpy(buf + off, data, (size_t)n);
	off += (size_t)n;
	buf[off] = '\0';
	BIO_free(bio);
	return off;
}

static size_t
append_text(char *buf, size_t off, size_t cap, const char *s)
{
	size_t n = strlen(s);

	assert_true(off + n < cap);
	memcpy(buf + off, s, n + 1);
	return off + n;
}

/* A leaf <- intermediate <- root chain, built once. */
static struct chain {
	EVP_PKEY *root_key, *int_key, *leaf_key;
	X509 *root, *inter, *leaf;
} ch;

static const uint8_t root_serial[] = {0x01};
static const uint8_t int_serial[] = {0x7f, 0xff};
/* high bit set: DER needs a leading 0x00 */
static const uint8_t leaf_serial[] = {0x87, 0x65, 0x43, 0x21};
static const uint8_t int_ski[] = {0x69, 0x88, 0x5b, 0x6b, 0x87, 0x46, 0x40,
				  0x41, 0xe1, 0xb3, 0x7b, 0x84, 0x7b, 0xa0,
				  0xae, 0x2c, 0xde, 0x01, 0xc8, 0xd4};
#define NB 1767225600 /* 2026-01-01T00:00:00Z */
#define NA 1775001600 /* 2026-04-01T00:00:00Z */

static int
chain_setup(void **state)
{
	(void)state;
	if (setup(state) != 0)
		return -1;
	acme_key_generate(ACME_KEY_EC384, &ch.root_key);
	acme_key_generate(ACME_KEY_EC256, &ch.int_key);
	acme_key_generate(ACME_KEY_EC256, &ch.leaf_key);

	ch.root = make_cert(&(struct certspec){
	    .cn = "Test Root X9",
	    .key = ch.root_key,
	    .serial = root_serial,
	    .serial_len = sizeof(root_serial),
	    .not_before = NB - 86400 * 365,
	    .not_after = NA + 86400 * 3650,
	});
	ch.inter = make_cert(&(struct certspec){
	    .cn = "Test Intermediate E9",
	    .issuer = ch.root,
	    .issuer_key = ch.root_key,
	    .key = ch.int_key,
	    .serial = int_serial,
	    .serial_len = sizeof(int_serial),
	    .ski = int_ski,
	    .ski_len = sizeof(int_ski),
	    .not_before = NB - 86400,
	    .not_after = NA + 86400 * 365,
	});
	ch.leaf = make_cert(&(struct certspec){
	    .cn = "www.example.com",
	    .issuer = ch.inter,
	    .issuer_key = ch.int_key,
	    .key = ch.leaf_key,
	    .serial = leaf_serial,
	    .serial_len = sizeof(leaf_serial),
	    .san = "DNS:WWW.Example.com,DNS:*.example.com,IP:192.0.2.7",
	    .aki = 1,
	    .not_before = NB,
	    .not_after = NA,
	});
	return 0;
}

static int
chain_teardown(void **state)
{
	X509_free(ch.root);
	X509_free(ch.inter);
	X509_free(ch.leaf);
	EVP_PKEY_free(ch.root_key);
	EVP_PKEY_free(ch.int_key);
	EVP_PKEY_free(ch.leaf_key);
	return teardown(state);
}

static void
test_chain_parse(void **state)
{
	static char pem[16384];
	struct acme_certinfo info;
	unsigned char *spki = NULL;
	uint8_t digest[32];
	size_t off = 0;
	int len;

	(void)state;
	off = append_text(pem, off, sizeof(pem), "preamble text\n");
	off = append_pem(pem, off, sizeof(pem), ch.leaf);
	off = append_text(pem, off, sizeof(pem), "\nbetween blocks\n\n");
	off = append_pem(pem, off, sizeof(pem), ch.inter);
	off = append_pem(pem, off, sizeof(pem), ch.root);
	off = append_text(pem, off, sizeof(pem), "trailer\n");

	assert_int_equal(acme_chain_parse(pem, off, ch.leaf_key, &info), 0);
	assert_int_equal(info.ncerts, 3);
	assert_int_equal(info.not_before, NB);
	assert_int_equal(info.not_after, NA);
	assert_string_equal(info.serial, "87654321");
	assert_string_equal(info.issuer_cn, "Test Intermediate E9");
	assert_string_equal(info.root_cn, "Test Root X9");
	assert_int_equal(info.nnames, 2);
	assert_string_equal(info.names[0], "www.example.com");
	assert_string_equal(info.names[1], "*.example.com");
	assert_null(info.names[2]);
	/* RFC 9773 §4.1 example values */
	assert_string_equal(info.ari_id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");

	len = i2d_PUBKEY(ch.leaf_key, &spki);
	assert_true(len > 0);
	SHA256(spki, (size_t)len, digest);
	OPENSSL_free(spki);
	assert_memory_equal(info.spki_sha256, digest, 32);
	{
		uint8_t mine[32];

		assert_int_equal(acme_spki_sha256(ch.leaf_key, mine), 0);
		assert_memory_equal(mine, info.spki_sha256, 32);
	}
	acme_certinfo_free(&info);
	acme_certinfo_free(&info); /* idempotent */

	/* no key: no check */
	assert_int_equal(acme_chain_parse(pem, off, NULL, &info), 0);
	acme_certinfo_free(&info);
	/* another key: AD_EINVAL */
	assert_int_equal(acme_chain_parse(pem, off, ch.int_key, &info),
			 AD_EINVAL);
	assert_null(info.names);
	assert_int_equal(acme_chain_parse(pem, off, rsa2048, &info), AD_EINVAL);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_chain_order_and_garbage(void **state)
{
	static char pem[16384];
	struct acme_certinfo info;
	size_t off = 0;

	(void)state;
	/* wrong order: intermediate first */
	off = append_pem(pem, 0, sizeof(pem), ch.inter);
	off = append_pem(pem, off, sizeof(pem), ch.leaf);
	off = append_pem(pem, off, sizeof(pem), ch.root);
	assert_int_equal(acme_chain_parse(pem, off, NULL, &info), AD_EMALF);
	/* a missing link: leaf then root */
	off = append_pem(pem, 0, sizeof(pem), ch.leaf);
	off = append_pem(pem, off, sizeof(pem), ch.root);
	assert_int_equal(acme_chain_parse(pem, off, NULL, &info), AD_EMALF);

	assert_int_equal(acme_chain_parse("garbage\n", 8, NULL, &info),
			 AD_EMALF);
	assert_int_equal(acme_chain_parse("", 0, NULL, &info), AD_EMALF);
	/* a damaged block */
	off = append_pem(pem, 0, sizeof(pem), ch.leaf);
	pem[100] = pem[100] == 'A' ? 'B' : 'A';
	pem[101] = '*';
	assert_int_equal(acme_chain_parse(pem, off, NULL, &info), AD_EMALF);
	/* a truncated block */
	off = append_pem(pem, 0, sizeof(pem), ch.leaf);
	assert_int_equal(acme_chain_parse(pem, off - 30, NULL, &info),
			 AD_EMALF);
	{
		uint8_t *der = NULL;
		size_t dl = 0;
		char *a = NULL, *b = NULL;

		assert_int_equal(acme_cert_der("junk", 4, &der, &dl), AD_EMALF);
		assert_int_equal(acme_chain_split("junk", 4, &a, &b), AD_EMALF);
		assert_null(a);
		assert_null(b);
	}
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_chain_limits(void **state)
{
	static char pem[65536];
	struct acme_certinfo info;
	size_t off = 0;

	(void)state;
	/* the self-signed root repeated: names chain, count is the limit */
	for (int i = 0; i < ACME_MAX_CHAIN; i++)
		off = append_pem(pem, off, sizeof(pem), ch.root);
	assert_int_equal(acme_chain_parse(pem, off, NULL, &info), 0);
	assert_int_equal(info.ncerts, ACME_MAX_CHAIN);
	/* a root has no SAN and (here) no AKI */
	assert_int_equal(info.nnames, 0);
	assert_non_null(info.names);
	assert_null(info.names[0]);
	assert_string_equal(info.ari_id, "");
	assert_string_equal(info.serial, "01");
	acme_certinfo_free(&info);
	off = append_pem(pem, off, sizeof(pem), ch.root);
	assert_int_equal(acme_chain_parse(pem, off, NULL, &info), AD_ELIMIT);
}

static void
test_serial_zero_and_single(void **state)
{
	static char pem[8192];
	static const uint8_t zero[] = {0x00};
	struct acme_certinfo info;
	X509 *x;
	size_t off;
	char *leaf = NULL, *rest = NULL;

	(void)state;
	x = make_cert(&(struct certspec){
	    .cn = "zero.example",
	    .issuer = ch.inter,
	    .issuer_key = ch.int_key,
	    .key = ec256,
	    .serial = zero,
	    .serial_len = 1,
	    .san = "DNS:zero.example",
	    .not_before = NB,
	    .not_after = NA,
	});
	off = append_pem(pem, 0, sizeof(pem), x);
	assert_int_equal(acme_chain_parse(pem, off, ec256, &info), 0);
	assert_string_equal(info.serial, "0");
	assert_int_equal(info.ncerts, 1);
	/* issuer of the only certificate */
	assert_string_equal(info.root_cn, "Test Intermediate E9");
	assert_string_equal(info.ari_id, "");
	acme_certinfo_free(&info);

	assert_int_equal(acme_chain_split(pem, off, &leaf, &rest), 0);
	assert_string_equal(leaf, pem);
	assert_string_equal(rest, "");
	free(leaf);
	free(rest);
	X509_free(x);
}

static X509 *
pem_cert(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	return x;
}

static void
test_chain_split_and_der(void **state)
{
	static char pem[16384], want_rest[16384];
	char *leaf = NULL, *rest = NULL;
	uint8_t *der = NULL;
	unsigned char *want = NULL;
	size_t off = 0, roff, dl = 0;
	X509 *x;
	int wl;

	(void)state;
	off = append_text(pem, off, sizeof(pem), "junk\n");
	off = append_pem(pem, off, sizeof(pem), ch.leaf);
	off = append_text(pem, off, sizeof(pem), "junk\n");
	off = append_pem(pem, off, sizeof(pem), ch.inter);
	off = append_pem(pem, off, sizeof(pem), ch.root);

	assert_int_equal(acme_chain_split(pem, off, &leaf, &rest), 0);
	x = pem_cert(leaf);
	assert_non_null(x);
	assert_int_equal(X509_cmp(x, ch.leaf), 0);
	X509_free(x);
	assert_int_equal(strncmp(leaf, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	roff = append_pem(want_rest, 0, sizeof(want_rest), ch.inter);
	roff = append_pem(want_rest, roff, sizeof(want_rest), ch.root);
	assert_string_equal(rest, want_rest);
	free(leaf);
	free(rest);

	assert_int_equal(acme_cert_der(pem, off, &der, &dl), 0);
	wl = i2d_X509(ch.leaf, &want);
	assert_int_equal(dl, (size_t)wl);
	assert_memory_equal(der, want, dl);
	OPENSSL_free(want);
	free(der);
}

/* RFC 9773 §4.1 example with an RSA leaf key, and a leaf whose serial has
 * the high bit clear (no sign octet). */
static void
test_ari_id_variants(void **state)
{
	static char pem[8192];
	static const uint8_t ser[] = {0x01, 0x02, 0x03};
	struct acme_certinfo info;
	char want[128], k[64], v[16];
	X509 *x;
	size_t off;

	(void)state;
	x = make_cert(&(struct certspec){
	    .cn = "rsa.example",
	    .issuer = ch.inter,
	    .issuer_key = ch.int_key,
	    .key = rsa2048,
	    .serial = ser,
	    .serial_len = sizeof(ser),
	    .san = "DNS:rsa.example",
	    .aki = 1,
	    .not_before = NB,
	    .not_after = NA,
	});
	off = append_pem(pem, 0, sizeof(pem), x);
	off = append_pem(pem, off, sizeof(pem), ch.inter);
	assert_int_equal(acme_chain_parse(pem, off, rsa2048, &info), 0);
	b64url(int_ski, sizeof(int_ski), k);
	b64url(ser, sizeof(ser), v);
	snprintf(want, sizeof(want), "%s.%s", k, v);
	assert_string_equal(info.ari_id, want);
	assert_string_equal(info.serial, "010203");
	assert_int_equal(info.ncerts, 2);
	assert_string_equal(info.root_cn, "Test Root X9");
	{
		uint8_t mine[32];

		assert_int_equal(acme_spki_sha256(rsa2048, mine), 0);
		assert_memory_equal(mine, info.spki_sha256, 32);
	}
	acme_certinfo_free(&info);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keytype_names),
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_key_generate_all),
	    cmocka_unit_test(test_key_pem_forms),
	    cmocka_unit_test(test_key_type_other),
	    cmocka_unit_test(test_key_type_rsa_sizes),
	    cmocka_unit_test(test_thumbprint_rfc7638),
	    cmocka_unit_test(test_jwk_ec_padding),
	    cmocka_unit_test(test_dns01_value),
	    cmocka_unit_test(test_csr_roundtrip),
	    cmocka_unit_test(test_csr_rsa_tamper_body),
	    cmocka_unit_test(test_csr_limits),
	    cmocka_unit_test(test_csr_cn_and_other_sans),
	    cmocka_unit_test(test_chain_parse),
	    cmocka_unit_test(test_chain_order_and_garbage),
	    cmocka_unit_test(test_chain_limits),
	    cmocka_unit_test(test_serial_zero_and_single),
	    cmocka_unit_test(test_chain_split_and_der),
	    cmocka_unit_test(test_ari_id_variants),
	};

	return cmocka_run_group_tests(tests, chain_setup, chain_teardown);
}
