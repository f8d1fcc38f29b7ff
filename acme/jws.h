/* SPDX-License-Identifier: MIT */
/*
 * JSON Web Signatures as ACME uses them (RFC 8555 §6.2, RFC 7515 flattened
 * JSON serialization): requests signed with the account key (ES256, ES384,
 * RS256; EC signatures in the raw r||s form of RFC 7518 §3.4), the
 * External Account Binding (HS256, §7.3.4) and the inner JWS of a key
 * change (§7.3.5). Pure: no I/O.
 */
#ifndef ACME_JWS_H
#define ACME_JWS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct cJSON;

/*
 * Sign payload (a JSON text, or "" for POST-as-GET) for url. Protected
 * header: {"alg", "kid": kid} when kid is given, else {"alg", "jwk"}; plus
 * "nonce" when nonce is given (the inner key-change JWS has none) and
 * "url". *out: the flattened JWS as a NUL-terminated JSON text, malloc'd,
 * caller frees. 0, AD_EUNSUP (key kind), AD_ECRYPTO.
 */
int acme_jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
		  const char *url, const char *payload, char **out);

/*
 * The externalAccountBinding object for newAccount (RFC 8555 §7.3.4):
 * a JWS with {"alg":"HS256","kid":eab_kid,"url":url} over the account
 * key's JWK, MAC'd with hmac_key (already base64url-decoded). *out: a cJSON
 * object, caller frees (or attaches it to the payload). 0, AD_EINVAL,
 * AD_ECRYPTO.
 */
int acme_jws_eab(const char *eab_kid, const uint8_t *hmac_key, size_t key_len,
		 EVP_PKEY *account_key, const char *url, struct cJSON **out);

/*
 * The payload of a keyChange request (RFC 8555 §7.3.5): the inner JWS,
 * signed by new_key with {"alg", "jwk": new key, "url": url} over
 * {"account": account_url, "oldKey": JWK of old_key}. *out: JSON text,
 * malloc'd. 0, AD_EUNSUP, AD_ECRYPTO.
 */
int acme_jws_keychange(EVP_PKEY *old_key, EVP_PKEY *new_key,
		       const char *account_url, const char *url, char **out);

/* Verify a flattened JWS made by acme_jws_sign (tests and the scripted
 * fake CA): checks the signature with key (or, when key is NULL, with the
 * "jwk" of the protected header). On success *protected_hdr and *payload
 * are the decoded JSON texts, malloc'd (payload may be ""). 0, AD_EMALF,
 * AD_EAUTH (bad signature). */
int acme_jws_verify(const char *jws, size_t len, EVP_PKEY *key,
		    char **protected_hdr, char **payload);

#endif
