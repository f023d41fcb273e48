// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control protocols' reply cache (see replies.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/replies.h"

char *ctl_replies_get(const struct ctl_replies *r, const char *cookie, uint64_t now,
		      uint32_t ttl_ms, size_t *len)
{
	for (unsigned i = 0; i < CTL_REPLIES; i++) {
		const struct ctl_reply *e = &r->slot[i];
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

void ctl_replies_put(struct ctl_replies *r, const char *cookie, const char *text, size_t len,
		     uint64_t now)
{
	struct ctl_reply *e = &r->slot[r->next];

	r->next = (r->next + 1) % CTL_REPLIES;
	free(e->text);
	e->text = malloc(len);
	if (!e->text)
		return;
	memcpy(e->text, text, len);
	e->len = len;
	e->at_ms = now;
	snprintf(e->cookie, sizeof(e->cookie), "%s", cookie);
}

void ctl_replies_clear(struct ctl_replies *r)
{
	for (unsigned i = 0; i < CTL_REPLIES; i++) {
		free(r->slot[i].text);
		r->slot[i].text = NULL;
	}
	r->next = 0;
}
