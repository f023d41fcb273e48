/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The HTTP side of SIP over WebSocket (RFC 7118): libmicrohttpd, driven
 * from the agent's loop (its epoll fd watched, its timeout a loop timer),
 * answers the opening handshake of RFC 6455 §4.2 and nothing else.
 *
 * The transport accepts ws and wss connections itself (TLS is its own,
 * with [sip] tls_cert) and feeds the HTTP request to libmicrohttpd
 * through a socketpair (sip_ws_add()), so that ws and wss take one path
 * and libmicrohttpd never sees TLS. A GET with Upgrade: websocket,
 * Sec-WebSocket-Version: 13, a Sec-WebSocket-Key and "sip" among its
 * Sec-WebSocket-Protocol gets 101 with Sec-WebSocket-Protocol: sip; any
 * other request gets 426 or 400 and the connection closes. After the 101
 * the upgraded callback hands the socketpair's end back with the bytes
 * libmicrohttpd read past the request; the transport then frames SIP
 * messages itself (net/ws_frame.h).
 */
#ifndef SLUICE_SIP_WS_H
#define SLUICE_SIP_WS_H

#include <stddef.h>
#include <sys/socket.h>

#include "core/loop.h"

#define SIP_WS_HTTP_TIMEOUT	10	/* seconds libmicrohttpd waits for a request */

struct MHD_Daemon;

/*
 * After a 101: fd is the end libmicrohttpd held (the transport's key for
 * its connection), extra the bytes it read past the request. The
 * transport reads what else fd holds before it returns; fd is closed
 * after.
 */
typedef void (*sip_ws_upgraded_fn)(void *arg, int fd, const char *extra, size_t len);

struct sip_ws {
	struct MHD_Daemon	*mhd;
	struct loop		*loop;
	int			epoll_fd;
	struct loop_timer	timer;
	sip_ws_upgraded_fn	upgraded;
	void			*arg;
	unsigned long		upgrades, refused;
};

int sip_ws_open(struct sip_ws *ws, struct loop *loop, sip_ws_upgraded_fn upgraded, void *arg);
void sip_ws_close(struct sip_ws *ws);
/* Hands libmicrohttpd fd (a socketpair's end) from peer; fd is its own even on failure. */
int sip_ws_add(struct sip_ws *ws, int fd, const struct sockaddr *peer, socklen_t len);

#endif /* SLUICE_SIP_WS_H */
