/* SPDX-License-Identifier: MIT */
/*
 * The ACME engine's network I/O on the daemon's libuv loop: HTTPS through
 * libcurl's multi interface, driven exactly as curl's
 * docs/examples/multi-uv.c (a uv_poll_t per socket curl asks for, one
 * uv_timer_t for curl's timeout, curl_multi_socket_action, completions
 * collected with curl_multi_info_read), and CNAME lookups with ldns on the
 * libuv thread pool. It owns transfers, their buffers and the handles; it
 * must not block the loop (no curl_easy_perform, no blocking DNS on the
 * loop thread), must not follow redirects or accept bodies over
 * ACME_MSG_MAX_BODY, and never calls a completion from inside a start
 * function.
 */
#include "server/acme_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ldns/ldns.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "acme/msg.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xalloc.h"

#define HTTP__HDR_MAX 2048 /* longest header value kept */
#define HTTP__URL_MAX 8192 /* longest URL accepted */
#define HTTP__SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define HTTP__TOO_LARGE "response too large (> 1 MiB)"
#define HTTP__MAX_HOST_CONNS 4 /* connections per CA host */
#define HTTP__DONE_PER_PASS 8  /* completions handled per loop pass */

/* One socket curl wants watched (multi-uv.c's curl_context_t). Freed in
 * its close callback, which must not touch the owner: the owner may be
 * gone by then (libuv runs close callbacks in its own order). */
struct http__sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct srv_acme_http *h;
	struct http__sock *prev, *next;
};

/* One transfer in flight. */
struct http__xfer {
	struct srv_acme_http *h;
	struct http__xfer *prev, *next;
	CURL *easy;
	uint64_t id;
	srv_acme_http_cb cb;
	void *arg;
	char *post; /* request body copy (curl borrows it) */
	struct curl_slist *hdrs;
	char *body; /* response body, NUL-terminated, body_len bytes */
	size_t body_len, body_cap;
	bool too_large;
	/* kept response headers, first of each (Link: every one) */
	char *content_type, *location, *replay_nonce, *retry_after;
	char *links[ACME_HTTP_MAX_LINKS];
	size_t nlinks;
	char errbuf[CURL_ERROR_SIZE];
};

struct srv_acme_http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer; /* curl's timeout; its close callback frees h */
	struct stack_st_X509 *extra_ca; /* [acme] ca_bundle, or NULL */
	char *cainfo; /* CURLOPT_CAINFO, or NULL: curl default */
	char *user_agent;
	long connect_timeout_ms, timeout_ms;
	struct http__xfer *xfers;
	struct http__sock *socks;
	unsigned depth; /* >0 while completions are being delivered */
	bool closing;   /* srv_acme_http_free was called */
};

static pthread_once_t http__once = PTHREAD_ONCE_INIT;
static CURLcode http__global_rc = CURLE_FAILED_INIT;

static void
http__global_init(void)
{
	/* curl_global_init is not thread-safe and must run once per process
	 * before any other curl call */
	http__global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- the extra trust anchors ------------------------------------------ */

/* Read every certificate of a PEM file. 0 or AD_EINVAL with err. */
static int
http__load_ca(const char *path, struct stack_st_X509 **out, char *err,
	      size_t errlen)
{
	struct stack_st_X509 *sk;
	X509 *x;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "ca_bundle %s: %s", path,
			 strerror(errno));
		return AD_EINVAL;
	}
	sk = sk_X509_new_null();
	if (!sk) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return AD_ENOMEM;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
	}
	/* the loop ends with a "no start line" error at EOF: not an error */
	ERR_clear_error();
	fclose(f);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		snprintf(err, errlen, "ca_bundle %s: no PEM certificate", path);
		return AD_EINVAL;
	}
	*out = sk;
	return 0;
}

/*
 * CURLOPT_SSL_CTX_FUNCTION: add the extra CAs to the store curl already
 * filled from the system bundle, so both the public roots and the test CA
 * are trusted (CURLOPT_CAINFO alone would replace the system roots).
 * Duplicates (the store may be curl's cached one) are harmless.
 */
