/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the zone tables (zones/zone.c), observed through the API
 * and through zone_answer() decoded by ldns: registration, the rotating
 * TXT slots (oldest replaced, equal value refreshed), pinned values, the
 * per-name limit, TLSA sets, the serial bumped on every change, static
 * record validation with all-or-nothing replacement, node garbage
 * collection back to the baseline, and empty non-terminals (RFC 8020).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dnswire/rr.h"
#include "zones/zone.h"

#define APEX "auth.example.test"

static struct zone_params
params(void)
{
	struct zone_params p = {
	    .domain = APEX,
	    .nsadmin = "hostmaster.example.test.",
	    .mname = "ns1",
	    .soa_ttl = 3600,
	    .refresh = 3600,
	    .retry = 600,
	    .expire = 86400,
	    .minimum = 120,
	    .serial = 1000,
	    .edns_size = 1232,
	    .txt_ttl = 1,
	    .txt_max_age_ms = 0,
	};
	return p;
}

/* ---- static records built from presentation format (via ldns) ---- */

#define MAXRR 32
struct rrs {
	struct zone_rr rr[MAXRR];
	uint8_t owner[MAXRR][DW_NAME_MAX];
	uint8_t rdata[MAXRR][512];
	size_t n;
};

/* "owner TTL TYPE rdata", owner relative to the apex */
static void
rrs_add(struct rrs *r, const char *line)
{
	ldns_rdf *origin = ldns_dname_new_frm_str(APEX ".");
	ldns_rr *lr = NULL;
	size_t i = r->n++;
	assert_true(i < MAXRR);
	ldns_status st = ldns_rr_new_frm_str(&lr, line, 300, origin, NULL);
	if (st != LDNS_STATUS_OK)
		fail_msg("%s: %s", line, ldns_get_errorstr_by_id(st));
	ldns_rdf *o = ldns_rr_owner(lr);
	memcpy(r->owner[i], ldns_rdf_data(o), ldns_rdf_size(o));
	ldns_buffer *b = ldns_buffer_new(512);
	assert_int_equal(ldns_rr_rdata2buffer_wire(b, lr), LDNS_STATUS_OK);
	memcpy(r->rdata[i], ldns_buffer_begin(b), ldns_buffer_position(b));
	r->rr[i].owner = r->owner[i];
	r->rr[i].type = (uint16_t)ldns_rr_get_type(lr);
	r->rr[i].ttl = ldns_rr_ttl(lr);
	r->rr[i].rdata = r->rdata[i];
	r->rr[i].rdlen = (uint16_t)ldns_buffer_position(b);
	ldns_buffer_free(b);
	ldns_rr_free(lr);
	ldns_rdf_deep_free(origin);
}

static void
rrs_base(struct rrs *r)
{
	r->n = 0;
	rrs_add(r, "@ NS ns1");
	rrs_add(r, "ns1 A 192.0.2.53");
}

static struct zone *
new_zone(void)
{
	struct zone_params p = params();
	struct zone *z = NULL;
	struct rrs r;
	assert_int_equal(zone_create(&p, &z), 0);
	rrs_base(&r);
	assert_int_equal(zone_set_static(z, r.rr, r.n, NULL, NULL), 0);
	return z;
}

/* ---- asking questions ---- */

struct reply {
	ldns_pkt *pkt;
	unsigned rcode;
	size_t an, ns;
};

static void
ask_at(const struct zone *z, const char *name, uint16_t type, uint64_t now,
       struct reply *r)
{
	uint8_t q[512], out[65535];
	uint8_t apex[DW_NAME_MAX], qn[DW_NAME_MAX];
	size_t al, ql;
	assert_int_equal(dw_name_from_str(APEX, NULL, apex, &al), 0);
	assert_int_equal(dw_name_from_str(name, apex, qn, &ql), 0);
	struct dw_cur c = dw_writer(q, sizeof(q));
	struct dw_hdr h = {0x4242, DW_RD, 1, 0, 0, 0};
	dw_hdr_write(&c, &h);
	dw_put_bytes(&c, qn, ql);
	dw_put_u16(&c, type);
	dw_put_u16(&c, DW_C_IN);
	assert_int_equal(c.err, 0);
	struct zone_qopts o = {.tcp = true, .now_ms = now};
	size_t len = zone_answer(z, q, c.pos, out, sizeof(out), &o, NULL);
	assert_true(len > 12);
	r->pkt = NULL;
	assert_int_equal(ldns_wire2pkt(&r->pkt, out, len), LDNS_STATUS_OK);
	r->rcode = ldns_pkt_get_rcode(r->pkt);
	r->an = ldns_rr_list_rr_count(ldns_pkt_answer(r->pkt));
	r->ns = ldns_rr_list_rr_count(ldns_pkt_authority(r->pkt));
}

static void
ask(const struct zone *z, const char *name, uint16_t type, struct reply *r)
{
	ask_at(z, name, type, 0, r);
}

static void
reply_free(struct reply *r)
{
	ldns_pkt_free(r->pkt);
}

