/* SPDX-License-Identifier: MIT */
/*
 * The ACME engine's core (RFC 8555): the engine object, the request table
 * (every POST signed just in time with the freshest nonce, RFC 8555 §6.5;
 * badNonce, Retry-After, 429/5xx/transport backoff, §6.6), the directory
 * (§7.1.1), the account (§7.3: lookup, creation with EAB, key change,
 * deactivation, contact), the public API of acme/engine.h and the timer
 * loop. The per-domain flow lives in engine_order.c. No I/O and no clock:
 * everything goes through struct acme_ops; private keys are never logged
 * and are cleansed when freed.
 */
#include "acme/engine.h"
#include "acme/engine_int.h"
#include "acme/jws.h"
#include "acme/msg.h"
#include "common/base64.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#define MOD "acme"

/* ---- small helpers ------------------------------------------------------ */

uint64_t
acme__now(const struct acme_engine *e)
{
	return e->ops.now_ms(e->ops.ctx);
}

uint32_t
acme__rand(const struct acme_engine *e)
{
	uint32_t r = 0;
	if (e->ops.random)
		return e->ops.random(e->ops.ctx);
	if (ad_random(&r, sizeof(r)) != 0)
		r = (uint32_t)acme__now(e);
	return r;
}

void
acme__set(char **dst, const char *src)
{
	char *n = src ? xstrdup(src) : NULL;
	free(*dst);
	*dst = n;
}

uint64_t
acme__jitter(const struct acme_engine *e, uint64_t base)
{
	/* +-20% so that many domains failing together do not come back
	 * in lockstep */
	uint64_t span = base / 5 * 2;
	if (span == 0)
		return base;
	return base - base / 5 + (uint64_t)acme__rand(e) % (span + 1);
}

uint64_t
acme__retry_after(const struct acme_engine *e,
		  const struct acme_http_resp *resp, uint64_t fallback_ms)
{
	int64_t d;
	if (!resp || !resp->retry_after)
		return fallback_ms;
	if (acme_retry_after_parse(resp->retry_after, strlen(resp->retry_after),
				   (int64_t)(acme__now(e) / 1000), &d) != 0 ||
	    d < 0)
		return fallback_ms;
	return (uint64_t)d * 1000;
}

bool
acme__ready(const struct acme_engine *e)
{
	return e->started && e->have_dir && e->ast == A_READY;
}

/* run what is due; starts: orders that may start now (see pump()) */
static void pump(struct acme_engine *e, unsigned starts);

