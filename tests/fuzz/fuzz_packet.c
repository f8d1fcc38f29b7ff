/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the query path: untrusted bytes through
 * dw_query_parse() and zone_answer(), exactly what a UDP or TCP packet
 * meets in the server. The zone is built once (LLVMFuzzerInitialize) from
 * hand-made wire-format records - no server/ config code - and is meant to
 * reach every branch of the answerer: NS with in- and out-of-zone glue, MX,
 * CNAME chains (short, too long, looping, dangling, leaving the zone),
 * wildcards (also a wildcard CNAME), empty non-terminals, a name of the
 * maximum length, RRsets too big for UDP, registered subdomains with live,
 * expired and pinned dynamic TXT values and dynamic TLSA sets.
 *
 * Each input is answered three ways - UDP with a 64 KiB buffer, UDP with a
 * 512-byte buffer, TCP - and besides memory errors the harness aborts when
 * a response breaks the contract of zone.h: it is longer than the limit
 * (512, the EDNS size within [512, our size], the buffer), it lacks QR=1 or
 * the query's ID, opcode or RD, its question is not the query's question
 * byte for byte, it does not parse back (counts, names with backwards-only
 * compression, RDATA names spanning exactly RDLENGTH, OPT last and only
 * when due), or a UDP answer that was not truncated differs from the TCP
 * answer in its answer and authority sections (qtype ANY aside: RFC 8482
 * applies to UDP only).
 */
#include "dnswire/rr.h"
#include "zones/zone.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define APEX "fz.example"
#define EDNS_SIZE 1232
#define NOW_MS 1700000000000ull
#define MAX_AGE_MS 3600000ull
#define TCP_CAP 65535

static struct zone *zone;
/* Response buffers of exactly their capacity, so ASan catches overruns. */
static uint8_t *out_big, *out_512, *out_tcp;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			check_failed(#cond, __LINE__);                         \
	} while (0)

static void
check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_packet.c:%d: invariant broken: %s\n", line, what);
	abort();
}

/* ---- building the zone ---- */

#define MAX_RRS 512
static uint8_t pool[1 << 17]; /* owners and RDATA of the static records */
static size_t pool_used;
static struct zone_rr rrs[MAX_RRS];
static size_t n_rrs;
static uint8_t apex_wire[DW_NAME_MAX];

static uint8_t *
pool_take(size_t n)
{
	if (pool_used + n > sizeof(pool))
		abort();
	uint8_t *p = pool + pool_used;
	pool_used += n;
	return p;
}

/* Wire format of a presentation name relative to the apex, in the pool. */
static const uint8_t *
wire_name(const char *s)
{
	uint8_t tmp[DW_NAME_MAX];
	size_t len;

	if (dw_name_from_str(s, apex_wire, tmp, &len) != 0) {
		fprintf(stderr, "fuzz_packet: bad name %s\n", s);
		abort();
	}
	return memcpy(pool_take(len), tmp, len);
}

/* Append one record; the RDATA is what the writer w holds. */
static void
add(const char *owner, uint16_t type, uint32_t ttl, const struct dw_cur *w)
{
	if (n_rrs == MAX_RRS || w->err)
		abort();
	struct zone_rr *rr = &rrs[n_rrs++];
	rr->owner = wire_name(owner);
	rr->type = type;
	rr->ttl = ttl;
	rr->rdata = memcpy(pool_take(w->pos ? w->pos : 1), w->base, w->pos);
	rr->rdlen = (uint16_t)w->pos;
}

static void
add_name(const char *owner, uint16_t type, const char *target)
{
	uint8_t rd[DW_NAME_MAX];
	struct dw_cur w = dw_writer(rd, sizeof(rd));
	dw_rdata_name(&w, wire_name(target));
	add(owner, type, 300, &w);
}

static void
add_mx(const char *owner, uint16_t pref, const char *target)
{
	uint8_t rd[2 + DW_NAME_MAX];
	struct dw_cur w = dw_writer(rd, sizeof(rd));
	dw_rdata_mx(&w, pref, wire_name(target));
	add(owner, DW_T_MX, 300, &w);
}

static void
add_a(const char *owner, uint8_t last, uint32_t ttl)
{
	const uint8_t a[4] = {192, 0, 2, last};
	uint8_t rd[4];
	struct dw_cur w = dw_writer(rd, sizeof(rd));
	dw_rdata_a(&w, a);
	add(owner, DW_T_A, ttl, &w);
}

