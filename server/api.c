/* SPDX-License-Identifier: MIT */
/*
 * The REST API (docs/API.md): routing, the acme-dns endpoints, CORS, the
 * client-IP rules, metrics and the access log. Authentication reads only
 * the in-memory registration table; imported bcrypt hashes are checked on
 * libuv's thread pool (tens of milliseconds each) and then upgraded.
 *
 * A request that needs the store keeps a small context (struct areq) until
 * the commit callback; the HTTP layer keeps its request valid until we
 * respond. Lookups after any asynchronous step go through the table again
 * (a registration may have been deleted meanwhile), never through a saved
 * pointer.
 *
 * The managed-domain endpoints (/domains, contract §4.2) are routed and
 * authenticated here exactly like /update (X-Api-User/X-Api-Key, the
 * registration's allowfrom) and then handed to server/api_domains.c.
 */
#include "server/api.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "server/acme.h"
#include "server/creds.h"
#include "server/dns.h"
#include "server/regs.h"
#include "server/store.h"
#include "zones/zone.h"
#include "dnswire/rr.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

enum ep {
	EP_REGISTER,
	EP_UPDATE,
	EP_DEREGISTER,
	EP_HEALTH,
	EP_METRICS,
	EP_DOMAINS,
	EP_OTHER,
	EP_N
};
static const char *const ep_name[EP_N] = {
	"register", "update", "deregister", "health",
	"metrics",  "domains", "other",
};

enum upd { UPD_OK, UPD_FORBIDDEN, UPD_BADTXT, UPD_BADSUB, UPD_ERROR, UPD_N };
static const char *const upd_name[UPD_N] = {
	"ok", "forbidden", "bad_txt", "bad_subdomain", "error",
};

static const int status_list[] = {200, 201, 202, 204, 400, 401, 403, 404,
				  405, 408, 409, 413, 429, 431, 500, 503};
#define NSTATUS (sizeof(status_list) / sizeof(status_list[0]) + 1)

static const double hist_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
				 0.025,	 0.05,	0.1,	0.25,  1.0};
#define NHIST (sizeof(hist_le) / sizeof(hist_le[0]))

struct metrics {
	uint64_t requests[EP_N][NSTATUS];
	uint64_t updates[UPD_N];
	uint64_t hist[EP_N][NHIST + 1]; /* last: +Inf */
	double hist_sum[EP_N];
};

/* Imported bcrypt hashes are checked off-loop; bound the queue so a flood
 * of guesses cannot pile up work (each check costs ~50 ms of CPU). */
#define BCRYPT_MAX_PENDING 32
#define MAX_CLIENT_IPS 16

struct srv_api {
	uv_loop_t *loop;
	const struct srv_config *cfg;
	struct zone *zone;
	struct srv_store *store;
	struct srv_acme *acme; /* NULL: /domains answers 503 */
	struct srv_api__doms *doms;
	const struct srv_dns *dns;
	struct srv_regs regs;
	unsigned bcrypt_pending;
	struct metrics m;
};

struct areq {
	struct srv_api *a;
	struct srv_http_req *req;
	enum ep ep;
	char client[INET6_ADDRSTRLEN];
	struct srv_api__droute droute; /* EP_DOMAINS */
	struct sockaddr_storage ips[MAX_CLIENT_IPS];
	size_t nips;
	uint8_t user[16];
	char user_text[37];
	char key[SRV_KEY_LEN + 1];
	char cors[384];
	/* bcrypt check */
	uv_work_t work;
	char *bcrypt;
	bool bcrypt_ok;
	/* update */
	char sub[37];
	char txt[SRV_TXT_LEN + 1];
	/* register */
	struct srv_reg *newreg;
	char password[SRV_KEY_LEN + 1];
	char *allow_json;
};

/* ---- responses -------------------------------------------------------- */

static size_t
status_slot(int status)
{
	for (size_t i = 0; i < NSTATUS - 1; i++)
		if (status_list[i] == status)
			return i;
	return NSTATUS - 1;
}

static void
areq_free(struct areq *ar)
{
	OPENSSL_cleanse(ar->key, sizeof(ar->key));
	OPENSSL_cleanse(ar->password, sizeof(ar->password));
	if (ar->bcrypt) {
		OPENSSL_cleanse(ar->bcrypt, strlen(ar->bcrypt));
		free(ar->bcrypt);
	}
	srv_reg_free(ar->newreg);
	free(ar->allow_json);
	free(ar);
}

/* Send the response, log it, count it, free ar. body may be NULL. */
static void
finish(struct areq *ar, int status, const char *ctype, const char *extra,
       const char *body, size_t len)
{
	struct srv_api *a = ar->a;
	struct srv_http_req *req = ar->req;
	char hdrs[sizeof(ar->cors) + 256];

	snprintf(hdrs, sizeof(hdrs), "%s%s", ar->cors, extra ? extra : "");
	double secs = (double)(ad_mono_ms() - req->start_ms) / 1000.0;
	ad_info("api", "%s \"%.16s %.128s\" %d %zu %.1fms%s%s", ar->client,
		req->method, req->path, status, len, secs * 1000.0,
		ar->user_text[0] ? " user=" : "", ar->user_text);
	a->m.requests[ar->ep][status_slot(status)]++;
	size_t h = 0;
	while (h < NHIST && secs > hist_le[h])
		h++;
	a->m.hist[ar->ep][h]++;
	a->m.hist_sum[ar->ep] += secs;
	srv_http_respond(req, status, ctype, hdrs, body, len);
	areq_free(ar);
}

