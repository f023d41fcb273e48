/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SIP transports: UDP and TCP on [sip] listen, TLS on [sip] listen_tls,
 * WebSocket on listen_ws and listen_wss (RFC 7118), IPv4 and IPv6, all
 * non-blocking on the agent's one loop. "[::]" listens on both families
 * (two IPv6-only and IPv4 socket pairs, so peers never appear as mapped
 * addresses); a specific address listens on that one.
 *
 * UDP: one datagram is one message. TCP: messages are framed by their
 * Content-Length (sip_msg_frame()); CRLFs between messages are skipped and
 * a CRLFCRLF ping is answered with a CRLF pong (RFC 5626 §4.4.1). Every TCP
 * connection, accepted or opened by us, is in one table keyed by the
 * peer's address, so a request to a contact that registered over TCP, or
 * a response, goes down the connection the peer opened (RFC 3261 §18.2.2,
 * RFC 5626's flows); when there is none, one is opened.
 *
 * Limits, each a named constant: messages up to SIP_MAX_MSG (a larger one
 * is handed up flagged oversize so the core can answer 513, then the
 * connection closes); at most SIP_TCP_MAX_CONNS connections; each holds at
 * most SIP_TCP_OUTBUF bytes not yet written (a peer that stops reading is
 * disconnected rather than buffered without end). Connections idle for
 * SIP_TCP_IDLE_MS, still connecting after SIP_TCP_CONNECT_MS, or holding
 * a partial message for SIP_TCP_PARTIAL_MS are closed; TCP keepalives find
 * peers that vanished (half-open connections).
 *
 * TLS (net/tls.h) is TCP with a handshake first: the same table (a
 * connection is keyed by address and transport), the same framing,
 * limits and timers, and a handshake that has not finished within
 * SIP_TLS_HANDSHAKE_MS of the connection's start is closed (a client that
 * connects and never speaks costs a socket for that long, no more). A
 * request to a binding registered over TLS goes down the connection it
 * registered on; when that is gone, one is opened (encrypted, the peer not
 * authenticated: see tls.h).
 *
 * WebSocket (ws, and wss: TLS first) is a stream too: after the TLS
 * handshake, the HTTP upgrade (sip/ws.h, libmicrohttpd), both within
 * SIP_TLS_HANDSHAKE_MS of the connection's start; then one SIP message
 * per WebSocket message (text or binary, fragments joined, RFC 7118 §5),
 * pings answered, a close answered and the connection closed. We send
 * each message as one text frame, and a CRLF keepalive as a ping. A
 * binding registered over WebSocket is reachable only down its connection
 * (a browser cannot be connected to): when that is gone, sending fails.
 */
#ifndef SLUICE_SIP_TRANSPORT_H
#define SLUICE_SIP_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "net/tls.h"
#include "sip/ws.h"
#include "sip/msg.h"

#ifndef SIP_TCP_MAX_CONNS
#define SIP_TCP_MAX_CONNS	8192
#endif
#ifndef SIP_TCP_OUTBUF
#define SIP_TCP_OUTBUF		(256 * 1024)
#endif
#ifndef SIP_TCP_IDLE_MS
#define SIP_TCP_IDLE_MS		(300 * 1000)
#endif
#ifndef SIP_TCP_CONNECT_MS
#define SIP_TCP_CONNECT_MS	10000
#endif
#ifndef SIP_TCP_PARTIAL_MS
#define SIP_TCP_PARTIAL_MS	32000
#endif
#ifndef SIP_TLS_HANDSHAKE_MS
#define SIP_TLS_HANDSHAKE_MS	10000
#endif
#define SIP_TCP_BUCKETS		4096	/* power of two */
/* [sip] listen (UDP and TCP), listen_tls, listen_ws, listen_wss; both families with "[::]". */
#define SIP_MAX_LISTENERS	8
#define SIP_WS_HTTP_MAX		8192	/* bytes of an HTTP upgrade request */
#define SIP_UDP_BURST		4	/* datagrams read per wakeup: bounds one iteration of the loop */

enum sip_proto {
	SIP_UDP = 0,
	SIP_TCP,
	SIP_TLS,
	SIP_WS,
	SIP_WSS,
	SIP_NPROTO
};

/* Whether the transport delivers reliably (no retransmissions, RFC 3261 §17). */
static inline bool sip_proto_reliable(unsigned proto)
{
	return proto != SIP_UDP;
}

/* "UDP", "TCP", "TLS", "WS", "WSS": the Via's transport, the registrations' column. */
const char *sip_proto_name(unsigned proto);
/* The reverse, case-insensitive; -EINVAL for an unknown name. */
int sip_proto_parse(const char *name);

