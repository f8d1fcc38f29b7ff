/* SPDX-License-Identifier: MIT */
/*
 * Keys, CSRs and certificates for the ACME engine, on OpenSSL 3's EVP and
 * provider parameter APIs only (no RSA_/EC_KEY_ calls). This file owns key
 * generation and PEM round trips, the JWK of a public key and its RFC 7638
 * thumbprint, the dns-01 key authorization digest, the syntax of
 * certificate names, CSR creation and the checking of user-supplied CSRs, and
 * the parsing of issued chains (leaf facts, TLSA data, the RFC 9773 ARI
 * identifier). It must stay pure: no I/O other than memory BIOs, no logging, no
 * clock, and private key bytes are cleansed before their memory is released.
 * Everything read from a CA or a user is treated as hostile: lengths are
 * checked before use and the OpenSSL error queue is cleared on every failure
 * path so one bad input cannot leak stale errors into the next call.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/pki.h"
#include "common/base64.h"
#include "common/errors.h"
#include "common/util.h"
#include "common/xalloc.h"

/* RFC 8555 does not cap identifiers per order; CAs do (Let's Encrypt:
 * 100), and so do we for user CSRs. */
#define PKI_MAX_NAMES 100
/* A DNS name in presentation form without the trailing dot (RFC 1035
 * §2.3.4: 255 octets on the wire). */
#define PKI_MAX_NAME_LEN 253
/* RFC 5280 Appendix A: ub-common-name 64. */
#define PKI_MAX_CN_LEN 64
/* No PEM we accept (a CSR, a key, a chain of 8) is anywhere near this. */
#define PKI_MAX_PEM (1u << 20)

static const struct {
	const char *name;
	enum acme_keytype type;
} keytypes[] = {
    {"ec256", ACME_KEY_EC256},     {"ec384", ACME_KEY_EC384},
    {"rsa2048", ACME_KEY_RSA2048}, {"rsa3072", ACME_KEY_RSA3072},
    {"rsa4096", ACME_KEY_RSA4096},
};

/* Never prompt on a terminal for a passphrase: encrypted PEM is refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Failure exit for OpenSSL calls: drop the queued errors, keep the code. */
static int
ossl_fail(int code)
{
	ERR_clear_error();
	return code;
}

static void
ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int
sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int olen = 0;

	if (EVP_Digest(data, len, out, &olen, EVP_sha256(), NULL) != 1 ||
	    olen != 32)
		return ossl_fail(AD_ECRYPTO);
	return 0;
}

/* Read-only memory BIO over caller bytes; NULL when len is out of range. */
static BIO *
mem_bio(const char *data, size_t len)
{
	if (data == NULL || len == 0 || len > PKI_MAX_PEM)
		return NULL;
	return BIO_new_mem_buf(data, (int)len);
}

int
acme_keytype_parse(const char *s, enum acme_keytype *out)
{
	if (s == NULL || out == NULL)
		return AD_EINVAL;
	for (size_t i = 0; i < AD_ARRAY_SIZE(keytypes); i++) {
		if (strcmp(s, keytypes[i].name) == 0) {
			*out = keytypes[i].type;
			return 0;
		}
	}
	return AD_EINVAL;
}

const char *
acme_keytype_name(enum acme_keytype t)
{
	for (size_t i = 0; i < AD_ARRAY_SIZE(keytypes); i++)
		if (keytypes[i].type == t)
			return keytypes[i].name;
	return "unknown";
}

int
acme_key_generate(enum acme_keytype t, EVP_PKEY **out)
{
	EVP_PKEY *key = NULL;

	if (out == NULL)
		return AD_EINVAL;
	*out = NULL;
	/* EVP_PKEY_Q_keygen uses the default public exponent 65537 for RSA
	 * (RFC 8017 recommends it; CAs reject e = 3). */
	switch (t) {
	case ACME_KEY_EC256:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case ACME_KEY_EC384:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case ACME_KEY_RSA2048:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case ACME_KEY_RSA3072:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case ACME_KEY_RSA4096:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	default:
		return AD_EINVAL;
	}
	if (key == NULL)
		return ossl_fail(AD_ECRYPTO);
	*out = key;
	return 0;
}

