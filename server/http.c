/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 server glue on libuv: listeners, connections, timers, response
 * framing. Parsing is http_parse.c's, TLS is http_tls.c's, what a request
 * means is the handler's: this file moves bytes and enforces the limits of
 * a connection. It does no per-request logging (the API layer does).
 *
 * One request at a time per connection (RFC 9112 §9.3.2): when the parser
 * returns a request, feeding and reading stop until the handler answered
 * with srv_http_respond(), now or later; pipelined bytes wait in the
 * connection's input buffer. So responses leave in request order without
 * a reorder queue, and a client cannot make us hold more than one request
 * plus one read of input.
 *
 * Timers (one per connection, never restarted by raw bytes):
 *  - read: from the first byte of a request (or the TCP accept, with TLS:
 *    the handshake) until the request is complete; then 408 and close. A
 *    client that trickles bytes gains nothing (slowloris);
 *  - idle: between requests; silent close. Also bounds a client that
 *    stops reading its responses;
 *  - drain: the final response must leave within the idle timeout;
 *  - linger: after an error response and shutdown(), unread input is
 *    discarded for a moment so the client gets the response, not a reset.
 *
 * Memory: connection structs embed their handles and are freed only after
 * the close callbacks ran and no request is with the handler (refs). The
 * server struct is freed when stopped and the last connection is gone, so
 * srv_http_respond() on an orphaned request stays safe even after stop.
 */
#include "server/http_int.h"

#include "common/errors.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xalloc.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG "http"

struct http_wreq {
	uv_write_t w;
	struct http_conn *c;
	size_t len;
	uint8_t data[];
};

static void conn_update(struct http_conn *c);
static void conn_drive(struct http_conn *c);
static void begin_drain(struct http_conn *c);

/* ---- lifetime ---------------------------------------------------------- */

static void
srv_maybe_free(struct srv_http *h)
{
	if (!h->stopping || h->pending_closes || h->nalloc)
		return;
	SSL_CTX_free(h->tls);
	free(h->tls_cert);
	free(h->tls_key);
	free(h->ls);
	free(h->rbuf);
	free(h->tlsbuf);
	free(h);
}

static void
conn_unref(struct http_conn *c)
{
	struct srv_http *h = c->srv;
	if (--c->refs)
		return;
	srv_http_parser_free(c->parser);
	free(c->in);
	SSL_free(c->ssl); /* frees both BIOs, drops the SSL_CTX reference */
	free(c);
	h->nalloc--;
	srv_maybe_free(h);
}

static void
lru_unlink(struct srv_http *h, struct http_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		h->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		h->tail = c->prev;
	c->prev = c->next = NULL;
}

static void
lru_push(struct srv_http *h, struct http_conn *c)
{
	c->prev = h->tail;
	c->next = NULL;
	if (h->tail)
		h->tail->next = c;
	else
		h->head = c;
	h->tail = c;
}

static void
on_timer_closed(uv_handle_t *hd)
{
	conn_unref(hd->data);
}

static void
on_tcp_closed(uv_handle_t *hd)
{
	struct http_conn *c = hd->data;
	uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

void
srv_http__conn_close(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	lru_unlink(c->srv, c);
	c->srv->nconns--;
	uv_timer_stop(&c->timer);
	c->reading = false;
	uv_close((uv_handle_t *)&c->h, on_tcp_closed);
}

/* ---- timers and reading -------------------------------------------------- */

static void on_timer(uv_timer_t *t);
static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Arm the timer for a new phase; staying in a phase never re-arms it. */
static void
set_timer(struct http_conn *c, enum http_tm mode)
{
	uint64_t ms = 0;

	if (c->tmode == mode)
		return;
	c->tmode = mode;
	switch (mode) {
	case TM_NONE:
		uv_timer_stop(&c->timer);
		return;
	case TM_READ:
		ms = c->srv->opts.read_timeout_ms;
		break;
	case TM_IDLE:
	case TM_DRAIN:
		ms = c->srv->opts.idle_timeout_ms;
		break;
	case TM_LINGER:
		ms = AD_MIN(HTTP_LINGER_MS, c->srv->opts.read_timeout_ms);
		break;
	}
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void
set_reading(struct http_conn *c, bool on)
{
	if (on == c->reading || c->closing)
		return;
	if (on) {
		if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) <
		    0) {
			srv_http__conn_close(c);
			return;
		}
	} else {
		uv_read_stop((uv_stream_t *)&c->h);
	}
	c->reading = on;
}

