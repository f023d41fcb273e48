// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP program without an interface: bpf_prog_test_run_opts() over a
 * table of frames in, each with the XDP action, the verdict reason counted
 * and the frame out that it must produce, then sweeps (a frame cut at every
 * byte of its headers, RTP payloads too short for an RTP header) and RTP
 * statistics after sequences with loss, duplicates, reordering, a sequence
 * wrap, a restart and SSRC changes, checked against RFC 3550's algorithm.
 *
 * The rows are in tests/bpf/xdp_cases.h. The test moves itself into a
 * private network namespace and builds the FIB the program asks
 * (tests/bpf/netns.h). A forwarded frame is compared
 * byte for byte with one built from scratch by tests/bpf/pkt.h, whose
 * checksums are full RFC 1071 sums, and its checksums are verified once
 * more from its own bytes; a passed frame must come out as it went in.
 * After every frame the test reads back every verdict counter (the reason
 * and SLUICE_V_RX once each, nothing else) and the flow's statistics
 * (moved by a forward as the frame says, untouched by a pass).
 */
#include <arpa/inet.h>
#include <errno.h>
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

/* Table rows and fixtures leave the fields they do not need zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "sluice.skel.h"
#include "netns.h"
#include "pkt.h"
#include "rfc3550.h"
#include "xdp_cases.h"

static struct sluice *skel;
static struct tnet net;
static int ncpus;
static const char *skip_reason;
static int load_err;	/* the program failed to load where BPF works */

/* ------------------------------------------------------------ the flows */

static void parse_endpoint(const char *ep, int *family, uint8_t *addr, uint16_t *port)
{
	const char *colon = strrchr(ep, ':');
	char host[64];
	size_t n;

	assert_non_null(colon);
	*family = ep[0] == '[' ? 6 : 4;
	n = (size_t)(colon - ep) - (*family == 6 ? 2 : 0);
	assert_true(n < sizeof(host));
	memcpy(host, ep + (*family == 6), n);
	host[n] = 0;
	assert_int_equal(inet_pton(*family == 6 ? AF_INET6 : AF_INET, host, addr), 1);
	*port = (uint16_t)atoi(colon + 1);
}

/* The action replaced, the counters kept, the egress cleared: as the agent puts a flow. */
static void flow_put(const struct sluice_flow_key *key, const struct sluice_flow_action *act)
{
	struct sluice_xdp_flow f;

	if (bpf_map__lookup_elem(skel->maps.flows, key, sizeof(*key), &f, sizeof(f), 0))
		memset(&f, 0, sizeof(f));
	f.action = *act;
	memset(&f.egress, 0, sizeof(f.egress));
	assert_int_equal(bpf_map__update_elem(skel->maps.flows, key, sizeof(*key), &f, sizeof(f),
					      BPF_ANY), 0);
}

static void flow_install(const struct flow_def *d)
{
	struct sluice_flow_key key = { 0 };
	struct sluice_flow_action act = { 0 };
	int fam;

	parse_endpoint(d->local, &fam, key.addr, &key.port);
	key.family = (uint8_t)fam;
	key.comp = d->key_comp;
	parse_endpoint(d->peer, &fam, act.expect_src_addr, &act.expect_src_port);
	parse_endpoint(d->relay, &fam, act.new_src_addr, &act.new_src_port);
	parse_endpoint(d->dest, &fam, act.new_dst_addr, &act.new_dst_port);
	act.family = d->action_family ? d->action_family : key.family;
	act.flags = d->flags;
	act.dscp = d->dscp;
	act.clock_rate = d->no_clock ? 0 : 8000;
	act.stream_id = key.port;
	flow_put(&key, &act);
}

/* ------------------------------------------------------------- set-up */

