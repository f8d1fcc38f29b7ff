/* SPDX-License-Identifier: MIT */
/*
 * The pure HTTP/1.1 request parser: llhttp 8.1 (strict mode) underneath,
 * our limits and smuggling checks on top. No I/O, no clock, no logging:
 * bytes in, one complete request (or an error status) out. The server glue
 * and the fuzz harness drive it the same way.
 *
 * Memory: one growable buffer per parser holds, NUL-terminated, the target
 * (path and query), every header name and value, then the body. It never
 * grows past max_header_bytes + max_body_bytes + a few bytes, and every
 * limit is checked before the bytes are copied: what the client may make us
 * allocate is bounded by the configuration, not by what it announces.
 * Header offsets live in a second array, bounded by max_headers.
 *
 * Exactly one request per feed: on_message_complete pauses llhttp, and the
 * bytes after the request (a pipelined one) are left to the caller, who
 * feeds them again after srv_http_parser_release(). That keeps requests
 * strictly sequential, which the glue relies on for response ordering.
 *
 * Status choices (documented in http.h's contract and tested):
 *  - request line + headers over max_header_bytes: 431; a request target
 *    alone over the limit: 414 (RFC 9112 §3);
 *  - more than max_headers header lines: 431 (RFC 6585 §5);
 *  - Content-Length over max_body_bytes: 413 as soon as the headers end,
 *    before any body byte; a chunked body passing the cap, also announced
 *    by a chunk size: 413;
 *  - "PRI * HTTP/2.0" (the HTTP/2 preface) and any version but 1.0 and 1.1:
 *    505;
 *  - methods llhttp does not know: 400; known but not served (CONNECT,
 *    TRACE, WebDAV, RTSP, ...): 501 (RFC 9110 §9.1);
 *  - everything malformed: 400. That includes the smuggling vectors of
 *    RFC 9112 §6.3: Content-Length with Transfer-Encoding, duplicate
 *    Content-Length, Transfer-Encoding in HTTP/1.0 or not ending in
 *    chunked; also a missing or repeated Host in HTTP/1.1 (RFC 9112 §3.2),
 *    bare LF line ends and obs-fold (llhttp strict mode).
 */
#include "server/http.h"

#include "common/xalloc.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* what the bytes delivered by the last span callback belong to */
enum piece {
	PC_NONE = 0,
	PC_URL,
	PC_FIELD,
	PC_VALUE,
};

enum pause_why {
	PAUSE_NONE = 0,
	PAUSE_BEGIN,   /* a request starts here: positions count from it */
	PAUSE_HEADERS, /* to measure the header section exactly */
	PAUSE_MESSAGE, /* one complete request */
};

struct hoff {
	size_t name, value; /* offsets into buf */
};

struct srv_http_parser {
	llhttp_t ll;
	llhttp_settings_t settings; /* llhttp keeps a pointer: lives here */
	struct srv_http_limits lim;

	uint8_t *buf;
	size_t len, cap, cap_max;

	struct hoff *hoff;
	struct srv_http_header *hdrs;
	size_t nhdrs, hcap;

	enum piece cur;
	size_t url_off, url_len;
	size_t body_off, body_len;

	/* Positions. hdr_prev: bytes of the current request's header
	 * section in earlier feeds; base: where counting starts in this feed
	 * (its start, or the request's first byte); feed: this feed's start;
	 * crlf: the empty lines before the request (RFC 9112 §2.2) */
	size_t hdr_prev, crlf;
	const char *base, *feed;
	/* the last bytes of earlier feeds: the "HTTP/" before a version that
	 * straddles two feeds */
	char tail[8];
	size_t tail_len;

	size_t val_end; /* header section offset where the value's last
			 * piece ended (SIZE_MAX: no piece yet) */
	size_t trailer_bytes, ntrailers;
	enum pause_why pause;
	int status;        /* error status set by a callback */
	bool started;      /* some byte of a request arrived */
	bool version_seen; /* the protocol name was checked */
	bool url_done;     /* the request target ended */
	bool hdr_ok;       /* the header section passed its size check */
	bool headers_done; /* on_headers_complete passed */
	bool complete;     /* request handed out, not released */
	bool dead;         /* error returned: stays dead */
	bool closed;       /* a "Connection: close" request was handed out */
	bool keep_alive;
	bool expect_continue; /* 100-continue asked, body not complete */

	struct srv_http_req req;
};

