// SPDX-License-Identifier: GPL-2.0-only
/*
 * A call's detail record (store/cdr.h): one row per attempt, begun with
 * the caller's INVITE, written open when the call is answered (so that a
 * crash loses nothing) and closed at its end with why it ended, who
 * released it, its disposition and its media quality. An INVITE refused
 * before it became a call gets its row here too (b2b_reject()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_parser.h>

#include "dp/dp.h"
#include "media/sdp.h"
#include "media/session.h"
#include "sip/b2bua_int.h"
#include "store/cdr.h"

/* An attempt's record, from the caller's INVITE; NULL without CDRs. */
static struct cdr_rec *cdr_from_invite(struct sip_server *s, const struct rx *rx)
{
	struct cdr_rec *r = sip_srv_cdr_new(s, rx, CDR_TYPE_CALL, rx->req->req_uri);

	if (r)
		snprintf(r->datapath, sizeof(r->datapath), "%s",
			 s->media->dp ? s->media->dp->ops->name : "user");
	return r;
}

void b2b_cdr_begin(struct call *c, const struct rx *rx)
{
	c->cdr = cdr_from_invite(c->s, rx);
	if (c->cdr)
		snprintf(c->cdr->b_call_id, sizeof(c->cdr->b_call_id), "%s",
			 c->leg[SIDE_B].call_id);
}

/* An INVITE refused before it became a call (no such callee, not registered). */
void b2b_reject(struct sip_server *s, struct rx *rx, int code, const char *reason)
{
	struct cdr_rec *r = cdr_from_invite(s, rx);

	sip_srv_reply(s, rx, code, reason);
	if (!r)
		return;
	r->end_ms = r->invite_ms;
	r->status_code = code;
	snprintf(r->status_text, sizeof(r->status_text), "%s",
		 reason ?: osip_message_get_reason(code) ?: "");
	snprintf(r->disposition, sizeof(r->disposition), CDR_FAILED);
	snprintf(r->close_reason, sizeof(r->close_reason), CDR_CLOSE_NORMAL);
	snprintf(r->released_by, sizeof(r->released_by), "system");
	r->datapath[0] = '\0';
	cdr_finish(r);
	cdr_write(s->cdr, r);
	free(r);
}

/* The final answer the caller got (the first one: a CANCEL's 487 comes after its 200). */
void b2b_cdr_status(struct call *c, int code, const char *reason)
{
	if (!c->cdr || c->cdr->status_code >= 200)
		return;
	c->cdr->status_code = code;
	snprintf(c->cdr->status_text, sizeof(c->cdr->status_text), "%s",
		 reason ?: osip_message_get_reason(code) ?: "");
}

void b2b_cdr_ring(struct call *c)
{
	if (c->cdr && !c->cdr->ring_ms)
		c->cdr->ring_ms = cdr_now_ms();
}

/* Answered: the row goes in now, open, so that a crash loses nothing. */
void b2b_cdr_answer(struct call *c, const struct branch *b, const osip_message_t *resp,
		    const char *sdp)
{
	struct cdr_rec *r = c->cdr;

	if (!r)
		return;
	r->answer_ms = cdr_now_ms();
	r->open = true;
	snprintf(r->disposition, sizeof(r->disposition), CDR_ANSWERED);
	sip_peer_host(&b->peer, r->callee_ip, sizeof(r->callee_ip), &r->callee_port);
	snprintf(r->callee_ua, sizeof(r->callee_ua), "%s",
		 sip_msg_header(resp, "server", 0) ?: sip_msg_header(resp, "user-agent", 0) ?: "");
	if (sdp || c->leg[SIDE_A].sdp)
		sdp_first_codec(sdp ? sdp : c->leg[SIDE_A].sdp, strlen(sdp ? sdp : c->leg[SIDE_A].sdp),
				r->codec, sizeof(r->codec));
	b2b_cdr_status(c, 200, resp->reason_phrase);
	cdr_write(c->s->cdr, r);
}

/* Why the call ends, for its record; b2b_end_call() fills in what is not said. */
void b2b_cdr_why(struct call *c, const char *close_reason, const char *by,
		 const char *disposition)
{
	struct cdr_rec *r = c->cdr;

	if (!r || r->close_reason[0])
		return;
	snprintf(r->close_reason, sizeof(r->close_reason), "%s", close_reason);
	snprintf(r->released_by, sizeof(r->released_by), "%s", by);
	if (disposition && !r->answer_ms)
		snprintf(r->disposition, sizeof(r->disposition), "%s", disposition);
}

static const char *disposition_of(int code)
{
	switch (code) {
	case 486: case 600: case 603:
		return CDR_BUSY;
	case 408: case 480:
		return CDR_NO_ANSWER;
	case 487:
		return CDR_CANCELLED;
	default:
		return CDR_FAILED;
	}
}

void b2b_cdr_end(struct call *c)
{
	struct cdr_rec *r = c->cdr;

	if (!r)
		return;
	r->end_ms = cdr_now_ms();
	if (!r->close_reason[0])
		b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", NULL);
	if (!r->answer_ms && !r->disposition[0])
		snprintf(r->disposition, sizeof(r->disposition), "%s",
			 disposition_of(r->status_code));
	if (c->media && r->answer_ms)
		media_cdr_quality(c->media, r);
	cdr_finish(r);
	cdr_write(c->s->cdr, r);
}
