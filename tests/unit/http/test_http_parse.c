/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of server/http_parse.c: complete requests fed at once, in
 * pipelines and one byte at a time; every limit (header count, header
 * bytes, target length, Content-Length announced and chunked growth); the
 * statuses chosen for malformed input, HTTP/2 and unsupported versions and
 * methods; the request smuggling checks (Content-Length with
 * Transfer-Encoding, duplicate Content-Length, obs-fold, bare LF); the
 * shape of the parsed request (OWS trimmed, query split, case-insensitive
 * lookup, keep-alive as asked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/http.h"

static const struct srv_http_limits lim_default = {
    .max_header_bytes = 8192,
    .max_headers = 64,
    .max_body_bytes = 65536,
};

static struct srv_http_parser *
mk(void)
{
	return srv_http_parser_new(&lim_default);
}

/* Feed s at once: the expected outcome, the bytes used, the status. */
static enum srv_http_feed
feed_str(struct srv_http_parser *p, const char *s, size_t *used,
	 struct srv_http_req **req, int *status)
{
	return srv_http_parser_feed(p, (const uint8_t *)s, strlen(s), used, req,
				    status);
}

/* Expect s (one request, nothing more) to parse completely. */
static struct srv_http_req *
parse_one(struct srv_http_parser *p, const char *s)
{
	size_t used;
	struct srv_http_req *req;
	int status;
	enum srv_http_feed r = feed_str(p, s, &used, &req, &status);
	assert_int_equal(r, SRV_HTTP_REQUEST);
	assert_int_equal(used, strlen(s));
	assert_non_null(req);
	return req;
}

/* Expect s to fail with status, whether fed at once or byte by byte. */
static void
expect_error_lim(const struct srv_http_limits *lim, const char *s, int want)
{
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct srv_http_parser *p = srv_http_parser_new(lim);
		size_t used, len = strlen(s), off = 0;
		struct srv_http_req *req;
		int status = 0;
		enum srv_http_feed r = SRV_HTTP_NEED_MORE;
		while (off < len) {
			size_t n = bytewise ? 1 : len - off;
			r = srv_http_parser_feed(p, (const uint8_t *)s + off, n,
						 &used, &req, &status);
			if (r != SRV_HTTP_NEED_MORE)
				break;
			off += used;
		}
		if (r != SRV_HTTP_ERROR || status != want)
			fprintf(stderr, "input %.60s...: r=%d status=%d (%s)\n",
				s, r, status, bytewise ? "bytewise" : "whole");
		assert_int_equal(r, SRV_HTTP_ERROR);
		assert_int_equal(status, want);
		/* dead: stays an error */
		r = srv_http_parser_feed(p, (const uint8_t *)"GET", 3, &used,
					 &req, &status);
		assert_int_equal(r, SRV_HTTP_ERROR);
		assert_int_equal(status, want);
		srv_http_parser_free(p);
	}
}

static void
expect_error(const char *s, int want)
{
	expect_error_lim(&lim_default, s, want);
}