/* Bring reading and the timer in line with the connection's state. */
static void
conn_update(struct http_conn *c)
{
	if (c->closing || c->shut)
		return;
	if (c->draining) {
		set_reading(c, false);
		set_timer(c, TM_DRAIN);
		return;
	}
	if (c->eof && !c->outstanding) {
		/* nothing more can arrive: finish what is queued */
		begin_drain(c);
		return;
	}
	/* hysteresis: stop above HIGH, resume below HIGH/2 */
	bool rd =
	    !c->eof && !c->outstanding &&
	    c->out_pending <= (c->reading ? HTTP_OUT_HIGH : HTTP_OUT_HIGH / 2);
	set_reading(c, rd);
	if (c->closing)
		return;
	if (c->ssl && !c->hs_done)
		set_timer(c, TM_READ);
	else if (c->outstanding)
		set_timer(c,
			  TM_NONE); /* the handler's time, not the client's */
	else if (srv_http_parser_busy(c->parser))
		set_timer(c, TM_READ);
	else
		set_timer(c, TM_IDLE);
}

/* ---- writing ----------------------------------------------------------- */

static void start_shutdown(struct http_conn *c);

static void
on_write(uv_write_t *w, int status)
{
	struct http_wreq *wr = (struct http_wreq *)w;
	struct http_conn *c = wr->c;

	c->out_pending -= wr->len;
	free(wr);
	if (c->closing)
		return;
	if (status < 0) {
		srv_http__conn_close(c);
		return;
	}
	if (c->draining) {
		if (c->out_pending == 0)
			start_shutdown(c);
		return;
	}
	/* below the low-water mark: pipelined input may go on */
	if (c->out_pending <= HTTP_OUT_HIGH / 2)
		conn_drive(c);
}

void
srv_http__conn_write_raw(struct http_conn *c, const void *d, size_t n)
{
	const uint8_t *p = d;

	if (c->closing || c->shut || n == 0)
		return;
	if (c->out_pending == 0) {
		uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
		int w = uv_try_write((uv_stream_t *)&c->h, &b, 1);
		if (w == (int)n)
			return;
		if (w < 0 && w != UV_EAGAIN) {
			srv_http__conn_close(c);
			return;
		}
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
	}
	struct http_wreq *wr = xmalloc(sizeof(*wr) + n);
	wr->c = c;
	wr->len = n;
	memcpy(wr->data, p, n);
	uv_buf_t b = uv_buf_init((char *)wr->data, (unsigned)n);
	if (uv_write(&wr->w, (uv_stream_t *)&c->h, &b, 1, on_write) < 0) {
		free(wr);
		srv_http__conn_close(c);
		return;
	}
	c->out_pending += n;
}

static void
conn_send(struct http_conn *c, const void *d, size_t n)
{
	if (c->ssl)
		srv_http__tls_send(c, d, n);
	else
		srv_http__conn_write_raw(c, d, n);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	struct http_conn *c = req->data;

	if (c->closing)
		return;
	if (status < 0 || c->eof) {
		srv_http__conn_close(c);
		return;
	}
	/* lingering close: discard what the client still sends until it
	 * closes too, or a moment passed */
	c->tmode = TM_NONE;
	set_timer(c, TM_LINGER);
	if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) < 0) {
		srv_http__conn_close(c);
		return;
	}
	c->reading = true;
}

