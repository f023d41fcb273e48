// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userspace backend: no kernel path at all. The media layer's relay
 * carries every packet, so flow calls succeed and change nothing, and
 * statistics read as zero (the relay keeps its own). It always opens, which
 * is what makes `datapath = auto` unable to fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp/dp.h"
#include "dp/dp_impl.h"

static int user_flow_put(struct dp *dp, const struct sluice_flow_key *key,
			 const struct sluice_flow_action *act)
{
	(void)dp;
	(void)key;
	(void)act;
	return 0;
}

static int user_flow_del(struct dp *dp, const struct sluice_flow_key *key)
{
	(void)dp;
	(void)key;
	return 0;
}

static int user_stats_read(struct dp *dp, const struct sluice_flow_key *keys,
			   struct sluice_flow_stats *out, size_t n)
{
	(void)dp;
	(void)keys;
	memset(out, 0, n * sizeof(*out));
	return 0;
}

static int user_flow_iter(struct dp *dp, dp_flow_fn fn, void *arg)
{
	(void)dp;
	(void)fn;
	(void)arg;
	return 0;
}

static int user_verdicts(struct dp *dp, struct sluice_verdict out[SLUICE_V_MAX])
{
	(void)dp;
	memset(out, 0, SLUICE_V_MAX * sizeof(*out));
	return 0;
}

static void user_close(struct dp *dp, bool keep)
{
	(void)keep;
	free(dp);
}

static const struct dp_ops dp_user_ops = {
	.name = "user",
	.flow_put = user_flow_put,
	.flow_del = user_flow_del,
	.stats_read = user_stats_read,
	.flow_iter = user_flow_iter,
	.verdicts = user_verdicts,
	.close = user_close,
};

int dp_user_open(struct dp **out)
{
	struct dp *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return -ENOMEM;
	dp->ops = &dp_user_ops;
	dp->kind = DP_USER;
	strcpy(dp->desc, "userspace relay");
	*out = dp;
	return 0;
}
