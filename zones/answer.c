/* SPDX-License-Identifier: MIT */
/*
 * zone_answer(): one query in, one response out, no allocation.
 *
 * Policy (acmedns contract §3): authoritative answers (AA) for the apex and
 * below, REFUSED outside the zone and for classes other than IN (CH only for
 * version.bind/id.server), NODATA and NXDOMAIN with the SOA in authority
 * (TTL = min(SOA TTL, MINIMUM), RFC 2308), no recursion (RA=0), minimal
 * responses (glue only for NS/MX answers), RFC 8482 for ANY, EDNS(0) with
 * our own UDP size and DO echoed, BADVERS for version > 0, and TC=1 with the
 * question only when the answer does not fit the client's UDP size.
 */
#include "zones/zone_int.h"

#include "common/util.h"
#include "dnswire/rr.h"

#define CNAME_HOPS 8

struct ctx {
	const struct zone *z;
	const struct zone_qopts *o;
	struct dw_cur c;
	struct dw_ctab t;
	uint16_t an, ns, ar;
	bool edns;
};

enum { R_DATA, R_NODATA, R_NXDOMAIN };

static void
put_rrset(struct ctx *x, const uint8_t *owner, uint16_t ptr,
	  const struct zone_rrset *s, uint16_t *counter)
{
	const uint8_t *p = s->data;
	for (uint16_t i = 0; i < s->count; i++) {
		uint16_t rdlen = dw_read_u16_at(p);
		dw_rr_write(&x->c, owner, ptr, s->type, DW_C_IN, s->ttl, p + 2,
			    rdlen, &x->t);
		p += 2u + rdlen;
		(*counter)++;
	}
}

static const struct zone_rrset *
find_static(const struct zone_node *n, uint16_t type)
{
	const struct zone_nx *nx = zone__nx(n);
	if (!nx)
		return NULL;
	for (uint16_t i = 0; i < nx->nstatic; i++)
		if (nx->st[i].type == type)
			return &nx->st[i];
	return NULL;
}

static const struct zone_rrset *
dyn_tlsa(const struct zone_node *n)
{
	const struct zone_nx *nx = zone__nx(n);
	return nx ? nx->tlsa : NULL;
}

/* e: a packed value of a node's TXT blob (zone_int.h) */
static bool
dtxt_live(const struct ctx *x, const uint8_t *e)
{
	uint64_t age = x->z->txt_max_age_ms;
	if (age == 0)
		return true;
	uint64_t t = zone__dtxt_t(e);
	return x->o->now_ms < t || x->o->now_ms - t <= age;
}

/* true if a live value before e in the blob equals e: the same value can
 * be both pinned and pushed, but an RRset has no duplicates (RFC 2181 §5) */
static bool
dtxt_dup(const struct ctx *x, const uint8_t *blob, const uint8_t *e)
{
	for (const uint8_t *f = blob; f < e; f += zone__dtxt_size(f))
		if (f[9] == e[9] &&
		    memcmp(f + ZONE_DTXT_HDR, e + ZONE_DTXT_HDR, e[9]) == 0 &&
		    dtxt_live(x, f))
			return true;
	return false;
}

static unsigned
put_dtxt(struct ctx *x, const uint8_t *owner, uint16_t ptr,
	 const struct zone_node *n)
{
	const uint8_t *blob = n->data + zone__txt_off(n), *e = blob;
	unsigned k = 0;
	for (uint8_t i = 0; i < n->ndtxt; i++, e += zone__dtxt_size(e)) {
		uint8_t len = e[9];
		if (!dtxt_live(x, e) || dtxt_dup(x, blob, e))
			continue;
		if (ptr)
			dw_put_u16(&x->c, (uint16_t)(0xC000u | ptr));
		else
			dw_name_write(&x->c, owner, &x->t);
		dw_put_u16(&x->c, DW_T_TXT);
		dw_put_u16(&x->c, DW_C_IN);
		dw_put_u32(&x->c, x->z->txt_ttl);
		dw_put_u16(&x->c, (uint16_t)(len + 1u));
		dw_put_u8(&x->c, len);
		dw_put_bytes(&x->c, e + ZONE_DTXT_HDR, len);
		x->an++;
		k++;
	}
	return k;
}

