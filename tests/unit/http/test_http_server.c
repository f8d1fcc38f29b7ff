/* SPDX-License-Identifier: MIT */
/*
 * Tests of server/http.c and server/http_tls.c on a real libuv loop: the
 * server runs in the test's main thread on 127.0.0.1 port 0, each test's
 * client runs in a second thread with blocking sockets (timeouts via
 * SO_RCVTIMEO) and asks the loop thread to do things (stop, reload, read
 * stats) through a uv_async + semaphore. The handler echoes requests, and
 * can defer its answer with a uv_timer (asynchronous responses, pipelining
 * behind a slow request, requests orphaned by a client that left or by
 * srv_http_stop()).
 *
 * Covered: keep-alive, pipelining in order behind a deferred request, the
 * one-request-at-a-time rule, slowloris -> 408, idle close, max_clients
 * eviction and refusal, max_requests, HEAD, 431 with a JSON body and
 * Connection: close, backpressure with a client that reads late, bind
 * failures, and TLS: a certificate made at test time, a request over TLS,
 * a stalled handshake, reload with a new certificate seen by a new
 * connection, reload with a broken file keeping the old one. ASan/UBSan
 * check every path frees what it allocated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "server/http.h"

/*
 * cmocka's assertions longjmp to the test that runs in the main thread:
 * useless (undefined) from the client thread or from inside uv_run().
 * Here a failed check prints and aborts, which fails the test as well.
 */
#undef assert_true
#undef assert_false
#undef assert_int_equal
#undef assert_string_equal
#undef assert_non_null
#undef assert_null
#undef fail_msg
static void
check_failed(const char *what, int line)
{
	fprintf(stderr, "test_http_server.c:%d: check failed: %s\n", line,
		what);
	abort();
}
#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			check_failed(#c, __LINE__);                            \
	} while (0)
#define assert_true(c) CHECK(c)
#define assert_false(c) CHECK(!(c))
#define assert_int_equal(a, b) CHECK((long long)(a) == (long long)(b))
#define assert_string_equal(a, b) CHECK(strcmp((a), (b)) == 0)
#define assert_non_null(p) CHECK((p) != NULL)
#define assert_null(p) CHECK((p) == NULL)
#define fail_msg(m) check_failed(m, __LINE__)

/* ---- the loop side ------------------------------------------------------ */

static uv_loop_t loop;
static struct srv_http *srv;
static int port;

/* client thread -> loop thread calls */
static uv_async_t call_async;
static uv_sem_t call_done;
static void (*call_fn)(void *);
static void *call_arg;

/* handler bookkeeping (loop thread only) */
#define MAX_OUT 64
static void *outstanding[MAX_OUT]; /* connections with a request out */
static int n_handled;
static int violations; /* a second request of a connection handed out */

struct deferred {
	uv_timer_t t;
	struct srv_http_req *req;
};

static void
echo(struct srv_http_req *req)
{
	char body[2048];
	int n = snprintf(body, sizeof(body), "%s %s?%s|%.*s", req->method,
			 req->path, req->query, (int)req->body_len,
			 (const char *)req->body);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = (int)sizeof(body) - 1;
	for (int i = 0; i < MAX_OUT; i++)
		if (outstanding[i] == req->conn)
			outstanding[i] = NULL;
	srv_http_respond(req, 200, "text/plain", "X-Test: 1\r\n", body,
			 (size_t)n);
}

static void
on_deferred_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
on_deferred(uv_timer_t *t)
{
	struct deferred *d = t->data;
	echo(d->req);
	uv_close((uv_handle_t *)&d->t, on_deferred_closed);
}

