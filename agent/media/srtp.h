/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SRTP termination of one leg (RFC 3711, keys by SDES: sdes.h), over
 * libsrtp2. A leg that the relay terminates has two contexts: `rx` with
 * the peer's key (what the peer's SDP offered or answered), which
 * authenticates and decrypts what the peer sends, and `tx` with the
 * relay's own key for that peer (what the relay's SDP to it carried),
 * which encrypts what goes to it. Each leg has keys of its own: the two
 * peers of a call never share one, so a relay that terminates SRTP on
 * both legs decrypts and encrypts every packet.
 *
 * A packet that fails authentication or replay checks is dropped and
 * counted (media_leg_stats.dropped_crypto): a wrong key, a stranger, a
 * replay. Streams with a terminated leg are never offloaded to the kernel
 * (session.c): XDP and the kernel module forward headers, not ciphers.
 *
 * Debian's libsrtp2 does its AES through NSS, which uses AES-NI where the
 * CPU has it; for the AES_CM_128_HMAC_SHA1 suites (and the AES-128 key
 * derivation) sluice gives it OpenSSL's instead, with contexts kept per
 * stream (srtp_evp.h), registered by media_srtp_global_init().
 */
#ifndef SLUICE_MEDIA_SRTP_H
#define SLUICE_MEDIA_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/sdes.h"

/* The most protect adds to a packet (libsrtp2's SRTP_MAX_TRAILER_LEN and more). */
#define MEDIA_SRTP_TRAILER	144

struct media_srtp {
	void			*rx;	/* srtp_t: the peer's key */
	void			*tx;	/* srtp_t: the relay's key towards the peer */
	struct sdes_crypto	rx_key;
	struct sdes_crypto	tx_key;
};

/* libsrtp2's one-time set-up; 0 or -EIO. Idempotent. */
int media_srtp_global_init(void);

/*
 * A leg's contexts for the peer's key rx and the relay's key tx (same
 * suite). Where *sp exists already with the same keys it is kept (its
 * rollover counters with it: a re-INVITE that repeats the keys does not
 * reset the stream). *sp is malloc'ed; 0, -ENOMEM or -EINVAL.
 */
int media_srtp_set(struct media_srtp **sp, const struct sdes_crypto *rx,
		   const struct sdes_crypto *tx);
void media_srtp_free(struct media_srtp **sp);

/*
 * In place. rtcp: the packet is SRTCP. *len in, the new length out.
 * unprotect: 0, or -EACCES (authentication or replay failed), -EINVAL
 * (not a packet). protect: 0 or -EINVAL; buf must hold *len +
 * MEDIA_SRTP_TRAILER.
 */
int media_srtp_unprotect(struct media_srtp *s, bool rtcp, uint8_t *buf, size_t *len);
int media_srtp_protect(struct media_srtp *s, bool rtcp, uint8_t *buf, size_t *len);

#endif /* SLUICE_MEDIA_SRTP_H */
