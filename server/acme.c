/* SPDX-License-Identifier: MIT */
/*
 * The daemon's ACME glue (server/acme.h): owns the engine and plugs its
 * host interface (struct acme_ops) into the loop (a timer re-armed to
 * acme_engine_next_wakeup() after every call into the engine), HTTPS and
 * CNAME lookups (server/acme_http.h), the zone (pinned challenge TXT
 * values, TLSA 3 1 1 sets), the store (account and domain rows, the CLI's
 * request queue polled every 2 s), certificate files and deploy hooks
 * (server/certfiles.h), and the API's own certificate for [api] tls =
 * acme. It holds no protocol logic (that is acme/engine.c) and no HTTP
 * parsing (server/api_domains.c). Private keys pass through here only as
 * PEM texts on their way to the store and the files: every copy made
 * here is cleansed before it is freed, and none is ever logged.
 *
 * Lifetime: callbacks that cannot be cancelled (CNAME lookups on the
 * thread pool, store commits drained while the store closes after us)
 * reach us through a reference-counted guard whose pointer is cleared by
 * srv_acme_free, so they never touch a freed struct.
 */
#include "server/acme.h"

#include "acme/pki.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "server/acme_http.h"
#include "server/certfiles.h"
#include "server/store.h"
#include "zones/zone.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define POLL_REQUESTS_MS 2000 /* CLI requests for a running daemon */
#define TLSA_TTL 300
#define NAME_MAX_LEN 253 /* RFC 1035 §2.3.4, presentation, no final dot */

/* Shared with callbacks that may outlive the srv_acme (see the header). */
struct guard {
	struct srv_acme *a; /* NULL once srv_acme_free ran */
	unsigned refs;
};

/* An account operation the CLI queued (acme_requests): applied one at a
 * time, since the engine runs one account request at a time. */
enum acct_kind { AOP_NONE = 0, AOP_KEY_CHANGE, AOP_DEACTIVATE, AOP_CONTACT };
#define ACCT_ARG_MAX 255 /* a key type, or an email (engine: 254) */
#define ACCT_OPS_MAX 16	 /* waiting; more are refused (logged) */
#define ACCT_OP_TIMEOUT_MS (10 * 60 * 1000) /* no outcome: give up */

struct acct_op {
	enum acct_kind kind;
	int64_t seq; /* the CLI request, for the log */
	char arg[ACCT_ARG_MAX + 1];
};

/* What we remember of each domain beside the engine's copy: the last
 * status seen (for the counters and the issued/renewed distinction). */
struct known {
	char id[ACME_ID_LEN + 1];
	enum acme_dstatus status;
	bool had_cert;
};

struct srv_acme {
	uv_loop_t *loop;
	const struct srv_config *cfg;
	struct zone *zone;
	struct srv_store *store;
	void (*api_cert)(void *arg, const char *cert_path,
			 const char *key_path);
	void *api_cert_arg;

	struct acme_engine *engine;
	struct srv_acme_http *http;
	struct guard *guard;
	uv_timer_t tick; /* engine wake-up */
	uv_timer_t poll; /* acme_requests */
	unsigned open_handles;
	bool taking; /* a srv_store_requests_take in flight */

	char apex[NAME_MAX_LEN + 1];  /* zone apex, no trailing dot */
	char api_id[ACME_ID_LEN + 1]; /* [api] tls = acme domain, or "" */

	struct known *known;
	size_t nknown, capknown;
	uint64_t issued, failed;

	/* registrations the CLI created ("register" requests) */
	srv_acme_reg_loader reg_load;
	void *reg_load_arg;

	/* account operations: waiting, and the one in flight (kind NONE if
	 * none) with what is needed to see its outcome */
	struct acct_op ops[ACCT_OPS_MAX];
	size_t nops;
	struct acct_op cur;
	uint64_t cur_started_ms;
	char cur_thumb[ACME_THUMB_LEN + 1]; /* account key at its start */
	char *cur_err;			    /* engine error at its start */
	const char *cur_err_ptr;
	uint64_t cur_http; /* contact: id of its POST to the account URL */

	char *contact;	/* set through the CLI ("" = none); NULL: the
			   configured [acme] email */

	/* output files: written on the thread pool, one job at a time, in
	 * order (a renewal's files never overtake the revocation hook) */
	struct filejob *fj_head, *fj_tail;
	bool fj_running;
	char *last_err; /* account error last seen (stored in the row) */
};

/* ---- small helpers ------------------------------------------------------- */

static struct guard *
guard_ref(struct guard *g)
{
	g->refs++;
	return g;
}

static void
guard_unref(struct guard *g)
{
	if (--g->refs == 0)
		free(g);
}

/* Wipe every string of a cJSON tree (it may hold private keys). Our
 * trees are a few levels deep, so the recursion is bounded. */
static void
json_cleanse(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			OPENSSL_cleanse(j->valuestring, strlen(j->valuestring));
		if (j->child)
			json_cleanse(j->child);
	}
}

static void
json_cleanse_delete(cJSON *j)
{
	if (!j)
		return;
	json_cleanse(j);
	cJSON_Delete(j);
}

static void
secret_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static struct known *
known_find(struct srv_acme *a, const char *id)
{
	for (size_t i = 0; i < a->nknown; i++)
		if (strcmp(a->known[i].id, id) == 0)
			return &a->known[i];
	return NULL;
}

static struct known *
known_get(struct srv_acme *a, const struct acme_domain *d)
{
	struct known *k = known_find(a, d->id);

	if (k)
		return k;
	if (a->nknown == a->capknown) {
		a->capknown = a->capknown ? 2 * a->capknown : 16;
		a->known = xrealloc(a->known, a->capknown * sizeof(*a->known));
	}
	k = &a->known[a->nknown++];
	memset(k, 0, sizeof(*k));
	ad_strlcpy(k->id, d->id, sizeof(k->id));
	k->status = d->status;
	k->had_cert = d->cert_pem != NULL;
	return k;
}

static void
known_remove(struct srv_acme *a, const char *id)
{
	struct known *k = known_find(a, id);

	if (k)
		*k = a->known[--a->nknown];
}

/* A random RFC 4122 version 4 UUID, lower case (the ids of domains). */
static int
uuid4(char out[ACME_ID_LEN + 1])
{
	uint8_t b[16];
	int r;

	if ((r = ad_random(b, sizeof(b))))
		return r;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, ACME_ID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* The id of the API's own domain: a name-based UUID (RFC 4122 §4.3 shape,
 * SHA-256 instead of SHA-1) of the name, so it is the same at every start
 * and a different [api] tls_domain gets a different domain. */
static void
api_domain_id(const char *name, char out[ACME_ID_LEN + 1])
{
	uint8_t h[32];
	unsigned int hl = 0;

	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, "acmedns-api:", 12) ||
	    !EVP_DigestUpdate(c, name, strlen(name)) ||
	    !EVP_DigestFinal_ex(c, h, &hl))
		memset(h, 0, sizeof(h)); /* cannot happen with SHA-256 */
	EVP_MD_CTX_free(c);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x50);
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
	snprintf(out, ACME_ID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9],
		 h[10], h[11], h[12], h[13], h[14], h[15]);
}

/*
 * Normalise a requested name in place (lower case, final dot dropped) and
 * check it: LDH labels of 1..63 octets not starting or ending in '-'
 * (RFC 1123 §2.1), at least two labels, at most 253 octets, "*." allowed
 * only as the whole first label (RFC 8555 §7.1.3 wildcards).
 */
