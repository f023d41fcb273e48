// SPDX-License-Identifier: GPL-2.0-only
/*
 * Media sessions (see session.h): SDP in, ports and relay legs set up,
 * SDP out; latching reported by the relay drives the kernel offload; a
 * once-a-second tick reads the kernel's counters and declares silent
 * sessions dead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "media/listen.h"
#include "media/quality.h"
#include "media/session.h"
#include "store/cdr.h"

#define TICK_MS 1000
#ifndef MEDIA_RELEASE_BATCH
#define MEDIA_RELEASE_BATCH 32	/* offloaded streams that give their sockets up at a time */
#endif

/* ---- addresses ---- */

static int endpoint(struct media_endpoint *e, int family, const char *addr, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&e->ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
			return -EINVAL;
		e->len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&e->ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
			return -EINVAL;
		e->len = sizeof(*a);
	}
	return 0;
}

/* An endpoint as the ABI carries it: address bytes and host-order port. */
static void abi_endpoint(const struct media_endpoint *e, __u8 addr[16], __u16 *port)
{
	memset(addr, 0, 16);
	if (e->ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&e->ss;

		memcpy(addr, &a->sin_addr, 4);
		*port = ntohs(a->sin_port);
	} else {
		const struct sockaddr_in6 *a = (const void *)&e->ss;

		memcpy(addr, &a->sin6_addr, 16);
		*port = ntohs(a->sin6_port);
	}
}

/* The relay's own endpoint on port: the plane's address with the port set. */
static void relay_endpoint(const struct media_plane *pl, uint16_t port, struct media_endpoint *e)
{
	*e = pl->relay;
	if (pl->family == AF_INET)
		((struct sockaddr_in *)&e->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&e->ss)->sin6_port = htons(port);
}

static void flow_key(const struct media_plane *pl, uint16_t port, struct sluice_flow_key *key)
{
	struct media_endpoint e;

	memset(key, 0, sizeof(*key));
	relay_endpoint(pl, port, &e);
	abi_endpoint(&e, key->addr, &key->port);
	key->family = pl->family == AF_INET ? SLUICE_FAMILY_IPV4 : SLUICE_FAMILY_IPV6;
}

/* ---- kernel offload ---- */

/* What a leg's peer uses for comp: RTP's endpoint for RTCP when it muxes. */
static enum media_comp peer_comp(const struct media_leg *l, enum media_comp comp)
{
	return l->mux ? MEDIA_RTP : comp;
}

/* The relay's port facing leg for comp. */
static uint16_t relay_port(const struct media_sstream *st, int leg, enum media_comp comp)
{
	return peer_comp(&st->relay.leg[leg], comp) == MEDIA_RTCP ? (uint16_t)(st->port[leg] + 1) :
								    st->port[leg];
}

/*
 * A flow about to go: what the kernel counted goes to userspace's count,
 * so that the stream's packets and bytes run on (a listener came, a
 * re-INVITE moved it); a flow put back starts from zero.
 */
static void carry_stats(struct media_ctx *m, struct media_sstream *st, int from,
			enum media_comp comp)
{
	struct sluice_flow_stats k;

	if (comp != MEDIA_RTP || st->flow[from][comp].comp ||
	    dp_stats_read(m->dp, &st->flow[from][comp], &k, 1))
		return;
	st->relay.leg[from].stats.packets += k.packets;
	st->relay.leg[from].stats.bytes += k.bytes;
}

/*
 * The flow for packets from leg `from` to the other leg, installed when
 * both legs have latched and the receiver wants media, removed otherwise.
 * Where both peers mux, the RTP flow carries RTCP; where only the sender
 * does, its RTCP goes by a flow of its own on the same port (the RTP flow
 * says SLUICE_F_DEMUX) to the receiver's RTCP port.
 */
static void offload_dir(struct media_session *s, struct media_sstream *st, int from,
			enum media_comp comp)
{
	struct media_ctx *m = s->m;
	struct media_leg *in = &st->relay.leg[from], *out = &st->relay.leg[!from];
	enum media_comp ic = peer_comp(in, comp), oc = peer_comp(out, comp);
	const struct media_endpoint *dest = media_leg_dest(out, comp);
	/* An asymmetric receiver need not have sent anything: its SDP says where. */
	bool want = in->latched[ic] && (out->latched[oc] || out->asymmetric) && dest &&
		    out->wants_media;
	bool demux = in->mux && !out->mux;
	struct sluice_flow_action act = { 0 };
	struct sluice_flow_key key;
	struct media_endpoint relay;
	int err;

	if (comp == MEDIA_RTCP && in->mux && out->mux)
		want = false;	/* muxed both ways: the RTP flow carries it */
	if (in->srtp || out->srtp || in->dtls || out->dtls)
		want = false;	/* SRTP terminated: userspace decrypts or encrypts each packet */
	if (s->listen)
		want = false;	/* someone listens in: userspace relays and copies it */
	flow_key(&m->plane[st->plane[from]], relay_port(st, from, comp), &key);
	if (comp == MEDIA_RTCP && demux)
		key.comp = SLUICE_KEY_MUXED_RTCP;
	/* Gone, or under another key now that the multiplexing changed. */
	if (st->offloaded[from][comp] &&
	    (!want || memcmp(&key, &st->flow[from][comp], sizeof(key)))) {
		carry_stats(m, st, from, comp);
		dp_flow_del(m->dp, &st->flow[from][comp]);
		st->offloaded[from][comp] = false;
	}
	if (!want)
		return;
	abi_endpoint(&in->peer[ic], act.expect_src_addr, &act.expect_src_port);
	relay_endpoint(&m->plane[st->plane[!from]], relay_port(st, !from, comp), &relay);
	abi_endpoint(&relay, act.new_src_addr, &act.new_src_port);
	abi_endpoint(dest, act.new_dst_addr, &act.new_dst_port);
	act.family = key.family;
	act.flags = SLUICE_F_STRICT_SRC | (comp == MEDIA_RTP ? SLUICE_F_RTP : SLUICE_F_RTCP);
	if (comp == MEDIA_RTP && demux)
		act.flags |= SLUICE_F_DEMUX;
	act.clock_rate = st->clock_rate;
	act.stream_id = (__u32)(st - s->st);
	err = dp_flow_put(m->dp, &key, &act);
	if (err) {
		LOG(L_WARN, "[media] %s: kernel flow for port %u: %s; userspace relays it",
		    s->id, key.port, strerror(-err));
		return;
	}
	if (!st->offloaded[from][comp])
		LOG(L_DEBUG, "[media] %s: stream %d %s %s offloaded (%s)", s->id,
		    (int)(st - s->st), from ? "callee->caller" : "caller->callee",
		    comp == MEDIA_RTP ? "RTP" : "RTCP", m->dp->desc);
	st->flow[from][comp] = key;
	st->offloaded[from][comp] = true;
}

