// SPDX-License-Identifier: GPL-2.0-only
/*
 * epoll + timerfd + signalfd event loop (see loop.h). The timer heap is a
 * min-heap on when_ms holding pointers to the timers, each of which knows
 * its own index so that cancel is O(log n). The timerfd is re-armed to the
 * heap's root after every change that moves the root.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"

#ifndef LOOP_MAX_EVENTS
#define LOOP_MAX_EVENTS 256
#endif
#ifndef LOOP_TIMER_SLACK_MS
#define LOOP_TIMER_SLACK_MS 4	/* how late a timer may fire (loop_rearm()) */
#endif

#define LOOP_NSIG 65

/* A pause shorter than this is not worth its system call. */
#define LOOP_BATCH_MIN_US 20

struct loop_fd {
	loop_fd_cb	cb;
	void		*arg;
};

struct loop {
	int		epfd;
	int		tfd;
	int		sfd;
	bool		stop;
	uint64_t	now_ms;
	loop_clock_fn	clock;
	sigset_t	sigmask;

	struct loop_fd	*fds;		/* indexed by fd */
	int		nfds;

	struct loop_timer **heap;
	uint32_t	heap_len;
	uint32_t	heap_cap;
	uint64_t	armed_ms;	/* what the timerfd is set to, 0 = off */
	bool		rearm;		/* the heap's top changed since (loop_rearm_later()) */

	struct {
		loop_signal_cb	cb;
		void		*arg;
	} sig[LOOP_NSIG];

	struct loop_stats stats;	/* each iteration's work time */

	loop_fd_cb	batch_cb;	/* loop_set_batch() */
	uint32_t	batch_us;
	bool		batch_skip;	/* loop_batch_skip(): not this iteration */
};

static const uint64_t stall_bounds[LOOP_STALL_BUCKETS - 1] = LOOP_STALL_BOUNDS_US;

/* Microseconds of CLOCK_MONOTONIC, for the stall histogram (not the timers' clock). */
static uint64_t loop_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The loop thread's CPU time in microseconds. */
static uint64_t loop_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void loop_count_stall(struct loop *loop, uint64_t us, uint64_t cpu)
{
	int i = 0;

	if (cpu > loop->stats.max_cpu_us)
		loop->stats.max_cpu_us = cpu;
	if (us > cpu && us - cpu > loop->stats.max_wait_us)
		loop->stats.max_wait_us = us - cpu;

	while (i < LOOP_STALL_BUCKETS - 1 && us > stall_bounds[i])
		i++;
	loop->stats.bucket[i]++;
	loop->stats.iterations++;
	loop->stats.total_us += us;
	if (us > loop->stats.max_us)
		loop->stats.max_us = us;
}

void loop_get_stats(const struct loop *loop, struct loop_stats *out)
{
	*out = loop->stats;
}

void loop_reset_stats(struct loop *loop)
{
	memset(&loop->stats, 0, sizeof(loop->stats));
}

uint64_t loop_stall_bound_us(int i)
{
	return i >= 0 && i < LOOP_STALL_BUCKETS - 1 ? stall_bounds[i] : 0;
}

static uint64_t loop_clock_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t loop_now_ms(struct loop *loop)
{
	return loop->now_ms;
}

void loop_set_clock(struct loop *loop, loop_clock_fn clock)
{
	loop->clock = clock ? clock : loop_clock_monotonic;
	loop->now_ms = loop->clock();
}

static void loop_dispatch_fd(struct loop *loop, int fd, uint32_t events,
			     void *arg);

int loop_new(struct loop **out)
{
	struct loop *loop;
	int err;

	loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	loop->tfd = -1;
	loop->sfd = -1;
	sigemptyset(&loop->sigmask);
	loop_set_clock(loop, NULL);

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		err = -errno;
		goto out_free;
	}
	loop->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop->tfd < 0) {
		err = -errno;
		goto out_close;
	}
	err = loop_add_fd(loop, loop->tfd, EPOLLIN, loop_dispatch_fd, NULL);
	if (err)
		goto out_close;
	*out = loop;
	return 0;

out_close:
	if (loop->tfd >= 0)
		close(loop->tfd);
	close(loop->epfd);
out_free:
	free(loop->fds);
	free(loop);
	return err;
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	if (loop->sfd >= 0)
		close(loop->sfd);
	close(loop->tfd);
	close(loop->epfd);
	free(loop->fds);
	free(loop->heap);
	free(loop);
}

void loop_stop(struct loop *loop)
{
	loop->stop = true;
}

