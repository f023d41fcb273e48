/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SDES negotiation of one stream (RFC 4568) for a relay that terminates
 * SRTP per leg: which a=crypto lines go out, which keys each leg's SRTP
 * contexts (srtp.h) get. The session (session.c) calls it for every
 * stream of an offer and of an answer.
 *
 * Pass-through: unless asked (an NG transport-protocol that moves between
 * RTP/AVP[F] and RTP/SAVP[F], or [media] srtp = offer | require for
 * sluice's own calls), a=crypto goes through untouched, both peers hold
 * each other's keys and the relay (kernel included) forwards SRTP as it
 * forwards RTP: its header is in the clear.
 *
 * Termination: the relay has a key of its own per leg and never lets one
 * peer's key reach the other. In an offer from leg F to leg T:
 *   - F's first usable a=crypto becomes F's receiving key; the relay
 *     generates its sending key for F in the same suite (kept across
 *     re-offers in that suite), which the answer to F carries under F's
 *     tag. An F without a=crypto is plain.
 *   - T is offered the relay's keys, one a=crypto per suite not excluded
 *     (tags 1..n), or none where T is to be plain.
 * In the answer from T: the a=crypto whose tag and suite match one the
 * relay offered keys T; an answer without one leaves T plain (refused
 * when SRTP is required).
 *
 * DTLS-SRTP (dtls.h) takes the place of SDES on a leg whose profile is
 * UDP/TLS/RTP/SAVP[F]: the peer's a=fingerprint (SHA-256) is what its
 * certificate must hash to, and the relay's own a=fingerprint and a=setup
 * go to it. The relay is the DTLS server (a=setup:passive) unless the peer
 * insists on being one (passive), and offers actpass. A re-offer with the
 * same fingerprint keeps the association.
 */
#ifndef SLUICE_MEDIA_KEYING_H
#define SLUICE_MEDIA_KEYING_H

#include <stdbool.h>
#include <stddef.h>

#include "media/dtls.h"
#include "media/relay.h"
#include "media/sdes.h"
#include "media/sdp.h"

/* [media] srtp: what sluice's own calls (the B2BUA) do with SRTP. */
enum media_srtp_mode {
	MEDIA_SRTP_OFF = 0,	/* pass-through: as the phones say */
	MEDIA_SRTP_OFFER,	/* terminate; offer SRTP to every callee, take plain answers */
	MEDIA_SRTP_REQUIRE,	/* terminate; plain offers and answers are refused */
};

enum media_keys {
	MEDIA_KEYS_NONE = 0,	/* plain */
	MEDIA_KEYS_SDES,	/* a=crypto, the relay's keys */
	MEDIA_KEYS_DTLS,	/* a=fingerprint and a=setup: DTLS-SRTP with the relay */
};

/* What an offer asks of stream keying (from the NG flags or [media] srtp). */
struct media_keying_want {
	bool		terminate;	/* false: pass-through, the rest unread */
	/* To the answerer: "" as the offerer's profile, else this one (RTP/SAVP, RTP/AVP, ...). */
	const char	*proto;
	enum media_keys	offer;		/* what the answerer is offered */
	bool		require;	/* plain offer or answer: refused */
	unsigned	no_suites;	/* bit per enum sdes_suite: not offered (SDES-no-NAME) */
};

/* Where DTLS needs them: the relay's certificate and the time. */
struct media_keying_env {
	struct media_dtls_cert	*cert;
	uint64_t		now_ms;
};

struct media_keying_leg {
	bool			on;		/* the peer's SRTP is terminated */
	bool			dtls;		/* keyed by DTLS-SRTP (rs->leg[].dtls) */
	bool			dtls_offered;	/* the relay offered it DTLS-SRTP */
	uint8_t			nours;
	struct sdes_crypto	ours[SDES_MAX_LINES];	/* offered; ours[0] once settled */
	struct sdes_crypto	theirs;
	char			peer_fp[104];	/* DTLS: the peer's a=fingerprint */
};

struct media_keying {
	bool			terminate;	/* settled by the last offer */
	bool			require;
	struct media_keying_leg	leg[2];
};

/*
 * An offer from leg `from` as sdp describes it: settles k, keys the
 * sender's leg (rs->leg[from].srtp), and gives the a=crypto lines for the
 * answerer in lines (NULL: untouched) and its profile in *proto (NULL: as
 * it is). 0, or -EINVAL with a reason.
 */
int media_keying_offer(struct media_keying *k, struct media_stream *rs, int from,
		       const struct sdp_stream *sdp, const struct media_keying_want *w,
		       const struct media_keying_env *env, char *lines, size_t n,
		       const char **lines_out, const char **proto, char *err, size_t errlen);

/* The answer from leg `from`: keys it, gives the lines for the offerer. */
int media_keying_answer(struct media_keying *k, struct media_stream *rs, int from,
			const struct sdp_stream *sdp, const struct media_keying_env *env,
			char *lines, size_t n, const char **lines_out, char *err, size_t errlen);

/* Contexts freed, keys wiped: the stream is gone. */
void media_keying_clear(struct media_keying *k, struct media_stream *rs);

/* RTP/AVP <-> RTP/SAVP, AVPF <-> SAVPF: the profile in the other class. */
const char *media_keying_proto(const char *proto, bool srtp);

#endif /* SLUICE_MEDIA_KEYING_H */