static bool
has_live_dtxt(const struct ctx *x, const struct zone_node *n)
{
	const uint8_t *e = n->data + zone__txt_off(n);
	for (uint8_t i = 0; i < n->ndtxt; i++, e += zone__dtxt_size(e))
		if (dtxt_live(x, e))
			return true;
	return false;
}

static void
put_soa(struct ctx *x, uint32_t ttl, uint16_t *counter)
{
	const struct zone *z = x->z;
	uint8_t rd[2 * DW_NAME_MAX + 20];
	struct dw_cur w = dw_writer(rd, sizeof(rd));
	dw_rdata_soa(&w, z->mname, z->rname, z->serial, z->refresh, z->retry,
		     z->expire, z->minimum);
	dw_rr_write(&x->c, z->apex, 0, DW_T_SOA, DW_C_IN, ttl, rd,
		    (uint16_t)w.pos, &x->t);
	(*counter)++;
}

/* In-zone A/AAAA for the names in an NS or MX RRset (additional section).
 * Additional data is optional (RFC 2181 §9): if it does not fit, it is
 * left out without setting TC. */
static void
put_glue(struct ctx *x, const struct zone_rrset *s)
{
	const uint8_t *p = s->data;
	for (uint16_t i = 0; i < s->count; i++) {
		uint16_t rdlen = dw_read_u16_at(p);
		const uint8_t *target = p + 2 + (s->type == DW_T_MX ? 2 : 0);
		uint8_t ln[DW_NAME_MAX];
		size_t len = dw_name_len(target);
		p += 2u + rdlen;
		memcpy(ln, target, len);
		dw_name_lower(ln);
		if (dw_name_in_zone(ln, len, x->z->apex, x->z->apex_len) < 0)
			continue;
		const struct zone_node *n = zone__find(x->z, ln, len);
		if (!n)
			continue;
		static const uint16_t types[] = {DW_T_A, DW_T_AAAA};
		for (unsigned k = 0; k < 2; k++) {
			const struct zone_rrset *g = find_static(n, types[k]);
			if (!g)
				continue;
			size_t pos = x->c.pos;
			uint16_t ar = x->ar;
			unsigned tn = x->t.n;
			put_rrset(x, target, 0, g, &x->ar);
			if (x->c.err) {
				/* roll back, names remembered for
				 * compression included */
				x->c.err = 0;
				x->c.pos = pos;
				x->ar = ar;
				x->t.n = tn;
				return;
			}
		}
	}
}

/* The node for a lowercase name, following RFC 4592 wildcards; NULL when
 * the name does not exist. */
static const struct zone_node *
lookup(const struct zone *z, const uint8_t *ln, size_t len)
{
	const struct zone_node *n = zone__find(z, ln, len);
	if (n || !z->nwildcards)
		return n;
	/* closest encloser: strip labels until a node exists */
	const uint8_t *p = ln;
	size_t l = len;
	const struct zone_node *ce = NULL;
	while (l > z->apex_len && !ce) {
		l -= (size_t)*p + 1;
		p += *p + 1;
		ce = zone__find(z, p, l);
	}
	if (!ce)
		return NULL;
	uint8_t w[DW_NAME_MAX];
	if (l + 2 > DW_NAME_MAX)
		return NULL;
	w[0] = 1;
	w[1] = '*';
	memcpy(w + 2, p, l);
	return zone__find(z, w, l + 2);
}

/* ANY over TCP: every RRset of the name (RFC 8482 §4.4 leaves TCP
 * responses conventional); dynamic TXT values join a static TXT RRset. */
