/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TLS for the agent's stream transports, with OpenSSL: one server context
 * (a certificate and its key from PEM files, TLS 1.2 at least) that can be
 * replaced while running, a client context for connections we open, and
 * non-blocking handshakes, reads and writes on sockets the caller's loop
 * watches. Nothing here blocks, allocates per byte or logs: the caller
 * decides what a failure means and says it once.
 *
 * A reload builds a new server context and swaps it in only when the
 * certificate and key load and match; connections already up keep the
 * context they started with (OpenSSL counts its references), new ones get
 * the new certificate. A failed reload leaves the running one in place.
 *
 * Connections we open encrypt but do not authenticate the peer: phones
 * reached again at their registered address present no certificate a CA
 * signed for that address. Peers are authenticated by digest instead. The
 * one exception is a peer named in advance (the trunk) with CAs to check
 * it against: tls_ctx_verify(), then tls_new_verified().
 */
#ifndef SLUICE_NET_TLS_H
#define SLUICE_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

struct tls_ctx {
	SSL_CTX	*server;	/* NULL: no certificate loaded */
	SSL_CTX	*client;
	SSL_CTX	*verify;	/* a client checking its peer; NULL: none */
	char	verify_host[128];	/* the name or address it must show */
	char	subject[128];	/* the loaded certificate's, for logs */
};

/*
 * Loads cert and key (PEM) into a new server context and swaps it in.
 * On failure returns -errno, leaves ctx as it was, and writes why into
 * err (OpenSSL's reason; never key material).
 */
int tls_ctx_load(struct tls_ctx *ctx, const char *cert, const char *key, char *err,
		 size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);

/*
 * A client context that checks its peer's certificate against the CAs in
 * ca (PEM) and its name against host (a DNS name, or an IP address
 * literal). Returns 0 or -errno with why in err.
 */
int tls_ctx_verify(struct tls_ctx *ctx, const char *ca, const char *host, char *err,
		   size_t errlen);
/* A connecting session over fd with that check (and host as SNI); NULL: none. */
SSL *tls_new_verified(struct tls_ctx *ctx, int fd);

/* A TLS session over fd, accepting (server) or connecting; NULL: no memory. */
SSL *tls_new(struct tls_ctx *ctx, int fd, bool server);
void tls_free(SSL *ssl);

/*
 * One step of the handshake: 1 done, 0 to be called again when fd is
 * readable (or writable, with *want_write set), -EPROTO with why (a
 * static string or OpenSSL's reason, copied into err) when it failed.
 */
int tls_handshake(SSL *ssl, bool *want_write, char *err, size_t errlen);
/*
 * Like recv()/send() on a non-blocking socket: bytes moved, 0 at the
 * peer's close_notify or EOF (read), -EAGAIN (with *want_write when the
 * socket must become writable first), -EIO on a protocol error.
 */
ssize_t tls_read(SSL *ssl, void *buf, size_t len, bool *want_write);
ssize_t tls_write(SSL *ssl, const void *buf, size_t len, bool *want_write);

#endif /* SLUICE_NET_TLS_H */
