/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus metrics (text exposition format 0.0.4) of what sluiced runs:
 * registrations, calls by state, SIP requests and responses, digest
 * failures and blocks, streams by data path, the kernel's packets and
 * bytes per path, the XDP program's verdicts, fallbacks, the CDR queue.
 * Read in the event loop from the same counters MML shows.
 */
#ifndef SLUICE_HTTP_METRICS_H
#define SLUICE_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct mml_server;
struct media_ctx;
struct dp;

/* The live streams' directions summed by path: [0] userspace, [1] the kernel's. */
struct http_path_sums {
	const char	*kernel;	/* the kernel path's name ("xdp", "kmod"); "user": none */
	uint64_t	streams[2], packets[2], bytes[2];
	int64_t		lost[2];
};

/* Walks the media sessions once (as DSP STREAM reads them); without a kernel path all is [0]. */
void http_streams_by_path(struct media_ctx *m, struct dp *dp, struct http_path_sums *out);

/* The page into *out (malloc'ed, *len bytes); -ENOMEM. */
int http_metrics(struct mml_server *m, char **out, size_t *len);

#endif /* SLUICE_HTTP_METRICS_H */
