/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for server/http_parse.c: untrusted bytes through the
 * pure HTTP/1.1 parser, exactly as the server glue feeds it (every
 * pipelined request returned, then released, the rest fed again).
 *
 * The input is the byte stream of one connection, so corpus files are
 * plain HTTP. It is parsed three ways with small limits (1024 header
 * bytes, 16 headers, 4096 body bytes):
 *  - in two feeds, cut at a point derived from the data;
 *  - in one feed;
 *  - one byte per feed (inputs up to 2 KiB).
 * Besides memory errors the harness aborts when a result breaks the
 * contract of http.h: *used beyond the bytes given, NEED_MORE without
 * consuming everything, an error status outside 400/413/414/431/501/505,
 * a request over a limit (header count, header bytes, body bytes), strings
 * not NUL-terminated, values with surrounding whitespace or CR/LF, a
 * path with '?', a body without its NUL, no progress; or when the three
 * ways disagree on the requests found (method, path, query, headers,
 * body, keep-alive) or on whether the stream ended in an error. Splitting
 * must never change what a request means: that is what request smuggling
 * is made of. The error status itself may differ when a stream has two
 * faults close together (a 17th header whose name also holds a bad byte):
 * llhttp reports some faults only at the end of a token, so which one is
 * seen first depends on the cut. http_parse.c orders the header-size limit
 * by position, so the common case agrees anyway.
 */
#include "server/http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct srv_http_limits lim = {
    .max_header_bytes = 1024,
    .max_headers = 16,
    .max_body_bytes = 4096,
};

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			check_failed(#cond, __LINE__);                         \
	} while (0)

static void
check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_http.c:%d: invariant broken: %s\n", line, what);
	abort();
}

/* What a run saw, reduced to a digest to compare runs. */
struct outcome {
	unsigned nreq;
	int status; /* 0: no error */
	uint64_t digest;
};

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull; /* FNV-1a */
	return (h ^ 0xff) * 0x100000001b3ull;      /* field separator */
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static void
check_string(const char *s, size_t max)
{
	CHECK(s != NULL);
	size_t n = strlen(s); /* ASan: terminated inside the buffer */
	CHECK(n <= max);
}

static void
check_request(const struct srv_http_req *r, struct outcome *o)
{
	size_t hbytes = 0;

	CHECK(r->method != NULL);
	CHECK(strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0 ||
	      strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
	      strcmp(r->method, "DELETE") == 0 ||
	      strcmp(r->method, "OPTIONS") == 0 ||
	      strcmp(r->method, "PATCH") == 0);
	check_string(r->path, lim.max_header_bytes);
	check_string(r->query, lim.max_header_bytes);
	CHECK(strchr(r->path, '?') == NULL);
	CHECK(r->path[0] != '\0');
	CHECK(r->nheaders <= lim.max_headers);
	CHECK(r->nheaders == 0 || r->headers != NULL);
	for (size_t i = 0; i < r->nheaders; i++) {
		const char *n = r->headers[i].name, *v = r->headers[i].value;
		check_string(n, lim.max_header_bytes);
		check_string(v, lim.max_header_bytes);
		CHECK(n[0] != '\0');
		CHECK(strpbrk(n, " \t\r\n:") == NULL);
		CHECK(strpbrk(v, "\r\n") == NULL);
		size_t vl = strlen(v);
		CHECK(vl == 0 || (!is_ows(v[0]) && !is_ows(v[vl - 1])));
		hbytes += strlen(n) + vl;
		CHECK(srv_http_header(r, n) != NULL);
	}
	CHECK(hbytes + strlen(r->path) + strlen(r->query) <=
	      lim.max_header_bytes);
	CHECK(r->body != NULL);
	CHECK(r->body_len <= lim.max_body_bytes);
	CHECK(r->body[r->body_len] == 0);

	o->nreq++;
	uint64_t h = o->digest;
	h = mix(h, r->method, strlen(r->method));
	h = mix(h, r->path, strlen(r->path));
	h = mix(h, r->query, strlen(r->query));
	for (size_t i = 0; i < r->nheaders; i++) {
		h = mix(h, r->headers[i].name, strlen(r->headers[i].name));
		h = mix(h, r->headers[i].value, strlen(r->headers[i].value));
	}
	h = mix(h, r->body, r->body_len);
	h = mix(h, &r->keep_alive, sizeof(r->keep_alive));
	o->digest = h;
}

/* Feed [d, d+n) like the glue does: every request, then the rest. false
 * when the stream ended in an error (o->status set). */
static bool
feed_part(struct srv_http_parser *p, const uint8_t *d, size_t n,
	  struct outcome *o)
{
	size_t off = 0, rounds = 0;

	while (off < n) {
		size_t used = 12345;
		struct srv_http_req *req = (void *)1;
		int status = -1;
		enum srv_http_feed r = srv_http_parser_feed(
		    p, d + off, n - off, &used, &req, &status);
		CHECK(++rounds <= n + 2); /* progress */
		CHECK(used <= n - off);
		switch (r) {
		case SRV_HTTP_NEED_MORE:
			CHECK(used == n - off);
			CHECK(req == NULL);
			off += used;
			break;
		case SRV_HTTP_REQUEST:
			CHECK(req != NULL);
			CHECK(!srv_http_parser_busy(p));
			check_request(req, o);
			off += used;
			srv_http_parser_release(p);
			break;
		case SRV_HTTP_ERROR:
			CHECK(status == 400 || status == 413 || status == 414 ||
			      status == 431 || status == 501 || status == 505);
			CHECK(!srv_http_parser_busy(p));
			o->status = status;
			/* dead: stays an error */
			r = srv_http_parser_feed(p, (const uint8_t *)"x", 1,
						 &used, &req, &status);
			CHECK(r == SRV_HTTP_ERROR && status == o->status);
			return false;
		default:
			CHECK(!"unknown result");
		}
	}
	return true;
}

static void
run(const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts,
    struct outcome *o)
{
	struct srv_http_parser *p = srv_http_parser_new(&lim);
	size_t prev = 0;

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : size;
		if (!feed_part(p, data + prev, end - prev, o))
			break;
		prev = end;
	}
	srv_http_parser_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, two, bytewise;
	uint64_t h = mix(0xcbf29ce484222325ull, data, size);
	size_t cut = size ? (size_t)(h % (size + 1)) : 0;

	run(data, size, NULL, 0, &whole);
	run(data, size, &cut, 1, &two);
	CHECK(whole.nreq == two.nreq);
	CHECK(whole.digest == two.digest);
	CHECK(!whole.status == !two.status);

	if (size <= 2048) {
		size_t *cuts = malloc((size ? size : 1) * sizeof(*cuts));
		if (!cuts)
			abort();
		for (size_t i = 0; i < size; i++)
			cuts[i] = i + 1;
		run(data, size, cuts, size ? size - 1 : 0, &bytewise);
		free(cuts);
		CHECK(whole.nreq == bytewise.nreq);
		CHECK(whole.digest == bytewise.digest);
		CHECK(!whole.status == !bytewise.status);
	}
	return 0;
}
