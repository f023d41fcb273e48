/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The JSON API, the console's logins and /metrics, in the event loop
 * (api.c). Each API route is an MML command: the request's fields become
 * the command's parameters, mml_run() runs it as it runs an operator's
 * typed command, and its result is rendered as JSON (mml/reply.h), so the
 * two interfaces share one implementation of every command.
 */
#ifndef SLUICE_HTTP_API_H
#define SLUICE_HTTP_API_H

#include <stdbool.h>

#include "http/req.h"

struct loop;
struct mml_server;
struct http_api;

/* loopback: the listener is bound to loopback (/metrics needs no login). */
int http_api_new(struct http_api **out, struct loop *loop, struct mml_server *mml,
		 bool tls, bool loopback);
/* Answers r now (and returns true), or holds it and answers it later. */
bool http_api_handle(struct http_api *api, struct http_req *r);
/* The dashboard's event (live.h) as JSON text, malloc'ed; NULL: no memory. */
char *http_api_event(struct http_api *api, size_t *len);
/* Answers what it holds with 503, and frees itself. */
void http_api_free(struct http_api *api);

#endif /* SLUICE_HTTP_API_H */
