// SPDX-License-Identifier: GPL-2.0-only
/*
 * Call detail records (see cdr.h): the write queue and its flush timer,
 * the rows of the cdr table, and the CSV of EXP CDR.
 *
 * One table of columns (cols[] below) binds a record for INSERT and reads
 * it back from SELECT, so the 48 fields are named once in C and once in
 * SQL (CDR_COLS), in the same order.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "store/cdr.h"
#include "store/queue.h"

#define MS_PER_DAY	(24 * 60 * 60 * 1000LL)

struct cdr_pending {
	struct cdr_pending	*next;
	struct cdr_pending	*hnext;		/* in c->by_id[] */
	struct cdr_rec		rec;
};

static struct cdr_pending **pending_bucket(struct cdr_ctx *c, int64_t id)
{
	return &c->by_id[(uint64_t)id & (CDR_PENDING_BUCKETS - 1)];
}

static struct cdr_pending *pending_find(struct cdr_ctx *c, int64_t id)
{
	struct cdr_pending *p;

	for (p = *pending_bucket(c, id); p; p = p->hnext)
		if (p->rec.id == id)
			break;
	return p;
}

/* The cdr table's columns, in migration 3's order, then migration 6's. */
#define CDR_COLS "id, record_type, open, a_call_id, b_call_id, caller_uri, caller_number," \
	" caller_ip, caller_port, callee_uri, callee_number, callee_ip, callee_port,"	\
	" invite_ms, ring_ms, answer_ms, end_ms, duration_s, billable_s, setup_ms,"	\
	" disposition, status_code, status_text, released_by, close_reason, codec,"	\
	" caller_ua, callee_ua, datapath, contact, expires, message_body, server_ip,"	\
	" server_port, cseq, extra_info,"						\
	" a_packets, a_bytes, a_lost, a_jitter_ms, a_r, a_mos,"				\
	" b_packets, b_bytes, b_lost, b_jitter_ms, b_r, b_mos,"			\
	" listened_by, test_call"
#define P8 "?, ?, ?, ?, ?, ?, ?, ?"
#define NCOLS 50	/* in CDR_COLS, cols[] and the placeholders below */

static const char sql_insert[] =
	"INSERT OR REPLACE INTO cdr (" CDR_COLS ") VALUES ("
	P8 ", " P8 ", " P8 ", " P8 ", " P8 ", " P8 ", ?, ?)";

enum col_kind { COL_TEXT, COL_BOOL, COL_INT, COL_U16, COL_U32, COL_I64, COL_U64, COL_REAL };

struct col {
	enum col_kind	kind;
	size_t		off;
	size_t		size;	/* of a COL_TEXT's array */
};

#define FIELD_SIZE(f)	sizeof(((struct cdr_rec *)0)->f)
#define TEXT(f)		{ COL_TEXT, offsetof(struct cdr_rec, f), FIELD_SIZE(f) }
#define NUM(k, f)	{ k, offsetof(struct cdr_rec, f), 0 }
#define QUALITY(i)	NUM(COL_U64, q[i].packets), NUM(COL_U64, q[i].bytes),		\
			NUM(COL_I64, q[i].lost), NUM(COL_REAL, q[i].jitter_ms),	\
			NUM(COL_REAL, q[i].r), NUM(COL_REAL, q[i].mos)

static const struct col cols[] = {
	NUM(COL_I64, id), TEXT(type), NUM(COL_BOOL, open), TEXT(a_call_id), TEXT(b_call_id),
	TEXT(caller_uri), TEXT(caller_number), TEXT(caller_ip), NUM(COL_U16, caller_port),
	TEXT(callee_uri), TEXT(callee_number), TEXT(callee_ip), NUM(COL_U16, callee_port),
	NUM(COL_I64, invite_ms), NUM(COL_I64, ring_ms), NUM(COL_I64, answer_ms),
	NUM(COL_I64, end_ms), NUM(COL_I64, duration_s), NUM(COL_I64, billable_s),
	NUM(COL_I64, setup_ms), TEXT(disposition), NUM(COL_INT, status_code),
	TEXT(status_text), TEXT(released_by), TEXT(close_reason), TEXT(codec),
	TEXT(caller_ua), TEXT(callee_ua), TEXT(datapath), TEXT(contact),
	NUM(COL_U32, expires), TEXT(message_body), TEXT(server_ip), NUM(COL_U16, server_port),
	NUM(COL_U32, cseq), TEXT(extra_info), QUALITY(0), QUALITY(1),
	TEXT(listened_by), NUM(COL_BOOL, test_call),
};

