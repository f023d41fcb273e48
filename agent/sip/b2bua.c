// SPDX-License-Identifier: GPL-2.0-only
/*
 * The B2BUA (see b2bua.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <osipparser2/osip_parser.h>

#include "core/log.h"
#include "media/session.h"
#include "sip/b2bua.h"

#define CALL_BUCKETS	8192	/* power of two */
#define URI_MAX		512
#define NAME_ADDR_MAX	640
#define CALLID_MAX	256
#define TAG_MAX		80
#define SIDE_A		0
#define SIDE_B		1

enum call_state {
	CALL_TRYING = 0,	/* INVITE sent to the branches */
	CALL_EARLY,		/* a provisional went to the caller */
	CALL_UP,		/* 2xx sent to the caller */
	CALL_ENDED,
};

/* One side's dialog, as we see it. */
struct leg {
	char		call_id[CALLID_MAX];
	char		local_tag[TAG_MAX];
	char		remote_tag[TAG_MAX];
	char		local_uri[NAME_ADDR_MAX];	/* name-addr, no tag */
	char		remote_uri[NAME_ADDR_MAX];
	char		target[URI_MAX];		/* the peer's Contact */
	struct sip_peer	peer;				/* where its requests go */
	uint32_t	cseq;				/* our last CSeq on this leg */
	uint32_t	invite_cseq;			/* of the INVITE that made it */
};

struct call;

/* One INVITE of the fork, to one binding of the callee. */
struct branch {
	struct call	*call;
	bool		live;		/* its INVITE transaction runs */
	bool		ringing;	/* a provisional came: CANCEL may go */
	bool		cancel;		/* CANCEL it once it rings */
	char		ruri[URI_MAX];
	char		via[256];	/* the INVITE's Via, for its CANCEL */
	struct sip_peer	peer;
};

/* An in-dialog request on its way to the other leg. */
struct relay {
	struct call	*call;
	struct sip_txn	*st;		/* the origin's server transaction */
	int		from;		/* SIDE_A or SIDE_B */
	bool		invite;
	bool		sdp;		/* the request carried an offer */
};

struct call {
	struct sip_server	*s;
	struct call		*next_a, *next_b;	/* by A's and B's Call-ID */
	struct call		*all_next, *all_prev;
	unsigned		refs;
	enum call_state		state;
	struct leg		leg[2];
	struct sip_txn		*st;		/* the caller's INVITE, until its final */
	struct branch		br[REG_MAX_CONTACTS];
	int			nbr;
	int			pending;	/* branches still running */
	int			best;		/* lowest final status of the failed ones */
	int			winner;		/* the branch that answered, -1 */
	bool			offer_pending;	/* a re-INVITE/UPDATE in flight */
	struct media_session	*media;
	struct loop_timer	ring;
	char			caller[SUB_IMPU_MAX];
	char			callee[SUB_IMPU_MAX];
};

struct b2bua {
	struct call	*a_buckets[CALL_BUCKETS];
	struct call	*b_buckets[CALL_BUCKETS];
	struct call	*all;
	unsigned	ncalls;
	uint64_t	seq;
};

/* ---- small helpers ---- */

static unsigned bucket(const struct sip_server *s, const char *id)
{
	return (unsigned)sip_hash_buf(&s->tag_key, id, strlen(id)) & (CALL_BUCKETS - 1);
}

static void callid_of(const osip_message_t *m, char *out, size_t n)
{
	if (m->call_id && m->call_id->host)
		snprintf(out, n, "%s@%s", m->call_id->number, m->call_id->host);
	else
		snprintf(out, n, "%s", m->call_id && m->call_id->number ? m->call_id->number : "");
}

/* "Name" <uri> of a From or To, without its tag. */
static int name_addr(const osip_from_t *f, char *out, size_t n)
{
	char *uri = NULL;
	int len;

	if (!f || !f->url || osip_uri_to_str(f->url, &uri))
		return -EINVAL;
	if (f->displayname && *f->displayname)
		len = snprintf(out, n, "%s <%s>", f->displayname, uri);
	else
		len = snprintf(out, n, "<%s>", uri);
	osip_free(uri);
	return len >= (int)n ? -ENAMETOOLONG : 0;
}

