// SPDX-License-Identifier: GPL-2.0-only
/*
 * The database (see store.h). Migrations are SQL in order; migration i
 * takes user_version from i to i + 1, inside a transaction, so a crash
 * halfway leaves the old schema intact. A migration, once released, is
 * never edited: changes are new migrations appended to the list.
 */
#include <errno.h>
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

	/* 2: subscribers and their registrations */
	"CREATE TABLE subscribers ("
	"  id INTEGER PRIMARY KEY,"
	"  impu TEXT NOT NULL UNIQUE,"		/* sip:1001@ims.local */
	"  username TEXT NOT NULL UNIQUE,"	/* the digest user name */
	"  realm TEXT NOT NULL,"		/* the realm the HA1s were made for */
	"  ha1_md5 TEXT NOT NULL,"		/* hex H(username:realm:password) */
	"  ha1_sha256 TEXT NOT NULL,"
	"  display_name TEXT NOT NULL DEFAULT '',"
	"  phone TEXT NOT NULL DEFAULT '',"
	"  email TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL DEFAULT 'ACTIVE'"
	"    CHECK (status IN ('ACTIVE', 'INACTIVE', 'SUSPENDED')),"
	"  service_type TEXT NOT NULL DEFAULT '',"
	"  role TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"		/* unix seconds */
	"  updated INTEGER NOT NULL"
	");"
	"CREATE TABLE registrations ("
	"  id INTEGER PRIMARY KEY,"
	"  aor TEXT NOT NULL,"			/* the subscriber's IMPU */
	"  contact TEXT NOT NULL,"		/* the Contact URI as registered */
	"  received_addr TEXT NOT NULL,"	/* where the REGISTER came from */
	"  received_port INTEGER NOT NULL,"
	"  transport TEXT NOT NULL,"		/* UDP, TCP */
	"  expires INTEGER NOT NULL,"		/* unix seconds */
	"  call_id TEXT NOT NULL,"
	"  cseq INTEGER NOT NULL,"
	"  q INTEGER NOT NULL DEFAULT 1000,"	/* q-value in thousandths */
	"  user_agent TEXT NOT NULL DEFAULT '',"
	"  path TEXT NOT NULL DEFAULT '',"	/* Path header (RFC 3327), if any */
	"  instance TEXT NOT NULL DEFAULT '',"	/* +sip.instance (RFC 5626) */
	"  nat INTEGER NOT NULL DEFAULT 0,"	/* behind NAT: keepalives go to it */
	"  updated INTEGER NOT NULL,"
	"  UNIQUE (aor, contact)"
	");"
	"CREATE INDEX registrations_expires ON registrations (expires);",

	/* 3: call detail records, MML operators, the blacklist */
	"CREATE TABLE cdr ("
	"  id INTEGER PRIMARY KEY,"		/* sluice's record id */
	"  record_type TEXT NOT NULL,"		/* CALL, REGISTER, MESSAGE, OPTIONS */
	"  open INTEGER NOT NULL DEFAULT 0,"	/* 1 while the call is up */
	"  a_call_id TEXT NOT NULL DEFAULT '',"
	"  b_call_id TEXT NOT NULL DEFAULT '',"
	"  caller_uri TEXT NOT NULL DEFAULT '',"
	"  caller_number TEXT NOT NULL DEFAULT '',"
	"  caller_ip TEXT NOT NULL DEFAULT '',"
	"  caller_port INTEGER NOT NULL DEFAULT 0,"
	"  callee_uri TEXT NOT NULL DEFAULT '',"
	"  callee_number TEXT NOT NULL DEFAULT '',"
	"  callee_ip TEXT NOT NULL DEFAULT '',"
	"  callee_port INTEGER NOT NULL DEFAULT 0,"
	"  invite_ms INTEGER NOT NULL DEFAULT 0,"	/* unix milliseconds, 0: never */
	"  ring_ms INTEGER NOT NULL DEFAULT 0,"
	"  answer_ms INTEGER NOT NULL DEFAULT 0,"
	"  end_ms INTEGER NOT NULL DEFAULT 0,"
	"  duration_s INTEGER NOT NULL DEFAULT 0,"	/* INVITE to end */
	"  billable_s INTEGER NOT NULL DEFAULT 0,"	/* answer to end, rounded up */
	"  setup_ms INTEGER NOT NULL DEFAULT 0,"	/* INVITE to first ring or answer */
	"  disposition TEXT NOT NULL DEFAULT '',"
	"  status_code INTEGER NOT NULL DEFAULT 0,"
	"  status_text TEXT NOT NULL DEFAULT '',"
	"  released_by TEXT NOT NULL DEFAULT '',"	/* caller, callee, system */
	"  close_reason TEXT NOT NULL DEFAULT '',"
	"  codec TEXT NOT NULL DEFAULT '',"
	"  caller_ua TEXT NOT NULL DEFAULT '',"
	"  callee_ua TEXT NOT NULL DEFAULT '',"
	"  datapath TEXT NOT NULL DEFAULT '',"
	"  contact TEXT NOT NULL DEFAULT '',"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  message_body TEXT NOT NULL DEFAULT '',"
	"  server_ip TEXT NOT NULL DEFAULT '',"
	"  server_port INTEGER NOT NULL DEFAULT 0,"
	"  cseq INTEGER NOT NULL DEFAULT 0,"
	"  extra_info TEXT NOT NULL DEFAULT '',"
	"  a_packets INTEGER NOT NULL DEFAULT 0, a_bytes INTEGER NOT NULL DEFAULT 0,"
	"  a_lost INTEGER NOT NULL DEFAULT 0, a_jitter_ms REAL NOT NULL DEFAULT 0,"
	"  a_r REAL NOT NULL DEFAULT 0, a_mos REAL NOT NULL DEFAULT 0,"
	"  b_packets INTEGER NOT NULL DEFAULT 0, b_bytes INTEGER NOT NULL DEFAULT 0,"
	"  b_lost INTEGER NOT NULL DEFAULT 0, b_jitter_ms REAL NOT NULL DEFAULT 0,"
	"  b_r REAL NOT NULL DEFAULT 0, b_mos REAL NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX cdr_invite ON cdr (invite_ms);"
	"CREATE INDEX cdr_open ON cdr (open) WHERE open = 1;"
	"CREATE TABLE operators ("
	"  name TEXT PRIMARY KEY,"
	"  role TEXT NOT NULL CHECK (role IN ('ADMIN', 'OPERATOR')),"
	"  salt TEXT NOT NULL,"			/* hex, 16 random bytes */
	"  hash TEXT NOT NULL,"			/* hex PBKDF2-HMAC-SHA256 of the password */
	"  iterations INTEGER NOT NULL,"
	"  failed INTEGER NOT NULL DEFAULT 0,"	/* failed logins since the last good one */
	"  last_login INTEGER NOT NULL DEFAULT 0,"	/* unix seconds */
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE blacklist ("
	"  prefix TEXT PRIMARY KEY,"		/* 192.0.2.0/24, 2001:db8::1/128 */
	"  reason TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL"
	");",

	/* 4: a subscriber's own digest algorithms, in challenge order ('': [sip] digest) */
	"ALTER TABLE subscribers"
	"  ADD COLUMN digest TEXT NOT NULL DEFAULT ''"
	"  CHECK (digest IN ('', 'MD5', 'SHA-256', 'SHA-256, MD5', 'MD5, SHA-256'));",

	/* 5: who listened in on a call (STR LISTEN), and test calls (ORG TESTCALL) */
	("ALTER TABLE cdr ADD COLUMN listened_by TEXT NOT NULL DEFAULT '';"
	 "ALTER TABLE cdr ADD COLUMN test_call INTEGER NOT NULL DEFAULT 0;"),
};