static void
put_all(struct ctx *x, const uint8_t *owner, uint16_t ptr,
	const struct zone_node *n)
{
	const struct zone_nx *nx = zone__nx(n);
	bool txt_done = false;
	if (n->flags & ZN_APEX)
		put_soa(x, x->z->soa_ttl, &x->an);
	for (uint16_t i = 0; nx && i < nx->nstatic; i++) {
		put_rrset(x, owner, ptr, &nx->st[i], &x->an);
		if (nx->st[i].type == DW_T_TXT) {
			put_dtxt(x, owner, ptr, n);
			txt_done = true;
		}
	}
	if (!txt_done)
		put_dtxt(x, owner, ptr, n);
	if (nx && nx->tlsa)
		put_rrset(x, owner, ptr, nx->tlsa, &x->an);
}

/* RFC 8482 §4.1: answer ANY with one RRset of the name. */
static void
put_any(struct ctx *x, const uint8_t *owner, uint16_t ptr,
	const struct zone_node *n)
{
	if (x->o->tcp) {
		put_all(x, owner, ptr, n);
		return;
	}
	if (n->flags & ZN_APEX) {
		put_soa(x, x->z->soa_ttl, &x->an);
		return;
	}
	if (has_live_dtxt(x, n)) {
		const struct zone_rrset *s = find_static(n, DW_T_TXT);
		if (s)
			put_rrset(x, owner, ptr, s, &x->an);
		put_dtxt(x, owner, ptr, n);
		return;
	}
	const struct zone_nx *nx = zone__nx(n);
	if (nx && nx->nstatic) {
		put_rrset(x, owner, ptr, &nx->st[0], &x->an);
		return;
	}
	if (nx && nx->tlsa)
		put_rrset(x, owner, ptr, nx->tlsa, &x->an);
}

/* Answer qtype from node n, owner given as name or pointer. Returns R_DATA
 * if it wrote records; *cname gets a CNAME target to follow, if any. */
static int
answer_node(struct ctx *x, const struct zone_node *n, const uint8_t *owner,
	    uint16_t ptr, uint16_t qtype, const uint8_t **cname)
{
	const struct zone_rrset *s, *s2;
	uint16_t before = x->an;

	*cname = NULL;
	/* RFC 1034 §4.3.2 step 3a: follow a CNAME unless QTYPE matches it;
	 * ANY matches every type, so ANY gets the CNAME itself */
	if (qtype != DW_T_CNAME && qtype != DW_T_ANY &&
	    (s = find_static(n, DW_T_CNAME)) != NULL) {
		put_rrset(x, owner, ptr, s, &x->an);
		*cname = s->data + 2;
		return R_DATA;
	}
	if (qtype == DW_T_ANY) {
		put_any(x, owner, ptr, n);
		return x->an > before ? R_DATA : R_NODATA;
	}
	if (qtype == DW_T_SOA && (n->flags & ZN_APEX)) {
		put_soa(x, x->z->soa_ttl, &x->an);
		return R_DATA;
	}
	if ((s = find_static(n, qtype)) != NULL)
		put_rrset(x, owner, ptr, s, &x->an);
	if (qtype == DW_T_TXT)
		put_dtxt(x, owner, ptr, n);
	else if (qtype == DW_T_TLSA && (s2 = dyn_tlsa(n)) != NULL)
		put_rrset(x, owner, ptr, s2, &x->an);
	if (s && (qtype == DW_T_NS || qtype == DW_T_MX) && !x->c.err)
		put_glue(x, s);
	return x->an > before ? R_DATA : R_NODATA;
}

