// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice_xdp: the kernel fast path for relayed RTP and RTCP.
 *
 * A packet whose destination (the relay's own address and port) is a known
 * flow, and whose source is the flow's latched peer, is rewritten to leave
 * from the relay's address on the other leg towards the other leg's peer,
 * and sent out with XDP_TX or a devmap redirect, its egress and MAC
 * addresses taken from the kernel's FIB. Every other packet goes to the
 * stack untouched (XDP_PASS): the program never drops traffic that is not a
 * known flow's, and sluiced's socket on the port sees whatever the kernel
 * does not forward. Every packet is counted once in SLUICE_V_RX and once
 * under the reason for its verdict.
 *
 * The decision to forward (flow, source, TTL, FIB, egress) is taken before
 * the packet is touched, so that a pass always hands the stack the packet
 * as it arrived.
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <sluice/abi.h>

#include "csum.h"
#include "fwd.h"
#include "maps.h"
#include "parse.h"
#include "rtp_stats.h"

#define AF_INET		2
#define AF_INET6	10

/*
 * For the benchmark's breakdown only (tests/bench/xdpcost.c, and sluicectl
 * load ... skip=MASK): steps left out, to see what each costs. 0 in
 * production. The verifier knows read-only data at load but keeps every
 * test of it (it removes only code that no path reaches): a load and a
 * branch each, which measured nothing in traffic (removed at build time,
 * 185 ns against 185 natively, 175 against 178 generic).
 */
#define SLUICE_PROF_NO_FIB	(1u << 0)	/* egress: back out of the ingress, MACs kept */
#define SLUICE_PROF_NO_STATS	(1u << 1)	/* no counters */
#define SLUICE_PROF_NO_RTP	(1u << 2)	/* counters without the RTP part */
#define SLUICE_PROF_NO_VERDICTS	(1u << 3)
#define SLUICE_PROF_NO_CLOCK	(1u << 4)	/* no clock read: times 0, no jitter */
const volatile __u32 sluice_prof_skip;

/* RFC 7983 demultiplexing by the first payload byte. */
#define RFC7983_STUN_MAX	3
#define RFC7983_DTLS_MIN	20
#define RFC7983_DTLS_MAX	63

/* RFC 5761: payload types 72-76 on an RTP port are RTCP (rtcp-mux). */
#define RTCP_MUX_PT_MIN		72
#define RTCP_MUX_PT_MAX		76

/*
 * Counts a packet in SLUICE_V_RX and under the reason for its verdict.
 * The two keys lie in stack slots of their own, so that the two lookups
 * (each a chain of dependent loads) do not wait for each other.
 */
static __always_inline void sluice_count(__u32 reason, __u64 bytes)
{
	__u32 keys[2] = { SLUICE_V_RX, reason };
	struct sluice_verdict *rx = bpf_map_lookup_elem(&verdicts, &keys[0]);
	struct sluice_verdict *v = bpf_map_lookup_elem(&verdicts, &keys[1]);

	if (rx) {
		rx->packets++;
		rx->bytes += bytes;
	}
	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

/*
 * Whether the payload has n bytes (n at most an RTP header's 12, which
 * the fast path made sure of: it need not look again).
 */
static __always_inline bool sluice_payload_has(const struct sluice_pkt *p, __u32 n,
					       const bool fast)
{
	return fast || (void *)(p->payload + n) <= p->end;
}

static __always_inline bool sluice_addr_eq(const __u32 *x, const __u32 *y, int nwords)
{
	__u32 differ = 0;
	int i;

#pragma unroll
	for (i = 0; i < nwords; i++)
		differ |= x[i] ^ y[i];
	return !differ;
}

/* Only the latched peer may use a flow: no RTP Bleed. */
static __always_inline bool sluice_source_ok(const struct sluice_pkt *p,
					     const struct sluice_flow_action *act, const bool v6)
{
	if (!(act->flags & SLUICE_F_STRICT_SRC))
		return true;
	if (bpf_ntohs(p->udp->source) != act->expect_src_port)
		return false;
	if (!v6)
		return sluice_addr_eq(&p->ip4->saddr, (const __u32 *)act->expect_src_addr, 1);
	return sluice_addr_eq(p->ip6->saddr.in6_u.u6_addr32,
			      (const __u32 *)act->expect_src_addr, 4);
}

/* Media only: STUN and DTLS on a media port are sluiced's business. */
static __always_inline int sluice_check_payload(const struct sluice_pkt *p, const bool fast)
{
	__u8 b;

	if (!sluice_payload_has(p, 1, fast))
		return SLUICE_V_PASS_TRUNCATED;
	b = p->payload[0];
	if (b <= RFC7983_STUN_MAX)
		return SLUICE_V_PASS_STUN;
	if (b >= RFC7983_DTLS_MIN && b <= RFC7983_DTLS_MAX)
		return SLUICE_V_PASS_DTLS;
	return 0;
}

/* Asks the FIB how to reach the new destination, leaving the packet alone. */
static __always_inline int sluice_fib(struct xdp_md *ctx, const struct sluice_pkt *p,
				      const struct sluice_flow_action *act,
				      struct bpf_fib_lookup *fib, const bool v6)
{
	int rc;

	fib->l4_protocol = IPPROTO_UDP;
	fib->sport = bpf_htons(act->new_src_port);
	fib->dport = bpf_htons(act->new_dst_port);
	fib->ifindex = ctx->ingress_ifindex;
	if (!v6) {
		fib->family = AF_INET;
		fib->tos = p->ip4->tos;
		fib->tot_len = bpf_ntohs(p->ip4->tot_len);
		__builtin_memcpy(&fib->ipv4_src, act->new_src_addr, 4);
		__builtin_memcpy(&fib->ipv4_dst, act->new_dst_addr, 4);
	} else {
		fib->family = AF_INET6;
		fib->tot_len = bpf_ntohs(p->ip6->payload_len) + sizeof(*p->ip6);
		__builtin_memcpy(fib->ipv6_src, act->new_src_addr, 16);
		__builtin_memcpy(fib->ipv6_dst, act->new_dst_addr, 16);
	}

	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		return 0;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return SLUICE_V_PASS_FIB_NO_NEIGH;
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		return SLUICE_V_PASS_FIB_FWD_DISABLED;
	default:
		return SLUICE_V_PASS_FIB_OTHER;
	}
}

/*
 * The veth interfaces the program is attached to, set by the loader. A
 * veth's XDP_TX reaches its peer only when the peer runs an XDP program of
 * its own (the driver queues the frames without waking the peer otherwise),
 * while a redirect to the same veth is delivered whenever the peer runs
 * NAPI, with GRO as well: so on a veth, "back out" is a redirect to itself.
 * See agent/dp/link.h.
 */
#ifndef SLUICE_MAX_VETH
#define SLUICE_MAX_VETH 8
#endif
const volatile __u32 sluice_veth_ifs[SLUICE_MAX_VETH];

/*
 * The generation of every egress the program resolved: a flow's cached
 * egress is good while its egress_gen is this (and it is younger than
 * SLUICE_EGRESS_TTL_NS). The loader sets it, never 0, and the agent bumps
 * it on every route, neighbour and link change it hears of.
 */
volatile __u32 sluice_egress_gen;

static __always_inline bool sluice_is_veth(__u32 ifindex)
{
	bool veth = false;
	int i;

#pragma unroll
	for (i = 0; i < SLUICE_MAX_VETH; i++)
		veth |= sluice_veth_ifs[i] == ifindex;
	return veth;
}

static __always_inline __u16 sluice_ip_len(const struct sluice_pkt *p, const bool v6)
{
	return v6 ? bpf_ntohs(p->ip6->payload_len) + sizeof(*p->ip6) : bpf_ntohs(p->ip4->tot_len);
}

/*
 * Whether the egress the action keeps serves this packet: resolved in the
 * current generation, for packets coming in where this one did (the FIB's
 * answer depends on it: forwarding, policy routes), lately (checked at the
 * packets that read the clock: now is 0 for the others), and for a packet
 * no longer than the FIB passed (its MTU check).
 */
static __always_inline bool sluice_egress_good(const struct sluice_flow_egress *eg,
					       const struct sluice_pkt *p, __u32 in_if, __u64 now,
					       const bool v6)
{
	return eg->gen == sluice_egress_gen && eg->in_ifindex == in_if &&
	       (!now || now - eg->at_ns < SLUICE_EGRESS_TTL_NS) && sluice_ip_len(p, v6) <= eg->len;
}

/*
 * Asks the FIB where the new destination is reached and keeps the answer
 * in the action (the map's own value: what the next packets of the flow
 * find). A flow may only leave by an interface we are attached to. The
 * stores race with nobody but another CPU storing the same answer.
 */
static __always_inline int sluice_resolve(struct xdp_md *ctx, const struct sluice_pkt *p,
					  struct sluice_xdp_flow *f, __u32 in_if, __u64 now,
					  const bool v6)
{
	struct sluice_flow_egress *eg = &f->egress;
	struct bpf_fib_lookup *fib;
	__u32 zero = 0;
	int why;

	fib = bpf_map_lookup_elem(&fib_scratch, &zero);
	if (!fib)
		return SLUICE_V_PASS_FIB_OTHER;
	__builtin_memset(fib, 0, sizeof(*fib));
	if (sluice_prof_skip & SLUICE_PROF_NO_FIB) {
		fib->ifindex = in_if;
		__builtin_memcpy(fib->smac, p->eth->h_dest, ETH_ALEN);
		__builtin_memcpy(fib->dmac, p->eth->h_source, ETH_ALEN);
	} else {
		why = sluice_fib(ctx, p, &f->action, fib, v6);
		if (why)
			return why;
	}
	if (fib->ifindex != in_if && !bpf_map_lookup_elem(&tx_ports, &fib->ifindex))
		return SLUICE_V_PASS_REDIRECT_FAILED;
	eg->ifindex = fib->ifindex;
	eg->in_ifindex = in_if;
	__builtin_memcpy(eg->smac, fib->smac, ETH_ALEN);
	__builtin_memcpy(eg->dmac, fib->dmac, ETH_ALEN);
	eg->redirect = sluice_is_veth(fib->ifindex);
	eg->len = sluice_ip_len(p, v6);
	eg->ts_mult = sluice_rtp_ts_mult(f->action.clock_rate);
	eg->at_ns = now;
	eg->gen = sluice_egress_gen;
	return 0;
}

/*
 * A local sender's UDP checksum left for the NIC to finish (the kernel's
 * CHECKSUM_PARTIAL: a sender in another namespace of this host, over a
 * veth with checksum offload on, as containers have by default) holds the
 * folded pseudo-header sum, not a checksum. In generic mode the packet
 * stays such an skb and is finished on its way out, so the field takes the
 * address change only (bpf/fwd.h). A native frame has lost that state: it
 * is sent as it is and the receiver checks it, so the program finishes the
 * checksum itself before updating it. Set by the loader: 1 while attached
 * in native mode.
 */
volatile __u32 sluice_native_mode;

/* The most a UDP datagram the program sums may have (a frame's MTU). */
#define SLUICE_CSUM_MAX	1500

/* The pseudo-header's sum: addresses (as they lie), protocol and UDP length. */
static __always_inline __u32 sluice_pseudo_sum(const struct sluice_pkt *p, const bool v6)
{
	/* Source and destination lie one after the other in both headers. */
	const __u32 *a = v6 ? p->ip6->saddr.in6_u.u6_addr32 : &p->ip4->saddr;
	__u32 sum = bpf_htons(IPPROTO_UDP) + p->udp->len;
	int i;

#pragma unroll
	for (i = 0; i < 8; i++)
		if (v6 || i < 2)
			sum += (a[i] & 0xffff) + (a[i] >> 16);
	return sum;
}

/* The one's complement sum of the UDP datagram, header and payload, as it lies. */
static __noinline __u32 sluice_udp_sum(const __u8 *udp, const void *end, __u32 len)
{
	__u32 sum = 0, i;

	for (i = 0; i < SLUICE_CSUM_MAX; i += 2) {
		if (i + 2 > len || (void *)(udp + i + 2) > end)
			break;
		sum += *(const __u16 *)(udp + i);
	}
	if (i < len && i < SLUICE_CSUM_MAX && (void *)(udp + i + 1) <= end) {
		__u16 w = 0;

		*(__u8 *)&w = udp[i];	/* the odd byte, padded with a zero after it */
		sum += w;
	}
	return sum;
}

/*
 * Whether the UDP checksum looks like a pseudo-header sum left for the NIC
 * (the packet as it arrived, before any rewrite).
 */
static __always_inline bool sluice_udp_partial(const struct sluice_pkt *p, const bool v6)
{
	__u16 check = p->udp->check;

	return sluice_unlikely(check && check == sluice_csum_fold(sluice_pseudo_sum(p, v6)));
}

/*
 * The UDP checksum after the addresses changed by addr_diff and the ports
 * by port_diff; partial is sluice_udp_partial() of the packet as it came.
 * The fast path never brings a partial checksum in native mode here: it
 * leaves those to the general path, which sums the datagram.
 */
static __always_inline __u16 sluice_udp_check(const struct sluice_pkt *p, bool partial,
					      __u32 addr_diff, __u32 port_diff, const bool fast)
{
	__u16 check = p->udp->check;
	__u32 sum;

	if (sluice_likely(!partial))
		return sluice_csum_apply_udp(check, addr_diff + port_diff);
	if (fast || !sluice_native_mode)
		return (__u16)~sluice_csum_apply((__u16)~check, addr_diff);
	/*
	 * Finish it as the NIC would: the sum over the datagram with the field
	 * as it is. A real checksum that equals the pseudo-header sum by chance
	 * comes out of this unchanged, so it needs no test of its own.
	 */
	sum = sluice_udp_sum((const __u8 *)p->udp, p->end, bpf_ntohs(p->udp->len));
	return sluice_csum_apply_udp((__u16)~sluice_csum_fold(sum), addr_diff + port_diff);
}

static __always_inline void sluice_rewrite_ip4(struct sluice_pkt *p,
					       const struct sluice_flow_action *act, bool partial,
					       const bool fast)
{
	struct iphdr *ip4 = p->ip4;
	__u16 *ttl_word = (__u16 *)&ip4->ttl;	/* ttl, protocol */
	__u16 old_word = *ttl_word;
	/*
	 * The TTL less one (it is at least 2 here: no borrow), as the whole
	 * word: a byte stored and the word read back from it would wait for
	 * the store (no store-to-load forwarding from a narrower store).
	 */
	__u16 new_word = old_word - bpf_htons(0x0100);
	__u32 addr_diff, ip_diff;

	addr_diff = sluice_csum_replace_addr(0, &ip4->saddr,
					     (const __u32 *)act->new_src_addr, 1);
	addr_diff = sluice_csum_replace_addr(addr_diff, &ip4->daddr,
					     (const __u32 *)act->new_dst_addr, 1);

	*ttl_word = new_word;
	ip_diff = sluice_csum_diff16(addr_diff, old_word, new_word);
	if (sluice_unlikely(act->flags & SLUICE_F_DSCP)) {
		__u16 *tos_word = (__u16 *)ip4;	/* version/ihl, tos */

		old_word = *tos_word;
		ip4->tos = (act->dscp << 2) | (ip4->tos & 3);
		ip_diff = sluice_csum_diff16(ip_diff, old_word, *tos_word);
	}
	ip4->check = sluice_csum_apply(ip4->check, ip_diff);

	p->udp->check = sluice_udp_check(p, partial, addr_diff,
					 sluice_csum_diff16(sluice_csum_diff16(0, p->udp->source,
									       bpf_htons(act->new_src_port)),
							    p->udp->dest, bpf_htons(act->new_dst_port)),
					 fast);
}

static __always_inline void sluice_rewrite_ip6(struct sluice_pkt *p,
					       const struct sluice_flow_action *act, bool partial)
{
	struct ipv6hdr *ip6 = p->ip6;
	__u32 diff, port_diff;

	diff = sluice_csum_replace_addr(0, ip6->saddr.in6_u.u6_addr32,
					(const __u32 *)act->new_src_addr, 4);
	diff = sluice_csum_replace_addr(diff, ip6->daddr.in6_u.u6_addr32,
					(const __u32 *)act->new_dst_addr, 4);
	port_diff = sluice_csum_diff16(0, p->udp->source, bpf_htons(act->new_src_port));
	port_diff = sluice_csum_diff16(port_diff, p->udp->dest, bpf_htons(act->new_dst_port));
	ip6->hop_limit--;
	if (act->flags & SLUICE_F_DSCP) {
		/* Traffic class: priority nibble, then flow_lbl[0]'s top nibble. */
		__u8 tc = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);

		tc = (act->dscp << 2) | (tc & 3);
		ip6->priority = tc >> 4;
		ip6->flow_lbl[0] = (tc << 4) | (ip6->flow_lbl[0] & 0x0f);
	}
	p->udp->check = sluice_udp_check(p, partial, diff, port_diff, false);
}

