/* SPDX-License-Identifier: MIT */
/*
 * Parsers for everything an ACME server sends back (RFC 8555 §7.1, RFC 7807
 * problem documents, RFC 9773 renewalInfo) and for the two response headers
 * the engine acts on (Link, RFC 8288; Retry-After, RFC 9110 §10.2.3). Every
 * byte here is untrusted: bodies are bounded before cJSON sees them, JSON
 * types are checked member by member, lists and URLs are capped, and a
 * failed parse leaves its output zeroed with nothing allocated. This file
 * must not do I/O, log, read the clock or know about the engine's state:
 * it turns bytes into structs and nothing else.
 */
#include "acme/msg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/errors.h"
#include "common/xalloc.h"

#define ACME_ERR_URN "urn:ietf:params:acme:error:"
#define ACME_ERR_URN_LEN (sizeof(ACME_ERR_URN) - 1)
#define TOKEN_MAX 256   /* dns-01 token length cap (msg.h) */
#define TIME_MAX_LEN 64 /* longest RFC 3339 text we accept */
#define RETRY_MAX 86400 /* Retry-After cap, seconds */

/* ---- small character helpers (locale-independent) -------------------- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       is_digit(c) || c == '-' || c == '_';
}

static char
lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive comparison of n bytes (ASCII only). */
static bool
ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/*
 * Parse exactly n decimal digits at s into *v. Used for fixed-width date
 * fields, so n is small (at most 4) and *v cannot overflow.
 */
static bool
fixed_digits(const char *s, size_t n, int *v)
{
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		r = r * 10 + (s[i] - '0');
	}
	*v = r;
	return true;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/*
 * Broken-down UTC time -> unix seconds, after range checks. sec may be 60
 * (RFC 3339 §5.7 leap second); timegm() folds it into the next minute.
 */
static int
utc_seconds(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
	struct tm tm;

	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || s > 60)
		return AD_EMALF;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* ---- URL and string checks ------------------------------------------- */

/*
 * A URL the engine may request (or hand to libcurl): absolute http(s),
 * at most ACME_MSG_MAX_URL bytes, printable ASCII only. Control bytes and
 * spaces are refused outright so that nothing from the CA can smuggle a
 * CR/LF into a request line or a log line.
 */