static const char *
name_check(char *s)
{
	size_t n = strlen(s);
	const char *p;

	if (n > 0 && s[n - 1] == '.')
		s[--n] = '\0';
	if (n == 0 || n > NAME_MAX_LEN)
		return "a name is empty or longer than 253 characters";
	for (size_t i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	p = s;
	if (p[0] == '*') {
		if (p[1] != '.')
			return "a wildcard must be \"*.\" + a name";
		p += 2;
	}
	if (!strchr(p, '.'))
		return "a name needs at least two labels";
	for (;;) {
		const char *e = strchr(p, '.');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 0 || l > 63)
			return "a label is empty or longer than 63 characters";
		if (p[0] == '-' || p[l - 1] == '-')
			return "a label starts or ends with '-'";
		for (size_t i = 0; i < l; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-')
				return "a name has a character outside "
				       "[a-z0-9-.] (or '*' not as the first "
				       "label)";
		if (!e)
			break;
		p = e + 1;
	}
	return NULL;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* "YYYY-mm-ddTHH:MM:SSZ" */
static void
rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		ad_strlcpy(out, "", 32);
}

/* ---- the engine's timer -------------------------------------------------- */

static void on_tick(uv_timer_t *t);
static void account_watch(struct srv_acme *a);
static int account_store(struct srv_acme *a,
			 const struct acme_account_state *acct);
static void acct_op_finish(struct srv_acme *a);

/* After EVERY call into the engine: look at what it did to the account,
 * then sleep until it wants to run again. */
static void
rearm(struct srv_acme *a)
{
	if (!a->engine)
		return;
	account_watch(a);
	uint64_t w = acme_engine_next_wakeup(a->engine);
	if (w == UINT64_MAX) {
		uv_timer_stop(&a->tick);
		return;
	}
	uint64_t now = ad_now_ms();
	uv_timer_start(&a->tick, on_tick, w > now ? w - now : 0, 0);
}

static void
on_tick(uv_timer_t *t)
{
	struct srv_acme *a = t->data;

	acme_engine_tick(a->engine);
	rearm(a);
}

/* ---- TLSA ---------------------------------------------------------------- */

/* Owner of the TLSA set of port p: "_<port>._<proto>.<subdomain>" for a
 * delegated domain (the user's "_443._tcp.<name>" CNAMEs to it); for a
 * name inside our zone, the name itself. Relative to the apex. */
static int
tlsa_owner(const struct srv_acme *a, const struct acme_domain *d,
	   const struct acme_tlsa_port *p, char *out, size_t cap)
{
	int n;

	if (d->in_zone) {
		const char *name = d->nnames ? d->names[0] : "";
		size_t nl = strlen(name), al = strlen(a->apex);
		if (nl < al || strcmp(name + nl - al, a->apex) != 0)
			return AD_ENOTZONE;
		if (nl == al)
			n = snprintf(out, cap, "_%u._%s", p->port, p->proto);
		else
			n = snprintf(out, cap, "_%u._%s.%.*s", p->port,
				     p->proto, (int)(nl - al - 1), name);
	} else {
		n = snprintf(out, cap, "_%u._%s.%s", p->port, p->proto,
			     d->subdomain);
	}
	return n > 0 && (size_t)n < cap ? 0 : AD_ESPACE;
}

/*
 * Keep the zone's TLSA sets of d in step (RFC 6698 §2, usage 3 DANE-EE,
 * selector 1 SPKI, matching type 1 SHA-256): the current certificate's
 * key, plus the key of the order in flight so that it is published before
 * it goes live (RFC 7671 §8.1 key rollover). A revoked certificate is not
 * published; remove = true (deleted domain) clears every set.
 */
static void
tlsa_sync(struct srv_acme *a, const struct acme_domain *d, bool remove)
{
	uint8_t digest[2][32];
	struct zone_tlsa t[2];
	size_t n = 0;

	if (d->ntlsa == 0)
		return;
	if (!remove && d->status != ACME_DS_REVOKED && d->cert_pem) {
		struct acme_certinfo ci;
		memset(&ci, 0, sizeof(ci));
		if (acme_chain_parse(d->cert_pem, strlen(d->cert_pem), NULL,
				     &ci) == 0) {
			memcpy(digest[n++], ci.spki_sha256, 32);
			acme_certinfo_free(&ci);
		} else {
			ad_warn("acme",
				"%s: stored certificate does not "
				"parse, no TLSA for it",
				d->id);
		}
	}
	if (!remove && d->status != ACME_DS_REVOKED && d->next_key_pem) {
		EVP_PKEY *k = NULL;
		if (acme_key_from_pem(d->next_key_pem, strlen(d->next_key_pem),
				      &k) == 0 &&
		    acme_spki_sha256(k, digest[n]) == 0) {
			/* a reused key is published once */
			if (n == 0 || memcmp(digest[0], digest[n], 32) != 0)
				n++;
		}
		EVP_PKEY_free(k);
	}
	for (size_t i = 0; i < n; i++)
		t[i] = (struct zone_tlsa){.usage = 3,
					  .selector = 1,
					  .mtype = 1,
					  .data = digest[i],
					  .len = 32};
	for (size_t i = 0; i < d->ntlsa; i++) {
		char owner[320];
		int r = tlsa_owner(a, d, &d->tlsa[i], owner, sizeof(owner));
		if (r == 0)
			r = zone_tlsa_set(a->zone, owner, t, n, TLSA_TTL);
		if (r)
			ad_warn("acme", "%s: TLSA %s: %s", d->id,
				r == AD_ESPACE ? "(name too long)" : owner,
				ad_strerror(r));
	}
}

/* ---- persistence --------------------------------------------------------- */

/* A store callback that only logs; owns a copy of what it names. */
struct logctx {
	char what[16];
	char id[ACME_ID_LEN + 1];
};

static void
on_logged_commit(void *arg, int status)
{
	struct logctx *l = arg;

	if (status)
		ad_err("acme", "store: %s %s failed: %s", l->what, l->id,
		       ad_strerror(status));
	free(l);
}

static struct logctx *
logctx_new(const char *what, const char *id)
{
	struct logctx *l = xcalloc(1, sizeof(*l));

	ad_strlcpy(l->what, what, sizeof(l->what));
	ad_strlcpy(l->id, id ? id : "", sizeof(l->id));
	return l;
}

/* JSON text of d (it holds private keys: the caller uses secret_free). */
static char *
domain_json(const struct acme_domain *d)
{
	cJSON *j = acme_domain_to_json(d);
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	json_cleanse_delete(j);
	return s;
}

static int
store_domain(struct srv_acme *a, const struct acme_domain *d, srv_store_cb cb,
	     void *arg)
{
	char *s = domain_json(d);
	int r;

	if (!s)
		return AD_ENOMEM;
	r = srv_store_domain_put(a->store, d->id, d->owner, s, cb, arg);
	secret_free(s);
	return r;
}

/* Save d, failures only logged (the engine's state stays the truth in
 * memory; the next change writes the row again). */
static void
save_domain(struct srv_acme *a, const struct acme_domain *d, const char *what)
{
	struct logctx *l = logctx_new(what, d->id);
	int r = store_domain(a, d, on_logged_commit, l);

	if (r) {
		/* refused (e.g. closing): no callback will free l */
		ad_err("acme", "store: %s %s failed: %s", what, d->id,
		       ad_strerror(r));
		free(l);
	}
}

/* The account row: the engine's state, plus what only the glue knows -
 * the contact set through the CLI (the engine keeps none) and the last
 * account error, for `acmedns account show` / `domains show`. */
static char *
account_json(const struct acme_account_state *acct, const char *contact,
	     const char *error)
{
	cJSON *j = cJSON_CreateObject();
	char *s;

	if (!j)
		return NULL;
	if (contact)
		cJSON_AddStringToObject(j, "contact", contact);
	if (error)
		cJSON_AddStringToObject(j, "error", error);
	if (acct->key_pem)
		cJSON_AddStringToObject(j, "key_pem", acct->key_pem);
	if (acct->url)
		cJSON_AddStringToObject(j, "url", acct->url);
	if (acct->directory)
		cJSON_AddStringToObject(j, "directory", acct->directory);
	if (acct->status)
		cJSON_AddStringToObject(j, "status", acct->status);
	s = cJSON_PrintUnformatted(j);
	json_cleanse_delete(j);
	return s;
}

static char *
json_str_dup(const cJSON *j, const char *key, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	if (!cJSON_IsString(v) || !v->valuestring ||
	    strlen(v->valuestring) > max)
		return NULL;
	return xstrdup(v->valuestring);
}

/* The stored account JSON -> state (and the stored contact, malloc'd or
 * NULL, when contact is not NULL). AD_EMALF without a key. */
static int
account_parse(const char *text, struct acme_account_state *out,
	      char **contact)
{
	cJSON *j = cJSON_Parse(text);

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return AD_EMALF;
	}
	out->key_pem = json_str_dup(j, "key_pem", 65536);
	out->url = json_str_dup(j, "url", 4096);
	out->directory = json_str_dup(j, "directory", 4096);
	out->status = json_str_dup(j, "status", 64);
	if (contact)
		*contact = json_str_dup(j, "contact", ACCT_ARG_MAX);
	json_cleanse_delete(j);
	if (!out->key_pem) {
		acme_account_state_clear(out);
		if (contact) {
			free(*contact);
			*contact = NULL;
		}
		return AD_EMALF;
	}
	return 0;
}

/* ---- hooks --------------------------------------------------------------- */

struct hookctx {
	char which[8]; /* "global" or "domain" */
	char id[ACME_ID_LEN + 1];
};

static void
on_hook_done(void *arg, int status)
{
	struct hookctx *h = arg;

	if (status == 0)
		ad_info("acme", "%s: %s deploy hook succeeded", h->id,
			h->which);
	else if (status > 0)
		ad_warn("acme", "%s: %s deploy hook exited with status %d",
			h->id, h->which, status);
	else if (status == -1)
		ad_warn("acme",
			"%s: %s deploy hook killed (signal or "
			"timeout)",
			h->id, h->which);
	else
		ad_warn("acme", "%s: %s deploy hook could not run: %s", h->id,
			h->which, ad_strerror(status));
	free(h);
}

