/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sluiced's sqlite database ([store] db): one file, WAL mode, a schema
 * versioned by PRAGMA user_version and brought up to date by an ordered
 * list of migrations when it opens. sqlite's result codes become -errno
 * here, with one log line naming the cause: a full disk is -ENOSPC, a
 * locked database -EBUSY, a uniqueness violation -EEXIST.
 *
 * Tables (store.c has the SQL): media_sessions (media/persist.c),
 * subscribers (subscriber.h), registrations (binding.h), cdr (cdr.h),
 * operators (operator.h), blacklist (the MML's ADD/RMV BLACKLIST).
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <stdbool.h>

#include <sqlite3.h>

#ifndef STORE_BUSY_MS
#define STORE_BUSY_MS	2000	/* how long a statement waits for a lock */
#endif
#define STORE_STMT_MAX	48	/* statements kept prepared */

struct store_stmt {
	const char	*sql;		/* the caller's string: its address is the key */
	sqlite3_stmt	*q;
};

struct store_q;
struct sub_cache;
struct cluster;

struct store {
	sqlite3			*db;
	/*
	 * The loop's connection has a writer (store/queue.h): its changes go
	 * there and it only reads. NULL: a tool's or a test's, which writes.
	 */
	struct store_q		*wq;
	struct sub_cache	*subs;	/* subscribers in memory (subcache.h), or NULL */
	/*
	 * The subscribers counted (subscriber_count()), kept while nothing
	 * changed them: a change through this store forgets it, and so does
	 * a change from outside, which the writer reports with a new subs.
	 */
	int			nsubs;
	bool			nsubs_known;
	struct cluster		*cluster;	/* other nodes (cluster.h), or NULL: alone */
	char			path[256];
	struct store_stmt	stmts[STORE_STMT_MAX];
	int			n_stmts;
	int			txn_depth;
};

/* [store] db names a PostgreSQL server (postgresql://, postgres://, or "key=value ..."). */
bool store_is_pg(const char *db);

/* Opens (creating the file and its directories) and migrates. */
int store_open(struct store *st, const char *path);
void store_close(struct store *st);
/* sqlite's code as -errno, logging what failed once. */
int store_err(struct store *st, int rc, const char *what);
/* The same mapping without the log line (the writer logs once, not per retry). */
int store_errno(int rc);
int store_schema_version(struct store *st);
/* The schema this sluiced brings a database to. */
int store_schema_latest(void);

/*
 * A prepared statement for sql, kept for the next call with the same
 * string (pass a literal); reset and unbound. Hand it back with
 * store_stmt_done() once its rows are read, so it holds no lock.
 */
int store_stmt(struct store *st, const char *sql, sqlite3_stmt **out);
void store_stmt_done(sqlite3_stmt *q);

/* The one integer a query like "SELECT count(*) FROM t" answers; what names it in a log. */
int store_count(struct store *st, const char *sql, int *n, const char *what);

/*
 * Calls fn for each row of sql, until fn returns non-zero (returned). The
 * statement is its own, not a kept one, so fn may use the store (a kept
 * statement would be reset under its feet).
 */
typedef int (*store_row_fn)(sqlite3_stmt *q, void *arg);
int store_each(struct store *st, const char *sql, store_row_fn fn, void *arg, const char *what);

/*
 * A write transaction (BEGIN IMMEDIATE: the lock is taken at once); inside
 * another, a savepoint. A failed commit rolls back.
 */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

#endif /* SLUICE_STORE_H */
