/* SPDX-License-Identifier: MIT */
/*
 * The pure helpers of the ACME engine's public header: domain status names,
 * the managed-domain record (clear, deep copy, JSON for the store with a
 * strict validating parser), the challenge name of an identifier and the
 * renewal time (RFC 9773 window or a share of the lifetime). Nothing here
 * touches an engine, the network or a clock; the JSON parser reads what
 * the store hands back, so it bounds and type-checks every member.
 */
#include "acme/engine.h"
#include "acme/engine_int.h"
#include "common/errors.h"
#include "common/xalloc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* The store keeps whole PEM chains and keys; nothing legitimate is near
 * this, it only bounds what a corrupted row can make us copy. */
#define DOM_MAX_PEM (1u << 20)
#define DOM_MAX_ERROR 4096
#define DOM_MAX_HOOK 4096
/* Times: unix seconds, 0 .. year 9999. */
#define DOM_MAX_TIME 253402300799LL

/*
 * The members of struct acme_domain that are kept as they are, in one
 * table for clear, copy and both JSON directions: optional strings (NULL
 * when absent) of at most max bytes in the store, secrets among them
 * cleansed when freed, and times (unix seconds, 0 when unset, at most
 * DOM_MAX_TIME). The kind follows from the member's C type, so a wrong
 * entry does not compile. The other members have rules of their own.
 */
enum dom_kind { DM_STR, DM_TIME };

static const struct {
	const char *name;
	enum dom_kind kind;
	size_t off;
	size_t max; /* strings: longest value the store may hand back */
	bool secret;
} dom_members[] = {
#define DM_KIND(m)                                                             \
	_Generic(((struct acme_domain *)0)->m, char *: DM_STR, int64_t: DM_TIME)
#define DM(m) #m, DM_KIND(m), offsetof(struct acme_domain, m)
    {DM(csr_pem), DOM_MAX_PEM, false},
    {DM(created), 0, false},
    {DM(deploy_hook), DOM_MAX_HOOK, false},
    {DM(error), DOM_MAX_ERROR, false},
    {DM(next_attempt), 0, false},
    {DM(cert_pem), DOM_MAX_PEM, false},
    {DM(key_pem), DOM_MAX_PEM, true},
    {DM(key_created), 0, false},
    {DM(not_before), 0, false},
    {DM(not_after), 0, false},
    {DM(renew_at), 0, false},
    {DM(ari_id), 255, false},
    {DM(order_url), ACME_MSG_MAX_URL, false},
    {DM(next_key_pem), DOM_MAX_PEM, true},
#undef DM
#undef DM_KIND
};

#define N_DOM_MEMBERS (sizeof(dom_members) / sizeof(dom_members[0]))

/* The string member i of d (DM_STR). */
static char **
dom_str(struct acme_domain *d, size_t i)
{
	return (char **)((char *)d + dom_members[i].off);
}

/* The time member i of d (DM_TIME). */
static int64_t *
dom_time(struct acme_domain *d, size_t i)
{
	return (int64_t *)((char *)d + dom_members[i].off);
}

static const char *const dstatus_names[] = {
    [ACME_DS_AWAITING_DELEGATION] = "awaiting_delegation",
    [ACME_DS_PENDING] = "pending",
    [ACME_DS_VALID] = "valid",
    [ACME_DS_RENEWING] = "renewing",
    [ACME_DS_INVALID] = "invalid",
    [ACME_DS_REVOKED] = "revoked",
};

const char *
acme_dstatus_name(enum acme_dstatus s)
{
	if ((unsigned)s >= sizeof(dstatus_names) / sizeof(dstatus_names[0]))
		return "unknown";
	return dstatus_names[s];
}

int
acme_dstatus_parse(const char *s, enum acme_dstatus *out)
{
	if (!s)
		return AD_EINVAL;
	for (unsigned i = 0;
	     i < sizeof(dstatus_names) / sizeof(dstatus_names[0]); i++) {
		if (strcmp(s, dstatus_names[i]) == 0) {
			*out = (enum acme_dstatus)i;
			return 0;
		}
	}
	return AD_EINVAL;
}

void
acme_domain_clear(struct acme_domain *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nnames; i++)
		free(d->names[i]);
	free(d->names);
	for (size_t i = 0; i < N_DOM_MEMBERS; i++) {
		if (dom_members[i].kind != DM_STR)
			continue;
		if (dom_members[i].secret)
			acme_secret_free(*dom_str(d, i));
		else
			free(*dom_str(d, i));
	}
	memset(d, 0, sizeof(*d));
}

