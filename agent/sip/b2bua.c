// SPDX-License-Identifier: GPL-2.0-only
/*
 * The B2BUA (see b2bua.h): where a call begins, from the caller's INVITE
 * (b2bua_invite(): its route, its legs, its media session, its branches)
 * or from a restored media session (b2bua_adopt()); a CANCEL from the
 * caller; the calls listed and removed for MML; and the B2BUA's start and
 * stop. What a call does on its way is in the files b2bua_int.h lists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <osipparser2/osip_parser.h>

#include "core/log.h"
#include "media/session.h"
#include "sip/b2bua.h"
#include "sip/b2bua_int.h"
#include "sip/hdr.h"
#include "store/cdr.h"

static void on_media_dead(struct media_session *ms, void *owner)
{
	struct call *c = owner;

	(void)ms;
	if (c->state != CALL_UP)
		return;
	LOG(L_INFO, "[call] %s -> %s: media timed out, hanging up", c->caller, c->callee);
	b2b_cdr_why(c, CDR_CLOSE_MEDIA, "system", NULL);
	b2b_hangup(c, "SIP;cause=408;text=\"Media timeout\"", "media timeout");
}

/* The caller's INVITE transaction ended before our final (a transport error). */
static void caller_gone(struct sip_txn *t, int code, void *arg)
{
	struct call *c = arg;

	(void)t;
	(void)code;
	c->st = NULL;
	for (int i = 0; i < c->nbr; i++)
		b2b_cancel_branch(c, &c->br[i]);
	b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", CDR_FAILED);
	b2b_end_call(c, "the caller's transaction failed");
}

/* A call with its timers ready, not yet in the tables. */
struct call *b2b_new_call(struct sip_server *s)
{
	struct call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->s = s;
	c->refs = 1;
	loop_timer_init(&c->ring, b2b_on_ring_timeout, c);
	loop_timer_init(&c->rel_timer, b2b_on_rel_timer, c);
	loop_timer_init(&c->ack_timer, b2b_on_ack_timeout, c);
	for (int i = 0; i < 2; i++) {
		c->leg[i].call = c;
		c->leg[i].side = i;
		loop_timer_init(&c->leg[i].se_timer, b2b_on_se_timer, &c->leg[i]);
	}
	return c;
}

/*
 * The caller's 100 Trying, printed from its INVITE's own lines: no
 * response tree to build, print and free; the transaction keeps those
 * lines for the 180, 200 and the rest (b2b_to_caller()).
 */
static void trying(struct call *c, const struct rx *rx)
{
	if (!c->st || rx->t != c->st || sip_srv_reply_text(c->s, rx, 100, NULL, NULL, 0))
		b2b_to_caller(c, 100, NULL, NULL);
}

