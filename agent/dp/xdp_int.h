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
	int			stats_fd;
	int			verdicts_fd;
	int			tx_fd;
	int			abi_fd;
	int			ncpus;
	char			pin_dir[CONF_STR_MAX];
	struct dp_xdp_if	ifs[CONF_MAX_IFACES];
	int			n_ifs;
	enum conf_datapath	want;	/* what [media] datapath asked for */
	unsigned		good_checks;	/* in a row, on generic, that native would deliver */
	bool			native_pending;	/* on generic only until native delivers */
	__u64			verdicts_seen;	/* the program's TX and REDIRECT, last read */
	unsigned		unaccounted;	/* seconds in a row with frames unaccounted */
};

static inline struct dp_xdp *to_xdp(struct dp *dp)
{
	return (struct dp_xdp *)dp;
}

/* Re-attaches every interface in mode (dp_xdp.c); why says what failed. */
int dp_xdp_reattach(struct dp_xdp *x, enum dp_xdp_mode mode, char *why, size_t whylen);
/* Writes "XDP native on eth0,eth1" from what is attached now. */
void dp_xdp_describe(struct dp_xdp *x);
/*
 * Whether each interface (each veth only: what can be told before
 * attaching) would deliver in native mode: 0 yes, -EPIPE no, else the
 * kernel cannot tell; why says which interface and why (xdp_watch.c).
 */
int dp_xdp_native_check(struct dp_xdp *x, bool veth_only, char *why, size_t whylen);
/* Reads the drivers' error counters as the baseline the watch counts from. */
void dp_xdp_watch_reset(struct dp_xdp *x);
void dp_xdp_watch(struct dp *dp);

#endif /* SLUICE_DP_XDP_INT_H */
