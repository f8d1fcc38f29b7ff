/* SPDX-License-Identifier: MIT */
/*
 * The managed-domain endpoints of the REST API (contract §4.2, docs/API.md):
 * POST/GET /domains, GET/DELETE /domains/{id}, the PEM downloads, renew and
 * revoke; the CNAMEs a user must create (srv_domain_cnames); and the index
 * of which domain ids belong to which registration. api.c routes,
 * authenticates and sends; this file turns an authenticated request into
 * calls of server/acme.h and a JSON or PEM answer. It never touches the
 * zone, the store's writes or the files itself (the ACME glue owns them),
 * and it never answers for a domain of another registration: such ids are
 * "not found", exactly like ids that do not exist.
 */
#include "server/api.h"
#include "acme/engine.h"
#include "acme/pki.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "server/acme.h"
#include "server/creds.h"
#include "server/store.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every /domains answer is private to one registration (keys even):
 * no cache may keep it (RFC 9111 §5.2.2.5). */
#define NO_STORE "Cache-Control: no-store\r\n"
#define PEM_TYPE "application/x-pem-file"

/* ---- the CNAMEs to create ---------------------------------------------- */

static bool
have_name(const struct srv_domain_cname *c, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].name, name) == 0)
			return true;
	return false;
}

static size_t
push_cname(struct srv_domain_cname *out, size_t n, size_t cap,
	   const char *name, const char *target)
{
	if (n >= cap || have_name(out, n, name))
		return n;
	out[n].name = xstrdup(name);
	out[n].target = xstrdup(target);
	return n + 1;
}

size_t
srv_domain_cnames(const char *apex, const struct acme_domain *d,
		  struct srv_domain_cname *out, size_t cap)
{
	size_t n = 0;
	/* names inside our own zone are answered by us directly */
	if (!apex || !d || d->in_zone)
		return 0;
	/* 253 + "_acme-challenge." + port/proto prefixes: well within */
	char name[512], target[512];
	for (size_t i = 0; i < d->nnames; i++) {
		/* RFC 8555 §8.4: a wildcard's challenge is at its base name,
		 * so "x" and "*.x" share one CNAME */
		const char *base = d->names[i];
		if (strncmp(base, "*.", 2) == 0)
			base += 2;
		snprintf(name, sizeof(name), "_acme-challenge.%s.", base);
		snprintf(target, sizeof(target), "%s.%s.", d->subdomain, apex);
		n = push_cname(out, n, cap, name, target);
	}
	/* RFC 6698 §3: TLSA at _<port>._<proto>.<name>; a wildcard name has
	 * no single owner name to publish at, so it gets none */
	for (size_t t = 0; t < d->ntlsa && t < ACME_MAX_TLSA; t++) {
		for (size_t i = 0; i < d->nnames; i++) {
			if (strncmp(d->names[i], "*.", 2) == 0)
				continue;
			snprintf(name, sizeof(name), "_%u._%s.%s.",
				 (unsigned)d->tlsa[t].port, d->tlsa[t].proto,
				 d->names[i]);
			snprintf(target, sizeof(target), "_%u._%s.%s.%s.",
				 (unsigned)d->tlsa[t].port, d->tlsa[t].proto,
				 d->subdomain, apex);
			n = push_cname(out, n, cap, name, target);
		}
	}
	return n;
}

void
srv_domain_cnames_free(struct srv_domain_cname *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		free(c[i].name);
		free(c[i].target);
		c[i].name = c[i].target = NULL;
	}
}

/* ---- routing ------------------------------------------------------------- */

static const char *const pem_files[] = {"fullchain.pem", "cert.pem",
					"chain.pem", "key.pem"};

bool
srv_api__domains_route(const char *method, const char *path,
		       struct srv_api__droute *r)
{
	static const char prefix[] = "/domains";
	const size_t plen = sizeof(prefix) - 1;
	bool get = strcmp(method, "GET") == 0;
	bool post = strcmp(method, "POST") == 0;
	bool del = strcmp(method, "DELETE") == 0;
	bool opt = strcmp(method, "OPTIONS") == 0;

