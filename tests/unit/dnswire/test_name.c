/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of dnswire/name.c: reading names with decompression and the
 * RFC 1035 §4.1.4 / §2.3.4 limits (backward pointers only, no loops, labels
 * <= 63, names <= 255, no 0x40/0x80 label types, truncation), writing with
 * compression (exact bytes and offsets, and ldns as an independent decoder
 * of the result), presentation format both ways (escapes, relative names,
 * "@") and the zone-membership test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "common/util.h"
#include "dnswire/name.h"

#define EXAMPLE_COM                                                            \
	"\x07"                                                                 \
	"example"                                                              \
	"\x03"                                                                 \
	"com"

/* ---- reading ---- */

/* Read a name at off in msg; returns 0 or the error. */
static int
read_at(const uint8_t *msg, size_t len, size_t off, uint8_t *out, size_t *olen,
	size_t *end)
{
	struct dw_cur c = dw_reader(msg, len);
	c.pos = off;
	int r = dw_name_read(&c, out, olen);
	if (end)
		*end = c.pos;
	if (r)
		assert_int_equal(c.err, AD_EMALF);
	return r;
}

static void
test_read_plain(void **state)
{
	static const uint8_t msg[] = "\x03WwW" EXAMPLE_COM "\x00"
				     "tail";
	uint8_t out[DW_NAME_MAX];
	size_t n, end;
	(void)state;

	assert_int_equal(read_at(msg, sizeof(msg) - 1, 0, out, &n, &end), 0);
	assert_int_equal(n, 17);
	assert_int_equal(end, 17);
	assert_memory_equal(out, "\x03WwW" EXAMPLE_COM, 17); /* case kept */

	/* the root name */
	assert_int_equal(read_at((const uint8_t *)"", 1, 0, out, &n, &end), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(end, 1);
}

static void
test_read_compressed(void **state)
{
	/* 0: www.example.com.  17: mail -> example.com (4)
	 * 24: pointer to 17 (two hops) */
	static const uint8_t msg[] = "\x03www" EXAMPLE_COM "\x00"
				     "\x04mail\xC0\x04"
				     "\xC0\x11";
	uint8_t out[DW_NAME_MAX];
	size_t n, end;
	(void)state;

	assert_int_equal(read_at(msg, sizeof(msg) - 1, 17, out, &n, &end), 0);
	assert_int_equal(end, 24); /* just past the pointer */
	assert_int_equal(n, 18);
	assert_memory_equal(out, "\x04mail" EXAMPLE_COM, 18);

	assert_int_equal(read_at(msg, sizeof(msg) - 1, 24, out, &n, &end), 0);
	assert_int_equal(end, 26);
	assert_memory_equal(out, "\x04mail" EXAMPLE_COM, 18);
}

static void
test_read_bad_pointers(void **state)
{
	uint8_t out[DW_NAME_MAX];
	size_t n;
	(void)state;

	/* forward pointer: name at 0 points to 4 */
	static const uint8_t fwd[] = "\x01"
				     "a\xC0\x04"
				     "\x01"
				     "b\x00";
	assert_int_equal(read_at(fwd, sizeof(fwd) - 1, 0, out, &n, NULL),
			 AD_EMALF);
	/* pointer to itself */
	static const uint8_t self[] = "\xC0\x00";
	assert_int_equal(read_at(self, 2, 0, out, &n, NULL), AD_EMALF);
	/* pointer into its own labels: a.(back to a) */
	static const uint8_t own[] = "\x00\x00\x01"
				     "a\xC0\x02";
	assert_int_equal(read_at(own, sizeof(own) - 1, 2, out, &n, NULL),
			 AD_EMALF);
	/* a loop of two pointers reached from a later name:
	 * 0: "a" -> 6 (forward); 6: -> 0; 8: -> 6 */
	static const uint8_t loop[] = "\x01"
				      "a\xC0\x06\x00\x00"
				      "\xC0\x00"
				      "\xC0\x06";
	assert_int_equal(read_at(loop, sizeof(loop) - 1, 8, out, &n, NULL),
			 AD_EMALF);
	/* pointer with its second byte missing */
	static const uint8_t half[] = "\x01"
				      "a\xC0";
	assert_int_equal(read_at(half, 3, 0, out, &n, NULL), AD_EMALF);
	/* pointer past the end of the message */
	static const uint8_t past[] = "\x00\x00\x00\x00\xC0\x03";
	assert_int_equal(read_at(past, 6, 4, out, &n, NULL), 0);
	static const uint8_t past2[] = "\x01"
				       "a\xC0\x10";
	assert_int_equal(read_at(past2, 4, 0, out, &n, NULL), AD_EMALF);
}

static void
test_read_label_types(void **state)
{
	uint8_t out[DW_NAME_MAX];
	size_t n;
	uint8_t msg[80];
	(void)state;

	/* 0x40 (extended, RFC 6891 §5) and 0x80 (reserved) label types, and
	 * so every length byte from 64 to 191 */
	for (unsigned l = 0x40; l < 0xC0; l++) {
		memset(msg, 'a', sizeof(msg));
		msg[0] = (uint8_t)l;
		msg[sizeof(msg) - 1] = 0;
		assert_int_equal(read_at(msg, sizeof(msg), 0, out, &n, NULL),
				 AD_EMALF);
	}
	/* 63 is fine */
	memset(msg, 'a', sizeof(msg));
	msg[0] = 63;
	msg[64] = 0;
	assert_int_equal(read_at(msg, 65, 0, out, &n, NULL), 0);
	assert_int_equal(n, 65);
}

/* n labels of length ll each, then root; returns the length */
static size_t
make_name(uint8_t *buf, unsigned n, unsigned ll)
{
	size_t p = 0;
	for (unsigned i = 0; i < n; i++) {
		buf[p++] = (uint8_t)ll;
		memset(buf + p, 'x', ll);
		p += ll;
	}
	buf[p++] = 0;
	return p;
}

static void
test_read_length_limit(void **state)
{
	uint8_t msg[600], out[DW_NAME_MAX];
	size_t n, len;
	(void)state;

	/* 127 one-letter labels: 255 bytes, the maximum */
	len = make_name(msg, 127, 1);
	assert_int_equal(len, 255);
	assert_int_equal(read_at(msg, len, 0, out, &n, NULL), 0);
	assert_int_equal(n, 255);
	assert_int_equal(dw_name_labels(out), 127);
	assert_int_equal(dw_name_len(out), 255);

	/* 3 x 63 + 61: 255 */
	len = make_name(msg, 3, 63);
	msg[len - 1] = 61;
	memset(msg + len, 'y', 61);
	msg[len + 61] = 0;
	len += 62;
	assert_int_equal(len, 255);
	assert_int_equal(read_at(msg, len, 0, out, &n, NULL), 0);

	/* 4 x 63: 257 bytes */
	len = make_name(msg, 4, 63);
	assert_int_equal(len, 257);
	assert_int_equal(read_at(msg, len, 0, out, &n, NULL), AD_EMALF);

	/* 128 one-letter labels: 257 */
	len = make_name(msg, 128, 1);
	assert_int_equal(read_at(msg, len, 0, out, &n, NULL), AD_EMALF);

	/* over 255 only through compression: 200-byte name at 0, then
	 * 60 bytes of labels pointing to it */
	size_t a = make_name(msg, 4, 49); /* 201 */
	uint8_t *p = msg + a;
	*p++ = 58;
	memset(p, 'z', 58);
	p += 58;
	*p++ = 0xC0;
	*p++ = 0x00;
	assert_int_equal(read_at(msg, (size_t)(p - msg), a, out, &n, NULL),
			 AD_EMALF);
	/* 54 bytes more is exactly 255 */
	msg[a] = 53;
	msg[a + 54] = 0xC0;
	msg[a + 55] = 0x00;
	assert_int_equal(read_at(msg, a + 56, a, out, &n, NULL), 0);
	assert_int_equal(n, 255);
}

static void
test_read_truncated(void **state)
{
	static const uint8_t msg[] = "\x03www" EXAMPLE_COM "\x00";
	uint8_t out[DW_NAME_MAX];
	size_t n;
	(void)state;

	/* every proper prefix is malformed */
	for (size_t len = 0; len < sizeof(msg) - 1; len++)
		assert_int_equal(read_at(msg, len, 0, out, &n, NULL), AD_EMALF);
	assert_int_equal(read_at(msg, sizeof(msg) - 1, 0, out, &n, NULL), 0);

	/* a sticky error short-circuits */
	struct dw_cur c = dw_reader(msg, sizeof(msg) - 1);
	c.err = AD_ESPACE;
	assert_int_equal(dw_name_read(&c, out, &n), AD_ESPACE);
}

/* ---- helpers ---- */

static void
test_helpers(void **state)
{
	uint8_t n[] = "\x03WwW\x07"
		      "ExAmPlE\x03"
		      "CoM";
	(void)state;
	assert_int_equal(dw_name_len(n), 17);
	assert_int_equal(dw_name_labels(n), 3);
	assert_int_equal(dw_name_labels((const uint8_t *)""), 0);
	assert_true(dw_name_equal(n, (const uint8_t *)"\x03www" EXAMPLE_COM));
	assert_false(dw_name_equal(n, (const uint8_t *)"\x03wwx" EXAMPLE_COM));
	assert_false(dw_name_equal(n, (const uint8_t *)EXAMPLE_COM));
	/* equality is ASCII-only: 0xC1 and 0xE1 differ */
	assert_false(dw_name_equal((const uint8_t *)"\x01\xC1",
				   (const uint8_t *)"\x01\xE1"));
	dw_name_lower(n);
	assert_memory_equal(n, "\x03www" EXAMPLE_COM, 17);
	/* label length bytes are never "lowercased" (0x41 = 'A' as length) */
	uint8_t big[70];
	size_t l = make_name(big, 1, 0x41);
	dw_name_lower(big);
	assert_int_equal(big[0], 0x41);
	assert_int_equal(l, 67);
}

static void
test_in_zone(void **state)
{
	const uint8_t *zone = (const uint8_t *)EXAMPLE_COM;
	const size_t zl = 13;
	(void)state;

	assert_int_equal(dw_name_in_zone((const uint8_t *)"\x03www" EXAMPLE_COM,
					 17, zone, zl),
			 4);
	assert_int_equal(
	    dw_name_in_zone((const uint8_t *)EXAMPLE_COM, 13, zone, zl), 0);
	assert_int_equal(dw_name_in_zone((const uint8_t *)"\x01"
							  "a\x01"
							  "B\x07"
							  "EXAMPLE\x03"
							  "Com",
					 17, zone, zl),
			 4);
	/* not label-aligned */
	assert_int_equal(dw_name_in_zone((const uint8_t *)"\x0a"
							  "badexample\x03"
							  "com",
					 16, zone, zl),
			 -1);
	/* same length, different name */
	assert_int_equal(dw_name_in_zone((const uint8_t *)"\x07"
							  "exampla\x03"
							  "com",
					 13, zone, zl),
			 -1);
	/* parent and unrelated names */
	assert_int_equal(dw_name_in_zone((const uint8_t *)"\x03"
							  "com",
					 5, zone, zl),
			 -1);
	assert_int_equal(dw_name_in_zone((const uint8_t *)"", 1, zone, zl), -1);
	assert_int_equal(dw_name_in_zone((const uint8_t *)"\x03www\x07"
							  "example\x03"
							  "org",
					 17, zone, zl),
			 -1);
	/* everything is below the root */
	assert_int_equal(dw_name_in_zone((const uint8_t *)EXAMPLE_COM, 13,
					 (const uint8_t *)"", 1),
			 12);
}

/* ---- presentation format ---- */

static void
from_ok(const char *s, const char *origin_str, const void *want,
	size_t want_len)
{
	uint8_t origin[DW_NAME_MAX], out[DW_NAME_MAX];
	size_t ol, n = 0;
	const uint8_t *o = NULL;
	if (origin_str) {
		assert_int_equal(
		    dw_name_from_str(origin_str, NULL, origin, &ol), 0);
		o = origin;
	}
	int r = dw_name_from_str(s, o, out, &n);
	if (r)
		fail_msg("'%s': %d", s, r);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, want_len);
}

