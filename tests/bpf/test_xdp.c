// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP program without an interface: bpf_prog_test_run_opts() over a
 * table of packets in, verdict (and reason counter) and packet out.
 *
 * The test moves itself into a private network namespace and builds the
 * FIB the program consults: veth pairs with fixed MAC addresses, permanent
 * neighbours, a blackhole route, an interface with forwarding off. Every
 * expected output frame is built from scratch by this file's own packet
 * builder with a full RFC 1071 checksum computation, and compared byte for
 * byte with what the program produced: the program's incremental checksum
 * code is never used to check itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <sluice/abi.h>

#include "sluice.skel.h"

/* The tables below leave trailing fields zero on purpose. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---------------------------------------------------------------- setup */

static struct sluice *skel;
static int if_a, if_c, if_d, if_b;	/* a0 caller side, b0 callee side */
static int ncpus;
static const char *skip_reason;

#define MAC_A0	"02:00:00:00:0a:00"
#define MAC_B0	"02:00:00:00:0b:00"
#define MAC_C0	"02:00:00:00:0c:00"
#define MAC_D0	"02:00:00:00:0d:00"
#define MAC_CALLER	"02:00:00:00:01:02"
#define MAC_CALLER2	"02:00:00:00:01:03"
#define MAC_CALLEE	"02:00:00:00:02:02"
#define MAC_D_PEER	"02:00:00:00:04:02"

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int build_fib(void)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add a0 address " MAC_A0 " type veth peer name a1",
		"ip link add b0 address " MAC_B0 " type veth peer name b1",
		"ip link add c0 address " MAC_C0 " type veth peer name c1",
		"ip link add d0 address " MAC_D0 " type veth peer name d1",
		"sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1",
		"for i in a0 a1 b0 b1 c0 c1 d0 d1; do ip link set $i up; done",
		"ip addr add 10.1.0.1/24 dev a0",
		"ip addr add 10.2.0.1/24 dev b0",
		"ip addr add 10.3.0.1/24 dev c0",
		"ip addr add 10.4.0.1/24 dev d0",
		"ip addr add fd01::1/64 dev a0 nodad",
		"ip addr add fd02::1/64 dev b0 nodad",
		"ip neigh add 10.1.0.2 lladdr " MAC_CALLER " dev a0 nud permanent",
		"ip neigh add 10.1.0.3 lladdr " MAC_CALLER2 " dev a0 nud permanent",
		"ip neigh add 10.2.0.2 lladdr " MAC_CALLEE " dev b0 nud permanent",
		"ip neigh add 10.4.0.2 lladdr " MAC_D_PEER " dev d0 nud permanent",
		"ip neigh add fd02::2 lladdr " MAC_CALLEE " dev b0 nud permanent",
		"ip neigh add fd01::2 lladdr " MAC_CALLER " dev a0 nud permanent",
		"ip route add blackhole 198.51.100.0/24",
		"sysctl -qw net.ipv4.conf.c0.forwarding=0",
	};
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (sh("%s >/dev/null 2>&1", cmds[i]))
			return -1;
	if_a = (int)if_nametoindex("a0");
	if_b = (int)if_nametoindex("b0");
	if_c = (int)if_nametoindex("c0");
	if_d = (int)if_nametoindex("d0");
	return 0;
}

