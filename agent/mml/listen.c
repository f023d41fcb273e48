// SPDX-License-Identifier: GPL-2.0-only
/*
 * STR LISTEN and STP LISTEN (media/listen.h): an ADMIN listens in on a
 * live call. STR LISTEN withdraws the call's kernel flows and answers a
 * one-use ticket, which a WebSocket to /api/listen/ws?ticket=... (the
 * console's Listen button, http/listen.c) claims within 15 s to receive
 * the call's RTP; the call's CDR names the operator in listened_by. A
 * media session relayed for Kamailio or OpenSIPS (NG, rtpproxy) can be
 * listened to as well, by its session id (DSP STREAM's SESSION), without
 * a CDR of ours to mark. The ticket is the reply's alone: never logged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "media/listen.h"
#include "media/session.h"
#include "mml/cmd.h"
#include "sip/b2bua.h"

/* The codec the page can play, by the first stream's payload type. */
static const char *codec_of(const struct media_session *s, char *buf, size_t n)
{
	int pt = s->nstreams > 0 ? s->st[0].sdp[0].pt : -1;

	if (pt == 0)
		return "PCMU";
	if (pt == 8)
		return "PCMA";
	snprintf(buf, n, "PT %d", pt);
	return buf;
}

int mml_str_listen(struct mml_call *c)
{
	static const char *const cols[] = { "CALLID", "SESSION", "CODEC", "TICKET", "URL" };
	const char *id = mml_param(c->cmd, "CALLID");
	struct media_session *s;
	struct media_listen *l;
	char url[128], codec[16];
	const char *row[5];
	int err;

	if (!id)
		return mml_fail(c, MML_RET_PARAM, "CALLID is required");
	s = b2bua_find_media(c->m->env.sip, id);
	/* A session relayed for Kamailio or OpenSIPS (NG, rtpproxy): by its id. */
	for (struct media_session *ms = c->m->env.media && !s ? c->m->env.media->sessions : NULL;
	     ms && !s; ms = ms->next)
		if (!strcmp(ms->id, id))
			s = ms;
	if (!s)
		return mml_fail(c, MML_RET_NOT_FOUND, "no call %s", id);
	err = media_listen_start(s, c->op, &l);
	if (err == -EBUSY)
		return mml_fail(c, MML_RET_EXISTS, "%s listens to call %s already",
				s->listen->op, id);
	if (err)
		return mml_fail(c, MML_RET_INTERNAL, "cannot listen: %s", strerror(-err));
	if (c->m->env.sip)
		b2bua_listened(c->m->env.sip, id, c->op);
	LOG(L_INFO, "[mml] %s listens in on call %s", c->op, id);
	snprintf(url, sizeof(url), "/api/listen/ws?ticket=%s", l->ticket);
	row[0] = id;
	row[1] = s->id;
	row[2] = codec_of(s, codec, sizeof(codec));
	row[3] = l->ticket;
	row[4] = url;
	mml_ok(c);
	mml_reply_table_begin(c->r, "Listen", 5, cols);
	mml_reply_row(c->r, row);
	mml_reply_table_end(c->r);
	return 0;
}

int mml_stp_listen(struct mml_call *c)
{
	const char *id = mml_param(c->cmd, "CALLID");
	struct media_session *s;
	char why[64];

	if (!id)
		return mml_fail(c, MML_RET_PARAM, "CALLID is required");
	for (s = c->m->env.media ? c->m->env.media->sessions : NULL; s; s = s->next)
		if (s->listen && !strcmp(s->id, id))
			break;
	if (!s) {
		/* By the callee's Call-ID as well. */
		struct media_session *ms = b2bua_find_media(c->m->env.sip, id);

		s = ms && ms->listen ? ms : NULL;
	}
	if (!s)
		return mml_fail(c, MML_RET_NOT_FOUND, "nobody listens to call %s", id);
	snprintf(why, sizeof(why), "stopped by %s", c->op);
	media_listen_stop(s->listen, why);
	mml_ok(c);
	return 0;
}