static CURLcode
http__ssl_ctx(CURL *easy, void *ssl_ctx, void *userptr)
{
	struct srv_acme_http *h = userptr;
	X509_STORE *st = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);
	int i;

	(void)easy;
	if (!st)
		return CURLE_SSL_CERTPROBLEM;
	for (i = 0; i < sk_X509_num(h->extra_ca); i++)
		X509_STORE_add_cert(st, sk_X509_value(h->extra_ca, i));
	ERR_clear_error();
	return CURLE_OK;
}

/* ---- transfers ------------------------------------------------------- */

static void
http__xfer_free(struct http__xfer *x)
{
	size_t i;

	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	free(x->post);
	free(x->body);
	free(x->content_type);
	free(x->location);
	free(x->replay_nonce);
	free(x->retry_after);
	for (i = 0; i < x->nlinks; i++)
		free(x->links[i]);
	free(x);
}

static void
http__xfer_unlink(struct http__xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		x->h->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

/* Forget the headers of an earlier response of the same transfer (a 1xx
 * interim response): only the final response's headers count. */
static void
http__xfer_reset_headers(struct http__xfer *x)
{
	size_t i;

	free(x->content_type);
	free(x->location);
	free(x->replay_nonce);
	free(x->retry_after);
	x->content_type = x->location = x->replay_nonce = x->retry_after = NULL;
	for (i = 0; i < x->nlinks; i++) {
		free(x->links[i]);
		x->links[i] = NULL;
	}
	x->nlinks = 0;
}

static size_t
http__write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http__xfer *x = userp;
	size_t n = size * nmemb;
	size_t cap;

	/* ACME bodies are small JSON or a PEM chain: anything bigger is a
	 * broken or hostile server; returning short aborts the transfer
	 * (CURLE_WRITE_ERROR) before more memory is spent */
	if (n > ACME_MSG_MAX_BODY - x->body_len) {
		x->too_large = true;
		return 0;
	}
	if (x->body_len + n + 1 > x->body_cap) {
		cap = x->body_cap ? x->body_cap : 4096;
		while (cap < x->body_len + n + 1)
			cap *= 2;
		if (cap > ACME_MSG_MAX_BODY + 1)
			cap = ACME_MSG_MAX_BODY + 1;
		x->body = xrealloc(x->body, cap);
		x->body_cap = cap;
	}
	memcpy(x->body + x->body_len, data, n);
	x->body_len += n;
	x->body[x->body_len] = '\0';
	return n;
}

static size_t
http__header_cb(char *buf, size_t size, size_t nitems, void *userp)
{
	struct http__xfer *x = userp;
	size_t n = size * nitems;
	const char *colon, *v, *end;
	size_t namelen, vlen;
	char **slot = NULL;

	/* a status line starts a new response (after 100 Continue etc.) */
	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		http__xfer_reset_headers(x);
		return n;
	}
	colon = memchr(buf, ':', n);
	if (!colon)
		return n; /* the blank line ending the headers, or junk */
	namelen = (size_t)(colon - buf);
	v = colon + 1;
	end = buf + n;
	/* RFC 9110 §5.5: the value has no leading/trailing whitespace; curl
	 * passes the CR LF through */
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
			   end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vlen = (size_t)(end - v);
	if (memchr(v, '\r', vlen) || memchr(v, '\n', vlen))
		return n;

#define HDR_IS(lit)                                                            \
	(namelen == sizeof(lit) - 1 && strncasecmp(buf, lit, namelen) == 0)
	if (HDR_IS("Content-Type"))
		slot = &x->content_type;
	else if (HDR_IS("Location"))
		slot = &x->location;
	else if (HDR_IS("Replay-Nonce"))
		slot = &x->replay_nonce;
	else if (HDR_IS("Retry-After"))
		slot = &x->retry_after;
	else if (!HDR_IS("Link"))
		return n;
#undef HDR_IS

	/* a longer value would be a truncated URL or nonce: worse than none,
	 * so it is dropped rather than cut */
	if (vlen >= HTTP__HDR_MAX) {
		ad_debug("acme-http", "header value over %d bytes ignored",
			 HTTP__HDR_MAX);
		return n;
	}
	if (slot) {
		if (!*slot)
			*slot = xstrndup(v, vlen);
	} else if (x->nlinks < ACME_HTTP_MAX_LINKS) {
		x->links[x->nlinks++] = xstrndup(v, vlen);
	}
	return n;
}

