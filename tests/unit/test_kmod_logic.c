// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel module's per-packet logic, compiled in userspace from the very
 * header the module includes (bpf/fwd.h, with csum.h and rtp_stats.h):
 * the rewrite of addresses, ports, TTL and DSCP with incremental checksums,
 * including the kernel's CHECKSUM_PARTIAL case that veth hands across
 * namespaces; RFC 7983 demultiplexing; RTP accounting of a forwarded
 * packet.
 *
 * The reference is tests/bpf/pkt.h: frames built byte by byte with full
 * RFC 1071 checksums that share no code with csum.h. A rewritten frame must
 * equal, byte for byte, the frame built directly with the new addresses,
 * ports, TTL and DSCP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../bpf/pkt.h"

/* csum.h's `#pragma unroll` is for clang's BPF target. */
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#include "../../bpf/fwd.h"

#define ETH_LEN 14

struct rw_case {
	const char	*name;
	int		family;
	const char	*src, *dst;		/* as received */
	uint16_t	sport, dport;
	const char	*new_src, *new_dst;	/* as sent */
	uint16_t	new_sport, new_dport;
	uint8_t		ttl;
	uint8_t		tos;			/* or traffic class */
	bool		dscp;			/* SLUICE_F_DSCP */
	uint8_t		dscp_val;
	bool		no_udp_csum;
	bool		zero_udp_csum_after;	/* steer the result's checksum to 0 */
	uint16_t	payload_len;
};

static const struct rw_case rw_cases[] = {
	{ "v4 plain", 4, "192.0.2.10", "198.51.100.1", 40000, 30000,
	  "203.0.113.1", "203.0.113.20", 30002, 50000, 64, 0, false, 0, false, false, 0 },
	{ "v4 ttl 2", 4, "192.0.2.10", "198.51.100.1", 40000, 30000,
	  "203.0.113.1", "203.0.113.20", 30002, 50000, 2, 0, false, 0, false, false, 0 },
	{ "v4 ttl 255", 4, "10.1.2.3", "10.255.0.1", 1, 65535,
	  "10.254.0.1", "10.9.8.7", 65535, 1, 255, 0, false, 0, false, false, 0 },
	{ "v4 dscp EF, ECN kept", 4, "192.0.2.10", "198.51.100.1", 40000, 30000,
	  "203.0.113.1", "203.0.113.20", 30002, 50000, 64, 0x03, true, 46, false, false, 0 },
	{ "v4 dscp 0 from AF41", 4, "192.0.2.10", "198.51.100.1", 40000, 30000,
	  "203.0.113.1", "203.0.113.20", 30002, 50000, 64, 0x88, true, 0, false, false, 0 },
	{ "v4 tos kept without flag", 4, "192.0.2.10", "198.51.100.1", 40000, 30000,
	  "203.0.113.1", "203.0.113.20", 30002, 50000, 64, 0xb8, false, 0, false, false, 0 },
	{ "v4 no UDP checksum stays 0", 4, "192.0.2.10", "198.51.100.1", 40000, 30000,
	  "203.0.113.1", "203.0.113.20", 30002, 50000, 64, 0, false, 0, true, false, 0 },
	{ "v4 computed 0 sent as ones", 4, "192.0.2.10", "198.51.100.1", 40000, 30000,
	  "203.0.113.1", "203.0.113.20", 30002, 50000, 64, 0, false, 0, false, true, 0 },
	{ "v4 odd payload", 4, "192.0.2.10", "198.51.100.1", 40000, 30000,
	  "203.0.113.1", "203.0.113.20", 30002, 50000, 64, 0, false, 0, false, false, 33 },
	{ "v4 same addresses, new ports", 4, "192.0.2.10", "198.51.100.1", 40000, 30000,
	  "198.51.100.1", "192.0.2.10", 30000, 40000, 64, 0, false, 0, false, false, 0 },
	{ "v6 plain", 6, "2001:db8::10", "2001:db8:1::1", 40000, 30000,
	  "2001:db8:2::1", "2001:db8:3::20", 30002, 50000, 64, 0, false, 0, false, false, 0 },
	{ "v6 hop limit 2", 6, "2001:db8::10", "2001:db8:1::1", 40000, 30000,
	  "2001:db8:2::1", "2001:db8:3::20", 30002, 50000, 2, 0, false, 0, false, false, 0 },
	{ "v6 dscp EF, ECN kept", 6, "2001:db8::10", "2001:db8:1::1", 40000, 30000,
	  "2001:db8:2::1", "2001:db8:3::20", 30002, 50000, 64, 0x01, true, 46, false, false, 0 },
	{ "v6 computed 0 sent as ones", 6, "2001:db8::10", "2001:db8:1::1", 40000, 30000,
	  "2001:db8:2::1", "2001:db8:3::20", 30002, 50000, 64, 0, false, 0, false, true, 0 },
	{ "v6 link-local to global", 6, "fe80::1", "fe80::2", 5004, 5004,
	  "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe", "::ffff:192.0.2.1", 5006, 5008, 64, 0,
	  false, 0, false, false, 101 },
};