static int loop_grow_fds(struct loop *loop, int fd)
{
	struct loop_fd *fds;
	int n = loop->nfds ? loop->nfds : 64;

	while (n <= fd)
		n *= 2;
	fds = realloc(loop->fds, (size_t)n * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	memset(fds + loop->nfds, 0, (size_t)(n - loop->nfds) * sizeof(*fds));
	loop->fds = fds;
	loop->nfds = n;
	return 0;
}

int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_cb cb,
		void *arg)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	int err;

	if (fd < 0)
		return -EBADF;
	if (fd >= loop->nfds) {
		err = loop_grow_fds(loop, fd);
		if (err)
			return err;
	}
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->fds[fd].cb = cb;
	loop->fds[fd].arg = arg;
	return 0;
}

int loop_mod_fd(struct loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_del_fd(struct loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nfds)
		return -EBADF;
	loop->fds[fd].cb = NULL;
	loop->fds[fd].arg = NULL;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
		return -errno;
	return 0;
}

int loop_set_fd_cb(struct loop *loop, int fd, loop_fd_cb cb, void *arg)
{
	if (fd < 0 || fd >= loop->nfds || !loop->fds[fd].cb)
		return -ENOENT;
	loop->fds[fd].cb = cb;
	loop->fds[fd].arg = arg;
	return 0;
}

void loop_forget_fd(struct loop *loop, int fd)
{
	if (fd >= 0 && fd < loop->nfds)
		loop->fds[fd] = (struct loop_fd){ NULL, NULL };
}

/* ---- timers ---- */

static void heap_set(struct loop *loop, uint32_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i + 1;
}

static void heap_up(struct loop *loop, uint32_t i)
{
	struct loop_timer *t = loop->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (loop->heap[parent]->when_ms <= t->when_ms)
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void heap_down(struct loop *loop, uint32_t i)
{
	struct loop_timer *t = loop->heap[i];

	for (;;) {
		uint32_t child = 2 * i + 1;

		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    loop->heap[child + 1]->when_ms < loop->heap[child]->when_ms)
			child++;
		if (t->when_ms <= loop->heap[child]->when_ms)
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, t);
}

static void heap_remove(struct loop *loop, struct loop_timer *t)
{
	uint32_t i = t->heap_idx - 1;
	struct loop_timer *last = loop->heap[--loop->heap_len];

	t->heap_idx = 0;
	if (last == t)
		return;
	heap_set(loop, i, last);
	heap_down(loop, i);
	heap_up(loop, last->heap_idx - 1);
}

/*
 * Points the timerfd at the earliest timer, rounded up to the next
 * LOOP_TIMER_SLACK_MS; a no-op when it already is. The slack batches the
 * timers of a busy server (each call's transactions arm a few, a ms
 * apart) into one wake-up and one timerfd_settime per slot instead of one
 * per ms: a timer may fire that much late, never early.
 */
static void loop_rearm(struct loop *loop)
{
	struct itimerspec its = { 0 };
	uint64_t when = loop->heap_len ? loop->heap[0]->when_ms : 0;
	uint64_t delta;

	when = (when + LOOP_TIMER_SLACK_MS - 1) / LOOP_TIMER_SLACK_MS * LOOP_TIMER_SLACK_MS;
	if (when == loop->armed_ms)
		return;
	loop->armed_ms = when;
	if (when) {
		/* The timerfd runs on the real monotonic clock, whatever clock
		 * the loop was given: fire after the remaining delta. */
		delta = when > loop->now_ms ? when - loop->now_ms : 0;
		if (delta == 0)
			its.it_value.tv_nsec = 1;
		its.it_value.tv_sec += (time_t)(delta / 1000);
		its.it_value.tv_nsec += (long)(delta % 1000) * 1000000;
	}
	if (timerfd_settime(loop->tfd, 0, &its, NULL) < 0)
		LOG(L_ERROR, "[core] timerfd_settime: %s", strerror(errno));
}

/*
 * Timers armed or cancelled while the loop serves an iteration (several per
 * SIP message: retransmission, transaction end, the call's own) set the
 * timerfd once, before the loop waits again, instead of once each.
 */
static void loop_rearm_later(struct loop *loop)
{
	loop->rearm = true;
}

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
}

