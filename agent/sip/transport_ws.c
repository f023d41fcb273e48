// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIP over WebSocket connections (RFC 7118; see transport.h): the HTTP
 * upgrade handed to libmicrohttpd through a socketpair (sip/ws.h), then
 * frames (net/ws_frame.h): one SIP message per WebSocket message in, one
 * text frame per message out, pings and closes answered.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "sip/transport_int.h"

static void on_http(struct loop *loop, int fd, uint32_t events, void *arg);
static bool sip_conn_ws_frames(struct sip_conn *c);

/* One frame of ours: a final, unmasked one (RFC 6455 §5.1: a server never masks). */
static int sip_conn_write_ws(struct sip_conn *c, uint8_t opcode, const char *buf, size_t len)
{
	uint8_t hdr[WS_HDR_MAX];
	size_t h = ws_frame_header(hdr, opcode, len);
	int err;

	if (c->out_len + h + len > SIP_TCP_OUTBUF)
		return -ENOBUFS;
	err = sip_conn_write(c, (const char *)hdr, h);
	return err ? err : sip_conn_write(c, buf, len);
}

/* The upgrade request goes to libmicrohttpd through a socketpair (ws.h). */
static int sip_conn_http_start(struct sip_conn *c)
{
	struct sip_transport *tp = c->tp;
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (loop_add_fd(tp->loop, sv[0], EPOLLIN, on_http, c)) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	c->http_fd = sv[0];
	c->mhd_fd = sv[1];
	c->up_next = tp->upgrading;
	tp->upgrading = c;
	err = sip_ws_add(&tp->ws, sv[1], (const struct sockaddr *)&c->peer.addr, c->peer.len);
	return err;
}

/* Bytes of the upgrade request on to libmicrohttpd; false when c was closed. */
static bool sip_conn_http_feed(struct sip_conn *c)
{
	ssize_t n;

	c->http_in += c->in_len;
	n = c->http_in > SIP_WS_HTTP_MAX ? -1 : send(c->http_fd, c->in, c->in_len, MSG_NOSIGNAL);
	if (n != (ssize_t)c->in_len) {
		c->tp->stats.ws_failed++;
		sip_conn_close(c, "WebSocket upgrade request too large");
		return false;
	}
	c->in_len = 0;
	return true;
}

/* What libmicrohttpd answers goes to the peer as it is. */
static void on_http(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct sip_conn *c = arg;
	char buf[4096];
	ssize_t n;

	(void)loop;
	(void)events;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (sip_conn_write(c, buf, (size_t)n)) {
			sip_conn_close(c, "write failed");
			return;
		}
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		char pbuf[64];

		/* libmicrohttpd closed: it refused the request, or gave up. */
		c->tp->stats.ws_failed++;
		LOG(L_INFO, "[sip] WebSocket upgrade of %s refused",
		    sip_peer_str(&c->peer, pbuf, sizeof(pbuf)));
		sip_conn_flush(c);
		sip_conn_close(c, "WebSocket upgrade refused");
	}
}

/* libmicrohttpd sent its 101: the connection is ours again, speaking frames. */
static void sip_conn_upgraded(void *arg, int fd, const char *extra, size_t len)
{
	struct sip_transport *tp = arg;
	struct sip_conn *c, **pp;
	char buf[4096], pbuf[64];
	ssize_t n;

	for (pp = &tp->upgrading; (c = *pp); pp = &c->up_next)
		if (c->mhd_fd == fd)
			break;
	if (!c)
		return;
	*pp = c->up_next;
	c->upgrading = false;
	c->ws = true;
	while ((n = recv(c->http_fd, buf, sizeof(buf), 0)) > 0)	/* the 101 itself */
		sip_conn_write(c, buf, (size_t)n);
	loop_del_fd(tp->loop, c->http_fd);
	close(c->http_fd);
	c->http_fd = -1;
	/* Frames that came before the 101 went out: libmicrohttpd's, then the pair's. */
	c->in_len = 0;
	if (len > CONN_IN) {
		sip_conn_close(c, "frames before the upgrade");
		return;
	}
	memcpy(c->in, extra, len);
	c->in_len = len;
	while (c->in_len < CONN_IN &&
	       (n = recv(fd, c->in + c->in_len, CONN_IN - c->in_len, MSG_DONTWAIT)) > 0)
		c->in_len += (size_t)n;
	LOG(L_DEBUG, "[sip] WebSocket %s upgraded", sip_peer_str(&c->peer, pbuf, sizeof(pbuf)));
	c->last_ms = loop_now_ms(tp->loop);
	if (c->in_len && !sip_conn_ws_frames(c))
		return;
	if (sip_conn_flush(c)) {
		sip_conn_close(c, "write failed");
		return;
	}
	sip_conn_arm(c);
}

