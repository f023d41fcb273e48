// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic netlink family "sluice" (include/sluice/genl.h): how sluiced
 * programs the module. Requests act on the flow table of the caller's
 * network namespace. The family's version is the ABI version, and every
 * request must carry it: a sluiced built for another ABI is refused with
 * -EPROTO and one log line naming both versions, never half understood.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include <sluice/genl.h>

#include "sluice.h"

static struct genl_family sluice_genl_family;

static const struct nla_policy sluice_genl_policy[SLUICE_A_MAX + 1] = {
	[SLUICE_A_ABI_VERSION]	= { .type = NLA_U32 },
	[SLUICE_A_FLOW_KEY]	= NLA_POLICY_EXACT_LEN(sizeof(struct sluice_flow_key)),
	[SLUICE_A_FLOW_ACTION]	= NLA_POLICY_EXACT_LEN(sizeof(struct sluice_flow_action)),
	[SLUICE_A_FLOW_KEYS]	= { .type = NLA_BINARY,
				    .len = SLUICE_GENL_STATS_BATCH *
					   sizeof(struct sluice_flow_key) },
};

static int sluice_genl_check_abi(u32 version, struct netlink_ext_ack *extack)
{
	if (version == SLUICE_ABI_VERSION)
		return 0;
	pr_warn_ratelimited("sluice: refusing a request of ABI %u: this module is ABI %u (sluiced and sluice.ko must come from the same release)\n",
			    version, SLUICE_ABI_VERSION);
	NL_SET_ERR_MSG(extack, "sluice: request and module differ in ABI version");
	return -EPROTO;
}

static struct sluice_net *sluice_genl_net(struct genl_info *info)
{
	return sluice_net(genl_info_net(info));
}

/* Copies an attribute out: netlink aligns payloads to 4 bytes only. */
static int sluice_genl_get(struct genl_info *info, int type, void *out, size_t len)
{
	if (!info->attrs[type]) {
		GENL_SET_ERR_MSG(info, "sluice: missing attribute");
		return -EINVAL;
	}
	memcpy(out, nla_data(info->attrs[type]), len);
	return 0;
}

/* A reply to info's command with room for size bytes of attributes. */
static struct sk_buff *sluice_genl_reply_new(struct genl_info *info, size_t size, void **hdr)
{
	struct sk_buff *msg = genlmsg_new(size, GFP_KERNEL);

	if (!msg)
		return NULL;
	*hdr = genlmsg_put_reply(msg, info, &sluice_genl_family, 0, info->genlhdr->cmd);
	if (!*hdr) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int sluice_genl_reply(struct sk_buff *msg, void *hdr, struct genl_info *info)
{
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int sluice_genl_hello(struct sk_buff *skb, struct genl_info *info)
{
	struct sluice_net *sn = sluice_genl_net(info);
	struct sk_buff *msg;
	u32 version;
	void *hdr;
	int err;

	if (!info->attrs[SLUICE_A_ABI_VERSION]) {
		GENL_SET_ERR_MSG(info, "sluice: hello without an ABI version");
		return -EINVAL;
	}
	version = nla_get_u32(info->attrs[SLUICE_A_ABI_VERSION]);
	err = sluice_genl_check_abi(version, info->extack);
	if (err)
		return err;
	msg = sluice_genl_reply_new(info, 3 * nla_total_size(sizeof(u32)), &hdr);
	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, SLUICE_A_ABI_VERSION, SLUICE_ABI_VERSION) ||
	    nla_put_u32(msg, SLUICE_A_MAX_FLOWS, SLUICE_MAX_FLOWS) ||
	    nla_put_u32(msg, SLUICE_A_N_FLOWS, READ_ONCE(sn->n_flows))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return sluice_genl_reply(msg, hdr, info);
}

/* Key and action of an add or update, checked as the XDP loader cannot. */
static int sluice_genl_get_flow(struct genl_info *info, struct sluice_flow_key *key,
				struct sluice_flow_action *act)
{
	int err;