static void
finish_json(struct areq *ar, int status, cJSON *j, const char *extra)
{
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		abort(); /* out of memory: xalloc's policy */
	finish(ar, status, "application/json", extra, s, strlen(s));
	free(s);
}

/* {"error":"<code>"}: exactly what acme-dns sends. */
static void
finish_error(struct areq *ar, int status, const char *code, const char *extra)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", code);
	finish_json(ar, status, j, extra);
}

static void
update_result(struct areq *ar, enum upd u)
{
	if (ar->ep == EP_UPDATE)
		ar->a->m.updates[u]++;
}

/* Contract §4.2: the native endpoints add a human "detail". */
static void
finish_error_detail(struct areq *ar, int status, const char *code,
		    const char *detail, const char *extra)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", code);
	cJSON_AddStringToObject(j, "detail", detail);
	finish_json(ar, status, j, extra);
}

static void
forbidden(struct areq *ar, const char *why)
{
	ad_debug("api", "%s: forbidden: %s", ar->client, why);
	update_result(ar, UPD_FORBIDDEN);
	if (ar->ep == EP_DOMAINS)
		/* the same answer for every cause: no user enumeration */
		finish_error_detail(ar, 401, "forbidden",
				    "X-Api-User/X-Api-Key not accepted from "
				    "this address",
				    NULL);
	else
		finish_error(ar, 401, "forbidden", NULL);
}

/* ---- client address ----------------------------------------------------- */

static bool
parse_ip(const char *s, size_t len, struct sockaddr_storage *out)
{
	char buf[INET6_ADDRSTRLEN];
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

static void
ip_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	const void *p = ss->ss_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)ss)
					  ->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)ss)
					  ->sin6_addr;
	if (!inet_ntop(ss->ss_family, p, out, (socklen_t)cap))
		ad_strlcpy(out, "?", cap);
}

static bool
in_cidrs(const struct srv_cidr *c, size_t n, const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < n; i++)
		if (srv_cidr_match(&c[i], (const struct sockaddr *)ss))
			return true;
	return false;
}

/* Split a comma-separated header into trimmed, non-empty items. */
static size_t
header_items(const char *h, const char **item, size_t *ilen, size_t max)
{
	size_t n = 0;
	while (h && *h && n < max) {
		const char *comma = strchr(h, ',');
		size_t l = comma ? (size_t)(comma - h) : strlen(h);
		const char *s = h;
		while (l && (*s == ' ' || *s == '\t')) {
			s++;
			l--;
		}
		while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
			l--;
		if (l) {
			item[n] = s;
			ilen[n] = l;
			n++;
		}
		h = comma ? comma + 1 : NULL;
	}
	return n;
}

/*
 * Who is the client (docs/API.md "Client IP"): the TCP peer; behind a
 * trusted proxy, the right-most address of the header that is not itself
 * a trusted proxy; in acme-dns's use_header mode (no trusted_proxies),
 * every address in the header.
 */
static void
client_ips(struct areq *ar)
{
	const struct srv_config *cfg = ar->a->cfg;
	const struct srv_http_req *req = ar->req;
	const char *item[MAX_CLIENT_IPS];
	size_t ilen[MAX_CLIENT_IPS];

	ar->nips = 0;
	memcpy(&ar->ips[0], &req->peer, sizeof(req->peer));
	ar->nips = 1;
	if (cfg->n_trusted_proxies > 0) {
		if (!in_cidrs(cfg->trusted_proxies, cfg->n_trusted_proxies,
			      &req->peer))
			goto out;
		const char *h = srv_http_header(req, cfg->header_name);
		size_t n = header_items(h, item, ilen, MAX_CLIENT_IPS);
		struct sockaddr_storage ss;
		for (size_t i = n; i-- > 0;) {
			if (!parse_ip(item[i], ilen[i], &ss))
				break; /* garbage: trust nothing further left */
			ar->ips[0] = ss;
			if (!in_cidrs(cfg->trusted_proxies,
				      cfg->n_trusted_proxies, &ss))
				break;
		}
	} else if (cfg->use_header) {
		const char *h = srv_http_header(req, cfg->header_name);
		size_t n = header_items(h, item, ilen, MAX_CLIENT_IPS);
		ar->nips = 0;
		for (size_t i = 0; i < n; i++)
			if (parse_ip(item[i], ilen[i], &ar->ips[ar->nips]))
				ar->nips++;
	}
out:
	if (ar->nips)
		ip_text(&ar->ips[0], ar->client, sizeof(ar->client));
	else
		ad_strlcpy(ar->client, "-", sizeof(ar->client));
}

static bool
client_in(const struct areq *ar, const struct srv_cidr *c, size_t n)
{
	for (size_t i = 0; i < ar->nips; i++)
		if (in_cidrs(c, n, &ar->ips[i]))
			return true;
	return false;
}

/* ---- CORS ------------------------------------------------------------ */

static void
cors_headers(struct areq *ar)
{
	const struct srv_list *o = &ar->a->cfg->cors_origins;
	const char *origin = srv_http_header(ar->req, "Origin");
	ar->cors[0] = '\0';
	if (!origin || o->n == 0)
		return;
	for (size_t i = 0; i < o->n; i++) {
		const char *v = o->v[i].value;
		if (strcmp(v, "*") == 0) {
			snprintf(ar->cors, sizeof(ar->cors),
				 "Access-Control-Allow-Origin: *\r\n");
			return;
		}
		if (strcmp(v, origin) == 0 && strlen(v) < 256) {
			snprintf(ar->cors, sizeof(ar->cors),
				 "Access-Control-Allow-Origin: %s\r\n"
				 "Vary: Origin\r\n",
				 v);
			return;
		}
	}
}