/* rcode and answer count in one go */
static void
expect(const struct zone *z, const char *name, uint16_t type, unsigned rcode,
       size_t an)
{
	struct reply r;
	ask(z, name, type, &r);
	if (r.rcode != rcode || r.an != an)
		fail_msg("%s/%u: rcode %u an %zu, want rcode %u an %zu", name,
			 type, r.rcode, r.an, rcode, an);
	reply_free(&r);
}

/* The TXT strings at name, sorted and joined with ','. */
static void
txt_values(const struct zone *z, const char *name, uint64_t now, char *buf,
	   size_t cap)
{
	struct reply r;
	char *v[80];
	size_t n = 0;
	ask_at(z, name, DW_T_TXT, now, &r);
	ldns_rr_list *an = ldns_pkt_answer(r.pkt);
	for (size_t i = 0; i < r.an && n < 80; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_TXT);
		v[n++] = ldns_rdf2str(ldns_rr_rdf(rr, 0));
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strncat(buf, ",", cap - strlen(buf) - 1);
		strncat(buf, v[i], cap - strlen(buf) - 1);
		free(v[i]);
	}
	reply_free(&r);
}

/* ---- tests ---- */

static void
test_create(void **state)
{
	struct zone_params p = params();
	struct zone *z = NULL;
	(void)state;

	assert_int_equal(zone_create(&p, &z), 0);
	assert_string_equal(zone_apex_str(z), APEX ".");
	assert_int_equal(zone_serial(z), 1000);
	assert_int_equal(zone_node_count(z), 1);
	zone_free(z);
	zone_free(NULL);

	p.domain = "AUTH.Example.TEST.";
	p.version = "v1";
	p.identity = "id";
	assert_int_equal(zone_create(&p, &z), 0);
	assert_string_equal(zone_apex_str(z), APEX "."); /* lowercased */
	zone_free(z);

	p = params();
	p.domain = "a..b";
	assert_int_equal(zone_create(&p, &z), AD_EMALF);
	/* failures free everything (LSan checks) */
	p = params();
	p.mname = "x\\";
	p.version = "v1";
	assert_int_equal(zone_create(&p, &z), AD_EMALF);
	p = params();
	p.nsadmin = "";
	assert_int_equal(zone_create(&p, &z), AD_EMALF);
}

static void
test_register(void **state)
{
	struct zone *z = new_zone();
	size_t base = zone_node_count(z);
	uint32_t s = zone_serial(z);
	(void)state;

	expect(z, "sub", DW_T_TXT, LDNS_RCODE_NXDOMAIN, 0);
	assert_int_equal(zone_sub_register(z, "sub"), 0);
	assert_int_equal(zone_serial(z), ++s);
	assert_true(zone_sub_exists(z, "sub"));
	assert_true(zone_sub_exists(z, "SUB." APEX "."));
	assert_false(zone_sub_exists(z, "other"));
	assert_int_equal(zone_node_count(z), base + 1);
	/* registered with no values: the name exists, NODATA */
	expect(z, "sub", DW_T_TXT, LDNS_RCODE_NOERROR, 0);
	expect(z, "sub", DW_T_A, LDNS_RCODE_NOERROR, 0);
	expect(z, "x.sub", DW_T_A, LDNS_RCODE_NXDOMAIN, 0);

	assert_int_equal(zone_sub_register(z, "Sub"), AD_EEXIST);
	assert_int_equal(zone_serial(z), s);
	assert_int_equal(zone_sub_register(z, "x.example.com."), AD_ENOTZONE);
	assert_int_equal(zone_sub_register(z, "a..b"), AD_EMALF);
	assert_int_equal(zone_sub_register(z, "@"), AD_EINVAL);
	assert_int_equal(zone_serial(z), s);

	/* a deep name brings its empty non-terminals along */
	assert_int_equal(zone_sub_register(z, "a.b.c"), 0);
	assert_int_equal(zone_node_count(z), base + 4);
	expect(z, "b.c", DW_T_A, LDNS_RCODE_NOERROR, 0);
	expect(z, "c", DW_T_TXT, LDNS_RCODE_NOERROR, 0);

	assert_int_equal(zone_sub_unregister(z, "sub"), 0);
	assert_int_equal(zone_serial(z), s + 2);
	assert_int_equal(zone_sub_unregister(z, "sub"), AD_ENOENT);
	assert_int_equal(zone_sub_unregister(z, "b.c"), AD_ENOENT);
	assert_int_equal(zone_sub_unregister(z, "x.example.com."), AD_ENOTZONE);
	assert_false(zone_sub_exists(z, "sub"));
	expect(z, "sub", DW_T_TXT, LDNS_RCODE_NXDOMAIN, 0);
	assert_int_equal(zone_sub_unregister(z, "a.b.c"), 0);
	assert_int_equal(zone_node_count(z), base);
	expect(z, "b.c", DW_T_A, LDNS_RCODE_NXDOMAIN, 0);
	zone_free(z);
}