static struct pkt_spec spec_in(const struct rw_case *c)
{
	struct pkt_spec s = {
		.family = c->family, .src = c->src, .dst = c->dst,
		.sport = c->sport, .dport = c->dport, .ttl = c->ttl, .tos = c->tos,
		.no_udp_csum = c->no_udp_csum, .payload_len = c->payload_len,
		.seq = 1000, .ts = 160000, .ssrc = 0x11223344,
	};
	return s;
}

static struct pkt_spec spec_out(const struct rw_case *c)
{
	struct pkt_spec s = spec_in(c);

	s.src = c->new_src;
	s.dst = c->new_dst;
	s.sport = c->new_sport;
	s.dport = c->new_dport;
	s.ttl = c->ttl - 1;
	if (c->dscp)
		s.tos = (uint8_t)(c->dscp_val << 2 | (c->tos & 3));
	return s;
}

static void action_for(const struct rw_case *c, struct sluice_flow_action *act)
{
	int af = c->family == 4 ? AF_INET : AF_INET6;

	memset(act, 0, sizeof(*act));
	act->family = (__u8)c->family;
	assert_int_equal(inet_pton(af, c->new_src, act->new_src_addr), 1);
	assert_int_equal(inet_pton(af, c->new_dst, act->new_dst_addr), 1);
	act->new_src_port = c->new_sport;
	act->new_dst_port = c->new_dport;
	act->flags = SLUICE_F_RTP | (c->dscp ? SLUICE_F_DSCP : 0);
	act->dscp = c->dscp_val;
}

/* The tail that makes the rewritten frame's checksum compute to zero. */
static void steer_tail(const struct rw_case *c, struct pkt_spec *in, struct pkt_spec *out)
{
	if (!c->zero_udp_csum_after)
		return;
	out->tail = pkt_tail_for_zero_udp_csum(*out);
	in->tail = out->tail;
}

/*
 * The rewrite on the frame's IP packet, moved to a 4-byte boundary as the
 * kernel's receive buffers hold it (NET_IP_ALIGN) and as the header structs
 * want it.
 */
static void rewrite(struct pkt *f, const struct sluice_flow_action *act, int family,
		    bool partial)
{
	static uint32_t aligned[PKT_MAX / 4];
	uint8_t *l3 = (uint8_t *)aligned;
	size_t len = f->len - ETH_LEN;

	memcpy(l3, f->b + ETH_LEN, len);
	if (family == 4)
		sluice_fwd_rewrite_ip4((struct iphdr *)l3, (struct udphdr *)(l3 + 20), act, partial);
	else
		sluice_fwd_rewrite_ip6((struct ipv6hdr *)l3, (struct udphdr *)(l3 + 40), act,
				       partial);
	memcpy(f->b + ETH_LEN, l3, len);
}

