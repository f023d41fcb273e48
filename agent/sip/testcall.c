// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test calls (the previous server's autodialer; ORG TESTCALL, POST
 * /api/testcalls): sluiced itself calls a registered subscriber (or a
 * number, through the trunk) and plays it a WAV prompt, then hangs up;
 * or, click-to-dial, connects it to a second subscriber once it answers:
 * sluiced then calls the second party on side A (an INVITE of its own,
 * with the SDP the relay wrote from the first party's answer), and the
 * second party's answer, taken as a new offer from side A, tells the
 * relay where side A's media goes; from then on it is a B2BUA call like
 * any other. The call is an ordinary B2BUA call
 * whose side A is sluiced's own player instead of a caller's dialog:
 * side A has no peer (nothing is ever sent on it: b2b_leg_request()
 * refuses), the fork, ring timeout, answer, CDR and the callee's BYE are
 * the B2BUA's own. Its media session's leg A is the player, which offers
 * sendonly G.711 in the prompt's law; the player sends the prompt from
 * the relay's socket facing the callee, one 160-byte RTP packet every
 * 20 ms (paced from the start, not from the previous packet), then BYE.
 * The callee's media is not relayed anywhere (its leg never goes to the
 * kernel: leg A never latches). The CDR is marked test_call.
 *
 * At most [testcall] rate test calls in any 60 seconds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <osipparser2/osip_parser.h>

#include "core/conf.h"
#include "core/log.h"
#include "media/session.h"
#include "media/wav.h"
#include "sip/b2bua.h"
#include "sip/b2bua_int.h"
#include "sip/hdr.h"
#include "store/cdr.h"
#include "store/subscriber.h"

#define TC_PACKET	160	/* bytes of G.711: 20 ms */

struct testcall {
	struct call		*c;
	struct wav		prompt;
	struct loop_timer	tick;
	uint64_t		start_ms;
	size_t			sent;		/* packets */
	uint16_t		seq;
	uint32_t		ts, ssrc;
	char			op[33];
	/* Click-to-dial: the second party, called once the first answers. */
	char			bridge[SUB_IMPU_MAX];	/* its AoR, "": a prompt instead */
	struct sip_peer		bridge_peer;
	char			bridge_ruri[URI_MAX];
	struct sip_txn		*bridge_txn;	/* its INVITE's, until the final response */
	bool			bridge_ringing;	/* a provisional came: CANCEL may go */
	bool			ended;		/* the call is over; freed at that final */
};

static bool rate_ok(const struct sip_server *s, uint64_t now)
{
	const struct b2bua *bb = s->b2b;
	unsigned rate = s->conf->testcall_rate, recent = 0;

	if (!rate)
		return true;
	for (unsigned i = 0; i < bb->tc_nstarts && i < B2B_TESTCALL_STARTS; i++)
		if (now - bb->tc_starts[i] < 60000)
			recent++;
	return recent < rate && recent < B2B_TESTCALL_STARTS;
}

static void on_tick(struct loop *loop, void *arg);

static void send_packet(struct testcall *tc, const uint8_t *payload)
{
	struct media_sstream *st = &tc->c->media->st[0];
	const struct media_endpoint *dest = media_leg_dest(&st->relay.leg[SIDE_B], MEDIA_RTP);
	int fd = st->relay.leg[SIDE_B].fd[MEDIA_RTP];
	uint8_t pkt[12 + TC_PACKET];

	pkt[0] = 0x80;
	pkt[1] = (uint8_t)(tc->prompt.pt | (tc->sent ? 0 : 0x80));	/* marker: talkspurt */
	pkt[2] = (uint8_t)(tc->seq >> 8);
	pkt[3] = (uint8_t)tc->seq;
	for (int i = 0; i < 4; i++) {
		pkt[4 + i] = (uint8_t)(tc->ts >> (24 - 8 * i));
		pkt[8 + i] = (uint8_t)(tc->ssrc >> (24 - 8 * i));
	}
	memcpy(pkt + 12, payload, TC_PACKET);
	if (fd >= 0 && dest &&
	    sendto(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (const struct sockaddr *)&dest->ss,
		   dest->len) < 0)
		LOG(L_DEBUG, "[testcall] send: %s", strerror(errno));
	tc->seq++;
	tc->ts += TC_PACKET;
	tc->sent++;
}

