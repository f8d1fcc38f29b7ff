/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers of the acme-dns request bodies, with cJSON. They reproduce
 * what Go's encoding/json does to acme-dns's ACMETxt struct where clients
 * can tell the difference: keys match case-insensitively, the last
 * duplicate wins, /register uses json.Unmarshal (the whole body must be one
 * JSON value) while /update uses json.Decoder (the first value only).
 * Nesting is checked before cJSON sees the body, so a deeply nested body
 * cannot recurse.
 *
 * The native managed-domain bodies (POST /domains, .../revoke) follow
 * stricter rules of our own: member names are case-sensitive, unknown or
 * duplicate members are errors (a typo must not silently drop an option),
 * and every error carries a code and a one-line detail. Only syntax is
 * checked here, with acme/pki.h's rules for names and key types; the ACME
 * side validates against its own state.
 */
#include "server/api.h"
#include "acme/engine.h"
#include "acme/pki.h"
#include "common/errors.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "server/creds.h"

#include <cjson/cJSON.h>
#include <math.h> /* isfinite (a macro: no libm) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * One pass over the body before cJSON sees it, on a copy:
 *  - the deepest [ / { nesting outside strings (cJSON recurses per level);
 *  - raw control characters inside strings are invalid JSON (RFC 8259 §7;
 *    Go rejects them, cJSON would not);
 *  - the escape \u0000 becomes \u0001: cJSON hands out C strings, so a
 *    decoded NUL would silently cut a value ("<43 chars>\u0000junk" would
 *    pass as a valid TXT). A 0x01 byte keeps the length and fails every
 *    check our fields have, which is what Go's exact strings give.
 * Returns false for invalid input.
 */
static bool
prepare(uint8_t *s, size_t len)
{
	unsigned d = 0;
	bool str = false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		if (str) {
			if (c < 0x20)
				return false;
			if (c == '\\') {
				if (i + 5 < len && s[i + 1] == 'u' &&
				    memcmp(s + i + 2, "000", 3) == 0 &&
				    s[i + 5] == '0')
					s[i + 5] = '1';
				i++; /* skip the escaped character */
			} else if (c == '"') {
				str = false;
			}
			continue;
		}
		if (c == '"') {
			str = true;
		} else if (c == '[' || c == '{') {
			if (++d > SRV_API_MAX_DEPTH)
				return false;
		} else if ((c == ']' || c == '}') && d > 0) {
			d--;
		}
	}
	return true;
}

static bool
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parse the first JSON value of body; *rest = bytes after it. */
static cJSON *
parse_first(const uint8_t *body, size_t len, size_t *rest)
{
	const char *end = NULL;
	if (len == 0)
		return NULL;
	uint8_t *copy = xmalloc(len + 1);
	memcpy(copy, body, len);
	copy[len] = '\0';
	if (!prepare(copy, len)) {
		free(copy);
		return NULL;
	}
	/* a raw NUL outside strings ends the parse there: trailing data */
	cJSON *j = cJSON_ParseWithLengthOpts((const char *)copy, len, &end,
					     false);
	size_t off = j ? (size_t)((const uint8_t *)end - copy) : 0;
	free(copy);
	if (!j)
		return NULL;
	*rest = off <= len ? len - off : 0;
	return j;
}

static bool
only_ws(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_ws(s[i]))
			return false;
	return true;
}

/* Go accepts a string or null for a string field. */
static bool
string_or_null(const cJSON *v)
{
	return cJSON_IsString(v) || cJSON_IsNull(v);
}

/* "[2001:db8::]/32" -> "2001:db8::/32" (acme-dns sanitizeIPv6addr). */
static void
strip_brackets(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (; *in && o + 1 < cap; in++)
		if (*in != '[' && *in != ']')
			out[o++] = *in;
	out[o] = '\0';
}