/* ---- the buffer ------------------------------------------------------ */

/* Append n bytes (plus room for a NUL). Growth is bounded by cap_max,
 * which the limits make large enough for any request they let through;
 * hitting it anyway is refused, never allocated. */
static int
buf_put(struct srv_http_parser *p, const void *d, size_t n)
{
	if (n > p->cap_max - p->len - 1)
		return -1;
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : 512;
		while (cap < p->len + n + 1)
			cap *= 2;
		if (cap > p->cap_max)
			cap = p->cap_max;
		p->buf = xrealloc(p->buf, cap);
		p->cap = cap;
	}
	if (n)
		memcpy(p->buf + p->len, d, n);
	p->len += n;
	return 0;
}

static int
buf_nul(struct srv_http_parser *p)
{
	uint8_t z = 0;
	return buf_put(p, &z, 1);
}

static int
fail(struct srv_http_parser *p, int status)
{
	if (!p->status)
		p->status = status;
	return -1;
}

/* Bytes of the header section up to `end` (inside the current feed). */
static size_t
hdr_pos(const struct srv_http_parser *p, const char *end)
{
	return p->hdr_prev + (size_t)(end - p->base);
}

static bool
is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Close the piece being collected: NUL-terminate; values lose trailing
 * OWS here (leading OWS llhttp already skipped; trimmed again when the
 * pointers are made, in case). */
static int
piece_end(struct srv_http_parser *p)
{
	switch (p->cur) {
	case PC_NONE:
		return 0;
	case PC_URL:
		p->url_len = p->len - p->url_off;
		break;
	case PC_FIELD:
		if (buf_nul(p) < 0)
			return fail(p, 431);
		p->hoff[p->nhdrs - 1].value = p->len;
		p->cur = PC_VALUE; /* an empty value may get no callback */
		p->val_end = SIZE_MAX;
		return 0;
	case PC_VALUE:
		while (p->len > p->hoff[p->nhdrs - 1].value &&
		       is_ows(p->buf[p->len - 1]))
			p->len--;
		break;
	}
	p->cur = PC_NONE;
	return buf_nul(p) < 0 ? fail(p, 431) : 0;
}

/* ---- llhttp callbacks -------------------------------------------------- */

/* Pause to learn where the request starts: positions (and the limit on
 * the header section) count from its first byte, not from the empty lines
 * llhttp skips before it. */
static int
on_message_begin(llhttp_t *ll)
{
	struct srv_http_parser *p = ll->data;
	p->started = true;
	p->pause = PAUSE_BEGIN;
	return HPE_PAUSED;
}

static int
on_url(llhttp_t *ll, const char *at, size_t n)
{
	struct srv_http_parser *p = ll->data;
	if (p->cur != PC_URL) {
		p->cur = PC_URL;
		p->url_off = p->len;
	}
	/* the request line is still arriving: it is what is too long */
	if (p->len - p->url_off + n > p->lim.max_header_bytes ||
	    hdr_pos(p, at + n) > p->lim.max_header_bytes)
		return fail(p, 414);
	return buf_put(p, at, n) < 0 ? fail(p, 414) : 0;
}

static int
on_url_complete(llhttp_t *ll)
{
	struct srv_http_parser *p = ll->data;
	if (p->cur != PC_URL) { /* llhttp has no empty targets, but */
		p->cur = PC_URL;
		p->url_off = p->len;
	}
	p->url_done = true;
	return piece_end(p);
}

/* RFC 9110 §9.1: a method we know but do not serve gets 501. */
static int
on_method_complete(llhttp_t *ll)
{
	struct srv_http_parser *p = ll->data;
	switch (ll->method) {
	case HTTP_GET:
	case HTTP_HEAD:
	case HTTP_POST:
	case HTTP_PUT:
	case HTTP_DELETE:
	case HTTP_OPTIONS:
	case HTTP_PATCH:
		return 0;
	case HTTP_PRI:
		return 0; /* the HTTP/2 preface: llhttp pauses, we answer 505 */
	default:
		return fail(p, 501);
	}
}

/* llhttp 8.1 also parses RTSP/x.y and ICE/x.y request lines: only
 * "HTTP/" counts. The version span starts right after the slash; the five
 * bytes before it may lie partly in an earlier feed (kept in tail). */