static int reopen_stream(struct media_session *s, struct media_sstream *st);

void media_stream_offload(struct media_session *s, struct media_sstream *st)
{
	int from, comp;

	st->relay.tap = s->listen ? s->listen->ops->tap : NULL;
	st->relay.tap_arg = s->listen;
	for (from = 0; from < 2; from++)
		for (comp = 0; comp < 2; comp++)
			offload_dir(s, st, from, (enum media_comp)comp);
	/* Userspace must see this stream again (a new address to latch). */
	if (st->released && st->active &&
	    (!st->offloaded[0][MEDIA_RTP] || !st->offloaded[1][MEDIA_RTP]))
		reopen_stream(s, st);
}

static void on_latch(struct media_stream *rs, int leg, enum media_comp comp, void *arg)
{
	struct media_session *s = arg;
	struct media_sstream *st = (struct media_sstream *)((char *)rs -
							     offsetof(struct media_sstream, relay));

	(void)leg;
	(void)comp;
	media_stream_offload(s, st);
	if (s->m->keeper)
		s->m->keeper->changed(s);
}

/* The ICE-lite agent of leg answers what comes to its sockets (ice.h). */
static bool on_stun(struct media_stream *rs, int leg, enum media_comp comp,
		    const struct sockaddr *src, socklen_t srclen, const uint8_t *pkt, size_t len,
		    void *arg)
{
	struct media_session *s = arg;
	bool authenticated = false, nominated;

	nominated = media_ice_input(&s->ice[leg], rs->leg[leg].fd[comp], src, srclen, pkt, len,
				    &authenticated);
	if (authenticated && srclen <= sizeof(rs->leg[leg].verified.ss)) {
		memcpy(&rs->leg[leg].verified.ss, src, srclen);
		rs->leg[leg].verified.len = srclen;
	}
	return nominated;
}

static void on_dtls(struct media_stream *rs, int leg, const struct sdes_crypto *rx,
		    const struct sdes_crypto *tx, void *arg);

/* ---- sockets ---- */

static void on_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct media_io *io = arg;
	struct media_stream *rs = &io->s->st[io->stream].relay;

	(void)fd;
	(void)events;
	media_relay_input(rs, io->leg, io->comp, loop_now_ms(loop));
	/* More is queued than a batch: no pause, or the socket would overflow. */
	if (rs->backlog)
		loop_batch_skip(loop);
}

static void watch_stream(struct media_session *s, int i)
{
	struct media_sstream *st = &s->st[i];

	for (int leg = 0; leg < 2; leg++) {
		for (int comp = 0; comp < 2; comp++) {
			struct media_io *io = &st->io[leg][comp];
			int err;

			*io = (struct media_io){ s, i, leg, (enum media_comp)comp };
			/* The port allocator watches its sockets already (ports.h). */
			err = loop_set_fd_cb(s->m->loop, st->relay.leg[leg].fd[comp], on_readable,
					     io);
			if (err)
				LOG(L_ERROR, "[media] %s: cannot watch port %u: %s", s->id,
				    st->port[leg] + comp, strerror(-err));
		}
	}
}

/*
 * Out of file descriptors: up to MEDIA_RELEASE_BATCH streams whose RTP the
 * kernel forwards both ways give up their four sockets each (their ports
 * stay sluice's, in the port table), since userspace sees none of their
 * packets (but for STUN: a session with ICE=force keeps them). A batch,
 * not every such stream at once: thousands of close()s in one go held the
 * event loop for tens of milliseconds. Such a stream can no
 * longer re-latch, and RTCP that has not latched by then is not relayed;
 * it takes sockets again when it needs userspace (reopen_stream()).
 * Returns how many streams gave theirs up.
 */
/* Relays what the sockets still hold, from before the flows went in. */
static void drain_stream(struct media_ctx *m, struct media_sstream *st)
{
	for (int leg = 0; leg < 2; leg++) {
		for (int comp = 0; comp < 2; comp++) {
			for (int batch = 0; batch < 8; batch++)
				if (media_relay_input(&st->relay, leg, (enum media_comp)comp,
						      loop_now_ms(m->loop)) <= 0)
					break;
		}
	}
}

/* n streams gave their sockets up since the last line saying so. */
static void say_released(struct media_ctx *m, unsigned n)
{
	if (n)
		LOG(L_INFO, "[media] out of file descriptors: %u stream%s in the kernel gave up "
		    "their sockets (%u in all); they cannot re-latch until they take them back",
		    n, n == 1 ? "" : "s", m->released);
}

