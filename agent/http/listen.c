// SPDX-License-Identifier: GPL-2.0-only
/*
 * The listen-in WebSocket (see listen.h), in the event loop: the
 * handshake's checks, then one connection per listen, written to by the
 * relay's tap (never blocking: what the socket will not take waits in a
 * bounded queue, and beyond it is dropped) and read for the client's
 * close, pings and nothing else. libmicrohttpd did the HTTP and holds the
 * connection's handle (urh) until we close it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/log.h"
#include "core/loop.h"
#include "http/listen.h"
#include "media/listen.h"
#include "media/session.h"
#include "mml/server.h"
#include "net/ws_frame.h"

#define LISTEN_IN_MAX	1024	/* what a client may send: close, ping */

struct listen_ws {
	struct listen_ws	*next, *prev;
	struct http_listens	*ls;
	int			fd;
	struct MHD_UpgradeResponseHandle *urh;
	struct media_listen	*l;		/* NULL once the listen ended */
	bool			broken;		/* a write failed: ends at the next event */
	uint8_t			out[HTTP_LISTEN_QUEUE];
	size_t			out_len;
	uint64_t		sent, dropped;
	struct ws_reader	rd;
	char			in[LISTEN_IN_MAX + 1];
	size_t			in_len;
};

struct http_listens {
	struct loop		*loop;
	struct mml_server	*mml;
	struct listen_ws	*all;
};

static struct media_session *sessions(struct http_listens *ls)
{
	return ls->mml->env.media ? ls->mml->env.media->sessions : NULL;
}

/* ---- the handshake ---- */

static const char *arg_of(const struct http_req *r, const char *key)
{
	for (int i = 0; i < r->nargs; i++)
		if (!strcmp(r->args[i].key, key))
			return r->args[i].value;
	return NULL;
}

bool http_listen_request(struct http_listens *ls, struct http_req *r)
{
	const char *ticket;

	if (strcmp(r->path, "/api/listen/ws"))
		return false;
	ticket = arg_of(r, "ticket");
	if (strcmp(r->method, "GET")) {
		http_error(r, 405, "GET only");
	} else if (!r->ws) {
		http_error(r, 426, "a WebSocket (version 13) only");
	} else if (!ticket || r->nargs != 1 || strlen(ticket) >= sizeof(r->ticket)) {
		http_error(r, 400, "ticket= (from STR LISTEN, POST /api/listen) is required");
	} else if (!ls || !media_listen_find(sessions(ls), ticket)) {
		http_error(r, 403, "unknown, used or expired ticket");
	} else if (ws_accept(r->ws_key, r->ws_accept)) {
		http_error(r, 400, "bad Sec-WebSocket-Key");
	} else {
		snprintf(r->ticket, sizeof(r->ticket), "%s", ticket);
		r->upgrade = true;
		r->status = 101;
	}
	return true;
}

/* ---- the connection ---- */

static void ws_free(struct listen_ws *w)
{
	struct http_listens *ls = w->ls;

	if (w->prev)
		w->prev->next = w->next;
	else
		ls->all = w->next;
	if (w->next)
		w->next->prev = w->prev;
	loop_del_fd(ls->loop, w->fd);
	MHD_upgrade_action(w->urh, MHD_UPGRADE_ACTION_CLOSE);	/* closes fd */
	free(w);
}

/* One frame whole into the queue, or nothing (false). */
static bool queue_frame(struct listen_ws *w, uint8_t op, const uint8_t *a, size_t alen,
			const uint8_t *b, size_t blen)
{
	uint8_t hdr[WS_HDR_MAX];
	size_t hlen = ws_frame_header(hdr, op, alen + blen);

	if (w->out_len + hlen + alen + blen > sizeof(w->out))
		return false;
	memcpy(w->out + w->out_len, hdr, hlen);
	memcpy(w->out + w->out_len + hlen, a, alen);
	if (blen)
		memcpy(w->out + w->out_len + hlen + alen, b, blen);
	w->out_len += hlen + alen + blen;
	return true;
}

