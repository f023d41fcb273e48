// SPDX-License-Identifier: GPL-2.0-only
/*
 * The NG protocol (see ng.h). Commands: ping, offer, answer, delete,
 * query, list. A call is keyed by its call-id; its two sides by their
 * tags: the first offer's from-tag is leg 0 (the caller), the first
 * answer's to-tag leg 1. A re-INVITE's offer then comes from whichever
 * tag sent it. Keys this relay has no use for are ignored, as rtpengine
 * ignores what it does not know.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "ctl/bencode.h"
#include "ctl/ng.h"
#include "ctl/ng_json.h"
#include "dp/dp.h"
#include "media/persist.h"
#include "media/sdp.h"
#include "store/cdr.h"
#include "store/queue.h"

#define NG_MAX_DGRAM	65535
#define NG_NODES	512
#define NG_BATCH	16		/* requests read at once */

struct ng_call {
	struct ng_call		*next, *prev;	/* ng->calls, newest first */
	struct ng_call		*hnext;		/* in ng->by_id[] */
	char			call_id[256];
	char			tag[2][128];	/* leg 0, leg 1 */
	struct media_session	*s;
	struct ng		*ng;
	struct cdr_rec		*cdr;		/* its RELAY record, NULL without CDRs */
};

/* Every command looks its call up: a hash, not a walk of thousands of calls. */
static struct ng_call **call_bucket(struct ng *ng, const char *call_id)
{
	uint32_t h = 2166136261u;

	for (; *call_id; call_id++)
		h = (h ^ (uint8_t)*call_id) * 16777619u;
	return &ng->by_id[h % NG_CALL_BUCKETS];
}

static struct ng_call *call_find(struct ng *ng, const char *call_id)
{
	struct ng_call *c;

	for (c = *call_bucket(ng, call_id); c; c = c->hnext)
		if (!strcmp(c->call_id, call_id))
			return c;
	return NULL;
}

/* Both lists: the one in order for list and reset, the hash for lookups. */
static void call_link(struct ng *ng, struct ng_call *c)
{
	struct ng_call **b = call_bucket(ng, c->call_id);

	c->prev = NULL;
	c->next = ng->calls;
	if (c->next)
		c->next->prev = c;
	ng->calls = c;
	c->hnext = *b;
	*b = c;
	ng->ncalls++;
}

/* ---- CDRs: one RELAY row per call, open from the answer to the end ---- */

static void cdr_begin(struct ng *ng, struct ng_call *c)
{
	struct cdr_rec *r;

	if (!ng->cdr || !(r = malloc(sizeof(*r))))
		return;
	cdr_rec_init(r, ng->cdr, CDR_TYPE_RELAY, cdr_now_ms());
	snprintf(r->a_call_id, sizeof(r->a_call_id), "%s", c->call_id);
	snprintf(r->datapath, sizeof(r->datapath), "%s",
		 ng->media->dp ? ng->media->dp->ops->name : "user");
	c->cdr = r;
}

/* Where a side's media comes from: its latched source, else its SDP. */
static void cdr_peer(const struct ng_call *c, int leg, char *ip, size_t n, uint16_t *port)
{
	const struct media_leg *l;
	const struct media_endpoint *e;

	ip[0] = '\0';
	*port = 0;
	if (!c->s->nstreams)
		return;
	l = &c->s->st[0].relay.leg[leg];
	e = l->latched[0] ? &l->peer[0] : &l->sdp[0];
	if (e->ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&e->ss)->sin_addr, ip, (socklen_t)n);
		*port = ntohs(((const struct sockaddr_in *)&e->ss)->sin_port);
	} else if (e->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&e->ss)->sin6_addr, ip,
			  (socklen_t)n);
		*port = ntohs(((const struct sockaddr_in6 *)&e->ss)->sin6_port);
	}
}

