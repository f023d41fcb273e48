/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the console watches live, in the event loop: an hour of samples
 * every HTTP_HISTORY_STEP_S seconds (calls per second, calls up,
 * registrations, the live streams' mean MOS) for its charts
 * (GET /api/history), and the dashboard's event each second
 * (GET /api/events, Server-Sent Events, server.c): DSP SYSINFO, the
 * streams summed by path with their kernel counters, calls per second, each
 * interface's packet counters from /proc/net/dev, and the live calls
 * page's changes (calls_push.h). The event is built only while a browser
 * listens.
 */
#ifndef SLUICE_HTTP_LIVE_H
#define SLUICE_HTTP_LIVE_H

#include <stddef.h>

#define HTTP_HISTORY_STEP_S	10
#define HTTP_HISTORY_N		360	/* an hour */

struct loop;
struct mml_server;
struct http_live;

int http_live_new(struct http_live **out, struct loop *loop, struct mml_server *mml);
void http_live_free(struct http_live *l);
/* The history as JSON text (malloc'ed), ending with now's figures; NULL: no memory. */
char *http_live_history(struct http_live *l, size_t *len);
/* The dashboard's event as JSON text, one line (malloc'ed); NULL: no memory. */
char *http_live_event(struct http_live *l, size_t *len);

#endif /* SLUICE_HTTP_LIVE_H */
