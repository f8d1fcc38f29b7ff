/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of acme/jws.c against real OpenSSL: flattened JWS sign and
 * verify round trips for ES256, ES384 and RS256 (with "jwk" and "kid"
 * headers, POST-as-GET), an independent check of the raw r||s signature
 * form with EVP directly, tampering and wrong keys (AD_EAUTH), malformed
 * input (AD_EMALF), the EAB MAC recomputed with HMAC(), and the key-change
 * inner JWS. Expected values are recomputed here, never copied from the
 * code under test.
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
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "acme/jws.h"
#include "acme/pki.h"
#include "common/base64.h"
#include "common/errors.h"

static EVP_PKEY *ec256, *ec384, *rsa2048, *ec256b;

static int
setup(void **state)
{
	(void)state;
	if (acme_key_generate(ACME_KEY_EC256, &ec256) != 0 ||
	    acme_key_generate(ACME_KEY_EC256, &ec256b) != 0 ||
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
	EVP_PKEY_free(ec256b);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(rsa2048);
	return 0;
}

/* Decode a base64url string member of obj into a malloc'd buffer (NUL
 * terminated); returns the length. */
static size_t
member_decode(const cJSON *obj, const char *name, uint8_t **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	size_t sl;
	int n;

	assert_true(cJSON_IsString(it));
	sl = strlen(it->valuestring);
	*out = malloc(sl + 1);
	n = ad_b64url_decode(it->valuestring, sl, *out, sl);
	assert_true(n >= 0);
	(*out)[n] = '\0';
	return (size_t)n;
}

/* acme_jws_verify() of a whole JWS text, for its verdict only. */
static int
verify(const char *jws, EVP_PKEY *key)
{
	return acme_jws_verify(jws, strlen(jws), key, NULL, NULL);
}

static const char *
str_member(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	assert_true(cJSON_IsString(it));
	return it->valuestring;
}

/* JWK of key printed, for comparisons. */
static char *
jwk_text(EVP_PKEY *key)
{
	cJSON *jwk = NULL;
	char *s;

	assert_int_equal(acme_jwk(key, &jwk), 0);
	s = cJSON_PrintUnformatted(jwk);
	cJSON_Delete(jwk);
	return s;
}

/*
 * Verify a JWS from its parts with EVP directly: the signing input is
 * "protected.payload"; EC signatures are r||s, converted to DER here.
 */
static int
independent_verify(const cJSON *jws, EVP_PKEY *key, const EVP_MD *md,
		   size_t ec_size)
{
	const char *p = str_member(jws, "protected");
	const char *y = str_member(jws, "payload");
	uint8_t *sig;
	size_t sl = member_decode(jws, "signature", &sig);
	char *input = malloc(strlen(p) + strlen(y) + 2);
	unsigned char *der = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok, dl;

	sprintf(input, "%s.%s", p, y);
	if (ec_size > 0) {
		ECDSA_SIG *es = ECDSA_SIG_new();

		assert_int_equal(sl, 2 * ec_size);
		ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)ec_size, NULL),
			       BN_bin2bn(sig + ec_size, (int)ec_size, NULL));
		dl = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
	} else {
		der = OPENSSL_memdup(sig, sl);
		dl = (int)sl;
	}
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, md, NULL, key), 1);
	ok = EVP_DigestVerify(ctx, der, (size_t)dl,
			      (const unsigned char *)input, strlen(input));
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	free(sig);
	free(input);
	ERR_clear_error();
	return ok;
}