static void
test_txt_rotation(void **state)
{
	struct zone *z = new_zone();
	char buf[1024];
	uint32_t s;
	(void)state;

	assert_int_equal(zone_sub_register(z, "sub"), 0);
	s = zone_serial(z);
	assert_int_equal(zone_txt_push(z, "sub", "v1", 2, 100, 2), 0);
	assert_int_equal(zone_serial(z), ++s);
	assert_int_equal(zone_txt_push(z, "sub", "v2", 2, 200, 2), 0);
	assert_int_equal(zone_serial(z), ++s);
	txt_values(z, "sub", 0, buf, sizeof(buf));
	assert_string_equal(buf, "\"v1\",\"v2\"");
	/* third value: the oldest (v1) goes */
	assert_int_equal(zone_txt_push(z, "sub", "v3", 2, 300, 2), 0);
	assert_int_equal(zone_serial(z), ++s);
	assert_int_equal(zone_txt_count(z, "sub"), 2);
	txt_values(z, "sub", 0, buf, sizeof(buf));
	assert_string_equal(buf, "\"v2\",\"v3\"");
	/* an equal value is refreshed, not duplicated: v2 becomes the
	 * newest, so v3 is now the oldest */
	assert_int_equal(zone_txt_push(z, "sub", "v2", 2, 400, 2), 0);
	assert_int_equal(zone_serial(z), ++s);
	assert_int_equal(zone_txt_count(z, "sub"), 2);
	assert_int_equal(zone_txt_push(z, "sub", "v4", 2, 500, 2), 0);
	txt_values(z, "sub", 0, buf, sizeof(buf));
	assert_string_equal(buf, "\"v2\",\"v4\"");
	/* fewer slots than values: only the newest `slots` remain */
	assert_int_equal(zone_txt_push(z, "sub", "v5", 2, 600, 1), 0);
	assert_int_equal(zone_txt_count(z, "sub"), 1);
	txt_values(z, "sub", 0, buf, sizeof(buf));
	assert_string_equal(buf, "\"v5\"");
	/* an empty value and a 255-byte value are fine */
	char big[256];
	memset(big, 'b', sizeof(big));
	assert_int_equal(zone_txt_push(z, "sub", "", 0, 700, 8), 0);
	assert_int_equal(zone_txt_push(z, "sub", big, 255, 800, 8), 0);
	assert_int_equal(zone_txt_count(z, "sub"), 3);

	s = zone_serial(z);
	assert_int_equal(zone_txt_push(z, "sub", big, 256, 900, 8), AD_EINVAL);
	assert_int_equal(zone_txt_push(z, "sub", "x", 1, 900, 0), AD_EINVAL);
	assert_int_equal(zone_txt_push(z, "x.example.com.", "x", 1, 900, 1),
			 AD_ENOTZONE);
	assert_int_equal(zone_txt_push(z, "a..b", "x", 1, 900, 1), AD_EMALF);
	assert_int_equal(zone_serial(z), s);
	assert_int_equal(zone_txt_count(z, "nothere"), 0);
	assert_int_equal(zone_txt_count(z, "x.example.com."), 0);

	/* unregister drops the values and the node */
	size_t base = zone_node_count(z) - 1;
	assert_int_equal(zone_sub_unregister(z, "sub"), 0);
	assert_int_equal(zone_txt_count(z, "sub"), 0);
	assert_int_equal(zone_node_count(z), base);
	zone_free(z);
}

static void
test_txt_pin(void **state)
{
	struct zone *z = new_zone();
	char buf[1024];
	size_t base = zone_node_count(z);
	uint32_t s = zone_serial(z);
	(void)state;

	/* pinned values need no registration */
	assert_int_equal(zone_txt_pin(z, "_acme-challenge.www", "p1", 2, 10),
			 0);
	assert_int_equal(zone_serial(z), ++s);
	assert_int_equal(zone_node_count(z), base + 2);
	/* pinning again: no change, no bump */
	assert_int_equal(zone_txt_pin(z, "_acme-challenge.www", "p1", 2, 20),
			 0);
	assert_int_equal(zone_serial(z), s);
	assert_int_equal(zone_txt_count(z, "_acme-challenge.www"), 1);
	assert_int_equal(zone_txt_pin(z, "_acme-challenge.www", "p2", 2, 30),
			 0);
	/* rotating pushes never replace pinned values */
	assert_int_equal(
	    zone_txt_push(z, "_acme-challenge.www", "r1", 2, 40, 1), 0);
	assert_int_equal(
	    zone_txt_push(z, "_acme-challenge.www", "r2", 2, 50, 1), 0);
	txt_values(z, "_acme-challenge.www", 0, buf, sizeof(buf));
	assert_string_equal(buf, "\"p1\",\"p2\",\"r2\"");
	/* a value both pinned and pushed is answered once (RFC 2181 §5) */
	assert_int_equal(
	    zone_txt_push(z, "_acme-challenge.www", "p1", 2, 60, 2), 0);
	assert_int_equal(zone_txt_count(z, "_acme-challenge.www"), 4);
	txt_values(z, "_acme-challenge.www", 0, buf, sizeof(buf));
	assert_string_equal(buf, "\"p1\",\"p2\",\"r2\"");

	s = zone_serial(z);
	assert_int_equal(zone_txt_unpin(z, "_acme-challenge.www", "p2", 2), 0);
	assert_int_equal(zone_serial(z), ++s);
	assert_int_equal(zone_txt_unpin(z, "_acme-challenge.www", "p2", 2),
			 AD_ENOENT);
	/* r2 is not pinned: unpin does not remove it */
	assert_int_equal(zone_txt_unpin(z, "_acme-challenge.www", "r2", 2),
			 AD_ENOENT);
	assert_int_equal(zone_txt_unpin(z, "nothere", "r2", 2), AD_ENOENT);
	assert_int_equal(zone_txt_unpin(z, "x.example.com.", "r2", 2),
			 AD_ENOTZONE);
	assert_int_equal(zone_serial(z), s);
	txt_values(z, "_acme-challenge.www", 0, buf, sizeof(buf));
	assert_string_equal(buf, "\"p1\",\"r2\"");
	assert_int_equal(zone_txt_pin(z, "x", "y", 256, 0), AD_EINVAL);

	/* pinned-only name: unpinning the last value removes the node */
	assert_int_equal(zone_txt_pin(z, "pinonly", "q", 1, 0), 0);
	assert_int_equal(zone_node_count(z), base + 3);
	assert_int_equal(zone_txt_unpin(z, "pinonly", "q", 1), 0);
	assert_int_equal(zone_node_count(z), base + 2);
	expect(z, "pinonly", DW_T_TXT, LDNS_RCODE_NXDOMAIN, 0);
	zone_free(z);
}