static int release_offloaded(struct media_ctx *m)
{
	int n = 0;

	for (struct media_session *s = m->sessions; s && n < MEDIA_RELEASE_BATCH; s = s->next) {
		/* Its ICE-lite agent answers consent checks on those sockets. */
		if (s->ice[0].force || s->ice[1].force)
			continue;
		for (int i = 0; i < s->nstreams && n < MEDIA_RELEASE_BATCH; i++) {
			struct media_sstream *st = &s->st[i];

			if (!st->active || st->released || !st->offloaded[0][MEDIA_RTP] ||
			    !st->offloaded[1][MEDIA_RTP])
				continue;
			drain_stream(m, st);
			for (int leg = 0; leg < 2; leg++) {
				media_ports_release(&m->plane[st->plane[leg]].ports, st->port[leg]);
				st->relay.leg[leg].fd[MEDIA_RTP] = st->relay.leg[leg].fd[MEDIA_RTCP] = -1;
			}
			st->released = true;
			m->released++;
			n++;
		}
	}
	/* A batch at a time, many a second at a full table: one line a second at most. */
	say_released(m, log_tally_add(&m->released_unsaid, (unsigned)n, loop_now_ms(m->loop)));
	return n;
}

static int reopen_stream(struct media_session *s, struct media_sstream *st)
{
	struct media_ctx *m = s->m;
	int leg, err = 0;

	for (leg = 0; leg < 2 && !err; leg++) {
		struct media_leg *l = &st->relay.leg[leg];

		if (l->fd[MEDIA_RTP] >= 0)
			continue;
		err = media_ports_rebind(&m->plane[st->plane[leg]].ports, st->port[leg],
					 &l->fd[MEDIA_RTP], &l->fd[MEDIA_RTCP]);
		if ((err == -EMFILE || err == -ENFILE) && release_offloaded(m) > 0)
			err = media_ports_rebind(&m->plane[st->plane[leg]].ports, st->port[leg],
						 &l->fd[MEDIA_RTP], &l->fd[MEDIA_RTCP]);
	}
	if (err) {
		LOG(L_WARN, "[media] %s: cannot take back the sockets of ports %u/%u: %s; the "
		    "stream stays as the kernel has it", s->id, st->port[0], st->port[1],
		    strerror(-err));
		return err;
	}
	st->released = false;
	m->released--;
	watch_stream(s, (int)(st - s->st));
	return 0;
}

int media_stream_open(struct media_session *s, int i, const uint16_t *ports)
{
	struct media_ctx *m = s->m;
	struct media_sstream *st = &s->st[i];
	int leg, err;

	memset(&st->relay, 0, sizeof(st->relay));
	memset(st->offloaded, 0, sizeof(st->offloaded));
	for (leg = 0; leg < 2; leg++) {
		struct media_leg *l = &st->relay.leg[leg];

		for (int again = 0; again < 2; again++) {
			if (ports) {
				st->port[leg] = ports[leg];
				err = media_ports_take(&m->plane[st->plane[leg]].ports, ports[leg],
						       &l->fd[MEDIA_RTP], &l->fd[MEDIA_RTCP]);
			} else {
				err = media_ports_alloc(&m->plane[st->plane[leg]].ports,
							&st->port[leg], &l->fd[MEDIA_RTP],
							&l->fd[MEDIA_RTCP]);
			}
			if ((err != -EMFILE && err != -ENFILE) || again || !release_offloaded(m))
				break;
		}
		if (err == -EMFILE || err == -ENFILE)
			LOG(L_ERROR, "[media] %s: cannot open media sockets: %s", s->id,
			    strerror(-err));
		if (err) {
			if (leg)
				media_ports_free(&m->plane[st->plane[0]].ports, st->port[0]);
			return err;
		}
	}
	st->relay.relatch = m->relatch;
	st->relay.on_latch = on_latch;
	st->relay.on_stun = on_stun;
	st->relay.on_dtls = on_dtls;
	st->relay.arg = s;
	watch_stream(s, i);
	st->released = false;
	st->active = true;
	return 0;
}

static void close_stream(struct media_session *s, struct media_sstream *st)
{
	struct media_ctx *m = s->m;
	int leg;

	if (!st->active)
		return;
	if (st->released)
		m->released--;
	st->released = false;		/* going: no sockets to take back */
	for (leg = 0; leg < 2; leg++)
		st->relay.leg[leg].latched[0] = st->relay.leg[leg].latched[1] = false;
	media_stream_offload(s, st);		/* nothing latched: removes every flow */
	/* The allocator takes the sockets back, watched still (ports.h). */
	for (leg = 0; leg < 2; leg++)
		media_ports_free(&m->plane[st->plane[leg]].ports, st->port[leg]);
	media_keying_clear(&st->keying, &st->relay);
	st->active = false;
}

/* ---- DTLS-SRTP ---- */

/* A leg's handshake is done: its keys into libsrtp2 (relay.h). */
static void on_dtls(struct media_stream *rs, int leg, const struct sdes_crypto *rx,
		    const struct sdes_crypto *tx, void *arg)
{
	struct media_session *s = arg;
	struct media_sstream *st = (struct media_sstream *)((char *)rs -
							     offsetof(struct media_sstream, relay));
	int rc = media_srtp_set(&rs->leg[leg].srtp, rx, tx);

	if (rc)
		LOG(L_WARN, "[media] %s: DTLS-SRTP with the %s: no SRTP context: %s", s->id,
		    leg ? "callee" : "caller", strerror(-rc));
	else
		LOG(L_INFO, "[media] %s: DTLS-SRTP with the %s on port %u: %s", s->id,
		    leg ? "callee" : "caller", st->port[leg], sdes_suites[rx->suite].name);
}

/*
 * Once a second and after each offer or answer: a client's first flight
 * and OpenSSL's retransmissions go out; a handshake not done in time, or
 * failed, is given up (its SSL freed; the leg carries no media).
 */
static void dtls_tick(struct media_session *s, struct media_sstream *st, uint64_t now)
{
	for (int leg = 0; leg < 2; leg++) {
		struct media_leg *l = &st->relay.leg[leg];
		struct media_dtls *d = l->dtls;
		const struct media_endpoint *to = media_leg_dest(l, MEDIA_RTP);

		if (!d || !d->ssl || d->done)
			continue;
		if (!d->server && !d->started_ms && to)
			d->started_ms = now ? now : 1;
		if (d->failed || (d->started_ms && now - d->started_ms > MEDIA_DTLS_TIMEOUT_MS)) {
			LOG(L_WARN, "[media] %s: DTLS-SRTP handshake with the %s %s: given up",
			    s->id, leg ? "callee" : "caller",
			    d->failed ? "failed (a wrong fingerprint, no SRTP profile or an alert)" :
			    "not done in time");
			s->m->dtls_refused++;
			media_dtls_abort(d);
			continue;
		}
		if (to)
			media_dtls_flush(d, l->fd[MEDIA_RTP], (const struct sockaddr *)&to->ss, to->len);
	}
}