	memset(r, 0, sizeof(*r));
	if (strncmp(path, prefix, plen) != 0 ||
	    (path[plen] != '\0' && path[plen] != '/'))
		return false;
	const char *rest = path + plen;
	if (*rest == '\0') {
		r->allow = "GET, POST, OPTIONS";
		r->op = get    ? SRV_API__D_LIST
			: post ? SRV_API__D_ADD
			: opt  ? SRV_API__D_OPTIONS
			       : SRV_API__D_METHOD;
		return true;
	}
	/* "/" + a 36-character UUID, then nothing or "/" + a sub-resource */
	rest++;
	uint8_t u[16];
	if (strnlen(rest, ACME_ID_LEN + 1) < ACME_ID_LEN ||
	    !srv_uuid_parse(rest, ACME_ID_LEN, u) ||
	    (rest[ACME_ID_LEN] != '\0' && rest[ACME_ID_LEN] != '/'))
		return true; /* NOTFOUND */
	srv_uuid_format(u, r->id);
	const char *sub = rest + ACME_ID_LEN;
	if (*sub == '\0') {
		r->allow = "GET, DELETE, OPTIONS";
		r->op = get    ? SRV_API__D_GET
			: del  ? SRV_API__D_DELETE
			: opt  ? SRV_API__D_OPTIONS
			       : SRV_API__D_METHOD;
		return true;
	}
	sub++;
	if (strcmp(sub, "renew") == 0 || strcmp(sub, "revoke") == 0) {
		r->allow = "POST, OPTIONS";
		bool renew = strcmp(sub, "renew") == 0;
		r->op = post  ? (renew ? SRV_API__D_RENEW : SRV_API__D_REVOKE)
			: opt ? SRV_API__D_OPTIONS
			      : SRV_API__D_METHOD;
		return true;
	}
	for (size_t i = 0; i < AD_ARRAY_SIZE(pem_files); i++) {
		if (strcmp(sub, pem_files[i]) != 0)
			continue;
		r->file = pem_files[i];
		r->allow = "GET, OPTIONS";
		r->op = get   ? SRV_API__D_FILE
			: opt ? SRV_API__D_OPTIONS
			      : SRV_API__D_METHOD;
		return true;
	}
	r->id[0] = '\0';
	return true; /* NOTFOUND */
}

/* ---- owner index -------------------------------------------------------- */

struct owner_ids {
	char owner[ACME_ID_LEN + 1];
	char (*ids)[ACME_ID_LEN + 1];
	size_t n, cap;
	unsigned pending; /* adds in flight: they count for the limit */
};

struct srv_api__doms {
	struct owner_ids *o;
	size_t n, cap;
};

struct srv_api__doms *
srv_api__doms_new(void)
{
	return xcalloc(1, sizeof(struct srv_api__doms));
}

void
srv_api__doms_free(struct srv_api__doms *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++)
		free(x->o[i].ids);
	free(x->o);
	free(x);
}

/* Linear: registrations with managed domains are few, and a request
 * touches one owner. */
static struct owner_ids *
owner_find(struct srv_api__doms *x, const char *owner, bool create)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->o[i].owner, owner) == 0)
			return &x->o[i];
	if (!create)
		return NULL;
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 8;
		x->o = xrealloc(x->o, x->cap * sizeof(*x->o));
	}
	struct owner_ids *o = &x->o[x->n++];
	memset(o, 0, sizeof(*o));
	ad_strlcpy(o->owner, owner, sizeof(o->owner));
	return o;
}

void
srv_api__doms_note(struct srv_api__doms *x, const char *owner, const char *id)
{
	if (strlen(owner) > ACME_ID_LEN || strlen(id) > ACME_ID_LEN)
		return;
	struct owner_ids *o = owner_find(x, owner, true);
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->ids[i], id) == 0)
			return;
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 4;
		o->ids = xrealloc(o->ids, o->cap * sizeof(*o->ids));
	}
	ad_strlcpy(o->ids[o->n++], id, ACME_ID_LEN + 1);
}

static void
doms_forget(struct srv_api__doms *x, const char *owner, const char *id)
{
	struct owner_ids *o = owner_find(x, owner, false);
	for (size_t i = 0; o && i < o->n; i++) {
		if (strcmp(o->ids[i], id) != 0)
			continue;
		/* keep the order: lists come out oldest first */
		memmove(&o->ids[i], &o->ids[i + 1],
			(o->n - i - 1) * sizeof(*o->ids));
		o->n--;
		return;
	}
}

void
srv_api__doms_owner_deleted(struct srv_api__doms *x, const char *owner)
{
	struct owner_ids *o = owner_find(x, owner, false);
	if (o)
		o->n = 0; /* pending adds keep their count until done */
}

