// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interface facts for the data path (link.h): rtnetlink for a link and its
 * veth peer, the netdev generic netlink family for xdp-features, and the
 * ethtool ioctl for the driver's XDP error counters. Each call opens its
 * own socket and closes it: these run at start, from `sluicectl doctor`
 * and from the once-a-second delivery watch, never per packet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#include "dp/link.h"

/* linux/netdev.h (6.3), which Debian 12's headers predate. */
#define NETDEV_FAMILY		"netdev"
#define NETDEV_CMD_DEV_GET	1
#define NETDEV_A_DEV_IFINDEX	1
#define NETDEV_A_DEV_XDP_FEATURES 3

#define LINK_BUF	16384

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP	(1 << 16)	/* linux/if.h, which clashes with net/if.h */
#endif

struct nl_req {
	struct mnl_socket	*nl;
	__u32			portid;
	__u32			seq;
	char			buf[LINK_BUF];
};

static int nl_open(struct nl_req *r, int bus)
{
	r->nl = mnl_socket_open(bus);
	if (!r->nl)
		return -errno;
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(r->nl);
		return err;
	}
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = 1;
	return 0;
}

/* Sends the request in r->buf and runs cb over the answer. */
static int nl_call(struct nl_req *r, mnl_cb_t cb, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)r->buf;
	ssize_t n;
	int rc;

	nlh->nlmsg_seq = r->seq;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(r->nl, r->buf, sizeof(r->buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(r->buf, (size_t)n, r->seq, r->portid, cb, arg);
	} while (rc == MNL_CB_OK);
	return rc < 0 ? -errno : 0;
}

/* ---- rtnetlink ---- */

static void parse_xdp(const struct nlattr *nest, struct dp_link *l)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_XDP_ATTACHED:
			l->xdp_attached = mnl_attr_get_u8(a);
			break;
		case IFLA_XDP_DRV_PROG_ID:
			l->xdp_drv_prog = mnl_attr_get_u32(a);
			break;
		case IFLA_XDP_SKB_PROG_ID:
			l->xdp_skb_prog = mnl_attr_get_u32(a);
			break;
		case IFLA_XDP_PROG_ID:
			/* One program: its mode is in IFLA_XDP_ATTACHED. */
			if (l->xdp_attached == XDP_ATTACHED_DRV)
				l->xdp_drv_prog = mnl_attr_get_u32(a);
			else if (l->xdp_attached == XDP_ATTACHED_SKB)
				l->xdp_skb_prog = mnl_attr_get_u32(a);
			break;
		}
	}
}

static void parse_linkinfo(const struct nlattr *nest, struct dp_link *l)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
		    !mnl_attr_validate(a, MNL_TYPE_STRING))
			snprintf(l->kind, sizeof(l->kind), "%s", mnl_attr_get_str(a));
	}
}

struct link_ans {
	struct dp_link	*l;
	int		master;
};

static int link_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct link_ans *ans = arg;
	struct dp_link *l = ans->l;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	l->ifindex = ifi->ifi_index;
	l->up = ifi->ifi_flags & IFF_UP;
	l->carrier = ifi->ifi_flags & IFF_LOWER_UP;
	/* The XDP nest: IFLA_XDP_ATTACHED comes before IFLA_XDP_PROG_ID. */
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (!mnl_attr_validate(a, MNL_TYPE_STRING))
				snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_MTU:
			l->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_LINK:
			l->link_ifindex = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_LINK_NETNSID:
			l->link_nsid = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_MASTER:
			ans->master = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_XDP:
			parse_xdp(a, l);
			break;
		case IFLA_LINKINFO:
			parse_linkinfo(a, l);
			break;
		}
	}
	return MNL_CB_OK;
}

static int link_query(struct nl_req *r, int ifindex, int nsid, struct link_ans *ans)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;	/* the ack ends the answer */
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (nsid != DP_LINK_SAME_NS)
		mnl_attr_put_u32(nlh, IFLA_TARGET_NETNSID, (__u32)nsid);
	r->seq++;
	return nl_call(r, link_cb, ans);
}

