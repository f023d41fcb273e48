/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DTLS-SRTP (RFC 5763, 5764) on a relay leg, with OpenSSL: the relay's
 * certificate, the handshake over the leg's RTP socket, and the SRTP keys
 * it exports into the leg's libsrtp2 contexts (srtp.h).
 *
 * One certificate per relay, made at start: an ECDSA P-256 key, self
 * signed, valid 30 days from start; a=fingerprint carries its SHA-256.
 * Peers are not authenticated by a CA but by the fingerprint their SDP
 * gave: a handshake whose peer certificate does not hash to it fails.
 *
 * The handshake runs over memory BIOs: the relay hands each datagram of
 * the peer in (only from the leg's peer: relay.c) and sends what OpenSSL
 * writes to the peer from the leg's socket. Retransmissions on OpenSSL's
 * timer run from the session's one-second tick; a handshake not done
 * within MEDIA_DTLS_TIMEOUT_MS is given up (counted, logged) and its
 * memory freed.
 *
 * Profiles: SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_SHA1_80 and _32, in
 * that order of preference.
 */
#ifndef SLUICE_MEDIA_DTLS_H
#define SLUICE_MEDIA_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "media/sdes.h"

#define MEDIA_DTLS_FP_MAX	(32 * 3 + 8)	/* "AB:CD:..." of a SHA-256 */
#define MEDIA_DTLS_TIMEOUT_MS	10000

struct media_dtls_cert {
	void	*ctx;				/* SSL_CTX */
	char	fingerprint[MEDIA_DTLS_FP_MAX];	/* SHA-256, upper-case hex with colons */
};

struct media_dtls {
	void		*ssl;		/* SSL */
	bool		server;
	bool		done;		/* keys exported */
	bool		failed;
	uint64_t	started_ms;
	char		peer_fp[MEDIA_DTLS_FP_MAX];	/* what the peer's SDP said */
};

/* The relay's key and certificate and the DTLS context. 0 or -errno. */
int media_dtls_cert_init(struct media_dtls_cert *c);
void media_dtls_cert_fini(struct media_dtls_cert *c);

/*
 * A leg's DTLS, as server or client, expecting the peer's certificate to
 * hash to peer_fp ("sha-256 AB:..." value, hex with colons). *dp
 * malloc'ed. A client's first flight goes out on the first
 * media_dtls_flush().
 */
int media_dtls_start(struct media_dtls **dp, struct media_dtls_cert *c, bool server,
		     const char *peer_fp, uint64_t now_ms);
void media_dtls_free(struct media_dtls **dp);

/*
 * A datagram from the peer into the handshake, and what OpenSSL has to
 * send sent from fd to `to`. Returns 1 when the handshake completed with
 * this datagram (the keys are in *rx and *tx), 0 while it goes on (or is
 * done: application data is ignored), -EACCES when it failed (a wrong
 * fingerprint, no SRTP profile, a fatal alert).
 */
int media_dtls_input(struct media_dtls *d, const uint8_t *pkt, size_t len, int fd,
		     const struct sockaddr *to, socklen_t tolen, struct sdes_crypto *rx,
		     struct sdes_crypto *tx);

/* Gives the handshake up: its SSL freed, the leg keeps refusing. */
void media_dtls_abort(struct media_dtls *d);

/* Retransmits on OpenSSL's timer, or sends a client's first flight. */
void media_dtls_flush(struct media_dtls *d, int fd, const struct sockaddr *to, socklen_t tolen);

/* RFC 7983: DTLS's first byte is 20..63. */
static inline bool media_dtls_is_packet(const uint8_t *pkt, size_t len)
{
	return len >= 13 && pkt[0] >= 20 && pkt[0] <= 63;
}

#endif /* SLUICE_MEDIA_DTLS_H */
