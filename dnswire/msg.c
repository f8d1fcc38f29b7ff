/* SPDX-License-Identifier: MIT */
/* Query parsing: header, question, additional section and EDNS (RFC 6891). */
#include "dnswire/msg.h"

int
dw_hdr_read(const uint8_t *msg, size_t len, struct dw_hdr *h)
{
	struct dw_cur c = dw_reader(msg, len);
	h->id = dw_get_u16(&c);
	h->flags = dw_get_u16(&c);
	h->qdcount = dw_get_u16(&c);
	h->ancount = dw_get_u16(&c);
	h->nscount = dw_get_u16(&c);
	h->arcount = dw_get_u16(&c);
	return c.err;
}

void
dw_hdr_write(struct dw_cur *c, const struct dw_hdr *h)
{
	dw_put_u16(c, h->id);
	dw_put_u16(c, h->flags);
	dw_put_u16(c, h->qdcount);
	dw_put_u16(c, h->ancount);
	dw_put_u16(c, h->nscount);
	dw_put_u16(c, h->arcount);
}

/* RFC 7873 §4: client cookie 8 bytes, server cookie 8 to 32 bytes. */
static int
parse_cookie(struct dw_edns *e, const uint8_t *p, uint16_t len)
{
	if (e->has_cookie)
		return AD_EMALF;
	if (len != 8 && (len < 16 || len > 40))
		return AD_EMALF;
	e->has_cookie = true;
	memcpy(e->client_cookie, p, 8);
	e->server_cookie_len = (uint8_t)(len - 8);
	if (len > 8)
		memcpy(e->server_cookie, p + 8, (size_t)len - 8);
	return 0;
}

static int
parse_opt(struct dw_cur *c, struct dw_edns *e, uint16_t cls, uint32_t ttl,
	  uint16_t rdlen)
{
	e->present = true;
	e->udp_size = cls;
	e->ext_rcode = (uint8_t)(ttl >> 24);
	e->version = (uint8_t)(ttl >> 16);
	e->flags = (uint16_t)ttl;
	e->do_bit = (ttl & 0x8000u) != 0;
	struct dw_cur o = dw_reader(dw_get_ptr(c, rdlen), rdlen);
	if (c->err)
		return AD_EMALF;
	while (dw_left(&o) > 0) {
		uint16_t code = dw_get_u16(&o);
		uint16_t olen = dw_get_u16(&o);
		const uint8_t *val = dw_get_ptr(&o, olen);
		if (o.err)
			return AD_EMALF;
		e->nopts++;
		if (code == DW_OPT_COOKIE && parse_cookie(e, val, olen) != 0)
			return AD_EMALF;
		/* RFC 6891 §6.1.2: unknown options are ignored */
	}
	return o.err;
}

enum dw_parse_status
dw_query_parse(const uint8_t *msg, size_t len, struct dw_query *q)
{
	struct dw_cur c = dw_reader(msg, len);
	uint8_t owner[DW_NAME_MAX];
	size_t olen;

	memset(&q->edns, 0, sizeof(q->edns));
	q->qname_len = 0;
	q->question_len = 0;
	q->qtype = q->qclass = 0;
	if (dw_hdr_read(msg, len, &q->hdr) != 0)
		return DW_PARSE_DROP;
	if (q->hdr.flags & DW_QR)
		return DW_PARSE_DROP;
	if (q->hdr.qdcount != 1)
		return DW_PARSE_FORMERR;
	c.pos = DW_HDR_LEN;
	/* The question must not use compression: nothing precedes it that a
	 * pointer could legally reference (dw_name_read enforces backwards
	 * pointers; the header is not a name). */
	if (dw_name_read(&c, q->qname, &q->qname_len) != 0)
		return DW_PARSE_FORMERR;
	if (c.pos != DW_HDR_LEN + q->qname_len)
		return DW_PARSE_FORMERR; /* compressed question */
	q->qtype = dw_get_u16(&c);
	q->qclass = dw_get_u16(&c);
	if (c.err)
		return DW_PARSE_FORMERR;
	q->question_len = c.pos - DW_HDR_LEN;
	if (q->hdr.ancount != 0 || q->hdr.nscount != 0)
		return DW_PARSE_FORMERR_Q;

	for (unsigned i = 0; i < q->hdr.arcount; i++) {
		if (dw_name_read(&c, owner, &olen) != 0)
			return DW_PARSE_FORMERR_Q;
		uint16_t type = dw_get_u16(&c);
		uint16_t cls = dw_get_u16(&c);
		uint32_t ttl = dw_get_u32(&c);
		uint16_t rdlen = dw_get_u16(&c);
		if (c.err)
			return DW_PARSE_FORMERR_Q;
		if (type == DW_T_OPT) {
			/* RFC 6891 §6.1.1: one OPT, owner is the root */
			if (q->edns.present || olen != 1)
				return DW_PARSE_FORMERR_OPT;
			if (parse_opt(&c, &q->edns, cls, ttl, rdlen) != 0)
				return DW_PARSE_FORMERR_OPT;
		} else {
			dw_skip(&c, rdlen);
			if (c.err)
				return DW_PARSE_FORMERR_Q;
		}
	}
	return DW_PARSE_OK;
}

void
dw_opt_write(struct dw_cur *c, uint16_t udp_size, unsigned rcode, bool do_bit)
{
	dw_put_u8(c, 0); /* root owner */
	dw_put_u16(c, DW_T_OPT);
	dw_put_u16(c, udp_size);
	dw_put_u8(c, (uint8_t)(rcode >> 4));
	dw_put_u8(c, 0); /* version 0 */
	dw_put_u16(c, do_bit ? 0x8000u : 0);
	dw_put_u16(c, 0); /* rdlen */
}
