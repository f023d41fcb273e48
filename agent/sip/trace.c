// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SIP tracker's ring (see trace.h). Adding a message costs one copy
 * and a scan of its header lines for the Call-ID; searches walk the ring,
 * which is small, in the event loop. The texts live in one arena taken at
 * the start and used as a ring of bytes, in the order of the messages: no
 * allocation and no free per message (at 200 calls a second, some 3,000
 * messages a second), and memory that stays where it is instead of going
 * back to the kernel and faulting in again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sip/trace.h"

int sip_trace_init(struct sip_trace *t, unsigned cap)
{
	memset(t, 0, sizeof(*t));
	if (!cap)
		return 0;
	t->ring = calloc(cap, sizeof(*t->ring));
	t->links_cap = cap / 4 ? cap / 4 : 1;
	t->links = calloc(t->links_cap, sizeof(*t->links));
	if (!t->ring || !t->links) {
		free(t->ring);
		free(t->links);
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	t->cap = cap;
	t->max_bytes = (size_t)cap * SIP_TRACE_AVG;
	/* Room for the byte bound, and for one longest text beyond it: the wrap. */
	t->arena_size = t->max_bytes + SIP_TRACE_MSG_MAX + 1;
	t->arena = malloc(t->arena_size);
	if (!t->arena) {
		free(t->ring);
		free(t->links);
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	return 0;
}

void sip_trace_fini(struct sip_trace *t)
{
	free(t->arena);
	free(t->ring);
	free(t->links);
	memset(t, 0, sizeof(*t));
}

const struct sip_trace_msg *sip_trace_at(const struct sip_trace *t, unsigned i)
{
	return &t->ring[(t->head + i) % t->cap];
}

static void evict_oldest(struct sip_trace *t)
{
	struct sip_trace_msg *m = &t->ring[t->head];

	t->bytes -= m->len;
	m->text = NULL;
	m->len = 0;
	t->head = (t->head + 1) % t->cap;
	t->n--;
	t->evicted++;
}

/*
 * Where in the arena a text of need bytes goes: after the newest text,
 * or at the arena's start when the end has no room (the rest of the end
 * is left unused this lap); the oldest messages go until it fits.
 */
static size_t arena_place(struct sip_trace *t, size_t need)
{
	while (t->n) {
		size_t oldest = (size_t)(t->ring[t->head].text - t->arena);

		if (t->tail > oldest) {
			if (t->arena_size - t->tail >= need)
				return t->tail;
			if (oldest >= need)
				return 0;
		} else if (t->tail < oldest && oldest - t->tail >= need) {
			return t->tail;
		}
		evict_oldest(t);
	}
	return 0;
}

/* The value of the header line at p (name already matched), trimmed, into out. */
static void header_value(const char *p, const char *end, char *out, size_t n)
{
	size_t k = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (p < end && *p != '\r' && *p != '\n' && k + 1 < n)
		out[k++] = *p++;
	while (k && (out[k - 1] == ' ' || out[k - 1] == '\t'))
		k--;
	out[k] = '\0';
}

/* The header line starting at p is name (long or compact form): where its value starts. */
static const char *header_is(const char *p, const char *end, const char *name, const char *compact)
{
	size_t n = strlen(name), c = strlen(compact);

	if ((size_t)(end - p) > n && !strncasecmp(p, name, n) &&
	    (p[n] == ':' || p[n] == ' ' || p[n] == '\t'))
		p += n;
	else if ((size_t)(end - p) > c && !strncasecmp(p, compact, c) &&
		 (p[c] == ':' || p[c] == ' ' || p[c] == '\t'))
		p += c;
	else
		return NULL;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p < end && *p == ':' ? p + 1 : NULL;
}

/* The line after the one at p. */
static const char *next_line(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl + 1 : end;
}

static void scan_call_id(struct sip_trace_msg *m)
{
	const char *end = m->text + m->len, *p, *v;

	for (p = next_line(m->text, end); p < end && *p != '\r' && *p != '\n';
	     p = next_line(p, end)) {
		/* Only a line starting C or i can be it: no compare for the others. */
		if ((*p | 0x20) != 'c' && (*p | 0x20) != 'i')
			continue;
		if ((v = header_is(p, end, "Call-ID", "i"))) {
			header_value(v, end, m->call_id, sizeof(m->call_id));
			return;
		}
	}
}

void sip_trace_add(struct sip_trace *t, uint64_t ts_us, bool out, uint8_t proto,
		   const struct sockaddr *local, socklen_t llen, const struct sockaddr *remote,
		   socklen_t rlen, const char *buf, size_t len)
{
	struct sip_trace_msg *m;
	size_t keep = len < SIP_TRACE_MSG_MAX ? len : SIP_TRACE_MSG_MAX, at;
	char *text;

	if (!t->ring || !len)
		return;
	while (t->n && (t->n == t->cap || t->bytes + keep > t->max_bytes))
		evict_oldest(t);
	at = arena_place(t, keep + 1);
	text = t->arena + at;
	t->tail = at + keep + 1;
	memcpy(text, buf, keep);
	text[keep] = '\0';
	m = &t->ring[(t->head + t->n) % t->cap];
	memset(m, 0, sizeof(*m));
	m->seq = ++t->seq;
	m->ts_us = ts_us;
	m->out = out;
	m->cut = keep < len;
	m->proto = proto;
	if (local && llen <= sizeof(m->local))
		memcpy(&m->local, local, llen);
	if (remote && rlen <= sizeof(m->remote))
		memcpy(&m->remote, remote, rlen);
	m->text = text;
	m->len = keep;
	header_value(text, text + keep, m->summary, sizeof(m->summary));
	scan_call_id(m);
	t->n++;
	t->bytes += keep;
	t->stored++;
}

void sip_trace_link(struct sip_trace *t, const char *a, const char *b)
{
	struct sip_trace_link *l;

	if (!t->ring)
		return;
	l = &t->links[t->links_next];
	t->links_next = (t->links_next + 1) % t->links_cap;
	snprintf(l->a, sizeof(l->a), "%s", a);
	snprintf(l->b, sizeof(l->b), "%s", b);
}

const char *sip_trace_linked(const struct sip_trace *t, const char *call_id, int *side)
{
	int dummy;

	if (!side)
		side = &dummy;
	*side = 0;
	for (unsigned i = 0; t->ring && i < t->links_cap; i++) {
		const struct sip_trace_link *l = &t->links[i];

		if (l->a[0] && !strcmp(l->a, call_id))
			return l->b;
		if (l->b[0] && !strcmp(l->b, call_id)) {
			*side = 1;
			return l->a;
		}
	}
	return NULL;
}

bool sip_trace_match(const struct sip_trace_msg *m, const char *id, const char *other)
{
	return m->call_id[0] && (!strcmp(m->call_id, id) || (other && !strcmp(m->call_id, other)));
}

/* Whether s (n bytes) holds number as a user part: sip:N@, sips:N@, tel:N. */
static bool carries(const char *s, size_t n, const char *number)
{
	size_t k = strlen(number);

	for (const char *p = s; p + k < s + n; p++) {
		if (*p != ':' || strncmp(p + 1, number, k))
			continue;
		if (p[k + 1] == '@' || (p >= s + 3 && !strncasecmp(p - 3, "tel", 3) &&
					 !strchr("0123456789", p[k + 1])))
			return true;
	}
	return false;
}

/* Whether m's request line, From or To carry number. */
static bool has_number(const struct sip_trace_msg *m, const char *number)
{
	const char *end = m->text + m->len, *p = m->text, *nl, *v;

	nl = next_line(p, end);
	if (strncmp(p, "SIP/2.0", 7) && carries(p, (size_t)(nl - p), number))
		return true;
	for (p = nl; p < end && *p != '\r' && *p != '\n'; p = nl) {
		nl = next_line(p, end);
		if (((v = header_is(p, end, "From", "f")) || (v = header_is(p, end, "To", "t"))) &&
		    carries(v, (size_t)(nl - v), number))
			return true;
	}
	return false;
}

static bool listed(const struct sip_trace *t, char ids[][SIP_TRACE_CALLID_MAX], int n,
		   const char *id)
{
	const char *other = sip_trace_linked(t, id, NULL);

	for (int i = 0; i < n; i++)
		if (!strcmp(ids[i], id) || (other && !strcmp(ids[i], other)))
			return true;
	return false;
}

int sip_trace_ids(const struct sip_trace *t, const char *call_id, const char *number,
		  char ids[][SIP_TRACE_CALLID_MAX], int max)
{
	int n = 0;

	if (max < 1 || !t->ring || (number && !number[0]))
		return 0;
	if (call_id) {
		snprintf(ids[0], SIP_TRACE_CALLID_MAX, "%s", call_id);
		return 1;
	}
	for (unsigned i = t->n; i-- > 0 && n < max;) {
		const struct sip_trace_msg *m = sip_trace_at(t, i);

		const char *a;
		int side;

		if (!m->call_id[0] || (number && !has_number(m, number)) ||
		    listed(t, ids, n, m->call_id))
			continue;
		/* A call goes by its caller's Call-ID. */
		a = sip_trace_linked(t, m->call_id, &side);
		snprintf(ids[n++], SIP_TRACE_CALLID_MAX, "%s", a && side ? a : m->call_id);
	}
	return n;
}
