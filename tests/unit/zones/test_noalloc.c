/* SPDX-License-Identifier: MIT */
/*
 * zone_answer() must not touch the heap (STYLE habit 6): malloc, calloc,
 * realloc and free are wrapped at link time (-Wl,--wrap=...) and counted
 * while a loop answers every kind of query we know of - data, NODATA,
 * NXDOMAIN, CNAME chains and loops, wildcards, glue, ANY, big answers that
 * truncate, dynamic TXT/TLSA, CH, EDNS variants, malformed and refused
 * queries - over UDP and TCP. The count must stay zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "dnswire/rr.h"
#include "zones/zone.h"

/* ---- the wrappers ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static int counting;
static unsigned long heap_calls;

void *
__wrap_malloc(size_t n)
{
	if (counting)
		heap_calls++;
	return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	if (counting)
		heap_calls++;
	return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	if (counting)
		heap_calls++;
	return __real_realloc(p, n);
}

void
__wrap_free(void *p)
{
	if (counting)
		heap_calls++;
	__real_free(p);
}

/* ---- the zone ---- */

#define APEX "auth.example.test"

struct srec {
	const char *owner;
	uint16_t type;
	const char *data; /* name for NS/CNAME/MX, text for TXT, else raw */
	size_t dlen;
};

static struct zone *
build_zone(void)
{
	struct zone_params p = {
	    .domain = APEX,
	    .nsadmin = "hostmaster",
	    .mname = "ns1",
	    .soa_ttl = 3600,
	    .minimum = 300,
	    .serial = 1,
	    .edns_size = 1232,
	    .txt_ttl = 1,
	    .txt_max_age_ms = 3600000,
	    .version = "acmedns test",
	    .identity = NULL,
	};
	static const struct srec recs[] = {
	    {"@", DW_T_NS, "ns1", 0},
	    {"@", DW_T_NS, "ns2", 0},
	    {"@", DW_T_NS, "ns.elsewhere.example.", 0},
	    {"@", DW_T_MX, "mail", 0},
	    {"@", DW_T_A, "\xc0\x00\x02\x01", 4},
	    {"ns1", DW_T_A, "\xc0\x00\x02\x35", 4},
	    {"ns1", DW_T_AAAA, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x35",
	     16},
	    {"ns2", DW_T_A, "\xc0\x00\x02\x36", 4},
	    {"mail", DW_T_A, "\xc0\x00\x02\x19", 4},
	    {"www", DW_T_A, "\xc0\x00\x02\x50", 4},
	    {"www", DW_T_TXT, "hello", 5},
	    {"alias", DW_T_CNAME, "www", 0},
	    {"chain", DW_T_CNAME, "alias", 0},
	    {"ext", DW_T_CNAME, "www.example.net.", 0},
	    {"dangling", DW_T_CNAME, "nothere", 0},
	    {"loop1", DW_T_CNAME, "loop2", 0},
	    {"loop2", DW_T_CNAME, "loop1", 0},
	    {"*.wild", DW_T_A, "\xc0\x00\x02\x4d", 4},
	    {"*.wild", DW_T_TXT, "wild", 4},
	    {"a.b.ent", DW_T_A, "\xc0\x00\x02\x09", 4},
	};
	struct zone_rr rr[64];
	static uint8_t owners[64][DW_NAME_MAX], rdata[64][2048];
	static char big[200];
	uint8_t apex[DW_NAME_MAX];
	size_t n = 0, l;
	struct zone *z = NULL;

	assert_int_equal(zone_create(&p, &z), 0);
	assert_int_equal(dw_name_from_str(APEX, NULL, apex, &l), 0);
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++, n++) {
		struct dw_cur c = dw_writer(rdata[n], sizeof(rdata[n]));
		uint8_t tn[DW_NAME_MAX];
		assert_int_equal(
		    dw_name_from_str(recs[i].owner, apex, owners[n], &l), 0);
		switch (recs[i].type) {
		case DW_T_NS:
		case DW_T_CNAME:
			assert_int_equal(
			    dw_name_from_str(recs[i].data, apex, tn, &l), 0);
			dw_rdata_name(&c, tn);
			break;
		case DW_T_MX:
			assert_int_equal(
			    dw_name_from_str(recs[i].data, apex, tn, &l), 0);
			dw_rdata_mx(&c, 10, tn);
			break;
		case DW_T_TXT:
			dw_rdata_txt(&c, recs[i].data, recs[i].dlen);
			break;
		default:
			dw_put_bytes(&c, recs[i].data, recs[i].dlen);
		}
		assert_int_equal(c.err, 0);
		rr[n] = (struct zone_rr){owners[n], recs[i].type, 300, rdata[n],
					 (uint16_t)c.pos};
	}
	/* an RRset of ~1.7 KB: truncates over UDP */
	for (int i = 0; i < 8; i++, n++) {
		struct dw_cur c = dw_writer(rdata[n], sizeof(rdata[n]));
		memset(big, '0' + i, sizeof(big));
		dw_rdata_txt(&c, big, sizeof(big));
		assert_int_equal(dw_name_from_str("big", apex, owners[n], &l),
				 0);
		rr[n] = (struct zone_rr){owners[n], DW_T_TXT, 300, rdata[n],
					 (uint16_t)c.pos};
	}
	size_t bad;
	const char *why;
	if (zone_set_static(z, rr, n, &bad, &why) != 0)
		fail_msg("record %zu: %s", bad, why);

	assert_int_equal(zone_sub_register(z, "sub0"), 0);
	assert_int_equal(zone_sub_register(z, "sub1"), 0);
	assert_int_equal(zone_sub_register(z, "sub2"), 0);
	assert_int_equal(zone_txt_push(z, "sub1", "one", 3, 1000, 2), 0);
	assert_int_equal(zone_txt_push(z, "sub2", "one", 3, 1000, 2), 0);
	assert_int_equal(zone_txt_push(z, "sub2", "two", 3, 2000, 2), 0);
	assert_int_equal(zone_txt_pin(z, "sub2", "two", 3, 2000), 0);
	static const uint8_t dg[32] = {1, 2, 3};
	struct zone_tlsa t = {3, 1, 1, dg, sizeof(dg)};
	assert_int_equal(zone_tlsa_set(z, "_443._tcp.sub1", &t, 1, 300), 0);
	return z;
}