static void set_error(struct acme_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_error(struct acme_engine *e, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	acme__set(&e->error, buf);
	ad_err(MOD, "%s", buf);
}

/* ---- nonce pool (RFC 8555 §6.5) ---------------------------------------- */

static bool
nonce_ok(const char *s)
{
	/* §6.5.1: base64url, so it can go into a JSON string unescaped */
	size_t n = strlen(s);
	if (n == 0 || n > ENG_MAX_NONCE)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static void
nonce_push(struct acme_engine *e, const char *s)
{
	if (!s || !nonce_ok(s))
		return;
	if (e->nnonces == ENG_NONCE_POOL) {
		/* drop the oldest: the most likely to have expired */
		free(e->nonces[0]);
		memmove(e->nonces, e->nonces + 1,
			(ENG_NONCE_POOL - 1) * sizeof(e->nonces[0]));
		e->nnonces--;
	}
	e->nonces[e->nnonces++] = xstrdup(s);
}

/* The freshest nonce (caller frees), or NULL. */
static char *
nonce_take(struct acme_engine *e)
{
	if (e->nnonces == 0)
		return NULL;
	return e->nonces[--e->nnonces];
}

/* ---- the request table ------------------------------------------------- */

struct eng_req *
acme__req_new(struct acme_engine *e, struct eng_dom *dom, eng_done_fn done,
	      const char *method, enum eng_ep ep, const char *url,
	      const char *payload, unsigned flags, uint64_t due_ms)
{
	struct eng_req *r = xcalloc(1, sizeof(*r));
	r->dom = dom;
	r->done = done;
	r->method = method;
	r->ep = ep;
	r->url = url ? xstrdup(url) : NULL;
	r->payload = payload ? xstrdup(payload) : NULL;
	r->flags = flags;
	r->due_ms = due_ms;
	r->state = R_QUEUED;
	r->next = e->reqs;
	e->reqs = r;
	e->nreqs++;
	if (flags & ENG_F_AUX)
		e->naux++;
	if (dom)
		dom->req = r;
	return r;
}

/* Unlink r from the table and from whoever points at it. */
static void
req_unlink(struct acme_engine *e, struct eng_req *r)
{
	for (struct eng_req **pp = &e->reqs; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			e->nreqs--;
			if (r->flags & ENG_F_AUX)
				e->naux--;
			break;
		}
	}
	if (r->dom && r->dom->req == r)
		r->dom->req = NULL;
	if (e->dir_req == r)
		e->dir_req = NULL;
	if (e->acct_req == r)
		e->acct_req = NULL;
	if (e->op_req == r)
		e->op_req = NULL;
}

static void
req_free(struct eng_req *r)
{
	free(r->url);
	free(r->payload);
	free(r);
}

void
acme__req_cancel(struct acme_engine *e, struct eng_req *r)
{
	if (!r)
		return;
	req_unlink(e, r);
	req_free(r);
}

static const char *
req_url(const struct acme_engine *e, const struct eng_req *r)
{
	switch (r->ep) {
	case EP_NONE:
		return r->url;
	case EP_NEW_NONCE:
		return e->dir.new_nonce;
	case EP_NEW_ACCOUNT:
		return e->dir.new_account;
	case EP_NEW_ORDER:
		return e->dir.new_order;
	case EP_REVOKE:
		return e->dir.revoke_cert;
	case EP_KEY_CHANGE:
		return e->dir.key_change;
	case EP_ACCOUNT:
		return e->acct.url;
	}
	return NULL;
}

/* A queued request that cannot go out yet: it waits for the directory or
 * the account, whose arrival runs the table again. */
static bool
req_blocked(const struct acme_engine *e, const struct eng_req *r)
{
	if (r == e->dir_req || (r->flags & ENG_F_RESOLVE))
		return false;
	if (!e->have_dir || e->ast == A_DEACTIVATED)
		return true;
	if (!(r->flags & ENG_F_NOACCT) && e->ast != A_READY)
		return true;
	return false;
}

/* Hand r to its handler, then free it. */
static void
req_finish(struct acme_engine *e, struct eng_req *r,
	   const struct acme_http_resp *resp, const char *err,
	   const struct acme_problem *prob)
{
	req_unlink(e, r);
	if (r->done)
		r->done(e, r, resp, err, prob);
	req_free(r);
}

static void
req_backoff(struct acme_engine *e, struct eng_req *r,
	    const struct acme_http_resp *resp, const char *why)
{
	/* RFC 8555 §6.6: Retry-After when the CA gives one, else 1 s
	 * doubling to 5 min, with jitter */
	unsigned n = r->nbackoff < 16 ? r->nbackoff : 16;
	uint64_t d = 1000ull << n;
	if (d > ENG_BACKOFF_MAX_MS)
		d = ENG_BACKOFF_MAX_MS;
	d = acme__jitter(e, d);
	d = acme__retry_after(e, resp, d);
	if (d < 1000)
		d = 1000;
	r->nbackoff++;
	r->state = R_QUEUED;
	r->id = 0;
	r->due_ms = acme__now(e) + d;
	ad_warn(MOD, "%s %s: %s; retrying in %llu s",
		r->method ? r->method : "lookup",
		req_url(e, r) ? req_url(e, r) : "(no url)", why,
		(unsigned long long)((d + 999) / 1000));
	/* make a stuck step visible (GET /domains/{id}, the engine error)
	 * without counting it as a failure */
	if (r->dom) {
		acme__dom_note(e, r->dom, req_url(e, r), why);
	} else if (r == e->dir_req || r == e->acct_req) {
		char buf[512];
		snprintf(buf, sizeof(buf), "%s: %s (retrying)",
			 req_url(e, r) ? req_url(e, r) : "directory", why);
		acme__set(&e->error, buf);
	}
}

static void req_process(struct acme_engine *e, struct eng_req *r,
			const struct acme_http_resp *resp);

/* Could not even start: a transport failure. */
static void
req_start_failed(struct acme_engine *e, struct eng_req *r, const char *why)
{
	struct acme_http_resp resp = {.status = 0, .error = why};
	req_process(e, r, &resp);
}

static int
start_http(struct acme_engine *e, struct eng_req *r, const char *method,
	   const char *url, const char *body)
{
	struct acme_http_req h = {
	    .id = r->id,
	    .method = method,
	    .url = url,
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .content_type = body ? "application/jose+json" : NULL,
	};
	return e->ops.http(e->ops.ctx, &h);
}

static void dir_fetch(struct acme_engine *e);

static void
req_send(struct acme_engine *e, struct eng_req *r)
{
	const char *url = req_url(e, r);
	char *payload = NULL, *body = NULL, *nonce;
	int rc;

	/* a day-old directory is refreshed when it is used (no timer for
	 * it): this request still goes to the URL we know, a 404 there
	 * waits for the new one */
	if (r->ep != EP_NONE && r->ep != EP_ACCOUNT && e->have_dir &&
	    !e->dir_req && acme__now(e) >= e->dir_next_ms)
		dir_fetch(e);

	if (r->flags & ENG_F_RESOLVE) {
		r->id = ++e->last_id;
		r->state = R_SENT;
		if (!e->ops.resolve ||
		    e->ops.resolve(e->ops.ctx, r->id, r->url) != 0) {
			struct eng_dom *m = r->dom;
			acme__req_cancel(e, r);
			if (m)
				acme__dom_resolved(e, m, AD_EIO, NULL);
		}
		return;
	}
	if (!url) {
		struct acme_http_resp none = {0};
		req_finish(e, r, &none,
			   "the CA's directory lacks this resource", NULL);
		return;
	}
	if (strcmp(r->method, "POST") != 0) {
		r->id = ++e->last_id;
		r->state = R_SENT;
		if (start_http(e, r, r->method, url, NULL) != 0)
			req_start_failed(e, r, "could not start the request");
		return;
	}
	nonce = nonce_take(e);
	if (!nonce) {
		/* §7.2: no nonce at hand, ask newNonce first */
		if (!e->dir.new_nonce) {
			struct acme_http_resp none = {0};
			req_finish(e, r, &none, "the CA has no newNonce", NULL);
			return;
		}
		r->id = ++e->last_id;
		r->state = R_NONCE;
		if (start_http(e, r, "HEAD", e->dir.new_nonce, NULL) != 0)
			req_start_failed(e, r, "could not start newNonce");
		return;
	}
	if (r->ep == EP_KEY_CHANGE && !r->payload) {
		/* §7.3.5: the inner JWS names the account URL, known only
		 * once the account is ready */
		rc = acme_jws_keychange(e->key, e->new_key, e->acct.url, url,
					&payload);
		if (rc != 0) {
			struct acme_http_resp none = {0};
			free(nonce);
			req_finish(e, r, &none,
				   "could not build the key change", NULL);
			return;
		}
	}
	rc = acme_jws_sign((r->flags & ENG_F_NEWKEY) && e->new_key ? e->new_key
								    : e->key,
			   (r->flags & ENG_F_JWK) ? NULL : e->acct.url,
			   nonce, url, payload ? payload : r->payload, &body);
	free(nonce);
	free(payload);
	if (rc != 0) {
		struct acme_http_resp none = {0};
		req_finish(e, r, &none, "could not sign the request", NULL);
		return;
	}
	r->id = ++e->last_id;
	r->state = R_SENT;
	rc = start_http(e, r, "POST", url, body);
	free(body);
	if (rc != 0)
		req_start_failed(e, r, "could not start the request");
}

static void account_lookup(struct acme_engine *e);

/*
 * Classify a response (RFC 8555 §6.6, §6.7): retry what is transient
 * here, hand everything else (success or final error) to the handler.
 */
static void
req_process(struct acme_engine *e, struct eng_req *r,
	    const struct acme_http_resp *resp)
{
	struct acme_problem p;
	bool hp = false, transient;
	char why[512];
	const char *body = resp->body ? resp->body : "";
	size_t blen = resp->body ? resp->body_len : 0;

	memset(&p, 0, sizeof(p));
	if (resp->replay_nonce)
		nonce_push(e, resp->replay_nonce);
	r->id = 0;
	if (r->state == R_NONCE) {
		r->state = R_QUEUED;
		if (resp->status >= 200 && resp->status < 300 &&
		    e->nnonces > 0) {
			r->due_ms = 0; /* signed and sent by the run loop */
			return;
		}
		if (resp->status == 404)
			e->dir_stale = true;
		snprintf(why, sizeof(why), "newNonce: %s",
			 resp->status ? "no nonce"
				      : (resp->error ? resp->error : "failed"));
		req_backoff(e, r, resp, why);
		return;
	}
	r->state = R_QUEUED;
	if (resp->status >= 200 && resp->status < 300) {
		req_finish(e, r, resp, NULL, NULL);
		return;
	}
	if (resp->status >= 400 && blen > 0)
		hp = acme_problem_parse(body, blen, &p) == 0;
	if (resp->status == 0)
		snprintf(why, sizeof(why), "%s",
			 resp->error ? resp->error : "transport failure");
	else if (hp)
		acme_problem_summary(&p, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "HTTP %d", resp->status);

	transient = resp->status == 0 || resp->status == 429 ||
		    resp->status >= 500 ||
		    (hp && acme_problem_is(&p, "rateLimited"));
	if (!(r->flags & ENG_F_NORETRY)) {
		if (transient) {
			req_backoff(e, r, resp, why);
			goto out;
		}
		if (resp->status == 404 && r->ep != EP_NONE &&
		    r->ep != EP_ACCOUNT) {
			/* a directory URL moved: refetch it, then retry */
			e->dir_stale = true;
			req_backoff(e, r, resp, why);
			goto out;
		}
		if (hp && acme_problem_is(&p, "badNonce") && r->method &&
		    strcmp(r->method, "POST") == 0) {
			/* §6.5: re-sign with the nonce this answer carried;
			 * allowed for a while, not a few times */
			uint64_t now = acme__now(e);
			if (!r->badnonce_since)
				r->badnonce_since = now;
			if (now - r->badnonce_since <= ENG_BADNONCE_MS) {
				ad_debug(MOD, "badNonce from %s: re-signing",
					 req_url(e, r));
				r->due_ms = 0;
				goto out;
			}
		}
		if (hp &&
		    (acme_problem_is(&p, "unauthorized") ||
		     acme_problem_is(&p, "accountDoesNotExist")) &&
		    !(r->flags & ENG_F_JWK) && !r->kid_retried && r->method &&
		    strcmp(r->method, "POST") == 0 &&
		    (e->ast == A_READY || e->ast == A_LOOKUP)) {
			/* the kid may be stale (account URL changed): find
			 * the account again once, then resend */
			r->kid_retried = true;
			r->due_ms = 0;
			if (e->ast == A_READY) {
				ad_warn(MOD,
					"account %s rejected (%s): "
					"looking it up again",
					e->acct.url ? e->acct.url : "?", why);
				acme__set(&e->acct.url, NULL);
				account_lookup(e);
			}
			goto out;
		}
	}
	req_finish(e, r, resp, why, hp ? &p : NULL);
out:
	acme_problem_free(&p);
}

static struct eng_req *
req_by_id(struct acme_engine *e, uint64_t id)
{
	if (id == 0)
		return NULL;
	for (struct eng_req *r = e->reqs; r; r = r->next)
		if (r->id == id && r->state != R_QUEUED)
			return r;
	return NULL;
}

/* ---- directory ---------------------------------------------------------- */

static void account_begin(struct acme_engine *e);

static void
acct_fail(struct acme_engine *e, const char *what, const char *err)
{
	/* 1 min doubling to 1 h: a CA that refuses us now may accept after
	 * an operator fixed something on its side */
	unsigned n = e->acct_fails < 6 ? e->acct_fails : 6;
	uint64_t d = 60000ull << n;
	if (d > 3600000)
		d = 3600000;
	set_error(e, "%s: %s", what, err);
	e->ast = A_WAIT;
	e->acct_wake = acme__now(e) + acme__jitter(e, d);
	e->acct_fails++;
}

static void
on_dir(struct acme_engine *e, struct eng_req *r,
       const struct acme_http_resp *resp, const char *err,
       const struct acme_problem *prob)
{
	struct acme_directory d;
	(void)r;
	(void)prob;
	if (!err &&
	    acme_directory_parse(resp->body ? resp->body : "",
				 resp->body ? resp->body_len : 0, &d) != 0)
		err = "not a valid ACME directory";
	if (err) {
		if (e->have_dir) {
			/* keep the one we have; try again in an hour */
			ad_warn(MOD, "directory %s: %s", e->cfg.directory, err);
			e->dir_next_ms = acme__now(e) + 3600000;
			return;
		}
		char what[600];
		snprintf(what, sizeof(what), "directory %s", e->cfg.directory);
		acct_fail(e, what, err);
		return;
	}
	acme_directory_free(&e->dir);
	e->dir = d;
	e->have_dir = true;
	e->dir_stale = false;
	e->dir_next_ms = acme__now(e) + ENG_DIR_MAX_AGE_MS;
	if (e->ast == A_DIR || e->ast == A_NONE)
		ad_info(MOD, "directory %s loaded%s%s", e->cfg.directory,
			d.renewal_info ? " (ARI)" : "",
			d.eab_required ? " (EAB required)" : "");
	else
		ad_debug(MOD, "directory %s refreshed", e->cfg.directory);
	if (e->ast == A_DIR || e->ast == A_NONE)
		account_begin(e);
}

static void
dir_fetch(struct acme_engine *e)
{
	if (e->dir_req)
		return;
	e->dir_stale = false;
	e->dir_req = acme__req_new(e, NULL, on_dir, "GET", EP_NONE,
				   e->cfg.directory, NULL, ENG_F_NOACCT, 0);
}

/* ---- account (RFC 8555 §7.3) --------------------------------------------- */

/* The host persists the account after every change (engine.h). */
static void
account_changed(struct acme_engine *e)
{
	if (e->ops.account_changed)
		e->ops.account_changed(e->ops.ctx, &e->acct);
}

/* An account key from PEM, of a kind a JWS can be signed with (RFC 8555
 * §6.2: ES256, ES384, RS256). 0 or AD_EINVAL; *out: caller frees. */
static int
account_key_load(const char *pem, EVP_PKEY **out)
{
	EVP_PKEY *k = NULL;

	*out = NULL;
	if (acme_key_from_pem(pem, strlen(pem), &k) != 0)
		return AD_EINVAL;
	if (!acme_key_alg(k)) {
		EVP_PKEY_free(k);
		return AD_EINVAL;
	}
	*out = k;
	return 0;
}

static void
account_ready(struct acme_engine *e)
{
	e->ast = A_READY;
	e->acct_fails = 0;
	acme__set(&e->error, NULL);
	ad_info(MOD, "account %s ready", e->acct.url);
}

/* Location of a newAccount answer: the account URL (kid). */
static int
take_account_url(struct acme_engine *e, const struct acme_http_resp *resp)
{
	struct acme_account a;
	if (!resp->location || !resp->location[0] ||
	    strlen(resp->location) > ACME_MSG_MAX_URL)
		return AD_EMALF;
	memset(&a, 0, sizeof(a));
	if (resp->body && resp->body_len &&
	    acme_account_parse(resp->body, resp->body_len, &a) == 0 &&
	    a.status && strcmp(a.status, "valid") != 0) {
		/* §7.1.2: deactivated or revoked accounts stay that way */
		acme__set(&e->acct.status, a.status);
		acme_account_free(&a);
		return AD_EAUTH;
	}
	acme_account_free(&a);
	acme__set(&e->acct.url, resp->location);
	acme__set(&e->acct.status, "valid");
	account_changed(e);
	return 0;
}

static void
on_account_created(struct acme_engine *e, struct eng_req *r,
		   const struct acme_http_resp *resp, const char *err,
		   const struct acme_problem *prob)
{
	(void)r;
	(void)prob;
	if (err) {
		acct_fail(e, "newAccount", err);
		return;
	}
	if (take_account_url(e, resp) != 0) {
		acct_fail(e, "newAccount", "answer without a valid account");
		return;
	}
	ad_info(MOD, "account %s created", e->acct.url);
	account_ready(e);
}

/* RFC 8555 §7.3: contacts are URLs; "mailto:" is added unless given */
static void
contact_uri(const char *email, char *out, size_t cap)
{
	if (strncmp(email, "mailto:", 7) == 0)
		snprintf(out, cap, "%s", email);
	else
		snprintf(out, cap, "mailto:%s", email);
}

static void
account_create(struct acme_engine *e)
{
	cJSON *p;
	char *txt;

	if (e->dir.eab_required && !e->cfg.eab_kid) {
		/* §7.3.4: nothing we can do without the operator */
		set_error(e, "the CA requires external account binding: set "
			     "[acme] eab_kid and eab_hmac_key");
		e->ast = A_ERROR;
		return;
	}
	p = cJSON_CreateObject();
	/* §7.3: the operator agreed to the terms by configuring the CA */
	cJSON_AddBoolToObject(p, "termsOfServiceAgreed", 1);
	if (e->cfg.email && e->cfg.email[0]) {
		char buf[320];
		cJSON *c = cJSON_AddArrayToObject(p, "contact");
		contact_uri(e->cfg.email, buf, sizeof(buf));
		cJSON_AddItemToArray(c, cJSON_CreateString(buf));
	}
	if (e->cfg.eab_kid) {
		const char *k = e->cfg.eab_hmac_key ? e->cfg.eab_hmac_key : "";
		size_t cap = strlen(k) + 1;
		uint8_t *key = xmalloc(cap);
		int n = ad_b64url_decode(k, strlen(k), key, cap);
		cJSON *eab = NULL;
		if (n <= 0 ||
		    acme_jws_eab(e->cfg.eab_kid, key, (size_t)n, e->key,
				 e->dir.new_account, &eab) != 0) {
			OPENSSL_cleanse(key, cap);
			free(key);
			cJSON_Delete(p);
			set_error(e, "external account binding: eab_hmac_key "
				     "is not valid base64url");
			e->ast = A_ERROR;
			return;
		}
		OPENSSL_cleanse(key, cap);
		free(key);
		cJSON_AddItemToObject(p, "externalAccountBinding", eab);
	}
	txt = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	e->ast = A_CREATE;
	e->acct_req =
	    acme__req_new(e, NULL, on_account_created, "POST", EP_NEW_ACCOUNT,
			  NULL, txt, ENG_F_JWK | ENG_F_NOACCT, 0);
	free(txt);
}

static void
on_account_lookup(struct acme_engine *e, struct eng_req *r,
		  const struct acme_http_resp *resp, const char *err,
		  const struct acme_problem *prob)
{
	(void)r;
	if (err) {
		if (prob && acme_problem_is(prob, "accountDoesNotExist")) {
			ad_info(MOD, "no account for this key yet: "
				     "creating one");
			account_create(e);
			return;
		}
		acct_fail(e, "account lookup", err);
		return;
	}
	int rc = take_account_url(e, resp);
	if (rc == AD_EAUTH) {
		set_error(e, "the account is %s", e->acct.status);
		e->ast = A_ERROR;
		return;
	}
	if (rc != 0) {
		acct_fail(e, "account lookup", "answer without a Location");
		return;
	}
	ad_info(MOD, "account %s found", e->acct.url);
	account_ready(e);
}

static void
account_lookup(struct acme_engine *e)
{
	/* §7.3.1: never create a second account for a key we hold */
	if (e->acct_req)
		acme__req_cancel(e, e->acct_req);
	e->ast = A_LOOKUP;
	e->acct_req = acme__req_new(
	    e, NULL, on_account_lookup, "POST", EP_NEW_ACCOUNT, NULL,
	    "{\"onlyReturnExisting\":true}", ENG_F_JWK | ENG_F_NOACCT, 0);
}

static void
account_begin(struct acme_engine *e)
{
	if (e->acct.status && strcmp(e->acct.status, "deactivated") == 0) {
		e->ast = A_DEACTIVATED;
		acme__set(&e->error, "the account is deactivated");
		return;
	}
	if (e->acct.url) {
		account_ready(e);
		return;
	}
	account_lookup(e);
}

/* ---- account operations ----------------------------------------------- */

/*
 * Key change (§7.3.5), deactivation (§7.3.6) and contact update (§7.3.2)
 * run one at a time (AD_ELIMIT while one is in flight) and never on a
 * deactivated account (AD_EINVAL). req_finish() clears e->op_req before
 * the operation's handler runs.
 */
static int
op_allowed(const struct acme_engine *e)
{
	if (e->op_req)
		return AD_ELIMIT;
	if (e->ast == A_DEACTIVATED)
		return AD_EINVAL;
	return 0;
}

/* Queue the operation's POST (payload copied) and send it at once. */
static int
op_send(struct acme_engine *e, eng_done_fn done, enum eng_ep ep,
	const char *payload)
{
	e->op_req =
	    acme__req_new(e, NULL, done, "POST", ep, NULL, payload, 0, 0);
	pump(e, 0);
	return 0;
}

static void
key_change_drop(struct acme_engine *e)
{
	EVP_PKEY_free(e->new_key);
	acme_secret_free(e->new_key_pem);
	e->new_key = NULL;
	e->new_key_pem = NULL;
}

static void
key_change_switch(struct acme_engine *e)
{
	EVP_PKEY_free(e->key);
	e->key = e->new_key;
	acme_secret_free(e->acct.key_pem);
	e->acct.key_pem = e->new_key_pem;
	e->new_key = NULL;
	e->new_key_pem = NULL;
	if (acme_jwk_thumbprint(e->key, e->thumb) != 0)
		e->thumb[0] = '\0';
	ad_info(MOD, "account %s: key changed", e->acct.url);
	account_changed(e);
}

/* Answer to the probe below: the new key finds our account, so the CA did
 * roll over (an earlier answer was lost); anything else: it did not. */
static void
on_key_change_probe(struct acme_engine *e, struct eng_req *r,
		    const struct acme_http_resp *resp, const char *err,
		    const struct acme_problem *prob)
{
	(void)r;
	(void)prob;
	if (!err && resp->location && e->acct.url &&
	    strcmp(resp->location, e->acct.url) == 0) {
		key_change_switch(e);
		return;
	}
	set_error(e, "key change: %s", e->kc_error ? e->kc_error : "failed");
	key_change_drop(e);
}

static void
on_key_change(struct acme_engine *e, struct eng_req *r,
	      const struct acme_http_resp *resp, const char *err,
	      const struct acme_problem *prob)
{
	(void)r;
	(void)resp;
	(void)prob;
	if (err) {
		/*
		 * The outcome is uncertain when an earlier answer was lost
		 * and the CA already switched keys: the retry (signed with
		 * the old key) then fails. Ask the CA which key it knows
		 * (§7.3.1 onlyReturnExisting, signed with the new key) before
		 * giving up, or every later request would be refused.
		 */
		acme__set(&e->kc_error, err);
		e->op_req = acme__req_new(e, NULL, on_key_change_probe, "POST",
					  EP_NEW_ACCOUNT, NULL,
					  "{\"onlyReturnExisting\":true}",
					  ENG_F_JWK | ENG_F_NEWKEY |
					      ENG_F_NORETRY,
					  0);
		return;
	}
	key_change_switch(e);
}

static void
on_deactivate(struct acme_engine *e, struct eng_req *r,
	      const struct acme_http_resp *resp, const char *err,
	      const struct acme_problem *prob)
{
	(void)r;
	(void)resp;
	(void)prob;
	if (err) {
		set_error(e, "deactivation: %s", err);
		return;
	}
	acme__set(&e->acct.status, "deactivated");
	e->ast = A_DEACTIVATED;
	acme__set(&e->error, "the account is deactivated");
	ad_info(MOD, "account %s deactivated", e->acct.url);
	/* §7.3.6: nothing signed by it is accepted any more */
	for (size_t i = 0; i < e->ndoms; i++)
		acme__dom_abort(e, e->doms[i]);
	account_changed(e);
}

static void
on_contact(struct acme_engine *e, struct eng_req *r,
	   const struct acme_http_resp *resp, const char *err,
	   const struct acme_problem *prob)
{
	(void)r;
	(void)resp;
	(void)prob;
	if (err) {
		set_error(e, "contact update: %s", err);
		free(e->new_email);
		e->new_email = NULL;
		return;
	}
	free((char *)e->cfg.email);
	e->cfg.email = e->new_email;
	e->new_email = NULL;
	ad_info(MOD, "account %s: contact updated", e->acct.url);
}

int
acme_engine_key_change(struct acme_engine *e, const char *new_key_pem)
{
	EVP_PKEY *k;
	int rc;

	if (!new_key_pem)
		return AD_EINVAL;
	if ((rc = op_allowed(e)) != 0 ||
	    (rc = account_key_load(new_key_pem, &k)) != 0)
		return rc;
	e->new_key = k;
	e->new_key_pem = xstrdup(new_key_pem);
	/* payload NULL: built at send time (needs the account URL) */
	return op_send(e, on_key_change, EP_KEY_CHANGE, NULL);
}

int
acme_engine_deactivate(struct acme_engine *e)
{
	int rc = op_allowed(e);

	if (rc != 0)
		return rc;
	return op_send(e, on_deactivate, EP_ACCOUNT,
		       "{\"status\":\"deactivated\"}");
}

int
acme_engine_set_contact(struct acme_engine *e, const char *email)
{
	cJSON *p, *c;
	char *txt;
	int rc = op_allowed(e);

	if (rc != 0)
		return rc;
	if (email) {
		size_t n = strlen(email);
		if (n > 254)
			return AD_EINVAL;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)email[i] <= 0x20 ||
			    email[i] == 0x7f || email[i] == ',')
				return AD_EINVAL;
	}
	p = cJSON_CreateObject();
	c = cJSON_AddArrayToObject(p, "contact");
	if (email && email[0]) {
		char buf[320];
		contact_uri(email, buf, sizeof(buf));
		cJSON_AddItemToArray(c, cJSON_CreateString(buf));
	}
	txt = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	free(e->new_email);
	e->new_email = email ? xstrdup(email) : NULL;
	rc = op_send(e, on_contact, EP_ACCOUNT, txt);
	free(txt);
	return rc;
}

