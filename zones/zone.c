/* SPDX-License-Identifier: MIT */
/*
 * Zone tables: a hash table of nodes keyed by lowercase wire name (SipHash
 * with a random key, since registrations put client-chosen data in it).
 * Every ancestor of a node up to the apex exists as a node too, so empty
 * non-terminals answer NODATA rather than NXDOMAIN (RFC 8020), and the
 * closest encloser of a missing name is found by stripping labels.
 */
#include "zones/zone_int.h"

#include "common/util.h"
#include "common/xalloc.h"
#include "dnswire/rr.h"

#include <stdlib.h>

#define INITIAL_BUCKETS 1024

static uint64_t
name_hash(const struct zone *z, const uint8_t *lname, size_t len)
{
	return ad_siphash(z->hkey, lname, len);
}

struct zone_node *
zone__find(const struct zone *z, const uint8_t *lname, size_t len)
{
	uint64_t h = name_hash(z, lname, len);
	struct zone_node *n = z->buckets[h & (z->nbuckets - 1)];
	for (; n; n = n->hnext)
		if (n->hash == h && n->name_len == len &&
		    memcmp(n->name, lname, len) == 0)
			return n;
	return NULL;
}

static void
table_grow(struct zone *z)
{
	size_t nb = z->nbuckets * 2;
	struct zone_node **b = xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < z->nbuckets; i++) {
		struct zone_node *n = z->buckets[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(z->buckets);
	z->buckets = b;
	z->nbuckets = nb;
}

/* Find or create the node for a lowercase name at or below the apex,
 * creating its missing ancestors as empty non-terminals. */
static struct zone_node *
node_get(struct zone *z, const uint8_t *lname, size_t len)
{
	struct zone_node *n = zone__find(z, lname, len);
	if (n)
		return n;
	struct zone_node *parent = NULL;
	if (len > z->apex_len) {
		size_t skip = (size_t)lname[0] + 1;
		parent = node_get(z, lname + skip, len - skip);
	}
	n = xcalloc(1, sizeof(*n) + len);
	n->name_len = (uint8_t)len;
	memcpy(n->name, lname, len);
	n->hash = name_hash(z, lname, len);
	if (z->nnodes >= z->nbuckets)
		table_grow(z);
	n->hnext = z->buckets[n->hash & (z->nbuckets - 1)];
	z->buckets[n->hash & (z->nbuckets - 1)] = n;
	z->nnodes++;
	if (parent)
		parent->children++;
	return n;
}

static void
rrset_free(struct zone_rrset *s)
{
	if (s)
		free(s->data);
}

static bool
node_is_empty(const struct zone_node *n)
{
	return !(n->flags & (ZN_APEX | ZN_REGISTERED)) && n->nstatic == 0 &&
	       n->ndtxt == 0 && !n->tlsa && n->children == 0;
}

static void
node_unlink(struct zone *z, struct zone_node *n)
{
	struct zone_node **pp = &z->buckets[n->hash & (z->nbuckets - 1)];
	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	z->nnodes--;
}

static void
node_free(struct zone_node *n)
{
	for (uint16_t i = 0; i < n->nstatic; i++)
		rrset_free(&n->st[i]);
	free(n->st);
	for (uint8_t i = 0; i < n->ndtxt; i++)
		free(n->dtxt[i]);
	free(n->dtxt);
	if (n->tlsa) {
		rrset_free(n->tlsa);
		free(n->tlsa);
	}
	free(n);
}

/* Remove n if it holds nothing, then its ancestors likewise. */
static void
node_gc(struct zone *z, struct zone_node *n)
{
	while (n && node_is_empty(n)) {
		struct zone_node *parent = NULL;
		if (n->name_len > z->apex_len) {
			size_t skip = (size_t)n->name[0] + 1;
			parent = zone__find(z, n->name + skip,
					    n->name_len - skip);
		}
		node_unlink(z, n);
		node_free(n);
		if (!parent)
			break;
		parent->children--;
		n = parent;
	}
}

int
zone_create(const struct zone_params *p, struct zone **out)
{
	struct zone *z = xcalloc(1, sizeof(*z));
	size_t l;
	int r;

	if ((r = dw_name_from_str(p->domain, NULL, z->apex, &z->apex_len)))
		goto fail;
	dw_name_lower(z->apex);
	dw_name_to_str(z->apex, z->apex_str);
	if ((r = dw_name_from_str(p->mname, z->apex, z->mname, &l)))
		goto fail;
	if ((r = dw_name_from_str(p->nsadmin, z->apex, z->rname, &l)))
		goto fail;
	z->serial = p->serial;
	z->soa_ttl = p->soa_ttl;
	z->refresh = p->refresh;
	z->retry = p->retry;
	z->expire = p->expire;
	z->minimum = p->minimum;
	/* RFC 2308 §5: negative answers are cached for min(SOA TTL, MINIMUM) */
	z->neg_ttl = AD_MIN(p->soa_ttl, p->minimum);
	z->edns_size = p->edns_size < ZONE_UDP_MIN ? ZONE_UDP_MIN : p->edns_size;
	z->txt_ttl = p->txt_ttl;
	z->txt_max_age_ms = p->txt_max_age_ms;
	z->version = p->version ? xstrdup(p->version) : NULL;
	z->identity = p->identity ? xstrdup(p->identity) : NULL;
	if (ad_random(z->hkey, sizeof(z->hkey)) != 0) {
		r = AD_ECRYPTO;
		goto fail;
	}
	z->nbuckets = INITIAL_BUCKETS;
	z->buckets = xcalloc(z->nbuckets, sizeof(*z->buckets));
	z->apex_node = node_get(z, z->apex, z->apex_len);
	z->apex_node->flags |= ZN_APEX;
	*out = z;
	return 0;
fail:
	zone_free(z); /* no nodes yet; frees version/identity */
	return r;
}

void
zone_free(struct zone *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->nbuckets; i++) {
		struct zone_node *n = z->buckets[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			node_free(n);
		}
	}
	free(z->buckets);
	free(z->version);
	free(z->identity);
	free(z);
}

