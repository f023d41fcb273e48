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

struct mml_server;

/* The page into *out (malloc'ed, *len bytes); -ENOMEM. */
int http_metrics(struct mml_server *m, char **out, size_t *len);

#endif /* SLUICE_HTTP_METRICS_H */