/* A frame the peer got wrong: a close with code (RFC 6455 §7.4.1), then the end. */
static bool conn_ws_fail(struct sip_conn *c, uint16_t code, const char *why)
{
	char payload[2] = { (char)(code >> 8), (char)(code & 0xff) };

	c->tp->stats.ws_failed++;
	sip_conn_write_ws(c, WS_OP_CLOSE, payload, sizeof(payload));
	sip_conn_close(c, why);
	return false;
}

/* A message or control frame from ws_read(); false stops it (c is to close). */
static bool on_ws_msg(void *arg, uint8_t opcode, char *payload, size_t len)
{
	struct sip_conn *c = arg;
	struct sip_transport *tp = c->tp;

	switch (opcode) {
	case WS_OP_PING:
		sip_conn_write_ws(c, WS_OP_PONG, payload, len);
		return !c->dead;
	case WS_OP_PONG:
		return true;
	case WS_OP_CLOSE:
		/* Echo the status code (§5.5.1); we have nothing more to say. */
		sip_conn_write_ws(c, WS_OP_CLOSE, payload, len >= 2 ? 2 : 0);
		c->ws_closing = true;
		return false;
	default:
		tp->stats.ws_rx++;
		if (len)
			tp->rx(tp->rx_arg, &c->peer, payload, len, 0);
		return !c->dead;
	}
}

/* Hands up every whole message in c->in (net/ws_frame.h); false when c was closed. */
static bool sip_conn_ws_frames(struct sip_conn *c)
{
	int r;

	c->busy = true;
	r = ws_read(&c->wsr, c->in, &c->in_len, SIP_MAX_MSG, true, on_ws_msg, c);
	c->busy = false;
	if (r == 0 && c->in_len >= CONN_IN)
		r = -EMSGSIZE;
	if (c->ws_closing) {
		sip_conn_close(c, "WebSocket closed by the peer");
		return false;
	}
	if (c->dead) {
		sip_conn_close(c, "write failed");
		return false;
	}
	if (r == -EMSGSIZE)
		return conn_ws_fail(c, 1009, "WebSocket message too large");
	if (r < 0)
		return conn_ws_fail(c, 1002, "bad WebSocket frame");
	return true;
}

static const struct sip_ws_ops ws_ops = {
	.http_start = sip_conn_http_start,
	.http_feed = sip_conn_http_feed,
	.frames = sip_conn_ws_frames,
	.write = sip_conn_write_ws,
};

int sip_transport_open_ws(struct sip_transport *tp, unsigned proto, const struct sockaddr *addr,
			  socklen_t len, struct tls_ctx *tls)
{
	int err;

	if (proto == SIP_WSS && !tls)
		return -EINVAL;
	if (!tp->ws.mhd) {
		err = sip_ws_open(&tp->ws, tp->loop, sip_conn_upgraded, tp);
		if (err)
			return err;
	}
	tp->ws_ops = &ws_ops;
	if (tls)
		tp->tls = tls;
	return sip_transport_open_stream(tp, proto, addr, len);
}