uint32_t
zone_serial(const struct zone *z)
{
	return z->serial;
}

size_t
zone_node_count(const struct zone *z)
{
	return z->nnodes;
}

const char *
zone_apex_str(const struct zone *z)
{
	return z->apex_str;
}

static void
bump(struct zone *z)
{
	z->serial++; /* RFC 1982 arithmetic: wrapping is fine */
}

/* ---- static records ---- */

struct srr {
	uint8_t lname[DW_NAME_MAX];
	size_t len;
	const struct zone_rr *rr;
	size_t idx;
};

static int
srr_cmp(const void *a, const void *b)
{
	const struct srr *x = a, *y = b;
	size_t m = AD_MIN(x->len, y->len);
	int c = memcmp(x->lname, y->lname, m);
	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->rr->type != y->rr->type)
		return x->rr->type < y->rr->type ? -1 : 1;
	if (x->rr->rdlen != y->rr->rdlen)
		return x->rr->rdlen < y->rr->rdlen ? -1 : 1;
	c = memcmp(x->rr->rdata, y->rr->rdata, x->rr->rdlen);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static bool
srr_same_owner(const struct srr *a, const struct srr *b)
{
	return a->len == b->len && memcmp(a->lname, b->lname, a->len) == 0;
}

static bool
srr_same_rdata(const struct srr *a, const struct srr *b)
{
	return a->rr->rdlen == b->rr->rdlen &&
	       memcmp(a->rr->rdata, b->rr->rdata, a->rr->rdlen) == 0;
}

