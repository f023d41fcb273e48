// SPDX-License-Identifier: GPL-2.0-only
/*
 * The netfilter hook: the module's counterpart of the XDP program, for
 * machines where XDP cannot be used. It sits at PRE_ROUTING before the raw
 * table and connection tracking, in every network namespace, and does
 * what sluice_xdp does with the same verdict reasons: a UDP packet to a
 * known flow, from the flow's latched peer, is routed towards the other
 * leg's peer, rewritten (bpf/fwd.h), counted (bpf/rtp_stats.h) and sent
 * out by the stack's output path, and the hook steals it. Every other
 * packet goes on untouched (NF_ACCEPT) to the stack and sluiced's socket.
 *
 * As in the XDP program, the decision (flow, source, payload, TTL, route)
 * is taken before the packet is touched. Where the two differ it is
 * because the stack does the rest here: the neighbour is resolved by the
 * output path (no "no neighbour" pass), and any output interface will do
 * (no devmap of allowed ones). The ingress interface must still have
 * forwarding on, as bpf_fib_lookup demands, so that both paths need the
 * same settings.
 */
#include <linux/inetdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/addrconf.h>
#include <net/dst.h>
#include <net/ip.h>
#include <net/ip6_route.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/route.h>

#include "sluice.h"
#include "fwd.h"

/* A parsed packet: where it goes (the flow key), where it came from. */
struct sluice_kpkt {
	struct sluice_flow_key	key;
	u8			saddr[16];	/* network order; IPv4 in [0..3] */
	u16			sport;		/* host order */
	u16			udp_len;	/* host order */
	u8			ttl;		/* or hop limit */
	bool			v6;
	u32			l4_off;		/* UDP header, from the network header */
};

static void sluice_count(struct sluice_net *sn, u32 why, unsigned int bytes)
{
	this_cpu_inc(sn->verdicts[why].packets);
	this_cpu_add(sn->verdicts[why].bytes, bytes);
}

void sluice_verdicts_sum(struct sluice_net *sn, struct sluice_verdict out[SLUICE_V_MAX])
{
	int cpu, r;

	memset(out, 0, SLUICE_V_MAX * sizeof(*out));
	for_each_possible_cpu(cpu) {
		const struct sluice_verdict *v = per_cpu_ptr(sn->verdicts, cpu);

		for (r = 0; r < SLUICE_V_MAX; r++) {
			out[r].packets += READ_ONCE(v[r].packets);
			out[r].bytes += READ_ONCE(v[r].bytes);
		}
	}
}

/* The UDP header must lie within what the IP header says it carries. */
static int sluice_parse_udp(struct sk_buff *skb, struct sluice_kpkt *p, u32 ip_payload)
{
	const struct udphdr *udp;

	if (!pskb_may_pull(skb, p->l4_off + sizeof(*udp)))
		return SLUICE_V_PASS_TRUNCATED;
	udp = (const struct udphdr *)(skb_network_header(skb) + p->l4_off);
	p->udp_len = ntohs(udp->len);
	if (p->udp_len < sizeof(*udp) || p->udp_len > ip_payload)
		return SLUICE_V_PASS_TRUNCATED;
	p->key.port = ntohs(udp->dest);
	p->sport = ntohs(udp->source);
	return 0;
}

/* ip_rcv() has checked the header, its checksum and tot_len against skb->len. */
static int sluice_parse4(struct sk_buff *skb, struct sluice_kpkt *p)
{
	const struct iphdr *ip4;

	if (!pskb_may_pull(skb, sizeof(*ip4)))
		return SLUICE_V_PASS_TRUNCATED;
	ip4 = ip_hdr(skb);
	if (ip4->ihl != 5)
		return SLUICE_V_PASS_IP_OPTIONS;
	if (ip_is_fragment(ip4))
		return SLUICE_V_PASS_FRAGMENT;
	if (ip4->protocol != IPPROTO_UDP)
		return SLUICE_V_PASS_NOT_UDP;
	p->key.family = SLUICE_FAMILY_IPV4;
	memcpy(p->key.addr, &ip4->daddr, 4);
	memcpy(p->saddr, &ip4->saddr, 4);
	p->ttl = ip4->ttl;
	p->l4_off = sizeof(*ip4);
	return sluice_parse_udp(skb, p, ntohs(ip4->tot_len) - sizeof(*ip4));
}