static void
run_hooks(struct srv_acme *a, const struct acme_domain *d, const char *event,
	  const char *dir)
{
	const char *cmds[2] = {a->cfg->deploy_hook, d->deploy_hook};
	static const char *const which[2] = {"global", "domain"};
	char *env[10];
	size_t ne = 0, nl = 0;
	char na[32];

	if ((!cmds[0] || !*cmds[0]) && (!cmds[1] || !*cmds[1]))
		return;
	for (size_t i = 0; i < d->nnames; i++)
		nl += strlen(d->names[i]) + 1;
	char *names = xcalloc(1, nl + 1);
	for (size_t i = 0; i < d->nnames; i++) {
		if (i)
			strcat(names, " ");
		strcat(names, d->names[i]);
	}
	rfc3339(d->not_after, na);
	const char *base = dir ? dir : "";
	if (asprintf(&env[ne++], "ACMEDNS_EVENT=%s", event) < 0 ||
	    asprintf(&env[ne++], "ACMEDNS_DOMAIN_ID=%s", d->id) < 0 ||
	    asprintf(&env[ne++], "ACMEDNS_NAMES=%s", names) < 0 ||
	    asprintf(&env[ne++], "ACMEDNS_CERT_DIR=%s", base) < 0 ||
	    asprintf(&env[ne++], "ACMEDNS_CERT=%s/cert.pem", base) < 0 ||
	    asprintf(&env[ne++], "ACMEDNS_CHAIN=%s/chain.pem", base) < 0 ||
	    asprintf(&env[ne++], "ACMEDNS_FULLCHAIN=%s/fullchain.pem", base) <
		0 ||
	    asprintf(&env[ne++], "ACMEDNS_NOT_AFTER=%s", na) < 0 ||
	    (!d->csr_pem &&
	     asprintf(&env[ne++], "ACMEDNS_KEY=%s/key.pem", base) < 0)) {
		ad_err("acme", "%s: out of memory for the hook", d->id);
		ne--; /* the failed asprintf left its pointer undefined */
		goto out;
	}
	env[ne] = NULL;
	for (int i = 0; i < 2; i++) {
		if (!cmds[i] || !*cmds[i])
			continue;
		struct hookctx *h = xcalloc(1, sizeof(*h));
		ad_strlcpy(h->which, which[i], sizeof(h->which));
		ad_strlcpy(h->id, d->id, sizeof(h->id));
		int r = srv_hook_run(a->loop, cmds[i], (const char *const *)env,
				     a->cfg->hook_timeout, on_hook_done, h);
		if (r) {
			ad_warn("acme",
				"%s: %s deploy hook could not start: "
				"%s",
				d->id, which[i], ad_strerror(r));
			free(h);
		}
	}
out:
	for (size_t i = 0; i < ne; i++)
		free(env[i]);
	free(names);
}

/* ---- the engine's host interface (struct acme_ops) ----------------------- */

static uint64_t
op_now_ms(void *ctx)
{
	(void)ctx;
	return ad_now_ms();
}

static uint32_t
op_random(void *ctx)
{
	uint32_t v = 0;

	(void)ctx;
	ad_random(&v, sizeof(v));
	return v;
}

static void
on_http_done(void *arg, uint64_t id, const struct acme_http_resp *resp)
{
	struct srv_acme *a = arg;

	/* srv_acme_http_free drops pending completions, so a is alive */
	acme_engine_http_done(a->engine, id, resp);
	if (a->cur.kind == AOP_CONTACT && a->cur_http == id &&
	    resp->status >= 200 && resp->status < 300) {
		free(a->contact);
		a->contact = xstrdup(a->cur.arg);
		ad_info("acme", "request %lld: account contact set to %s",
			(long long)a->cur.seq,
			a->cur.arg[0] ? a->cur.arg : "(none)");
		account_store(a, acme_engine_account(a->engine));
		acct_op_finish(a);
	}
	rearm(a);
}

static int
op_http(void *ctx, const struct acme_http_req *req)
{
	struct srv_acme *a = ctx;

	/* a contact update is a POST to the account URL (RFC 8555 §7.3.2)
	 * and the engine says nothing when it succeeds: watch its answer
	 * (the latest attempt: badNonce retries send it again) */
	if (a->cur.kind == AOP_CONTACT && strcmp(req->method, "POST") == 0) {
		const struct acme_account_state *acct =
		    acme_engine_account(a->engine);
		if (acct && acct->url && strcmp(req->url, acct->url) == 0)
			a->cur_http = req->id;
	}
	return srv_acme_http_start(a->http, req, on_http_done, a);
}

static void
on_resolved(void *arg, uint64_t id, int status, const char *target)
{
	struct guard *g = arg;
	struct srv_acme *a = g->a;

	if (a) {
		acme_engine_resolve_done(a->engine, id, status, target);
		rearm(a);
	}
	guard_unref(g);
}

static int
op_resolve(void *ctx, uint64_t id, const char *name)
{
	struct srv_acme *a = ctx;
	struct guard *g = guard_ref(a->guard);
	int r = srv_resolve_cname(a->loop, a->cfg->resolver, id, name,
				  on_resolved, g);

	if (r)
		guard_unref(g);
	return r;
}

static int
op_txt_add(void *ctx, const char *subdomain, const char *value)
{
	struct srv_acme *a = ctx;
	int r =
	    zone_txt_pin(a->zone, subdomain, value, strlen(value), ad_now_ms());

	if (r)
		ad_warn("acme", "TXT at %s: %s", subdomain, ad_strerror(r));
	return r;
}

static void
op_txt_del(void *ctx, const char *subdomain, const char *value)
{
	struct srv_acme *a = ctx;
	int r = zone_txt_unpin(a->zone, subdomain, value, strlen(value));

	if (r && r != AD_ENOENT)
		ad_warn("acme", "TXT removal at %s: %s", subdomain,
			ad_strerror(r));
}

static void
op_domain_changed(void *ctx, const struct acme_domain *d)
{
	struct srv_acme *a = ctx;
	struct known *k = known_get(a, d);

	if (d->status == ACME_DS_INVALID && k->status != ACME_DS_INVALID) {
		a->failed++;
		ad_warn("acme", "%s: %s: gave up: %s", d->id,
			d->nnames ? d->names[0] : "?",
			d->error ? d->error : "(no detail)");
	} else if (d->status != k->status) {
		ad_info("acme", "%s: %s -> %s", d->id,
			acme_dstatus_name(k->status),
			acme_dstatus_name(d->status));
	}
	k->status = d->status;
	save_domain(a, d, "save");
	tlsa_sync(a, d, false);
}

/* Write the account row (acct: the engine's state, borrowed) with the
 * glue's contact and the engine's current error. 0 or an AD_E* code. */
static int
account_store(struct srv_acme *a, const struct acme_account_state *acct)
{
	const char *err = a->engine ? acme_engine_error(a->engine) : NULL;
	char *s = account_json(acct, a->contact, err);
	struct logctx *l = logctx_new("account", "");
	int r = s ? srv_store_account_put(a->store, s, on_logged_commit, l)
		  : AD_ENOMEM;

	if (r) {
		ad_err("acme", "store: account save failed: %s",
		       ad_strerror(r));
		free(l);
	}
	secret_free(s);
	return r;
}

/* RFC 7638 thumbprint of a PEM key ("" if it does not parse): what the
 * log and `acmedns account show` name a key by (never the key). */
static void
key_thumb(const char *pem, char out[ACME_THUMB_LEN + 1])
{
	EVP_PKEY *k = NULL;

	out[0] = '\0';
	if (pem && acme_key_from_pem(pem, strlen(pem), &k) == 0 &&
	    acme_jwk_thumbprint(k, out) != 0)
		out[0] = '\0';
	EVP_PKEY_free(k);
}

static const char *const acct_kind_name[] = {
    [AOP_NONE] = "none",
    [AOP_KEY_CHANGE] = "key change",
    [AOP_DEACTIVATE] = "deactivation",
    [AOP_CONTACT] = "contact update",
};

static void
acct_op_finish(struct srv_acme *a)
{
	a->cur.kind = AOP_NONE;
	a->cur_http = 0;
	free(a->cur_err);
	a->cur_err = NULL;
	a->cur_err_ptr = NULL;
}

static void
op_account_changed(void *ctx, const struct acme_account_state *acct)
{
	struct srv_acme *a = ctx;
	char thumb[ACME_THUMB_LEN + 1];

	if (account_store(a, acct) == 0)
		ad_info("acme", "account %s (%s)",
			acct->url ? acct->url : "(no url yet)",
			acct->status ? acct->status : "?");
	/* the outcome of a CLI request: the engine reports a rollover only
	 * once the CA accepted it (RFC 8555 §7.3.5), so the row just
	 * written holds the key the CA knows */
	if (a->cur.kind == AOP_KEY_CHANGE) {
		key_thumb(acct->key_pem, thumb);
		if (strcmp(thumb, a->cur_thumb) != 0) {
			ad_info("acme",
				"request %lld: account key changed (key "
				"thumbprint %s -> %s)",
				(long long)a->cur.seq, a->cur_thumb, thumb);
			acct_op_finish(a);
		}
	} else if (a->cur.kind == AOP_DEACTIVATE && acct->status &&
		   strcmp(acct->status, "deactivated") == 0) {
		ad_warn("acme",
			"request %lld: account %s deactivated; no "
			"certificate can be ordered or renewed with it any "
			"more",
			(long long)a->cur.seq, acct->url ? acct->url : "?");
		acct_op_finish(a);
	}
}

