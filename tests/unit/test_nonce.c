// SPDX-License-Identifier: GPL-2.0-only
/*
 * Digest nonces: ours verify, damaged or foreign ones do not, old ones are
 * stale, a nonce-count is accepted once (within a window below the
 * highest), and a full table forgets nonces without letting one replay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/nonce.h"

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
	assert_int_equal(nonce_count_use(&a, n, 0), NONCE_COUNT_REPLAY);	/* 0 is no count */
	assert_int_equal(nonce_count_use(&a, n, 1), NONCE_COUNT_OK);
	assert_int_equal(nonce_count_use(&a, n, 1), NONCE_COUNT_REPLAY);
	assert_int_equal(nonce_count_use(&a, n, 2), NONCE_COUNT_OK);
	assert_int_equal(nonce_count_use(&a, n, 5), NONCE_COUNT_OK);	/* gaps are fine */
	assert_int_equal(nonce_count_use(&a, n, 4), NONCE_COUNT_OK);	/* overtaken: once */
	assert_int_equal(nonce_count_use(&a, n, 4), NONCE_COUNT_REPLAY);
	assert_int_equal(nonce_count_use(&a, n, 5), NONCE_COUNT_REPLAY);
	assert_int_equal(nonce_count_use(&a, m, 1), NONCE_COUNT_OK);	/* counts are per nonce */
	assert_int_equal(nonce_count_use(&a, n, 3), NONCE_COUNT_OK);
	assert_int_equal(nonce_count_use(&a, n, 2), NONCE_COUNT_REPLAY);
	/* The window: 64 below the top are remembered, further back is refused. */
	assert_int_equal(nonce_count_use(&a, n, 5 + NONCE_WINDOW), NONCE_COUNT_OK);
	assert_int_equal(nonce_count_use(&a, n, 6), NONCE_COUNT_OK);
	assert_int_equal(nonce_count_use(&a, n, 5), NONCE_COUNT_REPLAY);
	assert_int_equal(nonce_count_use(&a, n, 4), NONCE_COUNT_REPLAY);
	assert_int_equal(nonce_count_use(&a, n, 0xffffffff), NONCE_COUNT_OK);	/* a jump */
	assert_int_equal(nonce_count_use(&a, n, 6 + NONCE_WINDOW), NONCE_COUNT_REPLAY);
	assert_int_equal(nonce_count_use(&a, n, 0xffffffff - 1), NONCE_COUNT_OK);
	assert_int_equal(nonce_count_use(&a, n, 0xffffffff), NONCE_COUNT_REPLAY);
	assert_int_equal(nonce_count_use(&a, "garbage", 1), NONCE_COUNT_REPLAY);
	nonce_fini(&a);
}

/*
 * Twice as many nonces as the table holds, each used once, issued over
 * time: every one used again is refused, as a replay when the table still
 * holds it, as stale when it was evicted; never accepted. A nonce issued
 * after all of them is accepted.
 */
static void test_full_table(void **state)
{
	const unsigned n = 2 * NONCE_SLOTS;
	struct nonce_ctx a;
	char (*all)[NONCE_LEN + 1] = calloc(n, sizeof(*all));
	char fresh[NONCE_LEN + 1];
	unsigned i, replay = 0, forgotten = 0;

	(void)state;
	assert_non_null(all);
	assert_int_equal(nonce_init(&a, 3600), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(nonce_make(&a, 1000 + i / 64, all[i]), 0);
		assert_int_equal(nonce_count_use(&a, all[i], 1), NONCE_COUNT_OK);
	}
	assert_true(a.evictions >= n - NONCE_SLOTS);
	for (i = 0; i < n; i++) {
		enum nonce_count r = nonce_count_use(&a, all[i], 1);

		assert_int_not_equal(r, NONCE_COUNT_OK);
		replay += r == NONCE_COUNT_REPLAY;
		forgotten += r == NONCE_COUNT_FORGOTTEN;
	}
	assert_true(replay > NONCE_SLOTS / 2);
	assert_true(forgotten >= n - NONCE_SLOTS);
	assert_int_equal(nonce_make(&a, 1000 + n / 64 + 1, fresh), 0);
	assert_int_equal(nonce_count_use(&a, fresh, 1), NONCE_COUNT_OK);
	free(all);
	nonce_fini(&a);
}

/*
 * Thousands of nonces in one second, each used at once: an eviction must
 * not make the newer ones of the same second look forgotten.
 */
static void test_one_busy_second(void **state)
{
	struct nonce_ctx a;
	char n[NONCE_LEN + 1];
	unsigned forgotten = 0;

	(void)state;
	assert_int_equal(nonce_init(&a, 30), 0);
	for (unsigned i = 0; i < 3 * NONCE_SLOTS; i++) {
		assert_int_equal(nonce_make(&a, 5000, n), 0);
		assert_int_equal(nonce_check(&a, n, 5000), NONCE_OK);
		forgotten += nonce_count_use(&a, n, 1) == NONCE_COUNT_FORGOTTEN;
	}
	assert_true(a.evictions > 0);
	assert_int_equal(forgotten, 0);
	nonce_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_and_check),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_one_busy_second),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