static void b2bua_invite(struct sip_server *s, struct rx *rx, const struct subscriber *caller)
{
	struct b2bua *bb = s->b2b;
	struct target tg;
	const char *body = NULL, *mf;
	char *sdp = NULL, err[160];
	struct call *c;
	size_t blen = 0;
	int rc, maxf;

	if (b2b_route(s, rx, caller, &tg))
		return;
	if (!s->media) {
		sip_srv_reply(s, rx, 503, "No media relay");
		return;
	}
	c = b2b_new_call(s);
	if (!c) {
		sip_srv_reply(s, rx, 500, NULL);
		return;
	}
	c->winner = -1;
	c->best = 699;
	c->late = !sip_hdr_has_sdp(rx->req, &body, &blen);
	if (caller)
		snprintf(c->caller, sizeof(c->caller), "%s", caller->impu);
	else if (rx->req->from && rx->req->from->url && rx->req->from->url->username)
		snprintf(c->caller, sizeof(c->caller), "trunk:%s", rx->req->from->url->username);
	else
		snprintf(c->caller, sizeof(c->caller), "trunk");
	snprintf(c->callee, sizeof(c->callee), "%s", tg.aor);
	if (b2b_timers_from_offer(s, rx, c)) {
		free(c);
		return;
	}

	/* Leg A: the caller's dialog; our tag is the one our responses carry. */
	sip_hdr_call_id(rx->req, c->leg[SIDE_A].call_id, CALLID_MAX);
	sip_msg_make_tag(&s->tag_key, rx->req, c->leg[SIDE_A].local_tag);
	snprintf(c->leg[SIDE_A].remote_tag, TAG_MAX, "%s", sip_msg_from_tag(rx->req) ?: "");
	if (sip_hdr_name_addr(rx->req->to, c->leg[SIDE_A].local_uri, NAME_ADDR_MAX) ||
	    sip_hdr_name_addr(rx->req->from, c->leg[SIDE_A].remote_uri, NAME_ADDR_MAX) ||
	    sip_hdr_contact(rx->req, c->leg[SIDE_A].target, URI_MAX)) {
		free(c);
		sip_srv_reply(s, rx, 400, "Bad From, To or Contact");
		return;
	}
	c->leg[SIDE_A].peer = *rx->from;
	c->leg[SIDE_A].invite_cseq = (uint32_t)strtoul(rx->req->cseq->number, NULL, 10);
	c->leg[SIDE_A].trunk = !caller;

	/* Leg B: our own dialog towards the callee, the caller's identity kept. */
	random_token(s, bb, c->leg[SIDE_B].call_id, CALLID_MAX);
	strcat(c->leg[SIDE_B].call_id, "@sluice");
	sip_trace_link(&s->trace, c->leg[SIDE_A].call_id, c->leg[SIDE_B].call_id);
	s->stats.calls++;
	random_token(s, bb, c->leg[SIDE_B].local_tag, TAG_MAX);
	snprintf(c->leg[SIDE_B].local_uri, NAME_ADDR_MAX, "%s", c->leg[SIDE_A].remote_uri);
	snprintf(c->leg[SIDE_B].remote_uri, NAME_ADDR_MAX, "%s",
		 tg.trunk ? tg.to : c->leg[SIDE_A].local_uri);
	c->leg[SIDE_B].invite_cseq = c->leg[SIDE_B].cseq = 1;
	c->leg[SIDE_B].trunk = tg.trunk;

	c->media = media_session_new(s->media, c->leg[SIDE_A].call_id, on_media_dead, c);
	if (!c->media) {
		free(c);
		sip_srv_reply(s, rx, 500, NULL);
		return;
	}
	rc = c->late ? 0 : media_offer(c->media, SIDE_A, body, blen, &sdp, err, sizeof(err));
	if (rc) {
		media_session_destroy(c->media);
		free(c);
		/* Out of ports or sockets is ours to fix: 503; a bad offer 488. */
		b2b_reject(s, rx, rc == -EINVAL ? 488 : 503,
			   rc == -EINVAL ? err : "No media ports");
		return;
	}
	c->leg[SIDE_B].sdp = sdp;	/* the offer every branch carries */
	mf = sip_msg_header(rx->req, "max-forwards", 0);
	maxf = mf ? atoi(mf) - 1 : 69;

	/* In the tables before the branches start: their answers may be quick. */
	b2b_link_call(bb, c);
	b2b_cdr_begin(c, rx);
	c->st = rx->t;
	sip_txn_set_end(c->st, caller_gone, c);

	if (tg.trunk) {
		struct sip_peer tp = b2b_trunk_peer(s);

		b2b_start_branch(c, tg.ruri, &tp, maxf);
	} else if (tg.via_node) {
		b2b_start_branch(c, tg.ruri, &tg.hop, maxf);
	}
	for (const struct reg_binding *rb = tg.a ? tg.a->bindings : NULL;
	     rb && c->nbr < REG_MAX_CONTACTS; rb = rb->next)
		if (rb->b.expires > s->now())
			b2b_start_branch(c, rb->b.contact, &rb->peer, maxf);
	if (!c->nbr) {
		b2b_to_caller(c, 480, NULL, NULL);
		b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", CDR_FAILED);
		b2b_end_call(c, "no binding reachable");
		return;
	}
	LOG(L_INFO, "[call] %s -> %s: %d branch%s%s%s", c->caller, c->callee, c->nbr,
	    c->nbr == 1 ? "" : "es", tg.trunk ? " to the trunk" : tg.via_node ? " via its node" : "",
	    c->late ? ", offer awaited in the answer" : "");
	trying(c, rx);
	loop_timer_arm(s->loop, &c->ring, 1000ull * s->conf->sip_ring_timeout);
}

