/* SPDX-License-Identifier: MIT */
/*
 * Golden query -> answer tests (the shape of NSD's tpkg/cutest/qtest.c):
 * each case file under cases/ holds one query and the expected response in
 * a stable text form. The runner builds the zone from zone.txt (zone-file
 * lines parsed by ldns, plus '!' directives for parameters and dynamic
 * data made with the zones API), asks zone_answer() without any socket,
 * decodes the response with ldns - so every response we emit is also
 * checked to parse cleanly with an independent decoder - and compares the
 * printed form with the expectation. Invariants that hold for every
 * response (same ID, QR=1, RA=0, question echoed byte for byte, UDP size
 * respected, at most one OPT, TC means question only) are checked on top.
 *
 * Usage: golden [--update] ZONE_FILE CASE_FILE...
 * --update rewrites the expected part of each case with what we answer now;
 * every such change must be checked by hand against the rule it tests.
 *
 * Case file: header lines, then a line ">>>", then the expected output.
 *   ; comment (what the case checks, which rule)
 *   query NAME TYPE [CLASS]      the question (NAME in presentation format)
 *   flags +rd +cd +ad +aa +tc +qr +z opcode=N|NAME id=N
 *   qdcount N                    the question N times (0: header only)
 *   edns [size=N] [do] [version=N] [flags=N] [opt=CODE:HEX] [cookie=HEX]
 *                                one OPT per edns line
 *   append HEX                   raw bytes after the message
 *   raw HEX...                   the whole query in hex (instead of query)
 *   transport udp|tcp            default udp
 *   bufsize N                    response buffer size (default 65535)
 *   now N                        "now" in ms for TXT expiry (default 10000)
 *   param KEY=VALUE              zone parameter override (see !zone)
 *   show wire                    also print question bytes and owner
 *                                encodings (compression, 0x20)
 */
#include "dnswire/rr.h"
#include "zones/zone.h"

#include <ctype.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LINE 4096
#define MAX_RR 256
#define MAX_DIR 64
#define OUT_MAX 65536

/* ---- small helpers ---- */

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("golden: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* A growable text buffer for the printed response. */
struct text {
	char *s;
	size_t n, cap;
};

static void tprintf(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = t->cap - t->n;
		va_start(ap, fmt);
		int k = vsnprintf(t->s ? t->s + t->n : NULL, room, fmt, ap);
		va_end(ap);
		if (k < 0)
			die("vsnprintf failed");
		if ((size_t)k < room) {
			t->n += (size_t)k;
			return;
		}
		t->cap = (t->cap + (size_t)k + 1) * 2;
		t->s = realloc(t->s, t->cap);
		if (!t->s)
			die("out of memory");
	}
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static size_t
hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		int v;
		if (isspace((unsigned char)*s))
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			die("bad hex digit '%c'", *s);
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap)
			die("hex too long");
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		die("odd number of hex digits");
	return n;
}

static unsigned long
num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end)
		die("bad number '%s'", s);
	return v;
}

/* ---- the zone description ---- */

struct zdesc {
	/* parameters; strings point into pstore */
	struct zone_params p;
	char pstore[8][256];
	/* static records */
	struct zone_rr rr[MAX_RR];
	uint8_t *rrmem[MAX_RR];
	size_t nrr;
	/* dynamic directives, applied in order after the static data */
	char *dir[MAX_DIR];
	size_t ndir;
};