static int group_setup(void **state)
{
	struct bpf_map *map;
	__u32 ifx[3];
	size_t i;

	(void)state;
	if (geteuid() != 0) {
		skip_reason = "needs root (BPF_PROG_TEST_RUN, network namespaces)";
		return 0;
	}
	if (tnet_build(&net, &skip_reason))
		return 0;
	/* Only a kernel without XDP is a reason to skip; a program that the
	 * verifier rejects is a failure. */
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) != 1) {
		skip_reason = "this kernel cannot load XDP programs";
		return 0;
	}
	skel = sluice__open();
	if (!skel) {
		load_err = -errno;
		return 0;
	}
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	load_err = sluice__load(skel);
	if (load_err) {
		sluice__destroy(skel);
		skel = NULL;
		return 0;
	}
	ncpus = libbpf_num_possible_cpus();
	/* The interfaces "we are attached to": a0, b0, e0; not c0 nor d0. */
	ifx[0] = (__u32)net.a;
	ifx[1] = (__u32)net.b;
	ifx[2] = (__u32)net.e;
	for (i = 0; i < 3 && !load_err; i++)
		load_err = bpf_map__update_elem(skel->maps.tx_ports, &ifx[i], 4, &ifx[i], 4,
						BPF_ANY);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sluice__destroy(skel);
	return 0;
}

/* Every test starts here: skips with the reason, or installs the flows. */
static void need_program(void)
{
	size_t i;

	if (skip_reason) {
		print_message("[  SKIP    ] %s\n", skip_reason);
		skip();
	}
	if (load_err)
		fail_msg("bpf/sluice.bpf.o does not load: %d (%s)", load_err,
			 strerror(-load_err));
	for (i = 0; i < sizeof(flow_defs) / sizeof(flow_defs[0]); i++)
		flow_install(&flow_defs[i]);
}

/* ------------------------------------------------- running and reading */

static int run(const struct pkt *in, int ifindex, struct pkt *out)
{
	struct xdp_md ctx = { .data_end = (__u32)in->len, .ingress_ifindex = (__u32)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = in->b, .data_size_in = (__u32)in->len,
		    .data_out = out->b, .data_size_out = sizeof(out->b),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	memset(out, 0, sizeof(*out));
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sluice_xdp), &opts), 0);
	out->len = opts.data_size_out;
	return (int)opts.retval;
}

/* The verdict counters summed over CPUs. */
static void verdicts_read(struct sluice_verdict sum[SLUICE_V_MAX])
{
	struct sluice_verdict *v = calloc((size_t)ncpus, sizeof(*v));
	__u32 r;
	int c;

	assert_non_null(v);
	for (r = 0; r < SLUICE_V_MAX; r++) {
		assert_int_equal(bpf_map__lookup_elem(skel->maps.verdicts, &r, sizeof(r), v,
						      sizeof(*v) * (size_t)ncpus, 0), 0);
		sum[r].packets = sum[r].bytes = 0;
		for (c = 0; c < ncpus; c++) {
			sum[r].packets += v[c].packets;
			sum[r].bytes += v[c].bytes;
		}
	}
	free(v);
}

static const char *const verdict_names[] = SLUICE_VERDICT_NAMES;

/* Exactly SLUICE_V_RX and `reason` moved, by one frame of `bytes`. */
static void verdicts_expect(const struct sluice_verdict before[SLUICE_V_MAX], int reason,
			    size_t bytes)
{
	struct sluice_verdict after[SLUICE_V_MAX];
	int r;

	verdicts_read(after);
	for (r = 0; r < SLUICE_V_MAX; r++) {
		uint64_t want = r == SLUICE_V_RX || r == reason;

		if (after[r].packets - before[r].packets != want)
			print_message("verdict %s moved by %llu, want %llu\n", verdict_names[r],
				      (unsigned long long)(after[r].packets - before[r].packets),
				      (unsigned long long)want);
		assert_int_equal(after[r].packets - before[r].packets, want);
		assert_int_equal(after[r].bytes - before[r].bytes, want * bytes);
	}
}

struct stats_snap {
	bool			present;
	struct sluice_flow_stats st;
};

static void flow_key_of(const struct pkt_spec *s, struct sluice_flow_key *key)
{
	memset(key, 0, sizeof(*key));
	if (s->dst)
		inet_pton(s->family == 6 ? AF_INET6 : AF_INET, s->dst, key->addr);
	key->port = s->dport;
	key->family = s->family == 6 ? SLUICE_FAMILY_IPV6 : SLUICE_FAMILY_IPV4;
}

/* The flow's statistics; present: it has a flow. */
static void stats_read(const struct sluice_flow_key *key, struct stats_snap *snap)
{
	struct sluice_xdp_flow f;
	int err = bpf_map__lookup_elem(skel->maps.flows, key, sizeof(*key), &f, sizeof(f), 0);

	snap->present = !err;
	memset(&snap->st, 0, sizeof(snap->st));
	if (err) {
		assert_int_equal(err, -ENOENT);
		return;
	}
	snap->st = f.stats;
}

