/* SPDX-License-Identifier: MIT */
/*
 * The per-domain flow of the ACME engine: delegation check (the user's
 * _acme-challenge CNAMEs), key and CSR, newOrder (RFC 8555 §7.4, with
 * "replaces" of RFC 9773 §5 and a profile), dns-01 (§8.4) through the
 * host's zone, finalize, download with preferred-chain selection (§7.4.2),
 * renewalInfo (RFC 9773 §4), renewal, revocation (§7.6) and the resume of
 * an order found in the store. Every exchange goes through the request
 * table of engine.c; a domain has at most one request at a time. No I/O,
 * no clock reads, no private key in a log line.
 */
#include "acme/engine.h"
#include "acme/engine_int.h"
#include "acme/msg.h"
#include "acme/pki.h"
#include "common/base64.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define MOD "acme"

/* First order retry after 5 min, doubling; a renewal retries at most
 * every 6 h until its certificate expires. */
#define DOM_RETRY_BASE_S 300
#define DOM_RETRY_MAX_S 21600

static void order_fail(struct acme_engine *e, struct eng_dom *m,
		       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void new_order(struct acme_engine *e, struct eng_dom *m);
static void order_continue(struct acme_engine *e, struct eng_dom *m,
			   const struct acme_http_resp *resp);

static int64_t
now_s(const struct acme_engine *e)
{
	return (int64_t)(acme__now(e) / 1000);
}

static void
changed(struct acme_engine *e, struct eng_dom *m)
{
	if (e->ops.domain_changed)
		e->ops.domain_changed(e->ops.ctx, &m->d);
}

static const char *
name0(const struct eng_dom *m)
{
	return m->d.nnames ? m->d.names[0] : "?";
}

static const char *
body_of(const struct acme_http_resp *resp)
{
	return resp->body ? resp->body : "";
}

static size_t
len_of(const struct acme_http_resp *resp)
{
	return resp->body ? resp->body_len : 0;
}

static bool
has_cert(const struct acme_engine *e, const struct eng_dom *m)
{
	return m->d.cert_pem && m->d.status != ACME_DS_REVOKED &&
	       m->d.not_after > now_s(e);
}

/* POST-as-GET (RFC 8555 §6.3) of url for the domain. */
static void
post_get(struct acme_engine *e, struct eng_dom *m, eng_done_fn done,
	 const char *url, uint64_t due_ms)
{
	acme__req_new(e, m, done, "POST", EP_NONE, url, "", 0, due_ms);
}

/* unix seconds -> "2026-12-01T10:00:00Z" for the log */
static void
iso_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

/* ---- order state ------------------------------------------------------- */

static void
txt_cleanup(struct acme_engine *e, struct eng_dom *m)
{
	/* the values were only for this order: take them out of the zone
	 * whatever the outcome */
	for (size_t i = 0; i < m->ntxt; i++) {
		if (e->ops.txt_del)
			e->ops.txt_del(e->ops.ctx, m->d.subdomain,
				       m->txt[i].value);
		free(m->txt[i].url);
	}
	free(m->txt);
	m->txt = NULL;
	m->ntxt = 0;
}

static void
order_state_free(struct eng_dom *m)
{
	acme_order_free(&m->order);
	m->have_order = m->finalized = m->resumed = false;
	m->refinalized = false;
	m->sent_replaces = false;
	m->npoll = 0;
	m->idx = 0;
	EVP_PKEY_free(m->key);
	EVP_PKEY_free(m->pub);
	m->key = m->pub = NULL;
	free(m->csr);
	m->csr = NULL;
	m->csr_len = 0;
	free(m->chain);
	m->chain = NULL;
	m->chain_len = 0;
	for (size_t i = 0; i < m->nalts; i++)
		free(m->alts[i]);
	m->nalts = 0;
	free(m->issue_pem);
	m->issue_pem = NULL;
	if (m->have_issue)
		acme_certinfo_free(&m->issue_info);
	m->have_issue = false;
}

/* Leave the order (or whatever runs): request, TXT values, slot. */
static void
end_work(struct acme_engine *e, struct eng_dom *m)
{
	if (m->req)
		acme__req_cancel(e, m->req);
	txt_cleanup(e, m);
	order_state_free(m);
	if (m->slot) {
		m->slot = false;
		e->active--;
	}
	m->step = S_IDLE;
	m->wake_ms = 0;
}

void
acme__dom_abort(struct acme_engine *e, struct eng_dom *m)
{
	end_work(e, m);
}

void
acme__dom_free(struct eng_dom *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ntxt; i++)
		free(m->txt[i].url);
	free(m->txt);
	m->txt = NULL;
	m->ntxt = 0;
	order_state_free(m);
	acme_domain_clear(&m->d);
	free(m);
}

void
acme__dom_schedule(struct acme_engine *e, struct eng_dom *m)
{
	uint64_t w = 0;
	(void)e;
	m->step = S_IDLE;
	switch (m->d.status) {
	case ACME_DS_AWAITING_DELEGATION:
	case ACME_DS_PENDING:
	case ACME_DS_RENEWING:
		/* 1 = as soon as the account is ready */
		w = m->d.next_attempt > 0 ? (uint64_t)m->d.next_attempt * 1000
					  : 1;
		break;
	case ACME_DS_VALID:
		if (m->d.order_url)
			w = 1; /* resume the order found in the store */
		else if (m->d.renew_at > 0)
			w = (uint64_t)m->d.renew_at * 1000;
		if (m->ari_next_ms && (!w || m->ari_next_ms < w))
			w = m->ari_next_ms;
		break;
	case ACME_DS_INVALID:
	case ACME_DS_REVOKED:
		break;
	}
	m->wake_ms = w;
}

