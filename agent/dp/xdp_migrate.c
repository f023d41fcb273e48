// SPDX-License-Identifier: GPL-2.0-only
/*
 * An upgrade across the maps' ABI without a call losing its media: a
 * sluiced of ABI 3 that finds ABI 2 maps pinned (a previous release, its
 * program still attached and forwarding) moves them over instead of
 * refusing.
 *
 *   1. The old flows map is renamed out of the way (flows_abi2): libbpf
 *      then creates ABI 3's flows beside the maps whose layout did not
 *      change (verdicts, tx_ports, abi), which the new program shares
 *      with the old one.
 *   2. Every old flow is written into the new map: its action as it was,
 *      its statistics (ABI 2's flow_stats, keyed like flows) beside it.
 *   3. The links are switched to the new program (bpf_link_update, as on
 *      any restart); then the old maps' pins go, and the maps with the
 *      old program.
 *
 * The old program forwards until the switch, the new one from it: no
 * packet goes without a flow. What the old program counts between step 2
 * and the switch (a few milliseconds) is not carried over. Should a step
 * fail, the old pins are put back as they were and sluiced says why.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"
#include "dp/xdp_int.h"

#define ABI2			2
#define ABI2_MAP_STATS		"flow_stats"	/* key -> sluice_flow_stats */
#define ABI2_SUFFIX		"_abi2"	/* bpffs takes no dot in a name */
#define MIGRATE_BATCH		256

static void path_of(const struct dp_xdp *x, const char *name, const char *suffix, char *out,
		    size_t len)
{
	snprintf(out, len, "%s/%s%s", x->pin_dir, name, suffix);
}

/* The ABI the pinned maps were made for; 0 when there are none. */
static __u32 pinned_abi(const struct dp_xdp *x)
{
	char path[PATH_MAX];
	__u32 key = 0, ver = 0;
	int fd;

	path_of(x, SLUICE_MAP_ABI, "", path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &key, &ver))
		ver = 0;
	close(fd);
	return ver;
}

int dp_xdp_migrate_begin(struct dp_xdp *x, char *why, size_t whylen)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (pinned_abi(x) != ABI2)
		return 0;
	path_of(x, SLUICE_MAP_FLOWS, "", from, sizeof(from));
	path_of(x, SLUICE_MAP_FLOWS, ABI2_SUFFIX, to, sizeof(to));
	if (rename(from, to)) {
		int err = -errno;

		snprintf(why, whylen, "moving ABI 2's %s aside: %s", from, strerror(errno));
		return err;
	}
	x->migrating = true;
	return 0;
}

/* One batch of old flows into the new map; *moved counts them. */
static int copy_batch(struct dp_xdp *x, int stats_fd, const struct sluice_flow_key *keys,
		      const struct sluice_flow_action *acts, __u32 n, unsigned *moved)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		struct sluice_xdp_flow f;

		memset(&f, 0, sizeof(f));
		f.action = acts[i];
		if (stats_fd >= 0)
			bpf_map_lookup_elem(stats_fd, &keys[i], &f.stats);
		if (bpf_map_update_elem(x->flows_fd, &keys[i], &f, BPF_ANY))
			return -errno;
		(*moved)++;
	}
	return 0;
}

int dp_xdp_migrate_copy(struct dp_xdp *x, char *why, size_t whylen)
{
	static struct sluice_flow_key keys[MIGRATE_BATCH];
	static struct sluice_flow_action acts[MIGRATE_BATCH];	/* unchanged since ABI 2 */
	char path[PATH_MAX];
	int old_fd, stats_fd, err = 0;
	bool first = true, done = false;
	__u64 token = 0;

	if (!x->migrating)
		return 0;
	path_of(x, SLUICE_MAP_FLOWS, ABI2_SUFFIX, path, sizeof(path));
	old_fd = bpf_obj_get(path);
	if (old_fd < 0) {
		err = -errno;
		snprintf(why, whylen, "opening ABI 2's flows: %s", strerror(errno));
		return err;
	}
	path_of(x, ABI2_MAP_STATS, "", path, sizeof(path));
	stats_fd = bpf_obj_get(path);
	while (!done && !err) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 n = MIGRATE_BATCH;
		int rc = bpf_map_lookup_batch(old_fd, first ? NULL : &token, &token, keys, acts,
					      &n, &opts);

		if (rc && errno != ENOENT) {
			err = -errno;
			break;
		}
		done = rc != 0;
		first = false;
		err = copy_batch(x, stats_fd, keys, acts, n, &x->migrated);
	}
	if (err)
		snprintf(why, whylen, "moving ABI 2's flows over: %s", strerror(-err));
	if (stats_fd >= 0)
		close(stats_fd);
	close(old_fd);
	return err;
}

void dp_xdp_migrate_end(struct dp_xdp *x)
{
	char path[PATH_MAX];

	if (!x->migrating)
		return;
	path_of(x, SLUICE_MAP_FLOWS, ABI2_SUFFIX, path, sizeof(path));
	unlink(path);
	path_of(x, ABI2_MAP_STATS, "", path, sizeof(path));
	unlink(path);
	x->migrating = false;
	LOG(L_INFO, "[dp] moved %u flow%s from ABI 2 maps to ABI %d: calls keep their media",
	    x->migrated, x->migrated == 1 ? "" : "s", SLUICE_ABI_VERSION);
}

void dp_xdp_migrate_undo(struct dp_xdp *x)
{
	char from[PATH_MAX], to[PATH_MAX];
	__u32 key = 0, ver = ABI2;
	int fd;

	if (!x->migrating)
		return;
	path_of(x, SLUICE_MAP_FLOWS, "", to, sizeof(to));
	unlink(to);
	path_of(x, SLUICE_MAP_FLOWS, ABI2_SUFFIX, from, sizeof(from));
	path_of(x, SLUICE_MAP_FLOWS, "", to, sizeof(to));
	if (rename(from, to))
		LOG(L_ERROR, "[dp] cannot put ABI 2's flows back at %s: %s", to, strerror(errno));
	path_of(x, SLUICE_MAP_ABI, "", to, sizeof(to));
	fd = bpf_obj_get(to);
	if (fd >= 0) {
		bpf_map_update_elem(fd, &key, &ver, BPF_ANY);
		close(fd);
	}
	x->migrating = false;
}