/* Zeroes the flow's statistics, as a fresh flow has them. */
static void stats_forget(const struct sluice_flow_key *key)
{
	struct sluice_xdp_flow f;

	if (bpf_map__lookup_elem(skel->maps.flows, key, sizeof(*key), &f, sizeof(f), 0))
		return;
	memset(&f.stats, 0, sizeof(f.stats));
	bpf_map__update_elem(skel->maps.flows, key, sizeof(*key), &f, sizeof(f), BPF_ANY);
}


/* The expected output: the input with the rewrite applied, built from scratch. */
static void expected_frame(const struct pkt_spec *in, const struct rewrite *rw,
			   struct pkt *want)
{
	struct pkt_spec s = *in;

	s.smac = rw->smac;
	s.dmac = rw->dmac;
	s.src = rw->src;
	s.dst = rw->dst;
	s.sport = rw->sport;
	s.dport = rw->dport;
	s.ttl = rw->ttl;
	if (rw->set_tos)
		s.tos = rw->tos;
	pkt_build(&s, want);
}

/* Steers the tail word or IP id so that the case's checksum edge happens. */
static void apply_tune(const struct xcase *c, struct pkt_spec *in)
{
	struct pkt_spec out = *in;
	struct pkt f;

	out.src = c->out.src;
	out.dst = c->out.dst;
	out.sport = c->out.sport;
	out.dport = c->out.dport;
	out.ttl = c->out.ttl;
	switch (c->tune) {
	case TUNE_NONE:
		return;
	case TUNE_OUT_UDP_ZERO:
		in->tail = pkt_tail_for_zero_udp_csum(out);
		expected_frame(in, &c->out, &f);
		assert_int_equal(pkt_udp_check(&f), 0xffff);
		break;
	case TUNE_IN_UDP_ZERO:
		in->tail = pkt_tail_for_zero_udp_csum(*in);
		pkt_build(in, &f);
		assert_int_equal(pkt_udp_check(&f), 0xffff);
		break;
	case TUNE_OUT_IP_ZERO:
		in->ip_id = pkt_id_for_zero_ip_csum(out);
		expected_frame(in, &c->out, &f);
		assert_int_equal(pkt_ip_check(&f), 0);
		break;
	}
	/* An edge on one side only: the other side's checksum is ordinary. */
	if (c->tune == TUNE_OUT_UDP_ZERO) {
		pkt_build(in, &f);
		assert_int_not_equal(pkt_udp_check(&f), 0xffff);
	} else if (c->tune == TUNE_IN_UDP_ZERO) {
		expected_frame(in, &c->out, &f);
		assert_int_not_equal(pkt_udp_check(&f), 0xffff);
	} else {
		pkt_build(in, &f);
		assert_int_not_equal(pkt_ip_check(&f), 0);
	}
}

static void check_forwarded(const struct xcase *c, const struct pkt_spec *in,
			    const struct pkt *out)
{
	const char *why;
	struct pkt want;

	expected_frame(in, &c->out, &want);
	if (!pkt_checksums_ok(out, &why))
		print_message("%s: bad %s in the output\n", c->name, why);
	assert_true(pkt_checksums_ok(out, &why));
	assert_int_equal(out->len, want.len);
	assert_memory_equal(out->b, want.b, want.len);
}

static void check_stats(const struct xcase *c, const struct stats_snap *before,
			const struct stats_snap *after, size_t payload)
{
	if (c->action == XDP_PASS) {
		/* A pass touches nothing, not even last_seen. */
		assert_int_equal(after->present, before->present);
		assert_memory_equal(&after->st, &before->st, sizeof(after->st));
		return;
	}
	assert_true(after->present);
	assert_int_equal(after->st.packets, before->st.packets + 1);
	assert_int_equal(after->st.bytes, before->st.bytes + payload);
	assert_true(after->st.last_seen_ns >= before->st.last_seen_ns);
	assert_true(after->st.first_seen_ns > 0);
	assert_int_equal(after->st.rtp_errors, before->st.rtp_errors + c->rtp_error);
	if (c->rtp_error && before->present) {
		/* Not RTP: the sequence state stays as it was. */
		assert_int_equal(after->st.received, before->st.received);
		assert_int_equal(after->st.ext_max_seq, before->st.ext_max_seq);
		assert_int_equal(after->st.ssrc, before->st.ssrc);
	}
}

