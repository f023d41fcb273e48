// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SIP server's inbound path and request handlers (see server.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <osipparser2/osip_parser.h>

#include "core/log.h"
#include "net/ip_str.h"
#include "sip/server.h"
#include "sip/server_int.h"
#include "sip/digest_hdr.h"
#include "sip/hep_qos.h"
#include "store/cdr.h"
#include "store/queue.h"
#include "net/stun.h"
#include "version.h"


/* A 200 to a REGISTER, held until its bindings are committed. */
struct sip_pending {
	struct sip_pending	*next;
	struct sip_txn		*t;	/* NULL: it ended before the commit */
	osip_message_t		*resp;
};

/* What client transactions' callbacks hold: freed with the server if still pending. */
struct owned {
	struct owned	*prev, *next;
};

static void own(struct sip_server *s, struct owned *o)
{
	o->prev = NULL;
	o->next = s->owned;
	if (s->owned)
		s->owned->prev = o;
	s->owned = o;
}

static void disown(struct sip_server *s, struct owned *o)
{
	if (o->prev)
		o->prev->next = o->next;
	else
		s->owned = o->next;
	if (o->next)
		o->next->prev = o->prev;
}

/* A MESSAGE on its way to every binding of its target. */
struct msg_fork {
	struct owned		node;		/* first: freed through it */
	struct sip_server	*s;
	struct sip_txn		*st;		/* NULL once answered or gone */
	unsigned		pending;	/* client transactions alive */
	int			best;		/* lowest final status seen */
};

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

static const char *peer_str(const struct sip_peer *p, char *buf, size_t len)
{
	return sip_peer_str(p, buf, len);
}

/* A response's code from its status line; 0 for a request. */
static int status_code(const char *buf, size_t len)
{
	int code;

	if (len < 12 || memcmp(buf, "SIP/2.0 ", 8))
		return 0;
	code = (buf[8] - '0') * 100 + (buf[9] - '0') * 10 + (buf[10] - '0');
	return code >= 100 && code <= 699 ? code : 0;
}

/* The listener a message to or from peer goes through, NULL when none. */
static const struct sockaddr *local_of(const struct sip_server *s, const struct sip_peer *peer)
{
	const struct sip_transport *tp = &s->tp;

	if (peer->lidx < tp->nl && tp->l[peer->lidx].addr.ss_family == peer->addr.ss_family)
		return (const struct sockaddr *)&tp->l[peer->lidx].addr;
	for (int i = 0; i < tp->nl; i++)
		if (tp->l[i].addr.ss_family == peer->addr.ss_family)
			return (const struct sockaddr *)&tp->l[i].addr;
	return NULL;
}

/*
 * A copy of a message to the [hep] collector and the tracker ([http]
 * trace); out: sent, else received.
 */