static int group_setup(void **state)
{
	struct bpf_map *map;
	__u32 i;

	(void)state;
	if (geteuid() != 0) {
		skip_reason = "needs root (BPF, network namespaces)";
		return 0;
	}
	if (unshare(CLONE_NEWNET)) {
		skip_reason = "cannot create a network namespace";
		return 0;
	}
	if (build_fib()) {
		skip_reason = "cannot build the test FIB with ip(8)";
		return 0;
	}
	skel = sluice__open();
	if (!skel) {
		skip_reason = "cannot open the BPF object";
		return 0;
	}
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	if (sluice__load(skel)) {
		sluice__destroy(skel);
		skel = NULL;
		skip_reason = "cannot load the XDP program (no BPF here?)";
		return 0;
	}
	ncpus = libbpf_num_possible_cpus();
	/* a0 and b0 are ours; d0 has a route and a neighbour but no XDP. */
	for (i = 0; i < 2; i++) {
		__u32 ifx = (__u32)(i ? if_b : if_a);

		bpf_map__update_elem(skel->maps.tx_ports, &ifx, 4, &ifx, 4, BPF_ANY);
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sluice__destroy(skel);
	return 0;
}

#define REQUIRE_SETUP()						\
	do {							\
		if (skip_reason) {				\
			print_message("skipped: %s\n", skip_reason); \
			skip();					\
		}						\
	} while (0)

/* --------------------------------------------------------- packet builder */

struct spec {
	int		family;		/* 4 or 6 */
	bool		vlan;
	const char	*src, *dst;	/* addresses */
	uint16_t	sport, dport;
	uint8_t		ttl;		/* or hop limit; 64 when 0 */
	uint8_t		tos;
	uint8_t		proto;		/* IPPROTO_UDP when 0 */
	bool		no_udp_csum;
	bool		ip_options;
	uint16_t	frag;		/* IPv4 frag_off, host order */
	bool		v6_frag_hdr;
	uint16_t	payload_len;	/* 172 when 0 */
	int		first_byte;	/* payload[0]; RTP's 0x80 when 0 */
	const char	*smac, *dmac;
	uint16_t	rtp_seq;
	uint32_t	ssrc;
	uint16_t	fix_word;	/* last two payload bytes, for csum tricks */
};

struct frame {
	uint8_t		b[512];
	size_t		len;
};

static uint32_t sum16(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void mac(uint8_t *out, const char *s)
{
	unsigned m[6];
	int i;

	sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
	for (i = 0; i < 6; i++)
		out[i] = (uint8_t)m[i];
}

/* The UDP checksum over the pseudo-header, as RFC 768 / RFC 8200 define it. */
static uint16_t udp_csum(const struct spec *s, const uint8_t *l3, const uint8_t *udp, size_t ulen)
{
	uint32_t sum;
	uint16_t c;

	if (s->family == 4)
		sum = sum16(0, l3 + 12, 8);
	else
		sum = sum16(0, l3 + 8, 32);
	sum += IPPROTO_UDP + (uint32_t)ulen;
	c = (uint16_t)~fold(sum16(sum, udp, ulen));
	return c ? c : 0xffff;
}

static void build(const struct spec *s, struct frame *f)
{
	uint16_t plen = s->payload_len ? s->payload_len : 172;
	uint8_t *p = f->b, *l3, *udp, *pl;
	size_t l3len, ulen = 8u + plen;

	memset(f, 0, sizeof(*f));
	mac(p, s->dmac ? s->dmac : MAC_A0);
	mac(p + 6, s->smac ? s->smac : MAC_CALLER);
	p += 12;
	if (s->vlan) {
		put16(p, ETH_P_8021Q);
		put16(p + 2, 100);
		p += 4;
	}
	put16(p, s->family == 4 ? ETH_P_IP : ETH_P_IPV6);
	l3 = p + 2;
	if (s->family == 4) {
		l3len = s->ip_options ? 24 : 20;
		l3[0] = (uint8_t)(0x40 | l3len / 4);
		l3[1] = s->tos;
		put16(l3 + 2, (uint16_t)(l3len + ulen));
		put16(l3 + 4, 0x1234);
		put16(l3 + 6, s->frag);
		l3[8] = s->ttl ? s->ttl : 64;
		l3[9] = s->proto ? s->proto : IPPROTO_UDP;
		inet_pton(AF_INET, s->src, l3 + 12);
		inet_pton(AF_INET, s->dst, l3 + 16);
		if (s->ip_options)
			l3[20] = 1;	/* NOP options */
		if (s->ip_options)
			l3[21] = l3[22] = l3[23] = 1;
	} else {
		size_t ext = s->v6_frag_hdr ? 8 : 0;

		l3len = 40 + ext;
		l3[0] = (uint8_t)(0x60 | s->tos >> 4);
		l3[1] = (uint8_t)(s->tos << 4);
		put16(l3 + 4, (uint16_t)(ulen + ext));
		l3[6] = s->v6_frag_hdr ? 44 : (s->proto ? s->proto : IPPROTO_UDP);
		l3[7] = s->ttl ? s->ttl : 64;
		inet_pton(AF_INET6, s->src, l3 + 8);
		inet_pton(AF_INET6, s->dst, l3 + 24);
		if (ext)
			l3[40] = IPPROTO_UDP;
	}
	udp = l3 + l3len;
	put16(udp, s->sport);
	put16(udp + 2, s->dport);
	put16(udp + 4, (uint16_t)ulen);
	pl = udp + 8;
	memset(pl, 0xd5, plen);
	pl[0] = (uint8_t)(s->first_byte ? s->first_byte : 0x80);
	if (plen >= 12) {
		pl[1] = 0;
		put16(pl + 2, s->rtp_seq);
		put32(pl + 4, (uint32_t)s->rtp_seq * 160);
		put32(pl + 8, s->ssrc ? s->ssrc : 0xca11ab1e);
	}
	if (plen >= 16)
		put16(pl + plen - 2, s->fix_word);
	if (s->family == 4)
		put16(l3 + 10, (uint16_t)~fold(sum16(0, l3, l3len)));
	if (!s->no_udp_csum)
		put16(udp + 6, udp_csum(s, l3, udp, ulen));
	f->len = (size_t)(pl + plen - f->b);
}

/* ------------------------------------------------------------- the flows */

struct flow_def {
	const char *local, *peer, *relay, *dest;
	uint8_t flags;
	uint8_t dscp;
	uint8_t family_override;
};

static void add_flow(const struct flow_def *d)
{
	struct sluice_flow_key key = { 0 };
	struct sluice_flow_action act = { 0 };
	char host[64];
	int port;
	const char *eps[4] = { d->local, d->peer, d->relay, d->dest };
	uint8_t *addrs[4] = { key.addr, act.expect_src_addr, act.new_src_addr, act.new_dst_addr };
	uint16_t *ports[4] = { &key.port, &act.expect_src_port, &act.new_src_port,
			       &act.new_dst_port };
	int i, fam = strchr(d->local, '[') ? SLUICE_FAMILY_IPV6 : SLUICE_FAMILY_IPV4;

	for (i = 0; i < 4; i++) {
		if (fam == SLUICE_FAMILY_IPV6)
			sscanf(eps[i], "[%63[^]]]:%d", host, &port);
		else
			sscanf(eps[i], "%63[^:]:%d", host, &port);
		assert_int_equal(inet_pton(fam == SLUICE_FAMILY_IPV6 ? AF_INET6 : AF_INET, host,
					   addrs[i]), 1);
		*ports[i] = (uint16_t)port;
	}
	key.family = (uint8_t)fam;
	act.family = d->family_override ? d->family_override : (uint8_t)fam;
	act.flags = d->flags | SLUICE_F_STRICT_SRC;
	act.dscp = d->dscp;
	act.clock_rate = 8000;
	assert_int_equal(bpf_map__update_elem(skel->maps.flows, &key, sizeof(key), &act,
					      sizeof(act), BPF_ANY), 0);
}

static const struct flow_def flows[] = {
	{ "10.1.0.1:30000", "10.1.0.2:40000", "10.2.0.1:30002", "10.2.0.2:50000", SLUICE_F_RTP },
	{ "10.1.0.1:30001", "10.1.0.2:40001", "10.2.0.1:30003", "10.2.0.2:50001", SLUICE_F_RTCP },
	{ "10.1.0.1:30010", "10.1.0.2:40010", "10.1.0.1:30012", "10.1.0.3:50010", SLUICE_F_RTP },
	{ "10.1.0.1:30020", "10.1.0.2:40020", "10.2.0.1:30022", "10.2.0.9:50020", SLUICE_F_RTP },
	{ "10.3.0.1:30030", "10.3.0.2:40030", "10.2.0.1:30032", "10.2.0.2:50030", SLUICE_F_RTP },
	{ "10.1.0.1:30040", "10.1.0.2:40040", "10.4.0.1:30042", "10.4.0.2:50040", SLUICE_F_RTP },
	{ "10.1.0.1:30050", "10.1.0.2:40050", "10.2.0.1:30052", "198.51.100.1:50050", 0 },
	{ "10.1.0.1:30060", "10.1.0.2:40060", "10.2.0.1:30062", "10.2.0.2:50060", SLUICE_F_DSCP, 46 },
	{ "10.1.0.1:30070", "10.1.0.2:40070", "10.2.0.1:30072", "10.2.0.2:50070", 0, 0,
	  SLUICE_FAMILY_IPV6 },
	{ "[fd01::1]:30000", "[fd01::2]:40000", "[fd02::1]:30002", "[fd02::2]:50000", SLUICE_F_RTP },
	{ "10.1.0.1:30100", "10.1.0.2:40100", "10.2.0.1:30102", "10.2.0.2:50100", SLUICE_F_RTP },
};

static void add_flows(void)
{
	size_t i;

	for (i = 0; i < sizeof(flows) / sizeof(flows[0]); i++)
		add_flow(&flows[i]);
}

/* ------------------------------------------------------------- running */

static void reset_verdicts(void)
{
	struct sluice_verdict zero[256] = { 0 };
	__u32 r;

	for (r = 0; r < SLUICE_V_MAX; r++)
		bpf_map__update_elem(skel->maps.verdicts, &r, sizeof(r), zero,
				     sizeof(zero[0]) * (size_t)ncpus, BPF_ANY);
}

static uint64_t verdict(__u32 reason)
{
	struct sluice_verdict v[256];
	uint64_t n = 0;
	int c;

	assert_true(ncpus <= 256);
	assert_int_equal(bpf_map__lookup_elem(skel->maps.verdicts, &reason, sizeof(reason), v,
					      sizeof(v[0]) * (size_t)ncpus, 0), 0);
	for (c = 0; c < ncpus; c++)
		n += v[c].packets;
	return n;
}

static int run(const struct frame *in, int ifindex, struct frame *out)
{
	struct xdp_md ctx = { .data_end = (__u32)in->len, .ingress_ifindex = (__u32)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = in->b, .data_size_in = (__u32)in->len,
		    .data_out = out->b, .data_size_out = sizeof(out->b),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sluice_xdp), &opts), 0);
	out->len = opts.data_size_out;
	return (int)opts.retval;
}