static void
start_shutdown(struct http_conn *c)
{
	if (c->shut || c->closing)
		return;
	c->shut = true;
	set_reading(c, false);
	c->sreq.data = c;
	if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->h, on_shutdown) < 0)
		srv_http__conn_close(c);
}

/* The last response is queued: stop reading, send, then shut down. */
static void
begin_drain(struct http_conn *c)
{
	if (c->closing)
		return;
	if (!c->draining) {
		c->draining = true;
		if (c->ssl && c->hs_done)
			srv_http__tls_close_notify(c);
		if (c->closing)
			return;
	}
	set_reading(c, false);
	set_timer(c, TM_DRAIN);
	free(c->in);
	c->in = NULL;
	c->inlen = c->incap = 0;
	if (c->out_pending == 0) {
		if (c->eof) /* nothing to say goodbye to */
			srv_http__conn_close(c);
		else
			start_shutdown(c);
	}
}

/* ---- responses --------------------------------------------------------- */

struct status_text {
	int status;
	const char *reason; /* RFC 9110 §15 */
	const char *error;  /* our JSON error name, for protocol errors */
};

static const struct status_text statuses[] = {
    {200, "OK", NULL},
    {201, "Created", NULL},
    {202, "Accepted", NULL},
    {204, "No Content", NULL},
    {301, "Moved Permanently", NULL},
    {302, "Found", NULL},
    {304, "Not Modified", NULL},
    {307, "Temporary Redirect", NULL},
    {308, "Permanent Redirect", NULL},
    {400, "Bad Request", "bad_request"},
    {401, "Unauthorized", NULL},
    {403, "Forbidden", NULL},
    {404, "Not Found", NULL},
    {405, "Method Not Allowed", NULL},
    {408, "Request Timeout", "request_timeout"},
    {409, "Conflict", NULL},
    {411, "Length Required", NULL},
    {413, "Content Too Large", "payload_too_large"},
    {414, "URI Too Long", "uri_too_long"},
    {415, "Unsupported Media Type", NULL},
    {422, "Unprocessable Content", NULL},
    {429, "Too Many Requests", NULL},
    {431, "Request Header Fields Too Large", "request_header_fields_too_large"},
    {500, "Internal Server Error", "internal_error"},
    {501, "Not Implemented", "not_implemented"},
    {502, "Bad Gateway", NULL},
    {503, "Service Unavailable", NULL},
    {504, "Gateway Timeout", NULL},
    {505, "HTTP Version Not Supported", "http_version_not_supported"},
};

static const struct status_text *
status_find(int status)
{
	for (size_t i = 0; i < AD_ARRAY_SIZE(statuses); i++)
		if (statuses[i].status == status)
			return &statuses[i];
	return NULL;
}

static const char *
reason(int status)
{
	static const char *const cls[] = {"Informational", "OK", "Redirect",
					  "Client Error", "Server Error"};
	const struct status_text *t = status_find(status);

	if (t)
		return t->reason;
	return cls[(status / 100 - 1) % 5]; /* status is 100..599 here */
}