static void test_rewrite_matches_built_frame(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rw_cases) / sizeof(rw_cases[0]); i++) {
		const struct rw_case *c = &rw_cases[i];
		struct pkt_spec in = spec_in(c), out = spec_out(c);
		struct sluice_flow_action act;
		struct pkt got, want;
		const char *why;

		steer_tail(c, &in, &out);
		pkt_build(&in, &got);
		pkt_build(&out, &want);
		action_for(c, &act);
		rewrite(&got, &act, c->family, false);

		if (!pkt_checksums_ok(&got, &why))
			fail_msg("%s: %s wrong after the rewrite", c->name, why);
		if (got.len != want.len || memcmp(got.b, want.b, got.len)) {
			size_t j;

			for (j = 0; j < got.len && got.b[j] == want.b[j]; j++)
				;
			fail_msg("%s: first differing byte at %zu: %02x, want %02x", c->name, j,
				 got.b[j], want.b[j]);
		}
		if (c->zero_udp_csum_after)
			assert_int_equal(pkt_udp_check(&got), 0xffff);
		if (c->no_udp_csum)
			assert_int_equal(pkt_udp_check(&got), 0);
	}
}

/*
 * CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum and the
 * NIC (or skb_checksum_help) sums the datagram over it at transmit. After
 * the rewrite and that completion, the frame must be the one built
 * directly.
 */
static uint16_t pseudo_sum(const struct pkt *f)
{
	struct pkt_view v;

	pkt_parse(f, &v);
	if (v.family == 4)
		return pkt_fold(pkt_sum(0, v.l3 + 12, 8) + PKT_PROTO_UDP + (uint32_t)v.udp_len);
	return pkt_fold(pkt_sum(0, v.l3 + 8, 32) + PKT_PROTO_UDP + (uint32_t)v.udp_len);
}

static void complete_partial(struct pkt *f)
{
	struct pkt_view v;
	uint16_t c;

	pkt_parse(f, &v);
	c = (uint16_t)~pkt_fold(pkt_sum(0, v.udp, v.udp_len));
	pkt_put16((uint8_t *)v.udp + 6, c ? c : 0xffff);
}

static void test_rewrite_partial_checksum(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rw_cases) / sizeof(rw_cases[0]); i++) {
		const struct rw_case *c = &rw_cases[i];
		struct pkt_spec in = spec_in(c), out = spec_out(c);
		struct sluice_flow_action act;
		struct pkt got, want;
		struct pkt_view v;

		if (c->no_udp_csum)
			continue;	/* a partial checksum is never 0 */
		steer_tail(c, &in, &out);
		pkt_build(&in, &got);
		pkt_build(&out, &want);
		pkt_parse(&got, &v);
		pkt_put16((uint8_t *)v.udp + 6, pseudo_sum(&got));
		action_for(c, &act);
		rewrite(&got, &act, c->family, true);

		/* Before completion the field is the new pseudo-header sum... */
		if (pkt_udp_check(&got) != pseudo_sum(&want))
			fail_msg("%s: partial field %04x, want %04x", c->name,
				 pkt_udp_check(&got), pseudo_sum(&want));
		/* ...and completed it gives the right frame. */
		complete_partial(&got);
		if (got.len != want.len || memcmp(got.b, want.b, got.len))
			fail_msg("%s: completed frame differs", c->name);
	}
}

/* Every other field stays: the rewrite touches only what it must. */
static void test_rewrite_leaves_payload(void **state)
{
	const struct rw_case *c = &rw_cases[0];
	struct pkt_spec in = spec_in(c);
	struct sluice_flow_action act;
	struct pkt before, got;
	size_t hdr;

	(void)state;
	pkt_build(&in, &before);
	got = before;
	action_for(c, &act);
	rewrite(&got, &act, 4, false);
	hdr = ETH_LEN + 20 + 8;
	assert_memory_equal(got.b + hdr, before.b + hdr, before.len - hdr);
	assert_memory_equal(got.b, before.b, ETH_LEN);	/* the module leaves L2 to the stack */
	assert_int_equal(got.b[ETH_LEN + 9], PKT_PROTO_UDP);
}