enum { IF_A, IF_C };

struct xcase {
	const char	*name;
	struct spec	in;
	int		ingress;
	size_t		truncate;	/* cut the input frame to this length */
	int		action;
	int		reason;
	bool		rewritten;
	struct spec	out;		/* the expected frame when rewritten */
};

#define V4(...)	{ .family = 4, __VA_ARGS__ }
#define V6(...)	{ .family = 6, __VA_ARGS__ }
#define CALLER4	.src = "10.1.0.2", .dst = "10.1.0.1"

static const struct xcase cases[] = {
	{ "IPv4 RTP, redirected to the callee's leg",
	  V4(CALLER4, .sport = 40000, .dport = 30000, .rtp_seq = 7),
	  IF_A, 0, XDP_REDIRECT, SLUICE_V_REDIRECT, true,
	  V4(.src = "10.2.0.1", .dst = "10.2.0.2", .sport = 30002, .dport = 50000, .ttl = 63,
	     .smac = MAC_B0, .dmac = MAC_CALLEE, .rtp_seq = 7) },
	{ "IPv4 without UDP checksum: stays without",
	  V4(CALLER4, .sport = 40000, .dport = 30000, .no_udp_csum = true, .rtp_seq = 8),
	  IF_A, 0, XDP_REDIRECT, SLUICE_V_REDIRECT, true,
	  V4(.src = "10.2.0.1", .dst = "10.2.0.2", .sport = 30002, .dport = 50000, .ttl = 63,
	     .smac = MAC_B0, .dmac = MAC_CALLEE, .no_udp_csum = true, .rtp_seq = 8) },
	{ "IPv4 RTCP flow",
	  V4(CALLER4, .sport = 40001, .dport = 30001, .payload_len = 52),
	  IF_A, 0, XDP_REDIRECT, SLUICE_V_REDIRECT, true,
	  V4(.src = "10.2.0.1", .dst = "10.2.0.2", .sport = 30003, .dport = 50001, .ttl = 63,
	     .smac = MAC_B0, .dmac = MAC_CALLEE, .payload_len = 52) },
	{ "IPv6 RTP",
	  V6(.src = "fd01::2", .dst = "fd01::1", .sport = 40000, .dport = 30000, .rtp_seq = 9),
	  IF_A, 0, XDP_REDIRECT, SLUICE_V_REDIRECT, true,
	  V6(.src = "fd02::1", .dst = "fd02::2", .sport = 30002, .dport = 50000, .ttl = 63,
	     .smac = MAC_B0, .dmac = MAC_CALLEE, .rtp_seq = 9) },
	{ "back out of the ingress interface: XDP_TX",
	  V4(CALLER4, .sport = 40010, .dport = 30010),
	  IF_A, 0, XDP_TX, SLUICE_V_TX, true,
	  V4(.src = "10.1.0.1", .dst = "10.1.0.3", .sport = 30012, .dport = 50010, .ttl = 63,
	     .smac = MAC_A0, .dmac = MAC_CALLER2) },
	{ "VLAN-tagged, back out of the ingress: XDP_TX keeping the tag",
	  V4(CALLER4, .vlan = true, .sport = 40010, .dport = 30010),
	  IF_A, 0, XDP_TX, SLUICE_V_TX, true,
	  V4(.vlan = true, .src = "10.1.0.1", .dst = "10.1.0.3", .sport = 30012, .dport = 50010,
	     .ttl = 63, .smac = MAC_A0, .dmac = MAC_CALLER2) },
	{ "VLAN-tagged towards another interface: passed",
	  V4(CALLER4, .vlan = true, .sport = 40000, .dport = 30000),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_REDIRECT_FAILED },
	{ "DSCP set, IPv4 header checksum follows",
	  V4(CALLER4, .sport = 40060, .dport = 30060, .tos = 0x01),
	  IF_A, 0, XDP_REDIRECT, SLUICE_V_REDIRECT, true,
	  V4(.src = "10.2.0.1", .dst = "10.2.0.2", .sport = 30062, .dport = 50060, .ttl = 63,
	     .tos = 46 << 2 | 0x01, .smac = MAC_B0, .dmac = MAC_CALLEE) },
	{ "wrong source port", V4(CALLER4, .sport = 40001, .dport = 30000),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_WRONG_SRC },
	{ "wrong source address", V4(.src = "10.1.0.3", .dst = "10.1.0.1", .sport = 40000,
				     .dport = 30000),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_WRONG_SRC },
	{ "IPv6 wrong source", V6(.src = "fd01::3", .dst = "fd01::1", .sport = 40000,
				  .dport = 30000),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_WRONG_SRC },
	{ "miss", V4(CALLER4, .sport = 40000, .dport = 39999),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_MISS },
	{ "TCP", V4(CALLER4, .proto = IPPROTO_TCP, .sport = 40000, .dport = 30000,
		    .no_udp_csum = true),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_NOT_UDP },
	{ "IPv6 UDP without the checksum IPv6 requires",
	  V6(.src = "fd01::2", .dst = "fd01::1", .sport = 40000, .dport = 30000,
	     .no_udp_csum = true),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_NOT_UDP },
	/* BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header, so
	 * the shortest frame here is a header announcing IPv4 and no more. */
	{ "Ethernet header only", V4(CALLER4, .sport = 40000, .dport = 30000),
	  IF_A, 14, XDP_PASS, SLUICE_V_PASS_TRUNCATED },
	{ "truncated VLAN tag", V4(CALLER4, .vlan = true, .sport = 40000, .dport = 30000),
	  IF_A, 17, XDP_PASS, SLUICE_V_PASS_TRUNCATED },
	{ "truncated IPv4 header", V4(CALLER4, .sport = 40000, .dport = 30000),
	  IF_A, 14 + 19, XDP_PASS, SLUICE_V_PASS_TRUNCATED },
	{ "truncated IPv6 header", V6(.src = "fd01::2", .dst = "fd01::1", .sport = 40000,
				      .dport = 30000),
	  IF_A, 14 + 39, XDP_PASS, SLUICE_V_PASS_TRUNCATED },
	{ "truncated UDP header", V4(CALLER4, .sport = 40000, .dport = 30000),
	  IF_A, 14 + 20 + 7, XDP_PASS, SLUICE_V_PASS_TRUNCATED },
	{ "UDP header and no payload", V4(CALLER4, .sport = 40000, .dport = 30000),
	  IF_A, 14 + 20 + 8, XDP_PASS, SLUICE_V_PASS_TRUNCATED },
	{ "IPv4 fragment, more to come", V4(CALLER4, .sport = 40000, .dport = 30000,
					    .frag = 0x2000),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_FRAGMENT },
	{ "IPv4 fragment with an offset", V4(CALLER4, .sport = 40000, .dport = 30000,
					     .frag = 0x0010),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_FRAGMENT },
	{ "IPv6 fragment header", V6(.src = "fd01::2", .dst = "fd01::1", .sport = 40000,
				     .dport = 30000, .v6_frag_hdr = true),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_FRAGMENT },
	{ "IPv4 options", V4(CALLER4, .sport = 40000, .dport = 30000, .ip_options = true),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_IP_OPTIONS },
	{ "STUN (first byte 0)", V4(CALLER4, .sport = 40000, .dport = 30000, .first_byte = 0x100),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_STUN },
	{ "STUN (first byte 1)", V4(CALLER4, .sport = 40000, .dport = 30000, .first_byte = 1),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_STUN },
	{ "DTLS (first byte 22)", V4(CALLER4, .sport = 40000, .dport = 30000, .first_byte = 22),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_DTLS },
	{ "DTLS (first byte 63)", V4(CALLER4, .sport = 40000, .dport = 30000, .first_byte = 63),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_DTLS },
	{ "ZRTP (first byte 16) is media: forwarded",
	  V4(CALLER4, .sport = 40001, .dport = 30001, .first_byte = 16),
	  IF_A, 0, XDP_REDIRECT, SLUICE_V_REDIRECT, true,
	  V4(.src = "10.2.0.1", .dst = "10.2.0.2", .sport = 30003, .dport = 50001, .ttl = 63,
	     .smac = MAC_B0, .dmac = MAC_CALLEE, .first_byte = 16) },
	{ "TTL 1", V4(CALLER4, .sport = 40000, .dport = 30000, .ttl = 1),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_TTL },
	{ "hop limit 1", V6(.src = "fd01::2", .dst = "fd01::1", .sport = 40000, .dport = 30000,
			    .ttl = 1),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_TTL },
	{ "no neighbour for the destination yet",
	  V4(CALLER4, .sport = 40020, .dport = 30020),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_FIB_NO_NEIGH },
	{ "forwarding disabled on the ingress interface",
	  V4(.src = "10.3.0.2", .dst = "10.3.0.1", .sport = 40030, .dport = 30030),
	  IF_C, 0, XDP_PASS, SLUICE_V_PASS_FIB_FWD_DISABLED },
	{ "egress interface without our program",
	  V4(CALLER4, .sport = 40040, .dport = 30040),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_REDIRECT_FAILED },
	{ "blackholed destination",
	  V4(CALLER4, .sport = 40050, .dport = 30050),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_FIB_OTHER },
	{ "action of another family than its key",
	  V4(CALLER4, .sport = 40070, .dport = 30070),
	  IF_A, 0, XDP_PASS, SLUICE_V_PASS_FAMILY },
};