static void hep_copy(struct sip_server *s, const struct sip_peer *peer, bool out,
		     const char *buf, size_t len)
{
	const struct sockaddr *local, *remote = (const struct sockaddr *)&peer->addr;
	uint8_t proto = peer->proto == SIP_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	struct timespec ts;

	if ((s->hep.fd < 0 && !sip_trace_on(&s->trace)) || !(local = local_of(s, peer)))
		return;
	if (s->hep.fd >= 0)
		hep_sip(&s->hep, out ? local : remote, out ? remote : local, proto, buf, len);
	if (sip_trace_on(&s->trace)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		sip_trace_add(&s->trace, (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000,
			      out, peer->proto, local, sizeof(struct sockaddr_storage), remote,
			      peer->len, buf, len);
	}
}

static int transport_send(void *arg, const struct sip_peer *to, const char *buf, size_t len)
{
	struct sip_server *s = (struct sip_server *)((char *)arg - offsetof(struct sip_server, tp));
	int code = status_code(buf, len);

	if (code)
		s->stats.out_code[code - 100]++;
	hep_copy(s, to, true, buf, len);
	return sip_transport_send(arg, to, buf, len);
}

static void count_in(struct sip_server *s, const osip_message_t *m)
{
	static const char *const names[] = SIP_STAT_METHOD_NAMES;
	int i;

	if (!m->sip_method) {
		if (m->status_code >= 100 && m->status_code <= 699)
			s->stats.in_code[m->status_code - 100]++;
		return;
	}
	for (i = 0; i < SIP_STAT_METHODS - 1 && strcmp(names[i], m->sip_method); i++)
		;
	s->stats.in_method[i]++;
}

/* ---- responses ---- */

osip_message_t *sip_srv_response(struct sip_server *s, const struct rx *rx, int code,
				const char *reason)
{
	char tag[SIP_TAG_LEN + 1];
	osip_message_t *resp;

	sip_msg_make_tag(&s->tag_key, rx->req, tag);
	if (sip_msg_response(rx->req, code, reason, tag, (const struct sockaddr *)&rx->from->addr,
			     &resp))
		return NULL;
	return resp;
}

static void uri_fields(const osip_uri_t *u, char *uri, size_t ulen, char *user, size_t nlen)
{
	char *text = NULL;

	uri[0] = '\0';
	if (u && !osip_uri_to_str(u, &text))
		snprintf(uri, ulen, "%s", text);
	osip_free(text);
	snprintf(user, nlen, "%s", u && u->username ? u->username : "");
}

struct cdr_rec *sip_srv_cdr_new(struct sip_server *s, const struct rx *rx, const char *type,
				const osip_uri_t *callee)
{
	const osip_message_t *req = rx->req;
	const char *cseq;
	struct cdr_rec *r;
	char *text = NULL;

	if (!s->cdr || !(r = malloc(sizeof(*r))))
		return NULL;
	cdr_rec_init(r, s->cdr, type, cdr_now_ms());
	if (req->call_id && !osip_call_id_to_str(req->call_id, &text))
		snprintf(r->a_call_id, sizeof(r->a_call_id), "%s", text);
	osip_free(text);
	uri_fields(req->from ? req->from->url : NULL, r->caller_uri, sizeof(r->caller_uri),
		   r->caller_number, sizeof(r->caller_number));
	uri_fields(callee, r->callee_uri, sizeof(r->callee_uri), r->callee_number,
		   sizeof(r->callee_number));
	sip_peer_host(rx->from, r->caller_ip, sizeof(r->caller_ip), &r->caller_port);
	snprintf(r->caller_ua, sizeof(r->caller_ua), "%s",
		 sip_msg_header(req, "user-agent", 0) ?: "");
	cseq = req->cseq ? req->cseq->number : NULL;
	r->cseq = cseq ? (uint32_t)strtoul(cseq, NULL, 10) : 0;
	sip_srv_local_ip(s, rx->from, r->server_ip, sizeof(r->server_ip), &r->server_port);
	return r;
}

/* A REGISTER's Contact and expiry, or a MESSAGE's text, for its event row. */
static void event_details(struct cdr_rec *r, const struct sip_server *s,
			  const osip_message_t *req)
{
	osip_contact_t *ct = NULL;
	osip_body_t *body = NULL;
	char *text = NULL;
	const char *exp;

	if (!osip_message_get_contact(req, 0, &ct) && ct && !osip_contact_to_str(ct, &text))
		snprintf(r->contact, sizeof(r->contact), "%s", text);
	osip_free(text);
	if (!strcmp(r->type, CDR_TYPE_REGISTER)) {
		osip_generic_param_t *p = NULL;

		exp = sip_msg_header(req, "expires", 0);
		r->expires = exp ? (uint32_t)strtoul(exp, NULL, 10) : s->conf->sip_default_expires;
		if (ct && !osip_contact_param_get_byname(ct, "expires", &p) && p && p->gvalue)
			r->expires = (uint32_t)strtoul(p->gvalue, NULL, 10);
	}
	if (!strcmp(r->type, CDR_TYPE_MESSAGE) && !osip_message_get_body(req, 0, &body) &&
	    body && body->body) {
		size_t n = body->length < sizeof(r->message_body) ? body->length
								  : sizeof(r->message_body) - 1;

		/* Without the line end a client adds. */
		while (n && (body->body[n - 1] == '\n' || body->body[n - 1] == '\r'))
			n--;
		snprintf(r->message_body, sizeof(r->message_body), "%.*s", (int)n, body->body);
	}
}

/*
 * A CDR event row ([cdr] events) for the final answer to an out-of-dialog
 * REGISTER, MESSAGE or OPTIONS. Digest challenges are a step of the
 * exchange, not its outcome: the answer to the retry gets the row.
 */
static void event_row(struct sip_server *s, const struct rx *rx, int code, const char *reason)
{
	static const char *const types[] = { CDR_TYPE_REGISTER, CDR_TYPE_MESSAGE,
					     CDR_TYPE_OPTIONS };
	const osip_message_t *req = rx->req;
	struct cdr_rec *r;
	int i;

	if (!s->cdr || !req || !req->sip_method || code < 200 || code == 401 || code == 407 ||
	    sip_msg_to_tag(req))
		return;
	for (i = 0; i < 3 && strcmp(req->sip_method, types[i]); i++)
		;
	if (i == 3 || !(s->conf->cdr_events & (1u << i)) ||
	    !(r = sip_srv_cdr_new(s, rx, types[i], req->to ? req->to->url : NULL)))
		return;
	r->end_ms = r->invite_ms;
	r->status_code = code;
	snprintf(r->status_text, sizeof(r->status_text), "%s",
		 reason ?: osip_message_get_reason(code) ?: "");
	snprintf(r->disposition, sizeof(r->disposition), "%s", code < 300 ? "OK" : "FAILED");
	snprintf(r->close_reason, sizeof(r->close_reason), CDR_CLOSE_NORMAL);
	event_details(r, s, req);
	cdr_finish(r);
	cdr_write(s->cdr, r);
	free(r);
}

/* Sends resp through rx's transaction, or statelessly when it has none. */
void sip_srv_send(struct sip_server *s, const struct rx *rx, osip_message_t *resp)
{
	char *text;
	size_t len;

	if (!resp)
		return;
	event_row(s, rx, resp->status_code, resp->reason_phrase);
	if (rx->t) {
		sip_txn_reply(rx->t, resp);
		return;
	}
	if (!sip_msg_print(resp, &text, &len)) {
		s->send(s->send_arg, rx->from, text, len);
		osip_free(text);
	}
	osip_message_free(resp);
}

int sip_srv_response_text(struct sip_server *s, const struct rx *rx, int code,
			  const char *reason, const char *extra, size_t extra_len,
			  const char *body, size_t body_len, char *out, size_t outlen,
			  char tag[SIP_TAG_LEN + 1])
{
	const struct sip_resp_head *h = rx->t ? sip_txn_head(rx->t) : NULL;
	struct sip_resp_head local;
	char head[4096];
	int err;

	if (!rx->req || !rx->from)
		return -EINVAL;
	if (!h) {
		if (!rx->buf || !rx->sc)
			return -EINVAL;
		err = sip_msg_resp_head(rx->req, rx->buf, rx->sc,
					(const struct sockaddr *)&rx->from->addr, head,
					sizeof(head), &local);
		if (err)
			return err;
		h = &local;
		/* An INVITE's later responses come when its bytes are gone: keep the head. */
		if (rx->t && code < 200 && sip_txn_kind(rx->t) == SIP_TXN_IST)
			sip_txn_keep_head(rx->t, &local);
	}
	sip_msg_make_tag(&s->tag_key, rx->req, tag);
	return sip_msg_resp_text(h, code, reason, tag, extra, extra_len, body, body_len, out,
				 outlen);
}

void sip_srv_send_text(struct sip_server *s, const struct rx *rx, int code, const char *reason,
		       const char *text, size_t len, const char *tag)
{
	event_row(s, rx, code, reason);
	if (rx->t)
		sip_txn_reply_text(rx->t, code, text, len, tag);
	else
		s->send(s->send_arg, rx->from, text, len);
}

int sip_srv_reply_text(struct sip_server *s, const struct rx *rx, int code, const char *reason,
		       const char *extra, size_t extra_len)
{
	char out[8192], tag[SIP_TAG_LEN + 1];
	int n = sip_srv_response_text(s, rx, code, reason, extra, extra_len, NULL, 0, out,
				      sizeof(out), tag);

	if (n < 0)
		return n;
	sip_srv_send_text(s, rx, code, reason, out, (size_t)n, tag);
	return 0;
}

void sip_srv_reply(struct sip_server *s, const struct rx *rx, int code, const char *reason)
{
	if (sip_srv_reply_text(s, rx, code, reason, NULL, 0))
		sip_srv_send(s, rx, sip_srv_response(s, rx, code, reason));
}

/* A response to a request libosip2 could not parse, from its raw lines. */
static void reply_raw(struct sip_server *s, const struct sip_peer *from, char *buf,
		      const struct sip_scan *sc, int code, const char *reason)
{
	char tag[SIP_TAG_LEN + 1], out[8192];
	int n;

	sip_msg_make_tag_raw(&s->tag_key, buf, sc, tag);
	n = sip_msg_raw_response(buf, sc, code, reason, tag, out, sizeof(out));
	if (n > 0)
		s->send(s->send_arg, from, out, (size_t)n);
	else
		s->stats.dropped++;
}

static void add_date(osip_message_t *resp)
{
	char date[64];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	osip_message_set_header(resp, "Date", date);
}

/* ---- authentication ---- */

/* A 401 or 407 with a challenge per algorithm of algs, sharing one nonce. */
static void challenge(struct sip_server *s, const struct rx *rx, bool proxy, bool stale,
		      const struct digest_algs *algs)
{
	const char *name = proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
	char chal[DIGEST_ALG_N][DIGEST_CHALLENGE_MAX];
	char extra[DIGEST_ALG_N * (DIGEST_CHALLENGE_MAX + 32)];
	osip_message_t *resp;
	size_t elen = 0;
	int n = digest_challenges(&s->digest, s->conf->sip_domain, algs, stale,
				  (uint64_t)s->now(), chal);

	if (n < 0) {
		sip_srv_reply(s, rx, 500, "Challenge not made");
		return;
	}
	s->stats.challenges++;
	s->stats.stale += stale;
	for (int i = 0; i < n; i++) {
		int w = snprintf(extra + elen, sizeof(extra) - elen, "%s: %s\r\n", name, chal[i]);

		if (w < 0 || (size_t)w >= sizeof(extra) - elen)
			break;
		elen += (size_t)w;
	}
	if (!sip_srv_reply_text(s, rx, proxy ? 407 : 401, NULL, extra, elen))
		return;
	resp = sip_srv_response(s, rx, proxy ? 407 : 401, NULL);
	if (!resp)
		return;
	for (int i = 0; i < n; i++)
		osip_message_set_header(resp, name, chal[i]);
	sip_srv_send(s, rx, resp);
}

/* The credentials for our realm among the request's (Proxy-)Authorization headers. */
static int find_creds(struct sip_server *s, const osip_message_t *req, bool proxy,
		      struct digest_creds *c)
{
	osip_authorization_t *a;
	int found = -ENOENT;

	for (int pos = 0;; pos++) {
		/* libosip2's getters return the position found, or a negative code. */
		if ((proxy ? osip_message_get_proxy_authorization(req, pos, &a)
			   : osip_message_get_authorization(req, pos, &a)) < 0)
			break;
		if (!a->auth_type || strcasecmp(a->auth_type, "Digest"))
			continue;
		if (digest_creds_from_osip(a, c)) {
			found = -EINVAL;
			continue;
		}
		if (!strcmp(c->realm, s->conf->sip_domain))
			return 0;
	}
	return found;
}

/* The subscriber of a digest user name: "1001", or "1001@domain" (an IMPI). */
static int subscriber_of(struct sip_server *s, const char *user, struct subscriber *sub)
{
	char name[SUB_USER_MAX];
	const char *at;

	if (!s->store)
		return -ENOENT;
	if (!subscriber_get(s->store, user, sub))
		return 0;
	at = strchr(user, '@');
	if (!at || strcmp(at + 1, s->conf->sip_domain) || (size_t)(at - user) >= sizeof(name))
		return -ENOENT;
	memcpy(name, user, (size_t)(at - user));
	name[at - user] = '\0';
	return subscriber_get(s->store, name, sub);
}

static void auth_failed(struct sip_server *s, const struct rx *rx, const char *user,
			const char *why)
{
	char pbuf[64];

	s->stats.auth_failed++;
	LOG(L_INFO, "[sip] %s from %s: authentication of \"%s\" failed: %s",
	    rx->req->sip_method, peer_str(rx->from, pbuf, sizeof(pbuf)), user, why);
	protect_fail(&s->protect, (const struct sockaddr *)&rx->from->addr, s->now());
}

/* [sip] digest: the algorithms of subscribers without their own, and of unknown users. */
static void default_algs(const struct sip_server *s, struct digest_algs *out)
{
	out->n = 0;
	for (int i = 0; i < s->conf->sip_ndigest && i < DIGEST_ALG_N; i++)
		out->alg[out->n++] = s->conf->sip_digest[i];
}

/*
 * The algorithms a request without credentials is challenged with: those
 * of the subscriber its From names (the one who answers, a REGISTER's
 * "person responsible" too, RFC 3261 section 10.2), [sip] digest's for one
 * without its own and for an unknown user alike.
 */
static void claimed_algs(struct sip_server *s, const struct rx *rx, struct digest_algs *out)
{
	const osip_from_t *who = rx->req->from;
	char aor[SUB_IMPU_MAX];
	struct digest_algs dflt;
	struct subscriber sub;

	default_algs(s, &dflt);
	*out = dflt;
	if (s->store && who && !registrar_aor(who->url, s->conf->sip_domain, aor, sizeof(aor)) &&
	    !subscriber_get_by_impu(s->store, aor, &sub))
		*out = *subscriber_digest(&sub, &dflt);
}

/* What a digest-uri may name besides the Request-URI: our domain and listeners. */
_Static_assert(SIP_SELF_MAX >= SIP_MAX_LISTENERS, "every listener names this server");
static void self_of(struct sip_server *s, struct sip_self *self)
{
	const struct sockaddr *l;
	socklen_t len;

	memset(self, 0, sizeof(*self));
	self->domain = s->conf->sip_domain;
	self->host = &s->host_addrs;
	self->now_ms = loop_now_ms(s->loop);
	for (int i = 0; s->tp_open && i < s->tp.nl && self->n < SIP_SELF_MAX; i++) {
		l = sip_transport_local(&s->tp, i, &len);
		if (l && len <= sizeof(self->addr[0]))
			memcpy(&self->addr[self->n++], l, len);
	}
	if (!self->n && s->conf->sip_listen.len) {	/* a server without its transports */
		self->addr[0] = s->conf->sip_listen.ss;
		self->n = 1;
	}
}

/*
 * Returns 0 with *sub set when rx's request carries valid credentials of
 * an ACTIVE subscriber; otherwise it has answered (challenge, 400, 403).
 */
int sip_srv_authenticate(struct sip_server *s, const struct rx *rx, struct subscriber *sub)
{
	bool proxy = strcmp(rx->req->sip_method, "REGISTER") != 0;
	struct digest_algs algs, dflt;
	const char *ha1 = NULL;
	struct digest_creds c;
	enum digest_verdict v;
	struct sip_self self;
	bool known;
	int err;

	err = find_creds(s, rx->req, proxy, &c);
	if (err == -ENOENT) {
		claimed_algs(s, rx, &algs);
		challenge(s, rx, proxy, false, &algs);
		return -EACCES;
	}
	if (err) {
		sip_srv_reply(s, rx, 400, "Malformed credentials");
		return -EACCES;
	}
	default_algs(s, &dflt);
	known = !subscriber_of(s, c.username, sub);
	algs = *subscriber_digest(known ? sub : NULL, &dflt);
	/* No downgrade: credentials in an algorithm this user is not challenged with fail. */
	if (!digest_algs_has(&algs, c.alg)) {
		auth_failed(s, rx, c.username, "algorithm not offered");
		challenge(s, rx, proxy, false, &algs);
		return -EACCES;
	}
	if (known)
		ha1 = subscriber_ha1(sub, c.alg);
	self_of(s, &self);
	if (!sip_digest_uri_ok(c.uri, rx->req->req_uri, &self)) {
		sip_srv_reply(s, rx, 400, "Digest URI does not match the Request-URI");
		return -EACCES;
	}
	v = digest_verify(&s->digest, &c, s->conf->sip_domain, rx->req->sip_method, ha1,
			  (uint64_t)s->now());
	switch (v) {
	case DIGEST_OK:
		break;
	case DIGEST_STALE:
		challenge(s, rx, proxy, true, &algs);
		return -EACCES;
	default:
		auth_failed(s, rx, c.username, digest_verdict_name(v));
		challenge(s, rx, proxy, false, &algs);
		return -EACCES;
	}
	/* digest_verify took the dummy HA1 for an unknown user: never OK. */
	if (!known)
		return -EACCES;
	if (sub->status != SUB_ACTIVE) {
		LOG(L_INFO, "[sip] %s of %s refused: subscriber %s", rx->req->sip_method,
		    sub->username, subscriber_status_name(sub->status));
		sip_srv_reply(s, rx, 403, "Subscriber not active");
		return -EACCES;
	}
	s->stats.auth_ok++;
	return 0;
}

/* ---- handlers ---- */

/* A parked REGISTER's transaction ended (its TU deadline) before the commit. */
static void parked_txn_end(struct sip_txn *t, int code, void *arg)
{
	struct sip_pending *p = arg;

	(void)t;
	(void)code;
	p->t = NULL;
}

/* The writer committed the bindings: the 200 goes out now. */
static void parked_committed(struct store_op *op, void *arg)
{
	struct sip_pending *p = arg;

	(void)op;
	if (p->t) {
		sip_txn_set_end(p->t, NULL, NULL);
		sip_txn_reply(p->t, p->resp);
	} else {
		osip_message_free(p->resp);
	}
	free(p);
}

/*
 * With a writer thread, a 200 to a REGISTER leaves only once the writer
 * has committed its bindings: it waits on a fence behind them. 0 when
 * parked (the response is the fence's), -errno to send it now.
 */
static int park_register(struct sip_server *s, const struct rx *rx, osip_message_t *resp)
{
	struct sip_pending *p;

	if (!s->store || !s->store->wq || !rx->t)
		return -ENOENT;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->t = rx->t;
	p->resp = resp;
	if (store_q_fence(s->store->wq, parked_committed, p)) {
		free(p);
		return -ENOMEM;
	}
	sip_txn_set_end(rx->t, parked_txn_end, p);
	event_row(s, rx, resp->status_code, resp->reason_phrase);
	return 0;
}

/* Back-pressure: new work is refused with 503 while the store's writer is behind. */
bool sip_srv_store_full(struct sip_server *s, const struct rx *rx)
{
	osip_message_t *resp;

	if (!s->store || !s->store->wq || !store_q_full(s->store->wq))
		return false;
	s->stats.store_refused++;
	resp = sip_srv_response(s, rx, 503, "Store busy");
	if (resp) {
		osip_message_set_header(resp, "Retry-After", SIP_STORE_RETRY_AFTER);
		sip_srv_send(s, rx, resp);
	}
	return true;
}

static void handle_register(struct sip_server *s, const struct rx *rx)
{
	struct subscriber sub;
	struct reg_result res;
	char aor[SUB_IMPU_MAX];
	osip_message_t *resp;
	int64_t now;

	/* RFC 3261 §10.2: the AOR in To is a SIP or SIPS URI with a user. */
	if (!rx->req->to || registrar_aor(rx->req->to->url, s->conf->sip_domain, aor,
					  sizeof(aor))) {
		sip_srv_reply(s, rx, 400, "Bad To: no address-of-record");
		return;
	}
	if (sip_srv_store_full(s, rx))
		return;
	if (sip_srv_authenticate(s, rx, &sub))
		return;
	if (strcmp(aor, sub.impu)) {
		LOG(L_INFO, "[reg] REGISTER: %s may not register %s", sub.username, aor);
		sip_srv_reply(s, rx, 403, "Not the owner of this address-of-record");
		return;
	}
	now = s->now();
	registrar_register(&s->reg, rx->req, rx->from, &sub, now, &res);
	resp = sip_srv_response(s, rx, res.code, res.reason);
	if (!resp)
		return;
	if (res.code == 423) {
		char v[16];

		snprintf(v, sizeof(v), "%u", s->reg.min_expires);
		osip_message_set_header(resp, "Min-Expires", v);
	}
	if (res.code == 200) {
		int parked;

		registrar_contacts(res.aor, now, resp);
		add_date(resp);
		if (sip_proto_reliable(rx->from->proto) && s->tp_open)
			sip_transport_hold(&s->tp, rx->from, 1000ull * s->reg.max_expires);
		parked = park_register(s, rx, resp);
		if (!parked)
			return;
		if (parked == -ENOMEM) {
			/* A 200 must not leave before its commit: the phone tries again. */
			osip_message_free(resp);
			sip_srv_reply(s, rx, 503, "Out of memory");
			return;
		}
		if (s->reg.batch_open && rx->t) {
			struct sip_pending *p = malloc(sizeof(*p));

			if (p) {
				p->t = rx->t;
				p->resp = resp;
				p->next = s->pending;
				s->pending = p;
				event_row(s, rx, res.code, res.reason);
				loop_timer_arm(s->loop, &s->flush_timer, 0);
				return;
			}
		}
	}
	sip_srv_send(s, rx, resp);
}

void sip_server_flush(struct sip_server *s)
{
	struct sip_pending *p, *next;
	int err = registrar_flush(&s->reg);

	loop_timer_cancel(s->loop, &s->flush_timer);
	for (p = s->pending, s->pending = NULL; p; p = next) {
		next = p->next;
		if (err) {
			const osip_message_t *req = sip_txn_request(p->t);
			char tag[SIP_TAG_LEN + 1];
			osip_message_t *r500;

			osip_message_free(p->resp);
			p->resp = NULL;
			if (req) {
				sip_msg_make_tag(&s->tag_key, req, tag);
				if (!sip_msg_response(req, 500, "Registrations not stored", tag,
						      (const struct sockaddr *)&sip_txn_peer(p->t)->addr,
						      &r500))
					p->resp = r500;
			}
		}
		if (p->resp)
			sip_txn_reply(p->t, p->resp);
		free(p);
	}
}

static void on_flush_timer(struct loop *loop, void *arg)
{
	(void)loop;
	sip_server_flush(arg);
}

static void handle_options(struct sip_server *s, const struct rx *rx)
{
	osip_message_t *resp = sip_srv_response(s, rx, 200, NULL);

	if (!resp)
		return;
	osip_message_set_header(resp, "Allow", SIP_ALLOW);
	osip_message_set_header(resp, "Accept", SIP_ACCEPT);
	osip_message_set_header(resp, "Supported", "");
	osip_message_set_header(resp, "Accept-Language", "en");
	sip_srv_send(s, rx, resp);
}

/* The address part of a sockaddr, port zero, the rest cleared: a cache key (in may be out). */
static void addr_only(const struct sockaddr_storage *in, struct sockaddr_storage *out)
{
	struct sockaddr_storage a;

	memset(&a, 0, sizeof(a));
	a.ss_family = in->ss_family;
	if (in->ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_addr = ((const struct sockaddr_in *)in)->sin_addr;
	else if (in->ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a)->sin6_addr = ((const struct sockaddr_in6 *)in)->sin6_addr;
	*out = a;
}

/*
 * Which source address the kernel would pick towards the peer (port
 * zero): a UDP socket connected to it tells, remembered for
 * SIP_SRC_CACHE_MS in a slot chosen by the peer's address.
 */
static int source_for(struct sip_server *s, const struct sip_peer *to,
		      struct sockaddr_storage *src)
{
	struct sockaddr_storage key;
	struct sip_src_cache *e;
	socklen_t len = sizeof(*src);
	uint64_t now = loop_now_ms(s->loop);
	uint32_t h = 2166136261u;
	int fd;

	addr_only(&to->addr, &key);
	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ ((const uint8_t *)&key)[i]) * 16777619u;
	e = &s->src_cache[h % SIP_SRC_CACHE];
	if (e->until_ms > now && !memcmp(&e->to, &key, sizeof(key))) {
		*src = e->src;
		return 0;
	}
	fd = socket(to->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&to->addr, to->len) ||
	    getsockname(fd, (struct sockaddr *)src, &len)) {
		int err = -errno;

		if (fd >= 0)
			close(fd);
		return err;
	}
	close(fd);
	addr_only(src, src);
	e->to = key;
	e->src = *src;
	e->until_ms = now + SIP_SRC_CACHE_MS;
	return 0;
}