/* ---- authentication (update, delete) ------------------------------------- */

static void auth_ok(struct areq *ar, struct srv_reg *r);

static void
bcrypt_work(uv_work_t *w)
{
	struct areq *ar = w->data;
	ar->bcrypt_ok = srv_bcrypt_check(ar->bcrypt, ar->key, strlen(ar->key));
}

static void
on_hash_saved(void *arg, int status)
{
	(void)arg;
	if (status != 0)
		ad_warn("api", "could not store an upgraded password hash: "
			       "%s (the bcrypt hash stays in use)",
			ad_strerror(status));
}

/* First successful use of an imported acme-dns credential: replace its
 * bcrypt hash with ours, in memory and in the store. */
static void
upgrade_hash(struct areq *ar, struct srv_reg *r)
{
	struct srv_hash h;
	char text[SRV_HASH_TEXT];
	if (srv_hash_new(ar->key, strlen(ar->key), &h) != 0)
		return;
	srv_hash_format(&h, text, sizeof(text));
	if (srv_store_reg_set_hash(ar->a->store, ar->user_text, text,
				   on_hash_saved, NULL) != 0)
		return;
	r->hash = h;
	srv_reg_set_ext(r, NULL, r->ext->allow, r->ext->nallow);
	ad_info("api", "user %s: imported bcrypt hash upgraded",
		ar->user_text);
}

static void
bcrypt_done(uv_work_t *w, int status)
{
	struct areq *ar = w->data;
	struct srv_api *a = ar->a;
	a->bcrypt_pending--;
	struct srv_reg *r = srv_regs_find(&a->regs, ar->user);
	if (status != 0 || !ar->bcrypt_ok || !r) {
		forbidden(ar, "wrong key (bcrypt)");
		return;
	}
	/* only upgrade the hash we checked (not a newer one) */
	if (srv_reg_bcrypt(r) && strcmp(srv_reg_bcrypt(r), ar->bcrypt) == 0)
		upgrade_hash(ar, r);
	auth_ok(ar, r);
}

/* acme-dns's Auth(): user name, key, then the client address. */
static void
auth_start(struct areq *ar)
{
	struct srv_api *a = ar->a;
	const char *user = srv_http_header(ar->req, "X-Api-User");
	const char *key = srv_http_header(ar->req, "X-Api-Key");

	if (!user || !srv_uuid_parse(user, strlen(user), ar->user)) {
		forbidden(ar, "X-Api-User is not a UUID");
		return;
	}
	srv_uuid_format(ar->user, ar->user_text);
	if (!key || !srv_key_valid(key, strlen(key))) {
		forbidden(ar, "X-Api-Key is not a valid key");
		return;
	}
	memcpy(ar->key, key, SRV_KEY_LEN + 1);
	struct srv_reg *r = srv_regs_find(&a->regs, ar->user);
	if (!r) {
		forbidden(ar, "no such user");
		return;
	}
	if (srv_reg_bcrypt(r)) {
		if (a->bcrypt_pending >= BCRYPT_MAX_PENDING) {
			if (ar->ep == EP_DOMAINS)
				finish_error_detail(ar, 503, "busy",
						    "too many password checks "
						    "in progress",
						    "Retry-After: 1\r\n");
			else
				finish_error(ar, 503, "busy",
					     "Retry-After: 1\r\n");
			return;
		}
		ar->bcrypt = xstrdup(srv_reg_bcrypt(r));
		ar->work.data = ar;
		if (uv_queue_work(a->loop, &ar->work, bcrypt_work,
				  bcrypt_done) != 0) {
			finish_error(ar, 500, "internal_error", NULL);
			return;
		}
		a->bcrypt_pending++;
		return;
	}
	if (!srv_hash_check(&r->hash, ar->key, strlen(ar->key))) {
		forbidden(ar, "wrong key");
		return;
	}
	auth_ok(ar, r);
}

/* ---- /update ------------------------------------------------------------- */

static void
on_txt_committed(void *arg, int status)
{
	struct areq *ar = arg;
	if (status != 0) {
		ad_err("api", "update for %s not stored: %s", ar->user_text,
		       ad_strerror(status));
		update_result(ar, UPD_ERROR);
		finish_error(ar, 500, "db_error", NULL);
		return;
	}
	update_result(ar, UPD_OK);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "txt", ar->txt);
	finish_json(ar, 200, j, NULL);
}

static void
do_update(struct areq *ar, struct srv_reg *r)
{
	struct srv_api *a = ar->a;
	char sub[SRV_API_FIELD_MAX], txt[SRV_API_FIELD_MAX], own[37];
	size_t sublen, txtlen;

	srv_api_parse_update(ar->req->body, ar->req->body_len, sub, &sublen,
			     txt, &txtlen);
	srv_uuid_format(r->sub, own);
	/* case-sensitive, as acme-dns compares */
	if (sublen != 36 || strcmp(sub, own) != 0) {
		forbidden(ar, "subdomain mismatch");
		return;
	}
	if (!srv_subdomain_valid(sub, sublen)) {
		update_result(ar, UPD_BADSUB);
		finish_error(ar, 400, "bad_subdomain", NULL);
		return;
	}
	if (!srv_txt_valid(txt, txtlen)) {
		update_result(ar, UPD_BADTXT);
		finish_error(ar, 400, "bad_txt", NULL);
		return;
	}
	memcpy(ar->sub, own, sizeof(ar->sub));
	memcpy(ar->txt, txt, SRV_TXT_LEN + 1);
	/* strictly increasing per name: two updates in one millisecond must
	 * still rotate in request order, in memory and in the store alike
	 * (a tie would be broken differently by each) */
	uint64_t now = ad_now_ms();
	uint64_t newest = zone_txt_newest(a->zone, ar->sub);
	if (now <= newest)
		now = newest + 1;
	/* DNS first: the value is served before the 200 goes out */
	int rc = zone_txt_push(a->zone, ar->sub, ar->txt, SRV_TXT_LEN, now,
			       a->cfg->txt_slots);
	if (rc == 0)
		rc = srv_store_txt_push(a->store, ar->sub, ar->txt,
					(int64_t)now, a->cfg->txt_slots,
					on_txt_committed, ar);
	if (rc != 0) {
		ad_err("api", "update for %s failed: %s", ar->user_text,
		       ad_strerror(rc));
		update_result(ar, UPD_ERROR);
		finish_error(ar, 500, "db_error", NULL);
	}
}