static void set_err(struct eng_dom *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_err(struct eng_dom *m, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	acme__set(&m->d.error, buf);
}

void
acme__dom_note(struct acme_engine *e, struct eng_dom *m, const char *url,
	       const char *why)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%.300s: %s (retrying)", url ? url : "?",
		 why);
	if (m->d.error && strcmp(m->d.error, buf) == 0)
		return;
	acme__set(&m->d.error, buf);
	changed(e, m);
}

static void
order_fail(struct acme_engine *e, struct eng_dom *m, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	uint64_t d;
	unsigned n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	end_work(e, m);
	acme__set(&m->d.order_url, NULL);
	acme__set(&m->d.error, buf);
	m->d.failures++;
	n = m->d.failures - 1 < 10 ? m->d.failures - 1 : 10;
	d = (uint64_t)DOM_RETRY_BASE_S << n;
	if (d > DOM_RETRY_MAX_S)
		d = DOM_RETRY_MAX_S;
	d = acme__jitter(e, d);
	if (has_cert(e, m)) {
		/* keep the current certificate and try until it expires */
		m->d.status = ACME_DS_RENEWING;
		m->d.next_attempt = now_s(e) + (int64_t)d;
		ad_warn(MOD, "domain %s (%s): renewal failed (%u): %s", m->d.id,
			name0(m), m->d.failures, buf);
	} else if (m->d.failures >= ACME_ENGINE_MAX_FAILS) {
		m->d.status = ACME_DS_INVALID;
		m->d.next_attempt = 0;
		acme_secret_free(m->d.next_key_pem);
		m->d.next_key_pem = NULL;
		ad_err(MOD, "domain %s (%s): giving up after %u failures: %s",
		       m->d.id, name0(m), m->d.failures, buf);
	} else {
		m->d.status = ACME_DS_PENDING;
		m->d.next_attempt = now_s(e) + (int64_t)d;
		ad_warn(MOD,
			"domain %s (%s): order failed (%u), retry in "
			"%llu s: %s",
			m->d.id, name0(m), m->d.failures, (unsigned long long)d,
			buf);
	}
	changed(e, m);
	acme__dom_schedule(e, m);
}

/* ---- delegation check ------------------------------------------------- */

static bool
needs_delegation(const struct acme_engine *e, const struct eng_dom *m)
{
	/* a domain that issued once had its CNAMEs right; from then on
	 * the CA is the judge */
	return e->cfg.check_delegation && e->ops.resolve && e->cfg.zone_apex &&
	       !m->d.in_zone && !m->d.cert_pem && m->d.not_after == 0;
}

/* a and b equal as DNS names: case-insensitive, trailing dot optional */
static bool
host_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void
enqueue(struct acme_engine *e, struct eng_dom *m)
{
	m->step = S_QUEUED;
	m->wake_ms = 0;
	m->qseq = ++e->qseq;
}

static bool
same_challenge_earlier(const struct eng_dom *m, size_t i)
{
	char a[300], b[300];
	acme_challenge_name(m->d.names[i], a, sizeof(a));
	for (size_t j = 0; j < i; j++) {
		acme_challenge_name(m->d.names[j], b, sizeof(b));
		if (strcmp(a, b) == 0)
			return true;
	}
	return false;
}

static void
deleg_next(struct acme_engine *e, struct eng_dom *m)
{
	char name[300];
	while (m->idx < m->d.nnames && same_challenge_earlier(m, m->idx))
		m->idx++;
	if (m->idx >= m->d.nnames) {
		/* every CNAME is in place */
		if (m->d.status == ACME_DS_AWAITING_DELEGATION || m->d.error) {
			ad_info(MOD, "domain %s (%s): delegation in place",
				m->d.id, name0(m));
			if (m->d.status == ACME_DS_AWAITING_DELEGATION)
				m->d.status = ACME_DS_PENDING;
			acme__set(&m->d.error, NULL);
			m->d.next_attempt = 0;
			changed(e, m);
		}
		enqueue(e, m);
		return;
	}
	acme_challenge_name(m->d.names[m->idx], name, sizeof(name));
	m->step = S_DELEG;
	acme__req_new(e, m, NULL, NULL, EP_NONE, name, NULL,
		      ENG_F_RESOLVE | ENG_F_AUX | ENG_F_NOACCT, 0);
}

/* Copy a name from DNS for an error text: printable ASCII only. */
static void
printable(const char *s, char *out, size_t cap)
{
	size_t j = 0;
	for (; s && *s && j + 1 < cap; s++)
		out[j++] = (*s > 0x20 && *s < 0x7f) ? *s : '?';
	out[j] = '\0';
}

void
acme__dom_resolved(struct acme_engine *e, struct eng_dom *m, int status,
		   const char *target)
{
	char name[300], want[320], found[300];
	bool was_awaiting = m->d.status == ACME_DS_AWAITING_DELEGATION;
	char *old_err;

	if (m->step != S_DELEG || m->idx >= m->d.nnames)
		return;
	acme_challenge_name(m->d.names[m->idx], name, sizeof(name));
	snprintf(want, sizeof(want), "%s.%s.", m->d.subdomain,
		 e->cfg.zone_apex);
	if (status == 0 && target && host_eq(target, want)) {
		m->idx++;
		deleg_next(e, m);
		return;
	}
	if (status == 0 && target)
		printable(target, found, sizeof(found));
	else if (status == AD_ENOENT)
		snprintf(found, sizeof(found), "none");
	else
		snprintf(found, sizeof(found), "lookup failed: %s",
			 ad_strerror(status));
	old_err = m->d.error ? xstrdup(m->d.error) : NULL;
	set_err(m, "CNAME %s. -> %s missing (found: %s)", name, want, found);
	m->d.status = ACME_DS_AWAITING_DELEGATION;
	m->d.next_attempt = now_s(e) + (int64_t)e->cfg.delegation_recheck_s;
	/* persist only what changed for the user, not every recheck time */
	if (!was_awaiting || !old_err || strcmp(old_err, m->d.error) != 0) {
		ad_info(MOD, "domain %s (%s): %s", m->d.id, name0(m),
			m->d.error);
		changed(e, m);
	}
	free(old_err);
	m->step = S_IDLE;
	acme__dom_schedule(e, m);
}