/* Our address towards peer, for a Via: the listener's, or the route's when it is a wildcard. */
int sip_srv_local_for(struct sip_server *s, const struct sip_peer *to, char *host, size_t hlen,
		     uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const struct sockaddr *l = NULL;
	bool any;
	int err;

	if (s->tp_open)
		l = sip_transport_local_for(&s->tp, to->proto, to->addr.ss_family, &len);
	if (l) {
		memcpy(&ss, l, l->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						       : sizeof(struct sockaddr_in6));
	} else {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = to->addr.ss_family;
	}
	*port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	any = ss.ss_family == AF_INET
		? ((struct sockaddr_in *)&ss)->sin_addr.s_addr == INADDR_ANY
		: IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
	if (any) {
		err = source_for(s, to, &ss);
		if (err)
			return err;
	}
	if (ss.ss_family == AF_INET) {
		ip_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, (socklen_t)hlen);
	} else {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a));
		snprintf(host, hlen, "[%s]", a);
	}
	return 0;
}

void sip_srv_local_ip(struct sip_server *s, const struct sip_peer *to, char *ip, size_t n,
		      uint16_t *port)
{
	char host[64];
	const char *h = host;

	ip[0] = '\0';
	*port = 0;
	if (sip_srv_local_for(s, to, host, sizeof(host), port))
		return;
	if (host[0] == '[')
		h++;
	snprintf(ip, n, "%.*s", (int)strcspn(h, "]"), h);
}