#define NMIGRATIONS (int)(sizeof(migrations) / sizeof(migrations[0]))

int store_schema_latest(void)
{
	return NMIGRATIONS;
}

int store_err(struct store *st, int rc, const char *what)
{
	const char *msg = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {	/* the primary code of an extended one */
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		LOG(L_ERROR, "[store] %s: %s: disk full (%s)", st->path, what, msg);
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		LOG(L_WARN, "[store] %s: %s: database locked", st->path, what);
		return -EBUSY;
	case SQLITE_CONSTRAINT:
		LOG(L_INFO, "[store] %s: %s: %s", st->path, what, msg);
		return -EEXIST;
	case SQLITE_NOMEM:
		LOG(L_ERROR, "[store] %s: %s: out of memory", st->path, what);
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
	case SQLITE_AUTH:
		LOG(L_ERROR, "[store] %s: %s: %s", st->path, what, msg);
		return -EACCES;
	default:
		LOG(L_ERROR, "[store] %s: %s: %s", st->path, what, msg);
		return -EIO;
	}
}

int store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
	case SQLITE_AUTH:
		return -EACCES;
	default:
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
		rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			rc = store_err(st, rc, "migrating the schema");
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return rc;
		}
		LOG(L_INFO, "[store] %s: schema %d", st->path, v + 1);
	}
	return 0;
}