static void cdr_answer(struct ng *ng, struct ng_call *c, const char *sdp, size_t len)
{
	struct cdr_rec *r = c->cdr;

	if (!r || r->answer_ms)
		return;
	r->answer_ms = cdr_now_ms();
	r->open = true;
	r->status_code = 200;
	snprintf(r->disposition, sizeof(r->disposition), CDR_ANSWERED);
	snprintf(r->extra_info, sizeof(r->extra_info), "from-tag=%.100s;to-tag=%.100s", c->tag[0],
		 c->tag[1]);
	sdp_first_codec(sdp, len, r->codec, sizeof(r->codec));
	cdr_write(ng->cdr, r);
}

/* The end: quality from the media layer, before the session goes. */
static void cdr_end(struct ng *ng, struct ng_call *c, const char *reason)
{
	struct cdr_rec *r = c->cdr;

	if (!r)
		return;
	r->end_ms = cdr_now_ms();
	snprintf(r->close_reason, sizeof(r->close_reason), "%s", reason);
	snprintf(r->released_by, sizeof(r->released_by), "system");
	if (!r->answer_ms)
		snprintf(r->disposition, sizeof(r->disposition), CDR_NO_ANSWER);
	cdr_peer(c, 0, r->caller_ip, sizeof(r->caller_ip), &r->caller_port);
	cdr_peer(c, 1, r->callee_ip, sizeof(r->callee_ip), &r->callee_port);
	if (r->answer_ms)
		media_cdr_quality(c->s, r);
	cdr_finish(r);
	cdr_write(ng->cdr, r);
}

