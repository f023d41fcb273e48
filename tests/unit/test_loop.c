// SPDX-License-Identifier: GPL-2.0-only
/*
 * loop.c: timers fire in deadline order on a fake clock, cancel and re-arm
 * work at any heap position, fds dispatch, a signal stops the loop, and
 * wakeup batching pauses after the batched callback's wakeups only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/loop.h"

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
	return fake_now;
}

static int fired[64];
static int nfired;

static void record(struct loop *loop, void *arg)
{
	(void)loop;
	fired[nfired++] = (int)(intptr_t)arg;
}

static void test_timer_order_and_cancel(void **state)
{
	struct loop *loop;
	struct loop_timer t[32];
	/* Deadlines in a scrambled order; timer i fires at delays[i] ms. */
	static const uint64_t delays[32] = {
		50, 10, 30, 20, 40, 5, 15, 25, 35, 45, 1, 2, 3, 4, 6, 7,
		100, 90, 80, 70, 60, 55, 65, 75, 85, 95, 8, 9, 11, 12, 13, 14 };

	(void)state;
	fake_now = 1000;
	assert_int_equal(loop_new(&loop), 0);
	loop_set_clock(loop, fake_clock);
	for (int i = 0; i < 32; i++) {
		loop_timer_init(&t[i], record, (void *)(intptr_t)i);
		assert_int_equal(loop_timer_arm(loop, &t[i], delays[i]), 0);
	}
	/* Cancel a few from the middle of the heap, re-arm one later. */
	loop_timer_cancel(loop, &t[3]);
	loop_timer_cancel(loop, &t[17]);
	loop_timer_cancel(loop, &t[3]);	/* twice is harmless */
	assert_false(loop_timer_armed(&t[3]));
	assert_int_equal(loop_timer_arm(loop, &t[0], 200), 0);

	nfired = 0;
	fake_now = 1000 + 9;
	assert_int_equal(loop_run_timers(loop), 9);	/* 1..9 ms: ids 10,11,12,13,5,14,15,26,27 */
	assert_int_equal(fired[0], 10);
	assert_int_equal(fired[8], 27);
	fake_now = 1000 + 150;
	loop_run_timers(loop);
	/* Everything but t[0] (200), t[3] and t[17] (cancelled) has fired, in order. */
	assert_int_equal(nfired, 29);
	for (int i = 1; i < nfired; i++)
		assert_true(delays[fired[i - 1]] <= delays[fired[i]]);
	fake_now = 1000 + 201;
	loop_run_timers(loop);
	assert_int_equal(fired[nfired - 1], 0);
	loop_free(loop);
}

/* A timer armed again while armed moves, earlier or later, and fires once. */
static void test_timer_rearm_in_place(void **state)
{
	static const int order[8] = { 7, 1, 2, 3, 4, 5, 6, 0 };
	struct loop *loop;
	struct loop_timer t[8];

	(void)state;
	fake_now = 5000;
	assert_int_equal(loop_new(&loop), 0);
	loop_set_clock(loop, fake_clock);
	for (int i = 0; i < 8; i++) {
		loop_timer_init(&t[i], record, (void *)(intptr_t)i);
		assert_int_equal(loop_timer_arm(loop, &t[i], 10 * (uint64_t)(i + 1)), 0);
	}
	assert_int_equal(loop_timer_arm(loop, &t[7], 5), 0);	/* last to first */
	assert_int_equal(loop_timer_arm(loop, &t[0], 100), 0);	/* first to last */
	assert_int_equal(loop_timer_arm(loop, &t[3], 45), 0);	/* a little later */
	nfired = 0;
	fake_now = 5000 + 200;
	assert_int_equal(loop_run_timers(loop), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(fired[i], order[i]);
	loop_free(loop);
}

static void stop_after_timer(struct loop *loop, void *arg)
{
	*(int *)arg += 1;
	loop_stop(loop);
}

static void on_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	char c;

	assert_true(events & EPOLLIN);
	assert_int_equal(read(fd, &c, 1), 1);
	*(int *)arg = c;
	(void)loop;
}

/* The real clock and timerfd: a 20 ms timer stops a running loop. */
static void test_run_with_fd_and_timer(void **state)
{
	struct loop *loop;
	struct loop_timer t;
	int p[2], got = 0, stops = 0;

	(void)state;
	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, on_readable, &got), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	loop_timer_init(&t, stop_after_timer, &stops);
	assert_int_equal(loop_timer_arm(loop, &t, 20), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(got, 'x');
	assert_int_equal(stops, 1);
	assert_int_equal(loop_del_fd(loop, p[0]), 0);
	close(p[0]);
	close(p[1]);
	loop_free(loop);
}

static struct loop_timer chain[2];

/* The second timer of the chain stops the loop. */
static void chain_last(struct loop *loop, void *arg)
{
	(*(int *)arg)++;
	loop_stop(loop);
}

