/* SPDX-License-Identifier: MIT */
/* RR writing with RDATA name compression, RDATA encoders and type names. */
#include "dnswire/rr.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* Length of the uncompressed name at p within [p, p+max), or 0 if the
 * name is invalid or runs past max. */
static size_t
name_span(const uint8_t *p, size_t max)
{
	size_t n = 0;
	for (;;) {
		if (n >= max)
			return 0;
		uint8_t l = p[n];
		if (l & 0xC0)
			return 0;
		n += (size_t)l + 1;
		if (n > DW_NAME_MAX || n > max)
			return 0;
		if (l == 0)
			return n;
	}
}

int
dw_rdata_check(uint16_t type, const uint8_t *rd, size_t len)
{
	size_t a, b;
	switch (type) {
	case DW_T_NS:
	case DW_T_CNAME:
	case DW_T_PTR:
	case DW_T_DNAME:
		a = name_span(rd, len);
		return (a && a == len) ? 0 : AD_EMALF;
	case DW_T_MX:
		if (len < 3)
			return AD_EMALF;
		a = name_span(rd + 2, len - 2);
		return (a && a + 2 == len) ? 0 : AD_EMALF;
	case DW_T_SRV:
		if (len < 7)
			return AD_EMALF;
		a = name_span(rd + 6, len - 6);
		return (a && a + 6 == len) ? 0 : AD_EMALF;
	case DW_T_SOA:
		a = name_span(rd, len);
		if (!a)
			return AD_EMALF;
		b = name_span(rd + a, len - a);
		return (b && a + b + 20 == len) ? 0 : AD_EMALF;
	case DW_T_A:
		return len == 4 ? 0 : AD_EMALF;
	case DW_T_AAAA:
		return len == 16 ? 0 : AD_EMALF;
	case DW_T_TXT: {
		size_t i = 0;
		if (len == 0)
			return AD_EMALF;
		while (i < len)
			i += (size_t)rd[i] + 1;
		return i == len ? 0 : AD_EMALF;
	}
	default:
		return 0;
	}
}

void
dw_rr_write(struct dw_cur *c, const uint8_t *owner, uint16_t owner_ptr,
	    uint16_t type, uint16_t cls, uint32_t ttl, const uint8_t *rd,
	    uint16_t rdlen, struct dw_ctab *t)
{
	if (owner_ptr)
		dw_put_u16(c, (uint16_t)(0xC000u | owner_ptr));
	else
		dw_name_write(c, owner, t);
	dw_put_u16(c, type);
	dw_put_u16(c, cls);
	dw_put_u32(c, ttl);
	size_t lenpos = c->pos;
	dw_put_u16(c, 0);
	size_t start = c->pos;
	size_t n;

	switch (type) {
	case DW_T_NS:
	case DW_T_CNAME:
	case DW_T_PTR:
		dw_name_write(c, rd, t);
		break;
	case DW_T_MX:
		dw_put_bytes(c, rd, 2);
		dw_name_write(c, rd + 2, t);
		break;
	case DW_T_SOA:
		n = dw_name_len(rd);
		dw_name_write(c, rd, t);
		dw_name_write(c, rd + n, t);
		n += dw_name_len(rd + n);
		dw_put_bytes(c, rd + n, 20);
		break;
	default:
		dw_put_bytes(c, rd, rdlen);
		break;
	}
	dw_patch_u16(c, lenpos, (uint16_t)(c->pos - start));
}

void
dw_rdata_soa(struct dw_cur *c, const uint8_t *mname, const uint8_t *rname,
	     uint32_t serial, uint32_t refresh, uint32_t retry, uint32_t expire,
	     uint32_t minimum)
{
	dw_put_bytes(c, mname, dw_name_len(mname));
	dw_put_bytes(c, rname, dw_name_len(rname));
	dw_put_u32(c, serial);
	dw_put_u32(c, refresh);
	dw_put_u32(c, retry);
	dw_put_u32(c, expire);
	dw_put_u32(c, minimum);
}