static void
zparam(struct zdesc *d, const char *key, const char *val)
{
	static const char *const strs[] = {"domain", "mname", "nsadmin",
					   "version", "identity"};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(key, strs[i]) != 0)
			continue;
		const char *v = NULL;
		if (strcmp(val, "-") != 0) {
			snprintf(d->pstore[i], sizeof(d->pstore[i]), "%s", val);
			v = d->pstore[i];
		}
		const char **slot[] = {&d->p.domain, &d->p.mname, &d->p.nsadmin,
				       &d->p.version, &d->p.identity};
		*slot[i] = v;
		return;
	}
	unsigned long v = num(val);
	if (!strcmp(key, "soa_ttl"))
		d->p.soa_ttl = (uint32_t)v;
	else if (!strcmp(key, "refresh"))
		d->p.refresh = (uint32_t)v;
	else if (!strcmp(key, "retry"))
		d->p.retry = (uint32_t)v;
	else if (!strcmp(key, "expire"))
		d->p.expire = (uint32_t)v;
	else if (!strcmp(key, "minimum"))
		d->p.minimum = (uint32_t)v;
	else if (!strcmp(key, "serial"))
		d->p.serial = (uint32_t)v;
	else if (!strcmp(key, "edns_size"))
		d->p.edns_size = (uint16_t)v;
	else if (!strcmp(key, "txt_ttl"))
		d->p.txt_ttl = (uint32_t)v;
	else if (!strcmp(key, "txt_max_age_ms"))
		d->p.txt_max_age_ms = v;
	else
		die("unknown zone parameter '%s'", key);
}

static void
add_static(struct zdesc *d, const uint8_t *owner, size_t olen, uint16_t type,
	   uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
	if (d->nrr >= MAX_RR)
		die("too many records");
	if (rdlen > 65535)
		die("RDATA too long");
	uint8_t *m = malloc(olen + rdlen + 1);
	if (!m)
		die("out of memory");
	memcpy(m, owner, olen);
	if (rdlen)
		memcpy(m + olen, rd, rdlen);
	d->rrmem[d->nrr] = m;
	d->rr[d->nrr++] =
	    (struct zone_rr){m, type, ttl, m + olen, (uint16_t)rdlen};
}

/* One record line in zone-file syntax, converted with ldns. */
static void
add_ldns_line(struct zdesc *d, const char *line, uint32_t ttl, ldns_rdf *origin,
	      ldns_rdf **prev, const char *where)
{
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, line, ttl, origin, prev);
	if (st != LDNS_STATUS_OK)
		die("%s: %s", where, ldns_get_errorstr_by_id(st));
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		die("%s: class must be IN", where);
	ldns_buffer *b = ldns_buffer_new(1024);
	if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK)
		die("%s: cannot encode RDATA", where);
	const ldns_rdf *o = ldns_rr_owner(rr);
	add_static(d, ldns_rdf_data(o), ldns_rdf_size(o),
		   (uint16_t)ldns_rr_get_type(rr), ldns_rr_ttl(rr),
		   ldns_buffer_begin(b), ldns_buffer_position(b));
	ldns_buffer_free(b);
	ldns_rr_free(rr);
}

/* !longtxt OWNER TTL LEN: a static TXT value of LEN bytes ("0123456789"
 * repeated), encoded by our own dw_rdata_txt (split at 255). */
static void
add_longtxt(struct zdesc *d, char *args, ldns_rdf *origin)
{
	char *owner = strtok(args, " \t");
	char *ttl = strtok(NULL, " \t");
	char *len = strtok(NULL, " \t");
	if (!owner || !ttl || !len)
		die("!longtxt OWNER TTL LEN");
	size_t n = num(len);
	char *val = malloc(n + 1);
	static uint8_t rd[70000];
	if (!val)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		val[i] = (char)('0' + i % 10);
	struct dw_cur c = dw_writer(rd, sizeof(rd));
	dw_rdata_txt(&c, val, n);
	free(val);
	if (c.err)
		die("!longtxt: too long");
	ldns_rdf *o = NULL;
	if (ldns_str2rdf_dname(&o, owner) != LDNS_STATUS_OK)
		die("!longtxt: bad owner");
	if (!ldns_dname_str_absolute(owner) &&
	    ldns_dname_cat(o, origin) != LDNS_STATUS_OK)
		die("!longtxt: bad owner");
	add_static(d, ldns_rdf_data(o), ldns_rdf_size(o), DW_T_TXT,
		   (uint32_t)num(ttl), rd, c.pos);
	ldns_rdf_deep_free(o);
}

