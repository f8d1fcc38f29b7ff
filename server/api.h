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
/* The srv_http_handler: pass a as ctx. */
void srv_api_handle(void *ctx, struct srv_http_req *req);
/* For /metrics (optional). */
void srv_api_set_dns(struct srv_api *a, const struct srv_dns *dns);
void srv_api_set_config(struct srv_api *a, const struct srv_config *cfg);
size_t srv_api_registrations(const struct srv_api *a);
/* No requests may be pending (stop HTTP and drain the store first). */
void srv_api_free(struct srv_api *a);

#endif