static void
test_simple_get(void **state)
{
	(void)state;
	struct srv_http_parser *p = mk();
	assert_false(srv_http_parser_busy(p));
	struct srv_http_req *req =
	    parse_one(p, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_string_equal(req->method, "GET");
	assert_string_equal(req->path, "/health");
	assert_string_equal(req->query, "");
	assert_int_equal(req->nheaders, 1);
	assert_string_equal(req->headers[0].name, "Host");
	assert_string_equal(req->headers[0].value, "x");
	assert_int_equal(req->body_len, 0);
	assert_non_null(req->body);
	assert_int_equal(req->body[0], 0);
	assert_true(req->keep_alive);
	assert_false(srv_http_parser_busy(p));
	srv_http_parser_release(p);
	/* the parser is reusable */
	req = parse_one(p, "HEAD / HTTP/1.1\r\nHost: y\r\n\r\n");
	assert_string_equal(req->method, "HEAD");
	assert_string_equal(srv_http_header(req, "host"), "y");
	srv_http_parser_release(p);
	srv_http_parser_free(p);
}

static void
test_post_content_length(void **state)
{
	(void)state;
	struct srv_http_parser *p = mk();
	const char *body = "{\"subdomain\": "
			   "\"8e5700ea-a4bf-41c7-8a77-e990661dcc6a\", "
			   "\"txt\": \"___validation_token\"}";
	char s[1024];
	snprintf(s, sizeof(s),
		 "POST /update HTTP/1.1\r\n"
		 "Host: auth.example.org\r\n"
		 "X-Api-User: c36f50e8-4632-44f0-83fe-e070fef28a10\r\n"
		 "X-Api-Key: htB9mR9DYgcu9bX_afHF62erXaH2TS7bg9KW3F7Z\r\n"
		 "Content-Type: application/json\r\n"
		 "Content-Length: %zu\r\n"
		 "\r\n%s",
		 strlen(body), body);
	struct srv_http_req *req = parse_one(p, s);
	assert_string_equal(req->method, "POST");
	assert_string_equal(req->path, "/update");
	assert_int_equal(req->nheaders, 5);
	assert_string_equal(srv_http_header(req, "x-api-user"),
			    "c36f50e8-4632-44f0-83fe-e070fef28a10");
	assert_string_equal(srv_http_header(req, "X-API-KEY"),
			    "htB9mR9DYgcu9bX_afHF62erXaH2TS7bg9KW3F7Z");
	assert_null(srv_http_header(req, "X-Api"));
	assert_int_equal(req->body_len, strlen(body));
	assert_memory_equal(req->body, body, strlen(body) + 1);
	srv_http_parser_release(p);
	srv_http_parser_free(p);
}

static void
test_chunked(void **state)
{
	(void)state;
	struct srv_http_parser *p = mk();
	struct srv_http_req *req =
	    parse_one(p, "POST /register HTTP/1.1\r\nHost: h\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n"
			 "5\r\nhello\r\n"
			 "1;ext=1\r\n \r\n"
			 "5\r\nworld\r\n"
			 "0\r\nX-Trailer: dropped\r\n\r\n");
	assert_int_equal(req->body_len, 11);
	assert_memory_equal(req->body, "hello world", 11);
	assert_int_equal(req->body[11], 0);
	assert_int_equal(req->nheaders, 2); /* trailers are not headers */
	assert_null(srv_http_header(req, "X-Trailer"));
	srv_http_parser_release(p);
	srv_http_parser_free(p);
}

static void
test_pipelined(void **state)
{
	(void)state;
	struct srv_http_parser *p = mk();
	const char *r1 = "POST /a?x=1 HTTP/1.1\r\nHost: h\r\n"
			 "Content-Length: 3\r\n\r\nabc";
	const char *r2 = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
	const char *r3 =
	    "POST /c HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n";
	const char *r4 = "GET /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
			 "\r\n";
	const char *r5 = "GET /ignored HTTP/1.1\r\nHost: h\r\n\r\n";
	char all[1024];
	snprintf(all, sizeof(all), "%s%s%s%s%s", r1, r2, r3, r4, r5);
	const uint8_t *d = (const uint8_t *)all;
	size_t len = strlen(all), used;
	struct srv_http_req *req;
	int status;

	assert_int_equal(srv_http_parser_feed(p, d, len, &used, &req, &status),
			 SRV_HTTP_REQUEST);
	assert_int_equal(used, strlen(r1));
	assert_string_equal(req->path, "/a");
	assert_string_equal(req->query, "x=1");
	assert_int_equal(req->body_len, 3);
	assert_memory_equal(req->body, "abc", 3);
	/* fed again before release: contract violation, refused */
	size_t u2;
	assert_int_equal(
	    srv_http_parser_feed(p, d + used, len - used, &u2, &req, &status),
	    SRV_HTTP_ERROR);
	assert_int_equal(u2, 0);
	srv_http_parser_release(p);
	d += used;
	len -= used;

	assert_int_equal(srv_http_parser_feed(p, d, len, &used, &req, &status),
			 SRV_HTTP_REQUEST);
	assert_int_equal(used, strlen(r2));
	assert_string_equal(req->path, "/b");
	assert_int_equal(req->body_len, 0);
	srv_http_parser_release(p);
	d += used;
	len -= used;

	assert_int_equal(srv_http_parser_feed(p, d, len, &used, &req, &status),
			 SRV_HTTP_REQUEST);
	assert_int_equal(used, strlen(r3));
	assert_string_equal(req->path, "/c");
	assert_int_equal(req->body_len, 2);
	assert_true(req->keep_alive);
	srv_http_parser_release(p);
	d += used;
	len -= used;

	assert_int_equal(srv_http_parser_feed(p, d, len, &used, &req, &status),
			 SRV_HTTP_REQUEST);
	assert_int_equal(used, strlen(r4));
	assert_string_equal(req->path, "/d");
	assert_false(req->keep_alive);
	srv_http_parser_release(p);
	d += used;
	len -= used;

	/* RFC 9112 §9.6: nothing after "Connection: close" is processed */
	assert_int_equal(len, strlen(r5));
	assert_int_equal(srv_http_parser_feed(p, d, len, &used, &req, &status),
			 SRV_HTTP_NEED_MORE);
	assert_int_equal(used, len);
	assert_null(req);
	srv_http_parser_free(p);
}

/* Feed a request one byte at a time, also across pipelined requests:
 * every piece boundary (name, value, target, version, chunk) is hit. */
static void
test_bytewise(void **state)
{
	(void)state;
	const char *s = "POST /update?a=b&c HTTP/1.1\r\n"
			"Host:   auth.example.org  \r\n"
			"X-Api-User:\tuser\t\r\n"
			"X-Empty:\r\n"
			"X-Api-Key: key with inner  spaces\r\n"
			"Content-Length: 5\r\n"
			"\r\n"
			"hello"
			"PUT /two HTTP/1.0\r\n"
			"Transfer-Encoding-X: no\r\n"
			"\r\n";
	struct srv_http_parser *p = mk();
	size_t len = strlen(s), off = 0, used;
	struct srv_http_req *req = NULL;
	int status, got = 0;

	while (off < len) {
		enum srv_http_feed r = srv_http_parser_feed(
		    p, (const uint8_t *)s + off, 1, &used, &req, &status);
		assert_int_not_equal(r, SRV_HTTP_ERROR);
		assert_int_equal(used, 1);
		off++;
		if (r == SRV_HTTP_NEED_MORE) {
			assert_true(srv_http_parser_busy(p));
			continue;
		}
		got++;
		if (got == 1) {
			assert_int_equal(off, strstr(s, "hello") + 5 - s);
			assert_string_equal(req->method, "POST");
			assert_string_equal(req->path, "/update");
			assert_string_equal(req->query, "a=b&c");
			assert_int_equal(req->nheaders, 5);
			assert_string_equal(req->headers[0].value,
					    "auth.example.org");
			assert_string_equal(req->headers[1].name, "X-Api-User");
			assert_string_equal(req->headers[1].value, "user");
			assert_string_equal(req->headers[2].name, "X-Empty");
			assert_string_equal(req->headers[2].value, "");
			assert_string_equal(srv_http_header(req, "x-api-key"),
					    "key with inner  spaces");
			assert_int_equal(req->body_len, 5);
			assert_memory_equal(req->body, "hello", 6);
			assert_true(req->keep_alive);
		} else {
			assert_int_equal(off, len);
			assert_string_equal(req->method, "PUT");
			assert_string_equal(req->path, "/two");
			assert_int_equal(req->nheaders, 1);
			/* HTTP/1.0 without keep-alive */
			assert_false(req->keep_alive);
		}
		assert_false(srv_http_parser_busy(p));
		srv_http_parser_release(p);
	}
	assert_int_equal(got, 2);
	srv_http_parser_free(p);
}

/* Splitting at every point into two feeds gives the same request. */
static void
test_every_split(void **state)
{
	(void)state;
	const char *s =
	    "POST /register HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
	    "3;q=\"x\"\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
	size_t len = strlen(s);
	for (size_t cut = 0; cut <= len; cut++) {
		struct srv_http_parser *p = mk();
		size_t used;
		struct srv_http_req *req;
		int status;
		enum srv_http_feed r = srv_http_parser_feed(
		    p, (const uint8_t *)s, cut, &used, &req, &status);
		if (cut < len) {
			assert_int_equal(r, SRV_HTTP_NEED_MORE);
			assert_int_equal(used, cut);
			r = srv_http_parser_feed(p, (const uint8_t *)s + cut,
						 len - cut, &used, &req,
						 &status);
			assert_int_equal(used, len - cut);
		}
		assert_int_equal(r, SRV_HTTP_REQUEST);
		assert_string_equal(req->path, "/register");
		assert_string_equal(srv_http_header(req, "x-a"), "1");
		assert_int_equal(req->body_len, 19);
		assert_memory_equal(req->body, "abc0123456789abcdef", 19);
		srv_http_parser_release(p);
		srv_http_parser_free(p);
	}
}

static void
test_too_many_headers(void **state)
{
	(void)state;
	char s[4096];
	size_t n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "X-%d: v\r\n", i);
	snprintf(s + n, sizeof(s) - n, "\r\n");
	expect_error(s, 431);

	/* exactly 64 (Host included) is fine */
	n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 63; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "X-%d: v\r\n", i);
	snprintf(s + n, sizeof(s) - n, "\r\n");
	struct srv_http_parser *p = mk();
	struct srv_http_req *req = parse_one(p, s);
	assert_int_equal(req->nheaders, 64);
	srv_http_parser_free(p);
}