static void
roundtrip(EVP_PKEY *key, const char *alg, const EVP_MD *md, size_t ec_size)
{
	const char *url = "https://ca.test/acme/new-order";
	const char *payload = "{\"identifiers\":[{\"type\":\"dns\","
			      "\"value\":\"example.com\"}]}";
	char *out = NULL, *hdr = NULL, *pay = NULL, *jt;
	cJSON *jws, *h, *jwk;
	uint8_t *sig;

	/* "jwk" form (newAccount) */
	assert_int_equal(
	    acme_jws_sign(key, NULL, "nonce-1", url, payload, &out), 0);
	jws = cJSON_Parse(out);
	assert_non_null(jws);
	assert_int_equal(cJSON_GetArraySize(jws), 3);
	assert_int_equal(member_decode(jws, "signature", &sig),
			 ec_size > 0 ? 2 * ec_size
				     : (size_t)EVP_PKEY_get_size(key));
	free(sig);
	assert_int_equal(independent_verify(jws, key, md, ec_size), 1);

	assert_int_equal(acme_jws_verify(out, strlen(out), NULL, &hdr, &pay),
			 0);
	assert_string_equal(pay, payload);
	h = cJSON_Parse(hdr);
	assert_string_equal(str_member(h, "alg"), alg);
	assert_string_equal(str_member(h, "nonce"), "nonce-1");
	assert_string_equal(str_member(h, "url"), url);
	assert_null(cJSON_GetObjectItem(h, "kid"));
	jwk = cJSON_GetObjectItem(h, "jwk");
	assert_true(cJSON_IsObject(jwk));
	jt = cJSON_PrintUnformatted(jwk);
	{
		char *want = jwk_text(key);

		assert_string_equal(jt, want);
		cJSON_free(want);
	}
	cJSON_free(jt);
	cJSON_Delete(h);
	free(hdr);
	free(pay);
	/* with the key given too */
	assert_int_equal(verify(out, key), 0);
	cJSON_Delete(jws);
	free(out);

	/* "kid" form, POST-as-GET */
	assert_int_equal(acme_jws_sign(key, "https://ca.test/acct/7", "n2",
				       "https://ca.test/order/1", "", &out),
			 0);
	jws = cJSON_Parse(out);
	assert_string_equal(str_member(jws, "payload"), "");
	assert_int_equal(independent_verify(jws, key, md, ec_size), 1);
	cJSON_Delete(jws);
	hdr = pay = NULL;
	assert_int_equal(acme_jws_verify(out, strlen(out), key, &hdr, &pay), 0);
	assert_string_equal(pay, "");
	h = cJSON_Parse(hdr);
	assert_string_equal(str_member(h, "kid"), "https://ca.test/acct/7");
	assert_null(cJSON_GetObjectItem(h, "jwk"));
	assert_string_equal(str_member(h, "alg"), alg);
	cJSON_Delete(h);
	free(hdr);
	free(pay);
	/* no jwk in the header and no key: nothing to verify with */
	assert_int_equal(verify(out, NULL), AD_EMALF);
	free(out);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_roundtrip_es256(void **state)
{
	(void)state;
	roundtrip(ec256, "ES256", EVP_sha256(), 32);
}

static void
test_roundtrip_es384(void **state)
{
	(void)state;
	roundtrip(ec384, "ES384", EVP_sha384(), 48);
}

static void
test_roundtrip_rs256(void **state)
{
	(void)state;
	roundtrip(rsa2048, "RS256", EVP_sha256(), 0);
}

/* Many EC signatures: r or s with leading zero octets must still be
 * fixed-size and verify (1 in 128 signatures). */
static void
test_ec_signature_padding(void **state)
{
	(void)state;
	for (int i = 0; i < 300; i++) {
		char payload[32], *out = NULL;

		snprintf(payload, sizeof(payload), "{\"i\":%d}", i);
		assert_int_equal(
		    acme_jws_sign(ec256, "k", "n", "u", payload, &out), 0);
		assert_int_equal(verify(out, ec256), 0);
		free(out);
		assert_int_equal(
		    acme_jws_sign(ec384, "k", "n", "u", payload, &out), 0);
		assert_int_equal(verify(out, ec384), 0);
		free(out);
	}
}

/* Rebuild a JWS with one member replaced. */
static char *
replace_member(const char *jws, const char *name, const char *value)
{
	cJSON *o = cJSON_Parse(jws);
	char *s;

	assert_non_null(o);
	cJSON_ReplaceItemInObjectCaseSensitive(o, name,
					       cJSON_CreateString(value));
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static void
tamper(EVP_PKEY *key, EVP_PKEY *other)
{
	char *out = NULL, *bad, b64[64], *sig;
	cJSON *o;
	size_t sl;

	assert_int_equal(
	    acme_jws_sign(key, NULL, "n", "https://u/", "{\"a\":1}", &out), 0);
	/* different payload, original signature */
	ad_b64url_encode((const uint8_t *)"{\"a\":2}", 7, b64);
	bad = replace_member(out, "payload", b64);
	assert_int_equal(verify(bad, NULL), AD_EAUTH);
	assert_int_equal(verify(bad, key), AD_EAUTH);
	cJSON_free(bad);

	/* one bit of the signature flipped (a middle character, so the
	 * base64url stays canonical) */
	o = cJSON_Parse(out);
	sig = strdup(str_member(o, "signature"));
	sl = strlen(sig);
	sig[sl / 2] = sig[sl / 2] == 'A' ? 'B' : 'A';
	bad = replace_member(out, "signature", sig);
	assert_int_equal(verify(bad, NULL), AD_EAUTH);
	cJSON_free(bad);
	/* signature one octet short (re-encoded, so still canonical) */
	{
		uint8_t *raw;
		size_t rl = member_decode(o, "signature", &raw);
		char short_b64[AD_B64URL_LEN(1024)];

		ad_b64url_encode(raw, rl - 1, short_b64);
		free(raw);
		bad = replace_member(out, "signature", short_b64);
	}
	assert_int_equal(verify(bad, key), AD_EAUTH);
	cJSON_free(bad);
	free(sig);
	cJSON_Delete(o);

	/* right form, wrong key */
	assert_int_equal(verify(out, other), AD_EAUTH);
	free(out);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_tamper(void **state)
{
	(void)state;
	tamper(ec256, ec256b);
	tamper(ec384, ec256);
	tamper(rsa2048, ec256);
	{
		EVP_PKEY *r2 = NULL;

		assert_int_equal(acme_key_generate(ACME_KEY_RSA2048, &r2), 0);
		tamper(rsa2048, r2);
		EVP_PKEY_free(r2);
	}
}

/* An "alg" that does not match the key is refused even if the bytes
 * would otherwise verify: ES256 header re-labelled ES384, and "none". */
static void
test_alg_mismatch(void **state)
{
	char *out = NULL, *bad, *hdr_text = NULL, b64[512];
	const char *algs[] = {"ES384", "RS256", "none", "HS256"};
	cJSON *o, *h;
	uint8_t *raw;
	size_t n;

	(void)state;
	assert_int_equal(acme_jws_sign(ec256, "kid", "n", "u", "{}", &out), 0);
	o = cJSON_Parse(out);
	n = member_decode(o, "protected", &raw);
	h = cJSON_ParseWithLength((const char *)raw, n);
	free(raw);
	for (size_t i = 0; i < 4; i++) {
		cJSON_ReplaceItemInObjectCaseSensitive(
		    h, "alg", cJSON_CreateString(algs[i]));
		hdr_text = cJSON_PrintUnformatted(h);
		ad_b64url_encode((const uint8_t *)hdr_text, strlen(hdr_text),
				 b64);
		cJSON_free(hdr_text);
		bad = replace_member(out, "protected", b64);
		assert_int_equal(verify(bad, ec256), AD_EAUTH);
		cJSON_free(bad);
	}
	cJSON_Delete(h);
	cJSON_Delete(o);
	/* the P-384 key sees an ES256 JWS */
	assert_int_equal(verify(out, ec384), AD_EAUTH);
	free(out);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[]",
	    "{}",
	    "{\"protected\":\"e30\",\"payload\":\"\"}",
	    "{\"protected\":1,\"payload\":\"\",\"signature\":\"AA\"}",
	    "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"A\"}",
	    "{\"protected\":\"!!\",\"payload\":\"\",\"signature\":\"AA\"}",
	    /* protected is base64url("not json") */
	    ("{\"protected\":\"bm90IGpzb24\",\"payload\":\"\","
	     "\"signature\":\"AA\"}"),
	    /* {} protected: no alg */
	    "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AA\"}",
	};
	char *out = NULL, *with_header, *h = (char *)1, *p = (char *)1;
	cJSON *o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    acme_jws_verify(bad[i], strlen(bad[i]), ec256, &h, &p),
		    AD_EMALF);
		assert_null(h);
		assert_null(p);
	}
	assert_int_equal(acme_jws_verify(NULL, 0, ec256, NULL, NULL), AD_EMALF);

	/* an unprotected header is refused (RFC 8555 §6.2) */
	assert_int_equal(acme_jws_sign(ec256, NULL, "n", "u", "{}", &out), 0);
	o = cJSON_Parse(out);
	cJSON_AddItemToObject(o, "header", cJSON_CreateObject());
	with_header = cJSON_PrintUnformatted(o);
	assert_int_equal(verify(with_header, NULL), AD_EMALF);
	cJSON_free(with_header);
	cJSON_Delete(o);
	/* the length bounds the parse: a prefix is not a JWS */
	assert_int_equal(
	    acme_jws_verify(out, strlen(out) - 1, NULL, NULL, NULL), AD_EMALF);
	free(out);

	/* signing arguments */
	assert_int_equal(acme_jws_sign(ec256, NULL, "n", NULL, "", &out),
			 AD_EINVAL);
	assert_int_equal(acme_jws_sign(ec256, NULL, "n", "u", NULL, &out),
			 AD_EINVAL);
	{
		EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

		assert_int_equal(acme_jws_sign(ed, NULL, "n", "u", "", &out),
				 AD_EUNSUP);
		assert_null(out);
		EVP_PKEY_free(ed);
	}
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_eab(void **state)
{
	static const uint8_t mac_key[] = "a shared secret of 32 bytes long";
	const char *url = "https://ca.test/acme/new-account";
	cJSON *eab = NULL, *h, *pj;
	uint8_t *raw, *sig, want[EVP_MAX_MD_SIZE];
	unsigned int wl = 0;
	char *input, *jt;
	size_t n;

	(void)state;
	assert_int_equal(acme_jws_eab("kid-123", mac_key, 32, ec256, url, &eab),
			 0);
	assert_int_equal(cJSON_GetArraySize(eab), 3);
	/* header */
	n = member_decode(eab, "protected", &raw);
	h = cJSON_ParseWithLength((const char *)raw, n);
	free(raw);
	assert_int_equal(cJSON_GetArraySize(h), 3);
	assert_string_equal(str_member(h, "alg"), "HS256");
	assert_string_equal(str_member(h, "kid"), "kid-123");
	assert_string_equal(str_member(h, "url"), url);
	assert_null(cJSON_GetObjectItem(h, "nonce"));
	cJSON_Delete(h);
	/* payload: the account key's JWK */
	n = member_decode(eab, "payload", &raw);
	pj = cJSON_ParseWithLength((const char *)raw, n);
	free(raw);
	jt = cJSON_PrintUnformatted(pj);
	{
		char *want_jwk = jwk_text(ec256);

		assert_string_equal(jt, want_jwk);
		cJSON_free(want_jwk);
	}
	cJSON_free(jt);
	cJSON_Delete(pj);
	/* MAC recomputed with HMAC() */
	input = malloc(strlen(str_member(eab, "protected")) +
		       strlen(str_member(eab, "payload")) + 2);
	sprintf(input, "%s.%s", str_member(eab, "protected"),
		str_member(eab, "payload"));
	assert_non_null(HMAC(EVP_sha256(), mac_key, 32,
			     (const unsigned char *)input, strlen(input), want,
			     &wl));
	assert_int_equal(wl, 32);
	assert_int_equal(member_decode(eab, "signature", &sig), 32);
	assert_memory_equal(sig, want, 32);
	free(sig);
	free(input);
	cJSON_Delete(eab);

	/* a different key gives a different MAC */
	assert_int_equal(acme_jws_eab("kid-123", mac_key, 31, ec256, url, &eab),
			 0);
	assert_int_equal(member_decode(eab, "signature", &sig), 32);
	assert_memory_not_equal(sig, want, 32);
	free(sig);
	cJSON_Delete(eab);

	assert_int_equal(acme_jws_eab("kid", mac_key, 0, ec256, url, &eab),
			 AD_EINVAL);
	assert_null(eab);
	assert_int_equal(acme_jws_eab(NULL, mac_key, 32, ec256, url, &eab),
			 AD_EINVAL);
	assert_int_equal(acme_jws_eab("", mac_key, 32, ec256, url, &eab),
			 AD_EINVAL);
}

/*
 * A "jwk" header the verifier cannot turn into a key: a point off the
 * curve (the y coordinate altered), a short coordinate, an unknown curve
 * or key type. All AD_EMALF, before any signature check.
 */
static void
test_bad_jwk(void **state)
{
	static const char *const edits[][2] = {
	    {"y", NULL}, /* NULL: flip the first character */
	    {"x", "AAAA"},
	    {"crv", "P-521"},
	    {"kty", "OKP"},
	};
	char *out = NULL;
	cJSON *o;
	uint8_t *raw;
	size_t n;

	(void)state;
	assert_int_equal(acme_jws_sign(ec256, NULL, "n", "u", "{}", &out), 0);
	o = cJSON_Parse(out);
	n = member_decode(o, "protected", &raw);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		cJSON *h = cJSON_ParseWithLength((const char *)raw, n);
		cJSON *jwk = cJSON_GetObjectItem(h, "jwk");
		char *text, *bad, b64[1024], v[128];

		if (edits[i][1] == NULL) {
			snprintf(v, sizeof(v), "%s",
				 str_member(jwk, edits[i][0]));
			v[0] = v[0] == 'A' ? 'B' : 'A';
		} else {
			snprintf(v, sizeof(v), "%s", edits[i][1]);
		}
		cJSON_ReplaceItemInObjectCaseSensitive(jwk, edits[i][0],
						       cJSON_CreateString(v));
		text = cJSON_PrintUnformatted(h);
		ad_b64url_encode((const uint8_t *)text, strlen(text), b64);
		bad = replace_member(out, "protected", b64);
		assert_int_equal(verify(bad, NULL), AD_EMALF);
		cJSON_free(bad);
		cJSON_free(text);
		cJSON_Delete(h);
	}
	free(raw);
	cJSON_Delete(o);
	free(out);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_keychange(void **state)
{
	const char *acct = "https://ca.test/acme/acct/42";
	const char *url = "https://ca.test/acme/key-change";
	char *out = NULL, *hdr = NULL, *pay = NULL, *t;
	cJSON *h, *p, *jwk;

	(void)state;
	assert_int_equal(acme_jws_keychange(rsa2048, ec384, acct, url, &out),
			 0);
	/* signed by the new key, not the old one */
	assert_int_equal(verify(out, ec384), 0);
	assert_int_equal(verify(out, rsa2048), AD_EAUTH);
	assert_int_equal(acme_jws_verify(out, strlen(out), NULL, &hdr, &pay),
			 0);
	h = cJSON_Parse(hdr);
	assert_string_equal(str_member(h, "alg"), "ES384");
	assert_string_equal(str_member(h, "url"), url);
	assert_null(cJSON_GetObjectItem(h, "nonce"));
	assert_null(cJSON_GetObjectItem(h, "kid"));
	jwk = cJSON_GetObjectItem(h, "jwk");
	t = cJSON_PrintUnformatted(jwk);
	{
		char *want = jwk_text(ec384);

		assert_string_equal(t, want);
		cJSON_free(want);
	}
	cJSON_free(t);
	cJSON_Delete(h);

	p = cJSON_Parse(pay);
	assert_int_equal(cJSON_GetArraySize(p), 2);
	assert_string_equal(str_member(p, "account"), acct);
	t = cJSON_PrintUnformatted(cJSON_GetObjectItem(p, "oldKey"));
	{
		char *want = jwk_text(rsa2048);

		assert_string_equal(t, want);
		cJSON_free(want);
	}
	cJSON_free(t);
	cJSON_Delete(p);
	free(hdr);
	free(pay);
	free(out);

	/* the inner JWS can be nested as the outer payload and still verify */
	{
		char *inner = NULL, *outer = NULL, *got = NULL;

		assert_int_equal(
		    acme_jws_keychange(ec256, ec256b, acct, url, &inner), 0);
		assert_int_equal(
		    acme_jws_sign(ec256, acct, "nonce", url, inner, &outer), 0);
		assert_int_equal(
		    acme_jws_verify(outer, strlen(outer), ec256, NULL, &got),
		    0);
		assert_string_equal(got, inner);
		assert_int_equal(verify(got, ec256b), 0);
		free(got);
		free(inner);
		free(outer);
	}
	{
		EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

		assert_int_equal(acme_jws_keychange(ec256, ed, acct, url, &out),
				 AD_EUNSUP);
		assert_int_equal(acme_jws_keychange(ed, ec256, acct, url, &out),
				 AD_EUNSUP);
		EVP_PKEY_free(ed);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_es256),
	    cmocka_unit_test(test_roundtrip_es384),
	    cmocka_unit_test(test_roundtrip_rs256),
	    cmocka_unit_test(test_ec_signature_padding),
	    cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_alg_mismatch),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_eab),
	    cmocka_unit_test(test_bad_jwk),
	    cmocka_unit_test(test_keychange),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