static void run_case(const struct xcase *c)
{
	struct sluice_verdict before_v[SLUICE_V_MAX];
	struct stats_snap before_s, after_s;
	struct sluice_flow_key key;
	struct pkt_spec in = c->in;
	struct pkt frame, out;
	int act;

	apply_tune(c, &in);
	pkt_build(&in, &frame);
	if (c->cut)
		frame.len = c->cut;
	flow_key_of(&in, &key);
	key.comp = c->key_comp;
	verdicts_read(before_v);
	stats_read(&key, &before_s);

	act = run(&frame, c->ingress == IN_C ? net.c : net.a, &out);
	if (act != c->action)
		print_message("%s: action %d, want %d\n", c->name, act, c->action);
	assert_int_equal(act, c->action);
	verdicts_expect(before_v, c->reason, frame.len);
	stats_read(&key, &after_s);
	check_stats(c, &before_s, &after_s, pkt_payload_len(&in));
	if (c->action == XDP_PASS) {
		assert_int_equal(out.len, frame.len);
		assert_memory_equal(out.b, frame.b, frame.len);
	} else {
		check_forwarded(c, &in, &out);
	}
}

static void test_table(void **state)
{
	size_t i;

	(void)state;
	need_program();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("  %s\n", cases[i].name);
		run_case(&cases[i]);
	}
	print_message("  %zu cases\n", sizeof(cases) / sizeof(cases[0]));
}

/*
 * A frame cut at every length from the bare Ethernet header (the shortest
 * BPF_PROG_TEST_RUN accepts) to the end of its UDP header, where even the
 * payload's first byte is missing: passed untouched. A frame cut inside
 * IPv4 options is passed for its options, which the program does not read.
 */
static void test_truncated_everywhere(void **state)
{
	static const struct xcase shapes[] = {
		{ "IPv4", IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(60)) },
		{ "IPv4, VLAN", IN4(FROM_CALLER4, .vlans = 1, .sport = 40010, .dport = 30010) },
		{ "IPv4, options", IN4(FROM_CALLER4, .ihl = 7, .sport = 40000, .dport = 30000) },
		{ "IPv6", IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, RTP(61)) },
		{ "IPv6, VLAN", IN6(FROM_CALLER6, .vlans = 1, .sport = 40010, .dport = 30010) },
	};
	size_t i, cut, n = 0;

	(void)state;
	need_program();
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		size_t end = pkt_headers_len(&shapes[i].in);
		size_t ip4_fixed = 14 + 4u * (size_t)shapes[i].in.vlans + 20;

		for (cut = 14; cut <= end; cut++, n++) {
			struct xcase c = shapes[i];

			c.action = XDP_PASS;
			c.reason = SLUICE_V_PASS_TRUNCATED;
			if (c.in.ihl > 5 && cut >= ip4_fixed)
				c.reason = SLUICE_V_PASS_IP_OPTIONS;
			c.cut = cut;
			run_case(&c);
		}
	}
	print_message("  %zu truncated frames\n", n);
}

/*
 * RTP payloads of 1 to 11 bytes on an RTP flow: forwarded (the flow is the
 * peer's), counted as RTP errors; 12 bytes is a whole RTP header.
 */
static void test_short_rtp_payload(void **state)
{
	struct xcase c4 = {
		"IPv4 short RTP", IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(70)),
		FWD, TO_CALLEE4(30002, 50000),
	};
	struct xcase c6 = {
		"IPv6 short RTP", IN6(FROM_CALLER6, .sport = 40000, .dport = 30000, RTP(70)),
		FWD, TO_CALLEE6(30002, 50000),
	};
	uint16_t len;

	(void)state;
	need_program();
	for (len = 1; len <= PKT_RTP_HDR; len++) {
		c4.in.payload_len = c6.in.payload_len = len;
		c4.rtp_error = c6.rtp_error = len < PKT_RTP_HDR;
		run_case(&c4);
		run_case(&c6);
	}
}

/* ---------------------------------------------------------- statistics */