_Static_assert(sizeof(cols) / sizeof(cols[0]) == NCOLS, "cols[] and CDR_COLS differ");

/* Binds r's fields as ?1..?NCOLS; the strings must outlive the step. */
static void bind_rec(sqlite3_stmt *q, const struct cdr_rec *r)
{
	const char *base = (const char *)r;
	int i;

	for (i = 0; i < NCOLS; i++) {
		const void *p = base + cols[i].off;
		sqlite3_int64 v = 0;

		switch (cols[i].kind) {
		case COL_TEXT:
			sqlite3_bind_text(q, i + 1, p, -1, SQLITE_STATIC);
			continue;
		case COL_REAL:
			sqlite3_bind_double(q, i + 1, *(const double *)p);
			continue;
		case COL_BOOL:
			v = *(const bool *)p;
			break;
		case COL_INT:
			v = *(const int *)p;
			break;
		case COL_U16:
			v = *(const uint16_t *)p;
			break;
		case COL_U32:
			v = *(const uint32_t *)p;
			break;
		case COL_I64:
			v = *(const int64_t *)p;
			break;
		case COL_U64:
			v = (sqlite3_int64)*(const uint64_t *)p;
			break;
		}
		sqlite3_bind_int64(q, i + 1, v);
	}
}

/* The inverse of bind_rec() for a row of SELECT CDR_COLS. */
static void read_rec(sqlite3_stmt *q, struct cdr_rec *r)
{
	char *base = (char *)r;
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < NCOLS; i++) {
		void *p = base + cols[i].off;
		sqlite3_int64 v = sqlite3_column_int64(q, i);
		const char *t;

		switch (cols[i].kind) {
		case COL_TEXT:
			t = (const char *)sqlite3_column_text(q, i);
			snprintf(p, cols[i].size, "%s", t ? t : "");
			break;
		case COL_REAL:
			*(double *)p = sqlite3_column_double(q, i);
			break;
		case COL_BOOL:
			*(bool *)p = v != 0;
			break;
		case COL_INT:
			*(int *)p = (int)v;
			break;
		case COL_U16:
			*(uint16_t *)p = (uint16_t)v;
			break;
		case COL_U32:
			*(uint32_t *)p = (uint32_t)v;
			break;
		case COL_I64:
			*(int64_t *)p = v;
			break;
		case COL_U64:
			*(uint64_t *)p = (uint64_t)v;
			break;
		}
	}
}

/* ---- the queue ---- */

static void on_timer(struct loop *loop, void *arg)
{
	(void)loop;
	cdr_flush(arg);
}

int cdr_init(struct cdr_ctx *c, struct store *st, struct loop *loop)
{
	static const char sql[] = "SELECT coalesce(max(id), 0) FROM cdr";
	sqlite3_stmt *q;
	int err, rc;

	memset(c, 0, sizeof(*c));
	c->st = st;
	c->loop = loop;
	loop_timer_init(&c->timer, on_timer, c);
	/* Prepared now, so that a flush only looks it up (see write_queue()). */
	err = store_stmt(st, sql_insert, &q);
	if (err)
		return err;
	err = store_stmt(st, sql, &q);
	if (err)
		return err;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		c->next_id = sqlite3_column_int64(q, 0);
	store_stmt_done(q);
	return rc == SQLITE_ROW ? 0 : store_err(st, rc, "reading the last CDR id");
}

static void free_queue(struct cdr_ctx *c)
{
	while (c->pending) {
		struct cdr_pending *p = c->pending;

		c->pending = p->next;
		free(p);
	}
	c->pending_tail = NULL;
	memset(c->by_id, 0, sizeof(c->by_id));
	c->npending = 0;
}