/*
 * A MAC address in three 16-bit words: both ends lie on even offsets (the
 * frame's header and the egress in the map value), and clang copies a
 * __u8[6] it cannot prove aligned one byte at a time.
 */
static __always_inline void sluice_copy_mac(__u8 *to, const __u8 *from)
{
	__u16 *t = (__u16 *)to;
	const __u16 *f = (const __u16 *)from;

	t[0] = f[0];
	t[1] = f[1];
	t[2] = f[2];
}

static __always_inline void sluice_rewrite(struct sluice_pkt *p, const struct sluice_xdp_flow *f,
					   bool partial, const bool v6, const bool fast)
{
	if (!v6)
		sluice_rewrite_ip4(p, &f->action, partial, fast);
	else
		sluice_rewrite_ip6(p, &f->action, partial);
	p->udp->source = bpf_htons(f->action.new_src_port);
	p->udp->dest = bpf_htons(f->action.new_dst_port);
	sluice_copy_mac(p->eth->h_dest, f->egress.dmac);
	sluice_copy_mac(p->eth->h_source, f->egress.smac);
}

/*
 * Jitter's sampling, set by the loader ([media] jitter_sampling): the
 * clock is read for one pair of consecutive RTP packets in every mask + 1
 * (rtp_stats.h); 0 reads it for every packet, RFC 3550 A.8 exactly.
 * Read-only data: the verifier prunes the branch not taken.
 */