static void run_case(const struct xcase *c)
{
	struct frame in, out, want;
	int act;

	build(&c->in, &in);
	if (c->in.first_byte == 0x100)
		in.b[in.len - (c->in.payload_len ? c->in.payload_len : 172)] = 0;
	if (c->truncate)
		in.len = c->truncate;
	reset_verdicts();
	act = run(&in, c->ingress == IF_C ? if_c : if_a, &out);
	print_message("  %-60s %d\n", c->name, act);
	assert_int_equal(act, c->action);
	assert_int_equal(verdict(SLUICE_V_RX), 1);
	assert_int_equal(verdict((__u32)c->reason), 1);
	if (c->rewritten) {
		build(&c->out, &want);
		assert_int_equal(out.len, want.len);
		assert_memory_equal(out.b, want.b, want.len);
	} else {
		assert_int_equal(out.len, in.len);
		assert_memory_equal(out.b, in.b, in.len);
	}
}

static void test_table(void **state)
{
	size_t i;

	(void)state;
	REQUIRE_SETUP();
	add_flows();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/*
 * RFC 768: a checksum that computes to zero is sent as all ones. The last
 * payload word is chosen so that the rewritten datagram sums to exactly
 * that case.
 */
static void test_computed_zero_checksum(void **state)
{
	struct spec out_spec = V4(.src = "10.2.0.1", .dst = "10.2.0.2", .sport = 30003,
				  .dport = 50001, .ttl = 63, .smac = MAC_B0, .dmac = MAC_CALLEE,
				  .payload_len = 40, .no_udp_csum = true);
	struct spec in_spec = V4(CALLER4, .sport = 40001, .dport = 30001, .payload_len = 40);
	struct frame in, out, want;
	uint8_t *udp;
	uint16_t s;

	(void)state;
	REQUIRE_SETUP();
	add_flows();
	/* The sum of the rewritten datagram with the fix word 0 and no checksum. */
	build(&out_spec, &want);
	udp = want.b + 14 + 20;
	s = fold(sum16(sum16(IPPROTO_UDP + 48u, want.b + 14 + 12, 8), udp, 48));
	out_spec.fix_word = (uint16_t)(0xffff - s);
	out_spec.no_udp_csum = false;
	build(&out_spec, &want);
	assert_int_equal(udp[6] << 8 | udp[7], 0xffff);
	in_spec.fix_word = out_spec.fix_word;
	build(&in_spec, &in);
	assert_int_equal(run(&in, if_a, &out), XDP_REDIRECT);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.b, want.b, want.len);
}

