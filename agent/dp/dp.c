// SPDX-License-Identifier: GPL-2.0-only
/*
 * Choosing the data path. `datapath = auto` tries XDP native, then XDP
 * generic, then the kernel module, then the userspace relay, and says in
 * one line what it took and why the better ones were not possible, as
 * rtpengine's "KERNEL FORWARDING DISABLED" does: an operator must never
 * have to guess whether media is in the kernel.
 *
 * A path is taken only where it delivers: XDP native is refused where the
 * driver would drop what the program sends (a veth whose peer runs neither
 * XDP nor GRO: link.h), and the XDP backend's watch (xdp_watch.c) keeps
 * checking while it runs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "dp/dp.h"
#include "dp/dp_impl.h"
#include "dp/dp_kmod.h"

static int open_xdp_forced(const struct conf *conf, enum dp_xdp_mode mode, struct dp **out)
{
	char why[400] = "";
	int err = dp_xdp_open(conf, mode, out, why, sizeof(why));

	if (err == -EPIPE)
		LOG(L_ERROR, "[dp] datapath = xdp-native refused: %s (or use datapath = auto, "
		    "which takes XDP generic here)", why);
	else if (err)
		LOG(L_ERROR, "[dp] XDP %s: %s", mode == DP_XDP_NATIVE ? "native" : "generic", why);
	return err;
}

/* xdp: native where every interface's driver has it, generic otherwise. */
static int open_xdp_any(const struct conf *conf, struct dp **out, char *why, size_t whylen)
{
	char native_why[400] = "", generic_why[256] = "";
	bool undelivered;
	int err;

	err = dp_xdp_open(conf, DP_XDP_NATIVE, out, native_why, sizeof(native_why));
	if (!err)
		return 0;
	undelivered = err == -EPIPE;
	err = dp_xdp_open(conf, DP_XDP_GENERIC, out, generic_why, sizeof(generic_why));
	if (!err) {
		struct dp_health *h = &(*out)->health;

		snprintf(h->note, sizeof(h->note), "native %s: %s",
			 undelivered ? "would not deliver" : "not possible", native_why);
		LOG(L_WARN, "[dp] XDP native %s (%s), using %s", undelivered ?
		    "would not deliver" : "not possible", native_why, (*out)->desc);
		if (undelivered)
			dp_xdp_retry_native(*out);
		return 1;	/* taken, and already logged */
	}
	snprintf(why, whylen, "XDP native: %s; XDP generic: %s", native_why, generic_why);
	return err;
}

int dp_open(const struct conf *conf, struct dp **out)
{
	char why[800] = "", kmod_why[256] = "";
	int err;

	switch (conf->media_datapath) {
	case CONF_DP_USER:
		err = dp_user_open(out);
		if (!err)
			LOG(L_INFO, "[dp] using the %s (datapath = user)", (*out)->desc);
		return err;
	case CONF_DP_XDP_NATIVE:
		return open_xdp_forced(conf, DP_XDP_NATIVE, out);
	case CONF_DP_XDP_GENERIC:
		return open_xdp_forced(conf, DP_XDP_GENERIC, out);
	case CONF_DP_XDP:
		err = open_xdp_any(conf, out, why, sizeof(why));
		if (err < 0)
			LOG(L_ERROR, "[dp] %s", why);
		else if (err == 0)
			LOG(L_INFO, "[dp] using %s", (*out)->desc);
		return err < 0 ? err : 0;
	case CONF_DP_KMOD:
		err = dp_kmod_open(out, why, sizeof(why));
		if (err)
			LOG(L_ERROR, "[dp] datapath = kmod: %s", why);
		else
			LOG(L_INFO, "[dp] using %s (datapath = kmod)", (*out)->desc);
		return err;
	case CONF_DP_AUTO:
		break;
	}

	err = open_xdp_any(conf, out, why, sizeof(why));
	if (err == 0)
		LOG(L_INFO, "[dp] using %s", (*out)->desc);
	if (err >= 0)
		return 0;
	err = dp_kmod_open(out, kmod_why, sizeof(kmod_why));
	if (!err) {
		LOG(L_WARN, "[dp] XDP not possible (%s), using %s", why, (*out)->desc);
		return 0;
	}
	err = dp_user_open(out);
	if (err)
		return err;
	LOG(L_WARN, "[dp] KERNEL FORWARDING DISABLED, using the %s (%s; kmod: %s)",
	    (*out)->desc, why, kmod_why);
	return 0;
}

int dp_open_pinned(const char *pin_dir, struct dp **out)
{
	return dp_xdp_open_pinned(pin_dir, out);
}

void dp_close(struct dp *dp, bool keep)
{
	if (dp)
		dp->ops->close(dp, keep);
}
