/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Digest nonces that need no server state to check: a timestamp and 8
 * random bytes, signed with HMAC-SHA-256 under a secret drawn when sluiced
 * starts, base64url-encoded. A nonce that verifies but is older than its
 * lifetime is stale (the client answers the new challenge without asking
 * the user again: stale=true).
 *
 * Replays are caught by remembering, per nonce, the highest nonce-count
 * accepted and which of the NONCE_WINDOW counts below it were used, so
 * requests that overtake each other are still accepted, each once
 * (RFC 7616 section 3.4.5 leaves the policy to the server). The table is
 * bounded: NONCE_SLOTS entries in buckets of NONCE_WAYS. When a bucket is
 * full its oldest nonce is evicted and the bucket's floor rises to that
 * nonce's timestamp; a nonce absent from its bucket and not newer than the
 * floor may have been evicted, so it is refused as stale (the client
 * retries at once with a fresh nonce). A full table thus costs an extra
 * round trip, never a replay.
 */
#ifndef SLUICE_NET_NONCE_H
#define SLUICE_NET_NONCE_H

#include <stdbool.h>
#include <stdint.h>

#define NONCE_LEN	43	/* base64url of 32 bytes, no padding */
#ifndef NONCE_SLOTS
#define NONCE_SLOTS	65536	/* nonces whose counts are remembered */
#endif
#define NONCE_WAYS	4
#define NONCE_SEQ_BITS	20	/* a nonce's timestamp: seconds << 20 | rank in its second */
#define NONCE_WINDOW	64	/* counts below the highest still accepted once */

enum nonce_check {
	NONCE_OK = 0,
	NONCE_STALE,		/* ours, but too old */
	NONCE_BAD,		/* not ours, or damaged */
};

enum nonce_count {
	NONCE_COUNT_OK = 0,
	NONCE_COUNT_REPLAY,	/* this count was used, or is too far behind */
	NONCE_COUNT_FORGOTTEN,	/* may have been evicted: treat as stale */
};

struct nonce_slot {
	unsigned char	mac[16];	/* the nonce's signature names it */
	uint64_t	issued;		/* its timestamp: seconds << NONCE_SEQ_BITS | rank */
	uint64_t	seen;		/* bit i: count top - i was accepted */
	uint32_t	top;		/* highest count accepted; 0: slot free */
	uint32_t	pad;
};

struct nonce_bucket {
	struct nonce_slot	way[NONCE_WAYS];
	uint64_t		floor;	/* newest timestamp evicted from here */
};

struct nonce_ctx {
	unsigned char		secret[32];
	void			*mac;		/* EVP_MAC_CTX keyed with secret, reset per use (one thread) */
	uint32_t		lifetime_s;
	struct nonce_bucket	*buckets;	/* NONCE_SLOTS / NONCE_WAYS */
	uint64_t		evictions;
	uint64_t		last_s;		/* the second nonces are being made in */
	uint32_t		seq;		/* how many so far in it */
	/* Random bytes drawn ahead: one RAND_bytes per 64 nonces, not each. */
	unsigned char		rnd[512];
	uint32_t		rnd_off;	/* used so far; sizeof(rnd): draw again */
};

int nonce_init(struct nonce_ctx *nc, uint32_t lifetime_s);
void nonce_fini(struct nonce_ctx *nc);
int nonce_make(struct nonce_ctx *nc, uint64_t now_s, char out[NONCE_LEN + 1]);
enum nonce_check nonce_check(const struct nonce_ctx *nc, const char *nonce, uint64_t now_s);
/*
 * Uses nonce-count `count` (>= 1) of a nonce that checked OK, once the
 * response that carried it has been verified.
 */
enum nonce_count nonce_count_use(struct nonce_ctx *nc, const char *nonce, uint32_t count);

#endif /* SLUICE_NET_NONCE_H */
