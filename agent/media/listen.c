// SPDX-License-Identifier: GPL-2.0-only
/*
 * Listening in (see listen.h): a listen belongs to its session, which
 * withdraws its kernel flows while it is there (session.c's offload asks
 * s->listen) and gives every RTP datagram it relays to the tap below.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "media/listen.h"
#include "media/session.h"

static void listen_copy(void *arg, int from, const uint8_t *pkt, size_t len);

static const struct media_listen_ops listen_ops = {
	.tap = listen_copy,
	.stop = media_listen_stop,
};

static void offload_all(struct media_session *s)
{
	for (int i = 0; i < s->nstreams; i++)
		if (s->st[i].active)
			media_stream_offload(s, &s->st[i]);
}

static void on_unclaimed(struct loop *loop, void *arg)
{
	struct media_listen *l = arg;

	(void)loop;
	LOG(L_INFO, "[media] %s: %s did not take up the listen within %u s", l->s->id, l->op,
	    MEDIA_LISTEN_CLAIM_MS / 1000);
	media_listen_stop(l, "not taken up");
}

int media_listen_start(struct media_session *s, const char *op, struct media_listen **out)
{
	struct media_listen *l;
	unsigned char rnd[16];

	if (s->listen)
		return -EBUSY;
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		return -EIO;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->ops = &listen_ops;
	l->s = s;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(l->ticket + 2 * i, 3, "%02x", rnd[i]);
	snprintf(l->op, sizeof(l->op), "%s", op);
	loop_timer_init(&l->claim, on_unclaimed, l);
	loop_timer_arm(s->m->loop, &l->claim, MEDIA_LISTEN_CLAIM_MS);
	s->listen = l;
	offload_all(s);		/* withdraws the flows: the relay sees the packets again */
	LOG(L_INFO, "[media] %s: %s listens in; its streams go through userspace", s->id, op);
	*out = l;
	return 0;
}

struct media_listen *media_listen_find(struct media_session *sessions, const char *ticket)
{
	if (strlen(ticket) != MEDIA_LISTEN_TICKET - 1)
		return NULL;
	for (struct media_session *s = sessions; s; s = s->next) {
		struct media_listen *l = s->listen;

		if (l && l->ticket[0] && !strcmp(l->ticket, ticket))
			return l;
	}
	return NULL;
}

struct media_listen *media_listen_claim(struct loop *loop, struct media_session *sessions,
					const char *ticket, media_listen_rtp_fn rtp,
					media_listen_gone_fn gone, void *arg)
{
	struct media_listen *l = media_listen_find(sessions, ticket);

	if (!l)
		return NULL;
	memset(l->ticket, 0, sizeof(l->ticket));	/* one use */
	loop_timer_cancel(loop, &l->claim);
	l->rtp = rtp;
	l->gone = gone;
	l->arg = arg;
	return l;
}

void media_listen_stop(struct media_listen *l, const char *why)
{
	struct media_session *s = l->s;

	loop_timer_cancel(s->m->loop, &l->claim);
	s->listen = NULL;
	offload_all(s);		/* the kernel takes the streams back */
	LOG(L_INFO, "[media] %s: %s stopped listening (%s); its streams go back to %s", s->id,
	    l->op, why ? why : "the listener left", s->m->dp ? s->m->dp->desc : "userspace");
	if (why && l->gone)
		l->gone(l->arg, why);
	free(l);
}

/* The relay's tap (relay.h) of a listened-to stream; arg is the listen. */
static void listen_copy(void *arg, int from, const uint8_t *pkt, size_t len)
{
	struct media_listen *l = arg;

	if (l && l->rtp)
		l->rtp(l->arg, from, pkt, len);
}
