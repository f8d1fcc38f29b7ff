/* SPDX-License-Identifier: MIT */
/*
 * Zone tables: a hash table of nodes keyed by the lowercase wire name
 * relative to the apex, UUID labels packed (SipHash with a random key,
 * since registrations put client-chosen data in it). A node is one malloc
 * chunk holding its key and its dynamic TXT values (layout and reasons in
 * zone_int.h); TXT changes realloc it, so node pointers do not survive a
 * mutation - functions that may move a node return the new pointer.
 * Every ancestor of a node up to the apex exists as a node too, so empty
 * non-terminals answer NODATA rather than NXDOMAIN (RFC 8020), and the
 * closest encloser of a missing name is found by stripping labels.
 */
#include "zones/zone_int.h"

#include "common/util.h"
#include "common/xalloc.h"
#include "dnswire/rr.h"

#include <stddef.h>
#include <stdlib.h>

#define INITIAL_BUCKETS 1024

/* Node layout (see zone_int.h): header, key, optional zone_nx pointer,
 * TXT blob. */
#define NODE_HDR offsetof(struct zone_node, data)

/*
 * Keys. A node is keyed by its name relative to the apex with every
 * UUID-shaped label (36 bytes, lowercase hex in the 8-4-4-4-12 pattern, as
 * acme-dns registrations are) packed into ZONE_KEY_UUID + 16 bytes: 20 bytes
 * less per registration, which is what lets a registration with two TXT
 * values fit a 144-byte malloc chunk instead of a 176-byte one. 0xFF cannot
 * be a label length (at most 63, RFC 1035 §2.3.4), so keys are unambiguous,
 * and every other label is kept as is.
 */
static const int8_t hexval[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
}; /* value + 1; 0 = not lowercase hex */

/* Pack the 36 characters of a UUID label into out[16]; false if s is not
 * one (out is then clobbered). */
static bool
uuid_pack(const uint8_t *s, uint8_t *out)
{
	unsigned k = 0;
	for (unsigned i = 0; i < ZONE_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			continue;
		}
		int v = hexval[s[i]];
		if (!v)
			return false;
		if (k & 1)
			out[k >> 1] = (uint8_t)(out[k >> 1] | (v - 1));
		else
			out[k >> 1] = (uint8_t)((v - 1) << 4);
		k++;
	}
	return true;
}

/* The key of a lowercase relative name (len bytes) into key[DW_NAME_MAX];
 * returns its length. */
static size_t
name_key(const uint8_t *rel, size_t len, uint8_t *key)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i += (size_t)rel[i] + 1) {
		if (rel[i] == ZONE_UUID_LEN &&
		    uuid_pack(rel + i + 1, key + o + 1)) {
			key[o] = ZONE_KEY_UUID;
			o += 1 + ZONE_UUID_BYTES;
		} else {
			memcpy(key + o, rel + i, (size_t)rel[i] + 1);
			o += (size_t)rel[i] + 1;
		}
	}
	return o;
}

/* Bytes of the first label of a key. */
static size_t
key_skip(const uint8_t *key)
{
	return key[0] == ZONE_KEY_UUID ? 1u + ZONE_UUID_BYTES
				       : (size_t)key[0] + 1;
}

/* Keyed hash (HashDoS: registrations are client-chosen names). */
static uint64_t
key_hash(const struct zone *z, const uint8_t *key, size_t len)
{
	return ad_siphash(z->hkey, key, len);
}

static struct zone_node **
bucket_of(const struct zone *z, const uint8_t *key, size_t len)
{
	return &z->buckets[key_hash(z, key, len) & (z->nbuckets - 1)];
}

static struct zone_node *
find_key(const struct zone *z, const uint8_t *key, size_t len)
{
	struct zone_node *n = *bucket_of(z, key, len);
	for (; n; n = n->hnext)
		if (n->name_len == len && memcmp(n->data, key, len) == 0)
			return n;
	return NULL;
}

struct zone_node *
zone__find(const struct zone *z, const uint8_t *lname, size_t len)
{
	uint8_t key[DW_NAME_MAX];
	if (len < z->apex_len)
		return NULL;
	/* in zone: the last apex_len bytes are the apex itself */
	return find_key(z, key, name_key(lname, len - z->apex_len, key));
}