/* ipv6_rcv() has checked the fixed header and trimmed to payload_len. */
static int sluice_parse6(struct sk_buff *skb, struct sluice_kpkt *p)
{
	const struct ipv6hdr *ip6;

	if (!pskb_may_pull(skb, sizeof(*ip6)))
		return SLUICE_V_PASS_TRUNCATED;
	ip6 = ipv6_hdr(skb);
	if (ip6->nexthdr == NEXTHDR_FRAGMENT)
		return SLUICE_V_PASS_FRAGMENT;
	if (ip6->nexthdr != IPPROTO_UDP)
		return SLUICE_V_PASS_NOT_UDP;
	p->v6 = true;
	p->key.family = SLUICE_FAMILY_IPV6;
	memcpy(p->key.addr, &ip6->daddr, 16);
	memcpy(p->saddr, &ip6->saddr, 16);
	p->ttl = ip6->hop_limit;
	p->l4_off = sizeof(*ip6);
	return sluice_parse_udp(skb, p, ntohs(ip6->payload_len));
}

/* Only the latched peer may use a flow: no RTP Bleed. */
static bool sluice_source_ok(const struct sluice_kpkt *p, const struct sluice_flow_action *act)
{
	if (!(act->flags & SLUICE_F_STRICT_SRC))
		return true;
	return p->sport == act->expect_src_port &&
	       !memcmp(p->saddr, act->expect_src_addr, p->v6 ? 16 : 4);
}

static int sluice_check_payload(const struct sk_buff *skb, const struct sluice_kpkt *p)
{
	u8 buf;
	const u8 *first;

	if (p->udp_len <= sizeof(struct udphdr))
		return SLUICE_V_PASS_TRUNCATED;
	first = skb_header_pointer(skb, p->l4_off + sizeof(struct udphdr), 1, &buf);
	if (!first)
		return SLUICE_V_PASS_TRUNCATED;
	return sluice_fwd_payload_verdict(*first);
}

static int sluice_route4(const struct nf_hook_state *state, const struct sk_buff *skb,
			 const struct sluice_flow_action *act, struct dst_entry **dst)
{
	struct in_device *in_dev = __in_dev_get_rcu(state->in);
	struct flowi4 fl4 = {
		.flowi4_proto = IPPROTO_UDP,
		.flowi4_mark = skb->mark,
		/* The relay's address on the other leg, as the XDP program's FIB
		 * lookup takes it: no check that it is one of ours. */
		.flowi4_flags = FLOWI_FLAG_ANYSRC,
		.fl4_sport = htons(act->new_src_port),
		.fl4_dport = htons(act->new_dst_port),
	};
	struct rtable *rt;

	if (!in_dev || !IN_DEV_FORWARD(in_dev))
		return SLUICE_V_PASS_FIB_FWD_DISABLED;
	memcpy(&fl4.saddr, act->new_src_addr, 4);
	memcpy(&fl4.daddr, act->new_dst_addr, 4);
	rt = ip_route_output_key(state->net, &fl4);
	if (IS_ERR(rt))
		return SLUICE_V_PASS_FIB_OTHER;
	if (rt->rt_type != RTN_UNICAST) {
		ip_rt_put(rt);
		return SLUICE_V_PASS_FIB_OTHER;
	}
	*dst = &rt->dst;
	return 0;
}

