/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of dnswire/msg.c: dw_query_parse() on well-formed queries and
 * on everything a query must not be (runts and responses are dropped; wrong
 * counts, compressed or truncated questions are FORMERR; a second OPT, an
 * OPT with a non-root owner, bad option lengths or bad cookies are
 * FORMERR without OPT in the answer, RFC 6891 §6.1.1 and §7, RFC 7873 §5.2),
 * and the header/OPT writers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dnswire/msg.h"

#define QNAME                                                                  \
	"\x03WwW\x07"                                                          \
	"ExAmple\x03"                                                          \
	"com" /* 17 with root */

/* A query under construction, written with the cursor under test only for
 * plain byte copies. */
struct qb {
	uint8_t b[1024];
	size_t n;
};

static void
qb_hdr(struct qb *q, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
       uint16_t ar)
{
	uint8_t h[12] = {0x12,
			 0x34,
			 (uint8_t)(flags >> 8),
			 (uint8_t)flags,
			 0,
			 (uint8_t)qd,
			 0,
			 (uint8_t)an,
			 0,
			 (uint8_t)ns,
			 0,
			 (uint8_t)ar};
	memcpy(q->b, h, 12);
	q->n = 12;
}

static void
qb_raw(struct qb *q, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(q->b + q->n, p, n);
	q->n += n;
}

static void
qb_u16(struct qb *q, uint16_t v)
{
	q->b[q->n++] = (uint8_t)(v >> 8);
	q->b[q->n++] = (uint8_t)v;
}

static void
qb_question(struct qb *q, uint16_t type, uint16_t cls)
{
	qb_raw(q, QNAME, 17);
	qb_u16(q, type);
	qb_u16(q, cls);
}

/* OPT fixed part: root owner, type, size, ext rcode, version, flags,
 * rdlen; the caller appends rdlen bytes of options. */
static void
qb_opt(struct qb *q, uint16_t size, uint8_t version, uint16_t flags,
       uint16_t rdlen)
{
	qb_raw(q, "\x00", 1);
	qb_u16(q, DW_T_OPT);
	qb_u16(q, size);
	q->b[q->n++] = 0;
	q->b[q->n++] = version;
	qb_u16(q, flags);
	qb_u16(q, rdlen);
}

static void
qb_option(struct qb *q, uint16_t code, const void *val, uint16_t len)
{
	qb_u16(q, code);
	qb_u16(q, len);
	qb_raw(q, val, len);
}

static enum dw_parse_status
parse(const struct qb *q, struct dw_query *out)
{
	return dw_query_parse(q->b, q->n, out);
}

static void
test_ok(void **state)
{
	struct qb q;
	struct dw_query d;
	(void)state;

	qb_hdr(&q, DW_RD | DW_CD, 1, 0, 0, 0);
	qb_question(&q, DW_T_TXT, DW_C_IN);
	assert_int_equal(parse(&q, &d), DW_PARSE_OK);
	assert_int_equal(d.hdr.id, 0x1234);
	assert_int_equal(d.hdr.flags, DW_RD | DW_CD);
	assert_int_equal(d.qname_len, 17);
	assert_memory_equal(d.qname, QNAME, 17); /* case kept */
	assert_int_equal(d.qtype, DW_T_TXT);
	assert_int_equal(d.qclass, DW_C_IN);
	assert_int_equal(d.question_len, 21);
	assert_false(d.edns.present);

	/* trailing bytes after the last record are ignored */
	qb_raw(&q, "junk", 4);
	assert_int_equal(parse(&q, &d), DW_PARSE_OK);
	/* opcode is not judged by the parser */
	q.b[2] = (uint8_t)(DW_OP_NOTIFY << 3);
	assert_int_equal(parse(&q, &d), DW_PARSE_OK);
	assert_int_equal(DW_OPCODE(d.hdr.flags), DW_OP_NOTIFY);
}

