/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An RFC 5389 STUN Binding server, for phones that learn their public
 * address before they register (the previous server had one). Stateless
 * and without authentication, as RFC 5389 §10 allows a Binding server:
 * a valid Binding request is answered with XOR-MAPPED-ADDRESS (and, for
 * RFC 3489 clients, MAPPED-ADDRESS), SOFTWARE and FINGERPRINT; a request
 * naming a comprehension-required attribute we do not know gets 420 with
 * UNKNOWN-ATTRIBUTES; anything else (responses, indications, a damaged
 * message or FINGERPRINT) is dropped.
 *
 * The same codec answers ICE connectivity checks on the media ports
 * (stun_ice_answer(), for the relay's ICE-lite agent: RFC 8445 §7.3 with
 * RFC 5389's short-term credentials), where the answer carries
 * MESSAGE-INTEGRITY (HMAC-SHA1 keyed by the relay's ice-pwd) before
 * FINGERPRINT.
 *
 * STUN is not SIP: the codec lives in net/, below both of its users, the
 * SIP server (sip/server.c) and the media relay (media/relay.c, ice.c).
 */
#ifndef SLUICE_NET_STUN_H
#define SLUICE_NET_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HEADER		20
#define STUN_COOKIE		0x2112A442u
#define STUN_FP_XOR		0x5354554eu
#define STUN_MAX_RESPONSE	128
#define STUN_MAX_REQUEST	1280	/* longer ones get no answer from ICE */

/* Could buf be STUN rather than SIP (RFC 5389 §6, RFC 7983)? */
bool stun_is_packet(const void *buf, size_t len);

/*
 * The answer to req from src into out. Returns its length, 0 when req gets
 * no answer, -ENOBUFS when out is too small.
 */
int stun_answer(const uint8_t *req, size_t len, const struct sockaddr *src, uint8_t *out,
		size_t outlen);

/* The relay's side of one ICE session: its ice-ufrag and ice-pwd. */
struct stun_ice_cred {
	const char	*ufrag;		/* the USERNAME's part before ':' */
	const char	*pwd;		/* MESSAGE-INTEGRITY's key */
};

/* stun_ice_answer()'s *flags */
#define STUN_ICE_AUTHENTICATED	(1u << 0)	/* USERNAME and MESSAGE-INTEGRITY right */
#define STUN_ICE_USE_CANDIDATE	(1u << 1)	/* ... and the peer nominates this pair */

/*
 * The answer to an ICE connectivity check (or an RFC 7675 consent check)
 * from src into out: a Binding success response with XOR-MAPPED-ADDRESS,
 * MESSAGE-INTEGRITY and FINGERPRINT; 400 for a request without USERNAME or
 * MESSAGE-INTEGRITY, 401 for a wrong USERNAME (not "cred->ufrag:...") or
 * MESSAGE-INTEGRITY (neither signed), 420 for an unknown
 * comprehension-required attribute and 487 for a peer that claims the
 * controlled role (both signed). Returns the answer's length, 0 when req
 * gets no answer (as stun_answer()), -ENOBUFS. *flags: STUN_ICE_*.
 */
int stun_ice_answer(const uint8_t *req, size_t len, const struct sockaddr *src,
		    const struct stun_ice_cred *cred, uint8_t *out, size_t outlen,
		    unsigned *flags);

/* Does msg's MESSAGE-INTEGRITY verify with key (a short-term password)? */
bool stun_check_integrity(const uint8_t *msg, size_t len, const char *key);

#endif /* SLUICE_NET_STUN_H */