static int
from_err(const char *s, const char *origin_str)
{
	uint8_t origin[DW_NAME_MAX], out[DW_NAME_MAX];
	size_t ol, n = 0;
	const uint8_t *o = NULL;
	if (origin_str) {
		assert_int_equal(
		    dw_name_from_str(origin_str, NULL, origin, &ol), 0);
		o = origin;
	}
	return dw_name_from_str(s, o, out, &n);
}

static void
test_from_str(void **state)
{
	(void)state;
	from_ok("www.Example.com.", NULL,
		"\x03www\x07"
		"Example\x03"
		"com",
		17);
	from_ok("www.example.com", NULL, "\x03www" EXAMPLE_COM, 17);
	from_ok("www", "example.com.", "\x03www" EXAMPLE_COM, 17);
	from_ok("a.b", "example.com",
		"\x01"
		"a\x01"
		"b" EXAMPLE_COM,
		17);
	from_ok("www.elsewhere.", "example.com.",
		"\x03www\x09"
		"elsewhere",
		15);
	from_ok("@", "example.com.", EXAMPLE_COM, 13);
	from_ok(".", NULL, "", 1);
	from_ok(".", "example.com.", "", 1);
	/* escapes: \. inside a label, \DDD, \X */
	from_ok("a\\.b.c.", NULL,
		"\x03"
		"a.b\x01"
		"c",
		7);
	from_ok("\\065bc.", NULL,
		"\x03"
		"Abc",
		5);
	from_ok("\\000\\255.", NULL, "\x02\x00\xff", 4);
	from_ok("\\\\\\@\\;.", NULL, "\x03\\@;", 5);
	from_ok("a\\.", "example.com",
		"\x02"
		"a." EXAMPLE_COM,
		16);

	assert_int_equal(from_err("", NULL), AD_EMALF);
	assert_int_equal(from_err("@", NULL), AD_EMALF);
	assert_int_equal(from_err("..", NULL), AD_EMALF);
	assert_int_equal(from_err("a..b", NULL), AD_EMALF);
	assert_int_equal(from_err(".a", NULL), AD_EMALF);
	assert_int_equal(from_err("a\\", NULL), AD_EMALF);
	assert_int_equal(from_err("\\256.", NULL), AD_EMALF);
	assert_int_equal(from_err("\\12", NULL), AD_EMALF);
	assert_int_equal(from_err("\\1a3.", NULL), AD_EMALF);
}