static int
answer_in(struct ctx *x, const struct dw_query *q)
{
	const struct zone *z = x->z;
	uint8_t ln[DW_NAME_MAX];
	size_t len = q->qname_len;
	const uint8_t *owner = NULL;
	uint16_t ptr = DW_HDR_LEN;
	int res = R_NXDOMAIN;
	const struct zone_node *seen[CNAME_HOPS + 1];
	bool loop = false;

	memcpy(ln, q->qname, len);
	dw_name_lower(ln);
	for (unsigned hop = 0; hop <= CNAME_HOPS; hop++) {
		const struct zone_node *n = lookup(z, ln, len);
		const uint8_t *target;
		if (!n) {
			res = R_NXDOMAIN;
			break;
		}
		/* a CNAME loop: this node's records are in the answer
		 * already; stop rather than repeat them (the resolver sees
		 * the loop) */
		for (unsigned i = 0; i < hop && !loop; i++)
			loop = seen[i] == n;
		if (loop)
			break;
		seen[hop] = n;
		res = answer_node(x, n, owner, ptr, q->qtype, &target);
		if (!target || x->c.err)
			break;
		/* RFC 1034 §3.4.2 step 3a: restart at the CNAME target if
		 * it is ours; otherwise the resolver takes it from here.
		 * The rcode reflects the end of the chain (RFC 6604). */
		len = dw_name_len(target);
		memcpy(ln, target, len);
		dw_name_lower(ln);
		if (dw_name_in_zone(ln, len, z->apex, z->apex_len) < 0)
			break;
		owner = target;
		ptr = 0;
		if (hop == CNAME_HOPS)
			break; /* too long a chain: stop with what we have */
	}
	if (res == R_DATA)
		return DW_NOERROR;
	/* NODATA or NXDOMAIN, also at the end of a CNAME chain */
	put_soa(x, z->neg_ttl, &x->ns);
	return res == R_NXDOMAIN ? DW_NXDOMAIN : DW_NOERROR;
}

static int
answer_ch(struct ctx *x, const struct dw_query *q)
{
	uint8_t ln[DW_NAME_MAX];
	uint8_t id_server[] = "\2id\6server";
	uint8_t hostname_bind[] = "\10hostname\4bind";
	uint8_t version_bind[] = "\7version\4bind";
	uint8_t version_server[] = "\7version\6server";
	const char *val = NULL;

	if (q->qtype != DW_T_TXT && q->qtype != DW_T_ANY)
		return DW_REFUSED;
	memcpy(ln, q->qname, q->qname_len);
	dw_name_lower(ln);
	if (dw_name_equal(ln, version_bind) || dw_name_equal(ln, version_server))
		val = x->z->version;
	else if (dw_name_equal(ln, id_server) ||
		 dw_name_equal(ln, hostname_bind))
		val = x->z->identity;
	if (!val)
		return DW_REFUSED;
	size_t vl = strlen(val);
	if (vl > 255)
		vl = 255;
	dw_put_u16(&x->c, 0xC000u | DW_HDR_LEN);
	dw_put_u16(&x->c, DW_T_TXT);
	dw_put_u16(&x->c, DW_C_CH);
	dw_put_u32(&x->c, 0);
	dw_put_u16(&x->c, (uint16_t)(vl + 1));
	dw_put_u8(&x->c, (uint8_t)vl);
	dw_put_bytes(&x->c, val, vl);
	x->an++;
	return DW_NOERROR;
}

static size_t
finish(struct ctx *x, struct dw_hdr *h, bool with_q, size_t limit,
       unsigned rcode, bool do_bit)
{
	h->flags = (uint16_t)((h->flags & ~0xFu) | (rcode & 0xFu));
	h->qdcount = with_q ? 1 : 0;
	h->ancount = x->an;
	h->nscount = x->ns;
	h->arcount = (uint16_t)(x->ar + (x->edns ? 1 : 0));
	x->c.len = limit; /* release the space kept for OPT */
	if (x->edns)
		dw_opt_write(&x->c, x->z->edns_size, rcode, do_bit);
	size_t end = x->c.pos;
	if (x->c.err)
		return 0; /* cannot happen: header+question+OPT fit in 512 */
	x->c.pos = 0;
	dw_hdr_write(&x->c, h);
	return end;
}

