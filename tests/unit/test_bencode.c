// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bencode: NG requests as Kamailio sends them decode into the expected
 * tree, every malformed or truncated datagram is refused with a reason,
 * and encoding round-trips.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/bencode.h"

#define NODES 64

static struct benc *decode(const char *s, struct benc *nodes, const char **err)
{
	return benc_decode(s, strlen(s), nodes, NODES, err);
}

static void test_ng_offer(void **state)
{
	static const char req[] =
		"d7:command5:offer7:call-id10:abc@host.x8:from-tag3:ft13:sdp4:v=0\n"
		"5:flagsl13:trust-addresse7:replacel6:origin18:session-connectione"
		"9:directionl8:external8:internale3:ICE6:removee";
	struct benc nodes[NODES], *root;
	const struct benc *v, *c;
	const char *err = NULL;
	char buf[32];

	(void)state;
	root = decode(req, nodes, &err);
	assert_non_null(root);
	assert_int_equal(root->type, BENC_DICT);
	assert_true(benc_str_eq(benc_dict_get(root, "command"), "offer"));
	assert_int_equal(benc_str_copy(benc_dict_get(root, "call-id"), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "abc@host.x");
	v = benc_dict_get(root, "sdp");
	assert_int_equal(v->str.len, 4);
	assert_memory_equal(v->str.s, "v=0\n", 4);
	v = benc_dict_get(root, "replace");
	assert_int_equal(v->type, BENC_LIST);
	assert_int_equal(v->list.n, 2);
	c = v->list.first;
	assert_true(benc_str_eq(c, "origin"));
	assert_true(benc_str_eq(c->next, "session-connection"));
	assert_null(c->next->next);
	assert_null(benc_dict_get(root, "to-tag"));
	assert_true(benc_str_eq(benc_dict_get(root, "ICE"), "remove"));
}

static void test_integers(void **state)
{
	struct benc nodes[NODES], *root;

	(void)state;
	root = decode("li0ei-42ei9223372036854775807ei-9223372036854775808ee", nodes, NULL);
	assert_non_null(root);
	assert_int_equal(root->list.first->i, 0);
	assert_int_equal(root->list.first->next->i, -42);
	assert_true(root->list.first->next->next->i == INT64_MAX);
	assert_true(root->list.first->next->next->next->i == INT64_MIN);
}

static void expect_bad(const char *s, const char *why)
{
	struct benc nodes[NODES];
	const char *err = NULL;

	assert_null(decode(s, nodes, &err));
	assert_non_null(err);
	assert_string_equal(err, why);
}

static void test_malformed(void **state)
{
	char deep[2 * BENC_MAX_DEPTH + 8];
	int i;

	(void)state;
	expect_bad("", "value expected");
	expect_bad("d", "unterminated list or dictionary");
	expect_bad("d7:command", "unterminated list or dictionary");
	expect_bad("d7:command5:offe", "string runs past the end");
	expect_bad("d7:commande", "dictionary key without a value");
	expect_bad("di1ei2ee", "dictionary key is not a string");
	expect_bad("i", "bad integer");
	expect_bad("i-0e", "bad integer");
	expect_bad("i01e", "bad integer");
	expect_bad("i1x", "bad integer");
	expect_bad("i9223372036854775808e", "bad integer");
	expect_bad("05:hello", "bad string length");
	expect_bad("99999999999999999999999:x", "bad string length");
	expect_bad("x", "unexpected character");
	expect_bad("i1ei2e", "trailing bytes after the value");
	for (i = 0; i <= BENC_MAX_DEPTH; i++)
		deep[i] = 'l';
	deep[i] = '\0';
	expect_bad(deep, "nested too deep");
}

static void test_node_limit(void **state)
{
	struct benc nodes[3];
	const char *err = NULL;

	(void)state;
	assert_non_null(benc_decode("li1ei2ee", 8, nodes, 3, &err));
	assert_null(benc_decode("li1ei2ei3ee", 11, nodes, 3, &err));
	assert_string_equal(err, "too many values");
}

static void test_encode_roundtrip(void **state)
{
	static const char req[] = "d6:result2:ok3:sdp5:v=0\r\n4:listli1ei-2e0:ee";
	struct benc nodes[NODES], *root;
	struct benc_buf b = { 0 };
	char small[4];

	(void)state;
	benc_put_dict(&b);
	benc_put_str(&b, "result");
	benc_put_str(&b, "ok");
	benc_put_str(&b, "sdp");
	benc_put_str(&b, "v=0\r\n");
	benc_put_str(&b, "list");
	benc_put_list(&b);
	benc_put_int(&b, 1);
	benc_put_int(&b, -2);
	benc_put_strn(&b, "", 0);
	benc_put_end(&b);
	benc_put_end(&b);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, strlen(req));
	assert_memory_equal(b.data, req, b.len);

	root = benc_decode(req, strlen(req), nodes, NODES, NULL);
	assert_non_null(root);
	benc_buf_free(&b);
	benc_put_node(&b, root);
	assert_int_equal(b.len, strlen(req));
	assert_memory_equal(b.data, req, b.len);
	assert_int_equal(benc_str_copy(benc_dict_get(root, "result"), small, 2), -ENOSPC);
	assert_int_equal(benc_str_copy(benc_dict_get(root, "list"), small, 4), -EINVAL);
	benc_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ng_offer),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_node_limit),
		cmocka_unit_test(test_encode_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
