/* SPDX-License-Identifier: MIT */
/*
 * The ACME engine (RFC 8555, RFC 9773): one account, many managed domains
 * (a domain = one certificate for a list of names), each driven through
 * delegation check -> order -> dns-01 -> finalize -> download -> renewal.
 *
 * A pure state machine: it never does I/O and never reads a clock itself.
 * Everything outside goes through struct acme_ops (the host: server/acme.c
 * in the daemon, tests/scenarios with a scripted fake CA and a fake clock):
 *   - HTTP requests are started with ops->http and completed later by the
 *     host calling acme_engine_http_done() with the same id;
 *   - CNAME lookups likewise (ops->resolve, acme_engine_resolve_done());
 *   - time is ops->now_ms; the engine never sleeps: after every call into
 *     it the host asks acme_engine_next_wakeup() and calls
 *     acme_engine_tick() at (or after) that time;
 *   - the challenge TXT values go to ops->txt_add/txt_del, state changes to
 *     ops->domain_changed / ops->account_changed (the host persists them),
 *     and a new certificate to ops->cert_issued (files, TLSA, hooks).
 * Callbacks may not call back into the engine (no re-entrancy), except
 * that the host may complete an http/resolve request later from its loop.
 *
 * Robustness (RFC 8555 §6.5, §6.6): a nonce pool fed by every response;
 * badNonce is retried at once with the nonce the error carried, for up to
 * 60 s per request (not a small count: a CA may reject half of them);
 * Retry-After is honoured on every response; 429/rateLimited and 5xx and
 * transport failures back off with jitter (1 s doubling to 5 min); after
 * ACME_ENGINE_MAX_FAILS consecutive failures of a domain's order the
 * domain becomes "invalid" with the error kept (a renewal of a valid
 * certificate keeps retrying until it expires).
 */
#ifndef ACME_ENGINE_H
#define ACME_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "acme/pki.h"

struct cJSON;
struct acme_engine;

#define ACME_ID_LEN 36 /* UUID text */
#define ACME_MAX_NAMES 100
#define ACME_MAX_TLSA 8

/* Domain status, as GET /domains/{id} shows it (contract §4.2). */
enum acme_dstatus {
	ACME_DS_AWAITING_DELEGATION = 0, /* a CNAME is missing; rechecked */
	ACME_DS_PENDING,		 /* first certificate being ordered */
	ACME_DS_VALID,			 /* a certificate is current */
	ACME_DS_RENEWING,		 /* valid, and a new order runs */
	ACME_DS_INVALID,		 /* gave up; error says why */
	ACME_DS_REVOKED,		 /* revoked on request */
};
const char *acme_dstatus_name(enum acme_dstatus s);
int acme_dstatus_parse(const char *s, enum acme_dstatus *out);

struct acme_tlsa_port {
	uint16_t port;
	char proto[8]; /* "tcp", "udp", "sctp" */
};

/*
 * A managed domain: what is persisted (acme_domain_to_json) and shown.
 * All strings are malloc'd and owned by the struct (acme_domain_clear).
 */
struct acme_domain {
	char id[ACME_ID_LEN + 1];
	char owner[ACME_ID_LEN + 1];	 /* registration username */
	char subdomain[ACME_ID_LEN + 1]; /* registration subdomain: TXT goes
					    to <subdomain>.<zone apex> */
	char **names;			 /* lower-case, "*." wildcards */
	size_t nnames;
	enum acme_keytype key_type;
	char *csr_pem; /* user CSR instead of a generated key, or NULL */
	struct acme_tlsa_port tlsa[ACME_MAX_TLSA];
	size_t ntlsa;
	int64_t created; /* unix s */
	char *deploy_hook; /* per-domain hook command (set by the local admin
			      through the CLI only), or NULL */
	bool in_zone;	   /* the names are inside our own zone (the API's
			      own certificate): subdomain is then the
			      challenge name relative to the apex, e.g.
			      "_acme-challenge.api", and no delegation check
			      is made */

	enum acme_dstatus status;
	char *error; /* last error (problem summary), NULL if none */
	unsigned failures; /* consecutive failed attempts */
	int64_t next_attempt; /* unix s: next order/recheck/retry, 0 none */

	/* the current certificate */
	char *cert_pem; /* full chain as downloaded (leaf first), or NULL */
	char *key_pem;	/* its private key (generated keys only), or NULL */
	int64_t key_created; /* unix s, for the maximum key age */
	int64_t not_before, not_after, renew_at; /* unix s, 0 if none */
	char *ari_id; /* RFC 9773 cert id of the current cert, or NULL */

	/* the order in flight, or all NULL */
	char *order_url;
	char *next_key_pem; /* key of the order in flight (pre-published in
			       TLSA before it goes live), or NULL */
};

