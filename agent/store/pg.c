// SPDX-License-Identifier: GPL-2.0-only
/*
 * The PostgreSQL back end of the writer (queue.h): the store several
 * nodes share. It runs on the writer thread only, over one libpq
 * connection: a transaction per group commit, prepared statements, and
 * LISTEN sluice for what the other nodes change.
 *
 * Each node keeps its own sqlite beside it ([store] local): its media
 * sessions (media is per node) and a copy of the shared rows its event
 * loop reads without waiting (subscribers, operators, blacklist, its own
 * bindings and CDRs). Every op is applied to that copy and to PostgreSQL
 * in the same batch: the PostgreSQL transaction commits first, then the
 * sqlite one; a failure of either rolls both back and the queue tries the
 * batch again. Every PostgreSQL write is an upsert or a delete by key, so
 * a batch tried again after a commit whose answer was lost writes the
 * same rows again, harmlessly.
 *
 * A row goes from one database to the other by the schema's description
 * (schema.h): its columns read as text from one side and written to the
 * other, the identity columns left to each database. The node and
 * node_addr columns are this node's own, whatever the copy holds.
 *
 * A lost connection: the batch fails, the queue keeps it and tries again;
 * begin() connects again, backing off from 100 ms to PG_BACKOFF_MAX_MS.
 * Meanwhile the queue grows to [store] queue and new work is refused
 * (back-pressure): nothing acknowledged is lost.
 *
 * A change that PostgreSQL refuses for what it is (a constraint) would
 * abort the whole transaction: the op is remembered, the batch tried
 * again without that op's PostgreSQL part, and the op completes with the
 * error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/log.h"
#include "store/cluster.h"
#include "store/queue.h"
#include "store/schema.h"

#define PG_CHANNEL		"sluice"
#define PG_CONNECT_TIMEOUT	"3"
#ifndef PG_BACKOFF_MAX_MS
#define PG_BACKOFF_MAX_MS	2000
#endif
#define PG_POISON_MAX		16
#define PG_TABLES		8
#define PG_COLS			64
#define PG_SQL_MAX		4096
#define PG_LOCK_KEY		"51600"	/* the advisory lock migrations take */

struct pg_table {
	const struct schema_table *t;
	int		ncols;			/* copied: every column but an identity */
	const char	*cols[PG_COLS];
	int		nkeys;
	char		keys[2][32];
	char		conflict[64];		/* PostgreSQL's ON CONFLICT target */
	sqlite3_stmt	*sel, *put, *del;	/* on the node's sqlite */
};

struct store_pg {
	struct store_q	*q;
	struct store	*lite;
	char		conninfo[512];
	char		node[64], addr[CLUSTER_ADDR_MAX];
	PGconn		*c;
	bool		pulled;			/* the shared tables copied here once */
	bool		pull_due;
	bool		down;			/* logged that it is unreachable */
	uint64_t	next_try_us;
	unsigned	backoff_ms;
	uint64_t	lost_us;
	struct pg_table	tabs[PG_TABLES];
	int		ntabs;
	const struct store_op *poison[PG_POISON_MAX];
	int		poison_err[PG_POISON_MAX];
	int		npoison;
};

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

bool store_is_pg(const char *db)
{
	size_t w = strspn(db, "abcdefghijklmnopqrstuvwxyz_");

	return !strncmp(db, "postgresql://", 13) || !strncmp(db, "postgres://", 11) ||
	       (w && db[w] == '=');
}

/* The conninfo without its password, for logs: user:secret@ and password=... go. */
void store_pg_redact(const char *in, char *out, size_t n)
{
	const char *at, *colon, *scheme = strstr(in, "://");

	if (scheme) {
		const char *host = scheme + 3;

		at = strchr(host, '@');
		colon = strchr(host, ':');
		if (at && colon && colon < at)
			snprintf(out, n, "%.*s%s", (int)(colon - in), in, at);
		else
			snprintf(out, n, "%s", in);
		if ((at = strstr(out, "password=")))
			snprintf((char *)at, n - (size_t)(at - out), "password=...");
		return;
	}
	snprintf(out, n, "%s", in);
	at = strstr(out, "password=");
	if (at) {
		const char *end = strchr(at, ' ');
		char rest[512];

		snprintf(rest, sizeof(rest), "%s", end ? end : "");
		snprintf((char *)at, n - (size_t)(at - out), "password=...%s", rest);
	}
}

