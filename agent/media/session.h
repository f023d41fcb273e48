/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Media sessions: what turns a call's offer and answer into relayed
 * streams and keeps them healthy. A session has up to SDP_MAX_STREAMS
 * streams (its m= lines), each with two legs: leg 0 faces the side that
 * sent the first offer (the caller), leg 1 the other. Every leg of an
 * active stream holds an RTP/RTCP port pair on the relay's address.
 *
 * The userspace relay (relay.c) carries each stream's first packets and
 * latches the peers; as soon as both legs of a stream have latched, both
 * directions go into the kernel data path (dp.h) and userspace sees no
 * more of them. A session whose streams see no packet in either direction
 * for [media] timeout seconds (hold_timeout while on hold) is reported
 * dead to its owner, which hangs the call up.
 */
#ifndef SLUICE_MEDIA_SESSION_H
#define SLUICE_MEDIA_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/loop.h"
#include "dp/dp.h"
#include "media/ice.h"
#include "media/keying.h"
#include "media/ports.h"
#include "media/relay.h"
#include "media/sdp.h"
#include "store/store.h"

struct media_session;
struct media_keeper;
struct media_listen;

/* The session is dead (media timeout); the owner hangs up and destroys it. */
typedef void (*media_dead_fn)(struct media_session *s, void *owner);

#define MEDIA_IFACE_MAX		32
#define MEDIA_PLANES_MAX	8

/*
 * The relay's presence on one logical interface in one address family:
 * its address and ports. [media] address lists them, "NAME/ADDRESS" or an
 * address alone (of the interface "default"); the first one's name is the
 * interface a leg gets unless NG's direction names another.
 */
struct media_plane {
	bool			up;
	char			name[MEDIA_IFACE_MAX];	/* the logical interface */
	char			addr[SDP_ADDR_MAX];	/* the relay's media address */
	struct media_endpoint	relay;			/* the same, parsed (port 0) */
	int			family;			/* AF_INET or AF_INET6 */
	struct media_ports	ports;
};

struct media_ctx {
	struct loop		*loop;
	struct dp		*dp;
	struct media_plane	plane[MEDIA_PLANES_MAX];	/* in the order listed */
	int			nplanes;
	enum media_relatch	relatch;
	uint32_t		timeout_ms;
	uint32_t		hold_timeout_ms;
	bool			keep_ice;
	enum media_srtp_mode	srtp;		/* [media] srtp: sluice's own calls (keying.h) */
	struct media_dtls_cert	dtls;		/* the relay's DTLS certificate (dtls.h) */
	uint64_t		dtls_refused;	/* DTLS from strangers and failed handshakes */
	uint64_t		srtp_failed;	/* SRTP that failed authentication, all sessions */
	struct loop_timer	tick;			/* timeouts, once a second */
	struct media_session	*sessions;
	unsigned		nsessions;
	struct store		*store;		/* NULL: sessions are not persisted */
	const struct media_keeper *keeper;	/* NULL: none (media_persist_init()) */
	unsigned		released;	/* streams without sockets (fd pressure) */
	struct log_tally	released_unsaid;	/* streams that gave theirs up, to be said */
	/* Writes wait for one transaction a few ms later (media_flush()). */
	struct media_session	*dirty;		/* to save */
	struct media_gone	*gone;		/* ids to delete */
	struct loop_timer	flush_timer;
};

struct media_io {			/* a socket's loop callback argument */
	struct media_session	*s;
	int			stream;
	int			leg;
	enum media_comp		comp;
};

