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
 * set (static or in d->error), AD_EIO, AD_EAUTH (the account is
 * deactivated). Validation errors call done before returning (status
 * AD_EINVAL, detail text).
 */
typedef void (*srv_acme_done)(void *arg, int status, const char *detail,
			      const struct acme_domain *d);
int srv_acme_domain_add(struct srv_acme *a, const struct srv_acme_add *req,
			srv_acme_done done, void *arg);

/* Borrowed, NULL if unknown. */
const struct acme_domain *srv_acme_domain_find(struct srv_acme *a,
					       const char *id);
/* AD_ENOENT, AD_EINVAL (not in a renewable state), AD_EAUTH (the account
 * is deactivated). */
int srv_acme_domain_renew(struct srv_acme *a, const char *id);
int srv_acme_domain_revoke(struct srv_acme *a, const char *id, int reason);
/* Deletes from the engine, the zone, the store and the files;
 * done(arg, status, NULL, NULL) after the commit. */
int srv_acme_domain_delete(struct srv_acme *a, const char *id,
			   srv_acme_done done, void *arg);
/* Delete every domain of a registration (DELETE /register). */
void srv_acme_owner_deleted(struct srv_acme *a, const char *owner);

/* Metrics: domains per status, orders in flight, the account. */
struct srv_acme_stats {
	size_t by_status[6];
	uint64_t issued, failed;
	bool account_ready; /* directory fetched, account valid */
};
void srv_acme_stats(const struct srv_acme *a, struct srv_acme_stats *out);

/* ---- the account (`acmedns account`, GET /domains/{id}, /metrics) ----- */

/*
 * The last account-level error (directory unreachable, newAccount refused
 * e.g. for a wrong EAB key, account deactivated, a failed key change...),
 * or NULL when the account is fine. Borrowed until the next loop turn.
 * The same text is kept in the stored account row ("error") so that the
 * CLI can show it without a daemon.
 */
const char *srv_acme_account_error(const struct srv_acme *a);
/* Whether the account was deactivated (RFC 8555 §7.3.6): nothing can be
 * ordered any more; renew/add are refused with AD_EAUTH. */
bool srv_acme_account_deactivated(const struct srv_acme *a);

/*
 * Requests of the CLI taken from the store's queue (op / arg):
 *   "key_change" (key type or NULL): a new account key is generated here
 *       and rolled over (RFC 8555 §7.3.5); the engine persists it through
 *       ops->account_changed only once the CA accepted it;
 *   "deactivate": §7.3.6; every domain stops;
 *   "contact" (email, "" for none): §7.3.2; stored in the account row once
 *       the CA accepted it;
 *   "register" (username): a registration the CLI created; handed to the
 *       loader set here, which puts it into the API's table (the API owns
 *       that table and the zone's registered names).
 * Account operations run one at a time, in queue order; one the engine
 * cannot take yet (another one runs) waits in memory and is retried at
 * the next poll. Every outcome is logged.
 */
typedef int (*srv_acme_reg_loader)(void *arg, const char *username);
/* fn borrowed (called on the loop thread), arg passed back; NULL clears. */
void srv_acme_set_registration_loader(struct srv_acme *a,
				      srv_acme_reg_loader fn, void *arg);

#endif
