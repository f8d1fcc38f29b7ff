/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of dnswire/rr.c: the RDATA encoders (TXT split into
 * 255-byte character-strings, CAA, TLSA, SOA, MX, A/AAAA), the RDATA
 * checker, dw_rr_write() with owner pointers and RDATA name compression
 * (only for the RFC 1035 types, RFC 3597 §4), checked byte for byte and
 * decoded by ldns, and the type mnemonics.
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

#define EXAMPLE_COM                                                            \
	"\x07"                                                                 \
	"example"                                                              \
	"\x03"                                                                 \
	"com"

static void
test_txt_split(void **state)
{
	static uint8_t val[700], out[800];
	static const size_t lens[] = {0, 1, 254, 255, 256, 510, 511, 600};
	(void)state;

	for (size_t i = 0; i < sizeof(val); i++)
		val[i] = (uint8_t)('a' + i % 26);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t len = lens[k];
		struct dw_cur c = dw_writer(out, sizeof(out));
		dw_rdata_txt(&c, val, len);
		assert_int_equal(c.err, 0);
		/* strings of 255 then the remainder; one empty string for
		 * an empty value, and no empty string after an exact
		 * multiple of 255 */
		size_t nstr = len == 0 ? 1 : (len + 254) / 255;
		assert_int_equal(c.pos, len + nstr);
		size_t p = 0, v = 0;
		for (size_t s = 0; s < nstr; s++) {
			size_t want = len - v > 255 ? 255 : len - v;
			assert_int_equal(out[p], want);
			assert_memory_equal(out + p + 1, val + v, want);
			p += want + 1;
			v += want;
		}
		assert_int_equal(dw_rdata_check(DW_T_TXT, out, c.pos), 0);
	}
	/* not enough space: sticky error */
	struct dw_cur c = dw_writer(out, 256);
	dw_rdata_txt(&c, val, 256);
	assert_int_equal(c.err, AD_ESPACE);
}

static void
test_caa(void **state)
{
	uint8_t out[64];
	struct dw_cur c = dw_writer(out, sizeof(out));
	(void)state;

	dw_rdata_caa(&c, 128, "issue", "letsencrypt.org", 15);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.pos, 2 + 5 + 15);
	assert_memory_equal(out, "\x80\x05issueletsencrypt.org", 22);

	/* tag 1..15 letters and digits (RFC 8659 §4.1.1) */
	c = dw_writer(out, sizeof(out));
	dw_rdata_caa(&c, 0, "abcdefghij12345", "", 0);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.pos, 17);
	static const char *bad[] = {"", "abcdefghij123456", "is-sue", "a b",
				    "iss\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = dw_writer(out, sizeof(out));
		dw_rdata_caa(&c, 0, bad[i], "x", 1);
		assert_int_equal(c.err, AD_EINVAL);
		assert_int_equal(c.pos, 0);
	}
}

static void
test_tlsa(void **state)
{
	uint8_t out[64], data[32];
	struct dw_cur c = dw_writer(out, sizeof(out));
	(void)state;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	dw_rdata_tlsa(&c, 3, 1, 1, data, sizeof(data));
	assert_int_equal(c.err, 0);
	assert_int_equal(c.pos, 35);
	assert_memory_equal(out, "\x03\x01\x01", 3);
	assert_memory_equal(out + 3, data, 32);
	c = dw_writer(out, 34);
	dw_rdata_tlsa(&c, 3, 1, 1, data, sizeof(data));
	assert_int_equal(c.err, AD_ESPACE);
}

