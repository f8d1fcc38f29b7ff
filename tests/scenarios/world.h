/* SPDX-License-Identifier: MIT */
/*
 * The deterministic world the engine scenarios run in (after Unbound's
 * testcode/fake_event.c): a fake clock, the host side of struct acme_ops
 * (HTTP to the fake CA with scripted latency, CNAME lookups and challenge
 * TXT values in a fake DNS, the "store" that keeps what domain_changed and
 * account_changed persisted) and the driver loop that delivers responses
 * and ticks the engine until a condition holds, a fake-time limit passes
 * or a step limit catches a busy loop. Everything is in one process and
 * one thread; nothing sleeps; no sockets.
 *
 * The world also checks the engine's side of the host contract (request
 * ids unique while pending, TXT values well formed, domain states
 * consistent, the key of every CSR sent to finalize persisted first) and
 * counts violations for the tests.
 */
#ifndef WORLD_H
#define WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acme/engine.h"
#include "tests/scenarios/fakeca.h"

#define W_T0 1796083200000ULL /* 2026-12-01T00:00:00Z in ms */
#define W_SEC 1000ULL
#define W_MIN (60 * W_SEC)
#define W_HOUR (60 * W_MIN)
#define W_DAY (24 * W_HOUR)
#define W_APEX "auth.example.test"

enum world_rc {
	W_COND = 0, /* the condition holds */
	W_TIME,     /* fake-time limit reached (or nothing left to do) */
	W_STEPS,    /* step limit: the engine loops without progress */
};

struct world_ev;
struct world_cname {
	char *name; /* "_acme-challenge.www.example.com" */
	char *sub;  /* the registration subdomain the CNAME points into */
};
struct world_txt {
	char *sub;
	char **vals;
	size_t n;
};

struct world {
	uint64_t now; /* fake unix ms */
	uint64_t rng;
	struct fakeca *ca;
	struct acme_engine *e;
	struct acme_ops ops;
	struct acme_engine_cfg cfg;     /* strings borrowed from the test */
	struct acme_account_state acct; /* as last persisted */

	/* knobs */
	uint32_t latency_ms;        /* response latency (plus jitter) */
	uint32_t latency_jitter_ms; /* 0..jitter-1 added, reproducible */
	uint32_t resolve_latency_ms;
	bool no_body_cap;          /* deliver >1 MiB bodies instead of the
				      host's "response too large" */
	unsigned http_start_fail;  /* the next K ops->http calls fail */
	unsigned txt_add_fail;     /* the next K txt_add calls fail */
	bool keep_txt_on_restart;  /* world_restart keeps challenge TXT
				      values (default: a restarted process
				      rebuilds its zone without them) */
	uint64_t max_steps;        /* per world_run (default 400000) */
	uint64_t max_same_instant; /* steps without time moving (20000) */

	/* pending completions */
	struct world_ev *ev;
	size_t nev;
	uint64_t seq;

	/* fake DNS */
	struct world_cname *cn;
	size_t ncn;
	struct world_txt *txt;
	size_t ntxt;
	unsigned txt_adds, txt_dels, txt_del_missing;
	size_t max_txt_one_sub; /* most values at one subdomain at once */

	/* what the host saw */
	struct acme_domain *dom; /* persisted copies, by id */
	size_t ndom;
	unsigned n_http, n_resolve, n_domain_changed, n_account_changed;
	unsigned n_cert_issued, n_deleted, n_revoked_issued;
	unsigned n_finalize_checked; /* finalize CSRs whose key was found
					persisted (else a violation) */
	char **errors;               /* distinct domain errors ever shown */
	size_t nerrors;
	char **eng_errors; /* distinct acme_engine_error() texts seen */
	size_t neng_errors;
	char **violations; /* host-contract violations by the engine */
	size_t nviolations;
	uint64_t steps; /* in the last world_run */
};

