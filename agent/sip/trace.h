/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SIP tracker ([http] trace): the last [http] trace_size SIP messages
 * sluiced received or sent, whole, with their time, transport and
 * addresses, in a ring in memory that is never written anywhere. The
 * server adds each message at the point where it hands a copy to HEP
 * (server.c), so both see the same traffic.
 *
 * A B2BUA call is two dialogs with two Call-IDs; the B2BUA tells the
 * tracker which two belong together (sip_trace_link()), and a search for
 * either finds the messages of both legs. A search by number finds the
 * Call-IDs whose request line, From or To carry it, newest first.
 *
 * The ring is bounded twice: by message count and by bytes (count times
 * SIP_TRACE_AVG bytes), so a flood of large messages evicts old ones
 * sooner instead of growing it. A message longer than SIP_TRACE_MSG_MAX is
 * kept cut, and says so.
 *
 * Adding a message must cost the SIP path little (at 200 calls a second
 * some 2,600 messages a second, each about 600 bytes): the Call-ID and
 * the first line are found in the caller's copy, which is in the cache,
 * and the message's record is 128 bytes; the ring and its arena are
 * mapped apart from malloc's heap (see trace.c).
 */
#ifndef SLUICE_SIP_TRACE_H
#define SLUICE_SIP_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifndef SIP_TRACE_MSG_MAX
#define SIP_TRACE_MSG_MAX	16384	/* bytes kept of one message */
#endif
#define SIP_TRACE_AVG		2048	/* bytes per message the byte bound allows */
#define SIP_TRACE_CALLID_MAX	128
#define SIP_TRACE_SUMMARY_MAX	96
#define SIP_TRACE_MAX_IDS	16	/* Call-IDs a search gathers */

/* An address of a traced message: sa.sa_family AF_INET, AF_INET6 or 0 (none). */
union sip_trace_addr {
	struct sockaddr		sa;
	struct sockaddr_in	in;
	struct sockaddr_in6	in6;
};

/*
 * One message: 128 bytes, two cache lines, written whole. Its text, its
 * Call-ID and its first line lie one after the other in the arena, each
 * NUL-terminated.
 */
struct sip_trace_msg {
	uint64_t		seq;		/* 1, 2, ...: stable across eviction */
	uint64_t		ts_us;		/* unix microseconds */
	const char		*text;		/* in the arena, NUL-terminated */
	const char		*call_id;	/* after the text; "" when it has none */
	const char		*summary;	/* the first line, after the Call-ID */
	size_t			len;		/* of text */
	bool			out;		/* sent by sluiced, else received */
	bool			cut;		/* longer than SIP_TRACE_MSG_MAX */
	uint8_t			proto;		/* enum sip_proto */
	union sip_trace_addr	local, remote;
} __attribute__((aligned(64)));

struct sip_trace_link {
	char	a[SIP_TRACE_CALLID_MAX], b[SIP_TRACE_CALLID_MAX];
};

/* Where a message's text lies in the arena, kept apart from its record for eviction. */
struct sip_trace_span {
	uint32_t	at, len;	/* its offset in the arena, the length of its text */
};

struct sip_trace {
	struct sip_trace_msg	*ring;		/* NULL: off */
	struct sip_trace_span	*spans;		/* one per slot of the ring: 8 bytes, in the cache */
	unsigned		cap, head, n;	/* head: the oldest */
	size_t			bytes, max_bytes;
	char			*arena;		/* the texts, a ring of bytes */
	size_t			arena_size, tail;	/* tail: after the newest text */
	uint64_t		seq;
	struct sip_trace_link	*links;		/* a ring of cap / 4 */
	unsigned		links_cap, links_next;
	uint64_t		stored, evicted;
};

/* cap messages, 0: off (every call then does nothing); -ENOMEM. */
int sip_trace_init(struct sip_trace *t, unsigned cap);
void sip_trace_fini(struct sip_trace *t);
static inline bool sip_trace_on(const struct sip_trace *t)
{
	return t->ring != NULL;
}
/* One message, received (out false) or sent, stamped with ts_us. */
void sip_trace_add(struct sip_trace *t, uint64_t ts_us, bool out, uint8_t proto,
		   const struct sockaddr *local, socklen_t llen, const struct sockaddr *remote,
		   socklen_t rlen, const char *buf, size_t len);
/* Call-IDs a and b are the two legs of one call. */
void sip_trace_link(struct sip_trace *t, const char *a, const char *b);

/* The i-th message, oldest first (i < t->n). */
const struct sip_trace_msg *sip_trace_at(const struct sip_trace *t, unsigned i);
/*
 * The calls of a search into ids (at most max), one Call-ID per call:
 * call_id itself, or the newest Call-IDs whose request line, From or To
 * carry number as a user part (sip:NUMBER@, tel:NUMBER), or (both NULL)
 * the newest of all; a call by its caller's leg's Call-ID, once.
 * Returns how many.
 */
int sip_trace_ids(const struct sip_trace *t, const char *call_id, const char *number,
		  char ids[][SIP_TRACE_CALLID_MAX], int max);
/* Whether m carries Call-ID id or other (its linked leg's, may be NULL). */
bool sip_trace_match(const struct sip_trace_msg *m, const char *id, const char *other);
/* The other leg of call_id, or NULL; *side 0 when call_id is the caller's leg, 1 the callee's. */
const char *sip_trace_linked(const struct sip_trace *t, const char *call_id, int *side);

#endif /* SLUICE_SIP_TRACE_H */
