/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fixtures of tests/bpf/test_xdp.c: the flows installed in the
 * program's map, and the table of frames in with the XDP action, the
 * verdict reason and the rewrite each must produce. A forwarded frame's
 * expected form is the input with the rewrite's fields replaced, built
 * from scratch by pkt.h; everything else must come out as it went in.
 *
 * Addresses and MACs are those of the network in netns.h: a0 the caller's
 * leg (ingress unless a row says otherwise), b0 the callee's, c0 with
 * forwarding off, d0 outside tx_ports, e0 with MTU 1280.
 */
#ifndef SLUICE_TEST_XDP_CASES_H
#define SLUICE_TEST_XDP_CASES_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/abi.h>

#include "netns.h"
#include "pkt.h"

/* Rows leave the fields they do not need zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define RTP_STRICT	(SLUICE_F_RTP | SLUICE_F_STRICT_SRC)
#define RTCP_STRICT	(SLUICE_F_RTCP | SLUICE_F_STRICT_SRC)

/* Endpoints as "10.1.0.1:30000" or "[fd01::1]:30000". */
struct flow_def {
	const char	*local, *peer, *relay, *dest;
	uint8_t		flags;
	uint8_t		dscp;
	uint8_t		action_family;	/* the key's when 0 */
	bool		no_clock;	/* clock_rate 0 (8000 otherwise) */
	uint8_t		key_comp;	/* SLUICE_KEY_* */
};

static const struct flow_def flow_defs[] = {
	{ "10.1.0.1:30000", "10.1.0.2:40000", "10.2.0.1:30002", "10.2.0.2:50000", RTP_STRICT },
	{ "10.1.0.1:30004", "10.1.0.2:40004", "10.2.0.1:30005", "10.2.0.2:50004", RTCP_STRICT },
	{ "10.1.0.1:30010", "10.1.0.2:40010", "10.1.0.1:30012", "10.1.0.3:50010", RTP_STRICT },
	{ "10.1.0.1:30020", "10.1.0.2:40020", "10.2.0.1:30022", "10.2.0.9:50020", RTP_STRICT },
	{ "10.3.0.1:30030", "10.3.0.2:40030", "10.2.0.1:30032", "10.2.0.2:50030", RTP_STRICT },
	{ "10.1.0.1:30040", "10.1.0.2:40040", "10.4.0.1:30042", "10.4.0.2:50040", RTP_STRICT },
	{ "10.1.0.1:30050", "10.1.0.2:40050", "10.2.0.1:30051", "198.51.100.1:50050", RTP_STRICT },
	{ "10.1.0.1:30052", "10.1.0.2:40052", "10.2.0.1:30053", "203.0.113.1:50052", RTP_STRICT },
	{ "10.1.0.1:30054", "10.1.0.2:40054", "10.2.0.1:30055", "192.0.2.1:50054", RTP_STRICT },
	{ "10.1.0.1:30060", "10.1.0.2:40060", "10.2.0.1:30062", "10.2.0.2:50060",
	  RTP_STRICT | SLUICE_F_DSCP, 46 },
	{ "10.1.0.1:30070", "10.1.0.2:40070", "10.2.0.1:30072", "10.2.0.2:50070", RTP_STRICT, 0,
	  SLUICE_FAMILY_IPV6 },
	{ "10.1.0.1:30080", "10.1.0.2:40080", "10.5.0.1:30082", "10.5.0.2:50080", RTP_STRICT },
	{ "10.1.0.1:30090", "10.1.0.2:40090", "10.2.0.1:30092", "10.2.0.2:50090", SLUICE_F_RTP },
	{ "10.1.0.1:30100", "10.1.0.2:40100", "10.2.0.1:30102", "10.2.0.2:50100", RTP_STRICT },
	{ "10.1.0.1:30110", "10.1.0.2:40110", "10.2.0.1:30112", "10.2.0.2:50110", RTP_STRICT,
	  0, 0, true },
	/* A muxing caller, a callee with RTCP on a port of its own (rtcp-mux demux). */
	{ "10.1.0.1:30120", "10.1.0.2:40120", "10.2.0.1:30122", "10.2.0.2:50120",
	  RTP_STRICT | SLUICE_F_DEMUX },
	{ "10.1.0.1:30120", "10.1.0.2:40120", "10.2.0.1:30123", "10.2.0.2:50121", RTCP_STRICT,
	  .key_comp = SLUICE_KEY_MUXED_RTCP },
	/* The same before its RTCP has a flow. */
	{ "10.1.0.1:30130", "10.1.0.2:40130", "10.2.0.1:30132", "10.2.0.2:50130",
	  RTP_STRICT | SLUICE_F_DEMUX },

	{ "[fd01::1]:30000", "[fd01::2]:40000", "[fd02::1]:30002", "[fd02::2]:50000", RTP_STRICT },
	{ "[fd01::1]:30004", "[fd01::2]:40004", "[fd02::1]:30005", "[fd02::2]:50004",
	  RTCP_STRICT },
	{ "[fd01::1]:30010", "[fd01::2]:40010", "[fd01::1]:30012", "[fd01::3]:50010", RTP_STRICT },
	{ "[fd01::1]:30020", "[fd01::2]:40020", "[fd02::1]:30022", "[fd02::9]:50020", RTP_STRICT },
	{ "[fd03::1]:30030", "[fd03::2]:40030", "[fd02::1]:30032", "[fd02::2]:50030", RTP_STRICT },
	{ "[fd01::1]:30040", "[fd01::2]:40040", "[fd04::1]:30042", "[fd04::2]:50040", RTP_STRICT },
	{ "[fd01::1]:30050", "[fd01::2]:40050", "[fd02::1]:30051", "[2001:db8:dead::1]:50050",
	  RTP_STRICT },
	{ "[fd01::1]:30060", "[fd01::2]:40060", "[fd02::1]:30062", "[fd02::2]:50060",
	  RTP_STRICT | SLUICE_F_DSCP, 46 },
	{ "[fd01::1]:30080", "[fd01::2]:40080", "[fd05::1]:30082", "[fd05::2]:50080", RTP_STRICT },
	{ "[fd01::1]:30100", "[fd01::2]:40100", "[fd02::1]:30102", "[fd02::2]:50100", RTP_STRICT },
	{ "[fd01::1]:30120", "[fd01::2]:40120", "[fd02::1]:30122", "[fd02::2]:50120",
	  RTP_STRICT | SLUICE_F_DEMUX },
	{ "[fd01::1]:30120", "[fd01::2]:40120", "[fd02::1]:30123", "[fd02::2]:50121", RTCP_STRICT,
	  .key_comp = SLUICE_KEY_MUXED_RTCP },
};

