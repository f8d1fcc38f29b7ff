/* SPDX-License-Identifier: MIT */
/*
 * The REST API: the acme-dns compatible endpoints (/register, /update,
 * /health, DELETE /register), /metrics, CORS and the client-IP rules.
 * Turns parsed HTTP requests (server/http.h) into responses; owns the
 * in-memory registration table and keeps the zone's registered names and
 * TXT values in step with the store.
 *
 * Ordering guarantees (docs/API.md): an update's value is in the zone
 * before its store write is queued, and the 2xx is sent only after the
 * store has committed. A registration exists in memory (and DNS) only
 * after its commit.
 *
 * Body parsing is split out as pure functions for the fuzz harness.
 */
#ifndef SRV_API_H
#define SRV_API_H

#include "server/config.h"
#include "server/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct zone;
struct srv_store;
struct srv_dns;
struct srv_api;
struct srv_acme;

/* ---- pure body parsers ------------------------------------------------ */

enum srv_api_perr {
	SRV_API_OK = 0,
	SRV_API_MALFORMED, /* not JSON, trailing data, wrong types */
	SRV_API_BADCIDR,   /* an allowfrom entry is not a CIDR, or too many */
};

#define SRV_API_MAX_ALLOWFROM 256
#define SRV_API_MAX_DEPTH 32 /* JSON nesting we accept at all */

/*
 * POST /register body (acme-dns: empty, {}, null, {"allowfrom":[...]},
 * keys case-insensitive, last duplicate wins). On SRV_API_OK *cidrs
 * (malloc'd, caller frees; NULL when none) holds *n parsed CIDRs whose
 * text is the entry with brackets removed.
 */
enum srv_api_perr srv_api_parse_register(const uint8_t *body, size_t len,
					 struct srv_cidr **cidrs, size_t *n);

/*
 * POST /update body, decoded as Go's json.Decoder would into acme-dns's
 * struct: the first JSON value only (trailing bytes ignored), keys
 * case-insensitive, fields of the wrong type left empty. sub and txt get
 * the strings (NUL-terminated, cut at cap-1; *_len is the full length so
 * a cut value never validates). Returns false when the body is not JSON.
 */
#define SRV_API_FIELD_MAX 256
bool srv_api_parse_update(const uint8_t *body, size_t len,
			  char sub[SRV_API_FIELD_MAX], size_t *sub_len,
			  char txt[SRV_API_FIELD_MAX], size_t *txt_len);

/* JSON array text of CIDR strings (as stored) -> CIDRs; entries that do
 * not parse are skipped and counted in *bad. *out malloc'd or NULL. */
int srv_api_cidrs_from_json(const char *json, struct srv_cidr **out,
			    size_t *n, size_t *bad);

/*
 * The CNAMEs a user must create for managed domain d in zone apex (no
 * trailing dot): for each distinct challenge name "_acme-challenge.<name>."
 * -> "<subdomain>.<apex>.", and with TLSA ports, for each non-wildcard name
 * "_<port>._<proto>.<name>." -> "_<port>._<proto>.<subdomain>.<apex>.".
 * Fills out[0..cap) with malloc'd strings (free: srv_domain_cnames_free)
 * and returns the count. Pure (REST responses and the CLI).
 */
struct acme_domain;
struct srv_domain_cname {
	char *name, *target;
};
size_t srv_domain_cnames(const char *apex, const struct acme_domain *d,
			 struct srv_domain_cname *out, size_t cap);
void srv_domain_cnames_free(struct srv_domain_cname *c, size_t n);

/*
 * The public view of d as GET /domains/{id} answers it (docs/API.md): id,
 * names, status, not_before, not_after, renew_at (RFC 3339 UTC or null),
 * error (or null), cnames (for zone apex), key_type, tlsa, csr (bool),
 * created. Never any private key. Caller deletes (cJSON_Delete).
 */
struct cJSON *srv_domain_json(const char *apex, const struct acme_domain *d);

/*
 * An account-level failure (srv_acme_account_error: e.g. a wrong EAB key,
 * a deactivated account) stops every order, so a domain that is not
 * valid shows it: j's "error" (of srv_domain_json(d)) becomes
 * "account: <account_error>", followed by the domain's own error if it
 * has one. Nothing changes for a valid domain or a NULL account_error.
 */
void srv_domain_json_account(struct cJSON *j, const struct acme_domain *d,
			     const char *account_error);