static int
load_domain(void *arg, const char *id, const char *owner, const char *json)
{
	(void)json;
	srv_api__doms_note(arg, owner, id);
	return 0;
}

int
srv_api__doms_load(struct srv_api__doms *x, struct srv_store *st)
{
	struct srv_store_acme_visitor v = {.domain = load_domain};
	return srv_store_acme_load(st, &v, x);
}

/* ---- answers ------------------------------------------------------------- */

static void
reply_json(const struct srv_api__dreq *q, int status, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		abort(); /* out of memory: xalloc's policy */
	q->reply(q->arg, status, "application/json", NO_STORE, s, strlen(s));
	free(s);
}

/* Contract §4.2: {"error": "<snake_case_code>", "detail": "<text>"}. */
static void
reply_error(const struct srv_api__dreq *q, int status, const char *code,
	    const char *detail)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", code);
	cJSON_AddStringToObject(j, "detail", detail);
	reply_json(q, status, j);
}

/* RFC 3339 UTC ("2026-01-02T03:04:05Z"), or JSON null for 0. */
static void
add_time(cJSON *j, const char *key, int64_t t)
{
	struct tm tm;
	char buf[32];
	time_t tt = (time_t)t;
	if (t <= 0 || !gmtime_r(&tt, &tm) ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		cJSON_AddNullToObject(j, key);
		return;
	}
	cJSON_AddStringToObject(j, key, buf);
}

static cJSON *
names_array(const struct acme_domain *d)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < d->nnames; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(d->names[i]));
	return a;
}

static cJSON *
cnames_array(const char *apex, const struct acme_domain *d)
{
	cJSON *a = cJSON_CreateArray();
	size_t cap = SRV_DOMAIN_CNAMES_MAX(d);
	if (cap == 0)
		return a;
	struct srv_domain_cname *c = xcalloc(cap, sizeof(*c));
	size_t n = srv_domain_cnames(apex, d, c, cap);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", c[i].name);
		cJSON_AddStringToObject(o, "target", c[i].target);
		cJSON_AddItemToArray(a, o);
	}
	srv_domain_cnames_free(c, n);
	free(c);
	return a;
}

static const char *
status_name(const struct acme_domain *d)
{
	const char *s = acme_dstatus_name(d->status);
	return s ? s : "unknown";
}

/* The domain if it exists and belongs to the caller; else NULL (and the
 * answer is the same 404 either way: existence must not leak). */
static const struct acme_domain *
own_domain(const struct srv_api__dreq *q, const char *id)
{
	const struct acme_domain *d = srv_acme_domain_find(q->acme, id);
	if (!d || strcmp(d->owner, q->owner) != 0)
		return NULL;
	/* a domain added through the CLI while we run is learnt here */
	srv_api__doms_note(q->doms, q->owner, d->id);
	return d;
}

static void
not_found(const struct srv_api__dreq *q)
{
	reply_error(q, 404, "not_found", "no such domain");
}

/* ---- GET /domains -------------------------------------------------------- */

/*
 * The ACME side has no listing by owner, and the API's own index misses
 * domains the CLI adds while we run; the store has them all. The owner's
 * ids are read on the store's writer thread (srv_store_submit: the loop
 * never waits for SQLite) and each is then looked up in the engine, which
 * also drops rows the engine does not manage (yet).
 */
struct list_req {
	srv_api__reply reply;
	void *arg;
	struct srv_acme *acme;
	struct srv_api__doms *doms;
	char owner[ACME_ID_LEN + 1];
	char (*ids)[ACME_ID_LEN + 1]; /* filled on the writer thread */
	size_t n;
};

