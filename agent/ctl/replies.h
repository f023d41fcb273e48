/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Replies remembered by cookie, for the control protocols (NG, rtpproxy):
 * their clients resend a request they got no answer to with the same
 * cookie, and must get the first answer back, not a second session. A ring
 * of CTL_REPLIES slots: the oldest is overwritten; what is older than the
 * protocol's time to live is not found. A hash of the cookies finds a slot
 * without comparing every cookie in the ring, which every request would
 * otherwise pay.
 */
#ifndef SLUICE_CTL_REPLIES_H
#define SLUICE_CTL_REPLIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef CTL_REPLIES
#define CTL_REPLIES	1024
#endif
#define CTL_REPLY_BUCKETS	(2 * CTL_REPLIES)
#define CTL_COOKIE_MAX	64	/* with the NUL */

struct ctl_replies {
	struct ctl_reply {
		char		cookie[CTL_COOKIE_MAX];
		char		*text;
		size_t		len;
		uint64_t	at_ms;
		unsigned	hnext;		/* next slot + 1 in its bucket, 0: none */
		bool		hashed;		/* in its cookie's bucket */
	} slot[CTL_REPLIES];
	unsigned		head[CTL_REPLY_BUCKETS];	/* first slot + 1, 0: none */
	unsigned		next;
};

/* A copy (malloc'ed, *len bytes) of cookie's reply from within ttl_ms of now; NULL if none. */
char *ctl_replies_get(const struct ctl_replies *r, const char *cookie, uint64_t now,
		      uint32_t ttl_ms, size_t *len);
/* Remembers len bytes of text as cookie's reply at now (nothing when out of memory). */
void ctl_replies_put(struct ctl_replies *r, const char *cookie, const char *text, size_t len,
		     uint64_t now);
/* Forgets every reply. A zeroed struct ctl_replies is an empty one. */
void ctl_replies_clear(struct ctl_replies *r);

#endif /* SLUICE_CTL_REPLIES_H */
