// SPDX-License-Identifier: GPL-2.0-only
/*
 * A call and its two legs (see b2bua_int.h): the table that finds a call
 * by either leg's Call-ID and tags, the references that keep it while
 * transactions still hold it, the requests we send on a leg (From us, To
 * the peer, our CSeq; a trunk's challenge answered once), the ACK held
 * back until the other side's ACK brings the answer, BYE, and the end of
 * a call: its record closed, its media released, out of the table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_parser.h>

#include "core/log.h"
#include "media/session.h"
#include "sip/b2bua_int.h"
#include "sip/hdr.h"

static unsigned bucket(const struct sip_server *s, const char *id)
{
	return (unsigned)sip_hash_buf(&s->tag_key, id, strlen(id)) & (CALL_BUCKETS - 1);
}

/*
 * <sip:HOST:PORT> of ours towards to, with ;transport=tcp, tls, ws or wss
 * on a stream: the listener's port of that transport, so that a phone that
 * opens a connection anew reaches the same kind of listener.
 */
int b2b_our_contact(struct sip_server *s, const struct sip_peer *to, char *out, size_t n)
{
	static const char *const param[SIP_NPROTO] = { "", ";transport=tcp", ";transport=tls",
							";transport=ws", ";transport=wss" };
	char host[64];
	uint16_t port;

	if (sip_srv_local_for(s, to, host, sizeof(host), &port))
		return -EADDRNOTAVAIL;
	snprintf(out, n, "<sip:%s:%u%s>", host, port, to->proto < SIP_NPROTO ? param[to->proto] : "");
	return 0;
}

void b2b_set_leg_sdp(struct leg *l, const char *sdp)
{
	char *copy;

	if (!sdp || !(copy = strdup(sdp)))
		return;
	free(l->sdp);
	l->sdp = copy;
}

/* ---- the call table ---- */

struct call *b2b_find_a(struct sip_server *s, const char *id)
{
	for (struct call *c = s->b2b->a_buckets[bucket(s, id)]; c; c = c->next_a)
		if (!strcmp(c->leg[SIDE_A].call_id, id))
			return c;
	return NULL;
}

struct call *b2b_find_b(struct sip_server *s, const char *id)
{
	for (struct call *c = s->b2b->b_buckets[bucket(s, id)]; c; c = c->next_b)
		if (!strcmp(c->leg[SIDE_B].call_id, id))
			return c;
	return NULL;
}

/* The call whose dialog req is in, and which side sent it. */
struct call *b2b_dialog_of(struct sip_server *s, const osip_message_t *req, int *from)
{
	const char *totag = sip_msg_to_tag(req), *fromtag = sip_msg_from_tag(req);
	char id[CALLID_MAX];
	struct call *c;

	if (!s->b2b || !totag || !fromtag)
		return NULL;
	sip_hdr_call_id(req, id, sizeof(id));
	if ((c = b2b_find_a(s, id)) && !strcmp(c->leg[SIDE_A].local_tag, totag) &&
	    !strcmp(c->leg[SIDE_A].remote_tag, fromtag)) {
		*from = SIDE_A;
		return c;
	}
	if ((c = b2b_find_b(s, id)) && !strcmp(c->leg[SIDE_B].local_tag, totag) &&
	    !strcmp(c->leg[SIDE_B].remote_tag, fromtag)) {
		*from = SIDE_B;
		return c;
	}
	return NULL;
}

void b2b_link_call(struct b2bua *bb, struct call *c)
{
	struct sip_server *s = c->s;

	c->next_a = bb->a_buckets[bucket(s, c->leg[SIDE_A].call_id)];
	bb->a_buckets[bucket(s, c->leg[SIDE_A].call_id)] = c;
	c->next_b = bb->b_buckets[bucket(s, c->leg[SIDE_B].call_id)];
	bb->b_buckets[bucket(s, c->leg[SIDE_B].call_id)] = c;
	c->all_next = bb->all;
	if (bb->all)
		bb->all->all_prev = c;
	bb->all = c;
	bb->ncalls++;
	bb->nstate[c->state]++;
	c->linked = true;
}

void b2b_set_state(struct call *c, enum call_state state)
{
	if (c->linked) {
		c->s->b2b->nstate[c->state]--;
		c->s->b2b->nstate[state]++;
	}
	c->state = state;
}

static void unlink_call(struct call *c)
{
	struct b2bua *b = c->s->b2b;
	struct call **pp;

	for (pp = &b->a_buckets[bucket(c->s, c->leg[SIDE_A].call_id)]; *pp; pp = &(*pp)->next_a)
		if (*pp == c) {
			*pp = c->next_a;
			break;
		}
	for (pp = &b->b_buckets[bucket(c->s, c->leg[SIDE_B].call_id)]; *pp; pp = &(*pp)->next_b)
		if (*pp == c) {
			*pp = c->next_b;
			break;
		}
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		b->all = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	b->ncalls--;
	b->nstate[c->state]--;
	c->linked = false;
}

