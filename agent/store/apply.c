// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sqlite back end of the writer (queue.h): each op kind as the SQL of
 * its module (binding.c, cdr.c, the media_sessions table that
 * media/persist.c fills), run on the writer thread's own connection inside
 * the batch's transaction. Transactions here do not log their failures:
 * the queue logs once that it is waiting and once that it wrote.
 */
#include <errno.h>
#include <sqlite3.h>

#include "store/queue.h"

/*
 * BEGIN and COMMIT as kept statements: sqlite3_exec() would prepare (parse
 * and plan) each again for every transaction, a few per call.
 */
static int run_kept(struct store *st, const char *sql)
{
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	if (err)
		return err;
	rc = sqlite3_step(q);
	store_stmt_done(q);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int be_begin(void *be)
{
	static const char sql[] = "BEGIN IMMEDIATE";
	struct store *st = be;
	int err = run_kept(st, sql);

	if (err)
		return err;
	st->txn_depth = 1;
	return 0;
}

static int be_commit(void *be)
{
	static const char sql[] = "COMMIT";
	struct store *st = be;
	int err = run_kept(st, sql);

	if (err)
		return err;
	st->txn_depth = 0;
	return 0;
}

static void be_rollback(void *be)
{
	struct store *st = be;

	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->txn_depth = 0;
}

static int media_put(struct store *st, const struct store_op *op)
{
	static const char sql[] = "INSERT OR REPLACE INTO media_sessions (id, state, updated)"
				  " VALUES (?1, ?2, ?3)";
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	if (err)
		return err;
	sqlite3_bind_text(q, 1, op->u.media.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, op->u.media.state ? op->u.media.state : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, op->u.media.updated);
	rc = sqlite3_step(q);
	store_stmt_done(q);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int media_del(struct store *st, const struct store_op *op)
{
	static const char sql[] = "DELETE FROM media_sessions WHERE id = ?1";
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	if (err)
		return err;
	sqlite3_bind_text(q, 1, op->u.media.id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	store_stmt_done(q);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int be_apply(void *be, struct store_op *op)
{
	struct store *st = be;
	int err;

	switch (op->kind) {
	case STORE_OP_FENCE:
	case STORE_OP_SYNC:	/* the loop wrote it here already */
		return 0;
	case STORE_OP_BINDING_PUT:
		return store_binding_put(st, &op->u.binding);
	case STORE_OP_BINDING_DEL:
		err = store_binding_del(st, op->u.binding.aor, op->u.binding.contact);
		return err == -ENOENT ? 0 : err;
	case STORE_OP_BINDING_DEL_AOR:
		return store_binding_del_aor(st, op->u.binding.aor, NULL);
	case STORE_OP_BINDING_PURGE:
		return store_binding_purge(st, op->u.now, NULL, NULL, NULL);
	case STORE_OP_CDR:
		return cdr_store_row(st, &op->u.cdr);
	case STORE_OP_MEDIA_PUT:
		return media_put(st, op);
	case STORE_OP_MEDIA_DEL:
		return media_del(st, op);
	case STORE_OP_CALL:
		return op->u.call.fn(st, op->u.call.data);
	default:
		return -EINVAL;
	}
}

static bool be_transient(int err)
{
	return err == -EBUSY || err == -ENOSPC || err == -EIO || err == -ENOMEM;
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.begin = be_begin,
	.commit = be_commit,
	.rollback = be_rollback,
	.apply = be_apply,
	.transient = be_transient,
};

/* ---- no database: a worker's queue runs calls only ---- */

static int none_txn(void *be)
{
	(void)be;
	return 0;
}

static void none_rollback(void *be)
{
	(void)be;
}

static int none_apply(void *be, struct store_op *op)
{
	(void)be;
	if (op->kind == STORE_OP_FENCE)
		return 0;
	return op->kind == STORE_OP_CALL ? op->u.call.fn(NULL, op->u.call.data) : -EINVAL;
}

static bool none_transient(int err)
{
	(void)err;
	return false;
}

const struct store_backend store_none_backend = {
	.name = "none",
	.begin = none_txn,
	.commit = none_txn,
	.rollback = none_rollback,
	.apply = none_apply,
	.transient = none_transient,
};