/* ---- lifecycle ---------------------------------------------------------- */

static char *
cfg_dup(const char *s)
{
	return s && s[0] ? xstrdup(s) : NULL;
}

int
acme_engine_new(const struct acme_engine_cfg *cfg, const struct acme_ops *ops,
		const struct acme_account_state *account,
		struct acme_engine **out)
{
	struct acme_engine *e;
	EVP_PKEY *key;

	*out = NULL;
	if (!cfg || !ops || !account || !cfg->directory || !cfg->directory[0] ||
	    !ops->now_ms || !ops->http || !account->key_pem)
		return AD_EINVAL;
	if (cfg->eab_kid && cfg->eab_kid[0] &&
	    (!cfg->eab_hmac_key || !cfg->eab_hmac_key[0]))
		return AD_EINVAL;
	if (account_key_load(account->key_pem, &key) != 0)
		return AD_EINVAL;
	e = xcalloc(1, sizeof(*e));
	e->key = key;
	if (acme_jwk_thumbprint(key, e->thumb) != 0) {
		EVP_PKEY_free(key);
		free(e);
		return AD_EINVAL;
	}
	e->ops = *ops;
	e->cfg = *cfg;
	e->cfg.directory = xstrdup(cfg->directory);
	e->cfg.email = cfg_dup(cfg->email);
	e->cfg.eab_kid = cfg_dup(cfg->eab_kid);
	e->cfg.eab_hmac_key = cfg_dup(cfg->eab_hmac_key);
	e->cfg.preferred_chain = cfg_dup(cfg->preferred_chain);
	e->cfg.profile = cfg_dup(cfg->profile);
	e->cfg.zone_apex = cfg_dup(cfg->zone_apex);
	if (!e->cfg.delegation_recheck_s)
		e->cfg.delegation_recheck_s = 60;
	if (!e->cfg.max_concurrent)
		e->cfg.max_concurrent = 50;
	/* The first look comes soon: our challenge values are live at once,
	 * so a CA that validates quickly should not wait on us. The interval
	 * doubles on every further poll (100 ms, 200 ms, ... 30 s) and a
	 * Retry-After always wins, so a slow CA sees a handful of extra
	 * requests at most. */
	if (!e->cfg.poll_interval_ms)
		e->cfg.poll_interval_ms = 100;
	e->acct.key_pem = xstrdup(account->key_pem);
	e->acct.url =
	    account->url && account->url[0] ? xstrdup(account->url) : NULL;
	e->acct.directory =
	    xstrdup(account->directory ? account->directory : cfg->directory);
	e->acct.status = account->status ? xstrdup(account->status) : NULL;
	*out = e;
	return 0;
}

