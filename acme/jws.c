/* SPDX-License-Identifier: MIT */
/*
 * JSON Web Signatures for ACME (RFC 8555 §6.2) in the flattened JSON
 * serialization of RFC 7515 §7.2.2: signing requests with the account key
 * (ES256/ES384 with raw r||s signatures per RFC 7518 §3.4, RS256), the
 * HS256 External Account Binding (§7.3.4), the inner JWS of a key change
 * (§7.3.5), and verification for tests and the scripted fake CA. JSON is
 * built with cJSON, never with printf templates. This file must stay pure
 * (no I/O, no logging) and must not touch private key bytes beyond handing
 * the EVP_PKEY to OpenSSL; the EAB MAC key is the caller's to cleanse.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "acme/jws.h"
#include "acme/pki.h"
#include "common/base64.h"
#include "common/errors.h"
#include "common/util.h"
#include "common/xalloc.h"

/* Bounds on what acme_jws_verify will decode: a JWS of ours is a few KiB;
 * 1 MiB of JSON is far beyond any ACME request. */
#define JWS_MAX_TEXT (1u << 20)
/* An RSA-4096 modulus is 512 bytes; allow up to RSA-8192 in a JWK. */
#define JWS_MAX_SIG 1024

static int
ossl_fail(int code)
{
	ERR_clear_error();
	return code;
}

/* malloc'd base64url of n bytes. */
static char *
b64url_dup(const void *data, size_t n)
{
	char *s = xmalloc(AD_B64URL_LEN(n));

	ad_b64url_encode(data, n, s);
	return s;
}

/* cJSON's printed text as a plain malloc'd string (free()), so callers
 * never depend on which allocator cJSON was built with. */
static char *
json_print(const cJSON *obj)
{
	char *p = cJSON_PrintUnformatted(obj);
	char *s;

	if (p == NULL)
		return NULL;
	s = xstrdup(p);
	cJSON_free(p);
	return s;
}

/* malloc'd "a.b": the JWS signing input (RFC 7515 §5.1). *len: its
 * length. */
static char *
dot_join(const char *a, const char *b, size_t *len)
{
	size_t al = strlen(a), bl = strlen(b);
	char *s = xmalloc(al + 1 + bl + 1);

	memcpy(s, a, al);
	s[al] = '.';
	memcpy(s + al + 1, b, bl + 1);
	*len = al + 1 + bl;
	return s;
}

/* Size of each of r and s in the JWS form of an ECDSA signature (RFC 7518
 * §3.4), 0 for non-EC algorithms. */
static int
ec_coord_size(const char *alg)
{
	if (strcmp(alg, "ES256") == 0)
		return 32;
	if (strcmp(alg, "ES384") == 0)
		return 48;
	return 0;
}

static const EVP_MD *
alg_md(const char *alg)
{
	if (strcmp(alg, "ES384") == 0)
		return EVP_sha384();
	return EVP_sha256();
}

/* DER ECDSA-Sig-Value -> r||s, each left-padded to size bytes. */
static int
ecdsa_der_to_raw(const uint8_t *der, size_t der_len, int size, uint8_t *raw)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	int rc = 0;

	if (der_len > LONG_MAX)
		return AD_ECRYPTO;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (sig == NULL)
		return ossl_fail(AD_ECRYPTO);
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, size) != size ||
	    BN_bn2binpad(s, raw + size, size) != size)
		rc = AD_ECRYPTO;
	ECDSA_SIG_free(sig);
	return rc == 0 ? 0 : ossl_fail(rc);
}

/* r||s -> malloc'd DER ECDSA-Sig-Value. */
static int
ecdsa_raw_to_der(const uint8_t *raw, int size, uint8_t **der, size_t *len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, size, NULL);
	BIGNUM *s = BN_bin2bn(raw + size, size, NULL);
	unsigned char *buf = NULL;
	int n;

	if (sig == NULL || r == NULL || s == NULL ||
	    ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return ossl_fail(AD_ECRYPTO);
	}
	n = i2d_ECDSA_SIG(sig, &buf);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return ossl_fail(AD_ECRYPTO);
	*der = xmemdup(buf, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(buf);
	return 0;
}