static void
test_drop(void **state)
{
	struct qb q;
	struct dw_query d;
	(void)state;

	qb_hdr(&q, 0, 1, 0, 0, 0);
	qb_question(&q, DW_T_A, DW_C_IN);
	/* shorter than a header: dropped */
	for (size_t len = 0; len < DW_HDR_LEN; len++)
		assert_int_equal(dw_query_parse(q.b, len, &d), DW_PARSE_DROP);
	assert_int_equal(dw_query_parse(NULL, 0, &d), DW_PARSE_DROP);
	/* a response: dropped, whatever follows */
	q.b[2] |= 0x80;
	assert_int_equal(parse(&q, &d), DW_PARSE_DROP);
	q.b[5] = 0;
	assert_int_equal(parse(&q, &d), DW_PARSE_DROP);
	/* exactly a header with qdcount 0 is FORMERR, not dropped */
	qb_hdr(&q, 0, 0, 0, 0, 0);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR);
}

static void
test_counts(void **state)
{
	struct qb q;
	struct dw_query d;
	(void)state;

	qb_hdr(&q, 0, 0, 0, 0, 0);
	qb_question(&q, DW_T_A, DW_C_IN);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR);

	qb_hdr(&q, 0, 2, 0, 0, 0);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_question(&q, DW_T_A, DW_C_IN);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR);

	/* records in answer/authority: FORMERR with the question usable */
	qb_hdr(&q, 0, 1, 1, 0, 0);
	qb_question(&q, DW_T_A, DW_C_IN);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_Q);
	assert_int_equal(d.question_len, 21);
	assert_int_equal(d.qtype, DW_T_A);

	qb_hdr(&q, 0, 1, 0, 1, 0);
	qb_question(&q, DW_T_A, DW_C_IN);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_Q);

	/* arcount says 1, nothing there */
	qb_hdr(&q, 0, 1, 0, 0, 1);
	qb_question(&q, DW_T_A, DW_C_IN);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_Q);
}

static void
test_question_bad(void **state)
{
	struct qb q;
	struct dw_query d;
	(void)state;

	/* compressed question: a pointer into the header */
	qb_hdr(&q, 0, 1, 0, 0, 0);
	qb_raw(&q, "\x03www\xC0\x04", 6);
	qb_u16(&q, DW_T_A);
	qb_u16(&q, DW_C_IN);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR);
	/* a pointer as the whole name */
	qb_hdr(&q, 0, 1, 0, 0, 0);
	qb_raw(&q, "\xC0\x0B", 2);
	qb_u16(&q, DW_T_A);
	qb_u16(&q, DW_C_IN);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR);
	/* a label type 0x40 */
	qb_hdr(&q, 0, 1, 0, 0, 0);
	qb_raw(&q, "\x41x\x00", 3);
	qb_u16(&q, DW_T_A);
	qb_u16(&q, DW_C_IN);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR);

	/* every truncation of a full question is FORMERR */
	qb_hdr(&q, 0, 1, 0, 0, 0);
	qb_question(&q, DW_T_A, DW_C_IN);
	for (size_t len = DW_HDR_LEN; len < q.n; len++)
		assert_int_equal(dw_query_parse(q.b, len, &d),
				 DW_PARSE_FORMERR);
}