int sip_srv_via_for(struct sip_server *s, const struct sip_peer *to, char *via, size_t n)
{
	char host[64], branch[32];
	uint16_t port;
	int err, k;

	err = sip_srv_local_for(s, to, host, sizeof(host), &port);
	if (err)
		return err;
	sip_txn_new_branch(&s->txns, branch);
	k = snprintf(via, n, "SIP/2.0/%s %s:%u;branch=%s;rport", sip_proto_name(to->proto), host,
		     port, branch);
	return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

int sip_srv_set_top_via(struct sip_server *s, osip_message_t *m, const struct sip_peer *to)
{
	char via[SIP_VIA_MAX];
	osip_via_t *v;
	int err;

	while ((v = osip_list_get(&m->vias, 0))) {
		osip_list_remove(&m->vias, 0);
		osip_via_free(v);
	}
	err = sip_srv_via_for(s, to, via, sizeof(via));
	if (err)
		return err;
	return osip_message_set_via(m, via) ? -ENOMEM : 0;
}

static void fork_answer(struct msg_fork *f, int code)
{
	struct rx rx = { 0 };
	osip_message_t *resp;
	char tag[SIP_TAG_LEN + 1];

	if (!f->st)
		return;
	rx.req = (osip_message_t *)sip_txn_request(f->st);
	rx.from = sip_txn_peer(f->st);
	rx.t = f->st;
	if (rx.req) {
		sip_msg_make_tag(&f->s->tag_key, rx.req, tag);
		if (!sip_msg_response(rx.req, code, NULL, tag,
				      (const struct sockaddr *)&rx.from->addr, &resp)) {
			event_row(f->s, &rx, code, NULL);
			sip_txn_reply(f->st, resp);
		}
	}
	f->st = NULL;
}

static void fork_end(struct sip_txn *t, int code, void *arg)
{
	struct msg_fork *f = arg;

	(void)t;
	(void)code;
	f->st = NULL;
	if (!f->pending) {
		disown(f->s, &f->node);
		free(f);
	}
}

static void fork_response(struct sip_txn *t, const osip_message_t *resp, int code, void *arg)
{
	struct msg_fork *f = arg;

	(void)t;
	(void)resp;
	if (code < 200)
		return;
	f->pending--;
	if (code < 300) {
		fork_answer(f, code);
	} else if (code < f->best) {
		f->best = code;
	}
	if (f->pending)
		return;
	/* Every branch failed: timeouts and transport errors say unavailable. */
	if (f->st)
		fork_answer(f, f->best == 408 || f->best == 503 ? 480 : f->best);
	disown(f->s, &f->node);
	free(f);
}

/* A copy of req for one binding: its Request-URI, our Via, Max-Forwards less one. */
static osip_message_t *fork_request(struct sip_server *s, const osip_message_t *req,
				    const struct reg_binding *rb)
{
	osip_message_t *m;
	osip_header_t *mf = NULL;
	osip_uri_t *uri;
	void *p;

	if (osip_message_clone(req, &m))
		return NULL;
	if (osip_uri_init(&uri) || osip_uri_parse(uri, rb->b.contact)) {
		osip_uri_free(uri);
		goto fail;
	}
	osip_uri_free(m->req_uri);
	m->req_uri = uri;
	while ((p = osip_list_get(&m->proxy_authorizations, 0))) {
		osip_list_remove(&m->proxy_authorizations, 0);
		osip_proxy_authorization_free(p);
	}
	while ((p = osip_list_get(&m->routes, 0))) {
		osip_list_remove(&m->routes, 0);
		osip_route_free(p);
	}
	if (osip_message_header_get_byname(m, "max-forwards", 0, &mf) >= 0 && mf && mf->hvalue) {
		char v[12];

		snprintf(v, sizeof(v), "%d", atoi(mf->hvalue) - 1);
		osip_free(mf->hvalue);
		mf->hvalue = osip_strdup(v);
	}
	if (sip_srv_set_top_via(s, m, &rb->peer))
		goto fail;
	osip_message_force_update(m);
	return m;
fail:
	osip_message_free(m);
	return NULL;
}

static void handle_message(struct sip_server *s, const struct rx *rx)
{
	const struct reg_aor *a;
	struct subscriber sub;
	struct msg_fork *f;
	char target[SUB_IMPU_MAX];

	if (sip_srv_authenticate(s, rx, &sub))
		return;
	if (registrar_aor(rx->req->req_uri, s->conf->sip_domain, target, sizeof(target)) ||
	    !s->store || subscriber_get_by_impu(s->store, target, &sub)) {
		sip_srv_reply(s, rx, 404, NULL);
		return;
	}
	a = registrar_lookup(&s->reg, target, s->now());
	if (!a) {
		sip_srv_reply(s, rx, 480, NULL);
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		sip_srv_reply(s, rx, 500, NULL);
		return;
	}
	f->s = s;
	f->st = rx->t;
	own(s, &f->node);
	f->best = 699;
	for (const struct reg_binding *rb = a->bindings; rb; rb = rb->next) {
		osip_message_t *m;

		if (rb->b.expires <= s->now())
			continue;
		m = fork_request(s, rx->req, rb);
		if (!m)
			continue;
		if (!sip_txn_client_new(&s->txns, m, &rb->peer, fork_response, f, NULL))
			f->pending++;
	}
	s->stats.messages++;
	if (!f->pending) {
		sip_srv_reply(s, rx, 480, NULL);
		disown(s, &f->node);
		free(f);
		return;
	}
	sip_txn_set_end(rx->t, fork_end, f);
}

/* The option tags we support: reliable provisionals and session timers. */
static bool option_supported(const char *tag, size_t len)
{
	return (len == 6 && !strncasecmp(tag, "100rel", 6)) ||
	       (len == 5 && !strncasecmp(tag, "timer", 5));
}

/* Require: option tags we lack answer 420 with them in Unsupported (RFC 3261 §8.2.2.3). */
static bool unsupported_required(struct sip_server *s, const struct rx *rx)
{
	char missing[256] = "";
	osip_message_t *resp;
	const char *req;
	size_t n = 0;

	if (!strcmp(rx->req->sip_method, "ACK") || !strcmp(rx->req->sip_method, "CANCEL"))
		return false;
	for (int i = 0; (req = sip_msg_header(rx->req, "require", i)); i++) {
		for (const char *p = req; *p;) {
			size_t len;

			p += strspn(p, ", \t");
			len = strcspn(p, ", \t");
			if (len && !option_supported(p, len) && n + len + 3 < sizeof(missing))
				n += (size_t)snprintf(missing + n, sizeof(missing) - n, "%s%.*s",
						      n ? ", " : "", (int)len, p);
			p += len;
		}
	}
	if (!n)
		return false;
	resp = sip_srv_response(s, rx, 420, NULL);
	if (resp)
		osip_message_set_header(resp, "Unsupported", missing);
	sip_srv_send(s, rx, resp);
	return true;
}

static void dispatch(struct sip_server *s, struct rx *rx)
{
	const char *method = rx->req->sip_method;

	if (unsupported_required(s, rx))
		return;
	if (!strcmp(method, "OPTIONS") && !sip_msg_to_tag(rx->req)) {
		handle_options(s, rx);
		return;
	}
	if (sip_msg_to_tag(rx->req)) {
		if (!s->calls || !s->calls->in_dialog(s, rx))
			sip_srv_reply(s, rx, 481, NULL);
		return;
	}
	if (!strcmp(method, "REGISTER")) {
		handle_register(s, rx);
	} else if (!strcmp(method, "MESSAGE")) {
		if (!sip_srv_store_full(s, rx))
			handle_message(s, rx);
	} else if (!strcmp(method, "INVITE") && s->calls) {
		struct subscriber caller;

		/* A call is promised CDR writes: none begins while the store is behind. */
		if (sip_srv_store_full(s, rx))
			return;
		/* The trunk is known by its address; everyone else by digest. */
		if (s->calls->from_trunk(s, rx->from))
			s->calls->invite(s, rx, NULL);
		else if (!sip_srv_authenticate(s, rx, &caller))
			s->calls->invite(s, rx, &caller);
	} else {
		struct subscriber sub;
		osip_message_t *resp;

		/* Scanners learn nothing unauthenticated, not even our methods. */
		if (sip_srv_authenticate(s, rx, &sub))
			return;
		resp = sip_srv_response(s, rx, 405, NULL);
		if (resp)
			osip_message_set_header(resp, "Allow", SIP_ALLOW);
		sip_srv_send(s, rx, resp);
	}
}

static void handle_request(struct sip_server *s, struct rx *rx)
{
	const char *method = rx->req->sip_method;
	struct sip_txn *inv;
	int m;

	if (!strcmp(method, "ACK")) {
		if (sip_txn_server_match(&s->txns, rx->req, rx->from) != SIP_TXN_ABSORBED) {
			sip_txn_ack_2xx(&s->txns, rx->req);
			if (s->calls)
				s->calls->ack(s, rx);
		}
		return;
	}
	m = sip_txn_server_match(&s->txns, rx->req, rx->from);
	if (m == SIP_TXN_ABSORBED)
		return;
	if (m < 0) {
		sip_srv_reply(s, rx, 400, "Bad Via");
		return;
	}
	if (!strcmp(method, "CANCEL")) {
		inv = sip_txn_find_invite(&s->txns, rx->req);
		sip_srv_reply(s, rx, inv ? 200 : 481, NULL);
		if (inv && s->calls)
			s->calls->cancel(s, inv);
		return;
	}
	if (sip_txn_server_new(&s->txns, rx->req, rx->from, &rx->t)) {
		sip_srv_reply(s, rx, 503, "Overloaded");
		return;
	}
	dispatch(s, rx);
	rx->req = NULL;		/* the transaction's now */
}

static bool scanner_ua(struct sip_server *s, const osip_message_t *m)
{
	return s->protect.nscanners &&
	       protect_scanner_ua(&s->protect, sip_msg_header(m, "user-agent", 0));
}

static bool blocked(struct sip_server *s, const struct sip_peer *from)
{
	return protect_blocked(&s->protect, (const struct sockaddr *)&from->addr, s->now());
}

static void answer_stun(struct sip_server *s, const struct sip_peer *from, const char *buf,
			size_t len)
{
	uint8_t out[STUN_MAX_RESPONSE];
	int n = stun_answer((const uint8_t *)buf, len, (const struct sockaddr *)&from->addr, out,
			    sizeof(out));

	if (n > 0) {
		s->stats.stun++;
		s->send(s->send_arg, from, (const char *)out, (size_t)n);
	}
}

/*
 * What every request must pass before it is a transaction: a Request-URI
 * scheme we serve (416, RFC 3261 §8.2.2.1) and hops left (483 at
 * Max-Forwards 0, §16.3: the request does not go further).
 */
static int request_limits(const struct rx *rx, const char **reason)
{
	const char *mf = sip_msg_header(rx->req, "max-forwards", 0);
	const char *scheme = rx->req->req_uri ? rx->req->req_uri->scheme : NULL;

	if (!strcmp(rx->req->sip_method, "ACK"))
		return 0;
	if (!scheme || !sip_msg_uri_scheme_ok(scheme)) {
		*reason = NULL;
		return 416;
	}
	if (mf && strtoul(mf, NULL, 10) == 0) {
		*reason = NULL;
		return 483;
	}
	return 0;
}

void sip_server_input(struct sip_server *s, const struct sip_peer *from, char *buf, size_t len,
		      unsigned flags)
{
	const char *reason = NULL;
	struct sip_scan sc;
	struct rx rx = { .from = from, .buf = buf, .sc = &sc };
	int code, err;

	if (blocked(s, from)) {
		s->stats.blocked++;
		return;
	}
	if (from->proto == SIP_UDP && stun_is_packet(buf, len)) {
		answer_stun(s, from, buf, len);
		return;
	}
	hep_copy(s, from, false, buf, len);
	err = sip_msg_scan(buf, len, &sc);
	if (err) {
		s->stats.dropped++;
		return;
	}
	if (flags & SIP_RX_OVERSIZE) {
		if (sc.request)
			reply_raw(s, from, buf, &sc, 513, NULL);
		s->stats.bad++;
		return;
	}
	if (sc.code || (flags & SIP_RX_BAD_FRAME)) {
		if (sc.request)
			reply_raw(s, from, buf, &sc, sc.code ? sc.code : 400,
				  sc.code ? sc.reason : "Bad Content-Length");
		s->stats.bad++;
		return;
	}
	err = sip_msg_parse(buf, len, &sc, &rx.req);
	if (err) {
		char why[128];

		s->stats.bad++;
		if (!sc.request || err == -ENOMEM)
			return;
		code = sip_msg_diagnose(buf, &sc, why, sizeof(why));
		reply_raw(s, from, buf, &sc, code, why);
		return;
	}
	code = sip_msg_check(rx.req, &sc, &reason);
	if (code) {
		s->stats.bad++;
		if (!sc.request || !strcmp(rx.req->sip_method, "ACK"))
			goto out;
		/* Without From, To or Call-ID only the raw lines make an answer. */
		if (rx.req->from && rx.req->to && rx.req->call_id)
			sip_srv_reply(s, &rx, code, reason);
		else
			reply_raw(s, from, buf, &sc, code, reason);
		goto out;
	}
	if (scanner_ua(s, rx.req)) {
		s->stats.scanners++;
		goto out;
	}
	count_in(s, rx.req);
	if (!sc.request) {
		s->stats.responses++;
		sip_txn_client_match(&s->txns, rx.req);
		goto out;
	}
	s->stats.requests++;
	code = request_limits(&rx, &reason);
	if (code) {
		sip_srv_reply(s, &rx, code, reason);
		goto out;
	}
	handle_request(s, &rx);
out:
	osip_message_free(rx.req);
}

/* ---- upkeep ---- */

static void on_purge(struct loop *loop, void *arg)
{
	struct sip_server *s = arg;
	int n;

	sip_server_flush(s);
	n = registrar_purge(&s->reg, s->now());

	if (n > 0)
		LOG(L_INFO, "[reg] %d binding%s expired", n, n == 1 ? "" : "s");
	loop_timer_arm(loop, &s->purge_timer, SIP_PURGE_MS);
}

struct keepalive_probe {
	struct owned		node;		/* first: freed through it */
	struct sip_server	*s;
	char			aor[SUB_IMPU_MAX];
	char			contact[BINDING_URI_MAX];
};

static void probe_response(struct sip_txn *t, const osip_message_t *resp, int code, void *arg)
{
	struct keepalive_probe *p = arg;

	(void)t;
	(void)resp;
	if (code < 200)
		return;
	/* Any answer proves the binding reachable; silence or an error does not. */
	if (code == 408 || code == 503) {
		p->s->stats.keepalive_dead++;
		LOG(L_INFO, "[reg] binding of %s to %s does not answer keepalives: removed",
		    p->aor, p->contact);
		registrar_remove(&p->s->reg, p->aor, p->contact);
	}
	disown(p->s, &p->node);
	free(p);
}

static int send_options_probe(struct sip_server *s, const struct reg_binding *rb)
{
	struct keepalive_probe *p;
	osip_message_t *m;
	char text[2048], tag[17];
	int n;

	snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)sip_hash_buf(
			 &s->tag_key, &s->call_seq, sizeof(s->call_seq)));
	n = snprintf(text, sizeof(text),
		     "OPTIONS %s SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 0.0.0.0;branch=z9hG4bK0\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:keepalive@%s>;tag=%s\r\n"
		     "To: <%s>\r\n"
		     "Call-ID: ka%llu-%s@%s\r\n"
		     "CSeq: 1 OPTIONS\r\n"
		     "Content-Length: 0\r\n\r\n",
		     rb->b.contact, s->conf->sip_domain, tag, rb->b.contact,
		     (unsigned long long)s->call_seq++, tag, s->conf->sip_domain);
	if (n >= (int)sizeof(text) || osip_message_init(&m))
		return -ENOMEM;
	if (osip_message_parse(m, text, (size_t)n) || sip_srv_set_top_via(s, m, &rb->peer)) {
		osip_message_free(m);
		return -EINVAL;
	}
	osip_message_force_update(m);
	p = calloc(1, sizeof(*p));
	if (!p) {
		osip_message_free(m);
		return -ENOMEM;
	}
	p->s = s;
	own(s, &p->node);
	snprintf(p->aor, sizeof(p->aor), "%s", rb->b.aor);
	snprintf(p->contact, sizeof(p->contact), "%s", rb->b.contact);
	if (sip_txn_client_new(&s->txns, m, &rb->peer, probe_response, p, NULL)) {
		disown(s, &p->node);
		free(p);
		return -EIO;
	}
	return 0;
}