/* ------------------------------------------------------------ the table */

enum tune {
	TUNE_NONE,
	TUNE_OUT_UDP_ZERO,	/* rewritten datagram's checksum computes to 0 */
	TUNE_IN_UDP_ZERO,	/* arriving datagram's checksum computes to 0 */
	TUNE_OUT_IP_ZERO,	/* rewritten IPv4 header's checksum computes to 0 */
};

/* What a forward changes; the rest of the expected frame is the input's. */
struct rewrite {
	const char	*smac, *dmac;
	const char	*src, *dst;
	uint16_t	sport, dport;
	uint8_t		ttl;
	bool		set_tos;
	uint8_t		tos;
};

enum ingress { IN_A, IN_C };

struct xcase {
	const char	*name;
	struct pkt_spec	in;
	int		action;
	int		reason;
	struct rewrite	out;		/* when action is not XDP_PASS */
	enum ingress	ingress;
	enum tune	tune;
	bool		rtp_error;	/* counted in the flow's rtp_errors */
	size_t		cut;		/* frame cut to this length; 0: whole */
	uint8_t		key_comp;	/* the flow it counts in: SLUICE_KEY_* */
};

#define IN4(...)	{ .family = 4, __VA_ARGS__ }
#define IN6(...)	{ .family = 6, __VA_ARGS__ }
#define FROM_CALLER4	.src = "10.1.0.2", .dst = "10.1.0.1"
#define FROM_CALLER6	.src = "fd01::2", .dst = "fd01::1"
#define RTP(n)		.seq = (n), .ts = 160u * (n), .ssrc = 0x5eed0001
#define RTCP_SR		.rtp_pt = 72, .payload_len = 52	/* PT 200, an SR */
#define TO_CALLEE4(sp, dp)						\
	{ .smac = TNET_MAC_B0, .dmac = TNET_MAC_CALLEE, .src = "10.2.0.1",	\
	  .dst = "10.2.0.2", .sport = (sp), .dport = (dp), .ttl = 63 }
