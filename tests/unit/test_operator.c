// SPDX-License-Identifier: GPL-2.0-only
/*
 * MML operators: add, get, list, role and password changes, delete; names
 * and passwords refused with -EINVAL and a taken name with -EEXIST; the
 * stored hash recomputed here with OpenSSL from the stored salt; logins
 * (good, wrong, unknown: the last two alike, also in the time they take),
 * the failure count going up and back to zero; the first run's admin with
 * a given and with a random password, and no second admin.
 */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "store/operator.h"

#include "fixtures.h"

struct fx {
	struct tmp_db	db;
	struct store	st;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (tmp_db_make(&f->db, "op", "sluice.db") || store_open(&f->st, f->db.path))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(&f->st);
	if (tmp_db_remove(&f->db))
		return -1;
	free(f);
	return 0;
}

/* One text column of one row, into out. */
static void query_text(struct fx *f, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *q;

	assert_int_equal(sqlite3_prepare_v2(f->st.db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
}

static void test_roles(void **state)
{
	enum op_role r;

	(void)state;
	assert_int_equal(operator_role_parse("ADMIN", &r), 0);
	assert_int_equal(r, OP_ADMIN);
	assert_int_equal(operator_role_parse("operator", &r), 0);
	assert_int_equal(r, OP_OPERATOR);
	assert_int_equal(operator_role_parse("Admin", &r), 0);
	assert_int_equal(r, OP_ADMIN);
	assert_int_equal(operator_role_parse("root", &r), -EINVAL);
	assert_int_equal(operator_role_parse("", &r), -EINVAL);
	assert_string_equal(operator_role_name(OP_ADMIN), "ADMIN");
	assert_string_equal(operator_role_name(OP_OPERATOR), "OPERATOR");
	assert_string_equal(operator_role_name((enum op_role)7), "?");
}

static void test_names(void **state)
{
	(void)state;
	assert_true(operator_name_ok("admin"));
	assert_true(operator_name_ok("a"));
	assert_true(operator_name_ok("Ops_team.night-2"));
	assert_true(operator_name_ok("abcdefghijklmnopqrstuvwxyz012345"));	/* 32 */
	assert_false(operator_name_ok("abcdefghijklmnopqrstuvwxyz0123456"));	/* 33 */
	assert_false(operator_name_ok(""));
	assert_false(operator_name_ok("bad name"));
	assert_false(operator_name_ok("x\"y"));
	assert_false(operator_name_ok("semi;colon"));
	assert_false(operator_name_ok("caf\xc3\xa9"));
}

struct seen {
	int	n;
	char	names[4][OP_NAME_MAX];
	int	roles[4];
};

static int collect(const struct operator *op, void *arg)
{
	struct seen *s = arg;

	if (s->n == 4)
		return -E2BIG;
	strcpy(s->names[s->n], op->name);
	s->roles[s->n++] = op->role;
	return 0;
}

static void test_add_get_list_delete(void **state)
{
	struct fx *f = *state;
	struct operator op;
	struct seen seen = { 0 };
	char long_pw[OP_PASSWORD_MAX + 1];
	time_t now = time(NULL);
	int n;

	assert_int_equal(operator_count(&f->st, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(operator_add(&f->st, "zoe", "night-shift", OP_OPERATOR), 0);
	assert_int_equal(operator_add(&f->st, "alice", "correct horse", OP_ADMIN), 0);
	assert_int_equal(operator_add(&f->st, "alice", "another one", OP_OPERATOR), -EEXIST);

	assert_int_equal(operator_add(&f->st, "", "long enough", OP_ADMIN), -EINVAL);
	assert_int_equal(operator_add(&f->st, "bad name", "long enough", OP_ADMIN), -EINVAL);
	assert_int_equal(operator_add(&f->st, "abcdefghijklmnopqrstuvwxyz0123456", "long enough",
				      OP_ADMIN), -EINVAL);
	assert_int_equal(operator_add(&f->st, "bob", "7-chars", OP_ADMIN), -EINVAL);
	assert_int_equal(operator_add(&f->st, "bob", "", OP_ADMIN), -EINVAL);
	memset(long_pw, 'x', OP_PASSWORD_MAX);
	long_pw[OP_PASSWORD_MAX] = '\0';
	assert_int_equal(operator_add(&f->st, "bob", long_pw, OP_ADMIN), -EINVAL);
	assert_int_equal(operator_add(&f->st, "bob", "long enough", (enum op_role)5), -EINVAL);
	assert_int_equal(operator_add(&f->st, "bob", "8-chars!", OP_OPERATOR), 0);	/* the minimum */

	assert_int_equal(operator_count(&f->st, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(operator_get(&f->st, "alice", &op), 0);
	assert_string_equal(op.name, "alice");
	assert_int_equal(op.role, OP_ADMIN);
	assert_int_equal(op.failed, 0);
	assert_int_equal(op.last_login, 0);
	assert_true(op.created >= now - 5 && op.created <= now + 5);
	assert_int_equal(operator_get(&f->st, "nobody", &op), -ENOENT);

	assert_int_equal(operator_list(&f->st, collect, &seen), 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.names[0], "alice");	/* by name */
	assert_string_equal(seen.names[1], "bob");
	assert_string_equal(seen.names[2], "zoe");
	assert_int_equal(seen.roles[0], OP_ADMIN);
	assert_int_equal(seen.roles[2], OP_OPERATOR);

	assert_int_equal(operator_set_role(&f->st, "zoe", OP_ADMIN), 0);
	assert_int_equal(operator_get(&f->st, "zoe", &op), 0);
	assert_int_equal(op.role, OP_ADMIN);
	assert_int_equal(operator_set_role(&f->st, "nobody", OP_ADMIN), -ENOENT);
	assert_int_equal(operator_set_password(&f->st, "zoe", "short"), -EINVAL);
	assert_int_equal(operator_set_password(&f->st, "nobody", "long enough"), -ENOENT);
	assert_int_equal(operator_set_password(&f->st, "zoe", "day-shift-now"), 0);
	assert_int_equal(operator_check(&f->st, "zoe", "night-shift", NULL), -EACCES);
	assert_int_equal(operator_check(&f->st, "zoe", "day-shift-now", NULL), 0);

	assert_int_equal(operator_delete(&f->st, "bob"), 0);
	assert_int_equal(operator_delete(&f->st, "bob"), -ENOENT);
	assert_int_equal(operator_get(&f->st, "bob", &op), -ENOENT);
	assert_int_equal(operator_count(&f->st, &n), 0);
	assert_int_equal(n, 2);
}

/*
 * The row holds a 16-byte salt and PBKDF2-HMAC-SHA256 over it with its
 * rounds, as hex; two operators with one password get different salts.
 */
static void test_stored_hash(void **state)
{
	struct fx *f = *state;
	unsigned char salt[16], want[32];
	char salt_hex[64], hash_hex[80], other[64], iter[16], hex[65];
	unsigned i, b;

	assert_int_equal(operator_add(&f->st, "alice", "correct horse", OP_ADMIN), 0);
	assert_int_equal(operator_add(&f->st, "bob", "correct horse", OP_ADMIN), 0);
	query_text(f, "SELECT salt FROM operators WHERE name = 'alice'", salt_hex, sizeof(salt_hex));
	query_text(f, "SELECT hash FROM operators WHERE name = 'alice'", hash_hex, sizeof(hash_hex));
	query_text(f, "SELECT iterations FROM operators WHERE name = 'alice'", iter, sizeof(iter));
	query_text(f, "SELECT salt FROM operators WHERE name = 'bob'", other, sizeof(other));
	assert_int_equal(strlen(salt_hex), 32);
	assert_int_equal(strlen(hash_hex), 64);
	assert_int_equal(atoi(iter), OP_ITERATIONS);
	assert_string_not_equal(salt_hex, other);

	for (i = 0; i < 16; i++) {
		assert_int_equal(sscanf(salt_hex + 2 * i, "%2x", &b), 1);
		salt[i] = (unsigned char)b;
	}
	assert_int_equal(PKCS5_PBKDF2_HMAC("correct horse", 13, salt, 16, OP_ITERATIONS,
					   EVP_sha256(), 32, want), 1);
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", want[i]);
	assert_string_equal(hash_hex, hex);
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void test_check(void **state)
{
	struct fx *f = *state;
	struct timespec t0, t1, t2;
	struct operator op;
	time_t now = time(NULL);
	enum op_role role = OP_OPERATOR;
	int i, n;

	assert_int_equal(operator_add(&f->st, "alice", "correct horse", OP_ADMIN), 0);
	assert_int_equal(operator_add(&f->st, "bob", "battery staple", OP_OPERATOR), 0);

	assert_int_equal(operator_check(&f->st, "alice", "correct horse", &role), 0);
	assert_int_equal(role, OP_ADMIN);
	assert_int_equal(operator_check(&f->st, "bob", "battery staple", &role), 0);
	assert_int_equal(role, OP_OPERATOR);
	assert_int_equal(operator_get(&f->st, "alice", &op), 0);
	assert_int_equal(op.failed, 0);
	assert_true(op.last_login >= now - 5 && op.last_login <= now + 5);

	/* Wrong password and unknown name: one answer. */
	role = OP_OPERATOR;
	assert_int_equal(operator_check(&f->st, "alice", "Correct horse", &role), -EACCES);
	assert_int_equal(role, OP_OPERATOR);		/* untouched */
	assert_int_equal(operator_check(&f->st, "alice", "", &role), -EACCES);
	assert_int_equal(operator_check(&f->st, "alice", NULL, &role), -EACCES);
	assert_int_equal(operator_check(&f->st, "mallory", "correct horse", &role), -EACCES);
	assert_int_equal(operator_check(&f->st, "", "correct horse", &role), -EACCES);
	assert_int_equal(operator_check(&f->st, "x' OR '1'='1", "correct horse", &role), -EACCES);
	assert_int_equal(operator_get(&f->st, "alice", &op), 0);
	assert_int_equal(op.failed, 3);
	assert_int_equal(operator_get(&f->st, "bob", &op), 0);
	assert_int_equal(op.failed, 0);			/* only alice's count */
	assert_int_equal(operator_count(&f->st, &n), 0);
	assert_int_equal(n, 2);				/* unknown names add nothing */

	/* A good login resets the count. */
	assert_int_equal(operator_check(&f->st, "alice", "correct horse", NULL), 0);
	assert_int_equal(operator_get(&f->st, "alice", &op), 0);
	assert_int_equal(op.failed, 0);

	/*
	 * An unknown name costs a hash too. Without it, it would answer in
	 * microseconds against milliseconds; a quarter leaves room for noise.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 5; i++)
		operator_check(&f->st, "bob", "wrong password", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (i = 0; i < 5; i++)
		operator_check(&f->st, "nobody-at-all", "wrong password", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	assert_true(elapsed(&t1, &t2) > elapsed(&t0, &t1) / 4);
	assert_int_equal(operator_get(&f->st, "bob", &op), 0);
	assert_int_equal(op.failed, 5);
}

static void test_bootstrap_given(void **state)
{
	struct fx *f = *state;
	char out[OP_PASSWORD_MAX];
	enum op_role role;
	int n;

	/* Too short a password: refused, and nothing added. */
	assert_int_equal(operator_bootstrap(&f->st, "short", out, sizeof(out)), -EINVAL);
	assert_int_equal(operator_count(&f->st, &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(operator_bootstrap(&f->st, "first-run-pass", out, sizeof(out)), 1);
	assert_string_equal(out, "first-run-pass");
	assert_int_equal(operator_check(&f->st, "admin", "first-run-pass", &role), 0);
	assert_int_equal(role, OP_ADMIN);

	strcpy(out, "untouched");
	assert_int_equal(operator_bootstrap(&f->st, "other-password", out, sizeof(out)), 0);
	assert_int_equal(operator_bootstrap(&f->st, "", out, sizeof(out)), 0);
	assert_string_equal(out, "untouched");
	assert_int_equal(operator_count(&f->st, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(operator_check(&f->st, "admin", "other-password", NULL), -EACCES);
}

static void test_bootstrap_random(void **state)
{
	struct fx *f = *state;
	char out[OP_PASSWORD_MAX], first[OP_PASSWORD_MAX], small[8];
	struct store st2;
	char path[128];
	enum op_role role;
	size_t i;
	int n;

	assert_int_equal(operator_bootstrap(&f->st, "", small, sizeof(small)), -ENOSPC);
	assert_int_equal(operator_count(&f->st, &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(operator_bootstrap(&f->st, "", out, sizeof(out)), 1);
	assert_int_equal(strlen(out), 16);
	for (i = 0; i < 16; i++)
		assert_true(isalnum((unsigned char)out[i]));
	assert_int_equal(operator_check(&f->st, "admin", out, &role), 0);
	assert_int_equal(role, OP_ADMIN);
	strcpy(first, out);
	assert_int_equal(operator_bootstrap(&f->st, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, first);

	/* Another first run: another password. */
	snprintf(path, sizeof(path), "%s/second.db", f->db.dir);
	assert_int_equal(store_open(&st2, path), 0);
	assert_int_equal(operator_bootstrap(&st2, NULL, out, sizeof(out)), 1);
	assert_int_equal(strlen(out), 16);
	assert_string_not_equal(out, first);
	assert_int_equal(operator_check(&st2, "admin", first, NULL), -EACCES);
	store_close(&st2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_add_get_list_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bootstrap_given, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bootstrap_random, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
