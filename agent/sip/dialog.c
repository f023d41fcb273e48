// SPDX-License-Identifier: GPL-2.0-only
/*
 * Requests in a call's dialogs (b2bua_in_dialog(), b2bua_ack()): BYE ends
 * both legs; the caller's PRACK goes to rel1xx.c; re-INVITE, UPDATE, INFO
 * and MESSAGE are relayed to the other leg, their SDP through the media
 * layer (491 on glare), and the answer relayed back. An ACK may bring the
 * answer to an offer we made in a 2xx: then the ACK held back for the
 * other leg goes with it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <osipparser2/osip_parser.h>

#include "core/log.h"
#include "media/session.h"
#include "sip/b2bua_int.h"
#include "sip/hdr.h"
#include "store/cdr.h"

/* An in-dialog request on its way to the other leg. */
struct relay {
	struct aux	aux;
	struct call	*call;
	struct sip_txn	*st;		/* the origin's server transaction */
	int		from;		/* SIDE_A or SIDE_B */
	bool		invite;
	bool		offer;		/* an INVITE or UPDATE: no other may cross it */
	bool		sdp;		/* the request carried an offer */
};

static void relay_response(struct sip_txn *t, const osip_message_t *resp, int code, void *arg)
{
	struct relay *r = arg;
	struct call *c = r->call;
	int to = r->from == SIDE_A ? SIDE_B : SIDE_A;
	char *sdp = NULL, err[128];
	const char *body;
	bool defer = false;
	size_t blen;

	if (code < 200 || c->ack_relay == r)
		return;		/* a provisional, or the 2xx again while its ACK waits */
	if (r->invite && code < 300 && resp && c->state == CALL_UP && !r->sdp &&
	    sip_hdr_has_sdp(resp, &body, &blen)) {
		/* A re-INVITE without an offer: the answer comes in the origin's ACK. */
		if (media_offer(c->media, to, body, blen, &sdp, err, sizeof(err))) {
			LOG(L_WARN, "[call] %s -> %s: offer in a 2xx refused: %s", c->caller,
			    c->callee, err);
		} else {
			defer = true;
			c->ack_txn = t;
			c->ack_leg = to;
			c->ack_cseq = c->leg[to].cseq;
			c->ack_relay = r;
			loop_timer_arm(c->s->loop, &c->ack_timer, ACK_WAIT_MS);
		}
	}
	if (r->invite && code < 300 && resp && c->state != CALL_ENDED && !defer)
		b2b_leg_request(c, to, "ACK", c->leg[to].cseq, NULL, NULL, NULL, NULL, NULL, NULL,
				t);
	if (r->st) {
		struct rx rx = { .req = (osip_message_t *)sip_txn_request(r->st),
				 .from = sip_txn_peer(r->st), .t = r->st };
		osip_message_t *out = rx.req ? sip_srv_response(c->s, &rx, resp ? code : 408,
								resp ? resp->reason_phrase : NULL)
					     : NULL;
		bool answer;

		/* Its answer, rewritten; or (defer) the offer made from the peer's 2xx. */
		answer = out && resp && code < 300 && c->media && r->sdp &&
			 sip_hdr_has_sdp(resp, &body, &blen) &&
			 !media_answer(c->media, to, body, blen, &sdp, err, sizeof(err));
		if (out && (answer || defer)) {
			sip_hdr_set_sdp(out, sdp);
			b2b_set_leg_sdp(&c->leg[r->from], sdp);
		}
		if (out && code < 300) {
			char contact[128];

			if (!b2b_our_contact(c->s, rx.from, contact, sizeof(contact)))
				osip_message_set_contact(out, contact);
			if (sip_msg_header(rx.req, "session-expires", 0))
				b2b_add_timer_headers(&c->leg[r->from], out,
						      sip_hdr_has_option(rx.req, "supported",
									 "timer"));
		}
		sip_txn_set_end(r->st, NULL, NULL);	/* r may go before its ACK comes */
		if (out)
			sip_txn_reply(r->st, out);
		r->st = NULL;
	}
	free(sdp);
	if (r->offer && code < 300 && c->state == CALL_UP) {
		b2b_arm_se(c, SIDE_A);	/* a session refresh for both legs */
		b2b_arm_se(c, SIDE_B);
		b2b_persist_call(c);
	}
	if (defer)
		return;		/* r and its reference go with the ACK */
	if (r->offer)
		c->offer_pending = false;
	b2b_put(c);
	b2b_aux_free(r);
}

static void relay_origin_gone(struct sip_txn *t, int code, void *arg)
{
	struct relay *r = arg;

	(void)t;
	(void)code;
	r->st = NULL;
}

