/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the ACME engine's files, not for use outside acme/:
 * engine.c owns the engine object, the request table (signing, nonces,
 * retries), the directory and the account; engine_order.c owns the
 * per-domain flow (delegation check, order, dns-01, finalize, download,
 * ARI, revoke); engine_domain.c the pure helpers of engine.h. Everything
 * here runs inside one call into the engine: no I/O, no clock reads
 * except through ops->now_ms.
 */
#ifndef ACME_ENGINE_INT_H
#define ACME_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acme/engine.h"
#include "acme/msg.h"
#include "acme/pki.h"

#define ENG_NONCE_POOL 16
#define ENG_MAX_NONCE 256          /* longer Replay-Nonce values are dropped */
#define ENG_BADNONCE_MS 60000u     /* badNonce retries per request */
#define ENG_BACKOFF_MAX_MS 300000u /* request backoff cap (5 min) */
#define ENG_POLL_MAX_MS 30000u     /* polling interval cap */
#define ENG_STARTS_PER_TICK 4u     /* orders started per host tick */
#define ENG_RA_MAX_MS 3600000u     /* Retry-After on success, cap (1 h) */
#define ENG_DIR_MAX_AGE_MS 86400000u /* older: refreshed when next used */
#define ENG_ARI_DEFAULT_MS 21600000u /* RFC 9773 §4.3: refetch, 6 h */
#define ENG_MAX_AUX 16               /* ARI/CNAME lookups in flight */
#define ENG_MAX_ALTS 8               /* alternate chains looked at */
#define ENG_MAX_DOMAINS 100000

/* Directory endpoints a request may be addressed to: the URL is looked up
 * when the request is (re)sent, so a refetched directory takes effect. */
enum eng_ep {
	EP_NONE = 0, /* r->url */
	EP_NEW_NONCE,
	EP_NEW_ACCOUNT,
	EP_NEW_ORDER,
	EP_REVOKE,
	EP_KEY_CHANGE,
	EP_ACCOUNT, /* the account URL (kid) */
};

enum eng_rstate {
	R_QUEUED = 0, /* waiting for due_ms (or for the account) */
	R_NONCE,      /* HEAD newNonce in flight for it */
	R_SENT,       /* the request itself in flight */
};

struct acme_engine;
struct eng_req;
struct eng_dom;

/*
 * Completion of a request. err is NULL on a 2xx answer, else a one-line
 * reason (problem summary, "HTTP 404", transport text); prob is the parsed
 * problem document when there was one (else NULL). resp is never NULL
 * (status 0 for a transport failure that is handed over). The request is
 * freed by the caller after the handler returns.
 */
typedef void (*eng_done_fn)(struct acme_engine *e, struct eng_req *r,
			    const struct acme_http_resp *resp, const char *err,
			    const struct acme_problem *prob);

#define ENG_F_JWK 0x01     /* sign with the JWK (newAccount), not kid */
#define ENG_F_NORETRY 0x02 /* errors go to the handler, no backoff */
#define ENG_F_AUX 0x04     /* counted against ENG_MAX_AUX */
#define ENG_F_NOACCT 0x08  /* needs the directory only, not the account */
#define ENG_F_RESOLVE 0x10 /* a CNAME lookup (ops->resolve), url = name */
#define ENG_F_NEWKEY 0x20  /* sign with the key of a key change in flight */

struct eng_req {
	struct eng_req *next;
	uint64_t id; /* id of the exchange in flight, 0 when queued */
	enum eng_rstate state;
	unsigned flags;
	struct eng_dom *dom; /* owner, or NULL for directory/account */
	eng_done_fn done;
	const char *method; /* "GET", "POST" (static); NULL for resolve */
	enum eng_ep ep;
	char *url;     /* when ep == EP_NONE */
	char *payload; /* POST payload ("" = POST-as-GET, RFC 8555 §6.3);
			  NULL for a key change (built when sent) */
	uint64_t due_ms;
	uint64_t badnonce_since; /* first badNonce, 0 if none */
	unsigned nbackoff;
	bool kid_retried;
};

/* Per-domain step (what the domain is doing now). */
enum eng_step {
	S_IDLE = 0, /* waiting for wake_ms (renewal, retry) or nothing */
	S_DELEG,    /* CNAME lookups */
	S_QUEUED,   /* wants an order slot (FIFO by qseq) */
	S_NEWORDER, /* the steps below hold an order slot */
	S_RESUME,
	S_AUTHZ,
	S_CHALL,
	S_POLL,
	S_FAILAUTHZ,
	S_FINALIZE,
	S_CERT,
	S_ALT,
	S_ARI_ISSUE,
	S_ARI, /* periodic renewalInfo (no slot) */
	S_REVOKE,
};

struct eng_txt {
	char value[ACME_THUMB_LEN + 1];
	char *url; /* challenge URL */
	bool post; /* still to be answered (RFC 8555 §7.5.1) */
};

struct eng_dom {
	struct acme_domain d;
	enum eng_step step;
	bool slot;        /* holds one of cfg.max_concurrent */
	uint64_t wake_ms; /* S_IDLE: when to act, 0 none */
	uint64_t qseq;
	struct eng_req *req; /* the one request of this domain, or NULL */
	size_t idx;          /* authz / challenge / name / alt index */

