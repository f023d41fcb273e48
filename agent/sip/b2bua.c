// SPDX-License-Identifier: GPL-2.0-only
/*
 * The B2BUA (see b2bua.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <osipparser2/osip_parser.h>

#include "core/conf.h"
#include "core/log.h"
#include "dp/dp.h"
#include "media/persist.h"
#include "media/sdp.h"
#include "media/session.h"
#include "sip/b2bua.h"
#include "sip/digest.h"
#include "sip/hdr.h"
#include "store/cdr.h"

#define CALL_BUCKETS	8192	/* power of two */
#define URI_MAX		512
#define NAME_ADDR_MAX	640
#define CALLID_MAX	256
#define TAG_MAX		80
#define SIDE_A		0
#define SIDE_B		1
#define B2B_SUPPORTED	"100rel, timer"
#define ACK_WAIT_MS	(30 * 1000)	/* an ACK with the answer: less than Timer M */

enum call_state {
	CALL_TRYING = 0,	/* INVITE sent to the branches */
	CALL_EARLY,		/* a provisional went to the caller */
	CALL_UP,		/* 2xx sent to the caller */
	CALL_ENDED,
};

struct call;

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

struct call {
	struct sip_server	*s;
	struct call		*next_a, *next_b;	/* by A's and B's Call-ID */
	struct call		*all_next, *all_prev;	/* live calls, or ended and held */
	unsigned		refs;
	bool			held;		/* ended, on the held list until its last put */
	struct aux		*aux;
	enum call_state		state;
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
};

struct b2bua {
	struct call	*a_buckets[CALL_BUCKETS];
	struct call	*b_buckets[CALL_BUCKETS];
	struct call	*all;
	struct call	*held;		/* ended calls that transactions still hold */
	unsigned	ncalls;
	uint64_t	seq;
};

/* ---- small helpers ---- */

static unsigned bucket(const struct sip_server *s, const char *id)
{
	return (unsigned)sip_hash_buf(&s->tag_key, id, strlen(id)) & (CALL_BUCKETS - 1);
}

/* <sip:HOST:PORT> of ours towards to. */
static int b2b_our_contact(struct sip_server *s, const struct sip_peer *to, char *out, size_t n)
{
	char host[64];
	uint16_t port;

	if (sip_srv_local_for(s, to, host, sizeof(host), &port))
		return -EADDRNOTAVAIL;
	snprintf(out, n, "<sip:%s:%u%s>", host, port, to->proto == SIP_TCP ? ";transport=tcp" : "");
	return 0;
}

static void random_token(struct sip_server *s, struct b2bua *b, char *out, size_t n)
{
	uint64_t seq = ++b->seq, t = (uint64_t)time(NULL);
	uint64_t x = sip_hash_buf(&s->tag_key, &seq, sizeof(seq)) ^ (t << 20);

	snprintf(out, n, "%016llx", (unsigned long long)x);
}

static void b2b_set_leg_sdp(struct leg *l, const char *sdp)
{
	char *copy;

	if (!sdp || !(copy = strdup(sdp)))
		return;
	free(l->sdp);
	l->sdp = copy;
}

/* ---- the trunk ---- */

static bool trunk_on(const struct sip_server *s)
{
	return s->conf->trunk_address.ss.ss_family != AF_UNSPEC;
}

bool b2bua_from_trunk(const struct sip_server *s, const struct sip_peer *from)
{
	const struct sockaddr_storage *t = &s->conf->trunk_address.ss;

	if (!trunk_on(s) || t->ss_family != from->addr.ss_family)
		return false;
	if (t->ss_family == AF_INET)
		return ((const struct sockaddr_in *)t)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&from->addr)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)t)->sin6_addr,
		       &((const struct sockaddr_in6 *)&from->addr)->sin6_addr,
		       sizeof(struct in6_addr));
}

/* A number the trunk can take: digits, with + * # allowed. */
static bool dialable(const char *user)
{
	return user && *user && strspn(user, "0123456789+*#") == strlen(user) &&
	       strpbrk(user, "0123456789");
}

/*
 * [trunk] rewrite = "FROM=TO, ...": the longest FROM that begins number
 * is replaced by its TO.
 */