static bool
url_okn(const char *u, size_t n)
{
	size_t pre;

	if (n > ACME_MSG_MAX_URL)
		return false;
	if (n > 8 && ieq(u, "https://", 8))
		pre = 8;
	else if (n > 7 && ieq(u, "http://", 7))
		pre = 7;
	else
		return false;
	for (size_t i = pre; i < n; i++) {
		unsigned char c = (unsigned char)u[i];
		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

static bool
url_ok(const char *u)
{
	return url_okn(u, strnlen(u, ACME_MSG_MAX_URL + 1));
}

/* ---- JSON entry point ------------------------------------------------- */

/*
 * cJSON decodes "\u0000" into a NUL byte, which silently shortens the C
 * string: "evil\u0000.example" would become "evil". Such a string cannot
 * be told apart from an honest shorter one after parsing, so the escape is
 * refused anywhere in the body. Backslashes only occur inside strings in
 * valid JSON, and skipping the byte after each one keeps "\\u0000" (an
 * escaped backslash followed by text) legal.
 */
static bool
has_nul_escape(const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (b[i] != '\\')
			continue;
		if (i + 5 < len && b[i + 1] == 'u' && b[i + 2] == '0' &&
		    b[i + 3] == '0' && b[i + 4] == '0' && b[i + 5] == '0')
			return true;
		i++; /* the escaped character */
	}
	return false;
}

/*
 * Parse a body that must be one JSON object (RFC 8555 §7.1 resources, RFC
 * 7807 problems). cJSON works on a private NUL-terminated copy, so no
 * cJSON code path can read past len whatever it does; anything but
 * whitespace after the object is an error (RFC 8259 §2). A raw NUL byte is
 * never valid JSON text.
 */
static int
parse_object(const char *body, size_t len, cJSON **out)
{
	const char *end = NULL;
	cJSON *root;
	char *copy;
	size_t used;

	*out = NULL;
	if (len > ACME_MSG_MAX_BODY)
		return AD_ELIMIT;
	if (!body || len == 0 || memchr(body, '\0', len) ||
	    has_nul_escape(body, len))
		return AD_EMALF;
	copy = xmalloc(len + 1);
	memcpy(copy, body, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len, &end, false);
	if (!root) {
		free(copy);
		return AD_EMALF;
	}
	used = (size_t)(end - copy);
	while (used < len && (copy[used] == ' ' || copy[used] == '\t' ||
			      copy[used] == '\r' || copy[used] == '\n'))
		used++;
	free(copy);
	if (used != len || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return AD_EMALF;
	}
	*out = root;
	return 0;
}

/*
 * Fills *out from a parsed object. On failure it frees what it filled and
 * leaves *out zeroed (every *_free function here zeroes its struct), so
 * that a failed parse never leaves anything allocated (msg.h).
 */
typedef int (*from_fn)(const cJSON *o, void *out);

/*
 * The shape every public parser shares: zero the output first (it stays
 * zeroed when the body is not a JSON object), parse the body, fill the
 * output from the tree, drop the tree.
 */
static int
parse_into(const char *body, size_t len, void *out, size_t size, from_fn from)
{
	cJSON *root;
	int r;

	memset(out, 0, size);
	r = parse_object(body, len, &root);
	if (r != 0)
		return r;
	r = from(root, out);
	cJSON_Delete(root);
	return r;
}

/*
 * Member lookup. JSON null counts as absent: a CA that serialises an empty
 * optional field as null means "not there" (RFC 8555 does not give null any
 * other meaning). Member names are case-sensitive (RFC 8259 §4).
 */
static const cJSON *
member(const cJSON *o, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNull(m) ? NULL : m;
}

/* String member -> *out (xstrdup'd, NULL if absent and optional). */
static int
get_str(const cJSON *o, const char *name, bool required, char **out)
{
	const cJSON *m = member(o, name);

	*out = NULL;
	if (!m)
		return required ? AD_EMALF : 0;
	if (!cJSON_IsString(m) || !m->valuestring)
		return AD_EMALF;
	*out = xstrdup(m->valuestring);
	return 0;
}

/* Like get_str, and the value must pass url_ok(). */
static int
get_url(const cJSON *o, const char *name, bool required, char **out)
{
	int r = get_str(o, name, required, out);

	if (r == 0 && *out && !url_ok(*out)) {
		free(*out);
		*out = NULL;
		return AD_EMALF;
	}
	return r;
}

/* RFC 3339 timestamp member -> unix seconds (0 if absent and optional). */
static int
get_time(const cJSON *o, const char *name, bool required, int64_t *out)
{
	const cJSON *m = member(o, name);

	*out = 0;
	if (!m)
		return required ? AD_EMALF : 0;
	if (!cJSON_IsString(m) || !m->valuestring)
		return AD_EMALF;
	return acme_time_parse(m->valuestring, strlen(m->valuestring), out);
}

/* "status" member: a known status name, anything else is AD_EMALF. */
static int
get_status(const cJSON *o, bool required, enum acme_status *out)
{
	const cJSON *m = member(o, "status");

	*out = ACME_ST_UNKNOWN;
	if (!m)
		return required ? AD_EMALF : 0;
	if (!cJSON_IsString(m) || !m->valuestring)
		return AD_EMALF;
	*out = acme_status_parse(m->valuestring);
	return *out == ACME_ST_UNKNOWN ? AD_EMALF : 0;
}

/* Optional boolean member (false if absent). */
static int
get_bool(const cJSON *o, const char *name, bool *out)
{
	const cJSON *m = member(o, name);

	*out = false;
	if (!m)
		return 0;
	if (!cJSON_IsBool(m))
		return AD_EMALF;
	*out = cJSON_IsTrue(m);
	return 0;
}

/*
 * Array member checked for type and size (AD_ELIMIT above
 * ACME_MSG_MAX_LIST) before anything is allocated for its elements.
 * *arr is NULL when the member is absent and optional.
 */
static int
get_array(const cJSON *o, const char *name, bool required, const cJSON **arr,
	  size_t *n)
{
	const cJSON *m = member(o, name);
	size_t cnt = 0;

	*arr = NULL;
	*n = 0;
	if (!m)
		return required ? AD_EMALF : 0;
	if (!cJSON_IsArray(m))
		return AD_EMALF;
	for (const cJSON *e = m->child; e; e = e->next)
		if (++cnt > ACME_MSG_MAX_LIST)
			return AD_ELIMIT;
	*arr = m;
	*n = cnt;
	return 0;
}

static void
strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Array of strings (of URLs when urls) -> NULL-terminated malloc'd vector,
 * NULL when empty or absent. On error nothing is left allocated.
 */
static int
get_strv(const cJSON *o, const char *name, bool required, bool urls,
	 char ***out, size_t *nout)
{
	const cJSON *arr;
	size_t n, i = 0;
	char **v;
	int r;

	*out = NULL;
	*nout = 0;
	r = get_array(o, name, required, &arr, &n);
	if (r != 0 || n == 0)
		return r;
	v = xcalloc(n + 1, sizeof(*v));
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		if (!cJSON_IsString(e) || !e->valuestring ||
		    (urls && !url_ok(e->valuestring))) {
			strv_free(v, i);
			return AD_EMALF;
		}
		v[i] = xstrdup(e->valuestring);
	}
	*out = v;
	*nout = n;
	return 0;
}

/*
 * Fill v (elem bytes an element, room for every element of arr, which
 * get_array() has bounded) from the elements of arr with from().
 * *filled counts the elements filled, on failure those before the bad
 * one, so that the owner's free function releases exactly what was
 * allocated. arr may be NULL: nothing to fill.
 */
static int
each_object(const cJSON *arr, void *v, size_t elem, from_fn from,
	    size_t *filled)
{
	unsigned char *p = v;
	size_t i = 0;
	int r = 0;

	for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next, i++)
		if ((r = from(e, p + i * elem)) != 0)
			break;
	*filled = i;
	return r;
}

/* ---- statuses ---------------------------------------------------------- */

static const char *const status_names[] = {
    [ACME_ST_UNKNOWN] = "unknown",
    [ACME_ST_PENDING] = "pending",
    [ACME_ST_READY] = "ready",
    [ACME_ST_PROCESSING] = "processing",
    [ACME_ST_VALID] = "valid",
    [ACME_ST_INVALID] = "invalid",
    [ACME_ST_DEACTIVATED] = "deactivated",
    [ACME_ST_EXPIRED] = "expired",
    [ACME_ST_REVOKED] = "revoked",
};

/* RFC 8555 §7.1.6: status values are case-sensitive lower-case tokens. */
enum acme_status
acme_status_parse(const char *s)
{
	if (!s)
		return ACME_ST_UNKNOWN;
	for (size_t i = ACME_ST_PENDING;
	     i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum acme_status)i;
	return ACME_ST_UNKNOWN;
}

