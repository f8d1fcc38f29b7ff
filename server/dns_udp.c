/* SPDX-License-Identifier: MIT */
/*
 * UDP: our own non-blocking sockets watched by uv_poll_t. Each wakeup reads
 * up to UDP_BATCH datagrams with one recvmmsg(), answers them, and sends
 * all responses with one sendmmsg(); it repeats while the socket is full,
 * at most UDP_ROUNDS times, then yields to the loop so TCP and the API are
 * served too. Batching is the main lever on CPU per query: a recv+send pair
 * per packet costs more than answering it.
 *
 * Sockets bound to a wildcard address use IP_PKTINFO/IPV6_RECVPKTINFO so
 * each response leaves from the address the query was sent to.
 */
#include "server/dns_int.h"

#include "common/util.h"
#include "common/xalloc.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool
is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
		&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Copy the destination address of a received datagram into the control
 * message of its response (source address selection). */
static socklen_t
reply_pktinfo(const struct msghdr *rh, uint8_t *out, size_t cap)
{
	struct msghdr sh = {.msg_control = out, .msg_controllen = cap};
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)rh); c;
	     c = CMSG_NXTHDR((struct msghdr *)rh, c)) {
		struct cmsghdr *o = CMSG_FIRSTHDR(&sh);
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
			memcpy(CMSG_DATA(o), CMSG_DATA(c),
			       sizeof(struct in6_pktinfo));
			return CMSG_SPACE(sizeof(struct in6_pktinfo));
		}
	}
	return 0;
}

static void
on_udp_readable(uv_poll_t *h, int status, int events)
{
	struct udp_sock *u = h->data;
	struct srv_dns *d = u->d;
	struct udp_batch *b = d->batch;
	struct zone_qopts qo = {.tcp = false};
	struct zone_qinfo qi;

	if (status < 0 || !(events & UV_READABLE))
		return;
	/* zone_answer wants wall-clock ms for TXT expiry (uv_now is
	 * monotonic): one clock read per wakeup, not per query */
	qo.now_ms = ad_now_ms();

	for (unsigned round = 0; round < UDP_ROUNDS; round++) {
		for (unsigned i = 0; i < UDP_BATCH; i++) {
			b->riov[i].iov_base = b->q[i];
			b->riov[i].iov_len = UDP_QUERY_MAX;
			struct msghdr *m = &b->rmsg[i].msg_hdr;
			m->msg_name = &b->addr[i];
			m->msg_namelen = sizeof(b->addr[i]);
			m->msg_iov = &b->riov[i];
			m->msg_iovlen = 1;
			m->msg_control = u->pktinfo ? b->rctl[i].buf : NULL;
			m->msg_controllen = u->pktinfo ? sizeof(b->rctl[i]) : 0;
			m->msg_flags = 0;
		}
		int n = recvmmsg(u->fd, b->rmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break; /* EAGAIN, or an error we cannot act on */

		unsigned k = 0;
		for (int i = 0; i < n; i++) {
			struct msghdr *rm = &b->rmsg[i].msg_hdr;
			DNS_STAT_INC(d->stats.udp_queries);
			if (rm->msg_flags & MSG_TRUNC) {
				DNS_STAT_INC(d->stats.dropped);
				continue;
			}
			size_t len = zone_answer(d->zone, b->q[i],
						 b->rmsg[i].msg_len, b->r[k],
						 UDP_RESP_MAX, &qo, &qi);
			if (len == 0) {
				DNS_STAT_INC(d->stats.dropped);
				continue;
			}
			srv_dns__count(d, &qi);
			b->siov[k].iov_base = b->r[k];
			b->siov[k].iov_len = len;
			struct msghdr *sm = &b->smsg[k].msg_hdr;
			sm->msg_name = rm->msg_name;
			sm->msg_namelen = rm->msg_namelen;
			sm->msg_iov = &b->siov[k];
			sm->msg_iovlen = 1;
			sm->msg_flags = 0;
			if (u->pktinfo) {
				sm->msg_control = b->sctl[k].buf;
				sm->msg_controllen = reply_pktinfo(
					rm, b->sctl[k].buf, sizeof(b->sctl[k]));
				if (!sm->msg_controllen)
					sm->msg_control = NULL;
			} else {
				sm->msg_control = NULL;
				sm->msg_controllen = 0;
			}
			k++;
		}
		unsigned sent = 0;
		while (sent < k) {
			int s = sendmmsg(u->fd, b->smsg + sent, k - sent,
					 MSG_DONTWAIT);
			if (s < 0) {
				if (errno == EINTR)
					continue;
				/* full send buffer or an unreachable client:
				 * UDP answers are best effort; skip one */
				DNS_STAT_INC(d->stats.send_errors);
				sent++;
				continue;
			}
			sent += (unsigned)s;
		}
		if (n < UDP_BATCH)
			break;
	}
}

static void
on_udp_closed(uv_handle_t *h)
{
	struct udp_sock *u = h->data;
	struct srv_dns *d = u->d;
	close(u->fd);
	free(u);
	d->pending_closes--;
	srv_dns__maybe_free(d);
}

int
srv_dns__udp_start(struct srv_dns *d, const struct srv_addr *a, char *err,
		   size_t errlen)
{
	int fam = a->ss.ss_family, one = 1, r;
	int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "udp %s: socket: %s", a->text,
			 strerror(errno));
		return -1;
	}
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	bool wild = is_wildcard(&a->ss);
	if (wild && fam == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (wild && fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
			   sizeof(one));
	/* room for bursts; the kernel caps these at net.core.[rw]mem_max */
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		snprintf(err, errlen, "udp %s: bind: %s", a->text,
			 strerror(errno));
		close(fd);
		return -1;
	}
	struct udp_sock *u = xcalloc(1, sizeof(*u));
	u->fd = fd;
	u->d = d;
	u->family = fam;
	u->pktinfo = wild;
	if ((r = uv_poll_init(d->loop, &u->poll, fd)) != 0) {
		snprintf(err, errlen, "udp %s: %s", a->text, uv_strerror(r));
		close(fd);
		free(u);
		return -1;
	}
	u->poll.data = u;
	u->next = d->udp;
	d->udp = u;
	uv_poll_start(&u->poll, UV_READABLE, on_udp_readable);
	return 0;
}

void
srv_dns__udp_stop(struct srv_dns *d)
{
	struct udp_sock *u = d->udp, *next;
	for (; u; u = next) {
		next = u->next;
		uv_poll_stop(&u->poll);
		d->pending_closes++;
		uv_close((uv_handle_t *)&u->poll, on_udp_closed);
	}
	d->udp = NULL;
}