/* Free every member and zero the struct. */
void acme_domain_clear(struct acme_domain *d);
/* Deep copy (dst must be zeroed or cleared). 0 or AD_ENOMEM. */
int acme_domain_copy(struct acme_domain *dst, const struct acme_domain *src);
/* Serialization for the store: every member (private keys included: the
 * store file is 0600). *out: cJSON object (caller deletes). */
struct cJSON *acme_domain_to_json(const struct acme_domain *d);
/* Inverse; validates everything (names, sizes, enums). 0 or AD_EMALF. */
int acme_domain_from_json(const struct cJSON *j, struct acme_domain *d);

/* The account as persisted. */
struct acme_account_state {
	char *key_pem; /* account private key (PKCS#8 PEM) */
	char *url;     /* account URL (kid), NULL until known */
	char *directory; /* directory URL the account belongs to */
	char *status;  /* "valid", "deactivated", or NULL */
};
void acme_account_state_clear(struct acme_account_state *a);

/* ---- host interface ---------------------------------------------------- */

struct acme_http_req {
	uint64_t id;	    /* pass back to acme_engine_http_done */
	const char *method; /* "GET", "HEAD", "POST" */
	const char *url;
	const char *body;	  /* POST body (JWS JSON) or NULL */
	size_t body_len;
	const char *content_type; /* "application/jose+json" or NULL */
};

#define ACME_HTTP_MAX_LINKS 16
struct acme_http_resp {
	int status;	   /* HTTP status; 0 = transport failure */
	const char *error; /* transport failure text (status 0), else NULL */
	const char *body;  /* may be NULL when body_len == 0 */
	size_t body_len;   /* the host caps bodies at ACME_MSG_MAX_BODY */
	/* headers, NULL if absent (values without CR/LF) */
	const char *content_type, *location, *replay_nonce, *retry_after;
	const char *links[ACME_HTTP_MAX_LINKS]; /* every Link header value */
	size_t nlinks;
};

struct acme_ops {
	void *ctx;
	/* Wall clock, unix milliseconds. */
	uint64_t (*now_ms)(void *ctx);
	/* Randomness for jitter and ARI window points; NULL: ad_random(). */
	uint32_t (*random)(void *ctx);
	/* Start a request; everything in req is borrowed for the call only.
	 * Nonzero: could not start (treated as a transport failure). The
	 * host must complete every started request exactly once, unless the
	 * engine is freed first. */
	int (*http)(void *ctx, const struct acme_http_req *req);
	/* Resolve name's CNAME (one step, through the configured resolver):
	 * complete with acme_engine_resolve_done(id, ...). Optional: NULL
	 * disables the delegation check. */
	int (*resolve)(void *ctx, uint64_t id, const char *name);
	/* Challenge TXT values at <subdomain>.<apex>: add (pinned) / remove.
	 * txt_add returns 0 or an AD_E* code (the order then fails). */
	int (*txt_add)(void *ctx, const char *subdomain, const char *value);
	void (*txt_del)(void *ctx, const char *subdomain, const char *value);
	/* Persist: called after every change of d (status, order URL, keys,
	 * certificate...). d is borrowed for the call. */
	void (*domain_changed)(void *ctx, const struct acme_domain *d);
	/* Persist the account (URL learnt, key changed, deactivated). */
	void (*account_changed)(void *ctx,
				const struct acme_account_state *a);
	/* A new certificate is current (after domain_changed): write the
	 * files, TLSA, run hooks. Also called with revoked == true. */
	void (*cert_issued)(void *ctx, const struct acme_domain *d);
	/* A domain was deleted (after its TXT values were removed). */
	void (*domain_deleted)(void *ctx, const struct acme_domain *d);
};

struct acme_engine_cfg {
	const char *directory;	 /* directory URL (required) */
	const char *email;	 /* contact, or NULL */
	const char *eab_kid;	 /* External Account Binding, or NULL */
	const char *eab_hmac_key; /* base64url, with eab_kid */
	const char *preferred_chain; /* issuer/root CN to prefer, or NULL */
	const char *profile;	 /* sent when the directory lists it, or NULL */
	const char *zone_apex;	 /* "auth.example.test": CNAME targets are
				    <subdomain>.<zone_apex>. */
	bool check_delegation;	 /* resolve _acme-challenge CNAMEs first */
	unsigned delegation_recheck_s; /* default 60 */
	unsigned key_max_age_days;     /* reuse the key across renewals up
					  to this age; 0 = new key each time */
	unsigned max_concurrent;       /* orders in flight at once (0 = 50) */
	unsigned poll_interval_ms;     /* first authz/order poll, doubling
					  on each further one up to 30 s
					  (0 = 100; Retry-After overrides) */
};

#define ACME_ENGINE_MAX_FAILS 5

