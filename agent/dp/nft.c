// SPDX-License-Identifier: GPL-2.0-only
/*
 * table inet sluice: what sluiced asks of netfilter beside a kernel data
 * path, built with libnftnl and sent with libmnl (never the nft binary,
 * which a server need not have).
 *
 * RTP needs no connection tracking. The kernel paths forward a call's
 * packets before conntrack sees them, but everything that reaches the
 * stack does not: a stream's first packets until it latches, a stranger's
 * packets, the userspace relay's, and sluiced's own sends. Tracked, each
 * costs a hash lookup and, over a whole port range, fills the conntrack
 * table with entries nobody reads. So:
 *
 *   chain prerouting  filter hook prerouting priority raw: udp dport LOW-HIGH notrack
 *   chain output      filter hook output priority raw:     udp sport LOW-HIGH notrack
 *
 * Priority raw (-300) runs before conntrack (-200) on both hooks. With
 * [media] firewall = yes an input chain (priority filter, policy accept)
 * also accepts udp LOW-HIGH and the SIP port(s) over UDP and TCP. An
 * accept here does not override a drop in another table: nftables runs
 * every base chain of a hook and a packet must pass all of them. The
 * chain serves hosts whose own ruleset has no drop for these ports; an
 * operator with a drop policy adds the same ports (and `ct state
 * untracked`, which notracked media now is) to their own table.
 *
 * Installing sends one batch: add the table (create, not exclusive, so
 * that it exists), delete it, add it again with its chains and rules. The
 * kernel applies a batch whole or not at all, so a running sluice is never
 * without its table and a restarted one never leaves two copies of a rule.
 */
#include <errno.h>
#include <netinet/in.h>	/* before the linux/ headers, which then skip theirs */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "dp/nft.h"

#define NFT_PRIO_RAW		(-300)	/* NF_IP_PRI_RAW: before conntrack's -200 */
#define NFT_PRIO_FILTER		0
#define NFT_BATCH_LIMIT		8192	/* bytes; the whole table takes about 2 KiB */
#define NFT_MAX_MSGS		32	/* begin, 2 tables, 3 chains, rules, end */
#define NFT_STEP_LEN		64
#define NFT_OFF_SPORT		0	/* of the UDP and the TCP header alike */
#define NFT_OFF_DPORT		2
#define NFT_RECV_TIMEOUT_S	2	/* the kernel answers while we send; a bound */

/* A batch being built, with what each message does, to name a refusal. */
struct nft_batch {
	struct mnl_nlmsg_batch	*b;
	uint32_t		seq0;		/* the begin message's */
	int			n;		/* messages, begin included */
	bool			full;
	char			step[NFT_MAX_MSGS][NFT_STEP_LEN];
	char			buf[2 * NFT_BATCH_LIMIT];	/* a limit and its overrun */
};

/* One rule of the table: PROTO (sport|dport) LOW-HIGH (notrack|accept). */
struct nft_rule_def {
	const char	*chain;
	uint8_t		proto;		/* IPPROTO_UDP, IPPROTO_TCP */
	uint32_t	port_off;	/* NFT_OFF_SPORT, NFT_OFF_DPORT */
	uint16_t	low, high;	/* host order */
	bool		notrack;	/* else accept */
};

/* Where the next message goes, with its step name set; NULL when full. */
static void *nft_next(struct nft_batch *nb, const char *fmt, const char *arg)
{
	if (nb->full || nb->n == NFT_MAX_MSGS) {
		nb->full = true;
		return NULL;
	}
	snprintf(nb->step[nb->n], NFT_STEP_LEN, fmt, arg);
	return mnl_nlmsg_batch_current(nb->b);
}

static uint32_t nft_seq(const struct nft_batch *nb)
{
	return nb->seq0 + (uint32_t)nb->n;
}

/* Counts the message just written; a batch past its limit is refused whole. */
static void nft_done(struct nft_batch *nb)
{
	nb->n++;
	if (!mnl_nlmsg_batch_next(nb->b))
		nb->full = true;
}

