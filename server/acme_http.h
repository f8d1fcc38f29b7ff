/* SPDX-License-Identifier: MIT */
/*
 * The ACME engine's I/O on the daemon's libuv loop: HTTPS requests through
 * libcurl's multi interface driven by libuv (curl docs/examples/multi-uv.c:
 * CURLMOPT_SOCKETFUNCTION -> uv_poll_t, CURLMOPT_TIMERFUNCTION -> uv_timer_t),
 * so an ACME request never blocks DNS; and CNAME lookups for the delegation
 * check (ldns, on the libuv thread pool, through [acme] resolver or the
 * system resolver). The one place outside server/ glue where uv.h and
 * curl.h meet.
 *
 * Limits: response bodies over ACME_MSG_MAX_BODY fail the request
 * ("response too large"); redirects are not followed (RFC 8555 has none);
 * HTTPS only, except http:// to loopback (tests); connect timeout 10 s,
 * total 30 s; only the headers the engine needs are kept, each at most
 * 2 KiB.
 */
#ifndef SRV_ACME_HTTP_H
#define SRV_ACME_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "acme/engine.h"

struct srv_acme_http;

struct srv_acme_http_opts {
	uv_loop_t *loop;
	const char *ca_bundle;	 /* extra trusted CAs (PEM file) or NULL:
				    system store plus this file */
	const char *user_agent;	 /* e.g. "acmedns/0.1.0" */
	long connect_timeout_ms; /* 0: 10000 */
	long timeout_ms;	 /* 0: 30000 */
};

/* Completion on the loop thread; resp and everything in it are valid only
 * during the call. */
typedef void (*srv_acme_http_cb)(void *arg, uint64_t id,
				 const struct acme_http_resp *resp);

/* 0 or nonzero with err. */
int srv_acme_http_new(const struct srv_acme_http_opts *opts,
		      struct srv_acme_http **out, char *err, size_t errlen);
/* Start req (copied). cb runs exactly once, later (never inside this call),
 * unless srv_acme_http_free comes first. 0 or AD_E*. */
int srv_acme_http_start(struct srv_acme_http *h,
			const struct acme_http_req *req, srv_acme_http_cb cb,
			void *arg);
/* Abort every transfer (no callbacks), close handles; memory is released
 * in the close callbacks, so the loop must run afterwards. */
void srv_acme_http_free(struct srv_acme_http *h);

/*
 * One CNAME lookup: query name's CNAME at resolver ("IP[:PORT]", default
 * port 53; NULL or "": /etc/resolv.conf) with RD=1, on the thread pool.
 * cb(arg, id, status, target): status 0 with the target (absolute, with
 * trailing dot), AD_ENOENT (NXDOMAIN or no CNAME), or another AD_E* code
 * (timeout: 5 s, 2 tries). Runs on the loop thread, never inside this
 * call. The request is not cancellable; cb must tolerate its owner being
 * gone (check a generation/id).
 */
typedef void (*srv_resolve_cb)(void *arg, uint64_t id, int status,
			       const char *target);
int srv_resolve_cname(uv_loop_t *loop, const char *resolver, uint64_t id,
		      const char *name, srv_resolve_cb cb, void *arg);

#endif
