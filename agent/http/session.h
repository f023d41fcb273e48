/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The console's sessions and its login lockout, in the event loop.
 *
 * A session is a random token (the HttpOnly, SameSite=Strict cookie) with
 * a second random token for CSRF, which the console gets in the login's
 * answer and must send back as X-CSRF-Token with every request that
 * changes something. Sessions live in memory: a restart logs everyone out.
 *
 * Failed logins (a wrong password, a wrong bearer token) are counted per
 * client address as MML counts them per connection: each failure's answer
 * waits 1 s, 2 s, 4 s, then 8 s, and after MML_MAX_FAILURES the address
 * may not try again for HTTP_LOCKOUT_S seconds. The operators table counts
 * each operator's failures as well (store/operator.h).
 */
#ifndef SLUICE_HTTP_SESSION_H
#define SLUICE_HTTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "http/req.h"
#include "store/operator.h"

#ifndef HTTP_MAX_SESSIONS
#define HTTP_MAX_SESSIONS	64	/* the least recently used goes first */
#endif
#define HTTP_MAX_PEERS		64	/* addresses whose failures are remembered */
#define HTTP_LOCKOUT_S		300

struct http_session {
	char		id[HTTP_TOKEN_LEN + 1];
	char		csrf[HTTP_TOKEN_LEN + 1];
	char		op[OP_NAME_MAX];
	enum op_role	role;
	uint64_t	used_ms;	/* loop clock; 0: free slot */
};

struct http_peer {
	char		addr[64];
	unsigned	failures;
	uint64_t	last_ms;
	uint64_t	locked_until_ms;
};

struct http_sessions {
	struct http_session	s[HTTP_MAX_SESSIONS];
	struct http_peer	peers[HTTP_MAX_PEERS];
	uint64_t		timeout_ms;
};

/* A new session for op; NULL when no random bytes could be had. */
struct http_session *http_session_new(struct http_sessions *ss, const char *op,
				      enum op_role role, uint64_t now_ms);
/* The live session of the cookie id (its clock renewed); NULL: none or expired. */
struct http_session *http_session_find(struct http_sessions *ss, const char *id, uint64_t now_ms,
				       bool *expired);
void http_session_end(struct http_session *s);
/* Constant-time comparison of two NUL-terminated tokens. */
bool http_token_eq(const char *a, const char *b);

/* Seconds addr is still locked out for, 0: it may try. */
unsigned http_peer_locked(struct http_sessions *ss, const char *addr, uint64_t now_ms);
/* A failed login from addr: how long to hold its answer, in ms. */
uint64_t http_peer_failed(struct http_sessions *ss, const char *addr, uint64_t now_ms);
void http_peer_ok(struct http_sessions *ss, const char *addr);

#endif /* SLUICE_HTTP_SESSION_H */