/* ---- offer / answer ---- */

/*
 * Where leg's peer asked for RTCP, by what was negotiated: its RTP endpoint
 * when it muxes, else a=rtcp, else the port above RTP (RFC 3605). A mux
 * offer's RTCP on the RTP port itself does not count once mux is declined.
 */
static void leg_rtcp_sdp(struct media_sstream *st, int leg)
{
	const struct sdp_stream *sdp = &st->sdp[leg];
	struct media_leg *l = &st->relay.leg[leg];
	uint16_t port = sdp->rtcp_port;

	if (l->mux) {
		l->sdp[MEDIA_RTCP] = l->sdp[MEDIA_RTP];
		return;
	}
	if (sdp->rtcp_mux && port == sdp->port && port < 65535)
		port++;
	endpoint(&l->sdp[MEDIA_RTCP], sdp->family, sdp->hold ? sdp->addr : sdp->rtcp_addr, port);
}

/*
 * RFC 5761 with the NG flags (session.h): an offer from `from` settles what
 * the answerer is offered; its answer settles which peers mux.
 */
static void settle_mux(struct media_sstream *st, int from, bool answer, unsigned flags)
{
	struct media_leg *sender = &st->relay.leg[from], *other = &st->relay.leg[!from];

	if (!answer) {
		st->mux_flags = flags;
		st->mux_offered = (flags & (MEDIA_MUX_OFFER | MEDIA_MUX_REQUIRE)) ||
				  (st->sdp[from].rtcp_mux &&
				   !(flags & (MEDIA_MUX_REJECT | MEDIA_MUX_DEMUX)));
		if (flags & MEDIA_MUX_REQUIRE)
			other->mux = true;	/* as if it had accepted already */
		return;
	}
	flags |= st->mux_flags;
	sender->mux = (st->mux_offered && st->sdp[from].rtcp_mux) || (flags & MEDIA_MUX_REQUIRE);
	other->mux = st->sdp[!from].rtcp_mux && !(flags & MEDIA_MUX_REJECT) &&
		     (sender->mux || (flags & (MEDIA_MUX_ACCEPT | MEDIA_MUX_DEMUX)));
}

/* Settles stream st's multiplexing; returns what the SDP going out says of it. */
static enum sdp_mux_out negotiate_mux(struct media_sstream *st, int from, bool answer,
				      unsigned flags)
{
	int leg;

	settle_mux(st, from, answer, flags);
	for (leg = 0; leg < 2; leg++)
		if (st->has_sdp[leg])
			leg_rtcp_sdp(st, leg);
	if (answer)
		return st->relay.leg[!from].mux ? SDP_MUX_ONLY : SDP_MUX_OFF;
	if (!st->mux_offered)
		return SDP_MUX_OFF;
	return st->mux_flags & MEDIA_MUX_REQUIRE ? SDP_MUX_ONLY : SDP_MUX_OFFER;
}

/*
 * Where a new stream is relayed: both legs in the offer's family, each on
 * its leg's interface (the stream keeps them for its life).
 */
static int stream_planes(struct media_session *s, const struct sdp_stream *sdp, int plane[2],
			 char *err, size_t errlen)
{
	for (int l = 0; l < 2; l++) {
		plane[l] = media_plane_find(s->m, s->iface[l], sdp->family);
		if (plane[l] >= 0)
			continue;
		if (s->iface[l][0] && media_plane_find(s->m, s->iface[l], 0) >= 0)
			snprintf(err, errlen, "m=%s: interface %s has no IPv%c address",
				 sdp->media, s->iface[l], sdp->family == AF_INET6 ? '6' : '4');
		else
			snprintf(err, errlen, "m=%s: address family not served by this relay",
				 sdp->media);
		return -EINVAL;
	}
	return 0;
}

/* Takes what side `from` says about stream i. */
static int apply_sdp(struct media_session *s, int from, int i, const struct sdp_stream *sdp,
		     char *err, size_t errlen)
{
	struct media_sstream *st = &s->st[i];
	struct media_leg *leg;
	struct media_endpoint rtp;
	int rc;

	if (!sdp->port) {
		close_stream(s, st);	/* rejected or removed */
		st->has_sdp[from] = false;
		return 0;
	}
	if (st->active && s->m->plane[st->plane[0]].family != sdp->family) {
		snprintf(err, errlen, "m=%s: a stream cannot change address family", sdp->media);
		return -EINVAL;
	}
	if (!st->active) {
		rc = stream_planes(s, sdp, st->plane, err, errlen);
		if (rc)
			return rc;
		rc = media_stream_open(s, i, NULL);
		if (rc) {
			snprintf(err, errlen, "no media ports left");
			return rc;
		}
	}
	leg = &st->relay.leg[from];
	/* On hold (c=0.0.0.0 or c=::) a=rtcp's address does not count either. */
	endpoint(&rtp, sdp->family, sdp->addr, sdp->port);
	/* A new address is a new endpoint (a transfer): latch afresh. */
	if (st->has_sdp[from] && strcmp(st->sdp[from].addr, sdp->addr) &&
	    !sdp->hold && !st->sdp[from].hold)
		leg->latched[MEDIA_RTP] = leg->latched[MEDIA_RTCP] = false;
	leg->sdp[MEDIA_RTP] = rtp;
	leg->wants_media = !sdp->hold && (sdp->dir == SDP_SENDRECV || sdp->dir == SDP_RECVONLY);
	st->sdp[from] = *sdp;
	st->has_sdp[from] = true;
	leg_rtcp_sdp(st, from);
	if (sdp->clock_rate)
		st->clock_rate = sdp->clock_rate;
	st->hold = !st->relay.leg[0].wants_media || !st->relay.leg[1].wants_media;
	return 0;
}

