/* SPDX-License-Identifier: MIT */
/*
 * Wire-format names: bounded decompression, compression against a small
 * table, and presentation-format conversion.
 */
#include "dnswire/name.h"

#include <ctype.h>
#include <stdio.h>

static inline uint8_t
lc(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
}

int
dw_name_read(struct dw_cur *c, uint8_t *out, size_t *out_len)
{
	const uint8_t *b = c->base;
	size_t pos = c->pos, n = 0, end = 0, limit = c->pos;
	bool jumped = false;

	if (c->err)
		return c->err;
	for (;;) {
		if (pos >= c->len)
			goto bad;
		uint8_t l = b[pos];
		if ((l & 0xC0) == 0xC0) {
			if (pos + 1 >= c->len)
				goto bad;
			size_t ptr = (size_t)(l & 0x3F) << 8 | b[pos + 1];
			if (!jumped) {
				end = pos + 2;
				jumped = true;
			}
			/* strictly backwards, and further back each time:
			 * rules out forward references and loops */
			if (ptr >= limit)
				goto bad;
			limit = ptr;
			pos = ptr;
			continue;
		}
		if (l & 0xC0) /* 0x40 extended / 0x80 reserved label types */
			goto bad;
		if (n + l + 1 > DW_NAME_MAX || pos + 1 + l > c->len)
			goto bad;
		memcpy(out + n, b + pos, (size_t)l + 1);
		n += (size_t)l + 1;
		pos += (size_t)l + 1;
		if (l == 0)
			break;
	}
	c->pos = jumped ? end : pos;
	*out_len = n;
	return 0;
bad:
	c->err = AD_EMALF;
	return AD_EMALF;
}

size_t
dw_name_len(const uint8_t *name)
{
	const uint8_t *p = name;
	while (*p)
		p += *p + 1;
	return (size_t)(p - name) + 1;
}

unsigned
dw_name_labels(const uint8_t *name)
{
	unsigned n = 0;
	while (*name) {
		name += *name + 1;
		n++;
	}
	return n;
}

void
dw_name_lower(uint8_t *name)
{
	while (*name) {
		uint8_t l = *name++;
		for (uint8_t i = 0; i < l; i++)
			name[i] = lc(name[i]);
		name += l;
	}
}

bool
dw_name_equal(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		uint8_t l = *a;
		if (l == 0)
			return true;
		for (uint8_t i = 1; i <= l; i++)
			if (lc(a[i]) != lc(b[i]))
				return false;
		a += l + 1;
		b += l + 1;
	}
}

int
dw_name_in_zone(const uint8_t *name, size_t name_len, const uint8_t *zone,
		size_t zone_len)
{
	if (zone_len > name_len)
		return -1;
	/* walk labels of name until the remaining length equals zone_len;
	 * only label boundaries count */
	size_t off = 0;
	while (name_len - off > zone_len)
		off += (size_t)name[off] + 1;
	if (name_len - off != zone_len)
		return -1;
	return dw_name_equal(name + off, zone) ? (int)off : -1;
}

int
dw_name_from_str(const char *s, const uint8_t *origin, uint8_t *out,
		 size_t *out_len)
{
	size_t n = 0, lpos = 0;
	bool absolute = false;

	if (s[0] == '\0')
		return AD_EMALF;
	if (strcmp(s, "@") == 0) {
		if (!origin)
			return AD_EMALF;
		*out_len = dw_name_len(origin);
		memcpy(out, origin, *out_len);
		return 0;
	}
	if (strcmp(s, ".") == 0) {
		out[0] = 0;
		*out_len = 1;
		return 0;
	}
	out[0] = 0;
	n = 1;
	lpos = 0;
	for (const char *p = s; *p; p++) {
		unsigned ch = (unsigned char)*p;
		if (ch == '.') {
			if (out[lpos] == 0) /* empty label */
				return AD_EMALF;
			if (p[1] == '\0') {
				absolute = true;
				break;
			}
			lpos = n;
			if (n >= DW_NAME_MAX)
				return AD_ERANGE;
			out[n++] = 0;
			continue;
		}
		if (ch == '\\') {
			p++;
			if (isdigit((unsigned char)p[0])) {
				if (!isdigit((unsigned char)p[1]) ||
				    !isdigit((unsigned char)p[2]))
					return AD_EMALF;
				ch = (unsigned)(p[0] - '0') * 100 +
				     (unsigned)(p[1] - '0') * 10 +
				     (unsigned)(p[2] - '0');
				if (ch > 255)
					return AD_EMALF;
				p += 2;
			} else if (*p == '\0') {
				return AD_EMALF;
			} else {
				ch = (unsigned char)*p;
			}
		}
		if (out[lpos] >= DW_LABEL_MAX)
			return AD_ERANGE;
		if (n >= DW_NAME_MAX)
			return AD_ERANGE;
		out[lpos]++;
		out[n++] = (uint8_t)ch;
	}
	if (out[lpos] == 0)
		return AD_EMALF;
	if (absolute || !origin) {
		if (n + 1 > DW_NAME_MAX)
			return AD_ERANGE;
		out[n++] = 0;
	} else {
		size_t ol = dw_name_len(origin);
		if (n + ol > DW_NAME_MAX)
			return AD_ERANGE;
		memcpy(out + n, origin, ol);
		n += ol;
	}
	*out_len = n;
	return 0;
}