static int contact_of(const osip_message_t *m, char *out, size_t n)
{
	osip_contact_t *c;
	char *uri = NULL;
	int len;

	if (osip_message_get_contact(m, 0, &c) < 0 || !c->url || osip_uri_to_str(c->url, &uri))
		return -ENOENT;
	len = snprintf(out, n, "%s", uri);
	osip_free(uri);
	return len >= (int)n ? -ENAMETOOLONG : 0;
}

/* <sip:HOST:PORT> of ours towards to. */
static int our_contact(struct sip_server *s, const struct sip_peer *to, char *out, size_t n)
{
	char host[64];
	uint16_t port;

	if (sip_srv_local_for(s, to, host, sizeof(host), &port))
		return -EADDRNOTAVAIL;
	snprintf(out, n, "<sip:%s:%u%s>", host, port, to->proto == SIP_TCP ? ";transport=tcp" : "");
	return 0;
}

static bool has_sdp(const osip_message_t *m, const char **body, size_t *len)
{
	osip_body_t *b = osip_list_get(&m->bodies, 0);

	if (!b || !b->body || !b->length || !m->content_type || !m->content_type->type ||
	    strcasecmp(m->content_type->type, "application") ||
	    !m->content_type->subtype || strcasecmp(m->content_type->subtype, "sdp"))
		return false;
	*body = b->body;
	*len = b->length;
	return true;
}

static void set_body(osip_message_t *m, const char *sdp)
{
	char len[24];

	if (!sdp)
		return;
	osip_message_set_body(m, sdp, strlen(sdp));
	osip_message_set_content_type(m, "application/sdp");
	osip_content_length_free(m->content_length);
	m->content_length = NULL;
	snprintf(len, sizeof(len), "%zu", strlen(sdp));
	osip_message_set_content_length(m, len);
}

static void random_token(struct sip_server *s, struct b2bua *b, char *out, size_t n)
{
	uint64_t seq = ++b->seq, t = (uint64_t)time(NULL);
	uint64_t x = sip_hash_buf(&s->tag_key, &seq, sizeof(seq)) ^ (t << 20);

	snprintf(out, n, "%016llx", (unsigned long long)x);
}

/* ---- the call table ---- */

static struct call *find_a(struct sip_server *s, const char *id)
{
	for (struct call *c = s->b2b->a_buckets[bucket(s, id)]; c; c = c->next_a)
		if (!strcmp(c->leg[SIDE_A].call_id, id))
			return c;
	return NULL;
}

static struct call *find_b(struct sip_server *s, const char *id)
{
	for (struct call *c = s->b2b->b_buckets[bucket(s, id)]; c; c = c->next_b)
		if (!strcmp(c->leg[SIDE_B].call_id, id))
			return c;
	return NULL;
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
}

static void put(struct call *c)
{
	if (--c->refs)
		return;
	free(c);
}

/* The call is over: media released, out of the tables; freed with its last transaction. */
static void end_call(struct call *c, const char *why)
{
	if (c->state == CALL_ENDED)
		return;
	LOG(L_INFO, "[sip] call %s -> %s ended: %s", c->caller, c->callee, why);
	c->state = CALL_ENDED;
	loop_timer_cancel(c->s->loop, &c->ring);
	if (c->media)
		media_session_destroy(c->media);
	c->media = NULL;
	if (c->st)
		sip_txn_set_end(c->st, NULL, NULL);
	c->st = NULL;
	unlink_call(c);
	put(c);
}

/* ---- requests we make ---- */

/*
 * A request on leg L of c (a BYE, a relayed re-INVITE, an ACK): From us,
 * To the peer, CSeq next (or cseq for an ACK). fn NULL and ack: sent once
 * without a transaction.
 */