/*
 * Output files leave the loop thread: a version is about nine fsync()s,
 * milliseconds each on a busy disk, and DNS answers from this thread
 * (docs/PERFORMANCE.md measured 70-350 ms stalls with the writes inline).
 * Jobs run one at a time in FIFO order; the hooks and the API's TLS reload
 * run back on the loop once the files are in place.
 */
enum fj_kind { FJ_WRITE, FJ_REMOVE, FJ_HOOKS };

struct filejob {
	struct filejob *next;
	uv_work_t work;
	struct guard *g;
	enum fj_kind kind;
	char *certs_dir;
	struct acme_domain d; /* deep copy: the engine's may change */
	char event[16];
	int64_t now;
	bool api; /* the API's own certificate */
	/* results (worker) */
	int rc;
	char err[256];
	char *dir;
};

static void fj_next(struct srv_acme *a);

static void
fj_free(struct filejob *j)
{
	guard_unref(j->g);
	free(j->certs_dir);
	acme_domain_clear(&j->d); /* cleanses the key */
	free(j->dir);
	free(j);
}

static void
fj_work(uv_work_t *w)
{
	struct filejob *j = w->data;

	switch (j->kind) {
	case FJ_WRITE:
		j->rc = srv_certfiles_write(j->certs_dir, j->d.id, j->d.cert_pem,
					    j->d.csr_pem ? NULL : j->d.key_pem,
					    j->now, &j->dir, j->err,
					    sizeof(j->err));
		break;
	case FJ_REMOVE:
		j->rc = srv_certfiles_remove(j->certs_dir, j->d.id);
		if (j->rc == -ENOENT) /* never issued */
			j->rc = 0;
		if (j->rc)
			snprintf(j->err, sizeof(j->err), "%s",
				 ad_strerror(j->rc));
		break;
	case FJ_HOOKS:
		break;
	}
}

static void
fj_done(uv_work_t *w, int status)
{
	struct filejob *j = w->data;
	struct srv_acme *a = j->g->a;
	const struct acme_domain *d = &j->d;
	char na[32];

	(void)status;
	if (!a) { /* srv_acme_free ran meanwhile: files are written */
		fj_free(j);
		return;
	}
	a->fj_running = false;
	switch (j->kind) {
	case FJ_WRITE:
		if (j->rc != 0) {
			ad_err("acme", "%s: writing the certificate files: %s",
			       d->id, j->err);
			break;
		}
		rfc3339(d->not_after, na);
		ad_info("acme", "%s: certificate %s for %s%s (until %s) in %s",
			d->id, j->event, d->nnames ? d->names[0] : "?",
			d->nnames > 1 ? " and more" : "", na, j->dir);
		run_hooks(a, d, j->event, j->dir);
		if (j->api && a->api_cert) {
			char cert[4200], key[4200];
			snprintf(cert, sizeof(cert), "%s/fullchain.pem", j->dir);
			snprintf(key, sizeof(key), "%s/key.pem", j->dir);
			a->api_cert(a->api_cert_arg, cert, key);
		}
		break;
	case FJ_REMOVE:
		if (j->rc != 0)
			ad_warn("acme", "%s: removing its files: %s", d->id,
				j->err);
		break;
	case FJ_HOOKS: {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", j->certs_dir, d->id);
		run_hooks(a, d, j->event, path);
		break;
	}
	}
	fj_free(j);
	fj_next(a);
}

static void
fj_next(struct srv_acme *a)
{
	struct filejob *j = a->fj_head;

	if (a->fj_running || !j)
		return;
	a->fj_head = j->next;
	if (!a->fj_head)
		a->fj_tail = NULL;
	j->work.data = j;
	if (uv_queue_work(a->loop, &j->work, fj_work, fj_done) != 0) {
		/* cannot happen with a live loop; do it here rather than
		 * lose the files */
		fj_work(&j->work);
		a->fj_running = true;
		fj_done(&j->work, 0);
		return;
	}
	a->fj_running = true;
}

static void
fj_push(struct srv_acme *a, enum fj_kind kind, const struct acme_domain *d,
	const char *event)
{
	struct filejob *j = xcalloc(1, sizeof(*j));

	j->g = guard_ref(a->guard);
	j->kind = kind;
	j->certs_dir = xstrdup(a->cfg->certs_dir);
	if (acme_domain_copy(&j->d, d) != 0) {
		ad_err("acme", "%s: out of memory for its files", d->id);
		fj_free(j);
		return;
	}
	ad_strlcpy(j->event, event ? event : "", sizeof(j->event));
	j->now = (int64_t)(ad_now_ms() / 1000);
	j->api = *a->api_id && strcmp(d->id, a->api_id) == 0;
	if (a->fj_tail)
		a->fj_tail->next = j;
	else
		a->fj_head = j;
	a->fj_tail = j;
	fj_next(a);
}

/* true if <certs dir>/<id>/cert.pem holds d's current leaf */
static bool
files_current(struct srv_acme *a, const struct acme_domain *d)
{
	char path[4096], *leaf = NULL, *rest = NULL;
	bool same = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/cert.pem", a->cfg->certs_dir,
		 d->id);
	if (acme_chain_split(d->cert_pem, strlen(d->cert_pem), &leaf, &rest))
		return true; /* unparsable: nothing better to write */
	f = fopen(path, "rb");
	if (f) {
		size_t n = strlen(leaf);
		char *buf = xmalloc(n + 2);
		size_t got = fread(buf, 1, n + 1, f);
		same = got == n && memcmp(buf, leaf, n) == 0;
		free(buf);
		fclose(f);
	}
	free(leaf);
	free(rest);
	return same;
}

static void
op_cert_issued(void *ctx, const struct acme_domain *d)
{
	struct srv_acme *a = ctx;
	struct known *k = known_get(a, d);
	const char *event;

	if (d->status == ACME_DS_REVOKED) {
		ad_info("acme", "%s: certificate revoked", d->id);
		fj_push(a, FJ_HOOKS, d, "revoked");
		return;
	}
	if (!d->cert_pem) {
		ad_warn("acme", "%s: issued without a certificate?", d->id);
		return;
	}
	event = k->had_cert ? "renewed" : "issued";
	k->had_cert = true;
	a->issued++;
	fj_push(a, FJ_WRITE, d, event);
}

static void
op_domain_deleted(void *ctx, const struct acme_domain *d)
{
	struct srv_acme *a = ctx;

	tlsa_sync(a, d, true);
	fj_push(a, FJ_REMOVE, d, NULL);
	known_remove(a, d->id);
}

/* ---- account operations (CLI requests) ---------------------------------- */

/* The prefix of the engine's error when an operation of kind k failed
 * (acme/engine.c set_error texts). */
static const char *
acct_fail_prefix(enum acct_kind k)
{
	switch (k) {
	case AOP_KEY_CHANGE:
		return "key change:";
	case AOP_DEACTIVATE:
		return "deactivation:";
	case AOP_CONTACT:
		return "contact update:";
	default:
		return NULL;
	}
}

static bool
str_same(const char *x, const char *y)
{
	return x == y || (x && y && strcmp(x, y) == 0);
}

/*
 * Called after every call into the engine (rearm): keep the account row's
 * error in step with the engine's (the CLI shows it), and see whether the
 * account operation in flight failed - the engine then holds an error
 * with that operation's prefix that was not there when it started.
 */
static void
account_watch(struct srv_acme *a)
{
	const char *err = acme_engine_error(a->engine);
	const char *pfx = acct_fail_prefix(a->cur.kind);

	if (pfx && err && strncmp(err, pfx, strlen(pfx)) == 0 &&
	    (err != a->cur_err_ptr || !str_same(err, a->cur_err))) {
		ad_warn("acme", "request %lld: account %s failed: %s",
			(long long)a->cur.seq, acct_kind_name[a->cur.kind],
			err);
		acct_op_finish(a);
	}
	if (!str_same(err, a->last_err)) {
		ad_debug("acme", "account error now: %s", err ? err : "none");
		free(a->last_err);
		a->last_err = err ? xstrdup(err) : NULL;
		account_store(a, acme_engine_account(a->engine));
	}
}

/* Start op. 0 (started), AD_ELIMIT (the engine runs another account
 * request: try again later), or another code (dropped). */
