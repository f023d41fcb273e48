/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the kernel says about a network interface, as the data path needs
 * to know it before trusting XDP with media: its driver kind, whether it
 * is up, its MTU, the XDP programs attached to it, the XDP actions its
 * driver can take (the netdev family's xdp-features, kernel 6.3 and
 * later), and for a veth its peer, which may live in another network
 * namespace (read through IFLA_TARGET_NETNSID). Also the driver's own XDP
 * error counters (ethtool statistics), which say when frames the program
 * sent were dropped after its verdict.
 *
 * Plain queries over rtnetlink, generic netlink and the ethtool ioctl; no
 * state is kept between calls.
 */
#ifndef SLUICE_DP_LINK_H
#define SLUICE_DP_LINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include <linux/types.h>

/* The netdev family's xdp-features bits (linux/netdev.h, 6.3). */
#define DP_XDP_ACT_BASIC	(1u << 0)
#define DP_XDP_ACT_REDIRECT	(1u << 1)
#define DP_XDP_ACT_NDO_XMIT	(1u << 2)

#define DP_LINK_SAME_NS		(-1)	/* nsid of a link in our own namespace */

struct dp_link {
	int	ifindex;
	char	name[IF_NAMESIZE];
	char	kind[16];	/* IFLA_INFO_KIND: "veth", "bridge", ""... */
	bool	up;		/* administratively up */
	bool	carrier;
	__u32	mtu;
	__u8	xdp_attached;	/* XDP_ATTACHED_NONE, _DRV, _SKB, _HW, _MULTI */
	__u32	xdp_drv_prog;	/* id of the native program, 0 for none */
	__u32	xdp_skb_prog;	/* id of the generic program, 0 for none */
	/* A veth's peer, or another link's lower device (IFLA_LINK). */
	int	link_ifindex;
	int	link_nsid;	/* DP_LINK_SAME_NS, or the peer's namespace id */
	char	master[IF_NAMESIZE];	/* the bridge a port belongs to, or "" */
};

/*
 * Reads the link ifindex in the namespace nsid (DP_LINK_SAME_NS for our
 * own). -ENODEV when there is no such link.
 */
int dp_link_get(int ifindex, int nsid, struct dp_link *out);
int dp_link_get_by_name(const char *name, struct dp_link *out);

/*
 * The driver's XDP features for ifindex in our namespace. -EOPNOTSUPP when
 * the kernel has no netdev family (before 6.3): nobody can tell then.
 */
int dp_link_xdp_features(int ifindex, __u64 *features);

static inline bool dp_link_is_veth(const struct dp_link *l)
{
	return !__builtin_strcmp(l->kind, "veth");
}

/*
 * The driver's XDP counters of name (ethtool -S): errors, the sum of every
 * statistic whose name holds "xdp" and "err" (transmit and redirect
 * failures); sent, for a veth, the frames it took from XDP_TX and from
 * redirects to it (rx_queue_N_xdp_tx, tx_queue_N_xdp_xmit). -EOPNOTSUPP
 * for a driver without XDP error counters.
 */
int dp_link_xdp_counters(const char *name, __u64 *sent, __u64 *errors);

/*
 * Whether frames that XDP native on l transmits (XDP_TX, or a redirect out
 * of l) reach the other end. For a veth they land in the peer's receive
 * ring, which the veth driver serves only while the peer runs NAPI: when
 * the peer has an XDP program of its own, or GRO on. Without it the driver
 * counts them as errors and drops them (kernel 6.18, seen by test 96),
 * and XDP_TX is worse: with GRO alone on the peer it queues frames that
 * are never sent. So the program sends a veth's frames back out with a
 * redirect, never XDP_TX (see bpf/sluice.bpf.c), and what a veth needs is
 * its peer's NAPI, which the kernel reports as l's NDO_XMIT xdp-feature.
 *
 * Returns 1 when frames are delivered, 0 when they are not (why says so
 * and names the fix), or -errno when the kernel cannot tell (why says
 * what is missing). Drivers other than veth are trusted to transmit what
 * their XDP_TX takes; as redirect targets (redirect_target) they must
 * have NDO_XMIT.
 */
int dp_link_native_delivers(const struct dp_link *l, bool redirect_target, char *why,
			    size_t whylen);

#endif /* SLUICE_DP_LINK_H */