/* NID of an EC key's named curve, or NID_undef. */
static int
ec_curve_nid(EVP_PKEY *key)
{
	char name[64];
	size_t len = 0;
	int nid;

	if (!EVP_PKEY_is_a(key, "EC"))
		return NID_undef;
	if (EVP_PKEY_get_group_name(key, name, sizeof(name), &len) != 1) {
		ERR_clear_error();
		return NID_undef;
	}
	/* providers report "prime256v1"; accept the NIST spelling too */
	nid = EC_curve_nist2nid(name);
	if (nid == NID_undef)
		nid = OBJ_sn2nid(name);
	return nid;
}

int
acme_key_type(EVP_PKEY *key, enum acme_keytype *out)
{
	int bits;

	if (key == NULL || out == NULL)
		return AD_EINVAL;
	if (EVP_PKEY_is_a(key, "EC")) {
		switch (ec_curve_nid(key)) {
		case NID_X9_62_prime256v1:
			*out = ACME_KEY_EC256;
			return 0;
		case NID_secp384r1:
			*out = ACME_KEY_EC384;
			return 0;
		default:
			return AD_EUNSUP;
		}
	}
	if (EVP_PKEY_is_a(key, "RSA")) {
		bits = EVP_PKEY_get_bits(key);
		if (bits <= 0)
			return AD_EUNSUP;
		if (bits <= 2048)
			*out = ACME_KEY_RSA2048;
		else if (bits <= 3072)
			*out = ACME_KEY_RSA3072;
		else if (bits <= 4096)
			*out = ACME_KEY_RSA4096;
		else
			return AD_EUNSUP;
		return 0;
	}
	return AD_EUNSUP;
}

int
acme_key_to_pem(EVP_PKEY *key, char **pem)
{
	BIO *bio;
	char *data = NULL;
	long n;
	int rc = AD_ECRYPTO;

	if (key == NULL || pem == NULL)
		return AD_EINVAL;
	*pem = NULL;
	/* secure-heap memory BIO: its buffer is cleansed when freed */
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL)
		return ossl_fail(AD_ECRYPTO);
	if (PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL,
					  NULL) != 1)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || data == NULL)
		goto out;
	*pem = xmalloc((size_t)n + 1);
	memcpy(*pem, data, (size_t)n);
	(*pem)[n] = '\0';
	rc = 0;
out:
	BIO_free(bio);
	return rc == 0 ? 0 : ossl_fail(rc);
}

int
acme_key_from_pem(const char *pem, size_t len, EVP_PKEY **out)
{
	BIO *bio;
	EVP_PKEY *key;

	if (out == NULL)
		return AD_EINVAL;
	*out = NULL;
	bio = mem_bio(pem, len);
	if (bio == NULL)
		return ossl_fail(AD_EMALF);
	/* PEM_read_bio_PrivateKey takes PKCS#8 and the traditional
	 * "RSA/EC PRIVATE KEY" forms alike */
	key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (key == NULL)
		return ossl_fail(AD_EMALF);
	*out = key;
	return 0;
}

void
acme_secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

const char *
acme_key_alg(EVP_PKEY *key)
{
	enum acme_keytype t;

	if (key == NULL || acme_key_type(key, &t) != 0)
		return NULL;
	switch (t) {
	case ACME_KEY_EC256:
		return "ES256";
	case ACME_KEY_EC384:
		return "ES384";
	default:
		return "RS256";
	}
}

/* base64url of a non-negative BIGNUM; pad > 0 left-pads to that many
 * bytes (EC coordinates, RFC 7518 §6.2.1.2), pad == 0 uses the minimal
 * big-endian form (RSA n and e, RFC 7518 §6.3.1.1). */
static char *
bn_b64url(const BIGNUM *bn, int pad)
{
	int nbytes = pad > 0 ? pad : BN_num_bytes(bn);
	uint8_t *buf;
	char *s;

	if (BN_is_negative(bn) || nbytes <= 0 || nbytes > 1024 ||
	    BN_num_bytes(bn) > nbytes)
		return NULL;
	buf = xmalloc((size_t)nbytes);
	if (BN_bn2binpad(bn, buf, nbytes) != nbytes) {
		free(buf);
		return NULL;
	}
	s = xmalloc(AD_B64URL_LEN((size_t)nbytes));
	ad_b64url_encode(buf, (size_t)nbytes, s);
	free(buf);
	return s;
}