static void
zdesc_load(struct zdesc *d, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[MAX_LINE], where[512];
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	int lineno = 0;

	if (!f)
		die("%s: %s", path, strerror(errno));
	memset(d, 0, sizeof(*d));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		char *s = trim(line);
		if (!*s || *s == ';')
			continue;
		if (!strncmp(s, "$ORIGIN", 7)) {
			ldns_rdf_deep_free(origin);
			origin = ldns_dname_new_frm_str(trim(s + 7));
			if (!origin)
				die("%s: bad $ORIGIN", where);
		} else if (!strncmp(s, "$TTL", 4)) {
			ttl = (uint32_t)num(trim(s + 4));
		} else if (!strncmp(s, "!zone ", 6)) {
			char *k = strtok(s + 6, " \t");
			char *v = strtok(NULL, "");
			if (!k || !v)
				die("%s: !zone KEY VALUE", where);
			zparam(d, k, trim(v));
		} else if (!strncmp(s, "!longtxt ", 9)) {
			if (!origin)
				die("%s: $ORIGIN first", where);
			add_longtxt(d, s + 9, origin);
		} else if (*s == '!') {
			if (d->ndir >= MAX_DIR)
				die("%s: too many directives", where);
			d->dir[d->ndir++] = strdup(s);
		} else {
			if (!origin)
				die("%s: $ORIGIN first", where);
			add_ldns_line(d, s, ttl, origin, &prev, where);
		}
	}
	fclose(f);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
}

static void
zdesc_free(struct zdesc *d)
{
	for (size_t i = 0; i < d->nrr; i++)
		free(d->rrmem[i]);
	for (size_t i = 0; i < d->ndir; i++)
		free(d->dir[i]);
}

static void
zcheck(int r, const char *dir)
{
	if (r != 0)
		die("zone: '%s': %s", dir, ad_strerror(r));
}

/* Apply a dynamic directive (a copy is tokenised). */
static void
apply_dir(struct zone *z, const char *dir)
{
	char buf[MAX_LINE];
	snprintf(buf, sizeof(buf), "%s", dir);
	char *op = strtok(buf, " \t");
	char *name = strtok(NULL, " \t");
	if (!name)
		die("'%s': missing name", dir);
	if (!strcmp(op, "!register")) {
		zcheck(zone_sub_register(z, name), dir);
	} else if (!strcmp(op, "!push") || !strcmp(op, "!pin")) {
		char *val = strtok(NULL, " \t");
		char *t = strtok(NULL, " \t");
		char *slots = strtok(NULL, " \t");
		if (!val || !t || (!strcmp(op, "!push") && !slots))
			die("'%s': !push NAME VALUE T_MS SLOTS | !pin NAME "
			    "VALUE T_MS",
			    dir);
		if (!strcmp(op, "!push"))
			zcheck(zone_txt_push(z, name, val, strlen(val), num(t),
					     (unsigned)num(slots)),
			       dir);
		else
			zcheck(zone_txt_pin(z, name, val, strlen(val), num(t)),
			       dir);
	} else if (!strcmp(op, "!tlsa")) {
		/* !tlsa NAME TTL [USAGE SELECTOR MTYPE HEX]... */
		struct zone_tlsa t[8];
		static uint8_t data[8][512];
		size_t n = 0;
		char *ttl = strtok(NULL, " \t"), *u;
		if (!ttl)
			die("'%s': !tlsa NAME TTL [U S M HEX]...", dir);
		while ((u = strtok(NULL, " \t")) != NULL && n < 8) {
			char *s = strtok(NULL, " \t");
			char *m = strtok(NULL, " \t");
			char *h = strtok(NULL, " \t");
			if (!s || !m || !h)
				die("'%s': incomplete TLSA", dir);
			size_t len = hex_decode(h, data[n], sizeof(data[n]));
			t[n] = (struct zone_tlsa){
			    (uint8_t)num(u), (uint8_t)num(s), (uint8_t)num(m),
			    data[n], (uint16_t)len};
			n++;
		}
		zcheck(zone_tlsa_set(z, name, t, n, (uint32_t)num(ttl)), dir);
	} else {
		die("unknown directive '%s'", op);
	}
}

static struct zone *
zone_build(const struct zdesc *d, const struct zone_params *p)
{
	struct zone *z = NULL;
	size_t bad = 0;
	const char *why = "";
	int r = zone_create(p, &z);
	if (r)
		die("zone_create: %s", ad_strerror(r));
	r = zone_set_static(z, d->rr, d->nrr, &bad, &why);
	if (r)
		die("zone_set_static: record %zu: %s (%s)", bad, why,
		    ad_strerror(r));
	for (size_t i = 0; i < d->ndir; i++)
		apply_dir(z, d->dir[i]);
	return z;
}