/* Writer thread: only list_req's own fields are touched. */
static int
list_read(struct sqlite3 *db, void *arg)
{
	struct list_req *lr = arg;
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT id FROM acme_domains WHERE owner = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return AD_EIO;
	sqlite3_bind_text(st, 1, lr->owner, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (!id || strlen(id) != ACME_ID_LEN)
			continue;
		if (lr->n == cap) {
			cap = cap ? cap * 2 : 16;
			lr->ids = xrealloc(lr->ids, cap * sizeof(*lr->ids));
		}
		memcpy(lr->ids[lr->n++], id, ACME_ID_LEN + 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : AD_EIO;
}

/* Oldest first; the id breaks ties so that the order is stable. */
static int
by_created(const void *a, const void *b)
{
	const struct acme_domain *x = *(const struct acme_domain *const *)a;
	const struct acme_domain *y = *(const struct acme_domain *const *)b;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void
list_done(void *arg, int status)
{
	struct list_req *lr = arg;
	struct srv_api__dreq q = {.reply = lr->reply, .arg = lr->arg};

	if (status != 0) {
		ad_err("api", "user %s: domain list not read: %s", lr->owner,
		       ad_strerror(status));
		reply_error(&q, 500, "db_error", "the store failed");
		goto out;
	}
	const struct acme_domain **v = xcalloc(lr->n + 1, sizeof(*v));
	size_t n = 0;
	/* the store and the engine agree on these: the index follows */
	srv_api__doms_owner_deleted(lr->doms, lr->owner);
	for (size_t i = 0; i < lr->n; i++) {
		const struct acme_domain *d =
			srv_acme_domain_find(lr->acme, lr->ids[i]);
		if (!d || strcmp(d->owner, lr->owner) != 0)
			continue;
		srv_api__doms_note(lr->doms, lr->owner, d->id);
		v[n++] = d;
	}
	qsort(v, n, sizeof(*v), by_created);
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		const struct acme_domain *d = v[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", d->id);
		cJSON_AddItemToObject(e, "names", names_array(d));
		cJSON_AddStringToObject(e, "status", status_name(d));
		add_time(e, "not_after", d->not_after);
		cJSON_AddItemToArray(a, e);
	}
	free(v);
	reply_json(&q, 200, a);
out:
	free(lr->ids);
	free(lr);
}

static void
do_list(const struct srv_api__dreq *q)
{
	struct list_req *lr = xcalloc(1, sizeof(*lr));
	lr->reply = q->reply;
	lr->arg = q->arg;
	lr->acme = q->acme;
	lr->doms = q->doms;
	ad_strlcpy(lr->owner, q->owner, sizeof(lr->owner));
	int rc = srv_store_submit(q->store, list_read, lr, list_done, lr);
	if (rc != 0) {
		/* not queued (shutting down): list_done was not called */
		free(lr);
		reply_error(q, 503, "unavailable", "shutting down");
	}
}

/* ---- GET /domains/{id} ------------------------------------------------- */

cJSON *
srv_domain_json(const char *apex, const struct acme_domain *d)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", d->id);
	cJSON_AddItemToObject(j, "names", names_array(d));
	cJSON_AddStringToObject(j, "status", status_name(d));
	add_time(j, "not_before", d->not_before);
	add_time(j, "not_after", d->not_after);
	add_time(j, "renew_at", d->renew_at);
	if (d->error)
		cJSON_AddStringToObject(j, "error", d->error);
	else
		cJSON_AddNullToObject(j, "error");
	cJSON_AddItemToObject(j, "cnames", cnames_array(apex, d));
	const char *kt = acme_keytype_name(d->key_type);
	if (kt)
		cJSON_AddStringToObject(j, "key_type", kt);
	else
		cJSON_AddNullToObject(j, "key_type");
	cJSON *t = cJSON_AddArrayToObject(j, "tlsa");
	for (size_t i = 0; i < d->ntlsa && i < ACME_MAX_TLSA; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "port", d->tlsa[i].port);
		cJSON_AddStringToObject(e, "proto", d->tlsa[i].proto);
		cJSON_AddItemToArray(t, e);
	}
	cJSON_AddBoolToObject(j, "csr", d->csr_pem != NULL);
	add_time(j, "created", d->created);
	return j;
}

void
srv_domain_json_account(cJSON *j, const struct acme_domain *d,
			const char *account_error)
{
	char *text = NULL;

	if (!j || !d || !account_error || !*account_error ||
	    d->status == ACME_DS_VALID)
		return;
	if (asprintf(&text, "account: %s%s%s", account_error,
		     d->error ? "; " : "", d->error ? d->error : "") < 0)
		abort(); /* out of memory: xalloc's policy */
	cJSON_DeleteItemFromObjectCaseSensitive(j, "error");
	cJSON_AddStringToObject(j, "error", text);
	free(text);
}

static void
do_get(const struct srv_api__dreq *q, const char *id)
{
	const struct acme_domain *d = own_domain(q, id);
	if (!d) {
		not_found(q);
		return;
	}
	cJSON *j = srv_domain_json(q->apex, d);
	srv_domain_json_account(j, d, q->account_error);
	reply_json(q, 200, j);
}

/* ---- GET /domains/{id}/<file>.pem -------------------------------------- */

static void
do_file(const struct srv_api__dreq *q, const char *id, const char *file)
{
	const struct acme_domain *d = own_domain(q, id);
	if (!d) {
		not_found(q);
		return;
	}
	if (strcmp(file, "key.pem") == 0) {
		if (d->csr_pem) {
			reply_error(q, 404, "no_key",
				    "the domain was created from a CSR: its "
				    "private key never reached acmedns");
			return;
		}
		if (!d->cert_pem || !d->key_pem) {
			reply_error(q, 404, "no_certificate",
				    "no certificate issued yet");
			return;
		}
		q->reply(q->arg, 200, PEM_TYPE, NO_STORE, d->key_pem,
			 strlen(d->key_pem));
		return;
	}
	if (!d->cert_pem) {
		reply_error(q, 404, "no_certificate",
			    "no certificate issued yet");
		return;
	}
	char *leaf = NULL, *rest = NULL;
	int rc = acme_chain_split(d->cert_pem, strlen(d->cert_pem), &leaf,
				  &rest);
	if (rc != 0) {
		ad_err("api", "domain %s: stored chain does not split: %s",
		       d->id, ad_strerror(rc));
		reply_error(q, 500, "internal_error",
			    "the stored certificate chain is unreadable");
		return;
	}
	if (strcmp(file, "cert.pem") == 0) {
		q->reply(q->arg, 200, PEM_TYPE, NO_STORE, leaf, strlen(leaf));
	} else if (strcmp(file, "chain.pem") == 0) {
		q->reply(q->arg, 200, PEM_TYPE, NO_STORE, rest, strlen(rest));
	} else {
		/* fullchain = cert.pem + chain.pem, byte for byte */
		size_t l1 = strlen(leaf), l2 = strlen(rest);
		char *full = xmalloc(l1 + l2 + 1);
		memcpy(full, leaf, l1);
		memcpy(full + l1, rest, l2 + 1);
		q->reply(q->arg, 200, PEM_TYPE, NO_STORE, full, l1 + l2);
		free(full);
	}
	free(leaf);
	free(rest);
}

/* ---- POST /domains ------------------------------------------------------- */

/*
 * An add or delete waiting for its commit. done may run inside the
 * srv_acme_* call (validation errors, synchronous stores) or later from
 * the loop; in_call tells which, so that the answer is sent exactly once
 * and ctx freed exactly once.
 */
struct pend {
	srv_api__reply reply;
	void *arg;
	struct srv_api__doms *doms;
	char owner[ACME_ID_LEN + 1];
	char id[ACME_ID_LEN + 1];
	char *apex;
	bool has_csr;
	bool in_call, called;
	/* the answer, built when done runs */
	int status;
	char *body;
};

static void
pend_send(struct pend *p)
{
	struct srv_api__dreq q = {.reply = p->reply, .arg = p->arg};
	q.reply(q.arg, p->status, "application/json", NO_STORE, p->body,
		strlen(p->body));
	free(p->body);
	free(p->apex);
	free(p);
}

/* The answer: status and j (consumed) as its body. */
static void
pend_json(struct pend *p, int status, cJSON *j)
{
	p->status = status;
	p->body = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!p->body)
		abort();
}

