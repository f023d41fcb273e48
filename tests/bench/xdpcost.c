// SPDX-License-Identifier: GPL-2.0-only
/*
 * xdpcost: what sluice_xdp costs per packet, step by step, beside the
 * reference relay (ref.bpf.c), without traffic: BPF_PROG_TEST_RUN and the
 * kernel's own measure of the runs. In a network namespace of its own with
 * the unit tests' FIB (tests/bpf/netns.h), so that bpf_fib_lookup()
 * answers as on a relay.
 *
 *   xdpcost FLOWS ACTIVE CALLS
 *	installs FLOWS flows in each program (pairs, see below), sends CALLS
 *	frames round-robin over ACTIVE pairs, and prints one line per
 *	variant, the median and spread of the time per packet:
 *	  NAME ns MEDIAN p10 P10 p90 P90
 *	for the reference, sluice_xdp whole (jitter sampled as shipped, and
 *	from every packet), and sluice_xdp leaving out one step at a time
 *	(SLUICE_PROF_* in bpf/sluice.bpf.c). XDPCOST_JITTER_SAMPLE=N in the
 *	environment measures [media] jitter_sampling = N (default 8).
 *
 * A test run repeats the program REPEAT times on the frame it leaves
 * behind, so each call forwards it back and forth over a pair of flows
 * that send it to each other: 10.1.0.3:P (from 10.1.0.2:40000) leaves for
 * 10.2.0.2:P (from 10.2.0.1:P), whose flow sends it back. The frame's TTL
 * starts at 255, so every repetition forwards. The kernel divides the
 * time by REPEAT: the time per packet, with its loop's few nanoseconds,
 * the same for every program measured.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <sluice/abi.h>

/* The variants table leaves the fields filled at run time zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "netns.h"
#include "pkt.h"
#include "ref.h"
#include "ref.skel.h"
#include "sluice.skel.h"

/* bpf/sluice.bpf.c's SLUICE_PROF_* */
#define PROF_NO_FIB		(1u << 0)
#define PROF_NO_STATS		(1u << 1)
#define PROF_NO_RTP		(1u << 2)
#define PROF_NO_VERDICTS	(1u << 3)
#define PROF_NO_CLOCK		(1u << 4)

#define PORT0	20000

static struct tnet net;

static void mac(__u8 out[6], const char *s)
{
	unsigned m[6];

	sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
	for (int i = 0; i < 6; i++)
		out[i] = (__u8)m[i];
}

static uint16_t port_of(unsigned i)
{
	return (uint16_t)(PORT0 + 2 * (i % 20000));
}

#define REPEAT	200	/* forwards per test run, each one way of a pair (TTL 255) */