/* mkdir -p of the directories above the database file. */
static int make_parents(const char *path)
{
	char dir[256];
	char *p;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	for (p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0750) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int store_open(struct store *st, const char *path)
{
	int rc;

	memset(st, 0, sizeof(*st));
	if (snprintf(st->path, sizeof(st->path), "%s", path) >= (int)sizeof(st->path)) {
		LOG(L_ERROR, "[store] %s: path too long", path);
		return -ENAMETOOLONG;
	}
	rc = make_parents(path);
	if (rc) {
		LOG(L_ERROR, "[store] %s: creating its directory: %s", path, strerror(-rc));
		return rc;
	}
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		rc = store_err(st, rc, "opening");
		goto out_close;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			  "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = store_err(st, rc, "setting WAL mode");
		goto out_close;
	}
	rc = migrate(st);
	if (rc)
		goto out_close;
	return 0;

out_close:
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	int i;

	for (i = 0; i < st->n_stmts; i++)
		sqlite3_finalize(st->stmts[i].q);
	st->n_stmts = 0;
	if (st->db)
		sqlite3_close(st->db);
	st->db = NULL;
}

int store_stmt(struct store *st, const char *sql, sqlite3_stmt **out)
{
	struct store_stmt *s;
	int i, rc;

	for (i = 0; i < st->n_stmts; i++) {
		s = &st->stmts[i];
		if (s->sql == sql) {
			sqlite3_reset(s->q);
			sqlite3_clear_bindings(s->q);
			*out = s->q;
			return 0;
		}
	}
	if (st->n_stmts == STORE_STMT_MAX) {
		LOG(L_ERROR, "[store] more than %d statements: raise STORE_STMT_MAX",
		    STORE_STMT_MAX);
		return -ENOSPC;
	}
	s = &st->stmts[st->n_stmts];
	rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->q, NULL);
	if (rc != SQLITE_OK)
		return store_err(st, rc, "preparing a statement");
	s->sql = sql;
	st->n_stmts++;
	*out = s->q;
	return 0;
}

void store_stmt_done(sqlite3_stmt *q)
{
	sqlite3_reset(q);
}

/*
 * Transactions nest: the outermost is BEGIN IMMEDIATE (a writer waits for
 * the lock up front rather than failing to upgrade later), inner ones are
 * savepoints that roll back alone.
 */
int store_count(struct store *st, const char *sql, int *n, const char *what)
{
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	if (err)
		return err;
	rc = sqlite3_step(q);
	*n = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
	store_stmt_done(q);
	return rc == SQLITE_ROW ? 0 : store_err(st, rc, what);
}

int store_each(struct store *st, const char *sql, store_row_fn fn, void *arg, const char *what)
{
	sqlite3_stmt *q;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_err(st, rc, what);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		ret = fn(q, arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_err(st, rc, what);
	sqlite3_finalize(q);
	return ret;
}

int store_begin(struct store *st)
{
	const char *sql = st->txn_depth ? "SAVEPOINT store_nested" : "BEGIN IMMEDIATE";
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_err(st, rc, "starting a transaction");
	st->txn_depth++;
	return 0;
}

int store_commit(struct store *st)
{
	const char *sql = st->txn_depth > 1 ? "RELEASE store_nested" : "COMMIT";
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		rc = store_err(st, rc, "committing");
		store_rollback(st);
		return rc;
	}
	st->txn_depth--;
	return 0;
}

void store_rollback(struct store *st)
{
	if (st->txn_depth > 1)
		sqlite3_exec(st->db, "ROLLBACK TO store_nested; RELEASE store_nested", NULL, NULL,
			     NULL);
	else if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	if (st->txn_depth)
		st->txn_depth--;
}