void cdr_fini(struct cdr_ctx *c)
{
	struct cdr_pending *p;

	if (c->loop)
		loop_timer_cancel(c->loop, &c->timer);
	if (!c->npending || !cdr_flush(c))
		return;
	/* The log is the last place these rows can be read from. */
	LOG(L_ERROR, "[cdr] %u records lost: the database did not take them", c->npending);
	for (p = c->pending; p; p = p->next)
		LOG(L_ERROR, "[cdr] lost record %" PRId64 ": %s %s from %s to %s at %" PRId64
		    " ms, %s, %" PRId64 " s", p->rec.id, p->rec.type, p->rec.a_call_id,
		    p->rec.caller_uri, p->rec.callee_uri, p->rec.invite_ms, p->rec.disposition,
		    p->rec.billable_s);
	free_queue(c);
}

int64_t cdr_new_id(struct cdr_ctx *c)
{
	return ++c->next_id;
}

void cdr_rec_init(struct cdr_rec *r, struct cdr_ctx *c, const char *type, int64_t now_ms)
{
	memset(r, 0, sizeof(*r));
	r->id = cdr_new_id(c);
	snprintf(r->type, sizeof(r->type), "%s", type);
	r->invite_ms = now_ms;
}

int64_t cdr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cdr_finish(struct cdr_rec *r)
{
	int64_t first = r->ring_ms ? r->ring_ms : r->answer_ms ? r->answer_ms : r->end_ms;

	/* Negative spans (the wall clock stepped back) count as none. */
	/* Whole seconds begun, both: a call is never shorter than its talk. */
	r->duration_s = 0;
	if (r->invite_ms && r->end_ms > r->invite_ms)
		r->duration_s = (r->end_ms - r->invite_ms + 999) / 1000;
	r->billable_s = 0;
	if (r->answer_ms && r->end_ms > r->answer_ms)
		r->billable_s = (r->end_ms - r->answer_ms + 999) / 1000;
	r->setup_ms = 0;
	if (r->invite_ms && first > r->invite_ms)
		r->setup_ms = first - r->invite_ms;
	r->open = false;
}

/* An ended call's measured streams into the MOS histogram. */
static void count_mos(struct cdr_ctx *c, const struct cdr_rec *r)
{
	static const double bounds[] = CDR_MOS_BOUNDS;

	if (r->open || strcmp(r->type, CDR_TYPE_CALL))
		return;
	for (int i = 0; i < 2; i++) {
		int k = 0;

		if (r->q[i].mos <= 0)
			continue;
		while (k < CDR_MOS_NBOUNDS && r->q[i].mos > bounds[k])
			k++;
		c->mos_le[k]++;
		c->mos_sum += r->q[i].mos;
	}
}