/* ---- DELETE /register -------------------------------------------------- */

static void
on_reg_deleted(void *arg, int status)
{
	struct areq *ar = arg;
	if (status != 0 && status != AD_ENOENT) {
		ad_err("api", "delete of %s not stored: %s", ar->user_text,
		       ad_strerror(status));
		finish_error(ar, 500, "db_error", NULL);
		return;
	}
	ad_info("api", "registration %s deleted", ar->user_text);
	finish(ar, 204, NULL, NULL, NULL, 0);
}

static void
do_deregister(struct areq *ar, struct srv_reg *r)
{
	struct srv_api *a = ar->a;
	char sub[37];

	srv_uuid_format(r->sub, sub);
	/* gone from memory and DNS at once: later requests see no user */
	srv_reg_free(srv_regs_remove(&a->regs, ar->user));
	zone_sub_unregister(a->zone, sub);
	/* its managed domains go too: nobody could reach them any more */
	if (a->acme) {
		srv_acme_owner_deleted(a->acme, ar->user_text);
		srv_api__doms_owner_deleted(a->doms, ar->user_text);
	}
	int rc = srv_store_reg_delete(a->store, ar->user_text, on_reg_deleted,
				      ar);
	if (rc != 0) {
		ad_err("api", "delete of %s failed: %s", ar->user_text,
		       ad_strerror(rc));
		finish_error(ar, 500, "db_error", NULL);
	}
}

/* ---- /domains (server/api_domains.c) ------------------------------------ */

static void
domains_reply(void *arg, int status, const char *ctype, const char *extra,
	      const char *body, size_t len)
{
	finish(arg, status, ctype, extra, body, len);
}

static void
do_domains(struct areq *ar, struct srv_reg *r)
{
	struct srv_api *a = ar->a;
	char sub[37];

	srv_uuid_format(r->sub, sub);
	struct srv_api__dreq q = {
		.acme = a->acme,
		.doms = a->doms,
		.store = a->store,
		.apex = a->cfg->domain,
		.owner = ar->user_text,
		.subdomain = sub,
		.account_error = srv_acme_account_error(a->acme),
		.body = ar->req->body,
		.body_len = ar->req->body_len,
		.reply = domains_reply,
		.arg = ar,
	};
	srv_api__domains_exec(&ar->droute, &q);
}

static void
auth_ok(struct areq *ar, struct srv_reg *r)
{
	if (srv_reg_nallow(r) &&
	    !client_in(ar, r->ext->allow, r->ext->nallow)) {
		forbidden(ar, "client address not in allowfrom");
		return;
	}
	if (ar->ep == EP_UPDATE)
		do_update(ar, r);
	else if (ar->ep == EP_DOMAINS)
		do_domains(ar, r);
	else
		do_deregister(ar, r);
}

/* ---- POST /register ---------------------------------------------------- */

static void
on_reg_committed(void *arg, int status)
{
	struct areq *ar = arg;
	struct srv_api *a = ar->a;
	char sub[37];

	if (status != 0) {
		ad_err("api", "registration not stored: %s",
		       ad_strerror(status));
		finish_error(ar, 500, "db_error", NULL);
		return;
	}
	struct srv_reg *r = ar->newreg;
	srv_uuid_format(r->sub, sub);
	int rc = srv_regs_add(&a->regs, r);
	if (rc == 0) {
		ar->newreg = NULL;
		rc = zone_sub_register(a->zone, sub);
	}
	if (rc != 0) {
		/* a UUID collision: astronomically unlikely, never silent */
		ad_err("api", "registration %s: %s", ar->user_text,
		       ad_strerror(rc));
		finish_error(ar, 500, "internal_error", NULL);
		return;
	}
	char full[300];
	snprintf(full, sizeof(full), "%s.%s", sub, a->cfg->domain);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "username", ar->user_text);
	cJSON_AddStringToObject(j, "password", ar->password);
	cJSON_AddStringToObject(j, "fulldomain", full);
	cJSON_AddStringToObject(j, "subdomain", sub);
	cJSON *allow = cJSON_AddArrayToObject(j, "allowfrom");
	for (uint32_t i = 0; i < srv_reg_nallow(r); i++)
		cJSON_AddItemToArray(
			allow, cJSON_CreateString(r->ext->allow[i].text));
	ad_info("api", "%s: registered %s (subdomain %s)", ar->client,
		ar->user_text, sub);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		abort();
	finish(ar, 201, "application/json", NULL, s, strlen(s));
	OPENSSL_cleanse(s, strlen(s)); /* it holds the password */
	free(s);
}