static int keepalive_one(const struct reg_binding *rb, void *arg)
{
	struct sip_server *s = arg;

	if (!rb->b.nat || rb->b.expires <= s->now())
		return 0;
	s->stats.keepalives++;
	if (s->conf->sip_keepalive_options)
		send_options_probe(s, rb);
	else
		s->send(s->send_arg, &rb->peer, "\r\n\r\n", 4);
	return 0;
}

static void on_keepalive(struct loop *loop, void *arg)
{
	struct sip_server *s = arg;

	registrar_foreach(&s->reg, keepalive_one, s);
	loop_timer_arm(loop, &s->keepalive_timer, 1000ull * s->conf->sip_keepalive);
}

/* ---- life ---- */

const char *sip_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	}
	return buf;
}

/* [hep] collector: a failure costs the copies, never the service. */
static void start_hep(struct sip_server *s, const struct conf *c)
{
	const struct conf_addr *a = &c->hep_collector;
	char addr[64];
	int err;

	if (a->ss.ss_family == AF_UNSPEC)
		return;
	sip_addr_str((const struct sockaddr *)&a->ss, addr, sizeof(addr));
	err = hep_open(&s->hep, (const struct sockaddr *)&a->ss, a->len, c->hep_capture_id);
	if (err)
		LOG(L_ERROR, "[sip] HEP collector %s: %s; no copies sent", addr, strerror(-err));
	else
		LOG(L_INFO, "[sip] a HEP3 copy of every SIP message goes to %s (capture id %u)",
		    addr, c->hep_capture_id);
}

