/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's one data-path interface. The media layer adds, replaces and
 * removes flows and reads their statistics through it without knowing
 * which backend forwards: the XDP program (dp_xdp.c), the kernel module
 * (a later backend) or nothing at all (the userspace relay carries every
 * packet; its flow calls succeed and do nothing).
 *
 * A flow is keyed by where its packets arrive (struct sluice_flow_key); a
 * put replaces the action atomically and keeps the statistics, so a
 * re-INVITE never loses counters or packets. Backends that keep state in
 * the kernel pin it, and dp_open() adopts what it finds instead of wiping
 * it: media keeps flowing while sluiced restarts.
 */
#ifndef SLUICE_DP_H
#define SLUICE_DP_H

#include <stdbool.h>
#include <stddef.h>

#include <sluice/abi.h>

#include "core/conf.h"

enum dp_kind {
	DP_USER = 0,	/* no kernel path: userspace relays everything */
	DP_XDP,
	DP_KMOD,
};

struct dp;

/* Called for each installed flow by dp_flow_iter(); non-zero stops. */
typedef int (*dp_flow_fn)(const struct sluice_flow_key *key,
			  const struct sluice_flow_action *act,
			  const struct sluice_flow_stats *stats, void *arg);

struct dp_ops {
	const char *name;
	int (*flow_put)(struct dp *dp, const struct sluice_flow_key *key,
			const struct sluice_flow_action *act);
	int (*flow_del)(struct dp *dp, const struct sluice_flow_key *key);
	/* Fills out[i] for keys[i]; a missing flow reads as zeroes. */
	int (*stats_read)(struct dp *dp, const struct sluice_flow_key *keys,
			  struct sluice_flow_stats *out, size_t n);
	int (*flow_iter)(struct dp *dp, dp_flow_fn fn, void *arg);
	/* Sums the per-CPU verdict counters. */
	int (*verdicts)(struct dp *dp, struct sluice_verdict out[SLUICE_V_MAX]);
	/*
	 * Checks that what the kernel forwards is delivered (optional): called
	 * about once a second. A backend whose frames are being dropped after
	 * its verdict moves to a path that delivers and logs one line.
	 */
	void (*watch)(struct dp *dp);
	/*
	 * A descriptor the event loop watches for the backend (optional, -1
	 * for none), and what to do when it is readable: the XDP backend
	 * hears of route and neighbour changes there.
	 */
	int (*event_fd)(struct dp *dp);
	void (*on_event)(struct dp *dp);
	/* keep: leave pinned state (and forwarding) for the next sluiced. */
	void (*close)(struct dp *dp, bool keep);
};

/* What an operator needs to trust the path: shown by DSP SYSINFO. */
struct dp_health {
	char		note[600];	/* why this path and not a better one, "" when none */
	__u64		driver_drops;	/* frames a driver dropped after the program's verdict */
	unsigned	fallbacks;	/* times the watch moved media to a safer path */
};

struct dp {
	const struct dp_ops	*ops;
	enum dp_kind		kind;
	char			desc[128];	/* "xdp native on eth0", for logs and MML */
	void			*priv;
	bool			handed_over;	/* see dp_hand_over() */
	struct dp_health	health;
};

/*
 * Opens the backend that conf's [media] datapath asks for, attached to its
 * [media] interface list. With "auto" it tries XDP native, XDP generic, the
 * kernel module and userspace in that order and logs one line naming the
 * choice and why the others were not taken. Never fails for "auto": the
 * userspace backend always opens.
 */
int dp_open(const struct conf *conf, struct dp **out);
/* Opens the pinned state of a running sluiced, attaching nothing (sluicectl). */
int dp_open_pinned(const char *pin_dir, struct dp **out);
void dp_close(struct dp *dp, bool keep);

/*
 * Leaves the kernel state to the next sluiced (a restart that keeps calls):
 * from now on flow puts and deletes succeed without changing anything, so
 * the media layer can tear its sessions down while every flow keeps
 * forwarding; dp_close(dp, true) then leaves the program and the pins.
 */
static inline void dp_hand_over(struct dp *dp)
{
	dp->handed_over = true;
}

static inline int dp_flow_put(struct dp *dp, const struct sluice_flow_key *key,
			      const struct sluice_flow_action *act)
{
	if (dp->handed_over)
		return 0;
	return dp->ops->flow_put(dp, key, act);
}

static inline int dp_flow_del(struct dp *dp, const struct sluice_flow_key *key)
{
	if (dp->handed_over)
		return 0;
	return dp->ops->flow_del(dp, key);
}

static inline int dp_stats_read(struct dp *dp, const struct sluice_flow_key *keys,
				struct sluice_flow_stats *out, size_t n)
{
	return dp->ops->stats_read(dp, keys, out, n);
}

static inline int dp_flow_iter(struct dp *dp, dp_flow_fn fn, void *arg)
{
	return dp->ops->flow_iter(dp, fn, arg);
}

static inline int dp_verdicts(struct dp *dp, struct sluice_verdict out[SLUICE_V_MAX])
{
	return dp->ops->verdicts(dp, out);
}

/* The delivery watch (see dp_ops.watch); sluiced calls it once a second. */
static inline void dp_watch(struct dp *dp)
{
	if (dp->ops->watch && !dp->handed_over)
		dp->ops->watch(dp);
}

static inline int dp_event_fd(struct dp *dp)
{
	return dp->ops->event_fd ? dp->ops->event_fd(dp) : -1;
}

static inline void dp_on_event(struct dp *dp)
{
	if (dp->ops->on_event)
		dp->ops->on_event(dp);
}

/* How often sluiced calls dp_watch(), in milliseconds. */
#ifndef DP_WATCH_MS
#define DP_WATCH_MS 1000
#endif

#endif /* SLUICE_DP_H */