static void
begin_attempt(struct acme_engine *e, struct eng_dom *m)
{
	if (m->d.order_url) {
		enqueue(e, m); /* resume: the CNAMEs were checked */
		return;
	}
	if (needs_delegation(e, m)) {
		if (e->naux >= ENG_MAX_AUX) {
			m->wake_ms = acme__now(e) + 1000;
			return;
		}
		m->idx = 0;
		deleg_next(e, m);
		return;
	}
	enqueue(e, m);
}

/* ---- ARI (RFC 9773) ------------------------------------------------------ */

static char *
ari_url(const struct acme_engine *e, const char *ari_id)
{
	/* §4.2: <renewalInfo>/<certID> */
	const char *base = e->dir.renewal_info;
	size_t n = strlen(base);
	size_t cap = n + strlen(ari_id) + 2;
	char *u = xmalloc(cap);
	snprintf(u, cap, "%s%s%s", base, n && base[n - 1] == '/' ? "" : "/",
		 ari_id);
	return u;
}

static bool
ari_window(const struct acme_http_resp *resp, const char *err, int64_t *start,
	   int64_t *end)
{
	struct acme_renewal_info ri;
	if (err ||
	    acme_renewal_info_parse(body_of(resp), len_of(resp), &ri) != 0)
		return false;
	*start = ri.start;
	*end = ri.end;
	acme_renewal_info_free(&ri);
	return true;
}

static void
on_ari(struct acme_engine *e, struct eng_req *r,
       const struct acme_http_resp *resp, const char *err,
       const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	int64_t s, t;
	(void)prob;
	m->step = S_IDLE;
	if (!ari_window(resp, err, &s, &t)) {
		ad_warn(MOD, "domain %s (%s): renewalInfo: %s", m->d.id,
			name0(m), err ? err : "malformed");
		m->ari_next_ms = acme__now(e) + 3600000;
		acme__dom_schedule(e, m);
		return;
	}
	m->ari_next_ms =
	    acme__now(e) + acme__retry_after(e, resp, ENG_ARI_DEFAULT_MS);
	if (s != m->ari_start || t != m->ari_end) {
		m->ari_start = s;
		m->ari_end = t;
		/* §4.2: a new window means a new point in it; a renew_at
		 * already inside it (after a restart) is kept */
		if (!(s < t && m->d.renew_at >= s && m->d.renew_at <= t)) {
			m->d.renew_at =
			    acme_renew_time(m->d.not_before, m->d.not_after, s,
					    t, acme__rand(e));
			ad_info(MOD,
				"domain %s (%s): renewal window "
				"changed, renew at %lld",
				m->d.id, name0(m), (long long)m->d.renew_at);
			changed(e, m);
		}
	}
	acme__dom_schedule(e, m);
}

static void
ari_fetch(struct acme_engine *e, struct eng_dom *m)
{
	char *u;
	if (!e->dir.renewal_info || !m->d.ari_id) {
		m->ari_next_ms = 0;
		acme__dom_schedule(e, m);
		return;
	}
	if (e->naux >= ENG_MAX_AUX) {
		m->ari_next_ms = acme__now(e) + 1000;
		acme__dom_schedule(e, m);
		return;
	}
	u = ari_url(e, m->d.ari_id);
	m->step = S_ARI;
	/* an unauthenticated GET (§4.2) */
	acme__req_new(e, m, on_ari, "GET", EP_NONE, u, NULL,
		      ENG_F_NORETRY | ENG_F_AUX | ENG_F_NOACCT, 0);
	free(u);
}

void
acme__dom_wake(struct acme_engine *e, struct eng_dom *m)
{
	uint64_t now = acme__now(e);
	switch (m->d.status) {
	case ACME_DS_VALID:
		if (m->d.order_url) {
			begin_attempt(e, m);
		} else if (m->d.renew_at > 0 &&
			   now >= (uint64_t)m->d.renew_at * 1000) {
			ad_info(MOD, "domain %s (%s): renewal due", m->d.id,
				name0(m));
			m->d.status = ACME_DS_RENEWING;
			m->d.failures = 0;
			changed(e, m);
			begin_attempt(e, m);
		} else if (m->ari_next_ms && now >= m->ari_next_ms) {
			ari_fetch(e, m);
		} else {
			acme__dom_schedule(e, m);
		}
		break;
	case ACME_DS_AWAITING_DELEGATION:
	case ACME_DS_PENDING:
	case ACME_DS_RENEWING:
		begin_attempt(e, m);
		break;
	case ACME_DS_INVALID:
	case ACME_DS_REVOKED:
		break;
	}
}

/* ---- key and CSR ------------------------------------------------------- */

/*
 * The key of the order: a user CSR's, the next key of an earlier attempt,
 * the current key while younger than key_max_age_days, or a new one. With
 * gen false a missing key is not made (resume: 1 = start over).
 */
