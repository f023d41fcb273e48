/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HTTP digest authentication for SIP (RFC 7616, with SHA-256 for SIP by
 * RFC 8760, and MD5 as RFC 2617 had it), qop=auth only:
 *   - the arithmetic: HA1 from the credentials (what the subscriber
 *     database stores instead of passwords), the expected response, and a
 *     comparison that takes the same time whatever the bytes;
 *   - the Authorization / Proxy-Authorization value parsed into
 *     credentials, and WWW-Authenticate / Proxy-Authenticate values built;
 *   - a context that issues signed nonces (nonce.h) and verifies
 *     credentials against them, with nonce-count replay protection.
 *
 * The registrar's rule: every verdict other than DIGEST_OK and
 * DIGEST_STALE is answered with the same fresh challenge, so a client
 * learns nothing about why it failed; an unknown user is verified against
 * a dummy HA1 (pass NULL) so that it costs the same work and fails the
 * same way as a wrong password.
 */
#ifndef SLUICE_SIP_DIGEST_H
#define SLUICE_SIP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/nonce.h"

enum digest_alg {
	DIGEST_MD5 = 0,
	DIGEST_SHA256,
};

enum digest_qop {
	DIGEST_QOP_NONE = 0,	/* RFC 2069 style, without qop: refused */
	DIGEST_QOP_AUTH,
	DIGEST_QOP_OTHER,	/* auth-int or unknown: refused */
};

/* Lowercase hex of the longest digest (SHA-256), with its NUL. */
#define DIGEST_HEX_MAX		65
#define DIGEST_USER_MAX		128
#define DIGEST_REALM_MAX	128
#define DIGEST_NONCE_MAX	96
#define DIGEST_URI_MAX		512
#define DIGEST_CNONCE_MAX	128
#define DIGEST_OPAQUE_MAX	128
/* Room for one challenge value with the longest realm, escaped. */
#define DIGEST_CHALLENGE_MAX	(2 * DIGEST_REALM_MAX + DIGEST_NONCE_MAX + 96)

/* Credentials from an Authorization value, unquoted and unescaped. */
struct digest_creds {
	enum digest_alg	alg;		/* MD5 when the client names none */
	enum digest_qop	qop;
	uint32_t	nc;		/* nonce-count, with qop */
	char		nc_text[9];	/* its 8 hex digits, as hashed */
	char		username[DIGEST_USER_MAX];
	char		realm[DIGEST_REALM_MAX];
	char		nonce[DIGEST_NONCE_MAX];
	char		uri[DIGEST_URI_MAX];
	char		response[DIGEST_HEX_MAX];	/* lowercased */
	char		cnonce[DIGEST_CNONCE_MAX];
	char		opaque[DIGEST_OPAQUE_MAX];
};

enum digest_verdict {
	DIGEST_OK = 0,
	DIGEST_STALE,		/* right response, old nonce: challenge, stale=true */
	DIGEST_FAILED,		/* wrong response, or unknown user */
	DIGEST_BAD_NONCE,	/* not a nonce of ours */
	DIGEST_REPLAY,		/* nonce-count already used */
	DIGEST_WRONG_REALM,
	DIGEST_WRONG_URI,	/* digest-uri is not the Request-URI */
	DIGEST_BAD_QOP,		/* no qop, or not auth */
};

struct digest_ctx {
	struct nonce_ctx	nonces;
	char			dummy_ha1[2][DIGEST_HEX_MAX];	/* per digest_alg */
};

struct osip_authorization;

/* "MD5" / "SHA-256" (case-insensitive) to the enum; -EINVAL otherwise. */
int digest_alg_parse(const char *name, enum digest_alg *out);
const char *digest_alg_name(enum digest_alg alg);
const char *digest_verdict_name(enum digest_verdict v);

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

int digest_ctx_init(struct digest_ctx *dc, uint32_t nonce_lifetime_s);
void digest_ctx_fini(struct digest_ctx *dc);
/*
 * The two challenges of a 401 or 407, out[0] SHA-256 and out[1] MD5 (the
 * client takes the first it supports, RFC 8760 section 2.4), sharing one
 * fresh nonce.
 */
int digest_challenges(struct digest_ctx *dc, const char *realm, bool stale, uint64_t now_s,
		      char out[2][DIGEST_CHALLENGE_MAX]);
/*
 * Checks credentials for a request: realm ours, digest-uri equal to the
 * Request-URI as written on the request line (uri NULL: not checked),
 * qop=auth, the nonce ours, the response right for ha1 (the subscriber's
 * HA1 for c->alg, NULL for an unknown user) and its nonce-count not used
 * before. The count is spent only by a right response.
 */
enum digest_verdict digest_verify(struct digest_ctx *dc, const struct digest_creds *c,
				  const char *realm, const char *method, const char *uri,
				  const char *ha1, uint64_t now_s);

#endif /* SLUICE_SIP_DIGEST_H */
