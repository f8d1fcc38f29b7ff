/* SPDX-License-Identifier: MIT */
/*
 * The scenario world (see world.h): fake clock, host callbacks, fake DNS,
 * persisted state and the driver loop. It must stay deterministic: no
 * real time, no real randomness in anything the engine sees (the CA's own
 * keys are random, which the engine cannot observe as timing).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "acme/msg.h"
#include "acme/pki.h"
#include "common/base64.h"
#include "common/errors.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "tests/scenarios/world.h"

enum { EV_HTTP, EV_RESOLVE };

struct world_ev {
	uint64_t due, seq, id;
	int kind;
	struct fakeca_resp resp;
	int rstatus;
	char *target;
};

static void violation(struct world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
violation(struct world *w, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	fprintf(stderr, "world: host contract violation: %s\n", s);
	w->violations =
	    xreallocarray(w->violations, w->nviolations + 1, sizeof(char *));
	w->violations[w->nviolations++] = s;
}

static uint32_t
w_rand32(struct world *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (uint32_t)((w->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

/* lower-case, without the trailing dot */
static void
norm_name(const char *in, char *out, size_t cap)
{
	size_t n = ad_strlcpy(out, in, cap);
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] + 32);
	if (n && out[n - 1] == '.')
		out[n - 1] = 0;
}

static struct world_txt *
txt_find(const struct world *w, const char *sub)
{
	for (size_t i = 0; i < w->ntxt; i++)
		if (!strcasecmp(w->txt[i].sub, sub))
			return &w->txt[i];
	return NULL;
}

static const struct world_cname *
cname_find(const struct world *w, const char *name)
{
	char n[300];
	norm_name(name, n, sizeof(n));
	for (size_t i = 0; i < w->ncn; i++)
		if (!strcmp(w->cn[i].name, n))
			return &w->cn[i];
	return NULL;
}

/* The CA's TXT lookup: follow the CNAME (as a resolver in front of the
 * CA would), or accept names inside our own zone directly. */
static bool
dns_txt(void *arg, const char *name, const char *value)
{
	struct world *w = arg;
	const struct world_cname *c = cname_find(w, name);
	const struct world_txt *t;
	char n[300], sub[300];
	size_t al = strlen(W_APEX);
	if (c) {
		ad_strlcpy(sub, c->sub, sizeof(sub));
	} else {
		norm_name(name, n, sizeof(n));
		size_t nl = strlen(n);
		if (nl <= al + 1 || strcmp(n + nl - al, W_APEX) ||
		    n[nl - al - 1] != '.')
			return false;
		n[nl - al - 1] = 0;
		ad_strlcpy(sub, n, sizeof(sub));
	}
	t = txt_find(w, sub);
	for (size_t i = 0; t && i < t->n; i++)
		if (!strcmp(t->vals[i], value))
			return true;
	return false;
}

static uint64_t
ca_now(void *arg)
{
	return ((struct world *)arg)->now;
}

/* ---- acme_ops ------------------------------------------------------------ */

static uint64_t
op_now(void *ctx)
{
	return ((struct world *)ctx)->now;
}

static uint32_t
op_random(void *ctx)
{
	return w_rand32(ctx);
}

static bool
ev_pending(const struct world *w, int kind, uint64_t id)
{
	for (size_t i = 0; i < w->nev; i++)
		if (w->ev[i].kind == kind && w->ev[i].id == id)
			return true;
	return false;
}

static struct world_ev *
ev_push(struct world *w, int kind, uint64_t id, uint64_t delay)
{
	struct world_ev *ev;
	w->ev = xreallocarray(w->ev, w->nev + 1, sizeof(*w->ev));
	ev = &w->ev[w->nev++];
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->id = id;
	ev->due = w->now + delay;
	ev->seq = w->seq++;
	return ev;
}

static bool
key_matches(const char *pem, EVP_PKEY *pub)
{
	EVP_PKEY *k = NULL;
	bool eq;
	if (!pem || acme_key_from_pem(pem, strlen(pem), &k) < 0)
		return false;
	eq = EVP_PKEY_eq(k, pub) == 1;
	EVP_PKEY_free(k);
	return eq;
}