const char *
acme_status_name(enum acme_status s)
{
	if ((size_t)s >= sizeof(status_names) / sizeof(status_names[0]))
		return status_names[ACME_ST_UNKNOWN];
	return status_names[s];
}

/* ---- directory (RFC 8555 §7.1.1) ------------------------------------- */

/*
 * meta.termsOfService and meta.website are shown to humans, never fetched:
 * any scheme is kept (Pebble's terms are a data: URL), but the length cap
 * and the no-control-bytes rule of URLs still apply.
 */
static int
get_meta_link(const cJSON *o, const char *name, char **out)
{
	int r = get_str(o, name, false, out);

	if (r != 0 || !*out)
		return r;
	size_t n = strnlen(*out, ACME_MSG_MAX_URL + 1);
	bool ok = n <= ACME_MSG_MAX_URL;
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)(*out)[i] > 0x20 &&
		     (unsigned char)(*out)[i] < 0x7f;
	if (!ok) {
		free(*out);
		*out = NULL;
		return AD_EMALF;
	}
	return 0;
}

/*
 * draft-ietf-acme-profiles §3: meta.profiles is an object whose member
 * names are the profile names (values are human descriptions, ignored).
 */
static int
get_profiles(const cJSON *meta, struct acme_directory *d)
{
	const cJSON *m = member(meta, "profiles");
	size_t n = 0, i = 0;

	if (!m)
		return 0;
	if (!cJSON_IsObject(m))
		return AD_EMALF;
	for (const cJSON *e = m->child; e; e = e->next) {
		if (!e->string || !e->string[0])
			return AD_EMALF;
		if (++n > ACME_MSG_MAX_LIST)
			return AD_ELIMIT;
	}
	if (n == 0)
		return 0;
	d->profiles = xcalloc(n + 1, sizeof(*d->profiles));
	for (const cJSON *e = m->child; e; e = e->next)
		d->profiles[i++] = xstrdup(e->string);
	d->nprofiles = n;
	return 0;
}

static int
directory_from(const cJSON *o, void *out)
{
	struct acme_directory *d = out;
	const cJSON *meta;
	int r;

	if ((r = get_url(o, "newNonce", true, &d->new_nonce)) ||
	    (r = get_url(o, "newAccount", true, &d->new_account)) ||
	    (r = get_url(o, "newOrder", true, &d->new_order)) ||
	    (r = get_url(o, "revokeCert", false, &d->revoke_cert)) ||
	    (r = get_url(o, "keyChange", false, &d->key_change)) ||
	    (r = get_url(o, "newAuthz", false, &d->new_authz)) ||
	    (r = get_url(o, "renewalInfo", false, &d->renewal_info)))
		goto fail;
	meta = member(o, "meta");
	if (meta) {
		if (!cJSON_IsObject(meta)) {
			r = AD_EMALF;
			goto fail;
		}
		if ((r = get_meta_link(meta, "termsOfService",
				       &d->terms_of_service)) ||
		    (r = get_meta_link(meta, "website", &d->website)) ||
		    (r = get_bool(meta, "externalAccountRequired",
				  &d->eab_required)) ||
		    (r = get_profiles(meta, d)))
			goto fail;
	}
	return 0;
fail:
	acme_directory_free(d);
	return r;
}

int
acme_directory_parse(const char *body, size_t len, struct acme_directory *out)
{
	return parse_into(body, len, out, sizeof(*out), directory_from);
}

void
acme_directory_free(struct acme_directory *d)
{
	if (!d)
		return;
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->new_authz);
	free(d->renewal_info);
	free(d->terms_of_service);
	free(d->website);
	strv_free(d->profiles, d->nprofiles);
	memset(d, 0, sizeof(*d));
}

bool
acme_directory_has_profile(const struct acme_directory *d, const char *name)
{
	if (!d || !name)
		return false;
	for (size_t i = 0; i < d->nprofiles; i++)
		if (strcmp(d->profiles[i], name) == 0)
			return true;
	return false;
}

/* ---- problem documents (RFC 7807, RFC 8555 §6.7) --------------------- */

/* "urn:ietf:params:acme:error:badNonce" -> "badNonce"; others unchanged. */
static const char *
short_type(const char *type)
{
	if (!type)
		return NULL;
	if (strncmp(type, ACME_ERR_URN, ACME_ERR_URN_LEN) == 0)
		return type + ACME_ERR_URN_LEN;
	return type;
}

/* Concatenate up to 6 strings (NULLs skipped) into a malloc'd string. */
static char *
concat(const char *const *parts, size_t n)
{
	size_t len = 0, off = 0;
	char *s;

	for (size_t i = 0; i < n; i++)
		if (parts[i])
			len += strlen(parts[i]);
	s = xmalloc(len + 1);
	for (size_t i = 0; i < n; i++) {
		if (!parts[i])
			continue;
		size_t l = strlen(parts[i]);
		memcpy(s + off, parts[i], l);
		off += l;
	}
	s[off] = '\0';
	return s;
}

/*
 * One subproblem (RFC 8555 §6.7.1) -> "type: detail (identifier value)",
 * type shortened like the summary's; parts that are absent are left out.
 * Subproblems are problem documents plus an identifier object; wrong
 * member types are AD_EMALF like everywhere else.
 */
