// SPDX-License-Identifier: GPL-2.0-only
/*
 * Our answers to the caller's INVITE (b2b_to_caller()) and reliable
 * provisional responses (RFC 3262) on both legs. A caller that supports
 * 100rel gets our provisionals reliably: resent at T1, 2T1, 4T1... until
 * its PRACK (or 64*T1), and a 2xx waits for the PRACK of a provisional
 * that carried SDP. The callee's reliable provisionals are PRACKed by us
 * in its early dialog (b2b_prack_branch()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_parser.h>

#include "core/log.h"
#include "sip/b2bua_int.h"
#include "sip/hdr.h"

/* PRACK of a branch's reliable provisional (RFC 3262 §7.2), in its early dialog. */
void b2b_prack_branch(struct call *c, struct branch *b, const osip_message_t *resp,
		      uint32_t rseq)
{
	struct sip_server *s = c->s;
	struct leg *l = &c->leg[SIDE_B];
	const char *totag = sip_msg_to_tag(resp);
	char text[4096], target[URI_MAX], contact[128];
	osip_message_t *m;
	int n;

	if (sip_hdr_contact(resp, target, sizeof(target)))
		snprintf(target, sizeof(target), "%s", b->ruri);
	if (b2b_our_contact(s, &b->peer, contact, sizeof(contact)))
		return;
	n = snprintf(text, sizeof(text),
		     "PRACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 0.0.0.0;branch=z9hG4bK0\r\n"
		     "Max-Forwards: 70\r\nFrom: %s;tag=%s\r\nTo: %s;tag=%s\r\nCall-ID: %s\r\n"
		     "CSeq: %u PRACK\r\nRAck: %u %u INVITE\r\nContact: %s\r\n"
		     "Content-Length: 0\r\n\r\n",
		     target, l->local_uri, l->local_tag, l->remote_uri, totag ? totag : "",
		     l->call_id, ++l->cseq, rseq, l->invite_cseq, contact);
	if (!b2b_parse_request(s, text, n, sizeof(text), &b->peer, &m))
		sip_txn_client_new(&s->txns, m, &b->peer, NULL, NULL, NULL);
}

/* No more resends; a 2xx that waited for the PRACK goes now. */
static void stop_reliable(struct call *c)
{
	char *reason = c->held_reason, *sdp = c->held_sdp;
	int code = c->held_code;

	loop_timer_cancel(c->s->loop, &c->rel_timer);
	free(c->rel_text);
	c->rel_text = NULL;
	c->held_code = 0;
	c->held_reason = c->held_sdp = NULL;
	if (code && c->state != CALL_ENDED)
		b2b_to_caller(c, code, reason, sdp);
	free(reason);
	free(sdp);
}

/* RFC 3262 §3: a reliable provisional is resent at T1, 2T1, 4T1... until 64*T1. */
void b2b_on_rel_timer(struct loop *loop, void *arg)
{
	struct call *c = arg;

	if (!c->rel_text)
		return;
	if (c->rel_wait >= 32 * SIP_T1_MS) {
		LOG(L_INFO, "[call] %s -> %s: no PRACK for RSeq %u", c->caller, c->callee,
		    c->rel_rseq);
		stop_reliable(c);
		return;
	}
	c->s->send(c->s->send_arg, &c->leg[SIDE_A].peer, c->rel_text, c->rel_len);
	c->rel_wait *= 2;
	loop_timer_arm(loop, &c->rel_timer, c->rel_wait);
}

/* The 100rel provisional kept for its resends (RFC 3262 §3). */
static void keep_reliable(struct call *c, const struct sip_peer *to, const char *text,
			  size_t len, bool sdp)
{
	c->rel_text = malloc(len);
	if (!c->rel_text)
		return;
	memcpy(c->rel_text, text, len);
	c->rel_len = len;
	c->rel_wait = SIP_T1_MS;
	c->rel_sdp = sdp;
	if (!sip_proto_reliable(to->proto))
		loop_timer_arm(c->s->loop, &c->rel_timer, SIP_T1_MS);
}

/* What follows our answer to the caller, once it is printed. */
static void answer_sent(struct call *c, int code, const char *reason, const char *sdp)
{
	if (code >= 200) {
		b2b_cdr_status(c, code, reason);
		c->held_code = 0;	/* this final replaces any that waited */
		stop_reliable(c);
		sip_txn_set_end(c->st, NULL, NULL);
		c->st = NULL;	/* the transaction's from here on */
	}
	if (sdp && code < 300)
		b2b_set_leg_sdp(&c->leg[SIDE_A], sdp);
}

/*
 * The answer printed as text from the head the INVITE's transaction kept
 * (sip_srv_response_text()): no response tree. -errno when it cannot be
 * printed so (nothing sent): the tree's way then.
 */
