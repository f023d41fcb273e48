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
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "net/nonce.h"

#define RAW_LEN		32
#define SIGNED_LEN	16
#define MAC_LEN		16
#define NBUCKETS	(NONCE_SLOTS / NONCE_WAYS)

_Static_assert(NONCE_SLOTS % NONCE_WAYS == 0, "whole buckets");
_Static_assert(MAC_LEN == sizeof(((struct nonce_slot *)0)->mac), "slot holds the MAC");

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
	EVP_MAC_CTX *c;
	size_t len = 0;
	int ok;

	/*
	 * The keyed context again from its key's own state (a NULL key: HMAC
	 * reuses the one it has), without the fetch, key schedule and the
	 * three digest contexts a copy of the whole context would allocate.
	 */
	c = nc->mac;
	if (c && EVP_MAC_init(c, NULL, 0, NULL)) {
		ok = EVP_MAC_update(c, data, SIGNED_LEN) &&
		     EVP_MAC_final(c, full, &len, sizeof(full));
		if (!ok || len < MAC_LEN)
			return -EIO;
		memcpy(mac, full, MAC_LEN);
		return 0;
	}
	/* A copy of the keyed context: no fetch or key schedule per nonce. */
	c = nc->mac ? EVP_MAC_CTX_dup(nc->mac) : NULL;
	if (!c) {
		if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, nc->secret, sizeof(nc->secret),
			       data, SIGNED_LEN, full, sizeof(full), &len) || len < MAC_LEN)
			return -EIO;
		memcpy(mac, full, MAC_LEN);
		return 0;
	}
	ok = EVP_MAC_update(c, data, SIGNED_LEN) && EVP_MAC_final(c, full, &len, sizeof(full));
	EVP_MAC_CTX_free(c);
	if (!ok || len < MAC_LEN)
		return -EIO;
	memcpy(mac, full, MAC_LEN);
	return 0;
}

static EVP_MAC_CTX *keyed_mac(const unsigned char *key, size_t len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;

	EVP_MAC_free(m);
	if (c && !EVP_MAC_init(c, key, len, params)) {
		EVP_MAC_CTX_free(c);
		c = NULL;
	}
	return c;
}

int nonce_init(struct nonce_ctx *nc, uint32_t lifetime_s)
{
	memset(nc, 0, sizeof(*nc));
	if (RAND_bytes(nc->secret, sizeof(nc->secret)) != 1)
		return -EIO;
	nc->buckets = calloc(NBUCKETS, sizeof(*nc->buckets));
	if (!nc->buckets)
		return -ENOMEM;
	nc->lifetime_s = lifetime_s;
	nc->rnd_off = sizeof(nc->rnd);	/* drawn at the first nonce */
	nc->mac = keyed_mac(nc->secret, sizeof(nc->secret));	/* NULL: the slow path */
	return 0;
}

void nonce_fini(struct nonce_ctx *nc)
{
	EVP_MAC_CTX_free(nc->mac);
	nc->mac = NULL;
	free(nc->buckets);
	OPENSSL_cleanse(nc->secret, sizeof(nc->secret));
	OPENSSL_cleanse(nc->rnd, sizeof(nc->rnd));
	nc->buckets = NULL;
}

int nonce_make(struct nonce_ctx *nc, uint64_t now_s, char out[NONCE_LEN + 1])
{
	unsigned char raw[RAW_LEN];
	uint64_t ts;
	int i, err;

	/*
	 * Seconds, and below them the nonce's rank within its second: a
	 * bucket's floor then orders nonces of the same second too, so that
	 * evicting one does not make every nonce of that second look
	 * forgotten (found at 8,000 registrations a second).
	 */
	if (now_s != nc->last_s) {
		nc->last_s = now_s;
		nc->seq = 0;
	}
	ts = now_s << NONCE_SEQ_BITS | (nc->seq++ & ((1u << NONCE_SEQ_BITS) - 1));
	for (i = 0; i < 8; i++)
		raw[i] = (unsigned char)(ts >> (56 - 8 * i));
	if (nc->rnd_off + 8 > sizeof(nc->rnd)) {
		if (RAND_bytes(nc->rnd, sizeof(nc->rnd)) != 1)
			return -EIO;
		nc->rnd_off = 0;
	}
	memcpy(raw + 8, nc->rnd + nc->rnd_off, 8);
	nc->rnd_off += 8;
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
	ts >>= NONCE_SEQ_BITS;
	if (ts > now_s + 5)
		return NONCE_BAD;	/* from the future: not a clock we signed with */
	return now_s - ts > nc->lifetime_s ? NONCE_STALE : NONCE_OK;
}

/* Marks count used in a slot that holds its nonce. */
static enum nonce_count slot_use(struct nonce_slot *s, uint32_t count)
{
	uint32_t d;

	if (count > s->top) {
		d = count - s->top;
		s->seen = d >= NONCE_WINDOW ? 0 : s->seen << d;
		s->seen |= 1;
		s->top = count;
		return NONCE_COUNT_OK;
	}
	d = s->top - count;
	if (d >= NONCE_WINDOW || (s->seen >> d & 1))
		return NONCE_COUNT_REPLAY;
	s->seen |= (uint64_t)1 << d;
	return NONCE_COUNT_OK;
}

/* A free slot, else the oldest one, whose nonce raises the floor. */
static struct nonce_slot *bucket_take(struct nonce_ctx *nc, struct nonce_bucket *b)
{
	struct nonce_slot *old = &b->way[0];
	int i;

	for (i = 0; i < NONCE_WAYS; i++) {
		if (!b->way[i].top)
			return &b->way[i];
		if (b->way[i].issued < old->issued)
			old = &b->way[i];
	}
	if (old->issued > b->floor)
		b->floor = old->issued;
	nc->evictions++;
	return old;
}

enum nonce_count nonce_count_use(struct nonce_ctx *nc, const char *nonce, uint32_t count)
{
	unsigned char raw[RAW_LEN], *mac = raw + SIGNED_LEN;
	struct nonce_bucket *b;
	struct nonce_slot *s;
	uint64_t issued = 0;
	int i;

	if (!count || decode(nonce, raw))
		return NONCE_COUNT_REPLAY;
	for (i = 0; i < 8; i++)
		issued = issued << 8 | raw[i];
	/* The MAC is random to anyone without the secret: it spreads evenly. */
	b = &nc->buckets[((uint32_t)mac[0] << 24 | mac[1] << 16 | mac[2] << 8 | mac[3]) %
			 NBUCKETS];
	for (i = 0; i < NONCE_WAYS; i++)
		if (b->way[i].top && !memcmp(b->way[i].mac, mac, MAC_LEN))
			return slot_use(&b->way[i], count);
	if (issued <= b->floor)
		return NONCE_COUNT_FORGOTTEN;
	s = bucket_take(nc, b);
	memcpy(s->mac, mac, MAC_LEN);
	s->issued = issued;
	s->top = 0;
	s->seen = 0;
	return slot_use(s, count);
}