/*
 * Durability (RFC 8555 §7.4 + crash safety): the private key of a CSR
 * sent to finalize must already be persisted (next_key_pem or key_pem of
 * a stored domain, or the user's CSR), else a crash after finalize loses
 * the key of a certificate the CA issued.
 */
static void
check_finalize_key(struct world *w, const char *payload)
{
	cJSON *j = payload ? cJSON_Parse(payload) : NULL;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "csr");
	uint8_t *der = NULL;
	const unsigned char *p;
	X509_REQ *req = NULL;
	EVP_PKEY *pub;
	size_t n;
	int dl;
	bool found = false;
	char cn[256];

	if (!cJSON_IsString(c))
		goto out;
	n = strlen(c->valuestring);
	der = xmalloc(n + 1);
	dl = ad_b64url_decode(c->valuestring, n, der, n + 1);
	p = der;
	if (dl <= 0 || !(req = d2i_X509_REQ(NULL, &p, dl)))
		goto out;
	pub = X509_REQ_get0_pubkey(req);
	/* the CSR's CN is the domain's first name: parse only its keys */
	if (X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req),
				      NID_commonName, cn, sizeof(cn)) <= 0)
		cn[0] = 0;
	w->n_finalize_checked++;
	for (size_t i = 0; pub && !found && i < w->ndom; i++) {
		const struct acme_domain *d = &w->dom[i];
		if (cn[0] && strcmp(d->names[0], cn))
			continue;
		found = key_matches(d->next_key_pem, pub) ||
			key_matches(d->key_pem, pub) || d->csr_pem;
	}
	if (!found)
		violation(w, "finalize with a key that was not persisted");
out:
	X509_REQ_free(req);
	free(der);
	cJSON_Delete(j);
}

static int
op_http(void *ctx, const struct acme_http_req *req)
{
	struct world *w = ctx;
	struct world_ev *ev;
	uint64_t lat;

	w->n_http++;
	if (!req->method || !req->url ||
	    (strcmp(req->method, "GET") && strcmp(req->method, "HEAD") &&
	     strcmp(req->method, "POST"))) {
		violation(w, "http: bad method/url");
		return AD_EINVAL;
	}
	if (!strcmp(req->method, "POST") && (!req->body || !req->body_len))
		violation(w, "http: POST without a body to %s", req->url);
	if (ev_pending(w, EV_HTTP, req->id))
		violation(w, "http: id %llu reused while pending",
			  (unsigned long long)req->id);
	if (w->http_start_fail) {
		w->http_start_fail--;
		return AD_EIO;
	}
	lat = w->latency_ms;
	if (w->latency_jitter_ms)
		lat += w_rand32(w) % w->latency_jitter_ms;
	ev = ev_push(w, EV_HTTP, req->id, lat);
	fakeca_handle(w->ca, req, &ev->resp);
	if (fakeca_req_at(w->ca, fakeca_nreq(w->ca) - 1)->ep == FEP_FINALIZE)
		check_finalize_key(
		    w, fakeca_req_at(w->ca, fakeca_nreq(w->ca) - 1)->payload);
	if (getenv("SCEN_TRACE")) {
		const struct fakeca_req *r =
		    fakeca_req_at(w->ca, fakeca_nreq(w->ca) - 1);
		fprintf(stderr, "trace +%.3f %s %s -> %d %s %.200s\n",
			(double)(w->now - W_T0) / 1000.0, req->method, req->url,
			r->status, r->ptype ? r->ptype : "",
			r->payload ? r->payload : "");
	}
	/* the host convention (server/acme_http.h): bodies over the cap
	 * fail the request as "response too large" */
	if (!w->no_body_cap && ev->resp.body_len > ACME_MSG_MAX_BODY) {
		fakeca_resp_free(&ev->resp);
		ev->resp.status = 0;
		ev->resp.error = xstrdup("response too large");
	}
	return 0;
}