/* RFC 9110 §5.6.7 IMF-fixdate, without the locale strftime would use. */
static void
http_date(char *out, size_t len)
{
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed",
					 "Thu", "Fri", "Sat"};
	static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr",
					 "May", "Jun", "Jul", "Aug",
					 "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ad_now_ms() / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 GMT");
		return;
	}
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 wd[tm.tm_wday % 7], tm.tm_mday, mo[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool
has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

/* Frame and queue one response. head: HEAD request (no body, RFC 9110
 * §9.3.2); 204 and 304 never carry one (RFC 9110 §15.3.5, §15.4.5). */
static void
send_response(struct http_conn *c, int status, const char *ctype,
	      const char *extra, const void *body, size_t len, bool close,
	      bool head)
{
	char date[40];
	bool nobody = head || status == 204 || status == 304;
	size_t cap = 256 + (ctype ? strlen(ctype) : 0) +
		     (extra ? strlen(extra) : 0) + (nobody ? 0 : len);
	char *buf = xmalloc(cap);
	size_t n;

	if (has_crlf(ctype)) { /* a bug upstream; never a header injection */
		ad_err(LOG, "response Content-Type with CR/LF dropped");
		ctype = NULL;
	}
	http_date(date, sizeof(date));
	n = (size_t)snprintf(buf, cap, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
			     reason(status), date);
	if (ctype)
		n += (size_t)snprintf(buf + n, cap - n, "Content-Type: %s\r\n",
				      ctype);
	if (status != 204)
		n += (size_t)snprintf(buf + n, cap - n,
				      "Content-Length: %zu\r\n", len);
	if (close)
		n +=
		    (size_t)snprintf(buf + n, cap - n, "Connection: close\r\n");
	if (extra)
		n += (size_t)snprintf(buf + n, cap - n, "%s", extra);
	n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	if (!nobody && len) {
		memcpy(buf + n, body, len);
		n += len;
	}
	conn_send(c, buf, n);
	free(buf);
}

static const char *
error_name(int status)
{
	const struct status_text *t = status_find(status);
	return t && t->error ? t->error : "internal_error";
}

/* A protocol error (or the read timeout): answer, close after the write. */
static void
conn_error(struct http_conn *c, int status)
{
	char body[80];
	int n;

	c->srv->stats.errors_4xx_protocol++;
	n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}",
		     error_name(status));
	send_response(c, status, "application/json", NULL, body, (size_t)n,
		      true, false);
	begin_drain(c);
}

void
srv_http_respond(struct srv_http_req *req, int status, const char *ctype,
		 const char *extra, const void *body, size_t len)
{
	struct http_conn *c = req->conn;
	struct srv_http *h = c->srv;
	bool close;

	if (!c->outstanding) { /* answered twice: a bug in the caller */
		ad_err(LOG, "srv_http_respond: no request outstanding");
		return;
	}
	if (!c->closing && !c->draining) {
		if (status < 200 || status > 599) {
			/* 1xx are not answers; nothing else is HTTP */
			ad_err(LOG, "handler answered status %d: sent 500",
			       status);
			status = 500;
			ctype = extra = NULL;
			body = NULL;
			len = 0;
		}
		close = !req->keep_alive || h->stopping ||
			c->nreq >= h->opts.max_requests;
		send_response(c, status, ctype, extra, body, len, close,
			      strcmp(req->method, "HEAD") == 0);
		c->outstanding = false;
		srv_http_parser_release(c->parser); /* req is gone */
		if (close)
			begin_drain(c);
		else if (!c->in_drive)
			conn_drive(c); /* pipelined input, reading, timer */
	} else {
		/* orphaned: the connection died while the handler worked */
		c->outstanding = false;
		srv_http_parser_release(c->parser);
	}
	conn_unref(c);
}

/* ---- reading and parsing ------------------------------------------------ */

static void
dispatch(struct http_conn *c, struct srv_http_req *req)
{
	struct srv_http *h = c->srv;

	c->outstanding = true;
	c->refs++;
	c->nreq++;
	h->stats.requests++;
	lru_unlink(h, c); /* most recently active */
	lru_push(h, c);
	memcpy(&req->peer, &c->peer, sizeof(req->peer));
	req->peer_len = c->peer_len;
	req->start_ms = c->req_start_ms;
	req->conn = c;
	set_timer(c, TM_NONE);
	h->opts.handler(h->opts.ctx, req);
}

/* Parse buffered input, one request at a time. Reentrant calls (the
 * handler answering synchronously) return at once: the loop below goes
 * on with the next request itself. */