const volatile __u32 sluice_jitter_mask;

/* An RTP flow's packets read the clock at most this many apart (a power of two). */
#define SLUICE_CLOCK_EVERY	64

enum sluice_rtp_kind {
	SLUICE_RTP_NONE,	/* the flow is not RTP */
	SLUICE_RTP_OK,
	SLUICE_RTP_BAD,		/* not RTP version 2, or shorter than its header */
	SLUICE_RTP_MUX_RTCP,	/* RTCP multiplexed on the RTP port */
};

/*
 * What an RTP packet's header says, for the clock and the statistics. The
 * header itself is read again for the statistics, from the frame: values
 * kept across the clock's call would live on the stack, stored once on
 * every path to it.
 */
struct sluice_rtp_peek {
	__u8	kind;	/* enum sluice_rtp_kind */
	__u8	clock;	/* enum sluice_rtp_clock: what jitter wants of this packet */
};

static __always_inline void sluice_rtp_peek(const struct sluice_pkt *p,
					    const struct sluice_xdp_flow *f,
					    struct sluice_rtp_peek *rh, const bool fast)
{
	struct sluice_rtp_hdr *rtp = (void *)p->payload;
	__u8 pt;

	rh->kind = SLUICE_RTP_NONE;
	rh->clock = SLUICE_RTP_CLOCK_NONE;
	if (sluice_unlikely(!(f->action.flags & SLUICE_F_RTP) ||
			    (sluice_prof_skip & SLUICE_PROF_NO_RTP)))
		return;
	if (sluice_unlikely(!sluice_payload_has(p, sizeof(*rtp), fast) || (rtp->vpxcc >> 6) != 2)) {
		rh->kind = SLUICE_RTP_BAD;
		return;
	}
	pt = rtp->mpt & 0x7f;
	if (sluice_unlikely(pt >= RTCP_MUX_PT_MIN && pt <= RTCP_MUX_PT_MAX)) {
		rh->kind = SLUICE_RTP_MUX_RTCP;
		return;
	}
	rh->kind = SLUICE_RTP_OK;
	rh->clock = sluice_rtp_clock(&f->stats, bpf_ntohs(rtp->seq), bpf_ntohl(rtp->ssrc),
				     sluice_jitter_mask);
}

