/* SPDX-License-Identifier: MIT */
/*
 * TLS for the HTTP server: OpenSSL 3 over a pair of memory BIOs, so the
 * socket stays libuv's. Ciphertext read from the socket goes into the read
 * BIO; SSL_read's plaintext goes to the same parser path as plain HTTP;
 * whatever OpenSSL writes (handshake, records, alerts) is flushed from the
 * write BIO to the socket in order.
 *
 * Policy: TLS 1.2 minimum; for 1.2 only ECDHE with AEAD ciphers (Mozilla
 * "intermediate"), server preference; no renegotiation (a client-driven
 * CPU sink); ALPN answers "http/1.1" when offered. SSL_CTX is reference
 * counted: a reload swaps the server's pointer for new connections while
 * open ones keep the context they started with.
 *
 * Handshake failures are the client's business: logged at debug level,
 * the connection is closed. The read timeout of http.c bounds a stalled
 * handshake.
 */
#include "server/http_int.h"

#include "common/errors.h"
#include "common/log.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

#define LOG "http"

#define TLS12_CIPHERS                                                          \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* The most useful line of OpenSSL's error queue, then clear it. */
static void
ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	if (file)
		snprintf(err, errlen, "tls: %s %s: %s", what, file, buf);
	else
		snprintf(err, errlen, "tls: %s: %s", what, buf);
}

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
	    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";
	(void)ssl;
	(void)arg;
	/* RFC 7301 §3.2: no overlap means no ALPN extension in the answer
	 * (NOACK), the client then assumes HTTP/1.1 anyway */
	if (SSL_select_next_proto((unsigned char **)out, outlen, h11,
				  sizeof(h11) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

int
srv_http__tls_ctx(const char *cert, const char *key, SSL_CTX **out, char *err,
		  size_t errlen)
{
	SSL_CTX *ctx;

	*out = NULL;
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		ssl_err(err, errlen, "SSL_CTX_new", NULL);
		return AD_ECRYPTO;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		ssl_err(err, errlen, "settings", NULL);
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
				     SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_NO_COMPRESSION);
	/* idle keep-alive connections give their record buffers back */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_err(err, errlen, "certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_err(err, errlen, "private key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, "key does not match certificate", cert);
		goto fail;
	}
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return AD_ECRYPTO;
}

int
srv_http__tls_conn_init(struct http_conn *c)
{
	BIO *rb, *wb;

	c->ssl = SSL_new(c->srv->tls); /* takes a reference on the ctx */
	if (!c->ssl)
		goto fail;
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	if (!rb || !wb) {
		BIO_free(rb);
		BIO_free(wb);
		goto fail;
	}
	/* an empty read BIO means "want more", not EOF */
	BIO_set_mem_eof_return(rb, -1);
	SSL_set_bio(c->ssl, rb, wb); /* the SSL owns both now */
	SSL_set_accept_state(c->ssl);
	return 0;
fail:
	ad_warn(LOG, "SSL_new failed");
	ERR_clear_error();
	return AD_ECRYPTO;
}

/* Everything OpenSSL produced goes to the socket, in order. */
static void
flush(struct http_conn *c)
{
	BIO *wb = SSL_get_wbio(c->ssl);
	char *p;
	long n = BIO_get_mem_data(wb, &p);

	if (n <= 0)
		return;
	srv_http__conn_write_raw(c, p, (size_t)n);
	(void)BIO_reset(wb);
}

static void
handshake_failed(struct http_conn *c, int e)
{
	if (ad_log_get_level() >= AD_LOG_DEBUG) {
		char buf[256] = "";
		unsigned long ev = ERR_peek_last_error();
		if (ev)
			ERR_error_string_n(ev, buf, sizeof(buf));
		ad_debug(LOG, "TLS handshake failed (%d): %s", e, buf);
	}
	ERR_clear_error();
	flush(c); /* the alert, if any */
	srv_http__conn_close(c);
}

void
srv_http__tls_input(struct http_conn *c, const uint8_t *d, size_t n)
{
	int r, e;

	if (BIO_write(SSL_get_rbio(c->ssl), d, (int)n) != (int)n) {
		srv_http__conn_close(c);
		return;
	}
	if (!c->hs_done) {
		ERR_clear_error();
		r = SSL_do_handshake(c->ssl);
		if (r != 1) {
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ) {
				flush(c);
				return;
			}
			handshake_failed(c, e);
			return;
		}
		flush(c);
		if (c->closing)
			return;
		srv_http__conn_hs_done(c);
	}
	/* plaintext: all that the records read so far hold. While a request
	 * is with the handler it waits in the connection's input buffer;
	 * reading from the socket has stopped, so that is bounded by one
	 * read. */
	while (!c->closing && !c->draining && !c->shut) {
		ERR_clear_error();
		r = SSL_read(c->ssl, c->srv->tlsbuf, HTTP_TLS_CHUNK);
		if (r > 0) {
			srv_http__conn_input(c, c->srv->tlsbuf, (size_t)r);
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			break;
		flush(c);
		if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify */
			srv_http__conn_eof(c);
		} else {
			ad_debug(LOG, "TLS read error %d", e);
			ERR_clear_error();
			srv_http__conn_close(c);
		}
		return;
	}
	if (!c->closing)
		flush(c); /* post-handshake messages (tickets, key updates) */
}

void
srv_http__tls_send(struct http_conn *c, const void *d, size_t n)
{
	int r;

	if (!c->hs_done || c->closing)
		return;
	ERR_clear_error();
	/* memory BIO: the whole buffer is taken or it is an error */
	r = SSL_write(c->ssl, d, (int)n);
	if (r != (int)n) {
		ad_debug(LOG, "SSL_write failed");
		ERR_clear_error();
		srv_http__conn_close(c);
		return;
	}
	flush(c);
}

void
srv_http__tls_close_notify(struct http_conn *c)
{
	ERR_clear_error();
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	flush(c);
}