static int
op_resolve(void *ctx, uint64_t id, const char *name)
{
	struct world *w = ctx;
	const struct world_cname *c;
	struct world_ev *ev;
	w->n_resolve++;
	if (!name || strlen(name) > 260) {
		violation(w, "resolve: bad name");
		return AD_EINVAL;
	}
	if (ev_pending(w, EV_RESOLVE, id))
		violation(w, "resolve: id %llu reused while pending",
			  (unsigned long long)id);
	c = cname_find(w, name);
	ev = ev_push(w, EV_RESOLVE, id, w->resolve_latency_ms);
	if (c) {
		size_t n = strlen(c->sub) + strlen(W_APEX) + 3;
		ev->target = xmalloc(n);
		snprintf(ev->target, n, "%s.%s.", c->sub, W_APEX);
		ev->rstatus = 0;
	} else {
		ev->rstatus = AD_ENOENT;
	}
	return 0;
}

static bool
b64url43(const char *v)
{
	if (!v || strlen(v) != ACME_THUMB_LEN)
		return false;
	for (; *v; v++)
		if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') ||
		      (*v >= '0' && *v <= '9') || *v == '-' || *v == '_'))
			return false;
	return true;
}

static int
op_txt_add(void *ctx, const char *sub, const char *value)
{
	struct world *w = ctx;
	struct world_txt *t;
	w->txt_adds++;
	if (!sub || !*sub || !b64url43(value)) {
		violation(w, "txt_add: bad subdomain or value");
		return AD_EINVAL;
	}
	if (w->txt_add_fail) {
		w->txt_add_fail--;
		return AD_EIO;
	}
	t = txt_find(w, sub);
	if (!t) {
		w->txt = xreallocarray(w->txt, w->ntxt + 1, sizeof(*w->txt));
		t = &w->txt[w->ntxt++];
		memset(t, 0, sizeof(*t));
		t->sub = xstrdup(sub);
	}
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->vals[i], value))
			return 0; /* pinned twice: still one value */
	t->vals = xreallocarray(t->vals, t->n + 1, sizeof(char *));
	t->vals[t->n++] = xstrdup(value);
	if (t->n > w->max_txt_one_sub)
		w->max_txt_one_sub = t->n;
	return 0;
}

static void
op_txt_del(void *ctx, const char *sub, const char *value)
{
	struct world *w = ctx;
	struct world_txt *t = sub ? txt_find(w, sub) : NULL;
	w->txt_dels++;
	for (size_t i = 0; t && value && i < t->n; i++) {
		if (!strcmp(t->vals[i], value)) {
			free(t->vals[i]);
			t->vals[i] = t->vals[--t->n];
			return;
		}
	}
	w->txt_del_missing++;
}

static struct acme_domain *
dom_slot(struct world *w, const char *id)
{
	for (size_t i = 0; i < w->ndom; i++)
		if (!strcmp(w->dom[i].id, id))
			return &w->dom[i];
	w->dom = xreallocarray(w->dom, w->ndom + 1, sizeof(*w->dom));
	memset(&w->dom[w->ndom], 0, sizeof(*w->dom));
	return &w->dom[w->ndom++];
}

static void
note(char ***list, size_t *n, const char *err)
{
	if (!err)
		return;
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*list)[i], err))
			return;
	*list = xreallocarray(*list, *n + 1, sizeof(char *));
	(*list)[(*n)++] = xstrdup(err);
}

static void
op_domain_changed(void *ctx, const struct acme_domain *d)
{
	struct world *w = ctx;
	struct acme_domain *slot;
	w->n_domain_changed++;
	if (!d || !d->id[0] || d->nnames == 0) {
		violation(w, "domain_changed: empty domain");
		return;
	}
	if ((d->status == ACME_DS_VALID || d->status == ACME_DS_RENEWING) &&
	    (!d->cert_pem || d->not_after <= d->not_before))
		violation(w, "domain_changed: %s valid without a certificate",
			  d->id);
	note(&w->errors, &w->nerrors, d->error);
	slot = dom_slot(w, d->id);
	acme_domain_clear(slot);
	if (acme_domain_copy(slot, d) < 0)
		abort();
}

