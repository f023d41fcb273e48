// SPDX-License-Identifier: GPL-2.0-only
/*
 * The RTP statistics code shared by the XDP program and the kernel module
 * (bpf/rtp_stats.h), run in userspace with arrival times the test chooses,
 * so that interarrival jitter can be checked exactly: against RFC 3550
 * A.8's definition computed in floating point, J += (|D| - J) / 16.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtp_stats.h"

/* Feeds n packets 20 ms apart (160 units at 8 kHz), each delayed by delay[i]. */
static void feed(struct sluice_flow_stats *st, double *ref, const int *delay, int n)
{
	double j = 0, prev_transit = 0;
	int i;

	for (i = 0; i < n; i++) {
		uint32_t ts = 1000000u + (uint32_t)i * 160;
		uint32_t arrival = 5000000u + (uint32_t)i * 160 + (uint32_t)delay[i];
		double transit = (double)arrival - ts;

		sluice_rtp_update(st, (uint16_t)(100 + i), ts, 0xabc, arrival);
		if (i)
			j += (fabs(transit - prev_transit) - j) / 16;
		prev_transit = transit;
	}
	*ref = j;
}

static void test_jitter_steady(void **state)
{
	struct sluice_flow_stats st = { 0 };
	int delay[50] = { 0 };
	double ref;

	(void)state;
	feed(&st, &ref, delay, 50);
	assert_int_equal(st.jitter, 0);
	assert_int_equal(st.received, 50);
	assert_int_equal(sluice_rtp_expected(&st), 50);
	assert_int_equal(sluice_rtp_lost(&st), 0);
}

static void test_jitter_against_a8(void **state)
{
	struct sluice_flow_stats st = { 0 };
	int delay[400];
	double ref;
	int i;

	(void)state;
	srand(7);
	for (i = 0; i < 400; i++)
		delay[i] = rand() % 240;	/* up to 30 ms of network delay */
	feed(&st, &ref, delay, 400);
	/* The integer form rounds each step; it stays within a unit. */
	assert_true(fabs(st.jitter / 16.0 - ref) < 1.0);
	assert_true(ref > 20.0);	/* the case is not trivially zero */
}

static void test_jitter_alternating(void **state)
{
	struct sluice_flow_stats st = { 0 };
	int delay[200];
	double ref;
	int i;

	(void)state;
	for (i = 0; i < 200; i++)
		delay[i] = (i & 1) ? 80 : 0;	/* |D| = 80 every time */
	feed(&st, &ref, delay, 200);
	/* J converges to |D| = 80 units = 10 ms at 8 kHz. */
	assert_true(fabs(ref - 80.0) < 0.01);
	assert_true(fabs(st.jitter / 16.0 - 80.0) < 1.0);
}

static void test_new_ssrc_restarts(void **state)
{
	struct sluice_flow_stats st = { 0 };

	(void)state;
	sluice_rtp_update(&st, 10, 0, 1, 0);
	sluice_rtp_update(&st, 12, 320, 1, 400);
	assert_int_equal(sluice_rtp_expected(&st), 3);
	assert_int_equal(sluice_rtp_lost(&st), 1);
	assert_true(st.jitter > 0);
	sluice_rtp_update(&st, 7, 0, 2, 1000);
	assert_int_equal(st.ssrc, 2);
	assert_int_equal(st.ssrc_changes, 1);
	assert_int_equal(st.jitter, 0);
	assert_int_equal(sluice_rtp_expected(&st), 1);
	assert_int_equal(sluice_rtp_lost(&st), 0);
}

static void test_duplicates_make_loss_negative(void **state)
{
	struct sluice_flow_stats st = { 0 };

	(void)state;
	sluice_rtp_update(&st, 1, 0, 9, 0);
	sluice_rtp_update(&st, 2, 160, 9, 160);
	sluice_rtp_update(&st, 2, 160, 9, 170);
	assert_int_equal(sluice_rtp_expected(&st), 2);
	assert_int_equal(sluice_rtp_lost(&st), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jitter_steady),
		cmocka_unit_test(test_jitter_against_a8),
		cmocka_unit_test(test_jitter_alternating),
		cmocka_unit_test(test_new_ssrc_restarts),
		cmocka_unit_test(test_duplicates_make_loss_negative),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