	/* the order in flight */
	struct acme_order order;
	bool have_order, finalized, resumed, sent_replaces, no_replaces;
	bool refinalized; /* orderNotReady after finalize: looked once */
	unsigned npoll;
	struct eng_txt *txt;
	size_t ntxt;
	EVP_PKEY *key; /* private key of the order (generated) */
	EVP_PKEY *pub; /* public key of a user CSR */
	uint8_t *csr;
	size_t csr_len;
	char *chain; /* default chain as downloaded */
	size_t chain_len;
	char *alts[ENG_MAX_ALTS];
	size_t nalts;
	char *issue_pem; /* chain chosen, waiting for renewalInfo */
	struct acme_certinfo issue_info;
	bool have_issue;

	/* RFC 9773: last window seen and when to ask again */
	int64_t ari_start, ari_end;
	uint64_t ari_next_ms;
};

enum eng_astate {
	A_NONE = 0, /* not started */
	A_DIR,      /* fetching the directory */
	A_LOOKUP,   /* newAccount onlyReturnExisting */
	A_CREATE,   /* newAccount */
	A_READY,
	A_WAIT,  /* failed; retried at acct_wake */
	A_ERROR, /* needs a configuration change */
	A_DEACTIVATED,
};

struct acme_engine {
	struct acme_engine_cfg cfg; /* strings owned */
	struct acme_ops ops;
	struct acme_account_state acct;
	EVP_PKEY *key;
	char thumb[ACME_THUMB_LEN + 1];
	char *error;
	char *kc_error; /* why a key change failed (before the probe) */

	struct acme_directory dir;
	bool have_dir, dir_stale;
	uint64_t dir_next_ms; /* refetch time (RFC 8555 §7.1.1) */
	struct eng_req *dir_req;

	enum eng_astate ast;
	uint64_t acct_wake;
	unsigned acct_fails;
	struct eng_req *acct_req;

	struct eng_req *op_req; /* key change / deactivate / contact */
	EVP_PKEY *new_key;
	char *new_key_pem;
	char *new_email;

	struct eng_req *reqs;
	size_t nreqs, naux;
	uint64_t last_id;
	char *nonces[ENG_NONCE_POOL];
	size_t nnonces;

	struct eng_dom **doms;
	size_t ndoms, capdoms;
	unsigned active;
	uint64_t qseq;
	bool started, profile_warned;
};

/* ---- engine.c ---------------------------------------------------------- */
uint64_t acme__now(const struct acme_engine *e);
uint32_t acme__rand(const struct acme_engine *e);
/* Replace *dst with a copy of src (NULL clears). */
void acme__set(char **dst, const char *src);
/* New request (payload/url copied), queued for due_ms (0 = now); sent at
 * the end of the current call into the engine. */
struct eng_req *acme__req_new(struct acme_engine *e, struct eng_dom *dom,
			      eng_done_fn done, const char *method,
			      enum eng_ep ep, const char *url,
			      const char *payload, unsigned flags,
			      uint64_t due_ms);
/* Drop a request; a late completion of it is ignored. */
void acme__req_cancel(struct acme_engine *e, struct eng_req *r);
/* Delay from a Retry-After header (ms), or fallback_ms if absent/bad. */
uint64_t acme__retry_after(const struct acme_engine *e,
			   const struct acme_http_resp *resp,
			   uint64_t fallback_ms);
/* base +-20% */
uint64_t acme__jitter(const struct acme_engine *e, uint64_t base);
/* Account usable for domain work. */
bool acme__ready(const struct acme_engine *e);

/* ---- engine_order.c ---------------------------------------------------- */
/* Decide what an idle domain waits for (sets wake_ms). */
void acme__dom_schedule(struct acme_engine *e, struct eng_dom *m);
/* Run an idle domain whose wake_ms is due. */
void acme__dom_wake(struct acme_engine *e, struct eng_dom *m);
/* Start the order of a queued domain (slot granted). */
void acme__dom_start_order(struct acme_engine *e, struct eng_dom *m);
/* Stop everything the domain has running (request, TXT values, order
 * state, slot); it is left S_IDLE with wake_ms 0. */
void acme__dom_abort(struct acme_engine *e, struct eng_dom *m);
/* Free a domain record (after acme__dom_abort). */
void acme__dom_free(struct eng_dom *m);
/* Revoke the current certificate (reason checked by the caller).
 * 0, AD_EINVAL (the stored certificate does not parse). */
int acme__dom_revoke(struct acme_engine *e, struct eng_dom *m, int reason);
/* A transient failure of the domain's request (retried with backoff):
 * shown as the domain's error, not counted as a failure. */
void acme__dom_note(struct acme_engine *e, struct eng_dom *m, const char *url,
		    const char *why);
/* A CNAME lookup of the domain finished (its request already freed). */
void acme__dom_resolved(struct acme_engine *e, struct eng_dom *m, int status,
			const char *target);

/* ---- engine_domain.c --------------------------------------------------- */
/* acme_name_valid() (pki.h) of a C string; NULL is not a name. */
bool acme__name_ok(const char *name);

#endif
