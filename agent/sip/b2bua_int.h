/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the B2BUA's files share (b2bua.h is its face to the rest of
 * sluiced): a call, its two legs and the branches of its fork, the table
 * that finds it, and what each file gives the others. The files, each
 * calling only those listed before it:
 *
 *	call_cdr.c	the call's detail record
 *	trunk.c		where a call goes; the trunk, its numbers and credentials
 *	call_persist.c	the call's row in the database, for a restart
 *	call.c		the table, references, requests on a leg, the end
 *	timers.c	session timers (RFC 4028)
 *	rel1xx.c	answers to the caller, reliable provisionals (RFC 3262)
 *	fork.c		the INVITE's branches, one per binding of the callee
 *	dialog.c	requests in a call's dialogs, relayed to the other leg
 *	b2bua.c		a new call, an adopted one, MML's view, start and stop
 *	testcall.c	a call sluiced originates, playing a prompt (ORG TESTCALL)
 *
 * Side A is the caller's dialog (the INVITE it made with us), side B ours
 * towards the callee (our own Call-ID, tags, Via and Contact).
 */
#ifndef SLUICE_SIP_B2BUA_INT_H
#define SLUICE_SIP_B2BUA_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "core/loop.h"
#include "sip/msg.h"
#include "sip/registrar.h"
#include "sip/server_int.h"
#include "sip/txn.h"
#include "store/subscriber.h"

#define CALL_BUCKETS	8192	/* power of two */
#define URI_MAX		512
#define NAME_ADDR_MAX	640
#define CALLID_MAX	256
#define TAG_MAX		80
#define SIDE_A		0
#define SIDE_B		1
#define B2B_SUPPORTED	"100rel, timer"
#define ACK_WAIT_MS	(30 * 1000)	/* an ACK with the answer: less than Timer M */
#define B2B_TESTCALL_STARTS	64	/* the most [testcall] rate can count */

/*
 * The call rides in its media session's row (media/persist.c), as the
 * session's owner data: "b2bua\n" and a JSON object of both dialogs.
 */
#define OWNER_TAG	"b2bua\n"

enum call_state {
	CALL_TRYING = 0,	/* INVITE sent to the branches */
	CALL_EARLY,		/* a provisional went to the caller */
	CALL_UP,		/* 2xx sent to the caller */
	CALL_ENDED,
};

struct call;
struct relay;
struct testcall;
struct call;

/*
 * A call sluiced originated (testcall.c): what its answer and its end do,
 * reached through the call so that call.c and fork.c need nothing of
 * testcall.c.
 */
struct b2b_origin_ops {
	void (*answered)(struct call *c, const char *sdp);
	void (*end)(struct call *c);	/* frees c->tc; again: nothing */
};
struct media_session;
struct cdr_rec;

/*
 * What a transaction's callback holds for a call (a relayed request, a
 * refresh, a request to the trunk): on the call's list, so that a stop
 * frees what transactions that never call back would have held.
 */
struct aux {
	struct aux	*next, *prev;
	struct call	*owner;
};

/* One side's dialog, as we see it. */
struct leg {
	struct call	*call;
	int		side;
	char		call_id[CALLID_MAX];
	char		local_tag[TAG_MAX];
	char		remote_tag[TAG_MAX];
	char		local_uri[NAME_ADDR_MAX];	/* name-addr, no tag */
	char		remote_uri[NAME_ADDR_MAX];
	char		target[URI_MAX];		/* the peer's Contact */
	struct sip_peer	peer;				/* where its requests go */
	uint32_t	cseq;				/* our last CSeq on this leg */
	uint32_t	invite_cseq;			/* of the INVITE that made it */
	bool		trunk;				/* the peer is the trunk */
	bool		update_ok;			/* the peer allows UPDATE */
	char		*sdp;				/* the last SDP we sent it */
	/* RFC 4028 */
	uint32_t	se;				/* session interval, 0: none */
	bool		se_ours;			/* we refresh, else the peer */
	struct loop_timer se_timer;
};

/* One INVITE of the fork, to one binding of the callee (or the trunk). */
struct branch {
	struct call	*call;
	bool		live;		/* its INVITE transaction runs */
	bool		ringing;	/* a provisional came: CANCEL may go */
	bool		cancel;		/* CANCEL it once it rings */
	bool		authed;		/* its INVITE answered a challenge already */
	bool		se_raised;	/* ... or a 422 */
	uint32_t	rseq;		/* the last reliable provisional PRACKed */
	int		max_forwards;
	char		ruri[URI_MAX];
	char		via[256];	/* the INVITE's Via, for its CANCEL */
	struct sip_peer	peer;
};

