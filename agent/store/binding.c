// SPDX-License-Identifier: GPL-2.0-only
/*
 * Registration bindings (see binding.h): rows of the registrations table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "store/binding.h"

#define BIND_COLS "aor, contact, received_addr, received_port, transport, expires, call_id," \
		  " cseq, q, user_agent, path, instance, nat, updated"

static bool text_ok(const char *s, size_t size)
{
	return subscriber_text_ok(s, size);
}

static bool valid(const struct store_binding *b)
{
	return b->aor[0] && text_ok(b->aor, sizeof(b->aor)) && b->contact[0] &&
	       text_ok(b->contact, sizeof(b->contact)) &&
	       text_ok(b->received_addr, sizeof(b->received_addr)) &&
	       text_ok(b->transport, sizeof(b->transport)) &&
	       text_ok(b->call_id, sizeof(b->call_id)) &&
	       text_ok(b->user_agent, sizeof(b->user_agent)) &&
	       text_ok(b->path, sizeof(b->path)) &&
	       text_ok(b->instance, sizeof(b->instance)) && b->q <= 1000;
}

static void column(sqlite3_stmt *q, int i, char *out, size_t size)
{
	const char *t = (const char *)sqlite3_column_text(q, i);

	snprintf(out, size, "%s", t ? t : "");
}

static void row(sqlite3_stmt *q, struct store_binding *b)
{
	memset(b, 0, sizeof(*b));
	column(q, 0, b->aor, sizeof(b->aor));
	column(q, 1, b->contact, sizeof(b->contact));
	column(q, 2, b->received_addr, sizeof(b->received_addr));
	b->received_port = (uint16_t)sqlite3_column_int(q, 3);
	column(q, 4, b->transport, sizeof(b->transport));
	b->expires = sqlite3_column_int64(q, 5);
	column(q, 6, b->call_id, sizeof(b->call_id));
	b->cseq = (uint32_t)sqlite3_column_int64(q, 7);
	b->q = (uint16_t)sqlite3_column_int(q, 8);
	column(q, 9, b->user_agent, sizeof(b->user_agent));
	column(q, 10, b->path, sizeof(b->path));
	column(q, 11, b->instance, sizeof(b->instance));
	b->nat = sqlite3_column_int(q, 12);
	b->updated = sqlite3_column_int64(q, 13);
}

int store_binding_put(struct store *st, const struct store_binding *b)
{
	static const char sql[] =
		"INSERT INTO registrations (" BIND_COLS ") VALUES"
		" (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
		" ON CONFLICT (aor, contact) DO UPDATE SET received_addr = ?3,"
		" received_port = ?4, transport = ?5, expires = ?6, call_id = ?7, cseq = ?8,"
		" q = ?9, user_agent = ?10, path = ?11, instance = ?12, nat = ?13, updated = ?14";
	sqlite3_stmt *q;
	int err, rc;

	if (!valid(b))
		return -EINVAL;
	err = store_stmt(st, sql, &q);
	if (err)
		return err;
	sqlite3_bind_text(q, 1, b->aor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, b->contact, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, b->received_addr, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, b->received_port);
	sqlite3_bind_text(q, 5, b->transport, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, b->expires);
	sqlite3_bind_text(q, 7, b->call_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, b->cseq);
	sqlite3_bind_int(q, 9, b->q);
	sqlite3_bind_text(q, 10, b->user_agent, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 11, b->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 12, b->instance, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 13, b->nat);
	sqlite3_bind_int64(q, 14, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(q);
	store_stmt_done(q);
	return rc == SQLITE_DONE ? 0 : store_err(st, rc, "saving a registration");
}

int store_binding_get(struct store *st, const char *aor, const char *contact,
		      struct store_binding *out)
{
	static const char sql[] =
		"SELECT " BIND_COLS " FROM registrations WHERE aor = ?1 AND contact = ?2";
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	if (err)
		return err;
	sqlite3_bind_text(q, 1, aor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, contact, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		row(q, out);
	store_stmt_done(q);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : store_err(st, rc, "reading a registration");
}

int store_binding_del(struct store *st, const char *aor, const char *contact)
{
	static const char sql[] = "DELETE FROM registrations WHERE aor = ?1 AND contact = ?2";
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	if (err)
		return err;
	sqlite3_bind_text(q, 1, aor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, contact, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	store_stmt_done(q);
	if (rc != SQLITE_DONE)
		return store_err(st, rc, "removing a registration");
	return sqlite3_changes(st->db) ? 0 : -ENOENT;
}

int store_binding_del_aor(struct store *st, const char *aor, int *n)
{
	static const char sql[] = "DELETE FROM registrations WHERE aor = ?1";
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	if (err)
		return err;
	sqlite3_bind_text(q, 1, aor, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	store_stmt_done(q);
	if (rc != SQLITE_DONE)
		return store_err(st, rc, "removing registrations");
	if (n)
		*n = sqlite3_changes(st->db);
	return 0;
}

/* Walks the rows of a prepared statement of its own (fn may use the store). */
static int walk(struct store *st, sqlite3_stmt *q, store_binding_fn fn, void *arg,
		const char *what)
{
	struct store_binding b;
	int rc, ret = 0;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		row(q, &b);
		ret = fn(&b, arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_err(st, rc, what);
	sqlite3_finalize(q);
	return ret;
}

int store_binding_list(struct store *st, const char *aor, int64_t now, store_binding_fn fn,
		       void *arg)
{
	static const char sql[] =
		"SELECT " BIND_COLS " FROM registrations WHERE (?1 IS NULL OR aor = ?1)"
		" AND expires > ?2 ORDER BY aor, q DESC, expires DESC, id";
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);

	if (rc != SQLITE_OK)
		return store_err(st, rc, "listing registrations");
	if (aor)
		sqlite3_bind_text(q, 1, aor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now);
	return walk(st, q, fn, arg, "listing registrations");
}