/* The link (bucket slot or hnext field) that points at n. */
static struct zone_node **
node_link(struct zone *z, const struct zone_node *n)
{
	struct zone_node **pp = bucket_of(z, n->data, n->name_len);
	while (*pp != n)
		pp = &(*pp)->hnext;
	return pp;
}

static size_t
blob_size(const uint8_t *blob, unsigned count)
{
	const uint8_t *e = blob;
	for (unsigned i = 0; i < count; i++)
		e += zone__dtxt_size(e);
	return (size_t)(e - blob);
}

static uint8_t *
node_txt(struct zone_node *n)
{
	return n->data + zone__txt_off(n);
}

/* Bytes in use: header, name, zone_nx pointer, TXT blob. */
static size_t
node_size(struct zone_node *n)
{
	return NODE_HDR + zone__txt_off(n) + blob_size(node_txt(n), n->ndtxt);
}

/* Reallocate n to size bytes and relink it: returns the node, which may
 * have moved. Every node pointer but the result is stale afterwards. */
static struct zone_node *
node_resize(struct zone *z, struct zone_node *n, size_t size)
{
	struct zone_node **pp = node_link(z, n);
	struct zone_node *m = xrealloc(n, AD_MAX(size, sizeof(*m)));
	*pp = m;
	return m;
}

/* Shrink n to what it holds after values were removed in place. */
static struct zone_node *
node_fit(struct zone *z, struct zone_node *n)
{
	return node_resize(z, n, node_size(n));
}

/* n with a zone_nx attached (created empty if needed); may move n. */
static struct zone_node *
node_ext(struct zone *z, struct zone_node *n)
{
	if (n->flags & ZN_EXT)
		return n;
	size_t off = n->name_len, blob = blob_size(node_txt(n), n->ndtxt);
	struct zone_nx *x = xcalloc(1, sizeof(*x));
	n = node_resize(z, n, NODE_HDR + off + sizeof(x) + blob);
	memmove(n->data + off + sizeof(x), n->data + off, blob);
	memcpy(n->data + off, &x, sizeof(x));
	n->flags |= ZN_EXT;
	return n;
}

/* Drop the zone_nx of n if it holds nothing; may move n. */
static struct zone_node *
node_trim(struct zone *z, struct zone_node *n)
{
	struct zone_nx *x = zone__nx(n);
	if (!x || x->nstatic || x->tlsa || x->children)
		return n;
	size_t off = n->name_len, blob = blob_size(node_txt(n), n->ndtxt);
	free(x->st);
	free(x);
	memmove(n->data + off, n->data + off + sizeof(x), blob);
	n->flags &= (uint8_t)~ZN_EXT;
	return node_resize(z, n, NODE_HDR + off + blob);
}

/* Double the bucket array: keeps the load factor at most 1, so the
 * amortised cost of an insertion stays constant. */
static void
table_grow(struct zone *z)
{
	size_t nb = z->nbuckets * 2;
	struct zone_node **b = xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < z->nbuckets; i++) {
		struct zone_node *n = z->buckets[i], *next;
		for (; n; n = next) {
			size_t h = key_hash(z, n->data, n->name_len) & (nb - 1);
			next = n->hnext;
			n->hnext = b[h];
			b[h] = n;
		}
	}
	free(z->buckets);
	z->buckets = b;
	z->nbuckets = nb;
}

/* Find or create the node for a key, creating its missing ancestors as
 * empty non-terminals. */
static struct zone_node *
node_get_key(struct zone *z, const uint8_t *key, size_t len)
{
	struct zone_node *n = find_key(z, key, len);
	if (n)
		return n;
	struct zone_node *parent = NULL;
	if (len > 0) {
		size_t skip = key_skip(key);
		parent = node_get_key(z, key + skip, len - skip);
	}
	n = xcalloc(1, AD_MAX(NODE_HDR + len, sizeof(*n)));
	n->name_len = (uint8_t)len;
	memcpy(n->data, key, len);
	if (z->nnodes >= z->nbuckets)
		table_grow(z);
	struct zone_node **pp = bucket_of(z, key, len);
	n->hnext = *pp;
	*pp = n;
	z->nnodes++;
	if (parent) {
		parent = node_ext(z, parent);
		zone__nx(parent)->children++;
	}
	return n;
}

