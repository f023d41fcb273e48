// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP backend's flows (dp.h's flow operations on the pinned maps).
 *
 * A flow's statistics live in a slot of the stats array that its action
 * names (ABI 3), so that the program finds them without a second hash
 * lookup. The slot is this file's to give: a new flow takes a free one,
 * zeroed; a flow replaced (a re-INVITE, a re-latch) keeps its own, and
 * so its counters; a deleted flow gives it back. Taking a slot is an insert
 * into slot_keys with BPF_NOEXIST, which the kernel answers for everyone:
 * a sluicectl adding flows beside a running sluiced never takes the same
 * slot. The search starts after the last slot taken, so that a run of
 * taken slots is crossed once, not per flow.
 *
 * The egress the program keeps in an action (egress_*) is its own cache:
 * every action written here has it zero, and the program resolves it
 * again from the FIB.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp/xdp_int.h"

#define ITER_BATCH	256

int dp_xdp_take_slot(struct dp_xdp *x, const struct sluice_flow_key *key, __u32 *slot)
{
	static const struct sluice_flow_stats zero;
	__u32 i;

	for (i = 0; i < SLUICE_MAX_FLOWS; i++) {
		__u32 s = (x->slot_next + i) % SLUICE_MAX_FLOWS;

		if (bpf_map_update_elem(x->slots_fd, &s, key, BPF_NOEXIST)) {
			if (errno == EEXIST)
				continue;
			return -errno;
		}
		if (bpf_map_update_elem(x->stats_fd, &s, &zero, BPF_ANY)) {
			int err = -errno;

			bpf_map_delete_elem(x->slots_fd, &s);
			return err;
		}
		x->slot_next = s + 1;
		*slot = s;
		return 0;
	}
	return -ENOSPC;
}

/* Gives key's slot back, if key holds it. */
static void give_slot(struct dp_xdp *x, const struct sluice_flow_key *key, __u32 slot)
{
	struct sluice_flow_key holder;

	if (!bpf_map_lookup_elem(x->slots_fd, &slot, &holder) && !memcmp(&holder, key, sizeof(holder)))
		bpf_map_delete_elem(x->slots_fd, &slot);
}

int dp_xdp_flow_put(struct dp *dp, const struct sluice_flow_key *key,
		    const struct sluice_flow_action *act)
{
	struct dp_xdp *x = to_xdp(dp);
	struct sluice_flow_action cur, next = *act;
	bool fresh;
	int err;

	if (key->family != act->family || key->comp > SLUICE_KEY_MUXED_RTCP)
		return -EINVAL;
	fresh = bpf_map_lookup_elem(x->flows_fd, key, &cur) != 0;
	/* The agent's part only: the program resolves the egress anew. */
	memset(&next.stats_slot, 0, sizeof(next) - offsetof(struct sluice_flow_action, stats_slot));
	if (!fresh) {
		next.stats_slot = cur.stats_slot;
	} else {
		err = dp_xdp_take_slot(x, key, &next.stats_slot);
		if (err)
			return err;
	}
	/* BPF_ANY replaces the action whole; the slot, and so the counters, stay. */
	if (bpf_map_update_elem(x->flows_fd, key, &next, BPF_ANY)) {
		err = -errno;
		if (fresh)
			give_slot(x, key, next.stats_slot);
		return err;
	}
	return 0;
}

int dp_xdp_flow_del(struct dp *dp, const struct sluice_flow_key *key)
{
	struct dp_xdp *x = to_xdp(dp);
	struct sluice_flow_action cur;

	if (bpf_map_lookup_elem(x->flows_fd, key, &cur))
		return -errno;
	if (bpf_map_delete_elem(x->flows_fd, key))
		return -errno;
	give_slot(x, key, cur.stats_slot);
	return 0;
}

/* The statistics of the flow whose action is act; zeroes for none. */
static int read_slot(struct dp_xdp *x, const struct sluice_flow_action *act,
		     struct sluice_flow_stats *out)
{
	__u32 slot = act->stats_slot;

	if (!bpf_map_lookup_elem(x->stats_fd, &slot, out))
		return 0;
	memset(out, 0, sizeof(*out));
	return errno == ENOENT ? 0 : -errno;
}

int dp_xdp_stats_read(struct dp *dp, const struct sluice_flow_key *keys,
		      struct sluice_flow_stats *out, size_t n)
{
	struct dp_xdp *x = to_xdp(dp);
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		struct sluice_flow_action act;

		if (bpf_map_lookup_elem(x->flows_fd, &keys[i], &act)) {
			if (errno != ENOENT)
				return -errno;
			memset(&out[i], 0, sizeof(out[i]));
			continue;
		}
		err = read_slot(x, &act, &out[i]);
		if (err)
			return err;
	}
	return 0;
}

int dp_xdp_flow_iter(struct dp *dp, dp_flow_fn fn, void *arg)
{
	static struct sluice_flow_key keys[ITER_BATCH];
	static struct sluice_flow_action acts[ITER_BATCH];
	struct dp_xdp *x = to_xdp(dp);
	__u64 token = 0;
	bool first = true, done = false;

	while (!done) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 i, count = ITER_BATCH;
		int err;

		err = bpf_map_lookup_batch(x->flows_fd, first ? NULL : &token, &token, keys,
					   acts, &count, &opts);
		if (err && errno != ENOENT)
			return -errno;
		done = err != 0;
		first = false;
		for (i = 0; i < count; i++) {
			struct sluice_flow_stats st;
			int rc;

			read_slot(x, &acts[i], &st);
			rc = fn(&keys[i], &acts[i], &st, arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int dp_xdp_verdicts(struct dp *dp, struct sluice_verdict out[SLUICE_V_MAX])
{
	struct dp_xdp *x = to_xdp(dp);
	struct sluice_verdict *percpu;
	__u32 r;
	int c, err = 0;

	percpu = calloc((size_t)x->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (r = 0; r < SLUICE_V_MAX; r++) {
		out[r].packets = out[r].bytes = 0;
		if (bpf_map_lookup_elem(x->verdicts_fd, &r, percpu)) {
			err = -errno;
			break;
		}
		for (c = 0; c < x->ncpus; c++) {
			out[r].packets += percpu[c].packets;
			out[r].bytes += percpu[c].bytes;
		}
	}
	free(percpu);
	return err;
}