static int leg_request(struct call *c, int L, const char *method, uint32_t cseq,
		       const char *extra, const char *sdp, const char *ctype, const char *body,
		       sip_txn_resp_fn fn, void *arg, struct sip_txn *ack_of)
{
	struct sip_server *s = c->s;
	struct leg *l = &c->leg[L];
	bool ack = !strcmp(method, "ACK");
	char text[8192], contact[128];
	osip_message_t *m;
	size_t blen = sdp ? strlen(sdp) : body ? strlen(body) : 0;
	int n, err;

	if (our_contact(s, &l->peer, contact, sizeof(contact)))
		return -EADDRNOTAVAIL;
	if (!ack)
		cseq = ++l->cseq;
	n = snprintf(text, sizeof(text),
		     "%s %s SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 0.0.0.0;branch=z9hG4bK0\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: %s;tag=%s\r\n"
		     "To: %s;tag=%s\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %u %s\r\n"
		     "Contact: %s\r\n"
		     "%s"
		     "%s%s%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     method, l->target, l->local_uri, l->local_tag, l->remote_uri, l->remote_tag,
		     l->call_id, cseq, method, contact, extra ? extra : "",
		     blen ? "Content-Type: " : "", blen ? (sdp ? "application/sdp" : ctype) : "",
		     blen ? "\r\n" : "", blen, sdp ? sdp : body ? body : "");
	if (n >= (int)sizeof(text) || osip_message_init(&m))
		return -ENOMEM;
	if (osip_message_parse(m, text, (size_t)n) || sip_srv_set_top_via(s, m, &l->peer)) {
		osip_message_free(m);
		return -EINVAL;
	}
	osip_message_force_update(m);
	if (ack) {
		char *out;
		size_t len;

		err = sip_msg_print(m, &out, &len);
		if (!err) {
			s->send(s->send_arg, &l->peer, out, len);
			/* The INVITE's transaction resends it for 2xx retransmissions. */
			if (ack_of)
				sip_txn_set_ack(ack_of, out, len);
			osip_free(out);
		}
		osip_message_free(m);
		return err;
	}
	return sip_txn_client_new(&s->txns, m, &l->peer, fn, arg, NULL);
}

static void send_bye(struct call *c, int L, const char *reason)
{
	char extra[128] = "";

	if (reason)
		snprintf(extra, sizeof(extra), "Reason: %s\r\n", reason);
	leg_request(c, L, "BYE", 0, extra, NULL, NULL, NULL, NULL, NULL, NULL);
}

/* CANCEL of one branch's INVITE (RFC 3261 §9.1): its Via, Call-ID, From, To and CSeq. */
static void cancel_branch(struct call *c, struct branch *b)
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
	if (n >= (int)sizeof(text) || osip_message_init(&m))
		return;
	if (osip_message_parse(m, text, (size_t)n)) {
		osip_message_free(m);
		return;
	}
	sip_txn_client_new(&s->txns, m, &b->peer, NULL, NULL, NULL);
}

/* ---- answers to the caller ---- */

static void to_caller(struct call *c, int code, const char *reason, const char *sdp)
{
	struct sip_server *s = c->s;
	struct rx r = { 0 };
	osip_message_t *resp;
	char contact[128];

	if (!c->st)
		return;
	r.req = (osip_message_t *)sip_txn_request(c->st);
	r.from = sip_txn_peer(c->st);
	r.t = c->st;
	if (!r.req)
		return;
	resp = sip_srv_response(s, &r, code, reason);
	if (!resp)
		return;
	if (code > 100 && code < 300 && !our_contact(s, r.from, contact, sizeof(contact)))
		osip_message_set_contact(resp, contact);
	if (code >= 200 && code < 300)
		osip_message_set_header(resp, "Allow", SIP_ALLOW);
	set_body(resp, sdp);
	if (code >= 200) {
		sip_txn_set_end(c->st, NULL, NULL);
		c->st = NULL;	/* the transaction's from here on */
	}
	sip_txn_reply(r.t, resp);
}

/* ---- the fork ---- */

static void fail_call(struct call *c)
{
	int code = c->best;

	/* Timeouts and transport errors: the callee is unavailable. */
	if (code == 408 || code == 503 || code >= 699)
		code = 480;
	to_caller(c, code, NULL, NULL);
	end_call(c, "no branch answered");
}