static void test_payload_verdict(void **state)
{
	int b;

	(void)state;
	for (b = 0; b < 256; b++) {
		int want = b <= 3 ? SLUICE_V_PASS_STUN :
			   b >= 20 && b <= 63 ? SLUICE_V_PASS_DTLS : 0;

		assert_int_equal(sluice_fwd_payload_verdict((__u8)b), want);
	}
	/* RTP (version 2) is 128..191: forwarded. */
	assert_int_equal(sluice_fwd_payload_verdict(0x80), 0);
}

static struct sluice_rtp_hdr rtp_hdr(uint8_t vpxcc, uint8_t pt, uint16_t seq, uint32_t ts,
				     uint32_t ssrc)
{
	struct sluice_rtp_hdr h = {
		.vpxcc = vpxcc, .mpt = pt, .seq = htons(seq), .ts = htonl(ts), .ssrc = htonl(ssrc),
	};
	return h;
}

#define MS 1000000ull

/*
 * 50 packets of 20 ms G.711 (8 kHz, 160 ticks each) arriving on time: no
 * jitter, no loss. Then one 10 ms late: |D| = 80 ticks, J = 80/16, kept
 * as J * 16 = 80 (A.8).
 */
/*
 * RTCP muxed on a demultiplexing port goes by the key marked for it; RTP,
 * anything not version 2, and every packet of a flow without
 * SLUICE_F_DEMUX keep the port's key.
 */