static int
subproblem_line(const cJSON *o, void *line)
{
	char **out = line;
	const cJSON *id;
	char *type = NULL, *detail = NULL, *value = NULL;
	int r;

	*out = NULL;
	if (!cJSON_IsObject(o))
		return AD_EMALF;
	if ((r = get_str(o, "type", false, &type)) ||
	    (r = get_str(o, "detail", false, &detail)))
		goto done;
	id = member(o, "identifier");
	if (id) {
		if (!cJSON_IsObject(id)) {
			r = AD_EMALF;
			goto done;
		}
		if ((r = get_str(id, "value", false, &value)))
			goto done;
	}
	const char *st = short_type(type);
	const char *parts[] = {
	    st ? st : "error",
	    detail ? ": " : NULL,
	    detail,
	    value ? " (" : NULL,
	    value,
	    value ? ")" : NULL,
	};
	*out = concat(parts, sizeof(parts) / sizeof(parts[0]));
done:
	free(type);
	free(detail);
	free(value);
	return r;
}

/*
 * "status" is the HTTP status code (RFC 7807 §3.1): an integer. Anything
 * that is not a whole number in 0..999 is malformed; the range check comes
 * before the conversion so a huge double is never cast to int.
 */
static int
get_http_status(const cJSON *o, int *out)
{
	const cJSON *m = member(o, "status");

	*out = 0;
	if (!m)
		return 0;
	if (!cJSON_IsNumber(m))
		return AD_EMALF;
	double v = m->valuedouble;
	if (!(v >= 0 && v <= 999) || v != (double)(int)v)
		return AD_EMALF;
	*out = (int)v;
	return 0;
}

/* Problem document (struct acme_problem) from an already parsed object
 * (also order/challenge "error" members). On error it is zeroed. */
static int
problem_from(const cJSON *o, void *out)
{
	struct acme_problem *p = out;
	const cJSON *subs;
	size_t n;
	int r;

	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(o))
		return AD_EMALF;
	if ((r = get_str(o, "type", false, &p->type)) ||
	    (r = get_str(o, "detail", false, &p->detail)) ||
	    (r = get_http_status(o, &p->status)) ||
	    (r = get_array(o, "subproblems", false, &subs, &n)))
		goto fail;
	/* NULL-terminated like every string vector here */
	p->sub = n ? xcalloc(n + 1, sizeof(*p->sub)) : NULL;
	if ((r = each_object(subs, p->sub, sizeof(*p->sub), subproblem_line,
			     &p->nsub)))
		goto fail;
	return 0;
fail:
	acme_problem_free(p);
	return r;
}

/*
 * Optional "error" member of an order or a challenge (RFC 8555 §7.1.3,
 * §7.1.4): a problem document; *has tells whether there was one.
 */
static int
get_error(const cJSON *o, struct acme_problem *p, bool *has)
{
	const cJSON *m = member(o, "error");
	int r;

	*has = false;
	if (!m)
		return 0;
	r = problem_from(m, p);
	*has = r == 0;
	return r;
}

int
acme_problem_parse(const char *body, size_t len, struct acme_problem *out)
{
	return parse_into(body, len, out, sizeof(*out), problem_from);
}

void
acme_problem_free(struct acme_problem *p)
{
	if (!p)
		return;
	free(p->type);
	free(p->detail);
	strv_free(p->sub, p->nsub);
	memset(p, 0, sizeof(*p));
}

bool
acme_problem_is(const struct acme_problem *p, const char *name)
{
	if (!p || !p->type || !name)
		return false;
	if (strncmp(p->type, ACME_ERR_URN, ACME_ERR_URN_LEN) != 0)
		return false;
	return strcmp(p->type + ACME_ERR_URN_LEN, name) == 0;
}

/*
 * Length of the well-formed UTF-8 sequence at s (at most avail bytes), or
 * 0 if there is none (RFC 3629 §4: no overlongs, no surrogates, nothing
 * above U+10FFFF).
 */
static size_t
utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > avail)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Bounded writer for the summary: stops at the first piece that does not
 * fit and remembers that it did. */
struct sumbuf {
	char *out;
	size_t cap, len; /* len <= cap - 1 */
	bool cut;
};

static void
sum_put(struct sumbuf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n && !b->cut;) {
		size_t k = 1;
		char one = '?';
		const char *src = &one;

		if (u[i] >= 0x20 && u[i] < 0x7f) {
			one = (char)u[i];
		} else if (u[i] >= 0x80) {
			k = utf8_seq(u + i, n - i);
			if (k)
				src = s + i;
			else
				k = 1; /* invalid byte: one '?' */
		}
		/* control characters and invalid UTF-8 become '?' */
		size_t w = src == &one ? 1 : k;
		if (b->len + w > b->cap - 1) {
			b->cut = true;
			break;
		}
		memcpy(b->out + b->len, src, w);
		b->len += w;
		i += k;
	}
}

void
acme_problem_summary(const struct acme_problem *p, char *out, size_t cap)
{
	struct sumbuf b = {out, cap, 0, false};
	const char *st;

	if (!out || cap == 0)
		return;
	out[0] = '\0';
	if (!p)
		return;
	st = short_type(p->type);
	sum_put(&b, st && st[0] ? st : "error");
	if (p->detail && p->detail[0]) {
		sum_put(&b, ": ");
		sum_put(&b, p->detail);
	}
	for (size_t i = 0; i < p->nsub; i++) {
		sum_put(&b, i == 0 ? " [" : "; ");
		sum_put(&b, p->sub[i]);
	}
	if (p->nsub)
		sum_put(&b, "]");
	if (b.cut) {
		/*
		 * Make room for "..." and never leave half a UTF-8 sequence
		 * in front of it: back up over continuation bytes.
		 */
		size_t room = cap - 1;
		size_t dots = room < 3 ? room : 3;
		if (b.len > room - dots) {
			b.len = room - dots;
			while (b.len > 0 &&
			       ((unsigned char)out[b.len] & 0xc0) == 0x80)
				b.len--;
		}
		memcpy(out + b.len, "...", dots);
		b.len += dots;
	}
	out[b.len] = '\0';
}

