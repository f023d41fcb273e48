// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice.ko: sluice's media relay in a netfilter hook, for machines where
 * the XDP program cannot run. This file ties the parts to the module's and
 * each network namespace's life: a namespace gets its flow table, its
 * per-CPU verdict counters and its hooks when it appears (and at load, for
 * those that exist), and loses them when it goes. Unloading with flows
 * installed is safe: the control family goes first, then every
 * namespace's hooks, then its flows, and the module waits for the last
 * RCU callback before its code goes away.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

#include <sluice/genl.h>

#include "sluice.h"

unsigned int sluice_net_id __read_mostly;

static int __net_init sluice_net_init(struct net *net)
{
	struct sluice_net *sn = sluice_net(net);
	int err;

	sn->verdicts = __alloc_percpu(SLUICE_V_MAX * sizeof(struct sluice_verdict),
				      __alignof__(struct sluice_verdict));
	if (!sn->verdicts)
		return -ENOMEM;
	err = sluice_table_init(sn);
	if (err)
		goto out_free_table;
	err = sluice_hook_register(net);
	if (err)
		goto out_free_table;
	return 0;

out_free_table:
	sluice_table_exit(sn);
	free_percpu(sn->verdicts);
	return err;
}

static void __net_exit sluice_net_exit(struct net *net)
{
	struct sluice_net *sn = sluice_net(net);

	sluice_hook_unregister(net);
	sluice_table_exit(sn);
	free_percpu(sn->verdicts);
}

static struct pernet_operations sluice_net_ops = {
	.init	= sluice_net_init,
	.exit	= sluice_net_exit,
	.id	= &sluice_net_id,
	.size	= sizeof(struct sluice_net),
};

static int __init sluice_init(void)
{
	int err;

	err = register_pernet_subsys(&sluice_net_ops);
	if (err)
		return err;
	err = sluice_genl_init();
	if (err)
		goto out_unregister_pernet;
	pr_info("sluice: ABI %u, %u flows per namespace, hook at PRE_ROUTING priority %d\n",
		SLUICE_ABI_VERSION, SLUICE_MAX_FLOWS, SLUICE_KMOD_PRIORITY);
	return 0;

out_unregister_pernet:
	unregister_pernet_subsys(&sluice_net_ops);
	rcu_barrier();
	return err;
}

static void __exit sluice_exit(void)
{
	sluice_genl_exit();
	unregister_pernet_subsys(&sluice_net_ops);
	/* The flows' frees run sluice_kflow_free_rcu(), which is ours. */
	rcu_barrier();
	pr_info("sluice: unloaded\n");
}

module_init(sluice_init);
module_exit(sluice_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("sluice: RTP/RTCP relay in a netfilter hook, programmed per call");
MODULE_ALIAS_GENL_FAMILY(SLUICE_GENL_NAME);