/* ---- a case ---- */

struct gcase {
	char *header;   /* everything before ">>>", kept for --update */
	char *expected; /* everything after */
	uint8_t q[OUT_MAX];
	size_t qlen;
	bool tcp, built, has_edns;
	uint16_t edns_size;
	size_t bufsize;
	uint64_t now;
	bool show_wire;
};

static void
put16(uint8_t *q, size_t *n, unsigned v)
{
	q[(*n)++] = (uint8_t)(v >> 8);
	q[(*n)++] = (uint8_t)v;
}

static unsigned
opcode_parse(const char *s)
{
	static const char *const names[] = {"QUERY", "IQUERY", "STATUS",
					    "3",     "NOTIFY", "UPDATE"};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i]))
			return i;
	return (unsigned)num(s) & 0xF;
}

/* Parse the header of a case and build the query. */
static void
case_parse(struct gcase *c, struct zdesc *d, const char *path)
{
	FILE *f = fopen(path, "r");
	struct text hdr = {0}, exp = {0};
	char line[MAX_LINE];
	bool in_exp = false, have_q = false;
	uint8_t qname[DW_NAME_MAX + 1];
	size_t qnlen = 0, qd = 1, rawlen = 0;
	uint16_t qtype = 0, qclass = LDNS_RR_CLASS_IN, id = 0x2a2a;
	uint16_t flags = 0;
	uint8_t opts[8][600], append[512];
	size_t optlen[8], nopt = 0, applen = 0;
	static uint8_t raw[OUT_MAX];

	if (!f)
		die("%s: %s", path, strerror(errno));
	c->bufsize = 65535;
	c->now = 10000;
	while (fgets(line, sizeof(line), f)) {
		if (in_exp) {
			tprintf(&exp, "%s", line);
			continue;
		}
		tprintf(&hdr, "%s", line);
		char *s = trim(line);
		if (!strcmp(s, ">>>")) {
			in_exp = true;
			continue;
		}
		if (!*s || *s == ';' || *s == '#')
			continue;
		char *kw = strtok(s, " \t");
		char *rest = strtok(NULL, "");
		rest = rest ? trim(rest) : (char *)"";
		if (!strcmp(kw, "query")) {
			char *n = strtok(rest, " \t");
			char *t = strtok(NULL, " \t");
			char *k = strtok(NULL, " \t");
			if (!n || !t)
				die("%s: query NAME TYPE [CLASS]", path);
			ldns_rdf *rd = ldns_dname_new_frm_str(n);
			if (!rd)
				die("%s: bad name '%s'", path, n);
			qnlen = ldns_rdf_size(rd);
			memcpy(qname, ldns_rdf_data(rd), qnlen);
			ldns_rdf_deep_free(rd);
			qtype = (uint16_t)ldns_get_rr_type_by_name(t);
			if (!qtype && strcmp(t, "TYPE0"))
				die("%s: bad type '%s'", path, t);
			if (k) {
				qclass = (uint16_t)ldns_get_rr_class_by_name(k);
				if (!qclass)
					die("%s: bad class '%s'", path, k);
			}
			have_q = true;
		} else if (!strcmp(kw, "flags")) {
			for (char *t = strtok(rest, " \t"); t;
			     t = strtok(NULL, " \t")) {
				static const struct {
					const char *n;
					uint16_t bit;
				} fl[] = {{"qr", DW_QR}, {"aa", DW_AA},
					  {"tc", DW_TC}, {"rd", DW_RD},
					  {"ra", DW_RA}, {"z", DW_Z},
					  {"ad", DW_AD}, {"cd", DW_CD}};
				bool done = false;
				for (size_t i = 0; i < 8 && !done; i++) {
					if (!strcmp(t + 1, fl[i].n)) {
						if (t[0] == '+')
							flags |= fl[i].bit;
						else
							flags &=
							    (uint16_t)~fl[i]
								.bit;
						done = true;
					}
				}
				if (done)
					continue;
				if (!strncmp(t, "opcode=", 7))
					flags = (uint16_t)((flags & ~0x7800u) |
							   opcode_parse(t + 7)
							       << 11);
				else if (!strncmp(t, "id=", 3))
					id = (uint16_t)num(t + 3);
				else
					die("%s: bad flag '%s'", path, t);
			}
		} else if (!strcmp(kw, "qdcount")) {
			qd = num(rest);
		} else if (!strcmp(kw, "edns")) {
			/* fixed part then options */
			uint8_t *o = opts[nopt];
			size_t n = 0, rdl;
			unsigned size = 1232, version = 0, eflags = 0;
			uint8_t rd[512];
			size_t rdn = 0;
			if (nopt >= 8)
				die("%s: too many edns lines", path);
			for (char *t = strtok(rest, " \t"); t;
			     t = strtok(NULL, " \t")) {
				if (!strncmp(t, "size=", 5))
					size = (unsigned)num(t + 5);
				else if (!strcmp(t, "do"))
					eflags |= 0x8000;
				else if (!strncmp(t, "version=", 8))
					version = (unsigned)num(t + 8);
				else if (!strncmp(t, "flags=", 6))
					eflags = (unsigned)num(t + 6);
				else if (!strncmp(t, "opt=", 4) ||
					 !strncmp(t, "cookie=", 7)) {
					unsigned code = DW_OPT_COOKIE;
					const char *h = t + 7;
					if (t[0] == 'o') {
						char *colon = strchr(t, ':');
						if (!colon)
							die("%s: opt=CODE:HEX",
							    path);
						*colon = '\0';
						code = (unsigned)num(t + 4);
						h = colon + 1;
					}
					uint8_t v[256];
					size_t vl = hex_decode(h, v, sizeof(v));
					put16(rd, &rdn, code);
					put16(rd, &rdn, (unsigned)vl);
					memcpy(rd + rdn, v, vl);
					rdn += vl;
				} else {
					die("%s: bad edns item '%s'", path, t);
				}
			}
			o[n++] = 0;
			put16(o, &n, DW_T_OPT);
			put16(o, &n, size);
			o[n++] = 0;
			o[n++] = (uint8_t)version;
			put16(o, &n, eflags);
			rdl = rdn;
			put16(o, &n, (unsigned)rdl);
			memcpy(o + n, rd, rdn);
			n += rdn;
			optlen[nopt++] = n;
			if (!c->has_edns)
				c->edns_size = (uint16_t)size;
			c->has_edns = true;
		} else if (!strcmp(kw, "append")) {
			applen += hex_decode(rest, append + applen,
					     sizeof(append) - applen);
		} else if (!strcmp(kw, "raw")) {
			rawlen += hex_decode(rest, raw + rawlen,
					     sizeof(raw) - rawlen);
			c->built = false;
		} else if (!strcmp(kw, "transport")) {
			if (!strcmp(rest, "tcp"))
				c->tcp = true;
			else if (!strcmp(rest, "udp"))
				c->tcp = false;
			else
				die("%s: transport udp|tcp", path);
		} else if (!strcmp(kw, "bufsize")) {
			c->bufsize = num(rest);
		} else if (!strcmp(kw, "now")) {
			c->now = num(rest);
		} else if (!strcmp(kw, "param")) {
			char *eq = strchr(rest, '=');
			if (!eq)
				die("%s: param KEY=VALUE", path);
			*eq = '\0';
			zparam(d, rest, eq + 1);
		} else if (!strcmp(kw, "show")) {
			if (strcmp(rest, "wire"))
				die("%s: show wire", path);
			c->show_wire = true;
		} else {
			die("%s: unknown keyword '%s'", path, kw);
		}
	}
	fclose(f);
	if (!in_exp)
		die("%s: no '>>>' line", path);
	c->header = hdr.s;
	c->expected = exp.s ? exp.s : strdup("");

	if (rawlen) {
		if (have_q)
			die("%s: both raw and query", path);
		memcpy(c->q, raw, rawlen);
		c->qlen = rawlen;
		c->built = false;
		c->has_edns = false;
		return;
	}
	if (!have_q)
		die("%s: no query", path);
	size_t n = 0;
	put16(c->q, &n, id);
	put16(c->q, &n, flags);
	put16(c->q, &n, (unsigned)qd);
	put16(c->q, &n, 0);
	put16(c->q, &n, 0);
	put16(c->q, &n, (unsigned)nopt);
	for (size_t i = 0; i < qd; i++) {
		memcpy(c->q + n, qname, qnlen);
		n += qnlen;
		put16(c->q, &n, qtype);
		put16(c->q, &n, qclass);
	}
	for (size_t i = 0; i < nopt; i++) {
		memcpy(c->q + n, opts[i], optlen[i]);
		n += optlen[i];
	}
	memcpy(c->q + n, append, applen);
	n += applen;
	c->qlen = n;
	c->built = true;
}