/* Deliver one finished transfer (already removed from the multi). */
static void
http__complete(struct http__xfer *x, CURLcode res)
{
	struct acme_http_resp r;
	char errtext[CURL_ERROR_SIZE + 128];
	long code = 0;

	memset(&r, 0, sizeof(r));
	if (res == CURLE_OK)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (res == CURLE_OK && code >= 100 && code <= 999) {
		r.status = (int)code;
		r.body = x->body_len ? x->body : NULL;
		r.body_len = x->body_len;
		r.content_type = x->content_type;
		r.location = x->location;
		r.replay_nonce = x->replay_nonce;
		r.retry_after = x->retry_after;
		memcpy(r.links, x->links, sizeof(r.links));
		r.nlinks = x->nlinks;
	} else {
		if (x->too_large || res == CURLE_FILESIZE_EXCEEDED)
			snprintf(errtext, sizeof(errtext), HTTP__TOO_LARGE);
		else if (res == CURLE_OK)
			snprintf(errtext, sizeof(errtext),
				 "invalid HTTP status %ld", code);
		else if (x->errbuf[0])
			snprintf(errtext, sizeof(errtext), "%s: %s",
				 curl_easy_strerror(res), x->errbuf);
		else
			snprintf(errtext, sizeof(errtext), "%s",
				 curl_easy_strerror(res));
		r.status = 0;
		r.error = errtext;
	}
	x->cb(x->arg, x->id, &r);
}

/* multi-uv.c check_multi_info(): collect finished transfers. A callback
 * may start new transfers or free h; the latter only sets h->closing and
 * the loop stops (teardown runs when the outermost caller unwinds). */
static void http__timer_cb(uv_timer_t *t);

static void
http__check_multi_info(struct srv_acme_http *h)
{
	struct http__xfer *x;
	CURLMsg *msg;
	CURLcode res;
	int pending = 0;
	unsigned budget = HTTP__DONE_PER_PASS;

	while (!h->closing && budget > 0 &&
	       (msg = curl_multi_info_read(h->multi, &pending)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		budget--;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
				  (char **)&x);
		if (!x)
			continue;
		res = msg->data.result; /* msg dies in remove_handle */
		curl_multi_remove_handle(h->multi, x->easy);
		http__xfer_unlink(x);
		http__complete(x, res);
		http__xfer_free(x);
	}
	if (!h->closing && budget == 0 && pending > 0) {
		/*
		 * Each completion runs engine work (parsing, signing the next
		 * request): a burst of them would hold the loop that answers
		 * DNS. The rest are taken on the next loop iteration (curl
		 * keeps them queued; an early timeout action is harmless,
		 * curl re-arms its own timer).
		 */
		uv_timer_start(&h->timer, http__timer_cb, 0, 0);
	}
}

static void http__teardown(struct srv_acme_http *h);

static void
http__drive(struct srv_acme_http *h, curl_socket_t fd, int flags)
{
	int running;

	if (h->closing)
		return;
	h->depth++;
	curl_multi_socket_action(h->multi, fd, flags, &running);
	http__check_multi_info(h);
	h->depth--;
	if (h->closing && h->depth == 0)
		http__teardown(h);
}

static void
http__poll_cb(uv_poll_t *p, int status, int events)
{
	struct http__sock *s = p->data;
	int flags = 0;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	http__drive(s->h, s->fd, flags);
}