static void
add_aaaa(const char *owner, uint8_t last)
{
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
	uint8_t rd[16];
	struct dw_cur w = dw_writer(rd, sizeof(rd));
	a[15] = last;
	dw_rdata_aaaa(&w, a);
	add(owner, DW_T_AAAA, 300, &w);
}

static void
add_txt(const char *owner, const void *val, size_t len)
{
	static uint8_t rd[4096];
	struct dw_cur w = dw_writer(rd, sizeof(rd));
	dw_rdata_txt(&w, val, len);
	add(owner, DW_T_TXT, 300, &w);
}

static void
build_static(void)
{
	uint8_t rd[64];
	struct dw_cur w;
	char name[DW_NAME_STR_MAX];
	uint8_t big[2000];

	/* apex: NS (two in zone with glue, one outside), MX, TXT, CAA */
	add_name("@", DW_T_NS, "ns1");
	add_name("@", DW_T_NS, "ns2");
	add_name("@", DW_T_NS, "ns.elsewhere.example.");
	add_name("@", DW_T_NS, "ns1"); /* duplicate: merged */
	add_a("ns1", 1, 300);
	add_aaaa("ns1", 1);
	add_a("ns2", 2, 300);
	add_a("ns2", 3, 60); /* RRset takes the lower TTL */
	add_mx("@", 10, "mail");
	add_mx("@", 20, "mail.elsewhere.example.");
	add_mx("@", 30, "nomail"); /* in zone, no such name: no glue */
	add_mx("@", 40, "many");   /* 200 A records: glue too big for UDP */
	add_a("mail", 25, 300);
	add_aaaa("mail", 25);
	add_txt("@", "v=spf1 -all", 11);
	w = dw_writer(rd, sizeof(rd));
	dw_rdata_caa(&w, 0, "issue", "letsencrypt.org", 15);
	add("@", DW_T_CAA, 300, &w);

	/* CNAMEs: simple, out of zone, dangling, a loop, a chain of ten
	 * (longer than the answerer follows) */
	add_name("www", DW_T_CNAME, "web");
	add_a("web", 80, 300);
	add_aaaa("web", 80);
	add_name("out", DW_T_CNAME, "target.elsewhere.example.");
	add_name("dangling", DW_T_CNAME, "nothere");
	add_name("loop1", DW_T_CNAME, "loop2");
	add_name("loop2", DW_T_CNAME, "loop1");
	for (int i = 0; i < 10; i++) {
		char a[16], b[16];
		snprintf(a, sizeof(a), "chain%d", i);
		snprintf(b, sizeof(b), "chain%d", i + 1);
		add_name(a, DW_T_CNAME, b);
	}
	add_a("chain10", 10, 300);
	add_name("tomx", DW_T_CNAME, "@");
	add_name("totxt", DW_T_CNAME, "sub1"); /* dynamic TXT behind it */

	/* wildcards, one of them a CNAME */
	add_a("*.wild", 99, 300);
	add_txt("*.wild", "wildcard", 8);
	add_name("*.cwild", DW_T_CNAME, "www");

	/* empty non-terminals above a.b.c.deep; PTR, SRV, HINFO */
	add_a("a.b.c.deep", 4, 300);
	add_name("ptr", DW_T_PTR, "web");
	w = dw_writer(rd, sizeof(rd));
	dw_put_u16(&w, 0);
	dw_put_u16(&w, 5);
	dw_put_u16(&w, 443);
	dw_rdata_name(&w, wire_name("web"));
	add("_https._tcp", DW_T_SRV, 300, &w);
	w = dw_writer(rd, sizeof(rd));
	dw_put_bytes(&w, "\3CPU\2OS", 7);
	add("hinfo", DW_T_HINFO, 300, &w);

	/* too big for UDP: a 2000-byte TXT plus more, and 200 A records */
	memset(big, 'x', sizeof(big));
	add_txt("big", big, sizeof(big));
	add_txt("big", big, 700);
	add_txt("big", "", 0);
	for (int i = 0; i < 200; i++)
		add_a("many", (uint8_t)i, 300);

	/* an owner of exactly 255 bytes: 3 x 63 + 50 labels + apex */
	size_t p = 0;
	for (int l = 0; l < 4; l++) {
		size_t n = l < 3 ? 63 : 50;
		memset(name + p, 'a' + l, n);
		p += n;
		name[p++] = '.';
	}
	name[p - 1] = '\0';
	add_a(name, 255, 300);
	add_txt(name, "long", 4);
	add_txt("future", "static", 6);
}