enum step_kind { STEP_RTP, STEP_RTCP_MUX, STEP_SHORT, STEP_BAD_VERSION };

/* One packet of a sequence; pin_* are hand-worked A.1/A.3 values, if set. */
struct rtp_step {
	enum step_kind	kind;
	uint32_t	ssrc;
	uint16_t	seq;
	uint16_t	len;		/* UDP payload; 172 when 0 */
	bool		pin;
	uint32_t	pin_base, pin_ext_max, pin_received;
	int32_t		pin_lost;
};

#define SSRC_A	0xa11ce000
#define SSRC_B	0xb0b00000
#define STEP(s, q, ...)	{ STEP_RTP, (s), (q), __VA_ARGS__ }
#define PIN(b, x, r, l)	.pin = true, .pin_base = (b), .pin_ext_max = (x), \
			.pin_received = (r), .pin_lost = (l)

static const struct rtp_step steps[] = {
	STEP(SSRC_A, 65530), STEP(SSRC_A, 65531),
	STEP(SSRC_A, 65533, .len = 32),			/* 65532 lost */
	STEP(SSRC_A, 65534), STEP(SSRC_A, 65534),	/* duplicate */
	STEP(SSRC_A, 65535), STEP(SSRC_A, 0),		/* the wrap */
	STEP(SSRC_A, 2), STEP(SSRC_A, 1),		/* reordered */
	STEP(SSRC_A, 5, .len = 1000),			/* 3, 4 lost */
	STEP(SSRC_A, 5),				/* duplicate */
	STEP(SSRC_A, 6, PIN(65530, 65536 + 6, 12, 1)),
	STEP(SSRC_A, 65529, PIN(65530, 65536 + 6, 13, 0)), /* late, from before base */
	STEP(SSRC_A, 40000, PIN(65530, 65536 + 6, 13, 0)), /* a jump, seen once */
	STEP(SSRC_A, 7, PIN(65530, 65536 + 7, 14, 0)),
	STEP(SSRC_A, 20000, PIN(65530, 65536 + 7, 14, 0)), /* a jump ... */
	STEP(SSRC_A, 20001, PIN(20001, 20001, 1, 0)),	/* ... continued: a restart */
	STEP(SSRC_A, 20002), STEP(SSRC_A, 20004, PIN(20001, 20004, 3, 1)),
	STEP(SSRC_B, 100, PIN(100, 100, 1, 0)),		/* a new source */
	{ STEP_RTCP_MUX, SSRC_B, 0, 52 },
	{ STEP_SHORT, SSRC_B, 101, 8 },
	{ STEP_BAD_VERSION, SSRC_B, 101 },
	STEP(SSRC_B, 101, PIN(100, 101, 2, 0)),
	STEP(SSRC_B, 3101, PIN(100, 101, 2, 0)),	/* 3000 ahead: a jump */
	STEP(SSRC_B, 3100, PIN(100, 3100, 3, 2998)),	/* 2999 ahead: in order */
	STEP(SSRC_B, 3001, PIN(100, 3100, 4, 2997)),	/* 99 behind: reordered */
	STEP(SSRC_B, 3000, PIN(100, 3100, 4, 2997)),	/* 100 behind: a jump */
	STEP(SSRC_A, 9, PIN(9, 9, 1, 0)),		/* the first source is back */
};

static void send_step(int family, uint16_t local_port, const struct rtp_step *st)
{
	struct pkt_spec s = {
		.family = family, .sport = (uint16_t)(local_port + 10000), .dport = local_port,
		.seq = st->seq, .ts = 160u * st->seq, .ssrc = st->ssrc,
		.payload_len = st->len,
	};
	struct pkt in, out;

	s.src = family == 4 ? "10.1.0.2" : "fd01::2";
	s.dst = family == 4 ? "10.1.0.1" : "fd01::1";
	if (st->kind == STEP_RTCP_MUX)
		s.rtp_pt = 72;	/* RFC 5761: PT 200 on the RTP port */
	if (st->kind == STEP_BAD_VERSION)
		s.byte0 = PKT_BYTE0(0x40);
	pkt_build(&s, &in);
	assert_int_equal(run(&in, net.a, &out), XDP_REDIRECT);
}

