/* SPDX-License-Identifier: MIT */
/*
 * A scripted, in-process fake ACME CA (RFC 8555 server side, RFC 9773
 * renewalInfo, the profiles draft) for the engine scenarios: it turns one
 * struct acme_http_req into one response, keeps accounts, nonces, orders,
 * authorizations and certificates, validates dns-01 through a callback into
 * the fake DNS of the test world, issues real X.509 chains (fake root and
 * intermediate, alternate chain by a cross-signed intermediate), and
 * injects faults (badNonce, status codes with Retry-After, transport
 * failures, garbage bodies, failing or stalled validations). It checks what
 * a strict CA checks (JWS signature, url header, nonce freshness, kid,
 * EAB MAC, CSR names, key change) so an engine bug shows up as an error
 * response, and it records every request for the tests to assert on.
 *
 * Test code only: no sockets, no real clock (time comes from the world),
 * aborts on OOM. Not for production use.
 */
#ifndef FAKECA_H
#define FAKECA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acme/engine.h"

#define FAKECA_BASE "https://ca.test"
#define FAKECA_DIR FAKECA_BASE "/dir"
#define FAKECA_ROOT_CN "Fake Root X1"
#define FAKECA_ALT_ROOT_CN "Fake Alt Root X2"
#define FAKECA_INT_CN "Fake Intermediate I1"
#define FAKECA_DAY 86400

/* What a request was addressed to. */
enum fakeca_ep {
	FEP_ANY = 0, /* fault matching only */
	FEP_DIR,
	FEP_NONCE,
	FEP_NEWACCT,
	FEP_ACCT,
	FEP_NEWORDER,
	FEP_ORDER,
	FEP_AUTHZ,
	FEP_CHALL,
	FEP_FINALIZE,
	FEP_CERT,
	FEP_RENEWAL,
	FEP_KEYCHANGE,
	FEP_REVOKE,
	FEP_UNKNOWN,
	FEP__COUNT
};
const char *fakeca_ep_name(enum fakeca_ep ep);

enum fakeca_fault_kind {
	FK_STATUS = 0,    /* answer status + problem (+ Retry-After) */
	FK_TRANSPORT,     /* no answer: status 0 */
	FK_TRUNCATE,      /* process, then cut the JSON body in half */
	FK_WRONG_TYPES,   /* process, then change the type of every member */
	FK_HUGE,          /* process, then pad the body to 2 MiB */
	FK_LOST,          /* process, then lose the answer: status 0 (a timeout
			     after the CA acted) */
	FK_CHALL_INVALID, /* the next validations fail with a problem that has
			     subproblems (ep ignored) */
	FK_CHALL_STALL,   /* the next challenges never finish validating */
};

/*
 * A fault: applied to the next `count` requests that match ep (and method
 * when set), after `skip` matching requests were let through. Copied by
 * fakeca_fault_add (strings must be literals or outlive the CA).
 */
struct fakeca_fault {
	enum fakeca_ep ep;
	const char *method; /* NULL: any */
	enum fakeca_fault_kind kind;
	unsigned count;
	unsigned skip;
	int status;             /* FK_STATUS: 429, 500, 503, 400... */
	const char *type;       /* short problem type ("rateLimited") */
	const char *detail;     /* problem detail */
	unsigned retry_after_s; /* 0: no Retry-After header */
	unsigned applied;       /* out: how often it fired */
};

/* Validity by profile name (draft-ietf-acme-profiles). */
struct fakeca_profile {
	const char *name;
	uint32_t validity_s;
};

struct fakeca_cfg {
	bool ari;            /* directory lists renewalInfo */
	bool eab_required;   /* meta.externalAccountRequired */
	const char *eab_kid; /* the one EAB key id the CA knows */
	uint8_t eab_key[32]; /* its HMAC key */
	size_t eab_key_len;
	const struct fakeca_profile *profiles; /* meta.profiles, or NULL */
	size_t nprofiles;
	uint32_t validity_s;       /* default 90 days */
	uint32_t order_lifetime_s; /* order/authz expiry, default 7 days */
	uint32_t validation_ms;    /* challenge "processing" time */
	uint32_t processing_ms;    /* finalize -> valid delay */
	uint32_t processing_retry_after_s; /* Retry-After while processing */
	uint32_t authz_retry_after_s; /* Retry-After on pending authz GETs */
	bool alt_chain;               /* offer the cross-signed chain too */
	/* ARI window relative to the certificate's notBefore (seconds),
	 * used when ari_abs_start == 0 */
	int64_t ari_start_off, ari_end_off;
	int64_t ari_abs_start, ari_abs_end; /* absolute override (unix s) */
	uint32_t ari_retry_after_s;         /* 0: no header */
	unsigned badnonce_pct;  /* reject this share of valid nonces */
	unsigned badnonce_next; /* reject the next K valid nonces */
	bool offer_http01;      /* add an http-01 challenge to non-wildcards */
	bool authz_reuse; /* newOrder reuses the account's valid, unexpired
			     authorizations */
	bool strict_chall_post; /* answering a challenge of an authorization
				   that is no longer pending is an error
				   (Pebble) instead of a no-op (Boulder) */
	unsigned forget_below;  /* orders with a smaller index answer 404
				   (the CA lost them) */
};

