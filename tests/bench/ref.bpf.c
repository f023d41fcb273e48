// SPDX-License-Identifier: GPL-2.0-only
/*
 * The benchmark's reference relay: the least an XDP RTP relay must do per
 * packet, to measure sluice_xdp against. Ethernet, IPv4 without options,
 * UDP; one hash lookup on the 4-tuple; addresses, ports and MACs
 * rewritten from the flow, the IPv4 and UDP checksums updated
 * incrementally (RFC 1624), the TTL left alone; out of the interface the
 * flow names (XDP_TX on the same one, else a devmap redirect). No source
 * check beyond the tuple, no statistics, no IPv6, no VLAN, no FIB: the
 * loader (refrelay.c) writes the next hop into every flow. Not part of
 * sluice; it shares no code with bpf/ on purpose.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ref.h"

#ifndef REF_MAX_FLOWS
#define REF_MAX_FLOWS 131072
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, REF_MAX_FLOWS);
	__type(key, struct ref_key);
	__type(value, struct ref_flow);
} ref_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} ref_tx SEC(".maps");

static __always_inline __u32 add32(__u32 sum, __u32 old, __u32 new)
{
	return sum + (~old & 0xffff) + (~old >> 16) + (new & 0xffff) + (new >> 16);
}

static __always_inline __u16 apply(__u16 check, __u32 sum)
{
	sum += (__u16)~check;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int ref_relay(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct ref_key key;
	struct ref_flow *f;
	__u32 addr, ports;

	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	key.saddr = ip->saddr;
	key.daddr = ip->daddr;
	key.sport = udp->source;
	key.dport = udp->dest;
	f = bpf_map_lookup_elem(&ref_flows, &key);
	if (!f)
		return XDP_PASS;
#if REF_LINES == 4
	f->packets++;
#endif
	addr = add32(add32(0, ip->saddr, f->saddr), ip->daddr, f->daddr);
	ports = add32(0, (__u32)udp->source << 16 | udp->dest, (__u32)f->sport << 16 | f->dport);
	ip->check = apply(ip->check, addr);
	if (udp->check)
		udp->check = apply(udp->check, addr + ports) ?: 0xffff;
	ip->saddr = f->saddr;
	ip->daddr = f->daddr;
	udp->source = f->sport;
	udp->dest = f->dport;
	__builtin_memcpy(eth->h_source, f->smac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, f->dmac, ETH_ALEN);
	if (f->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect_map(&ref_tx, f->ifindex, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