int loop_timer_arm(struct loop *loop, struct loop_timer *t, uint64_t delay_ms)
{
	/* when_ms is never 0, which loop_rearm reads as "off". */
	uint64_t when = loop->now_ms + delay_ms + 1;

	if (t->heap_idx) {
		/* Armed already (a retransmission's next interval): moved in place. */
		t->when_ms = when;
		heap_down(loop, t->heap_idx - 1);
		heap_up(loop, t->heap_idx - 1);
		loop_rearm_later(loop);
		return 0;
	}
	if (loop->heap_len == loop->heap_cap) {
		uint32_t cap = loop->heap_cap ? loop->heap_cap * 2 : 256;
		struct loop_timer **heap;

		heap = realloc(loop->heap, cap * sizeof(*heap));
		if (!heap)
			return -ENOMEM;
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	t->when_ms = when;
	heap_set(loop, loop->heap_len++, t);
	heap_up(loop, loop->heap_len - 1);
	loop_rearm_later(loop);
	return 0;
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *t)
{
	if (!t->heap_idx)
		return;
	heap_remove(loop, t);
	loop_rearm_later(loop);
}

unsigned loop_run_timers(struct loop *loop)
{
	unsigned fired = 0;

	loop->now_ms = loop->clock();
	while (loop->heap_len && loop->heap[0]->when_ms <= loop->now_ms + 1) {
		struct loop_timer *t = loop->heap[0];

		heap_remove(loop, t);
		t->cb(loop, t->arg);
		fired++;
	}
	loop_rearm_later(loop);
	return fired;
}

/* ---- signals ---- */

static void loop_read_signals(struct loop *loop)
{
	struct signalfd_siginfo si;

	while (read(loop->sfd, &si, sizeof(si)) == sizeof(si)) {
		int signo = (int)si.ssi_signo;

		if (signo > 0 && signo < LOOP_NSIG && loop->sig[signo].cb)
			loop->sig[signo].cb(loop, signo, loop->sig[signo].arg);
	}
}

int loop_on_signal(struct loop *loop, int signo, loop_signal_cb cb, void *arg)
{
	int fd, err;

	if (signo <= 0 || signo >= LOOP_NSIG)
		return -EINVAL;
	sigaddset(&loop->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) < 0)
		return -errno;
	fd = signalfd(loop->sfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (loop->sfd < 0) {
		err = loop_add_fd(loop, fd, EPOLLIN, loop_dispatch_fd, NULL);
		if (err) {
			close(fd);
			return err;
		}
		loop->sfd = fd;
	}
	loop->sig[signo].cb = cb;
	loop->sig[signo].arg = arg;
	return 0;
}

/* ---- the loop ---- */

static void loop_dispatch_fd(struct loop *loop, int fd, uint32_t events,
			     void *arg)
{
	uint64_t expirations;

	(void)events;
	(void)arg;
	if (fd == loop->tfd) {
		if (read(fd, &expirations, sizeof(expirations)) < 0 &&
		    errno != EAGAIN)
			LOG(L_ERROR, "[core] timerfd read: %s", strerror(errno));
		loop->armed_ms = 0;
		loop_run_timers(loop);
	} else if (fd == loop->sfd) {
		loop_read_signals(loop);
	}
}

void loop_set_batch(struct loop *loop, loop_fd_cb cb, uint32_t us)
{
	loop->batch_cb = us ? cb : NULL;
	loop->batch_us = cb ? us : 0;
}

void loop_batch_skip(struct loop *loop)
{
	loop->batch_skip = true;
}

/*
 * After an iteration that served only batch_cb's fds: sleep out the rest
 * of batch_us from its wakeup, so that the next epoll_wait finds a batch
 * ready where it would have found one packet (loop_set_batch()).
 */
static void loop_batch_pause(struct loop *loop, uint64_t t0, uint64_t t1)
{
	uint64_t left;
	struct timespec ts;

	if (t1 - t0 >= loop->batch_us)
		return;
	left = loop->batch_us - (t1 - t0);
	if (left < LOOP_BATCH_MIN_US)
		return;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)left * 1000;
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
	loop->stats.batch_pauses++;
}

int loop_run(struct loop *loop)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];

	/*
	 * The thread's CPU clock is a system call (the monotonic one is not):
	 * read once per iteration, at its end. An iteration's CPU is the
	 * difference from the last one's end, which adds only what waiting
	 * in epoll_wait cost, next to nothing.
	 */
	uint64_t c0 = loop_cpu_us(), c1;

	loop->stop = false;
	while (!loop->stop) {
		uint64_t t0, t1;
		bool batched;
		int n;

		if (loop->rearm) {
			loop->rearm = false;
			loop_rearm(loop);
		}
		n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		t0 = loop_us();
		loop->now_ms = loop->clock();
		/* A full epoll batch: more fds are ready than it returned, no pause. */
		batched = n > 0 && n < LOOP_MAX_EVENTS && loop->batch_us;
		loop->batch_skip = false;
		for (int i = 0; i < n && !loop->stop; i++) {
			int fd = evs[i].data.fd;

			/* An earlier callback may have closed this fd. */
			if (fd < loop->nfds && loop->fds[fd].cb) {
				if (loop->fds[fd].cb != loop->batch_cb)
					batched = false;
				loop->fds[fd].cb(loop, fd, evs[i].events,
						 loop->fds[fd].arg);
			}
		}
		t1 = loop_us();
		c1 = loop_cpu_us();
		loop_count_stall(loop, t1 - t0, c1 - c0);
		c0 = c1;
		if (batched && !loop->batch_skip && !loop->stop)
			loop_batch_pause(loop, t0, t1);
	}
	return 0;
}