/* Enough room for every CNAME of d: srv_domain_cnames fills at most cap
 * entries and returns how many it filled, never more than this. */
#define SRV_DOMAIN_CNAMES_MAX(d) ((d)->nnames * (1 + (d)->ntlsa))

/* ---- POST /domains body (contract §4.2; server/api_json.c) ------------ */

/*
 * Errors of the native /domains bodies, each with its JSON "error" code
 * (srv_api_derr_code): malformed_json_payload (not one JSON object,
 * trailing data, a duplicate or unknown member), and per member, for a
 * wrong JSON type as for a bad value: bad_names, bad_key_type, bad_tlsa,
 * bad_csr, bad_reason.
 */
enum srv_api_derr {
	SRV_API_D_OK = 0,
	SRV_API_D_MALFORMED,
	SRV_API_D_BADNAMES,
	SRV_API_D_BADKEYTYPE,
	SRV_API_D_BADTLSA,
	SRV_API_D_BADCSR,
	SRV_API_D_BADREASON,
};
/* "malformed_json_payload", "bad_names", ...; static, never NULL. */
const char *srv_api_derr_code(enum srv_api_derr e);

#define SRV_API_MAX_NAMES 100	  /* names per domain (ACME_MAX_NAMES) */
#define SRV_API_MAX_TLSA 8	  /* tlsa entries (ACME_MAX_TLSA) */
#define SRV_API_MAX_CSR 16384	  /* bytes of a CSR PEM */
#define SRV_API_MAX_DOMAINS 100	  /* managed domains per registration */

struct acme_tlsa_port;
/* A parsed POST /domains body. Every pointer is malloc'd and owned by the
 * struct (srv_api_domain_body_free). */
struct srv_api_domain_body {
	char **names;	 /* lower-cased, trailing dot removed, unique */
	size_t nnames;	 /* 0 only when csr_pem is set */
	char *key_type;	 /* "ec256" ... "rsa4096", or NULL (default) */
	char *csr_pem;	 /* or NULL */
	struct acme_tlsa_port *tlsa; /* ntlsa entries, unique, or NULL */
	size_t ntlsa;
};

/*
 * Parse a POST /domains body: one JSON object (json.Unmarshal rules:
 * nothing but white space after it), member names case-sensitive,
 * {"names": [string...], "key_type": string, "tlsa": [{"port": 1..65535,
 * "proto": "tcp"|"udp"|"sctp"}...], "csr": string}; names may be missing
 * or empty only with a csr; key_type and csr exclude each other. Names:
 * host names of 2+ labels (LDH, 1..63 octets, at most 253 in all) or
 * "*." + such a name; at most SRV_API_MAX_NAMES. The CSR is checked for
 * its PEM armour only (the engine verifies it). On error out is left
 * empty and detail (cap bytes, may be NULL) says why in one line.
 */
enum srv_api_derr srv_api_parse_domain(const uint8_t *body, size_t len,
				       struct srv_api_domain_body *out,
				       char *detail, size_t cap);
void srv_api_domain_body_free(struct srv_api_domain_body *b);

/*
 * POST /domains/{id}/revoke body: empty, null, {} or {"reason": N} with N
 * an RFC 5280 §5.3.1 CRLReason code 0..10 other than 7 (RFC 8555 §7.6).
 * *reason: N, or -1 when not given. Errors as above (bad_reason).
 */
enum srv_api_derr srv_api_parse_revoke(const uint8_t *body, size_t len,
				       int *reason, char *detail, size_t cap);

/*
 * Is s (len bytes, no NUL needed) a name we manage: a host name as
 * srv_api_parse_domain accepts it (lower case only, no trailing dot), or
 * "*." followed by one. Shared with the CLI.
 */
bool srv_api_domain_name_valid(const char *s, size_t len);

/* ---- the API ------------------------------------------------------------ */

struct srv_api_opts {
	uv_loop_t *loop;
	const struct srv_config *cfg; /* borrowed; replaceable with set_config */
	struct zone *zone;	      /* borrowed */
	struct srv_store *store;      /* borrowed */
	struct srv_acme *acme;	      /* borrowed; NULL: no ACME engine
					 (/domains answers 503) */
};

/* 0 or nonzero with err. */
int srv_api_new(const struct srv_api_opts *opts, struct srv_api **out,
		char *err, size_t errlen);
/* Load every registration and TXT value from the store into memory and
 * the zone (start-up). 0 or nonzero with err. */
