/* SPDX-License-Identifier: MIT */
/*
 * TCP (RFC 7766): 2-byte length framing, any number of pipelined queries
 * per connection (answered in order), partial reads and writes.
 *
 * Limits, all enforced before memory is committed:
 *  - the idle timer is reset only by a complete query or a completed write
 *    of queued answers, so a client that trickles bytes (slowloris) or
 *    announces 65535 bytes and sends nothing is closed after tcp_idle_ms;
 *  - the read buffer grows with the bytes that actually arrived, never to
 *    a length the client merely announced;
 *  - at tcp_max_clients, a new connection evicts the least recently active
 *    one (a flood of idle connections cannot lock others out);
 *  - after tcp_max_queries the connection is closed once answers are sent;
 *  - a client that does not read its answers stops being read from once
 *    OUT_HIGH bytes are queued.
 *
 * Responses go out with uv_try_write(); only what the kernel does not take
 * at once is copied into a per-connection buffer, so the common case does
 * not allocate per query.
 */
#include "server/dns_int.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RBUF_INITIAL 512
#define MSG_MAX (2 + 65535)
#define OUT_HIGH (256 * 1024)

struct outbuf {
	uint8_t *p;
	size_t len, cap;
};

struct tcp_conn {
	uv_tcp_t h;
	uv_timer_t timer;
	uv_write_t wreq;
	struct srv_dns *d;
	struct tcp_conn *prev, *next; /* LRU list */
	uint8_t *rbuf;
	size_t rlen, rcap;
	uint32_t queries;
	struct outbuf out[2]; /* [cur] being written, [!cur] accumulating */
	int cur;
	bool writing;
	bool reading;
	bool closing;	 /* uv_close called */
	bool draining;	 /* close once output is flushed */
};

static void conn_close(struct tcp_conn *c);
static void conn_resume(struct tcp_conn *c);

static void
lru_unlink(struct srv_dns *d, struct tcp_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		d->lru_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		d->lru_tail = c->prev;
	c->prev = c->next = NULL;
}

static void
lru_push(struct srv_dns *d, struct tcp_conn *c)
{
	c->prev = d->lru_tail;
	c->next = NULL;
	if (d->lru_tail)
		d->lru_tail->next = c;
	else
		d->lru_head = c;
	d->lru_tail = c;
}

static void
on_timer_closed(uv_handle_t *h)
{
	struct tcp_conn *c = h->data;
	struct srv_dns *d = c->d;
	free(c->rbuf);
	free(c->out[0].p);
	free(c->out[1].p);
	free(c);
	d->pending_closes--;
	srv_dns__maybe_free(d);
}

static void
on_conn_closed(uv_handle_t *h)
{
	struct tcp_conn *c = h->data;
	uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

static void
conn_close(struct tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	lru_unlink(c->d, c);
	c->d->nconns--;
	uv_timer_stop(&c->timer);
	c->d->pending_closes++;
	uv_close((uv_handle_t *)&c->h, on_conn_closed);
}

static size_t
pending_out(const struct tcp_conn *c)
{
	return c->out[0].len + c->out[1].len;
}

static void start_write(struct tcp_conn *c);

static void
on_write(uv_write_t *req, int status)
{
	struct tcp_conn *c = req->data;
	c->writing = false;
	c->out[c->cur].len = 0;
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	/* the client is reading its answers: that is activity too, or a
	 * pipelining client that reads slowly would be cut off mid-stream */
	uv_timer_again(&c->timer);
	c->cur = !c->cur;
	if (c->out[c->cur].len) {
		start_write(c);
	} else if (c->draining) {
		conn_close(c);
		return;
	}
	conn_resume(c);
}

static void
start_write(struct tcp_conn *c)
{
	uv_buf_t buf = uv_buf_init((char *)c->out[c->cur].p,
				   (unsigned)c->out[c->cur].len);
	c->wreq.data = c;
	c->writing = true;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->h, &buf, 1, on_write) < 0) {
		c->writing = false;
		conn_close(c);
	}
}

static void
outbuf_append(struct outbuf *o, const uint8_t *p, size_t n)
{
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + n)
			cap *= 2;
		o->p = xrealloc(o->p, cap);
		o->cap = cap;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

/* Send one framed response: straight to the socket when nothing is queued,
 * else behind what is. */
static void
conn_send(struct tcp_conn *c, const uint8_t *p, size_t n)
{
	if (!c->writing && pending_out(c) == 0) {
		uv_buf_t buf = uv_buf_init((char *)p, (unsigned)n);
		int w = uv_try_write((uv_stream_t *)&c->h, &buf, 1);
		if (w == (int)n)
			return;
		if (w < 0 && w != UV_EAGAIN) {
			conn_close(c);
			return;
		}
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
		outbuf_append(&c->out[c->cur], p, n);
		start_write(c);
		return;
	}
	/* a write is in flight on out[cur]: accumulate in the other one */
	outbuf_append(&c->out[c->writing ? !c->cur : c->cur], p, n);
	if (!c->writing)
		start_write(c);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_conn *c = h->data;
	(void)suggested;
	if (c->rlen == c->rcap) {
		/* grow with the data that actually arrived, up to one full
		 * message plus its length prefix */
		size_t cap = c->rcap ? c->rcap * 2 : RBUF_INITIAL;
		if (cap > MSG_MAX)
			cap = MSG_MAX;
		c->rbuf = xrealloc(c->rbuf, cap);
		c->rcap = cap;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen,
			   (unsigned)(c->rcap - c->rlen));
}