static int
static_validate(struct zone *z, struct srr *s, size_t n, size_t *bad,
		const char **why)
{
	bool apex_ns = false;
	for (size_t i = 0; i < n; i++) {
		const struct zone_rr *rr = s[i].rr;
		*bad = s[i].idx;
		if (dw_name_in_zone(s[i].lname, s[i].len, z->apex,
				    z->apex_len) < 0) {
			*why = "owner is outside the zone";
			return AD_ENOTZONE;
		}
		if (rr->type == DW_T_SOA) {
			*why = "SOA is generated from the [zone] settings";
			return AD_EINVAL;
		}
		if (rr->type == DW_T_NS && s[i].len != z->apex_len) {
			*why = "NS below the apex (delegation) is not supported";
			return AD_EUNSUP;
		}
		if (rr->type == DW_T_DNAME) {
			*why = "DNAME is not supported";
			return AD_EUNSUP;
		}
		if (rr->type == DW_T_OPT || (rr->type >= 249 && rr->type <= 255) ||
		    rr->type == DW_T_RRSIG || rr->type == DW_T_NSEC ||
		    rr->type == DW_T_NSEC3) {
			*why = "this record type cannot be served statically";
			return AD_EINVAL;
		}
		if (rr->type == DW_T_CNAME && s[i].len == z->apex_len) {
			*why = "CNAME at the zone apex is not allowed";
			return AD_EINVAL;
		}
		if (dw_rdata_check(rr->type, rr->rdata, rr->rdlen) != 0) {
			*why = "malformed record data";
			return AD_EMALF;
		}
		if (rr->type == DW_T_NS && s[i].len == z->apex_len)
			apex_ns = true;
		/* RFC 1034 §3.6.2: a CNAME owner has no other data */
		if (i > 0 && srr_same_owner(&s[i - 1], &s[i])) {
			uint16_t t0 = s[i - 1].rr->type, t1 = rr->type;
			if ((t0 == DW_T_CNAME || t1 == DW_T_CNAME) &&
			    !(t0 == t1 && srr_same_rdata(&s[i - 1], &s[i]))) {
				*why = "CNAME and other data at the same name";
				return AD_EINVAL;
			}
		}
	}
	if (!apex_ns) {
		*bad = n;
		*why = "the zone apex has no NS record";
		return AD_EINVAL;
	}
	return 0;
}

static bool
is_wildcard(const uint8_t *lname)
{
	return lname[0] == 1 && lname[1] == '*';
}

/* Remove nodes left empty after the static data was dropped; a node's
 * removal can empty its parent, so sweep until nothing changes. */
static void
sweep(struct zone *z)
{
	bool again = true;
	while (again) {
		again = false;
		for (size_t i = 0; i < z->nbuckets; i++) {
			struct zone_node **pp = &z->buckets[i];
			while (*pp) {
				struct zone_node *n = *pp;
				if (!node_is_empty(n)) {
					pp = &n->hnext;
					continue;
				}
				*pp = n->hnext;
				z->nnodes--;
				size_t skip = (size_t)n->name[0] + 1;
				struct zone_node *parent = zone__find(
					z, n->name + skip, n->name_len - skip);
				if (parent) {
					parent->children--;
					again = true;
				}
				node_free(n);
			}
		}
	}
}

int
zone_set_static(struct zone *z, const struct zone_rr *rrs, size_t n,
		size_t *bad, const char **why)
{
	static const char *none = "";
	size_t dummy;
	struct srr *s = xcalloc(n ? n : 1, sizeof(*s));
	int r;

	if (!bad)
		bad = &dummy;
	if (!why)
		why = &none;
	for (size_t i = 0; i < n; i++) {
		s[i].len = dw_name_len(rrs[i].owner);
		memcpy(s[i].lname, rrs[i].owner, s[i].len);
		dw_name_lower(s[i].lname);
		s[i].rr = &rrs[i];
		s[i].idx = i;
	}
	qsort(s, n, sizeof(*s), srr_cmp);
	if ((r = static_validate(z, s, n, bad, why)) != 0) {
		free(s);
		return r;
	}

	/* drop the old static data everywhere */
	for (size_t i = 0; i < z->nbuckets; i++) {
		for (struct zone_node *nd = z->buckets[i]; nd; nd = nd->hnext) {
			for (uint16_t k = 0; k < nd->nstatic; k++)
				rrset_free(&nd->st[k]);
			free(nd->st);
			nd->st = NULL;
			nd->nstatic = 0;
		}
	}
	z->nwildcards = 0;

	/* build the new RRsets, one owner at a time */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && srr_same_owner(&s[i], &s[j]))
			j++;
		struct zone_node *nd = node_get(z, s[i].lname, s[i].len);
		if (is_wildcard(s[i].lname))
			z->nwildcards++;
		for (size_t a = i; a < j;) {
			size_t b = a;
			while (b < j && s[b].rr->type == s[a].rr->type)
				b++;
			nd->st = xreallocarray(nd->st, nd->nstatic + 1u,
					       sizeof(*nd->st));
			struct zone_rrset *set = &nd->st[nd->nstatic++];
			memset(set, 0, sizeof(*set));
			set->type = s[a].rr->type;
			set->ttl = UINT32_MAX;
			for (size_t k = a; k < b; k++) {
				const struct zone_rr *rr = s[k].rr;
				set->ttl = AD_MIN(set->ttl, rr->ttl);
				if (k > a && srr_same_rdata(&s[k - 1], &s[k]))
					continue; /* duplicate record */
				set->data = xrealloc(set->data,
						     set->size + 2 + rr->rdlen);
				set->data[set->size] = (uint8_t)(rr->rdlen >> 8);
				set->data[set->size + 1] = (uint8_t)rr->rdlen;
				memcpy(set->data + set->size + 2, rr->rdata,
				       rr->rdlen);
				set->size += 2u + rr->rdlen;
				set->count++;
			}
			a = b;
		}
		i = j;
	}
	free(s);
	sweep(z);
	bump(z);
	return 0;
}

