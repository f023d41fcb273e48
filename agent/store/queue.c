// SPDX-License-Identifier: GPL-2.0-only
/*
 * The writer thread and its queue (see queue.h). Ops move between the
 * threads by ownership: the loop links them into head..tail under mu, the
 * writer unlinks a batch, writes it, and links it into done..done_tail;
 * the eventfd tells the loop. Neither thread touches an op the other owns.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/queue.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

struct store_op *store_op_new(enum store_op_kind kind)
{
	struct store_op *op = calloc(1, sizeof(*op));

	if (op)
		op->kind = kind;
	return op;
}

void store_op_free(struct store_op *op)
{
	if (!op)
		return;
	if (op->kind == STORE_OP_MEDIA_PUT)
		free(op->u.media.state);
	else if (op->kind == STORE_OP_CALL)
		free(op->u.call.data);
	else if (op->kind == STORE_OP_SUBS)
		sub_cache_free(op->u.call.data);
	else if (op->kind == STORE_OP_CLUSTER)
		free(op->u.call.data);
	free(op);
}

/* ---- the writer thread ---- */

/*
 * Takes up to STORE_Q_BATCH ops, waiting for one up to STORE_Q_POLL_MS;
 * NULL when there is none (*stop says whether the queue is stopped).
 */
static struct store_op *take_batch(struct store_q *q, unsigned *n, bool *stop)
{
	struct store_op *first, *last;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += STORE_Q_POLL_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->stop)
		if (pthread_cond_timedwait(&q->cond, &q->mu, &until) == ETIMEDOUT)
			break;
	*stop = q->stop;
	first = q->head;
	*n = 0;
	for (last = first; last; last = last->next) {
		++*n;
		if (*n == STORE_Q_BATCH || !last->next)
			break;
	}
	if (last) {
		q->head = last->next;
		if (!q->head)
			q->tail = NULL;
		last->next = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	return first;
}

static bool stopping(struct store_q *q)
{
	bool stop;

	pthread_mutex_lock(&q->mu);
	stop = q->stop;
	pthread_mutex_unlock(&q->mu);
	return stop;
}

/* One try at the batch in one transaction: 0, or the transient error that stopped it. */
static int try_batch(struct store_q *q, struct store_op *batch)
{
	const struct store_backend *be = q->be;
	struct store_op *op;
	int err;

	err = be->begin(q->be_ctx);
	if (err)
		return err;
	for (op = batch; op; op = op->next) {
		op->result = be->apply(q->be_ctx, op);
		if (op->result && be->transient(op->result)) {
			err = op->result;
			goto out_rollback;
		}
	}
	err = be->commit(q->be_ctx);
	if (!err)
		return 0;
out_rollback:
	be->rollback(q->be_ctx);
	return err;
}

/*
 * Writes the batch, trying again (backing off) until it goes in: a write
 * is never dropped. Only at a stop does a database locked for longer than
 * STORE_Q_STOP_MS give up, with the ops' error left for the log.
 */
static void write_batch(struct store_q *q, struct store_op *batch, unsigned n)
{
	unsigned backoff = 5, tries = 0;
	uint64_t t0 = now_us(), stop_at = 0, us;
	int err;

	while ((err = try_batch(q, batch))) {
		tries++;
		pthread_mutex_lock(&q->mu);
		q->s_retries++;
		pthread_mutex_unlock(&q->mu);
		if (!q->waiting) {
			q->waiting = true;
			LOG(L_WARN, "[store] %s: cannot write %u change%s (%s): keeping them "
			    "queued and retrying", q->path, n, n == 1 ? "" : "s", strerror(-err));
		}
		if (stopping(q)) {
			if (!stop_at)
				stop_at = now_us() + 1000ull * STORE_Q_STOP_MS;
			else if (now_us() > stop_at)
				break;
		}
		usleep(backoff * 1000);
		backoff = backoff * 2 > STORE_Q_BACKOFF_MS ? STORE_Q_BACKOFF_MS : backoff * 2;
	}
	if (err) {
		for (struct store_op *op = batch; op; op = op->next)
			op->result = err;
		LOG(L_ERROR, "[store] %s: stopping with %u change%s not written (%s)", q->path,
		    n, n == 1 ? "" : "s", strerror(-err));
	} else if (q->waiting) {
		q->waiting = false;
		LOG(L_WARN, "[store] %s: writable again: %u change%s written after %u retr%s",
		    q->path, n, n == 1 ? "" : "s", tries, tries == 1 ? "y" : "ies");
	}
	us = now_us() - t0;
	pthread_mutex_lock(&q->mu);
	q->s_transactions++;
	q->s_committed += n;
	if (us > q->s_max_commit_us)
		q->s_max_commit_us = us;
	pthread_mutex_unlock(&q->mu);
}