static int
order_key(struct acme_engine *e, struct eng_dom *m, bool gen, char *err,
	  size_t errlen)
{
	struct acme_domain *d = &m->d;
	enum acme_keytype kt;
	int rc;

	if (d->csr_pem) {
		char **names = NULL;
		size_t n = 0;
		if (m->csr)
			return 0;
		rc = acme_csr_parse(d->csr_pem, strlen(d->csr_pem), &names, &n,
				    &m->csr, &m->csr_len, &m->pub);
		acme_names_free(names);
		if (rc != 0) {
			snprintf(err, errlen, "the CSR is not usable: %s",
				 ad_strerror(rc));
			return rc;
		}
		return 0;
	}
	if (!m->key && d->next_key_pem) {
		if (acme_key_from_pem(d->next_key_pem, strlen(d->next_key_pem),
				      &m->key) != 0 ||
		    acme_key_type(m->key, &kt) != 0 || kt != d->key_type) {
			EVP_PKEY_free(m->key);
			m->key = NULL;
			acme_secret_free(d->next_key_pem);
			d->next_key_pem = NULL;
		}
	}
	if (!m->key) {
		if (!gen)
			return 1;
		if (d->key_pem && e->cfg.key_max_age_days > 0 &&
		    d->key_created + (int64_t)e->cfg.key_max_age_days * 86400 >
			now_s(e) &&
		    acme_key_from_pem(d->key_pem, strlen(d->key_pem),
				      &m->key) == 0 &&
		    acme_key_type(m->key, &kt) == 0 && kt == d->key_type) {
			d->next_key_pem = xstrdup(d->key_pem);
		} else {
			EVP_PKEY_free(m->key);
			m->key = NULL;
			rc = acme_key_generate(d->key_type, &m->key);
			if (rc == 0)
				rc = acme_key_to_pem(m->key, &d->next_key_pem);
			if (rc != 0) {
				snprintf(err, errlen,
					 "key generation failed: %s",
					 ad_strerror(rc));
				return rc;
			}
		}
		/* before the order: the host pre-publishes TLSA for the
		 * next key and persists it */
		changed(e, m);
	}
	if (!m->csr) {
		rc = acme_csr_make(m->key, (const char *const *)d->names,
				   d->nnames, &m->csr, &m->csr_len);
		if (rc != 0) {
			snprintf(err, errlen, "CSR creation failed: %s",
				 ad_strerror(rc));
			return rc;
		}
	}
	return 0;
}

/* ---- order -----------------------------------------------------------------
 */

static int
parse_order(struct eng_dom *m, const struct acme_http_resp *resp)
{
	struct acme_order o;
	if (acme_order_parse(body_of(resp), len_of(resp), &o) != 0)
		return AD_EMALF;
	acme_order_free(&m->order);
	m->order = o;
	m->have_order = true;
	return 0;
}

static void
on_new_order(struct acme_engine *e, struct eng_req *r,
	     const struct acme_http_resp *resp, const char *err,
	     const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	if (err) {
		if (prob && m->sent_replaces &&
		    acme_problem_is(prob, "alreadyReplaced")) {
			/* RFC 9773 §5: someone else replaced it already;
			 * order without "replaces" */
			m->no_replaces = true;
			new_order(e, m);
			return;
		}
		order_fail(e, m, "newOrder: %s", err);
		return;
	}
	if (!resp->location || !resp->location[0] ||
	    strlen(resp->location) > ACME_MSG_MAX_URL) {
		order_fail(e, m, "newOrder: answer without an order URL");
		return;
	}
	if (parse_order(m, resp) != 0) {
		order_fail(e, m, "newOrder: malformed order");
		return;
	}
	acme__set(&m->d.order_url, resp->location);
	ad_info(MOD, "domain %s (%s): order %s %s", m->d.id, name0(m),
		m->d.order_url, acme_status_name(m->order.status));
	changed(e, m);
	order_continue(e, m, resp);
}

static void
new_order(struct acme_engine *e, struct eng_dom *m)
{
	char err[300];
	cJSON *p, *ids;
	char *txt;

	if (order_key(e, m, true, err, sizeof(err)) != 0) {
		order_fail(e, m, "%s", err);
		return;
	}
	p = cJSON_CreateObject();
	ids = cJSON_AddArrayToObject(p, "identifiers");
	for (size_t i = 0; i < m->d.nnames; i++) {
		cJSON *id = cJSON_CreateObject();
		cJSON_AddStringToObject(id, "type", "dns");
		cJSON_AddStringToObject(id, "value", m->d.names[i]);
		cJSON_AddItemToArray(ids, id);
	}
	if (e->cfg.profile) {
		if (acme_directory_has_profile(&e->dir, e->cfg.profile)) {
			cJSON_AddStringToObject(p, "profile", e->cfg.profile);
		} else if (!e->profile_warned) {
			e->profile_warned = true;
			ad_warn(MOD,
				"the CA does not offer profile \"%s\": "
				"ordering without one",
				e->cfg.profile);
		}
	}
	/* RFC 9773 §5: tell the CA which certificate this one replaces */
	m->sent_replaces = m->d.status == ACME_DS_RENEWING && m->d.ari_id &&
			   e->dir.renewal_info && !m->no_replaces;
	if (m->sent_replaces)
		cJSON_AddStringToObject(p, "replaces", m->d.ari_id);
	txt = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	m->step = S_NEWORDER;
	acme__req_new(e, m, on_new_order, "POST", EP_NEW_ORDER, NULL, txt, 0,
		      0);
	free(txt);
}

static void
on_resume(struct acme_engine *e, struct eng_req *r,
	  const struct acme_http_resp *resp, const char *err,
	  const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	(void)prob;
	if (err || parse_order(m, resp) != 0 ||
	    m->order.status == ACME_ST_INVALID ||
	    m->order.status == ACME_ST_EXPIRED ||
	    (m->order.status == ACME_ST_PENDING && m->order.expires &&
	     m->order.expires <= now_s(e))) {
		/* the CA forgot it or it is dead: a fresh order, not a
		 * failure of the domain */
		ad_info(MOD,
			"domain %s (%s): stored order %s is gone (%s); "
			"ordering again",
			m->d.id, name0(m), m->d.order_url,
			err ? err : acme_status_name(m->order.status));
		acme_order_free(&m->order);
		m->have_order = false;
		acme__set(&m->d.order_url, NULL);
		changed(e, m);
		new_order(e, m);
		return;
	}
	ad_info(MOD, "domain %s (%s): resuming order %s (%s)", m->d.id,
		name0(m), m->d.order_url, acme_status_name(m->order.status));
	order_continue(e, m, resp);
}