static int
acct_op_start(struct srv_acme *a, const struct acct_op *op)
{
	const struct acme_account_state *acct = acme_engine_account(a->engine);
	const char *err = acme_engine_error(a->engine);
	int r;

	key_thumb(acct ? acct->key_pem : NULL, a->cur_thumb);
	/* in flight before the engine is called: it may send the request
	 * (op_http) and even see its outcome before returning */
	a->cur = *op;
	a->cur_started_ms = ad_now_ms();
	a->cur_http = 0;
	free(a->cur_err);
	a->cur_err = err ? xstrdup(err) : NULL;
	a->cur_err_ptr = err;
	if (op->kind == AOP_KEY_CHANGE) {
		enum acme_keytype kt;
		EVP_PKEY *k = NULL;
		char *pem = NULL;
		const char *ts =
		    op->arg[0] ? op->arg : a->cfg->account_key_type;
		if (acme_keytype_parse(ts, &kt) != 0) {
			acct_op_finish(a);
			return AD_EINVAL;
		}
		/* the new key exists only in memory (and the engine's copy)
		 * until the CA accepted it: account_changed stores it */
		if ((r = acme_key_generate(kt, &k)) == 0 &&
		    (r = acme_key_to_pem(k, &pem)) == 0)
			r = acme_engine_key_change(a->engine, pem);
		EVP_PKEY_free(k);
		acme_secret_free(pem);
	} else if (op->kind == AOP_DEACTIVATE) {
		r = acme_engine_deactivate(a->engine);
	} else if (op->kind == AOP_CONTACT) {
		r = acme_engine_set_contact(a->engine,
					    op->arg[0] ? op->arg : NULL);
	} else {
		r = AD_EUNSUP;
	}
	if (r) {
		acct_op_finish(a);
		return r;
	}
	ad_info("acme", "request %lld: account %s started%s%s",
		(long long)op->seq, acct_kind_name[op->kind],
		op->kind == AOP_KEY_CHANGE ? ", new key type " : "",
		op->kind == AOP_KEY_CHANGE
		    ? (op->arg[0] ? op->arg : a->cfg->account_key_type)
		    : "");
	return 0;
}

/* Start the oldest waiting operation if none runs (at every poll). */
static void
acct_ops_run(struct srv_acme *a)
{
	if (a->cur.kind != AOP_NONE &&
	    ad_now_ms() - a->cur_started_ms > ACCT_OP_TIMEOUT_MS) {
		ad_warn("acme",
			"request %lld: account %s: no outcome after 10 "
			"minutes; check `acmedns account show`",
			(long long)a->cur.seq, acct_kind_name[a->cur.kind]);
		acct_op_finish(a);
	}
	while (a->cur.kind == AOP_NONE && a->nops > 0) {
		struct acct_op op = a->ops[0];
		int r = acct_op_start(a, &op);
		if (r == AD_ELIMIT)
			break; /* the engine's own request runs: later */
		memmove(&a->ops[0], &a->ops[1],
			(a->nops - 1) * sizeof(a->ops[0]));
		a->nops--;
		if (r == AD_EINVAL && srv_acme_account_deactivated(a))
			ad_warn("acme",
				"request %lld: account %s refused: the "
				"account is deactivated",
				(long long)op.seq, acct_kind_name[op.kind]);
		else if (r)
			ad_warn("acme", "request %lld: account %s refused: %s",
				(long long)op.seq, acct_kind_name[op.kind],
				ad_strerror(r));
	}
}