static void
handler(void *ctx, struct srv_http_req *req)
{
	(void)ctx;
	n_handled++;
	int slot = -1;
	for (int i = 0; i < MAX_OUT; i++) {
		if (outstanding[i] == req->conn)
			violations++;
		if (!outstanding[i] && slot < 0)
			slot = i;
	}
	if (slot >= 0)
		outstanding[slot] = req->conn;
	assert_true(req->peer_len > 0);
	assert_int_equal(req->peer.ss_family, AF_INET);

	if (strcmp(req->path, "/defer") == 0) {
		struct deferred *d = calloc(1, sizeof(*d));
		assert_non_null(d);
		d->req = req;
		d->t.data = d;
		uv_timer_init(&loop, &d->t);
		uv_timer_start(&d->t, on_deferred,
			       (uint64_t)atoi(req->query + 3), 0);
		return;
	}
	if (strcmp(req->path, "/big") == 0) {
		static char big[8192];
		memset(big, 'x', sizeof(big));
		for (int i = 0; i < MAX_OUT; i++)
			if (outstanding[i] == req->conn)
				outstanding[i] = NULL;
		srv_http_respond(req, 200, "text/plain", NULL, big,
				 sizeof(big));
		return;
	}
	echo(req);
}

static void
on_call(uv_async_t *a)
{
	(void)a;
	if (call_fn) {
		void (*fn)(void *) = call_fn;
		call_fn = NULL;
		fn(call_arg);
		uv_sem_post(&call_done);
	}
}

/* From the client thread: run fn(arg) in the loop thread and wait. */
static void
loop_call(void (*fn)(void *), void *arg)
{
	call_arg = arg;
	call_fn = fn;
	uv_async_send(&call_async);
	uv_sem_wait(&call_done);
}

static void
do_stop(void *arg)
{
	(void)arg;
	srv_http_stop(srv);
	srv = NULL;
	uv_close((uv_handle_t *)&call_async, NULL);
}

static void
do_stats(void *arg)
{
	*(struct srv_http_stats *)arg = *srv_http_stats(srv);
}

struct reload_arg {
	int r;
	char err[256];
};

static void
do_reload(void *arg)
{
	struct reload_arg *ra = arg;
	ra->r = srv_http_reload_tls(srv, ra->err, sizeof(ra->err));
}

static struct srv_http_opts
base_opts(struct srv_addr *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	memset(a, 0, sizeof(*a));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = 0;
	a->len = sizeof(*sin);
	snprintf(a->text, sizeof(a->text), "127.0.0.1:0");
	struct srv_http_opts o = {
	    .listen = a,
	    .nlisten = 1,
	    .limits = {.max_header_bytes = 2048,
		       .max_headers = 32,
		       .max_body_bytes = 4096},
	    .read_timeout_ms = 5000,
	    .idle_timeout_ms = 5000,
	    .max_clients = 64,
	    .max_requests = 1000,
	    .handler = handler,
	};
	return o;
}

static void
client_thread(void *arg)
{
	void (*fn)(void) = (void (*)(void))arg;
	fn();
	loop_call(do_stop, NULL);
}

/* Start the server, run client() in a thread, run the loop until the
 * client stopped the server and every handle closed. */