/* [http] trace: without memory for it, the tracker stays off. */
static void start_trace(struct sip_server *s, const struct conf *c)
{
	if (c->http_trace && sip_trace_init(&s->trace, c->http_trace_size))
		LOG(L_ERROR, "[sip] no memory for %u traced messages; the SIP tracker is off",
		    c->http_trace_size);
}

int sip_server_trace(struct sip_server *s, bool on, unsigned size)
{
	if (on == sip_trace_on(&s->trace))
		return 0;
	if (!on) {
		sip_trace_fini(&s->trace);
		return 0;
	}
	return sip_trace_init(&s->trace, size);
}

int sip_server_init(struct sip_server *s, struct loop *loop, const struct conf *c,
		    struct store *st, sip_send_fn send, void *send_arg)
{
	int err, n;

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->conf = c;
	s->store = st;
	s->stun_fd = -1;
	s->hep.fd = -1;
	s->now = wall_now;
	s->send = send ? send : transport_send;
	s->send_arg = send ? send_arg : &s->tp;
	sip_msg_init();
	sip_hash_key_random(&s->tag_key);
	err = sip_txns_init(&s->txns, loop, s->send, s->send_arg);
	if (err)
		return err;
	err = digest_ctx_init(&s->digest, c->sip_nonce_lifetime);
	if (err)
		goto out_txns;
	err = registrar_init(&s->reg, st, c->sip_min_expires, c->sip_max_expires,
			     c->sip_default_expires);
	if (err)
		goto out_digest;
	n = registrar_load(&s->reg, s->now());
	if (n > 0)
		LOG(L_INFO, "[reg] %d registration%s restored from the database", n,
		    n == 1 ? "" : "s");
	loop_timer_init(&s->purge_timer, on_purge, s);
	loop_timer_init(&s->keepalive_timer, on_keepalive, s);
	loop_timer_init(&s->flush_timer, on_flush_timer, s);
	/* With a writer thread, it group-commits; without, the registrar does. */
	s->reg.batch = st && !st->wq;
	err = protect_init(&s->protect, c->sip_auth_fail_limit, c->sip_auth_fail_window,
			   c->sip_auth_block_time);
	if (err)
		goto out_reg;
	protect_set_scanners(&s->protect, c->sip_scanners);
	sip_server_blacklist(s);
	start_hep(s, c);
	start_trace(s, c);
	return 0;

out_reg:
	protect_fini(&s->protect);
	registrar_fini(&s->reg);
out_digest:
	digest_ctx_fini(&s->digest);
out_txns:
	sip_txns_fini(&s->txns);
	return err;
}