static enum srv_api_perr
parse_allowfrom(const cJSON *arr, struct srv_cidr **cidrs, size_t *n)
{
	size_t cnt = (size_t)cJSON_GetArraySize(arr);
	*cidrs = NULL;
	*n = 0;
	/* types first: Go reports a type error (malformed) over a bad CIDR */
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		if (!string_or_null(e))
			return SRV_API_MALFORMED;
	}
	if (cnt == 0)
		return SRV_API_OK;
	if (cnt > SRV_API_MAX_ALLOWFROM)
		return SRV_API_BADCIDR;
	struct srv_cidr *c = xcalloc(cnt, sizeof(*c));
	size_t i = 0;
	cJSON_ArrayForEach(e, arr)
	{
		char buf[sizeof(c->text)];
		const char *s = cJSON_IsString(e) ? e->valuestring : "";
		if (strlen(s) >= sizeof(buf)) {
			free(c);
			return SRV_API_BADCIDR;
		}
		strip_brackets(s, buf, sizeof(buf));
		if (srv_cidr_parse(buf, &c[i]) != 0) {
			free(c);
			return SRV_API_BADCIDR;
		}
		i++;
	}
	*cidrs = c;
	*n = cnt;
	return SRV_API_OK;
}

enum srv_api_perr
srv_api_parse_register(const uint8_t *body, size_t len,
		       struct srv_cidr **cidrs, size_t *n)
{
	size_t rest = 0;
	*cidrs = NULL;
	*n = 0;
	if (len == 0)
		return SRV_API_OK; /* acme-dns skips an empty body */
	cJSON *j = parse_first(body, len, &rest);
	if (!j)
		return SRV_API_MALFORMED;
	/* json.Unmarshal: nothing but white space after the value */
	if (!only_ws(body + (len - rest), rest) ||
	    !(cJSON_IsObject(j) || cJSON_IsNull(j))) {
		cJSON_Delete(j);
		return SRV_API_MALFORMED;
	}
	const cJSON *allow = NULL, *m;
	enum srv_api_perr r = SRV_API_OK;
	cJSON_ArrayForEach(m, j)
	{
		const char *k = m->string;
		if (strcasecmp(k, "allowfrom") == 0) {
			if (!cJSON_IsArray(m) && !cJSON_IsNull(m))
				r = SRV_API_MALFORMED;
			allow = cJSON_IsArray(m) ? m : NULL;
		} else if (strcasecmp(k, "password") == 0 ||
			   strcasecmp(k, "subdomain") == 0 ||
			   strcasecmp(k, "txt") == 0) {
			if (!string_or_null(m))
				r = SRV_API_MALFORMED;
		} else if (strcasecmp(k, "username") == 0) {
			/* a uuid.UUID: text that parses, or null */
			uint8_t u[16];
			if (!cJSON_IsNull(m) &&
			    !(cJSON_IsString(m) &&
			      srv_uuid_parse(m->valuestring,
					     strlen(m->valuestring), u)))
				r = SRV_API_MALFORMED;
		}
		/* other keys: ignored, as Go does */
	}
	if (r == SRV_API_OK && allow)
		r = parse_allowfrom(allow, cidrs, n);
	cJSON_Delete(j);
	return r;
}

static void
take_string(const cJSON *v, char out[SRV_API_FIELD_MAX], size_t *olen)
{
	if (!cJSON_IsString(v))
		return; /* wrong type or null: Go leaves the field as it was */
	size_t l = strlen(v->valuestring);
	size_t c = l < SRV_API_FIELD_MAX ? l : SRV_API_FIELD_MAX - 1;
	memcpy(out, v->valuestring, c);
	out[c] = '\0';
	*olen = l;
}