static void
conn_drive(struct http_conn *c)
{
	size_t off = 0;

	if (c->in_drive)
		return;
	c->in_drive = true;
	while (!c->closing && !c->draining && !c->outstanding &&
	       off < c->inlen && c->out_pending <= HTTP_OUT_HIGH) {
		size_t used;
		struct srv_http_req *req;
		int status;

		if (!srv_http_parser_busy(c->parser))
			c->req_start_ms = ad_mono_ms();
		enum srv_http_feed r =
		    srv_http_parser_feed(c->parser, c->in + off, c->inlen - off,
					 &used, &req, &status);
		off += used;
		if (r == SRV_HTTP_REQUEST) {
			dispatch(c, req);
		} else if (r == SRV_HTTP_ERROR) {
			conn_error(c, status);
		} else if (srv_http_parser_expect_continue(c->parser)) {
			static const char cont[] =
			    "HTTP/1.1 100 Continue\r\n\r\n";
			conn_send(c, cont, sizeof(cont) - 1);
		}
	}
	if (c->in) {
		if (off >= c->inlen) {
			/* idle connections keep no buffer */
			free(c->in);
			c->in = NULL;
			c->inlen = c->incap = 0;
		} else if (off) {
			memmove(c->in, c->in + off, c->inlen - off);
			c->inlen -= off;
		}
	}
	c->in_drive = false;
	conn_update(c);
}

void
srv_http__conn_input(struct http_conn *c, const uint8_t *d, size_t n)
{
	if (c->closing || c->draining || c->shut || n == 0)
		return;
	if (c->inlen + n > c->incap) {
		size_t cap = c->incap ? c->incap : 4096;
		while (cap < c->inlen + n)
			cap *= 2;
		c->in = xrealloc(c->in, cap);
		c->incap = cap;
	}
	memcpy(c->in + c->inlen, d, n);
	c->inlen += n;
	conn_drive(c);
}

void
srv_http__conn_eof(struct http_conn *c)
{
	c->eof = true;
	if (c->closing)
		return;
	if (!c->outstanding && !c->draining && c->out_pending == 0) {
		srv_http__conn_close(c); /* partial or no request: done */
		return;
	}
	conn_update(c);
}

void
srv_http__conn_hs_done(struct http_conn *c)
{
	c->hs_done = true;
	/* the handshake had its own read timeout; the request gets one */
	c->tmode = TM_NONE;
	uv_timer_stop(&c->timer);
	conn_update(c);
}

static void
on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	struct http_conn *c = hd->data;
	(void)suggested;
	/* one read at a time in this thread: a shared buffer; what is not
	 * parsed at once is copied to the connection */
	*buf = uv_buf_init((char *)c->srv->rbuf, HTTP_READ_CHUNK);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = s->data;

	if (nread == 0 || c->closing)
		return;
	if (c->shut) { /* lingering: discard */
		c->lingered += nread > 0 ? (size_t)nread : 0;
		if (nread < 0 || c->lingered > HTTP_LINGER_BYTES)
			srv_http__conn_close(c);
		return;
	}
	if (nread < 0) {
		set_reading(c, false);
		if (nread != UV_EOF) {
			srv_http__conn_close(c);
			return;
		}
		srv_http__conn_eof(c);
		return;
	}
	if (c->ssl)
		srv_http__tls_input(c, (const uint8_t *)buf->base,
				    (size_t)nread);
	else
		srv_http__conn_input(c, (const uint8_t *)buf->base,
				     (size_t)nread);
}

static void
on_timer(uv_timer_t *t)
{
	struct http_conn *c = t->data;
	enum http_tm mode = c->tmode;

	c->tmode = TM_NONE;
	if (c->closing)
		return;
	if (mode == TM_READ && (!c->ssl || c->hs_done) && !c->outstanding) {
		/* RFC 9110 §15.5.9 */
		set_reading(c, false);
		conn_error(c, 408);
		return;
	}
	if (mode == TM_READ)
		ad_debug(LOG, "TLS handshake timed out");
	srv_http__conn_close(c);
}

/* ---- accepting ---------------------------------------------------------- */