struct negotiation {
	struct media_session	*s;
	struct sdp_rewrite	*rw;	/* its addr: the streams' plane */
	int			from;
	int			nstreams;
	bool			answer;
	bool			own;	/* sluice's own call (no opts): [media] srtp applies */
	const struct media_opts	*opts;	/* never NULL */
	/* The a=crypto lines going out per stream (rw->crypto): keys, wiped after. */
	char			crypto[SDP_MAX_STREAMS][SDES_MAX_LINES * (SDES_LINE_MAX + 1) + 1];
};

/*
 * The transport protocol of what goes out to the other side: the one NG's
 * transport-protocol asks of an offer, else the one that side already
 * speaks (an answer goes back in its offer's), else the sender's. An
 * asked one that cannot be had is an error; one that merely differs
 * (a side that gave up SRTP in a re-offer) goes out as it came.
 */
static int out_proto(struct negotiation *n, int i, const struct sdp_stream *sdp, char *err,
		     size_t errlen)
{
	const struct media_sstream *st = &n->s->st[i];
	const char *want = NULL;
	int to = !n->from;

	if (!sdp->port || sdp->pt < 0)		/* rejected, or not RTP (T.38) */
		return 0;
	if (!n->answer && n->opts->proto[0])
		return sdp_proto_convert(sdp->proto, n->rw->proto[i] = n->opts->proto, err,
					 errlen);
	if (st->has_sdp[to])
		want = st->sdp[to].proto;
	/* Into or out of SRTP or DTLS only where the relay terminates it (keying.h). */
	if (want && sdp_proto_kind(want) != sdp_proto_kind(sdp->proto) && !st->keying.terminate)
		want = NULL;
	if (want && !sdp_proto_convert(sdp->proto, want, err, errlen))
		n->rw->proto[i] = want;
	return 0;
}

/*
 * What an offer asks of SDES: NG's transport-protocol across RTP/AVP and
 * RTP/SAVP, or for sluice's own calls [media] srtp (keying.h).
 */
static void keying_want_flags(const struct negotiation *n, const struct sdp_stream *sdp,
			      struct media_keying_want *w);

static void keying_want(const struct negotiation *n, int i, const struct sdp_stream *sdp,
			struct media_keying_want *w)
{
	const struct media_keying *k = &n->s->st[i].keying;

	memset(w, 0, sizeof(*w));
	w->no_suites = n->opts->sdes_no;
	keying_want_flags(n, sdp, w);
	/* A leg keyed by DTLS keeps it in a re-offer (its association stays). */
	if (w->terminate && k->leg[!n->from].dtls) {
		w->offer = MEDIA_KEYS_DTLS;
		w->proto = NULL;
	}
}

static void keying_want_flags(const struct negotiation *n, const struct sdp_stream *sdp,
			      struct media_keying_want *w)
{
	const struct media_opts *o = n->opts;
	enum media_srtp_mode mode = n->s->m->srtp;

	if (o->proto[0]) {
		enum sdp_proto_kind to = sdp_proto_kind(o->proto);

		w->terminate = sdp_proto_kind(sdp->proto) != to;
		w->offer = to == SDP_PROTO_SRTP ? MEDIA_KEYS_SDES :
			   to == SDP_PROTO_DTLS ? MEDIA_KEYS_DTLS : MEDIA_KEYS_NONE;
		w->proto = o->proto;
		return;
	}
	if (!n->own || mode == MEDIA_SRTP_OFF)
		return;
	w->terminate = true;
	w->offer = MEDIA_KEYS_SDES;
	w->require = mode == MEDIA_SRTP_REQUIRE;
	if (w->require)
		w->proto = media_keying_proto(sdp->proto, true);
	else if (sdp_proto_kind(sdp->proto) == SDP_PROTO_DTLS)
		w->proto = "RTP/AVP";	/* a WebRTC caller: SDES best effort to a SIP phone */
}

/* SDES for stream i (keying.h): the sender's leg keyed, the lines going out. */
static int negotiate_keying(struct negotiation *n, int i, const struct sdp_stream *sdp,
			    char *err, size_t errlen)
{
	struct media_sstream *st = &n->s->st[i];
	struct media_keying_env env = { &n->s->m->dtls, loop_now_ms(n->s->m->loop) };
	struct media_keying_want w;
	const char *proto = NULL;
	int rc;

	if (!st->active || sdp->pt < 0)
		return 0;
	/* The offerer's a=mid back in the answer (a WebRTC offerer needs it). */
	if (n->answer && st->has_sdp[!n->from] && st->sdp[!n->from].mid[0])
		n->rw->mid[i] = st->sdp[!n->from].mid;
	if (n->answer)
		return media_keying_answer(&st->keying, &st->relay, n->from, sdp, &env,
					   n->crypto[i], sizeof(n->crypto[i]), &n->rw->crypto[i],
					   err, errlen);
	keying_want(n, i, sdp, &w);
	rc = media_keying_offer(&st->keying, &st->relay, n->from, sdp, &w, &env, n->crypto[i],
				sizeof(n->crypto[i]), &n->rw->crypto[i], &proto, err, errlen);
	if (proto)
		n->rw->proto[i] = proto;
	return rc;
}

/*
 * RTCP multiplexing as asked, and as DTLS-SRTP needs it (WebRTC requires
 * it, RFC 8834): a DTLS offerer's rtcp-mux accepted, a DTLS answerer
 * offered it.
 */
static unsigned mux_flags(const struct negotiation *n, int i)
{
	const struct media_keying *k = &n->s->st[i].keying;
	unsigned flags = n->opts->rtcp_mux;

	if (!n->answer && k->terminate && k->leg[n->from].dtls)
		flags |= MEDIA_MUX_ACCEPT;
	if (!n->answer && k->terminate && k->leg[!n->from].dtls_offered)
		flags |= MEDIA_MUX_OFFER;
	return flags;
}