static bool
bearer_ok(const struct areq *ar, const char *token)
{
	const char *h = srv_http_header(ar->req, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	/* compare digests: constant time whatever the lengths */
	uint8_t d1[32], d2[32];
	unsigned int l1 = 0, l2 = 0;
	if (!EVP_Digest(h, strlen(h), d1, &l1, EVP_sha256(), NULL) ||
	    !EVP_Digest(token, strlen(token), d2, &l2, EVP_sha256(), NULL))
		return false;
	return ad_ct_equal(d1, d2, sizeof(d1));
}

static void
do_register(struct areq *ar)
{
	struct srv_api *a = ar->a;
	const struct srv_config *cfg = a->cfg;
	struct srv_cidr *cidrs = NULL;
	size_t n = 0;

	if (cfg->disable_registration) {
		finish_error(ar, 403, "registration_disabled", NULL);
		return;
	}
	if (cfg->n_registration_allowfrom &&
	    !client_in(ar, cfg->registration_allowfrom,
		       cfg->n_registration_allowfrom)) {
		finish_error(ar, 403, "forbidden", NULL);
		return;
	}
	if (*cfg->registration_token &&
	    !bearer_ok(ar, cfg->registration_token)) {
		finish_error(ar, 401, "unauthorized",
			     "WWW-Authenticate: Bearer\r\n");
		return;
	}
	switch (srv_api_parse_register(ar->req->body, ar->req->body_len,
				       &cidrs, &n)) {
	case SRV_API_OK:
		break;
	case SRV_API_MALFORMED:
		finish_error(ar, 400, "malformed_json_payload", NULL);
		return;
	default:
		finish_error(ar, 400, "invalid_allowfrom_cidr", NULL);
		return;
	}

	struct srv_reg *r = xcalloc(1, sizeof(*r));
	srv_reg_set_ext(r, NULL, cidrs, n);
	ar->newreg = r;
	char sub[37], hash[SRV_HASH_TEXT];
	if (srv_uuid4(ar->user_text) || srv_uuid4(sub) ||
	    srv_key_new(ar->password) ||
	    srv_hash_new(ar->password, SRV_KEY_LEN, &r->hash)) {
		free(cidrs);
		finish_error(ar, 500, "internal_error", NULL);
		return;
	}
	srv_uuid_parse(ar->user_text, 36, r->user);
	srv_uuid_parse(sub, 36, r->sub);
	srv_hash_format(&r->hash, hash, sizeof(hash));

	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(cidrs[i].text));
	free(cidrs);
	ar->allow_json = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	if (!ar->allow_json)
		abort();

	struct srv_store_reg sr = {.allowfrom = ar->allow_json,
				   .created = (int64_t)(ad_now_ms() / 1000)};
	memcpy(sr.username, ar->user_text, sizeof(sr.username));
	memcpy(sr.subdomain, sub, sizeof(sr.subdomain));
	ad_strlcpy(sr.hash, hash, sizeof(sr.hash));
	int rc = srv_store_reg_put(a->store, &sr, on_reg_committed, ar);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc != 0) {
		ad_err("api", "registration failed: %s", ad_strerror(rc));
		finish_error(ar, 500, "db_error", NULL);
	}
}

/* ---- /metrics ------------------------------------------------------------ */

static const char *
rcode_name(size_t rc)
{
	static const char *const n[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		"NOTZONE",
	};
	if (rc < AD_ARRAY_SIZE(n))
		return n[rc];
	return rc == 16 ? "BADVERS" : NULL;
}