/* done has run: answer now, or when the srv_acme_* call returns. */
static void
pend_done(struct pend *p)
{
	p->called = true;
	if (!p->in_call)
		pend_send(p);
}

static void
pend_error(struct pend *p, int status, const char *code, const char *detail)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", code);
	cJSON_AddStringToObject(j, "detail", detail);
	pend_json(p, status, j);
}

/* An AD_E* code of the ACME side as an HTTP answer. */
static void
pend_fail(struct pend *p, int rc, const char *detail)
{
	switch (rc) {
	case AD_EINVAL:
	case AD_EMALF:
		pend_error(p, 400, p->has_csr ? "bad_csr" : "bad_names",
			   detail ? detail : "the domain was refused");
		break;
	case AD_ELIMIT:
		pend_error(p, 429, "too_many_domains",
			   detail ? detail : "too many managed domains");
		break;
	case AD_EEXIST:
		pend_error(p, 409, "conflict",
			   detail ? detail : "the domain exists already");
		break;
	case AD_ENOENT:
		pend_error(p, 404, "not_found", "no such domain");
		break;
	case AD_EAUTH:
		pend_error(p, 409, "account_deactivated",
			   detail ? detail : "the ACME account is deactivated");
		break;
	case AD_EIO:
		pend_error(p, 500, "db_error", "the store failed");
		break;
	default:
		pend_error(p, 500, "internal_error", ad_strerror(rc));
		break;
	}
}

