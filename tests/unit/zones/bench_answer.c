/* SPDX-License-Identifier: MIT */
/*
 * Performance sanity for zone_answer() (not a test: nothing is timed in
 * CI). Loads the acmedns workload of bench/gen.py into a zone - 100,000
 * registered subdomains with two TXT values each, 100 hosts with a TLSA at
 * _443._tcp.<host> - then answers gen.py's query mix from memory and
 * prints nanoseconds per zone_answer() call.
 *
 *   bench_answer [SUBDOMAINS [QUERIES [PASSES]]]
 *
 * Query mix (as gen.py): 70% TXT existing subdomain, 10% TXT random name
 * (NXDOMAIN), 8% TLSA existing host, 2% TLSA missing host (NXDOMAIN),
 * 3% SOA apex, 3% NS apex (with glue), 2% A ns1/apex, 2% A existing
 * subdomain (NODATA); 10% of names in 0x20 mixed case. Half the queries
 * carry EDNS (1232, DO=0), half none; all over UDP.
 */
#include "dnswire/rr.h"
#include "zones/zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

/* static records: apex NS/A, ns1 A/AAAA, ns2 A, hostN A */
static void
load_static(struct zone *z, unsigned hosts)
{
	size_t n = 0, cap = 8 + hosts, l;
	struct zone_rr *rr = calloc(cap, sizeof(*rr));
	uint8_t(*own)[DW_NAME_MAX] = calloc(cap, sizeof(*own));
	uint8_t(*rd)[DW_NAME_MAX] = calloc(cap, sizeof(*rd));
	uint8_t apex[DW_NAME_MAX];
	char name[64];
	if (!rr || !own || !rd)
		exit(1);
	check(dw_name_from_str(APEX, NULL, apex, &l), "apex");

#define ADD(o, t, data, dlen)                                                  \
	do {                                                                   \
		check(dw_name_from_str(o, apex, own[n], &l), o);               \
		memcpy(rd[n], data, dlen);                                     \
		rr[n] =                                                        \
		    (struct zone_rr){own[n], t, 300, rd[n], (uint16_t)(dlen)}; \
		n++;                                                           \
	} while (0)
	uint8_t ns1[DW_NAME_MAX], ns2[DW_NAME_MAX];
	size_t l1, l2;
	check(dw_name_from_str("ns1", apex, ns1, &l1), "ns1");
	check(dw_name_from_str("ns2", apex, ns2, &l2), "ns2");
	ADD("@", DW_T_NS, ns1, l1);
	ADD("@", DW_T_NS, ns2, l2);
	ADD("@", DW_T_A, "\x7f\x00\x00\x01", 4);
	ADD("ns1", DW_T_A, "\x7f\x00\x00\x01", 4);
	ADD("ns1", DW_T_AAAA, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
	ADD("ns2", DW_T_A, "\x7f\x00\x00\x02", 4);
	for (unsigned i = 0; i < hosts; i++) {
		snprintf(name, sizeof(name), "host%u", i);
		ADD(name, DW_T_A, "\x7f\x00\x00\x01", 4);
	}
#undef ADD
	size_t bad;
	const char *why;
	if (zone_set_static(z, rr, n, &bad, &why)) {
		fprintf(stderr, "bench: static record %zu: %s\n", bad, why);
		exit(1);
	}
	free(rr);
	free(own);
	free(rd);
}

struct query {
	uint8_t b[300];
	uint16_t n;
};

static void
mixcase(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z' && (rnd() & 1))
			*s = (char)(*s - 32);
}

static void
make_query(struct query *q, const char *name, uint16_t type, bool edns)
{
	uint8_t apex[DW_NAME_MAX], qn[DW_NAME_MAX];
	size_t al, ql;
	check(dw_name_from_str(APEX, NULL, apex, &al), "apex");
	check(dw_name_from_str(name, apex, qn, &ql), name);
	struct dw_cur c = dw_writer(q->b, sizeof(q->b));
	struct dw_hdr h = {(uint16_t)rnd(), 0, 1, 0, 0, edns ? 1 : 0};
	dw_hdr_write(&c, &h);
	dw_put_bytes(&c, qn, ql);
	dw_put_u16(&c, type);
	dw_put_u16(&c, DW_C_IN);
	if (edns)
		dw_opt_write(&c, 1232, 0, false);
	q->n = (uint16_t)c.pos;
}

int
main(int argc, char **argv)
{
	unsigned nsub = argc > 1 ? (unsigned)atoi(argv[1]) : 100000;
	unsigned nq = argc > 2 ? (unsigned)atoi(argv[2]) : 200000;
	unsigned passes = argc > 3 ? (unsigned)atoi(argv[3]) : 10;
	const unsigned hosts = 100;
	struct zone_params p = {
	    .domain = APEX,
	    .nsadmin = "hostmaster",
	    .mname = "ns1",
	    .soa_ttl = 3600,
	    .refresh = 3600,
	    .retry = 600,
	    .expire = 86400,
	    .minimum = 1,
	    .serial = 2024010101,
	    .edns_size = 1232,
	    .txt_ttl = 1,
	};
	struct zone *z = NULL;
	char(*names)[40] = calloc(nsub ? nsub : 1, sizeof(*names));
	char tok[44], name[128];

	if (!names || nq == 0 || passes == 0)
		return 1;
	check(zone_create(&p, &z), "zone_create");
	double t0 = now_s();
	load_static(z, hosts);
	for (unsigned i = 0; i < nsub; i++) {
		uuid(names[i]);
		check(zone_sub_register(z, names[i]), "register");
		for (int k = 0; k < 2; k++) {
			token(tok);
			check(zone_txt_push(z, names[i], tok, 43, 1000 + k, 2),
			      "push");
		}
	}
	for (unsigned i = 0; i < hosts; i++) {
		uint8_t dg[32];
		for (int k = 0; k < 32; k++)
			dg[k] = (uint8_t)rnd();
		struct zone_tlsa t = {3, 1, 1, dg, 32};
		snprintf(name, sizeof(name), "_443._tcp.host%u", i);
		check(zone_tlsa_set(z, name, &t, 1, 300), "tlsa");
	}
	double t1 = now_s();
	printf("loaded %u subdomains x 2 TXT, %u TLSA hosts: %zu nodes in "
	       "%.2f s\n",
	       nsub, hosts, zone_node_count(z), t1 - t0);

	struct query *qs = calloc(nq, sizeof(*qs));
	if (!qs)
		return 1;
	for (unsigned i = 0; i < nq; i++) {
		unsigned w = (unsigned)(rnd() % 100);
		uint16_t type;
		char u[40];
		if (w < 70 && nsub) {
			snprintf(name, sizeof(name), "%s", names[rnd() % nsub]);
			type = DW_T_TXT;
		} else if (w < 80 || (w < 70 && !nsub)) {
			uuid(u);
			snprintf(name, sizeof(name), "%s", u);
			type = DW_T_TXT;
		} else if (w < 88) {
			snprintf(name, sizeof(name), "_443._tcp.host%u",
				 (unsigned)(rnd() % hosts));
			type = DW_T_TLSA;
		} else if (w < 90) {
			snprintf(name, sizeof(name), "_443._tcp.nohost%u",
				 (unsigned)(rnd() % 1000000));
			type = DW_T_TLSA;
		} else if (w < 93) {
			snprintf(name, sizeof(name), "@");
			type = DW_T_SOA;
		} else if (w < 96) {
			snprintf(name, sizeof(name), "@");
			type = DW_T_NS;
		} else if (w < 98) {
			snprintf(name, sizeof(name), "%s",
				 (rnd() & 1) ? "ns1" : "@");
			type = DW_T_A;
		} else {
			snprintf(name, sizeof(name), "%s",
				 nsub ? names[rnd() % nsub] : "x");
			type = DW_T_A;
		}
		if (rnd() % 10 == 0 && strcmp(name, "@") != 0)
			mixcase(name);
		make_query(&qs[i], name, type, i & 1);
	}

	static uint8_t out[1232];
	struct zone_qopts o = {.tcp = false, .now_ms = 5000};
	unsigned long rc[24] = {0}, bytes = 0;
	struct zone_qinfo info;
	/* warm-up pass, also collecting the rcode mix */
	for (unsigned i = 0; i < nq; i++) {
		bytes += zone_answer(z, qs[i].b, qs[i].n, out, sizeof(out), &o,
				     &info);
		rc[info.rcode < 24 ? info.rcode : 23]++;
	}
	double best = 1e9, sum = 0;
	for (unsigned pass = 0; pass < passes; pass++) {
		double a = now_s();
		for (unsigned i = 0; i < nq; i++)
			bytes += zone_answer(z, qs[i].b, qs[i].n, out,
					     sizeof(out), &o, &info);
		double ns = (now_s() - a) * 1e9 / nq;
		sum += ns;
		if (ns < best)
			best = ns;
	}
	printf("rcodes: NOERROR %lu NXDOMAIN %lu other %lu\n", rc[0], rc[3],
	       (unsigned long)nq - rc[0] - rc[3]);
	printf("zone_answer: %.1f ns/query best, %.1f mean over %u x %u "
	       "queries (%lu bytes)\n",
	       best, sum / passes, passes, nq, bytes);
	zone_free(z);
	free(qs);
	free(names);
	return 0;
}