void
acme__dom_start_order(struct acme_engine *e, struct eng_dom *m)
{
	char err[300];
	m->slot = true;
	e->active++;
	order_state_free(m);
	if (m->d.order_url) {
		int rc = order_key(e, m, false, err, sizeof(err));
		if (rc < 0) {
			order_fail(e, m, "%s", err);
			return;
		}
		if (rc == 0) {
			m->resumed = true;
			m->step = S_RESUME;
			post_get(e, m, on_resume, m->d.order_url, 0);
			return;
		}
		/* the key of that order is lost: start over */
		acme__set(&m->d.order_url, NULL);
		changed(e, m);
	}
	new_order(e, m);
}

/* ---- polling ------------------------------------------------------------- */

static void on_poll(struct acme_engine *e, struct eng_req *r,
		    const struct acme_http_resp *resp, const char *err,
		    const struct acme_problem *prob);

static void
poll_later(struct acme_engine *e, struct eng_dom *m,
	   const struct acme_http_resp *resp)
{
	uint64_t d;
	if (resp && resp->retry_after) {
		/* a Retry-After on a success is when to look again */
		d = acme__retry_after(e, resp, e->cfg.poll_interval_ms);
		if (d > ENG_RA_MAX_MS)
			d = ENG_RA_MAX_MS;
	} else {
		unsigned n = m->npoll < 16 ? m->npoll : 16;
		d = (uint64_t)e->cfg.poll_interval_ms << n;
		if (d > ENG_POLL_MAX_MS)
			d = ENG_POLL_MAX_MS;
		m->npoll++;
	}
	m->step = S_POLL;
	post_get(e, m, on_poll, m->d.order_url, acme__now(e) + d);
}

/* ---- failure details ----------------------------------------------------- */

static void failauthz_next(struct acme_engine *e, struct eng_dom *m);

/* The error of an invalid authorization: its failed challenge's problem
 * document (RFC 8555 §7.1.4) summarized. */
static bool
authz_error(const struct acme_authz *a, char *out, size_t cap)
{
	const struct acme_challenge *ch = acme_authz_dns01(a);
	if (!ch || !ch->has_error) {
		ch = NULL;
		for (size_t i = 0; i < a->nchallenges; i++)
			if (a->challenges[i].has_error)
				ch = &a->challenges[i];
	}
	if (!ch)
		return false;
	acme_problem_summary(&ch->error, out, cap);
	return true;
}

static void
on_failauthz(struct acme_engine *e, struct eng_req *r,
	     const struct acme_http_resp *resp, const char *err,
	     const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	struct acme_authz a;
	char buf[400];
	(void)prob;
	if (!err && acme_authz_parse(body_of(resp), len_of(resp), &a) == 0) {
		bool bad = a.status == ACME_ST_INVALID;
		bool got = bad && authz_error(&a, buf, sizeof(buf));
		if (bad && !got)
			snprintf(buf, sizeof(buf),
				 "authorization for %.253s is invalid",
				 a.ident.value ? a.ident.value : "?");
		acme_authz_free(&a);
		if (bad) {
			order_fail(e, m, "%s", buf);
			return;
		}
	}
	m->idx++;
	failauthz_next(e, m);
}

static void
failauthz_next(struct acme_engine *e, struct eng_dom *m)
{
	if (m->idx >= m->order.nauthzs) {
		char buf[400];
		if (m->order.has_error) {
			acme_problem_summary(&m->order.error, buf, sizeof(buf));
			order_fail(e, m, "%s", buf);
		} else {
			order_fail(e, m, "the order became invalid");
		}
		return;
	}
	m->step = S_FAILAUTHZ;
	post_get(e, m, on_failauthz, m->order.authzs[m->idx], 0);
}

/* ---- authorizations and challenges (RFC 8555 §7.5) ----------------------- */

static void authz_next(struct acme_engine *e, struct eng_dom *m);

static void on_chall(struct acme_engine *e, struct eng_req *r,
		     const struct acme_http_resp *resp, const char *err,
		     const struct acme_problem *prob);

static void
chall_next(struct acme_engine *e, struct eng_dom *m)
{
	while (m->idx < m->ntxt && !m->txt[m->idx].post)
		m->idx++;
	if (m->idx >= m->ntxt) {
		m->npoll = 0;
		poll_later(e, m, NULL);
		return;
	}
	m->step = S_CHALL;
	/* §7.5.1: an empty object says "ready, validate" */
	acme__req_new(e, m, on_chall, "POST", EP_NONE, m->txt[m->idx].url, "{}",
		      0, 0);
}

static void
on_chall(struct acme_engine *e, struct eng_req *r,
	 const struct acme_http_resp *resp, const char *err,
	 const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	struct acme_challenge ch;
	(void)prob;
	if (err) {
		order_fail(e, m, "challenge %s: %s", r->url, err);
		return;
	}
	if (acme_challenge_parse(body_of(resp), len_of(resp), &ch) == 0) {
		if (ch.status == ACME_ST_INVALID) {
			char buf[400];
			if (ch.has_error)
				acme_problem_summary(&ch.error, buf,
						     sizeof(buf));
			else
				snprintf(buf, sizeof(buf),
					 "challenge %.300s is invalid", r->url);
			acme_challenge_free(&ch);
			order_fail(e, m, "%s", buf);
			return;
		}
		acme_challenge_free(&ch);
	}
	m->txt[m->idx].post = false;
	m->idx++;
	chall_next(e, m);
}