/* ---- account (RFC 8555 §7.1.2) --------------------------------------- */

static int
account_from(const cJSON *o, void *out)
{
	struct acme_account *a = out;
	int r;

	/* contact entries are mailto: URIs (§7.3), not fetched: any string;
	 * "orders" is a URL we may fetch. Boulder omits "orders". */
	if ((r = get_str(o, "status", true, &a->status)) ||
	    (r = get_strv(o, "contact", false, false, &a->contact,
			  &a->ncontact)) ||
	    (r = get_url(o, "orders", false, &a->orders)))
		acme_account_free(a);
	return r;
}

int
acme_account_parse(const char *body, size_t len, struct acme_account *out)
{
	return parse_into(body, len, out, sizeof(*out), account_from);
}

void
acme_account_free(struct acme_account *a)
{
	if (!a)
		return;
	free(a->status);
	strv_free(a->contact, a->ncontact);
	free(a->orders);
	memset(a, 0, sizeof(*a));
}

/* ---- orders (RFC 8555 §7.1.3) ---------------------------------------- */

/* {"type": "dns", "value": "example.com"} (§9.7.7); both required. */
static int
ident_from(const cJSON *o, void *out)
{
	struct acme_ident *id = out;
	int r;

	memset(id, 0, sizeof(*id));
	if (!cJSON_IsObject(o))
		return AD_EMALF;
	if ((r = get_str(o, "type", true, &id->type)) ||
	    (r = get_str(o, "value", true, &id->value))) {
		free(id->type);
		memset(id, 0, sizeof(*id));
	}
	return r;
}

static void
idents_free(struct acme_ident *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].type);
		free(v[i].value);
	}
	free(v);
}

static int
order_from(const cJSON *o, void *out)
{
	struct acme_order *ord = out;
	const cJSON *ids;
	size_t n;
	int r;

	if ((r = get_status(o, true, &ord->status)) ||
	    (r = get_time(o, "expires", false, &ord->expires)) ||
	    (r = get_array(o, "identifiers", true, &ids, &n)))
		goto fail;
	ord->idents = n ? xcalloc(n, sizeof(*ord->idents)) : NULL;
	if ((r = each_object(ids, ord->idents, sizeof(*ord->idents), ident_from,
			     &ord->nidents)))
		goto fail;
	/* "authorizations" is required but empty for an order whose authzs
	 * were all reused (§7.1.3); "certificate" only once valid. */
	if ((r = get_strv(o, "authorizations", true, true, &ord->authzs,
			  &ord->nauthzs)) ||
	    (r = get_url(o, "finalize", true, &ord->finalize)) ||
	    (r = get_url(o, "certificate", false, &ord->certificate)) ||
	    (r = get_str(o, "profile", false, &ord->profile)) ||
	    (r = get_error(o, &ord->error, &ord->has_error)))
		goto fail;
	return 0;
fail:
	acme_order_free(ord);
	return r;
}

int
acme_order_parse(const char *body, size_t len, struct acme_order *out)
{
	return parse_into(body, len, out, sizeof(*out), order_from);
}

void
acme_order_free(struct acme_order *o)
{
	if (!o)
		return;
	idents_free(o->idents, o->nidents);
	strv_free(o->authzs, o->nauthzs);
	free(o->finalize);
	free(o->certificate);
	free(o->profile);
	acme_problem_free(&o->error);
	memset(o, 0, sizeof(*o));
}

/* ---- challenges and authorizations (RFC 8555 §7.1.4, §7.1.5) --------- */

/* §8.1: a token is base64url without padding; we also cap its length. */
static bool
token_ok(const char *t)
{
	size_t n = strnlen(t, TOKEN_MAX + 1);

	if (n == 0 || n > TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_b64url(t[i]))
			return false;
	return true;
}

/*
 * dns-01 (§8.4) is the challenge we answer, so its members are checked
 * strictly. A challenge of any other type is kept for completeness with
 * whatever well-formed members it has: a new challenge type with a
 * different shape (dns-persist-01 has no token) must not make a whole
 * authorization unusable.
 */
static int
challenge_from(const cJSON *o, void *out)
{
	struct acme_challenge *c = out;
	bool strict;
	int r;

	memset(c, 0, sizeof(*c));
	if (!cJSON_IsObject(o))
		return AD_EMALF;
	if ((r = get_str(o, "type", true, &c->type)) != 0)
		return r;
	strict = strcmp(c->type, "dns-01") == 0;
	if (!strict) {
		const cJSON *m;
		if (get_url(o, "url", false, &c->url) != 0)
			c->url = NULL;
		m = member(o, "token");
		if (cJSON_IsString(m) && m->valuestring &&
		    token_ok(m->valuestring))
			c->token = xstrdup(m->valuestring);
		if (get_status(o, false, &c->status) != 0)
			c->status = ACME_ST_UNKNOWN;
		if (get_time(o, "validated", false, &c->validated) != 0)
			c->validated = 0;
		(void)get_error(o, &c->error, &c->has_error);
		return 0;
	}
	if ((r = get_url(o, "url", true, &c->url)) ||
	    (r = get_str(o, "token", true, &c->token)) ||
	    (r = get_status(o, true, &c->status)) ||
	    (r = get_time(o, "validated", false, &c->validated)))
		goto fail;
	if (!token_ok(c->token)) {
		r = AD_EMALF;
		goto fail;
	}
	if ((r = get_error(o, &c->error, &c->has_error)))
		goto fail;
	return 0;
fail:
	acme_challenge_free(c);
	return r;
}