static void
free_cfg_str(const char *s)
{
	free((char *)s);
}

void
acme_engine_free(struct acme_engine *e)
{
	if (!e)
		return;
	while (e->reqs)
		acme__req_cancel(e, e->reqs);
	/* TXT values stay: they are the host's zone (engine.h) */
	for (size_t i = 0; i < e->ndoms; i++)
		acme__dom_free(e->doms[i]);
	free(e->doms);
	for (size_t i = 0; i < e->nnonces; i++)
		free(e->nonces[i]);
	acme_directory_free(&e->dir);
	EVP_PKEY_free(e->key);
	EVP_PKEY_free(e->new_key);
	acme_secret_free(e->new_key_pem);
	free(e->new_email);
	acme_account_state_clear(&e->acct);
	free(e->error);
	free(e->kc_error);
	free_cfg_str(e->cfg.directory);
	free_cfg_str(e->cfg.email);
	free_cfg_str(e->cfg.eab_kid);
	if (e->cfg.eab_hmac_key) {
		OPENSSL_cleanse((char *)e->cfg.eab_hmac_key,
				strlen(e->cfg.eab_hmac_key));
		free_cfg_str(e->cfg.eab_hmac_key);
	}
	free_cfg_str(e->cfg.preferred_chain);
	free_cfg_str(e->cfg.profile);
	free_cfg_str(e->cfg.zone_apex);
	free(e);
}