static void
build_dynamic(void)
{
	static const uint8_t tlsa1[32] = {1, 2, 3, 4, 5, 6, 7, 8};
	static uint8_t tlsa2[1024];
	char val[ZONE_TXT_MAX];
	int r = 0;

	/* sub1: one live and one expired value, a TLSA set */
	r |= zone_sub_register(zone, "sub1");
	r |= zone_txt_push(zone, "sub1", "live-digest-1", 13, NOW_MS - 1000, 2);
	r |= zone_txt_push(zone, "sub1", "old-digest", 10,
			   NOW_MS - 2 * MAX_AGE_MS, 2);
	memset(tlsa2, 0xab, sizeof(tlsa2));
	const struct zone_tlsa t[] = {
	    {3, 1, 1, tlsa1, sizeof(tlsa1)},
	    {2, 0, 1, tlsa1, 32},
	    {3, 0, 0, tlsa2, sizeof(tlsa2)},
	};
	r |= zone_tlsa_set(zone, "_443._tcp.sub1", t, 3, 300);
	r |= zone_tlsa_set(zone, "_25._tcp.sub1", t, 1, 300);
	/* sub2: registered, no data (NODATA) */
	r |= zone_sub_register(zone, "sub2");
	/* sub3: 64 pinned 255-byte values (about 17 KB: TCP only) */
	r |= zone_sub_register(zone, "Sub3");
	for (int i = 0; i < ZONE_TXT_COUNT; i++) {
		memset(val, 'A' + i % 26, sizeof(val));
		val[0] = (char)i;
		r |= zone_txt_pin(zone, "sub3", val, sizeof(val), NOW_MS);
	}
	/* only expired values */
	r |= zone_sub_register(zone, "stale");
	r |=
	    zone_txt_push(zone, "stale", "gone", 4, NOW_MS - 2 * MAX_AGE_MS, 1);
	/* a value timestamped in the future is live */
	r |= zone_txt_push(zone, "future", "later", 5, NOW_MS + 5000, 1);
	/* dynamic data under a wildcard and at a CNAME owner */
	r |= zone_txt_push(zone, "x.wild", "under-wildcard", 14, NOW_MS, 1);
	r |= zone_txt_push(zone, "www", "at-cname", 8, NOW_MS, 1);
	/* the same value pinned and pushed: served once; a static TXT next
	 * to dynamic ones */
	r |= zone_txt_pin(zone, "dup", "same", 4, NOW_MS);
	r |= zone_txt_push(zone, "dup", "same", 4, NOW_MS, 2);
	r |= zone_txt_push(zone, "dup", "other", 5, NOW_MS, 2);
	/* a registration below a static name and an empty value */
	r |= zone_sub_register(zone, "deep.sub1");
	r |= zone_txt_pin(zone, "deep.sub1", "", 0, NOW_MS);
	if (r != 0) {
		fprintf(stderr, "fuzz_packet: dynamic data failed\n");
		abort();
	}
}

static void
cleanup(void)
{
	zone_free(zone);
	free(out_big);
	free(out_512);
	free(out_tcp);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char identity[300];
	const struct zone_params zp = {
	    .domain = APEX,
	    .nsadmin = "hostmaster",
	    .mname = "ns1",
	    .soa_ttl = 3600,
	    .refresh = 7200,
	    .retry = 900,
	    .expire = 1209600,
	    .minimum = 300,
	    .serial = 2024010101,
	    .edns_size = EDNS_SIZE,
	    .txt_ttl = 1,
	    .txt_max_age_ms = MAX_AGE_MS,
	    .version = "acmedns-fuzz",
	    .identity = identity, /* longer than a TXT string */
	};
	size_t len, bad = 0;
	const char *why = "";

	(void)argc;
	(void)argv;
	if (zone)
		return 0;
	memset(identity, 'i', sizeof(identity) - 1);
	if (dw_name_from_str(APEX, NULL, apex_wire, &len) != 0 ||
	    zone_create(&zp, &zone) != 0)
		abort();
	build_static();
	if (zone_set_static(zone, rrs, n_rrs, &bad, &why) != 0) {
		fprintf(stderr, "fuzz_packet: record %zu: %s\n", bad, why);
		abort();
	}
	build_dynamic();
	out_big = malloc(TCP_CAP);
	out_512 = malloc(ZONE_UDP_MIN);
	out_tcp = malloc(TCP_CAP);
	if (!out_big || !out_512 || !out_tcp)
		abort();
	atexit(cleanup);
	return 0;
}

/* ---- checking a response ---- */