/* --------------------------------------------------------- statistics */

/* RFC 3550 A.1 (without probation) and A.3, the test's own copy. */
struct ref {
	bool	init;
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t cycles, base_seq, bad_seq, received;
};

static void ref_init(struct ref *r, uint16_t seq)
{
	r->base_seq = seq;
	r->max_seq = seq;
	r->bad_seq = 65536 + 1;
	r->cycles = 0;
	r->received = 0;
}

static void ref_update(struct ref *r, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - r->max_seq);

	if (!r->init) {
		r->init = true;
		ref_init(r, seq);
	} else if (udelta < 3000) {
		if (seq < r->max_seq)
			r->cycles += 65536;
		r->max_seq = seq;
	} else if (udelta <= 65536 - 100) {
		if (seq == r->bad_seq) {
			ref_init(r, seq);
		} else {
			r->bad_seq = (seq + 1u) & 0xffff;
			return;
		}
	}
	r->received++;
}

static void send_rtp(uint16_t seq, uint32_t ssrc, uint16_t payload_len)
{
	struct spec s = V4(CALLER4, .sport = 40100, .dport = 30100, .rtp_seq = seq, .ssrc = ssrc,
			   .payload_len = payload_len);
	struct frame in, out;

	build(&s, &in);
	assert_int_equal(run(&in, if_a, &out), XDP_REDIRECT);
}