static int nft_put_table(struct nft_batch *nb, uint16_t cmd, uint16_t flags, const char *step)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	void *at = nft_next(nb, "%s", step);

	if (!t)
		return -ENOMEM;
	if (at) {
		nftnl_table_set_str(t, NFTNL_TABLE_NAME, DP_NFT_TABLE);
		nlh = nftnl_nlmsg_build_hdr(at, cmd, NFPROTO_INET, flags | NLM_F_ACK,
					    nft_seq(nb));
		nftnl_table_nlmsg_build_payload(nlh, t);
		nft_done(nb);
	}
	nftnl_table_free(t);
	return 0;
}

/* A base chain of type filter; policy accept, so it never drops by itself. */
static int nft_put_chain(struct nft_batch *nb, const char *name, uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	void *at = nft_next(nb, "chain %s", name);

	if (!c)
		return -ENOMEM;
	if (at) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, DP_NFT_TABLE);
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nlh = nftnl_nlmsg_build_hdr(at, NFT_MSG_NEWCHAIN, NFPROTO_INET,
					    NLM_F_CREATE | NLM_F_ACK, nft_seq(nb));
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nft_done(nb);
	}
	nftnl_chain_free(c);
	return 0;
}

/* ---- expressions: what `nft` itself generates for the same rule ---- */

/* meta l4proto PROTO: the dependency that makes a port match mean UDP or TCP. */
static bool nft_match_l4proto(struct nftnl_rule *r, uint8_t proto)
{
	struct nftnl_expr *meta = nftnl_expr_alloc("meta");
	struct nftnl_expr *cmp = nftnl_expr_alloc("cmp");

	if (!meta || !cmp) {
		nftnl_expr_free(meta);
		nftnl_expr_free(cmp);
		return false;
	}
	nftnl_expr_set_u32(meta, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
	nftnl_expr_set_u32(meta, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, meta);
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, &proto, sizeof(proto));
	nftnl_rule_add_expr(r, cmp);
	return true;
}

/* The port at off in the transport header, equal to low or within low-high. */
static bool nft_match_port(struct nftnl_rule *r, uint32_t off, uint16_t low, uint16_t high)
{
	struct nftnl_expr *load = nftnl_expr_alloc("payload");
	struct nftnl_expr *test = nftnl_expr_alloc(low == high ? "cmp" : "range");
	uint16_t lo_be = htons(low), hi_be = htons(high);	/* the packet's order */

	if (!load || !test) {
		nftnl_expr_free(load);
		nftnl_expr_free(test);
		return false;
	}
	nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
	nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_LEN, sizeof(lo_be));
	nftnl_expr_set_u32(load, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, load);
	if (low == high) {
		nftnl_expr_set_u32(test, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(test, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(test, NFTNL_EXPR_CMP_DATA, &lo_be, sizeof(lo_be));
	} else {
		/* range compares bytes: big-endian ports order as numbers do. */
		nftnl_expr_set_u32(test, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(test, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
		nftnl_expr_set(test, NFTNL_EXPR_RANGE_FROM_DATA, &lo_be, sizeof(lo_be));
		nftnl_expr_set(test, NFTNL_EXPR_RANGE_TO_DATA, &hi_be, sizeof(hi_be));
	}
	nftnl_rule_add_expr(r, test);
	return true;
}

static bool nft_action(struct nftnl_rule *r, bool notrack)
{
	struct nftnl_expr *e = nftnl_expr_alloc(notrack ? "notrack" : "immediate");

	if (!e)
		return false;
	if (!notrack) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	}
	nftnl_rule_add_expr(r, e);
	return true;
}

static int nft_put_rule(struct nft_batch *nb, const struct nft_rule_def *d)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	char step[NFT_STEP_LEN];
	void *at;
	int err = 0;

	if (!r)
		return -ENOMEM;
	snprintf(step, sizeof(step), "rule %s %s %s %u-%u %s", d->chain,
		 d->proto == IPPROTO_TCP ? "tcp" : "udp",
		 d->port_off == NFT_OFF_SPORT ? "sport" : "dport", d->low, d->high,
		 d->notrack ? "notrack" : "accept");
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, DP_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, d->chain);
	if (!nft_match_l4proto(r, d->proto) || !nft_match_port(r, d->port_off, d->low, d->high) ||
	    !nft_action(r, d->notrack)) {
		err = -ENOMEM;
		goto out_free_rule;
	}
	at = nft_next(nb, "%s", step);
	if (at) {
		/* Appended in the order put: CREATE|APPEND, as `nft add rule`. */
		nlh = nftnl_nlmsg_build_hdr(at, NFT_MSG_NEWRULE, NFPROTO_INET,
					    NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, nft_seq(nb));
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nft_done(nb);
	}
out_free_rule:
	nftnl_rule_free(r);
	return err;
}