int cdr_write(struct cdr_ctx *c, const struct cdr_rec *r)
{
	struct cdr_pending *p;

	count_mos(c, r);

	/* A call's second write replaces its first in place, keeping its turn. */
	p = pending_find(c, r->id);
	if (!p) {
		struct cdr_pending **b = pending_bucket(c, r->id);

		p = malloc(sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->next = NULL;
		p->hnext = *b;
		*b = p;
		if (c->pending_tail)
			c->pending_tail->next = p;
		else
			c->pending = p;
		c->pending_tail = p;
		c->npending++;
	}
	p->rec = *r;
	/*
	 * While failing, the retry timer is armed already. A timer that
	 * cannot be armed (no memory for the heap) leaves the row queued for
	 * the next write, query or cdr_fini().
	 */
	if (c->loop && !loop_timer_armed(&c->timer))
		loop_timer_arm(c->loop, &c->timer, c->failing ? CDR_RETRY_MS : CDR_FLUSH_MS);
	return 0;
}

/*
 * The whole queue in one transaction, all or nothing. Not through
 * store_begin()/store_commit(), which log each failure: a flush that
 * fails is retried every CDR_RETRY_MS while the disk stays full, and
 * logs once itself, so errors map through store_errno(), which logs
 * nothing.
 */
static int write_queue(struct cdr_ctx *c, const char **cause)
{
	sqlite3 *db = c->st->db;
	struct cdr_pending *p;
	sqlite3_stmt *q;
	int err, rc;

	err = store_stmt(c->st, sql_insert, &q);
	if (err) {
		*cause = strerror(-err);
		return err;
	}
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto out_err;
	for (p = c->pending; p && rc == SQLITE_OK; p = p->next) {
		bind_rec(q, &p->rec);
		rc = sqlite3_step(q);
		store_stmt_done(q);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out_err:
	*cause = sqlite3_errstr(rc);
	return store_errno(rc);
}

static void flush_failed(struct cdr_ctx *c, int err, const char *cause)
{
	char retry[48] = "for the next flush";

	c->flush_failures++;
	if (c->loop) {
		snprintf(retry, sizeof(retry), "and retrying every %d ms", CDR_RETRY_MS);
		loop_timer_arm(c->loop, &c->timer, CDR_RETRY_MS);
	}
	if (c->failing)
		return;
	c->failing = true;
	LOG(err == -EBUSY ? L_WARN : L_ERROR,
	    "[cdr] %s: cannot write %u records (%s): keeping them queued %s", c->st->path,
	    c->npending, cause, retry);
}

int cdr_store_row(struct store *st, const struct cdr_rec *r)
{
	sqlite3_stmt *q;
	int err = store_stmt(st, sql_insert, &q), rc;

	if (err)
		return err;
	bind_rec(q, r);
	rc = sqlite3_step(q);
	store_stmt_done(q);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

/* The queue to the writer thread, one op per row, in order: all of it or none. */
static int hand_to_writer(struct cdr_ctx *c)
{
	struct store_op *ops = NULL, **tail = &ops, *op;
	struct cdr_pending *p;

	for (p = c->pending; p; p = p->next) {
		op = store_op_new(STORE_OP_CDR);
		if (!op)
			goto out_nomem;
		op->u.cdr = p->rec;
		*tail = op;
		tail = &op->next;
	}
	while ((op = ops)) {
		ops = op->next;
		store_q_submit(c->st->wq, op, NULL, NULL);
	}
	c->written += c->npending;
	free_queue(c);
	if (c->failing) {
		c->failing = false;
		LOG(L_WARN, "[cdr] memory again: the queued records went to the writer");
	}
	return 0;

out_nomem:
	while ((op = ops)) {
		ops = op->next;
		store_op_free(op);
	}
	flush_failed(c, -ENOMEM, "out of memory");
	return -ENOMEM;
}

int cdr_flush(struct cdr_ctx *c)
{
	unsigned n = c->npending;
	const char *cause = "";
	int err;

	if (c->loop)
		loop_timer_cancel(c->loop, &c->timer);
	if (!n)
		return 0;
	if (c->st->wq)
		return hand_to_writer(c);
	/*
	 * Inside a caller's transaction (a query from within one), our rows
	 * would go if it rolled back: they wait for the timer instead.
	 */
	if (!sqlite3_get_autocommit(c->st->db)) {
		if (c->loop)
			loop_timer_arm(c->loop, &c->timer,
				       c->failing ? CDR_RETRY_MS : CDR_FLUSH_MS);
		return -EBUSY;
	}
	err = write_queue(c, &cause);
	if (err) {
		flush_failed(c, err, cause);
		return err;
	}
	free_queue(c);
	c->written += n;
	if (c->failing) {
		c->failing = false;
		c->late += n;
		LOG(L_WARN, "[cdr] database writable again: %u rows written late", n);
	}
	return 0;
}

/* ---- reading ---- */

#define CDR_WHERE " FROM cdr WHERE invite_ms >= ?1 AND (?2 = 0 OR invite_ms < ?2)"	\
		  " AND (?3 = '' OR caller_number = ?3 OR caller_uri = ?3)"		\
		  " AND (?4 = '' OR callee_number = ?4 OR callee_uri = ?4)"		\
		  " AND (?5 = '' OR disposition = ?5 COLLATE NOCASE)"			\
		  " AND (?6 = '' OR record_type = ?6)"					\
		  " AND (?8 = 0 OR status_code = ?8)"					\
		  " AND (?9 = '' OR caller_number = ?9 OR caller_uri = ?9"		\
		  "      OR callee_number = ?9 OR callee_uri = ?9)"

int cdr_query(struct cdr_ctx *c, const struct cdr_filter *f, cdr_fn fn, void *arg)
{
	static const char oldest[] = "SELECT " CDR_COLS CDR_WHERE " ORDER BY invite_ms, id";
	static const char newest[] = "SELECT " CDR_COLS CDR_WHERE
				     " ORDER BY invite_ms DESC, id DESC LIMIT ?7";
	static const struct cdr_filter all;
	struct cdr_rec r;
	sqlite3_stmt *q;
	int rc, ret = 0;

	if (!f)
		f = &all;
	/* A database that refuses writes may still be read: what it holds. */
	cdr_flush(c);
	/* Its own statement, not a kept one: fn may query again. */
	rc = sqlite3_prepare_v2(c->st->db, f->limit > 0 ? newest : oldest, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_err(c->st, rc, "listing CDRs");
	sqlite3_bind_int64(q, 1, f->from_ms);
	sqlite3_bind_int64(q, 2, f->to_ms);
	sqlite3_bind_text(q, 3, f->caller, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, f->callee, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, f->disposition, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, f->type, -1, SQLITE_STATIC);
	if (f->limit > 0)
		sqlite3_bind_int(q, 7, f->limit);
	sqlite3_bind_int(q, 8, f->code);
	sqlite3_bind_text(q, 9, f->number, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_rec(q, &r);
		ret = fn(&r, arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_err(c->st, rc, "listing CDRs");
	sqlite3_finalize(q);
	return ret;
}

/* The queued copy first: it is newer than the row, and there even when the disk is full. */
int cdr_get(struct cdr_ctx *c, int64_t id, struct cdr_rec *out)
{
	static const char sql[] = "SELECT " CDR_COLS " FROM cdr WHERE id = ?1";
	struct cdr_pending *p;
	sqlite3_stmt *q;
	int err, rc;

	p = pending_find(c, id);
	if (p) {
		*out = p->rec;
		return 0;
	}
	err = store_stmt(c->st, sql, &q);
	if (err)
		return err;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		read_rec(q, out);
	store_stmt_done(q);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : store_err(c->st, rc, "reading a CDR");
}

int cdr_count(struct cdr_ctx *c, int *total, int *open)
{
	static const char sql[] = "SELECT count(*), coalesce(sum(open = 1), 0) FROM cdr";
	sqlite3_stmt *q;
	int err, rc;

	cdr_flush(c);
	err = store_stmt(c->st, sql, &q);
	if (err)
		return err;
	rc = sqlite3_step(q);
	if (total)
		*total = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
	if (open)
		*open = rc == SQLITE_ROW ? sqlite3_column_int(q, 1) : 0;
	store_stmt_done(q);
	return rc == SQLITE_ROW ? 0 : store_err(c->st, rc, "counting CDRs");
}

/* ---- changing rows ---- */

static bool kept(int64_t id, const int64_t *keep, int nkeep)
{
	int i;

	for (i = 0; i < nkeep; i++)
		if (keep[i] == id)
			return true;
	return false;
}

int cdr_close_stale(struct cdr_ctx *c, const int64_t *keep, int nkeep, int64_t now_ms)
{
	static const char sql[] = "SELECT id FROM cdr WHERE open = 1";
	struct cdr_rec r;
	sqlite3_stmt *q;
	int rc, err = 0, n = 0;

	cdr_flush(c);
	rc = sqlite3_prepare_v2(c->st->db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_err(c->st, rc, "finding open CDRs");
	while (!err && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);

		if (kept(id, keep, nkeep))
			continue;
		err = cdr_get(c, id, &r);
		if (err || !r.open)	/* closed in the queue, not yet on disk */
			continue;
		r.end_ms = now_ms;
		snprintf(r.close_reason, sizeof(r.close_reason), "%s", CDR_CLOSE_RESTART);
		snprintf(r.released_by, sizeof(r.released_by), "system");
		cdr_finish(&r);
		err = cdr_write(c, &r);
		n += !err;
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = store_err(c->st, rc, "finding open CDRs");
	sqlite3_finalize(q);
	/* On failure the closed rows stay queued, as any write. */
	if (!err)
		err = cdr_flush(c);
	return err ? err : n;
}

int cdr_store_delete_before(struct store *st, int64_t before_ms, int *removed)
{
	static const char sql[] = "DELETE FROM cdr WHERE open = 0 AND invite_ms < ?1";
	sqlite3_stmt *q;
	int err, rc;

	if (removed)
		*removed = 0;
	err = store_stmt(st, sql, &q);
	if (err)
		return err;
	sqlite3_bind_int64(q, 1, before_ms);
	rc = sqlite3_step(q);
	store_stmt_done(q);
	if (rc != SQLITE_DONE)
		return store_err(st, rc, "deleting CDRs");
	if (removed)
		*removed = sqlite3_changes(st->db);
	return 0;
}

int cdr_delete_before(struct cdr_ctx *c, int64_t before_ms, int64_t now_ms, int *removed)
{
	if (removed)
		*removed = 0;
	if (before_ms > now_ms - CDR_KEEP_DAYS * MS_PER_DAY)
		return -EPERM;
	cdr_flush(c);
	return cdr_store_delete_before(c->st, before_ms, removed);
}

/* ---- CSV ---- */

static const char csv_header[] =
	/* The previous server's 34 columns, in its order. */
	"record_id,record_type,call_state,date,start_time,end_time,call_id,caller_uri,"
	"caller_number,caller_ip,caller_port,callee_uri,callee_number,callee_ip,callee_port,"
	"duration,setup_time,status_code,status_text,termination_reason,invite_time,"
	"ringing_time,answer_time,bye_time,call_type,codec,user_agent,contact,expires,"
	"message_body,server_ip,server_port,cseq,extra_info,"
	/* sluice's own */
	"disposition,released_by,close_reason,billable,datapath,b_call_id,callee_user_agent,"
	"a_packets,a_bytes,a_lost,a_jitter_ms,a_r,a_mos,"
	"b_packets,b_bytes,b_lost,b_jitter_ms,b_r,b_mos,listened_by,test_call\r\n";

struct csv {
	FILE	*out;
	bool	first;
};

/* RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled. */
static void csv_put(struct csv *w, const char *s)
{
	if (!w->first)
		fputc(',', w->out);
	w->first = false;
	if (!s[strcspn(s, ",\"\r\n")]) {
		fputs(s, w->out);
		return;
	}
	fputc('"', w->out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', w->out);
		fputc(*s, w->out);
	}
	fputc('"', w->out);
}

__attribute__((format(printf, 2, 3)))
static void csv_fmt(struct csv *w, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	csv_put(w, buf);
}

enum time_style { T_DATE, T_SECONDS, T_MILLIS };

/* Local time, as the previous server wrote it; empty for 0 (did not happen). */
static void csv_time(struct csv *w, int64_t ms, enum time_style style)
{
	char buf[40] = "";
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	if (ms > 0 && localtime_r(&t, &tm)) {
		n = strftime(buf, sizeof(buf), style == T_DATE ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%S",
			     &tm);
		if (style == T_MILLIS)
			snprintf(buf + n, sizeof(buf) - n, ".%03d", (int)(ms % 1000));
	}
	csv_put(w, buf);
}

static bool is_call(const struct cdr_rec *r)
{
	return !strcmp(r->type, CDR_TYPE_CALL);
}

static const char *call_state(const struct cdr_rec *r)
{
	if (r->open)
		return "ACTIVE";
	if (!is_call(r) || !strcasecmp(r->disposition, CDR_ANSWERED))
		return "COMPLETED";
	return r->disposition;
}

/* "normal by caller": the close reason and who released, in one column. */
static const char *termination(const struct cdr_rec *r, char *buf, size_t size)
{
	if (!r->close_reason[0] || !r->released_by[0])
		return r->close_reason;
	snprintf(buf, size, "%s by %s", r->close_reason, r->released_by);
	return buf;
}

static void csv_legacy(struct csv *w, const struct cdr_rec *r)
{
	char type[CDR_WORD_MAX], why[2 * CDR_WORD_MAX + 4];
	size_t i;

	csv_fmt(w, "%" PRId64, r->id);
	csv_put(w, r->type);
	csv_put(w, call_state(r));
	csv_time(w, r->invite_ms, T_DATE);
	csv_time(w, r->answer_ms ? r->answer_ms : r->invite_ms, T_SECONDS);
	csv_time(w, r->end_ms, T_SECONDS);
	csv_put(w, r->a_call_id);
	csv_put(w, r->caller_uri);
	csv_put(w, r->caller_number);
	csv_put(w, r->caller_ip);
	csv_fmt(w, "%u", r->caller_port);
	csv_put(w, r->callee_uri);
	csv_put(w, r->callee_number);
	csv_put(w, r->callee_ip);
	csv_fmt(w, "%u", r->callee_port);
	/*
	 * duration is talk time, answer to end rounded up (billable_s, 0 when
	 * unanswered), as the previous server reported it and as scripts
	 * that bill from this column expect; INVITE to end is not exported.
	 */
	csv_fmt(w, "%" PRId64, r->billable_s);
	csv_fmt(w, "%.3f", r->setup_ms / 1000.0);
	csv_fmt(w, "%d", r->status_code);
	csv_put(w, r->status_text);
	csv_put(w, termination(r, why, sizeof(why)));
	csv_time(w, r->invite_ms, T_MILLIS);
	csv_time(w, r->ring_ms, T_MILLIS);
	csv_time(w, r->answer_ms, T_MILLIS);
	csv_time(w, r->end_ms, T_MILLIS);
	for (i = 0; i < sizeof(type) - 1 && r->type[i]; i++)
		type[i] = (char)tolower((unsigned char)r->type[i]);
	type[i] = '\0';
	csv_put(w, is_call(r) ? "audio" : type);
	csv_put(w, r->codec);
	csv_put(w, r->caller_ua);
	csv_put(w, r->contact);
	if (!strcmp(r->type, CDR_TYPE_REGISTER))
		csv_fmt(w, "%u", r->expires);
	else
		csv_put(w, "");
	csv_put(w, r->message_body);
	csv_put(w, r->server_ip);
	if (r->server_port)
		csv_fmt(w, "%u", r->server_port);
	else
		csv_put(w, "");
	if (r->cseq)
		csv_fmt(w, "%u", r->cseq);
	else
		csv_put(w, "");
	csv_put(w, r->extra_info);
}

static void csv_own(struct csv *w, const struct cdr_rec *r)
{
	int i;

	csv_put(w, r->disposition);
	csv_put(w, r->released_by);
	csv_put(w, r->close_reason);
	csv_fmt(w, "%" PRId64, r->billable_s);
	csv_put(w, r->datapath);
	csv_put(w, r->b_call_id);
	csv_put(w, r->callee_ua);
	for (i = 0; i < 2; i++) {
		const struct cdr_quality *q = &r->q[i];

		csv_fmt(w, "%" PRIu64, q->packets);
		csv_fmt(w, "%" PRIu64, q->bytes);
		csv_fmt(w, "%" PRId64, q->lost);
		csv_fmt(w, "%.2f", q->jitter_ms);
		csv_fmt(w, "%.1f", q->r);
		csv_fmt(w, "%.2f", q->mos);
	}
	csv_put(w, r->listened_by);
	csv_put(w, r->test_call ? "1" : "0");
}

int cdr_csv_header(FILE *out)
{
	fputs(csv_header, out);
	return ferror(out) ? -EIO : 0;
}

int cdr_csv_row(FILE *out, const struct cdr_rec *r)
{
	struct csv w = { .out = out, .first = true };

	csv_legacy(&w, r);
	csv_own(&w, r);
	fputs("\r\n", out);
	return ferror(out) ? -EIO : 0;
}

struct export {
	FILE	*out;
	int	n;
};

static int export_row(const struct cdr_rec *r, void *arg)
{
	struct export *e = arg;
	int err = cdr_csv_row(e->out, r);

	e->n += !err;
	return err;
}

int cdr_export_csv(struct cdr_ctx *c, const struct cdr_filter *f, FILE *out, int *nrows)
{
	struct export e = { .out = out };
	int err = cdr_csv_header(out);

	if (!err)
		err = cdr_query(c, f, export_row, &e);
	if (nrows)
		*nrows = e.n;
	return err;
}