static void
op_account_changed(void *ctx, const struct acme_account_state *a)
{
	struct world *w = ctx;
	w->n_account_changed++;
	if (!a || !a->key_pem) {
		violation(w, "account_changed without a key");
		return;
	}
	acme_secret_free(w->acct.key_pem);
	free(w->acct.url);
	free(w->acct.directory);
	free(w->acct.status);
	w->acct.key_pem = xstrdup(a->key_pem);
	w->acct.url = a->url ? xstrdup(a->url) : NULL;
	w->acct.directory = a->directory ? xstrdup(a->directory) : NULL;
	w->acct.status = a->status ? xstrdup(a->status) : NULL;
}

static void
op_cert_issued(void *ctx, const struct acme_domain *d)
{
	struct world *w = ctx;
	if (d->status == ACME_DS_REVOKED) {
		w->n_revoked_issued++;
		return;
	}
	w->n_cert_issued++;
	if (!d->cert_pem)
		violation(w, "cert_issued without a certificate");
}

static void
op_domain_deleted(void *ctx, const struct acme_domain *d)
{
	struct world *w = ctx;
	w->n_deleted++;
	for (size_t i = 0; i < w->ndom; i++) {
		if (!strcmp(w->dom[i].id, d->id)) {
			acme_domain_clear(&w->dom[i]);
			w->dom[i] = w->dom[--w->ndom];
			break;
		}
	}
}

/* ---- lifecycle ------------------------------------------------------------
 */

/* worlds alive, for world_free_all */
static struct world *live[16];

struct world *
world_new(const struct fakeca_cfg *cacfg, uint64_t seed)
{
	struct world *w = xcalloc(1, sizeof(*w));
	for (size_t i = 0; i < AD_ARRAY_SIZE(live); i++) {
		if (!live[i]) {
			live[i] = w;
			break;
		}
	}
	struct fakeca_cfg def;
	EVP_PKEY *k = NULL;

	w->now = W_T0;
	w->rng = seed ? seed * 0x9E3779B97F4A7C15ULL : 88172645463325252ULL;
	w->latency_ms = 40;
	w->latency_jitter_ms = 20;
	w->resolve_latency_ms = 5;
	w->max_steps = 400000;
	w->max_same_instant = 20000;
	if (!cacfg) {
		fakeca_cfg_default(&def);
		cacfg = &def;
	}
	w->ca = fakeca_new(cacfg, ca_now, dns_txt, w, seed + 1);

	w->ops.ctx = w;
	w->ops.now_ms = op_now;
	w->ops.random = op_random;
	w->ops.http = op_http;
	w->ops.resolve = op_resolve;
	w->ops.txt_add = op_txt_add;
	w->ops.txt_del = op_txt_del;
	w->ops.domain_changed = op_domain_changed;
	w->ops.account_changed = op_account_changed;
	w->ops.cert_issued = op_cert_issued;
	w->ops.domain_deleted = op_domain_deleted;

	w->cfg.directory = FAKECA_DIR;
	w->cfg.email = "admin@example.test";
	w->cfg.zone_apex = W_APEX;
	w->cfg.delegation_recheck_s = 60;

	/* the host stores the account key before the engine first runs */
	if (acme_key_generate(ACME_KEY_EC256, &k) < 0 ||
	    acme_key_to_pem(k, &w->acct.key_pem) < 0)
		abort();
	EVP_PKEY_free(k);
	w->acct.directory = xstrdup(FAKECA_DIR);
	return w;
}

static void
ev_free(struct world_ev *ev)
{
	fakeca_resp_free(&ev->resp);
	free(ev->target);
}

void
world_engine_free(struct world *w)
{
	acme_engine_free(w->e);
	w->e = NULL;
	/* a crash: whatever was in flight never completes */
	for (size_t i = 0; i < w->nev; i++)
		ev_free(&w->ev[i]);
	w->nev = 0;
}

