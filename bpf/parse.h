/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Header parsing for the XDP program: Ethernet with at most one VLAN tag,
 * IPv4 without options and not fragmented, IPv6 with UDP as the next
 * header, then UDP. Every bound is checked against data_end before a read;
 * anything the fast path does not handle returns the verdict reason that
 * sends it to the stack, where sluiced or the kernel deals with it.
 */
#ifndef SLUICE_BPF_PARSE_H
#define SLUICE_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <sluice/abi.h>

#define SLUICE_IP_MF		0x2000	/* more fragments, host order */
#define SLUICE_IP_OFFSET	0x1fff
#define SLUICE_NEXTHDR_FRAGMENT	44

struct vlan_hdr {
	__be16	tci;
	__be16	proto;
};

/* A parsed packet: pointers into the frame and the flow key it maps to. */
struct sluice_pkt {
	void			*data;
	void			*end;
	struct ethhdr		*eth;
	bool			vlan;
	struct iphdr		*ip4;	/* exactly one of ip4 / ip6 */
	struct ipv6hdr		*ip6;
	struct udphdr		*udp;
	__u8			*payload;
	struct sluice_flow_key	key;
};

static __always_inline int sluice_parse_ip4(struct sluice_pkt *p, void *l3)
{
	struct iphdr *ip4 = l3;

	if ((void *)(ip4 + 1) > p->end)
		return SLUICE_V_PASS_TRUNCATED;
	if (ip4->version != 4 || ip4->ihl < 5)
		return SLUICE_V_PASS_NOT_IP;
	if (ip4->ihl != 5)
		return SLUICE_V_PASS_IP_OPTIONS;
	if (ip4->frag_off & bpf_htons(SLUICE_IP_MF | SLUICE_IP_OFFSET))
		return SLUICE_V_PASS_FRAGMENT;
	if (ip4->protocol != IPPROTO_UDP)
		return SLUICE_V_PASS_NOT_UDP;
	p->ip4 = ip4;
	p->udp = (void *)(ip4 + 1);
	__builtin_memcpy(p->key.addr, &ip4->daddr, 4);
	p->key.family = SLUICE_FAMILY_IPV4;
	return 0;
}

static __always_inline int sluice_parse_ip6(struct sluice_pkt *p, void *l3)
{
	struct ipv6hdr *ip6 = l3;

	if ((void *)(ip6 + 1) > p->end)
		return SLUICE_V_PASS_TRUNCATED;
	if (ip6->version != 6)
		return SLUICE_V_PASS_NOT_IP;
	/* Extension headers are rare on media; the stack handles them. */
	if (ip6->nexthdr == SLUICE_NEXTHDR_FRAGMENT)
		return SLUICE_V_PASS_FRAGMENT;
	if (ip6->nexthdr != IPPROTO_UDP)
		return SLUICE_V_PASS_NOT_UDP;
	p->ip6 = ip6;
	p->udp = (void *)(ip6 + 1);
	__builtin_memcpy(p->key.addr, &ip6->daddr, 16);
	p->key.family = SLUICE_FAMILY_IPV6;
	return 0;
}

/* Returns 0 with p filled in, or the SLUICE_V_PASS_* reason to pass. */
static __always_inline int sluice_parse(struct sluice_pkt *p)
{
	struct ethhdr *eth = p->data;
	void *l3 = eth + 1;
	__be16 proto;
	int err;

	if ((void *)(eth + 1) > p->end)
		return SLUICE_V_PASS_TRUNCATED;
	p->eth = eth;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > p->end)
			return SLUICE_V_PASS_TRUNCATED;
		p->vlan = true;
		proto = vh->proto;
		l3 = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP))
		err = sluice_parse_ip4(p, l3);
	else if (proto == bpf_htons(ETH_P_IPV6))
		err = sluice_parse_ip6(p, l3);
	else
		return SLUICE_V_PASS_NOT_IP;
	if (err)
		return err;

	if ((void *)(p->udp + 1) > p->end)
		return SLUICE_V_PASS_TRUNCATED;
	/* IPv6 requires a UDP checksum; a datagram without one is the stack's. */
	if (p->ip6 && !p->udp->check)
		return SLUICE_V_PASS_NOT_UDP;
	p->payload = (void *)(p->udp + 1);
	p->key.port = bpf_ntohs(p->udp->dest);
	return 0;
}

#endif /* SLUICE_BPF_PARSE_H */