static void rewrite_number(const char *rules, const char *number, char *out, size_t n)
{
	size_t best = 0, blen = 0, to_len = 0;
	const char *to = NULL;

	for (const char *p = rules; *p;) {
		size_t f, t;

		p += strspn(p, ", ");
		f = strspn(p, "0123456789+*#");
		if (!f || p[f] != '=')
			break;
		t = strspn(p + f + 1, "0123456789+*#");
		if (f > blen && !strncmp(number, p, f)) {
			blen = f;
			best = 1;
			to = p + f + 1;
			to_len = t;
		}
		p += f + 1 + t;
	}
	if (best)
		snprintf(out, n, "%.*s%s", (int)to_len, to, number + blen);
	else
		snprintf(out, n, "%s", number);
}

/* Host[:port] of the trunk's Request-URIs. */
static void trunk_host(const struct sip_server *s, char *out, size_t n)
{
	const struct sockaddr_storage *ss = &s->conf->trunk_address.ss;
	char ip[INET6_ADDRSTRLEN] = "";
	uint16_t port;

	if (s->conf->trunk_domain[0]) {
		snprintf(out, n, "%s", s->conf->trunk_domain);
		return;
	}
	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
		snprintf(out, n, "[%s]:%u", ip, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
		snprintf(out, n, "%s:%u", ip, port);
	}
}

/*
 * An Authorization (401) or Proxy-Authorization (407) header line, CRLF
 * ended, answering resp's challenge with the trunk's credentials for
 * method on uri (SHA-256 preferred when offered, qop=auth when offered).
 */