int
acme_challenge_parse(const char *body, size_t len, struct acme_challenge *out)
{
	return parse_into(body, len, out, sizeof(*out), challenge_from);
}

void
acme_challenge_free(struct acme_challenge *c)
{
	if (!c)
		return;
	free(c->type);
	free(c->url);
	free(c->token);
	acme_problem_free(&c->error);
	memset(c, 0, sizeof(*c));
}

static int
authz_from(const cJSON *o, void *out)
{
	struct acme_authz *a = out;
	const cJSON *chs;
	size_t n;
	int r;

	/* the identifier is required: ident_from() refuses a missing one */
	if ((r = ident_from(member(o, "identifier"), &a->ident)) ||
	    (r = get_status(o, true, &a->status)) ||
	    (r = get_time(o, "expires", false, &a->expires)) ||
	    (r = get_bool(o, "wildcard", &a->wildcard)) ||
	    (r = get_array(o, "challenges", true, &chs, &n)))
		goto fail;
	a->challenges = n ? xcalloc(n, sizeof(*a->challenges)) : NULL;
	if ((r = each_object(chs, a->challenges, sizeof(*a->challenges),
			     challenge_from, &a->nchallenges)))
		goto fail;
	return 0;
fail:
	acme_authz_free(a);
	return r;
}

int
acme_authz_parse(const char *body, size_t len, struct acme_authz *out)
{
	return parse_into(body, len, out, sizeof(*out), authz_from);
}

void
acme_authz_free(struct acme_authz *a)
{
	if (!a)
		return;
	free(a->ident.type);
	free(a->ident.value);
	if (a->challenges) {
		for (size_t i = 0; i < a->nchallenges; i++)
			acme_challenge_free(&a->challenges[i]);
		free(a->challenges);
	}
	memset(a, 0, sizeof(*a));
}

const struct acme_challenge *
acme_authz_dns01(const struct acme_authz *a)
{
	if (!a)
		return NULL;
	for (size_t i = 0; i < a->nchallenges; i++)
		if (a->challenges[i].type &&
		    strcmp(a->challenges[i].type, "dns-01") == 0)
			return &a->challenges[i];
	return NULL;
}

/* ---- renewalInfo (RFC 9773 §4.2) ------------------------------------- */

static int
renewal_info_from(const cJSON *o, void *out)
{
	struct acme_renewal_info *ri = out;
	const cJSON *w = member(o, "suggestedWindow");
	int r;

	if (!cJSON_IsObject(w))
		return AD_EMALF;
	if ((r = get_time(w, "start", true, &ri->start)) ||
	    (r = get_time(w, "end", true, &ri->end)) ||
	    (r = get_url(o, "explanationURL", false, &ri->explanation_url)))
		goto fail;
	/* §4.2: "end" MUST be after "start"; equal is harmless, so only a
	 * reversed window is refused. */
	if (ri->start > ri->end) {
		r = AD_EMALF;
		goto fail;
	}
	return 0;
fail:
	acme_renewal_info_free(ri);
	return r;
}

int
acme_renewal_info_parse(const char *body, size_t len,
			struct acme_renewal_info *out)
{
	return parse_into(body, len, out, sizeof(*out), renewal_info_from);
}

void
acme_renewal_info_free(struct acme_renewal_info *r)
{
	if (!r)
		return;
	free(r->explanation_url);
	memset(r, 0, sizeof(*r));
}

/* ---- RFC 3339 timestamps ---------------------------------------------- */

/*
 * RFC 3339 §5.6 date-time, exactly:
 *   YYYY-MM-DD "T" HH:MM:SS [ "." 1*DIGIT ] ( "Z" / ("+" / "-") HH:MM )
 * "T" and "Z" may be lower case (§5.6 NOTE). Fractional seconds are
 * truncated: the engine schedules in whole seconds.
 */
int
acme_time_parse(const char *s, size_t len, int64_t *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	size_t i = 19;
	int64_t t;

	*out = 0;
	if (!s || len < 20 || len > TIME_MAX_LEN)
		return AD_EMALF;
	if (!fixed_digits(s, 4, &y) || s[4] != '-' ||
	    !fixed_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !fixed_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !fixed_digits(s + 11, 2, &h) || s[13] != ':' ||
	    !fixed_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !fixed_digits(s + 17, 2, &sec))
		return AD_EMALF;
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < len && is_digit(s[i]))
			i++;
		if (i == start)
			return AD_EMALF;
	}
	if (i >= len)
		return AD_EMALF;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		int sign = s[i] == '+' ? 1 : -1;
		if (len - i != 6 || !fixed_digits(s + i + 1, 2, &oh) ||
		    s[i + 3] != ':' || !fixed_digits(s + i + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return AD_EMALF;
		oh *= sign;
		om *= sign;
		i += 6;
	} else {
		return AD_EMALF;
	}
	if (i != len)
		return AD_EMALF;
	if (utc_seconds(y, mo, d, h, mi, sec, &t) != 0)
		return AD_EMALF;
	/* local time = UTC + offset (§4.2), so UTC = local - offset */
	*out = t - (int64_t)oh * 3600 - (int64_t)om * 60;
	return 0;
}