static void branch_response(struct sip_txn *t, const osip_message_t *resp, int code, void *arg)
{
	struct branch *b = arg;
	struct call *c = b->call;
	const char *body;
	char *sdp = NULL, err[128];
	size_t blen;

	if (code < 200) {
		if (code == 100 || !resp)
			return;
		b->ringing = true;
		if (b->cancel) {
			cancel_branch(c, b);
			return;
		}
		if (c->state >= CALL_UP || c->state == CALL_ENDED)
			return;
		/* 183 with SDP: early media through the relay. */
		if (has_sdp(resp, &body, &blen) && c->media &&
		    media_answer(c->media, SIDE_B, body, blen, &sdp, err, sizeof(err)))
			LOG(L_INFO, "[sip] early media of %s refused: %s", c->callee, err);
		c->state = CALL_EARLY;
		to_caller(c, code, resp->reason_phrase, sdp);
		free(sdp);
		return;
	}

	if (code < 300 && resp) {
		const char *totag = sip_msg_to_tag(resp);
		int me = (int)(b - c->br);

		if (c->winner >= 0 || c->state == CALL_ENDED) {
			/* Another branch won, or the call is gone: ACK and BYE this one. */
			struct leg save = c->leg[SIDE_B];

			snprintf(c->leg[SIDE_B].remote_tag, TAG_MAX, "%s", totag ? totag : "");
			contact_of(resp, c->leg[SIDE_B].target, URI_MAX);
			c->leg[SIDE_B].peer = b->peer;
			leg_request(c, SIDE_B, "ACK", save.invite_cseq, NULL, NULL, NULL, NULL, NULL,
				    NULL, t);
			send_bye(c, SIDE_B, NULL);
			c->leg[SIDE_B] = save;
		} else {
			struct leg *l = &c->leg[SIDE_B];

			c->winner = me;
			snprintf(l->remote_tag, TAG_MAX, "%s", totag ? totag : "");
			if (contact_of(resp, l->target, URI_MAX))
				snprintf(l->target, URI_MAX, "%s", b->ruri);
			l->peer = b->peer;
			leg_request(c, SIDE_B, "ACK", l->invite_cseq, NULL, NULL, NULL, NULL, NULL,
				    NULL, t);
			if (has_sdp(resp, &body, &blen) &&
			    media_answer(c->media, SIDE_B, body, blen, &sdp, err, sizeof(err))) {
				LOG(L_WARN, "[sip] answer of %s refused: %s", c->callee, err);
				send_bye(c, SIDE_B, "SIP;cause=488;text=\"Not Acceptable Here\"");
				to_caller(c, 488, NULL, NULL);
				end_call(c, "the callee's SDP was refused");
			} else {
				loop_timer_cancel(c->s->loop, &c->ring);
				c->state = CALL_UP;
				to_caller(c, code, resp->reason_phrase, sdp);
				LOG(L_INFO, "[sip] call %s -> %s answered", c->caller, c->callee);
				for (int i = 0; i < c->nbr; i++)
					if (i != me)
						cancel_branch(c, &c->br[i]);
			}
			free(sdp);
		}
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
		put(c);
	}
}

static void on_ring_timeout(struct loop *loop, void *arg)
{
	struct call *c = arg;

	(void)loop;
	LOG(L_INFO, "[sip] call %s -> %s: no answer within %u s", c->caller, c->callee,
	    c->s->conf->sip_ring_timeout);
	c->best = 480;
	for (int i = 0; i < c->nbr; i++)
		cancel_branch(c, &c->br[i]);
	to_caller(c, 480, "No Answer", NULL);
	end_call(c, "no answer");
}

static void on_media_dead(struct media_session *ms, void *owner)
{
	struct call *c = owner;

	(void)ms;
	if (c->state != CALL_UP)
		return;
	LOG(L_INFO, "[sip] call %s -> %s: media timed out, hanging up", c->caller, c->callee);
	send_bye(c, SIDE_A, "SIP;cause=408;text=\"Media timeout\"");
	send_bye(c, SIDE_B, "SIP;cause=408;text=\"Media timeout\"");
	end_call(c, "media timeout");
}

/* The caller's INVITE transaction ended before our final (a transport error). */
static void caller_gone(struct sip_txn *t, int code, void *arg)
{
	struct call *c = arg;

	(void)t;
	(void)code;
	c->st = NULL;
	for (int i = 0; i < c->nbr; i++)
		cancel_branch(c, &c->br[i]);
	end_call(c, "the caller's transaction failed");
}

