/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the stream transports share inside sip/: a connection (TCP, TLS,
 * WebSocket) and the operations on it that transport.c keeps (writing,
 * flushing, closing, its timers) and transport_ws.c's WebSocket ones
 * (the HTTP upgrade, frames in and out). Nothing outside the transport
 * includes this.
 */
#ifndef SLUICE_SIP_TRANSPORT_INT_H
#define SLUICE_SIP_TRANSPORT_INT_H

#include "net/ws_frame.h"
#include "sip/transport.h"

/* A message, or over WebSocket a message's frame with its header. */
#define CONN_IN		(SIP_MAX_MSG + WS_HDR_MAX)

struct sip_conn {
	struct sip_conn		*next;		/* bucket chain */
	struct sip_transport	*tp;
	int			fd;
	SSL			*ssl;		/* TLS; NULL: plain TCP */
	bool			connecting;
	bool			handshaking;	/* TLS: not yet ready for messages */
	bool			want_write;	/* TLS: the session waits for EPOLLOUT */
	bool			upgrading;	/* WebSocket: in its HTTP upgrade */
	bool			ws;		/* WebSocket: upgraded, frames */
	bool			ws_closing;	/* the peer's close frame came */
	struct ws_reader	wsr;		/* a fragmented message being joined */
	size_t			http_in;	/* bytes of the upgrade request */
	int			http_fd;	/* our end of libmicrohttpd's socketpair, -1 */
	int			mhd_fd;		/* libmicrohttpd's end: the upgrade's key */
	struct sip_conn		*up_next;	/* tp->upgrading */
	bool			busy;		/* inside rx: closing waits */
	bool			dead;
	struct sip_peer		peer;
	unsigned		bucket;
	char			*in;		/* CONN_IN + 1 */
	size_t			in_len;
	char			*out;
	size_t			out_len;
	uint64_t		last_ms;	/* last byte in or out */
	uint64_t		hold_until;	/* a registration keeps it */
	uint64_t		partial_since;	/* a message started arriving */
	uint64_t		opened;
	struct loop_timer	timer;
};

/* transport.c: buffered writes (bounded by SIP_TCP_OUTBUF), close, timers. */
int sip_conn_write(struct sip_conn *c, const char *buf, size_t len);
int sip_conn_flush(struct sip_conn *c);
/* Inside rx (busy) it only marks the connection dead; it goes after. */
void sip_conn_close(struct sip_conn *c, const char *why);
void sip_conn_arm(struct sip_conn *c);

/* transport_ws.c */
/* One frame of ours (final, unmasked), all of it or nothing: -ENOBUFS. */
int sip_conn_write_ws(struct sip_conn *c, uint8_t opcode, const char *buf, size_t len);
/* Hands the connection's HTTP upgrade to libmicrohttpd (sip/ws.h). */
int sip_conn_http_start(struct sip_conn *c);
/* The bytes read (c->in) on to libmicrohttpd; false when c was closed. */
bool sip_conn_http_feed(struct sip_conn *c);
/* Hands up every whole message in c->in; false when c was closed. */
bool sip_conn_ws_frames(struct sip_conn *c);
/* sip_ws_upgraded_fn for the transport (arg): the connection speaks frames now. */
void sip_conn_upgraded(void *arg, int fd, const char *extra, size_t len);

#endif /* SLUICE_SIP_TRANSPORT_INT_H */