struct resp {
	struct dw_hdr h;
	size_t auth_end; /* offset just past the authority section */
	bool opt;
	uint8_t opt_ext_rcode;
	uint16_t opt_flags;
};

/* A name inside RDATA: must decompress and end inside the RDATA. */
static void
rdata_name(struct dw_cur *c, size_t rd_end)
{
	uint8_t name[DW_NAME_MAX];
	size_t len;

	CHECK(dw_name_read(c, name, &len) == 0);
	CHECK(c->pos <= rd_end);
}

/* One RR at the cursor; sec is 0 answer, 1 authority, 2 additional. */
static void
walk_rr(struct dw_cur *c, int sec, bool last, const struct dw_query *q,
	bool first_answer, struct resp *r)
{
	uint8_t owner[DW_NAME_MAX];
	size_t olen;

	CHECK(dw_name_read(c, owner, &olen) == 0);
	uint16_t type = dw_get_u16(c);
	uint16_t cls = dw_get_u16(c);
	uint32_t ttl = dw_get_u32(c);
	uint16_t rdlen = dw_get_u16(c);
	CHECK(c->err == 0);
	CHECK(rdlen <= dw_left(c));
	size_t start = c->pos, end = c->pos + rdlen;

	if (first_answer)
		CHECK(dw_name_equal(owner, q->qname));
	switch (type) {
	case DW_T_NS:
	case DW_T_CNAME:
	case DW_T_PTR:
		rdata_name(c, end);
		CHECK(c->pos == end);
		break;
	case DW_T_MX:
		dw_skip(c, 2);
		rdata_name(c, end);
		CHECK(c->pos == end);
		break;
	case DW_T_SOA:
		rdata_name(c, end);
		rdata_name(c, end);
		CHECK(end - c->pos == 20);
		break;
	case DW_T_TXT:
		CHECK(rdlen > 0);
		CHECK(dw_rdata_check(DW_T_TXT, c->base + start, rdlen) == 0);
		break;
	case DW_T_OPT:
		/* RFC 6891 §6.1.1: one OPT, root owner, additional section;
		 * ours is always the last record and carries no options */
		CHECK(sec == 2 && last && !r->opt);
		CHECK(olen == 1 && rdlen == 0);
		CHECK(cls == EDNS_SIZE);
		r->opt = true;
		r->opt_ext_rcode = (uint8_t)(ttl >> 24);
		r->opt_flags = (uint16_t)ttl;
		CHECK(((ttl >> 16) & 0xff) == 0); /* version 0 */
		break;
	default:
		break;
	}
	if (type != DW_T_OPT)
		CHECK(cls == DW_C_IN ||
		      (cls == DW_C_CH && q->qclass == DW_C_CH));
	c->err = 0;
	c->pos = end;
}

/* Parse a response completely; every byte must belong to a record. */
static void
walk_response(const uint8_t *msg, size_t len, const struct dw_query *q,
	      enum dw_parse_status st, struct resp *r)
{
	struct dw_cur c = dw_reader(msg, len);

	memset(r, 0, sizeof(*r));
	CHECK(dw_hdr_read(msg, len, &r->h) == 0);
	c.pos = DW_HDR_LEN;
	if (st == DW_PARSE_FORMERR) {
		CHECK(r->h.qdcount == 0);
	} else {
		/* the question echoed byte for byte (0x20 case kept) */
		CHECK(r->h.qdcount == 1);
		CHECK(len >= DW_HDR_LEN + q->question_len);
		c.pos += q->question_len;
	}
	for (unsigned i = 0; i < r->h.ancount; i++)
		walk_rr(&c, 0, false, q, i == 0, r);
	for (unsigned i = 0; i < r->h.nscount; i++)
		walk_rr(&c, 1, false, q, false, r);
	r->auth_end = c.pos;
	for (unsigned i = 0; i < r->h.arcount; i++)
		walk_rr(&c, 2, i + 1 == r->h.arcount, q, false, r);
	CHECK(c.pos == len);
}

/* The UDP size limit zone.h promises for this query. */
static size_t
udp_limit(const struct dw_query *q, enum dw_parse_status st, size_t cap)
{
	size_t limit = ZONE_UDP_MIN;

	if (st == DW_PARSE_OK && q->edns.present) {
		limit = q->edns.udp_size < ZONE_UDP_MIN ? ZONE_UDP_MIN
							: q->edns.udp_size;
		if (limit > EDNS_SIZE)
			limit = EDNS_SIZE;
	}
	return limit < cap ? limit : cap;
}