/* ---- Retry-After (RFC 9110 §10.2.3, HTTP-date §5.6.7) ----------------- */

static const char wkdays[7][4] = {"Mon", "Tue", "Wed", "Thu",
				  "Fri", "Sat", "Sun"};
static const char *const wkdays_long[7] = {"Monday",   "Tuesday", "Wednesday",
					   "Thursday", "Friday",  "Saturday",
					   "Sunday"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static bool
is_wkday(const char *s)
{
	for (size_t i = 0; i < 7; i++)
		if (memcmp(s, wkdays[i], 3) == 0)
			return true;
	return false;
}

/* 3-letter month (case-sensitive, RFC 9110 §5.6.7) -> 1..12, or 0. */
static int
month_num(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (memcmp(s, months[i], 3) == 0)
			return i + 1;
	return 0;
}

/* "HH:MM:SS" */
static bool
hms(const char *s, int *h, int *mi, int *sec)
{
	return fixed_digits(s, 2, h) && s[2] == ':' &&
	       fixed_digits(s + 3, 2, mi) && s[5] == ':' &&
	       fixed_digits(s + 6, 2, sec);
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes). */
static int
imf_fixdate(const char *s, size_t n, int64_t *t)
{
	int d, mo, y, h, mi, sec;

	if (n != 29 || !is_wkday(s) || s[3] != ',' || s[4] != ' ' ||
	    !fixed_digits(s + 5, 2, &d) || s[7] != ' ' ||
	    !(mo = month_num(s + 8)) || s[11] != ' ' ||
	    !fixed_digits(s + 12, 4, &y) || s[16] != ' ' ||
	    !hms(s + 17, &h, &mi, &sec) || memcmp(s + 25, " GMT", 4) != 0)
		return AD_EMALF;
	return utc_seconds(y, mo, d, h, mi, sec, t);
}

/*
 * Obsolete RFC 850 form: "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit
 * year more than 50 years in the future means the most recent past year
 * with those digits (RFC 9110 §5.6.7).
 */
static int
rfc850_date(const char *s, size_t n, int64_t now, int64_t *t)
{
	size_t w = 0;
	int d, mo, yy, h, mi, sec, y;

	for (size_t i = 0; i < 7 && !w; i++) {
		size_t l = strlen(wkdays_long[i]);
		if (n > l && memcmp(s, wkdays_long[i], l) == 0)
			w = l;
	}
	if (!w || n != w + 24)
		return AD_EMALF;
	s += w;
	if (s[0] != ',' || s[1] != ' ' || !fixed_digits(s + 2, 2, &d) ||
	    s[4] != '-' || !(mo = month_num(s + 5)) || s[8] != '-' ||
	    !fixed_digits(s + 9, 2, &yy) || s[11] != ' ' ||
	    !hms(s + 12, &h, &mi, &sec) || memcmp(s + 20, " GMT", 4) != 0)
		return AD_EMALF;
	time_t nt = (time_t)now;
	struct tm now_tm;
	if (!gmtime_r(&nt, &now_tm))
		return AD_EMALF;
	int cur = now_tm.tm_year + 1900;
	y = cur - cur % 100 + yy;
	if (utc_seconds(y, mo, d, h, mi, sec, t) != 0)
		return AD_EMALF;
	/* 50 years of 365.25 days */
	if (*t > now + (int64_t)50 * 31557600) {
		y -= 100;
		return utc_seconds(y, mo, d, h, mi, sec, t);
	}
	return 0;
}

/* Obsolete asctime form: "Sun Nov  6 08:49:37 1994" (24 bytes). */
static int
asctime_date(const char *s, size_t n, int64_t *t)
{
	int d, mo, y, h, mi, sec;

	if (n != 24 || !is_wkday(s) || s[3] != ' ' ||
	    !(mo = month_num(s + 4)) || s[7] != ' ')
		return AD_EMALF;
	if (s[8] == ' ') {
		if (!fixed_digits(s + 9, 1, &d))
			return AD_EMALF;
	} else if (!fixed_digits(s + 8, 2, &d)) {
		return AD_EMALF;
	}
	if (s[10] != ' ' || !hms(s + 11, &h, &mi, &sec) || s[19] != ' ' ||
	    !fixed_digits(s + 20, 4, &y))
		return AD_EMALF;
	return utc_seconds(y, mo, d, h, mi, sec, t);
}

int
acme_retry_after_parse(const char *s, size_t len, int64_t now, int64_t *delay_s)
{
	int64_t t = 0, v = 0;
	size_t i;

	*delay_s = 0;
	if (!s)
		return AD_EMALF;
	/* field values arrive with optional whitespace around them */
	while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0)
		return AD_EMALF;
	if (is_digit(s[0])) {
		/* delay-seconds = 1*DIGIT; stop counting at the cap so a
		 * thousand digits cannot overflow */
		for (i = 0; i < len; i++) {
			if (!is_digit(s[i]))
				return AD_EMALF;
			if (v <= RETRY_MAX)
				v = v * 10 + (s[i] - '0');
		}
		*delay_s = v > RETRY_MAX ? RETRY_MAX : v;
		return 0;
	}
	if (imf_fixdate(s, len, &t) != 0 && rfc850_date(s, len, now, &t) != 0 &&
	    asctime_date(s, len, &t) != 0)
		return AD_EMALF;
	if (t <= now)
		return 0; /* a date in the past: retry now */
	*delay_s = t - now > RETRY_MAX ? RETRY_MAX : t - now;
	return 0;
}

/* ---- Link (RFC 8288 §3) ------------------------------------------------ */