static void
test_soa_and_friends(void **state)
{
	uint8_t out[128];
	struct dw_cur c = dw_writer(out, sizeof(out));
	(void)state;

	dw_rdata_soa(&c, (const uint8_t *)"\x03ns1" EXAMPLE_COM,
		     (const uint8_t *)"\x0ahostmaster" EXAMPLE_COM, 2024010101,
		     3600, 600, 86400, 300);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.pos, 17 + 24 + 20);
	assert_memory_equal(out, "\x03ns1" EXAMPLE_COM "\x00", 17);
	assert_memory_equal(out + 17, "\x0ahostmaster" EXAMPLE_COM "\x00", 24);
	assert_memory_equal(out + 41,
			    "\x78\xa3\xf1\x75" /* 2024010101 */
			    "\x00\x00\x0e\x10\x00\x00\x02\x58"
			    "\x00\x01\x51\x80\x00\x00\x01\x2c",
			    20);
	assert_int_equal(dw_rdata_check(DW_T_SOA, out, c.pos), 0);

	c = dw_writer(out, sizeof(out));
	dw_rdata_mx(&c, 10, (const uint8_t *)"\x04mail" EXAMPLE_COM);
	assert_int_equal(c.pos, 2 + 18);
	assert_memory_equal(out, "\x00\x0a\x04mail", 7);
	assert_int_equal(dw_rdata_check(DW_T_MX, out, c.pos), 0);

	c = dw_writer(out, sizeof(out));
	dw_rdata_a(&c, (const uint8_t *)"\xc0\x00\x02\x01");
	dw_rdata_aaaa(&c, (const uint8_t *)"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0"
					   "\0\0\x01");
	assert_int_equal(c.pos, 20);
	c = dw_writer(out, sizeof(out));
	dw_rdata_name(&c, (const uint8_t *)EXAMPLE_COM);
	assert_int_equal(c.pos, 13);
	assert_int_equal(dw_rdata_check(DW_T_CNAME, out, c.pos), 0);
}

static void
test_rdata_check(void **state)
{
	(void)state;
	const uint8_t *n = (const uint8_t *)EXAMPLE_COM; /* 13 */

	assert_int_equal(dw_rdata_check(DW_T_NS, n, 13), 0);
	assert_int_equal(dw_rdata_check(DW_T_NS, n, 12), AD_EMALF);
	assert_int_equal(dw_rdata_check(DW_T_NS, n, 14), AD_EMALF);
	assert_int_equal(dw_rdata_check(DW_T_NS, n, 0), AD_EMALF);
	/* compressed names are not valid RDATA in our tables */
	assert_int_equal(
	    dw_rdata_check(DW_T_CNAME, (const uint8_t *)"\x01x\xC0\x0C", 4),
	    AD_EMALF);
	assert_int_equal(dw_rdata_check(DW_T_PTR, (const uint8_t *)"\x41", 1),
			 AD_EMALF);
	assert_int_equal(
	    dw_rdata_check(DW_T_MX, (const uint8_t *)"\x00\x0a\x00", 3), 0);
	assert_int_equal(
	    dw_rdata_check(DW_T_MX, (const uint8_t *)"\x00\x0a", 2), AD_EMALF);
	assert_int_equal(
	    dw_rdata_check(DW_T_SRV, (const uint8_t *)"\0\1\0\2\0\3\0", 7), 0);
	assert_int_equal(
	    dw_rdata_check(DW_T_SRV, (const uint8_t *)"\0\1\0\2\0\3\0\0", 8),
	    AD_EMALF);
	assert_int_equal(dw_rdata_check(DW_T_A, (const uint8_t *)"abcd", 4), 0);
	assert_int_equal(dw_rdata_check(DW_T_A, (const uint8_t *)"abcde", 5),
			 AD_EMALF);
	assert_int_equal(dw_rdata_check(DW_T_AAAA, (const uint8_t *)"abcd", 4),
			 AD_EMALF);
	assert_int_equal(dw_rdata_check(DW_T_TXT, (const uint8_t *)"", 0),
			 AD_EMALF);
	assert_int_equal(dw_rdata_check(DW_T_TXT, (const uint8_t *)"\0", 1), 0);
	assert_int_equal(dw_rdata_check(DW_T_TXT, (const uint8_t *)"\3ab", 3),
			 AD_EMALF);
	assert_int_equal(
	    dw_rdata_check(DW_T_TXT, (const uint8_t *)"\2ab\1c", 5), 0);
	/* SOA: two names and exactly 20 bytes */
	uint8_t soa[64];
	memcpy(soa, "\x00\x00", 2);
	memset(soa + 2, 0, 20);
	assert_int_equal(dw_rdata_check(DW_T_SOA, soa, 22), 0);
	assert_int_equal(dw_rdata_check(DW_T_SOA, soa, 21), AD_EMALF);
	assert_int_equal(dw_rdata_check(DW_T_SOA, soa, 23), AD_EMALF);
	/* opaque types */
	assert_int_equal(dw_rdata_check(DW_T_TLSA, soa, 0), 0);
	assert_int_equal(dw_rdata_check(DW_T_CAA, soa, 5), 0);
}

