/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Digest nonces that need no server state to check: a timestamp and 8
 * random bytes, signed with HMAC-SHA-256 under a secret drawn when sluiced
 * starts, base64url-encoded. A nonce that verifies but is older than its
 * lifetime is stale (the client answers the new challenge without asking
 * the user again: stale=true). Replays are caught by remembering, per
 * nonce, the highest nonce-count accepted, in a bounded table (one slot
 * per hash of the nonce). The bound has a price: when another nonce takes
 * a nonce's slot, that nonce's counts are forgotten and an old request
 * carrying it could be replayed once more, until the nonce's lifetime ends.
 */
#ifndef SLUICE_SIP_NONCE_H
#define SLUICE_SIP_NONCE_H

#include <stdbool.h>
#include <stdint.h>

#define NONCE_LEN	43	/* base64url of 32 bytes, no padding */
#ifndef NONCE_SLOTS
#define NONCE_SLOTS	8192
#endif

enum nonce_check {
	NONCE_OK = 0,
	NONCE_STALE,		/* ours, but too old */
	NONCE_BAD,		/* not ours, or damaged */
};

struct nonce_slot {
	char		nonce[NONCE_LEN + 1];
	uint32_t	nc;		/* highest nonce-count accepted */
};

struct nonce_ctx {
	unsigned char		secret[32];
	uint32_t		lifetime_s;
	struct nonce_slot	*slots;	/* NONCE_SLOTS */
};

int nonce_init(struct nonce_ctx *nc, uint32_t lifetime_s);
void nonce_fini(struct nonce_ctx *nc);
int nonce_make(struct nonce_ctx *nc, uint64_t now_s, char out[NONCE_LEN + 1]);
enum nonce_check nonce_check(const struct nonce_ctx *nc, const char *nonce, uint64_t now_s);
/*
 * Accepts nonce-count `count` for a nonce that checked OK: true when it is
 * higher than any accepted before for that nonce (RFC 7616 3.4.5).
 */
bool nonce_count_ok(struct nonce_ctx *nc, const char *nonce, uint32_t count);

#endif /* SLUICE_SIP_NONCE_H */