/*
 * Whether this packet reads the clock, the dearest single step of a
 * forwarded packet on some hosts (read_tsc behind a retpoline in a KVM
 * guest: 20-45 ns, against a minimal relay's 65-130 ns in all). A flow's
 * first packet does; so does every packet of a flow that is not RTP
 * (RTCP: a few a second), and every one that is not RTP as it should be.
 * Of an RTP flow: jitter's samples (2 in [media] jitter_sampling), and one
 * in SLUICE_CLOCK_EVERY whatever the sequence numbers. last_seen_ns and
 * the egress cache's age are taken at these; with jitter_sampling = 1,
 * every packet.
 */
static __always_inline bool sluice_reads_clock(const struct sluice_xdp_flow *f,
					       const struct sluice_rtp_peek *rh)
{
	/* Without the statistics, nothing needs it (their packet count stays 0). */
	if (sluice_prof_skip & SLUICE_PROF_NO_STATS)
		return false;
	if (sluice_unlikely(rh->kind != SLUICE_RTP_OK || !f->stats.packets))
		return true;
	return rh->clock != SLUICE_RTP_CLOCK_NONE ||
	       !(f->stats.packets & (SLUICE_CLOCK_EVERY - 1));
}

static __always_inline __u64 sluice_clock(void)
{
	return sluice_prof_skip & SLUICE_PROF_NO_CLOCK ? 0 : bpf_ktime_get_ns();
}