static void
http__timer_cb(uv_timer_t *t)
{
	http__drive(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static void
http__sock_closed(uv_handle_t *hd)
{
	free(hd->data);
}

static void
http__sock_close(struct http__sock *s)
{
	struct srv_acme_http *h = s->h;

	if (s->prev)
		s->prev->next = s->next;
	else
		h->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	uv_close((uv_handle_t *)&s->poll, http__sock_closed);
}

/* CURLMOPT_SOCKETFUNCTION (multi-uv.c handle_socket). */
static int
http__socket_cb(CURL *easy, curl_socket_t fd, int action, void *userp,
		void *socketp)
{
	struct srv_acme_http *h = userp;
	struct http__sock *s = socketp;
	int events = 0;

	(void)easy;
	switch (action) {
	case CURL_POLL_IN:
	case CURL_POLL_OUT:
	case CURL_POLL_INOUT:
		if (!s) {
			s = xcalloc(1, sizeof(*s));
			s->fd = fd;
			s->h = h;
			if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
				/* -1 here would mark the whole multi dead
				 * (curl 7.88): the transfer runs into its
				 * timeout instead */
				ad_warn("acme-http", "cannot watch socket %d",
					(int)fd);
				free(s);
				return 0;
			}
			s->poll.data = s;
			s->next = h->socks;
			if (h->socks)
				h->socks->prev = s;
			h->socks = s;
			curl_multi_assign(h->multi, fd, s);
		}
		if (action != CURL_POLL_IN)
			events |= UV_WRITABLE;
		if (action != CURL_POLL_OUT)
			events |= UV_READABLE;
		uv_poll_start(&s->poll, events, http__poll_cb);
		break;
	case CURL_POLL_REMOVE:
		if (s) {
			uv_poll_stop(&s->poll);
			http__sock_close(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		break;
	default:
		break;
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION (multi-uv.c start_timeout). Never call
 * curl_multi_socket_action from here: the timer does it on the next loop
 * iteration, which is also why no completion can run inside start. */
static int
http__timer_func(CURLM *multi, long timeout_ms, void *userp)
{
	struct srv_acme_http *h = userp;

	(void)multi;
	if (timeout_ms < 0 || h->closing) {
		uv_timer_stop(&h->timer);
	} else {
		if (timeout_ms == 0)
			timeout_ms = 1;
		uv_timer_start(&h->timer, http__timer_cb, (uint64_t)timeout_ms,
			       0);
	}
	return 0;
}

/* ---- public ------------------------------------------------------------ */

int
srv_acme_http_new(const struct srv_acme_http_opts *opts,
		  struct srv_acme_http **out, char *err, size_t errlen)
{
	struct srv_acme_http *h;
	int rc;

	*out = NULL;
	if (!opts || !opts->loop) {
		snprintf(err, errlen, "no loop");
		return AD_EINVAL;
	}
	pthread_once(&http__once, http__global_init);
	if (http__global_rc != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init: %s",
			 curl_easy_strerror(http__global_rc));
		return AD_EIO;
	}
	h = xcalloc(1, sizeof(*h));
	h->loop = opts->loop;
	h->connect_timeout_ms =
	    opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000;
	h->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	h->user_agent = xstrdup(opts->user_agent && opts->user_agent[0]
				    ? opts->user_agent
				    : "acmedns/" ACMEDNS_VERSION);
	if (access(HTTP__SYSTEM_CA, R_OK) == 0)
		h->cainfo = xstrdup(HTTP__SYSTEM_CA);
	if (opts->ca_bundle && opts->ca_bundle[0]) {
		rc = http__load_ca(opts->ca_bundle, &h->extra_ca, err, errlen);
		if (rc != 0) {
			free(h->cainfo);
			free(h->user_agent);
			free(h);
			return rc;
		}
		/* no system bundle: the extra CAs are all there is */
		if (!h->cainfo)
			h->cainfo = xstrdup(opts->ca_bundle);
	}
	h->multi = curl_multi_init();
	if (!h->multi) {
		if (h->extra_ca)
			sk_X509_pop_free(h->extra_ca, X509_free);
		free(h->cainfo);
		free(h->user_agent);
		free(h);
		snprintf(err, errlen, "curl_multi_init failed");
		return AD_ENOMEM;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http__socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http__timer_func);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/*
	 * Every TLS handshake is a few milliseconds of crypto on the loop
	 * that also answers DNS. A burst of orders must not open a
	 * connection each: requests to one CA share few connections
	 * (HTTP/2 multiplexing where the CA offers it, see PIPEWAIT below;
	 * otherwise they queue for one of these).
	 */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)HTTP__MAX_HOST_CONNS);
	uv_timer_init(h->loop, &h->timer);
	h->timer.data = h;
	*out = h;
	return 0;
}

/* http:// is allowed only towards this machine (tests, a local CA). */
static int
http__loopback_url(const char *url, bool *loopback)
{
	CURLU *u = curl_url();
	char *host = NULL;
	int rc = 0;

	if (!u)
		return AD_ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = AD_EINVAL;
	} else {
		*loopback = strcasecmp(host, "127.0.0.1") == 0 ||
			    strcasecmp(host, "[::1]") == 0 ||
			    strcasecmp(host, "localhost") == 0;
	}
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

#define SETOPT(opt, val)                                                       \
	do {                                                                   \
		if (curl_easy_setopt(x->easy, opt, val) != CURLE_OK)           \
			goto fail;                                             \
	} while (0)

int
srv_acme_http_start(struct srv_acme_http *h, const struct acme_http_req *req,
		    srv_acme_http_cb cb, void *arg)
{
	struct http__xfer *x;
	bool loopback = false, post = false, head = false;
	char ctype[256];
	int rc;

	if (!h || h->closing || !req || !cb || !req->url || !req->method)
		return AD_EINVAL;
	if (strnlen(req->url, HTTP__URL_MAX) >= HTTP__URL_MAX)
		return AD_EINVAL;
	if (strcmp(req->method, "POST") == 0)
		post = true;
	else if (strcmp(req->method, "HEAD") == 0)
		head = true;
	else if (strcmp(req->method, "GET") != 0)
		return AD_EINVAL;
	if (post && req->body_len > ACME_MSG_MAX_BODY)
		return AD_ELIMIT;
	if (req->content_type &&
	    (strlen(req->content_type) > sizeof(ctype) - 16 ||
	     strpbrk(req->content_type, "\r\n")))
		return AD_EINVAL;
	rc = http__loopback_url(req->url, &loopback);
	if (rc != 0)
		return rc;

	x = xcalloc(1, sizeof(*x));
	x->h = h;
	x->id = req->id;
	x->cb = cb;
	x->arg = arg;
	x->easy = curl_easy_init();
	if (!x->easy) {
		free(x);
		return AD_ENOMEM;
	}
	SETOPT(CURLOPT_URL, req->url);
	SETOPT(CURLOPT_PRIVATE, x);
	SETOPT(CURLOPT_PROTOCOLS_STR, loopback ? "https,http" : "https");
	/* RFC 8555 has no redirects: a 3xx goes to the engine as is */
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->cainfo) {
		SETOPT(CURLOPT_CAINFO, h->cainfo);
		/* the bundle alone: with a CA path set curl reloads every
		 * root for every connection instead of caching the store */
		SETOPT(CURLOPT_CAPATH, NULL);
	}
	if (h->extra_ca && h->cainfo &&
	    strcmp(h->cainfo, HTTP__SYSTEM_CA) == 0) {
		SETOPT(CURLOPT_SSL_CTX_FUNCTION, http__ssl_ctx);
		SETOPT(CURLOPT_SSL_CTX_DATA, h);
	}
	/* wait for a connection that may multiplex rather than open one */
	SETOPT(CURLOPT_PIPEWAIT, 1L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, h->timeout_ms);
	SETOPT(CURLOPT_USERAGENT, h->user_agent);
	/* no signals from a library inside a daemon (threaded resolver) */
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(CURLOPT_WRITEFUNCTION, http__write_cb);
	SETOPT(CURLOPT_WRITEDATA, x);
	SETOPT(CURLOPT_HEADERFUNCTION, http__header_cb);
	SETOPT(CURLOPT_HEADERDATA, x);
	/* fail early on a declared Content-Length over the cap; the write
	 * callback catches bodies without one */
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ACME_MSG_MAX_BODY);
	/* no Accept-Encoding: a compressed body could expand past the cap
	 * inside curl before the write callback sees it */
	if (head) {
		SETOPT(CURLOPT_NOBODY, 1L);
	} else if (post) {
		x->post = xmalloc(req->body_len ? req->body_len : 1);
		if (req->body_len)
			memcpy(x->post, req->body, req->body_len);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SETOPT(CURLOPT_POSTFIELDS, x->post);
		/* an empty "Content-Type:" removes curl's form default */
		snprintf(ctype, sizeof(ctype), "Content-Type:%s%s",
			 req->content_type ? " " : "",
			 req->content_type ? req->content_type : "");
		x->hdrs = curl_slist_append(x->hdrs, ctype);
		/* a round trip for nothing: ACME bodies are small */
		x->hdrs = curl_slist_append(x->hdrs, "Expect:");
		if (!x->hdrs)
			goto fail;
		SETOPT(CURLOPT_HTTPHEADER, x->hdrs);
	} else {
		SETOPT(CURLOPT_HTTPGET, 1L);
	}
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK)
		goto fail;
	x->next = h->xfers;
	if (h->xfers)
		h->xfers->prev = x;
	h->xfers = x;
	return 0;