char *
dw_name_to_str(const uint8_t *name, char *out)
{
	char *o = out;
	if (*name == 0) {
		strcpy(out, ".");
		return out;
	}
	while (*name) {
		uint8_t l = *name++;
		for (uint8_t i = 0; i < l; i++) {
			uint8_t ch = name[i];
			if (ch <= 0x20 || ch >= 0x7f) {
				o += sprintf(o, "\\%03u", ch);
			} else if (strchr(".\\\"();@$", ch)) {
				*o++ = '\\';
				*o++ = (char)ch;
			} else {
				*o++ = (char)ch;
			}
		}
		name += l;
		*o++ = '.';
	}
	*o = '\0';
	return out;
}

void
dw_ctab_add(struct dw_ctab *t, size_t off)
{
	if (t && t->n < DW_CTAB_MAX && off < 0x4000)
		t->off[t->n++] = (uint16_t)off;
}

/* Label start offsets of the (possibly compressed) name at msg[off], which
 * we wrote ourselves and so is well formed. Returns the label count. The
 * guard bounds labels (at most 127 in 255 bytes) and pointer hops apart,
 * so a long name reached through several pointers is still walked to its
 * end; a short count would make the suffix match below point at the wrong
 * labels. */
static unsigned
label_offsets(const uint8_t *msg, size_t off, uint16_t *pos)
{
	unsigned m = 0;
	for (unsigned hops = 0; hops < 128 && m < 128;) {
		uint8_t l = msg[off];
		if ((l & 0xC0) == 0xC0) {
			off = (size_t)(l & 0x3F) << 8 | msg[off + 1];
			hops++;
			continue;
		}
		if (l == 0)
			break;
		pos[m++] = (uint16_t)off;
		off += (size_t)l + 1;
	}
	return m;
}

static bool
label_eq(const uint8_t *a, const uint8_t *b)
{
	if (*a != *b)
		return false;
	for (uint8_t i = 1; i <= *a; i++)
		if (lc(a[i]) != lc(b[i]))
			return false;
	return true;
}

void
dw_name_write(struct dw_cur *c, const uint8_t *name, struct dw_ctab *t)
{
	const uint8_t *lab[DW_NAME_MAX / 2 + 1];
	unsigned k = 0, best = 0;
	size_t target = 0;

	for (const uint8_t *p = name; *p; p += *p + 1)
		lab[k++] = p;

	if (t) {
		uint16_t pos[128];
		for (unsigned e = 0; e < t->n; e++) {
			unsigned m = label_offsets(c->base, t->off[e], pos);
			unsigned j = 0;
			while (j < m && j < k &&
			       label_eq(c->base + pos[m - 1 - j],
					lab[k - 1 - j]))
				j++;
			/* a pointer holds 14 bits: a remembered name that
			 * starts below 0x4000 may have later labels above */
			while (j > 0 && pos[m - j] >= 0x4000)
				j--;
			if (j > best) {
				best = j;
				target = pos[m - j];
			}
		}
	}
	size_t start = c->pos;
	unsigned lit = k - best; /* labels written literally */
	for (unsigned i = 0; i < lit; i++)
		dw_put_bytes(c, lab[i], (size_t)*lab[i] + 1);
	if (best)
		dw_put_u16(c, (uint16_t)(0xC000 | target));
	else
		dw_put_u8(c, 0);
	if (!c->err && lit && t)
		dw_ctab_add(t, start);
}
