/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The userspace relay of one stream: two legs, each the relay's RTP and
 * RTCP sockets facing one peer. It carries the whole stream with
 * `datapath = user`, and otherwise the first packets of every stream,
 * which is where it learns the peers.
 *
 * Latching: a leg's peer is the source of the first packet that arrives on
 * it (symmetric RTP, which is what gets media through NAT); until then the
 * other leg's packets go to the address its SDP gave. Once latched, a
 * packet from any other source is dropped and counted, unless the stream's
 * re-latch policy allows it:
 *
 *   off   never re-latch: the latched peer only
 *   ssrc  a new source is accepted (and latched) if its RTP carries the SSRC
 *         the leg latched with: the same phone behind a NAT that rebound its
 *         port, and not a stranger who guessed the port (RTP Bleed)
 *   any   every new source re-latches (the previous server's behaviour;
 *         open to RTP Bleed)
 *
 * RTCP latches on its own, to the first RTCP source, under the same rules
 * (by the SSRC of the sender in the RTCP header).
 *
 * STUN (RFC 7983: first byte 0..3, with the magic cookie) is never relayed
 * and never latches by itself: it goes to the stream's on_stun (the
 * session's ICE-lite agent, which answers the checks), and is dropped
 * without one. The one exception: a check the agent authenticated (the
 * peer knew the relay's ice-pwd, which only the SDP sent to that leg
 * carried) and that nominates the pair (USE-CANDIDATE) latches a leg
 * that has not latched yet, so that media can flow towards a peer behind
 * NAT before its first RTP arrives. A latched leg is re-latched by media
 * only, under the policy above.
 *
 * A leg whose peer multiplexes RTCP on its RTP port (RFC 5761, as
 * negotiated: media_leg.mux) has one endpoint for both: its RTCP arrives
 * on the relay's RTP socket and is told apart by its payload type, and
 * RTCP for it leaves from that socket to its RTP peer. So RTCP crosses
 * between a muxing peer and one with RTCP on a port of its own.
 *
 * A leg with SRTP terminated (media_leg.srtp, srtp.h): what its peer sends
 * is authenticated and decrypted before anything else, latching included,
 * so that a packet without the key neither latches nor reaches the other
 * side (dropped, counted in dropped_crypto); what goes to it is encrypted
 * with the relay's key for it last. RTCP (on its own port, or muxed and
 * told by its payload type) is SRTCP. Since only the key's holder can
 * send what authenticates (and replays are refused), a terminated leg
 * re-latches to a new source of authenticated packets whatever the
 * re-latch policy: a phone whose NAT rebound, not a stranger.
 *
 * DTLS (RFC 7983: first byte 20..63) goes to the leg's DTLS-SRTP
 * handshake (media_leg.dtls), never relayed, on its RTP port only (one
 * association per leg: DTLS-SRTP legs multiplex RTCP), and only from the leg's
 * latched peer, from the source of a check its ICE-lite agent
 * authenticated, or, before anything latched, from the address its SDP
 * gave; the first such record latches the leg. DTLS from anyone else, or
 * to a leg without DTLS, is dropped and counted (dropped_dtls). Until the
 * handshake is done, media from and to that leg is dropped.
 */
#ifndef SLUICE_MEDIA_RELAY_H
#define SLUICE_MEDIA_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "media/dtls.h"
#include "media/srtp.h"

enum media_relatch {
	MEDIA_RELATCH_OFF = 0,
	MEDIA_RELATCH_SSRC,
	MEDIA_RELATCH_ANY,
};

enum media_comp {
	MEDIA_RTP = 0,
	MEDIA_RTCP = 1,
};

struct media_endpoint {
	struct sockaddr_storage	ss;
	socklen_t		len;	/* 0: none */
};

struct media_leg_stats {
	uint64_t	packets;	/* received from the peer and relayed */
	uint64_t	bytes;
	uint64_t	dropped_source;	/* from a source that is not the peer */
	uint64_t	dropped_direction; /* the other side does not want media */
	uint64_t	relatched;
	uint64_t	stun;		/* STUN received: answered or dropped, never relayed */
	uint64_t	dropped_crypto;	/* SRTP that failed authentication (or protection) */
	uint64_t	dropped_dtls;	/* DTLS from a stranger or to a leg without it, or failed */
};