fail:
	http__xfer_free(x);
	return AD_EIO;
}

#undef SETOPT

static void
http__timer_closed(uv_handle_t *hd)
{
	struct srv_acme_http *h = hd->data;

	if (h->extra_ca)
		sk_X509_pop_free(h->extra_ca, X509_free);
	free(h->cainfo);
	free(h->user_agent);
	free(h);
}

/* Remove every transfer without a callback, then the multi, then the
 * handles; h itself goes in the timer's close callback. */
static void
http__teardown(struct srv_acme_http *h)
{
	struct http__xfer *x;

	while ((x = h->xfers) != NULL) {
		http__xfer_unlink(x);
		/* may call the socket callback: polls get closed */
		curl_multi_remove_handle(h->multi, x->easy);
		http__xfer_free(x);
	}
	curl_multi_cleanup(h->multi);
	h->multi = NULL;
	/* curl reported every socket removed; this catches any it did not */
	while (h->socks)
		http__sock_close(h->socks);
	uv_close((uv_handle_t *)&h->timer, http__timer_closed);
}

void
srv_acme_http_free(struct srv_acme_http *h)
{
	if (!h || h->closing)
		return;
	h->closing = true;
	if (h->depth == 0)
		http__teardown(h);
}

/* ---- CNAME lookups ------------------------------------------------------ */