void
acme_engine_start(struct acme_engine *e)
{
	if (e->started)
		return;
	e->started = true;
	e->ast = A_DIR;
	dir_fetch(e);
	pump(e, 0);
}

/* ---- domains ---------------------------------------------------------------
 */

static ssize_t
dom_index(const struct acme_engine *e, const char *id)
{
	if (!id)
		return -1;
	for (size_t i = 0; i < e->ndoms; i++)
		if (strcmp(e->doms[i]->d.id, id) == 0)
			return (ssize_t)i;
	return -1;
}

int
acme_engine_add(struct acme_engine *e, const struct acme_domain *d)
{
	struct eng_dom *m;

	if (!d || !d->id[0] || d->nnames == 0 || !d->names)
		return AD_EINVAL;
	if (d->nnames > ACME_MAX_NAMES || d->ntlsa > ACME_MAX_TLSA)
		return AD_EINVAL;
	for (size_t i = 0; i < d->nnames; i++)
		if (!acme__name_ok(d->names[i]))
			return AD_EINVAL;
	if (!d->subdomain[0])
		return AD_EINVAL;
	if (dom_index(e, d->id) >= 0)
		return AD_EEXIST;
	if (e->ndoms >= ENG_MAX_DOMAINS)
		return AD_ELIMIT;
	m = xcalloc(1, sizeof(*m));
	acme_domain_copy(&m->d, d);
	if (m->d.status == ACME_DS_VALID && !m->d.renew_at && m->d.not_after)
		m->d.renew_at = acme_renew_time(m->d.not_before, m->d.not_after,
						0, 0, acme__rand(e));
	/* RFC 9773 §4.3: ask for the window again after a restart */
	if (m->d.ari_id && m->d.cert_pem)
		m->ari_next_ms = acme__now(e);
	if (e->ndoms == e->capdoms) {
		e->capdoms = e->capdoms ? e->capdoms * 2 : 16;
		e->doms = xreallocarray(e->doms, e->capdoms, sizeof(*e->doms));
	}
	e->doms[e->ndoms++] = m;
	acme__dom_schedule(e, m);
	ad_info(MOD, "domain %s (%s%s): added, %s", m->d.id, m->d.names[0],
		m->d.nnames > 1 ? ", ..." : "", acme_dstatus_name(m->d.status));
	pump(e, 0);
	return 0;
}

