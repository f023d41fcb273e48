// SPDX-License-Identifier: GPL-2.0-only
/*
 * Digest algorithms, the arithmetic over OpenSSL's EVP interface, and the
 * verification of credentials against our nonces (see digest.h). No header
 * syntax here: that is digest_hdr.c's, above this. The strings are fed to
 * the hash piece by piece with the ':' separators, so nothing is
 * concatenated into a buffer that could be too small.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "net/digest.h"

int digest_alg_parse(const char *name, enum digest_alg *out)
{
	if (!strcasecmp(name, "MD5"))
		*out = DIGEST_MD5;
	else if (!strcasecmp(name, "SHA-256"))
		*out = DIGEST_SHA256;
	else
		return -EINVAL;
	return 0;
}

const char *digest_alg_name(enum digest_alg alg)
{
	return alg == DIGEST_SHA256 ? "SHA-256" : "MD5";
}

int digest_algs_parse(const char *text, struct digest_algs *out)
{
	char name[16];
	enum digest_alg alg;
	size_t len;

	memset(out, 0, sizeof(*out));
	for (;;) {
		text += strspn(text, ", \t");
		len = strcspn(text, ", \t");
		if (!len)
			break;
		if (len >= sizeof(name))
			return -EINVAL;
		memcpy(name, text, len);
		name[len] = '\0';
		if (digest_alg_parse(name, &alg) || digest_algs_has(out, alg))
			return -EINVAL;
		out->alg[out->n++] = (uint8_t)alg;	/* at most DIGEST_ALG_N: no repeats */
		text += len;
	}
	return out->n ? 0 : -EINVAL;
}

int digest_algs_format(const struct digest_algs *a, char *out, size_t size)
{
	size_t n = 0;
	int w;

	if (!size)
		return -ENOBUFS;
	out[0] = '\0';
	for (unsigned i = 0; i < a->n && i < DIGEST_ALG_N; i++) {
		w = snprintf(out + n, size - n, "%s%s", i ? ", " : "", digest_alg_name(a->alg[i]));
		if (w < 0 || (size_t)w >= size - n)
			return -ENOBUFS;
		n += (size_t)w;
	}
	return 0;
}

bool digest_algs_has(const struct digest_algs *a, enum digest_alg alg)
{
	for (unsigned i = 0; i < a->n && i < DIGEST_ALG_N; i++)
		if (a->alg[i] == alg)
			return true;
	return false;
}

/* H(p1 ":" p2 ":" ... pn), n strings, NULL-terminated list; hex into out. */
static int hash_joined(enum digest_alg alg, char out[DIGEST_HEX_MAX], ...)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *part;
	bool first = true;
	va_list ap;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, alg == DIGEST_SHA256 ? EVP_sha256() : EVP_md5(), NULL);
	va_start(ap, out);
	while (ok && (part = va_arg(ap, const char *))) {
		if (!first)
			ok = EVP_DigestUpdate(ctx, ":", 1);
		if (ok)
			ok = EVP_DigestUpdate(ctx, part, strlen(part));
		first = false;
	}
	va_end(ap);
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen * 2 >= DIGEST_HEX_MAX)
		return -EIO;
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * mdlen] = '\0';
	return 0;
}

int digest_ha1(enum digest_alg alg, const char *user, const char *realm, const char *password,
	       char out[DIGEST_HEX_MAX])
{
	return hash_joined(alg, out, user, realm, password, (const char *)NULL);
}

int digest_response(enum digest_alg alg, const char *ha1, const char *nonce, const char *nc,
		    const char *cnonce, const char *qop, const char *method, const char *uri,
		    char out[DIGEST_HEX_MAX])
{
	char ha2[DIGEST_HEX_MAX];
	int err = hash_joined(alg, ha2, method, uri, (const char *)NULL);

	if (err)
		return err;
	if (!qop)
		return hash_joined(alg, out, ha1, nonce, ha2, (const char *)NULL);
	return hash_joined(alg, out, ha1, nonce, nc, cnonce, qop, ha2, (const char *)NULL);
}

bool digest_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char diff = la != lb;

	for (i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ (i < lb ? b[i] : 0));
	return !diff;
}

const char *digest_verdict_name(enum digest_verdict v)
{
	static const char *const names[] = {
		[DIGEST_OK] = "ok",			[DIGEST_STALE] = "stale nonce",
		[DIGEST_FAILED] = "wrong credentials",	[DIGEST_BAD_NONCE] = "foreign nonce",
		[DIGEST_REPLAY] = "nonce-count replayed", [DIGEST_WRONG_REALM] = "wrong realm",
		[DIGEST_BAD_QOP] = "no qop=auth",
	};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

int digest_ctx_init(struct digest_ctx *dc, uint32_t nonce_lifetime_s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[32];
	int i, j, len;

	memset(dc, 0, sizeof(*dc));
	/* Dummy HA1s nobody knows a password for: random, of the right length. */
	for (i = 0; i < DIGEST_ALG_N; i++) {
		len = i == DIGEST_SHA256 ? 32 : 16;
		if (RAND_bytes(r, len) != 1)
			return -EIO;
		for (j = 0; j < len; j++) {
			dc->dummy_ha1[i][2 * j] = hex[r[j] >> 4];
			dc->dummy_ha1[i][2 * j + 1] = hex[r[j] & 15];
		}
	}
	OPENSSL_cleanse(r, sizeof(r));
	return nonce_init(&dc->nonces, nonce_lifetime_s);
}

void digest_ctx_fini(struct digest_ctx *dc)
{
	nonce_fini(&dc->nonces);
	OPENSSL_cleanse(dc->dummy_ha1, sizeof(dc->dummy_ha1));
}

int digest_nonce(struct digest_ctx *dc, uint64_t now_s, char out[NONCE_LEN + 1])
{
	return nonce_make(&dc->nonces, now_s, out);
}

/*
 * The checks that do not depend on the user come first and may return
 * early; from the response on, a known and an unknown user take the same
 * path (one response computed, one constant-time comparison).
 */
enum digest_verdict digest_verify(struct digest_ctx *dc, const struct digest_creds *c,
				  const char *realm, const char *method, const char *ha1,
				  uint64_t now_s)
{
	char expect[DIGEST_HEX_MAX];
	enum nonce_check fresh;
	bool known = ha1 != NULL, right;

	if (c->qop != DIGEST_QOP_AUTH)
		return DIGEST_BAD_QOP;
	if (strcmp(c->realm, realm))
		return DIGEST_WRONG_REALM;
	fresh = nonce_check(&dc->nonces, c->nonce, now_s);
	if (fresh == NONCE_BAD)
		return DIGEST_BAD_NONCE;
	if (!ha1)
		ha1 = dc->dummy_ha1[c->alg];
	if (digest_response(c->alg, ha1, c->nonce, c->nc_text, c->cnonce, "auth", method, c->uri,
			    expect))
		return DIGEST_FAILED;
	right = digest_equal(expect, c->response) & known;
	OPENSSL_cleanse(expect, sizeof(expect));
	if (!right)
		return DIGEST_FAILED;
	if (fresh == NONCE_STALE)
		return DIGEST_STALE;
	switch (nonce_count_use(&dc->nonces, c->nonce, c->nc)) {
	case NONCE_COUNT_OK:
		return DIGEST_OK;
	case NONCE_COUNT_FORGOTTEN:
		return DIGEST_STALE;
	default:
		return DIGEST_REPLAY;
	}
}