#define RESOLVE__TIMEOUT_S 5
#define RESOLVE__TRIES 2

struct resolve__job {
	uv_work_t work;
	uint64_t id;
	srv_resolve_cb cb;
	void *arg;
	bool system; /* /etc/resolv.conf */
	char ip[INET6_ADDRSTRLEN];
	bool ip6;
	uint16_t port;
	char name[LDNS_MAX_DOMAINLEN + 2]; /* absolute, trailing dot */
	int status;
	char target[LDNS_MAX_DOMAINLEN + 2];
};

/* "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 address. 0 or AD_EINVAL. */
static int
resolve__parse_addr(const char *s, struct resolve__job *j)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *end;
	unsigned char buf[sizeof(struct in6_addr)];
	unsigned long p = 53;
	char *e;
	size_t n;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end)
			return AD_EINVAL;
		n = (size_t)(end - s - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return AD_EINVAL;
		s++;
	} else {
		end = strchr(s, ':');
		if (end && strchr(end + 1, ':')) {
			end = NULL; /* bare IPv6, no port */
		}
		n = end ? (size_t)(end - s) : strlen(s);
		if (end)
			port = end + 1;
	}
	if (n == 0 || n >= sizeof(host))
		return AD_EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (port) {
		errno = 0;
		p = strtoul(port, &e, 10);
		if (errno || e == port || *e || p == 0 || p > 65535)
			return AD_EINVAL;
	}
	if (inet_pton(AF_INET, host, buf) == 1)
		j->ip6 = false;
	else if (inet_pton(AF_INET6, host, buf) == 1)
		j->ip6 = true;
	else
		return AD_EINVAL;
	ad_strlcpy(j->ip, host, sizeof(j->ip));
	j->port = (uint16_t)p;
	return 0;
}

static ldns_resolver *
resolve__resolver(struct resolve__job *j)
{
	ldns_resolver *r = NULL;
	ldns_rdf *addr;
	struct timeval tv = {RESOLVE__TIMEOUT_S, 0};

	if (j->system) {
		if (ldns_resolver_new_frm_file(&r, NULL) != LDNS_STATUS_OK)
			return NULL;
	} else {
		r = ldns_resolver_new();
		if (!r)
			return NULL;
		addr = ldns_rdf_new_frm_str(
		    j->ip6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, j->ip);
		if (!addr ||
		    ldns_resolver_push_nameserver(r, addr) != LDNS_STATUS_OK) {
			ldns_rdf_deep_free(addr);
			ldns_resolver_deep_free(r);
			return NULL;
		}
		ldns_rdf_deep_free(addr); /* push copies it */
		ldns_resolver_set_port(r, j->port);
	}
	/* the CNAME lives in the customer's zone: ask a recursive resolver */
	ldns_resolver_set_recursive(r, true);
	ldns_resolver_set_timeout(r, tv);
	ldns_resolver_set_retry(r, RESOLVE__TRIES);
	ldns_resolver_set_usevc(r, false);
	ldns_resolver_set_fallback(r, true); /* TCP when TC=1 */
	ldns_resolver_set_igntc(r, false);
	ldns_resolver_set_defnames(r, false); /* no search list */
	ldns_resolver_set_dnsrch(r, false);
	return r;
}