void *b2b_aux_new(struct call *c, size_t size)
{
	struct aux *a = calloc(1, size);

	if (!a)
		return NULL;
	a->owner = c;
	a->next = c->aux;
	if (c->aux)
		c->aux->prev = a;
	c->aux = a;
	return a;
}

void b2b_aux_free(void *p)
{
	struct aux *a = p;

	if (a->prev)
		a->prev->next = a->next;
	else
		a->owner->aux = a->next;
	if (a->next)
		a->next->prev = a->prev;
	free(a);
}

void b2b_free_call(struct call *c)
{
	while (c->aux)
		b2b_aux_free(c->aux);
	if (c->origin)
		c->origin->end(c);
	free(c->leg[SIDE_A].sdp);
	free(c->leg[SIDE_B].sdp);
	free(c->rel_text);
	free(c->held_reason);
	free(c->held_sdp);
	free(c->cdr);
	free(c);
}

/* Off the held list (the ended calls transactions still hold). */
void b2b_unhold(struct call *c)
{
	struct b2bua *b = c->s->b2b;

	if (!c->held)
		return;
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		b->held = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	c->held = false;
}

void b2b_put(struct call *c)
{
	if (--c->refs)
		return;
	b2b_unhold(c);
	b2b_free_call(c);
}

/*
 * The request we printed into text (n as snprintf returned for size bytes)
 * parsed; with to, its Via replaced by ours towards to. 0, -ENOMEM (did
 * not fit) or -EINVAL.
 */
int b2b_parse_request(struct sip_server *s, const char *text, int n, size_t size,
		      const struct sip_peer *to, osip_message_t **out)
{
	osip_message_t *m;

	if (n < 0 || (size_t)n >= size || osip_message_init(&m))
		return -ENOMEM;
	if (osip_message_parse(m, text, (size_t)n) || (to && sip_srv_set_top_via(s, m, to))) {
		osip_message_free(m);
		return -EINVAL;
	}
	if (to)
		osip_message_force_update(m);
	*out = m;
	return 0;
}

/* ---- requests we make ---- */

/* A request to the trunk, kept to be sent again with credentials. */
struct outreq {
	struct aux	aux;
	struct call	*call;
	int		leg;
	bool		retried;
	char		method[16];
	char		*extra, *sdp, *ctype, *body;
	sip_txn_resp_fn	fn;
	void		*arg;
};

static void outreq_free(struct outreq *o)
{
	free(o->extra);
	free(o->sdp);
	free(o->ctype);
	free(o->body);
	b2b_aux_free(o);
}

static void out_response(struct sip_txn *t, const osip_message_t *resp, int code, void *arg)
{
	struct outreq *o = arg;
	struct call *c = o->call;

	if (code >= 200 && (code == 401 || code == 407) && resp && !o->retried &&
	    c->state != CALL_ENDED) {
		char auth[1200];

		o->retried = true;
		if (!b2b_trunk_credentials(c->s, resp, o->method, c->leg[o->leg].target, auth,
					   sizeof(auth)) &&
		    !b2b_leg_request_raw(c, o->leg, o->method, 0, o->extra, auth, o->sdp, o->ctype,
					 o->body, out_response, o, NULL))
			return;
	}
	if (o->fn)
		o->fn(t, resp, code, o->arg);
	if (code >= 200) {
		outreq_free(o);
		b2b_put(c);
	}
}

int b2b_leg_request_raw(struct call *c, int L, const char *method, uint32_t cseq,
			const char *extra, const char *auth, const char *sdp,
			const char *ctype, const char *body, sip_txn_resp_fn fn, void *arg,
			struct sip_txn *ack_of)
{
	struct sip_server *s = c->s;
	struct leg *l = &c->leg[L];
	bool ack = !strcmp(method, "ACK");
	char text[8192], contact[128], via[SIP_VIA_MAX];
	size_t blen = sdp ? strlen(sdp) : body ? strlen(body) : 0;
	int n;