static void
conn_touch(struct tcp_conn *c)
{
	struct srv_dns *d = c->d;
	lru_unlink(d, c);
	lru_push(d, c);
	uv_timer_again(&c->timer);
}

/* Answer every complete query in the read buffer. */
static void
conn_process(struct tcp_conn *c)
{
	struct srv_dns *d = c->d;
	struct zone_qopts qo = {.tcp = true, .now_ms = ad_now_ms()};
	struct zone_qinfo qi;
	size_t off = 0;

	while (!c->closing && !c->draining && c->rlen - off >= 2) {
		size_t mlen = dw_read_u16_at(c->rbuf + off);
		if (mlen == 0) { /* nonsense framing: give up on the peer */
			conn_close(c);
			return;
		}
		if (c->rlen - off < 2 + mlen)
			break;
		DNS_STAT_INC(d->stats.tcp_queries);
		size_t len = zone_answer(d->zone, c->rbuf + off + 2, mlen,
					 d->tcp_resp + 2, 65535, &qo, &qi);
		off += 2 + mlen;
		c->queries++;
		conn_touch(c);
		if (len == 0) {
			DNS_STAT_INC(d->stats.dropped);
		} else {
			srv_dns__count(d, &qi);
			d->tcp_resp[0] = (uint8_t)(len >> 8);
			d->tcp_resp[1] = (uint8_t)len;
			conn_send(c, d->tcp_resp, len + 2);
		}
		if (c->queries >= d->opts.tcp_max_queries) {
			c->draining = true;
			if (!c->writing && pending_out(c) == 0)
				conn_close(c);
		}
	}
	if (c->closing)
		return;
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	/* stop reading from a client that does not read its answers */
	if (c->reading && (pending_out(c) > OUT_HIGH || c->draining)) {
		uv_read_stop((uv_stream_t *)&c->h);
		c->reading = false;
	}
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *c = s->data;
	(void)buf;
	if (nread < 0) { /* EOF or error */
		if (c->writing || pending_out(c)) {
			c->draining = true; /* finish answers, then close */
			uv_read_stop(s);
			c->reading = false;
		} else {
			conn_close(c);
		}
		return;
	}
	c->rlen += (size_t)nread;
	conn_process(c);
}

/* Called when output drained: read again if we had stopped. */
static void
conn_resume(struct tcp_conn *c)
{
	if (c->closing || c->reading || c->draining)
		return;
	if (pending_out(c) > OUT_HIGH / 2)
		return;
	c->reading = true;
	uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
	conn_process(c); /* queries that arrived while we were not reading */
}

static void
on_idle(uv_timer_t *t)
{
	struct tcp_conn *c = t->data;
	DNS_STAT_INC(c->d->stats.tcp_timeouts);
	conn_close(c);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct tcp_listener *l = server->data;
	struct srv_dns *d = l->d;
	if (status < 0 || d->stopping)
		return;
	if (d->nconns >= d->opts.tcp_max_clients && d->lru_head) {
		DNS_STAT_INC(d->stats.tcp_evicted);
		conn_close(d->lru_head);
	}
	struct tcp_conn *c = xcalloc(1, sizeof(*c));
	c->d = d;
	uv_tcp_init(d->loop, &c->h);
	uv_timer_init(d->loop, &c->timer);
	c->h.data = c;
	c->timer.data = c;
	d->nconns++;
	lru_push(d, c);
	if (uv_accept(server, (uv_stream_t *)&c->h) != 0) {
		conn_close(c);
		return;
	}
	DNS_STAT_INC(d->stats.tcp_accepted);
	uv_tcp_nodelay(&c->h, 1);
	uv_timer_start(&c->timer, on_idle, d->opts.tcp_idle_ms,
		       d->opts.tcp_idle_ms);
	c->reading = true;
	uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
}

static void
on_listener_closed(uv_handle_t *h)
{
	struct tcp_listener *l = h->data;
	struct srv_dns *d = l->d;
	free(l);
	d->pending_closes--;
	srv_dns__maybe_free(d);
}

int
srv_dns__tcp_start(struct srv_dns *d, const struct srv_addr *a, char *err,
		   size_t errlen)
{
	struct tcp_listener *l = xcalloc(1, sizeof(*l));
	int r;
	l->d = d;
	uv_tcp_init(d->loop, &l->h);
	l->h.data = l;
	l->next = d->tcp;
	d->tcp = l;
	unsigned flags = a->ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
	r = uv_tcp_bind(&l->h, (const struct sockaddr *)&a->ss, flags);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&l->h, 1024, on_connection);
	if (r != 0) {
		snprintf(err, errlen, "tcp %s: %s", a->text, uv_strerror(r));
		return -1;
	}
	return 0;
}

void
srv_dns__tcp_stop(struct srv_dns *d)
{
	struct tcp_listener *l = d->tcp, *next;
	for (; l; l = next) {
		next = l->next;
		d->pending_closes++;
		uv_close((uv_handle_t *)&l->h, on_listener_closed);
	}
	d->tcp = NULL;
	while (d->lru_head)
		conn_close(d->lru_head);
}