static void test_demux(void **state)
{
	struct sluice_flow_action act = { .flags = SLUICE_F_RTP | SLUICE_F_DEMUX };
	struct sluice_flow_key key = { .port = 30000, .family = SLUICE_FAMILY_IPV4 };
	static const struct {
		uint8_t	b0, b1;
		bool	demux;
	} rows[] = {
		{ 0x80, 200, true },	/* SR */
		{ 0x81, 201, true },	/* RR with a report block */
		{ 0x80, 202, true },	/* SDES */
		{ 0x80, 203, true },	/* BYE */
		{ 0x80, 204, true },	/* APP */
		{ 0x80, 205, false },	/* RTPFB: PT 77, not in RFC 5761's 72-76 */
		{ 0x80, 199, false },	/* PT 71 */
		{ 0x80, 0, false },	/* PCMU */
		{ 0x80, 0x80 | 8, false },	/* PCMA, marker */
		{ 0x40, 200, false },	/* version 1 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sluice_flow_key k = key;

		assert_int_equal(sluice_fwd_demux(&act, &k, rows[i].b0, rows[i].b1),
				 rows[i].demux);
		assert_int_equal(k.comp, rows[i].demux ? SLUICE_KEY_MUXED_RTCP : SLUICE_KEY_PORT);
		assert_int_equal(k.port, 30000);
	}
	/* Without the flag, and on the RTCP flow itself: never again. */
	act.flags = SLUICE_F_RTP;
	assert_false(sluice_fwd_demux(&act, &key, 0x80, 200));
	act.flags = SLUICE_F_RTCP | SLUICE_F_DEMUX;
	key.comp = SLUICE_KEY_MUXED_RTCP;
	assert_false(sluice_fwd_demux(&act, &key, 0x80, 200));
	assert_int_equal(key.comp, SLUICE_KEY_MUXED_RTCP);
}

static void test_account_rtp_jitter(void **state)
{
	struct sluice_flow_action act = { .family = 4, .flags = SLUICE_F_RTP, .clock_rate = 8000 };
	struct sluice_flow_stats st = { 0 };
	__u64 t0 = 5000 * MS;
	int i;

	(void)state;
	for (i = 0; i < 50; i++) {
		struct sluice_rtp_hdr h = rtp_hdr(0x80, 0, (uint16_t)(100 + i), 8000u + 160u * i,
						  0xabcdef01);

		assert_true(sluice_fwd_account_rtp(&st, &h, &act, t0 + (__u64)i * 20 * MS));
	}
	assert_int_equal(st.ssrc, 0xabcdef01);
	assert_int_equal(st.received, 50);
	assert_int_equal(st.ext_max_seq, 149);
	assert_int_equal(sluice_rtp_expected(&st), 50);
	assert_int_equal(sluice_rtp_lost(&st), 0);
	assert_int_equal(st.jitter, 0);

	{
		struct sluice_rtp_hdr h = rtp_hdr(0x80, 0, 150, 8000u + 160u * 50, 0xabcdef01);

		assert_true(sluice_fwd_account_rtp(&st, &h, &act, t0 + 50 * 20 * MS + 10 * MS));
	}
	assert_int_equal(st.jitter, 80);
	assert_int_equal(st.received, 51);
}

/* A gap counts as loss; RTCP multiplexed on the port and non-RTP do not count. */
static void test_account_rtp_loss_mux_errors(void **state)
{
	struct sluice_flow_action act = { .family = 6, .flags = SLUICE_F_RTP };
	struct sluice_flow_stats st = { 0 };
	struct sluice_rtp_hdr h;

	(void)state;
	h = rtp_hdr(0x80, 8, 65534, 1, 7);
	assert_true(sluice_fwd_account_rtp(&st, &h, &act, 1));
	h = rtp_hdr(0x80, 8, 2, 2, 7);	/* wraps; 65535, 0 and 1 lost */
	assert_true(sluice_fwd_account_rtp(&st, &h, &act, 2));
	assert_int_equal(st.ext_max_seq, 65536 + 2);
	assert_int_equal(sluice_rtp_lost(&st), 3);

	h = rtp_hdr(0x80, 0x80 | 72, 999, 3, 7);	/* RTCP SR on an rtcp-mux port, marker set */
	assert_true(sluice_fwd_account_rtp(&st, &h, &act, 3));
	h = rtp_hdr(0x80, 76, 999, 3, 7);
	assert_true(sluice_fwd_account_rtp(&st, &h, &act, 3));
	assert_int_equal(st.received, 2);

	h = rtp_hdr(0x40, 0, 3, 3, 7);	/* version 1 */
	assert_false(sluice_fwd_account_rtp(&st, &h, &act, 4));
	assert_int_equal(st.received, 2);

	/* No clock rate: the arrival is the timestamp, jitter stays 0. */
	assert_int_equal(st.jitter, 0);
}

/* A new SSRC restarts the sequence and counts as a change. */
static void test_account_rtp_ssrc_change(void **state)
{
	struct sluice_flow_action act = { .family = 4, .flags = SLUICE_F_RTP, .clock_rate = 48000 };
	struct sluice_flow_stats st = { 0 };
	struct sluice_rtp_hdr h;

	(void)state;
	h = rtp_hdr(0x80, 111, 10, 0, 1);
	sluice_fwd_account_rtp(&st, &h, &act, 1000 * MS);
	h = rtp_hdr(0x80, 111, 11, 960, 1);
	sluice_fwd_account_rtp(&st, &h, &act, 1020 * MS);
	h = rtp_hdr(0x80, 111, 40000, 123456, 2);
	sluice_fwd_account_rtp(&st, &h, &act, 1040 * MS);
	assert_int_equal(st.ssrc, 2);
	assert_int_equal(st.ssrc_changes, 1);
	assert_int_equal(st.received, 1);
	assert_int_equal(st.base_seq, 40000);
	assert_int_equal(st.jitter, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite_matches_built_frame),
		cmocka_unit_test(test_rewrite_partial_checksum),
		cmocka_unit_test(test_rewrite_leaves_payload),
		cmocka_unit_test(test_payload_verdict),
		cmocka_unit_test(test_demux),
		cmocka_unit_test(test_account_rtp_jitter),
		cmocka_unit_test(test_account_rtp_loss_mux_errors),
		cmocka_unit_test(test_account_rtp_ssrc_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