/* One request as the CA saw it. Strings owned by the CA. */
struct fakeca_req {
	uint64_t t_ms;
	enum fakeca_ep ep;
	char method[8];
	char *url;
	char *payload; /* decoded JWS payload (POST), or NULL */
	char *kid;     /* protected "kid", or NULL */
	char thumb[ACME_THUMB_LEN + 1]; /* signing key's thumbprint or "" */
	int status;  /* status answered (0: transport failure) */
	char *ptype; /* problem type answered, or NULL */
};

/* A response: owned by whoever holds it (fakeca_resp_free). */
struct fakeca_resp {
	int status;
	char *error; /* status 0 */
	char *body;
	size_t body_len;
	char *content_type, *location, *replay_nonce, *retry_after;
	char *links[ACME_HTTP_MAX_LINKS];
	size_t nlinks;
};
void fakeca_resp_free(struct fakeca_resp *r);
/* A borrowed acme_http_resp view of r. */
void fakeca_resp_view(const struct fakeca_resp *r, struct acme_http_resp *out);

/* An issued certificate, as the CA keeps it. */
struct fakeca_cert {
	unsigned id;
	unsigned order;   /* index of its order */
	unsigned account; /* index of its account */
	char *pem, *alt_pem;
	char serial[80]; /* lower-case hex */
	char ari_id[256];
	int64_t not_before, not_after;
	bool revoked;
	int reason;
	bool replaced; /* a later order named it in "replaces" */
};

/*
 * Callback into the fake DNS: true if a TXT lookup of name (e.g.
 * "_acme-challenge.example.com", no trailing dot) would return value,
 * following the world's CNAMEs.
 */
typedef bool (*fakeca_dns_fn)(void *arg, const char *name, const char *value);
typedef uint64_t (*fakeca_now_fn)(void *arg);

struct fakeca;

/* Defaults for cfg (90 d validity, 7 d orders, no ARI, no EAB). */
void fakeca_cfg_default(struct fakeca_cfg *cfg);
/* New CA (cfg copied; its pointers borrowed). seed makes tokens, serials
 * and the badNonce draw reproducible. */
struct fakeca *fakeca_new(const struct fakeca_cfg *cfg, fakeca_now_fn now,
			  fakeca_dns_fn dns, void *arg, uint64_t seed);
void fakeca_free(struct fakeca *ca);
/* The live configuration (tests may change it between steps). */
struct fakeca_cfg *fakeca_cfg(struct fakeca *ca);
void fakeca_fault_add(struct fakeca *ca, const struct fakeca_fault *f);
/* Disarm every fault (they stay listed for fakeca_fault_get). */
void fakeca_faults_disarm(struct fakeca *ca);
/* Fault i as added (to read .applied). */
const struct fakeca_fault *fakeca_fault_get(const struct fakeca *ca, size_t i);

/* Handle one request; *out filled (caller frees with fakeca_resp_free). */
void fakeca_handle(struct fakeca *ca, const struct acme_http_req *req,
		   struct fakeca_resp *out);

/* ---- inspection ------------------------------------------------------ */
size_t fakeca_nreq(const struct fakeca *ca);
const struct fakeca_req *fakeca_req_at(const struct fakeca *ca, size_t i);
/* requests to ep (FEP_ANY: all) */
unsigned fakeca_count(const struct fakeca *ca, enum fakeca_ep ep);
/* index of the k-th (0-based) request to ep, or SIZE_MAX */
size_t fakeca_find(const struct fakeca *ca, enum fakeca_ep ep, unsigned k);
unsigned fakeca_naccounts(const struct fakeca *ca);
unsigned fakeca_norders(const struct fakeca *ca);
/* responses with problem type "badNonce" */
unsigned fakeca_badnonces(const struct fakeca *ca);
/* orders created and neither invalid nor with their certificate
 * downloaded: now, and the most ever at once */
unsigned fakeca_open_orders(const struct fakeca *ca);
unsigned fakeca_max_open_orders(const struct fakeca *ca);
size_t fakeca_ncerts(const struct fakeca *ca);
const struct fakeca_cert *fakeca_cert_at(const struct fakeca *ca, size_t i);
/* the certificate whose ARI id is id, or NULL */
const struct fakeca_cert *fakeca_cert_by_ari(const struct fakeca *ca,
					     const char *id);
/* thumbprint of account i's current key, the EAB kid it was bound with
 * ("" if none), its status */
const char *fakeca_account_thumb(const struct fakeca *ca, unsigned i);
const char *fakeca_account_eab(const struct fakeca *ca, unsigned i);
const char *fakeca_account_status(const struct fakeca *ca, unsigned i);
/* the order's status name ("pending"...) and its replaces (or NULL),
 * profile (or NULL) */
const char *fakeca_order_status(const struct fakeca *ca, unsigned i);
const char *fakeca_order_replaces(const struct fakeca *ca, unsigned i);
const char *fakeca_order_profile(const struct fakeca *ca, unsigned i);
/* The fake roots as PEM (for chain checks). */
const char *fakeca_root_pem(const struct fakeca *ca, bool alt);

/* RFC 7638 thumbprint computed here, independently of acme/pki.c, from a
 * JWK object. 0 or AD_EMALF. */
int fakeca_jwk_thumb(const struct cJSON *jwk, char out[ACME_THUMB_LEN + 1]);
/* A public key from a JWK (EC P-256/P-384, RSA). NULL if malformed. */
EVP_PKEY *fakeca_jwk_to_pkey(const struct cJSON *jwk);

#endif
