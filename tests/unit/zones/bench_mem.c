/* SPDX-License-Identifier: MIT */
/*
 * Memory and build-time sanity for the zone tables (not a test: nothing is
 * measured in CI). For each N given, builds a zone the way the acme-dns
 * workload does - zone_sub_register("<uuid>") then two zone_txt_push() of
 * 43-byte values - and prints the build time, the heap bytes per
 * registration (glibc mallinfo2(): in-use arena bytes plus mmapped
 * blocks, since a large bucket array lives in its own mapping) and the
 * process RSS (VmRSS of /proc/self/status) before and after.
 *
 *   bench_mem [N...]        default: 10000 100000
 *
 * Then times two static reloads (zone_set_static walks every node) and
 * unregistering every name, and prints the heap left over (the static
 * records, the bucket array, which never shrinks, and malloc's own data).
 * Names are generated on the fly, so the bench itself holds nothing per
 * registration; each N runs in a fresh zone (run one N per process for an
 * RSS figure unaffected by earlier runs).
 */
#include "common/errors.h"
#include "dnswire/rr.h"
#include "zones/zone.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "bench_util.h"

/* VmRSS in kB, or -1 */
static long
rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static size_t
heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static void
run(unsigned n)
{
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
	char name[40], tok[44];

	check(zone_create(&p, &z), "zone_create");
	size_t h0 = heap_used();
	long r0 = rss_kb();
	double t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		uuid(name);
		check(zone_sub_register(z, name), "register");
		for (int k = 0; k < 2; k++) {
			token(tok);
			check(zone_txt_push(z, name, tok, 43,
					    1000 + 2 * (uint64_t)i + k, 2),
			      "push");
		}
	}
	double t1 = now_s();
	size_t h1 = heap_used();
	long r1 = rss_kb();
	printf("N=%u: build %.3f s (%.0f ns/registration), %zu nodes\n", n,
	       t1 - t0, (t1 - t0) * 1e9 / (n ? n : 1), zone_node_count(z));
	printf("  heap: %zu -> %zu bytes, %.1f bytes/registration\n", h0, h1,
	       n ? (double)(h1 - h0) / n : 0.0);
	printf("  VmRSS: %ld -> %ld kB (+%ld kB, %.1f bytes/registration)\n",
	       r0, r1, r1 - r0, n ? (double)(r1 - r0) * 1024 / n : 0.0);

	/* the paths that walk every node or every registration: a static
	 * reload (config reload) and unregistering everything */
	uint8_t apex[DW_NAME_MAX], ns[DW_NAME_MAX];
	size_t al, nl;
	check(dw_name_from_str(APEX, NULL, apex, &al), "apex");
	check(dw_name_from_str("ns1", apex, ns, &nl), "ns1");
	struct zone_rr rr[2] = {
	    {apex, DW_T_NS, 300, ns, (uint16_t)nl},
	    {ns, DW_T_A, 300, (const uint8_t *)"\x7f\0\0\1", 4}};
	double a = now_s();
	check(zone_set_static(z, rr, 2, NULL, NULL), "static");
	check(zone_set_static(z, rr, 1, NULL, NULL), "static");
	double b = now_s();
	rng_state = 0x9E3779B97F4A7C15ULL;
	for (unsigned i = 0; i < n; i++) {
		uuid(name);
		token(tok);
		token(tok);
		check(zone_sub_unregister(z, name), "unregister");
	}
	double c = now_s();
	printf("  2 x zone_set_static %.3f s, unregister all %.3f s, "
	       "heap left %zd bytes, %zu nodes\n",
	       b - a, c - b, (ssize_t)(heap_used() - h0), zone_node_count(z));
	zone_free(z);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		run(10000);
		run(100000);
		return 0;
	}
	for (int i = 1; i < argc; i++)
		run((unsigned)strtoul(argv[i], NULL, 10));
	return 0;
}
