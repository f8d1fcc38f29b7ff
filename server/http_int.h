/* SPDX-License-Identifier: MIT */
/*
 * Internal state of the HTTP server glue, shared by http.c (sockets,
 * connections, timers, responses) and http_tls.c (OpenSSL over memory
 * BIOs). Nothing here is visible outside server/http*.c.
 */
#ifndef SRV_HTTP_INT_H
#define SRV_HTTP_INT_H

#include "server/http.h"

#include <openssl/ssl.h>

/* stop reading from a client that does not read its responses */
#define HTTP_OUT_HIGH (256 * 1024)
/* one read from the socket (shared by all connections: one thread) */
#define HTTP_READ_CHUNK (64 * 1024)
/* plaintext out of SSL_read per call: one TLS record */
#define HTTP_TLS_CHUNK (16 * 1024)
/* after an error response: how long unread input is drained so that the
 * client sees the response instead of a reset (lingering close) */
#define HTTP_LINGER_MS 2000
#define HTTP_LINGER_BYTES (256 * 1024)
#define HTTP_BACKLOG 511

enum http_tm {
	TM_NONE = 0,
	TM_READ,   /* a request (or the TLS handshake) is under way */
	TM_IDLE,   /* keep-alive between requests */
	TM_DRAIN,  /* last response queued: it must leave in time */
	TM_LINGER, /* shut down: draining the client's unread input */
};

struct http_listener {
	uv_tcp_t h;
	struct srv_http *srv;
	char text[64];
};

/*
 * One client connection. Its handles are embedded; the struct is freed
 * once the handles are closed AND the handler answered an outstanding
 * request (refs counts both), never before the close callbacks ran.
 */
struct http_conn {
	uv_tcp_t h;
	uv_timer_t timer;
	uv_shutdown_t sreq;
	struct srv_http *srv;
	struct http_conn *prev, *next; /* least recently active first */
	struct srv_http_parser *parser;
	uint8_t *in; /* plaintext received, not yet parsed */
	size_t inlen, incap;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint64_t req_start_ms; /* first byte of the request being parsed */
	uint32_t nreq;
	size_t out_pending; /* bytes in unfinished uv_write()s */
	size_t lingered;    /* bytes discarded while lingering */
	unsigned refs;      /* handles open + outstanding request */
	enum http_tm tmode;
	bool outstanding; /* a request is with the handler */
	bool reading;
	bool in_drive; /* conn_drive() on the stack */
	bool draining; /* final response queued: then shut down */
	bool shut;     /* uv_shutdown() issued */
	bool closing;  /* uv_close() called */
	bool eof;      /* the client finished sending */
	/* TLS */
	SSL *ssl;
	bool hs_done;
};

struct srv_http {
	uv_loop_t *loop;
	struct srv_http_opts opts; /* listen/tls pointers cleared */
	struct http_listener *ls;
	size_t nls;
	struct http_conn *head, *tail; /* open connections (LRU) */
	uint32_t nconns;               /* open connections */
	size_t nalloc;                 /* connection structs alive */
	unsigned pending_closes;       /* listener handles closing */
	bool stopping;
	uint64_t last_accept_log; /* uv_now() of the last accept error line */
	struct srv_http_stats stats;
	uint8_t *rbuf;   /* HTTP_READ_CHUNK, shared */
	uint8_t *tlsbuf; /* HTTP_TLS_CHUNK, shared */
	SSL_CTX *tls;    /* NULL: plain HTTP */
	char *tls_cert, *tls_key;
};

/* http.c, for http_tls.c */
/* Plaintext from the client (copied). */
void srv_http__conn_input(struct http_conn *c, const uint8_t *d, size_t n);
/* Bytes to the socket, in order (copied when the kernel does not take
 * them at once). */
void srv_http__conn_write_raw(struct http_conn *c, const void *d, size_t n);
/* The client ended the stream (TLS close_notify). */
void srv_http__conn_eof(struct http_conn *c);
void srv_http__conn_close(struct http_conn *c);
void srv_http__conn_hs_done(struct http_conn *c);

/* http_tls.c */
/* A server SSL_CTX from PEM files: 0, or AD_ECRYPTO with err filled. */
int srv_http__tls_ctx(const char *cert, const char *key, SSL_CTX **out,
		      char *err, size_t errlen);
/* Per connection SSL over two memory BIOs: 0 or AD_ECRYPTO. */
int srv_http__tls_conn_init(struct http_conn *c);
/* Ciphertext from the socket: handshake, then plaintext to conn_input. */
void srv_http__tls_input(struct http_conn *c, const uint8_t *d, size_t n);
/* Plaintext to the client. */
void srv_http__tls_send(struct http_conn *c, const void *d, size_t n);
/* Queue close_notify. */
void srv_http__tls_close_notify(struct http_conn *c);

#endif