/* Append an RR built from presentation-format rdata via ldns. */
static uint16_t
ldns_rdata(const char *rr_str, uint8_t *out, size_t cap)
{
	ldns_rr *rr = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&rr, rr_str, 300, NULL, NULL),
			 LDNS_STATUS_OK);
	ldns_buffer *b = ldns_buffer_new(512);
	assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
	size_t n = ldns_buffer_position(b);
	assert_true(n <= cap);
	memcpy(out, ldns_buffer_begin(b), n);
	ldns_buffer_free(b);
	ldns_rr_free(rr);
	return (uint16_t)n;
}

static void
test_rr_write(void **state)
{
	static const struct {
		const char *rr; /* presentation format, also the expectation */
		uint16_t owner_ptr;
	} rrs[] = {
	    {"www.example.com.\t300\tIN\tCNAME\tmail.example.com.", 12},
	    {"example.com.\t300\tIN\tNS\tns1.example.com.", 0},
	    {"example.com.\t300\tIN\tMX\t10 mail.example.com.", 0},
	    {"example.com.\t300\tIN\tSOA\tns1.example.com. "
	     "hostmaster.example.com. 1 2 3 4 5",
	     0},
	    {"_sip._udp.example.com.\t300\tIN\tSRV\t1 2 5060 "
	     "sip.example.com.",
	     0},
	    {"example.com.\t300\tIN\tTXT\t\"hello\" \"world\"", 0},
	    {"example.com.\t300\tIN\tCAA\t0 issue \"ca.example.net\"", 0},
	};
	uint8_t msg[1024], rd[512], owner[DW_NAME_MAX];
	size_t n, rdata_at[sizeof(rrs) / sizeof(rrs[0])];
	struct dw_cur c = dw_writer(msg, sizeof(msg));
	struct dw_ctab t;
	(void)state;

	/* header + question www.example.com/A */
	memset(msg, 0, 12);
	msg[2] = 0x84; /* QR AA */
	msg[5] = 1;
	msg[7] = (uint8_t)(sizeof(rrs) / sizeof(rrs[0]));
	c.pos = 12;
	dw_ctab_init(&t);
	dw_name_write(&c, (const uint8_t *)"\x03www" EXAMPLE_COM, &t);
	dw_put_u16(&c, DW_T_A);
	dw_put_u16(&c, DW_C_IN);

	for (size_t i = 0; i < sizeof(rrs) / sizeof(rrs[0]); i++) {
		ldns_rr *lr = NULL;
		assert_int_equal(
		    ldns_rr_new_frm_str(&lr, rrs[i].rr, 300, NULL, NULL),
		    LDNS_STATUS_OK);
		char *os = ldns_rdf2str(ldns_rr_owner(lr));
		assert_int_equal(dw_name_from_str(os, NULL, owner, &n), 0);
		free(os);
		uint16_t rdlen = ldns_rdata(rrs[i].rr, rd, sizeof(rd));
		dw_rr_write(&c, owner, rrs[i].owner_ptr,
			    (uint16_t)ldns_rr_get_type(lr), DW_C_IN, 300, rd,
			    rdlen, &t);
		rdata_at[i] = c.pos;
		ldns_rr_free(lr);
	}
	assert_int_equal(c.err, 0);

	/* owner pointer and compressed RDATA names, byte for byte */
	size_t p = 12 + 17 + 4;
	assert_memory_equal(msg + p,
			    "\xC0\x0C\x00\x05\x00\x01\x00\x00\x01\x2c"
			    "\x00\x07\x04mail\xC0\x10",
			    19);
	p += 19;
	/* NS: owner example.com -> 16, target ns1 + pointer */
	assert_memory_equal(msg + p,
			    "\xC0\x10\x00\x02\x00\x01\x00\x00\x01\x2c"
			    "\x00\x06\x03ns1\xC0\x10",
			    18);
	p += 18;
	/* MX: preference, then mail.example.com -> offset of "mail" */
	assert_memory_equal(msg + p,
			    "\xC0\x10\x00\x0f\x00\x01\x00\x00\x01\x2c"
			    "\x00\x04\x00\x0a\xC0\x2d",
			    16);
	p += 16;
	/* SOA: both names compressed, then 20 bytes */
	assert_memory_equal(msg + p + 10,
			    "\x00\x23\xC0\x40\x0ahostmaster\xC0"
			    "\x10",
			    17);
	assert_int_equal(rdata_at[3] - (p + 12), 2 + 13 + 20);
	p = rdata_at[3];
	/* SRV: target NOT compressed (RFC 2782), owner labels literal */
	assert_memory_equal(msg + p, "\x04_sip\x04_udp\xC0\x10", 12);
	size_t srv = p + 12 + 10 + 6; /* owner, fixed part, prio/weight/port */
	assert_memory_equal(msg + srv,
			    "\x03sip\x07"
			    "example\x03"
			    "com\x00",
			    17);

	/* ldns decodes the whole message to what went in */
	ldns_pkt *pkt = NULL;
	assert_int_equal(ldns_wire2pkt(&pkt, msg, c.pos), LDNS_STATUS_OK);
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	assert_int_equal(ldns_rr_list_rr_count(an),
			 sizeof(rrs) / sizeof(rrs[0]));
	for (size_t i = 0; i < sizeof(rrs) / sizeof(rrs[0]); i++) {
		char *s = ldns_rr2str(ldns_rr_list_rr(an, i));
		s[strcspn(s, "\n")] = '\0';
		assert_string_equal(s, rrs[i].rr);
		free(s);
	}
	ldns_pkt_free(pkt);
}