static void on_tick(struct loop *loop, void *arg)
{
	struct testcall *tc = arg;
	struct call *c = tc->c;
	size_t total = (tc->prompt.len + TC_PACKET - 1) / TC_PACKET;
	uint64_t now = loop_now_ms(loop);

	/* Every packet due by now (a late tick catches up), at most a few at once. */
	for (int n = 0; n < 5 && tc->sent < total && now >= tc->start_ms + 20 * tc->sent; n++) {
		uint8_t last[TC_PACKET];
		size_t off = tc->sent * TC_PACKET;

		if (off + TC_PACKET <= tc->prompt.len) {
			send_packet(tc, tc->prompt.data + off);
		} else {
			memset(last, tc->prompt.pt == 0 ? 0xff : 0xd5, sizeof(last));	/* silence */
			memcpy(last, tc->prompt.data + off, tc->prompt.len - off);
			send_packet(tc, last);
		}
	}
	if (tc->sent < total) {
		uint64_t due = tc->start_ms + 20 * tc->sent;

		loop_timer_arm(loop, &tc->tick, due > now ? due - now : 0);
		return;
	}
	LOG(L_INFO, "[testcall] %s: the prompt is over (%zu packets), hanging up", c->callee,
	    tc->sent);
	b2b_send_bye(c, SIDE_B, NULL);
	b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", NULL);
	b2b_end_call(c, "the test call's prompt is over");
}

static void testcall_free(struct call *c)
{
	struct testcall *tc = c->tc;

	wav_free(&tc->prompt);
	free(tc);
	c->tc = NULL;
}

/*
 * The first party hung up while the second one's phone rings: CANCEL its
 * INVITE (RFC 3261 §9.1: the INVITE's Request-URI, top Via, From, To,
 * Call-ID and CSeq number), or it would ring on until someone answers a
 * call that is no longer there.
 */
static void cancel_bridge(struct call *c, struct testcall *tc)
{
	const osip_message_t *inv = sip_txn_request(tc->bridge_txn);
	const struct leg *l = &c->leg[SIDE_A];
	osip_via_t *via = NULL;
	char *vs = NULL, text[4096];
	osip_message_t *m;
	int n;

	if (!inv || osip_message_get_via(inv, 0, &via) < 0 || !via || osip_via_to_str(via, &vs))
		return;
	n = snprintf(text, sizeof(text),
		     "CANCEL %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\nFrom: %s;tag=%s\r\n"
		     "To: %s\r\nCall-ID: %s\r\nCSeq: %u CANCEL\r\nContent-Length: 0\r\n\r\n",
		     tc->bridge_ruri, vs, l->local_uri, l->local_tag, l->remote_uri, l->call_id,
		     l->invite_cseq);
	osip_free(vs);
	if (n >= (int)sizeof(text) || b2b_parse_request(c->s, text, n, sizeof(text), NULL, &m))
		return;
	LOG(L_INFO, "[testcall] %s hung up while %s rang: cancelling", c->callee, c->caller);
	sip_txn_client_new(&c->s->txns, m, &tc->bridge_peer, NULL, NULL, NULL);
}