/* node_get_key() for a lowercase wire name at or below the apex */
static struct zone_node *
node_get(struct zone *z, const uint8_t *lname, size_t len)
{
	uint8_t key[DW_NAME_MAX];
	return node_get_key(z, key, name_key(lname, len - z->apex_len, key));
}

static void
rrset_free(struct zone_rrset *s)
{
	if (s)
		free(s->data);
}

/* A node with a zone_nx is never empty: node_trim() runs first. */
static bool
node_is_empty(const struct zone_node *n)
{
	return !(n->flags & (ZN_APEX | ZN_REGISTERED | ZN_EXT)) &&
	       n->ndtxt == 0;
}

static void
node_free(struct zone_node *n)
{
	struct zone_nx *x = zone__nx(n);
	if (x) {
		for (uint16_t i = 0; i < x->nstatic; i++)
			rrset_free(&x->st[i]);
		free(x->st);
		if (x->tlsa) {
			rrset_free(x->tlsa);
			free(x->tlsa);
		}
		free(x);
	}
	free(n);
}

/* Remove n if it holds nothing, then its ancestors likewise. */
static void
node_gc(struct zone *z, struct zone_node *n)
{
	for (;;) {
		n = node_trim(z, n);
		if (!node_is_empty(n))
			return;
		struct zone_node *parent = NULL;
		if (n->name_len > 0) {
			size_t skip = key_skip(n->data);
			parent =
			    find_key(z, n->data + skip, n->name_len - skip);
		}
		*node_link(z, n) = n->hnext;
		z->nnodes--;
		node_free(n);
		if (!parent)
			return;
		zone__nx(parent)->children--;
		n = parent;
	}
}

