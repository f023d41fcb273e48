// SPDX-License-Identifier: GPL-2.0-only
/*
 * Is what the XDP program sends delivered? A verdict of XDP_TX or
 * XDP_REDIRECT is a request, not delivery: the driver may still drop the
 * frame, and then a call has no audio while every counter of ours looks
 * healthy. So native mode is taken only where the kernel says the frames
 * will be delivered (link.h), and once a second the watch asks again and
 * reads the drivers' XDP error counters. When frames are being dropped it
 * moves every interface to XDP generic, which hands frames to the stack's
 * transmit path and always delivers, and says so in one log line, in
 * `DSP SYSINFO` (dp_health) and in the path's drop counter. When the far
 * side can take frames again (a peer given GRO or an XDP program) native
 * comes back after a few quiet seconds, unless [media] datapath =
 * xdp-generic asked for generic.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "dp/link.h"
#include "dp/xdp_int.h"

/* Frames the counters may differ by from being read a moment apart. */
#ifndef DP_WATCH_SLACK
#define DP_WATCH_SLACK 50
#endif

/* Seconds in a row that native must look deliverable before going back to it. */
#ifndef DP_WATCH_PROMOTE_AFTER
#define DP_WATCH_PROMOTE_AFTER 3
#endif

/*
 * What the drivers counted since the last call, over every interface:
 * frames dropped after the program's verdict (*lost, and where), and for
 * veths the frames taken (*taken). *all_veth: every interface is a veth
 * with such counters, so that taken + lost must account for every frame
 * the program sent.
 */
static void read_drivers(struct dp_xdp *x, __u64 *lost, __u64 *taken, const char **where,
			 bool *all_veth)
{
	int i;

	*lost = *taken = 0;
	*all_veth = x->n_ifs > 0;
	for (i = 0; i < x->n_ifs; i++) {
		struct dp_xdp_if *xi = &x->ifs[i];
		__u64 sent, errs;

		if (dp_link_xdp_counters(xi->name, &sent, &errs)) {
			*all_veth = false;
			continue;
		}
		*all_veth &= xi->veth;
		/* A counter that went back: the device was re-created. */
		if (xi->has_errors && errs > xi->errors_seen) {
			*lost += errs - xi->errors_seen;
			*where = xi->name;
		}
		if (xi->has_errors && sent > xi->sent_seen)
			*taken += sent - xi->sent_seen;
		xi->errors_seen = errs;
		xi->sent_seen = sent;
		xi->has_errors = true;
	}
}

/* Frames the program sent (XDP_TX and redirects) since the last call. */
static __u64 program_sent(struct dp_xdp *x)
{
	struct sluice_verdict v[SLUICE_V_MAX];
	__u64 now, d;

	if (dp_xdp_verdicts(&x->dp, v))
		return 0;
	now = v[SLUICE_V_TX].packets + v[SLUICE_V_REDIRECT].packets;
	d = now >= x->verdicts_seen ? now - x->verdicts_seen : 0;
	x->verdicts_seen = now;
	return d;
}

void dp_xdp_watch_reset(struct dp_xdp *x)
{
	const char *where = NULL;
	__u64 lost, taken;
	bool all_veth;

	read_drivers(x, &lost, &taken, &where, &all_veth);
	program_sent(x);
	x->good_checks = 0;
	x->unaccounted = 0;
}

static bool all_native(const struct dp_xdp *x)
{
	int i;

	for (i = 0; i < x->n_ifs; i++)
		if (x->ifs[i].mode != DP_XDP_NATIVE)
			return false;
	return true;
}