static void on_rx(void *arg, const struct sip_peer *from, char *buf, size_t len, unsigned flags)
{
	sip_server_input(arg, from, buf, len, flags);
}

/* [sip] stun: Binding requests on their own UDP port of the listen address. */
static void on_stun(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct sip_server *s = arg;
	char buf[1500];

	(void)loop;
	(void)events;
	for (int i = 0; i < 64; i++) {
		struct sip_peer from = { .len = sizeof(from.addr), .proto = SIP_UDP };
		uint8_t out[STUN_MAX_RESPONSE];
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from.addr,
				     &from.len);
		int r;

		if (n < 0)
			return;
		if (blocked(s, &from))
			continue;
		r = stun_answer((const uint8_t *)buf, (size_t)n, (struct sockaddr *)&from.addr, out,
				sizeof(out));
		if (r > 0) {
			s->stats.stun++;
			sendto(fd, out, (size_t)r, 0, (struct sockaddr *)&from.addr, from.len);
		}
	}
}

static int open_stun(struct sip_server *s)
{
	struct sockaddr_storage ss = s->conf->sip_listen.ss;
	int fd, err;

	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(s->conf->sip_stun);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(s->conf->sip_stun);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, s->conf->sip_listen.len) ||
	    loop_add_fd(s->loop, fd, EPOLLIN, on_stun, s)) {
		err = errno ? -errno : -ENOMEM;
		close(fd);
		return err;
	}
	s->stun_fd = fd;
	return 0;
}

static void rx_done(void *arg)
{
	struct sip_server *s = arg;

	if (s->pending || s->reg.batch_open)
		sip_server_flush(s);
}

/*
 * [sip] tls_cert and tls_key, for listen_tls and listen_wss. A pair that
 * cannot be loaded leaves both off and the rest running: one line says
 * which and why.
 */
static bool load_tls(struct sip_server *s)
{
	const struct conf *c = s->conf;
	char err[320];

	if (c->sip_listen_tls.ss.ss_family == AF_UNSPEC &&
	    c->sip_listen_wss.ss.ss_family == AF_UNSPEC)
		return false;
	if (!c->sip_tls_cert[0] || !c->sip_tls_key[0]) {
		LOG(L_ERROR, "[sip] TLS off: listen_tls and listen_wss need tls_cert and tls_key; "
		    "listening on UDP and TCP only");
		return false;
	}
	if (tls_ctx_load(&s->tls, c->sip_tls_cert, c->sip_tls_key, err, sizeof(err))) {
		LOG(L_ERROR, "[sip] TLS off: tls_cert and tls_key not loaded: %s; listening on UDP "
		    "and TCP only", err);
		return false;
	}
	s->tls_on = true;
	return true;
}