const struct acme_domain *
acme_engine_find(const struct acme_engine *e, const char *id)
{
	ssize_t i = dom_index(e, id);
	return i < 0 ? NULL : &e->doms[i]->d;
}

size_t
acme_engine_count(const struct acme_engine *e)
{
	return e->ndoms;
}

const struct acme_domain *
acme_engine_at(const struct acme_engine *e, size_t i)
{
	return i < e->ndoms ? &e->doms[i]->d : NULL;
}

int
acme_engine_renew(struct acme_engine *e, const char *id)
{
	ssize_t i = dom_index(e, id);
	struct eng_dom *m;
	int64_t now_s = (int64_t)(acme__now(e) / 1000);

	if (i < 0)
		return AD_ENOENT;
	if (e->ast == A_DEACTIVATED)
		return AD_EINVAL;
	m = e->doms[i];
	if (m->step == S_ARI)
		acme__dom_abort(e, m);
	if (m->step != S_IDLE)
		return 0; /* an order (or check) runs: it just continues */
	m->d.failures = 0;
	m->d.next_attempt = 0;
	if (m->d.cert_pem && m->d.status != ACME_DS_REVOKED &&
	    m->d.not_after > now_s)
		m->d.status = ACME_DS_RENEWING;
	else if (m->d.status != ACME_DS_AWAITING_DELEGATION)
		m->d.status = ACME_DS_PENDING;
	ad_info(MOD, "domain %s (%s): renewal requested", m->d.id,
		m->d.names[0]);
	if (e->ops.domain_changed)
		e->ops.domain_changed(e->ops.ctx, &m->d);
	acme__dom_schedule(e, m);
	pump(e, 0);
	return 0;
}