static void
test_txt_limit(void **state)
{
	struct zone *z = new_zone();
	char v[8];
	(void)state;

	assert_int_equal(zone_sub_register(z, "full"), 0);
	for (unsigned i = 0; i < ZONE_TXT_COUNT; i++) {
		snprintf(v, sizeof(v), "p%u", i);
		assert_int_equal(zone_txt_pin(z, "full", v, strlen(v), i), 0);
	}
	uint32_t s = zone_serial(z);
	assert_int_equal(zone_txt_pin(z, "full", "more", 4, 0), AD_ELIMIT);
	assert_int_equal(zone_txt_push(z, "full", "more", 4, 0, 100),
			 AD_ELIMIT);
	assert_int_equal(zone_serial(z), s);
	assert_int_equal(zone_txt_count(z, "full"), ZONE_TXT_COUNT);
	/* all 64 are answered (TCP) */
	expect(z, "full", DW_T_TXT, LDNS_RCODE_NOERROR, ZONE_TXT_COUNT);
	/* unregister drops pinned values too */
	size_t base = zone_node_count(z) - 1;
	assert_int_equal(zone_sub_unregister(z, "full"), 0);
	assert_int_equal(zone_node_count(z), base);

	/* the limit counts pushed values as well */
	for (unsigned i = 0; i < ZONE_TXT_COUNT; i++) {
		snprintf(v, sizeof(v), "r%u", i);
		assert_int_equal(
		    zone_txt_push(z, "pushed", v, strlen(v), i, 1000), 0);
	}
	assert_int_equal(zone_txt_push(z, "pushed", "more", 4, 99, 1000),
			 AD_ELIMIT);
	/* with fewer slots the oldest is replaced instead */
	assert_int_equal(zone_txt_push(z, "pushed", "more", 4, 99, 64), 0);
	assert_int_equal(zone_txt_count(z, "pushed"), ZONE_TXT_COUNT);
	zone_free(z);
}

static void
test_txt_expiry(void **state)
{
	struct zone_params p = params();
	struct zone *z = NULL;
	struct rrs r;
	char buf[256];
	(void)state;

	p.txt_max_age_ms = 1000;
	assert_int_equal(zone_create(&p, &z), 0);
	rrs_base(&r);
	assert_int_equal(zone_set_static(z, r.rr, r.n, NULL, NULL), 0);
	assert_int_equal(zone_sub_register(z, "sub"), 0);
	assert_int_equal(zone_txt_push(z, "sub", "old", 3, 10000, 2), 0);
	assert_int_equal(zone_txt_push(z, "sub", "new", 3, 10500, 2), 0);
	txt_values(z, "sub", 11000, buf, sizeof(buf));
	assert_string_equal(buf, "\"new\",\"old\"");
	txt_values(z, "sub", 11001, buf, sizeof(buf));
	assert_string_equal(buf, "\"new\"");
	/* a clock behind the value's timestamp still serves it */
	txt_values(z, "sub", 5000, buf, sizeof(buf));
	assert_string_equal(buf, "\"new\",\"old\"");
	/* all expired: NODATA, expired ones still counted */
	struct reply rp;
	ask_at(z, "sub", DW_T_TXT, 20000, &rp);
	assert_int_equal(rp.rcode, LDNS_RCODE_NOERROR);
	assert_int_equal(rp.an, 0);
	assert_int_equal(rp.ns, 1);
	reply_free(&rp);
	assert_int_equal(zone_txt_count(z, "sub"), 2);
	zone_free(z);
}