void
world_free(struct world *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < AD_ARRAY_SIZE(live); i++)
		if (live[i] == w)
			live[i] = NULL;
	world_engine_free(w);
	free(w->ev);
	for (size_t i = 0; i < w->ncn; i++) {
		free(w->cn[i].name);
		free(w->cn[i].sub);
	}
	free(w->cn);
	for (size_t i = 0; i < w->ntxt; i++) {
		for (size_t j = 0; j < w->txt[i].n; j++)
			free(w->txt[i].vals[j]);
		free(w->txt[i].vals);
		free(w->txt[i].sub);
	}
	free(w->txt);
	for (size_t i = 0; i < w->ndom; i++)
		acme_domain_clear(&w->dom[i]);
	free(w->dom);
	for (size_t i = 0; i < w->nerrors; i++)
		free(w->errors[i]);
	free(w->errors);
	for (size_t i = 0; i < w->neng_errors; i++)
		free(w->eng_errors[i]);
	free(w->eng_errors);
	for (size_t i = 0; i < w->nviolations; i++)
		free(w->violations[i]);
	free(w->violations);
	acme_secret_free(w->acct.key_pem);
	free(w->acct.url);
	free(w->acct.directory);
	free(w->acct.status);
	fakeca_free(w->ca);
	free(w);
}

int
world_free_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < AD_ARRAY_SIZE(live); i++)
		world_free(live[i]);
	return 0;
}

int
world_engine_new(struct world *w)
{
	if (w->e)
		world_engine_free(w);
	return acme_engine_new(&w->cfg, &w->ops, &w->acct, &w->e);
}

int
world_restart(struct world *w)
{
	int r;
	world_engine_free(w);
	/* the zone lives in memory: pinned challenge values die with the
	 * process; the engine must publish again what it still needs */
	for (size_t i = 0; !w->keep_txt_on_restart && i < w->ntxt; i++) {
		for (size_t j = 0; j < w->txt[i].n; j++)
			free(w->txt[i].vals[j]);
		w->txt[i].n = 0;
	}
	r = world_engine_new(w);
	if (r < 0)
		return r;
	/* the host loads every stored domain, then starts the engine */
	for (size_t i = 0; i < w->ndom; i++) {
		r = acme_engine_add(w->e, &w->dom[i]);
		if (r < 0)
			return r;
	}
	acme_engine_start(w->e);
	return 0;
}

void
world_id(unsigned n, char out[ACME_ID_LEN + 1])
{
	snprintf(out, ACME_ID_LEN + 1, "00000000-0000-4000-8000-%012u", n);
}

void
world_cname(struct world *w, const char *name, const char *sub)
{
	char n[300];
	norm_name(name, n, sizeof(n));
	for (size_t i = 0; i < w->ncn; i++) {
		if (!strcmp(w->cn[i].name, n)) {
			free(w->cn[i].sub);
			if (sub) {
				w->cn[i].sub = xstrdup(sub);
			} else {
				free(w->cn[i].name);
				w->cn[i] = w->cn[--w->ncn];
			}
			return;
		}
	}
	if (!sub)
		return;
	w->cn = xreallocarray(w->cn, w->ncn + 1, sizeof(*w->cn));
	w->cn[w->ncn].name = xstrdup(n);
	w->cn[w->ncn].sub = xstrdup(sub);
	w->ncn++;
}

int
world_add(struct world *w, const char *id, const char *sub,
	  const char *const *names, size_t n, bool delegate)
{
	struct acme_domain d;
	int r;
	memset(&d, 0, sizeof(d));
	ad_strlcpy(d.id, id, sizeof(d.id));
	snprintf(d.owner, sizeof(d.owner), "owner-%s", sub);
	ad_strlcpy(d.subdomain, sub, sizeof(d.subdomain));
	d.names = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		d.names[i] = xstrdup(names[i]);
		if (delegate) {
			char cn[300];
			acme_challenge_name(names[i], cn, sizeof(cn));
			world_cname(w, cn, sub);
		}
	}
	d.nnames = n;
	d.key_type = ACME_KEY_EC256;
	d.created = (int64_t)(w->now / 1000);
	d.status = w->cfg.check_delegation ? ACME_DS_AWAITING_DELEGATION
					   : ACME_DS_PENDING;
	r = world_add_domain(w, &d);
	acme_domain_clear(&d);
	return r;
}

int
world_add_domain(struct world *w, const struct acme_domain *d)
{
	int r = acme_engine_add(w->e, d);
	if (r == 0) {
		/* the API stores the row before handing it to the engine */
		struct acme_domain *slot = dom_slot(w, d->id);
		acme_domain_clear(slot);
		if (acme_domain_copy(slot, d) < 0)
			abort();
	}
	return r;
}