static void
on_authz(struct acme_engine *e, struct eng_req *r,
	 const struct acme_http_resp *resp, const char *err,
	 const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	struct acme_authz a;
	const struct acme_challenge *ch;
	char value[ACME_THUMB_LEN + 1], buf[400];
	char ident[256];
	int rc;
	(void)prob;

	if (err) {
		order_fail(e, m, "authorization %s: %s", r->url, err);
		return;
	}
	if (acme_authz_parse(body_of(resp), len_of(resp), &a) != 0) {
		order_fail(e, m, "authorization %s: malformed", r->url);
		return;
	}
	/* a copy: a is freed before the error texts are made */
	snprintf(ident, sizeof(ident), "%s",
		 a.ident.value ? a.ident.value : "?");
	switch (a.status) {
	case ACME_ST_VALID:
		/* §7.1.4: an authorization still valid from an earlier
		 * order needs nothing */
		ad_info(MOD, "domain %s (%s): %.253s already authorized",
			m->d.id, name0(m), ident);
		break;
	case ACME_ST_PENDING:
		ch = acme_authz_dns01(&a);
		if (!ch) {
			order_fail(e, m,
				   "CA offers no dns-01 challenge for "
				   "%.253s",
				   ident);
			acme_authz_free(&a);
			return;
		}
		if (ch->status == ACME_ST_INVALID) {
			if (!authz_error(&a, buf, sizeof(buf)))
				snprintf(buf, sizeof(buf),
					 "dns-01 challenge for %.253s is "
					 "invalid",
					 ident);
			acme_authz_free(&a);
			order_fail(e, m, "%s", buf);
			return;
		}
		if (ch->status == ACME_ST_VALID)
			break;
		rc = acme_dns01_value(ch->token ? ch->token : "", e->thumb,
				      value);
		if (rc != 0) {
			acme_authz_free(&a);
			order_fail(e, m,
				   "dns-01 challenge for %.253s: bad "
				   "token",
				   ident);
			return;
		}
		rc = e->ops.txt_add
			 ? e->ops.txt_add(e->ops.ctx, m->d.subdomain, value)
			 : AD_EUNSUP;
		if (rc != 0 && rc != AD_EEXIST) {
			acme_authz_free(&a);
			order_fail(e, m,
				   "could not publish the TXT value "
				   "for %.253s: %s",
				   ident, ad_strerror(rc));
			return;
		}
		m->txt = xreallocarray(m->txt, m->ntxt + 1, sizeof(*m->txt));
		memcpy(m->txt[m->ntxt].value, value, sizeof(value));
		m->txt[m->ntxt].url = xstrdup(ch->url);
		/* a challenge already processing (resume) is not
		 * answered twice */
		m->txt[m->ntxt].post = ch->status == ACME_ST_PENDING;
		m->ntxt++;
		break;
	case ACME_ST_INVALID:
		if (!authz_error(&a, buf, sizeof(buf)))
			snprintf(buf, sizeof(buf),
				 "authorization for %.253s is invalid", ident);
		acme_authz_free(&a);
		order_fail(e, m, "%s", buf);
		return;
	default:
		snprintf(buf, sizeof(buf), "authorization for %.253s is %s",
			 ident, acme_status_name(a.status));
		acme_authz_free(&a);
		order_fail(e, m, "%s", buf);
		return;
	}
	acme_authz_free(&a);
	m->idx++;
	authz_next(e, m);
}

static void
authz_next(struct acme_engine *e, struct eng_dom *m)
{
	if (m->idx >= m->order.nauthzs) {
		/* every value is live in our zone the moment txt_add
		 * returned: no propagation wait before answering */
		if (m->ntxt)
			ad_info(MOD,
				"domain %s (%s): %zu TXT value(s) "
				"published, answering the challenges",
				m->d.id, name0(m), m->ntxt);
		m->idx = 0;
		chall_next(e, m);
		return;
	}
	m->step = S_AUTHZ;
	post_get(e, m, on_authz, m->order.authzs[m->idx], 0);
}

/* ---- finalize and download ----------------------------------------------- */

static void on_poll(struct acme_engine *e, struct eng_req *r,
		    const struct acme_http_resp *resp, const char *err,
		    const struct acme_problem *prob);

static void
on_finalize(struct acme_engine *e, struct eng_req *r,
	    const struct acme_http_resp *resp, const char *err,
	    const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	if (err) {
		if (prob && acme_problem_is(prob, "orderNotReady") &&
		    m->d.order_url && !m->refinalized) {
			/*
			 * RFC 8555 §7.4: the order is no longer "ready". After
			 * a retried finalize (the answer to the first was
			 * lost) it is processing or valid already: look at it
			 * instead of ordering (and paying for) a second
			 * certificate.
			 */
			m->refinalized = true;
			m->step = S_POLL;
			post_get(e, m, on_poll, m->d.order_url, 0);
			return;
		}
		order_fail(e, m, "finalize: %s", err);
		return;
	}
	if (parse_order(m, resp) != 0) {
		order_fail(e, m, "finalize: malformed order");
		return;
	}
	order_continue(e, m, resp);
}

static void
finalize(struct acme_engine *e, struct eng_dom *m)
{
	char *b64, *txt;
	cJSON *p;

	if (!m->order.finalize) {
		order_fail(e, m, "the order has no finalize URL");
		return;
	}
	if (!m->csr) {
		char err[300];
		if (order_key(e, m, true, err, sizeof(err)) != 0) {
			order_fail(e, m, "%s", err);
			return;
		}
	}
	b64 = xmalloc(AD_B64URL_LEN(m->csr_len));
	ad_b64url_encode(m->csr, m->csr_len, b64);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "csr", b64);
	free(b64);
	txt = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	ad_info(MOD, "domain %s (%s): order %s ready, finalizing", m->d.id,
		name0(m), m->d.order_url);
	m->finalized = true;
	m->npoll = 0;
	m->step = S_FINALIZE;
	acme__req_new(e, m, on_finalize, "POST", EP_NONE, m->order.finalize,
		      txt, 0, 0);
	free(txt);
}

/* true if the PEM chain leads to (or passes through) an issuer with CN
 * name, case-insensitively. */