/* ---- queries ---- */

struct q {
	uint8_t b[512];
	size_t n;
};

/* name relative to the apex unless it ends in a dot; edns < 0: none */
static void
make_q(struct q *q, uint16_t flags, const char *name, uint16_t type,
       uint16_t cls, int edns, uint8_t version, bool do_bit)
{
	uint8_t apex[DW_NAME_MAX], qn[DW_NAME_MAX];
	size_t al, ql;
	assert_int_equal(dw_name_from_str(APEX, NULL, apex, &al), 0);
	assert_int_equal(dw_name_from_str(name, apex, qn, &ql), 0);
	struct dw_cur c = dw_writer(q->b, sizeof(q->b));
	struct dw_hdr h = {0x1234, flags, 1, 0, 0, edns >= 0 ? 1 : 0};
	dw_hdr_write(&c, &h);
	dw_put_bytes(&c, qn, ql);
	dw_put_u16(&c, type);
	dw_put_u16(&c, cls);
	if (edns >= 0) {
		dw_put_u8(&c, 0);
		dw_put_u16(&c, DW_T_OPT);
		dw_put_u16(&c, (uint16_t)edns);
		dw_put_u8(&c, 0);
		dw_put_u8(&c, version);
		dw_put_u16(&c, do_bit ? 0x8000 : 0);
		/* an unknown option and a client cookie */
		dw_put_u16(&c, 4 + 2 + 4 + 8);
		dw_put_u16(&c, 65001);
		dw_put_u16(&c, 2);
		dw_put_bytes(&c, "hi", 2);
		dw_put_u16(&c, DW_OPT_COOKIE);
		dw_put_u16(&c, 8);
		dw_put_bytes(&c, "cookie!!", 8);
	}
	assert_int_equal(c.err, 0);
	q->n = c.pos;
}