static int
on_version(llhttp_t *ll, const char *at, size_t n)
{
	struct srv_http_parser *p = ll->data;
	char proto[5];
	size_t here = (size_t)(at - p->feed), from_tail;

	(void)n;
	if (p->version_seen)
		return 0; /* a later piece of a version split across feeds */
	p->version_seen = true;
	if (here >= 5) {
		memcpy(proto, at - 5, 5);
	} else {
		from_tail = 5 - here;
		if (from_tail > p->tail_len)
			return fail(p, 400);
		memcpy(proto, p->tail + p->tail_len - from_tail, from_tail);
		memcpy(proto + from_tail, p->feed, here);
	}
	if (memcmp(proto, "HTTP/", 5) != 0)
		return fail(p, 400);
	return 0;
}

static int
on_version_complete(llhttp_t *ll)
{
	struct srv_http_parser *p = ll->data;
	if (ll->http_major != 1 || ll->http_minor > 1)
		return fail(p, 505);
	return 0;
}

static int
on_header_field(llhttp_t *ll, const char *at, size_t n)
{
	struct srv_http_parser *p = ll->data;

	if (p->headers_done) { /* trailer section: counted, dropped */
		p->trailer_bytes += n;
		return p->trailer_bytes > p->lim.max_header_bytes ? fail(p, 431)
								  : 0;
	}
	if (hdr_pos(p, at + n) > p->lim.max_header_bytes)
		return fail(p, 431);
	if (p->cur != PC_FIELD) {
		if (piece_end(p) < 0)
			return -1;
		if (p->nhdrs >= p->lim.max_headers)
			return fail(p, 431);
		if (p->nhdrs == p->hcap) {
			size_t cap = p->hcap ? p->hcap * 2 : 16;
			if (cap > p->lim.max_headers)
				cap = p->lim.max_headers;
			p->hoff = xreallocarray(p->hoff, cap, sizeof(*p->hoff));
			p->hdrs = xreallocarray(p->hdrs, cap, sizeof(*p->hdrs));
			p->hcap = cap;
		}
		p->hoff[p->nhdrs].name = p->len;
		p->hoff[p->nhdrs].value = p->len;
		p->nhdrs++;
		p->cur = PC_FIELD;
	}
	return buf_put(p, at, n) < 0 ? fail(p, 431) : 0;
}

static int
on_header_field_complete(llhttp_t *ll)
{
	struct srv_http_parser *p = ll->data;
	if (p->headers_done) {
		if (++p->ntrailers > p->lim.max_headers)
			return fail(p, 431);
		return 0;
	}
	/* llhttp 8.1 lets an empty name through (RFC 9110 §5.1: a token) */
	if (p->cur != PC_FIELD || p->len == p->hoff[p->nhdrs - 1].name)
		return fail(p, 400);
	return piece_end(p); /* now collecting the value */
}

static int
on_header_value(llhttp_t *ll, const char *at, size_t n)
{
	struct srv_http_parser *p = ll->data;

	if (p->headers_done) {
		p->trailer_bytes += n;
		return p->trailer_bytes > p->lim.max_header_bytes ? fail(p, 431)
								  : 0;
	}
	if (hdr_pos(p, at + n) > p->lim.max_header_bytes)
		return fail(p, 431);
	if (p->cur != PC_VALUE) /* cannot happen: a value follows a name */
		return fail(p, 400);
	/* llhttp 8.1 accepts obs-fold and hands on the pieces around the
	 * CRLF: RFC 9112 §5.2 lets a server reject it, and we do (a folded
	 * Transfer-Encoding is a classic smuggling vector). A value arriving
	 * in pieces that do not touch is the sign. */
	size_t pos = hdr_pos(p, at);
	if (p->val_end != SIZE_MAX && pos != p->val_end)
		return fail(p, 400);
	if (memchr(at, '\r', n) || memchr(at, '\n', n))
		return fail(p, 400);
	p->val_end = pos + n;
	return buf_put(p, at, n) < 0 ? fail(p, 431) : 0;
}

static int
on_header_value_complete(llhttp_t *ll)
{
	struct srv_http_parser *p = ll->data;
	if (p->headers_done)
		return 0;
	return piece_end(p);
}

static const char *
hname(const struct srv_http_parser *p, size_t i)
{
	return (const char *)p->buf + p->hoff[i].name;
}

static const char *
hvalue(const struct srv_http_parser *p, size_t i)
{
	const char *v = (const char *)p->buf + p->hoff[i].value;
	while (is_ows((uint8_t)*v))
		v++;
	return v;
}