static void call_free(struct ng *ng, struct ng_call *c, const char *reason)
{
	struct ng_call **pp;

	if (reason)
		cdr_end(ng, c, reason);

	if (c->prev)
		c->prev->next = c->next;
	else
		ng->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ng->ncalls--;
	for (pp = call_bucket(ng, c->call_id); *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	media_session_destroy(c->s);
	free(c->cdr);
	free(c);
}

/* rtpengine deletes a call whose media stopped; Kamailio learns it on query. */
static void on_dead(struct media_session *s, void *owner)
{
	struct ng_call *c = owner;

	(void)s;
	LOG(L_INFO, "[ctl] ng: call %s timed out, deleted", c->call_id);
	call_free(c->ng, c, CDR_CLOSE_MEDIA);
}

/* What the media layer persists for us: "ng", the call-id, both tags, its CDR. */
static void call_owner_data(struct ng_call *c)
{
	snprintf(c->s->owner_data, sizeof(c->s->owner_data), "ng\n%s\n%s\n%s\n%" PRId64,
		 c->call_id, c->tag[0], c->tag[1], c->cdr ? c->cdr->id : (int64_t)0);
}

static struct ng_call *call_new(struct ng *ng, const char *call_id)
{
	struct ng_call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	snprintf(c->call_id, sizeof(c->call_id), "%s", call_id);
	c->ng = ng;
	c->s = media_session_new(ng->media, c->call_id, on_dead, c);
	if (!c->s) {
		free(c);
		return NULL;
	}
	call_link(ng, c);
	return c;
}

/* ---- replies ---- */

static void reply_error(struct benc_buf *b, const char *result, const char *reason)
{
	benc_put_dict(b);
	if (reason) {
		benc_put_str(b, "error-reason");
		benc_put_str(b, reason);
	}
	benc_put_str(b, "result");
	benc_put_str(b, result);
	benc_put_end(b);
}

static void reply_ok(struct benc_buf *b, const char *key, const char *value)
{
	benc_put_dict(b);
	benc_put_str(b, "result");
	benc_put_str(b, "ok");
	if (key) {
		benc_put_str(b, key);
		benc_put_str(b, value);
	}
	benc_put_end(b);
}

static int str_arg(const struct benc *req, const char *key, char *out, size_t outlen)
{
	const struct benc *v = benc_dict_get(req, key);

	if (!v)
		return -ENOENT;
	return benc_str_copy(v, out, outlen);
}

/* ---- commands ---- */

static int leg_of(const struct ng_call *c, const char *tag)
{
	if (tag[0] && !strcmp(c->tag[0], tag))
		return 0;
	if (tag[0] && !strcmp(c->tag[1], tag))
		return 1;
	return -1;
}

/*
 * The flags Kamailio and OpenSIPS send, in either form: parsed ("flags",
 * "replace", "received-from", "ICE", "direction", "transport-protocol",
 * "rtcp-mux", ...) or the raw "rtpp-flags" string of space-separated
 * words, KEY=VALUE where there is a value (rtcp-mux-offer is also
 * rtcp-mux=offer, and a bare RTP/AVPF the transport-protocol). What a
 * relay that rewrites every address to its own and latches to where media
 * comes from has no use for (replace origin and session-connection,
 * symmetric, strict-source) is accepted and changes nothing; unknown
 * words are ignored, as rtpengine ignores them.
 */
struct ng_flags {
	bool			sip_source;	/* SIP-source-address: media goes to received-from */
	bool			trust;		/* trust-address: the SDP's address, always */
	char			received_from[64];	/* the SIP message's source address */
	int			ndirections;
	struct media_opts	opts;		/* what the media layer acts on */
};

static bool word_is(const char *w, size_t len, const char *what)
{
	return len == strlen(what) && !strncasecmp(w, what, len);
}

static void flag_mux(struct ng_flags *fl, const char *v, size_t len)
{
	static const struct { const char *name; unsigned bit; } mux[] = {
		{ "offer", MEDIA_MUX_OFFER }, { "require", MEDIA_MUX_REQUIRE },
		{ "demux", MEDIA_MUX_DEMUX }, { "accept", MEDIA_MUX_ACCEPT },
		{ "reject", MEDIA_MUX_REJECT },
	};

	for (size_t i = 0; i < sizeof(mux) / sizeof(mux[0]); i++)
		if (word_is(v, len, mux[i].name))
			fl->opts.rtcp_mux |= mux[i].bit;
}

static void flag_direction(struct ng_flags *fl, const char *v, size_t len)
{
	if (fl->ndirections < 2)
		snprintf(fl->opts.iface[fl->ndirections++], sizeof(fl->opts.iface[0]), "%.*s",
			 (int)len, v);
}

static void flag_ice(struct ng_flags *fl, const char *v, size_t len)
{
	if (word_is(v, len, "force"))
		fl->opts.ice = MEDIA_ICE_FORCE;
	else if (word_is(v, len, "remove"))
		fl->opts.ice = MEDIA_ICE_REMOVE;
}

static void flag_proto(struct ng_flags *fl, const char *v, size_t len)
{
	snprintf(fl->opts.proto, sizeof(fl->opts.proto), "%.*s", (int)len, v);
}

/*
 * SDES-off (no a=crypto offered: only for DTLS, which sluice does not
 * do, so an SRTP offer with it fails) and SDES-no-SUITE, also SDES=off
 * and SDES=no-SUITE; the other SDES-* words (lifetime, pad, ...) change
 * nothing.
 */
static void flag_sdes(struct ng_flags *fl, const char *v, size_t len)
{
	int suite;

	if (word_is(v, len, "off")) {
		fl->opts.sdes_no = ~0u;
	} else if (len > 3 && !strncasecmp(v, "no-", 3)) {
		suite = sdes_suite_by_name(v + 3, len - 3);
		if (suite >= 0)
			fl->opts.sdes_no |= 1u << suite;
	}
}

/* One KEY=VALUE (or a KEY alone: vlen 0) of either form. */
static void flag_kv(struct ng_flags *fl, const char *k, size_t klen, const char *v, size_t vlen)
{
	if (word_is(k, klen, "SIP-source-address"))
		fl->sip_source = true;
	else if (word_is(k, klen, "trust-address"))
		fl->trust = true;
	else if (word_is(k, klen, "asymmetric"))
		fl->opts.asymmetric = true;
	else if (word_is(k, klen, "symmetric"))
		fl->opts.asymmetric = false;
	else if (word_is(k, klen, "received-from") && vlen)
		snprintf(fl->received_from, sizeof(fl->received_from), "%.*s", (int)vlen, v);
	else if (word_is(k, klen, "ICE") && vlen)
		flag_ice(fl, v, vlen);
	else if (word_is(k, klen, "direction") && vlen)
		flag_direction(fl, v, vlen);
	else if (word_is(k, klen, "transport-protocol") && vlen)
		flag_proto(fl, v, vlen);
	else if (word_is(k, klen, "rtcp-mux") && vlen)
		flag_mux(fl, v, vlen);
	else if (klen > 9 && !strncasecmp(k, "rtcp-mux-", 9) && !vlen)
		flag_mux(fl, k + 9, klen - 9);
	else if (!vlen && (!strncasecmp(k, "RTP/", 4) || !strncasecmp(k, "UDP/TLS/RTP/", 12)))
		flag_proto(fl, k, klen);
	else if (word_is(k, klen, "SDES") && vlen)
		flag_sdes(fl, v, vlen);
	else if (klen > 5 && !strncasecmp(k, "SDES-", 5) && !vlen)
		flag_sdes(fl, k + 5, klen - 5);
}

static void flag_word(struct ng_flags *fl, const char *w, size_t len)
{
	const char *eq = memchr(w, '=', len);

	if (eq)
		flag_kv(fl, w, (size_t)(eq - w), eq + 1, len - (size_t)(eq - w) - 1);
	else
		flag_kv(fl, w, len, NULL, 0);
}

/* A dictionary key given as a string or a list of strings: each is KEY=item. */
static void flag_key(struct ng_flags *fl, const struct benc *req, const char *key)
{
	const struct benc *v = benc_dict_get(req, key);

	if (v && v->type == BENC_STR)
		flag_kv(fl, key, strlen(key), v->str.s, v->str.len);
	for (const struct benc *i = v && v->type == BENC_LIST ? v->list.first : NULL; i; i = i->next)
		if (i->type == BENC_STR)
			flag_kv(fl, key, strlen(key), i->str.s, i->str.len);
}

static void parse_flags(const struct benc *req, struct ng_flags *fl)
{
	const struct benc *v = benc_dict_get(req, "flags"), *rf;
	char raw[1024], *save = NULL;

	memset(fl, 0, sizeof(*fl));
	for (const struct benc *i = v && v->type == BENC_LIST ? v->list.first : NULL; i; i = i->next)
		if (i->type == BENC_STR)
			flag_word(fl, i->str.s, i->str.len);
	/* received-from: [ "IP4", "192.0.2.1" ] */
	rf = benc_dict_get(req, "received-from");
	if (rf && rf->type == BENC_LIST && rf->list.n == 2)
		benc_str_copy(rf->list.first->next, fl->received_from, sizeof(fl->received_from));
	flag_key(fl, req, "ICE");
	flag_key(fl, req, "direction");
	flag_key(fl, req, "transport-protocol");
	flag_key(fl, req, "rtcp-mux");
	if (!str_arg(req, "rtpp-flags", raw, sizeof(raw))) {
		for (char *w = strtok_r(raw, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
			flag_word(fl, w, strlen(w));
	}
}

/*
 * SIP-source-address (without trust-address): the endpoints' addresses in
 * the SDP are ignored for the SIP message's source, kept ports and all.
 * Returns body as it is, or a rewritten copy in *own (freed by the caller).
 */
static const char *sdp_source(const struct ng_flags *fl, const char *body, size_t *len,
			      char **own)
{
	struct sdp_rewrite rw = { .addr = fl->received_from, .keep_ice = true };
	struct sdp_info info;
	char err[64];

	*own = NULL;
	if (!fl->sip_source || fl->trust || !fl->received_from[0] ||
	    sdp_parse(body, *len, &info, err, sizeof(err)))
		return body;
	for (int i = 0; i < info.nstreams; i++)
		rw.ports[i] = info.streams[i].port;
	if (sdp_rewrite(body, *len, &rw, own, err, sizeof(err)))
		return body;
	*len = strlen(*own);
	return *own;
}

static void cmd_offer_answer(struct ng *ng, const struct benc *req, bool answer,
			     struct benc_buf *b)
{
	char call_id[256], from_tag[128] = "", to_tag[128] = "", err[160];
	const struct benc *sdp = benc_dict_get(req, "sdp");
	char *out = NULL, *own;
	struct ng_flags fl;
	struct ng_call *c;
	const char *body;
	size_t blen;
	int leg, rc;

	if (str_arg(req, "call-id", call_id, sizeof(call_id)) || !sdp || sdp->type != BENC_STR) {
		reply_error(b, "error", "call-id and sdp are required");
		return;
	}
	blen = sdp->str.len;
	str_arg(req, "from-tag", from_tag, sizeof(from_tag));
	str_arg(req, "to-tag", to_tag, sizeof(to_tag));
	c = call_find(ng, call_id);
	if (!c && answer) {
		reply_error(b, "error", "Unknown call-id");
		return;
	}
	if (!c) {
		if (ng->max_sessions && ng->ncalls >= ng->max_sessions) {
			reply_error(b, "load limit", "maximum number of sessions reached");
			return;
		}
		/* A new call is promised writes (its session, its record): "load limit" moves it on. */
		if (ng->media->store && ng->media->store->wq && store_q_full(ng->media->store->wq)) {
			reply_error(b, "load limit", "store busy: database writes are behind");
			return;
		}
		c = call_new(ng, call_id);
		if (!c) {
			reply_error(b, "error", "out of memory");
			return;
		}
		snprintf(c->tag[0], sizeof(c->tag[0]), "%s", from_tag);
		cdr_begin(ng, c);
	}
	/* An offer comes from its from-tag's side, an answer from its to-tag's. */
	leg = leg_of(c, answer ? to_tag : from_tag);
	if (leg < 0) {
		leg = answer ? 1 : (c->tag[0][0] ? 1 : 0);
		snprintf(c->tag[leg], sizeof(c->tag[leg]), "%s", answer ? to_tag : from_tag);
	}
	call_owner_data(c);
	parse_flags(req, &fl);
	body = sdp_source(&fl, sdp->str.s, &blen, &own);
	rc = answer ? media_answer_opts(c->s, leg, &fl.opts, body, blen, &out, err, sizeof(err)) :
		      media_offer_opts(c->s, leg, &fl.opts, body, blen, &out, err, sizeof(err));
	free(own);
	if (rc) {
		reply_error(b, rc == -EADDRNOTAVAIL ? "load limit" : "error", err);
		if (!answer && !c->s->nstreams)
			call_free(ng, c, NULL);	/* never a call: no record */
		return;
	}
	if (answer) {
		cdr_answer(ng, c, sdp->str.s, sdp->str.len);
		call_owner_data(c);	/* with its record's id, for an adoption */
		media_persist(c->s);
	}
	reply_ok(b, "sdp", out);
	free(out);
}

static void cmd_delete(struct ng *ng, const struct benc *req, struct benc_buf *b)
{
	char call_id[256], to_tag[128] = "";
	struct ng_call *c;

	if (str_arg(req, "call-id", call_id, sizeof(call_id))) {
		reply_error(b, "error", "call-id is required");
		return;
	}
	c = call_find(ng, call_id);
	if (!c) {
		reply_error(b, "error", "Call-ID not found");
		return;
	}
	/*
	 * A dialog's delete: its to-tag names a branch of a forked call that
	 * is not the one answered (a loser's failure), so the answered call
	 * stays. Without a to-tag, or with one of the call's, the call goes.
	 */
	str_arg(req, "to-tag", to_tag, sizeof(to_tag));
	if (to_tag[0] && c->tag[1][0] && leg_of(c, to_tag) < 0) {
		LOG(L_DEBUG, "[ctl] ng: delete of branch %s of call %s, answered by %s: kept",
		    to_tag, c->call_id, c->tag[1]);
		reply_ok(b, NULL, NULL);
		return;
	}
	call_free(ng, c, CDR_CLOSE_NORMAL);
	reply_ok(b, NULL, NULL);
}

/* Totals per component, as Kamailio's $rtpstat reads them; errors: SRTP that failed. */
static void put_totals(struct benc_buf *b, uint64_t packets, uint64_t bytes, uint64_t errors)
{
	benc_put_dict(b);
	benc_put_str(b, "bytes");
	benc_put_int(b, (int64_t)bytes);
	benc_put_str(b, "errors");
	benc_put_int(b, (int64_t)errors);
	benc_put_str(b, "packets");
	benc_put_int(b, (int64_t)packets);
	benc_put_end(b);
}

static void cmd_query(struct ng *ng, const struct benc *req, struct benc_buf *b)
{
	uint64_t packets = 0, bytes = 0, errors = 0;
	char call_id[256];
	struct ng_call *c;
	int i, leg;

	if (str_arg(req, "call-id", call_id, sizeof(call_id)) ||
	    !(c = call_find(ng, call_id))) {
		reply_error(b, "error", "Call-ID not found");
		return;
	}
	benc_put_dict(b);
	benc_put_str(b, "result");
	benc_put_str(b, "ok");
	benc_put_str(b, "tags");
	benc_put_dict(b);
	for (leg = 0; leg < 2; leg++) {
		uint64_t lp = 0, lb = 0, le = 0;

		for (i = 0; i < c->s->nstreams; i++) {
			struct media_leg_report r;

			if (media_leg_report(c->s, i, leg, &r))
				continue;
			lp += r.packets;
			lb += r.bytes;
			le += r.crypto_errors;
		}
		errors += le;
		packets += lp;
		bytes += lb;
		benc_put_str(b, c->tag[leg]);
		benc_put_dict(b);
		benc_put_str(b, "tag");
		benc_put_str(b, c->tag[leg]);
		benc_put_str(b, "totals");
		put_totals(b, lp, lb, le);
		benc_put_end(b);
	}
	benc_put_end(b);
	benc_put_str(b, "totals");
	benc_put_dict(b);
	benc_put_str(b, "RTCP");
	put_totals(b, 0, 0, 0);
	benc_put_str(b, "RTP");
	put_totals(b, packets, bytes, errors);
	benc_put_end(b);
	benc_put_end(b);
}

static void cmd_list(struct ng *ng, struct benc_buf *b)
{
	struct ng_call *c;

	benc_put_dict(b);
	benc_put_str(b, "calls");
	benc_put_list(b);
	for (c = ng->calls; c; c = c->next)
		benc_put_str(b, c->call_id);
	benc_put_end(b);
	benc_put_str(b, "result");
	benc_put_str(b, "ok");
	benc_put_end(b);
}

/* What was asked, for whoever reads the log: the command and its call. */
static void log_request(const struct benc *req)
{
	char cmd[32] = "", call_id[256] = "";

	if (L_DEBUG > log_level_cur)
		return;
	str_arg(req, "command", cmd, sizeof(cmd));
	str_arg(req, "call-id", call_id, sizeof(call_id));
	LOG(L_DEBUG, "[ctl] ng: %s%s%s", cmd[0] ? cmd : "(no command)", call_id[0] ? " " : "",
	    call_id);
}

static void dispatch(struct ng *ng, const struct benc *req, struct benc_buf *b)
{
	const struct benc *cmd = benc_dict_get(req, "command");

	log_request(req);
	if (benc_str_eq(cmd, "ping")) {
		benc_put_dict(b);
		benc_put_str(b, "result");
		benc_put_str(b, "pong");
		benc_put_end(b);
	} else if (benc_str_eq(cmd, "offer"))
		cmd_offer_answer(ng, req, false, b);
	else if (benc_str_eq(cmd, "answer"))
		cmd_offer_answer(ng, req, true, b);
	else if (benc_str_eq(cmd, "delete"))
		cmd_delete(ng, req, b);
	else if (benc_str_eq(cmd, "query"))
		cmd_query(ng, req, b);
	else if (benc_str_eq(cmd, "list"))
		cmd_list(ng, b);
	else
		reply_error(b, "error", cmd ? "Unrecognized command" : "No command given");
}

/*
 * A JSON request: handled as the bencoded dictionary it converts to, and
 * answered in JSON (ng_json.c), appended to out.
 */
static void handle_json(struct ng *ng, const char *text, size_t len, struct benc_buf *out)
{
	static const char not_json[] = "{\"error-reason\":\"reply has no JSON form\",\"result\":\"error\"}";
	static struct benc nodes[NG_NODES], rnodes[4 * NG_NODES];
	struct benc_buf req_b = { 0 }, rep_b = { 0 };
	const struct benc *req = NULL, *rep;
	const char *why = "out of memory";
	char *json = NULL;

	if (!ng_json_to_benc(text, len, &req_b, &why))
		req = benc_decode(req_b.data, req_b.len, nodes, NG_NODES, &why);
	if (!req || req->type != BENC_DICT)
		reply_error(&rep_b, "error", why);
	else
		dispatch(ng, req, &rep_b);
	rep = rep_b.err ? NULL : benc_decode(rep_b.data, rep_b.len, rnodes, 4 * NG_NODES, &why);
	json = rep ? ng_benc_to_json(rep) : NULL;
	if (json)
		benc_put_raw(out, json, strlen(json));
	else
		benc_put_raw(out, not_json, sizeof(not_json) - 1);
	free(json);
	benc_buf_free(&req_b);
	benc_buf_free(&rep_b);
}

void ng_handle(struct ng *ng, const char *msg, size_t len, char **reply, size_t *rlen)
{
	static struct benc nodes[NG_NODES];
	struct benc_buf b = { 0 };
	const char *sp = memchr(msg, ' ', len), *why = NULL;
	uint64_t now = loop_now_ms(ng->loop);
	char cookie[CTL_COOKIE_MAX];
	struct benc *req;
	size_t clen;

	*reply = NULL;
	*rlen = 0;
	clen = sp ? (size_t)(sp - msg) : 0;
	if (!clen || clen >= sizeof(cookie))
		return;		/* no cookie: nothing to answer to */
	memcpy(cookie, msg, clen);
	cookie[clen] = '\0';
	*reply = ctl_replies_get(&ng->replies, cookie, now, NG_CACHE_MS, rlen);
	if (*reply)
		return;
	benc_put_raw(&b, cookie, clen);
	benc_put_raw(&b, " ", 1);
	if (len > clen + 1 && sp[1] == '{') {
		handle_json(ng, sp + 1, len - clen - 1, &b);
	} else {
		req = benc_decode(sp + 1, len - clen - 1, nodes, NG_NODES, &why);
		if (!req || req->type != BENC_DICT)
			reply_error(&b, "error", req ? "request is not a dictionary" : why);
		else
			dispatch(ng, req, &b);
	}
	if (b.err) {
		benc_buf_free(&b);
		return;
	}
	ctl_replies_put(&ng->replies, cookie, b.data, b.len, now);
	*reply = b.data;
	*rlen = b.len;
}

/*
 * Up to NG_BATCH requests in one recvmmsg() and their replies in one
 * sendmmsg(): a proxy keeps many requests in flight, and under load the
 * system calls, not the commands, were most of a request's cost.
 */
static void on_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	static char buf[NG_BATCH][NG_MAX_DGRAM + 1];
	static struct sockaddr_storage from[NG_BATCH];
	struct mmsghdr in[NG_BATCH], out[NG_BATCH];
	struct iovec iin[NG_BATCH], iout[NG_BATCH];
	struct ng *ng = arg;
	int i, n, nout, sent;

	(void)loop;
	(void)events;
	do {
		for (i = 0; i < NG_BATCH; i++) {
			iin[i] = (struct iovec){ .iov_base = buf[i], .iov_len = NG_MAX_DGRAM };
			in[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
							 .msg_namelen = sizeof(from[i]),
							 .msg_iov = &iin[i], .msg_iovlen = 1 };
		}
		n = recvmmsg(fd, in, NG_BATCH, MSG_DONTWAIT, NULL);
		for (i = 0, nout = 0; i < n; i++) {
			char *reply;
			size_t rlen;

			ng_handle(ng, buf[i], in[i].msg_len, &reply, &rlen);
			if (!rlen) {
				free(reply);
				continue;
			}
			iout[nout] = (struct iovec){ .iov_base = reply, .iov_len = rlen };
			out[nout].msg_hdr = (struct msghdr){ .msg_name = &from[i],
							     .msg_namelen = in[i].msg_hdr.msg_namelen,
							     .msg_iov = &iout[nout], .msg_iovlen = 1 };
			nout++;
		}
		/* One that cannot go is dropped, as sendto() dropped it: the client resends. */
		for (i = 0; i < nout; i += sent > 0 ? sent : 1)
			sent = sendmmsg(fd, out + i, (unsigned)(nout - i), MSG_DONTWAIT);
		for (i = 0; i < nout; i++)
			free(iout[i].iov_base);
	} while (n == NG_BATCH);
}

int ng_open(struct ng *ng, struct loop *loop, struct media_ctx *media,
	    const struct sockaddr *addr, socklen_t addrlen, unsigned max_sessions)
{
	int err;

	memset(ng, 0, sizeof(*ng));
	ng->loop = loop;
	ng->media = media;
	ng->max_sessions = max_sessions;
	ng->fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ng->fd < 0)
		return -errno;
	if (bind(ng->fd, addr, addrlen)) {
		err = -errno;
		close(ng->fd);
		ng->fd = -1;
		return err;
	}
	err = loop_add_fd(loop, ng->fd, EPOLLIN, on_readable, ng);
	if (err) {
		close(ng->fd);
		ng->fd = -1;
	}
	return err;
}

void ng_adopt(struct media_session *s, const char *owner_data, void *arg)
{
	char call_id[256] = "", tag0[128] = "", tag1[128] = "";
	struct ng *ng = arg;
	int64_t cdr_id = 0;
	struct ng_call *c;

	if (sscanf(owner_data, "ng\n%255[^\n]\n%127[^\n]\n%127[^\n]\n%" SCNd64, call_id, tag0,
		   tag1, &cdr_id) < 1 ||
	    !(c = calloc(1, sizeof(*c)))) {
		LOG(L_WARN, "[ctl] %s: not an NG call, dropped", s->id);
		media_session_destroy(s);
		return;
	}
	snprintf(c->call_id, sizeof(c->call_id), "%s", call_id);
	snprintf(c->tag[0], sizeof(c->tag[0]), "%s", tag0);
	snprintf(c->tag[1], sizeof(c->tag[1]), "%s", tag1);
	c->ng = ng;
	c->s = s;
	/* Its record, open since the answer, goes on (cdr_close_stale() spares it). */
	if (ng->cdr && cdr_id > 0 && (c->cdr = malloc(sizeof(*c->cdr))) &&
	    cdr_get(ng->cdr, cdr_id, c->cdr)) {
		free(c->cdr);
		c->cdr = NULL;
	}
	s->dead = on_dead;
	s->owner = c;
	call_link(ng, c);
	LOG(L_INFO, "[ctl] ng: adopted call %s", call_id);
}

void ng_reset(struct ng *ng)
{
	/* A handover leaves the records open for the next sluiced, as the calls. */
	while (ng->calls)
		call_free(ng, ng->calls, ng->handing_over ? NULL : CDR_CLOSE_SHUTDOWN);
	ctl_replies_clear(&ng->replies);
}

void ng_close(struct ng *ng)
{
	ng_reset(ng);
	if (ng->fd >= 0) {
		loop_del_fd(ng->loop, ng->fd);
		close(ng->fd);
		ng->fd = -1;
	}
}

int ng_cdr_ids(const struct ng *ng, int64_t *out, int max)
{
	int n = 0;

	for (const struct ng_call *c = ng->calls; c && n < max; c = c->next)
		if (c->cdr)
			out[n++] = c->cdr->id;
	return n;
}
