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
 *
 * The relay_* programs time the NAPI polls of the relay's own veths (the
 * interfaces in the relay's namespace): where a kernel relay does all its
 * work per packet (XDP native and generic, IP forwarding: the receive,
 * the program or the stack, the transmit into the next veth's ring).
 * Tracepoints, not fentry on veth_poll, which kernels in lockdown refuse.
 * Loaded only when rtpgen is given the relay's namespace; the time lands
 * in relay_napi_ns.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
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

/*
 * The kernel's types as far as the timing reads them, matched to the
 * running kernel's by name (CO-RE): no vmlinux.h.
 */
struct ns_common {
	unsigned int	inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common	ns;
} __attribute__((preserve_access_index));

struct net_device {
	struct {
		struct net	*net;
	} nd_net;
} __attribute__((preserve_access_index));

struct napi_struct {
	struct net_device	*dev;
} __attribute__((preserve_access_index));

/* The relay's network namespace (its nsfs inode number), set by rtpgen. */
const volatile __u32 relay_netns_inum;

/* ns spent in the relay's veth polls, and the polls, since the load. */
__u64 relay_napi_ns;
__u64 relay_napi_polls;

#define NET_RX_SOFTIRQ	3

/*
 * Per CPU: when the NET_RX softirq began or its last NAPI poll ended, 0
 * outside the softirq. A poll's time is from that mark to the poll's end
 * (the napi_poll tracepoint, which fires after each poll): polls follow
 * one another in the softirq with little between them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} napi_mark SEC(".maps");

static __always_inline __u64 *mark(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&napi_mark, &zero);
}

SEC("raw_tracepoint/softirq_entry")
int relay_softirq_entry(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 *m = mark();

	if (m && ctx->args[0] == NET_RX_SOFTIRQ)
		*m = bpf_ktime_get_ns();
	return 0;
}

SEC("raw_tracepoint/softirq_exit")
int relay_softirq_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 *m = mark();

	if (m && ctx->args[0] == NET_RX_SOFTIRQ)
		*m = 0;
	return 0;
}

SEC("raw_tracepoint/napi_poll")
int relay_napi_poll(struct bpf_raw_tracepoint_args *ctx)
{
	struct napi_struct *napi = (void *)ctx->args[0];
	__u64 *m = mark(), now;

	if (!m || !*m)
		return 0;
	now = bpf_ktime_get_ns();
	if (BPF_CORE_READ(napi, dev, nd_net.net, ns.inum) == relay_netns_inum) {
		__sync_fetch_and_add(&relay_napi_ns, now - *m);
		__sync_fetch_and_add(&relay_napi_polls, 1);
	}
	*m = now;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