struct media_sstream {
	bool			active;		/* has ports (not rejected) */
	int			plane[2];	/* per leg: its interface and family (both one family) */
	uint16_t		port[2];	/* relay RTP port per leg */
	struct media_stream	relay;
	struct sdp_stream	sdp[2];		/* as each side last described it */
	bool			has_sdp[2];
	bool			offloaded[2][2];/* [from leg][comp] in the kernel */
	struct sluice_flow_key	flow[2][2];	/* the key each offloaded one is under */
	bool			hold;		/* either side holds */
	bool			released;	/* in the kernel, its sockets given up */
	uint32_t		clock_rate;
	struct media_io		io[2][2];	/* [leg][comp] */
	/* RTCP multiplexing (relay.leg[].mux): the last offer's flags and what it offered. */
	unsigned		mux_flags;	/* MEDIA_MUX_* */
	bool			mux_offered;	/* a=rtcp-mux went to the answerer */
	struct media_keying	keying;		/* SDES: pass-through or terminated (keying.h) */
	uint64_t		crypto_logged[2];	/* per leg: dropped_crypto last logged */
	uint64_t		dtls_logged[2];		/* per leg: dropped_dtls last logged */
};

struct media_gone {
	struct media_gone	*next;
	char			id[64];
};

struct media_session {
	struct media_ctx	*m;
	struct media_session	*next, *prev;
	struct media_session	*dirty_next;	/* on m->dirty */
	bool			dirty;
	char			id[64];
	int			nstreams;
	struct media_sstream	st[SDP_MAX_STREAMS];
	struct media_ice_agent	ice[2];		/* per leg: ICE=force towards its peer */
	media_dead_fn		dead;
	void			*owner;
	bool			dead_reported;
	uint64_t		created_ms;
	uint64_t		active_ms;	/* its last activity when last looked at (tick) */
	char			iface[2][MEDIA_IFACE_MAX];	/* per leg, "": the first listed */
	struct media_listen	*listen;	/* someone listens in (listen.h): no kernel flows */
	char			owner_data[4096];/* persisted for the owner (NG: call-id, tags; b2bua: dialogs) */
};

/* Per leg, the kernel's and userspace's shares merged. */
struct media_leg_report {
	uint64_t	packets;	/* received from this leg's peer */
	uint64_t	bytes;
	int64_t		lost;
	double		jitter_ms;
	double		r;
	double		mos;
	bool		offloaded;
	uint64_t	crypto_errors;	/* SRTP that failed authentication, dropped */
};

/*
 * addrs: the relay's media addresses, separated by commas, each ADDRESS or
 * NAME/ADDRESS (see struct media_plane), at most one of each family per
 * name (dual stack: each call is relayed in the family of its offer, both
 * legs alike). ports: [min, max], on each address. Timeouts in seconds.
 */
int media_init(struct media_ctx *m, struct loop *loop, struct dp *dp, const char *addrs,
	       uint16_t port_min, uint16_t port_max, enum media_relatch relatch,
	       uint32_t timeout_s, uint32_t hold_timeout_s);
/*
 * The userspace relay's wakeup batching ([media] relay_batch_us): after a
 * loop iteration that only relayed media, the loop pauses out the rest
 * of us from its wakeup, so that the next one finds a batch on each busy
 * socket (loop_set_batch()). 0: off, a wakeup per datagram when traffic
 * is light.
 */
void media_set_batch(struct media_ctx *m, uint32_t us);
void media_fini(struct media_ctx *m);
/* The plane of interface name ("" or NULL: the first listed) in family (0: any); -1: none. */
int media_plane_find(const struct media_ctx *m, const char *name, int family);

struct media_session *media_session_new(struct media_ctx *m, const char *id,
					media_dead_fn dead, void *owner);
/* Releases ports, sockets and kernel flows. */
void media_session_destroy(struct media_session *s);

/*
 * What an owner may ask of an offer or an answer beyond relaying it: the
 * NG flags (sluice's own calls ask none of it). Given with the offer or
 * answer it applies to; what it settles for a leg (its interface, its
 * transport protocol, its RTCP multiplexing, its ICE) stays with the leg
 * until a later offer or answer changes it.
 */