static int b2b_trunk_credentials(struct sip_server *s, const osip_message_t *resp,
				 const char *method, const char *uri, char *out, size_t n)
{
	const struct conf *cf = s->conf;
	bool proxy = resp->status_code == 407, qop;
	osip_www_authenticate_t *w, *pick = NULL;
	enum digest_alg alg = DIGEST_MD5, a;
	char realm[DIGEST_REALM_MAX], nonce[DIGEST_NONCE_MAX], opaque[DIGEST_OPAQUE_MAX] = "";
	char ha1[DIGEST_HEX_MAX], rsp[DIGEST_HEX_MAX], cnonce[24], algname[16], qops[64] = "";
	int len;

	if (!cf->trunk_username[0])
		return -EPERM;
	for (int i = 0;
	     (proxy ? osip_message_get_proxy_authenticate(resp, i, &w) :
		      osip_message_get_www_authenticate(resp, i, &w)) >= 0;
	     i++) {
		if (!w->auth_type || strcasecmp(w->auth_type, "Digest"))
			continue;
		if (sip_hdr_unquote(w->algorithm ? w->algorithm : "MD5", algname,
				    sizeof(algname)) ||
		    digest_alg_parse(algname, &a))
			continue;
		if (!pick || a == DIGEST_SHA256) {
			pick = w;
			alg = a;
		}
	}
	if (!pick || sip_hdr_unquote(pick->realm, realm, sizeof(realm)) ||
	    sip_hdr_unquote(pick->nonce, nonce, sizeof(nonce)) ||
	    (pick->opaque && sip_hdr_unquote(pick->opaque, opaque, sizeof(opaque))))
		return -EPROTO;
	if (pick->qop_options)
		sip_hdr_unquote(pick->qop_options, qops, sizeof(qops));
	qop = sip_hdr_list_has(qops, "auth");
	random_token(s, s->b2b, cnonce, sizeof(cnonce));
	if (digest_ha1(alg, cf->trunk_username, realm, cf->trunk_password, ha1) ||
	    digest_response(alg, ha1, nonce, qop ? "00000001" : NULL, qop ? cnonce : NULL,
			    qop ? "auth" : NULL, method, uri, rsp))
		return -EINVAL;
	len = snprintf(out, n,
		       "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
		       "response=\"%s\", algorithm=%s",
		       proxy ? "Proxy-Authorization" : "Authorization", cf->trunk_username, realm,
		       nonce, uri, rsp, digest_alg_name(alg));
	if (qop && len >= 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, ", qop=auth, nc=00000001, cnonce=\"%s\"",
				cnonce);
	if (*opaque && len >= 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, ", opaque=\"%s\"", opaque);
	if (len >= 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, "\r\n");
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

/* ---- the call table ---- */

static struct call *b2b_find_a(struct sip_server *s, const char *id)
{
	for (struct call *c = s->b2b->a_buckets[bucket(s, id)]; c; c = c->next_a)
		if (!strcmp(c->leg[SIDE_A].call_id, id))
			return c;
	return NULL;
}

static struct call *b2b_find_b(struct sip_server *s, const char *id)
{
	for (struct call *c = s->b2b->b_buckets[bucket(s, id)]; c; c = c->next_b)
		if (!strcmp(c->leg[SIDE_B].call_id, id))
			return c;
	return NULL;
}

/* The call whose dialog req is in, and which side sent it. */
static struct call *b2b_dialog_of(struct sip_server *s, const osip_message_t *req, int *from)
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

static void b2b_link_call(struct b2bua *bb, struct call *c)
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

static void *b2b_aux_new(struct call *c, size_t size)
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

static void b2b_aux_free(void *p)
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

static void b2b_free_call(struct call *c)
{
	while (c->aux)
		b2b_aux_free(c->aux);
	free(c->leg[SIDE_A].sdp);
	free(c->leg[SIDE_B].sdp);
	free(c->rel_text);
	free(c->held_reason);
	free(c->held_sdp);
	free(c->cdr);
	free(c);
}

/* Off the held list (the ended calls transactions still hold). */
static void b2b_unhold(struct call *c)
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

static void b2b_put(struct call *c)
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
static int b2b_parse_request(struct sip_server *s, const char *text, int n, size_t size,
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

/*
 * A request on leg L of c (a BYE, a relayed re-INVITE, an ACK): From us,
 * To the peer, CSeq next (or cseq for an ACK). fn NULL and ack: sent once
 * without a transaction. The trunk's challenges are answered once
 * (out_response).
 */
static int b2b_leg_request(struct call *c, int L, const char *method, uint32_t cseq,
			   const char *extra, const char *sdp, const char *ctype, const char *body,
			   sip_txn_resp_fn fn, void *arg, struct sip_txn *ack_of);

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

static void b2b_aux_free(void *p);

static void outreq_free(struct outreq *o)
{
	free(o->extra);
	free(o->sdp);
	free(o->ctype);
	free(o->body);
	b2b_aux_free(o);
}

static int b2b_leg_request_raw(struct call *c, int L, const char *method, uint32_t cseq,
			       const char *extra, const char *auth, const char *sdp,
			       const char *ctype, const char *body, sip_txn_resp_fn fn, void *arg,
			       struct sip_txn *ack_of);

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

static int b2b_leg_request_raw(struct call *c, int L, const char *method, uint32_t cseq,
			       const char *extra, const char *auth, const char *sdp,
			       const char *ctype, const char *body, sip_txn_resp_fn fn, void *arg,
			       struct sip_txn *ack_of)
{
	struct sip_server *s = c->s;
	struct leg *l = &c->leg[L];
	bool ack = !strcmp(method, "ACK");
	char text[8192], contact[128];
	osip_message_t *m;
	size_t blen = sdp ? strlen(sdp) : body ? strlen(body) : 0;
	int n, err;

	if (b2b_our_contact(s, &l->peer, contact, sizeof(contact)))
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
		     "%s%s"
		     "%s%s%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     method, l->target, l->local_uri, l->local_tag, l->remote_uri, l->remote_tag,
		     l->call_id, cseq, method, contact, extra ? extra : "", auth ? auth : "",
		     blen ? "Content-Type: " : "", blen ? (sdp ? "application/sdp" : ctype) : "",
		     blen ? "\r\n" : "", blen, sdp ? sdp : body ? body : "");
	err = b2b_parse_request(s, text, n, sizeof(text), &l->peer, &m);
	if (err)
		return err;
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

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int b2b_leg_request(struct call *c, int L, const char *method, uint32_t cseq,
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
static void b2b_flush_ack(struct call *c, const char *sdp)
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

static void b2b_send_bye(struct call *c, int L, const char *reason)
{
	char extra[128] = "";

	if (c->ack_txn && c->ack_leg == L)
		b2b_flush_ack(c, NULL);	/* its 2xx is ACKed before the BYE */
	if (reason)
		snprintf(extra, sizeof(extra), "Reason: %s\r\n", reason);
	b2b_leg_request(c, L, "BYE", 0, extra, NULL, NULL, NULL, NULL, NULL, NULL);
}

/* ---- call detail records (store/cdr.h) ---- */

/* An attempt's record, from the caller's INVITE; NULL without CDRs. */
static struct cdr_rec *cdr_from_invite(struct sip_server *s, const struct rx *rx)
{
	struct cdr_rec *r = sip_srv_cdr_new(s, rx, CDR_TYPE_CALL, rx->req->req_uri);

	if (r)
		snprintf(r->datapath, sizeof(r->datapath), "%s",
			 s->media->dp ? s->media->dp->ops->name : "user");
	return r;
}

static void b2b_cdr_begin(struct call *c, const struct rx *rx)
{
	c->cdr = cdr_from_invite(c->s, rx);
	if (c->cdr)
		snprintf(c->cdr->b_call_id, sizeof(c->cdr->b_call_id), "%s",
			 c->leg[SIDE_B].call_id);
}

/* An INVITE refused before it became a call (no such callee, not registered). */
static void b2b_reject(struct sip_server *s, struct rx *rx, int code, const char *reason)
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
static void b2b_cdr_status(struct call *c, int code, const char *reason)
{
	if (!c->cdr || c->cdr->status_code >= 200)
		return;
	c->cdr->status_code = code;
	snprintf(c->cdr->status_text, sizeof(c->cdr->status_text), "%s",
		 reason ?: osip_message_get_reason(code) ?: "");
}

static void b2b_cdr_ring(struct call *c)
{
	if (c->cdr && !c->cdr->ring_ms)
		c->cdr->ring_ms = cdr_now_ms();
}

/* Answered: the row goes in now, open, so that a crash loses nothing. */
static void b2b_cdr_answer(struct call *c, const struct branch *b, const osip_message_t *resp,
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
static void b2b_cdr_why(struct call *c, const char *close_reason, const char *by,
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

static void b2b_cdr_end(struct call *c)
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

/* The call is over: media released, out of the tables; freed with its last transaction. */
static void b2b_end_call(struct call *c, const char *why)
{
	if (c->state == CALL_ENDED)
		return;
	LOG(L_INFO, "[call] %s -> %s ended: %s", c->caller, c->callee, why);
	if (!c->kept)
		b2b_cdr_end(c);
	b2b_flush_ack(c, NULL);	/* its reference is not the last: the table's is */
	c->state = CALL_ENDED;
	loop_timer_cancel(c->s->loop, &c->ring);
	loop_timer_cancel(c->s->loop, &c->rel_timer);
	loop_timer_cancel(c->s->loop, &c->leg[SIDE_A].se_timer);
	loop_timer_cancel(c->s->loop, &c->leg[SIDE_B].se_timer);
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
static void b2b_hangup(struct call *c, const char *reason, const char *why)
{
	b2b_send_bye(c, SIDE_A, reason);
	b2b_send_bye(c, SIDE_B, reason);
	b2b_end_call(c, why);
}

/* CANCEL of one branch's INVITE (RFC 3261 §9.1): its Via, Call-ID, From, To and CSeq. */
static void b2b_cancel_branch(struct call *c, struct branch *b)
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

/* PRACK of a branch's reliable provisional (RFC 3262 §7.2), in its early dialog. */
static void b2b_prack_branch(struct call *c, struct branch *b, const osip_message_t *resp,
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

/* ---- answers to the caller ---- */

static void b2b_to_caller(struct call *c, int code, const char *reason, const char *sdp);

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
static void b2b_on_rel_timer(struct loop *loop, void *arg)
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

/*
 * Session-Expires in our 2xx to leg l's request (we are its UAS: the peer,
 * the UAC, refreshes unless we do), and Require: timer when it supports it.
 */
static void b2b_add_timer_headers(const struct leg *l, osip_message_t *resp, bool require)
{
	char v[64];

	if (!l->se)
		return;
	snprintf(v, sizeof(v), "%u;refresher=%s", l->se, l->se_ours ? "uas" : "uac");
	osip_message_set_header(resp, "Session-Expires", v);
	if (require)
		osip_message_set_header(resp, "Require", "timer");
}

static void b2b_to_caller(struct call *c, int code, const char *reason, const char *sdp)
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
			c->rel_text = malloc(len);
			if (c->rel_text) {
				memcpy(c->rel_text, text, len);
				c->rel_len = len;
				c->rel_wait = SIP_T1_MS;
				c->rel_sdp = sdp != NULL;
				if (r.from->proto != SIP_TCP)
					loop_timer_arm(s->loop, &c->rel_timer, SIP_T1_MS);
			}
			osip_free(text);
		}
	}
	if (code >= 200) {
		b2b_cdr_status(c, code, reason);
		c->held_code = 0;	/* this final replaces any that waited */
		stop_reliable(c);
		sip_txn_set_end(c->st, NULL, NULL);
		c->st = NULL;	/* the transaction's from here on */
	}
	if (sdp && code < 300)
		b2b_set_leg_sdp(&c->leg[SIDE_A], sdp);
	sip_txn_reply(r.t, resp);
}

/* ---- session timers (RFC 4028), one per leg ---- */

static void b2b_persist_call(struct call *c);

static void b2b_arm_se(struct call *c, int L)
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

static void b2b_on_se_timer(struct loop *loop, void *arg)
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

/* ---- the fork ---- */

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

/* Session timers from the callee's 2xx (RFC 4028 §7.2). */
static void b2b_timers_from_answer(struct call *c, const osip_message_t *resp)
{
	struct leg *l = &c->leg[SIDE_B];
	char ref;

	l->se = sip_hdr_session_expires(resp, &ref);
	l->se_ours = ref != 's';	/* refresher=uac is us */
	if (!l->se && c->b_se && sip_hdr_has_option(resp, "supported", "timer"))
		l->se = c->b_se, l->se_ours = true;
	l->update_ok = sip_hdr_has_option(resp, "allow", "UPDATE");
}

/* The callee answered on branch me: the call is up. */
static void answered(struct call *c, int me, int code, const osip_message_t *resp,
		     const char *sdp)
{
	loop_timer_cancel(c->s->loop, &c->ring);
	c->state = CALL_UP;
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
		c->state = CALL_EARLY;
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

static void b2b_on_ring_timeout(struct loop *loop, void *arg)
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

static void b2b_on_ack_timeout(struct loop *loop, void *arg)
{
	struct call *c = arg;

	(void)loop;
	LOG(L_INFO, "[call] %s -> %s: no ACK with the answer", c->caller, c->callee);
	b2b_hangup(c, "SIP;cause=408;text=\"No ACK\"", "no answer to the offer");
}

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

/* The branch's INVITE, first or again (CSeq up, a fresh Via branch). */
static int send_branch_invite(struct call *c, struct branch *b, const char *auth)
{
	struct sip_server *s = c->s;
	struct leg *l = &c->leg[SIDE_B];
	const char *sdp = l->sdp;
	char text[8192], contact[128], timer[96] = "";
	osip_message_t *m;
	osip_via_t *v;
	char *via = NULL;
	int n;

	if (b2b_our_contact(s, &b->peer, contact, sizeof(contact)))
		return -EADDRNOTAVAIL;
	if (b->live)
		l->invite_cseq = ++l->cseq;
	if (c->b_se)
		snprintf(timer, sizeof(timer), "Session-Expires: %u\r\nMin-SE: %u\r\n", c->b_se,
			 s->conf->sip_min_se < c->b_se ? s->conf->sip_min_se : c->b_se);
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
		     "Supported: " B2B_SUPPORTED "\r\n"
		     "%s%s%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     b->ruri, b->max_forwards, l->local_uri, l->local_tag, l->remote_uri,
		     l->call_id, l->invite_cseq, contact, timer, auth ? auth : "",
		     sdp ? "Content-Type: application/sdp\r\n" : "", sdp ? strlen(sdp) : 0,
		     sdp ? sdp : "");
	n = b2b_parse_request(s, text, n, sizeof(text), &b->peer, &m);
	if (n)
		return n;
	v = osip_list_get(&m->vias, 0);
	if (!v || osip_via_to_str(v, &via) || strlen(via) >= sizeof(b->via)) {
		osip_free(via);
		osip_message_free(m);
		return -EINVAL;
	}
	strcpy(b->via, via);
	osip_free(via);
	b->ringing = false;
	b->rseq = 0;
	return sip_txn_client_new(&s->txns, m, &b->peer, branch_response, b, NULL) ? -EIO : 0;
}

/* A call with its timers ready, not yet in the tables. */
static struct call *new_call(struct sip_server *s)
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

static int b2b_start_branch(struct call *c, const char *ruri, const struct sip_peer *peer,
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

/* Leg A's session timer, from the caller's INVITE (RFC 4028 §9): 0, or 422 sent. */
static int b2b_timers_from_offer(struct sip_server *s, struct rx *rx, struct call *c)
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

/* Where the call goes: the callee's bindings, or the trunk. 0, or answered. */
struct target {
	bool			trunk;
	char			aor[SUB_IMPU_MAX];
	char			ruri[URI_MAX];		/* the trunk's */
	char			to[NAME_ADDR_MAX];
	const struct reg_aor	*a;
};

static int b2b_route(struct sip_server *s, struct rx *rx, const struct subscriber *caller,
		     struct target *tg)
{
	const osip_uri_t *ru = rx->req->req_uri;
	struct subscriber callee;
	char number[128], host[128];

	memset(tg, 0, sizeof(*tg));
	if (registrar_aor(ru, s->conf->sip_domain, tg->aor, sizeof(tg->aor))) {
		b2b_reject(s, rx, 404, NULL);
		return -ENOENT;
	}
	if (!s->store || subscriber_get_by_impu(s->store, tg->aor, &callee)) {
		/* Not a subscriber: a number, for the trunk, when the caller is ours. */
		if (!caller || !trunk_on(s) || !dialable(ru->username)) {
			b2b_reject(s, rx, 404, NULL);
			return -ENOENT;
		}
		rewrite_number(s->conf->trunk_rewrite, ru->username, number, sizeof(number));
		trunk_host(s, host, sizeof(host));
		tg->trunk = true;
		snprintf(tg->ruri, sizeof(tg->ruri), "sip:%s@%s%s", number, host,
			 s->conf->trunk_tcp ? ";transport=tcp" : "");
		snprintf(tg->to, sizeof(tg->to), "<sip:%s@%s>", number, host);
		snprintf(tg->aor, sizeof(tg->aor), "%.*s", (int)sizeof(tg->aor) - 1, tg->ruri);
		return 0;
	}
	if (callee.status != SUB_ACTIVE) {
		b2b_reject(s, rx, 480, "Subscriber not active");
		return -EAGAIN;
	}
	tg->a = registrar_lookup(&s->reg, tg->aor, s->now());
	if (!tg->a) {
		b2b_reject(s, rx, 480, NULL);
		return -EAGAIN;
	}
	return 0;
}

static struct sip_peer b2b_trunk_peer(const struct sip_server *s)
{
	struct sip_peer p = { 0 };

	memcpy(&p.addr, &s->conf->trunk_address.ss, sizeof(p.addr));
	p.len = s->conf->trunk_address.len;
	p.proto = s->conf->trunk_tcp ? SIP_TCP : SIP_UDP;
	return p;
}

void b2bua_invite(struct sip_server *s, struct rx *rx, const struct subscriber *caller)
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
	c = new_call(s);
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
	    c->nbr == 1 ? "" : "es", tg.trunk ? " to the trunk" : "",
	    c->late ? ", offer awaited in the answer" : "");
	b2b_to_caller(c, 100, NULL, NULL);
	loop_timer_arm(s->loop, &c->ring, 1000ull * s->conf->sip_ring_timeout);
}

void b2bua_cancel(struct sip_server *s, struct sip_txn *inv)
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

/* ---- in-dialog requests ---- */

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

/* A PRACK from the caller for our reliable provisional (RFC 3262 §3). */
static void b2b_prack(struct sip_server *s, struct rx *rx, struct call *c)
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

/* ---- live state: one database row per call, for a restart to adopt ---- */

/*
 * The call rides in its media session's row (media/persist.c), as the
 * session's owner data: "b2bua\n" and a JSON object of both dialogs.
 */
#define OWNER_TAG	"b2bua\n"

static json_t *peer_json(const struct sip_peer *p)
{
	char buf[64];

	sip_addr_str((const struct sockaddr *)&p->addr, buf, sizeof(buf));
	return json_pack("{s:s,s:i,s:i}", "addr", buf, "proto", p->proto, "lidx", p->lidx);
}

static json_t *leg_json(const struct leg *l)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:b,s:b,s:s?,s:I,s:b}",
			 "call_id", l->call_id, "local_tag", l->local_tag,
			 "remote_tag", l->remote_tag, "local_uri", l->local_uri,
			 "remote_uri", l->remote_uri, "target", l->target,
			 "peer", peer_json(&l->peer), "cseq", (json_int_t)l->cseq,
			 "invite_cseq", (json_int_t)l->invite_cseq, "trunk", l->trunk,
			 "update_ok", l->update_ok, "sdp", l->sdp, "se", (json_int_t)l->se,
			 "se_ours", l->se_ours);
}