static int sluice_route6(const struct nf_hook_state *state, const struct sk_buff *skb,
			 const struct sluice_flow_action *act, struct dst_entry **dst)
{
	struct inet6_dev *idev = __in6_dev_get(state->in);
	struct flowi6 fl6 = {
		.flowi6_proto = IPPROTO_UDP,
		.flowi6_mark = skb->mark,
		.fl6_sport = htons(act->new_src_port),
		.fl6_dport = htons(act->new_dst_port),
	};
	struct dst_entry *d;

	if (!idev || !READ_ONCE(idev->cnf.forwarding))
		return SLUICE_V_PASS_FIB_FWD_DISABLED;
	memcpy(&fl6.saddr, act->new_src_addr, 16);
	memcpy(&fl6.daddr, act->new_dst_addr, 16);
	d = ip6_route_output(state->net, NULL, &fl6);
	if (d->error) {
		dst_release(d);
		return SLUICE_V_PASS_FIB_OTHER;
	}
	*dst = d;
	return 0;
}

/*
 * A route the packet can leave by as it is: not to ourselves (the stack
 * delivers that), not bigger than the path's MTU (the stack fragments, or
 * sends "too big", from sluiced's socket).
 */
static int sluice_route(const struct nf_hook_state *state, const struct sk_buff *skb,
			const struct sluice_kpkt *p, const struct sluice_flow_action *act,
			struct dst_entry **dst)
{
	int why;

	why = p->v6 ? sluice_route6(state, skb, act, dst) : sluice_route4(state, skb, act, dst);
	if (why)
		return why;
	if ((*dst)->dev->flags & IFF_LOOPBACK || skb->len > dst_mtu(*dst)) {
		dst_release(*dst);
		return SLUICE_V_PASS_FIB_OTHER;
	}
	return 0;
}

static void sluice_account(struct sluice_kflow *f, const struct sk_buff *skb,
			   const struct sluice_kpkt *p, const struct sluice_flow_action *act)
{
	const struct sluice_rtp_hdr *rtp = NULL;
	struct sluice_rtp_hdr buf;
	u64 now = ktime_get_ns();

	if ((act->flags & SLUICE_F_RTP) && p->udp_len >= sizeof(struct udphdr) + sizeof(buf))
		rtp = skb_header_pointer(skb, p->l4_off + sizeof(struct udphdr), sizeof(buf), &buf);

	spin_lock_bh(&f->lock);
	if (!f->stats.packets)
		f->stats.first_seen_ns = now;
	f->stats.packets++;
	f->stats.bytes += p->udp_len - sizeof(struct udphdr);
	f->stats.last_seen_ns = now;
	if ((act->flags & SLUICE_F_RTP) && (!rtp || !sluice_fwd_account_rtp(&f->stats, rtp, act, now)))
		f->stats.rtp_errors++;
	spin_unlock_bh(&f->lock);
}

static void sluice_rewrite(struct sk_buff *skb, const struct sluice_kpkt *p,
			   const struct sluice_flow_action *act)
{
	struct udphdr *udp = (struct udphdr *)(skb_network_header(skb) + p->l4_off);
	bool partial = skb->ip_summed == CHECKSUM_PARTIAL;

	if (p->v6)
		sluice_fwd_rewrite_ip6(ipv6_hdr(skb), udp, act, partial);
	else
		sluice_fwd_rewrite_ip4(ip_hdr(skb), udp, act, partial);
	/* A receive-side sum of the old bytes; the packet's own checksums are right. */
	if (skb->ip_summed == CHECKSUM_COMPLETE)
		skb->ip_summed = CHECKSUM_NONE;
}

/* Hands the rewritten packet to the output path, as a local packet would go. */
static int sluice_xmit(const struct nf_hook_state *state, struct sk_buff *skb,
		       struct dst_entry *dst, bool v6)
{
	int why = dst->dev == state->in ? SLUICE_V_TX : SLUICE_V_REDIRECT;

	skb_dst_drop(skb);
	skb_dst_set(skb, dst);
	nf_reset_ct(skb);
	skb_clear_tstamp(skb);
	/* The receive path's control block means nothing on the way out. */
	if (v6)
		memset(IP6CB(skb), 0, sizeof(*IP6CB(skb)));
	else
		memset(IPCB(skb), 0, sizeof(*IPCB(skb)));
	dst_output(state->net, NULL, skb);
	return why;
}

/*
 * RTCP muxed on a port whose peer on the other leg takes RTCP apart goes
 * by a flow of its own (bpf/fwd.h); NULL, a miss, when there is none yet.
 */
