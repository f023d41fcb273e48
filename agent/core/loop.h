/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's one event loop: epoll for sockets, one timerfd armed to the
 * earliest of any number of timers (a binary heap), and a signalfd, as
 * redis's ae does with one thread and no locks. Everything sluiced does
 * happens in callbacks from loop_run().
 *
 * Timers are embedded in their owner's struct, so arming one never
 * allocates; a cancelled or fired timer may be armed again. Time is
 * CLOCK_MONOTONIC in milliseconds, read once per loop iteration; tests may
 * replace the clock with loop_set_clock() and fire timers with
 * loop_run_timers().
 */
#ifndef SLUICE_LOOP_H
#define SLUICE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

typedef void (*loop_fd_cb)(struct loop *loop, int fd, uint32_t events,
			   void *arg);
typedef void (*loop_timer_cb)(struct loop *loop, void *arg);
typedef void (*loop_signal_cb)(struct loop *loop, int signo, void *arg);
typedef uint64_t (*loop_clock_fn)(void);

struct loop_timer {
	uint64_t	when_ms;	/* absolute, loop clock */
	uint32_t	heap_idx;	/* 0 = not armed, else index + 1 */
	loop_timer_cb	cb;
	void		*arg;
};

int loop_new(struct loop **out);
void loop_free(struct loop *loop);
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

/* events: EPOLLIN / EPOLLOUT / ... as epoll_ctl takes them. */
int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_cb cb,
		void *arg);
int loop_mod_fd(struct loop *loop, int fd, uint32_t events);
int loop_del_fd(struct loop *loop, int fd);
/*
 * Without a system call: hands a watched fd to another callback (-ENOENT
 * when it is not watched), or forgets one about to be closed (closing it
 * takes it out of epoll; nothing else may hold a duplicate of it).
 */
int loop_set_fd_cb(struct loop *loop, int fd, loop_fd_cb cb, void *arg);
void loop_forget_fd(struct loop *loop, int fd);

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *arg);
int loop_timer_arm(struct loop *loop, struct loop_timer *t, uint64_t delay_ms);
void loop_timer_cancel(struct loop *loop, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
	return t->heap_idx != 0;
}

/*
 * Wakeup batching: an iteration whose events all went to callback cb is
 * followed by a pause that makes it last us microseconds from its
 * wakeup, so that a busy set of such fds (the media relay's sockets) is
 * served a batch per wakeup instead of a datagram per wakeup. What
 * arrives meanwhile waits at most us, other fds included. us = 0: off.
 */
void loop_set_batch(struct loop *loop, loop_fd_cb cb, uint32_t us);
/* From such a callback: more is waiting than it could take, no pause now. */
void loop_batch_skip(struct loop *loop);

/* Blocks signo for the process and delivers it through the loop. */
int loop_on_signal(struct loop *loop, int signo, loop_signal_cb cb, void *arg);

/*
 * How long each iteration's work took (from epoll_wait returning to the
 * next call): the time the loop could answer nothing, the stall an event
 * waits behind. A histogram with upper bounds LOOP_STALL_BOUNDS_US (the
 * last bucket is everything longer), the longest, and how many. Beside
 * the wall clock, the thread's own CPU time: the longest iteration's work
 * (max_cpu_us), and the longest time an iteration spent off the CPU
 * (max_wait_us: blocked in a system call, or preempted on a busy host).
 */
#define LOOP_STALL_BUCKETS	10
#define LOOP_STALL_BOUNDS_US	{ 100, 250, 500, 1000, 2000, 5000, 10000, 50000, 100000 }
struct loop_stats {
	uint64_t	iterations;
	uint64_t	bucket[LOOP_STALL_BUCKETS];
	uint64_t	max_us;
	uint64_t	total_us;
	uint64_t	max_cpu_us;
	uint64_t	max_wait_us;
	uint64_t	batch_pauses;	/* loop_set_batch()'s pauses taken */
};
void loop_get_stats(const struct loop *loop, struct loop_stats *out);
/* Starts the histogram and the longest over (DSP SYSINFO: RESET=YES). */
void loop_reset_stats(struct loop *loop);
/* The upper bound of bucket i in microseconds, 0 for the last (unbounded). */
uint64_t loop_stall_bound_us(int i);

uint64_t loop_now_ms(struct loop *loop);
void loop_set_clock(struct loop *loop, loop_clock_fn clock);
/* Fires every timer due at the loop clock's now; returns how many fired. */
unsigned loop_run_timers(struct loop *loop);

#endif /* SLUICE_LOOP_H */