static int start_branch(struct call *c, const struct reg_binding *rb, const char *sdp,
			int max_forwards)
{
	struct sip_server *s = c->s;
	struct branch *b = &c->br[c->nbr];
	struct leg *l = &c->leg[SIDE_B];
	char text[8192], contact[128];
	osip_message_t *m;
	osip_via_t *v;
	char *via = NULL;
	int n;

	if (our_contact(s, &rb->peer, contact, sizeof(contact)))
		return -EADDRNOTAVAIL;
	n = snprintf(text, sizeof(text),
		     "INVITE %s SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 0.0.0.0;branch=z9hG4bK0\r\n"
		     "Max-Forwards: %d\r\n"
		     "From: %s;tag=%s\r\n"
		     "To: %s\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %u INVITE\r\n"
		     "Contact: %s\r\n"
		     "Allow: " SIP_ALLOW "\r\n"
		     "Content-Type: application/sdp\r\n"
		     "Content-Length: %zu\r\n\r\n%s",
		     rb->b.contact, max_forwards, l->local_uri, l->local_tag, l->remote_uri,
		     l->call_id, l->invite_cseq, contact, strlen(sdp), sdp);
	if (n >= (int)sizeof(text) || osip_message_init(&m))
		return -ENOMEM;
	if (osip_message_parse(m, text, (size_t)n) || sip_srv_set_top_via(s, m, &rb->peer)) {
		osip_message_free(m);
		return -EINVAL;
	}
	osip_message_force_update(m);
	v = osip_list_get(&m->vias, 0);
	if (!v || osip_via_to_str(v, &via) || strlen(via) >= sizeof(b->via)) {
		osip_free(via);
		osip_message_free(m);
		return -EINVAL;
	}
	memset(b, 0, sizeof(*b));
	strcpy(b->via, via);
	osip_free(via);
	snprintf(b->ruri, sizeof(b->ruri), "%s", rb->b.contact);
	b->peer = rb->peer;
	b->call = c;
	if (sip_txn_client_new(&s->txns, m, &rb->peer, branch_response, b, NULL))
		return -EIO;
	b->live = true;
	c->nbr++;
	c->pending++;
	c->refs++;
	return 0;
}