bool
srv_api_parse_update(const uint8_t *body, size_t len,
		     char sub[SRV_API_FIELD_MAX], size_t *sub_len,
		     char txt[SRV_API_FIELD_MAX], size_t *txt_len)
{
	size_t rest;
	sub[0] = txt[0] = '\0';
	*sub_len = *txt_len = 0;
	/* skip leading white space ourselves: json.Decoder does too */
	cJSON *j = parse_first(body, len, &rest);
	if (!j)
		return false;
	if (cJSON_IsObject(j)) {
		const cJSON *m;
		cJSON_ArrayForEach(m, j)
		{
			if (strcasecmp(m->string, "subdomain") == 0)
				take_string(m, sub, sub_len);
			else if (strcasecmp(m->string, "txt") == 0)
				take_string(m, txt, txt_len);
		}
	}
	cJSON_Delete(j);
	return true;
}

int
srv_api_cidrs_from_json(const char *json, struct srv_cidr **out, size_t *n,
			size_t *bad)
{
	*out = NULL;
	*n = *bad = 0;
	if (!json || !*json)
		return 0;
	size_t rest;
	cJSON *j = parse_first((const uint8_t *)json, strlen(json), &rest);
	if (!j)
		return AD_EMALF;
	if (!cJSON_IsArray(j)) {
		cJSON_Delete(j);
		return cJSON_IsNull(j) ? 0 : AD_EMALF;
	}
	size_t cnt = (size_t)cJSON_GetArraySize(j);
	struct srv_cidr *c = cnt ? xcalloc(cnt, sizeof(*c)) : NULL;
	const cJSON *e;
	cJSON_ArrayForEach(e, j)
	{
		char buf[sizeof(c->text)];
		if (!cJSON_IsString(e) ||
		    strlen(e->valuestring) >= sizeof(buf)) {
			(*bad)++;
			continue;
		}
		strip_brackets(e->valuestring, buf, sizeof(buf));
		if (srv_cidr_parse(buf, &c[*n]) == 0)
			(*n)++;
		else
			(*bad)++;
	}
	cJSON_Delete(j);
	if (*n == 0) {
		free(c);
		c = NULL;
	}
	*out = c;
	return 0;
}

/* ---- managed domains (contract §4.2) ---------------------------------- */

const char *
srv_api_derr_code(enum srv_api_derr e)
{
	switch (e) {
	case SRV_API_D_OK:
		return "ok";
	case SRV_API_D_MALFORMED:
		return "malformed_json_payload";
	case SRV_API_D_BADNAMES:
		return "bad_names";
	case SRV_API_D_BADKEYTYPE:
		return "bad_key_type";
	case SRV_API_D_BADTLSA:
		return "bad_tlsa";
	case SRV_API_D_BADCSR:
		return "bad_csr";
	case SRV_API_D_BADREASON:
		return "bad_reason";
	}
	return "bad_request";
}