static void
test_edns(void **state)
{
	struct qb q;
	struct dw_query d;
	(void)state;

	qb_hdr(&q, 0, 1, 0, 0, 1);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_opt(&q, 4096, 0, 0x8000, 0);
	assert_int_equal(parse(&q, &d), DW_PARSE_OK);
	assert_true(d.edns.present);
	assert_true(d.edns.do_bit);
	assert_int_equal(d.edns.udp_size, 4096);
	assert_int_equal(d.edns.version, 0);
	assert_int_equal(d.edns.flags, 0x8000);
	assert_int_equal(d.edns.nopts, 0);
	assert_false(d.edns.has_cookie);

	/* version, ext rcode and the other flag bits are reported as sent */
	qb_hdr(&q, 0, 1, 0, 0, 1);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_opt(&q, 100, 1, 0x0001, 0);
	q.b[q.n - 6] = 0x7f; /* ext rcode byte */
	assert_int_equal(parse(&q, &d), DW_PARSE_OK);
	assert_int_equal(d.edns.udp_size, 100);
	assert_int_equal(d.edns.version, 1);
	assert_int_equal(d.edns.ext_rcode, 0x7f);
	assert_false(d.edns.do_bit);
	assert_int_equal(d.edns.flags, 1);

	/* other additional records are skipped around the OPT */
	qb_hdr(&q, 0, 1, 0, 0, 3);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_raw(&q, "\xC0\x0C", 2); /* owner: pointer to the question */
	qb_u16(&q, DW_T_TSIG);
	qb_u16(&q, DW_C_ANY);
	qb_raw(&q, "\x00\x00\x00\x00", 4);
	qb_u16(&q, 3);
	qb_raw(&q, "abc", 3);
	qb_opt(&q, 1232, 0, 0, 0);
	qb_raw(&q, "\x01x\x00", 3);
	qb_u16(&q, DW_T_A);
	qb_u16(&q, DW_C_IN);
	qb_raw(&q, "\x00\x00\x00\x00\x00\x04\x01\x02\x03\x04", 10);
	assert_int_equal(parse(&q, &d), DW_PARSE_OK);
	assert_true(d.edns.present);
	assert_int_equal(d.edns.udp_size, 1232);
	/* ... but a truncated one is FORMERR */
	q.n--;
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_Q);
}

static void
test_opt_bad(void **state)
{
	struct qb q;
	struct dw_query d;
	(void)state;

	/* two OPTs */
	qb_hdr(&q, 0, 1, 0, 0, 2);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_opt(&q, 1232, 0, 0, 0);
	qb_opt(&q, 1232, 0, 0, 0);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_OPT);
	assert_int_equal(d.question_len, 21); /* question still usable */

	/* OPT owned by a name other than the root */
	qb_hdr(&q, 0, 1, 0, 0, 1);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_raw(&q, "\xC0\x0C", 2);
	qb_u16(&q, DW_T_OPT);
	qb_u16(&q, 1232);
	qb_raw(&q, "\x00\x00\x00\x00\x00\x00", 6);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_OPT);

	/* rdlen past the end of the message */
	qb_hdr(&q, 0, 1, 0, 0, 1);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_opt(&q, 1232, 0, 0, 4);
	qb_raw(&q, "\x00\x0a", 2);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_OPT);

	/* option header cut inside RDATA */
	qb_hdr(&q, 0, 1, 0, 0, 1);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_opt(&q, 1232, 0, 0, 3);
	qb_raw(&q, "\xfd\xe9\x00", 3);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_OPT);

	/* option length beyond RDATA (message has more bytes after) */
	qb_hdr(&q, 0, 1, 0, 0, 1);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_opt(&q, 1232, 0, 0, 6);
	qb_raw(&q,
	       "\xfd\xe9\x00\x05"
	       "ab"
	       "cdefgh",
	       12);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_OPT);

	/* fixed part of the OPT cut short: an ordinary truncation */
	qb_hdr(&q, 0, 1, 0, 0, 1);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_opt(&q, 1232, 0, 0, 0);
	for (size_t cut = 1; cut <= 11; cut++)
		assert_int_equal(dw_query_parse(q.b, q.n - cut, &d),
				 DW_PARSE_FORMERR_Q);
}