void b2bua_invite(struct sip_server *s, struct rx *rx, const struct subscriber *caller)
{
	struct b2bua *bb = s->b2b;
	const struct reg_aor *a;
	struct subscriber callee;
	const char *body, *mf;
	char target[SUB_IMPU_MAX], *sdp = NULL, err[160];
	struct call *c;
	size_t blen;
	int rc, maxf;

	if (registrar_aor(rx->req->req_uri, s->conf->sip_domain, target, sizeof(target)) ||
	    !s->store || subscriber_get_by_impu(s->store, target, &callee)) {
		sip_srv_reply(s, rx, 404, NULL);
		return;
	}
	if (callee.status != SUB_ACTIVE) {
		sip_srv_reply(s, rx, 480, "Subscriber not active");
		return;
	}
	a = registrar_lookup(&s->reg, target, s->now());
	if (!a) {
		sip_srv_reply(s, rx, 480, NULL);
		return;
	}
	if (!s->media) {
		sip_srv_reply(s, rx, 503, "No media relay");
		return;
	}
	if (!has_sdp(rx->req, &body, &blen)) {
		sip_srv_reply(s, rx, 488, "An offer in the INVITE is required");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		sip_srv_reply(s, rx, 500, NULL);
		return;
	}
	c->s = s;
	c->refs = 1;
	c->winner = -1;
	c->best = 699;
	snprintf(c->caller, sizeof(c->caller), "%s", caller->impu);
	snprintf(c->callee, sizeof(c->callee), "%s", target);
	loop_timer_init(&c->ring, on_ring_timeout, c);

	/* Leg A: the caller's dialog; our tag is the one our responses carry. */
	callid_of(rx->req, c->leg[SIDE_A].call_id, CALLID_MAX);
	sip_msg_make_tag(&s->tag_key, rx->req, c->leg[SIDE_A].local_tag);
	snprintf(c->leg[SIDE_A].remote_tag, TAG_MAX, "%s", sip_msg_from_tag(rx->req) ?: "");
	if (name_addr(rx->req->to, c->leg[SIDE_A].local_uri, NAME_ADDR_MAX) ||
	    name_addr(rx->req->from, c->leg[SIDE_A].remote_uri, NAME_ADDR_MAX) ||
	    contact_of(rx->req, c->leg[SIDE_A].target, URI_MAX)) {
		free(c);
		sip_srv_reply(s, rx, 400, "Bad From, To or Contact");
		return;
	}
	c->leg[SIDE_A].peer = *rx->from;
	c->leg[SIDE_A].invite_cseq = (uint32_t)strtoul(rx->req->cseq->number, NULL, 10);

	/* Leg B: our own dialog towards the callee, the caller's identity kept. */
	random_token(s, bb, c->leg[SIDE_B].call_id, CALLID_MAX);
	strcat(c->leg[SIDE_B].call_id, "@sluice");
	random_token(s, bb, c->leg[SIDE_B].local_tag, TAG_MAX);
	snprintf(c->leg[SIDE_B].local_uri, NAME_ADDR_MAX, "%s", c->leg[SIDE_A].remote_uri);
	snprintf(c->leg[SIDE_B].remote_uri, NAME_ADDR_MAX, "%s", c->leg[SIDE_A].local_uri);
	c->leg[SIDE_B].invite_cseq = c->leg[SIDE_B].cseq = 1;

	c->media = media_session_new(s->media, c->leg[SIDE_A].call_id, on_media_dead, c);
	if (!c->media) {
		free(c);
		sip_srv_reply(s, rx, 500, NULL);
		return;
	}
	rc = media_offer(c->media, SIDE_A, body, blen, &sdp, err, sizeof(err));
	if (rc) {
		media_session_destroy(c->media);
		free(c);
		/* Out of ports or sockets is ours to fix: 503; a bad offer 488. */
		sip_srv_reply(s, rx, rc == -EINVAL ? 488 : 503,
			      rc == -EINVAL ? err : "No media ports");
		return;
	}
	mf = sip_msg_header(rx->req, "max-forwards", 0);
	maxf = mf ? atoi(mf) - 1 : 69;

	/* In the tables before the branches start: their answers may be quick. */
	c->next_a = bb->a_buckets[bucket(s, c->leg[SIDE_A].call_id)];
	bb->a_buckets[bucket(s, c->leg[SIDE_A].call_id)] = c;
	c->next_b = bb->b_buckets[bucket(s, c->leg[SIDE_B].call_id)];
	bb->b_buckets[bucket(s, c->leg[SIDE_B].call_id)] = c;
	c->all_next = bb->all;
	if (bb->all)
		bb->all->all_prev = c;
	bb->all = c;
	bb->ncalls++;
	c->st = rx->t;
	sip_txn_set_end(c->st, caller_gone, c);

	for (const struct reg_binding *rb = a->bindings; rb && c->nbr < REG_MAX_CONTACTS;
	     rb = rb->next)
		if (rb->b.expires > s->now())
			start_branch(c, rb, sdp, maxf);
	free(sdp);
	if (!c->nbr) {
		to_caller(c, 480, NULL, NULL);
		end_call(c, "no binding reachable");
		return;
	}
	LOG(L_INFO, "[sip] call %s -> %s: %d branch%s", c->caller, c->callee, c->nbr,
	    c->nbr == 1 ? "" : "es");
	to_caller(c, 100, NULL, NULL);
	loop_timer_arm(s->loop, &c->ring, 1000ull * s->conf->sip_ring_timeout);
}

void b2bua_cancel(struct sip_server *s, struct sip_txn *inv)
{
	for (struct call *c = s->b2b->all; c; c = c->all_next) {
		if (c->st != inv)
			continue;
		for (int i = 0; i < c->nbr; i++)
			cancel_branch(c, &c->br[i]);
		to_caller(c, 487, NULL, NULL);
		end_call(c, "cancelled by the caller");
		return;
	}
}

/* ---- in-dialog requests ---- */

