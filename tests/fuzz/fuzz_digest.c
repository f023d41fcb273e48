// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: Authorization / Proxy-Authorization values, which any
 * client on the network sends. Whatever parses must hold together (bounded
 * NUL-terminated fields, a response of the algorithm's length, a count
 * with qop), must survive being written back and parsed again unchanged,
 * and must never verify: the fuzzer does not know the nonce secret. Its
 * digest-uri goes through the digest-uri rule (sip/uri.h) against a
 * Request-URI and a server of ours, and a URI that parses must be
 * equivalent to itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <osipparser2/osip_parser.h>

#include "sip/digest_hdr.h"
#include "sip/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile bool sink;

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

/* A URI that parses is equivalent to itself, unless it lacks what it takes. */
static void reflexive(const char *text)
{
	osip_uri_t *u;
	bool sip;

	if (osip_uri_init(&u))
		return;
	if (!osip_uri_parse(u, text) && u->scheme) {
		sip = !strcasecmp(u->scheme, "sip") || !strcasecmp(u->scheme, "sips");
		check(sip_uri_equal(u, u) == (sip ? u->host != NULL : u->string != NULL));
	}
	osip_uri_free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct digest_ctx ctx;
	static struct sip_self self = { .domain = "ims.local", .n = 2 };
	static osip_uri_t *ruri;
	static int ready;
	struct digest_creds c;

	if (!ready) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&self.addr[0];
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&self.addr[1];

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons(5060);
		sin6->sin6_family = AF_INET6;		/* [::]: every address of the host */
		sin6->sin6_port = htons(5062);
		if (digest_ctx_init(&ctx, 30) || osip_uri_init(&ruri) ||
		    osip_uri_parse(ruri, "sip:1001@ims.local;user=phone"))
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
	check(digest_verify(&ctx, &c, c.realm, "REGISTER", c.response, 1000) != DIGEST_OK);
	check(digest_verify(&ctx, &c, c.realm, "REGISTER", NULL, 1000) != DIGEST_OK);
	sink = sip_digest_uri_ok(c.uri, ruri, &self);
	reflexive(c.uri);
	return 0;
}
