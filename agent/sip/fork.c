// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fork: the caller's INVITE goes to every binding of the callee (or to
 * the trunk) in parallel, one branch each. Provisional responses go to the
 * caller (183 with SDP starts early media through the relay); the first
 * 2xx wins, the other branches are cancelled and sent BYE if they answer
 * anyway. A branch challenged by the trunk, or refused with 422, is sent
 * again once with what it asked for. When every branch has failed the
 * caller gets the best final (timeouts as 480); without an answer within
 * [sip] ring_timeout, 480 and CANCEL. A late offer's 2xx is rewritten for
 * the caller and its ACK held back until the caller's ACK brings the
 * answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_parser.h>

#include "core/conf.h"
#include "core/log.h"
#include "media/session.h"
#include "sip/b2bua_int.h"
#include "sip/hdr.h"
#include "store/cdr.h"

/* CANCEL of one branch's INVITE (RFC 3261 §9.1): its Via, Call-ID, From, To and CSeq. */
void b2b_cancel_branch(struct call *c, struct branch *b)
{
	struct sip_server *s = c->s;
	struct leg *l = &c->leg[SIDE_B];
	char text[4096];
	osip_message_t *m;
	int n;

	if (!b->live)
		return;
	if (!b->ringing) {
		b->cancel = true;	/* no provisional yet: the CANCEL waits for one */
		return;
	}
	n = snprintf(text, sizeof(text),
		     "CANCEL %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\nFrom: %s;tag=%s\r\n"
		     "To: %s\r\nCall-ID: %s\r\nCSeq: %u CANCEL\r\nContent-Length: 0\r\n\r\n",
		     b->ruri, b->via, l->local_uri, l->local_tag, l->remote_uri, l->call_id,
		     l->invite_cseq);
	if (!b2b_parse_request(s, text, n, sizeof(text), NULL, &m))
		sip_txn_client_new(&s->txns, m, &b->peer, NULL, NULL, NULL);
}

static void fail_call(struct call *c)
{
	int code = c->best;

	/* Timeouts and transport errors: the callee is unavailable. */
	if (code == 408 || code == 503 || code >= 699)
		code = 480;
	b2b_to_caller(c, code, NULL, NULL);
	b2b_cdr_why(c, CDR_CLOSE_NORMAL, code == c->best ? "callee" : "system", NULL);
	b2b_end_call(c, "no branch answered");
}

/* The callee answered on branch me: the call is up. */
static void answered(struct call *c, int me, int code, const osip_message_t *resp,
		     const char *sdp)
{
	loop_timer_cancel(c->s->loop, &c->ring);
	b2b_set_state(c, CALL_UP);
	b2b_timers_from_answer(c, resp);
	b2b_to_caller(c, code, resp->reason_phrase, sdp);
	LOG(L_INFO, "[call] %s -> %s answered", c->caller, c->callee);
	b2b_cdr_answer(c, &c->br[me], resp, sdp);
	for (int i = 0; i < c->nbr; i++)
		if (i != me)
			b2b_cancel_branch(c, &c->br[i]);
	b2b_arm_se(c, SIDE_A);
	b2b_arm_se(c, SIDE_B);
	b2b_persist_call(c);
	if (c->tc)
		c->origin->answered(c, sdp);
}

static int send_branch_invite(struct call *c, struct branch *b, const char *auth);

/* A 401/407 from the trunk or a 422: the INVITE once more, with what it asked for. */
static bool retry_branch(struct call *c, struct branch *b, const osip_message_t *resp, int code)
{
	char auth[1200];

	if (c->state >= CALL_UP || b->cancel)
		return false;
	if ((code == 401 || code == 407) && c->leg[SIDE_B].trunk && !b->authed) {
		b->authed = true;
		if (b2b_trunk_credentials(c->s, resp, "INVITE", b->ruri, auth, sizeof(auth))) {
			LOG(L_WARN, "[sip] trunk challenge for %s not answered: no usable "
			    "credentials", c->callee);
			return false;
		}
		return !send_branch_invite(c, b, auth);
	}
	if (code == 422 && !b->se_raised && sip_hdr_min_se(resp) > c->b_se) {
		b->se_raised = true;
		c->b_se = sip_hdr_min_se(resp);
		return !send_branch_invite(c, b, NULL);
	}
	return false;
}