static void relay_response(struct sip_txn *t, const osip_message_t *resp, int code, void *arg)
{
	struct relay *r = arg;
	struct call *c = r->call;
	int to = r->from == SIDE_A ? SIDE_B : SIDE_A;
	char *sdp = NULL, err[128];
	const char *body;
	size_t blen;

	if (code < 200)
		return;
	if (r->invite && code < 300 && resp && c->state != CALL_ENDED)
		leg_request(c, to, "ACK", c->leg[to].cseq, NULL, NULL, NULL, NULL, NULL, NULL, t);
	if (r->st) {
		struct rx rx = { .req = (osip_message_t *)sip_txn_request(r->st),
				 .from = sip_txn_peer(r->st), .t = r->st };
		osip_message_t *out = rx.req ? sip_srv_response(c->s, &rx, resp ? code : 408,
								resp ? resp->reason_phrase : NULL)
					     : NULL;

		if (out && resp && code < 300 && c->media && r->sdp &&
		    has_sdp(resp, &body, &blen) &&
		    !media_answer(c->media, to, body, blen, &sdp, err, sizeof(err)))
			set_body(out, sdp);
		if (out && code < 300) {
			char contact[128];

			if (!our_contact(c->s, rx.from, contact, sizeof(contact)))
				osip_message_set_contact(out, contact);
		}
		if (out)
			sip_txn_reply(r->st, out);
		free(sdp);
	}
	if (r->invite || r->sdp)
		c->offer_pending = false;
	put(c);
	free(r);
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

	if (offer && c->offer_pending) {
		sip_srv_reply(s, rx, 491, NULL);	/* glare: the other side's offer goes first */
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		sip_srv_reply(s, rx, 500, NULL);
		return;
	}
	r->call = c;
	r->st = rx->t;
	r->from = from;
	r->invite = !strcmp(method, "INVITE");
	if (offer && has_sdp(rx->req, &body, &blen)) {
		rc = media_offer(c->media, from, body, blen, &sdp, err, sizeof(err));
		if (rc) {
			free(r);
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
	contact_of(rx->req, c->leg[from].target, URI_MAX);
	rc = leg_request(c, to, method, 0, NULL, sdp, ct, body, relay_response, r, NULL);
	free(sdp);
	if (rc) {
		free(r);
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
	const char *totag = sip_msg_to_tag(rx->req), *fromtag = sip_msg_from_tag(rx->req);
	char id[CALLID_MAX];
	struct call *c;
	int from;

	if (!s->b2b || !totag)
		return false;
	callid_of(rx->req, id, sizeof(id));
	if ((c = find_a(s, id)) && !strcmp(c->leg[SIDE_A].local_tag, totag) &&
	    fromtag && !strcmp(c->leg[SIDE_A].remote_tag, fromtag))
		from = SIDE_A;
	else if ((c = find_b(s, id)) && !strcmp(c->leg[SIDE_B].local_tag, totag) &&
		 fromtag && !strcmp(c->leg[SIDE_B].remote_tag, fromtag))
		from = SIDE_B;
	else
		return false;

	if (!strcmp(rx->req->sip_method, "BYE")) {
		int other = from == SIDE_A ? SIDE_B : SIDE_A;

		sip_srv_reply(s, rx, 200, NULL);
		send_bye(c, other, NULL);
		end_call(c, from == SIDE_A ? "the caller hung up" : "the callee hung up");
		return true;
	}
	if (c->state != CALL_UP) {
		sip_srv_reply(s, rx, 481, NULL);	/* no early-dialog requests yet */
		return true;
	}
	relay(s, rx, c, from);
	return true;
}

int b2bua_init(struct sip_server *s)
{
	s->b2b = calloc(1, sizeof(*s->b2b));
	return s->b2b ? 0 : -ENOMEM;
}

void b2bua_fini(struct sip_server *s)
{
	struct b2bua *bb = s->b2b;

	if (!bb)
		return;
	/* A clean stop hangs every call up. */
	while (bb->all) {
		struct call *c = bb->all;

		if (c->state == CALL_UP) {
			send_bye(c, SIDE_A, "SIP;cause=503;text=\"Server stopping\"");
			send_bye(c, SIDE_B, "SIP;cause=503;text=\"Server stopping\"");
		} else {
			to_caller(c, 503, NULL, NULL);
		}
		c->refs = 1;		/* the transactions go with the server */
		end_call(c, "sluiced stopping");
	}
	free(bb);
	s->b2b = NULL;
}

unsigned b2bua_calls(const struct sip_server *s)
{
	return s->b2b ? s->b2b->ncalls : 0;
}