/* Where a message came from, or where one goes. */
struct sip_peer {
	struct sockaddr_storage	addr;
	socklen_t		len;
	uint8_t			proto;	/* enum sip_proto */
	uint8_t			lidx;	/* listener it arrived on */
	/*
	 * For a response over TCP whose connection has gone: the port to
	 * open a new one to (the top Via's sent-by, RFC 3261 §18.2.2), 0 =
	 * the address's own port.
	 */
	uint16_t		alt_port;
};

/* Flags of a message handed up. */
#define SIP_RX_OVERSIZE		0x1	/* beyond SIP_MAX_MSG: only its head is here */
#define SIP_RX_BAD_FRAME	0x2	/* TCP: its Content-Length cannot frame it */

/* buf is writable and valid only during the call. */
typedef void (*sip_rx_fn)(void *arg, const struct sip_peer *from, char *buf, size_t len,
			  unsigned flags);

struct sip_conn;

struct sip_listener {
	struct sockaddr_storage	addr;
	socklen_t		len;
	uint8_t			proto;	/* SIP_TCP: UDP and TCP; else that stream only */
	int			udp_fd;	/* -1 but for SIP_TCP */
	int			tcp_fd;	/* the stream listener */
};

struct sip_ws_ops;

struct sip_transport {
	struct loop		*loop;
	sip_rx_fn		rx;
	void			*rx_arg;
	/* After each burst of messages handed up (may be NULL): group commit. */
	void			(*rx_done)(void *arg);
	struct sip_listener	l[SIP_MAX_LISTENERS];
	int			nl;
	char			*rxbuf;		/* SIP_UDP_BURST datagrams of SIP_MAX_MSG + 1 */
	struct sip_conn		**conns;	/* SIP_TCP_BUCKETS chains */
	unsigned		nconns;
	struct sip_hash_key	key;
	uint64_t		idle_ms;	/* SIP_TCP_IDLE_MS, tests shorten it */
	struct tls_ctx		*tls;		/* NULL: no TLS listener */
	/*
	 * A connection opened to tls_verify_addr must check its peer's
	 * certificate (tls->verify); without that context it is not opened.
	 */
	bool			tls_verify;
	struct sockaddr_storage	tls_verify_addr;
	struct sip_ws		ws;		/* the HTTP upgrade; ws.mhd NULL: none */
	const struct sip_ws_ops	*ws_ops;	/* transport_ws.c's, with ws.mhd */
	struct sip_conn		*upgrading;	/* connections in their HTTP upgrade */
	struct {
		uint64_t	udp_rx, tcp_rx, tls_rx, ws_rx, oversize, refused, reaped;
		uint64_t	tls_handshakes, tls_failed, ws_failed;
	} stats;
};

/*
 * Binds UDP and TCP on addr (port 0: an ephemeral port, the same for
 * both). Returns 0 or -errno, with nothing left open on failure.
 */
int sip_transport_open(struct sip_transport *tp, struct loop *loop,
		       const struct sockaddr *addr, socklen_t len, sip_rx_fn rx, void *arg);
void sip_transport_close(struct sip_transport *tp);
/*
 * Adds TLS listeners on addr ("[::]": both families) with tls's server
 * certificate, which the caller keeps and may reload. Returns 0 or -errno.
 */
int sip_transport_open_tls(struct sip_transport *tp, const struct sockaddr *addr,
			   socklen_t len, struct tls_ctx *tls);
/*
 * Adds WebSocket listeners on addr for proto SIP_WS or SIP_WSS (which
 * needs tls, as above). Returns 0 or -errno.
 */
int sip_transport_open_ws(struct sip_transport *tp, unsigned proto, const struct sockaddr *addr,
			  socklen_t len, struct tls_ctx *tls);

/*
 * Sends one message. UDP: one datagram from the listener of to's family
 * (-EAGAIN when the socket buffer is full: the transaction layer
 * retransmits). TCP: down the connection to to's address, opened when
 * there is none; bytes the kernel does not take at once wait in the
 * connection's bounded buffer. Returns 0 or -errno.
 */
int sip_transport_send(struct sip_transport *tp, const struct sip_peer *to,
		       const char *buf, size_t len);

/* Keeps the TCP connection to peer open for at least ms (a registration). */
void sip_transport_hold(struct sip_transport *tp, const struct sip_peer *peer, uint64_t ms);

/* The bound address of listener i (port filled in). */
const struct sockaddr *sip_transport_local(const struct sip_transport *tp, int i,
					   socklen_t *len);
/* The listener of proto's kind (UDP and TCP share theirs) in family; NULL: none. */
const struct sockaddr *sip_transport_local_for(const struct sip_transport *tp, unsigned proto,
					       int family, socklen_t *len);

/* "1.2.3.4:5060/udp", "[::1]:5061/tls" for logs. */
const char *sip_peer_str(const struct sip_peer *p, char *buf, size_t len);
/* The peer's address without brackets, and its port ("" and 0 when unset). */
void sip_peer_host(const struct sip_peer *p, char *ip, size_t len, uint16_t *port);

#endif /* SLUICE_SIP_TRANSPORT_H */
