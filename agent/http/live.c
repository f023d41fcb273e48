// SPDX-License-Identifier: GPL-2.0-only
/*
 * The console's live figures (see live.h): a ring of samples taken by a
 * timer, and the dashboard's event built from what the API and /metrics
 * read (DSP SYSINFO, the streams by path as /metrics sums them), so that
 * the pushed figures are the ones a page, a scrape or an operator would
 * read. The streams are summed in one walk, not listed: the event's cost
 * grows with the calls up, not its size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/loop.h"
#include "http/calls_push.h"
#include "http/live.h"
#include "http/metrics.h"
#include "media/session.h"
#include "mml/cmd.h"
#include "mml/server.h"
#include "sip/b2bua.h"
#include "sip/server.h"
#include "store/cdr.h"

struct sample {
	int64_t		ts_ms;		/* 0: none */
	double		cps;
	unsigned	calls, regs;
	double		mos;		/* < 0: no stream measured */
};

struct http_live {
	struct loop		*loop;
	struct mml_server	*mml;
	struct http_calls_push	*calls;		/* the live calls page's changes */
	struct loop_timer	timer;
	struct sample		ring[HTTP_HISTORY_N];
	unsigned		next;
	uint64_t		calls_then;	/* the SIP server's count at the last sample */
	uint64_t		event_calls;	/* ... at the last event */
	int64_t			event_ms;
	int64_t			then_ms;	/* of the last sample, or the start */
};

/* The live streams' mean MOS; -1 when none is measured. */
static double mean_mos(struct media_ctx *m)
{
	double sum = 0;
	unsigned n = 0;

	for (struct media_session *s = m ? m->sessions : NULL; s; s = s->next)
		for (int i = 0; i < s->nstreams; i++)
			for (int leg = 0; leg < 2; leg++) {
				struct media_leg_report q;

				if (!media_leg_report(s, i, leg, &q) && q.mos > 0) {
					sum += q.mos;
					n++;
				}
			}
	return n ? sum / n : -1;
}

static void on_sample(struct loop *loop, void *arg)
{
	struct http_live *l = arg;
	struct sip_server *sip = l->mml->env.sip;
	struct sample *s = &l->ring[l->next];
	uint64_t calls = sip ? sip->stats.calls : 0;

	s->ts_ms = cdr_now_ms();
	s->cps = (double)(calls - l->calls_then) / HTTP_HISTORY_STEP_S;
	l->calls_then = calls;
	l->then_ms = s->ts_ms;
	s->calls = sip ? b2bua_calls(sip) : 0;
	s->regs = sip ? sip->reg.nbindings : 0;
	s->mos = mean_mos(l->mml->env.media);
	l->next = (l->next + 1) % HTTP_HISTORY_N;
	loop_timer_arm(loop, &l->timer, HTTP_HISTORY_STEP_S * 1000);
}

int http_live_new(struct http_live **out, struct loop *loop, struct mml_server *mml)
{
	struct http_live *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	if (http_calls_push_new(&l->calls)) {
		free(l);
		return -ENOMEM;
	}
	l->loop = loop;
	l->mml = mml;
	l->calls_then = l->event_calls = mml->env.sip ? mml->env.sip->stats.calls : 0;
	l->then_ms = cdr_now_ms();
	loop_timer_init(&l->timer, on_sample, l);
	loop_timer_arm(loop, &l->timer, HTTP_HISTORY_STEP_S * 1000);
	*out = l;
	return 0;
}

void http_live_free(struct http_live *l)
{
	if (!l)
		return;
	loop_timer_cancel(l->loop, &l->timer);
	http_calls_push_free(l->calls);
	free(l);
}

static char *dump(json_t *doc, size_t *len)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;

	json_decref(doc);
	*len = text ? strlen(text) : 0;
	return text;
}

static json_t *sample_json(const struct sample *s)
{
	return json_pack("{s:I, s:f, s:i, s:i, s:o}", "t", (json_int_t)s->ts_ms, "cps", s->cps,
			 "calls", (int)s->calls, "regs", (int)s->regs, "mos",
			 s->mos < 0 ? json_null() : json_real(s->mos));
}

char *http_live_history(struct http_live *l, size_t *len)
{
	struct sip_server *sip = l->mml->env.sip;
	int64_t now = cdr_now_ms();
	json_t *doc = json_pack("{s:i, s:I, s:[]}", "step", HTTP_HISTORY_STEP_S, "now",
				(json_int_t)now, "samples");
	json_t *list = doc ? json_object_get(doc, "samples") : NULL;
	struct sample cur = { .ts_ms = now };

	for (unsigned i = 0; list && i < HTTP_HISTORY_N; i++) {
		const struct sample *s = &l->ring[(l->next + i) % HTTP_HISTORY_N];

		if (s->ts_ms)
			json_array_append_new(list, sample_json(s));
	}
	/* The samples end with now's figures, the period so far. */
	if (sip && now > l->then_ms)
		cur.cps = (double)(sip->stats.calls - l->calls_then) * 1000.0 / (double)(now - l->then_ms);
	cur.calls = sip ? b2bua_calls(sip) : 0;
	cur.regs = sip ? sip->reg.nbindings : 0;
	cur.mos = mean_mos(l->mml->env.media);
	if (list)
		json_array_append_new(list, sample_json(&cur));
	return dump(doc, len);
}

