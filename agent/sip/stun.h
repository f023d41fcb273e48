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
 */
#ifndef SLUICE_SIP_STUN_H
#define SLUICE_SIP_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HEADER		20
#define STUN_COOKIE		0x2112A442u
#define STUN_FP_XOR		0x5354554eu
#define STUN_MAX_RESPONSE	128

/* Could buf be STUN rather than SIP (RFC 5389 §6, RFC 7983)? */
bool stun_is_packet(const void *buf, size_t len);

/*
 * The answer to req from src into out. Returns its length, 0 when req gets
 * no answer, -ENOBUFS when out is too small.
 */
int stun_answer(const uint8_t *req, size_t len, const struct sockaddr *src, uint8_t *out,
		size_t outlen);

#endif /* SLUICE_SIP_STUN_H */