int store_binding_count(struct store *st, const char *aor, int64_t now, int *n)
{
	static const char sql[] = "SELECT count(*) FROM registrations"
				  " WHERE (?1 IS NULL OR aor = ?1) AND expires > ?2";
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	if (err)
		return err;
	if (aor)
		sqlite3_bind_text(q, 1, aor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now);
	rc = sqlite3_step(q);
	*n = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
	store_stmt_done(q);
	return rc == SQLITE_ROW ? 0 : store_err(st, rc, "counting registrations");
}

int store_binding_purge(struct store *st, int64_t now, store_binding_fn fn, void *arg, int *n)
{
	static const char sel[] = "SELECT " BIND_COLS " FROM registrations WHERE expires <= ?1";
	static const char del[] = "DELETE FROM registrations WHERE expires <= ?1";
	sqlite3_stmt *q;
	int err, rc;

	err = store_begin(st);
	if (err)
		return err;
	if (fn) {
		rc = sqlite3_prepare_v2(st->db, sel, -1, &q, NULL);
		if (rc != SQLITE_OK) {
			err = store_err(st, rc, "finding expired registrations");
			goto out_rollback;
		}
		sqlite3_bind_int64(q, 1, now);
		err = walk(st, q, fn, arg, "finding expired registrations");
		if (err)
			goto out_rollback;
	}
	err = store_stmt(st, del, &q);
	if (err)
		goto out_rollback;
	sqlite3_bind_int64(q, 1, now);
	rc = sqlite3_step(q);
	store_stmt_done(q);
	if (rc != SQLITE_DONE) {
		err = store_err(st, rc, "purging expired registrations");
		goto out_rollback;
	}
	if (n)
		*n = sqlite3_changes(st->db);
	return store_commit(st);

out_rollback:
	store_rollback(st);
	return err;
}