int
zone_create(const struct zone_params *p, struct zone **out)
{
	struct zone *z = xcalloc(1, sizeof(*z));
	pthread_rwlockattr_t la;
	size_t l;
	int r;

	/* writers first: a stream of queries must not starve an update */
	z->lock = xmalloc(sizeof(*z->lock));
	pthread_rwlockattr_init(&la);
	pthread_rwlockattr_setkind_np(&la,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(z->lock, &la);
	pthread_rwlockattr_destroy(&la);

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
	node_get(z, z->apex, z->apex_len)->flags |= ZN_APEX;
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
	if (z->lock) {
		pthread_rwlock_destroy(z->lock);
		free(z->lock);
	}
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

/* A list of node keys, packed as [u8 len][bytes]... */
struct key_list {
	uint8_t *b;
	size_t len, cap;
};

static void
names_add(struct key_list *l, const uint8_t *key, uint8_t len)
{
	if (l->len + 1u + len > l->cap) {
		l->cap = AD_MAX(2 * l->cap, l->len + 1u + len + 256u);
		l->b = xrealloc(l->b, l->cap);
	}
	l->b[l->len] = len;
	memcpy(l->b + l->len + 1, key, len);
	l->len += 1u + len;
}

static bool
is_wildcard(const uint8_t *lname)
{
	return lname[0] == 1 && lname[1] == '*';
}

static int
set_static_locked(struct zone *z, const struct zone_rr *rrs, size_t n,
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

	/* drop the old static data everywhere, remembering the owners (by
	 * name: nodes move and are freed below) to collect the ones left
	 * empty once the new data is in */
	struct key_list old = {0};
	for (size_t i = 0; i < z->nbuckets; i++) {
		for (struct zone_node *nd = z->buckets[i]; nd; nd = nd->hnext) {
			struct zone_nx *x = zone__nx(nd);
			if (!x || !x->nstatic)
				continue;
			for (uint16_t k = 0; k < x->nstatic; k++)
				rrset_free(&x->st[k]);
			free(x->st);
			x->st = NULL;
			x->nstatic = 0;
			names_add(&old, nd->data, nd->name_len);
		}
	}
	z->nwildcards = 0;

	/* build the new RRsets, one owner at a time */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && srr_same_owner(&s[i], &s[j]))
			j++;
		struct zone_node *nd = node_get(z, s[i].lname, s[i].len);
		struct zone_nx *x = zone__nx(node_ext(z, nd));
		if (is_wildcard(s[i].lname))
			z->nwildcards++;
		for (size_t a = i; a < j;) {
			size_t b = a;
			while (b < j && s[b].rr->type == s[a].rr->type)
				b++;
			x->st = xreallocarray(x->st, x->nstatic + 1u,
					      sizeof(*x->st));
			struct zone_rrset *set = &x->st[x->nstatic++];
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
	/* RFC 8020: only names that still hold data (or have descendants
	 * that do) exist; node_gc() walks up through emptied ancestors */
	for (size_t off = 0; off < old.len; off += 1u + old.b[off]) {
		struct zone_node *nd = find_key(z, old.b + off + 1, old.b[off]);
		if (nd)
			node_gc(z, nd);
	}
	free(old.b);
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

static int
sub_register_locked(struct zone *z, const char *name)
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

static int
sub_unregister_locked(struct zone *z, const char *name)
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
	if (n->ndtxt) {
		n->ndtxt = 0;
		n = node_fit(z, n);
	}
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

/* The value at n equal to val with the given pinned state, or NULL. */
static uint8_t *
dtxt_find(struct zone_node *n, const void *val, size_t len, bool pinned)
{
	uint8_t *e = node_txt(n);
	for (unsigned i = 0; i < n->ndtxt; i++, e += zone__dtxt_size(e))
		if (((e[8] & ZD_PINNED) != 0) == pinned && e[9] == len &&
		    memcmp(e + ZONE_DTXT_HDR, val, len) == 0)
			return e;
	return NULL;
}

/* Remove value e from the blob of n in place (node_fit() shrinks). */
static void
dtxt_remove(struct zone_node *n, uint8_t *e)
{
	uint8_t *blob = node_txt(n);
	size_t sz = zone__dtxt_size(e);
	size_t tail = blob_size(blob, n->ndtxt) - (size_t)(e - blob) - sz;
	memmove(e, e + sz, tail);
	n->ndtxt--;
}

/* Append a value to the blob of n: one realloc; may move n. */
static struct zone_node *
dtxt_append(struct zone *z, struct zone_node *n, const void *val, size_t len,
	    uint64_t now, bool pinned)
{
	size_t end = node_size(n);
	n = node_resize(z, n, end + ZONE_DTXT_HDR + len);
	uint8_t *e = (uint8_t *)n + end;
	memcpy(e, &now, sizeof(now));
	e[8] = pinned ? ZD_PINNED : 0;
	e[9] = (uint8_t)len;
	if (len)
		memcpy(e + ZONE_DTXT_HDR, val, len);
	n->ndtxt++;
	return n;
}

static int
txt_push_locked(struct zone *z, const char *name, const void *val, size_t len,
	      uint64_t now_ms, unsigned slots)
{
	uint8_t ln[DW_NAME_MAX];
	size_t nl;
	uint8_t *e;
	int r;

	if (len > ZONE_TXT_MAX || slots == 0)
		return AD_EINVAL;
	if ((r = name_arg(z, name, ln, &nl)))
		return r;
	struct zone_node *n = node_get(z, ln, nl);
	if ((e = dtxt_find(n, val, len, false)) != NULL) {
		memcpy(e, &now_ms, sizeof(now_ms));
		bump(z);
		return 0;
	}
	/* make room: drop the oldest unpinned values until fewer than
	 * `slots` remain, so the name ends up with the newest `slots` even
	 * when slots shrank since the last push */
	for (;;) {
		unsigned unpinned = 0;
		uint8_t *oldest = NULL;
		e = node_txt(n);
		for (unsigned i = 0; i < n->ndtxt;
		     i++, e += zone__dtxt_size(e)) {
			if (e[8] & ZD_PINNED)
				continue;
			unpinned++;
			if (!oldest || zone__dtxt_t(e) < zone__dtxt_t(oldest))
				oldest = e;
		}
		if (unpinned < slots)
			break;
		dtxt_remove(n, oldest);
	}
	/* full only if nothing was dropped above (then n is unchanged) */
	if (n->ndtxt >= ZONE_TXT_COUNT) {
		node_gc(z, n);
		return AD_ELIMIT;
	}
	dtxt_append(z, n, val, len, now_ms, false);
	bump(z);
	return 0;
}

static int
txt_pin_locked(struct zone *z, const char *name, const void *val, size_t len,
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
	if (dtxt_find(n, val, len, true))
		return 0;
	if (n->ndtxt >= ZONE_TXT_COUNT) {
		node_gc(z, n);
		return AD_ELIMIT;
	}
	dtxt_append(z, n, val, len, now_ms, true);
	bump(z);
	return 0;
}

static int
txt_unpin_locked(struct zone *z, const char *name, const void *val, size_t len)
{
	uint8_t ln[DW_NAME_MAX];
	size_t nl;
	uint8_t *e;
	int r;

	if ((r = name_arg(z, name, ln, &nl)))
		return r;
	struct zone_node *n = zone__find(z, ln, nl);
	if (!n || len > ZONE_TXT_MAX ||
	    (e = dtxt_find(n, val, len, true)) == NULL)
		return AD_ENOENT;
	dtxt_remove(n, e);
	node_gc(z, node_fit(z, n));
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

uint64_t
zone_txt_newest(const struct zone *z, const char *name)
{
	uint8_t ln[DW_NAME_MAX];
	size_t nl;
	uint64_t newest = 0;
	if (name_arg(z, name, ln, &nl))
		return 0;
	struct zone_node *n = zone__find(z, ln, nl);
	if (!n)
		return 0;
	const uint8_t *e = node_txt(n);
	for (unsigned i = 0; i < n->ndtxt; i++, e += zone__dtxt_size(e))
		if (zone__dtxt_t(e) > newest)
			newest = zone__dtxt_t(e);
	return newest;
}

static int
tlsa_set_locked(struct zone *z, const char *name, const struct zone_tlsa *t,
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
	if (s)
		n = node_ext(z, n);
	struct zone_nx *x = zone__nx(n);
	if (x) {
		if (x->tlsa) {
			rrset_free(x->tlsa);
			free(x->tlsa);
		}
		x->tlsa = s; /* s != NULL implies x != NULL */
	}
	if (!s)
		node_gc(z, n);
	bump(z);
	return 0;
}

/* ---- the public mutators ------------------------------------------------
 * Each takes the write lock around its *_locked body: queries are answered
 * on a thread of their own (server/dns.c) while registrations, updates and
 * the ACME engine change the tables on the main loop. */

int
zone_set_static(struct zone *z, const struct zone_rr *rrs, size_t n,
		size_t *bad, const char **why)
{
	int r;

	pthread_rwlock_wrlock(z->lock);
	r = set_static_locked(z, rrs, n, bad, why);
	pthread_rwlock_unlock(z->lock);
	return r;
}

int
zone_sub_register(struct zone *z, const char *name)
{
	int r;

	pthread_rwlock_wrlock(z->lock);
	r = sub_register_locked(z, name);
	pthread_rwlock_unlock(z->lock);
	return r;
}

int
zone_sub_unregister(struct zone *z, const char *name)
{
	int r;

	pthread_rwlock_wrlock(z->lock);
	r = sub_unregister_locked(z, name);
	pthread_rwlock_unlock(z->lock);
	return r;
}

int
zone_txt_push(struct zone *z, const char *name, const void *val, size_t len,
	      uint64_t now_ms, unsigned slots)
{
	int r;

	pthread_rwlock_wrlock(z->lock);
	r = txt_push_locked(z, name, val, len, now_ms, slots);
	pthread_rwlock_unlock(z->lock);
	return r;
}

int
zone_txt_pin(struct zone *z, const char *name, const void *val, size_t len,
	     uint64_t now_ms)
{
	int r;

	pthread_rwlock_wrlock(z->lock);
	r = txt_pin_locked(z, name, val, len, now_ms);
	pthread_rwlock_unlock(z->lock);
	return r;
}

int
zone_txt_unpin(struct zone *z, const char *name, const void *val, size_t len)
{
	int r;

	pthread_rwlock_wrlock(z->lock);
	r = txt_unpin_locked(z, name, val, len);
	pthread_rwlock_unlock(z->lock);
	return r;
}

int
zone_tlsa_set(struct zone *z, const char *name, const struct zone_tlsa *t,
	      size_t cnt, uint32_t ttl)
{
	int r;

	pthread_rwlock_wrlock(z->lock);
	r = tlsa_set_locked(z, name, t, cnt, ttl);
	pthread_rwlock_unlock(z->lock);
	return r;
}
