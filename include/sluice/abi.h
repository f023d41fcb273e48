/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data-plane ABI shared by the XDP program (bpf/), the kernel module
 * (kmod/) and the agent (agent/dp/). One copy, never mirrored: every struct
 * here is used as it is on all three sides, so it holds only <linux/types.h>
 * types, explicit padding and a size assertion.
 *
 * A flow is one direction of one stream. Its key is where a packet arrives
 * (the relay's own address and port); its action says which source is
 * allowed (the latched peer) and how the packet leaves (the relay's address
 * on the other leg as source, the other leg's latched peer as destination).
 * The XDP program keeps a flow's action, the egress it resolved and its
 * statistics in one map value (struct sluice_xdp_flow), so that a packet
 * costs one lookup; the agent replaces the action part alone (a
 * re-INVITE keeps the counters). The module keeps its own, beside the
 * flow.
 *
 * Byte order: addresses are in network order (byte arrays, so bpftool prints
 * them as dotted bytes); ports are in HOST order, so that `bpftool map dump`
 * shows 30000 and not 12405. The XDP program and the module convert.
 *
 * ABI history:
 *   1  flows, flow_stats, verdicts; IPv4 and IPv6; RTP statistics.
 *   2  RTCP multiplexing bridged to separate ports (RFC 5761): the key's pad
 *      byte is now comp, and SLUICE_F_DEMUX sends RTCP muxed on an RTP port
 *      by a flow of its own. A version 1 program would forward that RTCP as
 *      RTP, to the other peer's RTP port.
 *   3  The XDP program's cost per packet: the flows map's value is struct
 *      sluice_xdp_flow, the action with the egress the program last
 *      resolved (so that bpf_fib_lookup runs once per flow and resolution,
 *      not per packet) and the flow's statistics (flow_stats, a second
 *      hash lookup per packet, is gone). The action itself, which the
 *      module takes, is unchanged. The agent moves ABI 2 maps over on
 *      start (agent/dp/xdp_migrate.c).
 */
#ifndef SLUICE_ABI_H
#define SLUICE_ABI_H

#include <linux/types.h>

#define SLUICE_ABI_VERSION 3

/* Capacities; override at build time (-DSLUICE_MAX_FLOWS=...). */
#ifndef SLUICE_MAX_FLOWS
#define SLUICE_MAX_FLOWS 262144
#endif

/* Pinned objects, under a bpffs mount. */
#define SLUICE_PIN_DIR		"/sys/fs/bpf/sluice"
#define SLUICE_MAP_FLOWS	"flows"		/* key -> sluice_xdp_flow */
#define SLUICE_MAP_VERDICTS	"verdicts"	/* percpu: reason -> sluice_verdict */
#define SLUICE_MAP_TX_PORTS	"tx_ports"	/* devmap: ifindex -> ifindex we may redirect to */
#define SLUICE_MAP_ABI		"abi"		/* [0] = SLUICE_ABI_VERSION */
#define SLUICE_LINK_PREFIX	"link_"		/* link_<ifname>: the XDP bpf_link */
#define SLUICE_PROG_NAME	"sluice_xdp"	/* the XDP entry point */

/* Address families as carried in keys and actions (not AF_*: the BPF side
 * has no libc). */
#define SLUICE_FAMILY_IPV4	4
#define SLUICE_FAMILY_IPV6	6

/*
 * sluice_flow_key.comp: which packets of the port the flow takes. Every
 * flow is SLUICE_KEY_PORT, but for one stream direction whose sender
 * multiplexes RTCP on its RTP port while the receiver takes RTCP on a port
 * of its own: that RTCP goes by a second flow on the same port, keyed
 * SLUICE_KEY_MUXED_RTCP, which the port's RTP flow names with SLUICE_F_DEMUX.
 */
#define SLUICE_KEY_PORT		0	/* whatever arrives at the port */
#define SLUICE_KEY_MUXED_RTCP	1	/* RTCP muxed on it (RFC 5761), after SLUICE_F_DEMUX */

struct sluice_flow_key {
	__u8	addr[16];	/* local address, network order; IPv4 in [0..3], rest 0 */
	__u16	port;		/* local UDP port, host order */
	__u8	family;		/* SLUICE_FAMILY_* */
	__u8	comp;		/* SLUICE_KEY_* (ABI 1: pad, 0) */
};

/* sluice_flow_action.flags */
#define SLUICE_F_RTP		(1u << 0)	/* keep RTP statistics */
#define SLUICE_F_RTCP		(1u << 1)	/* RTCP: counted, no RTP stats */
#define SLUICE_F_STRICT_SRC	(1u << 2)	/* forward only from expect_* */
#define SLUICE_F_DSCP		(1u << 3)	/* set DSCP to action.dscp */
/*
 * On a flow keyed SLUICE_KEY_PORT: an RTCP packet (RFC 5761 5.1.2: second
 * byte 200-204, so payload type 72-76 once the marker bit is masked) is
 * not forwarded by this flow but by the flow of the same address and port
 * keyed SLUICE_KEY_MUXED_RTCP, and passes to the stack when there is none.
 * The relay demultiplexes: a muxing peer's RTCP reaches a peer that takes
 * RTCP on a port of its own, from the relay's RTCP port on that leg.
 */
#define SLUICE_F_DEMUX		(1u << 4)

struct sluice_flow_action {
	__u8	expect_src_addr[16];	/* latched peer, network order */
	__u8	new_src_addr[16];	/* relay's address on the other leg, network order */
	__u8	new_dst_addr[16];	/* other leg's latched peer, network order */
	__u16	expect_src_port;	/* host order; 0 = any (only without STRICT_SRC) */
	__u16	new_src_port;		/* host order */
	__u16	new_dst_port;		/* host order */
	__u8	family;			/* SLUICE_FAMILY_*, same as the key's */
	__u8	flags;			/* SLUICE_F_* */
	__u8	dscp;			/* 0..63, with SLUICE_F_DSCP */
	__u8	pad[3];			/* must be 0 */
	__u32	clock_rate;		/* RTP clock in Hz, for jitter; 0 = none */
	__u32	stream_id;		/* the agent's stream, opaque to the kernel */
	__u32	pad2;			/* must be 0 */
};

/*
 * Where the XDP program last found a flow's packets leave, written by the
 * program into the flow's map value: good while gen is the program's
 * current generation (bumped by the agent on every route, neighbour and
 * link change), the packet came in on in_ifindex, it is no longer than len
 * and at_ns is under SLUICE_EGRESS_TTL_NS old. The agent writes it zero:
 * a new or replaced action resolves again.
 */
struct sluice_flow_egress {
	__u64	at_ns;			/* CLOCK_MONOTONIC of the resolution */
	__u32	gen;			/* 0: never resolved */
	__u32	ifindex;		/* where packets leave */
	__u32	in_ifindex;		/* for packets that came in here */
	__u8	smac[6];		/* the egress interface's own */
	__u8	dmac[6];		/* the next hop's */
	__u8	redirect;		/* a veth: out by a redirect, never XDP_TX */
	__u8	pad;			/* 0 */
	__u16	len;			/* the longest IP packet the FIB passed, host order */
	__u32	ts_mult;		/* arrival in RTP timestamp units: */
					/* ((ns >> 10) * ts_mult) >> 32 */
};

/* How long a resolved egress is trusted without the agent's word (ns). */
#ifndef SLUICE_EGRESS_TTL_NS
#define SLUICE_EGRESS_TTL_NS	1000000000ULL
#endif

/*
 * Per-flow statistics. packets and bytes are updated atomically; the RTP
 * state is updated by the CPU that received the packet (a flow's packets
 * share one 5-tuple and so one receive queue). Times are CLOCK_MONOTONIC ns
 * (bpf_ktime_get_ns, ktime_get_ns); the XDP program reads the clock only
 * at some packets of an RTP flow (docs/datapath.md), so its last_seen_ns
 * may be a few packets, never more than 64, behind. A fresh flow's are all
 * zeroes: first_seen_ns is set by the first packet.
 *
 * RTP state follows RFC 3550 A.1 (sequence), A.3 (loss) and A.8 (jitter):
 *   expected = ext_max_seq - base_seq + 1
 *   lost     = expected - received   (may go negative with duplicates)
 *   jitter   = J * 16, in timestamp units (as A.8 keeps it); ms is
 *              jitter / 16 * 1000 / clock_rate. The XDP program takes D
 *              from one pair of consecutive packets in [media]
 *              jitter_sampling (bpf/rtp_stats.h), the module from every one.
 */
struct sluice_flow_stats {
	__u64	packets;		/* forwarded by this kernel path */
	__u64	bytes;			/* UDP payload bytes forwarded */
	__u64	first_seen_ns;
	__u64	last_seen_ns;
	__u32	ssrc;			/* host order, of the current source */
	__u32	base_seq;		/* first extended sequence of this SSRC */
	__u32	ext_max_seq;		/* cycles << 16 | highest sequence */
	__u32	bad_seq;		/* RFC 3550 A.1 resync candidate */
	__u32	received;		/* RTP packets counted for this SSRC */
	__u32	jitter;			/* RFC 3550 A.8, timestamp units << 4 */
	__u32	transit;		/* last relative transit time */
	__u32	ssrc_changes;		/* how often the SSRC changed */
	__u64	rtp_errors;		/* packets that were not valid RTP */
};

/*
 * The XDP flows map's value: the agent's action, the program's egress
 * cache and its counters, in one place so that a forwarded packet costs
 * one lookup and as few cache lines as can be.
 */
struct sluice_xdp_flow {
	struct sluice_flow_action	action;
	struct sluice_flow_egress	egress;
	struct sluice_flow_stats	stats;
};

/*
 * Per-CPU verdict counters, indexed by reason. A packet counts once in
 * SLUICE_V_RX and once in exactly one other reason.
 */
enum sluice_verdict_reason {
	SLUICE_V_RX = 0,		/* every packet the program saw */
	SLUICE_V_REDIRECT,		/* forwarded with bpf_redirect */
	SLUICE_V_TX,			/* forwarded with XDP_TX */
	SLUICE_V_PASS_NOT_IP,		/* not IPv4/IPv6 (ARP, ...) */
	SLUICE_V_PASS_NOT_UDP,
	SLUICE_V_PASS_TRUNCATED,	/* a header ran past the frame */
	SLUICE_V_PASS_FRAGMENT,
	SLUICE_V_PASS_IP_OPTIONS,
	SLUICE_V_PASS_MISS,		/* no flow for the destination */
	SLUICE_V_PASS_WRONG_SRC,	/* flow hit, source not the latched one */
	SLUICE_V_PASS_STUN,		/* RFC 7983: first byte 0..3 */
	SLUICE_V_PASS_DTLS,		/* RFC 7983: first byte 20..63 */
	SLUICE_V_PASS_TTL,		/* TTL / hop limit would expire */
	SLUICE_V_PASS_FAMILY,		/* action family differs from the key's */
	SLUICE_V_PASS_FIB_NO_NEIGH,	/* FIB: no neighbour entry yet */
	SLUICE_V_PASS_FIB_FWD_DISABLED,	/* FIB: forwarding off on ingress */
	SLUICE_V_PASS_FIB_OTHER,	/* FIB: blackhole, unreachable, ... */
	SLUICE_V_PASS_REDIRECT_FAILED,	/* egress not in tx_ports (not an XDP
					 * interface of ours, or a VLAN frame
					 * leaving by another interface) */
	SLUICE_V_MAX
};

/* Names for logs, MML and sluicectl, in enum order. */
#define SLUICE_VERDICT_NAMES {						\
	"rx", "redirect", "tx", "pass_not_ip", "pass_not_udp",		\
	"pass_truncated", "pass_fragment", "pass_ip_options",		\
	"pass_miss", "pass_wrong_src", "pass_stun", "pass_dtls",	\
	"pass_ttl", "pass_family", "pass_fib_no_neigh",			\
	"pass_fib_fwd_disabled", "pass_fib_other",			\
	"pass_redirect_failed" }