static void b2bua_cancel(struct sip_server *s, struct sip_txn *inv)
{
	for (struct call *c = s->b2b->all; c; c = c->all_next) {
		if (c->st != inv)
			continue;
		for (int i = 0; i < c->nbr; i++)
			b2b_cancel_branch(c, &c->br[i]);
		/*
		 * The callee answered, its 2xx waiting for a PRACK: that leg is
		 * up, but the caller never had its 2xx. Not an answered call.
		 */
		if (c->state == CALL_UP)
			b2b_send_bye(c, SIDE_B, NULL);
		if (c->cdr)
			c->cdr->answer_ms = 0;
		b2b_to_caller(c, 487, NULL, NULL);
		b2b_cdr_why(c, CDR_CLOSE_NORMAL, "caller", CDR_CANCELLED);
		b2b_end_call(c, "cancelled by the caller");
		return;
	}
}

bool b2bua_owns(const char *owner_data)
{
	return !strncmp(owner_data, OWNER_TAG, strlen(OWNER_TAG));
}

int b2bua_adopt(struct sip_server *s, struct media_session *ms, const char *owner_data)
{
	json_int_t cdr_id = 0;
	json_t *root, *legs;
	struct call *c;

	if (!s->b2b || !b2bua_owns(owner_data))
		return -EINVAL;
	root = json_loads(owner_data + strlen(OWNER_TAG), 0, NULL);
	legs = json_object_get(root, "legs");
	c = b2b_new_call(s);
	if (c)
		cdr_id = json_integer_value(json_object_get(root, "cdr"));
	if (!c || json_array_size(legs) != 2 ||
	    b2b_str_of(root, "caller", c->caller, sizeof(c->caller)) ||
	    b2b_str_of(root, "callee", c->callee, sizeof(c->callee)) ||
	    b2b_leg_from_json(&c->leg[SIDE_A], json_array_get(legs, 0)) ||
	    b2b_leg_from_json(&c->leg[SIDE_B], json_array_get(legs, 1))) {
		json_decref(root);
		if (c)
			b2b_free_call(c);
		return -EINVAL;
	}
	json_decref(root);
	/* Its record, open since the answer, goes on (cdr_close_stale() spares it). */
	if (s->cdr && cdr_id > 0 && (c->cdr = malloc(sizeof(*c->cdr))) &&
	    cdr_get(s->cdr, cdr_id, c->cdr)) {
		free(c->cdr);
		c->cdr = NULL;
	}
	c->winner = 0;
	b2b_set_state(c, CALL_UP);
	c->media = ms;
	/*
	 * Requests relayed since the row was written (INFO, MESSAGE) moved the
	 * CSeqs on: jump ahead, as a UAS takes any higher one (RFC 3261 §12.2.2).
	 */
	c->leg[SIDE_A].cseq += 100;
	c->leg[SIDE_B].cseq += 100;
	ms->dead = on_media_dead;
	ms->owner = c;
	b2b_link_call(s->b2b, c);
	b2b_arm_se(c, SIDE_A);
	b2b_arm_se(c, SIDE_B);
	LOG(L_INFO, "[call] %s -> %s adopted", c->caller, c->callee);
	return 0;
}

static void b2bua_fini(struct sip_server *s)
{
	struct b2bua *bb = s->b2b;

	if (!bb)
		return;
	while (bb->all) {
		struct call *c = bb->all;

		bool keep = s->keep_calls && c->state == CALL_UP && !c->ack_txn;

		b2b_flush_ack(c, NULL);
		if (keep) {
			/* Left in the database and the kernel for the next sluiced. */
			c->kept = true;
			c->media->dead = NULL;
			c->media->owner = NULL;
			c->media = NULL;
		} else if (c->state == CALL_UP) {
			/* A clean stop hangs every call up. */
			b2b_cdr_why(c, CDR_CLOSE_SHUTDOWN, "system", NULL);
			b2b_send_bye(c, SIDE_A, "SIP;cause=503;text=\"Server stopping\"");
			b2b_send_bye(c, SIDE_B, "SIP;cause=503;text=\"Server stopping\"");
		} else {
			b2b_to_caller(c, 503, NULL, NULL);
			b2b_cdr_why(c, CDR_CLOSE_SHUTDOWN, "system", CDR_FAILED);
		}
		c->refs = 1;		/* the transactions go with the server */
		b2b_end_call(c, s->keep_calls && !c->media ? "left for the next sluiced" :
			     "sluiced stopping");
	}
	while (bb->held) {
		struct call *c = bb->held;

		b2b_unhold(c);
		b2b_free_call(c);
	}
	free(bb);
	s->b2b = NULL;
}

