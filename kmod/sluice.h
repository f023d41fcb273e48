/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the parts of sluice.ko share: the per-namespace state (flow table,
 * verdict counters, hooks) and the flow table's interface. The table is
 * written by generic netlink requests (genl.c) and read by the netfilter
 * hook (hook.c) under RCU; main.c ties them to module and namespace life.
 */
#ifndef SLUICE_KMOD_H
#define SLUICE_KMOD_H

#include <linux/mutex.h>
#include <linux/netfilter_ipv4.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include <sluice/abi.h>

/* Hash buckets per namespace: 2^bits. */
#ifndef SLUICE_KMOD_HASH_BITS
#define SLUICE_KMOD_HASH_BITS 12
#endif

/* Before the raw table and connection tracking (the same for IPv6). */
#define SLUICE_KMOD_PRIORITY	(NF_IP_PRI_RAW - 1)

/* An action, replaced whole under RCU so that a reader sees old or new. */
struct sluice_kact {
	struct rcu_head			rcu;
	struct sluice_flow_action	a;
};

struct sluice_kflow {
	struct hlist_node		node;	/* in sluice_net.buckets, RCU */
	struct rcu_head			rcu;
	struct sluice_flow_key		key;
	struct sluice_kact __rcu	*act;
	spinlock_t			lock;	/* stats: hook (softirq) vs. readers */
	struct sluice_flow_stats	stats;
};

struct sluice_net {
	struct mutex			lock;	/* writers of buckets */
	struct hlist_head		*buckets;
	u32				seed;
	u32				n_flows;
	u32				gen;	/* bumped by every change, for dumps */
	struct sluice_verdict __percpu	*verdicts;	/* [SLUICE_V_MAX] per CPU */
	bool				hooked;
};

extern unsigned int sluice_net_id;

static inline struct sluice_net *sluice_net(const struct net *net)
{
	return net_generic(net, sluice_net_id);
}

/* flow.c */
int sluice_table_init(struct sluice_net *sn);
void sluice_table_exit(struct sluice_net *sn);
struct sluice_kflow *sluice_flow_lookup(struct sluice_net *sn, const struct sluice_flow_key *key);
int sluice_flow_add(struct sluice_net *sn, const struct sluice_flow_key *key,
		    const struct sluice_flow_action *act);
int sluice_flow_update(struct sluice_net *sn, const struct sluice_flow_key *key,
		       const struct sluice_flow_action *act);
int sluice_flow_del(struct sluice_net *sn, const struct sluice_flow_key *key);
u32 sluice_flow_flush(struct sluice_net *sn);
/* Copies a flow's statistics consistently; zeroes when there is no flow. */
void sluice_flow_stats_read(struct sluice_net *sn, const struct sluice_flow_key *key,
			    struct sluice_flow_stats *out);
void sluice_kflow_stats_copy(struct sluice_kflow *f, struct sluice_flow_stats *out);
bool sluice_flow_valid(const struct sluice_flow_key *key, const struct sluice_flow_action *act);

static inline u32 sluice_n_buckets(void)
{
	return 1u << SLUICE_KMOD_HASH_BITS;
}

/* hook.c */
int sluice_hook_register(struct net *net);
void sluice_hook_unregister(struct net *net);
void sluice_verdicts_sum(struct sluice_net *sn, struct sluice_verdict out[SLUICE_V_MAX]);

/* genl.c */
int sluice_genl_init(void);
void sluice_genl_exit(void);

#endif /* SLUICE_KMOD_H */