/* A command's JSON result, as the API would give it; NULL when it fails. */
static json_t *run(struct http_live *l, const char *verb, const char *obj)
{
	struct mml_cmd cmd = { .nparams = 0 };
	struct mml_reply reply;
	json_t *doc = NULL;

	snprintf(cmd.verb, sizeof(cmd.verb), "%s", verb);
	snprintf(cmd.obj, sizeof(cmd.obj), "%s", obj);
	if (mml_reply_init_json(&reply))
		return NULL;
	if (mml_run(l->mml, &cmd, "", "console", OP_OPERATOR, &reply) == MML_RET_OK)
		doc = mml_reply_take_json(&reply);
	mml_reply_free(&reply);
	return doc;
}

static json_t *path_json(const struct http_path_sums *p, int i)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "streams", (json_int_t)p->streams[i], "packets",
			 (json_int_t)p->packets[i], "bytes", (json_int_t)p->bytes[i], "lost",
			 (json_int_t)p->lost[i]);
}

/* The live streams summed by path, as /metrics sums them: {"user": {...}, "xdp": {...}}. */
static json_t *by_path(struct http_live *l)
{
	struct http_path_sums p;
	json_t *out = json_object();

	if (!l->mml->env.media || !out)
		return out;
	http_streams_by_path(l->mml->env.media, l->mml->env.dp, &p);
	if (p.streams[0] || !p.streams[1])
		json_object_set_new(out, "user", path_json(&p, 0));
	if (p.streams[1])
		json_object_set_new(out, p.kernel, path_json(&p, 1));
	return out;
}

/* /proc/net/dev: {"eth0": [rx_packets, tx_packets, rx_bytes, tx_bytes]}. */
static json_t *interfaces(void)
{
	FILE *f = fopen("/proc/net/dev", "re");
	json_t *out = json_object();
	char line[512];

	while (f && out && fgets(line, sizeof(line), f)) {
		unsigned long long rb, rp, tb, tp, x;
		char *colon = strchr(line, ':'), *name = line;

		if (!colon)
			continue;
		*colon = '\0';
		while (*name == ' ')
			name++;
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &rb, &rp,
			   &x, &x, &x, &x, &x, &x, &tb, &tp) != 10)
			continue;
		json_object_set_new(out, name, json_pack("[I, I, I, I]", (json_int_t)rp,
							 (json_int_t)tp, (json_int_t)rb,
							 (json_int_t)tb));
	}
	if (f)
		fclose(f);
	return out;
}

/* text, a JSON object's dump, with "calls": CALLS added at its end; NULL: no memory. */
static char *with_calls(char *text, size_t *len, const char *calls, size_t clen)
{
	static const char key[] = ",\"calls\":";
	char *out;

	if (!text || !calls || *len < 2 || text[*len - 1] != '}') {
		free(text);
		return NULL;
	}
	out = realloc(text, *len + sizeof(key) + clen + 1);
	if (!out) {
		free(text);
		return NULL;
	}
	*len -= 1;
	memcpy(out + *len, key, sizeof(key) - 1);
	*len += sizeof(key) - 1;
	memcpy(out + *len, calls, clen);
	*len += clen;
	out[(*len)++] = '}';
	out[*len] = '\0';
	return out;
}

char *http_live_event(struct http_live *l, size_t *len)
{
	struct sip_server *sip = l->mml->env.sip;
	uint64_t calls = sip ? sip->stats.calls : 0;
	int64_t now = cdr_now_ms();
	json_t *paths = by_path(l);
	const char *live;
	size_t live_len = 0;
	char *text;
	double cps = 0;

	if (l->event_ms && now > l->event_ms)
		cps = (double)(calls - l->event_calls) * 1000.0 / (double)(now - l->event_ms);
	l->event_calls = calls;
	l->event_ms = now;
	text = dump(json_pack("{s:I, s:o*, s:o, s:f, s:o}", "t", (json_int_t)now, "sysinfo",
			      run(l, "DSP", "SYSINFO"), "paths", paths, "cps", cps,
			      "interfaces", interfaces()),
		    len);
	live = http_calls_push_build(l->calls, sip, now, &live_len);
	return with_calls(text, len, live, live_len);
}
