/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The reference relay's flow, shared by its program (ref.bpf.c) and its
 * loaders (refrelay.c, xdpcost.c).
 *
 * REF_LINES=4 (build/bench/wide/refrelay) gives the flow the shape of a
 * sluice_xdp flow in its hash map, for the benchmark's cache-line
 * question: the key padded to sluice's 20 bytes, the value to its 184,
 * and what a packet reads and writes spread over the element's lines as
 * sluice's is (the hash header and key in lines 0-1, the addresses and
 * ports in line 1, the MACs and ifindex in line 2, a packet counter the
 * program increments in line 3). 2, the default: the least the relay
 * needs, the element in two lines.
 */
#ifndef SLUICE_BENCH_REF_H
#define SLUICE_BENCH_REF_H

#include <linux/types.h>

#ifndef REF_LINES
#define REF_LINES 2
#endif

struct ref_key {
	__be32	saddr, daddr;
	__be16	sport, dport;
#if REF_LINES == 4
	__u8	pad[8];
#endif
};

struct ref_flow {
	__be32	saddr, daddr;
	__be16	sport, dport;
#if REF_LINES == 4
	__u8	pad1[68];	/* the MACs at value offset 80: element line 2 */
#endif
	__u8	smac[6], dmac[6];
	__u32	ifindex;
#if REF_LINES == 4
	__u8	pad2[32];
	__u64	packets;	/* value offset 128: element line 3 */
	__u8	pad3[48];
#endif
};

#if REF_LINES == 4
_Static_assert(sizeof(struct ref_key) == 20, "wide ref key");
_Static_assert(sizeof(struct ref_flow) == 184, "wide ref flow");
_Static_assert(__builtin_offsetof(struct ref_flow, packets) == 128, "wide ref counter");
#endif

#endif /* SLUICE_BENCH_REF_H */
