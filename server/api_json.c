/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers of the acme-dns request bodies, with cJSON. They reproduce
 * what Go's encoding/json does to acme-dns's ACMETxt struct where clients
 * can tell the difference: keys match case-insensitively, the last
 * duplicate wins, /register uses json.Unmarshal (the whole body must be one
 * JSON value) while /update uses json.Decoder (the first value only).
 * Nesting is checked before cJSON sees the body, so a deeply nested body
 * cannot recurse.
 */
#include "server/api.h"
#include "common/errors.h"
#include "common/xalloc.h"
#include "server/creds.h"

#include <cjson/cJSON.h>
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