void
dw_rdata_name(struct dw_cur *c, const uint8_t *name)
{
	dw_put_bytes(c, name, dw_name_len(name));
}

void
dw_rdata_mx(struct dw_cur *c, uint16_t pref, const uint8_t *exchange)
{
	dw_put_u16(c, pref);
	dw_rdata_name(c, exchange);
}

void
dw_rdata_a(struct dw_cur *c, const uint8_t addr[4])
{
	dw_put_bytes(c, addr, 4);
}

void
dw_rdata_aaaa(struct dw_cur *c, const uint8_t addr[16])
{
	dw_put_bytes(c, addr, 16);
}

void
dw_rdata_txt(struct dw_cur *c, const void *val, size_t len)
{
	const uint8_t *p = val;
	do {
		size_t n = len > 255 ? 255 : len;
		dw_put_u8(c, (uint8_t)n);
		dw_put_bytes(c, p, n);
		p += n;
		len -= n;
	} while (len > 0);
}

void
dw_rdata_caa(struct dw_cur *c, uint8_t flags, const char *tag,
	     const void *value, size_t vlen)
{
	size_t tl = strlen(tag);
	bool ok = tl >= 1 && tl <= 15;
	/* RFC 8659 §4.1.1: the tag is US-ASCII letters and digits only */
	for (size_t i = 0; ok && i < tl; i++)
		ok = (tag[i] >= 'a' && tag[i] <= 'z') ||
		     (tag[i] >= 'A' && tag[i] <= 'Z') ||
		     (tag[i] >= '0' && tag[i] <= '9');
	if (!ok) {
		if (!c->err)
			c->err = AD_EINVAL;
		return;
	}
	dw_put_u8(c, flags);
	dw_put_u8(c, (uint8_t)tl);
	dw_put_bytes(c, tag, tl);
	dw_put_bytes(c, value, vlen);
}

void
dw_rdata_tlsa(struct dw_cur *c, uint8_t usage, uint8_t selector,
	      uint8_t mtype, const void *data, size_t dlen)
{
	dw_put_u8(c, usage);
	dw_put_u8(c, selector);
	dw_put_u8(c, mtype);
	dw_put_bytes(c, data, dlen);
}

static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
	{DW_T_A, "A"},	       {DW_T_NS, "NS"},	      {DW_T_CNAME, "CNAME"},
	{DW_T_SOA, "SOA"},     {DW_T_PTR, "PTR"},     {DW_T_HINFO, "HINFO"},
	{DW_T_MX, "MX"},       {DW_T_TXT, "TXT"},     {DW_T_AAAA, "AAAA"},
	{DW_T_SRV, "SRV"},     {DW_T_DNAME, "DNAME"}, {DW_T_OPT, "OPT"},
	{DW_T_DS, "DS"},       {DW_T_RRSIG, "RRSIG"}, {DW_T_NSEC, "NSEC"},
	{DW_T_DNSKEY, "DNSKEY"}, {DW_T_NSEC3, "NSEC3"}, {DW_T_TLSA, "TLSA"},
	{DW_T_TKEY, "TKEY"},   {DW_T_TSIG, "TSIG"},   {DW_T_IXFR, "IXFR"},
	{DW_T_AXFR, "AXFR"},   {DW_T_MAILB, "MAILB"}, {DW_T_MAILA, "MAILA"},
	{DW_T_ANY, "ANY"},     {DW_T_CAA, "CAA"},
};

const char *
dw_type_str(uint16_t type, char *buf)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	snprintf(buf, 16, "TYPE%u", type);
	return buf;
}

int
dw_type_parse(const char *s, uint16_t *out)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcasecmp(type_names[i].name, s) == 0) {
			*out = type_names[i].type;
			return 0;
		}
	if (strncasecmp(s, "TYPE", 4) == 0 && s[4] >= '0' && s[4] <= '9') {
		char *end;
		unsigned long v = strtoul(s + 4, &end, 10);
		if (*end == '\0' && v <= 65535) {
			*out = (uint16_t)v;
			return 0;
		}
	}
	return AD_EINVAL;
}