/* ---- the tables, from the schema's description ---- */

static void table_init(struct pg_table *pt, const struct schema_table *t)
{
	const char *k = t->key, *open;

	memset(pt, 0, sizeof(*pt));
	pt->t = t;
	for (const struct schema_col *c = t->cols; c->name && pt->ncols < PG_COLS; c++)
		if (c->type != COL_ID)
			pt->cols[pt->ncols++] = c->name;
	while (*k && pt->nkeys < 2) {
		size_t w = strcspn(k, ", ");

		snprintf(pt->keys[pt->nkeys++], sizeof(pt->keys[0]), "%.*s", (int)w, k);
		k += w;
		k += strspn(k, ", ");
	}
	open = t->pg_key ? strchr(t->pg_key, '(') : NULL;
	if (open)
		snprintf(pt->conflict, sizeof(pt->conflict), "%.*s", (int)strcspn(open + 1, ")"),
			 open + 1);
	else
		snprintf(pt->conflict, sizeof(pt->conflict), "%s", t->key);
}

static struct pg_table *table(struct store_pg *p, const char *name)
{
	for (int i = 0; i < p->ntabs; i++)
		if (!strcmp(p->tabs[i].t->name, name))
			return &p->tabs[i];
	return NULL;
}

static void cols_list(const struct pg_table *pt, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < pt->ncols && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s", i ? ", " : "", pt->cols[i]);
}

/* " WHERE k1 = $1 AND k2 = $2" (sqlite: ?1, ?2). */
static void where_keys(const struct pg_table *pt, bool pg, char *out, size_t n)
{
	size_t len = (size_t)snprintf(out, n, " WHERE ");

	for (int i = 0; i < pt->nkeys && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s = %c%d", i ? " AND " : "",
					pt->keys[i], pg ? '$' : '?', i + 1);
}

/* sqlite's statements for a table: its row by key, put, delete. */
static int lite_prepare(struct store_pg *p, struct pg_table *pt)
{
	char cols[2048], where[256], sql[PG_SQL_MAX], vals[512];
	size_t len = 0;
	int rc;

	if (pt->sel)
		return 0;
	cols_list(pt, cols, sizeof(cols));
	where_keys(pt, false, where, sizeof(where));
	for (int i = 0; i < pt->ncols; i++)
		len += (size_t)snprintf(vals + len, sizeof(vals) - len, "%s?%d", i ? ", " : "",
					i + 1);
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s%s", cols, pt->t->name, where);
	rc = sqlite3_prepare_v2(p->lite->db, sql, -1, &pt->sel, NULL);
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO %s (%s) VALUES (%s)",
			 pt->t->name, cols, vals);
		rc = sqlite3_prepare_v2(p->lite->db, sql, -1, &pt->put, NULL);
	}
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s%s", pt->t->name, where);
		rc = sqlite3_prepare_v2(p->lite->db, sql, -1, &pt->del, NULL);
	}
	return rc == SQLITE_OK ? 0 : store_err(p->lite, rc, "preparing a copy");
}

static void lite_finalize(struct store_pg *p)
{
	for (int i = 0; i < p->ntabs; i++) {
		sqlite3_finalize(p->tabs[i].sel);
		sqlite3_finalize(p->tabs[i].put);
		sqlite3_finalize(p->tabs[i].del);
		p->tabs[i].sel = p->tabs[i].put = p->tabs[i].del = NULL;
	}
}

/* ---- PostgreSQL's errors and connection ---- */

static void drop(struct store_pg *p, const char *why)
{
	if (p->c)
		PQfinish(p->c);
	p->c = NULL;
	p->next_try_us = mono_us() + 1000ull * p->backoff_ms;
	p->backoff_ms = p->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : p->backoff_ms * 2;
	if (!p->down) {
		p->down = true;
		p->lost_us = mono_us();
		LOG(L_ERROR, "[store] %s: PostgreSQL unreachable (%s): changes stay queued "
		    "([store] queue) and the writer connects again", p->q->path, why);
	}
}