int
acme_domain_copy(struct acme_domain *dst, const struct acme_domain *src)
{
	/* the fixed-size members first, then every pointer replaced by a
	 * copy of its own (xalloc aborts on OOM, so this cannot fail) */
	*dst = *src;
	dst->names = NULL;
	if (src->nnames) {
		dst->names = xcalloc(src->nnames, sizeof(*dst->names));
		for (size_t i = 0; i < src->nnames; i++)
			dst->names[i] = xstrdup(src->names[i]);
	}
	for (size_t i = 0; i < N_DOM_MEMBERS; i++) {
		if (dom_members[i].kind != DM_STR)
			continue;
		char **p = dom_str(dst, i);
		if (*p)
			*p = xstrdup(*p);
	}
	return 0;
}

void
acme_account_state_clear(struct acme_account_state *a)
{
	if (!a)
		return;
	acme_secret_free(a->key_pem);
	free(a->url);
	free(a->directory);
	free(a->status);
	memset(a, 0, sizeof(*a));
}

/* ---- validation ------------------------------------------------------- */

bool
acme__name_ok(const char *name)
{
	return name && acme_name_valid(name, strlen(name));
}

/* Registration ids and subdomains: [A-Za-z0-9_.-], bounded. The in-zone
 * subdomain ("_acme-challenge.api") needs '_' and '.'. */
static bool
token_ok(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

/* ---- JSON --------------------------------------------------------------- */

static void
add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
}

static void
add_int(cJSON *o, const char *k, int64_t v)
{
	/* exact: every time and counter we keep is far below 2^53 */
	cJSON_AddNumberToObject(o, k, (double)v);
}

struct cJSON *
acme_domain_to_json(const struct acme_domain *d)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", d->id);
	cJSON_AddStringToObject(o, "owner", d->owner);
	cJSON_AddStringToObject(o, "subdomain", d->subdomain);
	cJSON *names = cJSON_AddArrayToObject(o, "names");
	for (size_t i = 0; names && i < d->nnames; i++)
		cJSON_AddItemToArray(names, cJSON_CreateString(d->names[i]));
	cJSON_AddStringToObject(o, "key_type", acme_keytype_name(d->key_type));
	cJSON *tlsa = cJSON_AddArrayToObject(o, "tlsa");
	for (size_t i = 0; tlsa && i < d->ntlsa && i < ACME_MAX_TLSA; i++) {
		cJSON *t = cJSON_CreateObject();
		add_int(t, "port", d->tlsa[i].port);
		cJSON_AddStringToObject(t, "proto", d->tlsa[i].proto);
		cJSON_AddItemToArray(tlsa, t);
	}
	cJSON_AddBoolToObject(o, "in_zone", d->in_zone);
	cJSON_AddStringToObject(o, "status", acme_dstatus_name(d->status));
	add_int(o, "failures", d->failures);
	for (size_t i = 0; i < N_DOM_MEMBERS; i++) {
		const char *m = (const char *)d + dom_members[i].off;

		if (dom_members[i].kind == DM_TIME)
			add_int(o, dom_members[i].name, *(const int64_t *)m);
		else
			add_str(o, dom_members[i].name, *(char *const *)m);
	}
	return o;
}

/* Optional string member: absent or null -> NULL; else a string of at most
 * max bytes without NUL inside (cJSON strings cannot hold one). */
static int
get_str(const cJSON *o, const char *k, size_t max, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring ||
	    strlen(v->valuestring) > max)
		return AD_EMALF;
	*out = xstrdup(v->valuestring);
	return 0;
}

/* Required string member copied into a fixed buffer. */
static int
get_fixed(const cJSON *o, const char *k, char *buf, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsString(v) || !v->valuestring ||
	    strlen(v->valuestring) >= cap)
		return AD_EMALF;
	strcpy(buf, v->valuestring);
	return 0;
}

/* Optional integer member in [min, max]; absent -> 0. */
static int
get_int(const cJSON *o, const char *k, int64_t min, int64_t max, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = 0;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v))
		return AD_EMALF;
	double x = v->valuedouble;
	/* integral and inside the range; the range check comes first so
	 * that the cast below is defined */
	if (!(x >= (double)min && x <= (double)max))
		return AD_EMALF;
	int64_t i = (int64_t)x;
	if ((double)i != x)
		return AD_EMALF;
	*out = i;
	return 0;
}

static int
parse_names(const cJSON *arr, struct acme_domain *d)
{
	if (!cJSON_IsArray(arr))
		return AD_EMALF;
	int n = cJSON_GetArraySize(arr);
	if (n < 1 || n > ACME_MAX_NAMES)
		return AD_EMALF;
	d->names = xcalloc((size_t)n, sizeof(*d->names));
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it) || !acme__name_ok(it->valuestring))
			return AD_EMALF;
		d->names[d->nnames++] = xstrdup(it->valuestring);
	}
	return 0;
}

