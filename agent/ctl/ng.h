/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The NG control protocol (rtpengine's, as Kamailio's and OpenSIPS's
 * rtpengine modules speak it) on [control] ng: UDP datagrams
 * "<cookie> <bencoded dictionary>", answered with the same cookie. Offer
 * and answer run through sluice's own media sessions, so calls set up by
 * Kamailio get the kernel relay, latching and timeouts of sluice's own.
 *
 * Replies are cached by cookie for NG_CACHE_MS: a retransmitted request
 * gets the reply the first one got, not a second session.
 */
#ifndef SLUICE_CTL_NG_H
#define SLUICE_CTL_NG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"
#include "ctl/replies.h"
#include "media/session.h"

#define NG_CACHE_MS	45000
#ifndef NG_CALL_BUCKETS
#define NG_CALL_BUCKETS	4096
#endif

struct ng_call;
struct cdr_ctx;

struct ng {
	struct loop		*loop;
	struct media_ctx	*media;
	int			fd;
	struct ng_call		*calls;
	struct ng_call		*by_id[NG_CALL_BUCKETS];	/* the calls by call-id */
	unsigned		ncalls;
	unsigned		max_sessions;
	struct cdr_ctx		*cdr;		/* RELAY records; NULL: none */
	bool			handing_over;	/* ng_close() leaves records open */
	struct ctl_replies	replies;	/* by cookie, for NG_CACHE_MS */
};

/* Binds addr and serves on loop. max_sessions 0: no limit but the ports. */
int ng_open(struct ng *ng, struct loop *loop, struct media_ctx *media,
	    const struct sockaddr *addr, socklen_t addrlen, unsigned max_sessions);
void ng_close(struct ng *ng);
/* media_restore()'s callback: rebuilds the NG call of an adopted session. */
void ng_adopt(struct media_session *s, const char *owner_data, void *arg);
/* Deletes every call and forgets every cached reply (tests, fuzzing). */
void ng_reset(struct ng *ng);
/* The ids of the open records of the calls it has, for cdr_close_stale(). */
int ng_cdr_ids(const struct ng *ng, int64_t *out, int max);

/*
 * Handles one datagram and writes the reply (malloc'ed) to *reply; no
 * reply (0 length) for what has no cookie. Exposed for the fuzz target
 * and unit tests.
 */
void ng_handle(struct ng *ng, const char *msg, size_t len, char **reply, size_t *rlen);

#endif /* SLUICE_CTL_NG_H */