/* Worker thread: blocking ldns query; no loop, no logging of the reply. */
static void
resolve__work(uv_work_t *w)
{
	struct resolve__job *j = w->data;
	ldns_resolver *r;
	ldns_rdf *qname = NULL;
	ldns_pkt *pkt = NULL;
	ldns_rr_list *ans;
	ldns_rr *rr;
	ldns_pkt_rcode rcode;
	ldns_status st;
	char *t;
	size_t i, n;

	j->status = AD_EIO;
	r = resolve__resolver(j);
	if (!r)
		return;
	if (ldns_str2rdf_dname(&qname, j->name) != LDNS_STATUS_OK)
		goto out;
	st = ldns_resolver_send(&pkt, r, qname, LDNS_RR_TYPE_CNAME,
				LDNS_RR_CLASS_IN, LDNS_RD);
	if (st != LDNS_STATUS_OK || !pkt)
		goto out;
	rcode = ldns_pkt_get_rcode(pkt);
	if (rcode == LDNS_RCODE_NXDOMAIN) {
		j->status = AD_ENOENT;
		goto out;
	}
	if (rcode != LDNS_RCODE_NOERROR)
		goto out;
	/* NODATA, or an answer for another owner: no CNAME here */
	j->status = AD_ENOENT;
	ans = ldns_pkt_answer(pkt);
	for (i = 0; ans && i < ldns_rr_list_rr_count(ans); i++) {
		rr = ldns_rr_list_rr(ans, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_rr_rd_count(rr) != 1 ||
		    ldns_dname_compare(ldns_rr_owner(rr), qname) != 0)
			continue;
		t = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		if (!t)
			break;
		n = strlen(t);
		if (n > 0 && n + 2 <= sizeof(j->target)) {
			memcpy(j->target, t, n + 1);
			if (t[n - 1] != '.') {
				j->target[n] = '.';
				j->target[n + 1] = '\0';
			}
			j->status = 0;
		}
		free(t);
		break;
	}
out:
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(qname);
	ldns_resolver_deep_free(r);
}

/* Loop thread: report, then free. */
static void
resolve__after(uv_work_t *w, int status)
{
	struct resolve__job *j = w->data;

	if (status == UV_ECANCELED)
		j->status = AD_EIO;
	j->cb(j->arg, j->id, j->status, j->status == 0 ? j->target : NULL);
	free(j);
}

int
srv_resolve_cname(uv_loop_t *loop, const char *resolver, uint64_t id,
		  const char *name, srv_resolve_cb cb, void *arg)
{
	struct resolve__job *j;
	ldns_rdf *d = NULL;
	size_t n;
	int rc;

	if (!loop || !name || !cb)
		return AD_EINVAL;
	n = strnlen(name, LDNS_MAX_DOMAINLEN + 1);
	if (n == 0 || n > LDNS_MAX_DOMAINLEN)
		return AD_EINVAL;
	j = xcalloc(1, sizeof(*j));
	memcpy(j->name, name, n);
	if (name[n - 1] != '.')
		j->name[n] = '.';
	/* reject what ldns cannot parse here, not on the thread */
	if (ldns_str2rdf_dname(&d, j->name) != LDNS_STATUS_OK) {
		free(j);
		return AD_EINVAL;
	}
	ldns_rdf_deep_free(d);
	if (!resolver || !resolver[0]) {
		j->system = true;
	} else if (resolve__parse_addr(resolver, j) != 0) {
		free(j);
		return AD_EINVAL;
	}
	j->id = id;
	j->cb = cb;
	j->arg = arg;
	j->work.data = j;
	rc = uv_queue_work(loop, &j->work, resolve__work, resolve__after);
	if (rc != 0) {
		free(j);
		return rc;
	}
	return 0;
}
