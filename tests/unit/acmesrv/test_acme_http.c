/* SPDX-License-Identifier: MIT */
/*
 * Tests of server/acme_http.c against real peers on loopback: a scripted
 * HTTPS + HTTP server (httpd.py, python3 stdlib) with a CA and a localhost
 * certificate made here with the openssl CLI, and an nsd serving a zone
 * with a CNAME for the resolver. Both are started by the group setup on
 * 127.0.0.1 and stopped by PID in the teardown; httpd.py also exits when
 * its stdin (a pipe we hold) closes, so a crashed test leaves nothing.
 *
 * Covered: kept headers (first of each, every Link, 1xx headers dropped,
 * oversize values dropped), POST body and Content-Type, HEAD, bodies over
 * 1 MiB with and without Content-Length, 301 not followed, total timeout,
 * a certificate from an untrusted CA, connection refused, http:// only to
 * loopback, 50 concurrent transfers, free with transfers in flight and
 * from inside a completion (no callback afterwards, ASan finds no leak),
 * and CNAME lookups: found (trailing dot), NXDOMAIN, no CNAME, dead
 * server (AD_EIO), an answer over 512 bytes (TC=1, retried over TCP),
 * bad resolver strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include "acme/msg.h"
#include "common/errors.h"
#include "server/acme_http.h"
#include "testproc.h"

#ifndef ACMESRV_TEST_DIR
#error "ACMESRV_TEST_DIR must name tests/unit/acmesrv"
#endif

static char g_dir[256];
static pid_t g_httpd = -1;
static int g_httpd_in = -1;
static int g_tls_port, g_plain_port;
static pid_t g_nsd = -1;
static int g_nsd_port;

/* ---- fixtures ---------------------------------------------------------- */

static void
make_ca(const char *name)
{
	TP_CHECK(tp_sh("cd %s && openssl req -x509 -newkey ec -pkeyopt "
		       "ec_paramgen_curve:P-256 -nodes -keyout %s.key -out "
		       "%s.pem -days 2 -subj /CN=acmeio-%s 2>/dev/null",
		       g_dir, name, name, name) == 0);
}

static void
start_httpd(void)
{
	char cert[300], key[300], line[64];
	char *argv[] = {"python3", ACMESRV_TEST_DIR "/httpd.py", cert, key,
			NULL};
	int fd;

	make_ca("ca");
	make_ca("wrongca");
	snprintf(cert, sizeof(cert), "%s/ext.cnf", g_dir);
	tp_write(cert, "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
		       "basicConstraints=CA:FALSE\n"
		       "extendedKeyUsage=serverAuth\n");
	TP_CHECK(tp_sh("cd %s && openssl req -newkey ec -pkeyopt "
		       "ec_paramgen_curve:P-256 -nodes -keyout srv.key -out "
		       "srv.csr -subj /CN=localhost 2>/dev/null && openssl "
		       "x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
		       "-CAcreateserial -out srv.pem -days 2 -extfile ext.cnf "
		       "2>/dev/null",
		       g_dir) == 0);
	snprintf(cert, sizeof(cert), "%s/srv.pem", g_dir);
	snprintf(key, sizeof(key), "%s/srv.key", g_dir);
	g_httpd = tp_spawn(argv, &fd, &g_httpd_in);
	TP_CHECK(tp_read_line(fd, line, sizeof(line), 10000) == 0);
	close(fd);
	TP_CHECK(sscanf(line, "%d %d", &g_tls_port, &g_plain_port) == 2);
}

/* A UDP+TCP port on 127.0.0.1 nobody uses now, below the ephemeral range
 * (where another test's client socket could take it). */