static int to_caller_text(struct call *c, struct rx *r, int code, const char *reason,
			  const char *sdp)
{
	struct sip_server *s = c->s;
	char extra[1024], out[8192], tag[SIP_TAG_LEN + 1], contact[128];
	bool rel = code > 100 && code < 200 && c->a_100rel && !c->rel_text;
	size_t elen = 0;
	int n = 0;

#define EXTRA(...)							\
	do {								\
		int w_ = snprintf(extra + elen, sizeof(extra) - elen, __VA_ARGS__); \
		if (w_ < 0 || (size_t)w_ >= sizeof(extra) - elen)	\
			return -ENOSPC;					\
		elen += (size_t)w_;					\
	} while (0)
	if (code > 100 && code < 300) {
		if (!b2b_our_contact(s, r->from, contact, sizeof(contact)))
			EXTRA("Contact: %s\r\n", contact);
		EXTRA("Supported: %s\r\n", B2B_SUPPORTED);
	}
	if (code >= 200 && code < 300) {
		EXTRA("Allow: %s\r\n", SIP_ALLOW);
		n = b2b_timer_headers_text(&c->leg[SIDE_A], c->a_timer, extra + elen,
					   sizeof(extra) - elen);
		if (n < 0)
			return n;
		elen += (size_t)n;
	}
	if (rel)
		EXTRA("Require: 100rel\r\nRSeq: %u\r\n", c->rel_rseq + 1);
	if (sdp)
		EXTRA("Content-Type: application/sdp\r\n");
#undef EXTRA
	n = sip_srv_response_text(s, r, code, reason, extra, elen, sdp, sdp ? strlen(sdp) : 0,
				  out, sizeof(out), tag);
	if (n < 0)
		return n;
	if (rel) {
		c->rel_rseq++;
		keep_reliable(c, r->from, out, (size_t)n, sdp != NULL);
	}
	answer_sent(c, code, reason, sdp);
	sip_txn_reply_text(r->t, code, out, (size_t)n, tag);
	return 0;
}

void b2b_to_caller(struct call *c, int code, const char *reason, const char *sdp)
{
	struct sip_server *s = c->s;
	struct rx r = { 0 };
	osip_message_t *resp;
	char contact[128];

	if (!c->st)
		return;
	if (code >= 200 && code < 300 && c->rel_text && c->rel_sdp) {
		/* RFC 3262 §3: the 2xx waits for the PRACK of an SDP-bearing provisional. */
		c->held_code = code;
		c->held_reason = reason ? strdup(reason) : NULL;
		c->held_sdp = sdp ? strdup(sdp) : NULL;
		return;
	}
	r.req = (osip_message_t *)sip_txn_request(c->st);
	r.from = sip_txn_peer(c->st);
	r.t = c->st;
	if (!r.req)
		return;
	if (!to_caller_text(c, &r, code, reason, sdp))
		return;
	resp = sip_srv_response(s, &r, code, reason);
	if (!resp)
		return;
	if (code > 100 && code < 300 && !b2b_our_contact(s, r.from, contact, sizeof(contact)))
		osip_message_set_contact(resp, contact);
	if (code > 100 && code < 300)
		osip_message_set_header(resp, "Supported", B2B_SUPPORTED);
	if (code >= 200 && code < 300) {
		osip_message_set_header(resp, "Allow", SIP_ALLOW);
		b2b_add_timer_headers(&c->leg[SIDE_A], resp, c->a_timer);
	}
	sip_hdr_set_sdp(resp, sdp);
	if (code > 100 && code < 200 && c->a_100rel && !c->rel_text) {
		char rseq[16], *text;
		size_t len;

		snprintf(rseq, sizeof(rseq), "%u", ++c->rel_rseq);
		osip_message_set_header(resp, "Require", "100rel");
		osip_message_set_header(resp, "RSeq", rseq);
		osip_message_force_update(resp);
		if (!sip_msg_print(resp, &text, &len)) {
			keep_reliable(c, r.from, text, len, sdp != NULL);
			osip_free(text);
		}
	}
	answer_sent(c, code, reason, sdp);
	sip_txn_reply(r.t, resp);
}

/* A PRACK from the caller for our reliable provisional (RFC 3262 §3). */
void b2b_prack(struct sip_server *s, struct rx *rx, struct call *c)
{
	const char *rack = sip_msg_header(rx->req, "rack", 0);
	unsigned long rseq = rack ? strtoul(rack, NULL, 10) : 0;

	if (rseq && rseq == c->rel_rseq) {
		sip_srv_reply(s, rx, 200, NULL);
		stop_reliable(c);	/* a 2xx that waited goes after the PRACK's 200 */
	} else {
		sip_srv_reply(s, rx, 481, "No such reliable provisional");
	}
}
