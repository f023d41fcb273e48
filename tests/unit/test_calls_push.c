// SPDX-License-Identifier: GPL-2.0-only
/*
 * The live calls page's pushed changes (http/calls_push.c): the first
 * event lists every call whole, the next only those begun, answered or
 * changed in state, every event every Call-ID; a call that ends leaves
 * the ids; the text is JSON whatever bytes a Call-ID holds. The calls
 * come from a table of the test's own instead of the B2BUA's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../agent/http/calls_push.c"

struct fake {
	struct b2bua_call_info	c[8];
	int			n;
};

static int fake_list(void *arg, b2bua_call_fn fn, void *fn_arg)
{
	struct fake *f = arg;

	for (int i = f->n - 1; i >= 0; i--)	/* newest first, as the B2BUA lists */
		if (fn(&f->c[i], fn_arg))
			return 1;
	return 0;
}

static void add(struct fake *f, const char *id, const char *state, int64_t answer_ms)
{
	struct b2bua_call_info *c = &f->c[f->n++];

	memset(c, 0, sizeof(*c));
	c->a_call_id = id;
	c->b_call_id = "b-leg@sluice";
	c->caller = "sip:1001@ims.local";
	c->callee = "sip:1002@ims.local";
	c->state = state;
	c->invite_ms = 1700000000000;
	c->answer_ms = answer_ms;
}

/* One event parsed; its changed rows' Call-IDs into changed, "a,b". */
static json_t *event(struct http_calls_push *p, struct fake *f, int64_t now, char *changed, size_t n)
{
	size_t len = 0;
	const char *text = build(p, fake_list, f, now, &len);
	json_error_t err;
	json_t *doc, *row;
	size_t i;

	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	doc = json_loads(text, 0, &err);
	if (!doc)
		fail_msg("not JSON (%s): %s", err.text, text);
	changed[0] = '\0';
	json_array_foreach(json_object_get(doc, "changed"), i, row)
		snprintf(changed + strlen(changed), n - strlen(changed), "%s%s", i ? "," : "",
			 json_string_value(json_object_get(row, "callid")));
	return doc;
}

static void test_changes(void **state)
{
	struct http_calls_push *p;
	struct fake f = { .n = 0 };
	char changed[256];
	json_t *doc, *row;

	(void)state;
	assert_int_equal(http_calls_push_new(&p), 0);
	add(&f, "one@a", "ACTIVE", 1700000001000);
	add(&f, "two@a", "RINGING", 0);

	/* The first event: both whole, newest first, as GET /api/calls rows. */
	doc = event(p, &f, 1700000011500, changed, sizeof(changed));
	assert_string_equal(changed, "two@a,one@a");
	row = json_array_get(json_object_get(doc, "changed"), 1);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "ACTIVE");
	assert_int_equal(json_integer_value(json_object_get(row, "duration")), 10);
	assert_string_equal(json_string_value(json_object_get(row, "caller")), "sip:1001@ims.local");
	assert_string_equal(json_string_value(json_object_get(row, "calleeaddr")), "-");
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(doc, "changed"), 0),
						 "duration")));
	assert_int_equal(json_array_size(json_object_get(doc, "ids")), 2);
	assert_int_equal(json_integer_value(json_object_get(doc, "seq")), 1);
	json_decref(doc);

	/* Nothing changed: no row, both ids, the next number. */
	doc = event(p, &f, 1700000012500, changed, sizeof(changed));
	assert_string_equal(changed, "");
	assert_int_equal(json_integer_value(json_object_get(doc, "seq")), 2);
	assert_int_equal(json_array_size(json_object_get(doc, "ids")), 2);
	json_decref(doc);

	/* two@a answered, three@a begun, one@a ended. */
	f.c[1].state = "ACTIVE";
	f.c[1].answer_ms = 1700000012600;
	f.c[0] = f.c[1];
	f.n = 1;
	add(&f, "three@a", "TRYING", 0);
	doc = event(p, &f, 1700000013500, changed, sizeof(changed));
	assert_string_equal(changed, "three@a,two@a");
	assert_int_equal(json_array_size(json_object_get(doc, "ids")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "ids"), 0)), "three@a");
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "ids"), 1)), "two@a");
	json_decref(doc);

	/* All ended: empty lists. */
	f.n = 0;
	doc = event(p, &f, 1700000014500, changed, sizeof(changed));
	assert_string_equal(changed, "");
	assert_int_equal(json_array_size(json_object_get(doc, "ids")), 0);
	json_decref(doc);
	http_calls_push_free(p);
}

/* A Call-ID is the network's: quotes, backslashes, control bytes and bytes past ASCII. */
static void test_escaping(void **state)
{
	static const char odd[] = "a\"b\\c\x01\td\xc3\xa9@x";
	struct http_calls_push *p;
	struct fake f = { .n = 0 };
	char changed[256];
	json_t *doc;

	(void)state;
	assert_int_equal(http_calls_push_new(&p), 0);
	add(&f, odd, "ACTIVE", 0);
	doc = event(p, &f, 1700000011500, changed, sizeof(changed));
	assert_string_equal(changed, "a\"b\\c\x01\td??@x");
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "ids"), 0)),
			    "a\"b\\c\x01\td??@x");
	json_decref(doc);
	http_calls_push_free(p);
}

/* Many calls: the buffer and the picture grow, and every call is found again. */
static struct b2bua_call_info many[600];

static int many_list(void *arg, b2bua_call_fn fn, void *fn_arg)
{
	(void)arg;
	for (int i = 599; i >= 0; i--)
		if (fn(&many[i], fn_arg))
			return 1;
	return 0;
}

static void test_many(void **state)
{
	static char ids[600][24];
	struct http_calls_push *p;
	const char *text;
	size_t len;

	(void)state;
	assert_int_equal(http_calls_push_new(&p), 0);
	for (int i = 0; i < 600; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%d-call@host", i);
		many[i].a_call_id = ids[i];
		many[i].caller = many[i].callee = "sip:x@y";
		many[i].state = "ACTIVE";
		many[i].answer_ms = 1700000000000 + i;
	}
	text = build(p, many_list, many, 1700000100000, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "{\"callid\":\"0-call@host\""));
	assert_non_null(strstr(text, "\"ids\":[\"599-call@host\",\"598-call@host\""));
	/* Again, nothing changed: no row, 600 ids. */
	text = build(p, many_list, many, 1700000101000, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "{\"seq\":2,\"changed\":[],\"ids\":[\"599-call@host\""));
	assert_non_null(strstr(text, "\"0-call@host\"]}"));
	http_calls_push_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
