/* SPDX-License-Identifier: MIT */
/*
 * Credentials of acme-dns style registrations: generation (UUIDv4 user
 * names and subdomains, 40-character keys, all from the OpenSSL CSPRNG),
 * the syntax checks acme-dns applies, and password hashing.
 *
 * Our keys carry 238 bits of entropy, so a slow password hash buys nothing:
 * we store HMAC-SHA256(salt, key) with a 128-bit random salt as
 * "$s256$<salt b64url>$<digest b64url>" and compare in constant time.
 * Hashes imported from acme-dns are bcrypt ("$2a$10$..."), verified with
 * libcrypt's crypt_r (slow by design: callers run it off the event loop)
 * and replaced by an s256 hash on first successful use.
 *
 * Never logs; the caller cleanses keys it no longer needs.
 */
#ifndef SRV_CREDS_H
#define SRV_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_KEY_LEN 40	/* acme-dns password length */
#define SRV_TXT_LEN 43	/* base64url SHA-256 digest: the only valid TXT */
#define SRV_SALT_LEN 16
#define SRV_DIGEST_LEN 32

/* Fill out with a random UUIDv4 in lowercase text. 0 or AD_ECRYPTO. */
int srv_uuid4(char out[37]);
/* Parse any RFC 4122 textual UUID (36 chars, hex any case) to 16 bytes,
 * and format 16 bytes back to lowercase text. */
bool srv_uuid_parse(const char *s, size_t len, uint8_t out[16]);
void srv_uuid_format(const uint8_t in[16], char out[37]);
/* 40 characters of [A-Za-z0-9_-], uniformly distributed. */
int srv_key_new(char out[SRV_KEY_LEN + 1]);

/* acme-dns syntax checks. */
bool srv_key_valid(const char *s, size_t len);	     /* 40 x [A-Za-z0-9_-] */
bool srv_txt_valid(const char *s, size_t len);	     /* 43 x [A-Za-z0-9_-] */
bool srv_subdomain_valid(const char *s, size_t len); /* [a-z0-9](-*)[a-z0-9] */

/* A parsed stored hash. */
struct srv_hash {
	uint8_t salt[SRV_SALT_LEN];
	uint8_t digest[SRV_DIGEST_LEN];
};

/* New salted hash of key. 0 or AD_ECRYPTO. */
int srv_hash_new(const char *key, size_t len, struct srv_hash *out);
/* Constant-time check of key against h. */
bool srv_hash_check(const struct srv_hash *h, const char *key, size_t len);
/* "$s256$..." text form (out at least SRV_HASH_TEXT bytes) and back. */
#define SRV_HASH_TEXT 128
void srv_hash_format(const struct srv_hash *h, char *out, size_t cap);
int srv_hash_parse(const char *s, struct srv_hash *out); /* 0/AD_EMALF */
/* Is s a bcrypt hash we can verify ($2a$, $2b$, $2y$)? */
bool srv_hash_is_bcrypt(const char *s);
/* crypt_r verification of a bcrypt hash: slow (tens of ms), thread-safe. */
bool srv_bcrypt_check(const char *hash, const char *key, size_t len);

#endif