/* ---- printing a response ---- */

static const char *
rcode_name(unsigned rc, char *buf)
{
	static const char *const names[] = {
	    "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
	    "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "RCODE11",
	    "RCODE12",  "RCODE13", "RCODE14",  "RCODE15",  "BADVERS"};
	if (rc < sizeof(names) / sizeof(names[0]))
		return names[rc];
	snprintf(buf, 16, "RCODE%u", rc);
	return buf;
}

static const char *
opcode_name(unsigned op, char *buf)
{
	static const char *const names[] = {"QUERY",   "IQUERY", "STATUS",
					    "OPCODE3", "NOTIFY", "UPDATE"};
	if (op < sizeof(names) / sizeof(names[0]))
		return names[op];
	snprintf(buf, 16, "OPCODE%u", op & 0xFu);
	return buf;
}

/* Walk a (possibly compressed) name at off; describe its encoding:
 * "lit" (all labels literal), "@N" (one pointer), "K+@N" (K literal
 * labels, then a pointer). Returns the offset after it, 0 if broken. */
static size_t
walk_name(const uint8_t *m, size_t len, size_t off, char *desc, size_t dlen)
{
	unsigned lit = 0;
	for (;;) {
		if (off >= len)
			return 0;
		uint8_t l = m[off];
		if ((l & 0xC0) == 0xC0) {
			if (off + 1 >= len)
				return 0;
			unsigned ptr = (unsigned)(l & 0x3F) << 8 | m[off + 1];
			if (lit)
				snprintf(desc, dlen, "%u+@%u", lit, ptr);
			else
				snprintf(desc, dlen, "@%u", ptr);
			return off + 2;
		}
		if (l & 0xC0)
			return 0;
		if (l == 0) {
			snprintf(desc, dlen, lit ? "lit" : "root");
			return off + 1;
		}
		lit++;
		off += (size_t)l + 1;
	}
}

