/* SPDX-License-Identifier: MIT */
/*
 * Internal layout of struct zone, shared by the table code (zone.c) and the
 * answerer (answer.c). Not for other modules.
 */
#ifndef ZONE_INT_H
#define ZONE_INT_H

#include "zones/zone.h"

/* An RRset: count RDATAs packed as [u16 rdlen][rdata]... */
struct zone_rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	uint8_t *data;
	size_t size;
};

/* One dynamic TXT value. */
struct zone_dtxt {
	uint64_t t_ms;
	bool pinned;
	uint8_t len;
	uint8_t val[];
};

enum {
	ZN_REGISTERED = 1u << 0, /* acme-dns registration lives here */
	ZN_APEX = 1u << 1,
};

struct zone_node {
	struct zone_node *hnext; /* hash chain */
	uint64_t hash;
	uint32_t children; /* existing nodes one label below */
	uint16_t nstatic;  /* static RRsets, sorted by type */
	uint8_t flags;
	uint8_t ndtxt;
	struct zone_rrset *st;
	struct zone_dtxt **dtxt;
	struct zone_rrset *tlsa; /* dynamic TLSA, or NULL */
	uint8_t name_len;
	uint8_t name[]; /* lowercase wire format */
};

struct zone {
	uint8_t apex[DW_NAME_MAX];
	size_t apex_len;
	char apex_str[DW_NAME_STR_MAX];
	struct zone_node *apex_node;

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

struct zone_node *zone__find(const struct zone *z, const uint8_t *lname,
			     size_t len);

#endif