/*
 * A forwarded packet's counts: packets, payload bytes, and the first and
 * last seen times at a packet that read the clock (now 0 for the others).
 */
static __always_inline void sluice_count_packet(const struct sluice_pkt *p,
						struct sluice_flow_stats *st, __u64 now)
{
	st->packets++;
	st->bytes += bpf_ntohs(p->udp->len) - sizeof(struct udphdr);	/* parse.h: len >= 8 */
	if (now) {
		if (!st->first_seen_ns)
			st->first_seen_ns = now;
		st->last_seen_ns = now;
	}
}

/*
 * An RTP packet's arrival in timestamp units, for jitter: from the clock
 * where the packet read it for jitter and the flow has a clock rate, else
 * its own timestamp (which keeps the transit time constant).
 */
static __always_inline __u32 sluice_arrival(const struct sluice_xdp_flow *f, __u32 ts, __u64 now,
					    __u8 clock)
{
	if (f->egress.ts_mult && now && clock != SLUICE_RTP_CLOCK_NONE)
		return sluice_rtp_arrival(now, f->egress.ts_mult);
	return ts;
}

/*
 * Plain adds, not atomic ones: a flow's packets arrive on one queue (its
 * 4-tuple hashes to one) and so on one CPU at a time, as for the RTP state
 * beside them, which no atomic could keep consistent anyway. A count lost
 * to two CPUs at once would take a queue's move mid-packet. now is 0 for a
 * packet that did not read the clock.
 */