/* The frame of pair i: from the caller to 10.1.0.3:P, TTL 255. */
static void frame(unsigned i, unsigned n, struct pkt *f)
{
	struct pkt_spec s = {
		.family = 4, .src = "10.1.0.2", .dst = "10.1.0.3", .sport = 40000,
		.dport = port_of(i), .seq = (uint16_t)n, .ts = 160u * n, .ssrc = 0x5eed0000 + i,
		.ttl = 255,
	};

	pkt_build(&s, f);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * sluice_xdp reads the clock for two packets in JITTER_SAMPLE of an RTP
 * stream (one pair of consecutive sequence numbers: [media]
 * jitter_sampling, 8 by default), and a test run repeats one frame, one
 * sequence number, which is a new packet only the first time round: so
 * the program as shipped is measured without the clock (all but two of
 * each run's 200 forwards), the same program with jitter from every
 * packet with it, and its figure is the two weighted as a stream has them,
 * 2 in JITTER_SAMPLE with the clock.
 */
static unsigned jitter_sample = 8;

struct variant {
	const char	*name;
	__u32		skip;		/* SLUICE_PROF_*, for sluice_xdp */
	__u32		jitter_mask;	/* 0: every packet; ~0: jitter_sample's */
	int		prog;
	int		want;		/* the XDP action every frame must get */
	__u32		*d;		/* run durations */
	unsigned	n, wrong;
};

/* Runs v's program over count frames of active flows, from frame first on. */
static int run_some(struct variant *v, unsigned active, unsigned first, unsigned count)
{
	struct pkt in, out;

	for (unsigned i = first; i < first + count; i++) {
		struct xdp_md ctx = { .ingress_ifindex = (__u32)net.a };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in.b, .data_out = out.b,
			    .data_size_out = sizeof(out.b), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = REPEAT);

		frame(i % active, i / active, &in);
		o.data_size_in = (__u32)in.len;
		ctx.data_end = (__u32)in.len;
		if (bpf_prog_test_run_opts(v->prog, &o))
			return -errno;
		v->wrong += o.retval != (__u32)v->want;
		v->d[v->n++] = o.duration;
	}
	return 0;
}

/*
 * Every XDP test run adds its program to the kernel's XDP dispatcher and
 * takes it out again, each a wait for an RCU grace period unless the
 * program is in the dispatcher already: milliseconds per run on a busy
 * machine, far more than the runs themselves. A program attached to an
 * interface stays in it, so each one is attached to a veth of its own in
 * this namespace, which carries no traffic.
 */
static int hold_in_dispatcher(int prog, unsigned i)
{
	char cmd[160], name[16];
	int ifx;

	snprintf(name, sizeof(name), "hold%u", i);
	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %sp && ip link set %s up",
		 name, name, name);
	if (system(cmd))
		return -EIO;
	ifx = (int)if_nametoindex(name);
	if (!ifx)
		return -errno;
	return bpf_xdp_attach(ifx, prog, XDP_FLAGS_DRV_MODE, NULL) ? -errno : 0;
}

/* The program's size after the verifier (BPF instructions) and the JIT (bytes). */
static void report(struct variant *v, const char *note)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(v->prog, &info, &len))
		info.xlated_prog_len = info.jited_prog_len = 0;
	printf("%-30s ns %4u p10 %4u p90 %4u  insns %4u jited %5u%s%s\n", v->name, v->d[v->n / 2],
	       v->d[v->n / 10], v->d[v->n - v->n / 10 - 1], info.xlated_prog_len / 8,
	       info.jited_prog_len, note, v->wrong ? "  (some frames took another path!)" : "");
}

static void sort_runs(struct variant *v)
{
	qsort(v->d, v->n, sizeof(*v->d), cmp_u32);
}

/* One way of a pair, for the reference: its 4-tuple and where it goes. */
static int ref_put(struct ref *r, const char *sa, const char *da, uint16_t sp, uint16_t dp,
		   const char *nsa, const char *nda, uint16_t nsp, uint16_t ndp, int ifx,
		   const char *smac, const char *dmac)
{
	struct ref_flow f = { .sport = htons(nsp), .dport = htons(ndp), .ifindex = (__u32)ifx };
	struct ref_key k = { .sport = htons(sp), .dport = htons(dp) };

	inet_pton(AF_INET, sa, &k.saddr);
	inet_pton(AF_INET, da, &k.daddr);
	inet_pton(AF_INET, nsa, &f.saddr);
	inet_pton(AF_INET, nda, &f.daddr);
	mac(f.smac, smac);
	mac(f.dmac, dmac);
	return bpf_map__update_elem(r->maps.ref_flows, &k, sizeof(k), &f, sizeof(f), BPF_ANY) ?
	       -errno : 0;
}

static int ref_flows(struct ref *r, unsigned flows)
{
	__u32 ifs[2] = { (__u32)net.a, (__u32)net.b };
	int err = 0;

	for (int i = 0; i < 2; i++)
		if (bpf_map__update_elem(r->maps.ref_tx, &ifs[i], 4, &ifs[i], 4, BPF_ANY))
			return -errno;
	for (unsigned i = 0; i < flows / 2 && !err; i++) {
		uint16_t p = port_of(i), sp = (uint16_t)(40000 + i / 20000);

		err = ref_put(r, "10.1.0.2", "10.1.0.3", sp, p, "10.2.0.1", "10.2.0.2", p, p,
			      net.b, TNET_MAC_B0, TNET_MAC_CALLEE);
		if (!err)
			err = ref_put(r, "10.2.0.1", "10.2.0.2", p, p, "10.1.0.2", "10.1.0.3", sp, p,
				      net.a, TNET_MAC_A0, TNET_MAC_CALLER2);
	}
	return err;
}

