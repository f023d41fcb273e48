/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The listen-in WebSocket (media/listen.h, STR LISTEN): GET
 * /api/listen/ws?ticket=T upgrades to a WebSocket (RFC 6455) when T is a
 * ticket STR LISTEN gave and nobody has used; the ticket is the
 * credential (one use, 15 s, 128 random bits), so that the browser's
 * WebSocket, which cannot send the CSRF header, and a script's alike can
 * open it. From then on each RTP datagram the relay copies becomes one
 * binary message:
 *
 *	byte 0	direction: 0 from the caller, 1 from the callee
 *	byte 1	RTP payload type (0 PCMU, 8 PCMA, ...)
 *	then	the RTP payload (header, CSRCs, extension and padding gone)
 *
 * and the listen ends when either side closes (a close frame with the
 * reason when sluiced ends it: the call ended, STP LISTEN, a stop). A
 * browser that does not keep up loses messages, never the call's media:
 * at most HTTP_LISTEN_QUEUE bytes wait for it.
 */
#ifndef SLUICE_HTTP_LISTEN_H
#define SLUICE_HTTP_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "http/req.h"

#define HTTP_LISTEN_QUEUE	(64 * 1024)

struct loop;
struct mml_server;
struct http_listens;

int http_listens_new(struct http_listens **out, struct loop *loop, struct mml_server *mml);
/* Ends every listen (1001, sluiced is stopping) and frees them. NULL is fine. */
void http_listens_free(struct http_listens *ls);

/* Whether r is for /api/listen/ws; then it is answered (101 to come, or 4xx). */
bool http_listen_request(struct http_listens *ls, struct http_req *r);
/*
 * In the loop, after the 101: fd is the upgraded connection (urh its
 * libmicrohttpd handle, which closes it), extra what the client sent past
 * the request.
 */
void http_listen_upgraded(struct http_listens *ls, int fd, void *urh, const char *ticket,
			  const char *extra, size_t len);

#endif /* SLUICE_HTTP_LISTEN_H */
