/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The XDP backend's state, shared by dp_xdp.c (loading, attaching, maps)
 * and xdp_watch.c (is what the program sends delivered?). Private to those
 * two, as dp_impl.h is to dp.c.
 */
#ifndef SLUICE_DP_XDP_INT_H
#define SLUICE_DP_XDP_INT_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <linux/types.h>

#include "core/conf.h"
#include "dp/dp.h"
#include "dp/dp_impl.h"

struct sluice;

struct dp_xdp_if {
	char	name[IF_NAMESIZE];
	int	ifindex;
	int	link_fd;
	bool	created;	/* by us, now: undone if a later step fails */
	bool	veth;
	enum dp_xdp_mode mode;	/* as attached */
	__u64	errors_seen;	/* the driver's XDP error counters, last read */
	__u64	sent_seen;	/* and the frames it took from XDP (veth) */
	bool	has_errors;	/* the driver has such counters */
};

struct dp_xdp {
	struct dp		dp;
	struct sluice		*skel;	/* NULL when only the pins were opened */
	int			flows_fd;
	int			verdicts_fd;
	int			tx_fd;
	int			abi_fd;
	int			ncpus;
	char			pin_dir[CONF_STR_MAX];
	struct dp_xdp_if	ifs[CONF_MAX_IFACES];
	int			n_ifs;
	enum conf_datapath	want;	/* what [media] datapath asked for */
	__u32			jitter_mask;	/* [media] jitter_sampling - 1 */
	unsigned		good_checks;	/* in a row, on generic, that native would deliver */
	bool			native_pending;	/* on generic only until native delivers */
	__u64			verdicts_seen;	/* the program's TX and REDIRECT, last read */
	int			egress_fd;	/* rtnetlink changes (xdp_egress.c), or -1 */
	bool			migrating;	/* ABI 2 maps being moved over (xdp_migrate.c) */
	unsigned		migrated;	/* flows moved */
	__u64			egress_changes;	/* generations started by them */
	unsigned		unaccounted;	/* seconds in a row with frames unaccounted */
};

static inline struct dp_xdp *to_xdp(struct dp *dp)
{
	return (struct dp_xdp *)dp;
}

/* DIR/PREFIXNAME: where a map or a link is pinned. */
static inline void dp_xdp_pin_path(char *out, size_t len, const char *dir, const char *prefix,
				   const char *name)
{
	snprintf(out, len, "%s/%s%s", dir, prefix, name);
}

/* The flows, their statistics slots and the verdicts (xdp_flows.c). */
int dp_xdp_flow_put(struct dp *dp, const struct sluice_flow_key *key,
		    const struct sluice_flow_action *act);
int dp_xdp_flow_del(struct dp *dp, const struct sluice_flow_key *key);
int dp_xdp_stats_read(struct dp *dp, const struct sluice_flow_key *keys,
		      struct sluice_flow_stats *out, size_t n);
int dp_xdp_flow_iter(struct dp *dp, dp_flow_fn fn, void *arg);
int dp_xdp_verdicts(struct dp *dp, struct sluice_verdict out[SLUICE_V_MAX]);

/*
 * ABI 2 maps moved over to ABI 3 (xdp_migrate.c): begin before the load,
 * copy after it, end once the links run the new program, undo on failure.
 */
int dp_xdp_migrate_begin(struct dp_xdp *x, char *why, size_t whylen);
int dp_xdp_migrate_copy(struct dp_xdp *x, char *why, size_t whylen);
void dp_xdp_migrate_end(struct dp_xdp *x);
void dp_xdp_migrate_undo(struct dp_xdp *x);

/* A route, neighbour or link changed: every cached egress is stale (xdp_egress.c). */
void dp_xdp_egress_changed(struct dp_xdp *x);
/* The rtnetlink socket that says so (xdp_egress.c). */
int dp_xdp_egress_open(struct dp_xdp *x);
int dp_xdp_egress_fd(struct dp *dp);
void dp_xdp_egress_read(struct dp *dp);
void dp_xdp_egress_close(struct dp_xdp *x);

/*
 * Attaching (xdp_attach.c): every [media] interface in mode, then checks
 * that native delivers; re-attaching in the other mode; detaching one; the
 * description ("XDP native on eth0,eth1") of what is attached now.
 */
int dp_xdp_attach_all(struct dp_xdp *x, const struct conf *conf, enum dp_xdp_mode mode,
		      char *why, size_t whylen);
int dp_xdp_reattach(struct dp_xdp *x, enum dp_xdp_mode mode, char *why, size_t whylen);
void dp_xdp_detach_if(struct dp_xdp *x, struct dp_xdp_if *xi);
void dp_xdp_describe(struct dp_xdp *x);
/*
 * Whether each interface (each veth only: what can be told before
 * attaching) would deliver in native mode: 0 yes, -EPIPE no, else the
 * kernel cannot tell; why says which interface and why (xdp_attach.c).
 */
int dp_xdp_native_check(struct dp_xdp *x, bool veth_only, char *why, size_t whylen);
/* Reads the drivers' error counters as the baseline the watch counts from. */
void dp_xdp_watch_reset(struct dp_xdp *x);
void dp_xdp_watch(struct dp *dp);

#endif /* SLUICE_DP_XDP_INT_H */
