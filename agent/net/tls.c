// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLS contexts and non-blocking sessions with OpenSSL (see tls.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/tls.h"

/* The first error OpenSSL queued, as its reason string; the queue is emptied. */
static void ssl_why(char *err, size_t errlen, const char *dflt)
{
	unsigned long e = ERR_get_error();

	if (!errlen)
		return;
	if (e)
		ERR_error_string_n(e, err, errlen);
	else
		snprintf(err, errlen, "%s", dflt);
	ERR_clear_error();
}

/* A key protected by a passphrase fails instead of asking a terminal for one. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static SSL_CTX *ctx_new(bool server)
{
	SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!c)
		return NULL;
	/* TLS 1.0 and 1.1 are refused (RFC 8996). */
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	/*
	 * Our output buffer moves (memmove after a partial write) and a write
	 * may stop short: the connection keeps the rest. A peer closing
	 * without close_notify is an end, not an error; renegotiation (a
	 * cheap way to make a server work) is off.
	 */
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			    SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_default_passwd_cb(c, no_passphrase);
	if (!server)
		SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	return c;
}

int tls_ctx_load(struct tls_ctx *ctx, const char *cert, const char *key, char *err,
		 size_t errlen)
{
	SSL_CTX *c, *client = ctx->client;
	X509 *x;

	ERR_clear_error();
	c = ctx_new(true);
	if (!c) {
		ssl_why(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
		ssl_why(err, errlen, "unreadable");
		snprintf(err + strlen(err), errlen - strlen(err), " (certificate %s)", cert);
		goto out_free;
	}
	if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1) {
		ssl_why(err, errlen, "unreadable");
		snprintf(err + strlen(err), errlen - strlen(err), " (key %s)", key);
		goto out_free;
	}
	if (SSL_CTX_check_private_key(c) != 1) {
		ssl_why(err, errlen, "key does not match the certificate");
		goto out_free;
	}
	if (!client) {
		client = ctx_new(false);
		if (!client) {
			ssl_why(err, errlen, "out of memory");
			goto out_free;
		}
	}
	x = SSL_CTX_get0_certificate(c);
	ctx->subject[0] = '\0';
	if (x)
		X509_NAME_oneline(X509_get_subject_name(x), ctx->subject, sizeof(ctx->subject));
	SSL_CTX_free(ctx->server);	/* sessions up keep their reference */
	ctx->server = c;
	ctx->client = client;
	return 0;
out_free:
	SSL_CTX_free(c);
	return -EINVAL;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	SSL_CTX_free(ctx->server);
	SSL_CTX_free(ctx->client);
	SSL_CTX_free(ctx->verify);
	ctx->server = ctx->client = ctx->verify = NULL;
}

int tls_ctx_verify(struct tls_ctx *ctx, const char *ca, const char *host, char *err,
		   size_t errlen)
{
	SSL_CTX *c;

	ERR_clear_error();
	c = ctx_new(false);
	if (!c) {
		ssl_why(err, errlen, "out of memory");
		return -ENOMEM;
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(c, ca, NULL) != 1) {
		ssl_why(err, errlen, "unreadable");
		snprintf(err + strlen(err), errlen - strlen(err), " (CA file %s)", ca);
		SSL_CTX_free(c);
		return -EINVAL;
	}
	SSL_CTX_free(ctx->verify);
	ctx->verify = c;
	snprintf(ctx->verify_host, sizeof(ctx->verify_host), "%s", host);
	return 0;
}

SSL *tls_new_verified(struct tls_ctx *ctx, int fd)
{
	unsigned char a[16];
	bool ip = inet_pton(AF_INET, ctx->verify_host, a) == 1 ||
		  inet_pton(AF_INET6, ctx->verify_host, a) == 1;
	SSL *ssl;

	bool named;

	if (!ctx->verify || !(ssl = SSL_new(ctx->verify)))
		return NULL;
	if (ip)
		named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ctx->verify_host) == 1;
	else
		named = SSL_set1_host(ssl, ctx->verify_host) == 1 &&
			SSL_set_tlsext_host_name(ssl, ctx->verify_host) == 1;
	if (!named || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

SSL *tls_new(struct tls_ctx *ctx, int fd, bool server)
{
	SSL *ssl = SSL_new(server ? ctx->server : ctx->client);

	if (!ssl)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	return ssl;
}

void tls_free(SSL *ssl)
{
	if (!ssl)
		return;
	/* close_notify, best effort: the socket closes right after. */
	ERR_clear_error();
	if (SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	SSL_free(ssl);
	ERR_clear_error();
}

int tls_handshake(SSL *ssl, bool *want_write, char *err, size_t errlen)
{
	int r, e;

	ERR_clear_error();
	*want_write = false;
	r = SSL_do_handshake(ssl);
	if (r == 1)
		return 1;
	e = SSL_get_error(ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return 0;
	if (e == SSL_ERROR_WANT_WRITE) {
		*want_write = true;
		return 0;
	}
	if (e == SSL_ERROR_SYSCALL && !ERR_peek_error())
		snprintf(err, errlen, "%s", errno ? strerror(errno) : "peer closed");
	else
		ssl_why(err, errlen, "handshake failed");
	ERR_clear_error();
	return -EPROTO;
}

/* What SSL_get_error says of a read or write that moved nothing. */
static ssize_t io_error(SSL *ssl, int r, bool *want_write)
{
	int e = SSL_get_error(ssl, r);

	ERR_clear_error();
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want_write = true;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		return -EIO;
	}
}

ssize_t tls_read(SSL *ssl, void *buf, size_t len, bool *want_write)
{
	size_t n = 0;
	int r;

	ERR_clear_error();
	*want_write = false;
	r = SSL_read_ex(ssl, buf, len, &n);
	if (r == 1)
		return (ssize_t)n;
	return io_error(ssl, r, want_write);
}

ssize_t tls_write(SSL *ssl, const void *buf, size_t len, bool *want_write)
{
	size_t n = 0;
	int r;

	ERR_clear_error();
	*want_write = false;
	r = SSL_write_ex(ssl, buf, len, &n);
	if (r == 1)
		return (ssize_t)n;
	r = (int)io_error(ssl, r, want_write);
	return r == 0 ? -EPIPE : r;
}
