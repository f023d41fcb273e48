/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The live calls page's changes, pushed (see calls_push.c): each second's
 * event (GET /api/events) carries the calls that began or changed since
 * the event before, whole, and the Call-IDs of every call up, so that a
 * page holding the full list (GET /api/calls, once) keeps it true without
 * asking for it again: it adds or replaces the rows it is given and drops
 * those whose Call-ID is no longer listed. A page that finds a listed
 * call it has no row for, or a number skipped (it missed an event: the
 * listener sends only the newest), asks for the full list.
 */
#ifndef SLUICE_HTTP_CALLS_PUSH_H
#define SLUICE_HTTP_CALLS_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sip_server;
struct http_calls_push;

int http_calls_push_new(struct http_calls_push **out);
void http_calls_push_free(struct http_calls_push *p);
/*
 * The calls' part of the next event, relative to the last one built:
 * {"seq": N, "changed": [rows as GET /api/calls gives them], "ids":
 * [...]}, N counting the events built from 1. The
 * text stays the pusher's until the next call (one buffer, reused);
 * NULL: no memory. now_ms: unix milliseconds, for the durations.
 */
const char *http_calls_push_build(struct http_calls_push *p, struct sip_server *sip,
				  int64_t now_ms, size_t *len);

#endif /* SLUICE_HTTP_CALLS_PUSH_H */
