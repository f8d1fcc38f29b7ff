/* SPDX-License-Identifier: MIT */
/* DNS transport: start/stop of all listeners and shared statistics. */
#include "server/dns_int.h"

#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>

static void
dns_free(struct srv_dns *d)
{
	free(d->batch);
	free(d->tcp_resp);
	free(d);
}

/* Close every listener and connection (on the thread that runs d->loop). */
static void
dns_close_all(struct srv_dns *d)
{
	d->stopping = true;
	d->pending_closes++; /* hold: nothing frees d while we close */
	srv_dns__udp_stop(d);
	srv_dns__tcp_stop(d);
	d->pending_closes--;
}

static void
on_stop_async(uv_async_t *h)
{
	struct srv_dns *d = h->data;

	dns_close_all(d);
	uv_close((uv_handle_t *)&d->stop_async, NULL);
	/* the thread's uv_run returns once every handle has closed */
}

static void
dns_thread(void *arg)
{
	struct srv_dns *d = arg;

	uv_run(&d->own, UV_RUN_DEFAULT);
}

/* Threaded, not started (or its thread gone): close on this thread. */
static void
dns_own_close(struct srv_dns *d)
{
	dns_close_all(d);
	if (!uv_is_closing((uv_handle_t *)&d->stop_async))
		uv_close((uv_handle_t *)&d->stop_async, NULL);
	uv_run(&d->own, UV_RUN_DEFAULT);
	uv_loop_close(&d->own);
	dns_free(d);
}

int
srv_dns_start(uv_loop_t *loop, const struct zone *zone,
	      const struct srv_dns_opts *opts, struct srv_dns **out, char *err,
	      size_t errlen)
{
	struct srv_dns *d = xcalloc(1, sizeof(*d));
	d->loop = loop;
	d->zone = zone;
	d->opts = *opts;
	d->batch = xcalloc(1, sizeof(*d->batch));
	d->tcp_resp = xmalloc(2 + 65535);
	if (opts->own_thread) {
		/* handles are made here, before the thread runs the loop:
		 * nothing else touches it meanwhile */
		d->threaded = true;
		if (uv_loop_init(&d->own) != 0) {
			snprintf(err, errlen, "cannot create the DNS loop");
			dns_free(d);
			return -1;
		}
		d->loop = &d->own;
		uv_async_init(d->loop, &d->stop_async, on_stop_async);
		d->stop_async.data = d;
	}

	for (size_t i = 0; i < opts->nlisten; i++) {
		if (srv_dns__udp_start(d, &opts->listen[i], err, errlen) ||
		    srv_dns__tcp_start(d, &opts->listen[i], err, errlen)) {
			srv_dns_stop(d);
			return -1;
		}
	}
	if (d->threaded && uv_thread_create(&d->thread, dns_thread, d) != 0) {
		snprintf(err, errlen, "cannot start the DNS thread");
		dns_own_close(d);
		return -1;
	}
	d->running = d->threaded;
	*out = d;
	return 0;
}

void
srv_dns__maybe_free(struct srv_dns *d)
{
	/* a threaded d is freed by srv_dns_stop after the join */
	if (d->threaded || !d->stopping || d->pending_closes)
		return;
	dns_free(d);
}

void
srv_dns_stop(struct srv_dns *d)
{
	if (!d || d->stopping)
		return;
	if (d->threaded) {
		if (!d->running) {
			dns_own_close(d);
			return;
		}
		uv_async_send(&d->stop_async);
		uv_thread_join(&d->thread);
		uv_loop_close(&d->own);
		dns_free(d);
		return;
	}
	dns_close_all(d);
	srv_dns__maybe_free(d);
}

void
srv_dns_stats(const struct srv_dns *d, struct srv_dns_stats *out)
{
	/* every member is a uint64_t counter */
	_Static_assert(sizeof(d->stats) % sizeof(uint64_t) == 0,
		       "srv_dns_stats holds only uint64_t counters");
	const uint64_t *src = (const uint64_t *)&d->stats;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void
srv_dns__count(struct srv_dns *d, const struct zone_qinfo *qi)
{
	if (qi->rcode < sizeof(d->stats.rcode) / sizeof(d->stats.rcode[0]))
		DNS_STAT_INC(d->stats.rcode[qi->rcode]);
	DNS_STAT_INC(d->stats.qtype[srv_dns_qtype_slot(qi->qtype)]);
	if (qi->tc)
		DNS_STAT_INC(d->stats.truncated);
}

static const uint16_t qtype_slots[SRV_DNS_QTYPES - 1] = {
	1, 2, 5, 6, 15, 16, 28, 52, 255, 257, 65,
};

/* Called per query: a switch (a jump table), not a scan of qtype_slots. */
size_t
srv_dns_qtype_slot(uint16_t qtype)
{
	switch (qtype) {
	case 1: return 0;   /* A */
	case 2: return 1;   /* NS */
	case 5: return 2;   /* CNAME */
	case 6: return 3;   /* SOA */
	case 15: return 4;  /* MX */
	case 16: return 5;  /* TXT */
	case 28: return 6;  /* AAAA */
	case 52: return 7;  /* TLSA */
	case 255: return 8; /* ANY */
	case 257: return 9; /* CAA */
	case 65: return 10; /* HTTPS */
	default: return SRV_DNS_QTYPES - 1;
	}
}

uint16_t
srv_dns_qtype_of_slot(size_t slot)
{
	return slot < SRV_DNS_QTYPES - 1 ? qtype_slots[slot] : 0;
}
