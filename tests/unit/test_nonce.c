// SPDX-License-Identifier: GPL-2.0-only
/*
 * Digest nonces: ours verify, damaged or foreign ones do not, old ones are
 * stale, and a nonce-count is accepted only once and only upwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sip/nonce.h"

static void test_make_and_check(void **state)
{
	struct nonce_ctx a, b;
	char n[NONCE_LEN + 1], n2[NONCE_LEN + 1];

	(void)state;
	assert_int_equal(nonce_init(&a, 30), 0);
	assert_int_equal(nonce_init(&b, 30), 0);
	assert_int_equal(nonce_make(&a, 1000, n), 0);
	assert_int_equal(strlen(n), NONCE_LEN);
	assert_int_equal(nonce_make(&a, 1000, n2), 0);
	assert_string_not_equal(n, n2);			/* random part */
	assert_int_equal(nonce_check(&a, n, 1000), NONCE_OK);
	assert_int_equal(nonce_check(&a, n, 1030), NONCE_OK);
	assert_int_equal(nonce_check(&a, n, 1031), NONCE_STALE);
	assert_int_equal(nonce_check(&a, n, 900), NONCE_BAD);	/* signed in the future */
	assert_int_equal(nonce_check(&b, n, 1000), NONCE_BAD);	/* another secret */
	n[5] = n[5] == 'A' ? 'B' : 'A';
	assert_int_equal(nonce_check(&a, n, 1000), NONCE_BAD);	/* tampered */
	assert_int_equal(nonce_check(&a, "", 1000), NONCE_BAD);
	assert_int_equal(nonce_check(&a, "not a nonce at all, but the same length!!!", 1000),
			 NONCE_BAD);
	nonce_fini(&a);
	nonce_fini(&b);
}

static void test_counts(void **state)
{
	struct nonce_ctx a;
	char n[NONCE_LEN + 1], m[NONCE_LEN + 1];

	(void)state;
	assert_int_equal(nonce_init(&a, 30), 0);
	nonce_make(&a, 1, n);
	nonce_make(&a, 1, m);
	assert_true(nonce_count_ok(&a, n, 1));
	assert_false(nonce_count_ok(&a, n, 1));		/* replay */
	assert_true(nonce_count_ok(&a, n, 2));
	assert_true(nonce_count_ok(&a, n, 5));		/* gaps are fine */
	assert_false(nonce_count_ok(&a, n, 4));		/* going back is not */
	assert_true(nonce_count_ok(&a, m, 1));		/* counts are per nonce */
	assert_false(nonce_count_ok(&a, n, 5));
	nonce_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_and_check),
		cmocka_unit_test(test_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
