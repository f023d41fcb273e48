// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: Authorization / Proxy-Authorization values, which any
 * client on the network sends. Whatever parses must hold together (bounded
 * NUL-terminated fields, a response of the algorithm's length, a count
 * with qop), must survive being written back and parsed again unchanged,
 * and must never verify: the fuzzer does not know the nonce secret.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

/* s as a quoted-string, escaping what must be. */
static size_t put_quoted(char *out, const char *s)
{
	size_t n = 0;

	out[n++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '"';
	return n;
}

static void round_trip(const struct digest_creds *c)
{
	static char text[8 * 1024];
	struct digest_creds again;
	size_t n = 0;

	n += (size_t)sprintf(text + n, "Digest username=");
	n += put_quoted(text + n, c->username);
	n += (size_t)sprintf(text + n, ", realm=");
	n += put_quoted(text + n, c->realm);
	n += (size_t)sprintf(text + n, ", nonce=");
	n += put_quoted(text + n, c->nonce);
	n += (size_t)sprintf(text + n, ", uri=");
	n += put_quoted(text + n, c->uri);
	n += (size_t)sprintf(text + n, ", response=\"%s\", algorithm=%s, opaque=", c->response,
			     digest_alg_name(c->alg));
	n += put_quoted(text + n, c->opaque);
	if (c->qop != DIGEST_QOP_NONE) {
		n += (size_t)sprintf(text + n, ", qop=%s, nc=%s, cnonce=",
				     c->qop == DIGEST_QOP_AUTH ? "auth" : "auth-int", c->nc_text);
		n += put_quoted(text + n, c->cnonce);
	}
	check(digest_creds_parse(text, n, &again) == 0);
	check(!memcmp(c, &again, sizeof(again)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct digest_ctx ctx;
	static int ready;
	struct digest_creds c;

	if (!ready) {
		if (digest_ctx_init(&ctx, 30))
			abort();
		ready = 1;
	}
	if (digest_creds_parse((const char *)data, size, &c))
		return 0;
	check(memchr(c.username, 0, sizeof(c.username)) && memchr(c.realm, 0, sizeof(c.realm)) &&
	      memchr(c.nonce, 0, sizeof(c.nonce)) && memchr(c.uri, 0, sizeof(c.uri)) &&
	      memchr(c.cnonce, 0, sizeof(c.cnonce)) && memchr(c.opaque, 0, sizeof(c.opaque)));
	check(strlen(c.response) == (c.alg == DIGEST_SHA256 ? 64u : 32u));
	check(c.qop == DIGEST_QOP_NONE || strlen(c.nc_text) == 8);
	round_trip(&c);
	check(digest_verify(&ctx, &c, c.realm, "REGISTER", c.uri, c.response, 1000) !=
	      DIGEST_OK);
	check(digest_verify(&ctx, &c, c.realm, "REGISTER", NULL, NULL, 1000) != DIGEST_OK);
	return 0;
}
