/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The store's writer: the one way sluiced's event loop changes the
 * database without touching the disk. The loop fills a struct store_op (a
 * binding to put, a CDR row, a media session's state...) and hands it to
 * store_q_submit(); from then on the op belongs to the writer thread,
 * which owns a database connection of its own, takes every op queued
 * while its last commit ran (up to STORE_Q_BATCH) into one transaction
 * (group commit), and hands each op back, with its result, to the loop
 * through an eventfd the loop watches: the op's done callback runs there,
 * on the loop thread, and the op is freed. Nothing but the queue itself
 * (a mutex, a condition and two lists) is shared between the threads.
 *
 * A write is never dropped. A database that is locked (another process
 * in BEGIN EXCLUSIVE), full or failing rolls the batch back, and the
 * writer tries the same batch again, backing off up to STORE_Q_BACKOFF_MS,
 * for as long as it takes; one log line says when it starts waiting and
 * one when the batch went in. Only an op the database refuses for what it
 * is (a constraint, a bad value) completes with an error.
 *
 * Back-pressure: submitting never fails but for memory, since what is
 * submitted is already promised (a call that ends must write its CDR).
 * The bound is where new work comes in: store_q_full() says whether the
 * ops not yet committed reached [store] queue, and the SIP server answers
 * 503 with Retry-After, the MML a non-zero RETCODE and NG an error while
 * it does. One line is logged when the queue fills and one when it
 * drains below half.
 *
 * The ops name what is written, not how: a back end (the sqlite one in
 * store/apply.c today; PostgreSQL later) implements struct store_backend
 * and sits behind the same queue.
 */
#ifndef SLUICE_STORE_QUEUE_H
#define SLUICE_STORE_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "store/binding.h"
#include "store/cdr.h"
#include "store/store.h"
#include "store/subcache.h"

#ifndef STORE_Q_BATCH
#define STORE_Q_BATCH		1024	/* ops per transaction at most */
#endif
#ifndef STORE_Q_BACKOFF_MS
#define STORE_Q_BACKOFF_MS	200	/* the longest wait between two tries */
#endif
#ifndef STORE_Q_WRITER_BUSY_MS
#define STORE_Q_WRITER_BUSY_MS	100	/* the writer's own sqlite busy timeout */
#endif
#ifndef STORE_Q_STOP_MS
#define STORE_Q_STOP_MS		10000	/* at a stop, how long a locked database is waited for */
#endif
#ifndef STORE_LOOP_BUSY_MS
#define STORE_LOOP_BUSY_MS	100	/* the loop's connection, which only reads: its longest wait */
#endif
#ifndef STORE_Q_POLL_MS
#define STORE_Q_POLL_MS		250	/* how often another process's changes are looked for */
#endif
#define STORE_Q_DEFAULT_MAX	10000	/* [store] queue */

enum store_op_kind {
	STORE_OP_FENCE = 0,	/* writes nothing: completes once every op before it has */
	STORE_OP_BINDING_PUT,	/* u.binding */
	STORE_OP_BINDING_DEL,	/* u.binding.aor, .contact; absent is no error */
	STORE_OP_BINDING_DEL_AOR,	/* u.binding.aor */
	STORE_OP_BINDING_PURGE,	/* u.now: bindings expired then */
	STORE_OP_CDR,		/* u.cdr: insert or replace the row of its id */
	STORE_OP_MEDIA_PUT,	/* u.media */
	STORE_OP_MEDIA_DEL,	/* u.media.id */
	STORE_OP_CALL,		/* u.call: a function of the back end's store (sqlite) */
	STORE_OP_SUBS,		/* from the writer: u.call.data, a new struct sub_cache */
	STORE_OP_SYNC,		/* u.sync: a row the loop changed, for the shared store */
	STORE_OP_CLUSTER,	/* from the writer: u.call.data, a struct cluster_update */
	STORE_OP_KINDS
};

struct store_op;
typedef void (*store_done_fn)(struct store_op *op, void *arg);
typedef int (*store_call_fn)(struct store *st, void *data);

struct store_op {
	struct store_op		*next;
	enum store_op_kind	kind;
	int			result;		/* 0 or -errno, set by the writer */
	store_done_fn		done;		/* on the loop thread, may be NULL */
	void			*arg;
	union {
		struct store_binding	binding;
		int64_t			now;
		struct cdr_rec		cdr;
		struct {
			char		id[64];
			char		*state;	/* owned: freed with the op */
			int64_t		updated;
		} media;
		struct {
			store_call_fn	fn;
			void		*data;	/* owned: freed with the op */
		} call;
		struct {
			const char	*table;	/* a schema_tables[] name */
			char		key[SUB_IMPU_MAX];	/* its key's value (one column) */
		} sync;
	} u;
};

/* A back end: applies ops inside transactions it begins and commits. */
struct store_backend {
	const char	*name;
	int	(*begin)(void *be);
	int	(*commit)(void *be);
	void	(*rollback)(void *be);
	int	(*apply)(void *be, struct store_op *op);
	/* Transient failures (locked, full, I/O) are retried; others are the op's answer. */
	bool	(*transient)(int err);
	/* Between batches, on the writer (may be NULL): notifications, reconnects. */
	void	(*poll)(void *be);
	void	(*close)(void *be);	/* may be NULL */
};

struct store_q_stats {
	uint64_t	submitted;
	uint64_t	committed;	/* ops handed back after their commit */
	uint64_t	transactions;
	uint64_t	retries;	/* batches tried again */
	uint64_t	refused;	/* new work turned away while full */
	unsigned	depth;		/* submitted, not yet handed back */
	unsigned	max_depth;
	uint64_t	max_commit_us;	/* the longest batch, retries included */
};

struct store_q {
	/* Shared with the writer: under mu. */
	pthread_mutex_t		mu;
	pthread_cond_t		cond;
	struct store_op		*head, *tail;	/* queued for the writer */
	struct store_op		*done, *done_tail;	/* back to the loop */
	bool			stop;
	uint64_t		s_committed, s_transactions, s_retries, s_max_commit_us;
	/* The writer's alone. */
	const struct store_backend *be;
	void			*be_ctx;
	struct store		wst;		/* the sqlite back end's connection */
	bool			waiting;	/* logged "database locked", not yet "wrote" */
	int			data_version;	/* PRAGMA data_version when last looked */
	uint64_t		polled_us;
	void			(*on_subs)(struct sub_cache *c, void *arg);	/* under mu */
	void			*on_subs_arg;
	void			(*on_cluster)(void *update, void *arg);	/* under mu */
	void			*on_cluster_arg;
	/* The loop's alone. */
	struct loop		*loop;
	int			efd;
	pthread_t		thread;
	bool			running;
	unsigned		depth, max_depth;
	unsigned		limit;		/* [store] queue */
	bool			congested;	/* logged "full", not yet "drained" */
	uint64_t		submitted, refused;
	char			path[256];
};

/*
 * Opens the writer's own connection to path (the sqlite back end) and
 * starts its thread; completions are delivered on loop (NULL: only by
 * store_q_drain(), for tests and tools). limit: [store] queue. With path
 * NULL, a queue without a database: a worker thread for STORE_OP_CALL ops
 * (called with st NULL) that would stall the loop, such as the rounds of
 * an MML login's password hash.
 */
int store_q_open(struct store_q *q, const char *path, struct loop *loop, unsigned limit);
/*
 * Stops: every queued op is written (a locked database waited for up to
 * STORE_Q_STOP_MS, then what could not be written is logged), completions
 * run, the thread ends.
 */
void store_q_close(struct store_q *q);

/* A zeroed op of kind; NULL without memory. */
struct store_op *store_op_new(enum store_op_kind kind);
void store_op_free(struct store_op *op);

/*
 * Subscribers changed by another process (subcache.h): the writer reads
 * them again and fn takes the new cache, on the loop thread.
 */
void store_q_watch_subs(struct store_q *q, void (*fn)(struct sub_cache *c, void *arg),
			void *arg);

/* Another node's bindings and addresses (cluster.h): fn takes each update, on the loop. */
void store_q_watch_cluster(struct store_q *q, void (*fn)(void *update, void *arg), void *arg);

/*
 * A row the loop changed on its own connection (an MML write), for a
 * shared store to copy (PostgreSQL); nothing with sqlite alone. true when
 * an op was queued: a fence after it answers once it is in.
 */
bool store_q_sync(struct store_q *q, const char *table, const char *key);

/* For a back end, on the writer: hands op (a SUBS, a CLUSTER) to the loop. */
void store_q_hand_back(struct store_q *q, struct store_op *op);
/* For a back end, on the writer: the subscribers read again for the loop; -EBUSY: locked. */
int store_q_post_subs(struct store_q *q);
/* For a back end, on the writer: a struct cluster_update (owned) for the loop. */
void store_q_post_cluster(struct store_q *q, void *update);
/* For a back end's opener: the thread and the eventfd, once be and be_ctx are set. */
int store_q_start(struct store_q *q, struct loop *loop, unsigned limit);

/* Hands op to the writer (it is the writer's now); done(op, arg) follows on the loop. */
void store_q_submit(struct store_q *q, struct store_op *op, store_done_fn done, void *arg);
/* A fence: done(arg) once every op submitted before has been committed. -ENOMEM only. */
int store_q_fence(struct store_q *q, store_done_fn done, void *arg);

/*
 * Back-pressure: true while the ops not yet committed reach the limit
 * (new work is refused); counts a refusal and logs the first.
 */
bool store_q_full(struct store_q *q);

/* Runs the completions waiting (the loop does this on the eventfd). */
void store_q_complete(struct store_q *q);
/* Blocks until every op submitted so far is handed back and completed (tests, stop). */
void store_q_drain(struct store_q *q);

void store_q_get_stats(struct store_q *q, struct store_q_stats *out);

/* The sqlite back end (store/apply.c), and none (a worker's: calls only). */
extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;


/*
 * The PostgreSQL back end (store/pg.c): conninfo the shared store, local
 * the node's own sqlite (media sessions, and the copy its event loop
 * reads), node and addr its name and SIP address in the cluster. A server
 * that cannot be reached is no error: the queue holds the changes and the
 * writer connects again, backing off.
 */
struct store_pg_conf {
	const char	*conninfo;
	const char	*local;
	const char	*node;
	const char	*addr;
};
int store_q_open_pg(struct store_q *q, const struct store_pg_conf *pc, struct loop *loop,
		    unsigned limit);
/* conninfo as the logs show it: without a password (user:secret@, password=...). */
void store_pg_redact(const char *conninfo, char *out, size_t n);
extern const struct store_backend store_none_backend;

#endif /* SLUICE_STORE_QUEUE_H */
