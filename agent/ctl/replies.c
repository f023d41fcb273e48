// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control protocols' reply cache (see replies.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/replies.h"

/* FNV-1a: cookies are short, and often a counter's digits. */
static unsigned bucket_of(const char *cookie)
{
	uint32_t h = 2166136261u;

	for (; *cookie; cookie++)
		h = (h ^ (uint8_t)*cookie) * 16777619u;
	return h % CTL_REPLY_BUCKETS;
}

char *ctl_replies_get(const struct ctl_replies *r, const char *cookie, uint64_t now,
		      uint32_t ttl_ms, size_t *len)
{
	unsigned i;

	for (i = r->head[bucket_of(cookie)]; i; i = r->slot[i - 1].hnext) {
		const struct ctl_reply *e = &r->slot[i - 1];
		char *copy;

		if (!e->text || now - e->at_ms >= ttl_ms || strcmp(e->cookie, cookie))
			continue;
		copy = malloc(e->len);
		if (copy) {
			memcpy(copy, e->text, e->len);
			*len = e->len;
		}
		return copy;
	}
	return NULL;
}

static void unhash(struct ctl_replies *r, unsigned idx)
{
	unsigned *pp = &r->head[bucket_of(r->slot[idx].cookie)];

	while (*pp && *pp != idx + 1)
		pp = &r->slot[*pp - 1].hnext;
	if (*pp)
		*pp = r->slot[idx].hnext;
	r->slot[idx].hashed = false;
}

void ctl_replies_put(struct ctl_replies *r, const char *cookie, const char *text, size_t len,
		     uint64_t now)
{
	unsigned idx = r->next, b;
	struct ctl_reply *e = &r->slot[idx];

	r->next = (r->next + 1) % CTL_REPLIES;
	if (e->hashed)
		unhash(r, idx);
	free(e->text);
	e->text = malloc(len);
	if (!e->text)
		return;
	memcpy(e->text, text, len);
	e->len = len;
	e->at_ms = now;
	snprintf(e->cookie, sizeof(e->cookie), "%s", cookie);
	b = bucket_of(e->cookie);
	e->hnext = r->head[b];
	r->head[b] = idx + 1;
	e->hashed = true;
}

void ctl_replies_clear(struct ctl_replies *r)
{
	for (unsigned i = 0; i < CTL_REPLIES; i++)
		free(r->slot[i].text);
	memset(r, 0, sizeof(*r));
}