int
acme_engine_revoke(struct acme_engine *e, const char *id, int reason)
{
	ssize_t i = dom_index(e, id);
	struct eng_dom *m;
	int rc;

	if (i < 0)
		return AD_ENOENT;
	/* RFC 5280 §5.3.1: 0..10, 7 is unused */
	if (reason < 0 || reason > 10 || reason == 7)
		return AD_EINVAL;
	m = e->doms[i];
	if (!m->d.cert_pem || e->ast == A_DEACTIVATED)
		return AD_EINVAL;
	if (m->step == S_REVOKE)
		return 0;
	if (m->step != S_IDLE) {
		/* a renewal of a certificate being revoked is pointless */
		acme__dom_abort(e, m);
		acme__set(&m->d.order_url, NULL);
		acme_secret_free(m->d.next_key_pem);
		m->d.next_key_pem = NULL;
	}
	rc = acme__dom_revoke(e, m, reason);
	if (rc != 0) {
		acme__dom_schedule(e, m);
		return rc;
	}
	pump(e, 0);
	return 0;
}

int
acme_engine_delete(struct acme_engine *e, const char *id)
{
	ssize_t i = dom_index(e, id);
	struct eng_dom *m;

	if (i < 0)
		return AD_ENOENT;
	m = e->doms[i];
	acme__dom_abort(e, m);
	ad_info(MOD, "domain %s (%s): deleted", m->d.id, m->d.names[0]);
	if (e->ops.domain_deleted)
		e->ops.domain_deleted(e->ops.ctx, &m->d);
	memmove(e->doms + i, e->doms + i + 1,
		(e->ndoms - (size_t)i - 1) * sizeof(*e->doms));
	e->ndoms--;
	acme__dom_free(m);
	pump(e, 0); /* a slot may have come free */
	return 0;
}

