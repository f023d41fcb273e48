/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Listening in on a live call (STR LISTEN, the console's Listen button):
 * while someone listens, the session's audio streams leave the kernel
 * data path and go through the userspace relay again, which keeps
 * relaying every packet exactly as before and hands a copy of each RTP
 * datagram, per direction, to the listener's sink (the web listener's
 * WebSocket, http/listen.c). When the listener goes, the kernel flows are
 * put back. Media is never interrupted: the relay's sockets exist for
 * every stream (they carry its first packets), and the kernel's packet
 * counts are carried over into userspace's when a flow is withdrawn, so
 * a stream's counters run on without a gap (loss and jitter start again
 * with the flow that comes back).
 *
 * One listener per call at a time. A listen is opened first with a
 * one-use ticket (random, 128 bits) that the sink claims within
 * MEDIA_LISTEN_CLAIM_MS; unclaimed, it ends by itself. It ends as well
 * when its session goes (the call ended), and then tells the sink.
 */
#ifndef SLUICE_MEDIA_LISTEN_H
#define SLUICE_MEDIA_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

#define MEDIA_LISTEN_CLAIM_MS	15000
#define MEDIA_LISTEN_TICKET	33	/* 32 hex digits and the NUL */

struct media_session;
struct media_listen;

/* A copy of one RTP datagram from leg `from`'s peer (0: the caller's). */
typedef void (*media_listen_rtp_fn)(void *arg, int from, const uint8_t *pkt, size_t len);
/* The listen ended without the sink asking (the call ended, STP LISTEN). */
typedef void (*media_listen_gone_fn)(void *arg, const char *why);

/*
 * What the session does with its listen, through the listen itself, so that
 * session.c needs nothing of listen.c: the relay's tap for each stream, and
 * the end when the call ends.
 */
struct media_listen_ops {
	void (*tap)(void *arg, int from, const uint8_t *pkt, size_t len);	/* arg: the listen */
	void (*stop)(struct media_listen *l, const char *why);
};

struct media_listen {
	const struct media_listen_ops *ops;
	struct media_session	*s;
	char			ticket[MEDIA_LISTEN_TICKET];	/* "": claimed */
	char			op[33];		/* who listens */
	struct loop_timer	claim;
	media_listen_rtp_fn	rtp;		/* NULL until claimed */
	media_listen_gone_fn	gone;
	void			*arg;
};

/*
 * Starts listening to s for operator op: its streams come back to
 * userspace at once. -EBUSY when someone listens already, -ENOMEM, -EIO
 * (no random numbers). The ticket is in (*out)->ticket.
 */
int media_listen_start(struct media_session *s, const char *op, struct media_listen **out);
/* The listen whose ticket this is, not claimed yet; NULL: none. */
struct media_listen *media_listen_find(struct media_session *sessions, const char *ticket);
/* The listen whose ticket this is, claimed (its ticket cleared) with its sink; NULL: none. */
struct media_listen *media_listen_claim(struct loop *loop, struct media_session *sessions,
					const char *ticket, media_listen_rtp_fn rtp,
					media_listen_gone_fn gone, void *arg);
/* Ends it: the kernel flows come back. The sink is told (why) unless it asked (why NULL). */
void media_listen_stop(struct media_listen *l, const char *why);


#endif /* SLUICE_MEDIA_LISTEN_H */
