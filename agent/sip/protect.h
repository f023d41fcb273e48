/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What keeps scanners and password guessers off the SIP server: failed
 * authentications counted per source address (more than limit within
 * window seconds blocks the address for block seconds), a blacklist of
 * addresses and prefixes read from a file, and User-Agents of known
 * scanners. Blocked sources are dropped without an answer.
 *
 * The failure table is fixed in size and set-associative (a keyed hash
 * picks a set of PROTECT_WAYS entries): a flood of sources evicts the
 * oldest counting entry of a set, never a blocked one while the set has
 * any other, so an attacker cannot free its own block by spraying
 * addresses. Addresses are kept as IPv6 (IPv4 as ::ffff:a.b.c.d), so an
 * IPv4 prefix also matches the mapped form.
 */
#ifndef SLUICE_SIP_PROTECT_H
#define SLUICE_SIP_PROTECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sip/msg.h"

#define PROTECT_SETS		4096
#define PROTECT_WAYS		4
#define PROTECT_SCANNERS	32

struct protect_entry {
	uint8_t		addr[16];
	int64_t		window_start;	/* unix seconds; 0: free */
	int64_t		blocked_until;
	uint32_t	fails;
};

/* Blacklist entries of one prefix length, sorted for bsearch. */
struct protect_len {
	unsigned	len;		/* bits, of the 128 */
	size_t		n;
	uint8_t		(*addrs)[16];	/* masked */
};

struct protect {
	struct protect_entry	*table;		/* PROTECT_SETS * PROTECT_WAYS */
	struct sip_hash_key	key;
	uint32_t		limit;
	uint32_t		window;
	uint32_t		block;
	struct protect_len	*lens;		/* the blacklist, by prefix length */
	unsigned		nlens;
	size_t			nblack;
	char			scanners[PROTECT_SCANNERS][48];
	int			nscanners;
	struct {
		uint64_t	failures, blocks;
	} stats;
};

int protect_init(struct protect *p, uint32_t limit, uint32_t window_s, uint32_t block_s);
void protect_fini(struct protect *p);

/* sa as the table's 16 bytes; false for a family other than IPv4/IPv6. */
bool protect_addr(const struct sockaddr *sa, uint8_t out[16]);

/* True while sa is blacklisted or blocked for failures at now. */
bool protect_blocked(struct protect *p, const struct sockaddr *sa, int64_t now);
/* Counts a failed authentication from sa; true when it starts a block. */
bool protect_fail(struct protect *p, const struct sockaddr *sa, int64_t now);

/*
 * Reads the blacklist file (path NULL or "": none) and adds the nextra
 * prefixes of extra (the MML's, from the database). A line that is not an
 * address or ADDRESS/PREFIX is logged with its number and skipped. Returns
 * the entries loaded, or -errno when the file cannot be read, and then the
 * list in force stays.
 */
int protect_blacklist_load(struct protect *p, const char *path, const char *const *extra,
			   size_t nextra);
/* Parses "a/b", "c" into *addr and *len (bits of 128); -EINVAL if it is neither. */
int protect_parse_prefix(const char *text, uint8_t addr[16], unsigned *len);

/* "friendly-scanner, sipvicious": substrings, case-insensitive. */
void protect_set_scanners(struct protect *p, const char *list);
bool protect_scanner_ua(const struct protect *p, const char *ua);

#endif /* SLUICE_SIP_PROTECT_H */