/* One way of a pair, for sluice_xdp. */
static int sluice_put(struct sluice *s, const char *key, uint16_t kp, const char *from,
		      uint16_t fp, const char *via, uint16_t vp, const char *to, uint16_t tp,
		      __u32 id)
{
	struct sluice_xdp_flow f = { .action = { .family = SLUICE_FAMILY_IPV4,
						 .flags = SLUICE_F_RTP | SLUICE_F_STRICT_SRC,
						 .clock_rate = 8000, .expect_src_port = fp,
						 .new_src_port = vp, .new_dst_port = tp,
						 .stream_id = id } };
	struct sluice_flow_key k = { .family = SLUICE_FAMILY_IPV4, .port = kp };

	inet_pton(AF_INET, key, k.addr);
	inet_pton(AF_INET, from, f.action.expect_src_addr);
	inet_pton(AF_INET, via, f.action.new_src_addr);
	inet_pton(AF_INET, to, f.action.new_dst_addr);
	return bpf_map__update_elem(s->maps.flows, &k, sizeof(k), &f, sizeof(f), BPF_ANY) ?
	       -errno : 0;
}

static int sluice_flows(struct sluice *s, unsigned flows)
{
	__u32 ifs[2] = { (__u32)net.a, (__u32)net.b };
	int err = 0;

	for (int i = 0; i < 2; i++)
		if (bpf_map__update_elem(s->maps.tx_ports, &ifs[i], 4, &ifs[i], 4, BPF_ANY))
			return -errno;
	for (unsigned i = 0; i < flows / 2 && !err; i++) {
		/* Past 20,000 pairs, the keys move to other addresses. */
		char k1[16], k2[16];
		uint16_t p = port_of(i);

		snprintf(k1, sizeof(k1), "10.1.%u.3", i / 20000);
		snprintf(k2, sizeof(k2), "10.2.%u.2", i / 20000);
		err = sluice_put(s, k1, p, "10.1.0.2", 40000, "10.2.0.1", p, "10.2.0.2", p, 2 * i);
		if (!err)
			err = sluice_put(s, k2, p, "10.2.0.1", p, "10.1.0.2", 40000, "10.1.0.3", p,
					 2 * i + 1);
	}
	return err;
}

static struct sluice *load_sluice(__u32 skip, __u32 jitter_mask, unsigned flows)
{
	struct sluice *s = sluice__open();
	struct bpf_map *m;

	if (!s)
		return NULL;
	bpf_object__for_each_map(m, s->obj)
		bpf_map__set_pin_path(m, NULL);
	s->rodata->sluice_prof_skip = skip;
	s->rodata->sluice_jitter_mask = jitter_mask;
	if (sluice__load(s) || sluice_flows(s, flows)) {
		sluice__destroy(s);
		return NULL;
	}
	s->bss->sluice_native_mode = 1;
	s->bss->sluice_egress_gen = 1;	/* as the agent's loader: never 0 */
	return s;
}

/* Frames per variant in each round: rounds alternate, so drift hits all alike. */
#define ROUND	10