/* JWS signature of input (already "protected.payload") in its JWS form. */
static int
sign_input(EVP_PKEY *key, const char *alg, const char *input, char **sig_b64)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *sig = NULL;
	size_t slen = 0;
	int size = ec_coord_size(alg), rc = AD_ECRYPTO;

	*sig_b64 = NULL;
	if (ctx == NULL)
		return ossl_fail(AD_ECRYPTO);
	/* RS256 is RSASSA-PKCS1-v1_5 (RFC 7518 §3.3), the RSA default */
	if (EVP_DigestSignInit(ctx, NULL, alg_md(alg), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &slen, (const unsigned char *)input,
			   strlen(input)) != 1)
		goto out;
	sig = xmalloc(slen);
	if (EVP_DigestSign(ctx, sig, &slen, (const unsigned char *)input,
			   strlen(input)) != 1)
		goto out;
	if (size > 0) {
		/* RFC 7518 §3.4: JWS carries R||S, not the DER of X9.62 */
		uint8_t raw[2 * 48];

		if (ecdsa_der_to_raw(sig, slen, size, raw) != 0)
			goto out;
		*sig_b64 = b64url_dup(raw, 2 * (size_t)size);
	} else {
		*sig_b64 = b64url_dup(sig, slen);
	}
	rc = 0;
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return rc == 0 ? 0 : ossl_fail(rc);
}

/* HS256 = HMAC-SHA-256 (RFC 7518 §3.2) of input, base64url. The MAC is
 * cleansed here; the key stays the caller's. */
static int
sign_mac(const uint8_t *key, size_t key_len, const char *input, size_t len,
	 char **sig_b64)
{
	uint8_t mac[32];
	size_t mac_len = 0;
	int rc = 0;

	*sig_b64 = NULL;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len,
		      (const unsigned char *)input, len, mac, sizeof(mac),
		      &mac_len) == NULL ||
	    mac_len != sizeof(mac))
		rc = ossl_fail(AD_ECRYPTO);
	else
		*sig_b64 = b64url_dup(mac, mac_len);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* Who signs a JWS: the account key with its alg, or (mac != NULL) the
 * External Account Binding MAC key. */
struct signer {
	EVP_PKEY *key;
	const char *alg;
	const uint8_t *mac;
	size_t mac_len;
};

/*
 * Assemble the flattened JWS around a protected header object and a
 * payload text; hdr is borrowed. *out: a new cJSON object.
 */
static int
jws_build(const struct signer *sg, const cJSON *hdr, const char *payload,
	  cJSON **out)
{
	char *hdr_text, *hdr_b64, *pay_b64, *input, *sig_b64 = NULL;
	size_t len;
	cJSON *jws;
	int rc;

	*out = NULL;
	hdr_text = json_print(hdr);
	if (hdr_text == NULL)
		return AD_ENOMEM;
	hdr_b64 = b64url_dup(hdr_text, strlen(hdr_text));
	free(hdr_text);
	/* RFC 8555 §6.3: POST-as-GET has the empty payload "" */
	pay_b64 = b64url_dup(payload, strlen(payload));
	/* RFC 7515 §5.1: signing input is ASCII(prot) || '.' || ASCII(pay) */
	input = dot_join(hdr_b64, pay_b64, &len);
	if (sg->mac != NULL)
		rc = sign_mac(sg->mac, sg->mac_len, input, len, &sig_b64);
	else
		rc = sign_input(sg->key, sg->alg, input, &sig_b64);
	free(input);
	if (rc != 0)
		goto out;
	rc = AD_ENOMEM;
	jws = cJSON_CreateObject();
	if (jws == NULL)
		goto out;
	if (cJSON_AddStringToObject(jws, "protected", hdr_b64) == NULL ||
	    cJSON_AddStringToObject(jws, "payload", pay_b64) == NULL ||
	    cJSON_AddStringToObject(jws, "signature", sig_b64) == NULL) {
		cJSON_Delete(jws);
		goto out;
	}
	*out = jws;
	rc = 0;
out:
	free(hdr_b64);
	free(pay_b64);
	free(sig_b64);
	return rc;
}