static void branch_response(struct sip_txn *t, const osip_message_t *resp, int code, void *arg)
{
	struct branch *b = arg;
	struct call *c = b->call;
	int me = (int)(b - c->br);
	const char *body;
	char *sdp = NULL, err[128];
	size_t blen;

	if (code < 200) {
		if (code == 100 || !resp)
			return;
		if (sip_hdr_has_option(resp, "require", "100rel")) {
			const char *rs = sip_msg_header(resp, "rseq", 0);
			uint32_t rseq = rs ? (uint32_t)strtoul(rs, NULL, 10) : 0;

			if (!rseq || (b->rseq && rseq <= b->rseq))
				return;		/* a retransmission, PRACKed already */
			b->rseq = rseq;
			b2b_prack_branch(c, b, resp, rseq);
		}
		b->ringing = true;
		if (b->cancel) {
			b2b_cancel_branch(c, b);
			return;
		}
		if (c->state >= CALL_UP || c->state == CALL_ENDED)
			return;
		/* 183 with SDP: early media through the relay (not with a late offer). */
		if (!c->late && sip_hdr_has_sdp(resp, &body, &blen) && c->media &&
		    media_answer(c->media, SIDE_B, body, blen, &sdp, err, sizeof(err)))
			LOG(L_INFO, "[call] early media of %s refused: %s", c->callee, err);
		b2b_set_state(c, CALL_EARLY);
		if (code >= 180)
			b2b_cdr_ring(c);
		b2b_to_caller(c, code, resp->reason_phrase, sdp);
		free(sdp);
		return;
	}

	if (code < 300 && resp && c->winner == me)
		return;		/* the 2xx again while its ACK waits for the caller's */
	if (code < 300 && resp) {
		const char *totag = sip_msg_to_tag(resp);

		if (c->winner >= 0 || c->state == CALL_ENDED) {
			/* Another branch won, or the call is gone: ACK and BYE this one. */
			struct leg save = c->leg[SIDE_B];

			snprintf(c->leg[SIDE_B].remote_tag, TAG_MAX, "%s", totag ? totag : "");
			sip_hdr_contact(resp, c->leg[SIDE_B].target, URI_MAX);
			c->leg[SIDE_B].peer = b->peer;
			c->leg[SIDE_B].sdp = NULL;
			b2b_leg_request_raw(c, SIDE_B, "ACK", save.invite_cseq, NULL, NULL, NULL,
					    NULL, NULL, NULL, NULL, t);
			b2b_leg_request_raw(c, SIDE_B, "BYE", 0, NULL, NULL, NULL, NULL, NULL, NULL,
					    NULL, NULL);
			save.cseq = c->leg[SIDE_B].cseq;
			c->leg[SIDE_B] = save;
		} else {
			struct leg *l = &c->leg[SIDE_B];

			c->winner = me;
			snprintf(l->remote_tag, TAG_MAX, "%s", totag ? totag : "");
			if (sip_hdr_contact(resp, l->target, URI_MAX))
				snprintf(l->target, URI_MAX, "%s", b->ruri);
			l->peer = b->peer;
			if (c->late) {
				/* The offer is in the 2xx: the answer comes in the caller's ACK. */
				int rc = sip_hdr_has_sdp(resp, &body, &blen) ?
					 media_offer(c->media, SIDE_B, body, blen, &sdp, err,
						     sizeof(err)) : (snprintf(err, sizeof(err),
						     "no offer in the 2xx"), -EINVAL);

				if (rc) {
					LOG(L_WARN, "[call] offer of %s refused: %s", c->callee, err);
					b2b_leg_request(c, SIDE_B, "ACK", l->invite_cseq, NULL, NULL, NULL,
							NULL, NULL, NULL, t);
					b2b_send_bye(c, SIDE_B, "SIP;cause=488;text=\"Not Acceptable Here\"");
					b2b_to_caller(c, rc == -EINVAL ? 488 : 503, NULL, NULL);
					b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", CDR_FAILED);
					b2b_end_call(c, "the callee's offer was refused");
				} else {
					c->ack_txn = t;
					c->ack_leg = SIDE_B;
					c->ack_cseq = l->invite_cseq;
					c->offer_pending = true;
					c->refs++;
					loop_timer_arm(c->s->loop, &c->ack_timer, ACK_WAIT_MS);
					answered(c, me, code, resp, sdp);
				}
			} else {
				b2b_leg_request(c, SIDE_B, "ACK", l->invite_cseq, NULL, NULL, NULL, NULL,
						NULL, NULL, t);
				if (sip_hdr_has_sdp(resp, &body, &blen) &&
				    media_answer(c->media, SIDE_B, body, blen, &sdp, err,
						 sizeof(err))) {
					LOG(L_WARN, "[call] answer of %s refused: %s", c->callee, err);
					b2b_send_bye(c, SIDE_B,
						     "SIP;cause=488;text=\"Not Acceptable Here\"");
					b2b_to_caller(c, 488, NULL, NULL);
					b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", CDR_FAILED);
					b2b_end_call(c, "the callee's SDP was refused");
				} else {
					answered(c, me, code, resp, sdp);
				}
			}
			free(sdp);
		}
	} else if (b->live && resp && retry_branch(c, b, resp, code)) {
		return;		/* the same branch goes on */
	}

	/* A final: this branch is done (2xx ones stay in the table until Timer M). */
	if (b->live) {
		b->live = false;
		c->pending--;
		if (code >= 300 || !resp) {
			if (code < c->best)
				c->best = code;
		}
		if (!c->pending && c->winner < 0 && c->state != CALL_ENDED)
			fail_call(c);
		b2b_put(c);
	}
}