int dp_link_get(int ifindex, int nsid, struct dp_link *out)
{
	struct link_ans ans = { .l = out };
	struct nl_req *r;
	int err;

	memset(out, 0, sizeof(*out));
	out->link_nsid = DP_LINK_SAME_NS;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	err = nl_open(r, NETLINK_ROUTE);
	if (err)
		goto out_free;
	err = link_query(r, ifindex, nsid, &ans);
	if (!err && !out->ifindex)
		err = -ENODEV;
	if (!err && ans.master) {
		struct dp_link m;
		struct link_ans mans = { .l = &m };

		memset(&m, 0, sizeof(m));
		if (!link_query(r, ans.master, nsid, &mans))
			snprintf(out->master, sizeof(out->master), "%s", m.name);
	}
	mnl_socket_close(r->nl);
out_free:
	free(r);
	return err;
}

int dp_link_get_by_name(const char *name, struct dp_link *out)
{
	unsigned idx = if_nametoindex(name);

	if (!idx)
		return -ENODEV;
	return dp_link_get((int)idx, DP_LINK_SAME_NS, out);
}

/* ---- the netdev family ---- */

static int family_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
		    !mnl_attr_validate(a, MNL_TYPE_U16))
			*(__u16 *)arg = mnl_attr_get_u16(a);
	}
	return MNL_CB_OK;
}

static int features_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == NETDEV_A_DEV_XDP_FEATURES &&
		    !mnl_attr_validate(a, MNL_TYPE_U64))
			*(__u64 *)arg = mnl_attr_get_u64(a);
	}
	return MNL_CB_OK;
}

static struct nlmsghdr *genl_put(char *buf, __u16 type, __u8 cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = 1;
	return nlh;
}

int dp_link_xdp_features(int ifindex, __u64 *features)
{
	struct nlmsghdr *nlh;
	struct nl_req *r;
	__u16 family = 0;
	int err;

	*features = 0;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	err = nl_open(r, NETLINK_GENERIC);
	if (err)
		goto out_free;
	nlh = genl_put(r->buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, NETDEV_FAMILY);
	r->seq++;
	err = nl_call(r, family_cb, &family);
	if (err == -ENOENT || (!err && !family)) {
		err = -EOPNOTSUPP;
		goto out_close;
	}
	if (err)
		goto out_close;
	nlh = genl_put(r->buf, family, NETDEV_CMD_DEV_GET);
	mnl_attr_put_u32(nlh, NETDEV_A_DEV_IFINDEX, (__u32)ifindex);
	r->seq++;
	err = nl_call(r, features_cb, features);
out_close:
	mnl_socket_close(r->nl);
out_free:
	free(r);
	return err;
}

/* ---- ethtool statistics ---- */

static int ethtool(int fd, const char *name, void *cmd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = cmd;
	return ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
}

static bool is_xdp_error(const char *s)
{
	return strstr(s, "xdp") && strstr(s, "err");
}

/* veth: rx_queue_N_xdp_tx (XDP_TX) and tx_queue_N_xdp_xmit (redirected to it). */
static bool is_xdp_sent(const char *s)
{
	size_t n = strlen(s);

	return strstr(s, "xdp") && !strstr(s, "err") &&
	       (strstr(s, "xdp_xmit") || (n > 7 && !strcmp(s + n - 7, "_xdp_tx")));
}

static int stats_count(int fd, const char *name, __u32 *n)
{
	/* The header and the one count asked for (its flexible data[]). */
	union {
		struct ethtool_sset_info hdr;
		__u8 buf[sizeof(struct ethtool_sset_info) + sizeof(__u32)];
	} sset;
	int err;

	memset(&sset, 0, sizeof(sset));
	sset.hdr.cmd = ETHTOOL_GSSET_INFO;
	sset.hdr.sset_mask = 1ULL << ETH_SS_STATS;
	err = ethtool(fd, name, &sset);
	if (err)
		return err;
	*n = sset.hdr.sset_mask ? sset.hdr.data[0] : 0;
	return *n ? 0 : -EOPNOTSUPP;
}