/* ---- the batch ---- */

static int nft_begin(struct nft_batch *nb)
{
	int err;

	nb->b = mnl_nlmsg_batch_start(nb->buf, NFT_BATCH_LIMIT);
	nb->seq0 = (uint32_t)time(NULL);
	nb->n = 0;
	nb->full = false;
	/* The begin and end messages' own errors are the batch's as a whole. */
	nft_next(nb, "%s", "batch");
	nftnl_batch_begin(mnl_nlmsg_batch_current(nb->b), nft_seq(nb));
	nft_done(nb);
	/*
	 * Add (not exclusive), then delete: whether or not a table was there,
	 * what follows starts from none, and a removal never fails on ENOENT.
	 */
	err = nft_put_table(nb, NFT_MSG_NEWTABLE, NLM_F_CREATE, "add table (to replace it)");
	if (!err)
		err = nft_put_table(nb, NFT_MSG_DELTABLE, 0, "delete table");
	return err;
}

/*
 * Ends the batch, sends it and reads an acknowledgement per message until
 * all came or one refused; nf_tables then dropped the batch whole.
 */
static int nft_commit(struct nft_batch *nb, char *why, size_t whylen)
{
	struct timeval tv = { .tv_sec = NFT_RECV_TIMEOUT_S };
	char rx[NFT_BATCH_LIMIT];
	struct mnl_socket *nl;
	int acks = 0, want, err = 0;
	uint32_t bad = 0;

	if (nft_next(nb, "%s", "batch end")) {
		nftnl_batch_end(mnl_nlmsg_batch_current(nb->b), nft_seq(nb));
		nft_done(nb);
	}
	if (nb->full) {
		snprintf(why, whylen, "the batch outgrew its buffer (a bug)");
		err = -E2BIG;
		goto out_stop;
	}
	want = nb->n - 2;	/* begin and end carry no ACK flag */
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl) {
		err = -errno;
		snprintf(why, whylen, "netfilter netlink socket: %s", strerror(errno));
		goto out_stop;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    mnl_socket_sendto(nl, mnl_nlmsg_batch_head(nb->b), mnl_nlmsg_batch_size(nb->b)) < 0) {
		err = -errno;
		snprintf(why, whylen, "netfilter netlink: %s", strerror(errno));
		goto out_close;
	}
	while (acks < want && !err) {
		ssize_t n = mnl_socket_recvfrom(nl, rx, sizeof(rx));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rx;
		int len = (int)n;

		if (n < 0) {
			err = -errno;
			snprintf(why, whylen, "no answer from nf_tables: %s", strerror(errno));
			break;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			acks++;
			if (e->error && !err) {
				err = e->error;
				bad = nlh->nlmsg_seq - nb->seq0;
			}
		}
	}
	if (err && bad < (uint32_t)nb->n)
		snprintf(why, whylen, "%s: %s", nb->step[bad], strerror(-err));
out_close:
	mnl_socket_close(nl);
out_stop:
	mnl_nlmsg_batch_stop(nb->b);
	return err;
}