/* A world at W_T0 with a fake CA made from cacfg (NULL: defaults), an
 * EC P-256 account key "stored" (no URL yet) and w->cfg pointing at the
 * CA. No engine yet. */
struct world *world_new(const struct fakeca_cfg *cacfg, uint64_t seed);
void world_free(struct world *w);
/* Free every world still alive (a cmocka teardown after a failed
 * assertion skipped world_free). Returns 0. */
int world_free_all(void **state);

/* acme_engine_new with w->cfg and w->acct; 0 or the engine's error. */
int world_engine_new(struct world *w);
/* acme_engine_free, dropping every pending completion (a crash). */
void world_engine_free(struct world *w);
/* Crash and restart: free the engine, drop the pinned challenge TXT
 * values (unless keep_txt_on_restart), make a new engine from what was
 * persisted (account, every domain), add them, start. 0 or error. */
int world_restart(struct world *w);

/* "00000000-0000-4000-8000-<n>" */
void world_id(unsigned n, char out[ACME_ID_LEN + 1]);
/*
 * Add a managed domain to the engine (and the "store") the way the API
 * does: status PENDING, or AWAITING_DELEGATION when w->cfg asks for the
 * delegation check. With delegate, the CNAMEs _acme-challenge.<name> ->
 * <sub>.<apex> are created first. Returns acme_engine_add's code.
 */
int world_add(struct world *w, const char *id, const char *sub,
	      const char *const *names, size_t n, bool delegate);

/* Add a domain built by the test (in_zone, csr_pem...): persisted, then
 * acme_engine_add. Returns its code. */
int world_add_domain(struct world *w, const struct acme_domain *d);

/* CNAME name -> <sub>.<apex>. (sub NULL removes it). */
void world_cname(struct world *w, const char *name, const char *sub);
/* TXT values at sub now */
size_t world_txt_count(const struct world *w, const char *sub);
size_t world_txt_total(const struct world *w);
bool world_txt_has(const struct world *w, const char *sub, const char *val);

/* The last persisted copy of domain id, or NULL. */
const struct acme_domain *world_persisted(const struct world *w,
					  const char *id);
/* The engine's live view, or NULL. */
const struct acme_domain *world_domain(const struct world *w, const char *id);
/* true if some domain error ever shown contains needle (any case) */
bool world_error_seen(const struct world *w, const char *needle);
/* same for the engine's account-level error */
bool world_eng_error_seen(const struct world *w, const char *needle);
/*
 * Check d's certificate: the chain parses (acme_chain_parse, with the
 * domain's key when it has one), its names are exactly names[0..n) in
 * any order and d's validity fields match it. 0 or -1 (reason on
 * stderr). ci: filled when not NULL (caller frees with
 * acme_certinfo_free).
 */
int world_cert_check(const struct acme_domain *d, const char *const *names,
		     size_t n, struct acme_certinfo *ci);
/* The k-th request to ep (see fakeca_find) or NULL. */
const struct fakeca_req *world_req(const struct world *w, enum fakeca_ep ep,
				   unsigned k);

/*
 * The driver: deliver due completions, else move the clock to the next
 * completion or engine wakeup and tick; until cond(w, arg) holds (checked
 * before every step; NULL: never), limit_ms of fake time pass, or the
 * step limits trip. On W_TIME/W_STEPS with a cond, a summary goes to
 * stderr.
 */
typedef bool (*world_cond)(struct world *w, void *arg);
enum world_rc world_run(struct world *w, world_cond cond, void *arg,
			uint64_t limit_ms);
/* Run until domain id has status st. */
enum world_rc world_run_status(struct world *w, const char *id,
			       enum acme_dstatus st, uint64_t limit_ms);
/* Run until every domain of the engine has status st. */
enum world_rc world_run_all(struct world *w, enum acme_dstatus st,
			    uint64_t limit_ms);
/* Print the state (domains, last requests) to stderr. */
void world_dump(const struct world *w, const char *why);

#endif