static void
on_added(void *arg, int status, const char *detail,
	 const struct acme_domain *d)
{
	struct pend *p = arg;
	struct owner_ids *o = owner_find(p->doms, p->owner, false);
	if (o && o->pending)
		o->pending--;
	if (status != 0 || !d) {
		pend_fail(p, status ? status : AD_EIO, detail);
	} else {
		srv_api__doms_note(p->doms, p->owner, d->id);
		ad_info("api", "user %s: domain %s added (%zu names, %s)",
			p->owner, d->id, d->nnames, status_name(d));
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", d->id);
		cJSON_AddStringToObject(j, "status", status_name(d));
		cJSON_AddItemToObject(j, "cnames", cnames_array(p->apex, d));
		pend_json(p, 202, j);
	}
	pend_done(p);
}

/* Domains of owner for the limit: the ids the engine still manages (a
 * CLI delete happens behind our back) plus the adds in flight. */
static unsigned
owner_count(struct srv_acme *acme, struct srv_api__doms *x,
	    const char *owner)
{
	struct owner_ids *o = owner_find(x, owner, false);
	if (!o)
		return 0;
	for (size_t i = 0; i < o->n;) {
		const struct acme_domain *d =
			srv_acme_domain_find(acme, o->ids[i]);
		if (d && strcmp(d->owner, owner) == 0)
			i++;
		else
			doms_forget(x, owner, o->ids[i]);
	}
	return (unsigned)o->n + o->pending;
}

static void
do_add(const struct srv_api__dreq *q)
{
	struct srv_api_domain_body b;
	char detail[256];

	enum srv_api_derr e = srv_api_parse_domain(q->body, q->body_len, &b,
						   detail, sizeof(detail));
	if (e != SRV_API_D_OK) {
		reply_error(q, 400, srv_api_derr_code(e), detail);
		return;
	}
	if (owner_count(q->acme, q->doms, q->owner) >= SRV_API_MAX_DOMAINS) {
		srv_api_domain_body_free(&b);
		snprintf(detail, sizeof(detail),
			 "a registration manages at most %d domains; delete "
			 "one first",
			 SRV_API_MAX_DOMAINS);
		reply_error(q, 429, "too_many_domains", detail);
		return;
	}
	struct pend *p = xcalloc(1, sizeof(*p));
	p->reply = q->reply;
	p->arg = q->arg;
	p->doms = q->doms;
	p->apex = xstrdup(q->apex);
	p->has_csr = b.csr_pem != NULL;
	ad_strlcpy(p->owner, q->owner, sizeof(p->owner));
	owner_find(q->doms, q->owner, true)->pending++;

	struct srv_acme_add req = {
		.owner = q->owner,
		.subdomain = q->subdomain,
		.names = (const char *const *)b.names,
		.nnames = b.nnames,
		.key_type = b.key_type,
		.csr_pem = b.csr_pem,
		.tlsa = b.tlsa,
		.ntlsa = b.ntlsa,
	};
	p->in_call = true;
	int rc = srv_acme_domain_add(q->acme, &req, on_added, p);
	p->in_call = false;
	srv_api_domain_body_free(&b);
	if (p->called) {
		pend_send(p);
	} else if (rc != 0) {
		struct owner_ids *o = owner_find(q->doms, q->owner, false);
		if (o && o->pending)
			o->pending--;
		pend_fail(p, rc, NULL);
		pend_send(p);
	}
	/* else: on_added answers after the commit */
}

/* ---- DELETE /domains/{id} --------------------------------------------- */

static void
on_deleted(void *arg, int status, const char *detail,
	   const struct acme_domain *d)
{
	struct pend *p = arg;
	(void)d;
	if (status != 0) {
		ad_err("api", "user %s: delete of domain %s failed: %s",
		       p->owner, p->id, ad_strerror(status));
		pend_fail(p, status, detail);
	} else {
		doms_forget(p->doms, p->owner, p->id);
		ad_info("api", "user %s: domain %s deleted", p->owner, p->id);
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", p->id);
		cJSON_AddBoolToObject(j, "deleted", true);
		pend_json(p, 200, j);
	}
	pend_done(p);
}

