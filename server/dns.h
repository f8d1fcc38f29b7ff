/* SPDX-License-Identifier: MIT */
/*
 * DNS transport glue: UDP and TCP listeners on the libuv loop that hand
 * every query to zone_answer() and send back what it returns. Owns sockets,
 * buffers and per-connection state; knows nothing about DNS semantics.
 *
 * UDP uses its own non-blocking sockets under uv_poll_t so that it can batch
 * with recvmmsg/sendmmsg (libuv 1.44 has no batched send). TCP uses uv_tcp_t
 * with RFC 7766 framing, pipelining, an idle timeout that only complete
 * queries reset (slow senders are closed), caps on connections (oldest
 * evicted when full) and on queries per connection.
 */
#ifndef SRV_DNS_H
#define SRV_DNS_H

#include "server/config.h"
#include "zones/zone.h"

#include <uv.h>

struct srv_dns;

struct srv_dns_opts {
	const struct srv_addr *listen;
	size_t nlisten;
	uint32_t tcp_idle_ms;
	uint32_t tcp_max_clients;
	uint32_t tcp_max_queries;
	/* answer on a thread of its own (own libuv loop): nothing the main
	 * loop does (ACME crypto, API requests) ever delays a query */
	bool own_thread;
};

struct srv_dns_stats {
	uint64_t udp_queries, tcp_queries;
	uint64_t dropped;	   /* no response (runt, QR=1, oversized) */
	uint64_t truncated;	   /* TC=1 sent */
	uint64_t rcode[24];	   /* responses by rcode (BADVERS = 16) */
	uint64_t tcp_accepted, tcp_evicted, tcp_timeouts;
	uint64_t send_errors;
	uint64_t qtype[12]; /* by srv_dns_qtype_slot() */
};

/* Query types counted one by one (A NS CNAME SOA MX TXT AAAA TLSA ANY CAA
 * HTTPS); the last slot counts every other type. */
#define SRV_DNS_QTYPES 12
size_t srv_dns_qtype_slot(uint16_t qtype);
/* The type counted in slot, 0 for the "other" slot. */
uint16_t srv_dns_qtype_of_slot(size_t slot);

/*
 * Bind every listen address (UDP and TCP) and start serving answers from
 * *zone (borrowed; must outlive the server). On failure returns nonzero,
 * err says which address and why, and nothing is left open.
 */
int srv_dns_start(uv_loop_t *loop, const struct zone *zone,
		  const struct srv_dns_opts *opts, struct srv_dns **out,
		  char *err, size_t errlen);

/* Close all sockets and connections. With own_thread: stops and joins the
 * DNS thread and frees d before returning. Otherwise d is freed once libuv
 * has closed every handle (the loop must keep running until then). */
void srv_dns_stop(struct srv_dns *d);

/* A snapshot of the counters (any thread; each counter read atomically). */
void srv_dns_stats(const struct srv_dns *d, struct srv_dns_stats *out);

/* Internal to the module (dns_udp.c, dns_tcp.c). */
int srv_dns__udp_start(struct srv_dns *d, const struct srv_addr *a, char *err,
		       size_t errlen);
int srv_dns__tcp_start(struct srv_dns *d, const struct srv_addr *a, char *err,
		       size_t errlen);

#endif