/*
 * RTCP multiplexing (RFC 5761): a leg multiplexes once an answer accepts
 * it. By default the relay goes along with both peers: the answerer is
 * offered what the offerer offered, and the offerer gets what the answerer
 * answered. The flags, given with the offer (and, for accept and reject,
 * with the answer too), change that; where one peer muxes and the other
 * does not, the relay demultiplexes in every data path.
 */
#define MEDIA_MUX_OFFER		(1u << 0)	/* offer rtcp-mux to the answerer, though the offerer did not */
#define MEDIA_MUX_REQUIRE	(1u << 1)	/* the same, and the answerer must take it */
#define MEDIA_MUX_DEMUX		(1u << 2)	/* the offerer's rtcp-mux is not passed on: separate ports there */
#define MEDIA_MUX_ACCEPT	(1u << 3)	/* the offerer's rtcp-mux is accepted, whatever the answerer says */
#define MEDIA_MUX_REJECT	(1u << 4)	/* no rtcp-mux on either side */

enum media_ice {
	MEDIA_ICE_DEFAULT = 0,	/* [media] ice decides: removed, or passed through */
	MEDIA_ICE_REMOVE,	/* removed from what goes out */
	MEDIA_ICE_FORCE,	/* the relay's own candidates go out (ICE lite; it answers the checks) */
};

struct media_opts {
	unsigned	rtcp_mux;		/* MEDIA_MUX_* */
	enum media_ice	ice;
	/* The sender's media goes to its SDP's address, not to where its packets come from. */
	bool		asymmetric;
	char		proto[24];		/* transport-protocol of what goes out; "": the sender's */
	/* SDES-off, SDES-no-SUITE: suites the relay does not offer (bit per enum sdes_suite). */
	unsigned	sdes_no;
	/* direction: the interface of the sender's leg, then the other leg's; "": the default. */
	char		iface[2][MEDIA_IFACE_MAX];
};

/*
 * An SDP offer or answer from the peer of leg `from` (0: the caller): the
 * body rewritten for the other leg's peer goes to *out (malloc'ed). Errors:
 * -EINVAL with a reason (answer 488 / 400), -EADDRNOTAVAIL when out of
 * ports (answer 503). A re-INVITE or UPDATE is the same call again.
 */
int media_offer(struct media_session *s, int from, const char *sdp, size_t len, char **out,
		char *err, size_t errlen);
int media_answer(struct media_session *s, int from, const char *sdp, size_t len, char **out,
		 char *err, size_t errlen);

/* The same with opts (NULL: none). */
int media_offer_opts(struct media_session *s, int from, const struct media_opts *opts,
		     const char *sdp, size_t len, char **out, char *err, size_t errlen);
int media_answer_opts(struct media_session *s, int from, const struct media_opts *opts,
		      const char *sdp, size_t len, char **out, char *err, size_t errlen);

int media_leg_report(struct media_session *s, int stream, int leg,
		     struct media_leg_report *out);
/*
 * A call's record at its end: each direction's quality (its first stream),
 * and the data path "user" when neither direction ever reached the kernel.
 */
struct cdr_rec;
void media_cdr_quality(struct media_session *s, struct cdr_rec *r);

/*
 * What a session tells the keeper of its database row (media/persist.h
 * registers one with media_persist_init()): it changed, it is going, or
 * (at media_fini()) everything queued is to be written now. Without a
 * keeper nothing is kept. A hook, so that sessions know nothing of the
 * database and persist.c, which reads and rebuilds sessions, stays above
 * them.
 */
struct media_keeper {
	void	(*changed)(struct media_session *s);
	void	(*gone)(struct media_session *s);
	void	(*flush)(struct media_ctx *m);
};

/* For persist.c: a stream on given ports (NULL: any) in st->plane, and its offload. */
int media_stream_open(struct media_session *s, int i, const uint16_t *ports);
void media_stream_offload(struct media_session *s, struct media_sstream *st);

#endif /* SLUICE_MEDIA_SESSION_H */
