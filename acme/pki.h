/* SPDX-License-Identifier: MIT */
/*
 * Keys, CSRs and certificates for the ACME engine (OpenSSL 3 only): key
 * generation and PEM round trips, the JWK of a public key and its RFC 7638
 * thumbprint, the syntax of certificate names (shared with the REST API's
 * parser), CSR creation and inspection, parsing of an issued chain
 * (validity, serial, names, issuers), TLSA association data and the
 * RFC 9773 (ARI) certificate identifier. Pure: no I/O, no logging, no
 * clock. Private key material is cleansed before it is freed.
 */
#ifndef ACME_PKI_H
#define ACME_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct cJSON;

enum acme_keytype {
	ACME_KEY_EC256 = 0, /* P-256, ES256 for accounts (default) */
	ACME_KEY_EC384,	    /* P-384, ES384 */
	ACME_KEY_RSA2048,   /* RS256 for accounts */
	ACME_KEY_RSA3072,
	ACME_KEY_RSA4096,
};

/* "ec256" ... "rsa4096" <-> enum. parse: 0 or AD_EINVAL. */
int acme_keytype_parse(const char *s, enum acme_keytype *out);
const char *acme_keytype_name(enum acme_keytype t);

/*
 * A certificate name as the engine manages it (RFC 8555 §7.1.3, §7.1.4):
 * lower-case LDH host name labels of 1..63 bytes (RFC 1123 §2.1), at most
 * 253 bytes in all (no trailing dot), optionally "*." as the whole
 * leftmost label. Reads len bytes of name (no NUL needed); NULL is not a
 * name. Callers lower-case first. Policy beyond syntax (the REST API's
 * "registered names only") is the caller's.
 */
bool acme_name_valid(const char *name, size_t len);

/* Generate a key. *out: caller frees with EVP_PKEY_free. 0 or AD_ECRYPTO. */
int acme_key_generate(enum acme_keytype t, EVP_PKEY **out);
/* Type of an existing key (EC P-256/P-384, RSA by bits; other RSA sizes
 * map to the nearest listed name >= bits). 0 or AD_EUNSUP. */
int acme_key_type(EVP_PKEY *key, enum acme_keytype *out);

/* Private key -> unencrypted PKCS#8 PEM, NUL-terminated, malloc'd (the
 * caller cleanses and frees: acme_secret_free). 0 or AD_ECRYPTO. */
int acme_key_to_pem(EVP_PKEY *key, char **pem);
/* PEM (PKCS#8 or traditional) -> key. 0, AD_EMALF. */
int acme_key_from_pem(const char *pem, size_t len, EVP_PKEY **out);
/* OPENSSL_cleanse(s, strlen(s)) then free(s); NULL is fine. */
void acme_secret_free(char *s);

/* JWS "alg" for an account key: "ES256", "ES384" or "RS256"; NULL if the
 * key is of another kind. */
const char *acme_key_alg(EVP_PKEY *key);

/*
 * The public JWK of key (RFC 7517/7518): {"crv","kty","x","y"} for EC,
 * {"e","kty","n"} for RSA, members in lexicographic order. *out: caller
 * frees with cJSON_Delete. 0, AD_EUNSUP, AD_ECRYPTO.
 */
int acme_jwk(EVP_PKEY *key, struct cJSON **out);
/* RFC 7638 thumbprint: base64url(SHA-256(canonical JWK)), 43 chars + NUL. */
#define ACME_THUMB_LEN 43
int acme_jwk_thumbprint(EVP_PKEY *key, char out[ACME_THUMB_LEN + 1]);

/*
 * dns-01 TXT value (RFC 8555 §8.4): base64url(SHA-256(token "." thumb)),
 * 43 chars + NUL. AD_EINVAL if token is empty or longer than 256.
 */
int acme_dns01_value(const char *token, const char *thumb,
		     char out[ACME_THUMB_LEN + 1]);

/*
 * CSR (DER) for names (the first is the subject CN when it fits in 64
 * bytes; all go into subjectAltName as dNSName, wildcards kept), signed
 * with key (SHA-256). *der malloc'd, caller frees. 0, AD_EINVAL (no names),
 * AD_ECRYPTO.
 */
int acme_csr_make(EVP_PKEY *key, const char *const *names, size_t n,
		  uint8_t **der, size_t *der_len);

/*
 * A user-supplied CSR (PEM): checks its self-signature and extracts the
 * dNSName SANs (and the CN if it is not among them) lower-cased, and its
 * public key. *names: NULL-terminated malloc'd array of malloc'd strings
 * (free with acme_names_free); *der malloc'd; *pub optional (may be NULL;
 * else caller frees). 0, AD_EMALF (not a CSR, bad signature, no names),
 * AD_ELIMIT (more than 100 names).
 */
int acme_csr_parse(const char *pem, size_t len, char ***names, size_t *n,
		   uint8_t **der, size_t *der_len, EVP_PKEY **pub);
void acme_names_free(char **names);

/* What we need to know of an issued chain. */
#define ACME_MAX_CHAIN 8
struct acme_certinfo {
	int64_t not_before, not_after; /* unix seconds (leaf) */
	char serial[80];	       /* leaf serial, lower-case hex, no colons */
	char issuer_cn[128];	       /* leaf issuer CN ("" if none) */
	/* CN of the issuer of the last certificate in the chain: the root
	 * the chain leads to, for preferred-chain selection ("" if none). */
	char root_cn[128];
	/* dNSName SANs of the leaf, lower-case; NULL-terminated malloc'd
	 * array (acme_names_free), nnames entries */
	char **names;
	size_t nnames;
	size_t ncerts; /* certificates in the PEM (leaf first) */
	/* RFC 9773 §4.1 certificate identifier:
	 * base64url(AKI keyIdentifier) "." base64url(serial DER bytes) */
	char ari_id[256];
	/* SHA-256 of the leaf's SubjectPublicKeyInfo (TLSA 3 1 1 data) */
	uint8_t spki_sha256[32];
};

/*
 * Parse a PEM chain as the CA sends it (application/pem-certificate-chain:
 * leaf first, then issuers; at most ACME_MAX_CHAIN certificates, anything
 * between PEM blocks ignored). Checks that each certificate's issuer name
 * matches the next one's subject. Fills *info (free with
 * acme_certinfo_free). If key is given, also checks it matches the leaf
 * (AD_EINVAL if not). 0, AD_EMALF, AD_ELIMIT.
 */
int acme_chain_parse(const char *pem, size_t len, EVP_PKEY *key,
		     struct acme_certinfo *info);
void acme_certinfo_free(struct acme_certinfo *info);

/*
 * Split a parsed-OK chain PEM into the leaf (cert.pem) and the rest
 * (chain.pem), each a malloc'd normalised PEM (caller frees). 0, AD_EMALF.
 */
int acme_chain_split(const char *pem, size_t len, char **leaf, char **rest);

/* The leaf certificate of a PEM chain as DER (for revokeCert). *der
 * malloc'd. 0, AD_EMALF. */
int acme_cert_der(const char *pem, size_t len, uint8_t **der, size_t *der_len);

/* SHA-256 of key's SubjectPublicKeyInfo (TLSA usage 3 selector 1 mtype 1),
 * also usable before the certificate exists. 0, AD_ECRYPTO. */
int acme_spki_sha256(EVP_PKEY *key, uint8_t out[32]);

#endif
