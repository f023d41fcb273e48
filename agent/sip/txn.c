// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIP transactions (see txn.h): RFC 3261 §17 with RFC 6026's Accepted
 * state, on the agent's loop timers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_parser.h>

#include "core/log.h"
#include "sip/txn.h"

struct sip_txn {
	struct sip_txn		*next;		/* bucket chain */
	struct sip_txn		*all_next, *all_prev;
	struct sip_txns		*tx;
	enum sip_txn_kind	kind;
	enum sip_txn_state	state;
	bool			reliable;	/* TCP: no retransmissions */
	bool			provisional;	/* a 1xx went out */
	struct sip_peer		peer;
	unsigned		bucket;
	char			*key;
	/* IST with a non-2xx final: indexed for an ACK with another branch. */
	struct sip_txn		*ack_next;
	unsigned		ack_bucket;
	char			*ack_key;
	osip_message_t		*req;		/* server: until the final; ICT: for its ACK */
	struct sip_resp_head	head;		/* server: its responses' lines, until the final */
	char			*text;		/* what a retransmission sends */
	size_t			len;
	char			*ack;		/* ICT: the ACK of a non-2xx final */
	size_t			ack_len;
	uint64_t		interval;
	struct loop_timer	retx;		/* A, E, G, the 2xx's */
	struct loop_timer	timeout;	/* B, D, F, H, I, J, K, L, M; the end */
	struct loop_timer	trying;		/* the IST's 100, the NIST's TU deadline */
	sip_txn_resp_fn		resp_fn;
	sip_txn_end_fn		end_fn;
	void			*arg;
};

/* An RFC 3261 branch: the magic cookie and something unique after it. */
static bool has_cookie(const char *branch)
{
	return branch && !strncmp(branch, SIP_MAGIC_COOKIE, strlen(SIP_MAGIC_COOKIE)) &&
	       branch[strlen(SIP_MAGIC_COOKIE)];
}

static unsigned bucket_of(const struct sip_txns *tx, const char *key)
{
	return (unsigned)sip_hash_buf(&tx->key, key, strlen(key)) & (SIP_TXN_BUCKETS - 1);
}

