/* SPDX-License-Identifier: MIT */
/*
 * Resource records: writing an RR into a message (owner compressed, RDATA
 * names compressed for the RFC 1035 types that allow it, RFC 3597 §4), and
 * encoders that build uncompressed RDATA for the types acmedns serves:
 * SOA NS A AAAA CNAME MX TXT CAA TLSA.
 *
 * RDATA in acmedns tables is always uncompressed wire format.
 */
#ifndef DW_RR_H
#define DW_RR_H

#include "dnswire/msg.h"

/*
 * Write owner, type, class, TTL and RDATA. If owner_ptr is nonzero, the
 * owner is written as a pointer to that offset (e.g. 12, the question) and
 * owner is ignored. RDATA names of NS/CNAME/PTR/MX/SOA are compressed
 * against t. Errors are sticky in c.
 */
void dw_rr_write(struct dw_cur *c, const uint8_t *owner, uint16_t owner_ptr,
		 uint16_t type, uint16_t cls, uint32_t ttl,
		 const uint8_t *rdata, uint16_t rdlen, struct dw_ctab *t);

/*
 * Check that rdata of the given type is well formed as far as the names it
 * carries go (NS/CNAME/PTR/MX/SOA/SRV: exact length, valid names).
 * Other types are accepted as opaque. Returns 0 or AD_EMALF.
 */
int dw_rdata_check(uint16_t type, const uint8_t *rdata, size_t rdlen);

/* Encoders: each appends RDATA at the cursor (sticky errors). */
void dw_rdata_soa(struct dw_cur *c, const uint8_t *mname, const uint8_t *rname,
		  uint32_t serial, uint32_t refresh, uint32_t retry,
		  uint32_t expire, uint32_t minimum);
void dw_rdata_name(struct dw_cur *c, const uint8_t *name); /* NS/CNAME/PTR */
void dw_rdata_mx(struct dw_cur *c, uint16_t pref, const uint8_t *exchange);
void dw_rdata_a(struct dw_cur *c, const uint8_t addr[4]);
void dw_rdata_aaaa(struct dw_cur *c, const uint8_t addr[16]);
/* TXT: the value is split into character-strings of at most 255 bytes;
 * an empty value gives one empty string. */
void dw_rdata_txt(struct dw_cur *c, const void *val, size_t len);
/* CAA (RFC 8659): tag 1..15 alphanumeric characters. */
void dw_rdata_caa(struct dw_cur *c, uint8_t flags, const char *tag,
		  const void *value, size_t vlen);
/* TLSA (RFC 6698). */
void dw_rdata_tlsa(struct dw_cur *c, uint8_t usage, uint8_t selector,
		   uint8_t mtype, const void *data, size_t dlen);

/* Mnemonic of a type ("TXT", "TYPE65280"); buf holds at least 16 bytes. */
const char *dw_type_str(uint16_t type, char *buf);
/* Parse a mnemonic or TYPEnnn; 0 or AD_EINVAL. */
int dw_type_parse(const char *s, uint16_t *out);

#endif