/* The protected header {"alg", "kid" | "jwk", ["nonce"], "url"}. */
static int
make_header(EVP_PKEY *key, const char *alg, const char *kid, const char *nonce,
	    const char *url, cJSON **out)
{
	cJSON *hdr = cJSON_CreateObject();
	cJSON *jwk = NULL;
	int rc;

	*out = NULL;
	if (hdr == NULL)
		return AD_ENOMEM;
	if (cJSON_AddStringToObject(hdr, "alg", alg) == NULL)
		goto nomem;
	/* RFC 8555 §6.2: "jwk" and "kid" are mutually exclusive; kid for
	 * every request after newAccount */
	if (kid != NULL) {
		if (cJSON_AddStringToObject(hdr, "kid", kid) == NULL)
			goto nomem;
	} else {
		rc = acme_jwk(key, &jwk);
		if (rc != 0) {
			cJSON_Delete(hdr);
			return rc;
		}
		if (!cJSON_AddItemToObject(hdr, "jwk", jwk)) {
			cJSON_Delete(jwk);
			goto nomem;
		}
	}
	if (nonce != NULL &&
	    cJSON_AddStringToObject(hdr, "nonce", nonce) == NULL)
		goto nomem;
	if (cJSON_AddStringToObject(hdr, "url", url) == NULL)
		goto nomem;
	*out = hdr;
	return 0;
nomem:
	cJSON_Delete(hdr);
	return AD_ENOMEM;
}

static int
sign_to_text(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
	     const char *payload, char **out)
{
	struct signer sg = {.key = key, .alg = acme_key_alg(key)};
	cJSON *hdr, *jws;
	int rc;

	if (sg.alg == NULL)
		return AD_EUNSUP;
	rc = make_header(key, sg.alg, kid, nonce, url, &hdr);
	if (rc != 0)
		return rc;
	rc = jws_build(&sg, hdr, payload, &jws);
	cJSON_Delete(hdr);
	if (rc != 0)
		return rc;
	*out = json_print(jws);
	cJSON_Delete(jws);
	return *out != NULL ? 0 : AD_ENOMEM;
}

int
acme_jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
	      const char *url, const char *payload, char **out)
{
	if (out == NULL)
		return AD_EINVAL;
	*out = NULL;
	if (key == NULL || url == NULL || payload == NULL)
		return AD_EINVAL;
	return sign_to_text(key, kid, nonce, url, payload, out);
}

int
acme_jws_eab(const char *eab_kid, const uint8_t *hmac_key, size_t key_len,
	     EVP_PKEY *account_key, const char *url, struct cJSON **out)
{
	struct signer sg = {.mac = hmac_key, .mac_len = key_len};
	char *jwk_text = NULL;
	cJSON *hdr = NULL, *jwk = NULL;
	int rc;

	if (out == NULL)
		return AD_EINVAL;
	*out = NULL;
	if (eab_kid == NULL || eab_kid[0] == '\0' || hmac_key == NULL ||
	    key_len == 0 || account_key == NULL || url == NULL)
		return AD_EINVAL;
	/* RFC 8555 §7.3.4: the payload is the account key's JWK */
	rc = acme_jwk(account_key, &jwk);
	if (rc != 0)
		return rc;
	rc = AD_ENOMEM;
	jwk_text = json_print(jwk);
	hdr = cJSON_CreateObject();
	if (jwk_text == NULL || hdr == NULL ||
	    cJSON_AddStringToObject(hdr, "alg", "HS256") == NULL ||
	    cJSON_AddStringToObject(hdr, "kid", eab_kid) == NULL ||
	    cJSON_AddStringToObject(hdr, "url", url) == NULL)
		goto out;
	rc = jws_build(&sg, hdr, jwk_text, out);
out:
	free(jwk_text);
	cJSON_Delete(hdr);
	cJSON_Delete(jwk);
	return rc;
}