static int
free_port(void)
{
	struct sockaddr_in a;
	int i, u, t, ok, port;

	for (i = 0; i < 200; i++) {
		uint32_t r;

		TP_CHECK(getentropy(&r, sizeof(r)) == 0);
		port = 20000 + (int)(r % 12000);
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		u = socket(AF_INET, SOCK_DGRAM, 0);
		t = socket(AF_INET, SOCK_STREAM, 0);
		ok = bind(u, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		     bind(t, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(u);
		close(t);
		if (ok)
			return port;
	}
	TP_CHECK(!"no free port");
	return -1;
}

/* One UDP SOA query to nsd: does it answer yet? */
static int
nsd_answers(int port)
{
	static const unsigned char q[] = {
	    0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,
	    0,    0,    7,    'e',  'x', 'a', 'm', 'p', 'l', 'e',
	    4,    't',  'e',  's',  't', 0,   0,   6,   0,   1};
	struct sockaddr_in a;
	struct timeval tv = {0, 200000};
	unsigned char buf[512];
	ssize_t n;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sendto(s, q, sizeof(q), 0, (struct sockaddr *)&a, sizeof(a));
	n = recv(s, buf, sizeof(buf), 0);
	close(s);
	return n >= 12 && buf[0] == 0x12 && buf[1] == 0x34;
}

/*
 * A CNAME whose answer does not fit 512 bytes (the query has no EDNS):
 * owner and target both near the 255-octet limit, so nsd sets TC and the
 * lookup must retry over TCP.
 */
static const char *
long_name(char *buf, const char *lab4, size_t n4, const char *suffix)
{
	char l63[64];

	memset(l63, 'a', 63);
	l63[63] = '\0';
	snprintf(buf, 300, "%s%s.%s.%s.%.*s.%s", lab4, l63, l63, l63, (int)n4,
		 l63, suffix);
	return buf;
}

static const char *
long_owner(void)
{
	static char b[300];

	/* 16 + 3 * 64 + 33 + 14 = 255 octets */
	return long_name(b, "_acme-challenge.", 32, "example.test.");
}

static const char *
long_target(void)
{
	static char b[300];

	/* 3 * 64 + 44 + 19 = 255 octets */
	return long_name(b, "", 43, "auth.example.test.");
}

static void
start_nsd(void)
{
	char conf[300], zone[300], body[2048];
	char *argv[] = {"nsd", "-d", "-c", conf, NULL};
	int attempt;
	double end;

	snprintf(zone, sizeof(zone), "%s/example.test.zone", g_dir);
	snprintf(body, sizeof(body),
		 "$ORIGIN example.test.\n$TTL 60\n"
		 "@ SOA ns1 hostmaster 1 3600 600 86400 60\n"
		 "@ NS ns1\nns1 A 127.0.0.1\n"
		 "plain A 127.0.0.1\n"
		 "_acme-challenge.www CNAME Abc123.Auth.Example.Test.\n"
		 "_acme-challenge.rel CNAME x.auth.example.test.\n"
		 "%s CNAME %s\n",
		 long_owner(), long_target());
	tp_write(zone, body);
	snprintf(conf, sizeof(conf), "%s/nsd.conf", g_dir);
	for (attempt = 0; attempt < 3; attempt++) {
		g_nsd_port = free_port();
		snprintf(
		    body, sizeof(body),
		    "server:\n  ip-address: 127.0.0.1@%d\n  do-ip6: no\n"
		    "  server-count: 1\n  zonesdir: \"\"\n  database: \"\"\n"
		    "  zonelistfile: \"%s/zone.list\"\n"
		    "  xfrdfile: \"%s/xfrd.state\"\n  xfrdir: \"%s\"\n"
		    "  pidfile: \"%s/nsd.pid\"\n  logfile: \"%s/nsd.log\"\n"
		    "  username: \"\"\n  chroot: \"\"\n  verbosity: 1\n"
		    "  rrl-ratelimit: 0\nremote-control:\n"
		    "  control-enable: no\nzone:\n  name: example.test\n"
		    "  zonefile: \"%s\"\n",
		    g_nsd_port, g_dir, g_dir, g_dir, g_dir, g_dir, zone);
		tp_write(conf, body);
		g_nsd = tp_spawn(argv, NULL, NULL);
		end = tp_now() + 10;
		while (tp_now() < end) {
			if (nsd_answers(g_nsd_port))
				return;
			if (waitpid(g_nsd, NULL, WNOHANG) == g_nsd)
				break; /* port taken meanwhile: again */
		}
		tp_stop(g_nsd);
		g_nsd = -1;
	}
	TP_CHECK(!"nsd did not start");
}

static int
group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(g_dir, sizeof(g_dir), "/tmp/acmeio-http-XXXXXX");
	TP_CHECK(mkdtemp(g_dir) != NULL);
	start_httpd();
	start_nsd();
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (g_httpd_in >= 0)
		close(g_httpd_in);
	tp_stop(g_httpd);
	tp_stop(g_nsd);
	if (tp_sh("rm -rf %s", g_dir) != 0)
		fprintf(stderr, "cannot remove %s\n", g_dir);
	return 0;
}

/* ---- helpers ----------------------------------------------------------- */

struct res {
	int *left; /* shared countdown; *all set to 1 at 0 */
	int *all;
	int called;
	uint64_t id;
	int status;
	char *error, *body, *ctype, *loc, *nonce, *retry;
	size_t body_len, nlinks;
	char *links[ACME_HTTP_MAX_LINKS];
	double at;
};

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void
on_resp(void *arg, uint64_t id, const struct acme_http_resp *r)
{
	struct res *x = arg;
	size_t i;

	x->called++;
	x->id = id;
	x->at = tp_now();
	x->status = r->status;
	x->error = dup_or_null(r->error);
	x->body_len = r->body_len;
	if (r->body) {
		x->body = malloc(r->body_len + 1);
		memcpy(x->body, r->body, r->body_len);
		x->body[r->body_len] = '\0';
	}
	x->ctype = dup_or_null(r->content_type);
	x->loc = dup_or_null(r->location);
	x->nonce = dup_or_null(r->replay_nonce);
	x->retry = dup_or_null(r->retry_after);
	x->nlinks = r->nlinks;
	for (i = 0; i < r->nlinks; i++)
		x->links[i] = strdup(r->links[i]);
	if (--*x->left == 0)
		*x->all = 1;
}

static void
res_clear(struct res *x)
{
	size_t i;

	free(x->error);
	free(x->body);
	free(x->ctype);
	free(x->loc);
	free(x->nonce);
	free(x->retry);
	for (i = 0; i < x->nlinks; i++)
		free(x->links[i]);
	memset(x, 0, sizeof(*x));
}

struct ctx {
	uv_loop_t loop;
	struct srv_acme_http *h;
};

static void
ctx_open(struct ctx *c, const char *ca, long timeout_ms)
{
	struct srv_acme_http_opts o = {0};
	char path[300], err[256];

	TP_CHECK(uv_loop_init(&c->loop) == 0);
	o.loop = &c->loop;
	if (ca) {
		snprintf(path, sizeof(path), "%s/%s.pem", g_dir, ca);
		o.ca_bundle = path;
	}
	o.user_agent = "acmedns-test/1";
	o.timeout_ms = timeout_ms;
	assert_int_equal(srv_acme_http_new(&o, &c->h, err, sizeof(err)), 0);
}

static void
ctx_close(struct ctx *c)
{
	srv_acme_http_free(c->h);
	/* every handle closed by srv_acme_http_free: the loop empties */
	assert_int_equal(tp_loop_close(&c->loop), 0);
}

static char *
url(const char *scheme, int port, const char *path)
{
	static char buf[8][256];
	static int i;
	char *b = buf[i++ % 8];

	snprintf(b, 256, "%s://127.0.0.1:%d%s", scheme, port, path);
	return b;
}

/* Start one request; its completion must not run inside start. */
static void
start(struct ctx *c, uint64_t id, const char *method, const char *u,
      const char *body, const char *ctype, struct res *x)
{
	struct acme_http_req rq = {.id = id,
				   .method = method,
				   .url = u,
				   .body = body,
				   .body_len = body ? strlen(body) : 0,
				   .content_type = ctype};

	assert_int_equal(srv_acme_http_start(c->h, &rq, on_resp, x), 0);
	assert_int_equal(x->called, 0);
}

/* Run one request to completion (watchdog 15 s). */
static void
one(struct ctx *c, const char *method, const char *u, const char *body,
    const char *ctype, struct res *x)
{
	int left = 1, all = 0;

	x->left = &left;
	x->all = &all;
	start(c, 7, method, u, body, ctype, x);
	tp_run_until(&c->loop, &all, 15000);
	assert_int_equal(x->called, 1);
	assert_int_equal(x->id, 7);
}

/* ---- HTTP tests -------------------------------------------------------- */

static void
test_json_headers(void **state)
{
	struct ctx c;
	struct res x = {0};

	(void)state;
	ctx_open(&c, "ca", 0);
	one(&c, "GET", url("https", g_tls_port, "/json"), NULL, NULL, &x);
	assert_int_equal(x.status, 200);
	assert_null(x.error);
	assert_string_equal(x.body, "{\"status\":\"valid\"}");
	assert_int_equal(x.body_len, strlen("{\"status\":\"valid\"}"));
	assert_string_equal(x.ctype, "application/json");
	assert_string_equal(x.loc, "https://127.0.0.1/acme/acct/1");
	assert_string_equal(x.nonce, "nonce-1"); /* the first one */
	assert_string_equal(x.retry, "3");
	assert_int_equal(x.nlinks, 2);
	assert_string_equal(x.links[0],
			    "<https://127.0.0.1/dir>;rel=\"index\"");
	assert_string_equal(x.links[1],
			    "<https://127.0.0.1/alt/1>;rel=\"alternate\"");
	res_clear(&x);

	/* headers of a 103 interim response are not the final ones */
	one(&c, "GET", url("https", g_tls_port, "/interim"), NULL, NULL, &x);
	assert_int_equal(x.status, 200);
	assert_string_equal(x.loc, "/final");
	assert_int_equal(x.nlinks, 0);
	res_clear(&x);

	/* a value over 2 KiB is dropped, not cut; the others stay */
	one(&c, "GET", url("https", g_tls_port, "/longhdr"), NULL, NULL, &x);
	assert_int_equal(x.status, 200);
	assert_null(x.nonce);
	assert_string_equal(x.loc, "/short");
	res_clear(&x);

	/* a 404 with a body is a response like any other */
	one(&c, "GET", url("https", g_tls_port, "/nothing"), NULL, NULL, &x);
	assert_int_equal(x.status, 404);
	assert_string_equal(x.body, "{\"error\":\"not found\"}");
	res_clear(&x);
	ctx_close(&c);
}

static void
test_post_head(void **state)
{
	static const char jws[] = "{\"protected\":\"e30\",\"payload\":\"\","
				  "\"signature\":\"c2ln\"}";
	struct ctx c;
	struct res x = {0};

	(void)state;
	ctx_open(&c, "ca", 0);
	one(&c, "POST", url("https", g_tls_port, "/echo"), jws,
	    "application/jose+json", &x);
	assert_int_equal(x.status, 200);
	assert_string_equal(x.body, jws);
	assert_string_equal(x.ctype, "application/jose+json");
	assert_string_equal(x.nonce, "post-nonce");
	res_clear(&x);

	/* a body over curl's Expect threshold goes without 100-continue */
	{
		char *big = malloc(200001);

		memset(big, 'a', 200000);
		big[200000] = '\0';
		one(&c, "POST", url("https", g_tls_port, "/echo"), big,
		    "application/jose+json", &x);
		assert_int_equal(x.status, 200);
		assert_int_equal(x.body_len, 200000);
		assert_memory_equal(x.body, big, 200000);
		res_clear(&x);
		one(&c, "POST", url("https", g_tls_port, "/hdrs"), big,
		    "application/jose+json", &x);
		assert_int_equal(x.status, 200);
		assert_string_equal(x.body,
				    "ua=acmedns-test/1 expect=- len=200000");
		free(big);
		res_clear(&x);
	}

	/* POST-as-GET: empty body, no curl default form content type */
	one(&c, "POST", url("https", g_tls_port, "/echo"), "", NULL, &x);
	assert_int_equal(x.status, 200);
	assert_int_equal(x.body_len, 0);
	assert_null(x.body);
	assert_string_equal(x.ctype, "none/none");
	res_clear(&x);

	one(&c, "HEAD", url("https", g_tls_port, "/nonce"), NULL, NULL, &x);
	assert_int_equal(x.status, 200);
	assert_string_equal(x.nonce, "head-nonce-1");
	assert_int_equal(x.body_len, 0);
	assert_null(x.body);
	res_clear(&x);
	ctx_close(&c);
}

static void
test_too_large(void **state)
{
	struct ctx c;
	struct res x = {0};
	double t0;

	(void)state;
	ctx_open(&c, "ca", 0);
	/* declared length over the cap: refused before the body */
	t0 = tp_now();
	one(&c, "GET", url("https", g_tls_port, "/big"), NULL, NULL, &x);
	assert_int_equal(x.status, 0);
	assert_string_equal(x.error, "response too large (> 1 MiB)");
	assert_true(x.at - t0 < 5.0);
	res_clear(&x);
	/* no length: the write callback stops at the cap */
	t0 = tp_now();
	one(&c, "GET", url("https", g_tls_port, "/bigstream"), NULL, NULL, &x);
	assert_int_equal(x.status, 0);
	assert_string_equal(x.error, "response too large (> 1 MiB)");
	assert_null(x.body);
	assert_true(x.at - t0 < 5.0);
	res_clear(&x);
	ctx_close(&c);
}

static void
test_redirect_not_followed(void **state)
{
	struct ctx c;
	struct res x = {0};

	(void)state;
	ctx_open(&c, "ca", 0);
	one(&c, "GET", url("https", g_tls_port, "/redirect"), NULL, NULL, &x);
	assert_int_equal(x.status, 301);
	assert_string_equal(x.loc, "/json");
	assert_string_equal(x.body, "moved");
	res_clear(&x);
	ctx_close(&c);
}

static void
test_timeout(void **state)
{
	struct ctx c;
	struct res x = {0};
	double t0;

	(void)state;
	ctx_open(&c, "ca", 600);
	t0 = tp_now();
	one(&c, "GET", url("https", g_tls_port, "/slow"), NULL, NULL, &x);
	assert_int_equal(x.status, 0);
	assert_non_null(strcasestr(x.error, "timeout"));
	assert_true(x.at - t0 >= 0.5);
	assert_true(x.at - t0 < 3.0);
	res_clear(&x);
	ctx_close(&c);
}

static void
test_tls_failures(void **state)
{
	struct ctx c;
	struct res x = {0};

	(void)state;
	/* the server's CA is not the one we trust */
	ctx_open(&c, "wrongca", 0);
	one(&c, "GET", url("https", g_tls_port, "/json"), NULL, NULL, &x);
	assert_int_equal(x.status, 0);
	assert_non_null(strcasestr(x.error, "certificate"));
	res_clear(&x);
	ctx_close(&c);

	/* no extra CA: the system store alone does not know it either */
	ctx_open(&c, NULL, 0);
	one(&c, "GET", url("https", g_tls_port, "/json"), NULL, NULL, &x);
	assert_int_equal(x.status, 0);
	assert_non_null(strcasestr(x.error, "certificate"));
	res_clear(&x);
	/* https to localhost by name: the SAN DNS:localhost is checked
	 * too, and passes with the right CA (below) */
	ctx_close(&c);

	ctx_open(&c, "ca", 0);
	{
		char u[128];

		snprintf(u, sizeof(u), "https://localhost:%d/json", g_tls_port);
		one(&c, "GET", u, NULL, NULL, &x);
		/* localhost may resolve to ::1 first, where nobody listens:
		 * curl then falls back to 127.0.0.1 */
		assert_int_equal(x.status, 200);
		res_clear(&x);
	}
	ctx_close(&c);

	/* a bad ca_bundle is refused at creation */
	{
		struct srv_acme_http_opts o = {0};
		struct srv_acme_http *h = NULL;
		uv_loop_t loop;
		char err[256] = "", p[300];

		uv_loop_init(&loop);
		o.loop = &loop;
		snprintf(p, sizeof(p), "%s/ext.cnf", g_dir);
		o.ca_bundle = p;
		assert_int_not_equal(
		    srv_acme_http_new(&o, &h, err, sizeof(err)), 0);
		assert_null(h);
		assert_non_null(strstr(err, "no PEM certificate"));
		o.ca_bundle = "/nonexistent/ca.pem";
		assert_int_not_equal(
		    srv_acme_http_new(&o, &h, err, sizeof(err)), 0);
		assert_int_equal(tp_loop_close(&loop), 0);
	}
}

static void
test_protocols_refused(void **state)
{
	struct ctx c;
	struct res x = {0};
	struct acme_http_req rq = {
	    .id = 1, .method = "PUT", .url = "https://127.0.0.1/"};
	int dead = free_port();

	(void)state;
	ctx_open(&c, "ca", 0);
	/* connection refused */
	one(&c, "GET", url("https", dead, "/json"), NULL, NULL, &x);
	assert_int_equal(x.status, 0);
	assert_non_null(x.error);
	assert_non_null(strcasestr(x.error, "connect"));
	res_clear(&x);

	/* plain http to loopback is allowed (tests) */
	one(&c, "GET", url("http", g_plain_port, "/json"), NULL, NULL, &x);
	assert_int_equal(x.status, 200);
	assert_string_equal(x.nonce, "nonce-1");
	res_clear(&x);

	/* ... to anywhere else it is not: refused before any connection
	 * (TEST-NET-1, nothing is sent) */
	one(&c, "GET", "http://192.0.2.1:9/x", NULL, NULL, &x);
	assert_int_equal(x.status, 0);
	assert_non_null(strcasestr(x.error, "protocol"));
	res_clear(&x);
	one(&c, "GET", url("ftp", g_plain_port, "/x"), NULL, NULL, &x);
	assert_int_equal(x.status, 0);
	assert_non_null(strcasestr(x.error, "protocol"));
	res_clear(&x);

	/* bad requests are refused synchronously, no callback */
	assert_int_equal(srv_acme_http_start(c.h, &rq, on_resp, &x), AD_EINVAL);
	rq.method = "GET";
	rq.url = "not a url";
	assert_int_equal(srv_acme_http_start(c.h, &rq, on_resp, &x), AD_EINVAL);
	rq.url = NULL;
	assert_int_equal(srv_acme_http_start(c.h, &rq, on_resp, &x), AD_EINVAL);
	assert_int_equal(x.called, 0);
	ctx_close(&c);
}

static void
test_concurrent(void **state)
{
	enum { N = 50 };
	struct ctx c;
	struct res *x = calloc(N, sizeof(*x));
	int left = N, all = 0, i;
	char p[32];

	(void)state;
	ctx_open(&c, "ca", 0);
	for (i = 0; i < N; i++) {
		x[i].left = &left;
		x[i].all = &all;
		snprintf(p, sizeof(p), "/id/%d", i);
		start(&c, (uint64_t)(1000 + i), "GET",
		      url("https", g_tls_port, p), NULL, NULL, &x[i]);
	}
	tp_run_until(&c.loop, &all, 30000);
	for (i = 0; i < N; i++) {
		char want[16];

		assert_int_equal(x[i].called, 1);
		assert_int_equal(x[i].id, 1000 + i);
		if (x[i].status != 200)
			fprintf(stderr, "request %d: %s\n", i, x[i].error);
		assert_int_equal(x[i].status, 200);
		snprintf(want, sizeof(want), "%d", i);
		assert_string_equal(x[i].body, want);
		res_clear(&x[i]);
	}
	free(x);
	ctx_close(&c);
}

static void
test_free_in_flight(void **state)
{
	enum { N = 6 };
	struct ctx c;
	struct res x[N];
	int left = 100, all = 0, i;

	(void)state;
	memset(x, 0, sizeof(x));
	ctx_open(&c, "ca", 0);
	for (i = 0; i < N; i++) {
		x[i].left = &left;
		x[i].all = &all;
		start(&c, (uint64_t)i, "GET", url("https", g_tls_port, "/slow"),
		      NULL, NULL, &x[i]);
	}
	tp_run_for(&c.loop, 300); /* connected, mid-transfer */
	srv_acme_http_free(c.h);
	assert_int_equal(tp_loop_close(&c.loop), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(x[i].called, 0);
}

/* A completion that frees the client: the others never arrive. */
struct killer {
	struct srv_acme_http *h;
	int calls;
	int *all;
};

static void
on_resp_free(void *arg, uint64_t id, const struct acme_http_resp *r)
{
	struct killer *k = arg;

	(void)id;
	(void)r;
	k->calls++;
	srv_acme_http_free(k->h);
	*k->all = 1;
}

static void
test_free_from_callback(void **state)
{
	enum { N = 10 };
	struct ctx c;
	struct killer k = {0};
	int all = 0, i;
	char p[32];

	(void)state;
	ctx_open(&c, "ca", 0);
	k.h = c.h;
	k.all = &all;
	for (i = 0; i < N; i++) {
		struct acme_http_req rq = {.id = (uint64_t)i, .method = "GET"};

		snprintf(p, sizeof(p), "/id/%d", i);
		rq.url = url("https", g_tls_port, p);
		assert_int_equal(
		    srv_acme_http_start(c.h, &rq, on_resp_free, &k), 0);
	}
	tp_run_until(&c.loop, &all, 15000);
	assert_int_equal(tp_loop_close(&c.loop), 0);
	assert_int_equal(k.calls, 1);
}

/* A completion that starts the next request (what the engine does all
 * the time): chains of 5, then done. */
struct chain {
	struct srv_acme_http *h;
	int n, ok;
	int *all;
};

static void
on_resp_chain(void *arg, uint64_t id, const struct acme_http_resp *r)
{
	struct chain *ch = arg;
	struct acme_http_req rq = {.method = "GET"};
	char p[32];

	if (r->status == 200 && id == (uint64_t)ch->n)
		ch->ok++;
	if (++ch->n == 5) {
		*ch->all = 1;
		return;
	}
	snprintf(p, sizeof(p), "/id/%d", ch->n);
	rq.id = (uint64_t)ch->n;
	rq.url = url("https", g_tls_port, p);
	TP_CHECK(srv_acme_http_start(ch->h, &rq, on_resp_chain, ch) == 0);
}

static void
test_start_from_callback(void **state)
{
	struct ctx c;
	struct chain ch = {0};
	struct acme_http_req rq = {.id = 0, .method = "GET"};
	int all = 0;

	(void)state;
	ctx_open(&c, "ca", 0);
	ch.h = c.h;
	ch.all = &all;
	rq.url = url("https", g_tls_port, "/id/0");
	assert_int_equal(srv_acme_http_start(c.h, &rq, on_resp_chain, &ch), 0);
	tp_run_until(&c.loop, &all, 15000);
	assert_int_equal(ch.n, 5);
	assert_int_equal(ch.ok, 5);
	ctx_close(&c);
}

/* ---- CNAME lookups ----------------------------------------------------- */

struct rres {
	int called, status;
	uint64_t id;
	char target[300];
	double at;
	int *left, *all;
};

static void
on_cname(void *arg, uint64_t id, int status, const char *target)
{
	struct rres *r = arg;

	r->called++;
	r->id = id;
	r->status = status;
	r->at = tp_now();
	if (target)
		snprintf(r->target, sizeof(r->target), "%s", target);
	if (--*r->left == 0)
		*r->all = 1;
}

static void
test_resolve(void **state)
{
	enum { N = 7 };
	struct rres r[N];
	uv_loop_t loop;
	char ns[64], dead[64];
	int left = N, all = 0, i;
	double t0;

	(void)state;
	memset(r, 0, sizeof(r));
	for (i = 0; i < N; i++) {
		r[i].left = &left;
		r[i].all = &all;
	}
	uv_loop_init(&loop);
	snprintf(ns, sizeof(ns), "127.0.0.1:%d", g_nsd_port);
	snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
	t0 = tp_now();
	/* all at once on the thread pool: the dead server's 2 x 5 s bound
	 * the test's time */
	assert_int_equal(srv_resolve_cname(&loop, ns, 1,
					   "_acme-challenge.www.example.test",
					   on_cname, &r[0]),
			 0);
	assert_int_equal(srv_resolve_cname(&loop, ns, 2, "nope.example.test.",
					   on_cname, &r[1]),
			 0);
	assert_int_equal(srv_resolve_cname(&loop, ns, 3, "plain.example.test",
					   on_cname, &r[2]),
			 0);
	assert_int_equal(srv_resolve_cname(&loop, dead, 4,
					   "_acme-challenge.www.example.test",
					   on_cname, &r[3]),
			 0);
	assert_int_equal(srv_resolve_cname(&loop, ns, 5,
					   "_ACME-challenge.REL.example.test",
					   on_cname, &r[4]),
			 0);
	/* "[::1]:PORT" parses; nobody answers there (nsd is IPv4 only) */
	assert_int_equal(srv_resolve_cname(&loop, "[::1]:1", 6, "a.example",
					   on_cname, &r[5]),
			 0);
	assert_int_equal(
	    srv_resolve_cname(&loop, ns, 7, long_owner(), on_cname, &r[6]), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(r[i].called, 0); /* never inside the call */
	tp_run_until(&loop, &all, 20000);
	for (i = 0; i < N; i++) {
		assert_int_equal(r[i].called, 1);
		assert_int_equal(r[i].id, i + 1);
	}
	assert_int_equal(r[0].status, 0);
	/* the target, absolute (nsd may change its case) */
	assert_int_equal(strcasecmp(r[0].target, "Abc123.Auth.Example.Test."),
			 0);
	assert_int_equal(r[1].status, AD_ENOENT); /* NXDOMAIN */
	assert_int_equal(r[2].status, AD_ENOENT); /* name without CNAME */
	assert_int_equal(r[3].status, AD_EIO);    /* nobody answers */
	assert_true(r[3].at - t0 < 12.5);
	assert_int_equal(r[4].status, 0); /* owner compared without case */
	assert_string_equal(r[4].target, "x.auth.example.test.");
	assert_int_equal(r[5].status, AD_EIO);
	/* TC=1 over UDP, the answer over TCP */
	assert_int_equal(r[6].status, 0);
	assert_string_equal(r[6].target, long_target());
	/* the quick ones did not wait for the dead one */
	assert_true(r[0].at - t0 < 3.0);

	/* bad input: refused at once, no callback */
	assert_int_equal(
	    srv_resolve_cname(&loop, "bogus", 9, "a.example", on_cname, &r[0]),
	    AD_EINVAL);
	assert_int_equal(srv_resolve_cname(&loop, "127.0.0.1:99999", 9,
					   "a.example", on_cname, &r[0]),
			 AD_EINVAL);
	assert_int_equal(
	    srv_resolve_cname(&loop, "[::1", 9, "a.example", on_cname, &r[0]),
	    AD_EINVAL);
	assert_int_equal(srv_resolve_cname(&loop, ns, 9, "", on_cname, &r[0]),
			 AD_EINVAL);
	assert_int_equal(
	    srv_resolve_cname(&loop, ns, 9, "a..b", on_cname, &r[0]),
	    AD_EINVAL);
	assert_int_equal(r[0].called, 1);
	assert_int_equal(tp_loop_close(&loop), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_headers),
	    cmocka_unit_test(test_post_head),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_redirect_not_followed),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_tls_failures),
	    cmocka_unit_test(test_protocols_refused),
	    cmocka_unit_test(test_concurrent),
	    cmocka_unit_test(test_free_in_flight),
	    cmocka_unit_test(test_free_from_callback),
	    cmocka_unit_test(test_start_from_callback),
	    cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