static void
test_tlsa(void **state)
{
	struct zone *z = new_zone();
	uint8_t d1[32], d2[32];
	(void)state;

	memset(d1, 0x11, sizeof(d1));
	memset(d2, 0x22, sizeof(d2));
	struct zone_tlsa t[2] = {{3, 1, 1, d1, 32}, {3, 1, 1, d2, 32}};
	size_t base = zone_node_count(z);
	uint32_t s = zone_serial(z);

	assert_int_equal(zone_sub_register(z, "host"), 0);
	assert_int_equal(zone_tlsa_set(z, "_443._tcp.host", t, 1, 300), 0);
	assert_int_equal(zone_serial(z), s + 2);
	assert_int_equal(zone_node_count(z), base + 3);
	expect(z, "_443._tcp.host", DW_T_TLSA, LDNS_RCODE_NOERROR, 1);
	expect(z, "_tcp.host", DW_T_TLSA, LDNS_RCODE_NOERROR, 0); /* ENT */
	expect(z, "_443._tcp.host", DW_T_TXT, LDNS_RCODE_NOERROR, 0);

	struct reply r;
	ask(z, "_443._tcp.host", DW_T_TLSA, &r);
	char *str = ldns_rr2str(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0));
	assert_non_null(strstr(str, "300\tIN\tTLSA\t3 1 1 1111111111"));
	free(str);
	reply_free(&r);

	/* replace with two */
	assert_int_equal(zone_tlsa_set(z, "_443._tcp.host", t, 2, 60), 0);
	assert_int_equal(zone_serial(z), s + 3);
	expect(z, "_443._tcp.host", DW_T_TLSA, LDNS_RCODE_NOERROR, 2);

	/* a failed replace leaves the old set answering */
	static uint8_t huge[65535];
	struct zone_tlsa bad[2] = {{3, 1, 1, d1, 32}, {3, 0, 0, huge, 65535}};
	assert_int_equal(zone_tlsa_set(z, "_443._tcp.host", bad, 2, 60),
			 AD_ERANGE);
	assert_int_equal(zone_serial(z), s + 3);
	expect(z, "_443._tcp.host", DW_T_TLSA, LDNS_RCODE_NOERROR, 2);
	struct zone_tlsa many[ZONE_TXT_COUNT + 1];
	for (size_t i = 0; i < ZONE_TXT_COUNT + 1; i++)
		many[i] = t[0];
	assert_int_equal(
	    zone_tlsa_set(z, "_443._tcp.host", many, ZONE_TXT_COUNT + 1, 60),
	    AD_ELIMIT);
	assert_int_equal(
	    zone_tlsa_set(z, "_443._tcp.host", many, ZONE_TXT_COUNT, 60), 0);
	expect(z, "_443._tcp.host", DW_T_TLSA, LDNS_RCODE_NOERROR,
	       ZONE_TXT_COUNT);
	assert_int_equal(zone_tlsa_set(z, "_443._tcp.x.example.com.", t, 1, 60),
			 AD_ENOTZONE);
	/* the largest data that fits an RDATA */
	struct zone_tlsa edge = {3, 0, 0, huge, 65532};
	assert_int_equal(zone_tlsa_set(z, "_25._tcp.host", &edge, 1, 60), 0);
	assert_int_equal(zone_tlsa_set(z, "_25._tcp.host", NULL, 0, 60), 0);

	/* n = 0 removes the set and its now-empty nodes */
	s = zone_serial(z);
	assert_int_equal(zone_tlsa_set(z, "_443._tcp.host", NULL, 0, 60), 0);
	assert_int_equal(zone_serial(z), s + 1);
	expect(z, "_443._tcp.host", DW_T_TLSA, LDNS_RCODE_NXDOMAIN, 0);
	assert_int_equal(zone_node_count(z), base + 1);
	/* removing what is not there is fine */
	assert_int_equal(zone_tlsa_set(z, "_443._tcp.nohost", NULL, 0, 60), 0);
	assert_int_equal(zone_sub_unregister(z, "host"), 0);
	assert_int_equal(zone_node_count(z), base);
	zone_free(z);
}

static void
static_fails(struct zone *z, struct rrs *r, int want_rc, size_t want_bad)
{
	size_t bad = 999;
	const char *why = NULL;
	uint32_t s = zone_serial(z);
	int rc = zone_set_static(z, r->rr, r->n, &bad, &why);
	if (rc != want_rc)
		fail_msg("rc %d (%s), want %d", rc, why ? why : "-", want_rc);
	assert_int_equal(bad, want_bad);
	assert_non_null(why);
	assert_true(why[0] != '\0');
	assert_int_equal(zone_serial(z), s);
}

