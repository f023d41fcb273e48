// SPDX-License-Identifier: GPL-2.0-only
/*
 * The E-model of media/quality.c against values worked out by hand from
 * the formula in its header (and the README).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "media/quality.h"

static void near(double got, double want, double tol)
{
	if (fabs(got - want) > tol)
		fail_msg("got %.4f, want %.4f", got, want);
}

static void test_mos_mapping(void **state)
{
	(void)state;
	near(media_mos(93.2), 4.4094, 0.0005);	/* 1 + 3.262 + 0.1474 */
	near(media_mos(50), 2.5750, 0.0005);	/* 1 + 1.75 - 0.175 */
	near(media_mos(0), 1.0, 1e-9);
	near(media_mos(-5), 1.0, 1e-9);
	near(media_mos(120), 4.5, 1e-9);
}

static void test_clean_call(void **state)
{
	struct media_quality q;

	(void)state;
	media_quality(0, 0, &q);
	near(q.r, 92.72, 0.005);		/* 93.2 - 0.024 * 20 */
	near(q.mos, 4.3998, 0.0005);
}

static void test_loss(void **state)
{
	struct media_quality q;

	(void)state;
	media_quality(1, 0, &q);		/* Ie_eff = 95 / 26.1 = 3.6398 */
	near(q.r, 89.0802, 0.005);
	media_quality(5, 0, &q);		/* Ie_eff = 475 / 30.1 = 15.7807 */
	near(q.r, 76.9393, 0.005);
	near(q.mos, 3.9033, 0.0005);	/* 1 + 2.6929 + 0.2104 */
	media_quality(100, 0, &q);		/* 95 * 100 / 125.1 = 75.94 */
	near(q.r, 16.7800, 0.005);
}

static void test_jitter(void **state)
{
	struct media_quality q;

	(void)state;
	media_quality(0, 90, &q);		/* d = 200: Id = 4.8 + 0.11 * 22.7 */
	near(q.r, 85.903, 0.005);
	media_quality(0, 10, &q);		/* d = 40: Id = 0.96 */
	near(q.r, 92.24, 0.005);
	media_quality(-3, -1, &q);		/* nonsense in: a clean call out */
	near(q.r, 92.72, 0.005);
	media_quality(NAN, NAN, &q);		/* 0/0 upstream: no figures yet */
	near(q.r, 92.72, 0.005);
	near(media_mos(NAN), 1.0, 1e-9);
	media_quality(0, INFINITY, &q);		/* no jitter buffer copes */
	near(q.r, 0, 1e-9);
	near(q.mos, 1.0, 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mos_mapping),
		cmocka_unit_test(test_clean_call),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_jitter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
