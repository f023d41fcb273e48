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
/*
 * A connection's WebSocket side (transport_ws.c), which transport.c reaches
 * through tp->ws_ops: set when the first ws or wss listener opens, and no
 * connection is upgrading or upgraded before.
 */
struct sip_ws_ops {
	int (*http_start)(struct sip_conn *c);		/* the upgrade's HTTP begins */
	bool (*http_feed)(struct sip_conn *c);		/* false: c is gone */
	bool (*frames)(struct sip_conn *c);		/* false: c is gone */
	int (*write)(struct sip_conn *c, uint8_t opcode, const char *buf, size_t len);
};

/* A stream listener (TCP, TLS, WS, WSS) on addr, "[::]" both families. */
int sip_transport_open_stream(struct sip_transport *tp, unsigned proto, const struct sockaddr *addr,
			      socklen_t len);

#endif /* SLUICE_SIP_TRANSPORT_INT_H */