static void
do_metrics(struct areq *ar)
{
	struct srv_api *a = ar->a;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();

	fprintf(f, "# HELP acmedns_registrations Registrations in memory.\n"
		   "# TYPE acmedns_registrations gauge\n"
		   "acmedns_registrations %zu\n",
		a->regs.n);
	fprintf(f, "# HELP acmedns_api_requests_total API requests by "
		   "endpoint and status.\n"
		   "# TYPE acmedns_api_requests_total counter\n");
	for (size_t e = 0; e < EP_N; e++)
		for (size_t s = 0; s < NSTATUS; s++)
			if (a->m.requests[e][s])
				fprintf(f,
					"acmedns_api_requests_total{endpoint="
					"\"%s\",code=\"%d\"} %llu\n",
					ep_name[e],
					s < NSTATUS - 1 ? status_list[s] : 0,
					(unsigned long long)a->m.requests[e][s]);
	fprintf(f, "# HELP acmedns_updates_total /update requests by result.\n"
		   "# TYPE acmedns_updates_total counter\n");
	for (size_t u = 0; u < UPD_N; u++)
		fprintf(f, "acmedns_updates_total{result=\"%s\"} %llu\n",
			upd_name[u], (unsigned long long)a->m.updates[u]);
	fprintf(f, "# HELP acmedns_api_request_duration_seconds Time from "
		   "the first byte to the response.\n"
		   "# TYPE acmedns_api_request_duration_seconds histogram\n");
	for (size_t e = 0; e < EP_N; e++) {
		uint64_t cum = 0;
		for (size_t h = 0; h <= NHIST; h++) {
			cum += a->m.hist[e][h];
			char le[32];
			if (h < NHIST)
				snprintf(le, sizeof(le), "%g", hist_le[h]);
			else
				snprintf(le, sizeof(le), "+Inf");
			fprintf(f,
				"acmedns_api_request_duration_seconds_bucket{"
				"endpoint=\"%s\",le=\"%s\"} %llu\n",
				ep_name[e], le, (unsigned long long)cum);
		}
		fprintf(f,
			"acmedns_api_request_duration_seconds_sum{endpoint="
			"\"%s\"} %.6f\n"
			"acmedns_api_request_duration_seconds_count{endpoint="
			"\"%s\"} %llu\n",
			ep_name[e], a->m.hist_sum[e], ep_name[e],
			(unsigned long long)cum);
	}
	if (a->dns) {
		struct srv_dns_stats ds;
		srv_dns_stats(a->dns, &ds);
		const struct srv_dns_stats *d = &ds;
		fprintf(f,
			"# HELP acmedns_dns_queries_total DNS queries "
			"received.\n"
			"# TYPE acmedns_dns_queries_total counter\n"
			"acmedns_dns_queries_total{proto=\"udp\"} %llu\n"
			"acmedns_dns_queries_total{proto=\"tcp\"} %llu\n",
			(unsigned long long)d->udp_queries,
			(unsigned long long)d->tcp_queries);
		fprintf(f, "# HELP acmedns_dns_responses_total DNS responses "
			   "by rcode.\n"
			   "# TYPE acmedns_dns_responses_total counter\n");
		for (size_t rc = 0; rc < AD_ARRAY_SIZE(d->rcode); rc++) {
			const char *n = rcode_name(rc);
			if (n)
				fprintf(f,
					"acmedns_dns_responses_total{rcode="
					"\"%s\"} %llu\n",
					n, (unsigned long long)d->rcode[rc]);
		}
		fprintf(f, "# HELP acmedns_dns_queries_by_type_total DNS "
			   "queries by type.\n"
			   "# TYPE acmedns_dns_queries_by_type_total counter\n");
		for (size_t s = 0; s < SRV_DNS_QTYPES; s++) {
			uint16_t t = srv_dns_qtype_of_slot(s);
			char tn[24];
			const char *name = t ? dw_type_str(t, tn) : "other";
			fprintf(f,
				"acmedns_dns_queries_by_type_total{qtype="
				"\"%s\"} %llu\n",
				name, (unsigned long long)d->qtype[s]);
		}
		fprintf(f,
			"# HELP acmedns_dns_truncated_total TC=1 answers.\n"
			"# TYPE acmedns_dns_truncated_total counter\n"
			"acmedns_dns_truncated_total %llu\n",
			(unsigned long long)d->truncated);
	}
	if (a->acme) {
		struct srv_acme_stats as;
		memset(&as, 0, sizeof(as));
		srv_acme_stats(a->acme, &as);
		fprintf(f, "# HELP acmedns_acme_domains Managed domains by "
			   "status.\n"
			   "# TYPE acmedns_acme_domains gauge\n");
		for (size_t i = 0; i < AD_ARRAY_SIZE(as.by_status); i++) {
			const char *n = acme_dstatus_name((enum acme_dstatus)i);
			if (n)
				fprintf(f,
					"acmedns_acme_domains{status=\"%s\"} "
					"%zu\n",
					n, as.by_status[i]);
		}
		fprintf(f,
			"# HELP acmedns_acme_certificates_issued_total "
			"Certificates issued.\n"
			"# TYPE acmedns_acme_certificates_issued_total "
			"counter\n"
			"acmedns_acme_certificates_issued_total %llu\n"
			"# HELP acmedns_acme_orders_failed_total Orders that "
			"failed.\n"
			"# TYPE acmedns_acme_orders_failed_total counter\n"
			"acmedns_acme_orders_failed_total %llu\n",
			(unsigned long long)as.issued,
			(unsigned long long)as.failed);
		/* /health stays 200 (DNS and the API work); this is what to
		 * alert on when no certificate can be ordered */
		fprintf(f,
			"# HELP acmedns_acme_account_ready 1 when the ACME "
			"directory is loaded and the account is valid.\n"
			"# TYPE acmedns_acme_account_ready gauge\n"
			"acmedns_acme_account_ready %d\n",
			as.account_ready ? 1 : 0);
	}
	struct srv_store_stats st;
	srv_store_stats(a->store, &st);
	fprintf(f,
		"# HELP acmedns_store_commits_total SQLite transactions "
		"committed.\n"
		"# TYPE acmedns_store_commits_total counter\n"
		"acmedns_store_commits_total %llu\n"
		"# HELP acmedns_store_operations_total Writes applied.\n"
		"# TYPE acmedns_store_operations_total counter\n"
		"acmedns_store_operations_total %llu\n"
		"# HELP acmedns_store_failures_total Writes that failed.\n"
		"# TYPE acmedns_store_failures_total counter\n"
		"acmedns_store_failures_total %llu\n"
		"# HELP acmedns_store_queue Writes waiting for a commit.\n"
		"# TYPE acmedns_store_queue gauge\n"
		"acmedns_store_queue %llu\n",
		(unsigned long long)st.commits, (unsigned long long)st.ops,
		(unsigned long long)st.failures, (unsigned long long)st.queued);
	fclose(f);
	finish(ar, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, buf,
	       len);
	free(buf);
}

/* ---- routing ------------------------------------------------------------- */

static void
preflight(struct areq *ar, const char *allow)
{
	char extra[256];
	if (ar->cors[0])
		snprintf(extra, sizeof(extra),
			 "Access-Control-Allow-Methods: GET, POST, DELETE, "
			 "OPTIONS\r\n"
			 "Access-Control-Allow-Headers: Content-Type, "
			 "X-Api-User, X-Api-Key, Authorization\r\n"
			 "Access-Control-Max-Age: 600\r\n");
	else
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	finish(ar, 204, NULL, extra, NULL, 0);
}

static void
not_allowed(struct areq *ar, const char *allow)
{
	char extra[128];
	snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	finish_error(ar, 405, "method_not_allowed", extra);
}

/* Answers that need no credentials come first: unknown resources, wrong
 * methods, preflights, and the engine being off (a configuration fact,
 * not a secret). Everything else is authenticated like /update. */