/* What the wire says, independently of ldns. */
struct wire_info {
	unsigned qd, an, ns, ar;
	size_t qstart, qend; /* question bytes */
	unsigned nopt;
	bool opt_last, opt_root;
	unsigned opt_size, opt_ext, opt_version, opt_flags, opt_rdlen;
	char owners[4][1024];
	bool ok;
};

static void
wire_walk(const uint8_t *m, size_t len, struct wire_info *w)
{
	size_t off = 12;
	char d[32];
	memset(w, 0, sizeof(*w));
	if (len < 12)
		return;
	w->qd = dw_read_u16_at(m + 4);
	w->an = dw_read_u16_at(m + 6);
	w->ns = dw_read_u16_at(m + 8);
	w->ar = dw_read_u16_at(m + 10);
	w->qstart = 12;
	for (unsigned i = 0; i < w->qd; i++) {
		off = walk_name(m, len, off, d, sizeof(d));
		if (!off || off + 4 > len)
			return;
		off += 4;
	}
	w->qend = off;
	unsigned cnt[3] = {w->an, w->ns, w->ar};
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < cnt[s]; i++) {
			size_t start = off;
			off = walk_name(m, len, off, d, sizeof(d));
			if (!off || off + 10 > len)
				return;
			unsigned type = dw_read_u16_at(m + off);
			unsigned cls = dw_read_u16_at(m + off + 2);
			unsigned rdlen = dw_read_u16_at(m + off + 8);
			if (type == DW_T_OPT) {
				w->nopt++;
				w->opt_last = s == 2 && i + 1 == cnt[s];
				w->opt_root = m[start] == 0;
				w->opt_size = cls;
				w->opt_ext = m[off + 4];
				w->opt_version = m[off + 5];
				w->opt_flags = dw_read_u16_at(m + off + 6);
				w->opt_rdlen = rdlen;
			} else {
				char *o = w->owners[s];
				size_t ol = strlen(o);
				snprintf(o + ol, sizeof(w->owners[s]) - ol,
					 "%s%s", ol ? "," : "", d);
			}
			off += 10;
			if (off + rdlen > len)
				return;
			off += rdlen;
		}
	}
	w->ok = off == len;
}

