// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP backend's flows (dp.h's flow operations on the pinned maps).
 *
 * A flow's map value (struct sluice_xdp_flow, ABI 3) holds the action the
 * agent writes, the egress the program resolved and the flow's counters.
 * A put replaces the action alone: it reads the value, keeps the counters,
 * clears the egress (the program resolves it again for the new action) and
 * writes it back. Between that read and that write, two system calls
 * apart, what the program counts for the flow is lost: a packet now and
 * then on a re-INVITE, never a flow's history.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp/xdp_int.h"

#define ITER_BATCH	256

int dp_xdp_flow_put(struct dp *dp, const struct sluice_flow_key *key,
		    const struct sluice_flow_action *act)
{
	struct dp_xdp *x = to_xdp(dp);
	struct sluice_xdp_flow f;

	if (key->family != act->family || key->comp > SLUICE_KEY_MUXED_RTCP)
		return -EINVAL;
	if (bpf_map_lookup_elem(x->flows_fd, key, &f))
		memset(&f, 0, sizeof(f));
	f.action = *act;
	memset(&f.egress, 0, sizeof(f.egress));
	if (bpf_map_update_elem(x->flows_fd, key, &f, BPF_ANY))
		return -errno;
	return 0;
}

int dp_xdp_flow_del(struct dp *dp, const struct sluice_flow_key *key)
{
	return bpf_map_delete_elem(to_xdp(dp)->flows_fd, key) ? -errno : 0;
}

int dp_xdp_stats_read(struct dp *dp, const struct sluice_flow_key *keys,
		      struct sluice_flow_stats *out, size_t n)
{
	struct dp_xdp *x = to_xdp(dp);
	size_t i;

	for (i = 0; i < n; i++) {
		struct sluice_xdp_flow f;

		if (!bpf_map_lookup_elem(x->flows_fd, &keys[i], &f)) {
			out[i] = f.stats;
			continue;
		}
		if (errno != ENOENT)
			return -errno;
		memset(&out[i], 0, sizeof(out[i]));
	}
	return 0;
}

int dp_xdp_flow_iter(struct dp *dp, dp_flow_fn fn, void *arg)
{
	static struct sluice_flow_key keys[ITER_BATCH];
	static struct sluice_xdp_flow flows[ITER_BATCH];
	struct dp_xdp *x = to_xdp(dp);
	__u64 token = 0;
	bool first = true, done = false;

	while (!done) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 i, count = ITER_BATCH;
		int err;

		err = bpf_map_lookup_batch(x->flows_fd, first ? NULL : &token, &token, keys,
					   flows, &count, &opts);
		if (err && errno != ENOENT)
			return -errno;
		done = err != 0;
		first = false;
		for (i = 0; i < count; i++) {
			int rc = fn(&keys[i], &flows[i].action, &flows[i].stats, arg);

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