size_t
world_txt_count(const struct world *w, const char *sub)
{
	const struct world_txt *t = txt_find(w, sub);
	return t ? t->n : 0;
}

size_t
world_txt_total(const struct world *w)
{
	size_t n = 0;
	for (size_t i = 0; i < w->ntxt; i++)
		n += w->txt[i].n;
	return n;
}

bool
world_txt_has(const struct world *w, const char *sub, const char *val)
{
	const struct world_txt *t = txt_find(w, sub);
	for (size_t i = 0; t && i < t->n; i++)
		if (!strcmp(t->vals[i], val))
			return true;
	return false;
}

const struct acme_domain *
world_persisted(const struct world *w, const char *id)
{
	for (size_t i = 0; i < w->ndom; i++)
		if (!strcmp(w->dom[i].id, id))
			return &w->dom[i];
	return NULL;
}

const struct acme_domain *
world_domain(const struct world *w, const char *id)
{
	return w->e ? acme_engine_find(w->e, id) : NULL;
}

bool
world_error_seen(const struct world *w, const char *needle)
{
	for (size_t i = 0; i < w->nerrors; i++)
		if (strcasestr(w->errors[i], needle))
			return true;
	return false;
}

bool
world_eng_error_seen(const struct world *w, const char *needle)
{
	for (size_t i = 0; i < w->neng_errors; i++)
		if (strcasestr(w->eng_errors[i], needle))
			return true;
	return false;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
world_cert_check(const struct acme_domain *d, const char *const *names,
		 size_t n, struct acme_certinfo *out)
{
	struct acme_certinfo ci;
	EVP_PKEY *key = NULL;
	const char **want;
	int r = -1;

	if (!d || !d->cert_pem) {
		fprintf(stderr, "cert_check: no certificate\n");
		return -1;
	}
	if (d->key_pem &&
	    acme_key_from_pem(d->key_pem, strlen(d->key_pem), &key) < 0) {
		fprintf(stderr, "cert_check: key does not parse\n");
		return -1;
	}
	memset(&ci, 0, sizeof(ci));
	if (acme_chain_parse(d->cert_pem, strlen(d->cert_pem), key, &ci) < 0) {
		fprintf(stderr, "cert_check: chain does not parse or key "
				"does not match\n");
		EVP_PKEY_free(key);
		return -1;
	}
	EVP_PKEY_free(key);
	want = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		want[i] = names[i];
	qsort(want, n, sizeof(char *), cmp_str);
	qsort(ci.names, ci.nnames, sizeof(char *), cmp_str);
	if (ci.nnames != n) {
		fprintf(stderr, "cert_check: %zu names, want %zu\n", ci.nnames,
			n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ci.names[i], want[i])) {
			fprintf(stderr, "cert_check: name %s, want %s\n",
				ci.names[i], want[i]);
			goto out;
		}
	}
	if (d->not_before != ci.not_before || d->not_after != ci.not_after) {
		fprintf(stderr, "cert_check: domain validity differs\n");
		goto out;
	}
	r = 0;
out:
	free(want);
	if (r == 0 && out)
		*out = ci;
	else
		acme_certinfo_free(&ci);
	return r;
}

const struct fakeca_req *
world_req(const struct world *w, enum fakeca_ep ep, unsigned k)
{
	size_t i = fakeca_find(w->ca, ep, k);
	return i == SIZE_MAX ? NULL : fakeca_req_at(w->ca, i);
}

/* ---- the driver ---------------------------------------------------------- */

static void
deliver(struct world *w, size_t i)
{
	struct world_ev ev = w->ev[i];
	/* remove first: the engine may start new requests from inside */
	memmove(&w->ev[i], &w->ev[i + 1], (w->nev - i - 1) * sizeof(*w->ev));
	w->nev--;
	if (ev.kind == EV_HTTP) {
		struct acme_http_resp r;
		fakeca_resp_view(&ev.resp, &r);
		acme_engine_http_done(w->e, ev.id, &r);
	} else {
		acme_engine_resolve_done(w->e, ev.id, ev.rstatus, ev.target);
	}
	ev_free(&ev);
}