static void
test_from_str_limits(void **state)
{
	char s[600];
	uint8_t out[DW_NAME_MAX];
	size_t n;
	(void)state;

	/* label of 63 is fine, 64 is not */
	memset(s, 'a', 63);
	strcpy(s + 63, ".");
	assert_int_equal(dw_name_from_str(s, NULL, out, &n), 0);
	assert_int_equal(n, 65);
	memset(s, 'a', 64);
	strcpy(s + 64, ".");
	assert_int_equal(dw_name_from_str(s, NULL, out, &n), AD_ERANGE);
	/* escaped bytes count once */
	s[0] = '\0';
	for (int i = 0; i < 63; i++)
		strcat(s, "\\046");
	assert_int_equal(dw_name_from_str(s, NULL, out, &n), 0);
	assert_int_equal(n, 65);
	strcat(s, "x");
	assert_int_equal(dw_name_from_str(s, NULL, out, &n), AD_ERANGE);

	/* 127 one-letter labels = 255 bytes; 128 = 257 */
	s[0] = '\0';
	for (int i = 0; i < 127; i++)
		strcat(s, "a.");
	assert_int_equal(dw_name_from_str(s, NULL, out, &n), 0);
	assert_int_equal(n, 255);
	strcat(s, "a.");
	assert_int_equal(dw_name_from_str(s, NULL, out, &n), AD_ERANGE);
	/* 4 x 63 */
	s[0] = '\0';
	for (int i = 0; i < 4; i++) {
		size_t l = strlen(s);
		memset(s + l, 'b', 63);
		strcpy(s + l + 63, ".");
	}
	assert_int_equal(dw_name_from_str(s, NULL, out, &n), AD_ERANGE);
	/* 3 x 63 + 61 without the trailing dot, taken as absolute: 255 */
	s[0] = '\0';
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(s);
		memset(s + l, 'b', 63);
		strcpy(s + l + 63, ".");
	}
	size_t l = strlen(s);
	memset(s + l, 'c', 61);
	s[l + 61] = '\0';
	assert_int_equal(dw_name_from_str(s, NULL, out, &n), 0);
	assert_int_equal(n, 255);
	/* relative: the origin makes it too long */
	uint8_t origin[DW_NAME_MAX];
	size_t ol;
	assert_int_equal(dw_name_from_str("example.com.", NULL, origin, &ol),
			 0);
	assert_int_equal(dw_name_from_str(s, origin, out, &n), AD_ERANGE);
}

