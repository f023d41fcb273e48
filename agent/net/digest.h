/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HTTP digest authentication for SIP (RFC 7616, with SHA-256 for SIP by
 * RFC 8760, and MD5 as RFC 2617 had it), qop=auth only. This is the lower
 * half, which knows no header syntax:
 *   - the algorithms, alone and as the ordered list a subscriber may use;
 *   - the arithmetic: HA1 from the credentials (what the subscriber
 *     database stores instead of passwords), the expected response, and a
 *     comparison that takes the same time whatever the bytes;
 *   - a context that issues signed nonces (nonce.h) and verifies parsed
 *     credentials against them, with nonce-count replay protection.
 * The upper half, digest_hdr.h, reads credentials from Authorization
 * values and writes challenges; it uses this one, never the reverse.
 *
 * The registrar's rule: every verdict other than DIGEST_OK and
 * DIGEST_STALE is answered with the same fresh challenge, so a client
 * learns nothing about why it failed; an unknown user is verified against
 * a dummy HA1 (pass NULL) so that it costs the same work and fails the
 * same way as a wrong password.
 */
#ifndef SLUICE_NET_DIGEST_H
#define SLUICE_NET_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/nonce.h"

enum digest_alg {
	DIGEST_MD5 = 0,
	DIGEST_SHA256,
};
#define DIGEST_ALG_N	2

/* Algorithms in the order they are offered, each at most once; n 0: none. */
struct digest_algs {
	uint8_t	n;
	uint8_t	alg[DIGEST_ALG_N];	/* enum digest_alg */
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
/* "SHA-256, MD5" and its NUL. */
#define DIGEST_ALGS_TEXT_MAX	16

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
	DIGEST_BAD_QOP,		/* no qop, or not auth */
};

struct digest_ctx {
	struct nonce_ctx	nonces;
	char			dummy_ha1[DIGEST_ALG_N][DIGEST_HEX_MAX];	/* per digest_alg */
};

/* "MD5" / "SHA-256" (case-insensitive) to the enum; -EINVAL otherwise. */
int digest_alg_parse(const char *name, enum digest_alg *out);
const char *digest_alg_name(enum digest_alg alg);
/*
 * "sha-256, md5", "MD5" (names as digest_alg_parse() takes them, separated
 * by commas and blanks) to a list; -EINVAL for an unknown name, one named
 * twice, or none.
 */
int digest_algs_parse(const char *text, struct digest_algs *out);
/* The list as "SHA-256, MD5" ("" for none); -ENOBUFS when size is short. */
int digest_algs_format(const struct digest_algs *a, char *out, size_t size);
bool digest_algs_has(const struct digest_algs *a, enum digest_alg alg);
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

int digest_ctx_init(struct digest_ctx *dc, uint32_t nonce_lifetime_s);
void digest_ctx_fini(struct digest_ctx *dc);
/* A fresh nonce of ours, for a challenge: NONCE_LEN characters and a NUL. */
int digest_nonce(struct digest_ctx *dc, uint64_t now_s, char out[NONCE_LEN + 1]);
/*
 * Checks credentials for a request: realm ours, qop=auth, the nonce ours,
 * the response right for ha1 (the subscriber's HA1 for c->alg, NULL for an
 * unknown user) and its nonce-count not used before. The count is spent
 * only by a right response. Whether c->uri may stand for the request is
 * SIP's question, not HTTP digest's: the caller asks it (sip/uri.h).
 */
enum digest_verdict digest_verify(struct digest_ctx *dc, const struct digest_creds *c,
				  const char *realm, const char *method, const char *ha1,
				  uint64_t now_s);

#endif /* SLUICE_NET_DIGEST_H */