/* ---- dynamic data ---- */

static int
name_arg(const struct zone *z, const char *name, uint8_t *lname, size_t *len)
{
	int r = dw_name_from_str(name, z->apex, lname, len);
	if (r)
		return AD_EMALF;
	dw_name_lower(lname);
	if (dw_name_in_zone(lname, *len, z->apex, z->apex_len) < 0)
		return AD_ENOTZONE;
	return 0;
}

int
zone_sub_register(struct zone *z, const char *name)
{
	uint8_t ln[DW_NAME_MAX];
	size_t len;
	int r = name_arg(z, name, ln, &len);
	if (r)
		return r;
	if (len == z->apex_len)
		return AD_EINVAL;
	struct zone_node *n = node_get(z, ln, len);
	if (n->flags & ZN_REGISTERED)
		return AD_EEXIST;
	n->flags |= ZN_REGISTERED;
	bump(z);
	return 0;
}

int
zone_sub_unregister(struct zone *z, const char *name)
{
	uint8_t ln[DW_NAME_MAX];
	size_t len;
	int r = name_arg(z, name, ln, &len);
	if (r)
		return r;
	struct zone_node *n = zone__find(z, ln, len);
	if (!n || !(n->flags & ZN_REGISTERED))
		return AD_ENOENT;
	n->flags &= (uint8_t)~ZN_REGISTERED;
	for (uint8_t i = 0; i < n->ndtxt; i++)
		free(n->dtxt[i]);
	free(n->dtxt);
	n->dtxt = NULL;
	n->ndtxt = 0;
	node_gc(z, n);
	bump(z);
	return 0;
}

bool
zone_sub_exists(const struct zone *z, const char *name)
{
	uint8_t ln[DW_NAME_MAX];
	size_t len;
	if (name_arg(z, name, ln, &len))
		return false;
	struct zone_node *n = zone__find(z, ln, len);
	return n && (n->flags & ZN_REGISTERED);
}

static struct zone_dtxt *
dtxt_new(const void *val, size_t len, uint64_t now, bool pinned)
{
	struct zone_dtxt *d = xmalloc(sizeof(*d) + len);
	d->t_ms = now;
	d->pinned = pinned;
	d->len = (uint8_t)len;
	memcpy(d->val, val, len);
	return d;
}

static int
dtxt_find(const struct zone_node *n, const void *val, size_t len, bool pinned)
{
	for (int i = 0; i < n->ndtxt; i++)
		if (n->dtxt[i]->pinned == pinned && n->dtxt[i]->len == len &&
		    memcmp(n->dtxt[i]->val, val, len) == 0)
			return i;
	return -1;
}

static int
dtxt_append(struct zone_node *n, struct zone_dtxt *d)
{
	if (n->ndtxt >= ZONE_TXT_COUNT) {
		free(d);
		return AD_ELIMIT;
	}
	n->dtxt = xreallocarray(n->dtxt, n->ndtxt + 1u, sizeof(*n->dtxt));
	n->dtxt[n->ndtxt++] = d;
	return 0;
}