static void
test_to_str(void **state)
{
	char buf[DW_NAME_STR_MAX];
	(void)state;

	assert_string_equal(dw_name_to_str((const uint8_t *)"", buf), ".");
	assert_string_equal(
	    dw_name_to_str((const uint8_t *)"\x03WwW" EXAMPLE_COM, buf),
	    "WwW.example.com.");
	assert_string_equal(dw_name_to_str((const uint8_t *)"\x03"
							    "a.b\x01"
							    "c",
					   buf),
			    "a\\.b.c.");
	assert_string_equal(
	    dw_name_to_str((const uint8_t *)"\x04\x00 \x7f\xff", buf),
	    "\\000\\032\\127\\255.");
	assert_string_equal(
	    dw_name_to_str((const uint8_t *)"\x07\"();@$\\", buf),
	    "\\\"\\(\\)\\;\\@\\$\\\\.");
	assert_string_equal(
	    dw_name_to_str((const uint8_t *)"\x01*\x03_ok", buf), "*._ok.");
}

static void
test_str_round_trip(void **state)
{
	uint8_t name[DW_NAME_MAX], back[DW_NAME_MAX];
	char buf[DW_NAME_STR_MAX];
	size_t n;
	(void)state;

	/* all 256 byte values in labels, over two names */
	for (unsigned half = 0; half < 2; half++) {
		size_t p = 0;
		for (unsigned lab = 0; lab < 4; lab++) {
			name[p++] = 32;
			for (unsigned i = 0; i < 32; i++)
				name[p++] =
				    (uint8_t)(half * 128 + lab * 32 + i);
		}
		name[p++] = 0;
		dw_name_to_str(name, buf);
		assert_true(strlen(buf) < DW_NAME_STR_MAX);
		assert_int_equal(dw_name_from_str(buf, NULL, back, &n), 0);
		assert_int_equal(n, p);
		assert_memory_equal(back, name, p);
	}
	/* worst case output length: 255 bytes of \DDD fits the buffer */
	size_t p = 0;
	for (unsigned lab = 0; lab < 4; lab++) {
		unsigned ll = lab < 3 ? 63 : 61;
		name[p++] = (uint8_t)ll;
		memset(name + p, 0xff, ll);
		p += ll;
	}
	name[p++] = 0;
	assert_int_equal(p, 255);
	dw_name_to_str(name, buf);
	assert_int_equal(strlen(buf), 250 * 4 + 4);
	assert_int_equal(dw_name_from_str(buf, NULL, back, &n), 0);
	assert_memory_equal(back, name, 255);
}

