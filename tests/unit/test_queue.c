// SPDX-License-Identifier: GPL-2.0-only
/*
 * The store's writer thread (store/queue.h): ops complete in the order
 * they were submitted and the database ends as that order says (a put
 * then a delete of one media session leaves no row); ops queued while a
 * commit waits go in together (group commit); a database another
 * connection holds locked makes the writer wait and retry, and nothing is
 * lost or completed before it is written; the bound says full when
 * reached and empty again after; a stop writes what is queued.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/queue.h"

#include "fixtures.h"

struct fx {
	struct tmp_db	db;
	struct store_q	q;
	struct store	other;		/* another connection, to hold locks */
	int64_t		order[4096];	/* completions, by CDR id */
	int		ndone;
	int		nfailed;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || tmp_db_make(&f->db, "queue", "sluice.db"))
		return -1;
	if (store_q_open(&f->q, f->db.path, NULL, 100))
		return -1;
	if (store_open(&f->other, f->db.path))
		return -1;
	sqlite3_busy_timeout(f->other.db, 5000);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_q_close(&f->q);
	store_close(&f->other);
	tmp_db_remove(&f->db);
	free(f);
	return 0;
}

static void on_done(struct store_op *op, void *arg)
{
	struct fx *f = arg;

	if (op->result)
		f->nfailed++;
	if (f->ndone < (int)(sizeof(f->order) / sizeof(f->order[0])))
		f->order[f->ndone] = op->kind == STORE_OP_CDR ? op->u.cdr.id : -1;
	f->ndone++;
}

static void submit_cdr(struct fx *f, int64_t id)
{
	struct store_op *op = store_op_new(STORE_OP_CDR);

	assert_non_null(op);
	op->u.cdr.id = id;
	snprintf(op->u.cdr.type, sizeof(op->u.cdr.type), "%s", CDR_TYPE_CALL);
	store_q_submit(&f->q, op, on_done, f);
}

static void submit_media(struct fx *f, const char *id, bool put)
{
	struct store_op *op = store_op_new(put ? STORE_OP_MEDIA_PUT : STORE_OP_MEDIA_DEL);

	assert_non_null(op);
	snprintf(op->u.media.id, sizeof(op->u.media.id), "%s", id);
	if (put)
		op->u.media.state = strdup("{\"owner\":\"test\"}");
	store_q_submit(&f->q, op, on_done, f);
}

static int count(struct fx *f, const char *sql)
{
	int n = -1;

	assert_int_equal(store_count(&f->other, sql, &n, "counting"), 0);
	return n;
}

static void hold_lock(struct fx *f)
{
	assert_int_equal(sqlite3_exec(f->other.db, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
			 SQLITE_OK);
}

static void release_lock(struct fx *f)
{
	assert_int_equal(sqlite3_exec(f->other.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

static void test_order(void **state)
{
	struct fx *f = *state;

	for (int i = 1; i <= 300; i++)
		submit_cdr(f, i);
	submit_media(f, "gone", true);
	submit_media(f, "gone", false);		/* put then delete: no row */
	submit_media(f, "kept", false);
	submit_media(f, "kept", true);		/* delete then put: a row */
	store_q_drain(&f->q);
	assert_int_equal(f->ndone, 304);
	assert_int_equal(f->nfailed, 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(f->order[i], i + 1);
	assert_int_equal(count(f, "SELECT count(*) FROM cdr"), 300);
	assert_int_equal(count(f, "SELECT count(*) FROM media_sessions WHERE id = 'gone'"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM media_sessions WHERE id = 'kept'"), 1);
}

/* Retry under a lock, nothing completed early, and the wait batched everything. */
static void test_locked(void **state)
{
	struct fx *f = *state;
	struct store_q_stats st;

	hold_lock(f);
	for (int i = 1; i <= 500; i++)
		submit_cdr(f, i);
	usleep(400 * 1000);
	store_q_complete(&f->q);
	assert_int_equal(f->ndone, 0);		/* nothing acknowledged unwritten */
	store_q_get_stats(&f->q, &st);
	assert_true(st.retries > 0);
	assert_int_equal(st.committed, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM cdr"), 0);
	release_lock(f);
	store_q_drain(&f->q);
	assert_int_equal(f->ndone, 500);
	assert_int_equal(f->nfailed, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM cdr"), 500);
	store_q_get_stats(&f->q, &st);
	/* The first op went alone into the locked try; the other 499 waited together. */
	assert_true(st.transactions <= 3);
	assert_int_equal(st.committed, 500);
}

static void test_full(void **state)
{
	struct fx *f = *state;

	hold_lock(f);
	for (int i = 1; i <= 99; i++)
		submit_cdr(f, i);
	assert_false(store_q_full(&f->q));
	submit_cdr(f, 100);
	assert_true(store_q_full(&f->q));	/* limit 100: new work is refused */
	submit_cdr(f, 101);			/* what is promised still goes in */
	release_lock(f);
	store_q_drain(&f->q);
	assert_false(store_q_full(&f->q));
	assert_int_equal(f->ndone, 101);
	assert_int_equal(count(f, "SELECT count(*) FROM cdr"), 101);
}

/* A constraint refuses one op; the batch around it goes in. */
static void test_refused_alone(void **state)
{
	struct fx *f = *state;
	struct store_op *op = store_op_new(STORE_OP_BINDING_PUT);

	assert_non_null(op);
	submit_cdr(f, 1);
	/* No AOR: the binding is refused for what it is (-EINVAL), not retried. */
	store_q_submit(&f->q, op, on_done, f);
	submit_cdr(f, 2);
	store_q_drain(&f->q);
	assert_int_equal(f->ndone, 3);
	assert_int_equal(f->nfailed, 1);
	assert_int_equal(count(f, "SELECT count(*) FROM cdr"), 2);
}

/* A fence completes after what was queued before it. */
static void test_fence(void **state)
{
	struct fx *f = *state;

	submit_cdr(f, 7);
	assert_int_equal(store_q_fence(&f->q, on_done, f), 0);
	store_q_drain(&f->q);
	assert_int_equal(f->ndone, 2);
	assert_int_equal(f->order[0], 7);
	assert_int_equal(f->order[1], -1);
}

/* A stop writes the queue first. */
static void test_close_writes(void **state)
{
	struct fx *f = *state;

	for (int i = 1; i <= 50; i++)
		submit_cdr(f, i);
	store_q_close(&f->q);
	assert_int_equal(f->ndone, 50);
	assert_int_equal(count(f, "SELECT count(*) FROM cdr"), 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_writes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