static bool
chain_matches(const char *pem, const char *name)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;
	bool match = false;
	char cn[256];
	unsigned n = 0;

	if (!b)
		return false;
	while (!match && n++ < ACME_MAX_CHAIN &&
	       (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		X509_NAME *in = X509_get_issuer_name(x);
		int len = X509_NAME_get_text_by_NID(in, NID_commonName, cn,
						    sizeof(cn));
		if (len > 0 && strcasecmp(cn, name) == 0)
			match = true;
		X509_free(x);
	}
	ERR_clear_error(); /* the end of the PEM data leaves an error */
	BIO_free(b);
	return match;
}

static void issue_done(struct acme_engine *e, struct eng_dom *m,
		       const struct acme_http_resp *resp, int64_t s, int64_t t);

static void
on_ari_issue(struct acme_engine *e, struct eng_req *r,
	     const struct acme_http_resp *resp, const char *err,
	     const struct acme_problem *prob)
{
	int64_t s = 0, t = 0;
	(void)prob;
	if (!ari_window(resp, err, &s, &t)) {
		ad_warn(MOD, "domain %s (%s): renewalInfo: %s", r->dom->d.id,
			name0(r->dom), err ? err : "malformed");
		s = t = 0;
		resp = NULL;
	}
	issue_done(e, r->dom, resp, s, t);
}

/* Take pem (owned) as the new certificate once it checks out. */
static void
accept_chain(struct acme_engine *e, struct eng_dom *m, char *pem)
{
	int rc;
	memset(&m->issue_info, 0, sizeof(m->issue_info));
	rc = acme_chain_parse(pem, strlen(pem), m->key ? m->key : m->pub,
			      &m->issue_info);
	if (rc != 0) {
		free(pem);
		if (rc == AD_EINVAL)
			order_fail(e, m,
				   "the certificate does not match the "
				   "key of the order");
		else
			order_fail(e, m,
				   "the certificate chain is not "
				   "usable: %s",
				   ad_strerror(rc));
		return;
	}
	m->have_issue = true;
	m->issue_pem = pem;
	if (e->dir.renewal_info && m->issue_info.ari_id[0]) {
		char *u = ari_url(e, m->issue_info.ari_id);
		m->step = S_ARI_ISSUE;
		/* one try: without a window the lifetime rule applies */
		acme__req_new(e, m, on_ari_issue, "GET", EP_NONE, u, NULL,
			      ENG_F_NORETRY | ENG_F_NOACCT, 0);
		free(u);
		return;
	}
	issue_done(e, m, NULL, 0, 0);
}

static void alt_next(struct acme_engine *e, struct eng_dom *m);

static void
on_alt(struct acme_engine *e, struct eng_req *r,
       const struct acme_http_resp *resp, const char *err,
       const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	(void)prob;
	if (!err && len_of(resp) > 0) {
		char *pem = xstrndup(body_of(resp), len_of(resp));
		if (chain_matches(pem, e->cfg.preferred_chain)) {
			ad_info(MOD,
				"domain %s (%s): using the alternate "
				"chain to \"%s\"",
				m->d.id, name0(m), e->cfg.preferred_chain);
			accept_chain(e, m, pem);
			return;
		}
		free(pem);
	}
	m->idx++;
	alt_next(e, m);
}

static void
alt_next(struct acme_engine *e, struct eng_dom *m)
{
	if (m->idx >= m->nalts) {
		char *pem = m->chain;
		m->chain = NULL;
		ad_info(MOD,
			"domain %s (%s): no chain to \"%s\"; keeping "
			"the default",
			m->d.id, name0(m), e->cfg.preferred_chain);
		accept_chain(e, m, pem);
		return;
	}
	m->step = S_ALT;
	post_get(e, m, on_alt, m->alts[m->idx], 0);
}

static int
collect_alt(void *arg, const char *url, size_t len)
{
	struct eng_dom *m = arg;
	if (m->nalts >= ENG_MAX_ALTS)
		return 1;
	if (len == 0 || len > ACME_MSG_MAX_URL)
		return 0;
	m->alts[m->nalts++] = xstrndup(url, len);
	return 0;
}

static void
on_cert(struct acme_engine *e, struct eng_req *r,
	const struct acme_http_resp *resp, const char *err,
	const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	(void)prob;
	if (err) {
		order_fail(e, m, "certificate download: %s", err);
		return;
	}
	if (len_of(resp) == 0) {
		order_fail(e, m, "certificate download: empty answer");
		return;
	}
	free(m->chain);
	m->chain = xstrndup(body_of(resp), len_of(resp));
	m->chain_len = strlen(m->chain);
	for (size_t i = 0; i < m->nalts; i++)
		free(m->alts[i]);
	m->nalts = 0;
	/* §7.4.2: alternate chains come as Link rel="alternate" */
	for (size_t i = 0; i < resp->nlinks && i < ACME_HTTP_MAX_LINKS; i++)
		if (resp->links[i])
			acme_link_each(resp->links[i], strlen(resp->links[i]),
				       "alternate", collect_alt, m);
	if (e->cfg.preferred_chain && m->nalts > 0 &&
	    !chain_matches(m->chain, e->cfg.preferred_chain)) {
		m->idx = 0;
		alt_next(e, m);
		return;
	}
	char *pem = m->chain;
	m->chain = NULL;
	accept_chain(e, m, pem);
}

static void
download(struct acme_engine *e, struct eng_dom *m)
{
	if (!m->order.certificate) {
		order_fail(e, m, "the order is valid but has no certificate");
		return;
	}
	m->step = S_CERT;
	post_get(e, m, on_cert, m->order.certificate, 0);
}