/* ---- writing with compression ---- */

static void
put_name(struct dw_cur *c, const char *s, struct dw_ctab *t)
{
	uint8_t name[DW_NAME_MAX];
	size_t n;
	assert_int_equal(dw_name_from_str(s, NULL, name, &n), 0);
	dw_name_write(c, name, t);
	assert_int_equal(c->err, 0);
}

static void
test_write_compression(void **state)
{
	uint8_t msg[512];
	struct dw_cur c = dw_writer(msg, sizeof(msg));
	struct dw_ctab t;
	static const char *names[] = {
	    "www.example.com.",
	    "mail.example.com.",
	    "example.com.",
	    "EXAMPLE.COM.",
	    "other.org.",
	    "x.y.other.org.",
	    "z.y.other.org.",
	    "com.",
	    ".",
	    "ns.mail.example.com.",
	};
	size_t off[AD_ARRAY_SIZE(names)];
	(void)state;

	/* a header claiming one question per name (type A, class IN) */
	memset(msg, 0, 12);
	msg[5] = (uint8_t)AD_ARRAY_SIZE(names);
	c.pos = 12;
	dw_ctab_init(&t);
	for (size_t i = 0; i < AD_ARRAY_SIZE(names); i++) {
		off[i] = c.pos;
		put_name(&c, names[i], &t);
		dw_put_u16(&c, 1);
		dw_put_u16(&c, 1);
	}
	assert_int_equal(c.err, 0);

	/* exact encodings */
	assert_int_equal(off[0], 12);
	assert_memory_equal(msg + off[0], "\x03www" EXAMPLE_COM "\x00", 17);
	/* mail + pointer to "example" at 16 */
	assert_memory_equal(msg + off[1], "\x04mail\xC0\x10", 7);
	assert_memory_equal(msg + off[2], "\xC0\x10", 2);
	/* case-insensitive match */
	assert_memory_equal(msg + off[3], "\xC0\x10", 2);
	assert_memory_equal(msg + off[4], "\x05other\x03org\x00", 11);
	assert_memory_equal(msg + off[5], "\x01x\x01y\xC0", 5);
	assert_int_equal(msg[off[5] + 5], off[4]);
	/* z.y.other.org: "y.other.org" starts at off[5] + 2 */
	assert_memory_equal(msg + off[6], "\x01z\xC0", 3);
	assert_int_equal(msg[off[6] + 3], off[5] + 2);
	/* com: inside the first name, at 24 */
	assert_memory_equal(msg + off[7], "\xC0\x18", 2);
	/* the root is never a pointer */
	assert_memory_equal(msg + off[8], "\x00", 1);
	/* ns.mail.example.com: mail.example.com starts at off[1] */
	assert_memory_equal(msg + off[9], "\x02ns\xC0", 4);
	assert_int_equal(msg[off[9] + 4], off[1]);

	/* our own reader gets every name back */
	for (size_t i = 0; i < AD_ARRAY_SIZE(names); i++) {
		uint8_t got[DW_NAME_MAX], want[DW_NAME_MAX];
		size_t gl, wl;
		assert_int_equal(read_at(msg, c.pos, off[i], got, &gl, NULL),
				 0);
		assert_int_equal(dw_name_from_str(names[i], NULL, want, &wl),
				 0);
		assert_int_equal(gl, wl);
		assert_true(dw_name_equal(got, want));
	}

	/* and so does ldns, an independent decoder */
	ldns_pkt *pkt = NULL;
	assert_int_equal(ldns_wire2pkt(&pkt, msg, c.pos), LDNS_STATUS_OK);
	ldns_rr_list *qs = ldns_pkt_question(pkt);
	assert_int_equal(ldns_rr_list_rr_count(qs), AD_ARRAY_SIZE(names));
	for (size_t i = 0; i < AD_ARRAY_SIZE(names); i++) {
		char *s = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(qs, i)));
		/* the pointer keeps the case of the first spelling */
		const char *want = i == 3 ? "example.com." : names[i];
		assert_string_equal(s, want);
		free(s);
	}
	ldns_pkt_free(pkt);
}

