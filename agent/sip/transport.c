// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIP over UDP, TCP, TLS and WebSocket on the agent's loop (see transport.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "core/log.h"
#include "net/ip_str.h"
#include "sip/transport_int.h"

static size_t addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
					: sizeof(struct sockaddr_in6);
}

/* Address and port only: the table's key. */
static uint64_t peer_hash(const struct sip_transport *tp, const struct sockaddr_storage *ss)
{
	unsigned char k[18];
	size_t n;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		memcpy(k, &sin->sin_addr, 4);
		memcpy(k + 4, &sin->sin_port, 2);
		n = 6;
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		memcpy(k, &sin6->sin6_addr, 16);
		memcpy(k + 16, &sin6->sin6_port, 2);
		n = 18;
	}
	return sip_hash_buf(&tp->key, k, n);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

static const char *const proto_names[SIP_NPROTO] = { "UDP", "TCP", "TLS", "WS", "WSS" };
static const char *const proto_lower[SIP_NPROTO] = { "udp", "tcp", "tls", "ws", "wss" };

const char *sip_proto_name(unsigned proto)
{
	return proto < SIP_NPROTO ? proto_names[proto] : "UDP";
}

int sip_proto_parse(const char *name)
{
	for (unsigned i = 0; i < SIP_NPROTO; i++)
		if (!strcasecmp(name, proto_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *sip_peer_str(const struct sip_peer *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	const char *proto = p->proto < SIP_NPROTO ? proto_lower[p->proto] : "?";

	if (p->addr.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&p->addr;

		ip_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u/%s", a, ntohs(sin->sin_port), proto);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)&p->addr;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u/%s", a, ntohs(sin6->sin6_port), proto);
	}
	return buf;
}

void sip_peer_host(const struct sip_peer *p, char *ip, size_t len, uint16_t *port)
{
	ip[0] = '\0';
	*port = 0;
	if (p->addr.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&p->addr;

		ip_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)len);
		*port = ntohs(sin->sin_port);
	} else if (p->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)&p->addr;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)len);
		*port = ntohs(sin6->sin6_port);
	}
}

/* ---- TCP connections ---- */

/* The connection to ss over proto (TCP or TLS: one address may have both). */
static struct sip_conn *conn_find(struct sip_transport *tp, const struct sockaddr_storage *ss,
				  unsigned proto)
{
	unsigned b = (unsigned)peer_hash(tp, ss) & (SIP_TCP_BUCKETS - 1);

	for (struct sip_conn *c = tp->conns[b]; c; c = c->next)
		if (c->peer.proto == proto && same_addr(&c->peer.addr, ss))
			return c;
	return NULL;
}