static enum srv_api_derr derr(enum srv_api_derr e, char *detail, size_t cap,
			      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Set the detail line and return e (so callers can "return derr(...)"). */
static enum srv_api_derr
derr(enum srv_api_derr e, char *detail, size_t cap, const char *fmt, ...)
{
	if (detail && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, cap, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* A JSON string quoted into a detail line: printable ASCII only (the
 * detail goes back to the client and into no log, but stays readable). */
static const char *
shown(const char *s, char *buf, size_t cap)
{
	size_t o = 0;
	for (; *s && o + 4 < cap; s++)
		buf[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s && o + 4 <= cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

bool
srv_api_domain_name_valid(const char *s, size_t len)
{
	size_t top;

	/* the syntax the engine holds names to (wildcard "*." as the whole
	 * leftmost label, RFC 8555 §7.1.3) */
	if (!acme_name_valid(s, len))
		return false;
	/* CAs issue for registered names only: at least two labels below
	 * any "*.", and an all-digit top label would be an IPv4 address
	 * written as a name */
	for (top = len; top > 0 && s[top - 1] != '.'; top--)
		;
	if (top == 0 || (top == 2 && s[0] == '*'))
		return false;
	for (size_t i = top; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return true;
	return false;
}

/* A body that must be exactly one JSON value (json.Unmarshal rules). */
static cJSON *
parse_whole(const uint8_t *body, size_t len)
{
	size_t rest = 0;
	cJSON *j = parse_first(body, len, &rest);
	if (j && !only_ws(body + (len - rest), rest)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* A member name seen before in the same object (cJSON keeps both). */
static bool
duplicate_member(const cJSON *obj, const cJSON *m)
{
	for (const cJSON *o = obj->child; o && o != m; o = o->next)
		if (strcmp(o->string, m->string) == 0)
			return true;
	return false;
}

/* An integer JSON number in [lo, hi]. */
static bool
int_in(const cJSON *v, double lo, double hi, int *out)
{
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble;
	if (!isfinite(d) || d < lo || d > hi || (double)(long)d != d)
		return false;
	*out = (int)d;
	return true;
}

/*
 * A list member of a domain body: null is "not given" (*n = 0), anything
 * but an array is error e with the detail shape, and more than max
 * elements (noun) is refused before anything is allocated for them.
 */
static enum srv_api_derr
take_list(const cJSON *v, enum srv_api_derr e, const char *shape,
	  const char *noun, int max, int *n, char *detail, size_t cap)
{
	*n = 0;
	if (cJSON_IsNull(v))
		return SRV_API_D_OK;
	if (!cJSON_IsArray(v))
		return derr(e, detail, cap, "%s", shape);
	*n = cJSON_GetArraySize(v);
	if (*n > max)
		return derr(e, detail, cap, "too many %s: %d (at most %d)",
			    noun, *n, max);
	return SRV_API_D_OK;
}

static enum srv_api_derr
take_names(const cJSON *v, struct srv_api_domain_body *b, char *detail,
	   size_t cap)
{
	char show[96];
	int n;
	enum srv_api_derr r = take_list(v, SRV_API_D_BADNAMES,
					"names must be an array of strings",
					"names", SRV_API_MAX_NAMES, &n, detail,
					cap);
	if (r != SRV_API_D_OK || n == 0)
		return r;
	b->names = xcalloc((size_t)n + 1, sizeof(char *));
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsString(e))
			return derr(SRV_API_D_BADNAMES, detail, cap,
				    "names must be an array of strings");
		const char *s = e->valuestring;
		size_t l = strlen(s);
		/* an absolute name is the same name: drop one final dot */
		if (l > 1 && s[l - 1] == '.')
			l--;
		if (l > 255)
			return derr(SRV_API_D_BADNAMES, detail, cap,
				    "\"%s\": name too long",
				    shown(s, show, sizeof(show)));
		char *name = xmalloc(l + 1);
		for (size_t i = 0; i < l; i++) {
			char c = s[i];
			name[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		name[l] = '\0';
		b->names[b->nnames++] = name;
		if (!srv_api_domain_name_valid(name, l))
			return derr(SRV_API_D_BADNAMES, detail, cap,
				    "\"%s\": not a host name or \"*.\" + "
				    "host name",
				    shown(s, show, sizeof(show)));
		for (size_t i = 0; i + 1 < b->nnames; i++)
			if (strcmp(b->names[i], name) == 0)
				return derr(SRV_API_D_BADNAMES, detail, cap,
					    "\"%s\": duplicate name",
					    shown(name, show, sizeof(show)));
	}
	return SRV_API_D_OK;
}

static enum srv_api_derr
take_tlsa(const cJSON *v, struct srv_api_domain_body *b, char *detail,
	  size_t cap)
{
	int n;
	enum srv_api_derr r =
	    take_list(v, SRV_API_D_BADTLSA,
		      "tlsa must be an array of {\"port\", \"proto\"}",
		      "tlsa entries", SRV_API_MAX_TLSA, &n, detail, cap);
	if (r != SRV_API_D_OK || n == 0)
		return r;
	b->tlsa = xcalloc((size_t)n, sizeof(*b->tlsa));
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
	{
		struct acme_tlsa_port *t = &b->tlsa[b->ntlsa];
		int port = -1;
		const char *proto = "tcp"; /* RFC 6698 §3: the usual case */
		if (!cJSON_IsObject(e))
			return derr(SRV_API_D_BADTLSA, detail, cap,
				    "tlsa entries must be objects");
		const cJSON *m;
		cJSON_ArrayForEach(m, e)
		{
			if (duplicate_member(e, m))
				return derr(SRV_API_D_BADTLSA, detail, cap,
					    "tlsa: duplicate member");
			if (strcmp(m->string, "port") == 0) {
				if (!int_in(m, 1, 65535, &port))
					return derr(SRV_API_D_BADTLSA, detail,
						    cap,
						    "tlsa port must be an "
						    "integer 1..65535");
			} else if (strcmp(m->string, "proto") == 0) {
				if (!cJSON_IsString(m) ||
				    (strcmp(m->valuestring, "tcp") != 0 &&
				     strcmp(m->valuestring, "udp") != 0 &&
				     strcmp(m->valuestring, "sctp") != 0))
					return derr(SRV_API_D_BADTLSA, detail,
						    cap,
						    "tlsa proto must be tcp, "
						    "udp or sctp");
				proto = m->valuestring;
			} else {
				char show[48];
				return derr(SRV_API_D_BADTLSA, detail, cap,
					    "tlsa: unknown member \"%s\"",
					    shown(m->string, show,
						  sizeof(show)));
			}
		}
		if (port < 0)
			return derr(SRV_API_D_BADTLSA, detail, cap,
				    "tlsa entries need a port");
		t->port = (uint16_t)port;
		ad_strlcpy(t->proto, proto, sizeof(t->proto));
		for (size_t i = 0; i < b->ntlsa; i++)
			if (b->tlsa[i].port == t->port &&
			    strcmp(b->tlsa[i].proto, t->proto) == 0)
				return derr(SRV_API_D_BADTLSA, detail, cap,
					    "tlsa: %d/%s given twice", port,
					    proto);
		b->ntlsa++;
	}
	return SRV_API_D_OK;
}

/* The PEM armour of a PKCS #10 request (RFC 7468 §7; "NEW" is the old
 * Netscape label OpenSSL still reads). */
static bool
csr_armoured(const char *s)
{
	static const char *const begin[] = {
		"-----BEGIN CERTIFICATE REQUEST-----",
		"-----BEGIN NEW CERTIFICATE REQUEST-----"};
	static const char *const end[] = {
		"-----END CERTIFICATE REQUEST-----",
		"-----END NEW CERTIFICATE REQUEST-----"};
	for (size_t i = 0; i < 2; i++) {
		const char *b = strstr(s, begin[i]);
		if (b && strstr(b + strlen(begin[i]), end[i]))
			return true;
	}
	return false;
}

void
srv_api_domain_body_free(struct srv_api_domain_body *b)
{
	if (!b)
		return;
	for (size_t i = 0; b->names && i < b->nnames; i++)
		free(b->names[i]);
	free(b->names);
	free(b->key_type);
	free(b->csr_pem);
	free(b->tlsa);
	memset(b, 0, sizeof(*b));
}

enum srv_api_derr
srv_api_parse_domain(const uint8_t *body, size_t len,
		     struct srv_api_domain_body *out, char *detail, size_t cap)
{
	enum srv_api_derr r = SRV_API_D_OK;
	memset(out, 0, sizeof(*out));
	if (detail && cap)
		detail[0] = '\0';
	cJSON *j = parse_whole(body, len);
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return derr(SRV_API_D_MALFORMED, detail, cap,
			    "the body must be one JSON object");
	}
	const cJSON *m;
	cJSON_ArrayForEach(m, j)
	{
		char show[48];
		if (duplicate_member(j, m)) {
			r = derr(SRV_API_D_MALFORMED, detail, cap,
				 "member \"%s\" given twice",
				 shown(m->string, show, sizeof(show)));
		} else if (strcmp(m->string, "names") == 0) {
			r = take_names(m, out, detail, cap);
		} else if (strcmp(m->string, "key_type") == 0) {
			if (cJSON_IsNull(m))
				continue;
			enum acme_keytype kt;
			if (!cJSON_IsString(m) ||
			    acme_keytype_parse(m->valuestring, &kt) != 0)
				r = derr(SRV_API_D_BADKEYTYPE, detail, cap,
					 "key_type must be one of ec256, "
					 "ec384, rsa2048, rsa3072, rsa4096");
			else
				out->key_type = xstrdup(m->valuestring);
		} else if (strcmp(m->string, "tlsa") == 0) {
			r = take_tlsa(m, out, detail, cap);
		} else if (strcmp(m->string, "csr") == 0) {
			if (cJSON_IsNull(m))
				continue;
			if (!cJSON_IsString(m))
				r = derr(SRV_API_D_BADCSR, detail, cap,
					 "csr must be a PEM string");
			else if (strlen(m->valuestring) > SRV_API_MAX_CSR)
				r = derr(SRV_API_D_BADCSR, detail, cap,
					 "csr longer than %d bytes",
					 SRV_API_MAX_CSR);
			else if (!csr_armoured(m->valuestring))
				r = derr(SRV_API_D_BADCSR, detail, cap,
					 "csr is not a PEM \"CERTIFICATE "
					 "REQUEST\"");
			else
				out->csr_pem = xstrdup(m->valuestring);
		} else {
			r = derr(SRV_API_D_MALFORMED, detail, cap,
				 "unknown member \"%s\"",
				 shown(m->string, show, sizeof(show)));
		}
		if (r != SRV_API_D_OK)
			break;
	}
	cJSON_Delete(j);
	if (r == SRV_API_D_OK && out->nnames == 0 && !out->csr_pem)
		r = derr(SRV_API_D_BADNAMES, detail, cap,
			 "names is required (unless a csr is given)");
	if (r == SRV_API_D_OK && out->key_type && out->csr_pem)
		r = derr(SRV_API_D_BADKEYTYPE, detail, cap,
			 "key_type does not apply to a csr (it brings its "
			 "own key)");
	if (r != SRV_API_D_OK)
		srv_api_domain_body_free(out);
	return r;
}

enum srv_api_derr
srv_api_parse_revoke(const uint8_t *body, size_t len, int *reason,
		     char *detail, size_t cap)
{
	enum srv_api_derr r = SRV_API_D_OK;
	*reason = -1;
	if (detail && cap)
		detail[0] = '\0';
	if (only_ws(body, len))
		return SRV_API_D_OK; /* no body: reason unspecified */
	cJSON *j = parse_whole(body, len);
	if (!j || !(cJSON_IsObject(j) || cJSON_IsNull(j))) {
		cJSON_Delete(j);
		return derr(SRV_API_D_MALFORMED, detail, cap,
			    "the body must be empty or one JSON object");
	}
	const cJSON *m;
	cJSON_ArrayForEach(m, j)
	{
		char show[48];
		int v;
		if (duplicate_member(j, m)) {
			r = derr(SRV_API_D_MALFORMED, detail, cap,
				 "member \"%s\" given twice",
				 shown(m->string, show, sizeof(show)));
		} else if (strcmp(m->string, "reason") == 0) {
			if (cJSON_IsNull(m))
				continue;
			/* RFC 5280 §5.3.1: 7 is unused; RFC 8555 §7.6 */
			if (!int_in(m, 0, 10, &v) || v == 7)
				r = derr(SRV_API_D_BADREASON, detail, cap,
					 "reason must be an integer 0..10 "
					 "other than 7 (RFC 5280 §5.3.1)");
			else
				*reason = v;
		} else {
			r = derr(SRV_API_D_MALFORMED, detail, cap,
				 "unknown member \"%s\"",
				 shown(m->string, show, sizeof(show)));
		}
		if (r != SRV_API_D_OK)
			break;
	}
	cJSON_Delete(j);
	if (r != SRV_API_D_OK)
		*reason = -1;
	return r;
}