static void
test_header_bytes(void **state)
{
	(void)state;
	size_t big = 9000;
	char *s = malloc(big + 100);
	assert_non_null(s);
	int n = snprintf(s, 100, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
	memset(s + n, 'a', big);
	strcpy(s + n + big, "\r\n\r\n");
	expect_error(s, 431);

	/* many small headers adding up */
	struct srv_http_limits lim = {
	    .max_header_bytes = 200, .max_headers = 100, .max_body_bytes = 10};
	snprintf(s, big, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 20; i++)
		strcat(s, "X-Abc: 0123456\r\n");
	strcat(s, "\r\n");
	expect_error_lim(&lim, s, 431);

	/* spaces without a value are bytes of the section too */
	memset(s, 0, big);
	strcpy(s, "GET / HTTP/1.1\r\nHost: h\r\nX-Sp:");
	memset(s + strlen(s), ' ', 300);
	strcat(s, "\r\n\r\n");
	expect_error_lim(&lim, s, 431);

	/* a target alone over the limit: 414 */
	memset(s, 0, big);
	strcpy(s, "GET /");
	memset(s + 5, 'u', 300);
	strcat(s, " HTTP/1.1\r\nHost: h\r\n\r\n");
	expect_error_lim(&lim, s, 414);

	/* just under the limit passes */
	memset(s, 0, big);
	strcpy(s, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	size_t l = strlen(s);
	memset(s + l, 'v', 200 - l - 4);
	strcat(s, "\r\n\r\n");
	assert_int_equal(strlen(s), 200);
	struct srv_http_parser *p = srv_http_parser_new(&lim);
	parse_one(p, s);
	srv_http_parser_free(p);
	free(s);
}

/* 413 as soon as the headers end: the body never arrives. */
static void
test_content_length_too_big(void **state)
{
	(void)state;
	struct srv_http_parser *p = mk();
	size_t used;
	struct srv_http_req *req;
	int status;
	enum srv_http_feed r = feed_str(p,
					"POST /update HTTP/1.1\r\nHost: h\r\n"
					"Content-Length: 10000000\r\n\r\n",
					&used, &req, &status);
	assert_int_equal(r, SRV_HTTP_ERROR);
	assert_int_equal(status, 413);
	srv_http_parser_free(p);

	/* exactly the cap is fine */
	struct srv_http_limits lim = {
	    .max_header_bytes = 8192, .max_headers = 64, .max_body_bytes = 4};
	p = srv_http_parser_new(&lim);
	req = parse_one(p, "POST / HTTP/1.1\r\nHost: h\r\n"
			   "Content-Length: 4\r\n\r\nabcd");
	assert_int_equal(req->body_len, 4);
	srv_http_parser_free(p);
	expect_error_lim(&lim,
			 "POST / HTTP/1.1\r\nHost: h\r\n"
			 "Content-Length: 5\r\n\r\nabcde",
			 413);
	/* overflowing values are malformed */
	expect_error("POST / HTTP/1.1\r\nHost: h\r\n"
		     "Content-Length: 99999999999999999999999\r\n\r\n",
		     400);
	expect_error("POST / HTTP/1.1\r\nHost: h\r\n"
		     "Content-Length: -1\r\n\r\n",
		     400);
}

static void
test_chunked_too_big(void **state)
{
	(void)state;
	struct srv_http_limits lim = {
	    .max_header_bytes = 8192, .max_headers = 64, .max_body_bytes = 10};
	/* small chunks adding up past the cap */
	expect_error_lim(&lim,
			 "POST / HTTP/1.1\r\nHost: h\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n"
			 "4\r\nabcd\r\n4\r\nefgh\r\n4\r\nijkl\r\n0\r\n\r\n",
			 413);
	/* one chunk announcing too much: refused before its data */
	struct srv_http_parser *p = srv_http_parser_new(&lim);
	size_t used;
	struct srv_http_req *req;
	int status;
	assert_int_equal(feed_str(p,
				  "POST / HTTP/1.1\r\nHost: h\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n"
				  "fffffff\r\n",
				  &used, &req, &status),
			 SRV_HTTP_ERROR);
	assert_int_equal(status, 413);
	srv_http_parser_free(p);
	/* endless chunk extensions count as body */
	char s[512] = "POST / HTTP/1.1\r\nHost: h\r\n"
		      "Transfer-Encoding: chunked\r\n\r\n1;";
	memset(s + strlen(s), 'e', 100);
	strcat(s, "\r\nx\r\n0\r\n\r\n");
	expect_error_lim(&lim, s, 413);
	/* exactly the cap is fine */
	p = srv_http_parser_new(&lim);
	req = parse_one(p, "POST / HTTP/1.1\r\nHost: h\r\n"
			   "Transfer-Encoding: chunked\r\n\r\n"
			   "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n");
	assert_int_equal(req->body_len, 10);
	srv_http_parser_free(p);
}

static void
test_garbage(void **state)
{
	(void)state;
	expect_error("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400);
	expect_error("hello world\r\n\r\n", 400);
	expect_error("GET\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\nHost h\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\n: empty-name\r\nHost: h\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\nHo st: h\r\n\r\n", 400);
	expect_error("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	/* bare LF (strict mode) */
	expect_error("GET / HTTP/1.1\nHost: h\n\n", 400);
	expect_error("GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
	/* obs-fold (RFC 9112 §5.2) */
	expect_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 400);
	/* unknown method token */
	expect_error("FOO / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	/* known methods we do not serve: 501 */
	expect_error("TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
	expect_error("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 501);
	expect_error("PROPFIND / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
	/* not HTTP: RTSP and ICE request lines */
	expect_error("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n", 400);
	expect_error("SOURCE / ICE/1.0\r\n\r\n", 501);
	/* bad chunk framing */
	expect_error("POST / HTTP/1.1\r\nHost: h\r\n"
		     "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
		     400);
	expect_error("POST / HTTP/1.1\r\nHost: h\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
		     400);
	/* endless CRLFs between requests are no request either */
	char s[9000];
	memset(s, 0, sizeof(s));
	for (size_t i = 0; i + 2 < sizeof(s) - 1; i += 2)
		memcpy(s + i, "\r\n", 2);
	expect_error(s, 400);
}

/* The HTTP/2 preface (RFC 9113 §3.4) and versions other than 1.0/1.1 get
 * 505: we speak HTTP/1.x only. */
static void
test_versions(void **state)
{
	(void)state;
	expect_error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
	expect_error("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
	expect_error("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
	expect_error("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505);
	expect_error("GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505);
	expect_error("GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400);
	/* HTTP/0.9 (no version): llhttp calls it 0.9 */
	expect_error("GET /\r\n\r\n", 505);

	struct srv_http_parser *p = mk();
	struct srv_http_req *req = parse_one(p, "GET / HTTP/1.0\r\n\r\n");
	assert_false(req->keep_alive); /* 1.0 default: close */
	srv_http_parser_free(p);

	p = mk();
	req = parse_one(p, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_true(req->keep_alive);
	srv_http_parser_free(p);

	p = mk();
	req = parse_one(p, "GET / HTTP/1.1\r\nHost: h\r\n"
			   "Connection: close\r\n\r\n");
	assert_false(req->keep_alive);
	srv_http_parser_free(p);

	/* an Upgrade we do not perform: served, then closed */
	p = mk();
	req = parse_one(p, "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
			   "Connection: Upgrade\r\n\r\n");
	assert_false(req->keep_alive);
	srv_http_parser_free(p);
}

/* RFC 9112 §6.3 and §3.2: the request smuggling vectors. */
static void
test_smuggling(void **state)
{
	(void)state;
	expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		     400);
	expect_error("POST / HTTP/1.1\r\nHost: h\r\n"
		     "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"
		     "\r\n0\r\n\r\n",
		     400);
	expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
		     "Content-Length: 3\r\n\r\nabc",
		     400);
	expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
		     "Content-Length: 4\r\n\r\nabcd",
		     400);
	expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n"
		     "\r\nabc",
		     400);
	expect_error("POST / HTTP/1.1\r\nHost: h\r\n"
		     "Transfer-Encoding: gzip\r\n\r\nabc",
		     400);
	expect_error("POST / HTTP/1.1\r\nHost: h\r\n"
		     "Transfer-Encoding: chunked, gzip\r\n\r\nabc",
		     400);
	expect_error("POST / HTTP/1.0\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		     400);
	expect_error("POST / HTTP/1.1\r\nHost: h\r\n"
		     "Content-Length : 3\r\n\r\nabc",
		     400);
	/* Host: missing or twice in 1.1 */
	expect_error("GET / HTTP/1.1\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
}

static void
test_nul_byte(void **state)
{
	(void)state;
	static const char v[] =
	    "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n";
	static const char n[] = "GET / HTTP/1.1\r\nHost: h\r\nX-\0A: a\r\n\r\n";
	static const char u[] = "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";
	const char *cases[] = {v, n, u};
	size_t lens[] = {sizeof(v) - 1, sizeof(n) - 1, sizeof(u) - 1};
	for (size_t i = 0; i < 3; i++) {
		struct srv_http_parser *p = mk();
		size_t used;
		struct srv_http_req *req;
		int status;
		assert_int_equal(
		    srv_http_parser_feed(p, (const uint8_t *)cases[i], lens[i],
					 &used, &req, &status),
		    SRV_HTTP_ERROR);
		assert_int_equal(status, 400);
		srv_http_parser_free(p);
	}
	/* a NUL inside the body is data */
	static const char b[] = "POST / HTTP/1.1\r\nHost: h\r\n"
				"Content-Length: 3\r\n\r\na\0b";
	struct srv_http_parser *p = mk();
	size_t used;
	struct srv_http_req *req;
	int status;
	assert_int_equal(srv_http_parser_feed(p, (const uint8_t *)b,
					      sizeof(b) - 1, &used, &req,
					      &status),
			 SRV_HTTP_REQUEST);
	assert_int_equal(req->body_len, 3);
	assert_memory_equal(req->body, "a\0b", 4);
	srv_http_parser_free(p);
}

static void
test_target_forms(void **state)
{
	(void)state;
	struct srv_http_parser *p = mk();
	struct srv_http_req *req =
	    parse_one(p, "GET /a/b?c=d?e HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_string_equal(req->path, "/a/b");
	assert_string_equal(req->query, "c=d?e");
	srv_http_parser_release(p);
	req = parse_one(p, "GET /x? HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_string_equal(req->path, "/x");
	assert_string_equal(req->query, "");
	srv_http_parser_release(p);
	/* absolute-form (RFC 9112 §3.2.2) */
	req = parse_one(p, "GET http://h:80/p/q?z HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_string_equal(req->path, "/p/q");
	assert_string_equal(req->query, "z");
	srv_http_parser_release(p);
	req = parse_one(p, "GET HTTPS://h?z HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_string_equal(req->path, "/");
	assert_string_equal(req->query, "z");
	srv_http_parser_release(p);
	req = parse_one(p, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_string_equal(req->method, "OPTIONS");
	assert_string_equal(req->path, "*");
	srv_http_parser_release(p);
	srv_http_parser_free(p);
}

/* RFC 9110 §10.1.1: asked once the headers are in, only when a body is
 * still to come, only in HTTP/1.1. */
static void
test_expect_continue(void **state)
{
	(void)state;
	struct srv_http_parser *p = mk();
	size_t used;
	struct srv_http_req *req;
	int status;
	assert_int_equal(feed_str(p,
				  "POST /update HTTP/1.1\r\nHost: h\r\n"
				  "Expect: 100-Continue\r\n"
				  "Content-Length: 2\r\n\r\n",
				  &used, &req, &status),
			 SRV_HTTP_NEED_MORE);
	assert_true(srv_http_parser_expect_continue(p));
	assert_false(srv_http_parser_expect_continue(p)); /* once */
	assert_int_equal(feed_str(p, "{}", &used, &req, &status),
			 SRV_HTTP_REQUEST);
	assert_false(srv_http_parser_expect_continue(p));
	srv_http_parser_release(p);
	/* no body: nothing to wait for */
	assert_int_equal(feed_str(p,
				  "GET / HTTP/1.1\r\nHost: h\r\n"
				  "Expect: 100-continue\r\n\r\n",
				  &used, &req, &status),
			 SRV_HTTP_REQUEST);
	assert_false(srv_http_parser_expect_continue(p));
	srv_http_parser_release(p);
	/* HTTP/1.0 clients do not wait (RFC 9110 §10.1.1) */
	srv_http_parser_free(p);
	p = mk();
	assert_int_equal(feed_str(p,
				  "POST / HTTP/1.0\r\nExpect: 100-continue\r\n"
				  "Content-Length: 2\r\n\r\n",
				  &used, &req, &status),
			 SRV_HTTP_NEED_MORE);
	assert_false(srv_http_parser_expect_continue(p));
	srv_http_parser_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple_get),
	    cmocka_unit_test(test_post_content_length),
	    cmocka_unit_test(test_chunked),
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_bytewise),
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_too_many_headers),
	    cmocka_unit_test(test_header_bytes),
	    cmocka_unit_test(test_content_length_too_big),
	    cmocka_unit_test(test_chunked_too_big),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_smuggling),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_target_forms),
	    cmocka_unit_test(test_expect_continue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