static void check_step(const struct sluice_flow_stats *st, const struct rfc3550_source *ref,
		       const struct rtp_step *step, bool no_clock)
{
	uint32_t expected = st->ext_max_seq - st->base_seq + 1;

	assert_int_equal(st->ssrc, ref->ssrc);
	assert_int_equal(st->ext_max_seq, rfc3550_ext_max(ref));
	assert_int_equal(st->base_seq, ref->base_seq);
	assert_int_equal(st->bad_seq, ref->bad_seq);
	assert_int_equal(st->received, ref->received);
	assert_int_equal(expected, rfc3550_expected(ref));
	assert_int_equal((int64_t)expected - st->received, rfc3550_lost(ref));
	assert_int_equal(st->ssrc_changes, ref->ssrc_changes);
	if (no_clock) {
		/* Arrival is the packet's own timestamp: no jitter at all. */
		assert_int_equal(st->jitter, 0);
		assert_int_equal(st->transit, 0);
	}
	if (!step->pin)
		return;
	assert_int_equal(st->base_seq, step->pin_base);
	assert_int_equal(st->ext_max_seq, step->pin_ext_max);
	assert_int_equal(st->received, step->pin_received);
	assert_int_equal((int64_t)expected - st->received, step->pin_lost);
}

/* The sequence above on one flow, compared with RFC 3550 after every packet. */
static void run_sequence(int family, uint16_t port, bool no_clock)
{
	struct sluice_flow_key key = { .port = port };
	struct rfc3550_source ref = { 0 };
	struct stats_snap snap;
	uint64_t bytes = 0, errors = 0, last = 0;
	size_t i, n = sizeof(steps) / sizeof(steps[0]);

	key.family = family == 4 ? SLUICE_FAMILY_IPV4 : SLUICE_FAMILY_IPV6;
	inet_pton(family == 4 ? AF_INET : AF_INET6, family == 4 ? "10.1.0.1" : "fd01::1",
		  key.addr);
	stats_forget(&key);
	for (i = 0; i < n; i++) {
		const struct rtp_step *st = &steps[i];

		send_step(family, port, st);
		bytes += st->len ? st->len : PKT_DEFAULT_PAYLOAD;
		if (st->kind == STEP_SHORT || st->kind == STEP_BAD_VERSION)
			errors++;
		if (st->kind == STEP_RTP)
			rfc3550_receive(&ref, st->ssrc, st->seq, 160u * st->seq, 160u * st->seq);
		stats_read(&key, &snap);
		assert_true(snap.present);
		check_step(&snap.st, &ref, st, no_clock);
		assert_int_equal(snap.st.packets, i + 1);
		assert_int_equal(snap.st.bytes, bytes);
		assert_int_equal(snap.st.rtp_errors, errors);
		assert_true(snap.st.first_seen_ns > 0);
		assert_true(snap.st.last_seen_ns >= snap.st.first_seen_ns);
		assert_true(snap.st.last_seen_ns >= last);
		last = snap.st.last_seen_ns;
	}
	assert_int_equal(snap.st.ssrc_changes, 2);
}

static void test_rtp_statistics(void **state)
{
	(void)state;
	need_program();
	run_sequence(4, 30100, false);
	run_sequence(6, 30100, false);
	run_sequence(4, 30110, true);
}

/*
 * A second program, loaded with other read-only settings, with the same
 * flows: for the tests of what the loader chooses. The caller destroys it.
 */
static struct sluice *load_variant(__u32 veth_if, __u32 jitter_mask)
{
	__u32 ifx[3] = { (__u32)net.a, (__u32)net.b, (__u32)net.e };
	struct sluice *plain = skel;
	struct bpf_map *map;
	size_t i;

