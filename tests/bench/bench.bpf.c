// SPDX-License-Identifier: GPL-2.0-only
/*
 * The benchmark's two XDP ends.
 *
 * bench_reflect sits in the generator's namespace on the veth its socket
 * sends into, and redirects each frame out of the generator's link towards
 * the relay (or, for the baseline, the sink), so that the relay receives
 * XDP frames as it would from a NIC, not socket buffers that veth must
 * copy before XDP can see them.
 *
 * bench_sink, on the far end, counts the UDP frames that arrive and drops
 * them, so that receiving costs next to nothing and the count is exact;
 * everything else (ARP, neighbour discovery) goes to the stack. Being an
 * XDP program on the veth also gives it the NAPI that frames redirected
 * into a veth need.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

struct reflect_cfg {
	__u32	ifindex;	/* where frames leave */
	__u8	dmac[ETH_ALEN];	/* the next hop's MAC */
	__u8	smac[ETH_ALEN];	/* that interface's own */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct reflect_cfg);
} reflect SEC(".maps");

static __always_inline struct udphdr *udp_of(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return NULL;
	return udp;
}

SEC("xdp")
int bench_reflect(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	struct reflect_cfg *cfg;
	__u32 zero = 0;

	if (!udp_of(ctx))
		return XDP_PASS;
	cfg = bpf_map_lookup_elem(&reflect, &zero);
	if (!cfg)
		return XDP_PASS;
	__builtin_memcpy(eth->h_dest, cfg->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->smac, ETH_ALEN);
	return bpf_redirect(cfg->ifindex, 0);
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n;

	if (!udp_of(ctx))
		return XDP_PASS;
	n = bpf_map_lookup_elem(&sink_count, &zero);
	if (n)
		(*n)++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