static __always_inline void sluice_account(const struct sluice_pkt *p, struct sluice_xdp_flow *f,
					   const struct sluice_rtp_peek *rh, __u64 now,
					   const bool fast)
{
	struct sluice_rtp_hdr *rtp = (void *)p->payload;
	struct sluice_flow_stats *st = &f->stats;
	__u32 ts;

	sluice_count_packet(p, st, now);
	if (sluice_unlikely(rh->kind == SLUICE_RTP_BAD)) {
		st->rtp_errors++;
	} else if (rh->kind == SLUICE_RTP_OK && sluice_payload_has(p, sizeof(*rtp), fast)) {
		ts = bpf_ntohl(rtp->ts);
		sluice_rtp_update(st, bpf_ntohs(rtp->seq), ts, bpf_ntohl(rtp->ssrc),
				  sluice_arrival(f, ts, now, rh->clock), rh->clock);
	}
}

/*
 * The fast path's egress age, at a packet that read the clock: one found
 * too old is resolved again by the next packet (the general path's), a
 * packet later than the general path would.
 */
static __always_inline void sluice_egress_age(struct sluice_xdp_flow *f, __u64 now)
{
	if (sluice_unlikely(now - f->egress.at_ns >= SLUICE_EGRESS_TTL_NS))
		f->egress.gen = 0;
}

/*
 * The fast path's statistics for the packet nearly every one is: RTP of
 * the flow's current source, the next in order or a permissible gap
 * ahead (RFC 3550 A.1's first case): the header read once and
 * rtp_stats.h's steps for that case taken straight, without the general
 * way's sluice_rtp_peek() result kept on the stack across the clock's
 * call. Returns false, having changed nothing, for any other packet:
 * sluice_account_fast() takes those the general way.
 */
static __always_inline bool sluice_account_inorder(const struct sluice_pkt *p,
						   struct sluice_xdp_flow *f)
{
	struct sluice_rtp_hdr *rtp = (void *)p->payload;
	struct sluice_flow_stats *st = &f->stats;
	__u16 seq, udelta;
	__u32 ssrc, ts;
	__u64 now = 0;
	__u8 clock, pt;

	if (sluice_unlikely(!(f->action.flags & SLUICE_F_RTP) ||
			    (sluice_prof_skip & SLUICE_PROF_NO_RTP) || (rtp->vpxcc >> 6) != 2))
		return false;
	pt = rtp->mpt & 0x7f;
	if (sluice_unlikely(pt >= RTCP_MUX_PT_MIN && pt <= RTCP_MUX_PT_MAX))
		return false;
	ssrc = bpf_ntohl(rtp->ssrc);
	seq = bpf_ntohs(rtp->seq);
	udelta = seq - (__u16)st->ext_max_seq;
	if (sluice_unlikely(!st->received || st->ssrc != ssrc || !udelta ||
			    udelta >= SLUICE_RTP_MAX_DROPOUT))
		return false;
	clock = sluice_rtp_clock(st, seq, ssrc, sluice_jitter_mask);
	if (clock != SLUICE_RTP_CLOCK_NONE || !(st->packets & (SLUICE_CLOCK_EVERY - 1))) {
		now = sluice_clock();
		sluice_egress_age(f, now);
	}
	sluice_count_packet(p, st, now);
	sluice_rtp_update_seq(st, seq);		/* in order: always counted */
	if (clock == SLUICE_RTP_CLOCK_NONE)
		return true;
	ts = bpf_ntohl(rtp->ts);
	sluice_rtp_update_timing(st, ts, sluice_arrival(f, ts, now, clock), clock);
	return true;
}

/*
 * Everything the fast path counts, after the packet is on its way: the
 * statistics, and the clock with the egress's age where the packet reads
 * it (reading it waits for every load before it, rdtsc behind an lfence
 * and in a VM the paravirtual clock's page, which costs least once the
 * packet is sent).
 */
static __always_inline void sluice_account_fast(const struct sluice_pkt *p,
						struct sluice_xdp_flow *f)
{
	struct sluice_rtp_peek rh;
	__u64 now = 0;

	/* Without the statistics, nothing needs the clock (their packet count stays 0). */
	if (sluice_prof_skip & SLUICE_PROF_NO_STATS)
		return;
	if (sluice_likely(sluice_account_inorder(p, f)))
		return;
	sluice_rtp_peek(p, f, &rh, true);
	if (sluice_reads_clock(f, &rh)) {
		now = sluice_clock();
		sluice_egress_age(f, now);
	}
	sluice_account(p, f, &rh, now, true);
}

