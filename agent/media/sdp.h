/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SDP as the relay needs it: what each m= line asks for (where the peer
 * wants media, RTCP, direction, clock rate) and a rewrite that points the
 * session at the relay. Parsing and printing are libosip2's; this module
 * checks what libosip2 lets through and keeps everything it does not need
 * to touch. a=crypto (SDES) is read (sdes.h) so that the session can
 * terminate SRTP where asked; where it is not, it passes untouched and
 * SRTP works end to end, since the relay never looks inside a payload.
 */
#ifndef SLUICE_MEDIA_SDP_H
#define SLUICE_MEDIA_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/sdes.h"

#ifndef SDP_MAX_STREAMS
#define SDP_MAX_STREAMS 8
#endif
#define SDP_ADDR_MAX 64

enum sdp_dir {
	SDP_SENDRECV = 0,
	SDP_SENDONLY,
	SDP_RECVONLY,
	SDP_INACTIVE,
};

enum sdp_setup {
	SDP_SETUP_NONE = 0,
	SDP_SETUP_ACTPASS,
	SDP_SETUP_ACTIVE,
	SDP_SETUP_PASSIVE,
	SDP_SETUP_HOLDCONN,
};

/* Transport protocols by what going between them takes. */
enum sdp_proto_kind {
	SDP_PROTO_OTHER = 0,
	SDP_PROTO_RTP,		/* RTP/AVP, RTP/AVPF */
	SDP_PROTO_SRTP,		/* RTP/SAVP, RTP/SAVPF: SDES keys */
	SDP_PROTO_DTLS,		/* UDP/TLS/RTP/SAVP, UDP/TLS/RTP/SAVPF */
};

enum sdp_proto_kind sdp_proto_kind(const char *proto);

struct sdp_stream {
	char		media[16];		/* audio, video, ... */
	char		proto[24];		/* RTP/AVP, RTP/SAVP, ... */
	uint16_t	port;			/* 0: rejected, nothing allocated */
	uint16_t	rtcp_port;		/* a=rtcp, else port + 1 */
	char		rtcp_addr[SDP_ADDR_MAX];/* a=rtcp's address, else addr */
	bool		rtcp_mux;		/* a=rtcp-mux */
	int		family;			/* AF_INET or AF_INET6 of addr */
	char		addr[SDP_ADDR_MAX];	/* media-level c=, else session c= */
	bool		hold;			/* c=0.0.0.0 (RFC 2543 hold) or c=:: */
	enum sdp_dir	dir;			/* media a=, else session a=, else sendrecv */
	int		pt;			/* first payload type, -1: not RTP (t38) */
	uint32_t	clock_rate;		/* its rtpmap clock (static types known), 0: unknown */
	/* SDES (sdes.h): the usable a=crypto lines in order, and how many there were in all. */
	struct sdes_crypto crypto[SDES_MAX_LINES];
	uint8_t		ncrypto;
	uint8_t		ncrypto_seen;
	/* DTLS-SRTP (RFC 8122, 4145): a=fingerprint's SHA-256 ("" for none or another hash), a=setup. */
	char		fingerprint[104];
	enum sdp_setup	setup;
	char		mid[32];		/* a=mid (RFC 8843), "" for none */
};

struct sdp_info {
	int			nstreams;
	struct sdp_stream	streams[SDP_MAX_STREAMS];
};

/*
 * Parses an SDP body. Returns 0, or -EINVAL with what was wrong in err
 * (the SIP layer answers 488 or 400 with it).
 */
int sdp_parse(const char *body, size_t len, struct sdp_info *out, char *err, size_t errlen);

/* The first codec of the first stream, "PCMA/8000" (its rtpmap, else the static type's name). */
int sdp_first_codec(const char *body, size_t len, char *out, size_t n);

/* What an m= line going out says about RTCP multiplexing (RFC 5761). */
enum sdp_mux_out {
	SDP_MUX_KEEP = 0,	/* as it came; a=rtcp at the port if it named the port, else + 1 */
	SDP_MUX_OFF,		/* no a=rtcp-mux; a=rtcp at port + 1 */
	SDP_MUX_OFFER,		/* a=rtcp-mux; a=rtcp at port + 1, for a peer that declines */
	SDP_MUX_ONLY,		/* a=rtcp-mux; a=rtcp at the port itself */
};

struct sdp_rewrite {
	const char	*addr;			/* the relay's address on this leg */
	uint16_t	ports[SDP_MAX_STREAMS];	/* per m= line; ignored where the port is 0 */
	unsigned char	mux[SDP_MAX_STREAMS];	/* enum sdp_mux_out, per m= line */
	bool		keep_ice;		/* default: ICE attributes removed */
	/* Per m= line, the transport protocol to write (NULL: as it is). */
	const char	*proto[SDP_MAX_STREAMS];
	/*
	 * Per m= line, NULL: its keying (a=crypto, a=fingerprint, a=setup) as
	 * it is; else all of it goes and these take its place: "FIELD:VALUE"
	 * attributes, each ended by '\n' ("" for none).
	 */
	const char	*crypto[SDP_MAX_STREAMS];
	/* Per m= line, an a=mid to add where it has none (NULL: none). */
	const char	*mid[SDP_MAX_STREAMS];
	/*
	 * The relay's own ICE-lite agent (ice.h), NULL: none. The peer's ICE
	 * goes (keep_ice or not) and the relay's comes in: a=ice-lite,
	 * a=ice-ufrag and a=ice-pwd at session level, and per live m= the
	 * host candidates of its RTP port (component 1) and, without
	 * a=rtcp-mux, its RTCP port, port + 1 (component 2).
	 */
	const char	*ice_ufrag;
	const char	*ice_pwd;
};

/*
 * Whether a stream described with transport protocol `from` can go out as
 * `to`: between RTP/AVP and RTP/AVPF, between RTP/SAVP and RTP/SAVPF
 * (only the RTCP feedback differs), and between those and each other
 * and DTLS-SRTP (the relay terminates SRTP: keying.h). 0, or -EINVAL with
 * the reason in err (not an RTP profile).
 */
int sdp_proto_convert(const char *from, const char *to, char *err, size_t errlen);

/* RTP/SAVP or RTP/SAVPF: SRTP keyed by SDES. */
bool sdp_proto_is_srtp(const char *proto);

/*
 * Rewrites body for the other leg: o= and every c= carry the relay's
 * address (a hold address stays), each m= its relay port (a=rtcp its port
 * + 1, or the port itself as mux says), ICE is dropped unless asked, or
 * replaced by the relay's own, an m= line's transport protocol replaced
 * where asked (a=rtcp-fb dropped going to a protocol without feedback).
 * *out is malloc'ed. A rejected stream
 * (port 0) stays 0 and needs no port; every other one needs one (-EINVAL).
 */
int sdp_rewrite(const char *body, size_t len, const struct sdp_rewrite *rw, char **out,
		char *err, size_t errlen);

/*
 * Both in one pass over one parse, for the media sessions: fn is called
 * for each stream in order (i, its description, where to put the relay
 * port for the rewrite), then once with i = -1; a non-zero return stops
 * it. Then the body is rewritten with rw and printed to *out.
 */
typedef int (*sdp_stream_fn)(int i, const struct sdp_stream *st, uint16_t *relay_port,
			     void *arg, char *err, size_t errlen);
int sdp_negotiate(const char *body, size_t len, struct sdp_rewrite *rw, sdp_stream_fn fn,
		  void *arg, char **out, char *err, size_t errlen);

const char *sdp_dir_name(enum sdp_dir dir);

#endif /* SLUICE_MEDIA_SDP_H */