int srv_api_load(struct srv_api *a, char *err, size_t errlen);
/*
 * Load one registration (username, a UUID) from the store into memory and
 * the zone, as srv_api_load does at start-up: for one that `acmedns
 * domains add` created while we run (the ACME side hands over its
 * "register" requests, see srv_acme_set_registration_loader). The row is
 * read on the store's writer thread; the outcome is logged. 0 (queued),
 * AD_EINVAL (not a UUID), AD_EEXIST (known already), or the store's code.
 */
int srv_api_load_registration(struct srv_api *a, const char *username);
/* The srv_http_handler: pass a as ctx. */
void srv_api_handle(void *ctx, struct srv_http_req *req);
/* For /metrics (optional). */
void srv_api_set_dns(struct srv_api *a, const struct srv_dns *dns);
void srv_api_set_config(struct srv_api *a, const struct srv_config *cfg);
size_t srv_api_registrations(const struct srv_api *a);
/* No requests may be pending (stop HTTP and drain the store first). */
void srv_api_free(struct srv_api *a);

/* ---- internal to the API module: api.c <-> api_domains.c ---------------
 * api.c routes, authenticates and answers; api_domains.c implements the
 * managed-domain endpoints (contract §4.2) behind this narrow interface so
 * that they can be tested with a fake ACME side (tests/unit/api).
 */

enum srv_api__dop {
	SRV_API__D_NOTFOUND = 0, /* under /domains but not a resource: 404 */
	SRV_API__D_METHOD,	 /* resource exists, method does not: 405 */
	SRV_API__D_OPTIONS,	 /* CORS preflight */
	SRV_API__D_LIST,	 /* GET /domains */
	SRV_API__D_ADD,		 /* POST /domains */
	SRV_API__D_GET,		 /* GET /domains/{id} */
	SRV_API__D_FILE,	 /* GET /domains/{id}/<file>.pem */
	SRV_API__D_RENEW,	 /* POST /domains/{id}/renew */
	SRV_API__D_REVOKE,	 /* POST /domains/{id}/revoke */
	SRV_API__D_DELETE,	 /* DELETE /domains/{id} */
};

struct srv_api__droute {
	enum srv_api__dop op;
	char id[37];	   /* the domain id, lower case ("" for the list) */
	const char *file;  /* SRV_API__D_FILE: "fullchain.pem", ... */
	const char *allow; /* methods of the resource, for Allow: */
};

/* Pure: false when path is not /domains or below it; else true with r
 * filled (ids must be 36-character UUIDs, anything else is NOTFOUND). */
bool srv_api__domains_route(const char *method, const char *path,
			    struct srv_api__droute *r);

/* Which domain ids belong to which registration, and the adds in flight
 * per owner: for the per-registration limit. (GET /domains reads the
 * store instead, so that domains the CLI added are listed too.) */
struct srv_api__doms;
struct srv_api__doms *srv_api__doms_new(void);
void srv_api__doms_free(struct srv_api__doms *x);
/* Record that domain id belongs to owner (idempotent). */
void srv_api__doms_note(struct srv_api__doms *x, const char *owner,
			const char *id);
/* Fill from the store's acme_domains rows (start-up, synchronous).
 * 0 or an AD_E* code. */
int srv_api__doms_load(struct srv_api__doms *x, struct srv_store *st);
/* Forget every id of owner (DELETE /register). */
void srv_api__doms_owner_deleted(struct srv_api__doms *x, const char *owner);

/* Answer the request: called exactly once per srv_api__domains_exec, now
 * or after a commit. body/extra borrowed for the call. */
typedef void (*srv_api__reply)(void *arg, int status, const char *ctype,
			       const char *extra, const char *body,
			       size_t len);

struct srv_api__dreq {
	struct srv_acme *acme;	    /* not NULL */
	struct srv_api__doms *doms; /* not NULL */
	struct srv_store *store;    /* GET /domains reads the owner's ids */
	const char *apex;	    /* [zone] domain, no trailing dot */
	const char *owner;	    /* authenticated registration ... */
	const char *subdomain;	    /* ... and its subdomain (UUID) */
	const char *account_error;  /* srv_acme_account_error, or NULL */
	const uint8_t *body;
	size_t body_len;
	srv_api__reply reply;
	void *arg;
};

/* Run an authenticated request routed to op (LIST .. DELETE). Everything
 * in r and q is borrowed for the call only. */
void srv_api__domains_exec(const struct srv_api__droute *r,
			   const struct srv_api__dreq *q);

#endif