/* A call: its two legs, the branches of its fork, and what waits on either side. */
struct call {
	struct sip_server	*s;
	struct call		*next_a, *next_b;	/* by A's and B's Call-ID */
	struct call		*all_next, *all_prev;	/* live calls, or ended and held */
	unsigned		refs;
	bool			held;		/* ended, on the held list until its last put */
	struct aux		*aux;
	enum call_state		state;		/* set with b2b_set_state() */
	bool			linked;		/* in the tables: counted in nstate */
	struct leg		leg[2];
	struct sip_txn		*st;		/* the caller's INVITE, until its final */
	struct branch		br[REG_MAX_CONTACTS];
	int			nbr;
	int			pending;	/* branches still running */
	int			best;		/* lowest final status of the failed ones */
	int			winner;		/* the branch that answered, -1 */
	bool			offer_pending;	/* a re-INVITE/UPDATE in flight */
	bool			late;		/* INVITE without SDP: the offer comes in the 2xx */
	bool			a_100rel;	/* the caller takes reliable provisionals */
	bool			a_timer;	/* the caller supports session timers */
	uint32_t		b_se;		/* the interval asked of leg B */
	struct media_session	*media;
	struct loop_timer	ring;
	/* A reliable provisional to the caller, resent until its PRACK. */
	char			*rel_text;
	size_t			rel_len;
	uint32_t		rel_rseq;
	unsigned		rel_wait;	/* ms to the next resend */
	struct loop_timer	rel_timer;
	bool			rel_sdp;	/* it carried SDP: no 2xx before its PRACK */
	int			held_code;	/* that 2xx, waiting: its code, reason, SDP */
	char			*held_reason, *held_sdp;
	/* An ACK held back until the other side's ACK brings the answer. */
	struct sip_txn		*ack_txn;	/* the INVITE client transaction to ACK */
	int			ack_leg;
	uint32_t		ack_cseq;
	struct relay		*ack_relay;	/* its relay, when a re-INVITE */
	struct loop_timer	ack_timer;
	char			caller[SUB_IMPU_MAX];
	char			callee[SUB_IMPU_MAX];
	struct cdr_rec		*cdr;		/* its record, NULL without [store] */
	bool			kept;		/* left up for the next sluiced: record open */
	struct testcall		*tc;		/* a test call: side A is sluiced's player */
	const struct b2b_origin_ops *origin;	/* with tc */
};

/* The calls of a SIP server (sip_server.b2b). */
struct b2bua {
	struct call	*a_buckets[CALL_BUCKETS];
	struct call	*b_buckets[CALL_BUCKETS];
	struct call	*all;
	struct call	*held;		/* ended calls that transactions still hold */
	unsigned	ncalls;
	unsigned	nstate[CALL_ENDED + 1];	/* the linked calls by state, kept as they change */
	uint64_t	seq;
	/* When the last test calls started (loop ms), for [testcall] rate. */
	uint64_t	tc_starts[B2B_TESTCALL_STARTS];
	unsigned	tc_nstarts;
};

/* Where a call goes (b2b_route()): the callee's bindings, or the trunk. */
struct target {
	bool			trunk;
	bool			via_node;	/* registered on another node: hop is that node */
	struct sip_peer		hop;
	char			aor[SUB_IMPU_MAX];
	char			ruri[URI_MAX];		/* the trunk's */
	char			to[NAME_ADDR_MAX];
	const struct reg_aor	*a;
};

/* A token for Call-IDs, tags and cnonces: our key over a sequence, and the clock. */
static inline void random_token(struct sip_server *s, struct b2bua *b, char *out, size_t n)
{
	uint64_t seq = ++b->seq, t = (uint64_t)time(NULL);
	uint64_t x = sip_hash_buf(&s->tag_key, &seq, sizeof(seq)) ^ (t << 20);

	snprintf(out, n, "%016llx", (unsigned long long)x);
}

/* call_cdr.c */
void b2b_cdr_begin(struct call *c, const struct rx *rx);
void b2b_reject(struct sip_server *s, struct rx *rx, int code, const char *reason);
void b2b_cdr_status(struct call *c, int code, const char *reason);
void b2b_cdr_ring(struct call *c);
void b2b_cdr_answer(struct call *c, const struct branch *b, const osip_message_t *resp,
		    const char *sdp);
void b2b_cdr_why(struct call *c, const char *close_reason, const char *by,
		 const char *disposition);
