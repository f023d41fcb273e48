// SPDX-License-Identifier: GPL-2.0-only
/*
 * The live calls page's changes (see calls_push.h), built once a second
 * in the event loop while a browser listens. One walk over the calls
 * (b2bua_list) against the last event's picture of them: a table of
 * each call's Call-ID hash, state and answer time, sorted, looked up by
 * bisection. A call not in the picture, or whose state or answer moved,
 * goes out whole; every call goes out as its Call-ID, so that ended
 * calls leave the page. The JSON is written straight into one buffer
 * kept from event to event: no object per call, no allocation once the
 * buffer and the picture have grown to the calls up. Listing 400 calls
 * through DSP CALL each second cost the loop about 10 ms; this, well
 * under one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jbuf.h"
#include "http/calls_push.h"
#include "sip/b2bua.h"
#include "sip/server.h"
#include "sip/transport.h"

struct seen {
	uint64_t	h;		/* FNV-1a of the A Call-ID */
	int64_t		answer_ms;
	char		state[12];
};

struct pic {
	struct seen	*v;
	size_t		n, cap;
};

struct http_calls_push {
	struct pic	was, now;	/* the last event's picture; the one being taken */
	struct jbuf	text;		/* the event's text, reused */
	struct jbuf	ids;		/* the Call-IDs' list, written beside the rows */
	bool		oom;		/* the picture's */
	int64_t		now_ms;
	unsigned	nchanged;
	uint64_t	seq;		/* of the last event built */
};

int http_calls_push_new(struct http_calls_push **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void http_calls_push_free(struct http_calls_push *p)
{
	if (!p)
		return;
	free(p->was.v);
	free(p->now.v);
	free(p->text.p);
	free(p->ids.p);
	free(p);
}

/* ---- the text ---- */

static void put_id(struct http_calls_push *p, const char *id)
{
	if (p->ids.len)
		jb_put(&p->ids, ",", 1);
	jb_str_ascii(&p->ids, id);
}

/* A call's row, the very fields and forms of DSP CALL's JSON (GET /api/calls). */
static void put_row(struct http_calls_push *p, const struct b2bua_call_info *ci)
{
	char start[32] = "-", dur[24] = "null", a[64] = "-", b[64] = "-";
	time_t t = (time_t)(ci->invite_ms / 1000);
	struct tm tm;
	struct jbuf *o = &p->text;

	if (ci->invite_ms && localtime_r(&t, &tm))
		strftime(start, sizeof(start), "%Y-%m-%d %H:%M:%S", &tm);
	if (ci->answer_ms)
		snprintf(dur, sizeof(dur), "%" PRId64, (p->now_ms - ci->answer_ms) / 1000);
	if (ci->a_peer)
		sip_peer_str(ci->a_peer, a, sizeof(a));
	if (ci->b_peer)
		sip_peer_str(ci->b_peer, b, sizeof(b));
	jb_lit(o, p->nchanged++ ? ",{\"callid\":" : "{\"callid\":");
	jb_str_ascii(o, ci->a_call_id);
	jb_lit(o, ",\"caller\":");
	jb_str_ascii(o, ci->caller);
	jb_lit(o, ",\"callee\":");
	jb_str_ascii(o, ci->callee);
	jb_lit(o, ",\"state\":");
	jb_str_ascii(o, ci->state);
	jb_lit(o, ",\"start\":");
	jb_str_ascii(o, start);
	jb_lit(o, ",\"duration\":");
	jb_lit(o, dur);
	jb_lit(o, ",\"calleraddr\":");
	jb_str_ascii(o, a);
	jb_lit(o, ",\"calleeaddr\":");
	jb_str_ascii(o, b);
	jb_lit(o, ",\"bcallid\":");
	jb_str_ascii(o, ci->b_call_id ? ci->b_call_id : "-");
	jb_lit(o, "}");
}

/* ---- the picture ---- */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return x->h < y->h ? -1 : x->h > y->h;
}

static const struct seen *was_find(const struct pic *pic, uint64_t h)
{
	struct seen key = { .h = h };

	return pic->n ? bsearch(&key, pic->v, pic->n, sizeof(key), seen_cmp) : NULL;
}

static int on_call(const struct b2bua_call_info *ci, void *arg)
{
	struct http_calls_push *p = arg;
	struct pic *now = &p->now;
	struct seen *s;
	const struct seen *before;

	if (now->n == now->cap) {
		size_t cap = now->cap ? now->cap * 2 : 256;
		struct seen *v = realloc(now->v, cap * sizeof(*v));

		if (!v) {
			p->oom = true;
			return -ENOMEM;
		}
		now->v = v;
		now->cap = cap;
	}
	s = &now->v[now->n++];
	memset(s, 0, sizeof(*s));
	s->h = fnv1a(ci->a_call_id);
	s->answer_ms = ci->answer_ms;
	snprintf(s->state, sizeof(s->state), "%s", ci->state ? ci->state : "");
	before = was_find(&p->was, s->h);
	if (!before || before->answer_ms != s->answer_ms || strcmp(before->state, s->state))
		put_row(p, ci);
	put_id(p, ci->a_call_id);
	return 0;
}

/* The event's text from list's walk (b2bua_list's form; the unit test's own). */
static const char *build(struct http_calls_push *p, int (*list)(void *, b2bua_call_fn, void *),
			 void *from, int64_t now_ms, size_t *len)
{
	struct pic swap;
	char seq[48];

	p->text.len = 0;
	p->text.oom = false;
	p->ids.len = 0;
	p->ids.oom = false;
	p->oom = false;
	p->nchanged = 0;
	p->now.n = 0;
	p->now_ms = now_ms;
	/* A page that sees a number skipped missed changes: it lists the calls again. */
	snprintf(seq, sizeof(seq), "{\"seq\":%" PRIu64 ",\"changed\":[", ++p->seq);
	jb_lit(&p->text, seq);
	if (from)
		list(from, on_call, p);
	jb_lit(&p->text, "],\"ids\":[");
	jb_put(&p->text, p->ids.p ? p->ids.p : "", p->ids.len);
	jb_lit(&p->text, "]}");
	if (p->oom || p->text.oom || p->ids.oom) {
		/* The next event compares with an empty picture: every call goes out whole. */
		p->was.n = 0;
		return NULL;
	}
	if (p->now.n)
		qsort(p->now.v, p->now.n, sizeof(*p->now.v), seen_cmp);
	swap = p->was;
	p->was = p->now;
	p->now = swap;
	*len = p->text.len;
	return p->text.p;
}

static int list_calls(void *sip, b2bua_call_fn fn, void *arg)
{
	return b2bua_list(sip, fn, arg);
}

const char *http_calls_push_build(struct http_calls_push *p, struct sip_server *sip,
				  int64_t now_ms, size_t *len)
{
	return build(p, list_calls, sip, now_ms, len);
}
