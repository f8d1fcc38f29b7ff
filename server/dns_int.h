/* SPDX-License-Identifier: MIT */
/* Internal state of the DNS transport (dns_udp.c, dns_tcp.c). */
#ifndef SRV_DNS_INT_H
#define SRV_DNS_INT_H

#include "server/dns.h"

#include <netinet/in.h>
#include <sys/socket.h>

#define UDP_BATCH 32
#define UDP_QUERY_MAX 4096 /* larger datagrams are not queries we answer */
#define UDP_RESP_MAX 4096  /* >= the largest edns_size we accept */
#define UDP_ROUNDS 8	   /* batches per wakeup before yielding */

struct udp_sock {
	uv_poll_t poll;
	int fd;
	bool pktinfo; /* wildcard bind: reply from the query's address */
	int family;
	struct srv_dns *d;
	struct udp_sock *next;
};

struct tcp_listener {
	uv_tcp_t h;
	struct srv_dns *d;
	struct tcp_listener *next;
};

struct tcp_conn;

struct udp_batch {
	struct mmsghdr rmsg[UDP_BATCH];
	struct mmsghdr smsg[UDP_BATCH];
	struct iovec riov[UDP_BATCH];
	struct iovec siov[UDP_BATCH];
	struct sockaddr_storage addr[UDP_BATCH];
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} rctl[UDP_BATCH], sctl[UDP_BATCH];
	uint8_t q[UDP_BATCH][UDP_QUERY_MAX];
	uint8_t r[UDP_BATCH][UDP_RESP_MAX];
};

struct srv_dns {
	uv_loop_t *loop; /* &own when threaded */
	/* the DNS thread: its own loop, stopped through an async handle */
	bool threaded;
	uv_loop_t own;
	uv_thread_t thread;
	uv_async_t stop_async;
	bool running; /* the thread runs (srv_dns_stop joins it) */
	const struct zone *zone;
	struct srv_dns_opts opts;
	struct srv_dns_stats stats;
	struct udp_sock *udp;
	struct tcp_listener *tcp;
	/* TCP connections, least recently active first */
	struct tcp_conn *lru_head, *lru_tail;
	uint32_t nconns;
	unsigned pending_closes; /* handles still closing */
	bool stopping;
	struct udp_batch *batch; /* shared by all UDP sockets (one thread) */
	uint8_t *tcp_resp;	 /* 2 + 65535 scratch for one TCP answer */
};

/* Counters are written by the DNS thread and read by /metrics on the main
 * loop: relaxed atomics (a plain add on x86-64, and no data race). */
#define DNS_STAT_INC(x) __atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)

void srv_dns__udp_stop(struct srv_dns *d);
void srv_dns__tcp_stop(struct srv_dns *d);
void srv_dns__maybe_free(struct srv_dns *d);
void srv_dns__count(struct srv_dns *d, const struct zone_qinfo *qi);

#endif