/* The new certificate is in m->issue_pem/issue_info: make it current. */
static void
issue_done(struct acme_engine *e, struct eng_dom *m,
	   const struct acme_http_resp *resp, int64_t s, int64_t t)
{
	struct acme_domain *d = &m->d;
	uint64_t now = acme__now(e);

	free(d->cert_pem);
	d->cert_pem = m->issue_pem;
	m->issue_pem = NULL;
	if (!d->csr_pem) {
		if (d->key_pem && d->next_key_pem &&
		    strcmp(d->key_pem, d->next_key_pem) == 0) {
			/* the same key again: its age goes on */
			acme_secret_free(d->next_key_pem);
		} else {
			acme_secret_free(d->key_pem);
			d->key_pem = d->next_key_pem;
			d->key_created = (int64_t)(now / 1000);
		}
		d->next_key_pem = NULL;
	}
	d->not_before = m->issue_info.not_before;
	d->not_after = m->issue_info.not_after;
	acme__set(&d->ari_id,
		  m->issue_info.ari_id[0] ? m->issue_info.ari_id : NULL);
	acme__set(&d->order_url, NULL);
	acme__set(&d->error, NULL);
	d->status = ACME_DS_VALID;
	d->failures = 0;
	d->next_attempt = 0;
	m->ari_start = s;
	m->ari_end = t;
	d->renew_at =
	    acme_renew_time(d->not_before, d->not_after, s, t, acme__rand(e));
	m->ari_next_ms = 0;
	if (e->dir.renewal_info && d->ari_id)
		m->ari_next_ms =
		    now + acme__retry_after(e, resp, ENG_ARI_DEFAULT_MS);
	m->no_replaces = false;
	end_work(e, m);
	char na[32], ra[32];
	iso_time(d->not_after, na);
	iso_time(d->renew_at, ra);
	ad_info(MOD,
		"domain %s (%s): certificate issued, valid until %s, "
		"renewal at %s",
		d->id, name0(m), na, ra);
	changed(e, m);
	if (e->ops.cert_issued)
		e->ops.cert_issued(e->ops.ctx, d);
	acme__dom_schedule(e, m);
}

/* ---- the order's status decides the next step ---------------------------- */

static void
order_continue(struct acme_engine *e, struct eng_dom *m,
	       const struct acme_http_resp *resp)
{
	switch (m->order.status) {
	case ACME_ST_PENDING:
		if (m->step == S_POLL || m->step == S_FINALIZE) {
			if (m->order.expires && now_s(e) >= m->order.expires) {
				order_fail(e, m, "order expired");
				return;
			}
			poll_later(e, m, resp);
			return;
		}
		m->idx = 0;
		txt_cleanup(e, m); /* a resume re-adds what is needed */
		authz_next(e, m);
		return;
	case ACME_ST_READY:
		txt_cleanup(e, m);
		if (m->finalized) {
			poll_later(e, m, resp);
			return;
		}
		finalize(e, m);
		return;
	case ACME_ST_PROCESSING:
		txt_cleanup(e, m);
		if (!m->finalized)
			m->npoll = 0;
		m->finalized = true;
		poll_later(e, m, resp);
		return;
	case ACME_ST_VALID:
		txt_cleanup(e, m);
		download(e, m);
		return;
	case ACME_ST_INVALID:
		txt_cleanup(e, m);
		if (m->finalized && m->order.has_error) {
			char buf[400];
			acme_problem_summary(&m->order.error, buf, sizeof(buf));
			order_fail(e, m, "%s", buf);
			return;
		}
		m->idx = 0;
		failauthz_next(e, m);
		return;
	default:
		order_fail(e, m, "the order is %s",
			   acme_status_name(m->order.status));
		return;
	}
}

static void
on_poll(struct acme_engine *e, struct eng_req *r,
	const struct acme_http_resp *resp, const char *err,
	const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	(void)prob;
	if (err) {
		order_fail(e, m, "order %s: %s", r->url, err);
		return;
	}
	if (parse_order(m, resp) != 0) {
		order_fail(e, m, "order %s: malformed", r->url);
		return;
	}
	order_continue(e, m, resp);
}

/* ---- revocation (RFC 8555 §7.6) ------------------------------------------ */

static void
on_revoke(struct acme_engine *e, struct eng_req *r,
	  const struct acme_http_resp *resp, const char *err,
	  const struct acme_problem *prob)
{
	struct eng_dom *m = r->dom;
	(void)resp;
	m->step = S_IDLE;
	if (err && !(prob && acme_problem_is(prob, "alreadyRevoked"))) {
		set_err(m, "revocation failed: %s", err);
		ad_warn(MOD, "domain %s (%s): %s", m->d.id, name0(m),
			m->d.error);
		changed(e, m);
		acme__dom_schedule(e, m);
		return;
	}
	m->d.status = ACME_DS_REVOKED;
	m->d.renew_at = 0;
	m->d.next_attempt = 0;
	m->d.failures = 0;
	m->ari_next_ms = 0;
	acme__set(&m->d.error, NULL);
	ad_info(MOD, "domain %s (%s): certificate revoked", m->d.id, name0(m));
	changed(e, m);
	if (e->ops.cert_issued)
		e->ops.cert_issued(e->ops.ctx, &m->d);
	acme__dom_schedule(e, m);
}

int
acme__dom_revoke(struct acme_engine *e, struct eng_dom *m, int reason)
{
	uint8_t *der = NULL;
	size_t len = 0;
	char *b64, *txt;
	cJSON *p;

	if (acme_cert_der(m->d.cert_pem, strlen(m->d.cert_pem), &der, &len) !=
	    0)
		return AD_EINVAL;
	b64 = xmalloc(AD_B64URL_LEN(len));
	ad_b64url_encode(der, len, b64);
	free(der);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "certificate", b64);
	cJSON_AddNumberToObject(p, "reason", reason);
	free(b64);
	txt = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	m->step = S_REVOKE;
	m->wake_ms = 0;
	/* signed with kid: the account that ordered it (§7.6) */
	acme__req_new(e, m, on_revoke, "POST", EP_REVOKE, NULL, txt, 0, 0);
	free(txt);
	return 0;
}
