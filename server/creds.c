/* SPDX-License-Identifier: MIT */
/*
 * Credentials: generation from the OpenSSL CSPRNG, acme-dns syntax checks,
 * HMAC-SHA256 salted hashes and bcrypt verification of imported hashes.
 * Pure apart from the CSPRNG; never logs.
 */
#include "server/creds.h"
#include "common/base64.h"
#include "common/errors.h"
#include "common/util.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char hexd[] = "0123456789abcdef";

void
srv_uuid_format(const uint8_t in[16], char out[37])
{
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hexd[in[i] >> 4];
		out[o++] = hexd[in[i] & 15];
	}
	out[o] = '\0';
}

int
srv_uuid4(char out[37])
{
	uint8_t b[16];
	int r = ad_random(b, sizeof(b));
	if (r)
		return r;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	srv_uuid_format(b, out);
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
srv_uuid_parse(const char *s, size_t len, uint8_t out[16])
{
	/* the 36-character form only (what acme-dns hands out) */
	if (len != 36)
		return false;
	size_t o = 0;
	for (size_t i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			i++;
			continue;
		}
		int h = hexval(s[i]), l = hexval(s[i + 1]);
		if (h < 0 || l < 0)
			return false;
		out[o++] = (uint8_t)(h << 4 | l);
		i += 2;
	}
	return true;
}

static bool
keychar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool
all_keychars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!keychar(s[i]))
			return false;
	return true;
}

int
srv_key_new(char out[SRV_KEY_LEN + 1])
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t b[SRV_KEY_LEN];
	int r = ad_random(b, sizeof(b));
	if (r)
		return r;
	/* 64 symbols: b & 63 is uniform */
	for (size_t i = 0; i < SRV_KEY_LEN; i++)
		out[i] = alpha[b[i] & 63];
	out[SRV_KEY_LEN] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

bool
srv_key_valid(const char *s, size_t len)
{
	return len == SRV_KEY_LEN && all_keychars(s, len);
}

bool
srv_txt_valid(const char *s, size_t len)
{
	return len == SRV_TXT_LEN && all_keychars(s, len);
}

static bool
ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool
srv_subdomain_valid(const char *s, size_t len)
{
	/* acme-dns: dotted lowercase LDH labels, or a UUID */
	uint8_t u[16];
	if (srv_uuid_parse(s, len, u))
		return true;
	if (len == 0 || len > 253)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!ldh(s[i]))
				return false;
			continue;
		}
		/* label s[start, i) */
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

static int
hmac(const uint8_t salt[SRV_SALT_LEN], const char *key, size_t len,
     uint8_t out[SRV_DIGEST_LEN])
{
	unsigned int olen = 0;
	if (!HMAC(EVP_sha256(), salt, SRV_SALT_LEN, (const uint8_t *)key, len,
		  out, &olen) ||
	    olen != SRV_DIGEST_LEN)
		return AD_ECRYPTO;
	return 0;
}

int
srv_hash_new(const char *key, size_t len, struct srv_hash *out)
{
	int r = ad_random(out->salt, sizeof(out->salt));
	if (r)
		return r;
	return hmac(out->salt, key, len, out->digest);
}

bool
srv_hash_check(const struct srv_hash *h, const char *key, size_t len)
{
	uint8_t d[SRV_DIGEST_LEN];
	if (hmac(h->salt, key, len, d) != 0)
		return false;
	bool ok = ad_ct_equal(d, h->digest, sizeof(d));
	OPENSSL_cleanse(d, sizeof(d));
	return ok;
}

#define S256_PREFIX "$s256$"

void
srv_hash_format(const struct srv_hash *h, char *out, size_t cap)
{
	char s[AD_B64URL_LEN(SRV_SALT_LEN)], d[AD_B64URL_LEN(SRV_DIGEST_LEN)];
	ad_b64url_encode(h->salt, sizeof(h->salt), s);
	ad_b64url_encode(h->digest, sizeof(h->digest), d);
	snprintf(out, cap, S256_PREFIX "%s$%s", s, d);
}

int
srv_hash_parse(const char *s, struct srv_hash *out)
{
	size_t pl = strlen(S256_PREFIX);
	if (strncmp(s, S256_PREFIX, pl) != 0)
		return AD_EMALF;
	s += pl;
	const char *dollar = strchr(s, '$');
	if (!dollar)
		return AD_EMALF;
	if (ad_b64url_decode(s, (size_t)(dollar - s), out->salt,
			     sizeof(out->salt)) != SRV_SALT_LEN)
		return AD_EMALF;
	if (ad_b64url_decode(dollar + 1, strlen(dollar + 1), out->digest,
			     sizeof(out->digest)) != SRV_DIGEST_LEN)
		return AD_EMALF;
	return 0;
}

bool
srv_hash_is_bcrypt(const char *s)
{
	return (strncmp(s, "$2a$", 4) == 0 || strncmp(s, "$2b$", 4) == 0 ||
		strncmp(s, "$2y$", 4) == 0) &&
	       strlen(s) == 60;
}

bool
srv_bcrypt_check(const char *hash, const char *key, size_t len)
{
	/* bcrypt uses at most 72 bytes; our keys are 40 and NUL-free */
	char pw[SRV_KEY_LEN + 1];
	if (len > SRV_KEY_LEN || memchr(key, '\0', len))
		return false;
	memcpy(pw, key, len);
	pw[len] = '\0';
	struct crypt_data *cd = calloc(1, sizeof(*cd)); /* ~32 KiB */
	if (!cd)
		return false;
	const char *res = crypt_r(pw, hash, cd);
	bool ok = res && res[0] != '*' && strlen(res) == strlen(hash) &&
		  ad_ct_equal(res, hash, strlen(hash));
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}
