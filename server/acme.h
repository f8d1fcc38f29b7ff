/* SPDX-License-Identifier: MIT */
/*
 * The daemon's ACME side: owns the engine (acme/engine.h) and connects it
 * to the rest of the process: HTTPS and CNAME lookups (server/acme_http.h),
 * the zone (challenge TXT values pinned at the registration's subdomain,
 * TLSA records at _<port>._<proto>.<subdomain>), the store (account and
 * domains as JSON rows; CLI requests), output files and hooks
 * (server/certfiles.h), and the API's own certificate for [api] tls = acme.
 *
 * Durability: a domain exists for the API (202) only once its row is
 * committed; the account key is committed before the engine first talks
 * to the CA, so a crash never leads to a second account.
 */
#ifndef SRV_ACME_H
#define SRV_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "acme/engine.h"
#include "server/config.h"

struct zone;
struct srv_store;
struct srv_acme;

struct srv_acme_opts {
	uv_loop_t *loop;
	const struct srv_config *cfg; /* borrowed */
	struct zone *zone;	      /* borrowed */
	struct srv_store *store;      /* borrowed, loop mode */
	/* called when the certificate for [api] tls = acme changes (paths of
	 * fullchain.pem and key.pem); may be NULL */
	void (*api_cert)(void *arg, const char *cert_path,
			 const char *key_path);
	void *api_cert_arg;
};

/*
 * With [acme] directory empty there is no engine: srv_acme_new sets *out
 * to NULL and returns 0 (the /domains endpoints then answer 503
 * acme_disabled). Otherwise: load the account (generating and storing a
 * key the first time) and every domain from the store, restore their TXT
 * and TLSA records in the zone, and start the engine. 0 or nonzero + err.
 */
int srv_acme_new(const struct srv_acme_opts *opts, struct srv_acme **out,
		 char *err, size_t errlen);
/* Stop: abort transfers, free the engine. The loop must run afterwards. */
void srv_acme_free(struct srv_acme *a);

/* ---- the managed-domain operations (REST §4.2 and the CLI) ------------ */

struct srv_acme_add {
	const char *owner;     /* registration username */
	const char *subdomain; /* registration subdomain */
	const char *const *names;
	size_t nnames;
	const char *key_type; /* NULL: [acme] key_type */
	const char *csr_pem;  /* NULL: generated key */
	const struct acme_tlsa_port *tlsa;
	size_t ntlsa;
};

/*
 * Validate (names: 1..100, each a hostname or "*." + hostname, lower-cased,
 * no duplicates; key_type; CSR names must equal names when both are given,
 * a CSR alone gives the names), create the domain, store it, add it to
 * the engine once committed. done(arg, status, d): status 0 with the
 * stored domain (borrowed during the call), else AD_EINVAL with detail
 * set (static or in d->error), AD_EIO. Validation errors call done before
 * returning (status AD_EINVAL, detail text).
 */
typedef void (*srv_acme_done)(void *arg, int status, const char *detail,
			      const struct acme_domain *d);
int srv_acme_domain_add(struct srv_acme *a, const struct srv_acme_add *req,
			srv_acme_done done, void *arg);

/* Borrowed, NULL if unknown. */
const struct acme_domain *srv_acme_domain_find(struct srv_acme *a,
					       const char *id);
int srv_acme_domain_renew(struct srv_acme *a, const char *id);
int srv_acme_domain_revoke(struct srv_acme *a, const char *id, int reason);
/* Deletes from the engine, the zone, the store and the files;
 * done(arg, status, NULL, NULL) after the commit. */
int srv_acme_domain_delete(struct srv_acme *a, const char *id,
			   srv_acme_done done, void *arg);
/* Delete every domain of a registration (DELETE /register). */
void srv_acme_owner_deleted(struct srv_acme *a, const char *owner);

/* Metrics: domains per status, orders in flight. */
struct srv_acme_stats {
	size_t by_status[6];
	uint64_t issued, failed;
};
void srv_acme_stats(const struct srv_acme *a, struct srv_acme_stats *out);

#endif