int
acme_jws_keychange(EVP_PKEY *old_key, EVP_PKEY *new_key,
		   const char *account_url, const char *url, char **out)
{
	cJSON *payload, *old_jwk = NULL;
	char *text;
	int rc;

	if (out == NULL)
		return AD_EINVAL;
	*out = NULL;
	if (old_key == NULL || new_key == NULL || account_url == NULL ||
	    url == NULL)
		return AD_EINVAL;
	if (acme_key_alg(new_key) == NULL)
		return AD_EUNSUP;
	rc = acme_jwk(old_key, &old_jwk);
	if (rc != 0)
		return rc;
	payload = cJSON_CreateObject();
	if (payload == NULL ||
	    cJSON_AddStringToObject(payload, "account", account_url) == NULL ||
	    !cJSON_AddItemToObject(payload, "oldKey", old_jwk)) {
		cJSON_Delete(payload);
		cJSON_Delete(old_jwk);
		return AD_ENOMEM;
	}
	text = json_print(payload);
	cJSON_Delete(payload);
	if (text == NULL)
		return AD_ENOMEM;
	/* RFC 8555 §7.3.5: inner JWS has "jwk" (the new key), "url" equal to
	 * the outer one, and no "nonce" */
	rc = sign_to_text(new_key, NULL, NULL, url, text, out);
	free(text);
	return rc;
}

/* malloc'd NUL-terminated decoding of a base64url member; 0 or AD_EMALF. */
static int
b64url_member(const cJSON *obj, const char *name, uint8_t **out,
	      size_t *out_len)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	const char *s;
	size_t sl;
	uint8_t *buf;
	int n;

	*out = NULL;
	*out_len = 0;
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return AD_EMALF;
	s = it->valuestring;
	sl = strlen(s);
	if (sl > JWS_MAX_TEXT)
		return AD_EMALF;
	buf = xmalloc(sl / 4 * 3 + 3 + 1);
	n = ad_b64url_decode(s, sl, buf, sl / 4 * 3 + 3);
	if (n < 0) {
		free(buf);
		return AD_EMALF;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = (size_t)n;
	return 0;
}

/* A public key from a JWK object (EC P-256/P-384 or RSA). 0, AD_EMALF. */
static int
jwk_to_key(const cJSON *jwk, EVP_PKEY **out)
{
	const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t *a = NULL, *b = NULL, *pt = NULL;
	size_t al, bl;
	const char *type;
	int rc = AD_EMALF;

	*out = NULL;
	if (!cJSON_IsObject(jwk) || !cJSON_IsString(kty))
		return AD_EMALF;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL)
		return ossl_fail(AD_ECRYPTO);
	if (strcmp(kty->valuestring, "EC") == 0) {
		const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
		const char *group;
		size_t fs;

		type = "EC";
		if (!cJSON_IsString(crv))
			goto out;
		if (strcmp(crv->valuestring, "P-256") == 0) {
			group = "prime256v1";
			fs = 32;
		} else if (strcmp(crv->valuestring, "P-384") == 0) {
			group = "secp384r1";
			fs = 48;
		} else {
			goto out;
		}
		/* RFC 7518 §6.2.1.2: coordinates are exactly field-sized */
		if (b64url_member(jwk, "x", &a, &al) != 0 ||
		    b64url_member(jwk, "y", &b, &bl) != 0 || al != fs ||
		    bl != fs)
			goto out;
		/* SEC 1 §2.3.3 uncompressed point: 04 || X || Y */
		pt = xmalloc(1 + 2 * fs);
		pt[0] = 0x04;
		memcpy(pt + 1, a, fs);
		memcpy(pt + 1 + fs, b, fs);
		if (OSSL_PARAM_BLD_push_utf8_string(
			bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(
			bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * fs) != 1)
			goto out;
	} else if (strcmp(kty->valuestring, "RSA") == 0) {
		type = "RSA";
		if (b64url_member(jwk, "n", &a, &al) != 0 ||
		    b64url_member(jwk, "e", &b, &bl) != 0 || al == 0 ||
		    al > JWS_MAX_SIG || bl == 0 || bl > 8)
			goto out;
		n = BN_bin2bn(a, (int)al, NULL);
		e = BN_bin2bn(b, (int)bl, NULL);
		if (n == NULL || e == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) !=
			1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
			goto out;
	} else {
		goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	/* fromdata checks an EC point is on the curve */
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		*out = NULL;
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(a);
	free(b);
	free(pt);
	return rc == 0 ? 0 : ossl_fail(rc);
}

/* 1 if sig (JWS form) is valid for input under key/alg, 0 if not. */
static int
verify_input(EVP_PKEY *key, const char *alg, const char *input,
	     size_t input_len, const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int size = ec_coord_size(alg), ok = 0;

	if (size > 0) {
		/* exactly 2 * size octets (RFC 7518 §3.4); DER is refused */
		if (sig_len != 2 * (size_t)size ||
		    ecdsa_raw_to_der(sig, size, &der, &der_len) != 0)
			return 0;
		sig = der;
		sig_len = der_len;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, alg_md(alg), NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input,
			     input_len) == 1)
		ok = 1;
	EVP_MD_CTX_free(ctx);
	free(der);
	ERR_clear_error();
	return ok;
}

