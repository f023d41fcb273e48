// SPDX-License-Identifier: GPL-2.0-only
/*
 * Session timers (RFC 4028), one per leg. The caller's INVITE sets leg A's
 * interval and refresher (b2b_timers_from_offer(), 422 below [sip]
 * min_se), the callee's 2xx leg B's (b2b_timers_from_answer()). Where we
 * are the refresher we refresh at half the interval, with UPDATE where
 * the peer allows it, else with a re-INVITE carrying the last SDP; where
 * the peer is, a refresh that has not come by a third before the end (at
 * most 32 s) hangs up both legs, as does a refresh of ours that fails
 * with 408 or 481.
 */
#include <errno.h>
#include <stdio.h>

#include <osipparser2/osip_parser.h>

#include "core/conf.h"
#include "core/log.h"
#include "sip/b2bua_int.h"
#include "sip/hdr.h"
#include "store/cdr.h"

/*
 * Session-Expires in our 2xx to leg l's request (we are its UAS: the peer,
 * the UAC, refreshes unless we do), and Require: timer when it supports it.
 */
void b2b_add_timer_headers(const struct leg *l, osip_message_t *resp, bool require)
{
	char v[64];

	if (!l->se)
		return;
	snprintf(v, sizeof(v), "%u;refresher=%s", l->se, l->se_ours ? "uas" : "uac");
	osip_message_set_header(resp, "Session-Expires", v);
	if (require)
		osip_message_set_header(resp, "Require", "timer");
}

int b2b_timer_headers_text(const struct leg *l, bool require, char *out, size_t len)
{
	int n;

	if (!l->se)
		return 0;
	n = snprintf(out, len, "Session-Expires: %u;refresher=%s\r\n%s", l->se,
		     l->se_ours ? "uas" : "uac", require ? "Require: timer\r\n" : "");
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

void b2b_arm_se(struct call *c, int L)
{
	struct leg *l = &c->leg[L];
	uint64_t ms;

	if (!l->se || c->state != CALL_UP)
		return;
	/* We refresh at half the interval; the peer has until a third (at most 32 s) is left. */
	ms = l->se_ours ? 500ull * l->se : 1000ull * (l->se - (l->se / 3 < 32 ? l->se / 3 : 32));
	loop_timer_arm(c->s->loop, &l->se_timer, ms);
}

struct refresh {
	struct aux	aux;
	struct call	*call;
	int		leg;
	bool		invite;
	uint32_t	cseq;
};

static void refresh_response(struct sip_txn *t, const osip_message_t *resp, int code, void *arg)
{
	struct refresh *f = arg;
	struct call *c = f->call;

	if (code < 200)
		return;
	if (f->invite) {
		if (code < 300 && resp)
			b2b_leg_request(c, f->leg, "ACK", f->cseq, NULL, NULL, NULL, NULL, NULL, NULL, t);
		c->offer_pending = false;
	}
	if (c->state == CALL_UP) {
		if (code < 300 && resp) {
			b2b_arm_se(c, f->leg);
			b2b_persist_call(c);	/* its CSeq moved on */
		} else if (code == 481 || code == 408 || !resp) {
			LOG(L_INFO, "[call] %s -> %s: session refresh of leg %c failed (%d)",
			    c->caller, c->callee, 'A' + f->leg, code);
			b2b_cdr_why(c, CDR_CLOSE_TIMER, "system", NULL);
			b2b_hangup(c, "SIP;cause=408;text=\"Session refresh failed\"",
				   "session refresh failed");
		} else {
			b2b_arm_se(c, f->leg);	/* refused (491, 5xx): again next time */
		}
	}
	b2b_aux_free(f);
	b2b_put(c);
}

void b2b_on_se_timer(struct loop *loop, void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;
	struct refresh *f;
	char extra[96];
	int err;

	if (c->state != CALL_UP)
		return;
	if (!l->se_ours) {
		LOG(L_INFO, "[call] %s -> %s: leg %c sent no session refresh within %u s",
		    c->caller, c->callee, 'A' + l->side, l->se);
		b2b_cdr_why(c, CDR_CLOSE_TIMER, "system", NULL);
		b2b_hangup(c, "SIP;cause=408;text=\"Session timer expired\"", "session timer");
		return;
	}
	if (c->offer_pending || c->ack_txn || !(f = b2b_aux_new(c, sizeof(*f)))) {
		loop_timer_arm(loop, &l->se_timer, 2000);	/* an offer is in flight */
		return;
	}
	f->call = c;
	f->leg = l->side;
	f->invite = !l->update_ok;
	snprintf(extra, sizeof(extra), "Session-Expires: %u;refresher=uac\r\nSupported: timer\r\n",
		 l->se);
	err = b2b_leg_request(c, l->side, f->invite ? "INVITE" : "UPDATE", 0, extra,
			      f->invite ? l->sdp : NULL, NULL, NULL, refresh_response, f, NULL);
	if (err) {
		b2b_aux_free(f);
		loop_timer_arm(loop, &l->se_timer, 2000);
		return;
	}
	f->cseq = l->cseq;
	if (f->invite)
		c->offer_pending = true;
	c->refs++;
}

/* Session timers from the callee's 2xx (RFC 4028 §7.2). */
void b2b_timers_from_answer(struct call *c, const osip_message_t *resp)
{
	struct leg *l = &c->leg[SIDE_B];
	char ref;

	l->se = sip_hdr_session_expires(resp, &ref);
	l->se_ours = ref != 's';	/* refresher=uac is us */
	if (!l->se && c->b_se && sip_hdr_has_option(resp, "supported", "timer"))
		l->se = c->b_se, l->se_ours = true;
	l->update_ok = sip_hdr_has_option(resp, "allow", "UPDATE");
}

/* Leg A's session timer, from the caller's INVITE (RFC 4028 §9): 0, or 422 sent. */
int b2b_timers_from_offer(struct sip_server *s, struct rx *rx, struct call *c)
{
	const struct conf *cf = s->conf;
	struct leg *l = &c->leg[SIDE_A];
	uint32_t se, floor = sip_hdr_min_se(rx->req);
	char ref, v[16];

	c->a_timer = sip_hdr_has_option(rx->req, "supported", "timer") ||
		     sip_hdr_has_option(rx->req, "require", "timer");
	c->a_100rel = sip_hdr_has_option(rx->req, "supported", "100rel") ||
		      sip_hdr_has_option(rx->req, "require", "100rel");
	l->update_ok = sip_hdr_has_option(rx->req, "allow", "UPDATE");
	if (!cf->sip_session_expires)
		return 0;
	se = sip_hdr_session_expires(rx->req, &ref);
	if (se && se < cf->sip_min_se) {
		osip_message_t *resp = sip_srv_response(s, rx, 422, NULL);

		snprintf(v, sizeof(v), "%u", cf->sip_min_se);
		if (resp)
			osip_message_set_header(resp, "Min-SE", v);
		sip_srv_send(s, rx, resp);
		return -EAGAIN;
	}
	if (!se)
		se = cf->sip_session_expires > floor ? cf->sip_session_expires : floor;
	l->se = se;
	/* Its choice; else the caller refreshes when it can, we when it cannot. */
	l->se_ours = ref == 's' || (!ref && !c->a_timer);
	c->b_se = se > cf->sip_session_expires ? se : cf->sip_session_expires;
	return 0;
}