/* sdp_negotiate()'s callback: one stream as side `from` describes it. */
static int negotiate_stream(int i, const struct sdp_stream *sdp, uint16_t *relay_port,
			    void *arg, char *err, size_t errlen)
{
	struct negotiation *n = arg;
	struct media_session *s = n->s;
	int rc, k;

	if (i < 0) {
		for (k = n->nstreams; k < s->nstreams; k++)
			close_stream(s, &s->st[k]);	/* m= lines gone */
		s->nstreams = n->nstreams;
		/* No live stream (all rejected, or no m=): o= still names the relay. */
		if (!n->rw->addr) {
			k = media_plane_find(s->m, s->iface[!n->from], AF_INET);
			if (k < 0)
				k = media_plane_find(s->m, s->iface[!n->from], 0);
			n->rw->addr = s->m->plane[k].addr;
		}
		return 0;
	}
	rc = out_proto(n, i, sdp, err, errlen);
	if (!rc)
		rc = apply_sdp(s, n->from, i, sdp, err, errlen);
	if (!rc)
		rc = negotiate_keying(n, i, sdp, err, errlen);
	if (rc)
		return rc;
	s->st[i].relay.leg[n->from].asymmetric = n->opts->asymmetric;
	if (s->st[i].active) {
		const char *addr = s->m->plane[s->st[i].plane[!n->from]].addr;

		if (n->rw->addr && strcmp(n->rw->addr, addr)) {
			snprintf(err, errlen, "streams of more than one address family");
			return -EINVAL;
		}
		n->rw->addr = addr;
		n->rw->mux[i] = negotiate_mux(&s->st[i], n->from, n->answer, mux_flags(n, i));
	}
	*relay_port = s->st[i].port[!n->from];
	n->nstreams = i + 1;
	return 0;
}

/*
 * NG's direction, in an offer: the interface of the sender's leg, then the
 * other's. It places the streams that open from then on; a stream keeps
 * the interfaces it opened on.
 */
static int take_direction(struct media_session *s, int from, const struct media_opts *opts,
			  bool answer, char *err, size_t errlen)
{
	int k;

	if (answer)
		return 0;
	for (k = 0; k < 2; k++) {
		if (opts->iface[k][0] && media_plane_find(s->m, opts->iface[k], 0) < 0) {
			snprintf(err, errlen, "unknown interface %s", opts->iface[k]);
			return -EINVAL;
		}
	}
	for (k = 0; k < 2; k++)
		if (opts->iface[k][0])
			snprintf(s->iface[k ? !from : from], sizeof(s->iface[0]), "%s",
				 opts->iface[k]);
	return 0;
}

/*
 * ICE in what goes out to the other leg: ICE=force starts (or keeps) the
 * relay's ICE-lite agent towards it, ICE=remove stops it and strips the
 * sender's ICE whatever [media] ice says; without either the leg keeps
 * what an earlier offer or answer settled.
 */
static int negotiate_ice(struct media_session *s, int to, enum media_ice ice,
			 struct sdp_rewrite *rw, char *err, size_t errlen)
{
	struct media_ice_agent *agent = &s->ice[to];
	int rc;

	if (ice == MEDIA_ICE_FORCE) {
		rc = media_ice_start(agent);
		if (rc) {
			snprintf(err, errlen, "no ICE credentials: %s", strerror(-rc));
			return rc;
		}
		agent->force = true;
	} else if (ice == MEDIA_ICE_REMOVE) {
		agent->force = false;
		rw->keep_ice = false;
	}
	if (agent->force) {
		rw->ice_ufrag = agent->ufrag;
		rw->ice_pwd = agent->pwd;
	}
	return 0;
}

/* A WebRTC peer (DTLS-SRTP terminated on its leg) gets the relay's ICE-lite agent. */
static enum media_ice dtls_ice(const struct media_session *s, int to, bool answer,
			       enum media_ice ice)
{
	if (ice != MEDIA_ICE_DEFAULT || !answer || !s->nstreams)
		return ice;
	return s->st[0].keying.terminate && s->st[0].keying.leg[to].dtls ? MEDIA_ICE_FORCE : ice;
}

static int negotiate(struct media_session *s, int from, bool answer, const struct media_opts *opts,
		     const char *body, size_t len, char **out, char *err, size_t errlen)
{
	static const struct media_opts none;
	struct sdp_rewrite rw = { .keep_ice = s->m->keep_ice };
	struct negotiation *n = calloc(1, sizeof(*n));
	struct media_ice_agent ice = s->ice[!from];	/* kept if the SDP fails */
	int i, rc;

	if (!n)
		return -ENOMEM;
	*n = (struct negotiation){ .s = s, .rw = &rw, .from = from, .answer = answer,
				   .own = !opts, .opts = opts ? opts : &none };

	rc = take_direction(s, from, n->opts, answer, err, errlen);
	if (!rc)
		rc = negotiate_ice(s, !from, dtls_ice(s, !from, answer, n->opts->ice), &rw, err,
				   errlen);
	if (!rc)
		rc = sdp_negotiate(body, len, &rw, negotiate_stream, n, out, err, errlen);
	OPENSSL_cleanse(n, sizeof(*n));
	free(n);
	if (rc) {
		s->ice[!from] = ice;
		return rc;
	}
	for (i = 0; i < s->nstreams; i++)
		if (s->st[i].active) {
			media_stream_offload(s, &s->st[i]);	/* directions may have changed */
			dtls_tick(s, &s->st[i], loop_now_ms(s->m->loop));
		}
	if (s->m->keeper)
		s->m->keeper->changed(s);
	return 0;
}

int media_offer_opts(struct media_session *s, int from, const struct media_opts *opts,
		     const char *sdp, size_t len, char **out, char *err, size_t errlen)
{
	return negotiate(s, from, false, opts, sdp, len, out, err, errlen);
}