/*
 * RTCP muxed on a port whose peer on the other leg takes RTCP apart: the
 * flow keyed for it (fwd.h), and NULL (a miss) when it has none yet.
 */
static __always_inline struct sluice_xdp_flow *sluice_demux(struct sluice_pkt *p,
							   struct sluice_xdp_flow *f, const bool fast)
{
	if (!sluice_payload_has(p, 2, fast) ||
	    !sluice_fwd_demux(&f->action, p->key, p->payload[0], p->payload[1]))
		return f;
	return bpf_map_lookup_elem(&flows, p->key);
}

/* Sends a rewritten packet out by its flow's egress; the verdict's reason. */
static __always_inline int sluice_transmit(const struct sluice_xdp_flow *f, __u32 in_if,
					   int *action)
{
	__u32 out_if = f->egress.ifindex;

	if (out_if == in_if && !f->egress.redirect) {
		*action = XDP_TX;
		return SLUICE_V_TX;
	}
	*action = bpf_redirect_map(&tx_ports, out_if, XDP_PASS);
	if (*action != XDP_REDIRECT)
		return SLUICE_V_PASS_REDIRECT_FAILED;
	/* Out of the interface it came in on, by a redirect (a veth): still a TX. */
	return out_if == in_if ? SLUICE_V_TX : SLUICE_V_REDIRECT;
}

/*
 * What the fast path returns for a packet it leaves to the general path,
 * having changed nothing: neither the frame nor the flow.
 */
#define SLUICE_SLOW	(-1)

/*
 * Returns the verdict reason; *action is the XDP action to return. The
 * fast path (sluice_fast4) leaves a flow whose egress must be resolved
 * to the general path: SLUICE_SLOW.
 */
static __always_inline int sluice_forward(struct xdp_md *ctx, struct sluice_pkt *p,
					  int *action, const bool v6, const bool fast)
{
	struct sluice_xdp_flow *f;
	__u32 in_if = ctx->ingress_ifindex, out_if;
	struct sluice_rtp_peek rh = {};
	__u64 now = 0;
	bool partial;
	__u8 ttl;
	int why;

	f = bpf_map_lookup_elem(&flows, p->key);
	if (f)
		f = sluice_demux(p, f, fast);
	if (sluice_unlikely(!f))
		return SLUICE_V_PASS_MISS;
	/* The key's family is the path's: compared as a constant, not read back. */
	if (sluice_unlikely(f->action.family != (v6 ? SLUICE_FAMILY_IPV6 : SLUICE_FAMILY_IPV4)))
		return SLUICE_V_PASS_FAMILY;
	if (sluice_unlikely(!sluice_source_ok(p, &f->action, v6)))
		return SLUICE_V_PASS_WRONG_SRC;
	why = sluice_check_payload(p, fast);
	if (sluice_unlikely(why))
		return why;
	ttl = v6 ? p->ip6->hop_limit : p->ip4->ttl;
	if (sluice_unlikely(ttl <= 1))
		return SLUICE_V_PASS_TTL;
	/*
	 * A checksum left for the NIC, in native mode, takes a sum over the
	 * datagram: the general path's (a call, whose spills the fast path
	 * would pay at every packet otherwise).
	 */
	partial = sluice_udp_partial(p, v6);
	if (fast && sluice_unlikely(partial && sluice_native_mode))
		return SLUICE_SLOW;
	/*
	 * The general path reads the clock here, before the egress it may have
	 * to resolve; the fast path counts everything after the packet is on
	 * its way (sluice_account_fast), which measured in traffic about 10 ns
	 * a packet less than here.
	 */
	if (!fast) {
		sluice_rtp_peek(p, f, &rh, fast);
		now = sluice_reads_clock(f, &rh) ? sluice_clock() : 0;
	}
	if (sluice_unlikely(!sluice_egress_good(&f->egress, p, in_if, now, v6))) {
		if (fast)
			return SLUICE_SLOW;
		if (!now)
			now = sluice_clock();
		why = sluice_resolve(ctx, p, f, in_if, now, v6);
		if (why)
			return why;
	}
	out_if = f->egress.ifindex;
	/* A VLAN tag is right only on the interface the frame came in on. */
	if (sluice_unlikely(p->vlan && out_if != in_if))
		return SLUICE_V_PASS_REDIRECT_FAILED;

	if (!fast && !(sluice_prof_skip & SLUICE_PROF_NO_STATS))
		sluice_account(p, f, &rh, now, fast);
	sluice_rewrite(p, f, partial, v6, fast);
	why = sluice_transmit(f, in_if, action);
	if (fast)
		sluice_account_fast(p, f);
	return why;
}