/* The second party's answer: bridged, or (a failure) the first party let go. */
static void bridge_response(struct sip_txn *t, const osip_message_t *resp, int code, void *arg)
{
	struct call *c = arg;
	struct testcall *tc = c->tc;
	struct leg *l = &c->leg[SIDE_A];
	const char *body;
	char *out = NULL, err[128];
	size_t blen;

	if (code < 200) {
		if (tc && !tc->bridge_ringing) {
			tc->bridge_ringing = true;
			if (tc->ended)
				cancel_bridge(c, tc);
		}
		return;
	}
	if (tc)
		tc->bridge_txn = NULL;
	if (code < 300 && resp) {
		const char *totag = sip_msg_to_tag(resp);

		snprintf(l->remote_tag, TAG_MAX, "%s", totag ? totag : "");
		if (sip_hdr_contact(resp, l->target, URI_MAX))
			snprintf(l->target, URI_MAX, "%s", c->tc ? c->tc->bridge_ruri : "");
		b2b_leg_request(c, SIDE_A, "ACK", l->invite_cseq, NULL, NULL, NULL, NULL, NULL,
				NULL, t);
		if (c->state == CALL_ENDED) {
			b2b_leg_request(c, SIDE_A, "BYE", 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
		} else if (!sip_hdr_has_sdp(resp, &body, &blen) ||
			   media_offer(c->media, SIDE_A, body, blen, &out, err, sizeof(err))) {
			LOG(L_WARN, "[testcall] %s: no usable SDP in the answer", c->caller);
			b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", CDR_FAILED);
			b2b_hangup(c, "SIP;cause=488;text=\"Not Acceptable Here\"",
				   "the second party's SDP was refused");
		} else {
			LOG(L_INFO, "[testcall] %s and %s bridged", c->callee, c->caller);
		}
		free(out);
	} else if (c->state == CALL_UP) {
		LOG(L_INFO, "[testcall] %s did not answer (%d): letting %s go", c->caller, code,
		    c->callee);
		b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", NULL);
		b2b_send_bye(c, SIDE_B, NULL);
		b2b_end_call(c, "the second party did not answer");
	}
	if (c->tc && c->tc->ended)
		testcall_free(c);
	b2b_put(c);
}

/* Click-to-dial: the first party answered; the second is called with its media. */
static void call_bridge(struct call *c, const char *sdp)
{
	struct testcall *tc = c->tc;
	struct leg *l = &c->leg[SIDE_A];
	char text[8192], contact[128];
	osip_message_t *m;
	int n;

	if (!sdp || b2b_our_contact(c->s, &tc->bridge_peer, contact, sizeof(contact)))
		goto out_fail;
	l->peer = tc->bridge_peer;
	n = snprintf(text, sizeof(text),
		     "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 0.0.0.0;branch=z9hG4bK0\r\n"
		     "Max-Forwards: 70\r\nFrom: %s;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\n"
		     "CSeq: %u INVITE\r\nContact: %s\r\nAllow: " SIP_ALLOW "\r\n"
		     "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
		     tc->bridge_ruri, l->local_uri, l->local_tag, l->remote_uri, l->call_id,
		     l->invite_cseq, contact, strlen(sdp), sdp);
	if (n >= (int)sizeof(text) || b2b_parse_request(c->s, text, n, sizeof(text), &l->peer, &m))
		goto out_fail;
	if (sip_txn_client_new(&c->s->txns, m, &l->peer, bridge_response, c, &tc->bridge_txn))
		goto out_fail;
	c->refs++;
	LOG(L_INFO, "[testcall] %s answered: calling %s", c->callee, c->caller);
	return;

out_fail:
	b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", CDR_FAILED);
	b2b_send_bye(c, SIDE_B, NULL);
	b2b_end_call(c, "the second party could not be called");
}

static void testcall_answered(struct call *c, const char *sdp)
{
	struct testcall *tc = c->tc;

	if (tc->bridge[0]) {
		call_bridge(c, sdp);
		return;
	}
	tc->start_ms = loop_now_ms(c->s->loop);
	loop_timer_arm(c->s->loop, &tc->tick, 0);
}

static void testcall_end(struct call *c)
{
	struct testcall *tc = c->tc;

	if (!tc || tc->ended)
		return;
	loop_timer_cancel(c->s->loop, &tc->tick);
	if (tc->bridge_txn) {
		/* The second party is being called: kept for its final response. */
		tc->ended = true;
		if (tc->bridge_ringing)
			cancel_bridge(c, tc);
		return;
	}
	testcall_free(c);
}

static const struct b2b_origin_ops testcall_origin = {
	.answered = testcall_answered,
	.end = testcall_end,
};

static void on_media_dead(struct media_session *ms, void *owner)
{
	struct call *c = owner;

	(void)ms;
	if (c->state != CALL_UP)
		return;
	b2b_cdr_why(c, CDR_CLOSE_MEDIA, "system", NULL);
	b2b_hangup(c, "SIP;cause=408;text=\"Media timeout\"", "media timeout");
}

/*
 * The player's offer: sendonly, in the prompt's law, from the relay's
 * address. Click-to-dial's: G.711 either law, from nowhere yet (c=0.0.0.0,
 * on hold as the relay sees it: nothing of the first party's goes out
 * until the second party's answer says where).
 */
static int player_offer(struct call *c, struct testcall *tc, char *err, size_t errlen)
{
	const struct media_plane *pl = &c->s->media->plane[0];
	char fam = pl->family == AF_INET6 ? '6' : '4', sdp[512], *out = NULL;
	int n, rc;

	if (tc->bridge[0])
		n = snprintf(sdp, sizeof(sdp),
			     "v=0\r\no=sluice 1 1 IN IP%c %s\r\ns=click to dial\r\n"
			     "c=IN IP%c %s\r\nt=0 0\r\nm=audio 9 RTP/AVP 8 0\r\n"
			     "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n", fam, pl->addr,
			     fam, fam == '6' ? "::" : "0.0.0.0");
	else
		n = snprintf(sdp, sizeof(sdp),
			     "v=0\r\no=sluice 1 1 IN IP%c %s\r\ns=test call\r\n"
			     "c=IN IP%c %s\r\nt=0 0\r\nm=audio 9 RTP/AVP %d\r\n"
			     "a=rtpmap:%d %s/8000\r\na=sendonly\r\n", fam, pl->addr, fam, pl->addr,
			     tc->prompt.pt, tc->prompt.pt, tc->prompt.pt ? "PCMA" : "PCMU");
	rc = media_offer(c->media, SIDE_A, sdp, (size_t)n, &out, err, errlen);
	if (!rc)
		c->leg[SIDE_B].sdp = out;
	return rc;
}

static struct cdr_rec *testcall_cdr(struct call *c, const char *user)
{
	struct sip_server *s = c->s;
	const char *bridge = c->tc->bridge;
	struct cdr_rec *r;

	if (!s->cdr || !(r = calloc(1, sizeof(*r))))
		return NULL;
	cdr_rec_init(r, s->cdr, CDR_TYPE_CALL, cdr_now_ms());
	r->test_call = true;
	snprintf(r->a_call_id, sizeof(r->a_call_id), "%s", c->leg[SIDE_A].call_id);
	snprintf(r->b_call_id, sizeof(r->b_call_id), "%s", c->leg[SIDE_B].call_id);
	/* Click-to-dial: the first party is the callee here, the second the caller. */
	if (bridge[0])
		snprintf(r->caller_uri, sizeof(r->caller_uri), "%s", bridge);
	else
		snprintf(r->caller_uri, sizeof(r->caller_uri), "sip:testcall@%.200s",
			 s->conf->sip_domain);
	snprintf(r->caller_number, sizeof(r->caller_number), "%.*s",
		 bridge[0] ? (int)strcspn(bridge + 4, "@") : 8, bridge[0] ? bridge + 4 : "testcall");
	snprintf(r->callee_uri, sizeof(r->callee_uri), "%s", c->callee);
	snprintf(r->callee_number, sizeof(r->callee_number), "%s", user);
	snprintf(r->datapath, sizeof(r->datapath), "%s",
		 s->media->dp ? s->media->dp->ops->name : "user");	/* "user" at the end if never offloaded */
	return r;
}

/* The legs' identities: A is sluiced's player, B our dialog to the callee. */
static void testcall_legs(struct call *c, const char *aor)
{
	struct sip_server *s = c->s;
	struct b2bua *bb = s->b2b;

	random_token(s, bb, c->leg[SIDE_A].call_id, CALLID_MAX);
	strcat(c->leg[SIDE_A].call_id, "@testcall");
	random_token(s, bb, c->leg[SIDE_A].local_tag, TAG_MAX);
	random_token(s, bb, c->leg[SIDE_B].call_id, CALLID_MAX);
	strcat(c->leg[SIDE_B].call_id, "@sluice");
	random_token(s, bb, c->leg[SIDE_B].local_tag, TAG_MAX);
	snprintf(c->leg[SIDE_B].local_uri, NAME_ADDR_MAX, "\"Test call\" <sip:testcall@%.200s>",
		 s->conf->sip_domain);
	snprintf(c->leg[SIDE_B].remote_uri, NAME_ADDR_MAX, "<%s>", aor);
	c->leg[SIDE_B].invite_cseq = c->leg[SIDE_B].cseq = 1;
	snprintf(c->leg[SIDE_A].local_uri, NAME_ADDR_MAX, "%s", c->leg[SIDE_B].local_uri);
	snprintf(c->leg[SIDE_A].remote_uri, NAME_ADDR_MAX, "<%s>",
		 c->tc->bridge[0] ? c->tc->bridge : aor);
	c->leg[SIDE_A].invite_cseq = c->leg[SIDE_A].cseq = 1;
	snprintf(c->caller, sizeof(c->caller), "%s", c->tc->bridge[0] ? c->tc->bridge : "testcall");
	snprintf(c->callee, sizeof(c->callee), "%s", aor);
}

/* rc, with why in err. */
static int fail(char *err, size_t n, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t n, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return rc;
}

static bool is_subscriber(struct sip_server *s, const char *aor)
{
	struct subscriber sub;

	return !s->store || !subscriber_get_by_impu(s->store, aor, &sub);
}

/* The first live binding of user's AoR into aor, ruri and peer; -ENOENT. */
static int bound(struct sip_server *s, const char *user, char *aor, size_t n, char *ruri,
		 struct sip_peer *peer, const struct reg_aor **out, char *err, size_t errlen)
{
	const struct reg_aor *a;

	if (strlen(user) > 64 || (size_t)snprintf(aor, n, "sip:%.64s@%.120s", user,
						  s->conf->sip_domain) >= n)
		return fail(err, errlen, -EINVAL, "too long a user name");
	a = registrar_lookup(&s->reg, aor, s->now());
	for (const struct reg_binding *rb = a ? a->bindings : NULL; rb; rb = rb->next) {
		if (rb->b.expires <= s->now())
			continue;
		if (ruri)
			snprintf(ruri, URI_MAX, "%s", rb->b.contact);
		if (peer)
			*peer = rb->peer;
		*out = a;
		return 0;
	}
	return fail(err, errlen, -ENOENT, "%s is not registered", aor);
}

int b2bua_testcall(struct sip_server *s, const char *user, const char *bridge,
		   const char *prompt, const char *op, char *call_id, size_t n, char *err,
		   size_t errlen)
{
	uint64_t now = loop_now_ms(s->loop);
	const struct reg_aor *a = NULL;
	struct target trunk;
	struct testcall *tc;
	char aor[SUB_IMPU_MAX];
	struct call *c;
	int rc;

	if (!s->b2b || !s->media)
		return fail(err, errlen, -ENOTSUP, "no B2BUA or no media relay");
	if (!rate_ok(s, now))
		return fail(err, errlen, -EBUSY, "more than %u test calls a minute ([testcall] rate)",
			    s->conf->testcall_rate);
	memset(&trunk, 0, sizeof(trunk));
	rc = bound(s, user, aor, sizeof(aor), NULL, NULL, &a, err, errlen);
	if (rc == -ENOENT && !is_subscriber(s, aor) && !b2b_trunk_target(s, user, &trunk)) {
		snprintf(aor, sizeof(aor), "%s", trunk.aor);	/* a number: the trunk's */
		rc = 0;
	}
	if (rc)
		return rc;
	tc = calloc(1, sizeof(*tc));
	if (!tc)
		return -ENOMEM;
	if (bridge && bridge[0]) {
		const struct reg_aor *b;

		rc = bound(s, bridge, tc->bridge, sizeof(tc->bridge), tc->bridge_ruri,
			   &tc->bridge_peer, &b, err, errlen);
	} else {
		rc = wav_load(s->conf->testcall_prompts, prompt, &tc->prompt, err, errlen);
	}
	if (rc || !(c = b2b_new_call(s))) {
		free(tc);
		return rc ? rc : -ENOMEM;
	}
	tc->c = c;
	c->tc = tc;
	c->origin = &testcall_origin;
	c->winner = -1;
	c->best = 699;
	snprintf(tc->op, sizeof(tc->op), "%s", op);
	loop_timer_init(&tc->tick, on_tick, tc);
	if (getrandom(&tc->ssrc, sizeof(tc->ssrc), GRND_NONBLOCK) != sizeof(tc->ssrc))
		tc->ssrc = (uint32_t)now;
	testcall_legs(c, aor);
	c->media = media_session_new(s->media, c->leg[SIDE_A].call_id, on_media_dead, c);
	if (!c->media || player_offer(c, tc, err, errlen)) {
		if (c->media)
			media_session_destroy(c->media);
		testcall_end(c);
		free(c);
		return -EADDRNOTAVAIL;
	}
	b2b_link_call(s->b2b, c);
	c->cdr = testcall_cdr(c, user);
	if (trunk.trunk) {
		struct sip_peer tp = b2b_trunk_peer(s);

		c->leg[SIDE_B].trunk = true;
		snprintf(c->leg[SIDE_B].remote_uri, NAME_ADDR_MAX, "%s", trunk.to);
		b2b_start_branch(c, trunk.ruri, &tp, 70);
	}
	for (const struct reg_binding *rb = a ? a->bindings : NULL; rb && c->nbr < REG_MAX_CONTACTS;
	     rb = rb->next)
		if (rb->b.expires > s->now())
			b2b_start_branch(c, rb->b.contact, &rb->peer, 70);
	if (!c->nbr) {
		snprintf(err, errlen, "no binding of %s reachable", aor);
		b2b_cdr_why(c, CDR_CLOSE_NORMAL, "system", CDR_FAILED);
		b2b_end_call(c, "no binding reachable");
		return -EHOSTUNREACH;
	}
	s->b2b->tc_starts[s->b2b->tc_nstarts++ % B2B_TESTCALL_STARTS] = now;
	snprintf(call_id, n, "%s", c->leg[SIDE_A].call_id);
	if (tc->bridge[0])
		LOG(L_INFO, "[testcall] %s connects %s to %s (click-to-dial)", op, aor, tc->bridge);
	else
		LOG(L_INFO, "[testcall] %s calls %s with %s (%zu ms)", op, aor, prompt,
		    tc->prompt.len / 8);
	loop_timer_arm(s->loop, &c->ring, 1000ull * s->conf->sip_ring_timeout);
	return 0;
}