static void
print_rr_list(struct text *t, const ldns_rr_list *l, bool question)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		char *s;
		if (question) {
			char *o = ldns_rdf2str(ldns_rr_owner(rr));
			char *c = ldns_rr_class2str(ldns_rr_get_class(rr));
			char *ty = ldns_rr_type2str(ldns_rr_get_type(rr));
			tprintf(t, "%s %s %s\n", o, c, ty);
			free(o);
			free(c);
			free(ty);
			continue;
		}
		s = ldns_rr2str(rr);
		for (char *p = s; *p; p++)
			if (*p == '\t')
				*p = ' ';
		s[strcspn(s, "\n")] = '\0';
		tprintf(t, "%s\n", s);
		free(s);
	}
}

/* Print the response; invariant violations go to *bad (and the text). */
static void
print_response(const struct gcase *c, const uint8_t *r, size_t len,
	       const struct zone_params *zp, struct text *t, int *bad)
{
	char b1[16], b2[16];
	struct wire_info w;

	if (len == 0) {
		tprintf(t, "no response\n");
		return;
	}
	ldns_pkt *pkt = NULL;
	ldns_status st = ldns_wire2pkt(&pkt, r, len);
	if (st != LDNS_STATUS_OK) {
		tprintf(t, "INVARIANT ldns cannot parse the response: %s\n",
			ldns_get_errorstr_by_id(st));
		(*bad)++;
		return;
	}
	wire_walk(r, len, &w);
	unsigned flags = dw_read_u16_at(r + 2);
	unsigned rcode = (w.nopt ? w.opt_ext << 4 : 0) | (flags & 0xF);

	tprintf(t, "rcode %s opcode %s\n", rcode_name(rcode, b1),
		opcode_name(DW_OPCODE(flags), b2));
	tprintf(t, "flags");
	static const struct {
		const char *n;
		unsigned bit;
	} fl[] = {{"qr", DW_QR}, {"aa", DW_AA}, {"tc", DW_TC}, {"rd", DW_RD},
		  {"ra", DW_RA}, {"z", DW_Z},   {"ad", DW_AD}, {"cd", DW_CD}};
	for (size_t i = 0; i < 8; i++)
		if (flags & fl[i].bit)
			tprintf(t, " %s", fl[i].n);
	tprintf(t, "\n");
	tprintf(t, "counts qd %u an %u ns %u ar %u\n", w.qd, w.an, w.ns, w.ar);
	if (w.nopt)
		tprintf(t, "edns version %u udp %u%s flags 0x%04x rdlen %u\n",
			w.opt_version, w.opt_size,
			(w.opt_flags & 0x8000) ? " do" : "", w.opt_flags,
			w.opt_rdlen);
	else
		tprintf(t, "edns none\n");
	tprintf(t, ";; QUESTION\n");
	print_rr_list(t, ldns_pkt_question(pkt), true);
	tprintf(t, ";; ANSWER\n");
	print_rr_list(t, ldns_pkt_answer(pkt), false);
	tprintf(t, ";; AUTHORITY\n");
	print_rr_list(t, ldns_pkt_authority(pkt), false);
	tprintf(t, ";; ADDITIONAL\n");
	print_rr_list(t, ldns_pkt_additional(pkt), false);
	if (c->show_wire) {
		tprintf(t, "wire question ");
		for (size_t i = w.qstart; i < w.qend; i++)
			tprintf(t, "%02x", r[i]);
		tprintf(t, "\nwire owners an %s ns %s ar %s\n",
			w.an ? w.owners[0] : "-", w.ns ? w.owners[1] : "-",
			w.owners[2][0] ? w.owners[2] : "-");
		tprintf(t, "wire size %zu\n", len);
	}

	/* invariants, whatever the case expects */
#define INV(cond, ...)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			tprintf(t, "INVARIANT " __VA_ARGS__);                  \
			tprintf(t, "\n");                                      \
			(*bad)++;                                              \
		}                                                              \
	} while (0)
	INV(w.ok, "response does not walk cleanly to its end");
	INV(c->qlen < 2 || dw_read_u16_at(r) == dw_read_u16_at(c->q),
	    "ID not echoed");
	INV(flags & DW_QR, "QR not set");
	INV(!(flags & DW_RA), "RA set");
	INV(w.qd <= 1, "more than one question");
	if (w.qd == 1)
		INV(w.qend - w.qstart <= c->qlen - 12 &&
			memcmp(r + 12, c->q + 12, w.qend - w.qstart) == 0,
		    "question not echoed byte for byte");
	INV(w.nopt <= 1, "%u OPT records", w.nopt);
	if (w.nopt) {
		INV(w.opt_last && w.opt_root, "OPT not last or not root");
		INV(w.opt_size == zp->edns_size, "OPT advertises %u",
		    w.opt_size);
		INV(w.opt_version == 0, "OPT version %u", w.opt_version);
	}
	if (flags & DW_TC)
		INV(w.an == 0 && w.ns == 0 && w.ar == w.nopt,
		    "TC=1 with records");
	if (!c->tcp && c->built) {
		size_t limit = 512;
		if (c->has_edns) {
			limit = c->edns_size < 512 ? 512 : c->edns_size;
			if (limit > zp->edns_size)
				limit = zp->edns_size;
		}
		INV(len <= limit, "%zu bytes over UDP, limit %zu", len, limit);
	}