	skel = sluice__open();
	assert_non_null(skel);
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	skel->rodata->sluice_veth_ifs[0] = veth_if;
	skel->rodata->sluice_jitter_mask = jitter_mask;
	assert_int_equal(sluice__load(skel), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(bpf_map__update_elem(skel->maps.tx_ports, &ifx[i], 4, &ifx[i],
						      4, BPF_ANY), 0);
	for (i = 0; i < sizeof(flow_defs) / sizeof(flow_defs[0]); i++)
		flow_install(&flow_defs[i]);
	return plain;
}

/*
 * Jitter's sampling in the program ([media] jitter_sampling): with 1 in 8,
 * only the pairs (8k, 8k + 1) read the clock: the relative transit and
 * the last seen time move at those and nowhere else, and the jitter only
 * at the second of each; with every packet, they move at each (the test's
 * frames carry timestamps 20 ms apart, sent microseconds apart).
 */
static void run_jitter_sampling(__u32 mask)
{
	struct sluice_flow_key key = { .port = 30100, .family = SLUICE_FAMILY_IPV4 };
	struct stats_snap before, after;
	uint16_t seq;

	inet_pton(AF_INET, "10.1.0.1", key.addr);
	stats_forget(&key);
	for (seq = 0; seq < 26; seq++) {
		struct rtp_step st = STEP(SSRC_A, seq);
		bool pair = mask ? (seq & mask) == 1 : seq > 0;
		bool first = mask ? !(seq & mask) : true;

		stats_read(&key, &before);
		send_step(4, 30100, &st);
		stats_read(&key, &after);
		assert_int_equal(after.st.received, seq + 1);
		if (seq == 0)
			continue;
		if (first || pair)
			assert_int_not_equal(after.st.transit, before.st.transit);
		else
			assert_int_equal(after.st.transit, before.st.transit);
		/* Last seen moves with the clock's reads, and only then. */
		if (first || pair)
			assert_true(after.st.last_seen_ns > before.st.last_seen_ns);
		else
			assert_true(after.st.last_seen_ns == before.st.last_seen_ns);
		assert_true(after.st.first_seen_ns > 0);
		if (pair)
			assert_int_not_equal(after.st.jitter, before.st.jitter);
		else
			assert_int_equal(after.st.jitter, before.st.jitter);
	}
}

static void test_jitter_sampling(void **state)
{
	struct sluice *plain;

	(void)state;
	need_program();
	run_jitter_sampling(0);		/* the unit tests' program: every packet */
	plain = load_variant(0, 7);
	run_jitter_sampling(7);
	sluice__destroy(skel);
	skel = plain;
}

/* Replacing a flow's action (a re-INVITE) keeps its statistics. */
static void test_update_keeps_stats(void **state)
{
	static const struct flow_def moved = {
		"10.1.0.1:30100", "10.1.0.2:40100", "10.2.0.1:30104", "10.2.0.2:50104",
		RTP_STRICT,
	};
	struct xcase c = {
		"after the update", IN4(FROM_CALLER4, .sport = 40100, .dport = 30100, RTP(501)),
		FWD, TO_CALLEE4(30104, 50104),
	};
	struct sluice_flow_key key;
	struct stats_snap before, after;
	struct rtp_step st = STEP(0x9999, 500);

	(void)state;
	need_program();
	flow_key_of(&c.in, &key);
	stats_forget(&key);
	send_step(4, 30100, &st);
	stats_read(&key, &before);
	assert_true(before.present);
	flow_install(&moved);
	stats_read(&key, &after);
	assert_true(after.present);
	assert_memory_equal(&before.st, &after.st, sizeof(before.st));
	c.in.ssrc = 0x9999;
	run_case(&c);
	stats_read(&key, &after);
	assert_int_equal(after.st.packets, before.st.packets + 1);
	assert_int_equal(after.st.received, before.st.received + 1);
	assert_int_equal(after.st.ext_max_seq, 501);
}

/*
 * A sender in another namespace of the host, over a veth with checksum
 * offload, leaves the UDP checksum to a NIC that never comes: the field
 * holds the folded pseudo-header sum (CHECKSUM_PARTIAL). Native mode sends
 * the frame as it is, so the program finishes the checksum: the output is
 * the frame a sender with a full checksum would have produced. Generic
 * mode keeps the skb partial, to be finished on the way out: the output
 * holds the pseudo-header sum of the new addresses. Payload lengths odd and
 * even, IPv4 and IPv6.
 */
static void run_partial(int family, uint16_t len, bool native)
{
	struct xcase c = {
		"partial", { .family = family, .sport = 40000, .dport = 30000, RTP(90),
			     .partial_udp_csum = true, .payload_len = len },
		FWD, TO_CALLEE4(30002, 50000),
	};
	struct pkt_spec want_spec;
	struct pkt frame, out, want;

	if (family == 6) {
		struct rewrite r6 = TO_CALLEE6(30002, 50000);

		c.in.src = "fd01::2";
		c.in.dst = "fd01::1";
		c.out = r6;
	} else {
		c.in.src = "10.1.0.2";
		c.in.dst = "10.1.0.1";
	}
	skel->bss->sluice_native_mode = native;
	pkt_build(&c.in, &frame);
	assert_int_equal(run(&frame, net.a, &out), XDP_REDIRECT);
	want_spec = c.in;
	want_spec.partial_udp_csum = !native;
	expected_frame(&want_spec, &c.out, &want);
	if (out.len != want.len || memcmp(out.b, want.b, want.len))
		print_message("IPv%d, %u-byte payload, %s: output differs\n", family, len,
			      native ? "native" : "generic");
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.b, want.b, want.len);
}

