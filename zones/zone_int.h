/* SPDX-License-Identifier: MIT */
/*
 * Internal layout of struct zone, shared by the table code (zone.c) and the
 * answerer (answer.c). Not for other modules.
 *
 * Memory layout, and why. The dominant data is acme-dns registrations: a
 * "<uuid>" leaf below the apex holding two 43-byte TXT values, 10^4 to 10^5
 * of them, while the whole daemon must stay near 8 MB RSS. So a
 * registration costs ONE malloc chunk and one bucket slot:
 *
 *   struct zone_node (11 bytes: hnext, flags, name_len, ndtxt), then data[]:
 *     [name_len bytes]  the KEY of the owner: its lowercase wire name
 *                       relative to the apex (no apex suffix, which every
 *                       node shares; the apex's key is empty), with each
 *                       UUID label packed from 1 + 36 to 1 + 16 bytes
 *                       (ZONE_KEY_UUID, then the 16 bytes; zone.c name_key)
 *     [8 bytes]         struct zone_nx *, only when flags has ZN_EXT
 *     [TXT blob]        ndtxt dynamic TXT values, each packed as
 *                       [u64 t_ms][u8 ZD_* flags][u8 len][len bytes]
 *                       (unaligned: read the u64 with memcpy)
 *
 * For "<uuid>" + 2 x 43 bytes that is 11 + 17 + 2 x 53 = 134 bytes, a
 * 144-byte glibc chunk (the full name would need 154: a 176-byte chunk),
 * plus 8-13 bytes of bucket array (load factor 0.5-1): ~155 bytes per
 * registration, against ~330 for a node with the full name, an array of
 * pointers and one malloc per value. (Going lower means a smaller chunk
 * class: 128 bytes needs packing the base64url values too, which would
 * cost encoding time in every TXT answer.)
 *
 * TXT changes realloc the node, so a node may MOVE: zone.c relinks it in
 * its hash chain, and nothing else may hold a node pointer across a
 * mutation (answer.c holds them only within one zone_answer() call).
 *
 * Rare data - static RRsets, the dynamic TLSA set and the count of child
 * nodes - lives in a separately allocated struct zone_nx that a node
 * references only when it has some (ZN_EXT), so registered leaves do not
 * pay for it; an emptied zone_nx is dropped again (zone.c node_trim).
 *
 * No hash is stored in the node: chains are short and visiting a node
 * already costs its cache miss, after which comparing name_len and the
 * first key bytes is as quick as comparing a stored hash. The hash is
 * SipHash with a random per-zone key (registrations are client-chosen
 * names: HashDoS) over the short key, cheap to recompute when the table
 * doubles or a node is relinked.
 */
#ifndef ZONE_INT_H
#define ZONE_INT_H

#include "zones/zone.h"

#include <pthread.h>

#include <string.h>

/* An RRset: count RDATAs packed as [u16 rdlen][rdata]... */
struct zone_rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	uint8_t *data;
	size_t size;
};

#define ZONE_UUID_LEN 36    /* "8-4-4-4-12" hex characters */
#define ZONE_UUID_BYTES 16  /* packed */
#define ZONE_KEY_UUID 0xFFu /* key label: a packed UUID (never a length) */

enum {
	ZN_REGISTERED = 1u << 0, /* acme-dns registration lives here */
	ZN_APEX = 1u << 1,
	ZN_EXT = 1u << 2, /* data[] holds a struct zone_nx * after the name */
};

/* The rare parts of a node (see above). */
struct zone_nx {
	struct zone_rrset *st;   /* static RRsets, sorted by type */
	struct zone_rrset *tlsa; /* dynamic TLSA, or NULL */
	uint32_t children;       /* existing nodes one label below */
	uint16_t nstatic;
};

struct zone_node {
	struct zone_node *hnext; /* hash chain */
	uint8_t flags;           /* ZN_* */
	uint8_t name_len;        /* bytes of the key */
	uint8_t ndtxt;           /* dynamic TXT values in the blob */
	uint8_t data[];          /* key, [zone_nx *], TXT blob */
};

/* One packed dynamic TXT value in a node's blob. */
#define ZONE_DTXT_HDR 10u /* u64 t_ms, u8 flags, u8 len */
enum {
	ZD_PINNED = 1u << 0,
};

static inline struct zone_nx *
zone__nx(const struct zone_node *n)
{
	struct zone_nx *x = NULL;
	if (n->flags & ZN_EXT)
		memcpy(&x, n->data + n->name_len, sizeof(x));
	return x;
}

/* Offset of the TXT blob in data[]. */
static inline size_t
zone__txt_off(const struct zone_node *n)
{
	return n->name_len +
	       ((n->flags & ZN_EXT) ? sizeof(struct zone_nx *) : 0u);
}

static inline uint64_t
zone__dtxt_t(const uint8_t *e)
{
	uint64_t t;
	memcpy(&t, e, sizeof(t));
	return t;
}

static inline size_t
zone__dtxt_size(const uint8_t *e)
{
	return ZONE_DTXT_HDR + e[9];
}

struct zone {
	/* Readers (zone_answer on the DNS thread) against the one writer
	 * (the main loop): a pointer, so that const readers can lock it. */
	pthread_rwlock_t *lock;
	uint8_t apex[DW_NAME_MAX];
	size_t apex_len;
	char apex_str[DW_NAME_STR_MAX];

	uint8_t mname[DW_NAME_MAX];
	uint8_t rname[DW_NAME_MAX];
	uint32_t serial, soa_ttl, refresh, retry, expire, minimum, neg_ttl;
	uint16_t edns_size;
	uint32_t txt_ttl;
	uint64_t txt_max_age_ms;
	char *version, *identity;

	struct zone_node **buckets;
	size_t nbuckets, nnodes;
	uint8_t hkey[16];
	unsigned nwildcards; /* static wildcard owners: enables lookups */
};

/* The node of a lowercase wire name, which must be at or below the apex
 * (callers check with dw_name_in_zone first); NULL if absent. */
struct zone_node *zone__find(const struct zone *z, const uint8_t *lname,
			     size_t len);

#endif
