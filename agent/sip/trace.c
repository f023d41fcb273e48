// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SIP tracker's ring (see trace.h). Adding a message costs a scan of
 * its header lines for the Call-ID in the caller's buffer (in the cache)
 * and one copy; searches walk the ring, which is small, in the
 * event loop. The texts live in one arena taken at the start and used as
 * a ring of bytes, in the order of the messages: no allocation and no free
 * per message (at 200 calls a second, some 2,600 messages a second), and
 * memory that stays where it is instead of going back to the kernel and
 * faulting in again.
 *
 * What a message costs the SIP path (at 200 calls a second some 2,600
 * messages a second): the scans for its first line and Call-ID read the
 * caller's buffer, in the cache; its record is 128 bytes (two cache
 * lines; two sockaddr_storage and two fixed strings made it 560 before),
 * its Call-ID and first line lie after its text in the arena, and the
 * oldest message is evicted from its 8-byte span, not from its record,
 * which is long out of the cache. Non-temporal stores for the copies were
 * tried and measured slower on this machine than plain ones (they were
 * meant to spare the SIP path's cache lines; no gain showed beside the
 * noise).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "sip/trace.h"

_Static_assert(sizeof(struct sip_trace_msg) == 128, "a traced message's record is two cache lines");

/* What follows a text in the arena at most: its NUL, the Call-ID's, the first line's, the padding. */
#define EXTRA_MAX	(1 + SIP_TRACE_CALLID_MAX + SIP_TRACE_SUMMARY_MAX + 16)

/*
 * The ring and the arena come straight from the kernel, populated at once:
 * not from malloc, whose heap they would share with the SIP path (a
 * megabyte-sized chunk taken and given back at each SET SIPTRACE, and
 * glibc's thresholds moved by it), and with no page faults on the first
 * lap of the messages.
 */
static void *take(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static size_t ring_size(const struct sip_trace *t)
{
	return (size_t)t->cap * sizeof(*t->ring);
}

int sip_trace_init(struct sip_trace *t, unsigned cap)
{
	memset(t, 0, sizeof(*t));
	if (!cap)
		return 0;
	t->cap = cap;
	t->max_bytes = (size_t)cap * SIP_TRACE_AVG;
	/*
	 * Room for the byte bound with each message's Call-ID and first line,
	 * and for one longest message beyond it: the wrap. Whole pages.
	 */
	t->arena_size = (t->max_bytes + (size_t)(cap + 1) * EXTRA_MAX + SIP_TRACE_MSG_MAX + 4095) &
			~(size_t)4095;
	t->links_cap = cap / 4 ? cap / 4 : 1;
	t->links = calloc(t->links_cap, sizeof(*t->links));
	t->spans = calloc(cap, sizeof(*t->spans));
	t->ring = take(ring_size(t));
	t->arena = take(t->arena_size);
	if (!t->ring || !t->links || !t->spans || !t->arena) {
		sip_trace_fini(t);
		return -ENOMEM;
	}
	return 0;
}

void sip_trace_fini(struct sip_trace *t)
{
	if (t->arena)
		munmap(t->arena, t->arena_size);
	if (t->ring)
		munmap(t->ring, ring_size(t));
	free(t->links);
	free(t->spans);
	memset(t, 0, sizeof(*t));
}

const struct sip_trace_msg *sip_trace_at(const struct sip_trace *t, unsigned i)
{
	return &t->ring[(t->head + i) % t->cap];
}

/* The oldest goes: read from its span, not its record, which is out of the cache. */
static void evict_oldest(struct sip_trace *t)
{
	t->bytes -= t->spans[t->head].len;
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
		size_t oldest = t->spans[t->head].at;

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

/* The Call-ID of the message buf (len bytes) into out, "" when it has none. */
static void scan_call_id(const char *buf, size_t len, char *out, size_t n)
{
	const char *end = buf + len, *p, *v;

	out[0] = '\0';
	for (p = next_line(buf, end); p < end && *p != '\r' && *p != '\n';
	     p = next_line(p, end)) {
		/* Only a line starting C or i can be it: no compare for the others. */
		if ((*p | 0x20) != 'c' && (*p | 0x20) != 'i')
			continue;
		if ((v = header_is(p, end, "Call-ID", "i"))) {
			header_value(v, end, out, n);
			return;
		}
	}
}

static void addr_keep(union sip_trace_addr *a, const struct sockaddr *sa, socklen_t len)
{
	if (sa && sa->sa_family == AF_INET && len >= sizeof(a->in))
		a->in = *(const struct sockaddr_in *)(const void *)sa;
	else if (sa && sa->sa_family == AF_INET6 && len >= sizeof(a->in6))
		a->in6 = *(const struct sockaddr_in6 *)(const void *)sa;
}

void sip_trace_add(struct sip_trace *t, uint64_t ts_us, bool out, uint8_t proto,
		   const struct sockaddr *local, socklen_t llen, const struct sockaddr *remote,
		   socklen_t rlen, const char *buf, size_t len)
{
	struct sip_trace_msg m = { 0 };
	size_t keep = len < SIP_TRACE_MSG_MAX ? len : SIP_TRACE_MSG_MAX, at, lc, ls;
	char call_id[SIP_TRACE_CALLID_MAX], summary[SIP_TRACE_SUMMARY_MAX];
	char *text;

	if (!t->ring || !len)
		return;
	/* Both read from the caller's buffer, which is in the cache: */
	header_value(buf, buf + keep, summary, sizeof(summary));
	scan_call_id(buf, keep, call_id, sizeof(call_id));
	lc = strlen(call_id);
	ls = strlen(summary);
	while (t->n && (t->n == t->cap || t->bytes + keep > t->max_bytes))
		evict_oldest(t);
	at = arena_place(t, (keep + 1 + lc + 1 + ls + 1 + 15) & ~(size_t)15);
	text = t->arena + at;
	memcpy(text, buf, keep);
	text[keep] = '\0';
	memcpy(text + keep + 1, call_id, lc + 1);
	memcpy(text + keep + 1 + lc + 1, summary, ls + 1);
	t->tail = at + ((keep + 1 + lc + 1 + ls + 1 + 15) & ~(size_t)15);
	m.seq = ++t->seq;
	m.ts_us = ts_us;
	m.text = text;
	m.call_id = text + keep + 1;
	m.summary = m.call_id + lc + 1;
	m.len = keep;
	m.out = out;
	m.cut = keep < len;
	m.proto = proto;
	addr_keep(&m.local, local, llen);
	addr_keep(&m.remote, remote, rlen);
	t->spans[(t->head + t->n) % t->cap] = (struct sip_trace_span){ (uint32_t)at, (uint32_t)keep };
	t->ring[(t->head + t->n) % t->cap] = m;
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
