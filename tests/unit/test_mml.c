// SPDX-License-Identifier: GPL-2.0-only
/*
 * MML parser and reply layout: the command forms operators type (new and
 * the previous server's), the errors they get for typos, and the reply
 * lines scripts parse, checked byte for byte.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mml/parse.h"
#include "mml/reply.h"

static int parse(const char *text, struct mml_cmd *cmd, char *err)
{
	return mml_parse(text, strlen(text), cmd, err, 128);
}

static void test_parse_full_form(void **state)
{
	struct mml_cmd cmd;
	char err[128];

	(void)state;
	assert_int_equal(parse("add user: username=1001, PWD=\"Se cret\\\"x\" ,Status=ACTIVE;\r\n",
			       &cmd, err), 0);
	assert_string_equal(cmd.verb, "ADD");
	assert_string_equal(cmd.obj, "USER");
	assert_int_equal(cmd.nparams, 3);
	assert_string_equal(cmd.params[0].key, "USERNAME");
	assert_string_equal(mml_param(&cmd, "username"), "1001");
	assert_string_equal(mml_param(&cmd, "PWD"), "Se cret\"x");
	assert_true(cmd.params[1].quoted);
	assert_string_equal(mml_param(&cmd, "STATUS"), "ACTIVE");
	assert_null(mml_param(&cmd, "EMAIL"));
}

static void test_parse_login_and_bare(void **state)
{
	struct mml_cmd cmd;
	char err[128];

	(void)state;
	assert_int_equal(parse("LGI: OP=\"admin\", PWD=\"x\";", &cmd, err), 0);
	assert_string_equal(cmd.verb, "LGI");
	assert_string_equal(cmd.obj, "");
	assert_string_equal(mml_param(&cmd, "OP"), "admin");

	assert_int_equal(parse("LGO;", &cmd, err), 0);
	assert_string_equal(cmd.verb, "LGO");
	assert_int_equal(cmd.nparams, 0);

	assert_int_equal(parse("dsp sysinfo:;", &cmd, err), 0);
	assert_string_equal(cmd.obj, "SYSINFO");
	assert_int_equal(cmd.nparams, 0);
}

static void test_parse_old_form(void **state)
{
	struct mml_cmd cmd;
	char err[128];

	(void)state;
	assert_int_equal(parse("DSP USER USERNAME=1001", &cmd, err), 0);
	assert_string_equal(cmd.verb, "DSP");
	assert_string_equal(cmd.obj, "USER");
	assert_string_equal(mml_param(&cmd, "USERNAME"), "1001");

	assert_int_equal(parse("MOD USER USERNAME=1001 STATUS=SUSPENDED\n", &cmd, err), 0);
	assert_int_equal(cmd.nparams, 2);
	assert_string_equal(mml_param(&cmd, "STATUS"), "SUSPENDED");
}

static void expect_error(const char *text, const char *reason)
{
	struct mml_cmd cmd;
	char err[128] = "";

	assert_int_equal(parse(text, &cmd, err), -EINVAL);
	assert_string_equal(err, reason);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_error("", "command expected");
	expect_error(";", "command expected");
	expect_error("DSP USER: USERNAME=\"1001;", "value of USERNAME: missing closing quote");
	expect_error("DSP USER: USERNAME 1001;", "'=' expected after USERNAME");
	expect_error("DSP USER: A=1 B=2;", "',' or ';' expected after A");
	expect_error("DSP USER: A=1, A=2;", "parameter A given twice");
	expect_error("DSP USER: =1;", "parameter name expected");
	expect_error("DSP USER: A=1; trailing", "unexpected text after ';'");
	expect_error("DSP USER: A=\"x\ty\";", "value of A: control character");
	expect_error("DSP USER: A=x\"y;", "value of A: unexpected character");
	expect_error("DSP USER: ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ=1;",
		     "parameter name is too long");
}

static void test_parse_limits(void **state)
{
	char line[MML_MAX_LINE + 2], err[128];
	struct mml_cmd cmd;
	size_t n = 0;
	int i;

	(void)state;
	n += (size_t)sprintf(line, "ADD USER:");
	for (i = 0; i < MML_MAX_PARAMS + 1; i++)
		n += (size_t)sprintf(line + n, "%sK%d=v", i ? "," : "", i);
	assert_int_equal(mml_parse(line, n, &cmd, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "more than 16 parameters");

	memset(line, 'A', sizeof(line));
	assert_int_equal(mml_parse(line, sizeof(line), &cmd, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "command longer than 4096 bytes");

	assert_int_equal(mml_parse("DSP\0USER", 8, &cmd, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "NUL byte in command");
}

static void test_format_hides_secrets(void **state)
{
	static const char *const secret[] = { "PWD", NULL };
	struct mml_cmd cmd;
	char err[128], out[256];

	(void)state;
	assert_int_equal(parse("lgi: op=admin, pwd=\"hunter2\";", &cmd, err), 0);
	assert_int_equal(mml_format(&cmd, secret, out, sizeof(out)), 0);
	assert_string_equal(out, "LGI: OP=\"admin\", PWD=\"***\";");

	assert_int_equal(parse("ADD USER: DN=\"a\\\"b\";", &cmd, err), 0);
	assert_int_equal(mml_format(&cmd, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "ADD USER: DN=\"a\\\"b\";");
	assert_int_equal(mml_format(&cmd, NULL, out, 10), -ENOSPC);

	assert_int_equal(parse("LGO", &cmd, err), 0);
	assert_int_equal(mml_format(&cmd, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "LGO:;");
}

static void test_reply_layout(void **state)
{
	static const char *const cols[] = { "USERNAME", "IMPU", "STATUS" };
	static const char *const row1[] = { "1001", "sip:1001@ims.local", "ACTIVE" };
	static const char *const row2[] = { "10020", "sip:10020@ims.local", "SUSPENDED" };
	struct mml_reply r;

	(void)state;
	setenv("TZ", "UTC", 1);
	mml_reply_init(&r);
	mml_reply_head(&r, "SLUICE", 1795532645, 17, "DSP USER:;", 0, NULL);
	mml_reply_table_begin(&r, "Subscribers", 3, cols);
	mml_reply_row(&r, row1);
	mml_reply_row(&r, row2);
	mml_reply_table_end(&r);
	mml_reply_end(&r);
	assert_int_equal(r.err, 0);
	assert_string_equal(r.buf,
		"+++    SLUICE        2026-11-24 15:04:05\r\n"
		"O&M    #17\r\n"
		"%%DSP USER:;%%\r\n"
		"RETCODE = 0  Operation succeeded\r\n"
		"\r\n"
		"Subscribers\r\n"
		"-----------\r\n"
		" USERNAME  IMPU                 STATUS\r\n"
		" 1001      sip:1001@ims.local   ACTIVE\r\n"
		" 10020     sip:10020@ims.local  SUSPENDED\r\n"
		"(Number of results = 2)\r\n"
		"\r\n"
		"---    END\r\n");
	mml_reply_free(&r);
}

static void test_reply_error(void **state)
{
	struct mml_reply r;

	(void)state;
	setenv("TZ", "UTC", 1);
	mml_reply_init(&r);
	mml_reply_head(&r, "SLUICE", 0, 1, "DSP FOO:;", 2, "Unknown command DSP FOO");
	mml_reply_end(&r);
	assert_string_equal(r.buf,
		"+++    SLUICE        1970-01-01 00:00:00\r\n"
		"O&M    #1\r\n"
		"%%DSP FOO:;%%\r\n"
		"RETCODE = 2  Unknown command DSP FOO\r\n"
		"\r\n"
		"---    END\r\n");
	mml_reply_free(&r);
}

static void test_reply_grows(void **state)
{
	static const char *const cols[] = { "N" };
	struct mml_reply r;
	char num[16];
	const char *cell[] = { num };
	int i;

	(void)state;
	mml_reply_init(&r);
	mml_reply_table_begin(&r, "Many", 1, cols);
	for (i = 0; i < 5000; i++) {
		snprintf(num, sizeof(num), "%d", i);
		mml_reply_row(&r, cell);
	}
	mml_reply_table_end(&r);
	assert_int_equal(r.err, 0);
	assert_non_null(strstr(r.buf, " 4999\r\n(Number of results = 5000)\r\n"));
	mml_reply_free(&r);
}

/* The same calls rendered as JSON: what the web API answers. */
static void test_reply_json(void **state)
{
	static const char *const cols[] = { "USERNAME", "BINDINGS", "MOS", "PEER" };
	static const char *const row1[] = { "1001", "2", "4.40", "-" };
	static const char *const row2[] = { "1002", "-", "x", "caf\xe9" };
	static const char *const kv_cols[] = { "NAME", "VALUE" };
	static const char *const kv1[] = { "CALLS", "3" };
	struct mml_reply r;
	json_t *doc, *rows;
	char *text;

	(void)state;
	assert_int_equal(mml_reply_init_json(&r), 0);
	mml_reply_head(&r, "SLUICE", 0, 1, "DSP USER:;", 0, NULL);
	mml_reply_table_begin(&r, "Subscribers", 4, cols);
	mml_reply_table_types(&r, "snns");
	mml_reply_row(&r, row1);
	mml_reply_row(&r, row2);
	mml_reply_table_end(&r);
	mml_reply_table_begin(&r, "System information", 2, kv_cols);
	mml_reply_row(&r, kv1);
	mml_reply_table_end(&r);
	mml_reply_printf(&r, "(Number of results = %d)", 2);
	mml_reply_end(&r);
	assert_int_equal(r.err, 0);
	assert_null(r.buf);		/* no text at all */
	doc = mml_reply_take_json(&r);
	mml_reply_free(&r);
	assert_non_null(doc);
	rows = json_object_get(json_array_get(json_object_get(doc, "tables"), 0), "rows");
	text = json_dumps(rows, JSON_COMPACT | JSON_REAL_PRECISION(10));
	assert_string_equal(text,
		"[{\"username\":\"1001\",\"bindings\":2,\"mos\":4.4,\"peer\":\"-\"},"
		"{\"username\":\"1002\",\"bindings\":null,\"mos\":\"x\",\"peer\":\"caf?\"}]");
	free(text);
	assert_int_equal(json_integer_value(json_object_get(doc, "retcode")), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_array_get(json_object_get(doc, "tables"), 1), "values"), "CALLS")), "3");
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "text"), 0)),
			    "(Number of results = 2)");
	json_decref(doc);
}