#define TO_CALLEE6(sp, dp)						\
	{ .smac = TNET_MAC_B0, .dmac = TNET_MAC_CALLEE, .src = "fd02::1",	\
	  .dst = "fd02::2", .sport = (sp), .dport = (dp), .ttl = 63 }
#define FWD		XDP_REDIRECT, SLUICE_V_REDIRECT
#define PASS(why)	XDP_PASS, SLUICE_V_PASS_##why

static const struct xcase cases[] = {
	/* IPv4: forwarded */
	{ "IPv4 RTP: rewritten and redirected to the callee's leg",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(7)),
	  FWD, TO_CALLEE4(30002, 50000) },
	{ "IPv4 odd payload length",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(8), .payload_len = 171),
	  FWD, TO_CALLEE4(30002, 50000) },
	{ "IPv4 without UDP checksum: stays without",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(9), .no_udp_csum = true),
	  FWD, TO_CALLEE4(30002, 50000) },
	{ "IPv4 UDP checksum computing to 0 after the rewrite: sent as 0xffff",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(10)),
	  FWD, TO_CALLEE4(30002, 50000), .tune = TUNE_OUT_UDP_ZERO },
	{ "IPv4 UDP checksum 0xffff on arrival (computed 0)",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(11)),
	  FWD, TO_CALLEE4(30002, 50000), .tune = TUNE_IN_UDP_ZERO },
	{ "IPv4 header checksum computing to 0 after the rewrite",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(12)),
	  FWD, TO_CALLEE4(30002, 50000), .tune = TUNE_OUT_IP_ZERO },
	{ "IPv4 DF set: not a fragment",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(13), .frag = 0x4000),
	  FWD, TO_CALLEE4(30002, 50000) },
	{ "IPv4 RTCP flow",
	  IN4(FROM_CALLER4, .sport = 40004, .dport = 30004, RTCP_SR),
	  FWD, TO_CALLEE4(30005, 50004) },
	{ "IPv4 back out of the ingress interface: XDP_TX",
	  IN4(FROM_CALLER4, .sport = 40010, .dport = 30010, RTP(14)),
	  XDP_TX, SLUICE_V_TX,
	  { .smac = TNET_MAC_A0, .dmac = TNET_MAC_CALLER2, .src = "10.1.0.1",
	    .dst = "10.1.0.3", .sport = 30012, .dport = 50010, .ttl = 63 } },
	{ "IPv4 one VLAN tag, back out of the ingress: XDP_TX keeping the tag",
	  IN4(FROM_CALLER4, .vlans = 1, .sport = 40010, .dport = 30010, RTP(15)),
	  XDP_TX, SLUICE_V_TX,
	  { .smac = TNET_MAC_A0, .dmac = TNET_MAC_CALLER2, .src = "10.1.0.1",
	    .dst = "10.1.0.3", .sport = 30012, .dport = 50010, .ttl = 63 } },
	{ "IPv4 one 802.1ad tag, back out of the ingress: XDP_TX keeping the tag",
	  IN4(FROM_CALLER4, .vlans = 1, .vlan_ad = true, .sport = 40010, .dport = 30010,
	      RTP(15)),
	  XDP_TX, SLUICE_V_TX,
	  { .smac = TNET_MAC_A0, .dmac = TNET_MAC_CALLER2, .src = "10.1.0.1",
	    .dst = "10.1.0.3", .sport = 30012, .dport = 50010, .ttl = 63 } },
	{ "IPv4 DSCP set by the flow, ECN bits kept",
	  IN4(FROM_CALLER4, .sport = 40060, .dport = 30060, RTP(16), .tos = 0x01),
	  FWD, { .smac = TNET_MAC_B0, .dmac = TNET_MAC_CALLEE, .src = "10.2.0.1",
		 .dst = "10.2.0.2", .sport = 30062, .dport = 50060, .ttl = 63,
		 .set_tos = true, .tos = 46 << 2 | 0x01 } },
	{ "IPv4 TTL 2: forwarded with TTL 1",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(17), .ttl = 2),
	  FWD, { .smac = TNET_MAC_B0, .dmac = TNET_MAC_CALLEE, .src = "10.2.0.1",
		 .dst = "10.2.0.2", .sport = 30002, .dport = 50000, .ttl = 1 } },
	{ "IPv4 flow without STRICT_SRC: any source",
	  IN4(.src = "10.1.0.3", .dst = "10.1.0.1", .sport = 1234, .dport = 30090, RTP(18)),
	  FWD, TO_CALLEE4(30092, 50090) },
	{ "IPv4 egress MTU 1280, IP length exactly 1280",
	  IN4(FROM_CALLER4, .sport = 40080, .dport = 30080, RTP(19), .payload_len = 1252),
	  FWD, { .smac = TNET_MAC_E0, .dmac = TNET_MAC_E_PEER, .src = "10.5.0.1",
		 .dst = "10.5.0.2", .sport = 30082, .dport = 50080, .ttl = 63 } },
	{ "IPv4 first byte 4 (above STUN) on an RTCP flow",
	  IN4(FROM_CALLER4, .sport = 40004, .dport = 30004, .byte0 = PKT_BYTE0(4)),
	  FWD, TO_CALLEE4(30005, 50004) },
	{ "IPv4 first byte 19 (below DTLS) on an RTCP flow",
	  IN4(FROM_CALLER4, .sport = 40004, .dport = 30004, .byte0 = PKT_BYTE0(19)),
	  FWD, TO_CALLEE4(30005, 50004) },
	{ "IPv4 first byte 64 (above DTLS) on an RTCP flow",
	  IN4(FROM_CALLER4, .sport = 40004, .dport = 30004, .byte0 = PKT_BYTE0(64)),
	  FWD, TO_CALLEE4(30005, 50004) },
	{ "IPv4 RTP version 1 on an RTP flow: forwarded, an RTP error",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .byte0 = PKT_BYTE0(0x40)),
	  FWD, TO_CALLEE4(30002, 50000), .rtp_error = true },
	{ "IPv4 RTP version 3 on an RTP flow: forwarded, an RTP error",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .byte0 = PKT_BYTE0(0xc0)),
	  FWD, TO_CALLEE4(30002, 50000), .rtp_error = true },

	/* IPv4: passed */
	{ "IPv4 wrong source port",
	  IN4(FROM_CALLER4, .sport = 40001, .dport = 30000, RTP(20)), PASS(WRONG_SRC) },
	{ "IPv4 wrong source address",
	  IN4(.src = "10.1.0.3", .dst = "10.1.0.1", .sport = 40000, .dport = 30000, RTP(21)),
	  PASS(WRONG_SRC) },
	{ "IPv4 miss: unknown port",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 39999, RTP(22)), PASS(MISS) },
	{ "IPv4 miss: known port at another local address",
	  IN4(.src = "10.1.0.2", .dst = "10.1.0.9", .sport = 40000, .dport = 30000, RTP(23)),
	  PASS(MISS) },
	{ "IPv4 TCP", IN4(FROM_CALLER4, .proto = 6, .sport = 40000, .dport = 30000),
	  PASS(NOT_UDP) },
	{ "ARP", IN4(FROM_CALLER4, .ethertype = 0x0806, .sport = 40000, .dport = 30000),
	  PASS(NOT_IP) },
	{ "IPv4 EtherType, version 6 in the header",
	  IN4(FROM_CALLER4, .version = 6, .sport = 40000, .dport = 30000), PASS(NOT_IP) },
	{ "IPv4 header length 4 words",
	  IN4(FROM_CALLER4, .ihl = 4, .sport = 40000, .dport = 30000), PASS(NOT_IP) },
	{ "IPv4 two VLAN tags (one at most)",
	  IN4(FROM_CALLER4, .vlans = 2, .sport = 40010, .dport = 30010), PASS(NOT_IP) },
	{ "IPv4 one VLAN tag towards another interface",
	  IN4(FROM_CALLER4, .vlans = 1, .sport = 40000, .dport = 30000, RTP(24)),
	  PASS(REDIRECT_FAILED) },
	{ "IPv4 fragment: more fragments",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .frag = 0x2000), PASS(FRAGMENT) },
	{ "IPv4 fragment: offset, last",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .frag = 0x00b9), PASS(FRAGMENT) },
	{ "IPv4 fragment: offset and more fragments",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .frag = 0x2001), PASS(FRAGMENT) },
	{ "IPv4 options (ihl 6)",
	  IN4(FROM_CALLER4, .ihl = 6, .sport = 40000, .dport = 30000), PASS(IP_OPTIONS) },
	{ "IPv4 options (ihl 15)",
	  IN4(FROM_CALLER4, .ihl = 15, .sport = 40000, .dport = 30000), PASS(IP_OPTIONS) },
	{ "IPv4 UDP without payload",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .empty = true), PASS(TRUNCATED) },
	/* Headers whole, payload cut: the lengths they claim do not fit. */
	{ "IPv4 frame shorter than its IP and UDP lengths",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(30)), PASS(TRUNCATED),
	  .cut = 14 + 20 + 8 + 20 },
	{ "IPv6 frame shorter than its payload length",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, RTP(31)), PASS(TRUNCATED),
	  .cut = 14 + 40 + 8 + 20 },
	{ "IPv4 STUN, first byte 0",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .byte0 = PKT_BYTE0(0)), PASS(STUN) },
	{ "IPv4 STUN, first byte 1",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .byte0 = PKT_BYTE0(1)), PASS(STUN) },
	{ "IPv4 STUN, first byte 3",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .byte0 = PKT_BYTE0(3)), PASS(STUN) },
	{ "IPv4 DTLS, first byte 20",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .byte0 = PKT_BYTE0(20)), PASS(DTLS) },
	{ "IPv4 DTLS, first byte 22 (handshake)",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .byte0 = PKT_BYTE0(22)), PASS(DTLS) },
	{ "IPv4 DTLS, first byte 63",
	  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, .byte0 = PKT_BYTE0(63)), PASS(DTLS) },
	{ "IPv4 STUN on an RTCP flow",
	  IN4(FROM_CALLER4, .sport = 40004, .dport = 30004, .byte0 = PKT_BYTE0(1)), PASS(STUN) },
	{ "IPv4 TTL 1", IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(25), .ttl = 1),
	  PASS(TTL) },
	{ "IPv4 no neighbour for the new destination",
	  IN4(FROM_CALLER4, .sport = 40020, .dport = 30020, RTP(26)), PASS(FIB_NO_NEIGH) },
	{ "IPv4 forwarding off on the ingress interface",
	  IN4(.src = "10.3.0.2", .dst = "10.3.0.1", .sport = 40030, .dport = 30030, RTP(27)),
	  PASS(FIB_FWD_DISABLED), .ingress = IN_C },
	{ "IPv4 egress interface not in tx_ports",
	  IN4(FROM_CALLER4, .sport = 40040, .dport = 30040, RTP(28)), PASS(REDIRECT_FAILED) },
	{ "IPv4 blackholed destination",
	  IN4(FROM_CALLER4, .sport = 40050, .dport = 30050, RTP(29)), PASS(FIB_OTHER) },
	{ "IPv4 unreachable destination",
	  IN4(FROM_CALLER4, .sport = 40052, .dport = 30052, RTP(30)), PASS(FIB_OTHER) },
	{ "IPv4 destination without a route",
	  IN4(FROM_CALLER4, .sport = 40054, .dport = 30054, RTP(31)), PASS(FIB_OTHER) },
	{ "IPv4 larger than the egress MTU",
	  IN4(FROM_CALLER4, .sport = 40080, .dport = 30080, RTP(32), .payload_len = 1253),
	  PASS(FIB_OTHER) },
	{ "IPv4 action of another family than its key",
	  IN4(FROM_CALLER4, .sport = 40070, .dport = 30070, RTP(33)), PASS(FAMILY) },

	/* IPv6: forwarded */
	{ "IPv6 RTP: rewritten and redirected to the callee's leg",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, RTP(40)),
	  FWD, TO_CALLEE6(30002, 50000) },
	{ "IPv6 odd payload length",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, RTP(41), .payload_len = 33),
	  FWD, TO_CALLEE6(30002, 50000) },
	{ "IPv6 UDP checksum computing to 0 after the rewrite: sent as 0xffff",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, RTP(42)),
	  FWD, TO_CALLEE6(30002, 50000), .tune = TUNE_OUT_UDP_ZERO },
	{ "IPv6 UDP checksum 0xffff on arrival (computed 0)",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, RTP(43)),
	  FWD, TO_CALLEE6(30002, 50000), .tune = TUNE_IN_UDP_ZERO },
	{ "IPv6 RTCP flow",
	  IN6(FROM_CALLER6, .sport = 40004, .dport = 30004, RTCP_SR),
	  FWD, TO_CALLEE6(30005, 50004) },
	{ "IPv6 back out of the ingress interface: XDP_TX",
	  IN6(FROM_CALLER6, .sport = 40010, .dport = 30010, RTP(44)),
	  XDP_TX, SLUICE_V_TX,
	  { .smac = TNET_MAC_A0, .dmac = TNET_MAC_CALLER2, .src = "fd01::1",
	    .dst = "fd01::3", .sport = 30012, .dport = 50010, .ttl = 63 } },
	{ "IPv6 one VLAN tag, back out of the ingress: XDP_TX keeping the tag",
	  IN6(FROM_CALLER6, .vlans = 1, .sport = 40010, .dport = 30010, RTP(45)),
	  XDP_TX, SLUICE_V_TX,
	  { .smac = TNET_MAC_A0, .dmac = TNET_MAC_CALLER2, .src = "fd01::1",
	    .dst = "fd01::3", .sport = 30012, .dport = 50010, .ttl = 63 } },
	{ "IPv6 DSCP set by the flow, ECN bits kept",
	  IN6(FROM_CALLER6, .sport = 40060, .dport = 30060, RTP(46), .tos = 0x01),
	  FWD, { .smac = TNET_MAC_B0, .dmac = TNET_MAC_CALLEE, .src = "fd02::1",
		 .dst = "fd02::2", .sport = 30062, .dport = 50060, .ttl = 63,
		 .set_tos = true, .tos = 46 << 2 | 0x01 } },
	{ "IPv6 hop limit 2: forwarded with 1",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, RTP(47), .ttl = 2),
	  FWD, { .smac = TNET_MAC_B0, .dmac = TNET_MAC_CALLEE, .src = "fd02::1",
		 .dst = "fd02::2", .sport = 30002, .dport = 50000, .ttl = 1 } },
	{ "IPv6 egress MTU 1280, IPv6 length exactly 1280",
	  IN6(FROM_CALLER6, .sport = 40080, .dport = 30080, RTP(48), .payload_len = 1232),
	  FWD, { .smac = TNET_MAC_E0, .dmac = TNET_MAC_E_PEER, .src = "fd05::1",
		 .dst = "fd05::2", .sport = 30082, .dport = 50080, .ttl = 63 } },

	/* IPv6: passed */
	{ "IPv6 without the UDP checksum IPv6 requires",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, RTP(50), .no_udp_csum = true),
	  PASS(NOT_UDP) },
	{ "IPv6 wrong source address",
	  IN6(.src = "fd01::3", .dst = "fd01::1", .sport = 40000, .dport = 30000, RTP(51)),
	  PASS(WRONG_SRC) },
	{ "IPv6 wrong source port",
	  IN6(FROM_CALLER6, .sport = 40001, .dport = 30000, RTP(52)), PASS(WRONG_SRC) },
	{ "IPv6 miss", IN6(FROM_CALLER6, .sport = 40000, .dport = 39999, RTP(53)), PASS(MISS) },
	{ "IPv6 TCP", IN6(FROM_CALLER6, .proto = 6, .sport = 40000, .dport = 30000),
	  PASS(NOT_UDP) },
	{ "IPv6 EtherType, version 4 in the header",
	  IN6(FROM_CALLER6, .version = 4, .sport = 40000, .dport = 30000), PASS(NOT_IP) },
	{ "IPv6 fragment header",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, .v6_frag = true), PASS(FRAGMENT) },
	{ "IPv6 STUN, first byte 0",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, .byte0 = PKT_BYTE0(0)), PASS(STUN) },
	{ "IPv6 DTLS, first byte 23",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, .byte0 = PKT_BYTE0(23)), PASS(DTLS) },
	{ "IPv6 hop limit 1",
	  IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, RTP(54), .ttl = 1), PASS(TTL) },
	{ "IPv6 no neighbour for the new destination",
	  IN6(FROM_CALLER6, .sport = 40020, .dport = 30020, RTP(55)), PASS(FIB_NO_NEIGH) },
	{ "IPv6 forwarding off on the ingress interface",
	  IN6(.src = "fd03::2", .dst = "fd03::1", .sport = 40030, .dport = 30030, RTP(56)),
	  PASS(FIB_FWD_DISABLED), .ingress = IN_C },
	{ "IPv6 egress interface not in tx_ports",
	  IN6(FROM_CALLER6, .sport = 40040, .dport = 30040, RTP(57)), PASS(REDIRECT_FAILED) },
	{ "IPv6 blackholed destination",
	  IN6(FROM_CALLER6, .sport = 40050, .dport = 30050, RTP(58)), PASS(FIB_OTHER) },
	{ "IPv6 larger than the egress MTU",
	  IN6(FROM_CALLER6, .sport = 40080, .dport = 30080, RTP(59), .payload_len = 1233),
	  PASS(FIB_OTHER) },
	/* rtcp-mux demux: RTCP muxed on the caller's port, to the callee's RTCP port */
	{ "IPv4 RTP on a demultiplexing port: its RTP flow",
	  IN4(FROM_CALLER4, .sport = 40120, .dport = 30120, RTP(60)),
	  FWD, TO_CALLEE4(30122, 50120) },
	{ "IPv4 RTCP muxed on a demultiplexing port: the RTCP flow, from the relay's RTCP port",
	  IN4(FROM_CALLER4, .sport = 40120, .dport = 30120, RTCP_SR),
	  FWD, TO_CALLEE4(30123, 50121), .key_comp = SLUICE_KEY_MUXED_RTCP },
	{ "IPv4 RTCP muxed from another source: the RTCP flow's source check",
	  IN4(FROM_CALLER4, .sport = 40121, .dport = 30120, RTCP_SR),
	  PASS(WRONG_SRC), .key_comp = SLUICE_KEY_MUXED_RTCP },
	{ "IPv4 RTCP muxed before its flow is there: to sluiced",
	  IN4(FROM_CALLER4, .sport = 40130, .dport = 30130, RTCP_SR),
	  PASS(MISS), .key_comp = SLUICE_KEY_MUXED_RTCP },
	{ "IPv4 RTP on that port meanwhile: forwarded",
	  IN4(FROM_CALLER4, .sport = 40130, .dport = 30130, RTP(61)),
	  FWD, TO_CALLEE4(30132, 50130) },
	{ "IPv6 RTP on a demultiplexing port: its RTP flow",
	  IN6(FROM_CALLER6, .sport = 40120, .dport = 30120, RTP(62)),
	  FWD, TO_CALLEE6(30122, 50120) },
	{ "IPv6 RTCP muxed on a demultiplexing port: the RTCP flow",
	  IN6(FROM_CALLER6, .sport = 40120, .dport = 30120, RTCP_SR),
	  FWD, TO_CALLEE6(30123, 50121), .key_comp = SLUICE_KEY_MUXED_RTCP },
};

#endif /* SLUICE_TEST_XDP_CASES_H */