static void b2b_persist_call(struct call *c)
{
	json_t *root;
	char *text;

	if (!c->media)
		return;
	root = json_pack("{s:s,s:s,s:[o,o],s:I}", "caller", c->caller, "callee", c->callee, "legs",
			 leg_json(&c->leg[SIDE_A]), leg_json(&c->leg[SIDE_B]), "cdr",
			 (json_int_t)(c->cdr ? c->cdr->id : 0));
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (!text)
		return;
	if (strlen(OWNER_TAG) + strlen(text) < sizeof(c->media->owner_data)) {
		snprintf(c->media->owner_data, sizeof(c->media->owner_data), OWNER_TAG "%s", text);
		media_persist(c->media);
	} else {
		LOG(L_WARN, "[call] %s -> %s: its dialogs are too large to be kept for a "
		    "restart", c->caller, c->callee);
	}
	free(text);
}

static int b2b_str_of(json_t *o, const char *key, char *out, size_t n)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (!v || strlen(v) >= n)
		return -EINVAL;
	strcpy(out, v);
	return 0;
}

static int b2b_leg_from_json(struct leg *l, json_t *j)
{
	json_t *peer = json_object_get(j, "peer");
	struct conf_addr a;
	const char *sdp;
	char addr[64];

	if (b2b_str_of(j, "call_id", l->call_id, sizeof(l->call_id)) ||
	    b2b_str_of(j, "local_tag", l->local_tag, sizeof(l->local_tag)) ||
	    b2b_str_of(j, "remote_tag", l->remote_tag, sizeof(l->remote_tag)) ||
	    b2b_str_of(j, "local_uri", l->local_uri, sizeof(l->local_uri)) ||
	    b2b_str_of(j, "remote_uri", l->remote_uri, sizeof(l->remote_uri)) ||
	    b2b_str_of(j, "target", l->target, sizeof(l->target)) ||
	    b2b_str_of(peer, "addr", addr, sizeof(addr)) || conf_parse_addr(addr, &a) ||
	    a.ss.ss_family == AF_UNSPEC)
		return -EINVAL;
	memcpy(&l->peer.addr, &a.ss, sizeof(a.ss));
	l->peer.len = a.len;
	l->peer.proto = (uint8_t)json_integer_value(json_object_get(peer, "proto"));
	l->peer.lidx = (uint8_t)json_integer_value(json_object_get(peer, "lidx"));
	l->cseq = (uint32_t)json_integer_value(json_object_get(j, "cseq"));
	l->invite_cseq = (uint32_t)json_integer_value(json_object_get(j, "invite_cseq"));
	l->trunk = json_is_true(json_object_get(j, "trunk"));
	l->update_ok = json_is_true(json_object_get(j, "update_ok"));
	l->se = (uint32_t)json_integer_value(json_object_get(j, "se"));
	l->se_ours = json_is_true(json_object_get(j, "se_ours"));
	sdp = json_string_value(json_object_get(j, "sdp"));
	l->sdp = sdp ? strdup(sdp) : NULL;
	return 0;
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
	c = new_call(s);
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
	c->state = CALL_UP;
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

unsigned b2bua_calls(const struct sip_server *s)
{
	return s->b2b ? s->b2b->ncalls : 0;
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
