// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signed digest nonces and the nonce-count table (see nonce.h).
 *
 *   nonce = base64url( ts (8 bytes, big endian) | rand (8) | HMAC(ts | rand)[0..15] )
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sip/nonce.h"

#define RAW_LEN		32
#define SIGNED_LEN	16
#define MAC_LEN		16

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void encode(const unsigned char raw[RAW_LEN], char out[NONCE_LEN + 1])
{
	unsigned i, o = 0, bits = 0;
	uint32_t acc = 0;

	for (i = 0; i < RAW_LEN; i++) {
		acc = acc << 8 | raw[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = b64url[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

static int decode(const char *in, unsigned char raw[RAW_LEN])
{
	unsigned i, o = 0, bits = 0;
	uint32_t acc = 0;

	if (strlen(in) != NONCE_LEN)
		return -EINVAL;
	for (i = 0; i < NONCE_LEN; i++) {
		const char *p = strchr(b64url, in[i]);

		if (!p || !in[i])
			return -EINVAL;
		acc = acc << 6 | (uint32_t)(p - b64url);
		bits += 6;
		if (bits >= 8 && o < RAW_LEN) {
			bits -= 8;
			raw[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o == RAW_LEN ? 0 : -EINVAL;
}

static int sign(const struct nonce_ctx *nc, const unsigned char *data,
		unsigned char mac[MAC_LEN])
{
	unsigned char full[EVP_MAX_MD_SIZE];
	size_t len = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, nc->secret, sizeof(nc->secret), data,
		       SIGNED_LEN, full, sizeof(full), &len) || len < MAC_LEN)
		return -EIO;
	memcpy(mac, full, MAC_LEN);
	return 0;
}

int nonce_init(struct nonce_ctx *nc, uint32_t lifetime_s)
{
	memset(nc, 0, sizeof(*nc));
	if (RAND_bytes(nc->secret, sizeof(nc->secret)) != 1)
		return -EIO;
	nc->slots = calloc(NONCE_SLOTS, sizeof(*nc->slots));
	if (!nc->slots)
		return -ENOMEM;
	nc->lifetime_s = lifetime_s;
	return 0;
}

void nonce_fini(struct nonce_ctx *nc)
{
	free(nc->slots);
	OPENSSL_cleanse(nc->secret, sizeof(nc->secret));
	nc->slots = NULL;
}

int nonce_make(struct nonce_ctx *nc, uint64_t now_s, char out[NONCE_LEN + 1])
{
	unsigned char raw[RAW_LEN];
	int i, err;

	for (i = 0; i < 8; i++)
		raw[i] = (unsigned char)(now_s >> (56 - 8 * i));
	if (RAND_bytes(raw + 8, 8) != 1)
		return -EIO;
	err = sign(nc, raw, raw + SIGNED_LEN);
	if (err)
		return err;
	encode(raw, out);
	return 0;
}

enum nonce_check nonce_check(const struct nonce_ctx *nc, const char *nonce, uint64_t now_s)
{
	unsigned char raw[RAW_LEN], mac[MAC_LEN];
	uint64_t ts = 0;
	int i;

	if (decode(nonce, raw) || sign(nc, raw, mac) ||
	    CRYPTO_memcmp(mac, raw + SIGNED_LEN, MAC_LEN))
		return NONCE_BAD;
	for (i = 0; i < 8; i++)
		ts = ts << 8 | raw[i];
	if (ts > now_s + 5)
		return NONCE_BAD;	/* from the future: not a clock we signed with */
	return now_s - ts > nc->lifetime_s ? NONCE_STALE : NONCE_OK;
}

static uint32_t slot_of(const char *nonce)
{
	uint32_t h = 2166136261u;	/* FNV-1a: nonces are already random */

	for (; *nonce; nonce++)
		h = (h ^ (unsigned char)*nonce) * 16777619u;
	return h % NONCE_SLOTS;
}

bool nonce_count_ok(struct nonce_ctx *nc, const char *nonce, uint32_t count)
{
	struct nonce_slot *s = &nc->slots[slot_of(nonce)];

	if (strcmp(s->nonce, nonce)) {
		/* First use here: an older nonce sharing the slot is forgotten. */
		snprintf(s->nonce, sizeof(s->nonce), "%s", nonce);
		s->nc = 0;
	}
	if (count <= s->nc)
		return false;
	s->nc = count;
	return true;
}