static void relay(struct sip_server *s, struct rx *rx, struct call *c, int from)
{
	const char *method = rx->req->sip_method, *body, *ct;
	int to = from == SIDE_A ? SIDE_B : SIDE_A;
	bool offer = !strcmp(method, "INVITE") || !strcmp(method, "UPDATE");
	char *sdp = NULL, err[128], ctype[128] = "";
	struct relay *r;
	size_t blen;
	int rc;

	if (offer && (c->offer_pending || c->ack_txn)) {
		sip_srv_reply(s, rx, 491, NULL);	/* glare: the other side's offer goes first */
		return;
	}
	r = b2b_aux_new(c, sizeof(*r));
	if (!r) {
		sip_srv_reply(s, rx, 500, NULL);
		return;
	}
	r->call = c;
	r->st = rx->t;
	r->from = from;
	r->invite = !strcmp(method, "INVITE");
	r->offer = offer;
	if (offer && sip_hdr_has_sdp(rx->req, &body, &blen)) {
		rc = media_offer(c->media, from, body, blen, &sdp, err, sizeof(err));
		if (rc) {
			b2b_aux_free(r);
			sip_srv_reply(s, rx, rc == -EINVAL ? 488 : 503, err);
			return;
		}
		r->sdp = true;
	}
	/* Other bodies (INFO, MESSAGE) pass as they are. */
	body = NULL;
	if (!r->sdp) {
		osip_body_t *b = osip_list_get(&rx->req->bodies, 0);

		if (b && b->body && rx->req->content_type) {
			char *t = NULL;

			osip_content_type_to_str(rx->req->content_type, &t);
			snprintf(ctype, sizeof(ctype), "%s", t ? t : "text/plain");
			osip_free(t);
			body = b->body;
		}
	}
	ct = ctype;
	/* The peer's target may have moved (a re-INVITE's Contact). */
	sip_hdr_contact(rx->req, c->leg[from].target, URI_MAX);
	if (offer && !c->leg[from].se_ours)
		b2b_arm_se(c, from);	/* the peer refreshed its leg */
	rc = b2b_leg_request(c, to, method, 0, NULL, sdp, ct, body, relay_response, r, NULL);
	if (!rc && sdp)
		b2b_set_leg_sdp(&c->leg[to], sdp);
	free(sdp);
	if (rc) {
		b2b_aux_free(r);
		sip_srv_reply(s, rx, 500, "Not relayed");
		return;
	}
	if (offer)
		c->offer_pending = true;
	c->refs++;
	sip_txn_set_end(rx->t, relay_origin_gone, r);
}

bool b2bua_in_dialog(struct sip_server *s, struct rx *rx)
{
	struct call *c;
	int from;

	c = b2b_dialog_of(s, rx->req, &from);
	if (!c)
		return false;
	if (!strcmp(rx->req->sip_method, "BYE")) {
		int other = from == SIDE_A ? SIDE_B : SIDE_A;

		sip_srv_reply(s, rx, 200, NULL);
		b2b_send_bye(c, other, NULL);
		b2b_cdr_why(c, CDR_CLOSE_NORMAL, from == SIDE_A ? "caller" : "callee", NULL);
		b2b_end_call(c, from == SIDE_A ? "the caller hung up" : "the callee hung up");
		return true;
	}
	if (!strcmp(rx->req->sip_method, "PRACK") && from == SIDE_A) {
		b2b_prack(s, rx, c);
		return true;
	}
	if (c->state != CALL_UP) {
		sip_srv_reply(s, rx, 481, NULL);	/* no early-dialog requests yet */
		return true;
	}
	relay(s, rx, c, from);
	return true;
}

void b2bua_ack(struct sip_server *s, struct rx *rx)
{
	const char *body;
	char *sdp = NULL, err[128];
	struct call *c;
	size_t blen;
	int from;

	c = b2b_dialog_of(s, rx->req, &from);
	if (!c || !c->ack_txn || from == c->ack_leg)
		return;
	if (!sip_hdr_has_sdp(rx->req, &body, &blen) ||
	    media_answer(c->media, from, body, blen, &sdp, err, sizeof(err))) {
		LOG(L_WARN, "[call] %s -> %s: the ACK brought no usable answer", c->caller,
		    c->callee);
		b2b_hangup(c, "SIP;cause=488;text=\"Not Acceptable Here\"", "no answer in the ACK");
		return;
	}
	b2b_flush_ack(c, sdp);
	free(sdp);
	b2b_persist_call(c);
}
