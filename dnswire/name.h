/* SPDX-License-Identifier: MIT */
/*
 * Domain names in wire format: reading (with decompression and the RFC 1035
 * limits), writing (with compression), comparison, and conversion to and
 * from presentation format ("www.example.com.", RFC 1035 §5.1 escapes).
 *
 * A "name" here is always an uncompressed wire-format name: a sequence of
 * length-prefixed labels ending with the zero-length root label, at most
 * DW_NAME_MAX bytes. Pure: no allocation.
 */
#ifndef DW_NAME_H
#define DW_NAME_H

#include "dnswire/wire.h"

#define DW_NAME_MAX 255
#define DW_LABEL_MAX 63
#define DW_NAME_STR_MAX 1024 /* worst case: every byte escaped as \DDD */

/*
 * Read a possibly compressed name at the cursor into out (uncompressed,
 * case preserved) and advance past it. Pointers must point strictly
 * backwards and each one further back than the last, which rejects forward
 * and looping pointers. Rejects label types 0x40/0x80, names > 255 bytes.
 * out must hold DW_NAME_MAX bytes; *out_len gets the name's length.
 * On error sets c->err = AD_EMALF and returns it.
 */
int dw_name_read(struct dw_cur *c, uint8_t *out, size_t *out_len);

/* Length of a valid uncompressed name (walks labels; no checks). */
size_t dw_name_len(const uint8_t *name);

/* Number of labels, not counting the root. */
unsigned dw_name_labels(const uint8_t *name);

/* ASCII-lowercase a name in place. */
void dw_name_lower(uint8_t *name);

/* Case-insensitive equality of two uncompressed names. */
bool dw_name_equal(const uint8_t *a, const uint8_t *b);

/*
 * If name is at or below zone (label-aligned, case-insensitive), returns the
 * byte offset in name where the zone suffix starts; otherwise -1.
 */
int dw_name_in_zone(const uint8_t *name, size_t name_len, const uint8_t *zone,
		    size_t zone_len);

/*
 * Parse presentation format into wire format. A name without a trailing
 * dot is relative to origin (which may be NULL: then it is taken as
 * absolute); "@" is the origin. Returns 0 or AD_EMALF / AD_ERANGE.
 */
int dw_name_from_str(const char *s, const uint8_t *origin, uint8_t *out,
		     size_t *out_len);

/* Presentation format of a name, with a trailing dot. out must hold
 * DW_NAME_STR_MAX bytes. Returns out. */
char *dw_name_to_str(const uint8_t *name, char *out);

/*
 * Compression table for a message under construction (RFC 1035 §4.1.4).
 * Holds offsets of names already written; dw_name_write() points to the
 * longest suffix it finds. The table is small and fixed: names beyond its
 * capacity are still written, just not remembered.
 */
#define DW_CTAB_MAX 24
struct dw_ctab {
	uint16_t off[DW_CTAB_MAX];
	unsigned n;
};

static inline void
dw_ctab_init(struct dw_ctab *t)
{
	t->n = 0;
}

/* Remember that a name (uncompressed or ending in a pointer) starts at off. */
void dw_ctab_add(struct dw_ctab *t, size_t off);

/*
 * Write name at the cursor, compressed against names in t (if t is not
 * NULL), and add its uncompressed label positions to t. Case is kept as
 * given. Sets c->err = AD_ESPACE if it does not fit.
 */
void dw_name_write(struct dw_cur *c, const uint8_t *name,
		   struct dw_ctab *t);

#endif