/* "a|b|c" of the parts into a malloc'ed key; NULL when too long. */
static char *make_key(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *make_key(const char *fmt, ...)
{
	char buf[SIP_TXN_KEY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(buf))
		return NULL;
	return strdup(buf);
}

static const char *str(const char *s)
{
	return s ? s : "";
}

/*
 * The key of a request's server transaction (§17.2.3): branch, sent-by and
 * method, ACK counting as INVITE; without the magic cookie, the RFC 2543
 * fields. NULL when the request lacks what it takes.
 */
static char *server_key(const osip_message_t *req)
{
	const char *method = req->sip_method;
	osip_via_t *via = osip_list_get(&req->vias, 0);
	const char *branch = sip_msg_branch(req);
	char *key, *uri = NULL, *v = NULL;

	if (!method || !via || !req->cseq || !req->call_id)
		return NULL;
	if (!strcmp(method, "ACK"))
		method = "INVITE";
	if (has_cookie(branch))
		return make_key("s|%s|%s:%s|%s", branch, str(via->host), str(via->port), method);
	if (osip_uri_to_str(req->req_uri, &uri) || osip_via_to_str(via, &v)) {
		osip_free(uri);
		return NULL;
	}
	key = make_key("2543|%s|%s|%s@%s|%s|%s|%s", uri, str(sip_msg_from_tag(req)),
		       str(req->call_id->number), str(req->call_id->host), str(req->cseq->number),
		       v, method);
	osip_free(uri);
	osip_free(v);
	return key;
}

static char *client_key(const char *branch, const char *method)
{
	return make_key("c|%s|%s", branch, method);
}

static char *ack2xx_key(const osip_message_t *m)
{
	if (!m->call_id || !m->cseq)
		return NULL;
	return make_key("2xx|%s@%s|%s|%s", str(m->call_id->number), str(m->call_id->host),
			str(sip_msg_from_tag(m)), str(m->cseq->number));
}

/*
 * The dialog fields an ACK shares with the non-2xx final it acknowledges,
 * whatever its branch: Call-ID, From tag, CSeq number, To tag.
 */
static char *non2xx_ack_key(const osip_message_t *m, const char *ours)
{
	const char *to_tag = sip_msg_to_tag(m) ?: ours;

	if (!m->call_id || !m->cseq || !to_tag)
		return NULL;
	return make_key("ack|%s@%s|%s|%s|%s", str(m->call_id->number), str(m->call_id->host),
			str(sip_msg_from_tag(m)), str(m->cseq->number), to_tag);
}

static unsigned ack_bucket_of(const struct sip_txns *tx, const char *key)
{
	return (unsigned)sip_hash_buf(&tx->key, key, strlen(key)) & (SIP_TXN_ACK_BUCKETS - 1);
}

/* The IST whose non-2xx final an ACK with another branch acknowledges. */
static struct sip_txn *find_non2xx(struct sip_txns *tx, const osip_message_t *ack)
{
	char *key = non2xx_ack_key(ack, NULL);
	struct sip_txn *t;

	if (!key)
		return NULL;
	for (t = tx->acks[ack_bucket_of(tx, key)]; t; t = t->ack_next)
		if (t->state != SIP_TXN_TERMINATED && !strcmp(t->ack_key, key))
			break;
	free(key);
	return t;
}

/*
 * Indexes t, an IST that sent a non-2xx final: its Call-ID, From tag and
 * CSeq from m (the response, or the request with our To tag to_tag);
 * without it, only its branch matches.
 */
static void index_non2xx(struct sip_txn *t, const osip_message_t *m, const char *to_tag)
{
	struct sip_txns *tx = t->tx;

	t->ack_key = non2xx_ack_key(m, to_tag);
	if (!t->ack_key)
		return;
	t->ack_bucket = ack_bucket_of(tx, t->ack_key);
	t->ack_next = tx->acks[t->ack_bucket];
	tx->acks[t->ack_bucket] = t;
}

static struct sip_txn *find(struct sip_txns *tx, const char *key)
{
	for (struct sip_txn *t = tx->buckets[bucket_of(tx, key)]; t; t = t->next)
		if (t->state != SIP_TXN_TERMINATED && !strcmp(t->key, key))
			return t;
	return NULL;
}

static void unlink_txn(struct sip_txn *t)
{
	struct sip_txns *tx = t->tx;
	struct sip_txn **pp;

	for (pp = &tx->buckets[t->bucket]; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	for (pp = t->ack_key ? &tx->acks[t->ack_bucket] : NULL; pp && *pp; pp = &(*pp)->ack_next) {
		if (*pp == t) {
			*pp = t->ack_next;
			break;
		}
	}
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		tx->all = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	tx->count--;
}

static void free_txn(struct sip_txn *t)
{
	struct loop *loop = t->tx->loop;

	loop_timer_cancel(loop, &t->retx);
	loop_timer_cancel(loop, &t->timeout);
	loop_timer_cancel(loop, &t->trying);
	osip_message_free(t->req);
	free(t->head.text);
	free(t->text);
	free(t->ack);
	free(t->ack_key);
	free(t->key);
	free(t);
}

static void on_reap(struct loop *loop, void *arg)
{
	struct sip_txn *t = arg;

	(void)loop;
	unlink_txn(t);
	free_txn(t);
}

/* Ends t: it stops matching now and is freed when timers next run. */
static void terminate(struct sip_txn *t)
{
	struct loop *loop = t->tx->loop;

	t->state = SIP_TXN_TERMINATED;
	loop_timer_cancel(loop, &t->retx);
	loop_timer_cancel(loop, &t->trying);
	t->timeout.cb = on_reap;
	loop_timer_arm(loop, &t->timeout, 0);
}

static void send_text(struct sip_txn *t, const char *text, size_t len)
{
	struct sip_txns *tx = t->tx;

	if (text && tx->send(tx->send_arg, &t->peer, text, len) < 0)
		LOG(L_DEBUG, "[sip] transaction %s: send failed", t->key);
}

static int keep_text(struct sip_txn *t, osip_message_t *m)
{
	char *text;
	size_t len;
	int err = sip_msg_print(m, &text, &len);

	if (err)
		return err;
	/* Kept as libosip2 printed it: its osip_free is free (no allocator set). */
	free(t->text);
	t->text = text;
	t->len = len;
	return 0;
}

static struct sip_txn *new_txn(struct sip_txns *tx, enum sip_txn_kind kind, char *key,
			       const struct sip_peer *peer)
{
	struct sip_txn *t = calloc(1, sizeof(*t));

	if (!t) {
		free(key);
		return NULL;
	}
	t->tx = tx;
	t->kind = kind;
	t->key = key;
	t->peer = *peer;
	t->reliable = sip_proto_reliable(peer->proto);
	t->interval = SIP_T1_MS;
	t->bucket = bucket_of(tx, key);
	t->next = tx->buckets[t->bucket];
	tx->buckets[t->bucket] = t;
	t->all_next = tx->all;
	if (tx->all)
		tx->all->all_prev = t;
	tx->all = t;
	tx->count++;
	tx->stats.created++;
	return t;
}

/* A timer that ends t (D, H, I, J, K, L, M). */
static void on_end(struct loop *loop, void *arg)
{
	(void)loop;
	terminate(arg);
}

static void arm_end(struct sip_txn *t, uint64_t ms)
{
	loop_timer_cancel(t->tx->loop, &t->timeout);
	t->timeout.cb = on_end;
	loop_timer_arm(t->tx->loop, &t->timeout, ms);
}

int sip_txns_init(struct sip_txns *tx, struct loop *loop, sip_send_fn send, void *arg)
{
	memset(tx, 0, sizeof(*tx));
	tx->buckets = calloc(SIP_TXN_BUCKETS, sizeof(*tx->buckets));
	tx->acks = calloc(SIP_TXN_ACK_BUCKETS, sizeof(*tx->acks));
	if (!tx->buckets || !tx->acks) {
		free(tx->buckets);
		free(tx->acks);
		tx->buckets = tx->acks = NULL;
		return -ENOMEM;
	}
	tx->loop = loop;
	tx->send = send;
	tx->send_arg = arg;
	sip_hash_key_random(&tx->key);
	return 0;
}

void sip_txns_fini(struct sip_txns *tx)
{
	struct sip_txn *t, *n;

	for (t = tx->all; t; t = n) {
		n = t->all_next;
		free_txn(t);
	}
	tx->all = NULL;
	free(tx->buckets);
	free(tx->acks);
	tx->buckets = tx->acks = NULL;
	tx->count = 0;
}

/* ---- server ---- */

int sip_txn_server_match(struct sip_txns *tx, const osip_message_t *req,
			 const struct sip_peer *from)
{
	bool ack = !strcmp(req->sip_method, "ACK");
	char *key = server_key(req);
	struct sip_txn *t;

	if (!key)
		return -EINVAL;
	t = find(tx, key);
	free(key);
	if (ack && (!t || t->kind != SIP_TXN_IST))
		t = find_non2xx(tx, req);	/* another branch than its INVITE's */
	if (!t || (t->kind != SIP_TXN_IST && t->kind != SIP_TXN_NIST))
		return SIP_TXN_NEW;
	if (ack) {
		if (t->kind != SIP_TXN_IST)
			return SIP_TXN_NEW;
		if (t->state == SIP_TXN_ACCEPTED)
			return SIP_TXN_NEW;	/* an ACK for a 2xx, RFC 2543 style */
		if (t->state == SIP_TXN_COMPLETED) {
			t->state = SIP_TXN_CONFIRMED;
			loop_timer_cancel(tx->loop, &t->retx);
			arm_end(t, t->reliable ? 0 : SIP_T4_MS);	/* Timer I */
		}
		tx->stats.absorbed++;
		return SIP_TXN_ABSORBED;
	}
	/* A retransmission: the last response again, to where it came from. */
	tx->stats.absorbed++;
	if (from)
		t->peer = *from;
	if (t->state == SIP_TXN_PROCEEDING || t->state == SIP_TXN_COMPLETED) {
		send_text(t, t->text, t->len);
		tx->stats.retransmits += t->text != NULL;
	}
	return SIP_TXN_ABSORBED;
}

/* Timer G: the non-2xx final again, T1 doubling to T2. */
static void on_g(struct loop *loop, void *arg)
{
	struct sip_txn *t = arg;

	send_text(t, t->text, t->len);
	t->tx->stats.retransmits++;
	t->interval = t->interval * 2 < SIP_T2_MS ? t->interval * 2 : SIP_T2_MS;
	loop_timer_arm(loop, &t->retx, t->interval);
}

/* 200 ms into an INVITE with no answer from the TU: 100 Trying (§17.2.1). */
static void on_trying(struct loop *loop, void *arg)
{
	struct sip_txn *t = arg;
	osip_message_t *resp;

	(void)loop;
	if (t->state != SIP_TXN_PROCEEDING || t->provisional || !t->req)
		return;
	if (t->head.text) {	/* the TU kept the lines of its responses: no tree */
		char out[8192];
		int n = sip_msg_resp_text(&t->head, 100, NULL, NULL, NULL, 0, NULL, 0, out,
					  sizeof(out));

		if (n > 0 && !sip_txn_reply_text(t, 100, out, (size_t)n, NULL))
			return;
	}
	if (sip_msg_response(t->req, 100, NULL, NULL, NULL, &resp))
		return;
	if (!keep_text(t, resp)) {
		send_text(t, t->text, t->len);
		t->provisional = true;
	}
	osip_message_free(resp);
}

/* The TU never answered a non-INVITE within 64*T1. */
static void on_tu_deadline(struct loop *loop, void *arg)
{
	struct sip_txn *t = arg;

	(void)loop;
	if (t->end_fn)
		t->end_fn(t, 500, t->arg);
	t->end_fn = NULL;
	terminate(t);
}

int sip_txn_server_new(struct sip_txns *tx, osip_message_t *req, const struct sip_peer *from,
		       struct sip_txn **out)
{
	bool invite = !strcmp(req->sip_method, "INVITE");
	struct sip_txn *t;
	char *key;

	if (tx->count >= SIP_TXN_MAX)
		return -EBUSY;
	key = server_key(req);
	if (!key)
		return -EINVAL;
	t = new_txn(tx, invite ? SIP_TXN_IST : SIP_TXN_NIST, key, from);
	if (!t)
		return -ENOMEM;
	t->req = req;
	t->state = invite ? SIP_TXN_PROCEEDING : SIP_TXN_TRYING;
	loop_timer_init(&t->retx, on_g, t);
	loop_timer_init(&t->timeout, on_end, t);
	if (invite) {
		loop_timer_init(&t->trying, on_trying, t);
		loop_timer_arm(tx->loop, &t->trying, SIP_TRYING_MS);
	} else {
		loop_timer_init(&t->trying, on_tu_deadline, t);
		loop_timer_arm(tx->loop, &t->trying, 64 * SIP_T1_MS);
	}
	*out = t;
	return 0;
}

struct sip_txn *sip_txn_find_invite(struct sip_txns *tx, const osip_message_t *cancel)
{
	osip_message_t probe;
	struct sip_txn *t;
	char *key;

	/* The INVITE's key is the CANCEL's with the method INVITE (§9.2). */
	memcpy(&probe, cancel, sizeof(probe));
	probe.sip_method = (char *)"INVITE";
	key = server_key(&probe);
	if (!key)
		return NULL;
	t = find(tx, key);
	free(key);
	return t && t->kind == SIP_TXN_IST ? t : NULL;
}

/* Timer for the UAS core's 2xx: again at T1 doubling to T2, until 64*T1. */
static void on_2xx_retx(struct loop *loop, void *arg)
{
	struct sip_txn *t = arg;

	send_text(t, t->text, t->len);
	t->tx->stats.retransmits++;
	t->interval = t->interval * 2 < SIP_T2_MS ? t->interval * 2 : SIP_T2_MS;
	loop_timer_arm(loop, &t->retx, t->interval);
}

static void on_2xx_giveup(struct loop *loop, void *arg)
{
	struct sip_txn *t = arg;

	(void)loop;
	t->tx->stats.timeouts++;
	if (t->end_fn)
		t->end_fn(t, 408, t->arg);
	t->end_fn = NULL;
	terminate(t);
}

/* The 2xx of an INVITE, retransmitted until its ACK (§13.3.1.4); m: its keys. */
static int start_2xx(struct sip_txn *ist, const osip_message_t *m)
{
	char *key = ack2xx_key(m);
	struct sip_txn *old, *t;

	if (!key)
		return -EINVAL;
	old = find(ist->tx, key);
	if (old)
		terminate(old);		/* a re-sent 2xx of the same INVITE */
	t = new_txn(ist->tx, SIP_TXN_2XX, key, &ist->peer);
	if (!t)
		return -ENOMEM;
	t->state = SIP_TXN_ACCEPTED;
	t->text = malloc(ist->len);
	if (!t->text) {
		terminate(t);
		return -ENOMEM;
	}
	memcpy(t->text, ist->text, ist->len);
	t->len = ist->len;
	t->end_fn = ist->end_fn;
	t->arg = ist->arg;
	loop_timer_init(&t->retx, on_2xx_retx, t);
	loop_timer_init(&t->timeout, on_2xx_giveup, t);
	loop_timer_init(&t->trying, on_end, t);
	if (!t->reliable)
		loop_timer_arm(t->tx->loop, &t->retx, SIP_T1_MS);
	loop_timer_arm(t->tx->loop, &t->timeout, 64 * SIP_T1_MS);
	return 0;
}

/*
 * After t's response went out: its state, timers and ACK keys. keys: the
 * response, or t's request with our To tag to_tag (the same Call-ID, From
 * tag and CSeq).
 */
static int replied(struct sip_txn *t, int code, const osip_message_t *keys, const char *to_tag)
{
	struct sip_txns *tx = t->tx;
	int err = 0;

	if (code < 200) {
		t->state = SIP_TXN_PROCEEDING;
		t->provisional = true;
		return 0;
	}
	loop_timer_cancel(tx->loop, &t->trying);
	if (t->kind == SIP_TXN_NIST) {
		t->state = SIP_TXN_COMPLETED;
		arm_end(t, t->reliable ? 0 : 64 * SIP_T1_MS);		/* Timer J */
	} else if (code < 300) {
		/* RFC 6026: Accepted absorbs retransmitted INVITEs for Timer L. */
		err = start_2xx(t, keys);
		t->state = SIP_TXN_ACCEPTED;
		arm_end(t, 64 * SIP_T1_MS);
	} else {
		t->state = SIP_TXN_COMPLETED;
		t->interval = SIP_T1_MS;
		index_non2xx(t, keys, to_tag);
		if (!t->reliable)
			loop_timer_arm(tx->loop, &t->retx, SIP_T1_MS);	/* Timer G */
		arm_end(t, 64 * SIP_T1_MS);				/* Timer H */
	}
	return err;
}

/* The final response went out: the TU forgets t now, its request and callback go. */
static void forget_request(struct sip_txn *t)
{
	osip_message_free(t->req);
	t->req = NULL;
	free(t->head.text);
	memset(&t->head, 0, sizeof(t->head));
	t->end_fn = NULL;
}

static bool can_reply(const struct sip_txn *t)
{
	return (t->kind == SIP_TXN_IST || t->kind == SIP_TXN_NIST) &&
	       (t->state == SIP_TXN_TRYING || t->state == SIP_TXN_PROCEEDING);
}

int sip_txn_reply(struct sip_txn *t, osip_message_t *resp)
{
	int code = resp->status_code, err;

	if (!can_reply(t)) {
		osip_message_free(resp);
		return -EALREADY;
	}
	err = keep_text(t, resp);
	if (err) {
		osip_message_free(resp);
		return err;
	}
	send_text(t, t->text, t->len);
	err = replied(t, code, resp, NULL);
	osip_message_free(resp);
	if (code >= 200)
		forget_request(t);
	return err;
}

int sip_txn_reply_text(struct sip_txn *t, int code, const char *text, size_t len,
		       const char *to_tag)
{
	char *copy;
	int err;

	if (!can_reply(t))
		return -EALREADY;
	if (code < 100 || code > 699 || !t->req)
		return -EINVAL;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	free(t->text);
	t->text = copy;
	t->len = len;
	send_text(t, t->text, t->len);
	err = replied(t, code, t->req, to_tag);
	if (code >= 200)
		forget_request(t);
	return err;
}

int sip_txn_keep_head(struct sip_txn *t, const struct sip_resp_head *h)
{
	char *copy;

	if (!can_reply(t) || !t->req)
		return -EALREADY;
	if (t->head.text)
		return 0;
	copy = malloc(h->len ? h->len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, h->text, h->len);
	t->head = *h;
	t->head.text = copy;
	return 0;
}

const struct sip_resp_head *sip_txn_head(const struct sip_txn *t)
{
	return t->head.text ? &t->head : NULL;
}

void sip_txn_set_end(struct sip_txn *t, sip_txn_end_fn fn, void *arg)
{
	t->end_fn = fn;
	t->arg = arg;
}

const osip_message_t *sip_txn_request(const struct sip_txn *t)
{
	return t->req;
}

const struct sip_peer *sip_txn_peer(const struct sip_txn *t)
{
	return &t->peer;
}

enum sip_txn_state sip_txn_state(const struct sip_txn *t)
{
	return t->state;
}

enum sip_txn_kind sip_txn_kind(const struct sip_txn *t)
{
	return t->kind;
}

bool sip_txn_ack_2xx(struct sip_txns *tx, const osip_message_t *ack)
{
	char *key = ack2xx_key(ack);
	struct sip_txn *t;

	if (!key)
		return false;
	t = find(tx, key);
	free(key);
	if (!t || t->kind != SIP_TXN_2XX)
		return false;
	terminate(t);
	return true;
}

/* ---- client ---- */

void sip_txn_new_branch(struct sip_txns *tx, char out[32])
{
	uint64_t seq = ++tx->branch_seq;

	snprintf(out, 32, "%s%016llx", SIP_MAGIC_COOKIE,
		 (unsigned long long)sip_hash_buf(&tx->key, &seq, sizeof(seq)));
}

static void pass_up(struct sip_txn *t, const osip_message_t *resp, int code)
{
	sip_txn_resp_fn fn = t->resp_fn;

	if (code >= 200)
		t->resp_fn = NULL;	/* the TU forgets t after a final */
	if (fn)
		fn(t, resp, code, t->arg);
}

/* Timer A (INVITE: doubling without a cap) or E (to T2). */
static void on_client_retx(struct loop *loop, void *arg)
{
	struct sip_txn *t = arg;

	send_text(t, t->text, t->len);
	t->tx->stats.retransmits++;
	if (t->kind == SIP_TXN_ICT)
		t->interval *= 2;
	else if (t->state == SIP_TXN_PROCEEDING)
		t->interval = SIP_T2_MS;
	else
		t->interval = t->interval * 2 < SIP_T2_MS ? t->interval * 2 : SIP_T2_MS;
	loop_timer_arm(loop, &t->retx, t->interval);
}

/* Timer B or F: no final response. */
static void on_client_timeout(struct loop *loop, void *arg)
{
	struct sip_txn *t = arg;

	(void)loop;
	t->tx->stats.timeouts++;
	terminate(t);
	pass_up(t, NULL, 408);
}

/* The text to send: req's as printed, else (raw) a copy of what req was parsed from. */
static int client_text(struct sip_txn *t, osip_message_t *req, const char *raw, size_t len)
{
	if (!raw)
		return keep_text(t, req);
	free(t->text);
	t->text = malloc(len);
	if (!t->text)
		return -ENOMEM;
	memcpy(t->text, raw, len);
	t->len = len;
	return 0;
}

/*
 * The method and top Via's branch of a request we printed ourselves
 * ("METHOD uri SIP/2.0", then our "Via: ...;branch=..." line first):
 * false when either is not there or too long.
 */
static bool raw_method_branch(const char *text, size_t len, char *method, size_t mlen,
			      char *branch, size_t blen)
{
	const char *end = text + len, *sp = memchr(text, ' ', len), *via, *b, *e;

	if (!sp || (size_t)(sp - text) >= mlen || sp == text)
		return false;
	memcpy(method, text, (size_t)(sp - text));
	method[sp - text] = '\0';
	via = memmem(text, len, "\r\nVia: ", 7);
	if (!via)
		return false;
	e = memchr(via + 2, '\n', (size_t)(end - via - 2));
	if (!e)
		return false;
	b = memmem(via + 7, (size_t)(e - via - 7), ";branch=", 8);
	if (!b)
		return false;
	b += 8;
	for (e = b; e < end && *e != ';' && *e != ',' && *e != '\r' && *e != ' '; e++)
		;
	if (e == b || (size_t)(e - b) >= blen)
		return false;
	memcpy(branch, b, (size_t)(e - b));
	branch[e - b] = '\0';
	return true;
}

static int client_new(struct sip_txns *tx, osip_message_t *req, const char *raw, size_t len,
		      const struct sip_peer *to, sip_txn_resp_fn fn, void *arg,
		      struct sip_txn **out)
{
	char method_buf[32], branch_buf[SIP_TXN_KEY_MAX];
	const char *method, *branch;
	struct sip_txn *t;
	bool invite;
	char *key;
	int err;

	if (req) {
		method = req->sip_method;
		branch = sip_msg_branch(req);
	} else if (raw && raw_method_branch(raw, len, method_buf, sizeof(method_buf), branch_buf,
					    sizeof(branch_buf))) {
		method = method_buf;
		branch = branch_buf;
	} else {
		return -EINVAL;
	}
	invite = !strcmp(method, "INVITE");
	if (!has_cookie(branch) || tx->count >= SIP_TXN_MAX) {
		osip_message_free(req);
		return has_cookie(branch) ? -EBUSY : -EINVAL;
	}
	key = client_key(branch, method);
	if (!key) {
		osip_message_free(req);
		return -EINVAL;
	}
	t = new_txn(tx, invite ? SIP_TXN_ICT : SIP_TXN_NICT, key, to);
	if (!t) {
		osip_message_free(req);
		return -ENOMEM;
	}
	err = client_text(t, req, raw, len);
	if (!err && tx->send(tx->send_arg, to, t->text, t->len) < 0)
		err = -EIO;
	if (err) {
		osip_message_free(req);
		unlink_txn(t);
		free_txn(t);
		return err;
	}
	if (invite)
		t->req = req;		/* its ACK is built from it (parsed from the text if NULL) */
	else
		osip_message_free(req);
	t->state = invite ? SIP_TXN_CALLING : SIP_TXN_TRYING;
	t->resp_fn = fn;
	t->arg = arg;
	loop_timer_init(&t->retx, on_client_retx, t);
	loop_timer_init(&t->timeout, on_client_timeout, t);
	loop_timer_init(&t->trying, on_end, t);
	if (!t->reliable)
		loop_timer_arm(tx->loop, &t->retx, SIP_T1_MS);
	loop_timer_arm(tx->loop, &t->timeout, 64 * SIP_T1_MS);
	if (out)
		*out = t;
	return 0;
}

int sip_txn_client_new(struct sip_txns *tx, osip_message_t *req, const struct sip_peer *to,
		       sip_txn_resp_fn fn, void *arg, struct sip_txn **out)
{
	return client_new(tx, req, NULL, 0, to, fn, arg, out);
}

int sip_txn_client_new_raw(struct sip_txns *tx, osip_message_t *req, const char *text,
			   size_t len, const struct sip_peer *to, sip_txn_resp_fn fn, void *arg,
			   struct sip_txn **out)
{
	return client_new(tx, req, text, len, to, fn, arg, out);
}

/* The ACK of a non-2xx final (§17.1.1.3): the INVITE's top Via and Route, resp's To. */
static int build_ack(struct sip_txn *t, const osip_message_t *resp)
{
	osip_message_t *ack;
	void *p;
	int err = -ENOMEM;

	if (!t->req && t->text) {
		/* Printed by the TU and not parsed until now: an ACK is rare. */
		if (osip_message_init(&t->req))
			return -ENOMEM;
		if (osip_message_parse(t->req, t->text, t->len)) {
			osip_message_free(t->req);
			t->req = NULL;
			return -EINVAL;
		}
	}
	if (!t->req || osip_message_clone(t->req, &ack))
		return -ENOMEM;
	while (osip_list_size(&ack->vias) > 1) {
		p = osip_list_get(&ack->vias, 1);
		osip_list_remove(&ack->vias, 1);
		osip_via_free(p);
	}
	while ((p = osip_list_get(&ack->bodies, 0))) {
		osip_list_remove(&ack->bodies, 0);
		osip_body_free(p);
	}
	osip_content_type_free(ack->content_type);
	ack->content_type = NULL;
	osip_to_free(ack->to);
	ack->to = NULL;
	osip_free(ack->sip_method);
	ack->sip_method = osip_strdup("ACK");
	osip_free(ack->cseq->method);
	ack->cseq->method = osip_strdup("ACK");
	osip_content_length_free(ack->content_length);
	ack->content_length = NULL;
	if (resp->to && !osip_to_clone(resp->to, &ack->to) &&
	    !osip_message_set_content_length(ack, "0")) {
		char *text;
		size_t len;

		err = sip_msg_print(ack, &text, &len);
		if (!err) {
			t->ack = malloc(len);
			if (t->ack) {
				memcpy(t->ack, text, len);
				t->ack_len = len;
			} else {
				err = -ENOMEM;
			}
			osip_free(text);
		}
	}
	osip_message_free(ack);
	return err;
}

int sip_txn_set_ack(struct sip_txn *t, const char *ack, size_t len)
{
	char *copy = malloc(len);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, ack, len);
	free(t->ack);
	t->ack = copy;
	t->ack_len = len;
	return 0;
}

bool sip_txn_client_match(struct sip_txns *tx, const osip_message_t *resp)
{
	const char *branch = sip_msg_branch(resp);
	int code = resp->status_code;
	struct sip_txn *t;
	char *key;

	if (!branch || !resp->cseq || !resp->cseq->method)
		return false;
	key = client_key(branch, resp->cseq->method);
	if (!key)
		return false;
	t = find(tx, key);
	free(key);
	if (!t || (t->kind != SIP_TXN_ICT && t->kind != SIP_TXN_NICT))
		return false;

	if (t->kind == SIP_TXN_NICT) {
		if (t->state == SIP_TXN_COMPLETED)
			return true;			/* a retransmitted final */
		if (code < 200) {
			t->state = SIP_TXN_PROCEEDING;
			pass_up(t, resp, code);
			return true;
		}
		t->state = SIP_TXN_COMPLETED;
		loop_timer_cancel(tx->loop, &t->retx);
		arm_end(t, t->reliable ? 0 : SIP_T4_MS);		/* Timer K */
		pass_up(t, resp, code);
		return true;
	}

	/* INVITE */
	if (code < 200) {
		if (t->state == SIP_TXN_CALLING) {
			t->state = SIP_TXN_PROCEEDING;
			loop_timer_cancel(tx->loop, &t->retx);
		}
		if (t->state == SIP_TXN_PROCEEDING)
			pass_up(t, resp, code);
		return true;
	}
	if (code < 300) {
		if (t->state == SIP_TXN_CALLING || t->state == SIP_TXN_PROCEEDING) {
			t->state = SIP_TXN_ACCEPTED;
			loop_timer_cancel(tx->loop, &t->retx);
			arm_end(t, 64 * SIP_T1_MS);			/* Timer M */
			if (t->resp_fn)
				t->resp_fn(t, resp, code, t->arg);
			return true;
		}
		/*
		 * RFC 6026: a 2xx again reaches the TU, which ACKs it; a TU that
		 * left its ACK here (sip_txn_set_ack()) has it sent for it.
		 */
		if (t->state == SIP_TXN_ACCEPTED && t->ack)
			send_text(t, t->ack, t->ack_len);
		else if (t->state == SIP_TXN_ACCEPTED && t->resp_fn)
			t->resp_fn(t, resp, code, t->arg);
		return true;
	}
	if (t->state == SIP_TXN_CALLING || t->state == SIP_TXN_PROCEEDING) {
		t->state = SIP_TXN_COMPLETED;
		loop_timer_cancel(tx->loop, &t->retx);
		build_ack(t, resp);
		send_text(t, t->ack, t->ack_len);
		arm_end(t, t->reliable ? 0 : SIP_TIMER_D_MS);		/* Timer D */
		pass_up(t, resp, code);
	} else if (t->state == SIP_TXN_COMPLETED) {
		send_text(t, t->ack, t->ack_len);			/* absorbed, ACKed */
	}
	return true;
}