struct media_leg {
	int			fd[2];		/* RTP, RTCP: the relay's sockets */
	struct media_endpoint	sdp[2];		/* where the SDP asks for media */
	struct media_endpoint	peer[2];	/* latched source, when latched[] */
	bool			latched[2];
	uint32_t		ssrc[2];	/* of the latched source */
	bool			wants_media;	/* direction: this peer receives */
	/* Media to this peer goes to its SDP's address, not to where its own comes from. */
	bool			asymmetric;
	bool			mux;		/* the peer multiplexes RTCP (RFC 5761) */
	/* NULL: as it comes; else the relay terminates this peer's SRTP (srtp.h). */
	struct media_srtp	*srtp;
	/* DTLS-SRTP with the peer (dtls.h); its keys go into srtp when the handshake is done. */
	struct media_dtls	*dtls;
	/* The source of the last check the ICE-lite agent authenticated (DTLS may come from it). */
	struct media_endpoint	verified;
	struct media_leg_stats	stats;
	uint64_t		last_rx_ms;
};

struct media_stream;
/* Told when a leg latches or re-latches (the session then offloads). */
typedef void (*media_latch_fn)(struct media_stream *st, int leg, enum media_comp comp,
			       void *arg);

/*
 * A STUN message from src on leg's comp, for the owner to answer. Returns
 * true when it nominates src as the leg's peer (see the top of this file).
 */
typedef bool (*media_stun_fn)(struct media_stream *st, int leg, enum media_comp comp,
			      const struct sockaddr *src, socklen_t srclen, const uint8_t *pkt,
			      size_t len, void *arg);
/* The owner sets media_leg.verified when its agent authenticated a check. */

/* A leg's DTLS handshake is done: its SRTP keys, peer's (rx) and relay's (tx). */
typedef void (*media_dtls_fn)(struct media_stream *st, int leg, const struct sdes_crypto *rx,
			      const struct sdes_crypto *tx, void *arg);

/* A copy of each RTP datagram relayed from leg `from` (listening in, listen.h). */
typedef void (*media_tap_fn)(void *arg, int from, const uint8_t *pkt, size_t len);

struct media_stream {
	struct media_leg	leg[2];
	enum media_relatch	relatch;
	media_latch_fn		on_latch;
	media_stun_fn		on_stun;	/* NULL: STUN is dropped */
	media_dtls_fn		on_dtls;
	void			*arg;
	media_tap_fn		tap;		/* NULL: none */
	void			*tap_arg;
	bool			backlog;	/* the last input read a whole batch */
};

enum media_verdict {
	MEDIA_ACCEPT,		/* from the latched peer */
	MEDIA_LATCH,		/* first packet, or an allowed re-latch: now the peer */
	MEDIA_DROP_SOURCE,	/* from elsewhere: RTP Bleed protection */
};

/*
 * Decides about a datagram from src on leg's component, by the rules
 * above, and latches when the verdict is MEDIA_LATCH.
 */
enum media_verdict media_latch(struct media_leg *leg, enum media_comp comp,
			       enum media_relatch policy, const struct sockaddr *src,
			       socklen_t srclen, const uint8_t *pkt, size_t len);

/*
 * Reads what is queued on leg `from`'s socket of comp (recvmmsg, up to
 * MEDIA_RELAY_BATCH datagrams; st->backlog says whether it read that
 * many, so more may wait) and relays what is accepted out of the other
 * leg's socket (sendmmsg) to its peer (latched, else its SDP address).
 * Returns packets relayed or -errno.
 */
#define MEDIA_RELAY_BATCH	32

int media_relay_input(struct media_stream *st, int from, enum media_comp comp, uint64_t now_ms);

/*
 * Where the leg's peer receives comp (RTP's endpoint when it muxes): its
 * latched source, else (or when asymmetric) its SDP's address; NULL when
 * neither is known.
 */
const struct media_endpoint *media_leg_dest(const struct media_leg *leg, enum media_comp comp);

/* RFC 5761 5.1.2: RTCP on an RTP port, by its second byte (PT 72-76 once masked). */
bool media_muxed_rtcp(const uint8_t *pkt, size_t len);

#endif /* SLUICE_MEDIA_RELAY_H */
