/* SPDX-License-Identifier: MIT */
/*
 * The in-memory zone: SOA and NS of the delegated zone, static records from
 * the configuration, and the dynamic data acmedns serves - per-subdomain
 * challenge TXT value sets and TLSA sets - plus zone_answer(), which turns
 * query bytes into response bytes.
 *
 * Pure: no sockets, no I/O, no logging, no clock reads (callers pass "now").
 * zone_answer() does not allocate. Threads: one writer thread (the main
 * loop) calls the mutators, each of which holds the zone's write lock;
 * zone_answer() may run on other threads at the same time (it holds the
 * read lock for one query), so every answer sees a mutation entirely or
 * not at all. The other readers (zone_txt_count, ...) are for the writer
 * thread only.
 *
 * Names given as strings are in presentation format; a name without a
 * trailing dot is relative to the zone apex ("<uuid>" means
 * "<uuid>.<apex>."). Every name must be at or below the apex.
 */
#ifndef ZONE_H
#define ZONE_H

#include "dnswire/msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zone;

struct zone_params {
	const char *domain;	/* apex, e.g. "auth.example.test" */
	const char *nsadmin;	/* SOA RNAME, "hostmaster.example.test" */
	const char *mname;	/* SOA MNAME (primary NS name) */
	uint32_t soa_ttl;	/* TTL of SOA (and of the negative answer cap) */
	uint32_t refresh, retry, expire;
	uint32_t minimum;	/* SOA MINIMUM (negative caching, RFC 2308) */
	uint32_t serial;	/* starting serial (e.g. unix time) */
	uint16_t edns_size;	/* UDP payload size we advertise (1232) */
	uint32_t txt_ttl;	/* TTL of dynamic TXT answers (1) */
	uint64_t txt_max_age_ms; /* dynamic TXT older than this is not served;
				   0 = never expires */
	const char *version;	/* CH TXT version.bind / version.server;
				   NULL = hidden (REFUSED) */
	const char *identity;	/* CH TXT id.server / hostname.bind; NULL hidden */
};

/* A static record: owner in wire format (any case), class IN, RDATA in
 * uncompressed wire format. Borrowed for the duration of the call. */
struct zone_rr {
	const uint8_t *owner;
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlen;
};

/*
 * Create an empty zone (apex with SOA only; NS comes with the static records).
 * Returns 0 and *out (caller frees with zone_free), or AD_EMALF/AD_ERANGE
 * for a bad name in params. Strings in params are copied.
 */
int zone_create(const struct zone_params *params, struct zone **out);
void zone_free(struct zone *z);

/*
 * Replace all static records at once. Validates everything first; on error
 * nothing changes, *bad is the index of the offending record and why is a
 * static explanation. Rules: owner at or below the apex; no SOA (generated
 * from zone_params); no NS below the apex (delegations are not supported);
 * no DNAME; CNAME alone at its name; RDATA well formed; the apex must get at
 * least one NS. Duplicate records are merged; an RRset takes the lowest TTL
 * of its records. Bumps the serial.
 */
int zone_set_static(struct zone *z, const struct zone_rr *rrs, size_t n,
		    size_t *bad, const char **why);

/* Registered subdomains: the name exists (NODATA for absent types) even
 * with no TXT values. 0, AD_EEXIST (register twice), AD_ENOENT (unregister
 * unknown), AD_ENOTZONE, AD_EMALF. Unregister also drops its TXT values. */
int zone_sub_register(struct zone *z, const char *name);
int zone_sub_unregister(struct zone *z, const char *name);
bool zone_sub_exists(const struct zone *z, const char *name);

#define ZONE_TXT_MAX 255   /* bytes in one dynamic TXT value */
#define ZONE_TXT_COUNT 64  /* dynamic TXT values per name, at most */

/*
 * Add a TXT value to the rotating slots of name (acme-dns /update): when
 * `slots` unpinned values exist already, the oldest is replaced (if slots
 * shrank, the oldest go until the newest `slots` remain). now_ms is
 * the value's timestamp (for ordering and expiry). An equal value already
 * present is refreshed rather than duplicated. Bumps the serial.
 */
int zone_txt_push(struct zone *z, const char *name, const void *val,
		  size_t len, uint64_t now_ms, unsigned slots);

/*
 * Pinned values: added and removed explicitly (the ACME engine's challenge
 * digests), never rotated out by zone_txt_push. AD_ELIMIT past
 * ZONE_TXT_COUNT. zone_txt_unpin: AD_ENOENT if absent.
 */
int zone_txt_pin(struct zone *z, const char *name, const void *val,
		 size_t len, uint64_t now_ms);
int zone_txt_unpin(struct zone *z, const char *name, const void *val,
		   size_t len);

/* Timestamp of the newest dynamic TXT value at name, 0 if none. Writers
 * that persist values use it to keep timestamps strictly increasing per
 * name, so "oldest" never depends on a tie. */
uint64_t zone_txt_newest(const struct zone *z, const char *name);
/* Number of dynamic TXT values at name (expired ones included). */
unsigned zone_txt_count(const struct zone *z, const char *name);

struct zone_tlsa {
	uint8_t usage, selector, mtype;
	const uint8_t *data;
	uint16_t len;
};

/* Replace the dynamic TLSA set at name (e.g. "_443._tcp.<uuid>"); n = 0
 * removes it. Bumps the serial. */
int zone_tlsa_set(struct zone *z, const char *name, const struct zone_tlsa *t,
		  size_t n, uint32_t ttl);

uint32_t zone_serial(const struct zone *z);
size_t zone_node_count(const struct zone *z);
/* Apex in presentation format (static storage inside z). */
const char *zone_apex_str(const struct zone *z);

/* Per-query inputs and outputs of zone_answer(). */
struct zone_qopts {
	bool tcp;	 /* over TCP: no UDP size limit, no RFC 8482 shortcut */
	uint64_t now_ms; /* for TXT expiry */
};

struct zone_qinfo {
	uint16_t qtype;
	uint8_t rcode; /* including extended (BADVERS = 16) */
	bool tc;
};

#define ZONE_UDP_MIN 512

/*
 * Answer one query. q/qlen: the raw query. out/cap: response buffer (cap
 * at least 512; 65535 for TCP). Returns the response length, or 0 when the
 * query must be dropped (runt, QR set). info (may be NULL) gets the qtype
 * and rcode for statistics. Never allocates.
 */
size_t zone_answer(const struct zone *z, const uint8_t *q, size_t qlen,
		   uint8_t *out, size_t cap, const struct zone_qopts *opts,
		   struct zone_qinfo *info);

#endif