/* At max_clients: the least recently active idle connection makes room. */
static struct http_conn *
find_idle(struct srv_http *h)
{
	for (struct http_conn *c = h->head; c; c = c->next)
		if (c->tmode == TM_IDLE && !c->outstanding && !c->draining &&
		    !c->closing)
			return c;
	return NULL;
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct http_listener *l = server->data;
	struct srv_http *h = l->srv;
	struct http_conn *c;
	int r;

	if (status < 0) {
		/* EMFILE and friends come in bursts: one line per second */
		uint64_t now = uv_now(h->loop);
		if (!h->last_accept_log || now - h->last_accept_log >= 1000) {
			h->last_accept_log = now;
			ad_warn(LOG, "accept on %s: %s", l->text,
				uv_strerror(status));
		}
		return;
	}
	if (h->stopping)
		return;
	c = xcalloc(1, sizeof(*c));
	c->srv = h;
	c->refs = 1;
	h->nalloc++;
	uv_tcp_init(h->loop, &c->h);
	uv_timer_init(h->loop, &c->timer);
	c->h.data = c;
	c->timer.data = c;
	h->nconns++;
	lru_push(h, c);
	r = uv_accept(server, (uv_stream_t *)&c->h);
	if (r < 0) {
		ad_warn(LOG, "accept on %s: %s", l->text, uv_strerror(r));
		srv_http__conn_close(c);
		return;
	}
	h->stats.accepted++;
	if (h->nconns > h->opts.max_clients) {
		struct http_conn *v = find_idle(h);
		h->stats.rejected_clients++;
		if (!v) {
			ad_debug(LOG,
				 "max_clients reached: connection refused");
			srv_http__conn_close(c);
			return;
		}
		srv_http__conn_close(v);
	}
	int plen = (int)sizeof(c->peer);
	if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &plen) < 0) {
		srv_http__conn_close(c); /* already gone */
		return;
	}
	c->peer_len = (socklen_t)plen;
	uv_tcp_nodelay(&c->h, 1);
	c->parser = srv_http_parser_new(&h->opts.limits);
	if (h->tls && srv_http__tls_conn_init(c) < 0) {
		srv_http__conn_close(c);
		return;
	}
	conn_update(c); /* reading; read timer (TLS) or idle timer */
}

/* ---- start / stop ---------------------------------------------------------
 */

static void
on_listener_closed(uv_handle_t *hd)
{
	struct srv_http *h = ((struct http_listener *)hd->data)->srv;
	h->pending_closes--;
	srv_maybe_free(h);
}

/* A listening socket made by hand, so that a failure leaves nothing for
 * the loop to close: "ADDRESS: reason" in err, -errno returned. */
static int
listen_fd(const struct srv_addr *a, int *out, char *err, size_t errlen)
{
	int fd, on = 1, e;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto fail;
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	if (listen(fd, HTTP_BACKLOG) < 0)
		goto fail;
	*out = fd;
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "%s: %s", a->text, strerror(e));
	if (fd >= 0)
		close(fd);
	return -e;
}

int
srv_http_start(uv_loop_t *loop, const struct srv_http_opts *opts,
	       struct srv_http **out, char *err, size_t errlen)
{
	struct srv_http *h;
	SSL_CTX *tls = NULL;
	int *fds, r = 0;
	size_t i, nfds = 0;

