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

/*
 * A parsed packet: pointers into the frame and the flow key it maps to.
 * The key lies apart, in the caller's frame: the map lookup takes its
 * address, and the packet's own fields can then stay in registers.
 */
struct sluice_pkt {
	void			*data;
	void			*end;
	__u32			len;	/* of the frame */
	__u32			l3_off;	/* 14, or 18 behind a VLAN tag */
	struct ethhdr		*eth;
	bool			vlan;
	struct iphdr		*ip4;	/* exactly one of ip4 / ip6 */
	struct ipv6hdr		*ip6;
	struct udphdr		*udp;
	__u8			*payload;
	struct sluice_flow_key	*key;
};

/*
 * The lengths the headers claim must fit the frame (which may be longer:
 * Ethernet pads short frames): the stack would drop a datagram cut short,
 * and so must not we forward one. udp_off and ip_left are numbers, not
 * pointers, so that the verifier needs no bounds for them.
 */
static __always_inline int sluice_check_lengths(const struct sluice_pkt *p, struct udphdr *udp,
						__u32 ip_left)
{
	__u32 udp_off = (__u32)((void *)udp - p->data), udp_len;

	if ((void *)(udp + 1) > p->end)
		return SLUICE_V_PASS_TRUNCATED;
	udp_len = bpf_ntohs(udp->len);
	if (udp_len < sizeof(struct udphdr) || udp_len > ip_left || udp_off + ip_left > p->len)
		return SLUICE_V_PASS_TRUNCATED;
	return 0;
}

static __always_inline int sluice_parse_ip4(struct sluice_pkt *p, void *l3)
{
	struct iphdr *ip4 = l3;
	int err;

	if ((void *)(ip4 + 1) > p->end)
		return SLUICE_V_PASS_TRUNCATED;
	/* Version 4, five words of header: one byte, 0x45, on the fast path. */
	if (*(__u8 *)ip4 != 0x45)
		return ip4->version != 4 || ip4->ihl < 5 ? SLUICE_V_PASS_NOT_IP :
							    SLUICE_V_PASS_IP_OPTIONS;
	if (ip4->frag_off & bpf_htons(SLUICE_IP_MF | SLUICE_IP_OFFSET))
		return SLUICE_V_PASS_FRAGMENT;
	if (ip4->protocol != IPPROTO_UDP)
		return SLUICE_V_PASS_NOT_UDP;
	if (bpf_ntohs(ip4->tot_len) < sizeof(*ip4))
		return SLUICE_V_PASS_TRUNCATED;
	err = sluice_check_lengths(p, (void *)(ip4 + 1), bpf_ntohs(ip4->tot_len) - sizeof(*ip4));
	if (err)
		return err;
	p->ip4 = ip4;
	p->udp = (void *)(ip4 + 1);
	__builtin_memcpy(p->key->addr, &ip4->daddr, 4);
	p->key->family = SLUICE_FAMILY_IPV4;
	return 0;
}

static __always_inline int sluice_parse_ip6(struct sluice_pkt *p, void *l3)
{
	struct ipv6hdr *ip6 = l3;
	int err;

	if ((void *)(ip6 + 1) > p->end)
		return SLUICE_V_PASS_TRUNCATED;
	if (ip6->version != 6)
		return SLUICE_V_PASS_NOT_IP;
	/* Extension headers are rare on media; the stack handles them. */
	if (ip6->nexthdr == SLUICE_NEXTHDR_FRAGMENT)
		return SLUICE_V_PASS_FRAGMENT;
	if (ip6->nexthdr != IPPROTO_UDP)
		return SLUICE_V_PASS_NOT_UDP;
	err = sluice_check_lengths(p, (void *)(ip6 + 1), bpf_ntohs(ip6->payload_len));
	if (err)
		return err;
	p->ip6 = ip6;
	p->udp = (void *)(ip6 + 1);
	__builtin_memcpy(p->key->addr, &ip6->daddr, 16);
	p->key->family = SLUICE_FAMILY_IPV6;
	return 0;
}

/*
 * Rebuilds the header pointers of an already parsed packet from ctx and
 * its l3 offset, with the bounds checks the verifier needs to see again
 * in a subprogram. Returns false if the frame is shorter than that (it
 * cannot be: sluice_parse() checked the same).
 */
static __always_inline bool sluice_repoint(struct xdp_md *ctx, struct sluice_pkt *p,
					   const bool v6)
{
	void *l3;

	p->data = (void *)(long)ctx->data;
	p->end = (void *)(long)ctx->data_end;
	p->eth = p->data;
	if ((void *)(p->eth + 1) > p->end)
		return false;
	l3 = p->data + (p->l3_off & 0x1f);
	if (v6) {
		p->ip4 = NULL;
		p->ip6 = l3;
		if ((void *)(p->ip6 + 1) > p->end)
			return false;
		p->udp = (void *)(p->ip6 + 1);
	} else {
		p->ip6 = NULL;
		p->ip4 = l3;
		if ((void *)(p->ip4 + 1) > p->end)
			return false;
		p->udp = (void *)(p->ip4 + 1);
	}
	if ((void *)(p->udp + 1) > p->end)
		return false;
	p->payload = (void *)(p->udp + 1);
	return true;
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

	p->l3_off = p->vlan ? sizeof(*eth) + sizeof(struct vlan_hdr) : sizeof(*eth);
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
	p->key->port = bpf_ntohs(p->udp->dest);
	return 0;
}

#endif /* SLUICE_BPF_PARSE_H */