/* A new object of string members from kv = {name, value, name, value...},
 * in that order; NULL on allocation failure. */
static cJSON *
string_object(const char *const *kv, size_t n)
{
	cJSON *obj = cJSON_CreateObject();

	for (size_t i = 0; obj != NULL && i + 1 < n; i += 2) {
		if (cJSON_AddStringToObject(obj, kv[i], kv[i + 1]) == NULL) {
			cJSON_Delete(obj);
			obj = NULL;
		}
	}
	return obj;
}

/*
 * The members are added in the lexicographic order RFC 7638 §3.2 requires
 * for the thumbprint, EC {crv, kty, x, y} and RSA {e, kty, n}, and cJSON
 * keeps insertion order: the object prints in canonical form as it is.
 */
int
acme_jwk(EVP_PKEY *key, struct cJSON **out)
{
	BIGNUM *a = NULL, *b = NULL;
	char *sa = NULL, *sb = NULL;
	const char *pa, *pb;
	enum acme_keytype t;
	cJSON *obj;
	bool ec;
	int rc, pad;

	if (key == NULL || out == NULL)
		return AD_EINVAL;
	*out = NULL;
	rc = acme_key_type(key, &t);
	if (rc != 0)
		return rc;
	/* the two numbers of the key: EC x, y (field-sized) or RSA e, n */
	ec = t == ACME_KEY_EC256 || t == ACME_KEY_EC384;
	pa = ec ? OSSL_PKEY_PARAM_EC_PUB_X : OSSL_PKEY_PARAM_RSA_E;
	pb = ec ? OSSL_PKEY_PARAM_EC_PUB_Y : OSSL_PKEY_PARAM_RSA_N;
	pad = !ec ? 0 : t == ACME_KEY_EC256 ? 32 : 48;
	rc = AD_ECRYPTO;
	if (EVP_PKEY_get_bn_param(key, pa, &a) != 1 ||
	    EVP_PKEY_get_bn_param(key, pb, &b) != 1)
		goto out;
	sa = bn_b64url(a, pad);
	sb = bn_b64url(b, pad);
	if (sa == NULL || sb == NULL)
		goto out;
	rc = AD_ENOMEM;
	if (ec) {
		const char *crv = t == ACME_KEY_EC256 ? "P-256" : "P-384";
		const char *kv[] = {"crv", crv, "kty", "EC", "x", sa, "y", sb};
		obj = string_object(kv, AD_ARRAY_SIZE(kv));
	} else {
		const char *kv[] = {"e", sa, "kty", "RSA", "n", sb};
		obj = string_object(kv, AD_ARRAY_SIZE(kv));
	}
	if (obj == NULL)
		goto out;
	*out = obj;
	rc = 0;
out:
	free(sa);
	free(sb);
	BN_free(a);
	BN_free(b);
	return rc == AD_ECRYPTO ? ossl_fail(rc) : rc;
}

int
acme_jwk_thumbprint(EVP_PKEY *key, char out[ACME_THUMB_LEN + 1])
{
	uint8_t digest[32];
	cJSON *jwk;
	char *json;
	int rc;

	if (key == NULL || out == NULL)
		return AD_EINVAL;
	rc = acme_jwk(key, &jwk);
	if (rc != 0)
		return rc;
	/* RFC 7638 §3: the required members only, sorted, no whitespace:
	 * what cJSON prints of acme_jwk()'s object. The values are
	 * base64url or fixed names, so no JSON escaping ever happens. */
	json = cJSON_PrintUnformatted(jwk);
	cJSON_Delete(jwk);
	if (json == NULL)
		return AD_ENOMEM;
	rc = sha256(json, strlen(json), digest);
	cJSON_free(json);
	if (rc != 0)
		return rc;
	ad_b64url_encode(digest, sizeof(digest), out);
	return 0;
}

