/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 server glue: listeners on the libuv loop, request parsing with
 * llhttp, optional TLS (OpenSSL over memory BIOs), keep-alive, pipelining
 * (responses strictly in request order), limits and timeouts. Knows nothing
 * about the REST API: every complete request goes to one handler callback,
 * which answers now or later with srv_http_respond().
 *
 * Two layers:
 *  - srv_http_parser (http_parse.c): pure, no I/O. Feed bytes, get complete
 *    requests or a protocol error with the status to send (400, 408 is the
 *    glue's, 413, 431, 505). Used by the glue and by the fuzz harness.
 *  - srv_http (http.c, http_tls.c): sockets, TLS, timers, connection caps.
 *
 * Limits are checked before anything is allocated for the request: header
 * bytes (request line + headers), header count, body bytes (Content-Length
 * above the cap is refused at once with 413, chunked bodies are counted as
 * they arrive).
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "server/config.h"

struct srv_http_limits {
	uint32_t max_header_bytes; /* request line + headers, default 8192 */
	uint32_t max_headers;	   /* header lines, default 64 */
	uint32_t max_body_bytes;   /* default 65536 */
};

struct srv_http_header {
	const char *name; /* as received (case kept); NUL-terminated */
	const char *value; /* leading/trailing whitespace trimmed */
};

/*
 * One parsed request. Every pointer points into memory owned by the
 * connection and stays valid until srv_http_respond() is called for it
 * (the handler may keep req until then, also across loop iterations).
 */
struct srv_http_req {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* target up to '?', not percent-decoded */
	const char *query;  /* after '?', or "" */
	const struct srv_http_header *headers;
	size_t nheaders;
	const uint8_t *body; /* NUL-terminated for convenience; may hold NULs */
	size_t body_len;
	bool keep_alive; /* as the client asked (HTTP/1.1 default yes) */
	/* the TCP peer (the proxy, when behind one) */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint64_t start_ms; /* monotonic ms when the first byte arrived */
	void *conn;	   /* opaque: the connection (for srv_http_respond) */
};

/* Case-insensitive header lookup: the first match, or NULL. */
const char *srv_http_header(const struct srv_http_req *req, const char *name);

/* ---- pure parser --------------------------------------------------- */

struct srv_http_parser;

enum srv_http_feed {
	SRV_HTTP_NEED_MORE = 0, /* all bytes consumed, no complete request */
	SRV_HTTP_REQUEST,	/* *req is complete; call again with the rest */
	SRV_HTTP_ERROR,		/* protocol error: send *status and close */
};

/* limits copied. Caller frees with srv_http_parser_free. */
struct srv_http_parser *
srv_http_parser_new(const struct srv_http_limits *limits);
void srv_http_parser_free(struct srv_http_parser *p);

/*
 * Feed len bytes. *used says how many were consumed (the rest, e.g. the
 * next pipelined request, must be fed again after the request has been
 * released). On SRV_HTTP_REQUEST, *req points into the parser; it stays
 * valid until srv_http_parser_release(). On SRV_HTTP_ERROR, *status is
 * the status to answer (400, 413, 414, 431, 501, 505) and the parser is
 * dead. After a request that does not keep the connection alive, further
 * bytes are discarded (NEED_MORE, *used = len: RFC 9112 §9.6).
 */
enum srv_http_feed srv_http_parser_feed(struct srv_http_parser *p,
					const uint8_t *data, size_t len,
					size_t *used, struct srv_http_req **req,
					int *status);
/* Done with the current request: its memory is reused for the next. */
void srv_http_parser_release(struct srv_http_parser *p);
/* Bytes received for a request not yet complete (0 = idle between
 * requests): the glue uses it to tell 408 from a quiet keep-alive close. */
bool srv_http_parser_busy(const struct srv_http_parser *p);
/* True once per request when its headers asked "Expect: 100-continue"
 * (HTTP/1.1, a body announced) and the body is not complete yet: the glue
 * then sends "100 Continue" (RFC 9110 §10.1.1). Clears the flag. */
bool srv_http_parser_expect_continue(struct srv_http_parser *p);

/* ---- server ---------------------------------------------------------- */

struct srv_http;

/*
 * The handler owns the request until it calls srv_http_respond() once,
 * now or later. If the connection dies first, the request stays valid
 * and srv_http_respond() just discards the response.
 */
typedef void (*srv_http_handler)(void *ctx, struct srv_http_req *req);

struct srv_http_opts {
	const struct srv_addr *listen;
	size_t nlisten;
	struct srv_http_limits limits;
	uint32_t read_timeout_ms;  /* a started request must complete: 10000 */
	uint32_t idle_timeout_ms;  /* keep-alive idle close: 60000 */
	uint32_t max_clients;	   /* open connections, default 512 */
	uint32_t max_requests;	   /* per connection, default 1000 */
	/* TLS: both set = TLS on every listener (PEM files) */
	const char *tls_cert;
	const char *tls_key;
	srv_http_handler handler;
	void *ctx;
};

/* Bind and listen; on failure nonzero, err names the address and reason,
 * nothing left open. TLS files are loaded here (error if unreadable). */
int srv_http_start(uv_loop_t *loop, const struct srv_http_opts *opts,
		   struct srv_http **out, char *err, size_t errlen);

/* Reload the TLS certificate and key (SIGHUP). On error the old ones stay
 * and err says why. 0 when TLS is off. */
int srv_http_reload_tls(struct srv_http *h, char *err, size_t errlen);

/* Close listeners and connections; pending requests still get their
 * srv_http_respond() (discarded). Frees h after libuv closed everything. */
void srv_http_stop(struct srv_http *h);

/*
 * Answer req (exactly once). status: 100..599. ctype: Content-Type or NULL
 * for none. extra: additional header lines, each ending in "\r\n", or
 * NULL. body/len copied. Adds Date?, Content-Length, Connection: close when
 * the connection will close. After this call req is invalid.
 */
void srv_http_respond(struct srv_http_req *req, int status, const char *ctype,
		      const char *extra, const void *body, size_t len);

struct srv_http_stats {
	uint64_t accepted, requests, rejected_clients;
	uint64_t errors_4xx_protocol; /* 400/408/413/431 from the parser */
};
const struct srv_http_stats *srv_http_stats(const struct srv_http *h);

/* The local port listener i (in opts->listen order) is bound to: useful
 * with port 0 (tests). The port, or AD_ENOENT / -errno. */
int srv_http_port(const struct srv_http *h, size_t i);

#endif
