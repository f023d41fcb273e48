// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userspace relay and latching (see relay.h). Batches of up to 32
 * datagrams per system call each way: the relay carries only the first
 * packets of a stream when a kernel path is up, but all of them with
 * `datapath = user`, and then its cost per packet is the whole story.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "media/relay.h"
#include "net/stun.h"

#define RELAY_BATCH	MEDIA_RELAY_BATCH
#define RELAY_MTU	2048

static bool same_endpoint(const struct media_endpoint *e, const struct sockaddr *sa,
			  socklen_t len)
{
	const struct sockaddr_storage *ss = &e->ss;

	if (!e->len || ss->ss_family != sa->sa_family)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss, *b = (const void *)sa;

		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *a = (const void *)ss, *b = (const void *)sa;

		return a->sin6_port == b->sin6_port &&
		       !memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr));
	}
	return false;
}

/*
 * The SSRC of the sender: RTP carries it at offset 8, RTCP (RFC 3550 6.4)
 * at offset 4 of a sender or receiver report. Returns false when the
 * datagram is not version 2 RTP/RTCP.
 */
static bool sender_ssrc(enum media_comp comp, const uint8_t *p, size_t len, uint32_t *ssrc)
{
	size_t off = comp == MEDIA_RTP ? 8 : 4;

	if (len < off + 4 || (p[0] >> 6) != 2)
		return false;
	/* On a muxed port, RTCP arrives on the RTP socket (RFC 5761). */
	if (comp == MEDIA_RTP && p[1] >= 200 && p[1] <= 204)
		off = 4;
	*ssrc = (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 |
		(uint32_t)p[off + 2] << 8 | p[off + 3];
	return true;
}

static void set_peer(struct media_leg *leg, enum media_comp comp, const struct sockaddr *src,
		     socklen_t len, bool have_ssrc, uint32_t ssrc)
{
	memcpy(&leg->peer[comp].ss, src, len);
	leg->peer[comp].len = len;
	leg->latched[comp] = true;
	leg->ssrc[comp] = have_ssrc ? ssrc : 0;
}

enum media_verdict media_latch(struct media_leg *leg, enum media_comp comp,
			       enum media_relatch policy, const struct sockaddr *src,
			       socklen_t srclen, const uint8_t *pkt, size_t len)
{
	bool have_ssrc;
	uint32_t ssrc = 0;

	if (leg->latched[comp] && same_endpoint(&leg->peer[comp], src, srclen))
		return MEDIA_ACCEPT;
	have_ssrc = sender_ssrc(comp, pkt, len, &ssrc);
	if (!leg->latched[comp]) {
		set_peer(leg, comp, src, srclen, have_ssrc, ssrc);
		return MEDIA_LATCH;
	}
	if (policy == MEDIA_RELATCH_ANY ||
	    (policy == MEDIA_RELATCH_SSRC && have_ssrc && leg->ssrc[comp] &&
	     ssrc == leg->ssrc[comp])) {
		set_peer(leg, comp, src, srclen, have_ssrc, ssrc);
		leg->stats.relatched++;
		return MEDIA_LATCH;
	}
	leg->stats.dropped_source++;
	return MEDIA_DROP_SOURCE;
}

bool media_muxed_rtcp(const uint8_t *pkt, size_t len)
{
	uint8_t pt;

	if (len < 2 || (pkt[0] >> 6) != 2)
		return false;
	pt = pkt[1] & 0x7f;
	return pt >= 72 && pt <= 76;
}

const struct media_endpoint *media_leg_dest(const struct media_leg *leg, enum media_comp comp)
{
	if (leg->mux)
		comp = MEDIA_RTP;
	if (leg->latched[comp] && !leg->asymmetric)
		return &leg->peer[comp];
	return leg->sdp[comp].len ? &leg->sdp[comp] : NULL;
}

/* STUN on a media socket: the owner's to answer, never relayed (relay.h). */
static void stun_input(struct media_stream *st, int from, enum media_comp comp,
		       const struct sockaddr *src, socklen_t srclen, const uint8_t *pkt,
		       size_t len)
{
	struct media_leg *leg = &st->leg[from];

	leg->stats.stun++;
	if (!st->on_stun || !st->on_stun(st, from, comp, src, srclen, pkt, len, st->arg))
		return;
	if (leg->latched[comp])
		return;
	set_peer(leg, comp, src, srclen, false, 0);
	if (st->on_latch)
		st->on_latch(st, from, comp, st->arg);
}

/* DTLS on a media socket: the leg's handshake, from its peer only (relay.h). */
static void dtls_input(struct media_stream *st, int from, enum media_comp comp,
		       const struct sockaddr *src, socklen_t srclen, const uint8_t *pkt,
		       size_t len, uint64_t now_ms)
{
	struct media_leg *leg = &st->leg[from];
	struct sdes_crypto rx, tx;
	bool known;
	int rc;

	if (comp != MEDIA_RTP)
		known = false;	/* one association per leg, on its RTP port (rtcp-mux) */
	else if (leg->latched[comp])
		known = same_endpoint(&leg->peer[comp], src, srclen);
	else
		known = same_endpoint(&leg->verified, src, srclen) ||
			same_endpoint(&leg->sdp[MEDIA_RTP], src, srclen);
	if (!leg->dtls || !known) {
		leg->stats.dropped_dtls++;
		return;
	}
	if (!leg->dtls->started_ms)
		leg->dtls->started_ms = now_ms ? now_ms : 1;
	if (!leg->latched[comp]) {
		set_peer(leg, comp, src, srclen, false, 0);
		if (st->on_latch)
			st->on_latch(st, from, comp, st->arg);
	}
	leg->last_rx_ms = now_ms;
	rc = media_dtls_input(leg->dtls, pkt, len, leg->fd[comp], src, srclen, &rx, &tx);
	if (rc == 1 && st->on_dtls)
		st->on_dtls(st, from, &rx, &tx, st->arg);
	else if (rc < 0)
		leg->stats.dropped_dtls++;
	OPENSSL_cleanse(&rx, sizeof(rx));
	OPENSSL_cleanse(&tx, sizeof(tx));
}

/*
 * A batch to send out of one of the other leg's sockets: RTP and RTCP part
 * ways where one peer muxes and the other does not.
 */
struct relay_out {
	struct mmsghdr	msg[RELAY_BATCH];
	struct iovec	iov[RELAY_BATCH];
	unsigned	n;
};

static void out_add(struct relay_out *o, void *buf, size_t len, const struct media_endpoint *dest)
{
	struct mmsghdr *m = &o->msg[o->n];

	memset(m, 0, sizeof(*m));
	o->iov[o->n].iov_base = buf;
	o->iov[o->n].iov_len = len;
	m->msg_hdr.msg_iov = &o->iov[o->n];
	m->msg_hdr.msg_iovlen = 1;
	m->msg_hdr.msg_name = (void *)&dest->ss;
	m->msg_hdr.msg_namelen = dest->len;
	o->n++;
}

static int out_send(int fd, struct relay_out *o)
{
	int sent;

	if (!o->n)
		return 0;
	sent = sendmmsg(fd, o->msg, o->n, MSG_DONTWAIT);
	if (sent < 0) {
		LOG(L_DEBUG, "[media] relay send: %s", strerror(errno));
		return -errno;
	}
	return sent;
}

int media_relay_input(struct media_stream *st, int from, enum media_comp comp, uint64_t now_ms)
{
	/*
	 * On the stack (64 KiB), not static: a latch can lead back in here
	 * for another stream (its offload reopening sockets under fd
	 * pressure drains the streams that give theirs up) while this
	 * batch is still to be sent.
	 */
	uint8_t bufs[RELAY_BATCH][RELAY_MTU];
	struct relay_out out[2];		/* by the other leg's socket */
	struct mmsghdr in[RELAY_BATCH];
	struct sockaddr_storage src[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
	struct media_leg *leg = &st->leg[from], *other = &st->leg[!from];
	const struct media_endpoint *dest;
	int n, i, sent, rtcp_sent;

	memset(in, 0, sizeof(in));
	for (i = 0; i < RELAY_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		/* Room for what SRTP adds on the way out. */
		iov[i].iov_len = RELAY_MTU - MEDIA_SRTP_TRAILER;
		in[i].msg_hdr.msg_iov = &iov[i];
		in[i].msg_hdr.msg_iovlen = 1;
		in[i].msg_hdr.msg_name = &src[i];
		in[i].msg_hdr.msg_namelen = sizeof(src[i]);
	}
	n = recvmmsg(leg->fd[comp], in, RELAY_BATCH, MSG_DONTWAIT, NULL);
	st->backlog = n == RELAY_BATCH;
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;

	out[MEDIA_RTP].n = out[MEDIA_RTCP].n = 0;
	for (i = 0; i < n; i++) {
		size_t len = in[i].msg_len;
		enum media_comp what = comp;
		enum media_verdict v;

		if (stun_is_packet(bufs[i], len)) {
			stun_input(st, from, comp, (struct sockaddr *)&src[i],
				   in[i].msg_hdr.msg_namelen, bufs[i], len);
			continue;
		}
		if (media_dtls_is_packet(bufs[i], len)) {
			dtls_input(st, from, comp, (struct sockaddr *)&src[i],
				   in[i].msg_hdr.msg_namelen, bufs[i], len, now_ms);
			continue;
		}
		if (leg->dtls && !leg->srtp) {
			leg->stats.dropped_crypto++;	/* no keys yet */
			continue;
		}
		if (leg->srtp && media_srtp_unprotect(leg->srtp, comp == MEDIA_RTCP ||
						      media_muxed_rtcp(bufs[i], len), bufs[i], &len)) {
			leg->stats.dropped_crypto++;
			continue;
		}
		/* What authenticated as SRTP comes from the key's holder: it may re-latch. */
		v = media_latch(leg, comp, leg->srtp ? MEDIA_RELATCH_ANY : st->relatch, (struct sockaddr *)&src[i],
				in[i].msg_hdr.msg_namelen, bufs[i], len);
		if (v == MEDIA_DROP_SOURCE)
			continue;
		leg->last_rx_ms = now_ms;
		if (v == MEDIA_LATCH && st->on_latch)
			st->on_latch(st, from, comp, st->arg);
		if (comp == MEDIA_RTP && leg->mux && media_muxed_rtcp(bufs[i], len))
			what = MEDIA_RTCP;
		dest = media_leg_dest(other, what);
		if (!other->wants_media || !dest) {
			leg->stats.dropped_direction++;
			continue;
		}
		if (other->dtls && !other->srtp) {
			leg->stats.dropped_direction++;	/* the other side has no keys yet */
			continue;
		}
		if (other->srtp && media_srtp_protect(other->srtp, what == MEDIA_RTCP, bufs[i], &len)) {
			leg->stats.dropped_crypto++;
			continue;
		}
		leg->stats.packets++;
		leg->stats.bytes += len;
		if (st->tap && what == MEDIA_RTP)
			st->tap(st->tap_arg, from, bufs[i], len);
		out_add(&out[other->mux ? MEDIA_RTP : what], bufs[i], len, dest);
	}
	sent = out_send(other->fd[MEDIA_RTP], &out[MEDIA_RTP]);
	rtcp_sent = out_send(other->fd[MEDIA_RTCP], &out[MEDIA_RTCP]);
	if (sent < 0 || rtcp_sent < 0)
		return sent < 0 ? sent : rtcp_sent;
	return sent + rtcp_sent;
}