int media_answer_opts(struct media_session *s, int from, const struct media_opts *opts,
		      const char *sdp, size_t len, char **out, char *err, size_t errlen)
{
	return negotiate(s, from, true, opts, sdp, len, out, err, errlen);
}

int media_offer(struct media_session *s, int from, const char *sdp, size_t len, char **out,
		char *err, size_t errlen)
{
	return negotiate(s, from, false, NULL, sdp, len, out, err, errlen);
}

int media_answer(struct media_session *s, int from, const char *sdp, size_t len, char **out,
		 char *err, size_t errlen)
{
	return negotiate(s, from, true, NULL, sdp, len, out, err, errlen);
}

/* ---- statistics and timeouts ---- */

static int kernel_stats(struct media_session *s, struct media_sstream *st, int from,
			struct sluice_flow_stats *k)
{
	struct sluice_flow_key key;

	memset(k, 0, sizeof(*k));
	if (!st->offloaded[from][MEDIA_RTP])
		return 0;
	flow_key(&s->m->plane[st->plane[from]], st->port[from], &key);
	return dp_stats_read(s->m->dp, &key, k, 1);
}

int media_leg_report(struct media_session *s, int stream, int leg, struct media_leg_report *out)
{
	struct media_sstream *st = &s->st[stream];
	struct sluice_flow_stats k;
	struct media_quality q;
	uint32_t expected;

	memset(out, 0, sizeof(*out));
	if (stream < 0 || stream >= s->nstreams || !st->active)
		return -ENOENT;
	kernel_stats(s, st, leg, &k);
	out->packets = st->relay.leg[leg].stats.packets + k.packets;
	out->bytes = st->relay.leg[leg].stats.bytes + k.bytes;
	out->offloaded = st->offloaded[leg][MEDIA_RTP];
	out->crypto_errors = st->relay.leg[leg].stats.dropped_crypto;
	expected = k.received ? k.ext_max_seq - k.base_seq + 1 : 0;
	out->lost = (int64_t)expected - k.received;
	if (st->clock_rate)
		out->jitter_ms = k.jitter / 16.0 * 1000.0 / st->clock_rate;
	media_quality(expected ? 100.0 * (double)(out->lost > 0 ? out->lost : 0) / expected : 0,
		      out->jitter_ms, &q);
	out->r = q.r;
	out->mos = q.mos;
	return 0;
}

void media_cdr_quality(struct media_session *s, struct cdr_rec *r)
{
	bool kernel = false;

	for (int leg = 0; leg < 2; leg++) {
		struct media_leg_report q;

		if (media_leg_report(s, 0, leg, &q))
			return;
		r->q[leg] = (struct cdr_quality){ q.packets, q.bytes, q.lost, q.jitter_ms, q.r,
						   q.mos };
		kernel |= q.offloaded;
	}
	if (!kernel)	/* userspace relayed it all */
		snprintf(r->datapath, sizeof(r->datapath), "user");
}

/* The last packet in either direction, in loop milliseconds. */
static uint64_t last_activity(struct media_session *s, uint64_t now_ms)
{
	struct timespec ts;
	uint64_t last = s->created_ms, mono_ms;
	int i, leg;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	mono_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (i = 0; i < s->nstreams; i++) {
		struct media_sstream *st = &s->st[i];

		if (!st->active)
			continue;
		for (leg = 0; leg < 2; leg++) {
			struct sluice_flow_stats k;

			if (st->relay.leg[leg].last_rx_ms > last)
				last = st->relay.leg[leg].last_rx_ms;
			if (kernel_stats(s, st, leg, &k) || !k.last_seen_ns)
				continue;
			/* Kernel time is CLOCK_MONOTONIC; the loop's may be a test's. */
			if (k.last_seen_ns / 1000000 + now_ms > mono_ms &&
			    k.last_seen_ns / 1000000 + now_ms - mono_ms > last)
				last = k.last_seen_ns / 1000000 + now_ms - mono_ms;
			/* A packet forwarded since mono_ms was read is "now", not later. */
			if (last > now_ms)
				last = now_ms;
		}
	}
	return last;
}

static bool on_hold(const struct media_session *s)
{
	int i;

	for (i = 0; i < s->nstreams; i++)
		if (s->st[i].active && !s->st[i].hold)
			return false;
	return s->nstreams > 0;
}

/*
 * SRTP that failed authentication, once a second at most per leg: a wrong
 * key, or a stranger's packets (both dropped by the relay).
 */
static void log_crypto_errors(struct media_session *s)
{
	for (int i = 0; i < s->nstreams; i++) {
		struct media_sstream *st = &s->st[i];

		for (int leg = 0; st->active && leg < 2; leg++) {
			uint64_t n = st->relay.leg[leg].stats.dropped_crypto;
			uint64_t d = st->relay.leg[leg].stats.dropped_dtls;

			if (d != st->dtls_logged[leg]) {
				LOG(L_WARN, "[media] %s: stream %d: %" PRIu64 " DTLS record%s to the "
				    "%s's port refused (not from its peer, or no DTLS there)", s->id, i,
				    d - st->dtls_logged[leg], d - st->dtls_logged[leg] == 1 ? "" : "s",
				    leg ? "callee" : "caller");
				s->m->dtls_refused += d - st->dtls_logged[leg];
				st->dtls_logged[leg] = d;
			}
			if (n == st->crypto_logged[leg])
				continue;
			LOG(L_WARN, "[media] %s: stream %d: %" PRIu64 " SRTP packet%s from the %s "
			    "failed authentication (a wrong key, or not from the peer): dropped",
			    s->id, i, n - st->crypto_logged[leg], n - st->crypto_logged[leg] == 1 ?
			    "" : "s", leg ? "callee" : "caller");
			s->m->srtp_failed += n - st->crypto_logged[leg];
			st->crypto_logged[leg] = n;
		}
	}
}

