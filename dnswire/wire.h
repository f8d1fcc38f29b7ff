/* SPDX-License-Identifier: MIT */
/*
 * Bounds-checked cursor over a byte buffer with a sticky error (the shape of
 * Knot's wire_ctx). Every get/put checks the remaining space; the first
 * failure sets c->err and all later calls become no-ops returning zero, so a
 * parser is written straight through and checks c->err once at the end.
 *
 * Pure: libc only, no allocation, no logging.
 */
#ifndef DW_WIRE_H
#define DW_WIRE_H

#include "common/errors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct dw_cur {
	uint8_t *base; /* start of the DNS message (pointers are relative) */
	size_t len;    /* readable length, or writable capacity */
	size_t pos;    /* current offset from base */
	int err;       /* 0, or the first AD_E* error */
};

/* Reader over len bytes (the cursor never writes through base). */
static inline struct dw_cur
dw_reader(const uint8_t *buf, size_t len)
{
	struct dw_cur c = {(uint8_t *)buf, len, 0, 0};
	return c;
}

/* Writer over cap bytes. */
static inline struct dw_cur
dw_writer(uint8_t *buf, size_t cap)
{
	struct dw_cur c = {buf, cap, 0, 0};
	return c;
}

static inline size_t
dw_left(const struct dw_cur *c)
{
	return c->err ? 0 : c->len - c->pos;
}

static inline bool
dw_need(struct dw_cur *c, size_t n, int err)
{
	if (c->err)
		return false;
	if (c->len - c->pos < n) {
		c->err = err;
		return false;
	}
	return true;
}

static inline uint8_t
dw_get_u8(struct dw_cur *c)
{
	if (!dw_need(c, 1, AD_EMALF))
		return 0;
	return c->base[c->pos++];
}

static inline uint16_t
dw_get_u16(struct dw_cur *c)
{
	if (!dw_need(c, 2, AD_EMALF))
		return 0;
	uint16_t v = (uint16_t)(c->base[c->pos] << 8 | c->base[c->pos + 1]);
	c->pos += 2;
	return v;
}

static inline uint32_t
dw_get_u32(struct dw_cur *c)
{
	if (!dw_need(c, 4, AD_EMALF))
		return 0;
	const uint8_t *p = c->base + c->pos;
	c->pos += 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Returns a pointer to n bytes inside the buffer and skips them, or NULL. */
static inline const uint8_t *
dw_get_ptr(struct dw_cur *c, size_t n)
{
	if (!dw_need(c, n, AD_EMALF))
		return NULL;
	const uint8_t *p = c->base + c->pos;
	c->pos += n;
	return p;
}

static inline void
dw_skip(struct dw_cur *c, size_t n)
{
	(void)dw_get_ptr(c, n);
}

static inline void
dw_put_u8(struct dw_cur *c, uint8_t v)
{
	if (dw_need(c, 1, AD_ESPACE))
		c->base[c->pos++] = v;
}

static inline void
dw_put_u16(struct dw_cur *c, uint16_t v)
{
	if (!dw_need(c, 2, AD_ESPACE))
		return;
	c->base[c->pos] = (uint8_t)(v >> 8);
	c->base[c->pos + 1] = (uint8_t)v;
	c->pos += 2;
}

static inline void
dw_put_u32(struct dw_cur *c, uint32_t v)
{
	if (!dw_need(c, 4, AD_ESPACE))
		return;
	uint8_t *p = c->base + c->pos;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	c->pos += 4;
}

static inline void
dw_put_bytes(struct dw_cur *c, const void *p, size_t n)
{
	if (n && dw_need(c, n, AD_ESPACE)) {
		memcpy(c->base + c->pos, p, n);
		c->pos += n;
	}
}

/* Overwrite a u16 at an absolute offset already written (e.g. RDLENGTH). */
static inline void
dw_patch_u16(struct dw_cur *c, size_t off, uint16_t v)
{
	if (!c->err && off + 2 <= c->pos) {
		c->base[off] = (uint8_t)(v >> 8);
		c->base[off + 1] = (uint8_t)v;
	}
}

static inline uint16_t
dw_read_u16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

#endif