static void
do_delete(const struct srv_api__dreq *q, const char *id)
{
	if (!own_domain(q, id)) {
		not_found(q);
		return;
	}
	struct pend *p = xcalloc(1, sizeof(*p));
	p->reply = q->reply;
	p->arg = q->arg;
	p->doms = q->doms;
	ad_strlcpy(p->owner, q->owner, sizeof(p->owner));
	ad_strlcpy(p->id, id, sizeof(p->id));
	p->in_call = true;
	int rc = srv_acme_domain_delete(q->acme, id, on_deleted, p);
	p->in_call = false;
	if (p->called) {
		pend_send(p);
	} else if (rc != 0) {
		pend_fail(p, rc, NULL);
		pend_send(p);
	}
}

/* ---- renew, revoke ------------------------------------------------------ */

static void
reply_accepted(const struct srv_api__dreq *q, const char *id)
{
	const struct acme_domain *d = own_domain(q, id);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", id);
	if (d)
		cJSON_AddStringToObject(j, "status", status_name(d));
	else
		cJSON_AddNullToObject(j, "status");
	reply_json(q, 202, j);
}

static void
do_renew(const struct srv_api__dreq *q, const char *id)
{
	if (!own_domain(q, id)) {
		not_found(q);
		return;
	}
	int rc = srv_acme_domain_renew(q->acme, id);
	if (rc == AD_ENOENT) {
		not_found(q);
	} else if (rc == AD_EAUTH) {
		reply_error(q, 409, "account_deactivated",
			    "the ACME account is deactivated: nothing can be "
			    "ordered or renewed with it");
	} else if (rc == AD_EINVAL) {
		reply_error(q, 409, "cannot_renew",
			    "the domain cannot be renewed in its current "
			    "state");
	} else if (rc != 0) {
		reply_error(q, 500, "internal_error", ad_strerror(rc));
	} else {
		ad_info("api", "user %s: renewal of domain %s requested",
			q->owner, id);
		reply_accepted(q, id);
	}
}

static void
do_revoke(const struct srv_api__dreq *q, const char *id)
{
	char detail[256];
	int reason;
	enum srv_api_derr e = srv_api_parse_revoke(q->body, q->body_len,
						   &reason, detail,
						   sizeof(detail));
	if (e != SRV_API_D_OK) {
		reply_error(q, 400, srv_api_derr_code(e), detail);
		return;
	}
	const struct acme_domain *d = own_domain(q, id);
	if (!d) {
		not_found(q);
		return;
	}
	if (d->status == ACME_DS_REVOKED) {
		reply_error(q, 409, "already_revoked",
			    "the certificate is revoked already");
		return;
	}
	if (!d->cert_pem) {
		reply_error(q, 409, "no_certificate",
			    "no certificate issued yet");
		return;
	}
	/* RFC 8555 §7.6: without a reason the CA assumes unspecified (0) */
	int rc = srv_acme_domain_revoke(q->acme, id, reason < 0 ? 0 : reason);
	if (rc == AD_ENOENT) {
		not_found(q);
	} else if (rc == AD_EINVAL) {
		reply_error(q, 409, "cannot_revoke",
			    "the certificate cannot be revoked now");
	} else if (rc != 0) {
		reply_error(q, 500, "internal_error", ad_strerror(rc));
	} else {
		ad_info("api", "user %s: revocation of domain %s requested "
			       "(reason %d)",
			q->owner, id, reason < 0 ? 0 : reason);
		reply_accepted(q, id);
	}
}

void
srv_api__domains_exec(const struct srv_api__droute *r,
		      const struct srv_api__dreq *q)
{
	switch (r->op) {
	case SRV_API__D_LIST:
		do_list(q);
		break;
	case SRV_API__D_ADD:
		do_add(q);
		break;
	case SRV_API__D_GET:
		do_get(q, r->id);
		break;
	case SRV_API__D_FILE:
		do_file(q, r->id, r->file);
		break;
	case SRV_API__D_RENEW:
		do_renew(q, r->id);
		break;
	case SRV_API__D_REVOKE:
		do_revoke(q, r->id);
		break;
	case SRV_API__D_DELETE:
		do_delete(q, r->id);
		break;
	default:
		/* api.c answers NOTFOUND/METHOD/OPTIONS before auth */
		not_found(q);
		break;
	}
}