static void
route_domains(struct areq *ar)
{
	const struct srv_api__droute *r = &ar->droute;

	ar->ep = EP_DOMAINS;
	if (r->op == SRV_API__D_NOTFOUND) {
		finish_error_detail(ar, 404, "not_found", "no such resource",
				    NULL);
	} else if (r->op == SRV_API__D_OPTIONS) {
		preflight(ar, r->allow);
	} else if (r->op == SRV_API__D_METHOD) {
		char extra[128];
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", r->allow);
		finish_error_detail(ar, 405, "method_not_allowed",
				    "method not allowed here (see Allow)",
				    extra);
	} else if (!ar->a->acme) {
		finish_error_detail(ar, 503, "acme_disabled",
				    "[acme] directory is not set", NULL);
	} else {
		auth_start(ar);
	}
}

void
srv_api_handle(void *ctx, struct srv_http_req *req)
{
	struct srv_api *a = ctx;
	struct areq *ar = xcalloc(1, sizeof(*ar));
	const char *m = req->method, *p = req->path;

	ar->a = a;
	ar->req = req;
	ar->ep = EP_OTHER;
	client_ips(ar);
	cors_headers(ar);

	bool opt = strcmp(m, "OPTIONS") == 0;
	if (strcmp(p, "/register") == 0) {
		static const char allow[] = "POST, DELETE, OPTIONS";
		if (strcmp(m, "POST") == 0) {
			ar->ep = EP_REGISTER;
			do_register(ar);
		} else if (strcmp(m, "DELETE") == 0) {
			ar->ep = EP_DEREGISTER;
			auth_start(ar);
		} else if (opt) {
			preflight(ar, allow);
		} else {
			not_allowed(ar, allow);
		}
	} else if (strcmp(p, "/update") == 0) {
		if (strcmp(m, "POST") == 0) {
			ar->ep = EP_UPDATE;
			auth_start(ar);
		} else if (opt) {
			preflight(ar, "POST, OPTIONS");
		} else {
			not_allowed(ar, "POST, OPTIONS");
		}
	} else if (strcmp(p, "/health") == 0) {
		ar->ep = EP_HEALTH;
		if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
			finish(ar, 200, NULL, NULL, NULL, 0);
		else if (opt)
			preflight(ar, "GET, HEAD, OPTIONS");
		else
			not_allowed(ar, "GET, HEAD, OPTIONS");
	} else if (srv_api__domains_route(m, p, &ar->droute)) {
		route_domains(ar);
	} else if (strcmp(p, "/metrics") == 0) {
		ar->ep = EP_METRICS;
		if (strcmp(m, "GET") == 0)
			do_metrics(ar);
		else
			not_allowed(ar, "GET");
	} else {
		finish_error(ar, 404, "not_found", NULL);
	}
}

/* ---- life cycle ---------------------------------------------------------- */

int
srv_api_new(const struct srv_api_opts *o, struct srv_api **out, char *err,
	    size_t errlen)
{
	struct srv_api *a = xcalloc(1, sizeof(*a));
	a->loop = o->loop;
	a->cfg = o->cfg;
	a->zone = o->zone;
	a->store = o->store;
	a->acme = o->acme;
	a->doms = srv_api__doms_new();
	if (srv_regs_init(&a->regs) != 0) {
		snprintf(err, errlen, "no randomness for the hash key");
		srv_regs_free(&a->regs);
		srv_api__doms_free(a->doms);
		free(a);
		return 1;
	}
	if (a->cfg->use_header && a->cfg->n_trusted_proxies == 0)
		ad_warn("api", "[api] use_header trusts %s from every client: "
			       "only safe behind a proxy that overwrites it; "
			       "prefer [api] trusted_proxies",
			a->cfg->header_name);
	*out = a;
	return 0;
}

struct loadctx {
	struct srv_api *a;
	size_t regs, txts, skipped, badcidrs;
};

static int
load_reg(void *arg, const struct srv_store_reg *sr)
{
	struct loadctx *lc = arg;
	struct srv_api *a = lc->a;
	struct srv_reg *r = xcalloc(1, sizeof(*r));
	size_t bad = 0, n = 0;

	if (!srv_uuid_parse(sr->username, strlen(sr->username), r->user) ||
	    !srv_uuid_parse(sr->subdomain, strlen(sr->subdomain), r->sub)) {
		ad_warn("store", "registration %.40s: user name or subdomain "
				 "is not a UUID, skipped",
			sr->username);
		goto skip;
	}
	const char *bcrypt = NULL;
	if (srv_hash_is_bcrypt(sr->hash)) {
		bcrypt = sr->hash;
	} else if (srv_hash_parse(sr->hash, &r->hash) != 0) {
		ad_warn("store", "registration %s: unknown password hash "
				 "format, skipped",
			sr->username);
		goto skip;
	}
	struct srv_cidr *cidrs = NULL;
	if (srv_api_cidrs_from_json(sr->allowfrom, &cidrs, &n, &bad)) {
		ad_warn("store", "registration %s: allowfrom is not a JSON "
				 "array, skipped (it would allow everyone)",
			sr->username);
		goto skip;
	}
	srv_reg_set_ext(r, bcrypt, cidrs, n);
	free(cidrs);
	if (bad) {
		lc->badcidrs += bad;
		if (n == 0) {
			/* every entry was bad: never widen to "any" */
			ad_warn("store", "registration %s: no valid allowfrom "
					 "entry, skipped",
				sr->username);
			goto skip;
		}
	}
	char sub[37];
	srv_uuid_format(r->sub, sub);
	if (srv_regs_add(&a->regs, r) != 0) {
		ad_warn("store", "registration %s: duplicate, skipped",
			sr->username);
		goto skip;
	}
	int rc = zone_sub_register(a->zone, sub);
	if (rc != 0 && rc != AD_EEXIST)
		ad_warn("store", "registration %s: subdomain %s: %s",
			sr->username, sub, ad_strerror(rc));
	lc->regs++;
	return 0;
skip:
	lc->skipped++;
	srv_reg_free(r);
	return 0;
}