static size_t
answer_locked(const struct zone *z, const uint8_t *msg, size_t msglen,
	      uint8_t *out, size_t cap, const struct zone_qopts *o,
	      struct zone_qinfo *info)
{
	struct dw_query q;
	struct ctx x = {.z = z, .o = o};
	struct dw_hdr h;
	size_t limit, qend;
	unsigned rcode;

	enum dw_parse_status st = dw_query_parse(msg, msglen, &q);
	if (info) {
		info->qtype = q.qtype;
		info->tc = false;
		info->rcode = 0;
	}
	if (st == DW_PARSE_DROP || cap < ZONE_UDP_MIN)
		return 0;

	bool with_q = st != DW_PARSE_FORMERR;
	x.edns = st == DW_PARSE_OK && q.edns.present;
	/* RFC 6891 §6.2.5: sizes below 512 are treated as 512 */
	if (o->tcp)
		limit = AD_MIN(cap, 65535u);
	else if (x.edns)
		limit = AD_MIN(AD_MAX(q.edns.udp_size, ZONE_UDP_MIN),
			       z->edns_size);
	else
		limit = ZONE_UDP_MIN;
	limit = AD_MIN(limit, cap);

	h.id = q.hdr.id;
	h.flags = (uint16_t)(DW_QR | (q.hdr.flags & (0x7800u | DW_RD | DW_CD)));
	x.c = dw_writer(out, limit - (x.edns ? DW_OPT_LEN : 0));
	x.c.pos = DW_HDR_LEN;
	if (with_q)
		dw_put_bytes(&x.c, msg + DW_HDR_LEN, q.question_len);
	qend = x.c.pos;
	dw_ctab_init(&x.t);
	dw_ctab_add(&x.t, DW_HDR_LEN);

	if (DW_OPCODE(q.hdr.flags) != DW_OP_QUERY)
		rcode = DW_NOTIMP;
	else if (st != DW_PARSE_OK)
		rcode = DW_FORMERR;
	else if (x.edns && q.edns.version > 0)
		rcode = DW_BADVERS; /* RFC 6891 §6.1.3 */
	else if (q.qclass == DW_C_CH)
		rcode = (unsigned)answer_ch(&x, &q);
	else if (q.qclass != DW_C_IN)
		rcode = DW_REFUSED;
	else if (q.qtype == DW_T_OPT)
		rcode = DW_FORMERR;
	else if (q.qtype == DW_T_AXFR || q.qtype == DW_T_IXFR)
		rcode = DW_REFUSED; /* no zone transfers */
	else if (q.qtype >= DW_T_TKEY && q.qtype <= DW_T_MAILA)
		rcode = DW_NOTIMP;
	else if (dw_name_in_zone(q.qname, q.qname_len, z->apex,
				 z->apex_len) < 0)
		rcode = DW_REFUSED;
	else {
		h.flags |= DW_AA;
		rcode = (unsigned)answer_in(&x, &q);
	}
	if (rcode == DW_NOERROR && q.qclass == DW_C_CH)
		h.flags |= DW_AA;

	if (x.c.err) {
		/* did not fit: question only, TC=1; the client retries over
		 * TCP (RFC 7766) */
		x.c.err = 0;
		x.c.pos = qend;
		x.an = x.ns = x.ar = 0;
		h.flags |= DW_TC;
		if (info)
			info->tc = true;
	}
	if (info)
		info->rcode = (uint8_t)rcode;
	return finish(&x, &h, with_q, limit, rcode,
		      x.edns && q.edns.do_bit);
}

/* The DNS thread reads while the main loop writes (zone.c): a read lock
 * per query, uncontended in the common case (tens of nanoseconds). */
size_t
zone_answer(const struct zone *z, const uint8_t *msg, size_t msglen,
	    uint8_t *out, size_t cap, const struct zone_qopts *o,
	    struct zone_qinfo *info)
{
	size_t n;

	pthread_rwlock_rdlock(z->lock);
	n = answer_locked(z, msg, msglen, out, cap, o, info);
	pthread_rwlock_unlock(z->lock);
	return n;
}