static bool
is_b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
acme_dns01_value(const char *token, const char *thumb,
		 char out[ACME_THUMB_LEN + 1])
{
	char keyauth[256 + 1 + ACME_THUMB_LEN + 1];
	uint8_t digest[32];
	size_t tl;
	int rc;

	if (token == NULL || thumb == NULL || out == NULL)
		return AD_EINVAL;
	tl = strlen(token);
	if (tl == 0 || tl > 256 || strlen(thumb) != ACME_THUMB_LEN)
		return AD_EINVAL;
	/* RFC 8555 §8.1: the token is base64url; anything else is a CA bug
	 * we refuse rather than publish a value no validator will match. */
	for (size_t i = 0; i < tl; i++)
		if (!is_b64url_char(token[i]))
			return AD_EINVAL;
	/* RFC 8555 §8.1 key authorization = token || '.' || thumbprint;
	 * §8.4 TXT value = base64url(SHA-256(key authorization)) */
	memcpy(keyauth, token, tl);
	keyauth[tl] = '.';
	memcpy(keyauth + tl + 1, thumb, ACME_THUMB_LEN);
	rc = sha256(keyauth, tl + 1 + ACME_THUMB_LEN, digest);
	if (rc != 0)
		return rc;
	ad_b64url_encode(digest, sizeof(digest), out);
	return 0;
}

/* One host name label: 1..63 of [a-z0-9-], no '-' at either end (RFC 1123
 * §2.1, lower case only). */
static bool
label_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