static void read_stats(struct sluice_flow_stats *st)
{
	struct sluice_flow_key key = { .port = 30100, .family = SLUICE_FAMILY_IPV4 };

	inet_pton(AF_INET, "10.1.0.1", key.addr);
	assert_int_equal(bpf_map__lookup_elem(skel->maps.flow_stats, &key, sizeof(key), st,
					      sizeof(*st), 0), 0);
}

static void test_rtp_statistics(void **state)
{
	/* Loss (65532, 3), duplicates (65534 twice, 5 twice), reordering
	 * (2 before 1), a wrap, a large jump seen once (40000) and a source
	 * restart confirmed by two sequential packets (20000, 20001). */
	static const uint16_t seqs[] = {
		65530, 65531, 65533, 65534, 65534, 65535, 0, 2, 1, 4, 5, 5, 6,
		40000, 7, 8, 20000, 20001, 20002, 20004,
	};
	struct sluice_flow_stats st;
	struct ref ref = { 0 };
	uint64_t bytes = 0;
	size_t i;

	(void)state;
	REQUIRE_SETUP();
	add_flows();
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		send_rtp(seqs[i], 0x1234, 172);
		ref_update(&ref, seqs[i]);
		bytes += 172;
		read_stats(&st);
		assert_int_equal(st.ext_max_seq, ref.cycles | ref.max_seq);
		assert_int_equal(st.base_seq, ref.base_seq);
		assert_int_equal(st.received, ref.received);
	}
	assert_int_equal(st.packets, sizeof(seqs) / sizeof(seqs[0]));
	assert_int_equal(st.bytes, bytes);
	assert_int_equal(st.ssrc, 0x1234);
	/* 20000 is a jump seen once (not counted); 20001 continues it, so
	 * the sequence restarts there: 20001..20004 expected, 20003 lost. */
	assert_int_equal(st.base_seq, 20001);
	assert_int_equal(st.ext_max_seq - st.base_seq + 1, 4);
	assert_int_equal(st.received, 3);
	assert_int_equal(st.ssrc_changes, 0);
	assert_true(st.last_seen_ns >= st.first_seen_ns && st.first_seen_ns > 0);

	/* Before the restart, the same state gave what A.3 says: */
	memset(&ref, 0, sizeof(ref));
	for (i = 0; i < 13; i++)
		ref_update(&ref, seqs[i]);
	assert_int_equal(ref.cycles + ref.max_seq - ref.base_seq + 1, 13);	/* expected */
	assert_int_equal(ref.received, 13);	/* 11 distinct + 2 duplicates: lost 0 */

	/* A new SSRC restarts the sequence state. */
	send_rtp(100, 0x5678, 172);
	read_stats(&st);
	assert_int_equal(st.ssrc, 0x5678);
	assert_int_equal(st.ssrc_changes, 1);
	assert_int_equal(st.base_seq, 100);
	assert_int_equal(st.ext_max_seq, 100);
	assert_int_equal(st.received, 1);

	/* Too short for an RTP header: still forwarded, counted as an error. */
	send_rtp(101, 0x5678, 8);
	read_stats(&st);
	assert_int_equal(st.rtp_errors, 1);
	assert_int_equal(st.received, 1);
}

/* An update of the action keeps the statistics (a re-INVITE). */
static void test_update_keeps_stats(void **state)
{
	struct sluice_flow_stats before, after;

	(void)state;
	REQUIRE_SETUP();
	add_flows();
	send_rtp(500, 0x9999, 172);
	read_stats(&before);
	add_flows();
	read_stats(&after);
	assert_memory_equal(&before, &after, sizeof(before));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_computed_zero_checksum),
		cmocka_unit_test(test_rtp_statistics),
		cmocka_unit_test(test_update_keeps_stats),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