static void
test_rr_write_no_space(void **state)
{
	uint8_t msg[64];
	(void)state;
	for (size_t cap = 0; cap < 10 + 2 + 4; cap++) {
		struct dw_cur c = dw_writer(msg, cap);
		dw_rr_write(&c, NULL, 12, DW_T_A, DW_C_IN, 1,
			    (const uint8_t *)"abcd", 4, NULL);
		assert_int_equal(c.err, AD_ESPACE);
	}
	struct dw_cur c = dw_writer(msg, 16);
	dw_rr_write(&c, NULL, 12, DW_T_A, DW_C_IN, 1, (const uint8_t *)"abcd",
		    4, NULL);
	assert_int_equal(c.err, 0);
	assert_memory_equal(msg,
			    "\xC0\x0C\x00\x01\x00\x01\x00\x00\x00\x01"
			    "\x00\x04"
			    "abcd",
			    16);
}

static void
test_type_names(void **state)
{
	char buf[16];
	uint16_t t;
	(void)state;

	assert_string_equal(dw_type_str(DW_T_TXT, buf), "TXT");
	assert_string_equal(dw_type_str(DW_T_CAA, buf), "CAA");
	assert_string_equal(dw_type_str(65280, buf), "TYPE65280");
	assert_string_equal(dw_type_str(65535, buf), "TYPE65535");
	assert_int_equal(dw_type_parse("tlsa", &t), 0);
	assert_int_equal(t, DW_T_TLSA);
	assert_int_equal(dw_type_parse("TYPE65535", &t), 0);
	assert_int_equal(t, 65535);
	assert_int_equal(dw_type_parse("type1", &t), 0);
	assert_int_equal(t, 1);
	assert_int_equal(dw_type_parse("TYPE65536", &t), AD_EINVAL);
	assert_int_equal(dw_type_parse("TYPE", &t), AD_EINVAL);
	assert_int_equal(dw_type_parse("TYPE-1", &t), AD_EINVAL);
	assert_int_equal(dw_type_parse("TYPE1x", &t), AD_EINVAL);
	assert_int_equal(dw_type_parse("TYPE99999999999999999999", &t),
			 AD_EINVAL);
	assert_int_equal(dw_type_parse("BOGUS", &t), AD_EINVAL);
	assert_int_equal(dw_type_parse("", &t), AD_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_txt_split),
	    cmocka_unit_test(test_caa),
	    cmocka_unit_test(test_tlsa),
	    cmocka_unit_test(test_soa_and_friends),
	    cmocka_unit_test(test_rdata_check),
	    cmocka_unit_test(test_rr_write),
	    cmocka_unit_test(test_rr_write_no_space),
	    cmocka_unit_test(test_type_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