/* The first, armed from the fd's callback, arms the second from its own. */
static void chain_first(struct loop *loop, void *arg)
{
	(*(int *)arg)++;
	loop_timer_init(&chain[1], chain_last, arg);
	assert_int_equal(loop_timer_arm(loop, &chain[1], 5), 0);
}

static void arm_on_read(struct loop *loop, int fd, uint32_t events, void *arg)
{
	char c;

	(void)events;
	assert_int_equal(read(fd, &c, 1), 1);
	loop_timer_init(&chain[0], chain_first, arg);
	assert_int_equal(loop_timer_arm(loop, &chain[0], 5), 0);
}

/*
 * Timers armed inside callbacks set the timerfd only before the loop waits
 * again: one armed by an fd's callback, then one armed by a timer's, each
 * the only thing left to wake the loop, both fire.
 */
static void test_timers_armed_in_callbacks(void **state)
{
	struct loop *loop;
	int p[2], fires = 0;

	(void)state;
	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, arm_on_read, &fires), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(fires, 2);
	close(p[0]);
	close(p[1]);
	loop_free(loop);
}

static int batch_reads;

/* Reads a byte; the second read stops the loop; 's' asks for no pause. */
static void on_batched(struct loop *loop, int fd, uint32_t events, void *arg)
{
	char c;

	(void)events;
	(void)arg;
	assert_int_equal(read(fd, &c, 1), 1);
	if (c == 's')
		loop_batch_skip(loop);
	if (++batch_reads == 2)
		loop_stop(loop);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * With on_batched: two bytes in the pipe, one read per wakeup; the first
 * wakeup served only the batched callback, so a pause of 30 ms follows
 * it (none after the second, which stops the loop), unless the callback
 * said loop_batch_skip ('s'). With on_readable (not the batched
 * callback): one byte, then a timer stops the loop; no pause. Returns
 * loop_run's wall time in microseconds, the pauses in *pauses.
 */
static uint64_t run_batched(const char *bytes, loop_fd_cb cb, uint64_t *pauses)
{
	struct loop *loop;
	struct loop_stats ls;
	int p[2], got = 0;
	uint64_t t0;

	batch_reads = 0;
	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, cb, &got), 0);
	loop_set_batch(loop, on_batched, 30000);
	assert_int_equal(write(p[1], bytes, 1), 1);
	t0 = mono_us();
	if (cb == on_readable) {
		/* on_readable never stops the loop: a timer does, after its first read. */
		struct loop_timer t;
		int stops = 0;

		loop_timer_init(&t, stop_after_timer, &stops);
		assert_int_equal(loop_timer_arm(loop, &t, 1), 0);
		assert_int_equal(loop_run(loop), 0);
	} else {
		assert_int_equal(write(p[1], bytes + 1, 1), 1);
		assert_int_equal(loop_run(loop), 0);
	}
	t0 = mono_us() - t0;
	loop_get_stats(loop, &ls);
	*pauses = ls.batch_pauses;
	close(p[0]);
	close(p[1]);
	loop_free(loop);
	return t0;
}

static void test_batch_pause(void **state)
{
	uint64_t pauses, us;

	(void)state;
	us = run_batched("xx", on_batched, &pauses);
	assert_int_equal(pauses, 1);
	assert_true(us >= 30000);
	run_batched("ss", on_batched, &pauses);
	assert_int_equal(pauses, 0);
	run_batched("x", on_readable, &pauses);
	assert_int_equal(pauses, 0);
}

static void on_usr1(struct loop *loop, int signo, void *arg)
{
	*(int *)arg = signo;
	loop_stop(loop);
}

static void test_signal_stops_loop(void **state)
{
	struct loop *loop;
	int got = 0;

	(void)state;
	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(loop_on_signal(loop, SIGUSR1, on_usr1, &got), 0);
	kill(getpid(), SIGUSR1);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(got, SIGUSR1);
	loop_free(loop);
}

/* A burst said once a second at most, with its count; what is left, on demand. */
static void test_log_tally(void **state)
{
	struct log_tally t = { 0 };

	(void)state;
	assert_int_equal(log_tally_add(&t, 3, 5000), 3);	/* the first line */
	assert_int_equal(log_tally_add(&t, 2, 5500), 0);
	assert_int_equal(log_tally_add(&t, 4, 5900), 0);
	assert_int_equal(log_tally_take(&t, 6000), 6);
	assert_int_equal(log_tally_take(&t, 6100), 0);
	assert_int_equal(log_tally_add(&t, 1, 6500), 0);	/* a second from the take */
	assert_int_equal(log_tally_add(&t, 1, 7000), 2);
	assert_int_equal(log_tally_add(&t, 0, 9000), 0);	/* nothing new: no line */
	assert_int_equal(log_tally_take(&t, 9000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_order_and_cancel),
		cmocka_unit_test(test_timer_rearm_in_place),
		cmocka_unit_test(test_run_with_fd_and_timer),
		cmocka_unit_test(test_timers_armed_in_callbacks),
		cmocka_unit_test(test_signal_stops_loop),
		cmocka_unit_test(test_batch_pause),
		cmocka_unit_test(test_log_tally),
	};

	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