static int
parse_tlsa(const cJSON *arr, struct acme_domain *d)
{
	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > ACME_MAX_TLSA)
		return AD_EMALF;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		int64_t port;
		char proto[sizeof(d->tlsa[0].proto)];
		if (!cJSON_IsObject(it) ||
		    get_int(it, "port", 1, 65535, &port) != 0 || port == 0 ||
		    get_fixed(it, "proto", proto, sizeof(proto)) != 0)
			return AD_EMALF;
		if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 &&
		    strcmp(proto, "sctp") != 0)
			return AD_EMALF;
		d->tlsa[d->ntlsa].port = (uint16_t)port;
		strcpy(d->tlsa[d->ntlsa].proto, proto);
		d->ntlsa++;
	}
	return 0;
}

static int
parse_domain(const cJSON *j, struct acme_domain *d)
{
	char buf[32];
	int64_t v;
	const cJSON *b;

	if (!cJSON_IsObject(j))
		return AD_EMALF;
	if (get_fixed(j, "id", d->id, sizeof(d->id)) != 0 ||
	    !token_ok(d->id, ACME_ID_LEN, ACME_ID_LEN))
		return AD_EMALF;
	if (get_fixed(j, "owner", d->owner, sizeof(d->owner)) != 0 ||
	    !token_ok(d->owner, 0, ACME_ID_LEN))
		return AD_EMALF;
	if (get_fixed(j, "subdomain", d->subdomain, sizeof(d->subdomain)) !=
		0 ||
	    !token_ok(d->subdomain, 1, ACME_ID_LEN))
		return AD_EMALF;
	if (parse_names(cJSON_GetObjectItemCaseSensitive(j, "names"), d) != 0)
		return AD_EMALF;
	if (get_fixed(j, "key_type", buf, sizeof(buf)) != 0 ||
	    acme_keytype_parse(buf, &d->key_type) != 0)
		return AD_EMALF;
	if (parse_tlsa(cJSON_GetObjectItemCaseSensitive(j, "tlsa"), d) != 0)
		return AD_EMALF;
	b = cJSON_GetObjectItemCaseSensitive(j, "in_zone");
	if (b && !cJSON_IsBool(b))
		return AD_EMALF;
	d->in_zone = cJSON_IsTrue(b);
	if (get_fixed(j, "status", buf, sizeof(buf)) != 0 ||
	    acme_dstatus_parse(buf, &d->status) != 0)
		return AD_EMALF;
	if (get_int(j, "failures", 0, UINT32_MAX, &v) != 0)
		return AD_EMALF;
	d->failures = (unsigned)v;
	for (size_t i = 0; i < N_DOM_MEMBERS; i++) {
		const char *name = dom_members[i].name;

		if (dom_members[i].kind == DM_TIME
			? get_int(j, name, 0, DOM_MAX_TIME, dom_time(d, i))
			: get_str(j, name, dom_members[i].max, dom_str(d, i)))
			return AD_EMALF;
	}
	return 0;
}

int
acme_domain_from_json(const struct cJSON *j, struct acme_domain *d)
{
	memset(d, 0, sizeof(*d));
	int rc = parse_domain(j, d);
	if (rc != 0) {
		acme_domain_clear(d);
		return AD_EMALF;
	}
	return 0;
}

/* ---- pure helpers -------------------------------------------------------- */

void
acme_challenge_name(const char *ident, char *out, size_t cap)
{
	/* RFC 8555 §8.4: the TXT record lives at _acme-challenge.<domain>;
	 * a wildcard's authorization is for the base domain (§7.1.3) */
	if (strncmp(ident, "*.", 2) == 0)
		ident += 2;
	snprintf(out, cap, "_acme-challenge.%s", ident);
}

int64_t
acme_renew_time(int64_t not_before, int64_t not_after, int64_t ari_start,
		int64_t ari_end, uint32_t rnd)
{
	double frac = (double)rnd / (double)UINT32_MAX;

	/* RFC 9773 §4.2: pick a uniformly random time inside the window */
	if (ari_start < ari_end) {
		double off = (double)(ari_end - ari_start) * frac;
		int64_t t = ari_start + (int64_t)off;
		return t > ari_end ? ari_end : t;
	}
	int64_t life = not_after - not_before;
	if (life <= 0)
		return not_after;
	/* short-lived certificates (under 10 days) renew at half their
	 * life so that a failing CA still leaves days of margin */
	int64_t left = life < 10 * 86400 ? life / 2 : life / 3;
	int64_t jitter = (int64_t)((double)(life / 20) * frac);
	return not_after - left - jitter;
}