	*out = NULL;
	if (!opts->handler || opts->nlisten == 0) {
		snprintf(err, errlen, "http: no handler or no listen address");
		return AD_EINVAL;
	}
	if (!opts->tls_cert != !opts->tls_key) {
		snprintf(err, errlen,
			 "http: TLS needs both a certificate "
			 "and a key");
		return AD_EINVAL;
	}
	if (opts->tls_cert) {
		r = srv_http__tls_ctx(opts->tls_cert, opts->tls_key, &tls, err,
				      errlen);
		if (r < 0)
			return r;
	}
	fds = xcalloc(opts->nlisten, sizeof(*fds));
	for (i = 0; i < opts->nlisten; i++) {
		r = listen_fd(&opts->listen[i], &fds[i], err, errlen);
		if (r < 0)
			break;
		nfds++;
	}
	if (r < 0) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		free(fds);
		SSL_CTX_free(tls);
		return r;
	}

	h = xcalloc(1, sizeof(*h));
	h->loop = loop;
	h->opts = *opts;
	h->opts.listen = NULL;
	h->opts.tls_cert = h->opts.tls_key = NULL;
	if (!h->opts.limits.max_header_bytes)
		h->opts.limits.max_header_bytes = 8192;
	if (!h->opts.limits.max_headers)
		h->opts.limits.max_headers = 64;
	if (!h->opts.limits.max_body_bytes)
		h->opts.limits.max_body_bytes = 65536;
	if (!h->opts.read_timeout_ms)
		h->opts.read_timeout_ms = 10000;
	if (!h->opts.idle_timeout_ms)
		h->opts.idle_timeout_ms = 60000;
	if (!h->opts.max_clients)
		h->opts.max_clients = 512;
	if (!h->opts.max_requests)
		h->opts.max_requests = 1000;
	h->tls = tls;
	if (tls) {
		h->tls_cert = xstrdup(opts->tls_cert);
		h->tls_key = xstrdup(opts->tls_key);
		h->tlsbuf = xmalloc(HTTP_TLS_CHUNK);
	}
	h->rbuf = xmalloc(HTTP_READ_CHUNK);
	h->ls = xcalloc(opts->nlisten, sizeof(*h->ls));
	h->nls = opts->nlisten;
	for (i = 0; i < h->nls; i++) {
		struct http_listener *l = &h->ls[i];
		l->srv = h;
		ad_strlcpy(l->text, opts->listen[i].text, sizeof(l->text));
		uv_tcp_init(loop, &l->h);
		l->h.data = l;
		r = uv_tcp_open(&l->h, fds[i]);
		if (r < 0)
			close(fds[i]); /* not the handle's */
		else
			r = uv_listen((uv_stream_t *)&l->h, HTTP_BACKLOG,
				      on_connection);
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", l->text,
				 uv_strerror(r));
			break;
		}
	}
	if (r < 0) {
		/* handles own the fds now: closing them closes the fds */
		for (size_t j = i + 1; j < h->nls; j++)
			close(fds[j]);
		h->nls = i + 1;
		free(fds);
		srv_http_stop(h);
		return r;
	}
	free(fds);
	*out = h;
	return 0;
}

int
srv_http_port(const struct srv_http *h, size_t i)
{
	struct sockaddr_storage ss;
	int len = (int)sizeof(ss);
	int r;

	if (i >= h->nls)
		return AD_ENOENT;
	r = uv_tcp_getsockname(&h->ls[i].h, (struct sockaddr *)&ss, &len);
	if (r < 0)
		return r;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

void
srv_http_stop(struct srv_http *h)
{
	if (h->stopping)
		return;
	h->stopping = true;
	for (size_t i = 0; i < h->nls; i++) {
		h->pending_closes++;
		uv_close((uv_handle_t *)&h->ls[i].h, on_listener_closed);
	}
	while (h->head)
		srv_http__conn_close(h->head);
	srv_maybe_free(h);
}

int
srv_http_reload_tls(struct srv_http *h, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int r;

	if (!h->tls)
		return 0;
	r = srv_http__tls_ctx(h->tls_cert, h->tls_key, &ctx, err, errlen);
	if (r < 0) {
		ad_warn(LOG,
			"TLS reload failed, keeping the old certificate: "
			"%s",
			err);
		return r;
	}
	/* open connections hold their own reference to the old one */
	SSL_CTX_free(h->tls);
	h->tls = ctx;
	ad_info(LOG, "TLS certificate reloaded from %s", h->tls_cert);
	return 0;
}

const struct srv_http_stats *
srv_http_stats(const struct srv_http *h)
{
	return &h->stats;
}
