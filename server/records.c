/* SPDX-License-Identifier: MIT */
/*
 * Static records from the configuration: the apex NS generated from
 * [zone] nsname, every [zone] record line and every record of the optional
 * [zone] file, parsed with ldns (zone-file syntax is ldns's job, not ours)
 * and converted to the uncompressed wire format struct zone_rr carries.
 * Also the one call the daemon makes to install them in a zone. Each
 * record remembers where it came from, so that any complaint, ours, ldns's
 * or zone_set_static()'s, reaches the user as "FILE:LINE: record: why".
 * ldns stays here: nothing in the query path sees it.
 */
#include "server/config.h"

#include "common/errors.h"
#include "common/xalloc.h"
#include "dnswire/name.h"
#include "zones/zone.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char env_source[] = "env ACMEDNS_ZONE_RECORD";

/* What srv_records.storage points to. */
struct rec_store {
	uint8_t **blocks; /* one per record: owner then RDATA */
	char *cfg_path;
	char *zone_path;
};

struct builder {
	struct srv_records *out;
	struct rec_store *st;
	size_t cap;
	uint8_t apex[DW_NAME_MAX];
	size_t apex_len;
	const char *apex_str;
	char *err;
	size_t errlen;
};

static void errf(struct builder *b, const char *file, int line, const char *fmt,
		 ...) __attribute__((format(printf, 4, 5)));

/* "FILE:LINE: record: ...", or "FILE: record: ..." when there is no line */
static void
errf(struct builder *b, const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(b->err, b->errlen, "%s:%d: record: %s", file, line,
			 msg);
	else
		snprintf(b->err, b->errlen, "%s: record: %s", file, msg);
}

static void
add_rr(struct builder *b, const uint8_t *owner, size_t olen, uint16_t type,
       uint32_t ttl, const uint8_t *rdata, size_t rdlen, const char *file,
       int line)
{
	struct srv_records *r = b->out;
	uint8_t *blk = xmalloc(olen + rdlen + 1);

	if (r->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		r->rrs = xreallocarray(r->rrs, b->cap, sizeof(*r->rrs));
		r->lines = xreallocarray(r->lines, b->cap, sizeof(*r->lines));
		r->files = xreallocarray(r->files, b->cap, sizeof(*r->files));
		b->st->blocks = xreallocarray(b->st->blocks, b->cap,
					      sizeof(*b->st->blocks));
	}
	memcpy(blk, owner, olen);
	if (rdlen)
		memcpy(blk + olen, rdata, rdlen);
	b->st->blocks[r->n] = blk;
	r->rrs[r->n] = (struct zone_rr){
	    .owner = blk,
	    .type = type,
	    .ttl = ttl,
	    .rdata = blk + olen,
	    .rdlen = (uint16_t)rdlen,
	};
	r->lines[r->n] = line;
	r->files[r->n] = file;
	r->n++;
}

/*
 * Check an ldns record against what a static record may be and append it
 * in wire format: owner via ldns_rdf2buffer_wire, RDATA via
 * ldns_rr_rdata2buffer_wire (both uncompressed; case is preserved).
 */
static int
add_ldns_rr(struct builder *b, const ldns_rr *rr, const char *file, int line)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	ldns_buffer *buf;
	size_t olen, rdlen;
	int rc = 0;

	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		errf(b, file, line, "only class IN is served");
		return AD_EINVAL;
	}
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
		errf(b, file, line,
		     "SOA is generated from the [zone] settings; remove it");
		return AD_EINVAL;
	}
	if (ldns_rr_rd_count(rr) == 0) {
		errf(b, file, line, "missing RDATA");
		return AD_EINVAL;
	}
	buf = ldns_buffer_new(512);
	if (!buf)
		abort(); /* like xmalloc: no sane way on without memory */
	if (ldns_rdf2buffer_wire(buf, owner) != LDNS_STATUS_OK) {
		errf(b, file, line, "bad owner name");
		rc = AD_EMALF;
		goto out;
	}
	olen = ldns_buffer_position(buf);
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK) {
		errf(b, file, line, "cannot convert RDATA to wire format");
		rc = AD_EMALF;
		goto out;
	}
	rdlen = ldns_buffer_position(buf) - olen;
	if (rdlen > UINT16_MAX) {
		errf(b, file, line, "RDATA longer than 65535 bytes");
		rc = AD_ERANGE;
		goto out;
	}
	const uint8_t *wire = ldns_buffer_begin(buf);
	if (olen > DW_NAME_MAX ||
	    dw_name_in_zone(wire, olen, b->apex, b->apex_len) < 0) {
		char *o = ldns_rdf2str(owner);
		errf(b, file, line, "owner %s is outside the zone %s.",
		     o ? o : "?", b->apex_str);
		free(o);
		rc = AD_ENOTZONE;
		goto out;
	}
	add_rr(b, wire, olen, (uint16_t)ldns_rr_get_type(rr), ldns_rr_ttl(rr),
	       wire + olen, rdlen, file, line);
out:
	ldns_buffer_free(buf);
	return rc;
}

/* [zone] record lines: ldns_rr_new_frm_str, origin = the apex */
static int
add_config_records(struct builder *b, const struct srv_config *cfg,
		   const ldns_rdf *origin)
{
	for (size_t i = 0; i < cfg->records.n; i++) {
		const struct srv_item *it = &cfg->records.v[i];
		const char *file = it->line > 0 ? b->st->cfg_path : env_source;
		ldns_rr *rr = NULL;
		ldns_status s;
		int r;

		s = ldns_rr_new_frm_str(&rr, it->value, cfg->default_ttl,
					origin, NULL);
		if (s != LDNS_STATUS_OK) {
			errf(b, file, it->line, "%s",
			     ldns_get_errorstr_by_id(s));
			ldns_rr_free(rr);
			return AD_EMALF;
		}
		r = add_ldns_rr(b, rr, file, it->line);
		ldns_rr_free(rr);
		if (r != 0)
			return r;
	}
	return 0;
}