void b2b_on_ring_timeout(struct loop *loop, void *arg)
{
	struct call *c = arg;

	(void)loop;
	LOG(L_INFO, "[call] %s -> %s: no answer within %u s", c->caller, c->callee,
	    c->s->conf->sip_ring_timeout);
	c->best = 480;
	for (int i = 0; i < c->nbr; i++)
		b2b_cancel_branch(c, &c->br[i]);
	b2b_to_caller(c, 480, "No Answer", NULL);
	b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", CDR_NO_ANSWER);
	b2b_end_call(c, "no answer");
}

/* The branch's INVITE, first or again (CSeq up, a fresh Via branch). */
static int send_branch_invite(struct call *c, struct branch *b, const char *auth)
{
	struct sip_server *s = c->s;
	struct leg *l = &c->leg[SIDE_B];
	const char *sdp = l->sdp;
	char text[8192], contact[128], timer[96] = "", via[SIP_VIA_MAX];
	int n;

	_Static_assert(SIP_VIA_MAX <= sizeof(b->via), "the branch keeps its Via");
	if (b2b_our_contact(s, &b->peer, contact, sizeof(contact)) ||
	    sip_srv_via_for(s, &b->peer, via, sizeof(via)))
		return -EADDRNOTAVAIL;
	if (b->live)
		l->invite_cseq = ++l->cseq;
	if (c->b_se)
		snprintf(timer, sizeof(timer), "Session-Expires: %u\r\nMin-SE: %u\r\n", c->b_se,
			 s->conf->sip_min_se < c->b_se ? s->conf->sip_min_se : c->b_se);
	/* Printed once with our Via, sent as it is. */
	n = snprintf(text, sizeof(text),
		     "INVITE %s SIP/2.0\r\n"
		     "Via: %s\r\n"
		     "Max-Forwards: %d\r\n"
		     "From: %s;tag=%s\r\n"
		     "To: %s\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %u INVITE\r\n"
		     "Contact: %s\r\n"
		     "Allow: " SIP_ALLOW "\r\n"
		     "Supported: " B2B_SUPPORTED "\r\n"
		     "%s%s%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     b->ruri, via, b->max_forwards, l->local_uri, l->local_tag, l->remote_uri,
		     l->call_id, l->invite_cseq, contact, timer, auth ? auth : "",
		     sdp ? "Content-Type: application/sdp\r\n" : "", sdp ? strlen(sdp) : 0,
		     sdp ? sdp : "");
	if (n < 0 || (size_t)n >= sizeof(text))
		return -ENOMEM;
	strcpy(b->via, via);
	b->ringing = false;
	b->rseq = 0;
	/* Not parsed: the transaction parses it only for the ACK of a non-2xx final. */
	return sip_txn_client_new_raw(&s->txns, NULL, text, (size_t)n, &b->peer, branch_response,
				      b, NULL) ? -EIO : 0;
}

int b2b_start_branch(struct call *c, const char *ruri, const struct sip_peer *peer,
		     int max_forwards)
{
	struct branch *b = &c->br[c->nbr];

	memset(b, 0, sizeof(*b));
	snprintf(b->ruri, sizeof(b->ruri), "%s", ruri);
	b->peer = *peer;
	b->call = c;
	b->max_forwards = max_forwards;
	if (send_branch_invite(c, b, NULL))
		return -EIO;
	b->live = true;
	c->nbr++;
	c->pending++;
	c->refs++;
	return 0;
}
