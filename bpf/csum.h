/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksum update (RFC 1624, equation 3):
 *
 *	HC' = ~(~HC + ~m + m')
 *
 * summed over every 16-bit word m that changes to m'. The XDP program
 * rewrites addresses, ports, TTL and DSCP and must not re-sum a payload it
 * never reads, so it collects the changes into one 32-bit "diff" and folds
 * it into each checksum that covers them: the IPv4 header checksum (address
 * and TTL words) and the UDP checksum (pseudo-header addresses and ports).
 *
 * The diff stays below 2^32: at most 34 16-bit terms of under 2^17 each.
 * Words are taken as they lie in memory (network order); one's complement
 * sums are byte-order independent as long as every term is read the same
 * way. Shared by bpf/ and kmod/, tested in userspace.
 */
#ifndef SLUICE_CSUM_H
#define SLUICE_CSUM_H

#include "portable.h"

/* Adds the change of one 16-bit word from old to new. */
static __always_inline __u32 sluice_csum_diff16(__u32 diff, __u16 old, __u16 new)
{
	return diff + (__u16)~old + new;
}

/* Adds the change of a 32-bit word (an IPv4 address, a quarter of IPv6's). */
static __always_inline __u32 sluice_csum_diff32(__u32 diff, __u32 old, __u32 new)
{
	return diff + (~old & 0xffff) + (~old >> 16) + (new & 0xffff) + (new >> 16);
}

/*
 * Adds the change of an address of nwords 32-bit words (1 for IPv4, 4 for
 * IPv6) and copies the new one over the old.
 */
static __always_inline __u32 sluice_csum_replace_addr(__u32 diff, __u32 *old,
						      const __u32 *new, int nwords)
{
	int i;

#pragma unroll
	for (i = 0; i < nwords; i++) {
		diff = sluice_csum_diff32(diff, old[i], new[i]);
		old[i] = new[i];
	}
	return diff;
}

static __always_inline __u16 sluice_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Applies a diff to a checksum field as stored in the packet. */
static __always_inline __u16 sluice_csum_apply(__u16 check, __u32 diff)
{
	return (__u16)~sluice_csum_fold((__u32)(__u16)~check + diff);
}

/*
 * The same for a UDP checksum: over IPv4, 0 means "no checksum" and stays 0;
 * a computed 0 is sent as 0xffff (RFC 768). IPv6 always carries one.
 */
static __always_inline __u16 sluice_csum_apply_udp(__u16 check, __u32 diff)
{
	__u16 c;

	if (!check)
		return 0;
	c = sluice_csum_apply(check, diff);
	return c ? c : 0xffff;
}

#endif /* SLUICE_CSUM_H */