static struct sluice_kflow *sluice_demux(struct sluice_net *sn, const struct sk_buff *skb,
					 const struct sluice_kpkt *p, struct sluice_kflow *f)
{
	const struct sluice_flow_action *act = &rcu_dereference(f->act)->a;
	struct sluice_flow_key key = p->key;
	const u8 *b;
	u8 buf[2];

	if (!(act->flags & SLUICE_F_DEMUX) || p->udp_len < sizeof(struct udphdr) + 2)
		return f;
	b = skb_header_pointer(skb, p->l4_off + sizeof(struct udphdr), 2, buf);
	if (!b || !sluice_fwd_demux(act, &key, b[0], b[1]))
		return f;
	return sluice_flow_lookup(sn, &key);
}

/* The verdict reason; the packet is the stack's again unless it is TX/REDIRECT. */
static int sluice_forward(struct sluice_net *sn, struct sk_buff *skb,
			  const struct nf_hook_state *state, const struct sluice_kpkt *p)
{
	const struct sluice_flow_action *act;
	struct dst_entry *dst;
	struct sluice_kflow *f;
	int why;

	f = sluice_flow_lookup(sn, &p->key);
	if (f)
		f = sluice_demux(sn, skb, p, f);
	if (!f)
		return SLUICE_V_PASS_MISS;
	act = &rcu_dereference(f->act)->a;
	if (act->family != p->key.family)
		return SLUICE_V_PASS_FAMILY;
	if (!sluice_source_ok(p, act))
		return SLUICE_V_PASS_WRONG_SRC;
	why = sluice_check_payload(skb, p);
	if (why)
		return why;
	if (p->ttl <= 1)
		return SLUICE_V_PASS_TTL;
	/* A GRO train of datagrams is not one packet to rewrite. */
	if (skb_is_gso(skb))
		return SLUICE_V_PASS_FIB_OTHER;
	why = sluice_route(state, skb, p, act, &dst);
	if (why)
		return why;
	/* Headers of a clone (a tap like tcpdump holds one) are copied first. */
	if (skb_ensure_writable(skb, p->l4_off + sizeof(struct udphdr))) {
		dst_release(dst);
		return SLUICE_V_PASS_FIB_OTHER;
	}

	sluice_account(f, skb, p, act);
	sluice_rewrite(skb, p, act);
	return sluice_xmit(state, skb, dst, p->v6);
}

static unsigned int sluice_hook(struct sk_buff *skb, const struct nf_hook_state *state,
				bool v6)
{
	struct sluice_net *sn = sluice_net(state->net);
	unsigned int bytes = skb->len + skb->mac_len;
	struct sluice_kpkt p = {};
	int why;

	why = v6 ? sluice_parse6(skb, &p) : sluice_parse4(skb, &p);
	if (!why)
		why = sluice_forward(sn, skb, state, &p);
	sluice_count(sn, SLUICE_V_RX, bytes);
	sluice_count(sn, why, bytes);
	return why == SLUICE_V_TX || why == SLUICE_V_REDIRECT ? NF_STOLEN : NF_ACCEPT;
}

static unsigned int sluice_hook4(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	return sluice_hook(skb, state, false);
}

static unsigned int sluice_hook6(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	return sluice_hook(skb, state, true);
}

/* Forwarded media is never seen by connection tracking. */
static const struct nf_hook_ops sluice_nf_ops[] = {
	{
		.hook		= sluice_hook4,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= SLUICE_KMOD_PRIORITY,
	},
	{
		.hook		= sluice_hook6,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= SLUICE_KMOD_PRIORITY,
	},
};

int sluice_hook_register(struct net *net)
{
	int err = nf_register_net_hooks(net, sluice_nf_ops, ARRAY_SIZE(sluice_nf_ops));

	sluice_net(net)->hooked = !err;
	return err;
}

void sluice_hook_unregister(struct net *net)
{
	struct sluice_net *sn = sluice_net(net);

	if (sn->hooked)
		nf_unregister_net_hooks(net, sluice_nf_ops, ARRAY_SIZE(sluice_nf_ops));
	sn->hooked = false;
}