	err = sluice_genl_check_abi(info->genlhdr->version, info->extack);
	if (!err)
		err = sluice_genl_get(info, SLUICE_A_FLOW_KEY, key, sizeof(*key));
	if (!err && act)
		err = sluice_genl_get(info, SLUICE_A_FLOW_ACTION, act, sizeof(*act));
	if (!err && !sluice_flow_valid(key, act)) {
		GENL_SET_ERR_MSG(info, "sluice: bad family, key comp, padding or DSCP in flow");
		err = -EINVAL;
	}
	return err;
}

static int sluice_genl_flow_add(struct sk_buff *skb, struct genl_info *info)
{
	struct sluice_flow_action act;
	struct sluice_flow_key key;
	int err;

	err = sluice_genl_get_flow(info, &key, &act);
	if (err)
		return err;
	return sluice_flow_add(sluice_genl_net(info), &key, &act);
}

static int sluice_genl_flow_update(struct sk_buff *skb, struct genl_info *info)
{
	struct sluice_flow_action act;
	struct sluice_flow_key key;
	int err;

	err = sluice_genl_get_flow(info, &key, &act);
	if (err)
		return err;
	return sluice_flow_update(sluice_genl_net(info), &key, &act);
}

static int sluice_genl_flow_del(struct sk_buff *skb, struct genl_info *info)
{
	struct sluice_flow_key key;
	int err;

	err = sluice_genl_get_flow(info, &key, NULL);
	if (err)
		return err;
	return sluice_flow_del(sluice_genl_net(info), &key);
}

static size_t sluice_genl_flow_size(void)
{
	return nla_total_size(sizeof(struct sluice_flow_key)) +
	       nla_total_size(sizeof(struct sluice_flow_action)) +
	       nla_total_size_64bit(sizeof(struct sluice_flow_stats));
}

/* Copies a flow found under RCU: its action and a consistent copy of its stats. */
static void sluice_genl_copy_flow(struct sluice_kflow *f, struct sluice_flow_action *act,
				  struct sluice_flow_stats *st)
{
	*act = rcu_dereference(f->act)->a;
	sluice_kflow_stats_copy(f, st);
}

static int sluice_genl_put_flow(struct sk_buff *msg, const struct sluice_flow_key *key,
				const struct sluice_flow_action *act,
				const struct sluice_flow_stats *st)
{
	if (nla_put(msg, SLUICE_A_FLOW_KEY, sizeof(*key), key) ||
	    nla_put(msg, SLUICE_A_FLOW_ACTION, sizeof(*act), act) ||
	    nla_put_64bit(msg, SLUICE_A_FLOW_STATS, sizeof(*st), st, SLUICE_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static int sluice_genl_flow_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sluice_net *sn = sluice_genl_net(info);
	struct sluice_flow_action act;
	struct sluice_flow_stats st;
	struct sluice_flow_key key;
	struct sluice_kflow *f;
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = sluice_genl_get_flow(info, &key, NULL);
	if (err)
		return err;
	rcu_read_lock();
	f = sluice_flow_lookup(sn, &key);
	if (f)
		sluice_genl_copy_flow(f, &act, &st);
	rcu_read_unlock();
	if (!f)
		return -ENOENT;

	msg = genlmsg_new(sluice_genl_flow_size(), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &sluice_genl_family, 0, SLUICE_CMD_FLOW_GET);
	if (!hdr || sluice_genl_put_flow(msg, &key, &act, &st)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return sluice_genl_reply(msg, hdr, info);
}

/*
 * Every flow of the namespace, one message each, as many per buffer as fit.
 * cb->args[0] is the bucket to resume at, cb->args[1] the flows of it
 * already sent; a table that changes between two buffers marks the dump
 * NLM_F_DUMP_INTR (the agent then reads again).
 */
static int sluice_genl_flow_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genlmsghdr *gh = nlmsg_data(cb->nlh);
	struct sluice_net *sn = sluice_net(sock_net(skb->sk));
	unsigned long bucket = cb->args[0], skip = cb->args[1], idx = 0;
	struct sluice_flow_action act;
	struct sluice_flow_stats st;
	struct sluice_kflow *f;
	void *hdr;
	int err;

	err = sluice_genl_check_abi(gh->version, cb->extack);
	if (err)
		return err;
	rcu_read_lock();
	cb->seq = READ_ONCE(sn->gen);
	for (; bucket < sluice_n_buckets(); bucket++, skip = 0) {
		idx = 0;
		hlist_for_each_entry_rcu(f, &sn->buckets[bucket], node) {
			if (idx++ < skip)
				continue;
			hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
					  &sluice_genl_family, NLM_F_MULTI, SLUICE_CMD_FLOW_GET);
			if (!hdr)
				goto out_full;
			genl_dump_check_consistent(cb, hdr);
			sluice_genl_copy_flow(f, &act, &st);
			if (sluice_genl_put_flow(skb, &f->key, &act, &st)) {
				genlmsg_cancel(skb, hdr);
				goto out_full;
			}
			genlmsg_end(skb, hdr);
		}
	}
	idx = 0;
	goto out_unlock;

out_full:
	idx--;	/* this flow goes into the next buffer */
out_unlock:
	rcu_read_unlock();
	cb->args[0] = bucket;
	cb->args[1] = idx;
	return skb->len;
}

static int sluice_genl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sluice_net *sn = sluice_genl_net(info);
	const struct nlattr *keys = info->attrs[SLUICE_A_FLOW_KEYS];
	struct sluice_flow_key key;
	struct sk_buff *msg;
	struct nlattr *out;
	void *hdr;
	u32 i, n;
	int err;

	err = sluice_genl_check_abi(info->genlhdr->version, info->extack);
	if (err)
		return err;
	if (!keys || !nla_len(keys) || nla_len(keys) % sizeof(key)) {
		GENL_SET_ERR_MSG(info, "sluice: stats request needs whole flow keys");
		return -EINVAL;
	}
	n = nla_len(keys) / sizeof(key);
	msg = sluice_genl_reply_new(info, nla_total_size_64bit(n * sizeof(struct sluice_flow_stats)),
				    &hdr);
	if (!msg)
		return -ENOMEM;
	out = nla_reserve_64bit(msg, SLUICE_A_STATS_ARRAY, n * sizeof(struct sluice_flow_stats),
				SLUICE_A_PAD);
	if (!out) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	for (i = 0; i < n; i++) {
		struct sluice_flow_stats st;

		memcpy(&key, (const u8 *)nla_data(keys) + i * sizeof(key), sizeof(key));
		sluice_flow_stats_read(sn, &key, &st);
		memcpy((u8 *)nla_data(out) + i * sizeof(st), &st, sizeof(st));
	}
	return sluice_genl_reply(msg, hdr, info);
}

static int sluice_genl_verdicts_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sluice_verdict v[SLUICE_V_MAX];
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = sluice_genl_check_abi(info->genlhdr->version, info->extack);
	if (err)
		return err;
	sluice_verdicts_sum(sluice_genl_net(info), v);
	msg = sluice_genl_reply_new(info, nla_total_size_64bit(sizeof(v)), &hdr);
	if (!msg)
		return -ENOMEM;
	if (nla_put_64bit(msg, SLUICE_A_VERDICTS, sizeof(v), v, SLUICE_A_PAD)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return sluice_genl_reply(msg, hdr, info);
}

static int sluice_genl_flush(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;
	u32 n;
	int err;

	err = sluice_genl_check_abi(info->genlhdr->version, info->extack);
	if (err)
		return err;
	msg = sluice_genl_reply_new(info, nla_total_size(sizeof(u32)), &hdr);
	if (!msg)
		return -ENOMEM;
	n = sluice_flow_flush(sluice_genl_net(info));
	if (nla_put_u32(msg, SLUICE_A_N_FLOWS, n)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return sluice_genl_reply(msg, hdr, info);
}

static const struct genl_small_ops sluice_genl_ops[] = {
	{
		.cmd	= SLUICE_CMD_HELLO,
		.doit	= sluice_genl_hello,
	},
	{
		.cmd	= SLUICE_CMD_FLOW_ADD,
		.doit	= sluice_genl_flow_add,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= SLUICE_CMD_FLOW_UPDATE,
		.doit	= sluice_genl_flow_update,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= SLUICE_CMD_FLOW_DEL,
		.doit	= sluice_genl_flow_del,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= SLUICE_CMD_FLOW_GET,
		.doit	= sluice_genl_flow_get,
		.dumpit	= sluice_genl_flow_dump,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= SLUICE_CMD_STATS_GET,
		.doit	= sluice_genl_stats_get,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= SLUICE_CMD_VERDICTS_GET,
		.doit	= sluice_genl_verdicts_get,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= SLUICE_CMD_FLUSH,
		.doit	= sluice_genl_flush,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
};

static struct genl_family sluice_genl_family __ro_after_init = {
	.name		= SLUICE_GENL_NAME,
	.version	= SLUICE_GENL_VERSION,
	.maxattr	= SLUICE_A_MAX,
	.policy		= sluice_genl_policy,
	.netnsok	= true,
	.module		= THIS_MODULE,
	.small_ops	= sluice_genl_ops,
	.n_small_ops	= ARRAY_SIZE(sluice_genl_ops),
	/* Every command checks the header's reserved field and its attributes strictly. */
	.resv_start_op	= SLUICE_CMD_HELLO,
};

int sluice_genl_init(void)
{
	return genl_register_family(&sluice_genl_family);
}

void sluice_genl_exit(void)
{
	genl_unregister_family(&sluice_genl_family);
}