static void
test_no_heap_per_query(void **state)
{
	static const char *names[] = {
	    "@",         "www",          "WwW",           "ns1",
	    "mail",      "alias",        "chain",         "ext",
	    "dangling",  "loop1",        "foo.wild",      "wild",
	    "b.ent",     "nothere",      "x.y.nothere",   "big",
	    "sub0",      "sub1",         "SUB2",          "_443._tcp.sub1",
	    "_tcp.sub1", "example.com.", "version.bind.",
	};
	static const uint16_t types[] = {
	    DW_T_A,    DW_T_AAAA,  DW_T_NS,  DW_T_SOA, DW_T_MX,  DW_T_TXT,
	    DW_T_TLSA, DW_T_CNAME, DW_T_ANY, DW_T_CAA, DW_T_OPT, DW_T_AXFR,
	    DW_T_IXFR, DW_T_TSIG,  0,        65535,
	};
	static struct q qs[4096];
	size_t nq = 0;
	(void)state;

	struct zone *z = build_zone();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
			make_q(&qs[nq++], DW_RD, names[i], types[k], DW_C_IN,
			       -1, 0, false);
			make_q(&qs[nq++], 0, names[i], types[k], DW_C_IN, 1232,
			       0, true);
			make_q(&qs[nq++], 0, names[i], types[k], DW_C_IN, 4096,
			       0, false);
		}
	make_q(&qs[nq++], 0, "version.bind.", DW_T_TXT, DW_C_CH, -1, 0, false);
	make_q(&qs[nq++], 0, "id.server.", DW_T_TXT, DW_C_CH, -1, 0, false);
	make_q(&qs[nq++], 0, "www", DW_T_A, DW_C_HS, -1, 0, false);
	make_q(&qs[nq++], 0, "www", DW_T_A, DW_C_ANY, -1, 0, false);
	make_q(&qs[nq++], 0, "www", DW_T_A, DW_C_IN, 1232, 1, false);
	make_q(&qs[nq++], DW_OP_NOTIFY << 11, "@", DW_T_SOA, DW_C_IN, -1, 0,
	       false);
	make_q(&qs[nq++], DW_OP_UPDATE << 11, "@", DW_T_SOA, DW_C_IN, -1, 0,
	       false);
	/* malformed: qdcount 2, QR set, runt, bad OPT, garbage */
	make_q(&qs[nq], 0, "www", DW_T_A, DW_C_IN, -1, 0, false);
	qs[nq++].b[5] = 2;
	make_q(&qs[nq], 0, "www", DW_T_A, DW_C_IN, -1, 0, false);
	qs[nq++].b[2] |= 0x80;
	make_q(&qs[nq], 0, "www", DW_T_A, DW_C_IN, -1, 0, false);
	qs[nq++].n = 11;
	make_q(&qs[nq], 0, "www", DW_T_A, DW_C_IN, 1232, 0, false);
	qs[nq++].n -= 3;
	for (size_t i = 0; i < 64; i++, nq++) {
		for (size_t j = 0; j < 64; j++)
			qs[nq].b[j] = (uint8_t)(i * 31 + j * 17);
		qs[nq].b[2] &= 0x7f;
		qs[nq].n = 12 + i;
	}
	assert_true(nq < sizeof(qs) / sizeof(qs[0]));

	/* the counter works */
	counting = 1;
	void *p = xmalloc(16);
	free(p);
	counting = 0;
	assert_int_equal(heap_calls, 2);
	heap_calls = 0;

	static uint8_t out[65535];
	unsigned long answered = 0, truncated = 0;
	struct zone_qinfo info;
	counting = 1;
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < nq; i++) {
			struct zone_qopts o = {
			    .tcp = (round & 1) != 0,
			    .now_ms = 1500 + (uint64_t)round * 1000000};
			size_t cap = o.tcp ? sizeof(out) : 1232;
			if (zone_answer(z, qs[i].b, qs[i].n, out, cap, &o,
					&info))
				answered++;
			truncated += info.tc;
		}
	}
	counting = 0;
	assert_int_equal(heap_calls, 0);
	assert_true(answered > 20 * (nq - 70));
	assert_true(truncated > 0);
	zone_free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_heap_per_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