/* Queue a CLI account request (run at the end of this poll). */
static int
acct_op_queue(struct srv_acme *a, enum acct_kind kind,
	      const struct srv_store_request *r)
{
	struct acct_op *op;

	if (a->nops == ACCT_OPS_MAX)
		return AD_ELIMIT;
	if (r->arg && strlen(r->arg) > ACCT_ARG_MAX)
		return AD_EINVAL;
	op = &a->ops[a->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->seq = r->seq;
	if (r->arg)
		ad_strlcpy(op->arg, r->arg, sizeof(op->arg));
	return 0;
}

/* ---- CLI requests (acme_requests, polled) -------------------------------- */

static void srv_acme__add_loaded(struct srv_acme *a, struct acme_domain *d,
				 bool store);

static void
on_request(void *arg, const struct srv_store_request *r)
{
	struct guard *g = arg;
	struct srv_acme *a = g->a;
	int rc = 0;

	if (!a)
		return;
	/* the arguments of these are not secret; those of "add" (a domain
	 * JSON) are not logged */
	bool show = strcmp(r->op, "key_change") == 0 ||
		    strcmp(r->op, "contact") == 0;
	ad_info("acme", "request %lld from the CLI: %s %s%s%s",
		(long long)r->seq, r->op, r->domain_id,
		show && r->arg ? " " : "", show && r->arg ? r->arg : "");
	if (strcmp(r->op, "add") == 0) {
		struct acme_domain d;
		cJSON *j = r->arg ? cJSON_Parse(r->arg) : NULL;
		memset(&d, 0, sizeof(d));
		if (!j || acme_domain_from_json(j, &d) != 0) {
			rc = AD_EMALF;
		} else if (strcmp(d.id, r->domain_id) != 0) {
			rc = AD_EINVAL;
		} else if (acme_engine_find(a->engine, d.id)) {
			ad_debug("acme", "%s: known already", d.id);
		} else {
			srv_acme__add_loaded(a, &d, true);
		}
		acme_domain_clear(&d);
		json_cleanse_delete(j);
	} else if (strcmp(r->op, "renew") == 0) {
		rc = acme_engine_renew(a->engine, r->domain_id);
	} else if (strcmp(r->op, "revoke") == 0) {
		long reason = 0;
		if (r->arg && *r->arg) {
			char *end;
			reason = strtol(r->arg, &end, 10);
			if (*end || reason < 0 || reason > 10)
				reason = -1;
		}
		rc = reason < 0 ? AD_EINVAL
				: acme_engine_revoke(a->engine, r->domain_id,
						     (int)reason);
	} else if (strcmp(r->op, "delete") == 0) {
		rc = srv_acme_domain_delete(a, r->domain_id, NULL, NULL);
	} else if (strcmp(r->op, "key_change") == 0) {
		rc = acct_op_queue(a, AOP_KEY_CHANGE, r);
	} else if (strcmp(r->op, "deactivate") == 0) {
		rc = acct_op_queue(a, AOP_DEACTIVATE, r);
	} else if (strcmp(r->op, "contact") == 0) {
		rc = acct_op_queue(a, AOP_CONTACT, r);
	} else if (strcmp(r->op, "register") == 0) {
		/* the API owns the registration table: it reads the row
		 * and logs the outcome */
		const char *user = r->arg && *r->arg ? r->arg : r->domain_id;
		rc = a->reg_load ? a->reg_load(a->reg_load_arg, user)
				 : AD_EUNSUP;
		if (rc == AD_EEXIST)
			rc = 0; /* known already (e.g. loaded at start) */
	} else {
		rc = AD_EUNSUP;
	}
	if (rc)
		ad_warn("acme", "request %lld (%s %s): %s", (long long)r->seq,
			r->op, r->domain_id, ad_strerror(rc));
}

static void
on_requests_done(void *arg, int status)
{
	struct guard *g = arg;
	struct srv_acme *a = g->a;

	if (a) {
		a->taking = false;
		if (status)
			ad_warn("acme", "reading CLI requests: %s",
				ad_strerror(status));
		acct_ops_run(a);
		rearm(a);
	}
	guard_unref(g);
}

static void
on_poll(uv_timer_t *t)
{
	struct srv_acme *a = t->data;
	struct guard *g;

	if (a->taking)
		return;
	a->taking = true;
	g = guard_ref(a->guard);
	if (srv_store_requests_take(a->store, on_request, on_requests_done,
				    g) != 0) {
		a->taking = false;
		guard_unref(g);
	}
}

/* ---- start-up ------------------------------------------------------------ */

struct loadctx {
	struct srv_acme *a;
	char *account; /* JSON text (secret) */
	struct acme_domain *doms;
	size_t ndoms;
	size_t bad;
};

static int
load_account(void *arg, const char *json)
{
	struct loadctx *lc = arg;

	secret_free(lc->account);
	lc->account = xstrdup(json);
	return 0;
}

static int
load_domain(void *arg, const char *id, const char *owner, const char *json)
{
	struct loadctx *lc = arg;
	cJSON *j = cJSON_Parse(json);
	struct acme_domain d;

	memset(&d, 0, sizeof(d));
	if (!j || acme_domain_from_json(j, &d) != 0 || strcmp(d.id, id) != 0 ||
	    strcmp(d.owner, owner) != 0) {
		ad_warn("acme", "stored domain %.40s is malformed, skipped",
			id);
		acme_domain_clear(&d);
		lc->bad++;
	} else {
		lc->doms =
		    xrealloc(lc->doms, (lc->ndoms + 1) * sizeof(*lc->doms));
		lc->doms[lc->ndoms++] = d;
	}
	json_cleanse_delete(j);
	return 0;
}

/* Add a domain (from the store or the CLI) to the engine, the known
 * list and the zone's TLSA; store = write its row too. */
static void
srv_acme__add_loaded(struct srv_acme *a, struct acme_domain *d, bool store)
{
	int r = acme_engine_add(a->engine, d);

	if (r) {
		ad_warn("acme", "domain %s not managed: %s", d->id,
			ad_strerror(r));
		return;
	}
	known_get(a, d);
	tlsa_sync(a, d, false);
	if (store)
		save_domain(a, d, "add");
}

struct waitctx {
	bool fired;
	int status;
};

static void
on_wait(void *arg, int status)
{
	struct waitctx *w = arg;

	w->fired = true;
	w->status = status;
}

/*
 * The account to start with: the stored one, or a new key committed to
 * the store before the engine ever talks to the CA (RFC 8555 §7.3: the
 * key is the account; a crash after newAccount with an unsaved key would
 * leave an orphan account and make a second one).
 */
static int
account_setup(struct srv_acme *a, const char *stored,
	      struct acme_account_state *acct, char *err, size_t errlen)
{
	enum acme_keytype kt;
	EVP_PKEY *key = NULL;
	int r;

	memset(acct, 0, sizeof(*acct));
	if (stored) {
		char *contact = NULL;
		if (account_parse(stored, acct, &contact) != 0) {
			snprintf(err, errlen,
				 "the stored ACME account is "
				 "malformed (no key); refusing "
				 "to replace it");
			return AD_EMALF;
		}
		if (acct->directory &&
		    strcmp(acct->directory, a->cfg->directory) == 0) {
			a->contact = contact;
			/* the error the last run stored: the first
			 * account_watch rewrites the row if the engine's
			 * differs, so a fixed problem does not linger */
			cJSON *j = cJSON_Parse(stored);
			a->last_err = json_str_dup(j, "error", 4096);
			json_cleanse_delete(j);
			return 0;
		}
		free(contact); /* of the old CA's account */
		ad_warn("acme",
			"the stored account belongs to %s, not to "
			"[acme] directory %s: creating a new account "
			"for the new CA",
			acct->directory ? acct->directory : "(unknown)",
			a->cfg->directory);
		acme_account_state_clear(acct);
	}
	if ((r = acme_keytype_parse(a->cfg->account_key_type, &kt)) ||
	    (r = acme_key_generate(kt, &key)) ||
	    (r = acme_key_to_pem(key, &acct->key_pem))) {
		EVP_PKEY_free(key);
		snprintf(err, errlen, "cannot generate an account key: %s",
			 ad_strerror(r));
		return r;
	}
	EVP_PKEY_free(key);
	acct->directory = xstrdup(a->cfg->directory);

	char *s = account_json(acct, NULL, NULL);
	struct waitctx w = {0};
	r = s ? srv_store_account_put(a->store, s, on_wait, &w) : AD_ENOMEM;
	secret_free(s);
	/* wait for the commit (loop mode delivers through the loop; nothing
	 * else is running yet) */
	while (r == 0 && !w.fired)
		uv_run(a->loop, UV_RUN_ONCE);
	if (r == 0)
		r = w.status;
	if (r) {
		snprintf(err, errlen, "cannot store the new account key: %s",
			 ad_strerror(r));
		acme_account_state_clear(acct);
		return r;
	}
	ad_info("acme", "new %s account key stored", a->cfg->account_key_type);
	return 0;
}

/*
 * The API's own certificate ([api] tls = acme): a domain inside our zone,
 * so its dns-01 TXT is served by us directly (RFC 8555 §8.4) at
 * "_acme-challenge[.<label>]" relative to the apex. A stale one (the
 * name changed, or tls is no longer acme) is deleted.
 */
static int
api_domain_setup(struct srv_acme *a, struct loadctx *lc, char *err,
		 size_t errlen)
{
	const struct srv_config *cfg = a->cfg;
	char name[NAME_MAX_LEN + 2], chal[300];
	struct acme_domain d;
	const char *why;

	a->api_id[0] = '\0';
	if (cfg->tls == SRV_TLS_ACME) {
		ad_strlcpy(name, *cfg->tls_domain ? cfg->tls_domain : a->apex,
			   sizeof(name));
		if ((why = name_check(name))) {
			snprintf(err, errlen, "[api] tls_domain %s: %s", name,
				 why);
			return AD_EINVAL;
		}
		api_domain_id(name, a->api_id);
	}
	for (size_t i = 0; i < lc->ndoms; i++) {
		struct acme_domain *o = &lc->doms[i];
		if (o->in_zone && o->owner[0] == '\0' &&
		    strcmp(o->id, a->api_id) != 0) {
			ad_info("acme",
				"%s: the API certificate for %s is no "
				"longer configured, deleting it",
				o->id, o->nnames ? o->names[0] : "?");
			srv_acme_domain_delete(a, o->id, NULL, NULL);
		}
	}
	if (!a->api_id[0] || acme_engine_find(a->engine, a->api_id))
		return 0;

	memset(&d, 0, sizeof(d));
	ad_strlcpy(d.id, a->api_id, sizeof(d.id));
	acme_challenge_name(name, chal, sizeof(chal));
	/* relative to the apex: "_acme-challenge" or "_acme-challenge.api" */
	size_t cl = strlen(chal), al = strlen(a->apex);
	if (cl <= al + 1) {
		snprintf(err, errlen, "[api] tls_domain: bad challenge name");
		return AD_EINVAL;
	}
	chal[cl - al - 1] = '\0';
	if (strlen(chal) > ACME_ID_LEN) {
		snprintf(err, errlen,
			 "[api] tls_domain %s: too deep under "
			 "the zone (challenge name over %d "
			 "characters)",
			 name, ACME_ID_LEN);
		return AD_EINVAL;
	}
	ad_strlcpy(d.subdomain, chal, sizeof(d.subdomain));
	d.names = xcalloc(1, sizeof(char *));
	d.names[0] = xstrdup(name);
	d.nnames = 1;
	if (acme_keytype_parse(cfg->key_type, &d.key_type) != 0)
		d.key_type = ACME_KEY_EC256;
	d.in_zone = true;
	d.status = ACME_DS_PENDING;
	d.created = (int64_t)(ad_now_ms() / 1000);
	/* DANE for the API itself: TLSA at _<port>._tcp.<name> */
	for (size_t i = 0; i < cfg->n_api_listen && d.ntlsa < ACME_MAX_TLSA;
	     i++) {
		const struct srv_addr *la = &cfg->api_listen[i];
		const struct sockaddr_in6 *s6 = (const void *)&la->ss;
		const struct sockaddr_in *s4 = (const void *)&la->ss;
		uint16_t port = la->ss.ss_family == AF_INET6
				    ? ntohs(s6->sin6_port)
				    : ntohs(s4->sin_port);
		bool dup = false;
		for (size_t j = 0; j < d.ntlsa; j++)
			dup = dup || d.tlsa[j].port == port;
		if (dup)
			continue;
		d.tlsa[d.ntlsa].port = port;
		ad_strlcpy(d.tlsa[d.ntlsa].proto, "tcp",
			   sizeof(d.tlsa[0].proto));
		d.ntlsa++;
	}
	ad_info("acme", "%s: managing the API certificate for %s", d.id, name);
	srv_acme__add_loaded(a, &d, true);
	acme_domain_clear(&d);
	return 0;
}

static void
log_summary(struct srv_acme *a)
{
	size_t by[6] = {0}, n = acme_engine_count(a->engine);
	const struct acme_account_state *acct = acme_engine_account(a->engine);
	char buf[256] = "";
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		const struct acme_domain *d = acme_engine_at(a->engine, i);
		if (d && (size_t)d->status < 6)
			by[d->status]++;
	}
	for (int s = 0; s < 6; s++) {
		if (!by[s])
			continue;
		int w = snprintf(buf + len, sizeof(buf) - len, "%s%zu %s",
				 len ? ", " : "", by[s],
				 acme_dstatus_name((enum acme_dstatus)s));
		if (w < 0 || (size_t)w >= sizeof(buf) - len)
			break;
		len += (size_t)w;
	}
	ad_info("acme", "account %s, %zu domains%s%s%s",
		acct && acct->url ? acct->url : "new", n, len ? " (" : "", buf,
		len ? ")" : "");
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct srv_acme *a = h->data;

	if (--a->open_handles == 0) {
		free(a->known);
		free(a->contact);
		free(a->last_err);
		free(a->cur_err);
		free(a);
	}
}