static void
test_opt_options(void **state)
{
	struct qb q;
	struct dw_query d;
	uint8_t val[48];
	(void)state;

	for (unsigned i = 0; i < sizeof(val); i++)
		val[i] = (uint8_t)(0xA0 + i);

	/* unknown options are skipped (RFC 6891 §6.1.2); a zero-length
	 * option is fine */
	qb_hdr(&q, 0, 1, 0, 0, 1);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_opt(&q, 1232, 0, 0, 4 + 3 + 4);
	qb_option(&q, 65001, "abc", 3);
	qb_option(&q, 12, NULL, 0); /* padding, empty */
	assert_int_equal(parse(&q, &d), DW_PARSE_OK);
	assert_int_equal(d.edns.nopts, 2);
	assert_false(d.edns.has_cookie);

	/* cookies: client only (8), and client + server 8..32 */
	static const uint16_t good[] = {8, 16, 17, 24, 39, 40};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint16_t l = good[i];
		qb_hdr(&q, 0, 1, 0, 0, 1);
		qb_question(&q, DW_T_A, DW_C_IN);
		qb_opt(&q, 1232, 0, 0, (uint16_t)(4 + l));
		qb_option(&q, DW_OPT_COOKIE, val, l);
		assert_int_equal(parse(&q, &d), DW_PARSE_OK);
		assert_true(d.edns.has_cookie);
		assert_memory_equal(d.edns.client_cookie, val, 8);
		assert_int_equal(d.edns.server_cookie_len, l - 8);
		if (l > 8)
			assert_memory_equal(d.edns.server_cookie, val + 8,
					    l - 8);
	}
	/* RFC 7873 §5.2.2: other lengths are FORMERR */
	static const uint16_t bad[] = {0, 1, 7, 9, 12, 15, 41, 48};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint16_t l = bad[i];
		qb_hdr(&q, 0, 1, 0, 0, 1);
		qb_question(&q, DW_T_A, DW_C_IN);
		qb_opt(&q, 1232, 0, 0, (uint16_t)(4 + l));
		qb_option(&q, DW_OPT_COOKIE, val, l);
		assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_OPT);
	}
	/* two cookie options */
	qb_hdr(&q, 0, 1, 0, 0, 1);
	qb_question(&q, DW_T_A, DW_C_IN);
	qb_opt(&q, 1232, 0, 0, 24);
	qb_option(&q, DW_OPT_COOKIE, val, 8);
	qb_option(&q, DW_OPT_COOKIE, val, 8);
	assert_int_equal(parse(&q, &d), DW_PARSE_FORMERR_OPT);
}

static void
test_hdr_rw(void **state)
{
	uint8_t buf[16];
	struct dw_hdr h = {0xBEEF, 0x8180, 1, 2, 3, 4}, g;
	struct dw_cur c = dw_writer(buf, sizeof(buf));
	(void)state;

	dw_hdr_write(&c, &h);
	assert_int_equal(c.pos, 12);
	assert_memory_equal(buf,
			    "\xBE\xEF\x81\x80\x00\x01\x00\x02\x00\x03"
			    "\x00\x04",
			    12);
	assert_int_equal(dw_hdr_read(buf, 12, &g), 0);
	assert_memory_equal(&g, &h, sizeof(h));
	assert_int_equal(dw_hdr_read(buf, 11, &g), AD_EMALF);
}

static void
test_opt_write(void **state)
{
	uint8_t buf[32];
	struct dw_cur c = dw_writer(buf, sizeof(buf));
	(void)state;

	dw_opt_write(&c, 1232, DW_NOERROR, true);
	assert_int_equal(c.pos, DW_OPT_LEN);
	assert_memory_equal(buf, "\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00",
			    11);
	/* BADVERS (16): upper 8 bits in the OPT TTL, version 0 */
	c = dw_writer(buf, sizeof(buf));
	dw_opt_write(&c, 512, DW_BADVERS, false);
	assert_memory_equal(buf, "\x00\x00\x29\x02\x00\x01\x00\x00\x00\x00\x00",
			    11);
	/* no space: sticky error */
	c = dw_writer(buf, 10);
	dw_opt_write(&c, 1232, 0, false);
	assert_int_equal(c.err, AD_ESPACE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ok),
	    cmocka_unit_test(test_drop),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_question_bad),
	    cmocka_unit_test(test_edns),
	    cmocka_unit_test(test_opt_bad),
	    cmocka_unit_test(test_opt_options),
	    cmocka_unit_test(test_hdr_rw),
	    cmocka_unit_test(test_opt_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