static void
test_write_no_table(void **state)
{
	uint8_t msg[64];
	struct dw_cur c = dw_writer(msg, sizeof(msg));
	(void)state;
	put_name(&c, "www.example.com.", NULL);
	put_name(&c, "www.example.com.", NULL);
	assert_int_equal(c.pos, 34);
	assert_memory_equal(msg, msg + 17, 17);
}

static void
test_write_no_space(void **state)
{
	uint8_t msg[32], name[DW_NAME_MAX];
	size_t n;
	struct dw_ctab t;
	(void)state;
	assert_int_equal(dw_name_from_str("www.example.com.", NULL, name, &n),
			 0);
	for (size_t cap = 0; cap < 17; cap++) {
		struct dw_cur c = dw_writer(msg, cap);
		dw_ctab_init(&t);
		dw_name_write(&c, name, &t);
		assert_int_equal(c.err, AD_ESPACE);
		assert_true(c.pos <= cap);
		assert_int_equal(t.n, 0); /* a failed name is not remembered */
	}
	/* compressed: 2 bytes are enough for a full match */
	struct dw_cur c = dw_writer(msg, 19);
	dw_ctab_init(&t);
	dw_name_write(&c, name, &t);
	dw_name_write(&c, name, &t);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.pos, 19);
}

static void
test_ctab_limits(void **state)
{
	struct dw_ctab t;
	(void)state;
	dw_ctab_init(&t);
	dw_ctab_add(&t, 0x4000); /* not addressable by a pointer */
	assert_int_equal(t.n, 0);
	for (unsigned i = 0; i < DW_CTAB_MAX + 5; i++)
		dw_ctab_add(&t, 12 + i);
	assert_int_equal(t.n, DW_CTAB_MAX);
	dw_ctab_add(NULL, 12); /* no table: no-op */
}

