// SPDX-License-Identifier: GPL-2.0-only
/*
 * The module's flow table, one per network namespace: the same key and
 * action as the XDP program's flows map, with the statistics kept in the
 * flow itself. A fixed array of RCU hash chains: the netfilter hook looks
 * flows up without a lock, writers (generic netlink requests, in process
 * context) hold the namespace's mutex. Replacing an action swaps a pointer,
 * so a packet sees the old action or the new one and the counters stay; a
 * removed flow is freed after a grace period.
 */
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "sluice.h"

static u32 sluice_hash(const struct sluice_net *sn, const struct sluice_flow_key *key)
{
	BUILD_BUG_ON(sizeof(*key) % sizeof(u32));
	return jhash2((const u32 *)key, sizeof(*key) / sizeof(u32), sn->seed) &
	       (sluice_n_buckets() - 1);
}

static bool sluice_key_eq(const struct sluice_flow_key *a, const struct sluice_flow_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static bool sluice_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/* What the agent may install: a known family, the same on both, zero padding. */
bool sluice_flow_valid(const struct sluice_flow_key *key, const struct sluice_flow_action *act)
{
	if (key->family != SLUICE_FAMILY_IPV4 && key->family != SLUICE_FAMILY_IPV6)
		return false;
	if (key->comp > SLUICE_KEY_MUXED_RTCP ||
	    (key->family == SLUICE_FAMILY_IPV4 && !sluice_zero(key->addr + 4, 12)))
		return false;
	if (!act)
		return true;
	return act->family == key->family && act->dscp < 64 &&
	       sluice_zero(act->pad, sizeof(act->pad)) && !act->pad2;
}

int sluice_table_init(struct sluice_net *sn)
{
	mutex_init(&sn->lock);
	sn->seed = get_random_u32();
	sn->buckets = kvcalloc(sluice_n_buckets(), sizeof(*sn->buckets), GFP_KERNEL);
	return sn->buckets ? 0 : -ENOMEM;
}

static void sluice_kflow_free_rcu(struct rcu_head *head)
{
	struct sluice_kflow *f = container_of(head, struct sluice_kflow, rcu);

	/* No reader is left, so the action can go without a grace period of its own. */
	kfree(rcu_dereference_protected(f->act, true));
	kfree(f);
}

static void sluice_kflow_unlink(struct sluice_net *sn, struct sluice_kflow *f)
{
	hlist_del_rcu(&f->node);
	sn->n_flows--;
	sn->gen++;
	call_rcu(&f->rcu, sluice_kflow_free_rcu);
}

/*
 * Called with no hook left in the namespace. The flows' frees are queued
 * behind a grace period and need nothing of the table; module exit waits
 * for them (rcu_barrier) before the code of their callback goes away.
 */
void sluice_table_exit(struct sluice_net *sn)
{
	if (!sn->buckets)
		return;
	sluice_flow_flush(sn);
	WARN_ON_ONCE(sn->n_flows);
	kvfree(sn->buckets);
	sn->buckets = NULL;
}

/* Under rcu_read_lock() or sn->lock. */
struct sluice_kflow *sluice_flow_lookup(struct sluice_net *sn, const struct sluice_flow_key *key)
{
	struct hlist_head *head = &sn->buckets[sluice_hash(sn, key)];
	struct sluice_kflow *f;

	hlist_for_each_entry_rcu(f, head, node, lockdep_is_held(&sn->lock)) {
		if (sluice_key_eq(&f->key, key))
			return f;
	}
	return NULL;
}

static struct sluice_kact *sluice_kact_new(const struct sluice_flow_action *act)
{
	struct sluice_kact *ka = kmalloc(sizeof(*ka), GFP_KERNEL);

	if (ka)
		ka->a = *act;
	return ka;
}

int sluice_flow_add(struct sluice_net *sn, const struct sluice_flow_key *key,
		    const struct sluice_flow_action *act)
{
	struct sluice_kflow *f;
	struct sluice_kact *ka;
	int err;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	ka = sluice_kact_new(act);
	if (!f || !ka) {
		err = -ENOMEM;
		goto out_free;
	}
	f->key = *key;
	spin_lock_init(&f->lock);
	RCU_INIT_POINTER(f->act, ka);

	mutex_lock(&sn->lock);
	if (sluice_flow_lookup(sn, key)) {
		err = -EEXIST;
		goto out_unlock;
	}
	if (sn->n_flows >= SLUICE_MAX_FLOWS) {
		err = -ENOSPC;
		goto out_unlock;
	}
	hlist_add_head_rcu(&f->node, &sn->buckets[sluice_hash(sn, key)]);
	sn->n_flows++;
	sn->gen++;
	mutex_unlock(&sn->lock);
	return 0;

out_unlock:
	mutex_unlock(&sn->lock);
out_free:
	kfree(ka);
	kfree(f);
	return err;
}

int sluice_flow_update(struct sluice_net *sn, const struct sluice_flow_key *key,
		       const struct sluice_flow_action *act)
{
	struct sluice_kact *ka = sluice_kact_new(act), *old;
	struct sluice_kflow *f;
	int err = 0;

	if (!ka)
		return -ENOMEM;
	mutex_lock(&sn->lock);
	f = sluice_flow_lookup(sn, key);
	if (!f) {
		err = -ENOENT;
		goto out_unlock;
	}
	old = rcu_replace_pointer(f->act, ka, lockdep_is_held(&sn->lock));
	kfree_rcu(old, rcu);
	ka = NULL;
	sn->gen++;
out_unlock:
	mutex_unlock(&sn->lock);
	kfree(ka);
	return err;
}

int sluice_flow_del(struct sluice_net *sn, const struct sluice_flow_key *key)
{
	struct sluice_kflow *f;
	int err = 0;

	mutex_lock(&sn->lock);
	f = sluice_flow_lookup(sn, key);
	if (f)
		sluice_kflow_unlink(sn, f);
	else
		err = -ENOENT;
	mutex_unlock(&sn->lock);
	return err;
}

u32 sluice_flow_flush(struct sluice_net *sn)
{
	struct sluice_kflow *f;
	struct hlist_node *tmp;
	u32 i, n = 0;

	mutex_lock(&sn->lock);
	for (i = 0; i < sluice_n_buckets(); i++) {
		hlist_for_each_entry_safe(f, tmp, &sn->buckets[i], node) {
			sluice_kflow_unlink(sn, f);
			n++;
		}
	}
	mutex_unlock(&sn->lock);
	return n;
}

void sluice_kflow_stats_copy(struct sluice_kflow *f, struct sluice_flow_stats *out)
{
	spin_lock_bh(&f->lock);
	*out = f->stats;
	spin_unlock_bh(&f->lock);
}

void sluice_flow_stats_read(struct sluice_net *sn, const struct sluice_flow_key *key,
			    struct sluice_flow_stats *out)
{
	struct sluice_kflow *f;

	rcu_read_lock();
	f = sluice_flow_lookup(sn, key);
	if (f)
		sluice_kflow_stats_copy(f, out);
	else
		memset(out, 0, sizeof(*out));
	rcu_read_unlock();
}