static int
load_txt(void *arg, const char *sub, const char *value, int64_t updated_ms)
{
	struct loadctx *lc = arg;
	size_t len = strlen(value);
	if (len == 0 || len > ZONE_TXT_MAX)
		return 0;
	if (zone_txt_push(lc->a->zone, sub, value, len,
			  updated_ms > 0 ? (uint64_t)updated_ms : 0,
			  lc->a->cfg->txt_slots) == 0)
		lc->txts++;
	return 0;
}

int
srv_api_load(struct srv_api *a, char *err, size_t errlen)
{
	struct loadctx lc = {.a = a};
	struct srv_store_visitor v = {.reg = load_reg, .txt = load_txt};
	uint64_t t0 = ad_mono_ms();
	int rc = srv_store_load(a->store, &v, &lc);
	if (rc != 0) {
		snprintf(err, errlen, "cannot load the store: %s",
			 ad_strerror(rc));
		return 1;
	}
	ad_info("store", "loaded %zu registrations and %zu TXT values in "
			 "%llu ms%s",
		lc.regs, lc.txts, (unsigned long long)(ad_mono_ms() - t0),
		lc.skipped ? " (some skipped, see above)" : "");
	if (lc.badcidrs)
		ad_warn("store", "%zu invalid allowfrom entries ignored",
			lc.badcidrs);
	/* which managed domain belongs to whom, for GET /domains */
	if (a->acme) {
		rc = srv_api__doms_load(a->doms, a->store);
		if (rc != 0) {
			snprintf(err, errlen, "cannot load managed domains: %s",
				 ad_strerror(rc));
			return 1;
		}
	}
	return 0;
}

/* One registration read on the store's writer thread (srv_store_submit:
 * the loop never waits for SQLite), then added on the loop thread. */
struct regload {
	struct srv_api *a;
	char username[SRV_UUID_LEN + 1];
	bool found;
	struct srv_store_reg r;
	char *allowfrom;
};

/* Writer thread: only rl's own fields are touched. */
static int
regload_read(struct sqlite3 *db, void *arg)
{
	struct regload *rl = arg;
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT subdomain, hash, allowfrom, created "
			       "FROM registrations WHERE username = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return AD_EIO;
	sqlite3_bind_text(st, 1, rl->username, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *sub = (const char *)sqlite3_column_text(st, 0);
		const char *hash = (const char *)sqlite3_column_text(st, 1);
		const char *allow = (const char *)sqlite3_column_text(st, 2);
		/* only an outside edit makes these: load_reg warns about
		 * what is left */
		if (sub && hash && strlen(sub) <= SRV_UUID_LEN &&
		    strlen(hash) <= SRV_HASH_MAX) {
			memcpy(rl->r.username, rl->username,
			       sizeof(rl->r.username));
			ad_strlcpy(rl->r.subdomain, sub,
				   sizeof(rl->r.subdomain));
			ad_strlcpy(rl->r.hash, hash, sizeof(rl->r.hash));
			rl->allowfrom = xstrdup(allow ? allow : "[]");
			rl->r.created = sqlite3_column_int64(st, 3);
			rl->found = true;
		}
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : AD_EIO;
}

static void
regload_done(void *arg, int status)
{
	struct regload *rl = arg;
	struct loadctx lc = {.a = rl->a};

	if (status != 0) {
		ad_err("api", "registration %s not loaded: %s", rl->username,
		       ad_strerror(status));
	} else if (!rl->found) {
		ad_warn("api", "registration %s: no such row, not loaded",
			rl->username);
	} else {
		rl->r.allowfrom = rl->allowfrom;
		load_reg(&lc, &rl->r);
		if (lc.regs)
			ad_info("api", "registration %s (subdomain %s) loaded "
				       "from the store",
				rl->username, rl->r.subdomain);
	}
	OPENSSL_cleanse(rl->r.hash, sizeof(rl->r.hash));
	free(rl->allowfrom);
	free(rl);
}

int
srv_api_load_registration(struct srv_api *a, const char *username)
{
	struct regload *rl;
	uint8_t u[16];
	int rc;

	if (!a || !username || !srv_uuid_parse(username, strlen(username), u))
		return AD_EINVAL;
	if (srv_regs_find(&a->regs, u))
		return AD_EEXIST;
	rl = xcalloc(1, sizeof(*rl));
	rl->a = a;
	srv_uuid_format(u, rl->username);
	rc = srv_store_submit(a->store, regload_read, rl, regload_done, rl);
	if (rc != 0)
		free(rl); /* not queued: regload_done is not called */
	return rc;
}

void
srv_api_set_dns(struct srv_api *a, const struct srv_dns *dns)
{
	a->dns = dns;
}

void
srv_api_set_config(struct srv_api *a, const struct srv_config *cfg)
{
	a->cfg = cfg;
}

size_t
srv_api_registrations(const struct srv_api *a)
{
	return a->regs.n;
}

void
srv_api_free(struct srv_api *a)
{
	if (!a)
		return;
	srv_regs_free(&a->regs);
	srv_api__doms_free(a->doms);
	free(a);
}