/* RFC 9112 §6.3, §3.2 and §9.6: what llhttp does not enforce itself, or
 * enforces only in some orders, is checked here once the section ended. */
static int
on_headers_complete(llhttp_t *ll)
{
	struct srv_http_parser *p = ll->data;
	size_t n_cl = 0, n_te = 0, n_host = 0;
	bool expect = false;

	if (p->cur == PC_FIELD) /* a name without value cannot pass llhttp */
		return fail(p, 400);
	if (piece_end(p) < 0)
		return -1;
	p->headers_done = true;
	if (ll->http_major != 1 || ll->http_minor > 1)
		return fail(p, 505);
	for (size_t i = 0; i < p->nhdrs; i++) {
		const char *name = hname(p, i);
		if (strcasecmp(name, "content-length") == 0)
			n_cl++;
		else if (strcasecmp(name, "transfer-encoding") == 0)
			n_te++;
		else if (strcasecmp(name, "host") == 0)
			n_host++;
		else if (strcasecmp(name, "expect") == 0 &&
			 strcasecmp(hvalue(p, i), "100-continue") == 0)
			expect = true;
	}
	if (n_cl > 1 || (n_cl && n_te))
		return fail(p, 400);
	if (n_te && ll->http_minor == 0)
		return fail(p, 400); /* RFC 9112 §6.1: no chunked in 1.0 */
	if (n_host > 1 || (n_host == 0 && ll->http_minor == 1))
		return fail(p, 400);
	if ((ll->flags & F_CONTENT_LENGTH) &&
	    ll->content_length > p->lim.max_body_bytes)
		return fail(p, 413);
	/* RFC 9110 §10.1.1: the client waits for "100 Continue" before the
	 * body (other expectations are ignored, as the RFC allows) */
	p->expect_continue =
	    expect && ll->http_minor == 1 &&
	    ((ll->flags & F_CHUNKED) ||
	     ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > 0));
	/* an Upgrade we do not perform: answer, then close (RFC 9110 §7.8) */
	p->keep_alive = !ll->upgrade;
	p->body_off = p->len;
	p->pause = PAUSE_HEADERS;
	return HPE_PAUSED;
}

static int
on_chunk_header(llhttp_t *ll)
{
	struct srv_http_parser *p = ll->data;
	/* the announced chunk size is refused before its bytes arrive */
	if (ll->content_length > p->lim.max_body_bytes - p->body_len)
		return fail(p, 413);
	return 0;
}

/* Chunk extensions are ignored but counted against the body cap, so an
 * endless extension is as bounded as an endless body. */
static int
on_chunk_ext(llhttp_t *ll, const char *at, size_t n)
{
	struct srv_http_parser *p = ll->data;
	(void)at;
	p->trailer_bytes += n;
	if (p->trailer_bytes > p->lim.max_body_bytes)
		return fail(p, 413);
	return 0;
}

static int
on_body(llhttp_t *ll, const char *at, size_t n)
{
	struct srv_http_parser *p = ll->data;
	if (n > p->lim.max_body_bytes - p->body_len)
		return fail(p, 413);
	if (buf_put(p, at, n) < 0)
		return fail(p, 413);
	p->body_len += n;
	return 0;
}

static int
on_message_complete(llhttp_t *ll)
{
	struct srv_http_parser *p = ll->data;
	/* flags are still those of this message (llhttp resets them after) */
	if (!llhttp_should_keep_alive(ll))
		p->keep_alive = false;
	p->pause = PAUSE_MESSAGE;
	return HPE_PAUSED;
}

/* ---- public ---------------------------------------------------------- */

static void
reset_message(struct srv_http_parser *p)
{
	/* a large request's buffer is not kept for an idle connection */
	if (p->cap > 16384) {
		free(p->buf);
		p->buf = NULL;
		p->cap = 0;
	}
	p->len = 0;
	p->nhdrs = 0;
	p->cur = PC_NONE;
	p->url_off = p->url_len = 0;
	p->body_off = p->body_len = 0;
	p->hdr_prev = p->crlf = 0;
	p->trailer_bytes = p->ntrailers = 0;
	p->pause = PAUSE_NONE;
	p->started = false;
	p->version_seen = false;
	p->url_done = false;
	p->hdr_ok = false;
	p->headers_done = false;
	p->complete = false;
	p->keep_alive = true;
	p->expect_continue = false;
	memset(&p->req, 0, sizeof(p->req));
}