static void
run(const struct srv_http_opts *o, void (*client)(void))
{
	char err[256] = "";
	uv_thread_t th;

	memset(outstanding, 0, sizeof(outstanding));
	n_handled = violations = 0;
	assert_int_equal(uv_loop_init(&loop), 0);
	int r = srv_http_start(&loop, o, &srv, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "srv_http_start: %s\n", err);
	assert_int_equal(r, 0);
	port = srv_http_port(srv, 0);
	assert_true(port > 0);
	assert_int_equal(srv_http_port(srv, 1) < 0, 1);
	assert_int_equal(uv_async_init(&loop, &call_async, on_call), 0);
	assert_int_equal(uv_sem_init(&call_done, 0), 0);
	assert_int_equal(uv_thread_create(&th, client_thread, (void *)client),
			 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_thread_join(&th);
	uv_sem_destroy(&call_done);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(violations, 0);
}

/* ---- the client side ----------------------------------------------------- */

struct cl {
	int fd;
	SSL *ssl;
	char buf[1 << 20];
	size_t len;
};

struct resp {
	int status;
	char head[2048];
	char body[16384];
	size_t body_len;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
set_rcvtimeo(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
			     .tv_usec = (ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static struct cl *
cl_open(void)
{
	struct cl *c = calloc(1, sizeof(*c));
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port)};
	assert_non_null(c);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_rcvtimeo(c->fd, 3000);
	return c;
}

static void
cl_free(struct cl *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

static void
cl_sendn(struct cl *c, const void *d, size_t n)
{
	if (c->ssl) {
		assert_int_equal(SSL_write(c->ssl, d, (int)n), (int)n);
		return;
	}
	const char *p = d;
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

static void
cl_send(struct cl *c, const char *s)
{
	cl_sendn(c, s, strlen(s));
}

/* >0 bytes, 0 EOF (or reset), -1 timeout */
static ssize_t
cl_recv(struct cl *c, void *d, size_t n)
{
	if (c->ssl) {
		int r = SSL_read(c->ssl, d, (int)n);
		if (r > 0)
			return r;
		int e = SSL_get_error(c->ssl, r);
		ERR_clear_error();
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_SYSCALL &&
		    (errno == EAGAIN || errno == EWOULDBLOCK))
			return -1;
		return 0;
	}
	ssize_t r = recv(c->fd, d, n, 0);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -1;
	if (r < 0)
		return 0; /* reset: closed too */
	return r;
}

/* Read one response (Content-Length framed). 0, or -1 on EOF/timeout. */
static int
cl_read_resp(struct cl *c, struct resp *r)
{
	char *end;
	memset(r, 0, sizeof(*r));
	for (;;) {
		c->buf[c->len] = 0;
		end = strstr(c->buf, "\r\n\r\n");
		if (end)
			break;
		ssize_t n =
		    cl_recv(c, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	size_t hlen = (size_t)(end + 4 - c->buf);
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, c->buf, hlen);
	r->head[hlen] = 0;
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
	size_t cl = 0;
	const char *p = strcasestr(r->head, "\r\nContent-Length:");
	if (p)
		cl = strtoul(p + 17, NULL, 10);
	bool head_req = false;
	(void)head_req;
	while (c->len < hlen + cl) {
		ssize_t n =
		    cl_recv(c, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	assert_true(cl < sizeof(r->body));
	memcpy(r->body, c->buf + hlen, cl);
	r->body_len = cl;
	memmove(c->buf, c->buf + hlen + cl, c->len - hlen - cl);
	c->len -= hlen + cl;
	return 0;
}

/* Only the head of a response (HEAD requests: no body follows). */
static int
cl_read_head(struct cl *c, struct resp *r)
{
	char *end;
	memset(r, 0, sizeof(*r));
	for (;;) {
		c->buf[c->len] = 0;
		end = strstr(c->buf, "\r\n\r\n");
		if (end)
			break;
		ssize_t n =
		    cl_recv(c, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	size_t hlen = (size_t)(end + 4 - c->buf);
	memcpy(r->head, c->buf, hlen);
	r->head[hlen] = 0;
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
	memmove(c->buf, c->buf + hlen, c->len - hlen);
	c->len -= hlen;
	return 0;
}

/* true when the server closed the connection within ms (no data). */
static bool
cl_closed_within(struct cl *c, int ms)
{
	char b[256];
	if (c->len)
		return false;
	set_rcvtimeo(c->fd, ms);
	ssize_t n = cl_recv(c, b, sizeof(b));
	set_rcvtimeo(c->fd, 3000);
	return n == 0;
}

static bool
has_close(const struct resp *r)
{
	return strcasestr(r->head, "\r\nConnection: close\r\n") != NULL;
}

static void
expect_echo(struct cl *c, const char *want_body)
{
	struct resp r;
	assert_int_equal(cl_read_resp(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "\r\nX-Test: 1\r\n"));
	assert_non_null(strcasestr(r.head, "\r\nDate: "));
	r.body[r.body_len] = 0;
	if (strcmp(r.body, want_body) != 0)
		fprintf(stderr, "body [%s], want [%s]\n", r.body, want_body);
	assert_string_equal(r.body, want_body);
	assert_false(has_close(&r));
}

/* ---- tests ----------------------------------------------------------------
 */

static void
client_keepalive(void)
{
	struct cl *c = cl_open();
	cl_send(c, "GET /one?a=1 HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c, "GET /one?a=1|");
	cl_send(c, "POST /register HTTP/1.1\r\nHost: t\r\n"
		   "Content-Length: 2\r\n\r\n{}");
	expect_echo(c, "POST /register?|{}");
	cl_send(c, "DELETE /three HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c, "DELETE /three?|");
	/* HEAD: length of the body, no body */
	cl_send(c, "HEAD /four HTTP/1.1\r\nHost: t\r\n\r\n");
	struct resp r;
	assert_int_equal(cl_read_head(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strcasestr(r.head, "Content-Length: 12\r\n"));
	cl_send(c, "GET /five HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c, "GET /five?|");
	/* Expect: 100-continue: the interim answer, then the body */
	cl_send(c, "PUT /six HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
		   "Content-Length: 3\r\n\r\n");
	assert_int_equal(cl_read_head(c, &r), 0);
	assert_int_equal(r.status, 100);
	cl_send(c, "abc");
	expect_echo(c, "PUT /six?|abc");
	struct srv_http_stats st;
	loop_call(do_stats, &st);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.requests, 6);
	cl_free(c);
}

static void
test_keepalive(void **state)
{
	(void)state;
	struct srv_addr a;
	struct srv_http_opts o = base_opts(&a);
	run(&o, client_keepalive);
}

static void
client_pipelined(void)
{
	struct cl *c = cl_open();
	/* one write: a slow request, then two fast ones */
	cl_send(c, "GET /defer?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n"
		   "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz"
		   "GET /defer?ms=10 HTTP/1.1\r\nHost: t\r\n\r\n"
		   "GET /d HTTP/1.1\r\nHost: t\r\n\r\n");
	uint64_t t0 = now_ms();
	expect_echo(c, "GET /defer?ms=200|");
	assert_true(now_ms() - t0 >= 150);
	expect_echo(c, "POST /b?|xyz");
	expect_echo(c, "GET /defer?ms=10|");
	expect_echo(c, "GET /d?|");
	/* a request split across writes behind a deferred one */
	cl_send(c, "GET /defer?ms=50 HTTP/1.1\r\nHost: t\r\n\r\nGET /e HT");
	usleep(20000);
	cl_send(c, "TP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c, "GET /defer?ms=50|");
	expect_echo(c, "GET /e?|");
	cl_free(c);
}

static void
test_pipelined(void **state)
{
	(void)state;
	struct srv_addr a;
	struct srv_http_opts o = base_opts(&a);
	run(&o, client_pipelined);
}

/* One byte every 100 ms: the 500 ms read timeout still fires on time. */
static void
client_slowloris(void)
{
	struct cl *c = cl_open();
	const char *s = "GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\nX-A: b\r\n"
			"X-A: b\r\nX-A: b\r\nX-A: b\r\nX-A: b\r\n";
	uint64_t t0 = now_ms();
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	size_t i = 0;
	for (; i < strlen(s); i++) {
		if (send(c->fd, s + i, 1, MSG_NOSIGNAL) != 1)
			break;
		if (poll(&pfd, 1, 100) == 1)
			break;
	}
	assert_true(i < strlen(s)); /* cut off before the end */
	struct resp r;
	assert_int_equal(cl_read_resp(c, &r), 0);
	uint64_t dt = now_ms() - t0;
	assert_int_equal(r.status, 408);
	assert_true(dt >= 450 && dt < 1500);
	r.body[r.body_len] = 0;
	assert_string_equal(r.body, "{\"error\":\"request_timeout\"}");
	assert_non_null(strcasestr(r.head, "Content-Type: application/json"));
	assert_true(has_close(&r));
	assert_true(cl_closed_within(c, 2000));
	cl_free(c);

	struct srv_http_stats st;
	loop_call(do_stats, &st);
	assert_int_equal(st.errors_4xx_protocol, 1);
	assert_int_equal(st.requests, 0);
}

static void
test_slowloris(void **state)
{
	(void)state;
	struct srv_addr a;
	struct srv_http_opts o = base_opts(&a);
	o.read_timeout_ms = 500;
	run(&o, client_slowloris);
}

static void
client_idle(void)
{
	struct cl *c = cl_open();
	cl_send(c, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c, "GET /x?|");
	uint64_t t0 = now_ms();
	assert_true(cl_closed_within(c, 2000));
	uint64_t dt = now_ms() - t0;
	assert_true(dt >= 250 && dt < 1500);
	cl_free(c);
	/* never a byte: also the idle timeout */
	c = cl_open();
	t0 = now_ms();
	assert_true(cl_closed_within(c, 2000));
	assert_true(now_ms() - t0 < 1500);
	cl_free(c);
}

static void
test_idle(void **state)
{
	(void)state;
	struct srv_addr a;
	struct srv_http_opts o = base_opts(&a);
	o.idle_timeout_ms = 300;
	run(&o, client_idle);
}

static void
client_max_clients(void)
{
	struct cl *c1 = cl_open(), *c2, *c3, *c4;
	cl_send(c1, "GET /1 HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c1, "GET /1?|");
	c2 = cl_open();
	cl_send(c2, "GET /2 HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c2, "GET /2?|");
	/* the third: the least recently active idle one (c1) goes */
	c3 = cl_open();
	assert_true(cl_closed_within(c1, 2000));
	cl_send(c3, "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c3, "GET /3?|");
	cl_send(c2, "GET /2b HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c2, "GET /2b?|");
	/* both busy with a request: nobody idle, the newcomer is refused */
	cl_send(c2, "GET /busy HTTP/1.1\r\n");
	cl_send(c3, "GET /busy HTTP/1.1\r\n");
	usleep(100000);
	c4 = cl_open();
	assert_true(cl_closed_within(c4, 2000));
	cl_send(c2, "Host: t\r\n\r\n");
	expect_echo(c2, "GET /busy?|");
	cl_send(c3, "Host: t\r\n\r\n");
	expect_echo(c3, "GET /busy?|");

	struct srv_http_stats st;
	loop_call(do_stats, &st);
	assert_int_equal(st.accepted, 4);
	assert_int_equal(st.rejected_clients, 2);
	cl_free(c1);
	cl_free(c2);
	cl_free(c3);
	cl_free(c4);
}

static void
test_max_clients(void **state)
{
	(void)state;
	struct srv_addr a;
	struct srv_http_opts o = base_opts(&a);
	o.max_clients = 2;
	run(&o, client_max_clients);
}

static void
client_max_requests(void)
{
	struct cl *c = cl_open();
	struct resp r;
	cl_send(c, "GET /1 HTTP/1.1\r\nHost: t\r\n\r\n"
		   "GET /2 HTTP/1.1\r\nHost: t\r\n\r\n"
		   "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c, "GET /1?|");
	assert_int_equal(cl_read_resp(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(has_close(&r));
	assert_true(cl_closed_within(c, 2000));
	cl_free(c);
	/* the client asks to close */
	c = cl_open();
	cl_send(c, "GET /4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
		   "GET /5 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cl_read_resp(c, &r), 0);
	assert_true(has_close(&r));
	assert_true(cl_closed_within(c, 2000));
	cl_free(c);
	/* HTTP/1.0 and a half-close after the request */
	c = cl_open();
	cl_send(c, "GET /6 HTTP/1.0\r\n\r\n");
	shutdown(c->fd, SHUT_WR);
	assert_int_equal(cl_read_resp(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(cl_closed_within(c, 2000));
	cl_free(c);
	/* half-close after two pipelined requests: both answered */
	c = cl_open();
	cl_send(c, "GET /defer?ms=30 HTTP/1.1\r\nHost: t\r\n\r\n"
		   "GET /8 HTTP/1.1\r\nHost: t\r\n\r\n");
	shutdown(c->fd, SHUT_WR);
	expect_echo(c, "GET /defer?ms=30|");
	assert_int_equal(cl_read_resp(c, &r), 0); /* max_requests: close */
	r.body[r.body_len] = 0;
	assert_string_equal(r.body, "GET /8?|");
	assert_true(cl_closed_within(c, 2000));
	cl_free(c);
}

static void
test_max_requests(void **state)
{
	(void)state;
	struct srv_addr a;
	struct srv_http_opts o = base_opts(&a);
	o.max_requests = 2;
	run(&o, client_max_requests);
}

static void
client_errors(void)
{
	struct cl *c = cl_open();
	char big[3000];
	struct resp r;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	cl_send(c, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
	cl_send(c, big);
	cl_send(c, "\r\n\r\n");
	assert_int_equal(cl_read_resp(c, &r), 0);
	assert_int_equal(r.status, 431);
	assert_true(has_close(&r));
	r.body[r.body_len] = 0;
	assert_string_equal(r.body,
			    "{\"error\":\"request_header_fields_too_large\"}");
	assert_true(cl_closed_within(c, 2500));
	cl_free(c);

	c = cl_open();
	cl_send(c, "POST /update HTTP/1.1\r\nHost: t\r\n"
		   "Content-Length: 10000000\r\n\r\n");
	assert_int_equal(cl_read_resp(c, &r), 0);
	assert_int_equal(r.status, 413);
	r.body[r.body_len] = 0;
	assert_string_equal(r.body, "{\"error\":\"payload_too_large\"}");
	/* the client keeps sending its body: the response is not lost */
	for (int i = 0; i < 10; i++)
		if (send(c->fd, big, sizeof(big), MSG_NOSIGNAL) < 0)
			break;
	assert_true(cl_closed_within(c, 2500));
	cl_free(c);

	c = cl_open();
	cl_send(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	assert_int_equal(cl_read_resp(c, &r), 0);
	assert_int_equal(r.status, 505);
	r.body[r.body_len] = 0;
	assert_string_equal(r.body,
			    "{\"error\":\"http_version_not_supported\"}");
	cl_free(c);

	/* an error after a good pipelined request: both answered in order */
	c = cl_open();
	cl_send(c, "GET /defer?ms=50 HTTP/1.1\r\nHost: t\r\n\r\nBAD\r\n\r\n");
	expect_echo(c, "GET /defer?ms=50|");
	assert_int_equal(cl_read_resp(c, &r), 0);
	assert_int_equal(r.status, 400);
	r.body[r.body_len] = 0;
	assert_string_equal(r.body, "{\"error\":\"bad_request\"}");
	assert_true(cl_closed_within(c, 2500));
	cl_free(c);

	struct srv_http_stats st;
	loop_call(do_stats, &st);
	assert_int_equal(st.errors_4xx_protocol, 4);
}

static void
test_errors(void **state)
{
	(void)state;
	struct srv_addr a;
	struct srv_http_opts o = base_opts(&a);
	run(&o, client_errors);
}

/* The client leaves while its request is deferred: the late answer is
 * discarded, nothing leaks, the server goes on. */
static void
client_orphan(void)
{
	struct cl *c = cl_open();
	cl_send(c, "GET /defer?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n"
		   "GET /never HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(50000);
	cl_free(c);
	/* the same with a reset */
	c = cl_open();
	cl_send(c, "GET /defer?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(50000);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	cl_free(c);
	usleep(400000);
	c = cl_open();
	cl_send(c, "GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c, "GET /after?|");
	cl_free(c);
	/* and the server stops while a request is deferred: answered after
	 * srv_http_stop() freed everything else */
	c = cl_open();
	cl_send(c, "GET /defer?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(50000);
	/* client_thread stops the server now; the loop still runs the
	 * deferred timer, whose srv_http_respond() must be a no-op */
	cl_free(c);
}

static void
test_orphan(void **state)
{
	(void)state;
	struct srv_addr a;
	struct srv_http_opts o = base_opts(&a);
	run(&o, client_orphan);
}

/* A client that does not read: the server stops reading (256 KiB
 * pending), then serves everything once the client reads. */
static void
client_backpressure(void)
{
	struct cl *c = cl_open();
	enum { N = 1000 };
	static char reqs[N * 40];
	size_t n = 0;
	for (int i = 0; i < N; i++)
		n += (size_t)snprintf(reqs + n, sizeof(reqs) - n,
				      "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
	cl_sendn(c, reqs, n);
	usleep(300000);
	for (int i = 0; i < N; i++) {
		struct resp r;
		assert_int_equal(cl_read_resp(c, &r), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.body_len, 8192);
	}
	cl_free(c);
}

static void
test_backpressure(void **state)
{
	(void)state;
	struct srv_addr a;
	struct srv_http_opts o = base_opts(&a);
	run(&o, client_backpressure);
}

static void
test_bind_failure(void **state)
{
	(void)state;
	struct srv_addr a[2];
	struct srv_http_opts o = base_opts(&a[0]);
	struct srv_http *h = NULL, *h2 = NULL;
	char err[256] = "";
	uv_loop_t l;

	assert_int_equal(uv_loop_init(&l), 0);
	assert_int_equal(srv_http_start(&l, &o, &h, err, sizeof(err)), 0);
	int p = srv_http_port(h, 0);
	/* a good address, then the taken one: nothing stays open */
	a[1] = a[0];
	((struct sockaddr_in *)&a[1].ss)->sin_port = htons((uint16_t)p);
	snprintf(a[1].text, sizeof(a[1].text), "127.0.0.1:%d", p);
	o.listen = a;
	o.nlisten = 2;
	int r = srv_http_start(&l, &o, &h2, err, sizeof(err));
	assert_true(r != 0);
	assert_null(h2);
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%d: ", p);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "in use"));
	/* unreadable TLS files */
	o.nlisten = 1;
	o.tls_cert = "/nonexistent/cert.pem";
	o.tls_key = "/nonexistent/key.pem";
	r = srv_http_start(&l, &o, &h2, err, sizeof(err));
	assert_true(r != 0);
	assert_non_null(strstr(err, "/nonexistent/cert.pem"));
	/* one without the other */
	o.tls_key = NULL;
	assert_true(srv_http_start(&l, &o, &h2, err, sizeof(err)) != 0);
	srv_http_stop(h);

	/* IPv6 (V6ONLY) next to IPv4 on the same port number */
	struct srv_addr a6[2];
	o = base_opts(&a6[0]);
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a6[1].ss;
	memset(&a6[1], 0, sizeof(a6[1]));
	s6->sin6_family = AF_INET6;
	s6->sin6_addr = in6addr_loopback;
	a6[1].len = sizeof(*s6);
	snprintf(a6[1].text, sizeof(a6[1].text), "[::1]:0");
	o.listen = a6;
	o.nlisten = 2;
	r = srv_http_start(&l, &o, &h, err, sizeof(err));
	if (r == 0) {
		assert_true(srv_http_port(h, 1) > 0);
		srv_http_stop(h);
	} else {
		/* no IPv6 in this sandbox */
		fprintf(stderr, "IPv6 listener skipped: %s\n", err);
		assert_non_null(strstr(err, "[::1]:0: "));
	}
	uv_run(&l, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&l), 0);
}

/* ---- TLS ------------------------------------------------------------------
 */

static char tmpdir[64];
static char cert_path[128], key_path[128];

/* A self-signed P-256 certificate with the given CN into cert/key. */
static void
make_cert(const char *cn, const char *cert, const char *key)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_non_null(pk);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(now_ms() & 0xffff));
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME *nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_set_pubkey(x, pk);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", cert);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	rename(tmp, cert);
	snprintf(tmp, sizeof(tmp), "%s.tmp", key);
	f = fopen(tmp, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL),
			 1);
	fclose(f);
	chmod(tmp, 0600);
	rename(tmp, key);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static SSL_CTX *cli_ctx;

/* Connect over TLS; the server certificate's CN into cn. */
static struct cl *
cl_open_tls(char *cn, size_t cnlen)
{
	struct cl *c = cl_open();
	c->ssl = SSL_new(cli_ctx);
	assert_non_null(c->ssl);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	if (SSL_connect(c->ssl) != 1) {
		ERR_print_errors_fp(stderr);
		fail_msg("SSL_connect failed");
	}
	X509 *x = SSL_get1_peer_certificate(c->ssl);
	assert_non_null(x);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
				  (int)cnlen);
	X509_free(x);
	return c;
}

static void
client_tls(void)
{
	char cn[64];
	struct cl *c = cl_open_tls(cn, sizeof(cn));
	assert_string_equal(cn, "one.test");
	assert_true(SSL_version(c->ssl) >= TLS1_2_VERSION);
	cl_send(c, "POST /update HTTP/1.1\r\nHost: t\r\n"
		   "Content-Length: 5\r\n\r\nhello");
	expect_echo(c, "POST /update?|hello");
	cl_send(c, "GET /defer?ms=20 HTTP/1.1\r\nHost: t\r\n\r\n"
		   "GET /two HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c, "GET /defer?ms=20|");
	expect_echo(c, "GET /two?|");

	/* new certificate in place, reload: new connections see it, the
	 * open one goes on */
	make_cert("two.test", cert_path, key_path);
	struct reload_arg ra = {0};
	loop_call(do_reload, &ra);
	assert_int_equal(ra.r, 0);
	struct cl *c2 = cl_open_tls(cn, sizeof(cn));
	assert_string_equal(cn, "two.test");
	cl_send(c2, "GET /new HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c2, "GET /new?|");
	cl_send(c, "GET /old HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c, "GET /old?|");
	cl_free(c2);

	/* a broken certificate file: the reload fails, the old one stays */
	FILE *f = fopen(cert_path, "w");
	assert_non_null(f);
	fputs("-----BEGIN CERTIFICATE-----\nbroken\n", f);
	fclose(f);
	memset(&ra, 0, sizeof(ra));
	loop_call(do_reload, &ra);
	assert_true(ra.r != 0);
	assert_non_null(strstr(ra.err, cert_path));
	c2 = cl_open_tls(cn, sizeof(cn));
	assert_string_equal(cn, "two.test");
	cl_send(c2, "GET /still HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_echo(c2, "GET /still?|");
	cl_free(c2);

	/* an oversize header over TLS: 431, close_notify, close */
	char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	cl_send(c, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
	cl_send(c, big);
	cl_send(c, "\r\n\r\n");
	struct resp r;
	assert_int_equal(cl_read_resp(c, &r), 0);
	assert_int_equal(r.status, 431);
	assert_true(has_close(&r));
	char b[16];
	assert_int_equal(cl_recv(c, b, sizeof(b)), 0);
	cl_free(c);

	/* plaintext HTTP to the TLS port: the handshake fails, closed */
	c = cl_open();
	cl_send(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	char junk[512];
	ssize_t n;
	set_rcvtimeo(c->fd, 2000);
	while ((n = recv(c->fd, junk, sizeof(junk), 0)) > 0)
		; /* maybe an alert */
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
	cl_free(c);

	/* a handshake that never starts: the read timeout closes it */
	c = cl_open();
	uint64_t t0 = now_ms();
	assert_true(cl_closed_within(c, 2500));
	assert_true(now_ms() - t0 < 2000);
	cl_free(c);
}

static void
test_tls(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ad_http_tls_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", tmpdir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
	make_cert("one.test", cert_path, key_path);

	cli_ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(cli_ctx);
	SSL_CTX_set_verify(cli_ctx, SSL_VERIFY_NONE, NULL);

	struct srv_addr a;
	struct srv_http_opts o = base_opts(&a);
	o.tls_cert = cert_path;
	o.tls_key = key_path;
	o.read_timeout_ms = 800;
	run(&o, client_tls);

	SSL_CTX_free(cli_ctx);
	unlink(cert_path);
	unlink(key_path);
	rmdir(tmpdir);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keepalive),
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_slowloris),
	    cmocka_unit_test(test_idle),
	    cmocka_unit_test(test_max_clients),
	    cmocka_unit_test(test_max_requests),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_orphan),
	    cmocka_unit_test(test_backpressure),
	    cmocka_unit_test(test_bind_failure),
	    cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