/* A result as 0 or -errno; clears it. A broken connection is dropped (-ENOTCONN). */
static int check(struct store_pg *p, PGresult *r, const char *what)
{
	ExecStatusType st = PQresultStatus(r);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	char why[256];
	int err = 0;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		goto out;
	snprintf(why, sizeof(why), "%s: %s", what, p->c ? PQerrorMessage(p->c) : "no connection");
	why[strcspn(why, "\n")] = '\0';
	if (!p->c || PQstatus(p->c) == CONNECTION_BAD || !state ||
	    !strncmp(state, "08", 2) || !strncmp(state, "57", 2)) {
		drop(p, why);
		err = -ENOTCONN;
	} else if (!strncmp(state, "23", 2)) {
		err = -EEXIST;
	} else if (!strncmp(state, "22", 2) || !strncmp(state, "42", 2)) {
		err = -EINVAL;
	} else if (!strncmp(state, "40", 2) || !strncmp(state, "55", 2)) {
		err = -EBUSY;
	} else if (!strncmp(state, "53", 2)) {
		err = -ENOSPC;
	} else {
		err = -EIO;
	}
	if (err == -EEXIST || err == -EINVAL)
		LOG(L_WARN, "[store] %s: %s", p->q->path, why);
out:
	PQclear(r);
	return err;
}

static int exec(struct store_pg *p, const char *sql, const char *what)
{
	if (!p->c)
		return -ENOTCONN;
	return check(p, PQexec(p->c, sql), what);
}

static int run(struct store_pg *p, const char *name, int n, const char *const *v,
	       PGresult **out)
{
	PGresult *r;

	if (!p->c)
		return -ENOTCONN;
	r = PQexecPrepared(p->c, name, n, v, NULL, NULL, 0);
	if (out && (PQresultStatus(r) == PGRES_TUPLES_OK)) {
		*out = r;
		return 0;
	}
	return check(p, r, name);
}

static int prepare(struct store_pg *p, const char *name, const char *sql)
{
	return check(p, PQprepare(p->c, name, sql, 0, NULL), name);
}

/* The schema, brought up to date under an advisory lock (two nodes may start at once). */
static int migrate(struct store_pg *p)
{
	char sql[PG_SQL_MAX], set[64];
	PGresult *r;
	int v = 0, err, latest = schema_latest();

	err = exec(p, "BEGIN", "migrating");
	if (!err)
		err = exec(p, "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ");"
			   "CREATE TABLE IF NOT EXISTS sluice_schema (version INTEGER NOT NULL)",
			   "migrating");
	if (err)
		goto out_rollback;
	r = PQexec(p->c, "SELECT version FROM sluice_schema");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		err = check(p, r, "reading the schema version");
		goto out_rollback;
	}
	if (PQntuples(r))
		v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (v > latest) {
		LOG(L_ERROR, "[store] %s has schema %d, newer than this sluiced's %d", p->q->path, v,
		    latest);
		err = -EPROTO;
		goto out_rollback;
	}
	if (!v)
		err = exec(p, "INSERT INTO sluice_schema VALUES (0)", "migrating");
	for (; !err && v < latest; v++) {
		err = schema_render(DIALECT_PG, v + 1, sql, sizeof(sql));
		if (err == -ENOENT)	/* nothing shared in this one (media sessions) */
			err = 0;
		else if (!err)
			err = exec(p, sql, "migrating the schema");
		snprintf(set, sizeof(set), "UPDATE sluice_schema SET version = %d", v + 1);
		if (!err)
			err = exec(p, set, "migrating");
		if (!err)
			LOG(L_INFO, "[store] %s: schema %d", p->q->path, v + 1);
	}
	if (err)
		goto out_rollback;
	return exec(p, "COMMIT", "migrating");

out_rollback:
	if (p->c)
		PQclear(PQexec(p->c, "ROLLBACK"));
	return err;
}