struct sluice_verdict {
	__u64	packets;
	__u64	bytes;			/* frame bytes */
};

_Static_assert(sizeof(struct sluice_flow_key) == 20, "flow key size");
_Static_assert(__builtin_offsetof(struct sluice_flow_key, port) == 16, "key port");
_Static_assert(__builtin_offsetof(struct sluice_flow_key, comp) == 19, "key comp");
_Static_assert(sizeof(struct sluice_flow_action) == 72, "flow action size");
_Static_assert(__builtin_offsetof(struct sluice_flow_action, expect_src_port) == 48,
	       "action ports");
_Static_assert(__builtin_offsetof(struct sluice_flow_action, clock_rate) == 60,
	       "action clock");
_Static_assert(sizeof(struct sluice_flow_egress) == 40, "flow egress size");
_Static_assert(__builtin_offsetof(struct sluice_xdp_flow, egress) == 72, "xdp flow egress");
_Static_assert(__builtin_offsetof(struct sluice_flow_egress, smac) % 2 == 0 &&
	       __builtin_offsetof(struct sluice_flow_egress, dmac) % 2 == 0, "egress MACs: 16-bit words");
_Static_assert(__builtin_offsetof(struct sluice_xdp_flow, stats) == 112, "xdp flow stats");
_Static_assert(sizeof(struct sluice_xdp_flow) == 184, "xdp flow size");
_Static_assert(sizeof(struct sluice_flow_stats) == 72, "flow stats size");
_Static_assert(__builtin_offsetof(struct sluice_flow_stats, ssrc) == 32, "stats rtp");
_Static_assert(sizeof(struct sluice_verdict) == 16, "verdict size");
_Static_assert(SLUICE_V_MAX == 18, "update SLUICE_VERDICT_NAMES with the enum");

#endif /* SLUICE_ABI_H */