/* One stream listener of listen_tls, listen_ws, listen_wss; a failure leaves it off. */
static void listen_stream(struct sip_server *s, unsigned proto, const struct conf_addr *a)
{
	char addr[64];
	int rc;

	if (a->ss.ss_family == AF_UNSPEC)
		return;
	sip_addr_str((const struct sockaddr *)&a->ss, addr, sizeof(addr));
	if ((proto == SIP_TLS || proto == SIP_WSS) && !s->tls_on)
		return;		/* said in load_tls() */
	if (proto == SIP_TLS)
		rc = sip_transport_open_tls(&s->tp, (const struct sockaddr *)&a->ss, a->len,
					    &s->tls);
	else
		rc = sip_transport_open_ws(&s->tp, proto, (const struct sockaddr *)&a->ss, a->len,
					   proto == SIP_WSS ? &s->tls : NULL);
	if (rc) {
		LOG(L_ERROR, "[sip] %s off: cannot listen on %s: %s", sip_proto_name(proto), addr,
		    strerror(-rc));
		return;
	}
	if (proto == SIP_WS)
		LOG(L_INFO, "[sip] WebSocket (ws) on %s", addr);
	else
		LOG(L_INFO, "[sip] %s on %s (TLS 1.2 and later), certificate %s",
		    proto == SIP_TLS ? "TLS" : "WebSocket over TLS (wss)", addr, s->tls.subject);
}

/*
 * [trunk] transport = tls: its certificate checked against [trunk] tls_ca
 * for [trunk] domain, else its address; without tls_ca, not checked.
 */
static void trunk_tls(struct sip_server *s)
{
	const struct conf *c = s->conf;
	char host[128], err[320];

	if (c->trunk_address.ss.ss_family == AF_UNSPEC || c->trunk_transport != SIP_TLS)
		return;
	if (!s->tls_on) {
		LOG(L_ERROR, "[trunk] transport = tls needs [sip] tls_cert and tls_key loaded "
		    "(with listen_tls): calls to the trunk will fail");
		return;
	}
	if (!c->trunk_tls_ca[0]) {
		LOG(L_WARN, "[trunk] TLS without tls_ca: the gateway's certificate is not checked");
		return;
	}
	if (c->trunk_domain[0]) {
		snprintf(host, sizeof(host), "%s", c->trunk_domain);
	} else {
		struct sip_peer p = { .addr = c->trunk_address.ss };
		uint16_t port;

		sip_peer_host(&p, host, sizeof(host), &port);
	}
	if (tls_ctx_verify(&s->tls, c->trunk_tls_ca, host, err, sizeof(err))) {
		/* Fail closed: no connection to the trunk rather than an unchecked one. */
		LOG(L_ERROR, "[trunk] tls_ca not loaded: %s; calls to the trunk will fail", err);
		s->tp.tls_verify = true;
		s->tp.tls_verify_addr = c->trunk_address.ss;
		return;
	}
	s->tp.tls_verify = true;
	s->tp.tls_verify_addr = c->trunk_address.ss;
	LOG(L_INFO, "[trunk] TLS: the gateway's certificate is checked against %s for %s",
	    c->trunk_tls_ca, host);
}

static void listen_secure(struct sip_server *s)
{
	load_tls(s);
	trunk_tls(s);
	listen_stream(s, SIP_TLS, &s->conf->sip_listen_tls);
	listen_stream(s, SIP_WS, &s->conf->sip_listen_ws);
	listen_stream(s, SIP_WSS, &s->conf->sip_listen_wss);
}

int sip_server_listen(struct sip_server *s)
{
	const struct conf *c = s->conf;
	int err;

	err = sip_transport_open(&s->tp, s->loop, (const struct sockaddr *)&c->sip_listen.ss,
				 c->sip_listen.len, on_rx, s);
	if (err)
		return err;
	s->tp_open = true;
	s->tp.rx_done = rx_done;
	listen_secure(s);
	if (c->sip_stun) {
		err = open_stun(s);
		if (err) {
			LOG(L_ERROR, "[sip] STUN on udp port %u: %s", c->sip_stun, strerror(-err));
			return err;
		}
		LOG(L_INFO, "[sip] STUN Binding server on udp port %u", c->sip_stun);
	}
	loop_timer_arm(s->loop, &s->purge_timer, SIP_PURGE_MS);
	sip_hep_qos_start(s);
	if (c->sip_keepalive)
		loop_timer_arm(s->loop, &s->keepalive_timer, 1000ull * c->sip_keepalive);
	return 0;
}

void sip_server_fini(struct sip_server *s)
{
	if (!s->loop)
		return;
	sip_hep_qos_stop(s);
	hep_close(&s->hep);
	sip_trace_fini(&s->trace);
	sip_server_flush(s);
	/* Parked REGISTERs are answered while their transactions live. */
	if (s->store && s->store->wq)
		store_q_drain(s->store->wq);
	if (s->calls)
		s->calls->fini(s);
	loop_timer_cancel(s->loop, &s->purge_timer);
	loop_timer_cancel(s->loop, &s->keepalive_timer);
	sip_txns_fini(&s->txns);
	/* Their transactions are gone without calling back: what they held goes too. */
	while (s->owned) {
		struct owned *o = s->owned;

		disown(s, o);
		free(o);
	}
	if (s->tp_open)
		sip_transport_close(&s->tp);
	s->tp_open = false;
	tls_ctx_free(&s->tls);
	s->tls_on = false;
	if (s->stun_fd >= 0) {
		loop_del_fd(s->loop, s->stun_fd);
		close(s->stun_fd);
	}
	protect_fini(&s->protect);
	registrar_fini(&s->reg);
	digest_ctx_fini(&s->digest);
	s->loop = NULL;
}

int sip_server_blacklist(struct sip_server *s)
{
	const char **extra = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *q;
	int rc;

	if (s->store && !store_stmt(s->store, "SELECT prefix FROM blacklist", &q)) {
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char **grown;

			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				grown = realloc(extra, cap * sizeof(*extra));
				if (!grown)
					break;
				extra = grown;
			}
			extra[n] = strdup((const char *)sqlite3_column_text(q, 0));
			if (extra[n])
				n++;
		}
		store_stmt_done(q);
	}
	rc = protect_blacklist_load(&s->protect, s->conf->sip_blacklist, extra, n);
	if (rc >= 0 && n)
		LOG(L_INFO, "[sip] blacklist: %zu entr%s added over MML", n, n == 1 ? "y" : "ies");
	while (n)
		free((char *)extra[--n]);
	free(extra);
	return rc;
}

/*
 * The TLS certificate and key again, from the files fresh names (a renewed
 * certificate, perhaps under a new name): new connections get it, those up
 * keep theirs. A pair that does not load leaves the running one.
 */
static void reload_tls(struct sip_server *s, const struct conf *fresh)
{
	char err[320];
	int rc;

	if (!s->tls_on)
		return;
	rc = tls_ctx_load(&s->tls, fresh->sip_tls_cert, fresh->sip_tls_key, err, sizeof(err));
	if (rc)
		LOG(L_ERROR, "[sip] TLS certificate not reloaded, keeping %s: %s", s->tls.subject,
		    err);
	else
		LOG(L_INFO, "[sip] TLS certificate reloaded: %s", s->tls.subject);
}

void sip_server_reload(struct sip_server *s, const struct conf *fresh)
{
	/* The blacklist file named at start is read again; a new name needs a restart. */
	sip_server_blacklist(s);
	reload_tls(s, fresh);
}
