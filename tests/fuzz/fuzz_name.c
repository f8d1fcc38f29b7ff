/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for wire-format names (dnswire/name.c). The input is
 * used three ways:
 *
 *  1. as a DNS message: dw_name_read() at several start offsets (0..3, the
 *     question at 12, the middle, the end) and then back to back from the
 *     start, as a parser walking records would, skipping a byte after each
 *     failure so one bad byte does not hide the rest;
 *  2. every name read is checked (length, label limits, no pointer bits),
 *     printed with dw_name_to_str() and parsed back with dw_name_from_str(),
 *     absolute and relative to the root, which must give the same bytes;
 *     lowercasing must keep it dw_name_equal(); dw_name_in_zone() must find
 *     it in itself and in the root; consecutive names are compared with
 *     dw_name_equal() and dw_name_in_zone() against a byte-wise oracle;
 *  3. all names read are written into one message with dw_name_write() and
 *     a compression table, and must read back (with the reader's strict
 *     backwards-only pointer rule) as the same names, case-insensitively
 *     since compression may point at a differently cased suffix; the
 *     message starts at offset 12, or (first input byte odd) just below
 *     0x4000, where names straddle the reach of a 14-bit pointer;
 *  4. as presentation text: dw_name_from_str() of the input (up to its
 *     first NUL) relative to a fixed origin and with none; a name it
 *     accepts goes through the checks of 2.
 *
 * Any broken invariant aborts.
 */
#include "dnswire/msg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			check_failed(#cond, __LINE__);                         \
	} while (0)

#define MAX_NAMES 64
/* a second start for the compressed message, just below the 14-bit limit
 * of compression pointers (RFC 1035 §4.1.4) */
#define HIGH_START 0x3F00
#define TEXT_MAX 2048

static void
check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_name.c:%d: invariant broken: %s\n", line, what);
	abort();
}

static void
check_name(const uint8_t *name, size_t len)
{
	static const uint8_t root[1] = {0};
	uint8_t back[DW_NAME_MAX], low[DW_NAME_MAX];
	char str[DW_NAME_STR_MAX];
	size_t blen, labels = 0;

	CHECK(len >= 1 && len <= DW_NAME_MAX);
	CHECK(dw_name_len(name) == len);
	for (size_t off = 0; name[off]; off += (size_t)name[off] + 1) {
		CHECK(name[off] <= DW_LABEL_MAX);
		labels++;
	}
	CHECK(dw_name_labels(name) == labels);

	/* presentation format and back: the exact bytes */
	dw_name_to_str(name, str);
	size_t slen = strlen(str);
	CHECK(slen >= 1 && slen < DW_NAME_STR_MAX && str[slen - 1] == '.');
	CHECK(dw_name_from_str(str, NULL, back, &blen) == 0);
	CHECK(blen == len && memcmp(back, name, len) == 0);
	if (len > 1) {
		/* without the final dot, relative to the root */
		str[slen - 1] = '\0';
		CHECK(dw_name_from_str(str, root, back, &blen) == 0);
		CHECK(blen == len && memcmp(back, name, len) == 0);
	}

	memcpy(low, name, len);
	dw_name_lower(low);
	CHECK(dw_name_equal(low, name) && dw_name_equal(name, low));
	CHECK(dw_name_in_zone(name, len, low, len) == 0);
	CHECK(dw_name_in_zone(name, len, root, 1) == (int)len - 1);
}

/* Two names: dw_name_equal() against lowercased bytes, dw_name_in_zone()
 * against a walk over every label boundary of a. */
static void
check_pair(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	uint8_t la[DW_NAME_MAX], lb[DW_NAME_MAX];
	bool eq;

	memcpy(la, a, alen);
	memcpy(lb, b, blen);
	dw_name_lower(la);
	dw_name_lower(lb);
	eq = alen == blen && memcmp(la, lb, alen) == 0;
	CHECK(dw_name_equal(a, b) == eq && dw_name_equal(b, a) == eq);

	int want = -1;
	for (size_t off = 0; off < alen; off += (size_t)a[off] + 1)
		if (alen - off == blen && memcmp(la + off, lb, blen) == 0) {
			want = (int)off;
			break;
		}
	CHECK(dw_name_in_zone(a, alen, b, blen) == want);
}

/* Read one name at off; on success check it and return its length. */
static size_t
read_at(const uint8_t *data, size_t size, size_t off, uint8_t *out,
	size_t *next)
{
	struct dw_cur c = dw_reader(data, size);
	size_t len = 0;

	c.pos = off;
	if (dw_name_read(&c, out, &len) != 0) {
		CHECK(c.err == AD_EMALF);
		return 0;
	}
	CHECK(c.err == 0 && c.pos > off && c.pos <= size);
	check_name(out, len);
	if (next)
		*next = c.pos;
	return len;
}

/* Write all names compressed into one message, read them back. */
static void
compress_roundtrip(uint8_t (*names)[DW_NAME_MAX], const size_t *lens, size_t n,
		   size_t first)
{
	static uint8_t msg[HIGH_START + MAX_NAMES * DW_NAME_MAX];
	uint16_t start[MAX_NAMES];
	struct dw_ctab t;
	struct dw_cur w = dw_writer(msg, sizeof(msg));

	dw_ctab_init(&t);
	w.pos = first;
	for (size_t i = 0; i < n; i++) {
		start[i] = (uint16_t)w.pos;
		dw_name_write(&w, names[i], &t);
		CHECK(w.err == 0);
		CHECK(w.pos - start[i] <= lens[i]);
	}
	for (size_t i = 0; i < n; i++) {
		struct dw_cur r = dw_reader(msg, w.pos);
		uint8_t back[DW_NAME_MAX];
		size_t blen;

		r.pos = start[i];
		CHECK(dw_name_read(&r, back, &blen) == 0);
		CHECK(blen == lens[i] && dw_name_equal(back, names[i]));
		CHECK(r.pos == (i + 1 < n ? start[i + 1] : w.pos));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t names[MAX_NAMES][DW_NAME_MAX];
	static size_t lens[MAX_NAMES];
	uint8_t name[DW_NAME_MAX];
	size_t n = 0, pos = 0;

	/* 1. fixed offsets */
	const size_t offs[] = {
	    0, 1, 2, 3, DW_HDR_LEN, size / 2, size > 0 ? size - 1 : 0};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		if (offs[i] < size)
			(void)read_at(data, size, offs[i], name, NULL);

	/* 2. back to back from the start, resynchronising on errors */
	while (pos < size && n < MAX_NAMES) {
		size_t next = pos + 1;
		size_t len = read_at(data, size, pos, names[n], &next);
		if (len)
			lens[n++] = len;
		pos = next;
	}

	for (size_t i = 1; i < n; i++)
		check_pair(names[i], lens[i], names[i - 1], lens[i - 1]);

	/* 3. compression round trip */
	compress_roundtrip(names, lens, n,
			   size && (data[0] & 1) ? HIGH_START : DW_HDR_LEN);

	/* 4. presentation text relative to an origin */
	static const uint8_t origin[] = "\2fz\7example";
	char text[TEXT_MAX + 1];
	size_t tl = size < TEXT_MAX ? size : TEXT_MAX;
	memcpy(text, data, tl);
	text[tl] = '\0';
	for (int absolute = 0; absolute < 2; absolute++) {
		size_t len = 0;
		int r = dw_name_from_str(text, absolute ? NULL : origin, name,
					 &len);
		CHECK(r == 0 || r == AD_EMALF || r == AD_ERANGE);
		if (r == 0)
			check_name(name, len);
	}
	return 0;
}
