/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The per-packet work of forwarding one flow's packet, over plain header
 * structs, so that the kernel module (kmod/) and the userspace unit tests
 * run the very same code, and the XDP program can: RFC 7983 demultiplexing
 * of the first payload byte, RTP accounting into struct sluice_flow_stats
 * (through rtp_stats.h), and the rewrite of addresses, ports, TTL and DSCP
 * with incremental checksums (through csum.h).
 *
 * The caller has parsed and bounds-checked the headers it passes. Nothing
 * here allocates, sleeps or reads a clock: times come in as arguments.
 *
 * The one kernel-only twist is a UDP checksum left for the NIC to finish
 * (the kernel's CHECKSUM_PARTIAL, which veth hands across namespaces): the
 * field then holds the folded pseudo-header sum, not complemented, and the
 * UDP header and payload are summed at transmit. Such a field takes the
 * address change only, the other way round.
 */
#ifndef SLUICE_FWD_H
#define SLUICE_FWD_H

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <sluice/abi.h>

#include "csum.h"
#include "portable.h"
#include "rtp_stats.h"

/* RFC 7983 demultiplexing by the first payload byte. */
#define SLUICE_RFC7983_STUN_MAX	3
#define SLUICE_RFC7983_DTLS_MIN	20
#define SLUICE_RFC7983_DTLS_MAX	63

/* RFC 5761: payload types 72-76 on an RTP port are RTCP (rtcp-mux). */
#define SLUICE_RTCP_MUX_PT_MIN	72
#define SLUICE_RTCP_MUX_PT_MAX	76

/* Host to network order without libc or kernel helpers. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define sluice_htons(x)	((__u16)__builtin_bswap16(x))
#define sluice_ntohs(x)	((__u16)__builtin_bswap16(x))
#define sluice_ntohl(x)	((__u32)__builtin_bswap32(x))
#else
#define sluice_htons(x)	((__u16)(x))
#define sluice_ntohs(x)	((__u16)(x))
#define sluice_ntohl(x)	((__u32)(x))
#endif

/* STUN and DTLS on a media port are sluiced's business: 0 or a pass reason. */
static __always_inline int sluice_fwd_payload_verdict(__u8 first)
{
	if (first <= SLUICE_RFC7983_STUN_MAX)
		return SLUICE_V_PASS_STUN;
	if (first >= SLUICE_RFC7983_DTLS_MIN && first <= SLUICE_RFC7983_DTLS_MAX)
		return SLUICE_V_PASS_DTLS;
	return 0;
}

/*
 * The key a packet of act's flow goes by in the end, given the first two
 * bytes of its payload: the same key, or for RTCP muxed on a port whose
 * flow demultiplexes (SLUICE_F_DEMUX), the key with SLUICE_KEY_MUXED_RTCP,
 * looked up in turn. Returns true when the caller must look up again.
 */
static __always_inline bool sluice_fwd_demux(const struct sluice_flow_action *act,
					     struct sluice_flow_key *key, __u8 b0, __u8 b1)
{
	__u8 pt = b1 & 0x7f;

	if (!(act->flags & SLUICE_F_DEMUX) || key->comp != SLUICE_KEY_PORT ||
	    (b0 >> 6) != 2 || pt < SLUICE_RTCP_MUX_PT_MIN || pt > SLUICE_RTCP_MUX_PT_MAX)
		return false;
	key->comp = SLUICE_KEY_MUXED_RTCP;
	return true;
}

/*
 * Accounts the RTP header of a forwarded packet of an RTP flow, received at
 * now_ns (CLOCK_MONOTONIC), every packet's arrival taken (A.8 exactly: the
 * kernel module's clock is cheap beside its own path). RTCP multiplexed on
 * the port is skipped.
 * Returns false for a packet that is not RTP version 2, which the caller
 * counts in rtp_errors (as it does a payload shorter than the header).
 */
static __always_inline bool sluice_fwd_account_rtp(struct sluice_flow_stats *st,
						   const struct sluice_rtp_hdr *rtp,
						   const struct sluice_flow_action *act,
						   __u64 now_ns)
{
	__u32 ts, arrival;
	__u8 pt;

	if ((rtp->vpxcc >> 6) != 2)
		return false;
	pt = rtp->mpt & 0x7f;
	if (pt >= SLUICE_RTCP_MUX_PT_MIN && pt <= SLUICE_RTCP_MUX_PT_MAX)
		return true;
	ts = sluice_ntohl(rtp->ts);
	/* Arrival in timestamp units; µs first so the product cannot overflow. */
	arrival = act->clock_rate ? (__u32)((now_ns / 1000) * act->clock_rate / 1000000) : ts;
	sluice_rtp_update(st, sluice_ntohs(rtp->seq), ts, sluice_ntohl(rtp->ssrc), arrival,
			  SLUICE_RTP_CLOCK_PAIR);
	return true;
}

/* The UDP checksum after the ports and addresses changed by addr_diff. */
static __always_inline __u16 sluice_fwd_udp_check(const struct udphdr *udp, __u32 addr_diff,
						  const struct sluice_flow_action *act,
						  bool partial)
{
	__u32 diff;

	if (partial)
		return (__u16)~sluice_csum_apply((__u16)~udp->check, addr_diff);
	diff = sluice_csum_diff16(addr_diff, udp->source, sluice_htons(act->new_src_port));
	diff = sluice_csum_diff16(diff, udp->dest, sluice_htons(act->new_dst_port));
	return sluice_csum_apply_udp(udp->check, diff);
}

/*
 * Rewrites an IPv4/UDP packet for act: new source and destination address
 * and port, TTL - 1 (the caller made sure it was above 1), DSCP with
 * SLUICE_F_DSCP; the IPv4 header checksum and the UDP checksum updated
 * incrementally. partial: see the top of this file.
 */
static __always_inline void sluice_fwd_rewrite_ip4(struct iphdr *ip4, struct udphdr *udp,
						   const struct sluice_flow_action *act,
						   bool partial)
{
	__u32 addr_diff, ip_diff;
	__u8 b0 = (ip4->version << 4) | ip4->ihl;

	addr_diff = sluice_csum_replace_addr(0, (__u32 *)&ip4->saddr,
					     (const __u32 *)act->new_src_addr, 1);
	addr_diff = sluice_csum_replace_addr(addr_diff, (__u32 *)&ip4->daddr,
					     (const __u32 *)act->new_dst_addr, 1);
	/* The (TTL, protocol) word, as it lies in memory. */
	ip_diff = sluice_csum_diff16(addr_diff, sluice_htons(ip4->ttl << 8 | ip4->protocol),
				     sluice_htons((ip4->ttl - 1) << 8 | ip4->protocol));
	ip4->ttl--;
	if (act->flags & SLUICE_F_DSCP) {
		__u8 tos = (act->dscp << 2) | (ip4->tos & 3);

		ip_diff = sluice_csum_diff16(ip_diff, sluice_htons(b0 << 8 | ip4->tos),
					     sluice_htons(b0 << 8 | tos));
		ip4->tos = tos;
	}
	ip4->check = sluice_csum_apply(ip4->check, ip_diff);
	udp->check = sluice_fwd_udp_check(udp, addr_diff, act, partial);
	udp->source = sluice_htons(act->new_src_port);
	udp->dest = sluice_htons(act->new_dst_port);
}

/* The same for IPv6/UDP: hop limit - 1, traffic class for DSCP. */
static __always_inline void sluice_fwd_rewrite_ip6(struct ipv6hdr *ip6, struct udphdr *udp,
						   const struct sluice_flow_action *act,
						   bool partial)
{
	__u32 diff;

	diff = sluice_csum_replace_addr(0, (__u32 *)&ip6->saddr,
					(const __u32 *)act->new_src_addr, 4);
	diff = sluice_csum_replace_addr(diff, (__u32 *)&ip6->daddr,
					(const __u32 *)act->new_dst_addr, 4);
	ip6->hop_limit--;
	if (act->flags & SLUICE_F_DSCP) {
		/* Traffic class: priority nibble, then flow_lbl[0]'s top nibble. */
		__u8 tc = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);

		tc = (act->dscp << 2) | (tc & 3);
		ip6->priority = tc >> 4;
		ip6->flow_lbl[0] = (tc << 4) | (ip6->flow_lbl[0] & 0x0f);
	}
	udp->check = sluice_fwd_udp_check(udp, diff, act, partial);
	udp->source = sluice_htons(act->new_src_port);
	udp->dest = sluice_htons(act->new_dst_port);
}

#endif /* SLUICE_FWD_H */
