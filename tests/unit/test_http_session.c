// SPDX-License-Identifier: GPL-2.0-only
/*
 * The web console's sessions and login lockout (http/session.c): tokens,
 * idle expiry, the least recently used session making room, and the
 * failed-login delays and lockout per address that mirror MML's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/session.h"
#include "mml/server.h"

static void test_session_life(void **state)
{
	static struct http_sessions ss;
	struct http_session *s, *t;
	char id[HTTP_TOKEN_LEN + 1];
	bool expired;

	(void)state;
	memset(&ss, 0, sizeof(ss));
	ss.timeout_ms = 1000;
	s = http_session_new(&ss, "admin", OP_ADMIN, 5000);
	assert_non_null(s);
	assert_int_equal(strlen(s->id), HTTP_TOKEN_LEN);
	assert_int_equal(strlen(s->csrf), HTTP_TOKEN_LEN);
	assert_string_not_equal(s->id, s->csrf);
	snprintf(id, sizeof(id), "%s", s->id);
	t = http_session_find(&ss, id, 5900, &expired);
	assert_ptr_equal(t, s);
	assert_false(expired);
	/* Each use renews it; idle past the timeout it is gone. */
	assert_non_null(http_session_find(&ss, id, 6800, &expired));
	assert_null(http_session_find(&ss, id, 7801, &expired));
	assert_true(expired);
	assert_null(http_session_find(&ss, id, 7802, &expired));
	assert_false(expired);
	assert_null(http_session_find(&ss, "short", 7802, &expired));
}

static void test_session_room(void **state)
{
	static struct http_sessions ss;
	struct http_session *first, *s = NULL;
	char id[HTTP_TOKEN_LEN + 1];
	bool expired;

	(void)state;
	memset(&ss, 0, sizeof(ss));
	ss.timeout_ms = 1000000;
	first = http_session_new(&ss, "a", OP_OPERATOR, 1);
	snprintf(id, sizeof(id), "%s", first->id);
	for (int i = 1; i < HTTP_MAX_SESSIONS; i++)
		s = http_session_new(&ss, "b", OP_OPERATOR, 10 + (uint64_t)i);
	assert_non_null(s);
	assert_non_null(http_session_find(&ss, id, 100, &expired));	/* all fit */
	/* One more: the least recently used (not the first, just used) goes. */
	s = http_session_new(&ss, "c", OP_OPERATOR, 200);
	assert_non_null(http_session_find(&ss, id, 201, &expired));
	assert_ptr_not_equal(s, first);
}

static void test_token_eq(void **state)
{
	(void)state;
	assert_true(http_token_eq("abc", "abc"));
	assert_false(http_token_eq("abc", "abd"));
	assert_false(http_token_eq("abc", "abcd"));
	assert_false(http_token_eq("", ""));
}

static void test_lockout(void **state)
{
	static struct http_sessions ss;
	uint64_t now = 1000;

	(void)state;
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(http_peer_locked(&ss, "192.0.2.1", now), 0);
	assert_int_equal(http_peer_failed(&ss, "192.0.2.1", now), 1000);
	assert_int_equal(http_peer_failed(&ss, "192.0.2.1", now), 2000);
	assert_int_equal(http_peer_failed(&ss, "192.0.2.1", now), 4000);
	assert_int_equal(http_peer_failed(&ss, "192.0.2.1", now), 8000);
	assert_int_equal(http_peer_locked(&ss, "192.0.2.1", now), 0);
	assert_int_equal(http_peer_failed(&ss, "192.0.2.1", now), 8000);	/* the fifth */
	assert_int_equal(http_peer_locked(&ss, "192.0.2.1", now), HTTP_LOCKOUT_S);
	assert_int_equal(http_peer_locked(&ss, "192.0.2.2", now), 0);	/* another address */
	now += HTTP_LOCKOUT_S * 1000ull;
	assert_int_equal(http_peer_locked(&ss, "192.0.2.1", now), 0);	/* served */
	assert_int_equal(http_peer_failed(&ss, "192.0.2.1", now), 1000);	/* a fresh count */
	http_peer_ok(&ss, "192.0.2.1");
	assert_int_equal(http_peer_failed(&ss, "192.0.2.1", now), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_life),
		cmocka_unit_test(test_session_room),
		cmocka_unit_test(test_token_eq),
		cmocka_unit_test(test_lockout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