/*
 * A full checksum that happens to equal the pseudo-header sum (one frame in
 * 65536) is a checksum all the same: native mode updates it as any other.
 */
static void run_checksum_by_chance(void)
{
	struct xcase c = {
		"a checksum equal to the pseudo-header sum",
		IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(91)),
		FWD, TO_CALLEE4(30002, 50000),
	};
	struct pkt frame, partial;
	uint32_t tail;

	c.in.partial_udp_csum = true;
	pkt_build(&c.in, &partial);
	c.in.partial_udp_csum = false;
	for (tail = 0; tail <= 0xffff; tail++) {
		c.in.tail = (uint16_t)tail;
		pkt_build(&c.in, &frame);
		if (pkt_udp_check(&frame) == pkt_udp_check(&partial))
			break;
	}
	assert_true(tail <= 0xffff);
	skel->bss->sluice_native_mode = 1;
	run_case(&c);
}

static void test_partial_checksum(void **state)
{
	uint16_t len;

	(void)state;
	need_program();
	run_checksum_by_chance();
	for (len = 12; len <= 1400; len += len < 200 ? 1 : 97) {
		run_partial(4, len, true);
		run_partial(6, len, true);
		run_partial(4, len, false);
		run_partial(6, len, false);
	}
	skel->bss->sluice_native_mode = 0;
}

/*
 * Back out of the interface a frame came in on, when that is a veth: a
 * redirect to itself (the veth driver delivers XDP_TX only to a peer that
 * runs XDP itself), counted as a TX; VLAN tags kept as XDP_TX keeps them.
 * A program loaded with a0 in its veth list.
 */
static void test_veth_back_out(void **state)
{
	static const struct xcase back[] = {
		{ "IPv4 back out of a veth: redirected to itself",
		  IN4(FROM_CALLER4, .sport = 40010, .dport = 30010, RTP(14)),
		  XDP_REDIRECT, SLUICE_V_TX,
		  { .smac = TNET_MAC_A0, .dmac = TNET_MAC_CALLER2, .src = "10.1.0.1",
		    .dst = "10.1.0.3", .sport = 30012, .dport = 50010, .ttl = 63 } },
		{ "IPv4 one VLAN tag, back out of a veth: the tag kept",
		  IN4(FROM_CALLER4, .vlans = 1, .sport = 40010, .dport = 30010, RTP(15)),
		  XDP_REDIRECT, SLUICE_V_TX,
		  { .smac = TNET_MAC_A0, .dmac = TNET_MAC_CALLER2, .src = "10.1.0.1",
		    .dst = "10.1.0.3", .sport = 30012, .dport = 50010, .ttl = 63 } },
		{ "IPv4 RTP to the other leg: redirected, as ever",
		  IN4(FROM_CALLER4, .sport = 40000, .dport = 30000, RTP(16)),
		  FWD, TO_CALLEE4(30002, 50000) },
	};
	struct sluice *plain;
	size_t i;

	(void)state;
	need_program();
	plain = load_variant((__u32)net.a, 0);
	for (i = 0; i < sizeof(back) / sizeof(back[0]); i++) {
		print_message("  %s\n", back[i].name);
		run_case(&back[i]);
	}
	sluice__destroy(skel);
	skel = plain;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_short_rtp_payload),
		cmocka_unit_test(test_rtp_statistics),
		cmocka_unit_test(test_jitter_sampling),
		cmocka_unit_test(test_update_keeps_stats),
		cmocka_unit_test(test_partial_checksum),
		cmocka_unit_test(test_veth_back_out),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