const struct acme_account_state *
acme_engine_account(const struct acme_engine *e)
{
	return &e->acct;
}

bool
acme_engine_ready(const struct acme_engine *e)
{
	return acme__ready(e);
}

const char *
acme_engine_error(const struct acme_engine *e)
{
	return e->error;
}

/* ---- events and time ----------------------------------------------------- */

void
acme_engine_http_done(struct acme_engine *e, uint64_t id,
		      const struct acme_http_resp *resp)
{
	struct eng_req *r = req_by_id(e, id);
	if (!r || (r->flags & ENG_F_RESOLVE)) {
		/* cancelled (domain deleted, engine state changed): the
		 * answer has nobody to go to */
		ad_debug(MOD, "late completion of request %llu ignored",
			 (unsigned long long)id);
		return;
	}
	if (!resp) {
		struct acme_http_resp none = {.status = 0,
					      .error = "no response"};
		req_process(e, r, &none);
	} else {
		req_process(e, r, resp);
	}
	pump(e, 0);
}

void
acme_engine_resolve_done(struct acme_engine *e, uint64_t id, int status,
			 const char *target)
{
	struct eng_req *r = req_by_id(e, id);
	struct eng_dom *m;
	if (!r || !(r->flags & ENG_F_RESOLVE)) {
		ad_debug(MOD, "late lookup result %llu ignored",
			 (unsigned long long)id);
		return;
	}
	m = r->dom;
	acme__req_cancel(e, r);
	if (m)
		acme__dom_resolved(e, m, status, target);
	pump(e, 0);
}

static struct eng_dom *
oldest_queued(const struct acme_engine *e)
{
	struct eng_dom *best = NULL;
	for (size_t i = 0; i < e->ndoms; i++) {
		struct eng_dom *m = e->doms[i];
		if (m->step == S_QUEUED && (!best || m->qseq < best->qseq))
			best = m;
	}
	return best;
}

static struct eng_req *
sendable(const struct acme_engine *e, uint64_t now)
{
	for (struct eng_req *r = e->reqs; r; r = r->next)
		if (r->state == R_QUEUED && r->due_ms <= now &&
		    !req_blocked(e, r))
			return r;
	return NULL;
}

/*
 * Run what is due. Orders start (key generation, CSR: the costly part)
 * only from the host's tick, at most `starts` per call: a burst of new
 * domains (a group commit of a hundred adds) must not hold the host's
 * loop, which also answers DNS. next_wakeup() says "now" while orders
 * wait for a slot, so the host comes back on its next loop pass.
 */
static void
pump(struct acme_engine *e, unsigned starts)
{
	uint64_t now;
	struct eng_req *r;
	struct eng_dom *m;

	if (!e->started)
		return;
	now = acme__now(e);
	if (e->have_dir && !e->dir_req && e->dir_stale)
		dir_fetch(e);
	if (e->ast == A_WAIT && now >= e->acct_wake) {
		if (!e->have_dir) {
			e->ast = A_DIR;
			dir_fetch(e);
		} else {
			account_begin(e);
		}
	}
	if (acme__ready(e)) {
		for (size_t i = 0; i < e->ndoms; i++) {
			m = e->doms[i];
			if (m->step == S_IDLE && m->wake_ms &&
			    m->wake_ms <= now) {
				m->wake_ms = 0;
				acme__dom_wake(e, m);
			}
		}
		while (starts > 0 && e->active < e->cfg.max_concurrent &&
		       (m = oldest_queued(e)) != NULL) {
			acme__dom_start_order(e, m);
			starts--;
		}
	}
	/* each send leaves the queued state (or moves due_ms into the
	 * future), so this ends */
	while ((r = sendable(e, now)) != NULL)
		req_send(e, r);
}

void
acme_engine_tick(struct acme_engine *e)
{
	pump(e, ENG_STARTS_PER_TICK);
}

uint64_t
acme_engine_next_wakeup(const struct acme_engine *e)
{
	uint64_t t = UINT64_MAX, now;
	if (!e->started)
		return t;
	now = acme__now(e);
	if (e->have_dir && !e->dir_req && e->dir_stale)
		t = now;
	if (e->ast == A_WAIT)
		t = AD_MIN(t, e->acct_wake);
	if (acme__ready(e)) {
		bool queued = false;
		for (size_t i = 0; i < e->ndoms; i++) {
			const struct eng_dom *m = e->doms[i];
			if (m->step == S_IDLE && m->wake_ms)
				t = AD_MIN(t, m->wake_ms);
			if (m->step == S_QUEUED)
				queued = true;
		}
		if (queued && e->active < e->cfg.max_concurrent)
			t = AD_MIN(t, now);
	}
	for (const struct eng_req *r = e->reqs; r; r = r->next)
		if (r->state == R_QUEUED && !req_blocked(e, r))
			t = AD_MIN(t, r->due_ms);
	return t;
}