	if (c->tc && L == SIDE_A && !c->leg[SIDE_A].remote_tag[0])
		return -ENOTCONN;	/* sluiced's player, or the second party not there yet */
	if (b2b_our_contact(s, &l->peer, contact, sizeof(contact)) ||
	    sip_srv_via_for(s, &l->peer, via, sizeof(via)))
		return -EADDRNOTAVAIL;
	if (!ack)
		cseq = ++l->cseq;
	/* Printed once with our Via, sent as it is. */
	n = snprintf(text, sizeof(text),
		     "%s %s SIP/2.0\r\n"
		     "Via: %s\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: %s;tag=%s\r\n"
		     "To: %s;tag=%s\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %u %s\r\n"
		     "Contact: %s\r\n"
		     "%s%s"
		     "%s%s%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     method, l->target, via, l->local_uri, l->local_tag, l->remote_uri,
		     l->remote_tag, l->call_id, cseq, method, contact, extra ? extra : "",
		     auth ? auth : "", blen ? "Content-Type: " : "",
		     blen ? (sdp ? "application/sdp" : ctype) : "", blen ? "\r\n" : "", blen,
		     sdp ? sdp : body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(text))
		return -ENOMEM;
	if (ack) {
		s->send(s->send_arg, &l->peer, text, (size_t)n);
		/* The INVITE's transaction resends it for 2xx retransmissions. */
		if (ack_of)
			sip_txn_set_ack(ack_of, text, (size_t)n);
		return 0;
	}
	/* Not parsed: the transaction takes its method and branch from the text. */
	return sip_txn_client_new_raw(&s->txns, NULL, text, (size_t)n, &l->peer, fn, arg, NULL);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int b2b_leg_request(struct call *c, int L, const char *method, uint32_t cseq,
		    const char *extra, const char *sdp, const char *ctype, const char *body,
		    sip_txn_resp_fn fn, void *arg, struct sip_txn *ack_of)
{
	struct outreq *o;
	int err;

	/* An INVITE without an offer may have its ACK held back: no second try. */
	if (!c->leg[L].trunk || !c->s->conf->trunk_username[0] || !strcmp(method, "ACK") ||
	    (!strcmp(method, "INVITE") && !sdp))
		return b2b_leg_request_raw(c, L, method, cseq, extra, NULL, sdp, ctype, body, fn,
					   arg, ack_of);
	o = b2b_aux_new(c, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->call = c;
	o->leg = L;
	snprintf(o->method, sizeof(o->method), "%s", method);
	o->extra = dup_or_null(extra);
	o->sdp = dup_or_null(sdp);
	o->ctype = dup_or_null(ctype);
	o->body = dup_or_null(body);
	o->fn = fn;
	o->arg = arg;
	err = b2b_leg_request_raw(c, L, method, cseq, extra, NULL, sdp, ctype, body, out_response,
				  o, NULL);
	if (err)
		outreq_free(o);
	else
		c->refs++;
	return err;
}

/* Sends the ACK held back for an offer in a 2xx, with the answer (or none). */
void b2b_flush_ack(struct call *c, const char *sdp)
{
	struct sip_txn *t = c->ack_txn;

	if (!t)
		return;
	c->ack_txn = NULL;
	loop_timer_cancel(c->s->loop, &c->ack_timer);
	b2b_leg_request(c, c->ack_leg, "ACK", c->ack_cseq, NULL, sdp, NULL, NULL, NULL, NULL, t);
	b2b_set_leg_sdp(&c->leg[c->ack_leg], sdp);
	c->offer_pending = false;
	if (c->ack_relay)
		b2b_aux_free(c->ack_relay);
	c->ack_relay = NULL;
	b2b_put(c);
}

void b2b_on_ack_timeout(struct loop *loop, void *arg)
{
	struct call *c = arg;

	(void)loop;
	LOG(L_INFO, "[call] %s -> %s: no ACK with the answer", c->caller, c->callee);
	b2b_hangup(c, "SIP;cause=408;text=\"No ACK\"", "no answer to the offer");
}

void b2b_send_bye(struct call *c, int L, const char *reason)
{
	char extra[128] = "";

	if (c->ack_txn && c->ack_leg == L)
		b2b_flush_ack(c, NULL);	/* its 2xx is ACKed before the BYE */
	if (reason)
		snprintf(extra, sizeof(extra), "Reason: %s\r\n", reason);
	b2b_leg_request(c, L, "BYE", 0, extra, NULL, NULL, NULL, NULL, NULL, NULL);
}

/* ---- the end ---- */

/* The call is over: media released, out of the tables; freed with its last transaction. */
void b2b_end_call(struct call *c, const char *why)
{
	if (c->state == CALL_ENDED)
		return;
	LOG(L_INFO, "[call] %s -> %s ended: %s", c->caller, c->callee, why);
	if (!c->kept)
		b2b_cdr_end(c);
	b2b_flush_ack(c, NULL);	/* its reference is not the last: the table's is */
	b2b_set_state(c, CALL_ENDED);
	loop_timer_cancel(c->s->loop, &c->ring);
	loop_timer_cancel(c->s->loop, &c->rel_timer);
	loop_timer_cancel(c->s->loop, &c->leg[SIDE_A].se_timer);
	loop_timer_cancel(c->s->loop, &c->leg[SIDE_B].se_timer);
	if (c->origin)
		c->origin->end(c);
	if (c->media)
		media_session_destroy(c->media);
	c->media = NULL;
	if (c->st)
		sip_txn_set_end(c->st, NULL, NULL);
	c->st = NULL;
	unlink_call(c);
	if (c->refs > 1) {
		struct b2bua *b = c->s->b2b;

		c->held = true;
		c->all_prev = NULL;
		c->all_next = b->held;
		if (b->held)
			b->held->all_prev = c;
		b->held = c;
	}
	b2b_put(c);		/* the table's */
}

/* BYE with reason to both legs, and the end. */
void b2b_hangup(struct call *c, const char *reason, const char *why)
{
	b2b_send_bye(c, SIDE_A, reason);
	b2b_send_bye(c, SIDE_B, reason);
	b2b_end_call(c, why);
}