/* Each shared table's upsert, delete and select; the few statements of their own. */
static int prepare_all(struct store_pg *p)
{
	char cols[2048], where[256], sql[PG_SQL_MAX], name[64], vals[512], set[2048];
	int err = 0;

	for (int i = 0; !err && i < p->ntabs; i++) {
		struct pg_table *pt = &p->tabs[i];
		size_t vl = 0, sl = 0;

		cols_list(pt, cols, sizeof(cols));
		where_keys(pt, true, where, sizeof(where));
		set[0] = '\0';
		for (int k = 0; k < pt->ncols; k++) {
			vl += (size_t)snprintf(vals + vl, sizeof(vals) - vl, "%s$%d", k ? ", " : "",
					       k + 1);
			if (!strstr(pt->conflict, pt->cols[k]))
				sl += (size_t)snprintf(set + sl, sizeof(set) - sl, "%s%s = EXCLUDED.%s",
						       sl ? ", " : "", pt->cols[k], pt->cols[k]);
		}
		snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO %s%s",
			 pt->t->name, cols, vals, pt->conflict, set[0] ? "UPDATE SET " : "NOTHING",
			 set);
		snprintf(name, sizeof(name), "up_%s", pt->t->name);
		err = prepare(p, name, sql);
		snprintf(sql, sizeof(sql), "DELETE FROM %s%s", pt->t->name, where);
		snprintf(name, sizeof(name), "del_%s", pt->t->name);
		if (!err)
			err = prepare(p, name, sql);
		snprintf(sql, sizeof(sql), "SELECT %s FROM %s%s", cols, pt->t->name, where);
		snprintf(name, sizeof(name), "sel_%s", pt->t->name);
		if (!err)
			err = prepare(p, name, sql);
		snprintf(sql, sizeof(sql), "SELECT %s FROM %s", cols, pt->t->name);
		snprintf(name, sizeof(name), "all_%s", pt->t->name);
		if (!err)
			err = prepare(p, name, sql);
	}
	if (!err)
		err = prepare(p, "notify", "SELECT pg_notify('" PG_CHANNEL "', $1)");
	if (!err)
		err = prepare(p, "del_aor", "DELETE FROM registrations WHERE aor = $1");
	if (!err)
		err = prepare(p, "purge", "DELETE FROM registrations WHERE expires <= $1 "
			      "AND node = $2");
	/* An AOR's binding on another node: the one to expire last. */
	if (!err)
		err = prepare(p, "remote", "SELECT node_addr, expires FROM registrations "
			      "WHERE aor = $1 AND node <> $2 AND node_addr <> '' "
			      "ORDER BY expires DESC LIMIT 1");
	if (!err)
		err = prepare(p, "remote_all", "SELECT DISTINCT ON (aor) aor, node_addr, expires "
			      "FROM registrations WHERE node <> $1 AND node_addr <> '' "
			      "AND expires > $2 ORDER BY aor, expires DESC");
	if (!err)
		err = prepare(p, "peers", "SELECT address FROM nodes WHERE name <> $1 "
			      "AND address <> ''");
	return err;
}

static int notify(struct store_pg *p, const char *table, const char *key)
{
	char payload[600];
	const char *v[1] = { payload };

	snprintf(payload, sizeof(payload), "%s\t%s\t%s", table, p->node, key);
	return run(p, "notify", 1, v, NULL);
}

/* ---- rows between the two databases ---- */

/* The lite row of table by keys into PostgreSQL, or its absence. */
static int copy_up(struct store_pg *p, const char *table_name, const char *k1, const char *k2)
{
	struct pg_table *pt = table(p, table_name);
	const char *v[PG_COLS];
	char name[64];
	int rc, err;

	if (!pt)
		return -EINVAL;
	err = lite_prepare(p, pt);
	if (err)
		return err;
	sqlite3_reset(pt->sel);
	sqlite3_bind_text(pt->sel, 1, k1, -1, SQLITE_STATIC);
	if (pt->nkeys > 1)
		sqlite3_bind_text(pt->sel, 2, k2, -1, SQLITE_STATIC);
	rc = sqlite3_step(pt->sel);
	if (rc == SQLITE_DONE) {
		const char *kv[2] = { k1, k2 };

		sqlite3_reset(pt->sel);
		snprintf(name, sizeof(name), "del_%s", pt->t->name);
		return run(p, name, pt->nkeys, kv, NULL);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(pt->sel);
		return store_errno(rc);
	}
	for (int i = 0; i < pt->ncols; i++) {
		if (!strcmp(pt->cols[i], "node"))
			v[i] = p->node;
		else if (!strcmp(pt->cols[i], "node_addr"))
			v[i] = p->addr;
		else
			v[i] = (const char *)sqlite3_column_text(pt->sel, i);
	}
	snprintf(name, sizeof(name), "up_%s", pt->t->name);
	err = run(p, name, pt->ncols, v, NULL);
	sqlite3_reset(pt->sel);
	return err;
}