/*
 * [zone] file: read record by record with ldns_rr_new_frm_fp_l (the loop
 * of ldns_zone_new_frm_fp_l, kept here so every record has its line).
 * $ORIGIN starts as the apex, $TTL as default_ttl; the file's SOA is
 * skipped without complaint since acmedns generates its own.
 */
static int
add_zone_file(struct builder *b, const struct srv_config *cfg,
	      const ldns_rdf *apex)
{
	const char *file = b->st->zone_path;
	FILE *fp = fopen(file, "r");
	ldns_rdf *origin, *prev;
	uint32_t ttl = cfg->default_ttl;
	int line = 0, rc = 0;

	if (!fp) {
		int e = errno;
		snprintf(b->err, b->errlen, "%s: cannot open: %s", file,
			 strerror(e));
		return -e;
	}
	origin = ldns_rdf_clone(apex);
	prev = ldns_rdf_clone(apex);
	while (rc == 0 && !feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status s =
		    ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		switch (s) {
		case LDNS_STATUS_OK:
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
			    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
				rc = add_ldns_rr(b, rr, file, line);
			break;
		case LDNS_STATUS_SYNTAX_EMPTY:
		case LDNS_STATUS_SYNTAX_TTL:
		case LDNS_STATUS_SYNTAX_ORIGIN:
			break;
		case LDNS_STATUS_SYNTAX_INCLUDE:
			snprintf(b->err, b->errlen,
				 "%s:%d: $INCLUDE is not supported", file,
				 line);
			rc = AD_EUNSUP;
			break;
		default:
			snprintf(b->err, b->errlen, "%s:%d: %s", file, line,
				 ldns_get_errorstr_by_id(s));
			rc = AD_EMALF;
			break;
		}
		ldns_rr_free(rr);
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	fclose(fp);
	return rc;
}

/* The apex NS that [zone] nsname implies (RFC 1034 §4.2.1). */
static int
add_apex_ns(struct builder *b, const struct srv_config *cfg)
{
	uint8_t ns[DW_NAME_MAX];
	size_t nslen;

	if (dw_name_from_str(cfg->nsname, NULL, ns, &nslen) != 0) {
		snprintf(b->err, b->errlen,
			 "%s: [zone] nsname: not a valid name",
			 b->st->cfg_path);
		return AD_EMALF;
	}
	add_rr(b, b->apex, b->apex_len, LDNS_RR_TYPE_NS, cfg->default_ttl, ns,
	       nslen, NULL, 0);
	return 0;
}

int
srv_records_build(const struct srv_config *cfg, struct srv_records *out,
		  char *err, size_t errlen)
{
	struct builder b = {0};
	ldns_rdf *origin = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	b.out = out;
	b.st = xcalloc(1, sizeof(*b.st));
	b.st->cfg_path = xstrdup(cfg->path ? cfg->path : "(config)");
	out->storage = b.st;
	b.err = err;
	b.errlen = errlen;
	b.apex_str = cfg->domain;

	if (dw_name_from_str(cfg->domain, NULL, b.apex, &b.apex_len) != 0 ||
	    ldns_str2rdf_dname(&origin, cfg->domain) != LDNS_STATUS_OK) {
		snprintf(err, errlen, "%s: [zone] domain: not a valid name",
			 b.st->cfg_path);
		rc = AD_EMALF;
		goto out;
	}
	if ((rc = add_apex_ns(&b, cfg)) != 0)
		goto out;
	if ((rc = add_config_records(&b, cfg, origin)) != 0)
		goto out;
	if (cfg->zone_file && *cfg->zone_file) {
		b.st->zone_path = xstrdup(cfg->zone_file);
		rc = add_zone_file(&b, cfg, origin);
	}
out:
	ldns_rdf_deep_free(origin);
	if (rc != 0)
		srv_records_free(out);
	return rc;
}

void
srv_records_free(struct srv_records *r)
{
	struct rec_store *st = r->storage;

	if (st) {
		for (size_t i = 0; i < r->n; i++)
			free(st->blocks[i]);
		free(st->blocks);
		free(st->cfg_path);
		free(st->zone_path);
		free(st);
	}
	free(r->rrs);
	free(r->lines);
	free(r->files);
	memset(r, 0, sizeof(*r));
}

int
srv_zone_load_static(struct zone *z, const struct srv_config *cfg, char *err,
		     size_t errlen)
{
	struct srv_records recs;
	size_t bad = 0;
	const char *why = "";
	int rc;

	if ((rc = srv_records_build(cfg, &recs, err, errlen)) != 0)
		return rc;
	rc = zone_set_static(z, recs.rrs, recs.n, &bad, &why);
	if (rc != 0) {
		if (bad >= recs.n) /* not about one record (apex without NS) */
			snprintf(err, errlen, "%s: [zone]: %s", cfg->path, why);
		else if (!recs.files[bad])
			snprintf(err, errlen, "%s: [zone] nsname: %s",
				 cfg->path, why);
		else if (recs.lines[bad] > 0)
			snprintf(err, errlen, "%s:%d: record: %s",
				 recs.files[bad], recs.lines[bad], why);
		else
			snprintf(err, errlen, "%s: record: %s", recs.files[bad],
				 why);
	}
	srv_records_free(&recs);
	return rc;
}
