/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HTTP digest arithmetic for SIP authentication (RFC 7616, with SHA-256
 * for SIP by RFC 8760, and MD5 as RFC 2617 had it): HA1 from the
 * credentials (what the subscriber database stores instead of
 * passwords), the expected response for a challenge, and a comparison that
 * takes the same time whatever the bytes.
 */
#ifndef SLUICE_SIP_DIGEST_H
#define SLUICE_SIP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

enum digest_alg {
	DIGEST_MD5 = 0,
	DIGEST_SHA256,
};

/* Lowercase hex of the longest digest (SHA-256), with its NUL. */
#define DIGEST_HEX_MAX	65

/* "MD5" / "SHA-256" (case-insensitive) to the enum; -EINVAL otherwise. */
int digest_alg_parse(const char *name, enum digest_alg *out);
const char *digest_alg_name(enum digest_alg alg);

/* HA1 = H(username ":" realm ":" password), hex. */
int digest_ha1(enum digest_alg alg, const char *user, const char *realm, const char *password,
	       char out[DIGEST_HEX_MAX]);

/*
 * The response for qop=auth:
 *   H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" H(method ":" uri))
 * and, with qop NULL (RFC 2069 clients), H(HA1 ":" nonce ":" H(method ":" uri)).
 */
int digest_response(enum digest_alg alg, const char *ha1, const char *nonce, const char *nc,
		    const char *cnonce, const char *qop, const char *method, const char *uri,
		    char out[DIGEST_HEX_MAX]);

/* Equal strings, in time that depends only on the length of a. */
bool digest_equal(const char *a, const char *b);

#endif /* SLUICE_SIP_DIGEST_H */