static void tick(struct loop *loop, void *arg)
{
	struct media_ctx *m = arg;
	uint64_t now = loop_now_ms(loop);
	struct media_session *s, *next;

	/* What the last second's batches left unsaid. */
	say_released(m, log_tally_take(&m->released_unsaid, now));
	for (int p = 0; p < m->nplanes; p++)
		media_ports_report(&m->plane[p].ports);
	for (s = m->sessions; s; s = next) {
		uint32_t limit = on_hold(s) ? m->hold_timeout_ms : m->timeout_ms;

		next = s->next;	/* the owner may destroy s */
		log_crypto_errors(s);
		for (int i = 0; i < s->nstreams; i++)
			if (s->st[i].active)
				dtls_tick(s, &s->st[i], now);
		/*
		 * active_ms is never later than the real last activity: seen
		 * within the limit, the session cannot be dead yet, and the
		 * kernel's counters (a map lookup per leg) are read only
		 * once per limit per session instead of every second.
		 */
		if (s->dead_reported || now - s->active_ms < limit)
			continue;
		s->active_ms = last_activity(s, now);
		if (now - s->active_ms < limit)
			continue;
		s->dead_reported = true;
		LOG(L_INFO, "[media] %s: no media for %u s, session dead", s->id, limit / 1000);
		if (s->dead)
			s->dead(s, s->owner);
	}
	loop_timer_arm(loop, &m->tick, TICK_MS);
}

/* ---- lifetime ---- */

static int plane_init(struct media_plane *pl, const char *name, const char *addr,
		      uint16_t port_min, uint16_t port_max)
{
	pl->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (strlen(addr) >= sizeof(pl->addr) || strlen(name) >= sizeof(pl->name) || !name[0] ||
	    endpoint(&pl->relay, pl->family, addr, 0))
		return -EINVAL;
	strcpy(pl->addr, addr);
	strcpy(pl->name, name);
	pl->up = true;
	return media_ports_init(&pl->ports, (struct sockaddr *)&pl->relay.ss, pl->relay.len,
				port_min, port_max);
}

int media_plane_find(const struct media_ctx *m, const char *name, int family)
{
	if (!name || !name[0])
		name = m->plane[0].name;
	for (int p = 0; p < m->nplanes; p++)
		if (!strcmp(m->plane[p].name, name) && (!family || m->plane[p].family == family))
			return p;
	return -1;
}

static void planes_fini(struct media_ctx *m)
{
	for (int p = 0; p < m->nplanes; p++)
		media_ports_fini(&m->plane[p].ports);
}

int media_init(struct media_ctx *m, struct loop *loop, struct dp *dp, const char *addrs,
	       uint16_t port_min, uint16_t port_max, enum media_relatch relatch,
	       uint32_t timeout_s, uint32_t hold_timeout_s)
{
	char list[MEDIA_PLANES_MAX * (MEDIA_IFACE_MAX + SDP_ADDR_MAX)], *tok, *save = NULL;
	int err = -EINVAL;

	memset(m, 0, sizeof(*m));
	if (strlen(addrs) >= sizeof(list))
		return -EINVAL;
	strcpy(list, addrs);
	for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *slash = strchr(tok, '/');
		const char *name = slash ? tok : "default", *addr = slash ? slash + 1 : tok;
		struct media_plane *pl = &m->plane[m->nplanes];

		if (slash)
			*slash = '\0';
		if (m->nplanes == MEDIA_PLANES_MAX ||
		    media_plane_find(m, name, strchr(addr, ':') ? AF_INET6 : AF_INET) >= 0) {
			err = -EINVAL;	/* too many, or two of one family on one interface */
			goto out_fini;
		}
		err = plane_init(pl, name, addr, port_min, port_max);
		if (err)
			goto out_fini;
		m->nplanes++;
	}
	if (!m->nplanes)
		goto out_fini;
	m->loop = loop;
	for (int p = 0; p < m->nplanes; p++) {
		media_ports_set_loop(&m->plane[p].ports, loop);
		media_ports_share_idle(&m->plane[p].ports, &m->plane[0].ports);
	}
	m->dp = dp;
	m->relatch = relatch;
	m->timeout_ms = timeout_s * 1000;
	m->hold_timeout_ms = hold_timeout_s * 1000;
	loop_timer_init(&m->tick, tick, m);
	loop_timer_arm(loop, &m->tick, TICK_MS);
	if (!media_dtls_cert_init(&m->dtls))
		LOG(L_INFO, "[media] DTLS-SRTP certificate sha-256 %s", m->dtls.fingerprint);
	return 0;

out_fini:
	planes_fini(m);
	return err;
}

void media_set_batch(struct media_ctx *m, uint32_t us)
{
	loop_set_batch(m->loop, on_readable, us);
}

void media_fini(struct media_ctx *m)
{
	while (m->sessions)
		media_session_destroy(m->sessions);
	if (m->keeper)
		m->keeper->flush(m);	/* their rows go (kept when handed over: no store) */
	loop_timer_cancel(m->loop, &m->tick);
	media_dtls_cert_fini(&m->dtls);
	planes_fini(m);
}

struct media_session *media_session_new(struct media_ctx *m, const char *id,
					media_dead_fn dead, void *owner)
{
	struct media_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->m = m;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->dead = dead;
	s->owner = owner;
	s->created_ms = s->active_ms = loop_now_ms(m->loop);
	s->next = m->sessions;
	if (m->sessions)
		m->sessions->prev = s;
	m->sessions = s;
	m->nsessions++;
	return s;
}

void media_session_destroy(struct media_session *s)
{
	int i;

	/* What the relay dropped since the last tick is counted and said before it goes. */
	log_crypto_errors(s);
	if (s->listen)
		s->listen->ops->stop(s->listen, "the call ended");
	if (s->m->keeper)
		s->m->keeper->gone(s);
	for (i = 0; i < SDP_MAX_STREAMS; i++)
		close_stream(s, &s->st[i]);
	if (s->prev)
		s->prev->next = s->next;
	else
		s->m->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->m->nsessions--;
	free(s);
}