int dp_link_xdp_counters(const char *name, __u64 *sent, __u64 *errors)
{
	struct ethtool_gstrings *strs = NULL;
	struct ethtool_stats *vals = NULL;
	bool any = false;
	__u32 n = 0, i;
	int fd, err;

	*errors = *sent = 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = stats_count(fd, name, &n);
	if (err)
		goto out_close;
	strs = calloc(1, sizeof(*strs) + (size_t)n * ETH_GSTRING_LEN);
	vals = calloc(1, sizeof(*vals) + (size_t)n * sizeof(__u64));
	if (!strs || !vals) {
		err = -ENOMEM;
		goto out_free;
	}
	strs->cmd = ETHTOOL_GSTRINGS;
	strs->string_set = ETH_SS_STATS;
	strs->len = n;
	vals->cmd = ETHTOOL_GSTATS;
	vals->n_stats = n;
	err = ethtool(fd, name, strs);
	if (!err)
		err = ethtool(fd, name, vals);
	if (err)
		goto out_free;
	/* A driver may report fewer than it counted when asked. */
	n = vals->n_stats < strs->len ? vals->n_stats : strs->len;
	for (i = 0; i < n; i++) {
		char s[ETH_GSTRING_LEN + 1];

		memcpy(s, strs->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		s[ETH_GSTRING_LEN] = '\0';
		if (is_xdp_sent(s))
			*sent += vals->data[i];
		if (!is_xdp_error(s))
			continue;
		*errors += vals->data[i];
		any = true;
	}
	err = any ? 0 : -EOPNOTSUPP;
out_free:
	free(strs);
	free(vals);
out_close:
	close(fd);
	return err;
}

/* ---- delivery ---- */

/* The peer's name, "brs" or "brs (netns id 3)" when it lives in another namespace. */
static void peer_name(const struct dp_link *l, char *name, size_t nlen, char *where, size_t wlen)
{
	struct dp_link p;

	if (!dp_link_get(l->link_ifindex, l->link_nsid, &p) && p.name[0])
		snprintf(name, nlen, "%s", p.name);
	else
		snprintf(name, nlen, "ifindex %d", l->link_ifindex);
	if (l->link_nsid != DP_LINK_SAME_NS)
		snprintf(where, wlen, "%s (netns id %d)", name, l->link_nsid);
	else
		snprintf(where, wlen, "%s", name);
}

/* Without xdp-features: a peer with a native XDP program is the one sure sign. */
static int veth_peer_has_xdp(const struct dp_link *l, const char *peer, const char *where,
			     char *why, size_t whylen)
{
	struct dp_link p;
	int err = dp_link_get(l->link_ifindex, l->link_nsid, &p);

	if (err) {
		snprintf(why, whylen, "%s is a veth whose peer (%s) cannot be read: %s", l->name,
			 peer, strerror(-err));
		return err;
	}
	if (p.xdp_drv_prog)
		return 1;
	snprintf(why, whylen, "%s is a veth and this kernel cannot say whether its peer %s takes "
		 "XDP frames (no netdev xdp-features before Linux 6.3); fix: `sluicectl xdp-pass "
		 "%s` where it lives", l->name, where, peer);
	return -EOPNOTSUPP;
}

int dp_link_native_delivers(const struct dp_link *l, bool redirect_target, char *why,
			    size_t whylen)
{
	char peer[IF_NAMESIZE + 16], where[IF_NAMESIZE + 40];
	__u64 feat = 0;
	int err;

	if (!dp_link_is_veth(l) && !redirect_target)
		return 1;
	err = dp_link_xdp_features(l->ifindex, &feat);
	if (dp_link_is_veth(l)) {
		peer_name(l, peer, sizeof(peer), where, sizeof(where));
		if (err == -EOPNOTSUPP)
			return veth_peer_has_xdp(l, peer, where, why, whylen);
	}
	if (err) {
		snprintf(why, whylen, "%s: reading its xdp-features: %s", l->name, strerror(-err));
		return err;
	}
	if (feat & DP_XDP_ACT_NDO_XMIT)
		return 1;
	if (dp_link_is_veth(l))
		snprintf(why, whylen, "%s is a veth whose peer %s has neither GRO nor an XDP "
			 "program, so the veth driver drops what XDP native sends out of %s; fix: "
			 "`ethtool -K %s gro on` or `sluicectl xdp-pass %s` where it lives", l->name,
			 where, l->name, peer, peer);
	else
		snprintf(why, whylen, "%s's driver cannot transmit frames redirected to it "
			 "(no ndo_xdp_xmit)", l->name);
	return 0;
}