void
world_dump(const struct world *w, const char *why)
{
	size_t n = fakeca_nreq(w->ca);
	fprintf(stderr, "---- world at +%.3f s: %s (steps %llu)\n",
		(double)(w->now - W_T0) / 1000.0, why,
		(unsigned long long)w->steps);
	if (w->e) {
		const char *ae = acme_engine_error(w->e);
		fprintf(
		    stderr, "engine ready=%d error=%s wakeup=%+lld ms\n",
		    acme_engine_ready(w->e), ae ? ae : "-",
		    acme_engine_next_wakeup(w->e) == UINT64_MAX
			? -1LL
			: (long long)(acme_engine_next_wakeup(w->e) - w->now));
		for (size_t i = 0; i < acme_engine_count(w->e) && i < 20; i++) {
			const struct acme_domain *d = acme_engine_at(w->e, i);
			fprintf(stderr, "  %s %s %s fails=%u err=%s\n", d->id,
				d->names[0], acme_dstatus_name(d->status),
				d->failures, d->error ? d->error : "-");
		}
	}
	fprintf(stderr, "pending completions: %zu; CA requests: %zu\n", w->nev,
		n);
	for (size_t i = n > 12 ? n - 12 : 0; i < n; i++) {
		const struct fakeca_req *r = fakeca_req_at(w->ca, i);
		fprintf(stderr, "  +%.3f %s %s -> %d %s\n",
			(double)(r->t_ms - W_T0) / 1000.0, r->method,
			fakeca_ep_name(r->ep), r->status,
			r->ptype ? r->ptype : "");
	}
}

enum world_rc
world_run(struct world *w, world_cond cond, void *arg, uint64_t limit_ms)
{
	uint64_t deadline = w->now + limit_ms, last_t = w->now, same = 0;
	w->steps = 0;
	for (;;) {
		size_t ei = SIZE_MAX;
		uint64_t evt = UINT64_MAX, wake, t;

		if (cond && cond(w, arg))
			return W_COND;
		if (++w->steps > w->max_steps || same > w->max_same_instant) {
			world_dump(w, "step limit (engine busy loop?)");
			return W_STEPS;
		}
		for (size_t i = 0; i < w->nev; i++) {
			if (w->ev[i].due < evt ||
			    (w->ev[i].due == evt && ei != SIZE_MAX &&
			     w->ev[i].seq < w->ev[ei].seq)) {
				evt = w->ev[i].due;
				ei = i;
			}
		}
		wake = w->e ? acme_engine_next_wakeup(w->e) : UINT64_MAX;
		t = evt < wake ? evt : wake;
		if (t == UINT64_MAX || t > deadline) {
			if (deadline > w->now)
				w->now = deadline;
			if (cond)
				world_dump(w, "fake-time limit");
			return W_TIME;
		}
		if (t > w->now)
			w->now = t;
		same = w->now == last_t ? same + 1 : 0;
		last_t = w->now;
		if (evt <= w->now)
			deliver(w, ei);
		else
			acme_engine_tick(w->e);
		if (w->e)
			note(&w->eng_errors, &w->neng_errors,
			     acme_engine_error(w->e));
	}
}

struct st_arg {
	const char *id;
	enum acme_dstatus st;
};

static bool
cond_status(struct world *w, void *arg)
{
	const struct st_arg *a = arg;
	const struct acme_domain *d = world_domain(w, a->id);
	return d && d->status == a->st;
}

enum world_rc
world_run_status(struct world *w, const char *id, enum acme_dstatus st,
		 uint64_t limit_ms)
{
	struct st_arg a = {id, st};
	return world_run(w, cond_status, &a, limit_ms);
}

static bool
cond_all(struct world *w, void *arg)
{
	const enum acme_dstatus *st = arg;
	size_t n = acme_engine_count(w->e);
	for (size_t i = 0; i < n; i++)
		if (acme_engine_at(w->e, i)->status != *st)
			return false;
	return n > 0;
}

enum world_rc
world_run_all(struct world *w, enum acme_dstatus st, uint64_t limit_ms)
{
	return world_run(w, cond_all, &st, limit_ms);
}