/* One PostgreSQL row (of a select of pt's columns) into sqlite. */
static int put_lite(struct pg_table *pt, PGresult *r, int row)
{
	int rc;

	sqlite3_reset(pt->put);
	for (int i = 0; i < pt->ncols; i++)
		sqlite3_bind_text(pt->put, i + 1, PQgetvalue(r, row, i), -1, SQLITE_STATIC);
	rc = sqlite3_step(pt->put);
	sqlite3_reset(pt->put);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int lite_exec(struct store_pg *p, const char *sql)
{
	int rc = sqlite3_exec(p->lite->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_errno(rc);
}

/* Another node changed table's row of key: the same here. */
static int pull_row(struct store_pg *p, const char *table_name, const char *key)
{
	struct pg_table *pt = table(p, table_name);
	const char *v[1] = { key };
	PGresult *r = NULL;
	char name[64];
	int err, rc;

	if (!pt || pt->nkeys != 1)
		return -EINVAL;
	err = lite_prepare(p, pt);
	snprintf(name, sizeof(name), "sel_%s", pt->t->name);
	if (!err)
		err = run(p, name, 1, v, &r);
	if (err)
		return err;
	err = lite_exec(p, "BEGIN IMMEDIATE");
	if (!err && PQntuples(r)) {
		err = put_lite(pt, r, 0);
	} else if (!err) {
		sqlite3_reset(pt->del);
		sqlite3_bind_text(pt->del, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(pt->del);
		sqlite3_reset(pt->del);
		err = rc == SQLITE_DONE ? 0 : store_errno(rc);
	}
	PQclear(r);
	if (!err)
		err = lite_exec(p, "COMMIT");
	if (err && !sqlite3_get_autocommit(p->lite->db))
		lite_exec(p, "ROLLBACK");
	return err;
}

/* Every lite row of pt into PostgreSQL: the first node seeds an empty shared store. */
static int seed(struct store_pg *p, struct pg_table *pt)
{
	char cols[2048], sql[PG_SQL_MAX], name[64];
	const char *v[PG_COLS];
	sqlite3_stmt *q;
	int rc, err = 0, n = 0;

	cols_list(pt, cols, sizeof(cols));
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s", cols, pt->t->name);
	if (sqlite3_prepare_v2(p->lite->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	snprintf(name, sizeof(name), "up_%s", pt->t->name);
	while (!err && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		for (int i = 0; i < pt->ncols; i++)
			v[i] = (const char *)sqlite3_column_text(q, i);
		err = run(p, name, pt->ncols, v, NULL);
		n++;
	}
	sqlite3_finalize(q);
	if (!err && n)
		LOG(L_INFO, "[store] %s: %d %s rows seeded from %s", p->q->path, n, pt->t->name,
		    p->lite->path);
	return err;
}

/* The shared table pt, here as it is in PostgreSQL; seeded from here when empty there. */
static int pull_table(struct store_pg *p, struct pg_table *pt)
{
	char name[64], sql[128];
	PGresult *r = NULL;
	int err;

	err = lite_prepare(p, pt);
	snprintf(name, sizeof(name), "all_%s", pt->t->name);
	if (!err)
		err = run(p, name, 0, NULL, &r);
	if (err)
		return err;
	if (!PQntuples(r)) {
		PQclear(r);
		err = exec(p, "BEGIN", "seeding");
		if (!err)
			err = seed(p, pt);
		if (!err)
			return exec(p, "COMMIT", "seeding");
		if (p->c)
			PQclear(PQexec(p->c, "ROLLBACK"));
		return err;
	}
	err = lite_exec(p, "BEGIN IMMEDIATE");
	snprintf(sql, sizeof(sql), "DELETE FROM %s", pt->t->name);
	if (!err)
		err = lite_exec(p, sql);
	for (int i = 0; !err && i < PQntuples(r); i++)
		err = put_lite(pt, r, i);
	PQclear(r);
	if (!err)
		err = lite_exec(p, "COMMIT");
	if (err && !sqlite3_get_autocommit(p->lite->db))
		lite_exec(p, "ROLLBACK");
	return err;
}

/* Whether an MML change waits in the queue to be copied up (a pull would undo it here). */
static bool sync_queued(struct store_pg *p)
{
	bool found = false;

	pthread_mutex_lock(&p->q->mu);
	for (struct store_op *op = p->q->head; op && !found; op = op->next)
		found = op->kind == STORE_OP_SYNC;
	pthread_mutex_unlock(&p->q->mu);
	return found;
}

static const char *const pulled_tables[] = { "subscribers", "operators", "blacklist" };

static void pull_all(struct store_pg *p)
{
	int err = 0;

	if (sync_queued(p)) {
		p->pull_due = true;
		return;
	}
	for (size_t i = 0; !err && i < sizeof(pulled_tables) / sizeof(pulled_tables[0]); i++)
		err = pull_table(p, table(p, pulled_tables[i]));
	p->pull_due = err != 0;
	if (!err) {
		p->pulled = true;
		if (store_q_post_subs(p->q))
			p->pull_due = true;
	}
}

/* The other nodes' addresses and bindings: all of them (full), or one AOR's. */
static void post_cluster(struct store_pg *p, const char *aor)
{
	char now[24];
	const char *v[2] = { aor ? aor : p->node, now };
	struct cluster_update *u;
	PGresult *r = NULL, *peers = NULL;
	int n, err;

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	v[1] = aor ? p->node : now;
	err = run(p, aor ? "remote" : "remote_all", 2, v, &r);
	if (!err && !aor) {
		const char *pv[1] = { p->node };

		err = run(p, "peers", 1, pv, &peers);
	}
	if (err) {
		PQclear(r);
		return;
	}
	n = PQntuples(r);
	u = cluster_update_new(aor && !n ? 1 : n);
	if (!u)
		goto out;
	if (aor) {
		u->n = 1;
		snprintf(u->e[0].aor, sizeof(u->e[0].aor), "%s", aor);
		if (n) {
			snprintf(u->e[0].addr, sizeof(u->e[0].addr), "%s", PQgetvalue(r, 0, 0));
			u->e[0].expires = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		}
	} else {
		u->full = true;
		u->n = n;
		for (int i = 0; i < n; i++) {
			snprintf(u->e[i].aor, sizeof(u->e[i].aor), "%s", PQgetvalue(r, i, 0));
			snprintf(u->e[i].addr, sizeof(u->e[i].addr), "%s", PQgetvalue(r, i, 1));
			u->e[i].expires = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		}
		u->has_peers = true;
		for (int i = 0; i < PQntuples(peers) && i < CLUSTER_PEERS_MAX; i++)
			snprintf(u->peers[u->npeers++], CLUSTER_ADDR_MAX, "%s",
				 PQgetvalue(peers, i, 0));
	}
	store_q_post_cluster(p->q, u);
out:
	PQclear(r);
	PQclear(peers);
}

/* This node in the nodes table, so the others take its requests. */
static int announce(struct store_pg *p)
{
	char started[24];
	const char *v[3] = { p->node, p->addr, started };
	PGresult *r = NULL;
	int err;

	snprintf(started, sizeof(started), "%lld", (long long)time(NULL));
	/* Two nodes of one name would overwrite each other's CDRs: say so. */
	if (!run(p, "sel_nodes", 1, v, &r)) {
		if (PQntuples(r) && strcmp(PQgetvalue(r, 0, 1), p->addr))
			LOG(L_WARN, "[store] %s: node %s was last at %s, now at %s: two nodes with "
			    "one [store] node would overwrite each other's CDRs", p->q->path, p->node,
			    PQgetvalue(r, 0, 1), p->addr[0] ? p->addr : "no address");
		PQclear(r);
	}
	err = exec(p, "BEGIN", "announcing");
	if (!err)
		err = run(p, "up_nodes", 3, v, NULL);
	if (!err)
		err = notify(p, "nodes", p->node);
	if (!err)
		return exec(p, "COMMIT", "announcing");
	if (p->c)
		PQclear(PQexec(p->c, "ROLLBACK"));
	return err;
}

/* The server's NOTICEs (a CREATE ... IF NOT EXISTS that skipped): for the debug log only. */
static void on_notice(void *arg, const char *msg)
{
	(void)arg;
	LOG(L_DEBUG, "[store] PostgreSQL: %.*s", (int)strcspn(msg, "\n"), msg);
}

static int connect_now(struct store_pg *p)
{
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { p->conninfo, PG_CONNECT_TIMEOUT, "sluiced", NULL };
	char why[256];
	int err;

	if (p->c)
		return 0;
	if (mono_us() < p->next_try_us)
		return -ENOTCONN;
	p->c = PQconnectdbParams(keys, vals, 1);
	if (!p->c || PQstatus(p->c) != CONNECTION_OK) {
		snprintf(why, sizeof(why), "%s", p->c ? PQerrorMessage(p->c) : "out of memory");
		why[strcspn(why, "\n")] = '\0';
		drop(p, why);
		return -ENOTCONN;
	}
	PQsetNoticeProcessor(p->c, on_notice, NULL);
	err = migrate(p);
	if (!err)
		err = prepare_all(p);
	if (!err)
		err = exec(p, "LISTEN " PG_CHANNEL, "listening");
	if (!err)
		err = announce(p);
	if (err) {
		if (p->c)
			drop(p, "setting up the connection");
		return err == -EPROTO ? -EPROTO : -ENOTCONN;
	}
	if (p->down)
		LOG(L_WARN, "[store] %s: PostgreSQL reachable again after %.1f s", p->q->path,
		    (double)(mono_us() - p->lost_us) / 1e6);
	else
		LOG(L_INFO, "[store] %s: connected as node %s (%s)", p->q->path, p->node,
		    p->addr[0] ? p->addr : "no node_address: calls are not routed to it");
	p->down = false;
	p->backoff_ms = 100;
	pull_all(p);
	post_cluster(p, NULL);
	return 0;
}

/* ---- the back end ---- */

static int be_begin(void *be)
{
	struct store_pg *p = be;
	int err = connect_now(p);

	if (!err)
		err = exec(p, "BEGIN", "starting a transaction");
	if (err)
		return err == -EPROTO ? -ENOTCONN : err;
	err = store_sqlite_backend.begin(p->lite);
	if (err && p->c)
		PQclear(PQexec(p->c, "ROLLBACK"));
	return err;
}

static int be_commit(void *be)
{
	struct store_pg *p = be;
	int err = exec(p, "COMMIT", "committing");

	if (err)
		return err;
	p->npoison = 0;
	/* PostgreSQL has it: sqlite's copy follows; should it fail, both go again. */
	return store_sqlite_backend.commit(p->lite);
}

static void be_rollback(void *be)
{
	struct store_pg *p = be;

	if (p->c && PQtransactionStatus(p->c) != PQTRANS_IDLE)
		PQclear(PQexec(p->c, "ROLLBACK"));
	store_sqlite_backend.rollback(p->lite);
}

static int poisoned(const struct store_pg *p, const struct store_op *op)
{
	for (int i = 0; i < p->npoison; i++)
		if (p->poison[i] == op)
			return p->poison_err[i];
	return 0;
}

static int apply_pg(struct store_pg *p, struct store_op *op)
{
	const struct store_binding *b = &op->u.binding;
	char id[24], now[24];
	int err;

	switch (op->kind) {
	case STORE_OP_BINDING_PUT:
		err = copy_up(p, "registrations", b->aor, b->contact);
		return err ? err : notify(p, "registrations", b->aor);
	case STORE_OP_BINDING_DEL: {
		const char *v[2] = { b->aor, b->contact };

		err = run(p, "del_registrations", 2, v, NULL);
		return err ? err : notify(p, "registrations", b->aor);
	}
	case STORE_OP_BINDING_DEL_AOR: {
		const char *v[1] = { b->aor };

		err = run(p, "del_aor", 1, v, NULL);
		return err ? err : notify(p, "registrations", b->aor);
	}
	case STORE_OP_BINDING_PURGE: {
		const char *v[2] = { now, p->node };

		snprintf(now, sizeof(now), "%lld", (long long)op->u.now);
		return run(p, "purge", 2, v, NULL);
	}
	case STORE_OP_CDR:
		snprintf(id, sizeof(id), "%" PRIu64, (uint64_t)op->u.cdr.id);
		return copy_up(p, "cdr", id, NULL);
	case STORE_OP_SYNC:
		err = copy_up(p, op->u.sync.table, op->u.sync.key, NULL);
		return err ? err : notify(p, op->u.sync.table, op->u.sync.key);
	default:
		return 0;	/* node-local: media sessions, the writer's calls */
	}
}

static bool be_transient(int err)
{
	return err == -EBUSY || err == -ENOSPC || err == -EIO || err == -ENOMEM ||
	       err == -ENOTCONN || err == -EAGAIN;
}

static int be_apply(void *be, struct store_op *op)
{
	struct store_pg *p = be;
	int err = store_sqlite_backend.apply(p->lite, op), pe;

	if (err)
		return err;
	pe = poisoned(p, op);
	if (pe)
		return pe;
	err = apply_pg(p, op);
	if (!err || be_transient(err))
		return err;
	/* Refused for what it is: the transaction is spoilt; again without it. */
	if (p->npoison < PG_POISON_MAX) {
		p->poison[p->npoison] = op;
		p->poison_err[p->npoison++] = err;
	}
	return -EAGAIN;
}

/* The loop's blacklist in memory, read again from the copy the NOTIFY changed. */
static void post_blacklist(struct store_pg *p)
{
	struct cluster_update *u = cluster_update_new(0);

	if (!u)
		return;
	u->blacklist = true;
	store_q_post_cluster(p->q, u);
}

/* What another node changed, from its NOTIFY: "table\tnode\tkey". */
static void on_notify(struct store_pg *p, const char *payload)
{
	char table_name[32], node[64], key[SUB_IMPU_MAX];
	const char *t2 = strchr(payload, '\t'), *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;

	if (!t3)
		return;
	snprintf(table_name, sizeof(table_name), "%.*s", (int)(t2 - payload), payload);
	snprintf(node, sizeof(node), "%.*s", (int)(t3 - t2 - 1), t2 + 1);
	snprintf(key, sizeof(key), "%s", t3 + 1);
	if (!strcmp(node, p->node))
		return;
	if (!strcmp(table_name, "registrations")) {
		post_cluster(p, key);
	} else if (!strcmp(table_name, "nodes")) {
		post_cluster(p, NULL);
	} else if (table(p, table_name)) {
		if (pull_row(p, table_name, key))
			p->pull_due = true;	/* read everything again at the next poll */
		else if (!strcmp(table_name, "subscribers") && store_q_post_subs(p->q))
			p->pull_due = true;
		else if (!strcmp(table_name, "blacklist"))
			post_blacklist(p);
	}
}

static void be_poll(void *be)
{
	struct store_pg *p = be;
	PGnotify *n;

	if (!p->c) {
		connect_now(p);		/* nothing queued: still, be back soon */
		return;
	}
	if (!PQconsumeInput(p->c)) {
		char why[256];

		snprintf(why, sizeof(why), "%s", PQerrorMessage(p->c));
		why[strcspn(why, "\n")] = '\0';
		drop(p, why);
		return;
	}
	while (p->c && (n = PQnotifies(p->c))) {
		on_notify(p, n->extra);
		PQfreemem(n);
	}
	if (p->c && (p->pull_due || !p->pulled))
		pull_all(p);
}

static void be_close(void *be)
{
	struct store_pg *p = be;

	lite_finalize(p);
	if (p->c)
		PQfinish(p->c);
	free(p);
}

const struct store_backend store_pg_backend = {
	.name = "postgresql",
	.begin = be_begin,
	.commit = be_commit,
	.rollback = be_rollback,
	.apply = be_apply,
	.transient = be_transient,
	.poll = be_poll,
	.close = be_close,
};

int store_q_open_pg(struct store_q *q, const struct store_pg_conf *pc, struct loop *loop,
		    unsigned limit)
{
	struct store_pg *p;
	int err;

	memset(q, 0, sizeof(*q));
	q->efd = -1;
	store_pg_redact(pc->conninfo, q->path, sizeof(q->path));
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->q = q;
	p->lite = &q->wst;
	p->backoff_ms = 100;
	snprintf(p->conninfo, sizeof(p->conninfo), "%s", pc->conninfo);
	snprintf(p->node, sizeof(p->node), "%s", pc->node);
	snprintf(p->addr, sizeof(p->addr), "%s", pc->addr ? pc->addr : "");
	for (const struct schema_table *t = schema_tables; t->name && p->ntabs < PG_TABLES; t++)
		if (!t->local)
			table_init(&p->tabs[p->ntabs++], t);
	err = store_open(&q->wst, pc->local);
	if (err) {
		free(p);
		return err;
	}
	sqlite3_busy_timeout(q->wst.db, STORE_Q_WRITER_BUSY_MS);
	q->be = &store_pg_backend;
	q->be_ctx = p;
	/* The mutex before the first connect: a pull looks at the queue. */
	pthread_mutex_init(&q->mu, NULL);
	if (connect_now(p) == -EPROTO) {
		pthread_mutex_destroy(&q->mu);
		be_close(p);
		store_close(&q->wst);
		return -EPROTO;
	}
	pthread_mutex_destroy(&q->mu);
	return store_q_start(q, loop, limit);
}
