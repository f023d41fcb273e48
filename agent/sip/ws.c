// SPDX-License-Identifier: GPL-2.0-only
/*
 * The WebSocket opening handshake with libmicrohttpd (see ws.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include <microhttpd.h>

#include "core/log.h"
#include "net/ws_frame.h"
#include "sip/ws.h"

static void ws_schedule(struct sip_ws *ws);

static enum MHD_Result refuse(struct sip_ws *ws, struct MHD_Connection *conn, unsigned code,
			      const char *why)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	ws->refused++;
	r = MHD_create_response_from_buffer(strlen(why), (void *)why, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	MHD_add_response_header(r, "Connection", "close");
	if (code == 426) {
		MHD_add_response_header(r, "Upgrade", "websocket");
		MHD_add_response_header(r, "Sec-WebSocket-Version", "13");
	}
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_upgraded(void *cls, struct MHD_Connection *conn, void *req_cls,
			const char *extra, size_t len, MHD_socket sock,
			struct MHD_UpgradeResponseHandle *urh)
{
	struct sip_ws *ws = cls;

	(void)conn;
	(void)req_cls;
	ws->upgrades++;
	ws->upgraded(ws->arg, sock, extra, len);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	ws_schedule(ws);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_len, void **req_cls)
{
	struct sip_ws *ws = cls;
	const char *up, *co, *ver, *key, *proto;
	char accept[WS_ACCEPT_LEN + 1];
	struct MHD_Response *r;
	enum MHD_Result ret;
	static int first;

	(void)url;
	(void)version;
	(void)upload;
	if (!*req_cls) {	/* the headers: answer once the request is whole */
		*req_cls = &first;
		return MHD_YES;
	}
	if (*upload_len)
		return refuse(ws, conn, 400, "a WebSocket handshake has no body\n");
	up = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");
	co = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Connection");
	ver = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Version");
	key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
	proto = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Protocol");
	if (strcmp(method, "GET") || !up || !ws_has_token(up, "websocket") || !co ||
	    !ws_has_token(co, "upgrade"))
		return refuse(ws, conn, 426, "SIP over WebSocket here (RFC 7118)\n");
	if (!ver || strcmp(ver, "13"))
		return refuse(ws, conn, 426, "WebSocket version 13 only\n");
	if (!key || strlen(key) != 24 || ws_accept(key, accept))
		return refuse(ws, conn, 400, "bad Sec-WebSocket-Key\n");
	if (!proto || !ws_has_token(proto, "sip"))
		return refuse(ws, conn, 400, "Sec-WebSocket-Protocol must offer sip\n");
	r = MHD_create_response_for_upgrade(on_upgraded, ws);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Upgrade", "websocket");
	MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
	MHD_add_response_header(r, "Sec-WebSocket-Protocol", "sip");
	ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	return ret;
}

/* libmicrohttpd's work now, then its next deadline on our timer. */
static void ws_run(struct sip_ws *ws)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(ws->mhd);
	if (MHD_get_timeout(ws->mhd, &ms) == MHD_YES)
		loop_timer_arm(ws->loop, &ws->timer, ms);
	else
		loop_timer_cancel(ws->loop, &ws->timer);
}

static void on_timer(struct loop *loop, void *arg)
{
	(void)loop;
	ws_run(arg);
}

static void on_epoll(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	ws_run(arg);
}

/* A run soon, out of whatever callback we are in. */
static void ws_schedule(struct sip_ws *ws)
{
	loop_timer_arm(ws->loop, &ws->timer, 0);
}

int sip_ws_open(struct sip_ws *ws, struct loop *loop, sip_ws_upgraded_fn upgraded, void *arg)
{
	const union MHD_DaemonInfo *info;

	memset(ws, 0, sizeof(*ws));
	ws->loop = loop;
	ws->upgraded = upgraded;
	ws->arg = arg;
	ws->epoll_fd = -1;
	loop_timer_init(&ws->timer, on_timer, ws);
	ws->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_ALLOW_UPGRADE,
				   0, NULL, NULL, on_request, ws,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SIP_WS_HTTP_TIMEOUT,
				   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
				   MHD_OPTION_END);
	if (!ws->mhd)
		return -ENOMEM;
	info = MHD_get_daemon_info(ws->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0 ||
	    loop_add_fd(loop, info->epoll_fd, EPOLLIN, on_epoll, ws)) {
		MHD_stop_daemon(ws->mhd);
		ws->mhd = NULL;
		return -ENOMEM;
	}
	ws->epoll_fd = info->epoll_fd;
	return 0;
}

void sip_ws_close(struct sip_ws *ws)
{
	if (!ws->mhd)
		return;
	loop_timer_cancel(ws->loop, &ws->timer);
	loop_del_fd(ws->loop, ws->epoll_fd);
	MHD_stop_daemon(ws->mhd);
	ws->mhd = NULL;
}

int sip_ws_add(struct sip_ws *ws, int fd, const struct sockaddr *peer, socklen_t len)
{
	if (MHD_add_connection(ws->mhd, fd, peer, len) != MHD_YES)
		return errno ? -errno : -ENOMEM;
	ws_schedule(ws);
	return 0;
}