/* What the server hands us (server_int.h). */
static const struct sip_call_ops b2bua_ops = {
	.invite = b2bua_invite,
	.in_dialog = b2bua_in_dialog,
	.ack = b2bua_ack,
	.cancel = b2bua_cancel,
	.from_trunk = b2bua_from_trunk,
	.fini = b2bua_fini,
};

int b2bua_init(struct sip_server *s)
{
	s->b2b = calloc(1, sizeof(*s->b2b));
	if (!s->b2b)
		return -ENOMEM;
	s->calls = &b2bua_ops;
	return 0;
}

unsigned b2bua_calls(const struct sip_server *s)
{
	return s->b2b ? s->b2b->ncalls : 0;
}

void b2bua_states(const struct sip_server *s, struct b2bua_states *out)
{
	const unsigned *n = s->b2b ? s->b2b->nstate : NULL;

	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	out->trying = n[CALL_TRYING];
	out->ringing = n[CALL_EARLY];
	out->active = n[CALL_UP];
	out->other = n[CALL_ENDED];
}

int b2bua_list(struct sip_server *s, b2bua_call_fn fn, void *arg)
{
	static const char *const states[] = { "TRYING", "RINGING", "ACTIVE", "ENDED" };

	for (struct call *c = s->b2b ? s->b2b->all : NULL; c; c = c->all_next) {
		struct b2bua_call_info ci = {
			.caller = c->caller,
			.callee = c->callee,
			.a_call_id = c->leg[SIDE_A].call_id,
			.b_call_id = c->leg[SIDE_B].call_id,
			.state = states[c->state],
			.a_peer = &c->leg[SIDE_A].peer,
			.b_peer = c->state == CALL_UP ? &c->leg[SIDE_B].peer : NULL,
			.invite_ms = c->cdr ? c->cdr->invite_ms : 0,
			.answer_ms = c->cdr ? c->cdr->answer_ms : 0,
			.cdr_id = c->cdr ? c->cdr->id : 0,
			.media = c->media,
		};
		int rc = fn(&ci, arg);

		if (rc)
			return rc;
	}
	return 0;
}

int b2bua_remove(struct sip_server *s, const char *call_id)
{
	struct call *c = b2b_find_a(s, call_id);

	if (!c)
		c = b2b_find_b(s, call_id);
	if (!c || c->state == CALL_ENDED)
		return -ENOENT;
	b2b_cdr_why(c, CDR_CLOSE_ADMIN, "system", CDR_FAILED);
	if (c->state == CALL_UP) {
		b2b_hangup(c, "SIP;cause=503;text=\"Removed by the operator\"", "removed by the operator");
		return 0;
	}
	for (int i = 0; i < c->nbr; i++)
		b2b_cancel_branch(c, &c->br[i]);
	b2b_to_caller(c, 480, "Removed by the operator", NULL);
	b2b_end_call(c, "removed by the operator");
	return 0;
}

static struct call *live_call(struct sip_server *s, const char *call_id)
{
	struct call *c = s->b2b ? b2b_find_a(s, call_id) : NULL;

	if (!c && s->b2b)
		c = b2b_find_b(s, call_id);
	return c && c->state != CALL_ENDED ? c : NULL;
}

struct media_session *b2bua_find_media(struct sip_server *s, const char *call_id)
{
	struct call *c = s ? live_call(s, call_id) : NULL;

	return c ? c->media : NULL;
}

void b2bua_listened(struct sip_server *s, const char *call_id, const char *op)
{
	struct call *c = live_call(s, call_id);
	size_t n;

	if (!c || !c->cdr || strstr(c->cdr->listened_by, op))
		return;
	n = strlen(c->cdr->listened_by);
	snprintf(c->cdr->listened_by + n, sizeof(c->cdr->listened_by) - n, "%s%s", n ? ", " : "",
		 op);
}