/* tchar (RFC 9110 §5.6.2) */
static bool
is_tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A cursor over one Link field value. */
struct lcur {
	const char *s;
	size_t len, i;
};

static void
skip_ows(struct lcur *c)
{
	while (c->i < c->len && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
		c->i++;
}

/* One link-param value: a token or a quoted-string (RFC 9110 §5.6.4).
 * *vs, *vn: the raw bytes (between the quotes for a quoted-string). */
static int
param_value(struct lcur *c, const char **vs, size_t *vn, bool *quoted)
{
	size_t st;

	*quoted = false;
	if (c->i < c->len && c->s[c->i] == '"') {
		st = ++c->i;
		for (;;) {
			if (c->i >= c->len)
				return AD_EMALF; /* unterminated */
			unsigned char ch = (unsigned char)c->s[c->i];
			if (ch == '"')
				break;
			if (ch == '\\') {
				/* quoted-pair = "\" ( HTAB / SP / VCHAR /
				 * obs-text ) */
				if (++c->i >= c->len)
					return AD_EMALF;
				ch = (unsigned char)c->s[c->i];
			}
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return AD_EMALF;
			c->i++;
		}
		*vs = c->s + st;
		*vn = c->i - st;
		*quoted = true;
		c->i++; /* closing quote */
		return 0;
	}
	st = c->i;
	while (c->i < c->len && is_tchar(c->s[c->i]))
		c->i++;
	if (c->i == st)
		return AD_EMALF;
	*vs = c->s + st;
	*vn = c->i - st;
	return 0;
}

/*
 * Does the rel value (relation-types separated by whitespace, RFC 8288
 * §3.3) contain want? Relation types compare case-insensitively (§2.1.1).
 * Escapes of a quoted value are undone on the fly.
 */
static bool
rel_has(const char *v, size_t n, bool quoted, const char *want)
{
	size_t wl = strlen(want), pos = 0;
	bool match = true, in = false;

	for (size_t i = 0; i <= n; i++) {
		char ch = ' ';
		if (i < n) {
			ch = v[i];
			if (quoted && ch == '\\' && i + 1 < n)
				ch = v[++i];
			else if (ch == '\t')
				ch = ' ';
		}
		if (ch == ' ') {
			if (in && match && pos == wl)
				return true;
			in = false;
			continue;
		}
		if (!in) {
			in = true;
			match = true;
			pos = 0;
		}
		if (match && pos < wl && lower(ch) == lower(want[pos]))
			pos++;
		else
			match = false;
	}
	return false;
}

/*
 * One pass over the field value. With fn == NULL only the syntax is
 * checked and matches counted; acme_link_each() runs it twice so that a
 * malformed value never produces a callback.
 */
static int
link_pass(const char *value, size_t len, const char *rel,
	  int (*fn)(void *arg, const char *url, size_t url_len), void *arg)
{
	struct lcur c = {value, len, 0};
	int count = 0;

	for (;;) {
		/* #link-value: empty list elements are allowed (§5.6.1) */
		skip_ows(&c);
		while (c.i < c.len && c.s[c.i] == ',') {
			c.i++;
			skip_ows(&c);
		}
		if (c.i >= c.len)
			break;
		if (c.s[c.i] != '<')
			return AD_EMALF;
		size_t us = ++c.i;
		while (c.i < c.len && c.s[c.i] != '>') {
			unsigned char ch = (unsigned char)c.s[c.i];
			if (ch <= 0x20 || ch == 0x7f || ch == '<')
				return AD_EMALF;
			c.i++;
		}
		if (c.i >= c.len)
			return AD_EMALF;
		size_t un = c.i - us;
		c.i++; /* '>' */

		bool matched = false, seen_rel = false;
		for (;;) {
			skip_ows(&c);
			if (c.i >= c.len || c.s[c.i] != ';')
				break;
			c.i++;
			skip_ows(&c);
			size_t ns = c.i;
			while (c.i < c.len && is_tchar(c.s[c.i]))
				c.i++;
			if (c.i == ns)
				return AD_EMALF;
			size_t nn = c.i - ns;
			skip_ows(&c); /* BWS */
			const char *vs = NULL;
			size_t vn = 0;
			bool quoted = false;
			if (c.i < c.len && c.s[c.i] == '=') {
				c.i++;
				skip_ows(&c);
				int r = param_value(&c, &vs, &vn, &quoted);
				if (r != 0)
					return r;
			}
			/* §3.3: only the first rel parameter counts */
			if (nn == 3 && ieq(c.s + ns, "rel", 3) && !seen_rel) {
				seen_rel = true;
				matched = vs && rel_has(vs, vn, quoted, rel);
			}
		}
		if (c.i < c.len && c.s[c.i] != ',')
			return AD_EMALF;
		if (!matched)
			continue;
		/* a target we are going to fetch: absolute http(s) */
		if (!url_okn(value + us, un))
			return AD_EMALF;
		count++;
		if (fn && fn(arg, value + us, un) != 0)
			break;
	}
	return count;
}

int
acme_link_each(const char *value, size_t len, const char *rel,
	       int (*fn)(void *arg, const char *url, size_t url_len), void *arg)
{
	int r;

	/* a field value is never near this size; refusing it also keeps
	 * the match count far from INT_MAX */
	if (!value || !rel || !rel[0] || len > ACME_MSG_MAX_BODY)
		return AD_EMALF;
	r = link_pass(value, len, rel, NULL, NULL);
	if (r <= 0 || !fn)
		return r;
	return link_pass(value, len, rel, fn, arg);
}