/*
 * Create an engine. account: the persisted account (key_pem required;
 * the host generates and durably stores a key before the first start so
 * that a crash can never lead to a second account: a missing url is
 * found again with onlyReturnExisting). cfg strings and account are
 * copied. 0, AD_EINVAL (bad cfg/key), AD_ENOMEM.
 */
int acme_engine_new(const struct acme_engine_cfg *cfg,
		    const struct acme_ops *ops,
		    const struct acme_account_state *account,
		    struct acme_engine **out);
/* Free; pending requests are abandoned (their completions must not
 * arrive afterwards). Pinned TXT values are NOT removed (host's zone). */
void acme_engine_free(struct acme_engine *e);

/*
 * Add a domain: a new one from the API (status AWAITING_DELEGATION or
 * PENDING: the engine starts it) or one loaded from the store (any status;
 * an order_url in flight is resumed: fetched and continued, or restarted
 * if the CA no longer knows it). d is copied. AD_EEXIST (id),
 * AD_EINVAL (no names, too many, bad name), AD_ELIMIT.
 */
int acme_engine_add(struct acme_engine *e, const struct acme_domain *d);
/* Start work: fetch the directory, find/create the account, run domains.
 * Call once after the stored domains were added. */
void acme_engine_start(struct acme_engine *e);

/* Borrowed view of a domain (valid until the next call into the engine),
 * or NULL. */
const struct acme_domain *acme_engine_find(const struct acme_engine *e,
					   const char *id);
size_t acme_engine_count(const struct acme_engine *e);
const struct acme_domain *acme_engine_at(const struct acme_engine *e,
					 size_t i);

/* Renew now (even if not due). AD_ENOENT, AD_EINVAL (revoked/busy is OK:
 * a running order just continues). */
int acme_engine_renew(struct acme_engine *e, const char *id);
/* Revoke the current certificate (RFC 8555 §7.6, reason code 0..10 but
 * not 7), signed by the account key; status -> REVOKED when the CA agrees.
 * AD_ENOENT, AD_EINVAL (no certificate, bad reason). */
int acme_engine_revoke(struct acme_engine *e, const char *id, int reason);
/* Stop managing: abandon its order, remove its TXT values, call
 * ops->domain_deleted. AD_ENOENT. */
int acme_engine_delete(struct acme_engine *e, const char *id);

/* Account key rollover (RFC 8555 §7.3.5) to new_key_pem; on success
 * ops->account_changed gets the new key. AD_EINVAL, AD_EAGAIN-like
 * AD_ELIMIT when a rollover is running. */
int acme_engine_key_change(struct acme_engine *e, const char *new_key_pem);
/* Deactivate the account (§7.3.6); every domain stops. */
int acme_engine_deactivate(struct acme_engine *e);
/* Update the contact (§7.3.2). */
int acme_engine_set_contact(struct acme_engine *e, const char *email);

/* Borrowed: the account as known now. */
const struct acme_account_state *
acme_engine_account(const struct acme_engine *e);
/* true once the directory is fetched and the account is valid */
bool acme_engine_ready(const struct acme_engine *e);
/* last account-level error (directory/account), or NULL */
const char *acme_engine_error(const struct acme_engine *e);

/* ---- events from the host ------------------------------------------- */

void acme_engine_http_done(struct acme_engine *e, uint64_t id,
			   const struct acme_http_resp *resp);
/* status 0: target is the CNAME target (absolute, trailing dot optional,
 * any case); AD_ENOENT: no CNAME (NXDOMAIN/NODATA); other: lookup failed. */
void acme_engine_resolve_done(struct acme_engine *e, uint64_t id, int status,
			      const char *target);
/* Run what is due at ops->now_ms. New orders (key generation and CSR,
 * the costly part) start only here, a few per call, so that a burst of
 * domains never holds the host's loop for long; next_wakeup() is "now"
 * while more are waiting. */
void acme_engine_tick(struct acme_engine *e);
/* Absolute time (unix ms) at which tick must run next; UINT64_MAX: none. */
uint64_t acme_engine_next_wakeup(const struct acme_engine *e);

/* ---- pure helpers (exported for tests) -------------------------------- */

/* The challenge name of an identifier: "_acme-challenge.example.com" for
 * "example.com" and "*.example.com". out: at least 272 bytes. */
void acme_challenge_name(const char *ident, char *out, size_t cap);

/*
 * When to renew (unix s): without ARI, when 1/3 of the lifetime is left
 * (1/2 when the lifetime is under 10 days), minus a jitter of up to 1/20
 * of the lifetime drawn from rnd (0..UINT32_MAX). With an ARI window
 * (ari_start < ari_end), a uniform point inside it drawn from rnd.
 */
int64_t acme_renew_time(int64_t not_before, int64_t not_after,
			int64_t ari_start, int64_t ari_end, uint32_t rnd);

#endif