void sip_conn_close(struct sip_conn *c, const char *why)
{
	struct sip_transport *tp = c->tp;
	struct sip_conn **pp;
	char pbuf[64];

	if (c->busy) {
		c->dead = true;
		return;
	}
	LOG(L_DEBUG, "[sip] connection %s closed: %s", sip_peer_str(&c->peer, pbuf, sizeof(pbuf)),
	    why);
	for (pp = &tp->conns[c->bucket]; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	tp->nconns--;
	if (c->upgrading) {
		for (pp = &tp->upgrading; *pp; pp = &(*pp)->up_next) {
			if (*pp == c) {
				*pp = c->up_next;
				break;
			}
		}
	}
	if (c->http_fd >= 0) {
		loop_del_fd(tp->loop, c->http_fd);
		close(c->http_fd);
	}
	loop_timer_cancel(tp->loop, &c->timer);
	loop_del_fd(tp->loop, c->fd);
	tls_free(c->ssl);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* The earliest of the connection's deadlines. */
void sip_conn_arm(struct sip_conn *c)
{
	struct sip_transport *tp = c->tp;
	uint64_t now = loop_now_ms(tp->loop), due;

	due = c->last_ms + tp->idle_ms;
	if (c->hold_until > due)
		due = c->hold_until;
	if (c->connecting && c->opened + SIP_TCP_CONNECT_MS < due)
		due = c->opened + SIP_TCP_CONNECT_MS;
	if ((c->handshaking || c->upgrading) && c->opened + SIP_TLS_HANDSHAKE_MS < due)
		due = c->opened + SIP_TLS_HANDSHAKE_MS;
	if (c->in_len && c->partial_since + SIP_TCP_PARTIAL_MS < due)
		due = c->partial_since + SIP_TCP_PARTIAL_MS;
	loop_timer_arm(tp->loop, &c->timer, due > now ? due - now : 0);
}

static void on_conn_timer(struct loop *loop, void *arg)
{
	struct sip_conn *c = arg;
	struct sip_transport *tp = c->tp;
	uint64_t now = loop_now_ms(loop);

	if (c->connecting && now >= c->opened + SIP_TCP_CONNECT_MS) {
		tp->stats.reaped++;
		sip_conn_close(c, "connect timed out");
		return;
	}
	if (c->handshaking && now >= c->opened + SIP_TLS_HANDSHAKE_MS) {
		char pbuf[64];

		tp->stats.reaped++;
		tp->stats.tls_failed++;
		LOG(L_INFO, "[sip] TLS handshake with %s timed out after %u ms",
		    sip_peer_str(&c->peer, pbuf, sizeof(pbuf)), SIP_TLS_HANDSHAKE_MS);
		sip_conn_close(c, "TLS handshake timed out");
		return;
	}
	if (c->upgrading && now >= c->opened + SIP_TLS_HANDSHAKE_MS) {
		char pbuf[64];

		tp->stats.reaped++;
		tp->stats.ws_failed++;
		LOG(L_INFO, "[sip] WebSocket upgrade of %s timed out after %u ms",
		    sip_peer_str(&c->peer, pbuf, sizeof(pbuf)), SIP_TLS_HANDSHAKE_MS);
		sip_conn_close(c, "WebSocket upgrade timed out");
		return;
	}
	if (c->in_len && now >= c->partial_since + SIP_TCP_PARTIAL_MS) {
		tp->stats.reaped++;
		sip_conn_close(c, "partial message timed out");
		return;
	}
	if (now >= c->last_ms + tp->idle_ms && now >= c->hold_until) {
		tp->stats.reaped++;
		sip_conn_close(c, "idle");
		return;
	}
	sip_conn_arm(c);
}

static void on_conn(struct loop *loop, int fd, uint32_t events, void *arg);

static struct sip_conn *conn_new(struct sip_transport *tp, int fd, const struct sip_peer *peer,
				 bool connecting)
{
	bool tls = peer->proto == SIP_TLS || peer->proto == SIP_WSS;
	struct sip_conn *c;

	if (tp->nconns >= SIP_TCP_MAX_CONNS) {
		tp->stats.refused++;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->in = malloc(CONN_IN + 1);
	if (tls && tp->tls && connecting && tp->tls_verify &&
	    same_addr(&peer->addr, &tp->tls_verify_addr))
		c->ssl = tls_new_verified(tp->tls, fd);
	else if (tls && tp->tls)
		c->ssl = tls_new(tp->tls, fd, !connecting);
	if (!c->in || (tls && !c->ssl) ||
	    loop_add_fd(tp->loop, fd, EPOLLIN | (connecting ? EPOLLOUT : 0), on_conn, c)) {
		tls_free(c->ssl);
		free(c->in);
		free(c);
		return NULL;
	}
	c->tp = tp;
	c->fd = fd;
	c->peer = *peer;
	c->peer.proto = peer->proto < SIP_NPROTO && peer->proto != SIP_UDP ? peer->proto : SIP_TCP;
	c->connecting = connecting;
	c->handshaking = tls;
	c->upgrading = c->peer.proto == SIP_WS || c->peer.proto == SIP_WSS;
	c->http_fd = c->mhd_fd = -1;
	c->opened = c->last_ms = loop_now_ms(tp->loop);
	c->bucket = (unsigned)peer_hash(tp, &peer->addr) & (SIP_TCP_BUCKETS - 1);
	c->next = tp->conns[c->bucket];
	tp->conns[c->bucket] = c;
	tp->nconns++;
	loop_timer_init(&c->timer, on_conn_timer, c);
	sip_conn_arm(c);
	return c;
}

static void sock_options(int fd)
{
	int on = 1, idle = 60, intvl = 10, cnt = 3;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* What the connection waits for: input always, output while it has some to give. */
static void conn_watch(struct sip_conn *c)
{
	bool out = c->connecting || c->want_write || (c->out_len && !c->handshaking);

	loop_mod_fd(c->tp->loop, c->fd, EPOLLIN | (out ? EPOLLOUT : 0));
}

/* recv() or TLS: bytes, 0 at the peer's end, -EAGAIN, or -errno. */
static ssize_t conn_recv(struct sip_conn *c, char *buf, size_t len)
{
	ssize_t n;

	if (c->ssl)
		return tls_read(c->ssl, buf, len, &c->want_write);
	n = recv(c->fd, buf, len, 0);
	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	return n;
}

static ssize_t conn_send(struct sip_conn *c, const char *buf, size_t len)
{
	ssize_t n;

	if (c->ssl)
		return tls_write(c->ssl, buf, len, &c->want_write);
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	return n;
}

int sip_conn_flush(struct sip_conn *c)
{
	while (c->out_len && !c->connecting && !c->handshaking) {
		ssize_t n = conn_send(c, c->out, c->out_len);

		if (n == -EAGAIN)
			break;
		if (n < 0)
			return (int)n;
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
		c->last_ms = loop_now_ms(c->tp->loop);
	}
	conn_watch(c);
	return 0;
}

/*
 * One step of a TLS handshake; returns false when c was closed. Failures
 * are said once at info: a phone that cannot connect is a question an
 * operator asks.
 */
static bool conn_handshake(struct sip_conn *c)
{
	struct sip_transport *tp = c->tp;
	char why[160] = "", pbuf[64];
	int r = tls_handshake(c->ssl, &c->want_write, why, sizeof(why));

	if (r < 0) {
		tp->stats.tls_failed++;
		LOG(L_INFO, "[sip] TLS handshake with %s failed: %s",
		    sip_peer_str(&c->peer, pbuf, sizeof(pbuf)), why);
		sip_conn_close(c, "TLS handshake failed");
		return false;
	}
	if (r == 1) {
		tp->stats.tls_handshakes++;
		c->handshaking = false;
		c->want_write = false;
		c->last_ms = loop_now_ms(tp->loop);
		LOG(L_DEBUG, "[sip] TLS with %s: %s, %s", sip_peer_str(&c->peer, pbuf, sizeof(pbuf)),
		    SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
		if (c->upgrading && c->tp->ws_ops->http_start(c)) {
			sip_conn_close(c, "WebSocket upgrade not started");
			return false;
		}
	}
	return true;
}

int sip_conn_write(struct sip_conn *c, const char *buf, size_t len)
{
	char *out;

	if (c->out_len + len > SIP_TCP_OUTBUF)
		return -ENOBUFS;
	out = realloc(c->out, c->out_len + len);
	if (!out)
		return -ENOMEM;
	c->out = out;
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return sip_conn_flush(c);
}

/* Hands up every complete message in c->in; returns false when c was closed. */
static bool conn_frame(struct sip_conn *c)
{
	struct sip_transport *tp = c->tp;

	for (;;) {
		size_t skip = 0, hdr_len = 0;
		long n;

		/* CRLF keepalives: a CRLFCRLF ping gets a CRLF pong (RFC 5626 §4.4.1). */
		while (skip + 1 < c->in_len && c->in[skip] == '\r' && c->in[skip + 1] == '\n') {
			if (skip + 3 < c->in_len && c->in[skip + 2] == '\r' && c->in[skip + 3] == '\n') {
				sip_conn_write(c, "\r\n", 2);
				skip += 4;
			} else {
				skip += 2;
			}
		}
		if (skip) {
			memmove(c->in, c->in + skip, c->in_len - skip);
			c->in_len -= skip;
		}
		if (!c->in_len)
			return true;
		n = sip_msg_frame(c->in, c->in_len, &hdr_len);
		if (n == 0) {
			if (c->in_len < SIP_MAX_MSG)
				return true;
			n = -EMSGSIZE;
			hdr_len = 0;
		}
		if (n < 0) {
			unsigned flags = n == -EMSGSIZE ? SIP_RX_OVERSIZE : SIP_RX_BAD_FRAME;

			if (n == -EMSGSIZE)
				tp->stats.oversize++;
			if (hdr_len) {
				char save = c->in[hdr_len];

				c->in[hdr_len] = '\0';
				c->busy = true;
				tp->rx(tp->rx_arg, &c->peer, c->in, hdr_len, flags);
				c->busy = false;
				c->in[hdr_len] = save;
			}
			sip_conn_close(c, n == -EMSGSIZE ? "message too large" : "bad Content-Length");
			return false;
		}
		{
			char save = c->in[n];

			c->in[n] = '\0';
			tp->stats.tcp_rx += !c->ssl;
			tp->stats.tls_rx += !!c->ssl;
			c->busy = true;
			tp->rx(tp->rx_arg, &c->peer, c->in, (size_t)n, 0);
			c->busy = false;
			c->in[n] = save;
			if (c->dead) {		/* a write in rx failed */
				sip_conn_close(c, "write failed");
				return false;
			}
		}
		memmove(c->in, c->in + n, c->in_len - (size_t)n);
		c->in_len -= (size_t)n;
		c->partial_since = loop_now_ms(tp->loop);
	}
}

static void on_conn(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct sip_conn *c = arg;
	int err = 0;
	socklen_t elen = sizeof(err);

	(void)loop;
	if (c->connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
			sip_conn_close(c, err ? strerror(err) : "connect failed");
			return;
		}
		c->connecting = false;
	}
	if (c->handshaking && !c->connecting) {
		if (!conn_handshake(c))
			return;
		if (c->handshaking) {
			conn_watch(c);
			sip_conn_arm(c);
			return;
		}
	}
	/* A TLS session may hold decrypted bytes the socket no longer signals. */
	if ((events & EPOLLIN) || (c->ssl && !c->connecting)) {
		for (;;) {
			ssize_t n;

			size_t cap = c->ws ? CONN_IN : SIP_MAX_MSG;

			if (c->in_len >= cap) {
				if (!(c->ws ? c->tp->ws_ops->frames(c) : conn_frame(c)))
					return;
				if (c->in_len >= cap)
					break;
			}
			n = conn_recv(c, c->in + c->in_len, cap - c->in_len);
			if (n == 0) {
				sip_conn_close(c, "peer closed");
				return;
			}
			if (n < 0) {
				if (n == -EAGAIN)
					break;
				sip_conn_close(c, c->ssl ? "TLS error" : strerror((int)-n));
				return;
			}
			if (!c->in_len)
				c->partial_since = loop_now_ms(c->tp->loop);
			c->in_len += (size_t)n;
			c->last_ms = loop_now_ms(c->tp->loop);
			if (!(c->upgrading ? c->tp->ws_ops->http_feed(c) : c->ws ? c->tp->ws_ops->frames(c)
								      : conn_frame(c)))
				return;
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		sip_conn_close(c, "connection error");
		return;
	}
	if (c->tp->rx_done)
		c->tp->rx_done(c->tp->rx_arg);
	if (sip_conn_flush(c)) {
		sip_conn_close(c, "write failed");
		return;
	}
	sip_conn_arm(c);
}

static void on_accept(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct sip_transport *tp = arg;
	struct sip_peer peer;
	struct sip_conn *c;

	(void)loop;
	(void)events;
	for (;;) {
		int cfd;

		memset(&peer, 0, sizeof(peer));
		peer.len = sizeof(peer.addr);
		cfd = accept4(fd, (struct sockaddr *)&peer.addr, &peer.len,
			      SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		peer.proto = SIP_TCP;
		for (int i = 0; i < tp->nl; i++) {
			if (tp->l[i].tcp_fd == fd) {
				peer.lidx = (uint8_t)i;
				peer.proto = tp->l[i].proto;
			}
		}
		sock_options(cfd);
		/* A reconnect from the same address replaces the old connection. */
		struct sip_conn *old = conn_find(tp, &peer.addr, peer.proto);

		if (old)
			sip_conn_close(old, "replaced by a new connection");
		c = conn_new(tp, cfd, &peer, false);
		if (!c)
			close(cfd);
		else if (peer.proto == SIP_WS && c->tp->ws_ops->http_start(c))
			sip_conn_close(c, "WebSocket upgrade not started");
	}
}

/* ---- UDP ---- */

static void on_udp(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct sip_transport *tp = arg;
	struct sip_peer peer[SIP_UDP_BURST];
	struct mmsghdr mm[SIP_UDP_BURST];
	struct iovec iov[SIP_UDP_BURST];
	uint8_t lidx = 0;
	int got;

	(void)loop;
	(void)events;
	for (int i = 0; i < tp->nl; i++)
		if (tp->l[i].udp_fd == fd)
			lidx = (uint8_t)i;
	/* One recvmmsg() for what is there, up to SIP_UDP_BURST: no recvfrom() that finds none. */
	memset(peer, 0, sizeof(peer));
	for (int i = 0; i < SIP_UDP_BURST; i++) {
		iov[i] = (struct iovec){ tp->rxbuf + (size_t)i * (SIP_MAX_MSG + 1), SIP_MAX_MSG + 1 };
		mm[i].msg_hdr = (struct msghdr){ .msg_name = &peer[i].addr,
						 .msg_namelen = sizeof(peer[i].addr),
						 .msg_iov = &iov[i], .msg_iovlen = 1 };
		mm[i].msg_len = 0;
	}
	got = recvmmsg(fd, mm, SIP_UDP_BURST, MSG_TRUNC | MSG_DONTWAIT, NULL);
	for (int i = 0; i < got; i++) {
		char *buf = iov[i].iov_base;
		size_t n = mm[i].msg_len;
		unsigned flags = 0;

		peer[i].len = mm[i].msg_hdr.msg_namelen;
		peer[i].proto = SIP_UDP;
		peer[i].lidx = lidx;
		/* MSG_TRUNC: msg_len is the datagram's length, even beyond the buffer. */
		if (n > SIP_MAX_MSG) {
			tp->stats.oversize++;
			flags = SIP_RX_OVERSIZE;
			n = SIP_MAX_MSG;
		}
		buf[n] = '\0';
		tp->stats.udp_rx++;
		tp->rx(tp->rx_arg, &peer[i], buf, n, flags);
	}
	if (tp->rx_done)
		tp->rx_done(tp->rx_arg);
}

/* ---- life ---- */

static int bind_one(int family, int type, const struct sockaddr *addr, socklen_t len)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1, err;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, addr, len) || (type == SOCK_STREAM && listen(fd, 1024))) {
		err = -errno;
		close(fd);
		return err;
	}
	if (type == SOCK_DGRAM) {
		int sz = 4 << 20;

		/*
		 * A burst (every caller's retransmission at once after a stall)
		 * must not overflow: past net.core.rmem_max when we may
		 * (CAP_NET_ADMIN), else as far as it allows.
		 */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	return fd;
}

/* A TLS or WebSocket listener: a stream only, its connections start with a handshake. */
static int open_stream_listener(struct sip_transport *tp, unsigned proto,
				const struct sockaddr *addr, socklen_t len)
{
	struct sip_listener *l = &tp->l[tp->nl];
	int fd;

	if (tp->nl >= SIP_MAX_LISTENERS)
		return -ENOSPC;
	memcpy(&l->addr, addr, len);
	l->len = len;
	l->proto = (uint8_t)proto;
	l->udp_fd = -1;
	fd = bind_one(addr->sa_family, SOCK_STREAM, addr, len);
	if (fd < 0)
		return fd;
	l->tcp_fd = fd;
	l->len = sizeof(l->addr);
	getsockname(fd, (struct sockaddr *)&l->addr, &l->len);
	if (loop_add_fd(tp->loop, fd, EPOLLIN, on_accept, tp)) {
		close(fd);
		return -ENOMEM;
	}
	tp->nl++;
	return 0;
}

static int open_listener(struct sip_transport *tp, const struct sockaddr *addr, socklen_t len)
{
	struct sip_listener *l = &tp->l[tp->nl];
	int fd;

	if (tp->nl >= SIP_MAX_LISTENERS)
		return -ENOSPC;
	memcpy(&l->addr, addr, len);
	l->len = len;
	l->proto = SIP_TCP;
	l->udp_fd = l->tcp_fd = -1;
	fd = bind_one(addr->sa_family, SOCK_DGRAM, addr, len);
	if (fd < 0)
		return fd;
	l->udp_fd = fd;
	/* Port 0: the kernel's choice, then the same one for TCP. */
	getsockname(fd, (struct sockaddr *)&l->addr, &l->len);
	fd = bind_one(addr->sa_family, SOCK_STREAM, (struct sockaddr *)&l->addr, l->len);
	if (fd < 0) {
		close(l->udp_fd);
		return fd;
	}
	l->tcp_fd = fd;
	if (loop_add_fd(tp->loop, l->udp_fd, EPOLLIN, on_udp, tp) ||
	    loop_add_fd(tp->loop, l->tcp_fd, EPOLLIN, on_accept, tp)) {
		close(l->udp_fd);
		close(l->tcp_fd);
		return -ENOMEM;
	}
	tp->nl++;
	return 0;
}

int sip_transport_open(struct sip_transport *tp, struct loop *loop,
		       const struct sockaddr *addr, socklen_t len, sip_rx_fn rx, void *arg)
{
	const struct sockaddr_in6 *sin6 = (const void *)addr;
	int err;

	memset(tp, 0, sizeof(*tp));
	tp->loop = loop;
	tp->rx = rx;
	tp->rx_arg = arg;
	tp->idle_ms = SIP_TCP_IDLE_MS;
	sip_hash_key_random(&tp->key);
	tp->rxbuf = malloc((size_t)SIP_UDP_BURST * (SIP_MAX_MSG + 1));
	tp->conns = calloc(SIP_TCP_BUCKETS, sizeof(*tp->conns));
	if (!tp->rxbuf || !tp->conns) {
		err = -ENOMEM;
		goto fail;
	}
	err = open_listener(tp, addr, len);
	if (err)
		goto fail;
	/* "[::]" is both families: an IPv4 listener on the same port beside it. */
	if (addr->sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) {
		struct sockaddr_in sin = { .sin_family = AF_INET };

		sin.sin_port = ((struct sockaddr_in6 *)&tp->l[0].addr)->sin6_port;
		err = open_listener(tp, (struct sockaddr *)&sin, sizeof(sin));
		if (err)
			goto fail;
	}
	return 0;
fail:
	sip_transport_close(tp);
	return err;
}

/* proto's listeners on addr: "[::]" is both families. */
int sip_transport_open_stream(struct sip_transport *tp, unsigned proto, const struct sockaddr *addr,
			      socklen_t len)
{
	const struct sockaddr_in6 *sin6 = (const void *)addr;
	int nl = tp->nl, err;

	err = open_stream_listener(tp, proto, addr, len);
	if (!err && addr->sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) {
		struct sockaddr_in sin = { .sin_family = AF_INET };

		sin.sin_port = ((struct sockaddr_in6 *)&tp->l[nl].addr)->sin6_port;
		err = open_stream_listener(tp, proto, (struct sockaddr *)&sin, sizeof(sin));
	}
	if (err) {
		while (tp->nl > nl) {
			tp->nl--;
			loop_del_fd(tp->loop, tp->l[tp->nl].tcp_fd);
			close(tp->l[tp->nl].tcp_fd);
		}
	}
	return err;
}

int sip_transport_open_tls(struct sip_transport *tp, const struct sockaddr *addr,
			   socklen_t len, struct tls_ctx *tls)
{
	int err;

	tp->tls = tls;
	err = sip_transport_open_stream(tp, SIP_TLS, addr, len);
	if (err)
		tp->tls = NULL;
	return err;
}

void sip_transport_close(struct sip_transport *tp)
{
	if (tp->conns) {
		for (unsigned b = 0; b < SIP_TCP_BUCKETS; b++)
			while (tp->conns[b])
				sip_conn_close(tp->conns[b], "shutting down");
	}
	for (int i = 0; i < tp->nl; i++) {
		if (tp->l[i].udp_fd >= 0) {
			loop_del_fd(tp->loop, tp->l[i].udp_fd);
			close(tp->l[i].udp_fd);
		}
		loop_del_fd(tp->loop, tp->l[i].tcp_fd);
		close(tp->l[i].tcp_fd);
	}
	sip_ws_close(&tp->ws);
	tp->tls = NULL;
	tp->nl = 0;
	free(tp->conns);
	free(tp->rxbuf);
	tp->conns = NULL;
	tp->rxbuf = NULL;
}

/* The listener kind a message over proto leaves by: UDP's and TCP's is one. */
static unsigned listener_kind(unsigned proto)
{
	return proto == SIP_UDP ? SIP_TCP : proto;
}

static int listener_for(const struct sip_transport *tp, const struct sip_peer *to)
{
	unsigned kind = listener_kind(to->proto);

	if (to->lidx < tp->nl && tp->l[to->lidx].addr.ss_family == to->addr.ss_family &&
	    tp->l[to->lidx].proto == kind)
		return to->lidx;
	for (int i = 0; i < tp->nl; i++)
		if (tp->l[i].addr.ss_family == to->addr.ss_family && tp->l[i].proto == kind)
			return i;
	return -1;
}

int sip_transport_send(struct sip_transport *tp, const struct sip_peer *to,
		       const char *buf, size_t len)
{
	struct sip_conn *c;
	int i = listener_for(tp, to), fd, err;

	if (to->proto == SIP_TLS && !tp->tls)
		return -EPROTONOSUPPORT;
	if (i < 0 && to->proto != SIP_TLS)
		return -EAFNOSUPPORT;
	if (to->proto == SIP_WS || to->proto == SIP_WSS) {
		/* Only down the connection the peer opened; a CRLF keepalive is a ping. */
		c = conn_find(tp, &to->addr, to->proto);
		if (!c || !c->ws)
			return -ENOTCONN;
		if (len == 4 && !memcmp(buf, "\r\n\r\n", 4))
			err = c->tp->ws_ops->write(c, WS_OP_PING, "", 0);
		else
			err = c->tp->ws_ops->write(c, WS_OP_TEXT, buf, len);
		if (err)
			sip_conn_close(c, err == -ENOBUFS ? "peer does not read" : "write failed");
		return err;
	}
	if (to->proto == SIP_UDP) {
		if (sendto(tp->l[i].udp_fd, buf, len, 0, (const struct sockaddr *)&to->addr,
			   (socklen_t)addr_len(&to->addr)) < 0)
			return -errno;
		return 0;
	}
	c = conn_find(tp, &to->addr, to->proto);
	if (!c && to->alt_port) {
		struct sip_peer alt = *to;

		if (alt.addr.ss_family == AF_INET)
			((struct sockaddr_in *)&alt.addr)->sin_port = htons(to->alt_port);
		else
			((struct sockaddr_in6 *)&alt.addr)->sin6_port = htons(to->alt_port);
		return sip_transport_send(tp, &(struct sip_peer){ .addr = alt.addr,
			.len = alt.len, .proto = to->proto, .lidx = alt.lidx }, buf, len);
	}
	if (!c) {
		fd = socket(to->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		sock_options(fd);
		if (connect(fd, (const struct sockaddr *)&to->addr,
			    (socklen_t)addr_len(&to->addr)) && errno != EINPROGRESS) {
			err = -errno;
			close(fd);
			return err;
		}
		c = conn_new(tp, fd, to, true);
		if (!c) {
			close(fd);
			return -ENOMEM;
		}
	}
	err = sip_conn_write(c, buf, len);
	if (err) {
		sip_conn_close(c, err == -ENOBUFS ? "peer does not read" : "write failed");
		return err;
	}
	return 0;
}

void sip_transport_hold(struct sip_transport *tp, const struct sip_peer *peer, uint64_t ms)
{
	struct sip_conn *c = conn_find(tp, &peer->addr, peer->proto);

	if (!c)
		return;
	c->hold_until = loop_now_ms(tp->loop) + ms;
	sip_conn_arm(c);
}

const struct sockaddr *sip_transport_local(const struct sip_transport *tp, int i,
					   socklen_t *len)
{
	if (i < 0 || i >= tp->nl)
		return NULL;
	*len = tp->l[i].len;
	return (const struct sockaddr *)&tp->l[i].addr;
}

const struct sockaddr *sip_transport_local_for(const struct sip_transport *tp, unsigned proto,
					       int family, socklen_t *len)
{
	for (int i = 0; i < tp->nl; i++) {
		if (tp->l[i].proto == listener_kind(proto) && tp->l[i].addr.ss_family == family) {
			*len = tp->l[i].len;
			return (const struct sockaddr *)&tp->l[i].addr;
		}
	}
	return NULL;
}