static void
test_static_validation(void **state)
{
	struct zone *z = new_zone();
	struct rrs r;
	(void)state;

	/* good data first, then every failure must leave it answering */
	rrs_base(&r);
	rrs_add(&r, "www A 192.0.2.80");
	rrs_add(&r, "alias CNAME www");
	assert_int_equal(zone_set_static(z, r.rr, r.n, NULL, NULL), 0);
	size_t nodes = zone_node_count(z);

	rrs_base(&r);
	rrs_add(&r, "www.example.com. A 192.0.2.1");
	static_fails(z, &r, AD_ENOTZONE, 2);
	rrs_base(&r);
	rrs_add(&r, "@ SOA ns1 hostmaster 1 2 3 4 5");
	static_fails(z, &r, AD_EINVAL, 2);
	rrs_base(&r);
	rrs_add(&r, "sub NS ns.elsewhere.example.");
	static_fails(z, &r, AD_EUNSUP, 2);
	rrs_base(&r);
	rrs_add(&r, "d DNAME elsewhere.example.");
	static_fails(z, &r, AD_EUNSUP, 2);
	rrs_base(&r);
	rrs_add(&r, "c CNAME www");
	rrs_add(&r, "c TXT \"other data\"");
	static_fails(z, &r, AD_EINVAL, 3);
	rrs_base(&r);
	rrs_add(&r, "c A 192.0.2.1");
	rrs_add(&r, "c CNAME www");
	static_fails(z, &r, AD_EINVAL, 3);
	rrs_base(&r);
	rrs_add(&r, "c CNAME www");
	rrs_add(&r, "c CNAME ns1");
	static_fails(z, &r, AD_EINVAL, 2); /* records sort by RDATA */
	rrs_base(&r);
	rrs_add(&r, "@ CNAME www");
	static_fails(z, &r, AD_EINVAL, 2);
	rrs_base(&r);
	rrs_add(&r, "x OPT \\# 0");
	static_fails(z, &r, AD_EINVAL, 2);
	/* the apex must get an NS: *bad is n */
	r.n = 0;
	rrs_add(&r, "www A 192.0.2.1");
	static_fails(z, &r, AD_EINVAL, 1);
	static_fails(z, &r, AD_EINVAL, 1);
	r.n = 0;
	static_fails(z, &r, AD_EINVAL, 0);
	/* malformed RDATA */
	rrs_base(&r);
	rrs_add(&r, "www A 192.0.2.1");
	r.rr[2].rdlen = 3;
	static_fails(z, &r, AD_EMALF, 2);

	/* the old data is intact */
	assert_int_equal(zone_node_count(z), nodes);
	expect(z, "www", DW_T_A, LDNS_RCODE_NOERROR, 1);
	expect(z, "alias", DW_T_A, LDNS_RCODE_NOERROR, 2);
	expect(z, "c", DW_T_A, LDNS_RCODE_NXDOMAIN, 0);

	/* duplicates are merged; an RRset takes its lowest TTL; the same
	 * CNAME twice is one CNAME */
	rrs_base(&r);
	rrs_add(&r, "www 300 A 192.0.2.80");
	rrs_add(&r, "www 60 A 192.0.2.81");
	rrs_add(&r, "www 600 A 192.0.2.80");
	rrs_add(&r, "c CNAME www");
	rrs_add(&r, "c CNAME www");
	assert_int_equal(zone_set_static(z, r.rr, r.n, NULL, NULL), 0);
	struct reply rp;
	ask(z, "www", DW_T_A, &rp);
	assert_int_equal(rp.an, 2);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(
		    ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(rp.pkt), i)),
		    60);
	reply_free(&rp);
	expect(z, "c", DW_T_A, LDNS_RCODE_NOERROR, 3);
	zone_free(z);
}

static void
test_static_gc(void **state)
{
	struct zone *z = new_zone();
	struct rrs r;
	size_t base = zone_node_count(z); /* apex + ns1 */
	uint32_t s = zone_serial(z);
	(void)state;

	assert_int_equal(base, 2);
	rrs_base(&r);
	rrs_add(&r, "a.b.c.d TXT \"deep\"");
	rrs_add(&r, "x.b.c.d A 192.0.2.1");
	rrs_add(&r, "*.wild A 192.0.2.2");
	assert_int_equal(zone_set_static(z, r.rr, r.n, NULL, NULL), 0);
	assert_int_equal(zone_serial(z), s + 1);
	/* a.b.c.d x.b.c.d b.c.d c.d d *.wild wild */
	assert_int_equal(zone_node_count(z), base + 7);
	/* empty non-terminals: NODATA, not NXDOMAIN (RFC 8020) */
	expect(z, "b.c.d", DW_T_A, LDNS_RCODE_NOERROR, 0);
	expect(z, "d", DW_T_TXT, LDNS_RCODE_NOERROR, 0);
	expect(z, "wild", DW_T_A, LDNS_RCODE_NOERROR, 0);
	expect(z, "y.b.c.d", DW_T_A, LDNS_RCODE_NXDOMAIN, 0);
	expect(z, "foo.wild", DW_T_A, LDNS_RCODE_NOERROR, 1);

	/* a registration inside the static tree keeps its ancestors */
	assert_int_equal(zone_sub_register(z, "r.c.d"), 0);
	rrs_base(&r);
	assert_int_equal(zone_set_static(z, r.rr, r.n, NULL, NULL), 0);
	assert_int_equal(zone_node_count(z), base + 3); /* r.c.d c.d d */
	expect(z, "c.d", DW_T_A, LDNS_RCODE_NOERROR, 0);
	expect(z, "b.c.d", DW_T_A, LDNS_RCODE_NXDOMAIN, 0);
	expect(z, "foo.wild", DW_T_A, LDNS_RCODE_NXDOMAIN, 0);
	assert_int_equal(zone_sub_unregister(z, "r.c.d"), 0);
	assert_int_equal(zone_node_count(z), base);

	/* everything dynamic removed again: back to the baseline */
	assert_int_equal(zone_sub_register(z, "s1"), 0);
	assert_int_equal(zone_txt_push(z, "s1", "a", 1, 1, 2), 0);
	assert_int_equal(zone_txt_pin(z, "_acme-challenge.x.y", "b", 1, 1), 0);
	struct zone_tlsa t = {3, 1, 1, (const uint8_t *)"abc", 3};
	assert_int_equal(zone_tlsa_set(z, "_443._tcp.s1", &t, 1, 60), 0);
	assert_int_equal(zone_node_count(z), base + 6);
	assert_int_equal(zone_tlsa_set(z, "_443._tcp.s1", NULL, 0, 60), 0);
	assert_int_equal(zone_txt_unpin(z, "_acme-challenge.x.y", "b", 1), 0);
	assert_int_equal(zone_sub_unregister(z, "s1"), 0);
	assert_int_equal(zone_node_count(z), base);
	zone_free(z);
}