static void test_reply_json_error(void **state)
{
	struct mml_reply r;
	json_t *doc;

	(void)state;
	assert_int_equal(mml_reply_init_json(&r), 0);
	mml_reply_head(&r, "SLUICE", 0, 1, "DSP FOO:;", 2, "unknown command DSP FOO");
	mml_reply_end(&r);
	doc = mml_reply_take_json(&r);
	mml_reply_free(&r);
	assert_int_equal(json_integer_value(json_object_get(doc, "retcode")), 2);
	assert_string_equal(json_string_value(json_object_get(doc, "reason")),
			    "unknown command DSP FOO");
	json_decref(doc);
}

/* EXP CDR's CSV: in the text reply as it is, and kept whole for HTTP. */
static void test_reply_blob(void **state)
{
	static const char csv[] = "a,b\r\n1,2\r\n";
	struct mml_reply r;

	(void)state;
	setenv("TZ", "UTC", 1);
	mml_reply_init(&r);
	mml_reply_head(&r, "SLUICE", 0, 1, "EXP CDR:;", 0, NULL);
	mml_reply_blob(&r, csv, strlen(csv));
	mml_reply_printf(&r, "(Number of results = %d)", 1);
	mml_reply_end(&r);
	assert_string_equal(r.buf,
		"+++    SLUICE        1970-01-01 00:00:00\r\n"
		"O&M    #1\r\n"
		"%%EXP CDR:;%%\r\n"
		"RETCODE = 0  Operation succeeded\r\n"
		"\r\n"
		"a,b\r\n1,2\r\n"
		"(Number of results = 1)\r\n"
		"\r\n"
		"---    END\r\n");
	assert_int_equal(r.blob_len, strlen(csv));
	assert_string_equal(r.blob, csv);
	mml_reply_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full_form),
		cmocka_unit_test(test_parse_login_and_bare),
		cmocka_unit_test(test_parse_old_form),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_format_hides_secrets),
		cmocka_unit_test(test_reply_layout),
		cmocka_unit_test(test_reply_error),
		cmocka_unit_test(test_reply_grows),
		cmocka_unit_test(test_reply_json),
		cmocka_unit_test(test_reply_json_error),
		cmocka_unit_test(test_reply_blob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
