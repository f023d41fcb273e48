/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Digest header values, the upper half of digest authentication over
 * digest.h: the Authorization / Proxy-Authorization value a client sends,
 * parsed into credentials, and the WWW-Authenticate / Proxy-Authenticate
 * values the server sends, built with a fresh nonce from the context.
 */
#ifndef SLUICE_SIP_DIGEST_HDR_H
#define SLUICE_SIP_DIGEST_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/digest.h"

/* Room for one challenge value with the longest realm, escaped. */
#define DIGEST_CHALLENGE_MAX	(2 * DIGEST_REALM_MAX + DIGEST_NONCE_MAX + 96)

struct osip_authorization;

/*
 * Parses a credentials value ("Digest username=..., ..."), len bytes.
 * -EPROTONOSUPPORT for another scheme, an algorithm other than MD5 and
 * SHA-256 (the -sess variants included) or userhash; -EINVAL for anything
 * malformed: bad syntax, a parameter twice, a mandatory one missing, a
 * value too long for its field, a response or nc of the wrong form.
 */
int digest_creds_parse(const char *value, size_t len, struct digest_creds *out);
/* The same from libosip2's parsed header (its values keep their quotes). */
int digest_creds_from_osip(const struct osip_authorization *a, struct digest_creds *out);

/*
 * One challenge value:
 *   Digest realm="R", nonce="N", algorithm=SHA-256, qop="auth"[, stale=true]
 * -ENOBUFS when it does not fit, -EINVAL for a realm with control bytes.
 */
int digest_challenge(enum digest_alg alg, const char *realm, const char *nonce, bool stale,
		     char *out, size_t size);
/*
 * The challenges of a 401 or 407, one per algorithm of algs in its order
 * (the client takes the first it supports, RFC 8760 section 2.4), sharing
 * one fresh nonce. Returns how many (algs->n), or -errno.
 */
int digest_challenges(struct digest_ctx *dc, const char *realm, const struct digest_algs *algs,
		      bool stale, uint64_t now_s, char out[DIGEST_ALG_N][DIGEST_CHALLENGE_MAX]);

#endif /* SLUICE_SIP_DIGEST_HDR_H */