void store_q_hand_back(struct store_q *q, struct store_op *batch)
{
	struct store_op *last = batch;
	uint64_t one = 1;

	while (last->next)
		last = last->next;
	pthread_mutex_lock(&q->mu);
	if (q->done_tail)
		q->done_tail->next = batch;
	else
		q->done = batch;
	q->done_tail = last;
	pthread_cond_broadcast(&q->cond);	/* store_q_drain() may wait */
	pthread_mutex_unlock(&q->mu);
	if (q->efd < 0)		/* before the thread starts: store_q_start() wakes the loop */
		return;
	if (write(q->efd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN)
		LOG(L_ERROR, "[store] waking the loop: %s", strerror(errno));
}

static int data_version(struct store *st)
{
	sqlite3_stmt *q;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA data_version", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* From the writer: a new subscriber cache for the loop. */
static void subs_arrived(struct store_op *op, void *arg)
{
	struct store_q *q = arg;
	void (*fn)(struct sub_cache *c, void *arg);
	void *fn_arg;

	pthread_mutex_lock(&q->mu);
	fn = q->on_subs;
	fn_arg = q->on_subs_arg;
	pthread_mutex_unlock(&q->mu);
	if (fn) {
		fn(op->u.call.data, fn_arg);
		op->u.call.data = NULL;		/* fn's now */
	}
}

/*
 * Another connection committed (sluicectl, sqlite3, the loop's own MML
 * writes): the subscribers are read again for the loop's cache. The
 * writer's own commits do not move data_version.
 */
static void poll_changes(struct store_q *q)
{
	uint64_t now = now_us();
	int v;

	if (!q->wst.db || now - q->polled_us < 1000ull * STORE_Q_POLL_MS)
		return;
	q->polled_us = now;
	v = data_version(&q->wst);
	if (v < 0 || v == q->data_version)
		return;
	if (!store_q_post_subs(q))
		q->data_version = v;
}

int store_q_post_subs(struct store_q *q)
{
	struct store_op *op;

	pthread_mutex_lock(&q->mu);
	op = q->on_subs ? store_op_new(STORE_OP_SUBS) : NULL;
	pthread_mutex_unlock(&q->mu);
	if (!op)
		return 0;
	op->u.call.data = subscriber_cache_load(&q->wst);
	if (!op->u.call.data) {		/* locked meanwhile: the caller tries again */
		store_op_free(op);
		return -EBUSY;
	}
	op->done = subs_arrived;
	op->arg = q;
	store_q_hand_back(q, op);
	return 0;
}

static void *writer_main(void *arg)
{
	struct store_q *q = arg;
	struct store_op *batch;
	bool stop = false;
	unsigned n;

	/*
	 * SCHED_BATCH: a wakeup does not preempt the event loop when both
	 * share a core; the writer runs when the loop waits or its slice ends,
	 * with everything queued meanwhile in one transaction.
	 */
	pthread_setschedparam(pthread_self(), SCHED_BATCH, &(struct sched_param){ 0 });
	q->data_version = q->wst.db ? data_version(&q->wst) : 0;
	while (!stop) {
		batch = take_batch(q, &n, &stop);
		if (batch) {
			write_batch(q, batch, n);
			store_q_hand_back(q, batch);
			stop = false;	/* what is queued behind goes first */
		}
		poll_changes(q);
		if (q->be->poll)
			q->be->poll(q->be_ctx);
	}
	return NULL;
}

void store_q_watch_subs(struct store_q *q, void (*fn)(struct sub_cache *c, void *arg),
			void *arg)
{
	pthread_mutex_lock(&q->mu);
	q->on_subs = fn;
	q->on_subs_arg = arg;
	pthread_mutex_unlock(&q->mu);
}

void store_q_watch_cluster(struct store_q *q, void (*fn)(void *update, void *arg), void *arg)
{
	pthread_mutex_lock(&q->mu);
	q->on_cluster = fn;
	q->on_cluster_arg = arg;
	pthread_mutex_unlock(&q->mu);
}

/* From the writer: another node's bindings or addresses. */
static void cluster_arrived(struct store_op *op, void *arg)
{
	struct store_q *q = arg;
	void (*fn)(void *update, void *arg);
	void *fn_arg;

	pthread_mutex_lock(&q->mu);
	fn = q->on_cluster;
	fn_arg = q->on_cluster_arg;
	pthread_mutex_unlock(&q->mu);
	if (fn)
		fn(op->u.call.data, fn_arg);
}

void store_q_post_cluster(struct store_q *q, void *update)
{
	struct store_op *op = store_op_new(STORE_OP_CLUSTER);

	if (!op) {
		free(update);
		return;
	}
	op->u.call.data = update;
	op->done = cluster_arrived;
	op->arg = q;
	store_q_hand_back(q, op);
}

/* ---- the loop's side ---- */

static void on_efd(struct loop *loop, int fd, uint32_t events, void *arg)
{
	uint64_t v;

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG(L_ERROR, "[store] reading the writer's eventfd: %s", strerror(errno));
	store_q_complete(arg);
}

int store_q_open(struct store_q *q, const char *path, struct loop *loop, unsigned limit)
{
	int err;

	memset(q, 0, sizeof(*q));
	q->efd = -1;
	snprintf(q->path, sizeof(q->path), "%s", path ? path : "(worker)");
	if (path) {
		err = store_open(&q->wst, path);
		if (err)
			return err;
		sqlite3_busy_timeout(q->wst.db, STORE_Q_WRITER_BUSY_MS);
		q->be = &store_sqlite_backend;
		q->be_ctx = &q->wst;
	} else {
		q->be = &store_none_backend;
	}
	return store_q_start(q, loop, limit);
}

int store_q_start(struct store_q *q, struct loop *loop, unsigned limit)
{
	int err;

	q->loop = loop;
	q->limit = limit ? limit : STORE_Q_DEFAULT_MAX;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		err = -errno;
		goto out_close_db;
	}
	if (loop) {
		err = loop_add_fd(loop, q->efd, EPOLLIN, on_efd, q);
		if (err)
			goto out_close_efd;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cond, NULL);
	err = -pthread_create(&q->thread, NULL, writer_main, q);
	if (err)
		goto out_destroy;
	q->running = true;
	if (q->done) {		/* handed back while opening (pg.c's first connect) */
		uint64_t one = 1;

		if (write(q->efd, &one, sizeof(one)) != sizeof(one))
			LOG(L_WARN, "[store] waking the loop: %s", strerror(errno));
	}
	return 0;

out_destroy:
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
	if (loop)
		loop_del_fd(loop, q->efd);
out_close_efd:
	close(q->efd);
	q->efd = -1;
out_close_db:
	if (q->be && q->be->close)
		q->be->close(q->be_ctx);
	store_close(&q->wst);
	return err;
}

void store_q_close(struct store_q *q)
{
	if (!q->running)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	q->running = false;
	store_q_complete(q);
	if (q->loop)
		loop_del_fd(q->loop, q->efd);
	close(q->efd);
	q->efd = -1;
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
	if (q->be->close)
		q->be->close(q->be_ctx);
	store_close(&q->wst);
}

bool store_q_sync(struct store_q *q, const char *table, const char *key)
{
	struct store_op *op;

	if (!q || q->be != &store_pg_backend)
		return false;
	op = store_op_new(STORE_OP_SYNC);
	if (!op)
		return false;
	op->u.sync.table = table;
	snprintf(op->u.sync.key, sizeof(op->u.sync.key), "%s", key);
	store_q_submit(q, op, NULL, NULL);
	return true;
}

void store_q_submit(struct store_q *q, struct store_op *op, store_done_fn done, void *arg)
{
	bool wake;

	op->done = done;
	op->arg = arg;
	op->next = NULL;
	op->result = 0;
	pthread_mutex_lock(&q->mu);
	wake = !q->head;	/* the writer waits only on an empty queue */
	if (q->tail)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
	pthread_mutex_unlock(&q->mu);
	/*
	 * Woken outside mu: on a shared core the writer would otherwise run at
	 * once, find mu held and hand the core back, twice per op.
	 */
	if (wake)
		pthread_cond_signal(&q->cond);
	q->submitted++;
	if (++q->depth > q->max_depth)
		q->max_depth = q->depth;
}

int store_q_fence(struct store_q *q, store_done_fn done, void *arg)
{
	struct store_op *op = store_op_new(STORE_OP_FENCE);

	if (!op)
		return -ENOMEM;
	store_q_submit(q, op, done, arg);
	return 0;
}

bool store_q_full(struct store_q *q)
{
	if (q->depth < q->limit)
		return false;
	q->refused++;
	if (!q->congested) {
		q->congested = true;
		LOG(L_WARN, "[store] %s: %u changes waiting for the database ([store] queue): "
		    "refusing new work until it catches up", q->path, q->depth);
	}
	return true;
}

void store_q_complete(struct store_q *q)
{
	struct store_op *op, *next;

	pthread_mutex_lock(&q->mu);
	op = q->done;
	q->done = q->done_tail = NULL;
	pthread_mutex_unlock(&q->mu);
	for (; op; op = next) {
		next = op->next;
		/* The writer's own: never counted. */
		if (op->kind != STORE_OP_SUBS && op->kind != STORE_OP_CLUSTER)
			q->depth--;
		if (op->done)
			op->done(op, op->arg);
		store_op_free(op);
	}
	if (q->congested && q->depth < q->limit / 2) {
		q->congested = false;
		LOG(L_WARN, "[store] %s: caught up (%u changes waiting): taking new work again, "
		    "%" PRIu64 " refused meanwhile", q->path, q->depth, q->refused);
	}
}

void store_q_drain(struct store_q *q)
{
	while (q->depth) {
		pthread_mutex_lock(&q->mu);
		while (!q->done)
			pthread_cond_wait(&q->cond, &q->mu);
		pthread_mutex_unlock(&q->mu);
		store_q_complete(q);
	}
}

void store_q_get_stats(struct store_q *q, struct store_q_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->submitted = q->submitted;
	out->refused = q->refused;
	out->depth = q->depth;
	out->max_depth = q->max_depth;
	if (q->running)		/* after store_q_close() the thread is gone, and mu */
		pthread_mutex_lock(&q->mu);
	out->committed = q->s_committed;
	out->transactions = q->s_transactions;
	out->retries = q->s_retries;
	out->max_commit_us = q->s_max_commit_us;
	if (q->running)
		pthread_mutex_unlock(&q->mu);
}