int
acme_jws_verify(const char *jws, size_t len, EVP_PKEY *key,
		char **protected_hdr, char **payload)
{
	cJSON *root = NULL, *hdr = NULL;
	const cJSON *prot, *pay, *alg;
	uint8_t *hdr_text = NULL, *pay_text = NULL, *sig = NULL;
	size_t hdr_len, pay_len, sig_len, input_len;
	EVP_PKEY *jwk_key = NULL;
	const char *key_alg;
	char *input = NULL;
	int rc = AD_EMALF;

	if (protected_hdr != NULL)
		*protected_hdr = NULL;
	if (payload != NULL)
		*payload = NULL;
	if (jws == NULL || len == 0 || len > JWS_MAX_TEXT)
		return AD_EMALF;
	root = cJSON_ParseWithLength(jws, len);
	if (!cJSON_IsObject(root))
		goto out;
	/* RFC 8555 §6.2: flattened form, no unprotected header */
	if (cJSON_GetObjectItemCaseSensitive(root, "header") != NULL)
		goto out;
	prot = cJSON_GetObjectItemCaseSensitive(root, "protected");
	pay = cJSON_GetObjectItemCaseSensitive(root, "payload");
	if (!cJSON_IsString(prot) || !cJSON_IsString(pay))
		goto out;
	if (b64url_member(root, "protected", &hdr_text, &hdr_len) != 0 ||
	    b64url_member(root, "payload", &pay_text, &pay_len) != 0 ||
	    b64url_member(root, "signature", &sig, &sig_len) != 0)
		goto out;
	/* the decoded texts are handed out as C strings */
	if (memchr(hdr_text, '\0', hdr_len) != NULL ||
	    memchr(pay_text, '\0', pay_len) != NULL)
		goto out;
	hdr = cJSON_ParseWithLength((const char *)hdr_text, hdr_len);
	if (!cJSON_IsObject(hdr))
		goto out;
	alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	if (!cJSON_IsString(alg))
		goto out;
	if (key == NULL) {
		rc = jwk_to_key(cJSON_GetObjectItemCaseSensitive(hdr, "jwk"),
				&jwk_key);
		if (rc != 0)
			goto out;
		key = jwk_key;
	}
	/* RFC 8555 §6.2: "none" and MACs are refused; the algorithm must
	 * be the one of the key (no ES384 over a P-256 key) */
	rc = AD_EAUTH;
	key_alg = acme_key_alg(key);
	if (key_alg == NULL || strcmp(key_alg, alg->valuestring) != 0)
		goto out;
	input = dot_join(prot->valuestring, pay->valuestring, &input_len);
	if (!verify_input(key, key_alg, input, input_len, sig, sig_len))
		goto out;
	if (protected_hdr != NULL) {
		*protected_hdr = (char *)hdr_text;
		hdr_text = NULL;
	}
	if (payload != NULL) {
		*payload = (char *)pay_text;
		pay_text = NULL;
	}
	rc = 0;
out:
	EVP_PKEY_free(jwk_key);
	cJSON_Delete(root);
	cJSON_Delete(hdr);
	free(hdr_text);
	free(pay_text);
	free(sig);
	free(input);
	return rc;
}
