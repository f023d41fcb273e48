// SPDX-License-Identifier: GPL-2.0-only
/*
 * The console's sessions and login lockout (see session.h): two small
 * tables in the event loop, so no lock and no database.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "http/session.h"
#include "mml/server.h"

static bool random_hex(char *out, size_t hexlen)
{
	unsigned char raw[HTTP_TOKEN_LEN / 2];

	if (hexlen / 2 > sizeof(raw) || RAND_bytes(raw, (int)(hexlen / 2)) != 1)
		return false;
	for (size_t i = 0; i < hexlen / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return true;
}

bool http_token_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return !diff && la;
}

struct http_session *http_session_new(struct http_sessions *ss, const char *op,
				      enum op_role role, uint64_t now_ms)
{
	struct http_session *s = &ss->s[0];

	for (int i = 0; i < HTTP_MAX_SESSIONS; i++) {
		struct http_session *t = &ss->s[i];

		if (t->used_ms && now_ms - t->used_ms > ss->timeout_ms)
			http_session_end(t);
		if (t->used_ms < s->used_ms)
			s = t;		/* a free one, or the least recently used */
	}
	http_session_end(s);
	if (!random_hex(s->id, HTTP_TOKEN_LEN) || !random_hex(s->csrf, HTTP_TOKEN_LEN))
		return NULL;
	snprintf(s->op, sizeof(s->op), "%s", op);
	s->role = role;
	s->used_ms = now_ms ? now_ms : 1;
	return s;
}

struct http_session *http_session_find(struct http_sessions *ss, const char *id, uint64_t now_ms,
				       bool *expired)
{
	*expired = false;
	if (strlen(id) != HTTP_TOKEN_LEN)
		return NULL;
	for (int i = 0; i < HTTP_MAX_SESSIONS; i++) {
		struct http_session *s = &ss->s[i];

		if (!s->used_ms || !http_token_eq(s->id, id))
			continue;
		if (now_ms - s->used_ms > ss->timeout_ms) {
			http_session_end(s);
			*expired = true;
			return NULL;
		}
		s->used_ms = now_ms ? now_ms : 1;
		return s;
	}
	return NULL;
}

void http_session_end(struct http_session *s)
{
	memset(s, 0, sizeof(*s));
}

static struct http_peer *peer(struct http_sessions *ss, const char *addr, bool add)
{
	struct http_peer *oldest = &ss->peers[0];

	for (int i = 0; i < HTTP_MAX_PEERS; i++) {
		struct http_peer *p = &ss->peers[i];

		if (p->addr[0] && !strcmp(p->addr, addr))
			return p;
		if (p->last_ms < oldest->last_ms)
			oldest = p;
	}
	if (!add)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->addr, sizeof(oldest->addr), "%s", addr);
	return oldest;
}

unsigned http_peer_locked(struct http_sessions *ss, const char *addr, uint64_t now_ms)
{
	struct http_peer *p = peer(ss, addr, false);

	if (!p || p->locked_until_ms <= now_ms)
		return 0;
	return (unsigned)((p->locked_until_ms - now_ms + 999) / 1000);
}

uint64_t http_peer_failed(struct http_sessions *ss, const char *addr, uint64_t now_ms)
{
	struct http_peer *p = peer(ss, addr, true);

	/* A lockout served wipes the slate, as a new MML connection does. */
	if (p->locked_until_ms && p->locked_until_ms <= now_ms) {
		p->failures = 0;
		p->locked_until_ms = 0;
	}
	p->failures++;
	p->last_ms = now_ms ? now_ms : 1;
	if (p->failures >= MML_MAX_FAILURES)
		p->locked_until_ms = now_ms + HTTP_LOCKOUT_S * 1000ull;
	return 1000ull << (p->failures > 4 ? 3 : p->failures - 1);
}

void http_peer_ok(struct http_sessions *ss, const char *addr)
{
	struct http_peer *p = peer(ss, addr, false);

	if (p)
		memset(p, 0, sizeof(*p));
}