struct srv_http_parser *
srv_http_parser_new(const struct srv_http_limits *limits)
{
	struct srv_http_parser *p = xcalloc(1, sizeof(*p));

	p->lim = *limits;
	if (p->lim.max_header_bytes == 0)
		p->lim.max_header_bytes = 8192;
	if (p->lim.max_headers == 0)
		p->lim.max_headers = 64;
	/* the stored form of the header section (NULs instead of ": " and
	 * CRLF) is never longer than the wire form; +16 covers the NULs of
	 * the target, the body's NUL and the rounding */
	p->cap_max =
	    (size_t)p->lim.max_header_bytes + p->lim.max_body_bytes + 16;

	llhttp_settings_init(&p->settings);
	p->settings.on_message_begin = on_message_begin;
	p->settings.on_url = on_url;
	p->settings.on_url_complete = on_url_complete;
	p->settings.on_method_complete = on_method_complete;
	p->settings.on_version = on_version;
	p->settings.on_version_complete = on_version_complete;
	p->settings.on_header_field = on_header_field;
	p->settings.on_header_field_complete = on_header_field_complete;
	p->settings.on_header_value = on_header_value;
	p->settings.on_header_value_complete = on_header_value_complete;
	p->settings.on_headers_complete = on_headers_complete;
	p->settings.on_chunk_header = on_chunk_header;
	p->settings.on_chunk_extension_name = on_chunk_ext;
	p->settings.on_chunk_extension_value = on_chunk_ext;
	p->settings.on_body = on_body;
	p->settings.on_message_complete = on_message_complete;
	llhttp_init(&p->ll, HTTP_REQUEST, &p->settings);
	p->ll.data = p;
	reset_message(p);
	return p;
}

void
srv_http_parser_free(struct srv_http_parser *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p->hoff);
	free(p->hdrs);
	free(p);
}

/* llhttp's own errors. HPE_INVALID_VERSION covers both a well-formed
 * version llhttp does not know (HTTP/1.2: 505) and a malformed one (400);
 * only the reason text tells them apart. */
static int
map_errno(const llhttp_t *ll, llhttp_errno_t e)
{
	const char *why = llhttp_get_error_reason(ll);

	switch (e) {
	case HPE_PAUSED_H2_UPGRADE:
		return 505;
	case HPE_INVALID_VERSION:
		if (why && strcmp(why, "Invalid HTTP version") == 0)
			return 505;
		return 400;
	default:
		return 400;
	}
}

/* Keep the last bytes fed, for on_version's look-behind. */
static void
remember_tail(struct srv_http_parser *p, const uint8_t *d, size_t n)
{
	size_t keep = sizeof(p->tail);
	if (n >= keep) {
		memcpy(p->tail, d + n - keep, keep);
		p->tail_len = keep;
		return;
	}
	size_t old = p->tail_len + n > keep ? keep - n : p->tail_len;
	memmove(p->tail, p->tail + p->tail_len - old, old);
	memcpy(p->tail + old, d, n);
	p->tail_len = old + n;
}

/* Turn offsets into the pointers of p->req (the buffer no longer moves:
 * nothing is appended until release). */
static void
make_request(struct srv_http_parser *p)
{
	struct srv_http_req *r = &p->req;
	char *url = (char *)p->buf + p->url_off;
	char *q;

	r->method = llhttp_method_name((llhttp_method_t)p->ll.method);
	/* absolute-form (RFC 9112 §3.2.2): keep only path and query */
	if (strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0) {
		char *s = strstr(url, "//") + 2;
		s += strcspn(s, "/?");
		if (*s == '/') {
			url = s;
		} else {
			/* no path: "/" overwrites the last byte before
			 * the query (at worst the second slash of "//") */
			*(s - 1) = '/';
			url = s - 1;
		}
	}
	q = strchr(url, '?');
	if (q) {
		*q = '\0';
		r->query = q + 1;
	} else {
		r->query = "";
	}
	r->path = url;
	for (size_t i = 0; i < p->nhdrs; i++) {
		p->hdrs[i].name = hname(p, i);
		p->hdrs[i].value = hvalue(p, i);
	}
	r->headers = p->hdrs;
	r->nheaders = p->nhdrs;
	p->body_len = p->len - p->body_off;
	r->body = p->buf + p->body_off;
	r->body_len = p->body_len;
	r->keep_alive = p->keep_alive;
}

/* The status for a header section found too long at some position: the
 * target if it had not ended yet, else the section (see the top). */
