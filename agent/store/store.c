// SPDX-License-Identifier: GPL-2.0-only
/*
 * The database (see store.h). Migrations are SQL in order; migration i
 * takes user_version from i to i + 1, inside a transaction, so a crash
 * halfway leaves the old schema intact.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "store/store.h"

static const char *const migrations[] = {
	/* 1: media sessions, so that a restarted sluiced adopts live calls */
	"CREATE TABLE media_sessions ("
	"  id TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"		/* JSON, see media/persist.c */
	"  updated INTEGER NOT NULL"		/* unix seconds */
	");",
};

#define NMIGRATIONS (int)(sizeof(migrations) / sizeof(migrations[0]))

int store_err(struct store *st, int rc, const char *what)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		LOG(L_ERROR, "[store] %s: %s: disk full", st->path, what);
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		LOG(L_WARN, "[store] %s: %s: database locked", st->path, what);
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		LOG(L_ERROR, "[store] %s: %s: %s", st->path, what, sqlite3_errstr(rc));
		return -EACCES;
	default:
		LOG(L_ERROR, "[store] %s: %s: %s", st->path, what,
		    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		return -EIO;
	}
}

int store_schema_version(struct store *st)
{
	sqlite3_stmt *q;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

static int migrate(struct store *st)
{
	int v = store_schema_version(st), rc;
	char sql[64];

	if (v < 0)
		return store_err(st, SQLITE_ERROR, "reading the schema version");
	if (v > NMIGRATIONS) {
		LOG(L_ERROR, "[store] %s has schema %d, newer than this sluiced's %d", st->path, v,
		    NMIGRATIONS);
		return -EPROTO;
	}
	for (; v < NMIGRATIONS; v++) {
		rc = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return store_err(st, rc, "migrating the schema");
		}
		LOG(L_INFO, "[store] %s: schema %d", st->path, v + 1);
	}
	return 0;
}

int store_open(struct store *st, const char *path)
{
	char dir[256];
	int rc;

	memset(st, 0, sizeof(*st));
	snprintf(st->path, sizeof(st->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	mkdir(dirname(dir), 0750);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		rc = store_err(st, rc, "opening");
		store_close(st);
		return rc;
	}
	sqlite3_busy_timeout(st->db, 2000);
	rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = store_err(st, rc, "setting WAL mode");
		store_close(st);
		return rc;
	}
	rc = migrate(st);
	if (rc)
		store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (st->db)
		sqlite3_close(st->db);
	st->db = NULL;
}