int
srv_acme_new(const struct srv_acme_opts *opts, struct srv_acme **out, char *err,
	     size_t errlen)
{
	const struct srv_config *cfg = opts->cfg;
	struct acme_account_state acct;
	struct loadctx lc = {0};
	struct srv_acme *a;
	int r;

	*out = NULL;
	if (!cfg->directory || !*cfg->directory)
		return 0;
	a = xcalloc(1, sizeof(*a));
	a->loop = opts->loop;
	a->cfg = cfg;
	a->zone = opts->zone;
	a->store = opts->store;
	a->api_cert = opts->api_cert;
	a->api_cert_arg = opts->api_cert_arg;
	a->guard = xcalloc(1, sizeof(*a->guard));
	a->guard->a = a;
	a->guard->refs = 1;
	ad_strlcpy(a->apex, zone_apex_str(a->zone), sizeof(a->apex));
	size_t al = strlen(a->apex);
	if (al > 0 && a->apex[al - 1] == '.')
		a->apex[al - 1] = '\0';
	for (char *p = a->apex; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	uv_timer_init(a->loop, &a->tick);
	uv_timer_init(a->loop, &a->poll);
	a->tick.data = a->poll.data = a;
	a->open_handles = 2;
	lc.a = a;

	static const struct srv_store_acme_visitor v = {load_account,
							load_domain};
	if ((r = srv_store_acme_load(a->store, &v, &lc))) {
		snprintf(err, errlen, "cannot load the ACME state: %s",
			 ad_strerror(r));
		goto fail;
	}
	r = account_setup(a, lc.account, &acct, err, errlen);
	secret_free(lc.account);
	lc.account = NULL;
	if (r)
		goto fail;

	struct srv_acme_http_opts hopts = {
	    .loop = a->loop,
	    .ca_bundle = *cfg->ca_bundle ? cfg->ca_bundle : NULL,
	    .user_agent = "acmedns/" ACMEDNS_VERSION,
	};
	if ((r = srv_acme_http_new(&hopts, &a->http, err, errlen)) != 0) {
		acme_account_state_clear(&acct);
		goto fail;
	}

	struct acme_engine_cfg ecfg = {
	    .directory = cfg->directory,
	    .email = *cfg->email ? cfg->email : NULL,
	    .eab_kid = *cfg->eab_kid ? cfg->eab_kid : NULL,
	    .eab_hmac_key = *cfg->eab_hmac_key ? cfg->eab_hmac_key : NULL,
	    .preferred_chain =
		*cfg->preferred_chain ? cfg->preferred_chain : NULL,
	    .profile = *cfg->profile ? cfg->profile : NULL,
	    .zone_apex = a->apex,
	    .check_delegation = cfg->check_delegation,
	    .delegation_recheck_s = cfg->delegation_recheck,
	    .key_max_age_days = cfg->key_max_age_days,
	    .max_concurrent = cfg->max_concurrent,
	};
	static const struct acme_ops ops_tmpl = {
	    .now_ms = op_now_ms,
	    .random = op_random,
	    .http = op_http,
	    .resolve = op_resolve,
	    .txt_add = op_txt_add,
	    .txt_del = op_txt_del,
	    .domain_changed = op_domain_changed,
	    .account_changed = op_account_changed,
	    .cert_issued = op_cert_issued,
	    .domain_deleted = op_domain_deleted,
	};
	struct acme_ops ops = ops_tmpl;
	ops.ctx = a;
	if (!cfg->check_delegation)
		ops.resolve = NULL;
	r = acme_engine_new(&ecfg, &ops, &acct, &a->engine);
	acme_account_state_clear(&acct);
	if (r) {
		snprintf(err, errlen, "cannot start the ACME engine: %s",
			 ad_strerror(r));
		goto fail;
	}

	/* stored domains; the engine resumes orders in flight (their TXT
	 * values come back through txt_add), we restore TLSA */
	for (size_t i = 0; i < lc.ndoms; i++)
		srv_acme__add_loaded(a, &lc.doms[i], false);
	if ((r = api_domain_setup(a, &lc, err, errlen)))
		goto fail;
	for (size_t i = 0; i < lc.ndoms; i++)
		acme_domain_clear(&lc.doms[i]);
	free(lc.doms);
	lc.doms = NULL;

	/* the API certificate from an earlier run: serve it right away */
	const struct acme_domain *ad =
	    a->api_id[0] ? acme_engine_find(a->engine, a->api_id) : NULL;
	if (ad && ad->cert_pem && a->api_cert &&
	    (ad->status == ACME_DS_VALID || ad->status == ACME_DS_RENEWING)) {
		char cert[4200], key[4200];
		snprintf(cert, sizeof(cert), "%s/%s/fullchain.pem",
			 cfg->certs_dir, ad->id);
		snprintf(key, sizeof(key), "%s/%s/key.pem", cfg->certs_dir,
			 ad->id);
		/* files missing or stale: the restore below rewrites them
		 * and then hands them to the API */
		if (files_current(a, ad) && access(key, R_OK) == 0)
			a->api_cert(a->api_cert_arg, cert, key);
	}

	/* files lost in a crash between the store commit and the write (or
	 * removed by hand): put the current version back */
	for (size_t i = 0; i < acme_engine_count(a->engine); i++) {
		const struct acme_domain *d = acme_engine_at(a->engine, i);
		if (d->cert_pem && d->status != ACME_DS_REVOKED &&
		    !files_current(a, d)) {
			ad_info("acme", "%s: certificate files missing or old "
					"under %s: writing them again",
				d->id, cfg->certs_dir);
			fj_push(a, FJ_WRITE, d, "restored");
		}
	}
	log_summary(a);
	if (lc.bad)
		ad_warn("acme", "%zu stored domains skipped", lc.bad);
	acme_engine_start(a->engine);
	rearm(a);
	uv_timer_start(&a->poll, on_poll, POLL_REQUESTS_MS, POLL_REQUESTS_MS);
	*out = a;
	return 0;
fail:
	for (size_t i = 0; i < lc.ndoms; i++)
		acme_domain_clear(&lc.doms[i]);
	free(lc.doms);
	secret_free(lc.account);
	srv_acme_free(a);
	return r ? r : AD_EINVAL;
}

void
srv_acme_free(struct srv_acme *a)
{
	if (!a)
		return;
	/* late callbacks (lookups, store commits, the file job running)
	 * see NULL from now on; queued file jobs are dropped */
	while (a->fj_head) {
		struct filejob *j = a->fj_head;
		a->fj_head = j->next;
		if (j->kind == FJ_WRITE)
			ad_warn("acme", "%s: stopping before its files were "
					"written: they are written at the next "
					"start", j->d.id);
		fj_free(j);
	}
	a->fj_tail = NULL;
	a->guard->a = NULL;
	guard_unref(a->guard);
	a->guard = NULL;
	if (a->http)
		srv_acme_http_free(a->http);
	a->http = NULL;
	if (a->engine)
		acme_engine_free(a->engine);
	a->engine = NULL;
	uv_timer_stop(&a->tick);
	uv_timer_stop(&a->poll);
	uv_close((uv_handle_t *)&a->tick, on_handle_closed);
	uv_close((uv_handle_t *)&a->poll, on_handle_closed);
}

/* ---- operations ---------------------------------------------------------- */

/* An add waiting for its commit. */
struct addctx {
	struct guard *g;
	srv_acme_done done;
	void *arg;
	struct acme_domain d;
};

static void
on_add_committed(void *arg, int status)
{
	struct addctx *c = arg;
	struct srv_acme *a = c->g->a;

	if (status) {
		ad_err("acme", "store: add %s failed: %s", c->d.id,
		       ad_strerror(status));
		if (c->done)
			c->done(c->arg, AD_EIO, "the store failed", NULL);
	} else if (!a) {
		/* shutting down: the row is durable and comes back at the
		 * next start */
		if (c->done)
			c->done(c->arg, 0, NULL, &c->d);
	} else {
		int r = acme_engine_add(a->engine, &c->d);
		if (r) {
			ad_err("acme", "%s: engine refused it: %s", c->d.id,
			       ad_strerror(r));
			struct logctx *l = logctx_new("undo", c->d.id);
			if (srv_store_domain_delete(a->store, c->d.id,
						    on_logged_commit, l) != 0)
				free(l);
			if (c->done)
				c->done(c->arg, r == AD_ELIMIT ? r : AD_EINVAL,
					r == AD_ELIMIT ? "too many domains"
						       : "refused by the "
							 "engine",
					NULL);
		} else {
			known_get(a, &c->d);
			tlsa_sync(a, &c->d, false);
			rearm(a);
			const struct acme_domain *d =
			    acme_engine_find(a->engine, c->d.id);
			if (c->done)
				c->done(c->arg, 0, NULL, d ? d : &c->d);
		}
	}
	acme_domain_clear(&c->d);
	guard_unref(c->g);
	free(c);
}

/* Validate req into d (names normalised and sorted for comparison but
 * kept in request order). NULL or the reason. */
static const char *
add_validate(struct srv_acme *a, const struct srv_acme_add *req,
	     struct acme_domain *d)
{
	char **csr_names = NULL, **sorted = NULL;
	size_t ncsr = 0;
	uint8_t *der = NULL;
	size_t derlen = 0;
	const char *why = NULL;

	if (!req->owner || !req->subdomain || !*req->subdomain ||
	    strlen(req->owner) > ACME_ID_LEN ||
	    strlen(req->subdomain) > ACME_ID_LEN)
		return "bad registration";
	if (req->nnames > ACME_MAX_NAMES)
		return "too many names (at most 100)";
	if (req->nnames > 0 && !req->names)
		return "no names";
	if (req->csr_pem) {
		int r = acme_csr_parse(req->csr_pem, strlen(req->csr_pem),
				       &csr_names, &ncsr, &der, &derlen, NULL);
		free(der);
		if (r == AD_ELIMIT)
			return "the CSR has too many names (at most 100)";
		if (r)
			return "the CSR does not parse, is not self-signed "
			       "or has no names";
	}
	/* the names: as given, else the CSR's */
	size_t n = req->nnames ? req->nnames : ncsr;
	if (n == 0) {
		why = "no names";
		goto out;
	}
	if (n > ACME_MAX_NAMES) {
		why = "too many names (at most 100)";
		goto out;
	}
	d->names = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *src = req->nnames ? req->names[i] : csr_names[i];
		if (!src || strlen(src) > NAME_MAX_LEN + 1) {
			why = "a name is longer than 253 characters";
			goto out;
		}
		d->names[d->nnames++] = xstrdup(src);
		if ((why = name_check(d->names[i])))
			goto out;
	}
	sorted = xcalloc(n, sizeof(char *));
	memcpy(sorted, d->names, n * sizeof(char *));
	qsort(sorted, n, sizeof(char *), cmp_str);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			why = "duplicate names";
			goto out;
		}
	}
	/* a CSR with names given: the same set (RFC 8555 §7.4: the CA
	 * refuses a finalize whose CSR differs from the order) */
	if (req->csr_pem && req->nnames) {
		for (size_t i = 0; i < ncsr; i++) {
			char *c = csr_names[i];
			if (name_check(c) != NULL ||
			    !bsearch(&c, sorted, n, sizeof(char *), cmp_str)) {
				why = "the CSR's names differ from names";
				goto out;
			}
		}
		/* csr_parse lower-cases and de-duplicates */
		if (ncsr != n) {
			why = "the CSR's names differ from names";
			goto out;
		}
	}
	if (acme_keytype_parse(req->key_type ? req->key_type : a->cfg->key_type,
			       &d->key_type) != 0) {
		why = "key_type must be ec256, ec384, rsa2048, rsa3072 or "
		      "rsa4096";
		goto out;
	}
	if (req->ntlsa > ACME_MAX_TLSA) {
		why = "too many tlsa ports (at most 8)";
		goto out;
	}
	for (size_t i = 0; i < req->ntlsa; i++) {
		const struct acme_tlsa_port *p = &req->tlsa[i];
		if (p->port == 0 || (strcmp(p->proto, "tcp") != 0 &&
				     strcmp(p->proto, "udp") != 0 &&
				     strcmp(p->proto, "sctp") != 0)) {
			why = "a tlsa entry needs a port 1..65535 and proto "
			      "tcp, udp or sctp";
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			if (req->tlsa[j].port == p->port &&
			    strcmp(req->tlsa[j].proto, p->proto) == 0) {
				why = "duplicate tlsa entries";
				goto out;
			}
		}
		d->tlsa[d->ntlsa++] = *p;
	}
	if (req->csr_pem)
		d->csr_pem = xstrdup(req->csr_pem);
	ad_strlcpy(d->owner, req->owner, sizeof(d->owner));
	ad_strlcpy(d->subdomain, req->subdomain, sizeof(d->subdomain));