int main(int argc, char **argv)
{
	static struct variant v[] = {
		{ "reference relay", 0, 0 },
		{ "sluice_xdp, no clock read", 0, ~0u },
		{ "sluice_xdp, clock every packet", 0, 0 },
		{ "  without the FIB lookup", PROF_NO_FIB, ~0u },
		{ "  without flow statistics", PROF_NO_STATS, ~0u },
		{ "  without RTP statistics", PROF_NO_RTP, ~0u },
		{ "  without verdict counters", PROF_NO_VERDICTS, ~0u },
		{ "  without the clocks", PROF_NO_CLOCK, ~0u },
		{ "  without all four", PROF_NO_FIB | PROF_NO_STATS | PROF_NO_VERDICTS, ~0u },
	};
	size_t nv = sizeof(v) / sizeof(v[0]);
	struct sluice *sl[sizeof(v) / sizeof(v[0])] = { NULL };
	unsigned flows, active, calls, done, reads;
	const char *why = NULL;
	struct ref *r;
	size_t i;

	if (argc != 4) {
		fprintf(stderr, "usage: xdpcost FLOWS ACTIVE CALLS\n");
		return 2;
	}
	if (getenv("XDPCOST_ONLY"))	/* the first N variants only: for a profile */
		nv = (size_t)atoi(getenv("XDPCOST_ONLY"));
	if (getenv("XDPCOST_JITTER_SAMPLE"))
		jitter_sample = (unsigned)atoi(getenv("XDPCOST_JITTER_SAMPLE"));
	if (!jitter_sample || jitter_sample > 64 || (jitter_sample & (jitter_sample - 1))) {
		fprintf(stderr, "xdpcost: XDPCOST_JITTER_SAMPLE: a power of two, 1 to 64\n");
		return 2;
	}
	flows = (unsigned)atoi(argv[1]);
	active = (unsigned)atoi(argv[2]);
	calls = (unsigned)atoi(argv[3]);
	if (!active || 2 * active > flows || active > 20000 || calls < ROUND) {
		fprintf(stderr, "xdpcost: 1 <= 2 ACTIVE <= FLOWS, ACTIVE <= 20000, CALLS >= %d\n",
			ROUND);
		return 2;
	}
	if (tnet_build(&net, &why)) {
		fprintf(stderr, "xdpcost: %s\n", why);
		return 1;
	}
	r = ref__open_and_load();
	if (!r || ref_flows(r, flows)) {
		fprintf(stderr, "xdpcost: the reference relay: %s\n", strerror(errno));
		return 1;
	}
	v[0].prog = bpf_program__fd(r->progs.ref_relay);
	v[0].want = XDP_TX;	/* the last of an even REPEAT: back out of a0 */
	for (i = 1; i < nv; i++) {
		if (v[i].jitter_mask)
			v[i].jitter_mask = jitter_sample - 1;
		sl[i] = load_sluice(v[i].skip, v[i].jitter_mask, flows);
		if (!sl[i]) {
			fprintf(stderr, "xdpcost: loading sluice_xdp (skip %u): %s\n", v[i].skip,
				strerror(errno));
			return 1;
		}
		v[i].prog = bpf_program__fd(sl[i]->progs.sluice_xdp);
		v[i].want = XDP_TX;
	}
	for (i = 0; i < nv; i++)
		if (hold_in_dispatcher(v[i].prog, (unsigned)i)) {
			fprintf(stderr, "xdpcost: attaching to a veth: %s\n", strerror(errno));
			return 1;
		}
	for (i = 0; i < nv; i++) {
		v[i].d = calloc(calls, sizeof(*v[i].d));
		if (!v[i].d)
			return 1;
	}
	for (done = 0; done + ROUND <= calls; done += ROUND)
		for (i = 0; i < nv; i++)
			if (run_some(&v[i], active, done, ROUND)) {
				fprintf(stderr, "xdpcost: test run: %s\n", strerror(errno));
				return 1;
			}
	printf("# %u flows installed, %u pairs active, %u runs of %d each, IPv4 RTP\n",
	       flows, active, done, REPEAT);
	for (i = 0; i < nv; i++)
		sort_runs(&v[i]);
	/* Line 1: what a stream's packet costs with jitter_sample's clock reads. */
	reads = jitter_sample < 2 ? jitter_sample : 2;
	printf("%-30s ns %4u  (%u of %u packets read the clock)\n", "sluice_xdp as shipped",
	       (v[1].d[v[1].n / 2] * (jitter_sample - reads) + v[2].d[v[2].n / 2] * reads +
		jitter_sample / 2) / jitter_sample, reads, jitter_sample);
	for (i = 0; i < nv; i++)
		report(&v[i], i > 2 ? "  (no clock read)" : "");
	for (i = 1; i < nv; i++)
		sluice__destroy(sl[i]);
	ref__destroy(r);
	return 0;
}