/* Many names: the hash table grows and everything is still found. */
static void
test_many(void **state)
{
	struct zone *z = new_zone();
	char name[32];
	size_t base = zone_node_count(z);
	(void)state;

	for (unsigned i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		assert_int_equal(zone_sub_register(z, name), 0);
		assert_int_equal(
		    zone_txt_push(z, name, name, strlen(name), i, 2), 0);
	}
	assert_int_equal(zone_node_count(z), base + 5000);
	for (unsigned i = 0; i < 5000; i += 97) {
		char buf[64], want[64];
		snprintf(name, sizeof(name), "n%u", i);
		txt_values(z, name, 0, buf, sizeof(buf));
		snprintf(want, sizeof(want), "\"%s\"", name);
		assert_string_equal(buf, want);
	}
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		assert_int_equal(zone_sub_unregister(z, name), 0);
	}
	assert_int_equal(zone_node_count(z), base);
	zone_free(z);
}

/* A deterministic UUID-shaped name (8-4-4-4-12 lowercase hex) for i. */
static void
uuid_name(unsigned i, char *out)
{
	uint64_t a = 0x9E3779B97F4A7C15ULL * (i + 1), b = a ^ (a >> 29);
	b *= 0xBF58476D1CE4E5B9ULL;
	snprintf(out, 40, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xFFFF, (unsigned)a & 0xFFFF,
		 (unsigned)(b >> 48),
		 (unsigned long long)(b & 0xFFFFFFFFFFFFULL));
}

/*
 * The acme-dns workload with churn: 1,000 UUID registrations (stored with
 * packed keys) with two rotating values, some pinned values and TLSA sets
 * below them, half unregistered again; answers, counts and node
 * garbage collection checked throughout (ASan checks that nothing leaks).
 */