out:
	free(sorted);
	if (csr_names)
		acme_names_free(csr_names);
	return why;
}

/*
 * Returns 0 whenever done has been called (validation errors, a store
 * that refuses the write) or will be called (after the commit); nonzero
 * only for a NULL a or req, and done is then not called.
 */
int
srv_acme_domain_add(struct srv_acme *a, const struct srv_acme_add *req,
		    srv_acme_done done, void *arg)
{
	struct addctx *c;
	const char *why;
	int r;

	if (!a || !req)
		return AD_EINVAL;
	if (srv_acme_account_deactivated(a)) {
		if (done)
			done(arg, AD_EAUTH,
			     "the ACME account is deactivated: nothing can be "
			     "ordered with it",
			     NULL);
		return 0;
	}
	c = xcalloc(1, sizeof(*c));
	if ((why = add_validate(a, req, &c->d)) != NULL) {
		acme_domain_clear(&c->d);
		free(c);
		if (done)
			done(arg, AD_EINVAL, why, NULL);
		return 0;
	}
	if ((r = uuid4(c->d.id))) {
		acme_domain_clear(&c->d);
		free(c);
		if (done)
			done(arg, AD_EIO, "no randomness", NULL);
		return 0;
	}
	c->d.status = a->cfg->check_delegation ? ACME_DS_AWAITING_DELEGATION
					       : ACME_DS_PENDING;
	c->d.created = (int64_t)(ad_now_ms() / 1000);
	c->g = guard_ref(a->guard);
	c->done = done;
	c->arg = arg;
	/* 202 only once the row is durable (server/acme.h) */
	if ((r = store_domain(a, &c->d, on_add_committed, c)) != 0) {
		ad_err("acme", "store: add %s refused: %s", c->d.id,
		       ad_strerror(r));
		acme_domain_clear(&c->d);
		guard_unref(c->g);
		free(c);
		if (done)
			done(arg, AD_EIO, "the store is not accepting writes",
			     NULL);
	}
	return 0;
}

const struct acme_domain *
srv_acme_domain_find(struct srv_acme *a, const char *id)
{
	return a && id ? acme_engine_find(a->engine, id) : NULL;
}

int
srv_acme_domain_renew(struct srv_acme *a, const char *id)
{
	int r;

	/* RFC 8555 §7.3.6: the CA refuses everything a deactivated account
	 * signs; say so instead of "not renewable in its state" */
	if (srv_acme_account_deactivated(a))
		return acme_engine_find(a->engine, id) ? AD_EAUTH : AD_ENOENT;
	r = acme_engine_renew(a->engine, id);

	rearm(a);
	return r;
}

int
srv_acme_domain_revoke(struct srv_acme *a, const char *id, int reason)
{
	int r = acme_engine_revoke(a->engine, id, reason);

	rearm(a);
	return r;
}

struct delctx {
	srv_acme_done done;
	void *arg;
	char id[ACME_ID_LEN + 1];
};

static void
on_delete_committed(void *arg, int status)
{
	struct delctx *c = arg;

	/* AD_ENOENT: never committed (e.g. an add still in flight); the
	 * domain is gone either way */
	if (status == AD_ENOENT)
		status = 0;
	if (status)
		ad_err("acme", "store: delete %s failed: %s", c->id,
		       ad_strerror(status));
	if (c->done)
		c->done(c->arg, status, NULL, NULL);
	free(c);
}

/* AD_ENOENT (unknown id, done not called), else 0 and done after the
 * commit. */
int
srv_acme_domain_delete(struct srv_acme *a, const char *id, srv_acme_done done,
		       void *arg)
{
	struct delctx *c;
	char cid[ACME_ID_LEN + 1];
	int r;

	if (!a || !id || strlen(id) > ACME_ID_LEN)
		return AD_ENOENT;
	ad_strlcpy(cid, id, sizeof(cid)); /* id may point into the engine */
	if ((r = acme_engine_delete(a->engine, cid)))
		return r;
	rearm(a);
	c = xcalloc(1, sizeof(*c));
	c->done = done;
	c->arg = arg;
	ad_strlcpy(c->id, cid, sizeof(c->id));
	if ((r = srv_store_domain_delete(a->store, cid, on_delete_committed,
					 c))) {
		ad_err("acme", "store: delete %s refused: %s", cid,
		       ad_strerror(r));
		free(c);
		if (done)
			done(arg, AD_EIO, "the store is not accepting writes",
			     NULL);
	}
	return 0;
}

void
srv_acme_owner_deleted(struct srv_acme *a, const char *owner)
{
	char(*ids)[ACME_ID_LEN + 1];
	size_t n = 0, cnt;

	if (!a || !owner || !*owner)
		return;
	/* collect first: deleting changes the engine's list */
	cnt = acme_engine_count(a->engine);
	ids = xcalloc(cnt ? cnt : 1, sizeof(*ids));
	for (size_t i = 0; i < cnt; i++) {
		const struct acme_domain *d = acme_engine_at(a->engine, i);
		if (d && strcmp(d->owner, owner) == 0)
			ad_strlcpy(ids[n++], d->id, sizeof(ids[0]));
	}
	for (size_t i = 0; i < n; i++)
		srv_acme_domain_delete(a, ids[i], NULL, NULL);
	if (n)
		ad_info("acme", "registration %s deleted: %zu domains with it",
			owner, n);
	free(ids);
}

void
srv_acme_stats(const struct srv_acme *a, struct srv_acme_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!a || !a->engine)
		return;
	size_t n = acme_engine_count(a->engine);
	for (size_t i = 0; i < n; i++) {
		const struct acme_domain *d = acme_engine_at(a->engine, i);
		if (d && (size_t)d->status < AD_ARRAY_SIZE(out->by_status))
			out->by_status[d->status]++;
	}
	out->issued = a->issued;
	out->failed = a->failed;
	out->account_ready = acme_engine_ready(a->engine);
}

const char *
srv_acme_account_error(const struct srv_acme *a)
{
	return a && a->engine ? acme_engine_error(a->engine) : NULL;
}

bool
srv_acme_account_deactivated(const struct srv_acme *a)
{
	const struct acme_account_state *acct =
	    a && a->engine ? acme_engine_account(a->engine) : NULL;

	return acct && acct->status && strcmp(acct->status, "deactivated") == 0;
}

void
srv_acme_set_registration_loader(struct srv_acme *a, srv_acme_reg_loader fn,
				 void *arg)
{
	if (!a)
		return;
	a->reg_load = fn;
	a->reg_load_arg = arg;
}
