/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The web listener ([http]): the operator's console (static files from
 * [http] root), its JSON API under /api/ and Prometheus metrics on
 * /metrics, over HTTP or HTTPS with libmicrohttpd.
 *
 * libmicrohttpd runs in a thread of its own and never touches what the
 * event loop owns: it reads a request whole (bounded), hands it to the
 * loop through a queue and an eventfd, and sleeps on that connection
 * (suspended) until the loop has answered it. Static files it serves
 * itself. So a slow or hostile browser costs the SIP path one eventfd
 * wake-up per request, never a wait.
 */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H

struct loop;
struct mml_server;
struct http_server;

/*
 * Listens on [http] listen of mml's configuration (off: *out NULL and 0);
 * the API runs the commands of mml. -errno when it cannot listen.
 */
int http_open(struct http_server **out, struct loop *loop, struct mml_server *mml);
/* Answers what is pending (503) and stops the thread. NULL is fine. */
void http_close(struct http_server *h);

#endif /* SLUICE_HTTP_H */