/*
 * The two families in subprograms of their own, which take the parsed
 * packet's numbers and point into the frame again: inlined into one body,
 * clang merges their code and the verifier then meets an IPv6 pointer on
 * the IPv4 path.
 */
static __noinline int sluice_forward6(struct xdp_md *ctx, struct sluice_pkt *p, int *action)
{
	if (!sluice_repoint(ctx, p, true))
		return SLUICE_V_PASS_TRUNCATED;
	return sluice_forward(ctx, p, action, true, false);
}

/*
 * The fast path, laid out first: an IPv4 frame without a VLAN tag or IP
 * options, not a fragment, with at least an RTP header's worth of UDP
 * payload, to a flow whose egress is resolved: nearly every packet the
 * program forwards. Its parse is the general one's for that shape of
 * frame, in one test each, and what it finds stays in registers (the
 * general path's packet goes by pointer to the IPv6 subprogram, so it
 * lives on the stack). Anything else it leaves to the general path
 * (SLUICE_SLOW) having touched nothing; the verdicts are the same
 * either way.
 */
static __always_inline int sluice_fast4(struct xdp_md *ctx, int *action)
{
	struct sluice_pkt p = {
		.data = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct sluice_flow_key key;
	union {
		struct {
			__u16	port;
			__u8	family, comp;
		} f;
		__u32	word;
	} tail;
	__u32 len = ctx->data_end - ctx->data;
	__u16 ip_len, udp_len;

	p.eth = p.data;
	p.ip4 = (void *)(p.eth + 1);
	p.udp = (void *)(p.ip4 + 1);
	p.payload = (void *)(p.udp + 1);
	if (sluice_unlikely((void *)(p.payload + sizeof(struct sluice_rtp_hdr)) > p.end))
		return SLUICE_SLOW;
	if (sluice_unlikely(p.eth->h_proto != bpf_htons(ETH_P_IP) || *(__u8 *)p.ip4 != 0x45 ||
	    (p.ip4->frag_off & bpf_htons(SLUICE_IP_MF | SLUICE_IP_OFFSET)) ||
	    p.ip4->protocol != IPPROTO_UDP))
		return SLUICE_SLOW;
	/* parse.h's lengths: the UDP datagram within the IP packet, that within the frame. */
	ip_len = bpf_ntohs(p.ip4->tot_len);
	udp_len = bpf_ntohs(p.udp->len);
	if (sluice_unlikely(udp_len < sizeof(struct udphdr) ||
			    udp_len + sizeof(struct iphdr) > ip_len ||
			    ip_len + sizeof(struct ethhdr) > len))
		return SLUICE_SLOW;
	/*
	 * The key in whole words: the hash reads it in 32-bit words, which a
	 * narrower store into one of them would hold up (no store-to-load
	 * forwarding from part of a word).
	 */
	tail.f.port = bpf_ntohs(p.udp->dest);
	tail.f.family = SLUICE_FAMILY_IPV4;
	tail.f.comp = SLUICE_KEY_PORT;
	__builtin_memcpy(key.addr, &p.ip4->daddr, 4);
	__builtin_memset(key.addr + 4, 0, 12);
	__builtin_memcpy(&key.port, &tail.word, 4);
	p.key = &key;
	return sluice_forward(ctx, &p, action, false, true);
}

/*
 * The general path, for what the fast path leaves: a function of its own
 * (a global one, which the verifier checks once, not once per way out of
 * the fast path). Returns the verdict's reason << 8 | the XDP action.
 */
__noinline int sluice_general(struct xdp_md *ctx)
{
	struct sluice_pkt p = {
		.data = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
		.len = ctx->data_end - ctx->data,
	};
	struct sluice_flow_key key = {};
	int action = XDP_PASS;
	int why;

	p.key = &key;
	why = sluice_parse(&p);
	if (!why)
		why = key.family == SLUICE_FAMILY_IPV4 ? sluice_forward(ctx, &p, &action, false, false) :
							    sluice_forward6(ctx, &p, &action);
	return why << 8 | action;
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	__u64 bytes = ctx->data_end - ctx->data;
	int action = XDP_PASS;
	int why;

	why = sluice_fast4(ctx, &action);
	if (sluice_unlikely(why == SLUICE_SLOW)) {
		why = sluice_general(ctx);
		action = why & 0xff;
		why >>= 8;
	}
	if (!(sluice_prof_skip & SLUICE_PROF_NO_VERDICTS))
		sluice_count(why, bytes);
	return action;
}

char LICENSE[] SEC("license") = "GPL";