/* Writes what is queued; the rest waits for EPOLLOUT. */
static void flush(struct listen_ws *w)
{
	ssize_t n;

	if (!w->out_len || w->broken)
		return;
	n = send(w->fd, w->out, w->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		w->broken = true;
		loop_mod_fd(w->ls->loop, w->fd, EPOLLIN | EPOLLOUT);	/* to be ended there */
		return;
	}
	if (n > 0) {
		memmove(w->out, w->out + n, w->out_len - (size_t)n);
		w->out_len -= (size_t)n;
	}
	loop_mod_fd(w->ls->loop, w->fd, w->out_len ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* A close frame (code, reason), what is queued sent as far as it goes, and the end. */
static void ws_end(struct listen_ws *w, unsigned code, const char *why)
{
	uint8_t body[2 + 64];
	size_t n = strlen(why) < 64 ? strlen(why) : 64;

	if (w->l) {
		struct media_listen *l = w->l;

		w->l = NULL;
		media_listen_stop(l, NULL);
	}
	body[0] = (uint8_t)(code >> 8);
	body[1] = (uint8_t)code;
	memcpy(body + 2, why, n);
	if (!w->broken && !queue_frame(w, WS_OP_CLOSE, body, 2 + n, NULL, 0)) {
		w->out_len = 0;		/* the close matters more than audio */
		queue_frame(w, WS_OP_CLOSE, body, 2 + n, NULL, 0);
	}
	if (!w->broken && w->out_len)
		(void)!send(w->fd, w->out, w->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
	LOG(L_INFO, "[http] listen-in connection closed (%s): %llu messages sent, %llu dropped",
	    why, (unsigned long long)w->sent, (unsigned long long)w->dropped);
	ws_free(w);
}

/* The relay's copy of one RTP datagram: its payload, framed. */
static void on_rtp(void *arg, int from, const uint8_t *p, size_t len)
{
	struct listen_ws *w = arg;
	size_t off = 12, end = len;
	uint8_t head[2];

	if (len < 12 || (p[0] >> 6) != 2 || w->broken)
		return;
	off += (size_t)(p[0] & 0x0f) * 4;
	if ((p[0] & 0x10) && off + 4 <= len)
		off += 4 + 4 * (size_t)(p[off + 2] << 8 | p[off + 3]);
	if ((p[0] & 0x20) && len > 12)
		end -= p[len - 1];
	if (off >= end || end > len)
		return;
	head[0] = (uint8_t)from;
	head[1] = p[1] & 0x7f;
	if (!queue_frame(w, WS_OP_BINARY, head, 2, p + off, end - off)) {
		w->dropped++;
		return;
	}
	w->sent++;
	flush(w);
}

static void on_gone(void *arg, const char *why)
{
	struct listen_ws *w = arg;

	w->l = NULL;	/* media/listen.c frees it */
	ws_end(w, 1000, why);
}

static bool on_message(void *arg, uint8_t op, char *payload, size_t len)
{
	struct listen_ws *w = arg;

	if (op == WS_OP_CLOSE)
		return false;
	if (op == WS_OP_PING)
		queue_frame(w, WS_OP_PONG, (const uint8_t *)payload, len, NULL, 0);
	return true;		/* text and binary mean nothing here */
}

/* Takes the client's bytes; false when the connection is to end. */
static bool take_input(struct listen_ws *w, const char *buf, size_t len, const char **why)
{
	int rc;

	if (len > LISTEN_IN_MAX - w->in_len) {
		*why = "the client sent too much";
		return false;
	}
	memcpy(w->in + w->in_len, buf, len);
	w->in_len += len;
	rc = ws_read(&w->rd, w->in, &w->in_len, WS_CTRL_MAX, true, on_message, w);
	if (rc == -ECANCELED) {
		*why = "the listener left";
		return false;
	}
	if (rc) {
		*why = "a bad frame from the client";
		return false;
	}
	flush(w);
	return true;
}

static void on_event(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct listen_ws *w = arg;
	const char *why = "the listener left";
	char buf[LISTEN_IN_MAX];
	ssize_t n;

	(void)loop;
	if (w->broken) {
		ws_end(w, 1011, "cannot write");
		return;
	}
	if (events & EPOLLOUT)
		flush(w);
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || !take_input(w, buf, (size_t)n, &why))
		ws_end(w, 1000, why);
}

void http_listen_upgraded(struct http_listens *ls, int fd, void *urh, const char *ticket,
			  const char *extra, size_t len)
{
	struct listen_ws *w = calloc(1, sizeof(*w));
	const char *why = "";

	if (!w) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	w->ls = ls;
	w->fd = fd;
	w->urh = urh;
	w->next = ls->all;
	if (ls->all)
		ls->all->prev = w;
	ls->all = w;
	if (loop_add_fd(ls->loop, fd, EPOLLIN, on_event, w)) {
		w->broken = true;
		ws_end(w, 1011, "no room in the event loop");
		return;
	}
	w->l = media_listen_claim(ls->loop, sessions(ls), ticket, on_rtp, on_gone, w);
	if (!w->l) {
		ws_end(w, 1008, "unknown, used or expired ticket");
		return;
	}
	LOG(L_INFO, "[http] %s listens in on %s", w->l->op, w->l->s->id);
	if (len && !take_input(w, extra, len, &why))
		ws_end(w, 1000, why);
}

int http_listens_new(struct http_listens **out, struct loop *loop, struct mml_server *mml)
{
	struct http_listens *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return -ENOMEM;
	ls->loop = loop;
	ls->mml = mml;
	*out = ls;
	return 0;
}

void http_listens_free(struct http_listens *ls)
{
	if (!ls)
		return;
	while (ls->all)
		ws_end(ls->all, 1001, "sluiced is stopping");
	free(ls);
}