static void
test_registrations_churn(void **state)
{
	enum { N = 1000 };
	struct zone *z = new_zone();
	size_t base = zone_node_count(z);
	char name[40], sub[80], v[3][44], buf[256], want[256];
	uint8_t dg[32] = {1, 2, 3};
	struct zone_tlsa t = {3, 1, 1, dg, sizeof(dg)};
	(void)state;

	for (unsigned i = 0; i < N; i++) {
		uuid_name(i, name);
		assert_int_equal(zone_sub_register(z, name), 0);
		for (unsigned k = 0; k < 3; k++) {
			/* 43-byte values; the third push rotates out the
			 * first */
			snprintf(v[k], sizeof(v[k]), "%041u%c%c", i, 'a' + k,
				 'x');
			assert_int_equal(
			    zone_txt_push(z, name, v[k], 43, 1000 + k, 2), 0);
		}
		if (i % 10 == 0)
			assert_int_equal(zone_txt_pin(z, name, "pin", 3, 5), 0);
		if (i % 25 == 0) {
			snprintf(sub, sizeof(sub), "_443._tcp.%s", name);
			assert_int_equal(zone_tlsa_set(z, sub, &t, 1, 300), 0);
		}
	}
	/* UUID-sized but not hex: stored as is */
	assert_int_equal(
	    zone_sub_register(z, "0123abcd-0000-0000-0000-00000000000g"), 0);
	/* 1000 registrations + the odd one + 40 x (_tcp, _443) */
	assert_int_equal(zone_node_count(z), base + N + 1 + 80);

	/* unregister every even one; its TLSA subtree keeps the name */
	for (unsigned i = 0; i < N; i += 2) {
		uuid_name(i, name);
		assert_int_equal(zone_sub_unregister(z, name), 0);
		assert_int_equal(zone_sub_unregister(z, name), AD_ENOENT);
	}
	for (unsigned i = 0; i < N; i++) {
		uuid_name(i, name);
		bool live = i & 1;
		assert_int_equal(zone_sub_exists(z, name), live);
		assert_int_equal(zone_txt_count(z, name),
				 live ? 2u + (i % 10 == 0) : 0u);
		if (i % 7 && i % 25)
			continue; /* answers for a sample */
		if (!live) {
			expect(z, name, DW_T_TXT,
			       i % 25 == 0 ? LDNS_RCODE_NOERROR
					   : LDNS_RCODE_NXDOMAIN,
			       0);
			continue;
		}
		/* 0x20 mixed case finds the packed key too */
		for (char *c = name; *c; c++)
			if (*c >= 'a' && *c <= 'f' && (c - name) % 3 == 0)
				*c = (char)(*c - 32);
		txt_values(z, name, 0, buf, sizeof(buf));
		snprintf(want, sizeof(want), "\"%041ubx\",\"%041ucx\"%s", i, i,
			 i % 10 == 0 ? ",\"pin\"" : "");
		assert_string_equal(buf, want);
		expect(z, name, DW_T_A, LDNS_RCODE_NOERROR, 0);
	}
	for (unsigned i = 0; i < N; i += 25) {
		uuid_name(i, name);
		snprintf(sub, sizeof(sub), "_443._tcp.%s", name);
		expect(z, sub, DW_T_TLSA, LDNS_RCODE_NOERROR, 1);
	}
	expect(z, "0123ABCD-0000-0000-0000-00000000000G", DW_T_TXT,
	       LDNS_RCODE_NOERROR, 0);
	expect(z, "0123abcd-0000-0000-0000-00000000000f", DW_T_TXT,
	       LDNS_RCODE_NXDOMAIN, 0);
	/* 500 left + the odd one + 80 TLSA path nodes + 20 unregistered
	 * names kept as empty non-terminals above their TLSA */
	assert_int_equal(zone_node_count(z), base + N / 2 + 1 + 80 + 20);

	/* replacing the static records keeps the dynamic data */
	struct rrs r;
	rrs_base(&r);
	uuid_name(1, name);
	snprintf(sub, sizeof(sub), "%s A 192.0.2.1", name);
	rrs_add(&r, sub);
	assert_int_equal(zone_set_static(z, r.rr, r.n, NULL, NULL), 0);
	expect(z, name, DW_T_A, LDNS_RCODE_NOERROR, 1);
	expect(z, name, DW_T_TXT, LDNS_RCODE_NOERROR, 2);
	rrs_base(&r);
	assert_int_equal(zone_set_static(z, r.rr, r.n, NULL, NULL), 0);
	expect(z, name, DW_T_A, LDNS_RCODE_NOERROR, 0);
	expect(z, name, DW_T_TXT, LDNS_RCODE_NOERROR, 2);

	/* everything away again: back to the baseline */
	for (unsigned i = 0; i < N; i++) {
		uuid_name(i, name);
		if (i & 1)
			assert_int_equal(zone_sub_unregister(z, name), 0);
		if (i % 25 == 0) {
			snprintf(sub, sizeof(sub), "_443._tcp.%s", name);
			assert_int_equal(zone_tlsa_set(z, sub, NULL, 0, 0), 0);
		}
	}
	assert_int_equal(
	    zone_sub_unregister(z, "0123abcd-0000-0000-0000-00000000000g"), 0);
	assert_int_equal(zone_node_count(z), base);
	zone_free(z);
}

static void
test_negative_ttl(void **state)
{
	struct zone_params p = params();
	struct zone *z = NULL;
	struct rrs r;
	struct reply rp;
	(void)state;

	/* min(SOA TTL 3600, MINIMUM 120) = 120 */
	z = new_zone();
	ask(z, "nothere", DW_T_A, &rp);
	assert_int_equal(rp.rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(rp.ns, 1);
	ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(rp.pkt), 0);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_rr_ttl(soa), 120);
	reply_free(&rp);
	zone_free(z);

	/* min(SOA TTL 60, MINIMUM 120) = 60 */
	p.soa_ttl = 60;
	assert_int_equal(zone_create(&p, &z), 0);
	rrs_base(&r);
	assert_int_equal(zone_set_static(z, r.rr, r.n, NULL, NULL), 0);
	ask(z, "ns1", DW_T_TXT, &rp);
	assert_int_equal(rp.rcode, LDNS_RCODE_NOERROR);
	soa = ldns_rr_list_rr(ldns_pkt_authority(rp.pkt), 0);
	assert_int_equal(ldns_rr_ttl(soa), 60);
	reply_free(&rp);
	/* the SOA itself keeps its TTL */
	ask(z, "@", DW_T_SOA, &rp);
	assert_int_equal(
	    ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(rp.pkt), 0)), 60);
	reply_free(&rp);
	zone_free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create),
	    cmocka_unit_test(test_register),
	    cmocka_unit_test(test_txt_rotation),
	    cmocka_unit_test(test_txt_pin),
	    cmocka_unit_test(test_txt_limit),
	    cmocka_unit_test(test_txt_expiry),
	    cmocka_unit_test(test_tlsa),
	    cmocka_unit_test(test_static_validation),
	    cmocka_unit_test(test_static_gc),
	    cmocka_unit_test(test_many),
	    cmocka_unit_test(test_registrations_churn),
	    cmocka_unit_test(test_negative_ttl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