static void
answer(const uint8_t *data, size_t size, const struct dw_query *q,
       enum dw_parse_status st, bool tcp, uint8_t *out, size_t cap,
       struct resp *r)
{
	const struct zone_qopts o = {.tcp = tcp, .now_ms = NOW_MS};
	struct zone_qinfo info;
	size_t len = zone_answer(zone, data, size, out, cap, &o, &info);
	size_t limit = tcp ? cap : udp_limit(q, st, cap);

	CHECK(info.qtype == q->qtype);
	if (st == DW_PARSE_DROP) {
		CHECK(len == 0);
		return;
	}
	CHECK(len >= DW_HDR_LEN && len <= limit);
	/* the query's own question bytes come back unchanged */
	if (st != DW_PARSE_FORMERR)
		CHECK(memcmp(out + DW_HDR_LEN, data + DW_HDR_LEN,
			     q->question_len) == 0);
	walk_response(out, len, q, st, r);

	uint16_t f = r->h.flags;
	CHECK(r->h.id == q->hdr.id);
	CHECK(f & DW_QR);
	CHECK(!(f & DW_RA) && !(f & DW_Z) && !(f & DW_AD));
	CHECK(DW_OPCODE(f) == DW_OPCODE(q->hdr.flags));
	CHECK((f & DW_RD) == (q->hdr.flags & DW_RD));
	CHECK((f & DW_CD) == (q->hdr.flags & DW_CD));
	CHECK(!!(f & DW_TC) == info.tc);
	CHECK(DW_RCODE(f) == (info.rcode & 0xF));
	if (tcp)
		CHECK(!(f & DW_TC));
	if (f & DW_TC) /* truncated: question only (and OPT) */
		CHECK(r->h.ancount == 0 && r->h.nscount == 0 &&
		      r->h.arcount <= 1);
	/* OPT comes back exactly when the query had a valid one */
	CHECK(r->opt == (st == DW_PARSE_OK && q->edns.present));
	if (r->opt) {
		CHECK(r->opt_ext_rcode == info.rcode >> 4);
		CHECK((r->opt_flags & 0x8000u) == (q->edns.flags & 0x8000u));
		CHECK((r->opt_flags & 0x7fffu) == 0);
	} else {
		CHECK(info.rcode < 16);
	}
	if (DW_OPCODE(q->hdr.flags) != DW_OP_QUERY)
		CHECK(info.rcode == DW_NOTIMP);
	else if (st != DW_PARSE_OK)
		CHECK(info.rcode == DW_FORMERR);
	else if (q->edns.present && q->edns.version > 0)
		CHECK(info.rcode == DW_BADVERS);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dw_query q;
	struct resp ru, r5, rt;
	const struct zone_qopts udp = {.now_ms = NOW_MS};

	if (!zone)
		LLVMFuzzerInitialize(NULL, NULL);
	enum dw_parse_status st = dw_query_parse(data, size, &q);
	if (st != DW_PARSE_DROP && st != DW_PARSE_FORMERR) {
		CHECK(q.qname_len >= 1 && q.qname_len <= DW_NAME_MAX);
		CHECK(q.question_len == q.qname_len + 4);
		CHECK(DW_HDR_LEN + q.question_len <= size);
	}

	answer(data, size, &q, st, false, out_big, TCP_CAP, &ru);
	answer(data, size, &q, st, false, out_512, ZONE_UDP_MIN, &r5);
	answer(data, size, &q, st, true, out_tcp, TCP_CAP, &rt);
	/* zone.h: a buffer below 512 bytes gets no answer */
	CHECK(zone_answer(zone, data, size, out_512, ZONE_UDP_MIN - 1, &udp,
			  NULL) == 0);
	if (st == DW_PARSE_DROP)
		return 0;

	/* A UDP answer that was not truncated has the answer and authority
	 * sections of the TCP answer; only optional glue may be missing.
	 * Except for ANY: RFC 8482 minimal answers are for UDP only. */
	if (!(ru.h.flags & DW_TC) && q.qtype != DW_T_ANY) {
		CHECK(memcmp(out_big, out_tcp, 10) == 0); /* all but ARCOUNT */
		CHECK(ru.auth_end == rt.auth_end);
		CHECK(memcmp(out_big + DW_HDR_LEN, out_tcp + DW_HDR_LEN,
			     ru.auth_end - DW_HDR_LEN) == 0);
		CHECK(ru.h.arcount <= rt.h.arcount);
	}
	return 0;
}