/*
 * A remembered name that starts below 0x4000 can have labels beyond it;
 * a pointer can only reach 0x3FFF, so those labels must not be targets
 * (RFC 1035 §4.1.4: the offset is 14 bits).
 */
static void
test_write_pointer_range(void **state)
{
	static uint8_t msg[0x4100];
	struct dw_cur c = dw_writer(msg, sizeof(msg));
	struct dw_ctab t;
	uint8_t got[DW_NAME_MAX], want[DW_NAME_MAX];
	size_t gl, wl;
	(void)state;

	memset(msg, 0, sizeof(msg));
	dw_ctab_init(&t);
	c.pos = 0x3FF8;
	put_name(&c, "aaaaaaaaaa.example.com.", &t); /* example at 0x4003 */
	assert_int_equal(t.n, 1);
	size_t off = c.pos;
	put_name(&c, "www.example.com.", &t);
	assert_int_equal(read_at(msg, c.pos, off, got, &gl, NULL), 0);
	assert_int_equal(dw_name_from_str("www.example.com.", NULL, want, &wl),
			 0);
	assert_int_equal(gl, wl);
	assert_memory_equal(got, want, wl);

	/* the whole name is still a valid target */
	off = c.pos;
	put_name(&c, "x.aaaaaaaaaa.example.com.", &t);
	assert_memory_equal(msg + off, "\x01x\xFF\xF8", 4);
}

/*
 * A remembered name of 127 labels reached through two pointers takes 129
 * steps to walk; all of them are needed, or the suffix match lands one
 * label off and a later name decodes with a label too many.
 */
static void
test_write_long_chain(void **state)
{
	static uint8_t msg[1024];
	struct dw_cur c = dw_writer(msg, sizeof(msg));
	struct dw_ctab t;
	uint8_t got[DW_NAME_MAX];
	size_t gl, a = 12, cc, b;
	(void)state;

	memset(msg, 0, sizeof(msg));
	c.pos = a; /* A: 120 labels "a" */
	for (int i = 0; i < 120; i++)
		dw_put_bytes(&c,
			     "\x01"
			     "a",
			     2);
	dw_put_u8(&c, 0);
	cc = c.pos; /* C: 3 labels "b" -> A */
	for (int i = 0; i < 3; i++)
		dw_put_bytes(&c,
			     "\x01"
			     "b",
			     2);
	dw_put_u16(&c, (uint16_t)(0xC000 | a));
	b = c.pos; /* B: 4 labels "c" -> C: 127 labels, 255 bytes */
	for (int i = 0; i < 4; i++)
		dw_put_bytes(&c,
			     "\x01"
			     "c",
			     2);
	dw_put_u16(&c, (uint16_t)(0xC000 | cc));
	assert_int_equal(read_at(msg, c.pos, b, got, &gl, NULL), 0);
	assert_int_equal(gl, 255);

	dw_ctab_init(&t);
	dw_ctab_add(&t, b); /* only B is known */
	size_t off = c.pos;
	put_name(&c, "a.a.a.", &t);
	assert_int_equal(c.pos, off + 2); /* a pointer */
	assert_int_equal(read_at(msg, c.pos, off, got, &gl, NULL), 0);
	assert_int_equal(gl, 7);
	assert_memory_equal(got,
			    "\x01"
			    "a\x01"
			    "a\x01"
			    "a",
			    7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_plain),
	    cmocka_unit_test(test_read_compressed),
	    cmocka_unit_test(test_read_bad_pointers),
	    cmocka_unit_test(test_read_label_types),
	    cmocka_unit_test(test_read_length_limit),
	    cmocka_unit_test(test_read_truncated),
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_in_zone),
	    cmocka_unit_test(test_from_str),
	    cmocka_unit_test(test_from_str_limits),
	    cmocka_unit_test(test_to_str),
	    cmocka_unit_test(test_str_round_trip),
	    cmocka_unit_test(test_write_compression),
	    cmocka_unit_test(test_write_no_table),
	    cmocka_unit_test(test_write_no_space),
	    cmocka_unit_test(test_ctab_limits),
	    cmocka_unit_test(test_write_pointer_range),
	    cmocka_unit_test(test_write_long_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