/* The rules spec asks for, in the order `nft list` shows them. */
static int nft_put_rules(struct nft_batch *nb, const struct dp_nft_spec *s)
{
	const struct nft_rule_def media[] = {
		{ "prerouting", IPPROTO_UDP, NFT_OFF_DPORT, s->media_low, s->media_high, true },
		{ "output", IPPROTO_UDP, NFT_OFF_SPORT, s->media_low, s->media_high, true },
		{ "input", IPPROTO_UDP, NFT_OFF_DPORT, s->media_low, s->media_high, false },
	};
	int i, err = 0;

	for (i = 0; i < (s->firewall ? 3 : 2) && !err; i++)
		err = nft_put_rule(nb, &media[i]);
	for (i = 0; s->firewall && i < s->n_sip && !err; i++) {
		struct nft_rule_def sip = { "input", IPPROTO_UDP, NFT_OFF_DPORT,
					    s->sip_ports[i], s->sip_ports[i], false };

		err = nft_put_rule(nb, &sip);
		sip.proto = IPPROTO_TCP;
		if (!err)
			err = nft_put_rule(nb, &sip);
	}
	return err;
}

int dp_nft_install(const struct dp_nft_spec *spec, char *why, size_t whylen)
{
	struct nft_batch nb;
	int err;

	if (!spec->media_low || spec->media_low > spec->media_high ||
	    spec->n_sip < 0 || spec->n_sip > DP_NFT_MAX_SIP) {
		snprintf(why, whylen, "bad port range %u-%u or %d SIP ports", spec->media_low,
			 spec->media_high, spec->n_sip);
		return -EINVAL;
	}
	err = nft_begin(&nb);
	if (!err)
		err = nft_put_table(&nb, NFT_MSG_NEWTABLE, NLM_F_CREATE, "add table");
	if (!err)
		err = nft_put_chain(&nb, "prerouting", NF_INET_PRE_ROUTING, NFT_PRIO_RAW);
	if (!err)
		err = nft_put_chain(&nb, "output", NF_INET_LOCAL_OUT, NFT_PRIO_RAW);
	if (!err && spec->firewall)
		err = nft_put_chain(&nb, "input", NF_INET_LOCAL_IN, NFT_PRIO_FILTER);
	if (!err)
		err = nft_put_rules(&nb, spec);
	if (err) {
		snprintf(why, whylen, "building the batch: %s", strerror(-err));
		mnl_nlmsg_batch_stop(nb.b);
		return err;
	}
	return nft_commit(&nb, why, whylen);
}

int dp_nft_remove(char *why, size_t whylen)
{
	struct nft_batch nb;
	int err = nft_begin(&nb);

	if (err) {
		snprintf(why, whylen, "building the batch: %s", strerror(-err));
		mnl_nlmsg_batch_stop(nb.b);
		return err;
	}
	return nft_commit(&nb, why, whylen);
}

void dp_nft_describe(const struct dp_nft_spec *spec, char *buf, size_t len)
{
	size_t n;
	int i;

	n = (size_t)snprintf(buf, len, "notrack udp %u-%u", spec->media_low, spec->media_high);
	if (!spec->firewall || n >= len)
		return;
	n += (size_t)snprintf(buf + n, len - n, ", firewall accepts udp %u-%u",
			      spec->media_low, spec->media_high);
	for (i = 0; i < spec->n_sip && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, ", udp/tcp %u", spec->sip_ports[i]);
}

static int table_cb(const struct nlmsghdr *nlh, void *arg)
{
	(void)nlh;
	*(bool *)arg = true;	/* the table's NEWTABLE: it is there */
	return MNL_CB_OK;
}

int dp_nft_table_present(bool *present, char *why, size_t whylen)
{
	struct timeval tv = { .tv_sec = NFT_RECV_TIMEOUT_S };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)time(NULL), portid;
	int err = 0;
	ssize_t n;

	*present = false;
	if (!t)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, seq);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, DP_NFT_TABLE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		snprintf(why, whylen, "netfilter netlink: %s", strerror(errno));
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			err = -errno;
			snprintf(why, whylen, "no answer from nf_tables: %s", strerror(errno));
			break;
		}
		err = mnl_cb_run(buf, (size_t)n, seq, portid, table_cb, present);
	} while (err == MNL_CB_OK);
	if (err < 0 && errno == ENOENT) {
		*present = false;
		err = 0;
	} else if (err < 0) {
		err = -errno;
		snprintf(why, whylen, "listing table inet %s: %s", DP_NFT_TABLE, strerror(errno));
	} else {
		err = 0;
	}
out:
	if (nl)
		mnl_socket_close(nl);
	nftnl_table_free(t);
	return err;
}