bool
acme_name_valid(const char *name, size_t len)
{
	size_t start;

	if (name == NULL || len == 0 || len > PKI_MAX_NAME_LEN)
		return false;
	/* RFC 8555 §7.1.3: a wildcard only as the whole leftmost label */
	start = len >= 2 && name[0] == '*' && name[1] == '.' ? 2 : 0;
	if (start == len)
		return false;
	for (size_t i = start; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		if (!label_ok(name + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

/* A name we are willing to put in, or take out of, a CSR: 1..253 bytes
 * of printable ASCII without spaces (the CA checks the finer DNS rules;
 * a user CSR may name what our own names refuse, e.g. upper case). */
static bool
name_ok(const char *s, size_t len)
{
	if (len == 0 || len > PKI_MAX_NAME_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

int
acme_csr_make(EVP_PKEY *key, const char *const *names, size_t n, uint8_t **der,
	      size_t *der_len)
{
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	GENERAL_NAMES *gens = NULL;
	X509_EXTENSION *ext = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	unsigned char *buf = NULL, *p;
	int len, rc = AD_ECRYPTO;

	if (key == NULL || names == NULL || n == 0 || der == NULL ||
	    der_len == NULL)
		return AD_EINVAL;
	*der = NULL;
	*der_len = 0;
	for (size_t i = 0; i < n; i++)
		if (names[i] == NULL || !name_ok(names[i], strlen(names[i])))
			return AD_EINVAL;

	req = X509_REQ_new();
	subj = X509_NAME_new();
	gens = GENERAL_NAMES_new();
	exts = sk_X509_EXTENSION_new_null();
	if (req == NULL || subj == NULL || gens == NULL || exts == NULL)
		goto out;
	/* RFC 2986 §4.1: version 0 (X509_REQ_VERSION_1) */
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1)
		goto out;
	/* RFC 8555 §7.4 lets the subject be empty; CAs still like a CN, and
	 * RFC 5280 caps it at 64 characters. */
	if (strlen(names[0]) <= PKI_MAX_CN_LEN &&
	    X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_UTF8,
				       (const unsigned char *)names[0], -1, -1,
				       0) != 1)
		goto out;
	if (X509_REQ_set_subject_name(req, subj) != 1)
		goto out;
	/* every identifier as a dNSName (RFC 8555 §7.4: the CSR's names must
	 * match the order's identifiers exactly) */
	for (size_t i = 0; i < n; i++) {
		GENERAL_NAME *gn = GENERAL_NAME_new();
		ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

		if (gn == NULL || ia5 == NULL ||
		    ASN1_STRING_set(ia5, names[i], -1) != 1) {
			GENERAL_NAME_free(gn);
			ASN1_IA5STRING_free(ia5);
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
		if (sk_GENERAL_NAME_push(gens, gn) <= 0) {
			GENERAL_NAME_free(gn);
			goto out;
		}
	}
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	if (ext == NULL || sk_X509_EXTENSION_push(exts, ext) <= 0)
		goto out;
	ext = NULL; /* owned by exts now */
	if (X509_REQ_add_extensions(req, exts) != 1)
		goto out;
	if (X509_REQ_set_pubkey(req, key) != 1)
		goto out;
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto out;
	len = i2d_X509_REQ(req, NULL);
	if (len <= 0)
		goto out;
	buf = xmalloc((size_t)len);
	p = buf;
	if (i2d_X509_REQ(req, &p) != len) {
		free(buf);
		goto out;
	}
	*der = buf;
	*der_len = (size_t)len;
	rc = 0;
out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return rc == 0 ? 0 : ossl_fail(rc);
}

void
acme_names_free(char **names)
{
	if (names == NULL)
		return;
	for (char **p = names; *p != NULL; p++)
		free(*p);
	free(names);
}

/* A growing NULL-terminated list of distinct lower-case names. */
struct name_list {
	char **v;
	size_t n, cap;
};

/* Add (a copy of) s unless present; 0, AD_EMALF (bad name). */
static int
names_add(struct name_list *l, const char *s, size_t len)
{
	char *c;

	if (!name_ok(s, len) || memchr(s, '\0', len) != NULL)
		return AD_EMALF;
	c = xstrndup(s, len);
	ascii_lower(c);
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], c) == 0) {
			free(c);
			return 0;
		}
	}
	if (l->n + 2 > l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = c;
	l->v[l->n] = NULL;
	return 0;
}

/* The names list as the NULL-terminated array the API returns (an empty
 * list is a one-element array holding NULL). */
static char **
names_take(struct name_list *l)
{
	char **v = l->v;

	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	l->v = NULL;
	l->n = l->cap = 0;
	return v;
}

/*
 * Collect the dNSName entries of a GENERAL_NAMES. Other kinds of name
 * (IP addresses, e-mail, URIs) are refused when strict, since the CA would
 * reject a CSR whose names do not all match DNS identifiers of the order
 * (RFC 8555 §7.4), and skipped otherwise (issued certificates).
 */
static int
names_from_gens(struct name_list *l, const GENERAL_NAMES *gens, bool strict,
		size_t limit)
{
	int count = sk_GENERAL_NAME_num(gens);
	size_t ndns = 0;

	for (int i = 0; i < count; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *ia5;
		int rc;

		if (gn->type != GEN_DNS) {
			if (strict)
				return AD_EMALF;
			continue;
		}
		/* bound work before deduplicating (quadratic) */
		if (++ndns > limit)
			return AD_ELIMIT;
		ia5 = gn->d.dNSName;
		if (ia5 == NULL || ASN1_STRING_length(ia5) <= 0)
			return AD_EMALF;
		rc = names_add(l, (const char *)ASN1_STRING_get0_data(ia5),
			       (size_t)ASN1_STRING_length(ia5));
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* UTF-8 text of the first CN of name into out (truncated at a character
 * boundary); "" if there is none. */
static void
name_cn(const X509_NAME *name, char *out, size_t cap)
{
	const X509_NAME_ENTRY *ent;
	unsigned char *utf8 = NULL;
	int idx, len;
	size_t n;

	out[0] = '\0';
	if (name == NULL)
		return;
	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0)
		return;
	ent = X509_NAME_get_entry(name, idx);
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ent));
	if (len < 0) {
		ERR_clear_error();
		return;
	}
	n = (size_t)len;
	if (n >= cap) {
		n = cap - 1;
		/* do not cut a multi-byte sequence in half */
		while (n > 0 && ((unsigned char)utf8[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, utf8, n);
	out[n] = '\0';
	/* an embedded NUL would hide the rest; that is all we want anyway */
	OPENSSL_free(utf8);
}

int
acme_csr_parse(const char *pem, size_t len, char ***names, size_t *n,
	       uint8_t **der, size_t *der_len, EVP_PKEY **pub)
{
	struct name_list l = {0};
	X509_REQ *req = NULL;
	EVP_PKEY *key;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	unsigned char *buf = NULL, *p;
	char cn[PKI_MAX_NAME_LEN + 2];
	BIO *bio;
	int dlen, crit = -1, rc = AD_EMALF;

	if (names == NULL || n == NULL || der == NULL || der_len == NULL)
		return AD_EINVAL;
	*names = NULL;
	*n = 0;
	*der = NULL;
	*der_len = 0;
	if (pub != NULL)
		*pub = NULL;
	bio = mem_bio(pem, len);
	if (bio == NULL)
		return ossl_fail(AD_EMALF);
	req = PEM_read_bio_X509_REQ(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (req == NULL)
		goto out;
	/* RFC 2986 §3: the requester proves possession of the key */
	key = X509_REQ_get0_pubkey(req);
	if (key == NULL || X509_REQ_verify(req, key) != 1)
		goto out;

	exts = X509_REQ_get_extensions(req);
	if (exts != NULL) {
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
		/* crit == -2: the extension appears twice (RFC 5280 §4.2) */
		if (gens == NULL && crit != -1)
			goto out;
		if (gens != NULL) {
			rc = names_from_gens(&l, gens, true, PKI_MAX_NAMES);
			if (rc != 0)
				goto out;
			rc = AD_EMALF;
		}
	}
	/* a CN the SANs lack still names an identifier (RFC 8555 §7.4) */
	name_cn(X509_REQ_get_subject_name(req), cn, sizeof(cn));
	if (cn[0] != '\0') {
		if (strlen(cn) > PKI_MAX_NAME_LEN)
			goto out;
		rc = names_add(&l, cn, strlen(cn));
		if (rc != 0)
			goto out;
		rc = AD_EMALF;
	}
	if (l.n == 0)
		goto out;
	if (l.n > PKI_MAX_NAMES) {
		rc = AD_ELIMIT;
		goto out;
	}

	dlen = i2d_X509_REQ(req, NULL);
	if (dlen <= 0)
		goto out;
	buf = xmalloc((size_t)dlen);
	p = buf;
	if (i2d_X509_REQ(req, &p) != dlen)
		goto out;
	if (pub != NULL) {
		*pub = X509_REQ_get_pubkey(req);
		if (*pub == NULL)
			goto out;
	}
	*n = l.n;
	*names = names_take(&l);
	*der = buf;
	*der_len = (size_t)dlen;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	acme_names_free(l.v);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return rc == 0 ? 0 : ossl_fail(rc);
}

/*
 * Read the certificates of a PEM text, in order. Text between blocks (and
 * PEM blocks of other kinds) is skipped by the PEM reader; a damaged
 * certificate block is an error, not the end. 0 with *ncerts >= 1,
 * AD_EMALF, AD_ELIMIT (more than ACME_MAX_CHAIN).
 */
static int
chain_read(const char *pem, size_t len, X509 *certs[ACME_MAX_CHAIN],
	   size_t *ncerts)
{
	BIO *bio;
	size_t n = 0;
	int rc = 0;

	*ncerts = 0;
	bio = mem_bio(pem, len);
	if (bio == NULL)
		return ossl_fail(AD_EMALF);
	ERR_clear_error();
	for (;;) {
		X509 *x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
		unsigned long e;

		if (x == NULL) {
			/* a clean end of input leaves PEM_R_NO_START_LINE */
			e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
			    ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
				rc = AD_EMALF;
			ERR_clear_error();
			break;
		}
		if (n == ACME_MAX_CHAIN) {
			X509_free(x);
			rc = AD_ELIMIT;
			break;
		}
		certs[n++] = x;
	}
	BIO_free(bio);
	if (rc == 0 && n == 0)
		rc = AD_EMALF;
	if (rc != 0) {
		while (n > 0)
			X509_free(certs[--n]);
		return rc;
	}
	*ncerts = n;
	return 0;
}

static void
chain_free(X509 *certs[ACME_MAX_CHAIN], size_t n)
{
	for (size_t i = 0; i < n; i++)
		X509_free(certs[i]);
}

/* ASN1_TIME -> unix seconds. */
static int
asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	time_t v;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return AD_EMALF;
	v = timegm(&tm);
	if (v == (time_t)-1)
		return AD_EMALF;
	*out = (int64_t)v;
	return 0;
}

/* Serial as lower-case hex ("0" for zero). */
static int
serial_hex(const ASN1_INTEGER *serial, char *out, size_t cap)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex;
	int rc = 0;

	if (bn == NULL)
		return AD_EMALF;
	hex = BN_bn2hex(bn);
	BN_free(bn);
	if (hex == NULL)
		return AD_ECRYPTO;
	if (ad_strlcpy(out, hex, cap) >= cap)
		rc = AD_EMALF;
	else
		ascii_lower(out);
	OPENSSL_free(hex);
	return rc;
}

/*
 * RFC 9773 §4.1: base64url(keyIdentifier of the leaf's AKI) "."
 * base64url(the serial's DER INTEGER contents, sign octet included).
 * "" when the leaf has no AKI keyIdentifier.
 */
static int
ari_id(X509 *leaf, char *out, size_t cap)
{
	const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(leaf);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(leaf);
	unsigned char *der = NULL;
	const unsigned char *content;
	size_t clen, hl, need;
	int dlen, klen;

	out[0] = '\0';
	if (akid == NULL || ASN1_STRING_length(akid) <= 0)
		return 0;
	dlen = i2d_ASN1_INTEGER(serial, &der);
	if (dlen < 3 || der[0] != V_ASN1_INTEGER)
		goto bad;
	/* skip tag and (short or long form) length: X.690 §8.1.3 */
	if (der[1] < 0x80) {
		hl = 2;
		clen = der[1];
	} else {
		size_t nl = der[1] & 0x7f;

		if (nl == 0 || nl > 4 || (size_t)dlen < 2 + nl)
			goto bad;
		clen = 0;
		for (size_t i = 0; i < nl; i++)
			clen = clen << 8 | der[2 + i];
		hl = 2 + nl;
	}
	if (hl + clen != (size_t)dlen || clen == 0)
		goto bad;
	content = der + hl;
	klen = ASN1_STRING_length(akid);
	need = AD_B64URL_LEN((size_t)klen) + AD_B64URL_LEN(clen);
	if (need > cap)
		goto bad;
	hl = ad_b64url_encode(ASN1_STRING_get0_data(akid), (size_t)klen, out);
	out[hl++] = '.';
	ad_b64url_encode(content, clen, out + hl);
	OPENSSL_free(der);
	return 0;
bad:
	OPENSSL_free(der);
	out[0] = '\0';
	return ossl_fail(AD_EMALF);
}

int
acme_chain_parse(const char *pem, size_t len, EVP_PKEY *key,
		 struct acme_certinfo *info)
{
	X509 *certs[ACME_MAX_CHAIN];
	struct name_list l = {0};
	GENERAL_NAMES *gens = NULL;
	X509_PUBKEY *xpk;
	unsigned char *spki = NULL;
	size_t n;
	int crit = -1, slen, rc;

	if (info == NULL)
		return AD_EINVAL;
	memset(info, 0, sizeof(*info));
	rc = chain_read(pem, len, certs, &n);
	if (rc != 0)
		return rc;
	rc = AD_EMALF;
	/* leaf first, each certificate issued by the next (RFC 8555 §7.4.2;
	 * RFC 5246 §7.4.2 order) */
	for (size_t i = 0; i + 1 < n; i++)
		if (X509_NAME_cmp(X509_get_issuer_name(certs[i]),
				  X509_get_subject_name(certs[i + 1])) != 0)
			goto out;
	info->ncerts = n;
	if (asn1_time_unix(X509_get0_notBefore(certs[0]), &info->not_before) !=
		0 ||
	    asn1_time_unix(X509_get0_notAfter(certs[0]), &info->not_after) != 0)
		goto out;
	rc = serial_hex(X509_get0_serialNumber(certs[0]), info->serial,
			sizeof(info->serial));
	if (rc != 0)
		goto out;
	name_cn(X509_get_issuer_name(certs[0]), info->issuer_cn,
		sizeof(info->issuer_cn));
	name_cn(X509_get_issuer_name(certs[n - 1]), info->root_cn,
		sizeof(info->root_cn));

	gens = X509_get_ext_d2i(certs[0], NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit != -1) {
		rc = AD_EMALF;
		goto out;
	}
	if (gens != NULL) {
		/* a CA may issue for up to its own limit; cap only to bound
		 * the work on a hostile response */
		rc = names_from_gens(&l, gens, false, 1000);
		if (rc != 0) {
			rc = AD_EMALF;
			goto out;
		}
	}
	info->nnames = l.n;
	info->names = names_take(&l);

	rc = ari_id(certs[0], info->ari_id, sizeof(info->ari_id));
	if (rc != 0)
		goto out;

	/* TLSA selector 1 hashes the certificate's own SPKI bytes
	 * (RFC 6698 §2.1.2) */
	rc = AD_ECRYPTO;
	xpk = X509_get_X509_PUBKEY(certs[0]);
	slen = xpk != NULL ? i2d_X509_PUBKEY(xpk, &spki) : -1;
	if (slen <= 0)
		goto out;
	rc = sha256(spki, (size_t)slen, info->spki_sha256);
	if (rc != 0)
		goto out;

	if (key != NULL) {
		EVP_PKEY *lk = X509_get0_pubkey(certs[0]);

		if (lk == NULL || EVP_PKEY_eq(key, lk) != 1) {
			rc = AD_EINVAL;
			goto out;
		}
	}
	rc = 0;
out:
	OPENSSL_free(spki);
	GENERAL_NAMES_free(gens);
	acme_names_free(l.v);
	chain_free(certs, n);
	if (rc != 0) {
		acme_certinfo_free(info);
		memset(info, 0, sizeof(*info));
		ERR_clear_error();
	}
	return rc;
}

void
acme_certinfo_free(struct acme_certinfo *info)
{
	if (info == NULL)
		return;
	acme_names_free(info->names);
	info->names = NULL;
	info->nnames = 0;
}

/* PEM text of certs[from..to) as a malloc'd string ("" when empty). */
static int
certs_pem(X509 *certs[], size_t from, size_t to, char **out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;

	*out = NULL;
	if (bio == NULL)
		return ossl_fail(AD_ECRYPTO);
	for (size_t i = from; i < to; i++) {
		if (PEM_write_bio_X509(bio, certs[i]) != 1) {
			BIO_free(bio);
			return ossl_fail(AD_ECRYPTO);
		}
	}
	n = BIO_get_mem_data(bio, &data);
	if (n < 0) {
		BIO_free(bio);
		return ossl_fail(AD_ECRYPTO);
	}
	*out = xmalloc((size_t)n + 1);
	if (n > 0)
		memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	BIO_free(bio);
	return 0;
}

int
acme_chain_split(const char *pem, size_t len, char **leaf, char **rest)
{
	X509 *certs[ACME_MAX_CHAIN];
	size_t n;
	int rc;

	if (leaf == NULL || rest == NULL)
		return AD_EINVAL;
	*leaf = NULL;
	*rest = NULL;
	rc = chain_read(pem, len, certs, &n);
	if (rc != 0)
		return rc == AD_ELIMIT ? AD_EMALF : rc;
	rc = certs_pem(certs, 0, 1, leaf);
	if (rc == 0)
		rc = certs_pem(certs, 1, n, rest);
	if (rc != 0) {
		free(*leaf);
		*leaf = NULL;
	}
	chain_free(certs, n);
	return rc;
}

int
acme_cert_der(const char *pem, size_t len, uint8_t **der, size_t *der_len)
{
	X509 *certs[ACME_MAX_CHAIN];
	unsigned char *buf, *p;
	size_t n;
	int dlen, rc;

	if (der == NULL || der_len == NULL)
		return AD_EINVAL;
	*der = NULL;
	*der_len = 0;
	rc = chain_read(pem, len, certs, &n);
	if (rc != 0)
		return rc == AD_ELIMIT ? AD_EMALF : rc;
	dlen = i2d_X509(certs[0], NULL);
	if (dlen <= 0) {
		chain_free(certs, n);
		return ossl_fail(AD_EMALF);
	}
	buf = xmalloc((size_t)dlen);
	p = buf;
	if (i2d_X509(certs[0], &p) != dlen) {
		free(buf);
		chain_free(certs, n);
		return ossl_fail(AD_EMALF);
	}
	chain_free(certs, n);
	*der = buf;
	*der_len = (size_t)dlen;
	return 0;
}

int
acme_spki_sha256(EVP_PKEY *key, uint8_t out[32])
{
	unsigned char *spki = NULL;
	int len, rc;

	if (key == NULL || out == NULL)
		return AD_EINVAL;
	/* i2d_PUBKEY: the DER SubjectPublicKeyInfo, exactly what a
	 * certificate for this key will carry */
	len = i2d_PUBKEY(key, &spki);
	if (len <= 0)
		return ossl_fail(AD_ECRYPTO);
	rc = sha256(spki, (size_t)len, out);
	OPENSSL_free(spki);
	return rc;
}