void b2b_cdr_end(struct call *c);

/* trunk.c */
bool b2bua_from_trunk(const struct sip_server *s, const struct sip_peer *from);
int b2b_trunk_credentials(struct sip_server *s, const osip_message_t *resp,
			  const char *method, const char *uri, char *out, size_t n);
int b2b_route(struct sip_server *s, struct rx *rx, const struct subscriber *caller,
	      struct target *tg);
struct sip_peer b2b_trunk_peer(const struct sip_server *s);
/* A number for the trunk ([trunk] rewrite applied) as tg; -ENOENT: no trunk, or not dialable. */
int b2b_trunk_target(struct sip_server *s, const char *number, struct target *tg);

/* call_persist.c */
void b2b_persist_call(struct call *c);
int b2b_str_of(json_t *o, const char *key, char *out, size_t n);
int b2b_leg_from_json(struct leg *l, json_t *j);

/* call.c */
int b2b_our_contact(struct sip_server *s, const struct sip_peer *to, char *out, size_t n);
void b2b_set_leg_sdp(struct leg *l, const char *sdp);
struct call *b2b_find_a(struct sip_server *s, const char *id);
struct call *b2b_find_b(struct sip_server *s, const char *id);
struct call *b2b_dialog_of(struct sip_server *s, const osip_message_t *req, int *from);
void b2b_link_call(struct b2bua *bb, struct call *c);
/* The state, and the linked calls' count by state with it. */
void b2b_set_state(struct call *c, enum call_state state);
void *b2b_aux_new(struct call *c, size_t size);
void b2b_aux_free(void *p);
void b2b_free_call(struct call *c);
void b2b_unhold(struct call *c);
void b2b_put(struct call *c);
int b2b_parse_request(struct sip_server *s, const char *text, int n, size_t size,
		      const struct sip_peer *to, osip_message_t **out);
int b2b_leg_request_raw(struct call *c, int L, const char *method, uint32_t cseq,
			const char *extra, const char *auth, const char *sdp,
			const char *ctype, const char *body, sip_txn_resp_fn fn, void *arg,
			struct sip_txn *ack_of);
/*
 * A request on leg L of c (a BYE, a relayed re-INVITE, an ACK): From us,
 * To the peer, CSeq next (or cseq for an ACK). fn NULL and ack: sent once
 * without a transaction. The trunk's challenges are answered once
 * (out_response).
 */
int b2b_leg_request(struct call *c, int L, const char *method, uint32_t cseq,
		    const char *extra, const char *sdp, const char *ctype, const char *body,
		    sip_txn_resp_fn fn, void *arg, struct sip_txn *ack_of);
void b2b_flush_ack(struct call *c, const char *sdp);
void b2b_on_ack_timeout(struct loop *loop, void *arg);
void b2b_send_bye(struct call *c, int L, const char *reason);
void b2b_end_call(struct call *c, const char *why);
void b2b_hangup(struct call *c, const char *reason, const char *why);

/* timers.c */
void b2b_add_timer_headers(const struct leg *l, osip_message_t *resp, bool require);
/* The same as header lines into out: their length (0: none), -ENOSPC. */
int b2b_timer_headers_text(const struct leg *l, bool require, char *out, size_t len);
void b2b_arm_se(struct call *c, int L);
void b2b_on_se_timer(struct loop *loop, void *arg);
void b2b_timers_from_answer(struct call *c, const osip_message_t *resp);
int b2b_timers_from_offer(struct sip_server *s, struct rx *rx, struct call *c);

/* rel1xx.c */
void b2b_prack_branch(struct call *c, struct branch *b, const osip_message_t *resp,
		      uint32_t rseq);
void b2b_on_rel_timer(struct loop *loop, void *arg);
void b2b_to_caller(struct call *c, int code, const char *reason, const char *sdp);
void b2b_prack(struct sip_server *s, struct rx *rx, struct call *c);

/* fork.c */
void b2b_cancel_branch(struct call *c, struct branch *b);
void b2b_on_ring_timeout(struct loop *loop, void *arg);
int b2b_start_branch(struct call *c, const char *ruri, const struct sip_peer *peer,
		     int max_forwards);

/* b2bua.c */
struct call *b2b_new_call(struct sip_server *s);


/* dialog.c */
bool b2bua_in_dialog(struct sip_server *s, struct rx *rx);
void b2bua_ack(struct sip_server *s, struct rx *rx);

#endif /* SLUICE_SIP_B2BUA_INT_H */
