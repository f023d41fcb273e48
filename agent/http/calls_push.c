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
	char		*buf;		/* the event's text, reused */
	size_t		len, cap;
	bool		oom;
	char		*ids;		/* the Call-IDs' list, written beside the rows */
	size_t		ids_len, ids_cap;
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
	free(p->buf);
	free(p->ids);
	free(p);
}

/* ---- the text ---- */

static bool grow(char **buf, size_t *cap, size_t need)
{
	size_t cap2 = *cap ? *cap : 4096;
	char *b;

	if (need <= *cap)
		return true;
	while (cap2 < need)
		cap2 *= 2;
	b = realloc(*buf, cap2);
	if (!b)
		return false;
	*buf = b;
	*cap = cap2;
	return true;
}

static void put(struct http_calls_push *p, const char *s, size_t n)
{
	if (p->oom || !grow(&p->buf, &p->cap, p->len + n + 1)) {
		p->oom = true;
		return;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void puts_(struct http_calls_push *p, const char *s)
{
	put(p, s, strlen(s));
}

/*
 * A JSON string into out (cap bytes, at least 8): quote, backslash and
 * control characters escaped; bytes past ASCII become '?' (Call-IDs and
 * URIs are ASCII; a stray byte must not make the event unreadable).
 * Returns the length written, cut short rather than overrun.
 */
static size_t json_str(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	out[o++] = '"';
	for (; s && *s && o + 8 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
		} else {
			out[o++] = c < 0x80 ? (char)c : '?';
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

static void put_str(struct http_calls_push *p, const char *s)
{
	char tmp[1024];

	put(p, tmp, json_str(tmp, sizeof(tmp), s));
}

static void put_id(struct http_calls_push *p, const char *id)
{
	char tmp[1024];
	size_t n = json_str(tmp, sizeof(tmp), id);

	if (p->oom || !grow(&p->ids, &p->ids_cap, p->ids_len + n + 2)) {
		p->oom = true;
		return;
	}
	if (p->ids_len)
		p->ids[p->ids_len++] = ',';
	memcpy(p->ids + p->ids_len, tmp, n);
	p->ids_len += n;
}

/* A call's row, the very fields and forms of DSP CALL's JSON (GET /api/calls). */
static void put_row(struct http_calls_push *p, const struct b2bua_call_info *ci)
{
	char start[32] = "-", dur[24] = "null", a[64] = "-", b[64] = "-";
	time_t t = (time_t)(ci->invite_ms / 1000);
	struct tm tm;

	if (ci->invite_ms && localtime_r(&t, &tm))
		strftime(start, sizeof(start), "%Y-%m-%d %H:%M:%S", &tm);
	if (ci->answer_ms)
		snprintf(dur, sizeof(dur), "%" PRId64, (p->now_ms - ci->answer_ms) / 1000);
	if (ci->a_peer)
		sip_peer_str(ci->a_peer, a, sizeof(a));
	if (ci->b_peer)
		sip_peer_str(ci->b_peer, b, sizeof(b));
	puts_(p, p->nchanged++ ? ",{\"callid\":" : "{\"callid\":");
	put_str(p, ci->a_call_id);
	puts_(p, ",\"caller\":");
	put_str(p, ci->caller);
	puts_(p, ",\"callee\":");
	put_str(p, ci->callee);
	puts_(p, ",\"state\":");
	put_str(p, ci->state);
	puts_(p, ",\"start\":");
	put_str(p, start);
	puts_(p, ",\"duration\":");
	puts_(p, dur);
	puts_(p, ",\"calleraddr\":");
	put_str(p, a);
	puts_(p, ",\"calleeaddr\":");
	put_str(p, b);
	puts_(p, ",\"bcallid\":");
	put_str(p, ci->b_call_id ? ci->b_call_id : "-");
	puts_(p, "}");
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

	p->len = 0;
	p->ids_len = 0;
	p->oom = false;
	p->nchanged = 0;
	p->now.n = 0;
	p->now_ms = now_ms;
	/* A page that sees a number skipped missed changes: it lists the calls again. */
	snprintf(seq, sizeof(seq), "{\"seq\":%" PRIu64 ",\"changed\":[", ++p->seq);
	puts_(p, seq);
	if (from)
		list(from, on_call, p);
	puts_(p, "],\"ids\":[");
	put(p, p->ids ? p->ids : "", p->ids_len);
	puts_(p, "]}");
	if (p->oom) {
		/* The next event compares with an empty picture: every call goes out whole. */
		p->was.n = 0;
		return NULL;
	}
	if (p->now.n)
		qsort(p->now.v, p->now.n, sizeof(*p->now.v), seen_cmp);
	swap = p->was;
	p->was = p->now;
	p->now = swap;
	*len = p->len;
	return p->buf;
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