int
zone_txt_push(struct zone *z, const char *name, const void *val, size_t len,
	      uint64_t now_ms, unsigned slots)
{
	uint8_t ln[DW_NAME_MAX];
	size_t nl;
	int r, i;

	if (len > ZONE_TXT_MAX || slots == 0)
		return AD_EINVAL;
	if ((r = name_arg(z, name, ln, &nl)))
		return r;
	struct zone_node *n = node_get(z, ln, nl);
	if ((i = dtxt_find(n, val, len, false)) >= 0) {
		n->dtxt[i]->t_ms = now_ms;
		bump(z);
		return 0;
	}
	/* make room: drop the oldest unpinned values until fewer than
	 * `slots` remain, so the name ends up with the newest `slots` even
	 * when slots shrank since the last push */
	for (;;) {
		unsigned unpinned = 0;
		int oldest = -1;
		for (i = 0; i < n->ndtxt; i++) {
			if (n->dtxt[i]->pinned)
				continue;
			unpinned++;
			if (oldest < 0 ||
			    n->dtxt[i]->t_ms < n->dtxt[oldest]->t_ms)
				oldest = i;
		}
		if (unpinned < slots)
			break;
		free(n->dtxt[oldest]);
		memmove(&n->dtxt[oldest], &n->dtxt[oldest + 1],
			(size_t)(n->ndtxt - oldest - 1) * sizeof(*n->dtxt));
		n->ndtxt--;
	}
	/* fails (AD_ELIMIT) only if nothing was dropped above */
	if ((r = dtxt_append(n, dtxt_new(val, len, now_ms, false)))) {
		node_gc(z, n);
		return r;
	}
	bump(z);
	return 0;
}

int
zone_txt_pin(struct zone *z, const char *name, const void *val, size_t len,
	     uint64_t now_ms)
{
	uint8_t ln[DW_NAME_MAX];
	size_t nl;
	int r;

	if (len > ZONE_TXT_MAX)
		return AD_EINVAL;
	if ((r = name_arg(z, name, ln, &nl)))
		return r;
	struct zone_node *n = node_get(z, ln, nl);
	if (dtxt_find(n, val, len, true) >= 0)
		return 0;
	if ((r = dtxt_append(n, dtxt_new(val, len, now_ms, true)))) {
		node_gc(z, n);
		return r;
	}
	bump(z);
	return 0;
}

int
zone_txt_unpin(struct zone *z, const char *name, const void *val, size_t len)
{
	uint8_t ln[DW_NAME_MAX];
	size_t nl;
	int r, i;

	if ((r = name_arg(z, name, ln, &nl)))
		return r;
	struct zone_node *n = zone__find(z, ln, nl);
	if (!n || (i = dtxt_find(n, val, len, true)) < 0)
		return AD_ENOENT;
	free(n->dtxt[i]);
	memmove(&n->dtxt[i], &n->dtxt[i + 1],
		(size_t)(n->ndtxt - i - 1) * sizeof(*n->dtxt));
	n->ndtxt--;
	node_gc(z, n);
	bump(z);
	return 0;
}

unsigned
zone_txt_count(const struct zone *z, const char *name)
{
	uint8_t ln[DW_NAME_MAX];
	size_t nl;
	if (name_arg(z, name, ln, &nl))
		return 0;
	struct zone_node *n = zone__find(z, ln, nl);
	return n ? n->ndtxt : 0;
}

int
zone_tlsa_set(struct zone *z, const char *name, const struct zone_tlsa *t,
	      size_t cnt, uint32_t ttl)
{
	uint8_t ln[DW_NAME_MAX];
	size_t nl;
	int r;

	if ((r = name_arg(z, name, ln, &nl)))
		return r;
	if (cnt > ZONE_TXT_COUNT)
		return AD_ELIMIT;
	/* validate before touching anything: a failed replace keeps the old
	 * set (an RDATA is at most 65535 bytes, RFC 1035 §3.2.1) */
	for (size_t i = 0; i < cnt; i++)
		if (t[i].len > 65535 - 3)
			return AD_ERANGE;
	struct zone_node *n = cnt ? node_get(z, ln, nl) : zone__find(z, ln, nl);
	if (!n)
		return 0;
	struct zone_rrset *s = NULL;
	if (cnt) {
		s = xcalloc(1, sizeof(*s));
		s->type = DW_T_TLSA;
		s->ttl = ttl;
		for (size_t i = 0; i < cnt; i++) {
			size_t rdlen = 3u + t[i].len;
			s->data = xrealloc(s->data, s->size + 2 + rdlen);
			struct dw_cur c = dw_writer(s->data + s->size,
						    2 + rdlen);
			dw_put_u16(&c, (uint16_t)rdlen);
			dw_rdata_tlsa(&c, t[i].usage, t[i].selector, t[i].mtype,
				      t[i].data, t[i].len);
			s->size += 2 + rdlen;
			s->count++;
		}
	}
	if (n->tlsa) {
		rrset_free(n->tlsa);
		free(n->tlsa);
	}
	n->tlsa = s;
	if (!s)
		node_gc(z, n);
	bump(z);
	return 0;
}