static void stamp(char *out, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	strftime(out, len, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
}

/* Native stopped delivering: every interface to generic, and say so. */
static void fall_back(struct dp_xdp *x, const char *reason)
{
	struct dp_health *h = &x->dp.health;
	char why[400] = "", when[32];
	int err;

	stamp(when, sizeof(when));
	err = dp_xdp_reattach(x, DP_XDP_GENERIC, why, sizeof(why));
	h->fallbacks++;
	if (err) {
		snprintf(h->note, sizeof(h->note), "%s: native XDP dropped media (%s) and XDP "
			 "generic failed (%s): the userspace relay carries it", when, reason, why);
		LOG(L_ERROR, "[dp] KERNEL FORWARDING DISABLED: XDP native stopped delivering "
		    "(%s) and XDP generic could not attach (%s); media goes through the "
		    "userspace relay", reason, why);
		return;
	}
	snprintf(h->note, sizeof(h->note), "%s: fell back from native: %s", when, reason);
	x->native_pending = x->want != CONF_DP_XDP_GENERIC;
	LOG(x->want == CONF_DP_XDP_NATIVE ? L_ERROR : L_WARN,
	    "[dp] XDP native stopped delivering: %s; media moved to %s%s", reason, x->dp.desc,
	    x->want == CONF_DP_XDP_NATIVE ? " although [media] datapath = xdp-native" : "");
	x->good_checks = 0;
}

/* The far side can take frames again: back to native after a few quiet seconds. */
static void try_promote(struct dp_xdp *x)
{
	char why[400] = "", when[32];

	if (!x->native_pending || dp_xdp_native_check(x, false, why, sizeof(why))) {
		x->good_checks = 0;
		return;
	}
	if (++x->good_checks < DP_WATCH_PROMOTE_AFTER)
		return;
	x->good_checks = 0;
	if (dp_xdp_reattach(x, DP_XDP_NATIVE, why, sizeof(why)) ||
	    dp_xdp_native_check(x, false, why, sizeof(why))) {
		dp_xdp_reattach(x, DP_XDP_GENERIC, why, sizeof(why));
		return;
	}
	dp_xdp_watch_reset(x);
	x->native_pending = false;
	stamp(when, sizeof(when));
	snprintf(x->dp.health.note, sizeof(x->dp.health.note), "%s: back to native, its "
		 "frames are delivered again", when);
	LOG(L_INFO, "[dp] XDP native delivers again: using %s", x->dp.desc);
}

void dp_xdp_retry_native(struct dp *dp)
{
	struct dp_xdp *x = to_xdp(dp);

	x->native_pending = x->want != CONF_DP_XDP_GENERIC;
}

/*
 * Sent by the program, but neither taken nor counted as lost by a veth:
 * gone without a trace (XDP_TX into a peer with GRO only did that). Two
 * seconds in a row, beyond what reading the counters a moment apart
 * explains, count as a loss.
 */
static bool vanished(struct dp_xdp *x, __u64 sent, __u64 accounted, char *reason, size_t len)
{
	__u64 missing = sent > accounted ? sent - accounted : 0;

	if (missing <= DP_WATCH_SLACK || missing * 10 <= sent) {
		x->unaccounted = 0;
		return false;
	}
	if (++x->unaccounted < 2)
		return false;
	snprintf(reason, len, "%llu of the %llu frames the program sent in the last second "
		 "were neither transmitted nor counted as dropped by the veth driver",
		 (unsigned long long)missing, (unsigned long long)sent);
	return true;
}

void dp_xdp_watch(struct dp *dp)
{
	struct dp_xdp *x = to_xdp(dp);
	const char *where = NULL;
	char why[400] = "", reason[520];
	__u64 lost, taken, sent;
	bool all_veth;

	if (!x->skel || !x->n_ifs)
		return;
	read_drivers(x, &lost, &taken, &where, &all_veth);
	sent = program_sent(x);
	if (!all_native(x)) {
		try_promote(x);
		return;
	}
	dp->health.driver_drops += lost;
	if (lost) {
		snprintf(reason, sizeof(reason), "the %s driver dropped %llu frame%s after the "
			 "program's verdict", where, (unsigned long long)lost, lost == 1 ? "" : "s");
		if (dp_xdp_native_check(x, false, why, sizeof(why)) == -EPIPE) {
			size_t n = strlen(reason);

			snprintf(reason + n, sizeof(reason) - n, ": %s", why);
		}
		fall_back(x, reason);
		return;
	}
	if (all_veth && vanished(x, sent, taken + lost, reason, sizeof(reason))) {
		fall_back(x, reason);
		return;
	}
	/* Nothing lost yet, but the far side may have just lost the ability. */
	if (dp_xdp_native_check(x, false, why, sizeof(why)) == -EPIPE)
		fall_back(x, why);
}