#undef INV
	ldns_pkt_free(pkt);
}

/* ---- main ---- */

static int
run_case(const char *zpath, const char *cpath, bool update)
{
	struct zdesc d;
	static struct gcase c;
	static uint8_t out[OUT_MAX];
	struct text t = {0};
	int bad = 0;

	zdesc_load(&d, zpath);
	memset(&c, 0, sizeof(c));
	case_parse(&c, &d, cpath);
	struct zone *z = zone_build(&d, &d.p);
	struct zone_qopts o = {.tcp = c.tcp, .now_ms = c.now};
	struct zone_qinfo info;
	size_t len = zone_answer(z, c.q, c.qlen, out, c.bufsize, &o, &info);
	print_response(&c, out, len, &d.p, &t, &bad);
	if (!t.s)
		tprintf(&t, "%s", "");

	int fail = 0;
	if (bad) {
		fprintf(stderr, "%s: invariants violated:\n%s", cpath, t.s);
		fail = 1;
	} else if (strcmp(t.s, c.expected) != 0) {
		if (update) {
			FILE *f = fopen(cpath, "w");
			if (!f)
				die("%s: %s", cpath, strerror(errno));
			fprintf(f, "%s%s", c.header, t.s);
			fclose(f);
			printf("%s: updated\n", cpath);
		} else {
			fprintf(stderr,
				"%s: mismatch\n--- expected\n%s--- got\n%s",
				cpath, c.expected, t.s);
			fail = 1;
		}
	}
	zone_free(z);
	zdesc_free(&d);
	free(c.header);
	free(c.expected);
	free(t.s);
	return fail;
}

int
main(int argc, char **argv)
{
	bool update = false;
	int i = 1, fails = 0, n = 0;

	if (i < argc && !strcmp(argv[i], "--update")) {
		update = true;
		i++;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: golden [--update] ZONE CASE...\n");
		return 2;
	}
	const char *zpath = argv[i++];
	for (; i < argc; i++, n++)
		fails += run_case(zpath, argv[i], update);
	printf("golden: %d case(s), %d failed\n", n, fails);
	return fails ? 1 : 0;
}