static int
too_long(const struct srv_http_parser *p)
{
	return p->url_done ? 431 : 414;
}

/*
 * Errors are ordered by their position in the stream, so that how the
 * bytes were cut into feeds never changes the answer: if the header
 * section had already passed its limit where llhttp (or a callback) found
 * the error, the limit is what a byte-by-byte feed would have hit first.
 */
static int
error_status(const struct srv_http_parser *p, llhttp_errno_t e, const char *pos)
{
	if (pos && p->started && !p->hdr_ok &&
	    hdr_pos(p, pos) > p->lim.max_header_bytes)
		return too_long(p);
	if (p->status)
		return p->status;
	return map_errno(&p->ll, e);
}

enum srv_http_feed
srv_http_parser_feed(struct srv_http_parser *p, const uint8_t *data, size_t len,
		     size_t *used, struct srv_http_req **req, int *status)
{
	const char *start = (const char *)data, *cur = start;
	const char *end = start + len;
	const char *epos = NULL; /* where llhttp stopped on an error */
	llhttp_errno_t e;

	*used = 0;
	*req = NULL;
	*status = 0;
	if (p->dead) {
		*status = p->status;
		return SRV_HTTP_ERROR;
	}
	if (p->complete) { /* contract: release first */
		*status = 500;
		return SRV_HTTP_ERROR;
	}
	if (p->closed) { /* RFC 9112 §9.6: nothing after a close request */
		*used = len;
		return SRV_HTTP_NEED_MORE;
	}
	if (len == 0)
		return SRV_HTTP_NEED_MORE;
	p->base = p->feed = start;
	for (;;) {
		p->pause = PAUSE_NONE;
		e = llhttp_execute(&p->ll, cur, (size_t)(end - cur));
		if (e == HPE_OK)
			break;
		if (e != HPE_PAUSED || p->status) {
			epos = llhttp_get_error_pos(&p->ll);
			goto error;
		}
		cur = llhttp_get_error_pos(&p->ll);
		switch (p->pause) {
		case PAUSE_BEGIN:
			/* empty lines before a request are bounded too */
			p->crlf += (size_t)(cur - p->base);
			if (p->crlf > p->lim.max_header_bytes) {
				p->status = 400;
				goto error;
			}
			p->base = cur;
			p->hdr_prev = 0;
			llhttp_resume(&p->ll);
			continue;
		case PAUSE_HEADERS:
			if (hdr_pos(p, cur) > p->lim.max_header_bytes) {
				p->status = too_long(p);
				goto error;
			}
			p->hdr_ok = true;
			llhttp_resume(&p->ll);
			continue;
		case PAUSE_MESSAGE:
			break;
		default:
			goto error;
		}
		/* one complete request; the rest waits for release */
		if (buf_nul(p) < 0) { /* room was reserved: cannot fail */
			fail(p, 413);
			goto error;
		}
		p->len--; /* the NUL is not part of the body */
		make_request(p);
		p->complete = true;
		*used = (size_t)(cur - start);
		*req = &p->req;
		remember_tail(p, data, *used);
		return SRV_HTTP_REQUEST;
	}
	if (!p->started) {
		p->crlf += (size_t)(end - p->base);
		if (p->crlf > p->lim.max_header_bytes) {
			p->status = 400;
			goto error;
		}
	} else if (!p->hdr_ok) {
		p->hdr_prev += (size_t)(end - p->base);
		if (p->hdr_prev > p->lim.max_header_bytes) {
			p->status = too_long(p);
			goto error;
		}
	}
	remember_tail(p, data, len);
	*used = len;
	return SRV_HTTP_NEED_MORE;

error:
	p->status = error_status(p, e, epos);
	p->dead = true;
	*status = p->status;
	*used = len;
	return SRV_HTTP_ERROR;
}

void
srv_http_parser_release(struct srv_http_parser *p)
{
	if (!p->complete)
		return;
	if (!p->keep_alive)
		p->closed = true;
	reset_message(p);
	llhttp_resume(&p->ll);
}

bool
srv_http_parser_expect_continue(struct srv_http_parser *p)
{
	bool e = p->expect_continue && !p->complete && !p->dead;
	p->expect_continue = false;
	return e;
}

bool
srv_http_parser_busy(const struct srv_http_parser *p)
{
	return p->started && !p->complete && !p->dead;
}

const char *
srv_http_header(const struct srv_http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}
