// SPDX-License-Identifier: GPL-2.0-only
/*
 * Digest hashing over OpenSSL's EVP interface (see digest.h). The
 * strings are fed to the hash piece by piece with the ':' separators, so
 * nothing is concatenated into a buffer that could be too small.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "sip/digest.h"

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
