// SPDX-License-Identifier: GPL-2.0-only
/*
 * The database: migrations from nothing and from schema 1, subscribers
 * (HA1s checked against RFC 7616 §3.9.1's user, -EEXIST, updates, status,
 * deletion taking the registrations along), a subscriber's own digest
 * algorithms (migrated in as none, kept in order, refused by the table
 * when unknown), bindings (replace, order, purge), and a full disk that
 * answers -ENOSPC and loses nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/binding.h"
#include "store/schema.h"
#include "store/subscriber.h"

#include "fixtures.h"

struct fx {
	struct tmp_db	db;
	struct store	st;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (tmp_db_make(&f->db, "store", "sub/dir/sluice.db"))	/* parents made */
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(&f->st);
	if (tmp_db_remove(&f->db))
		return -1;
	free(f);
	return 0;
}

static void test_migrations(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	char path[128];

	/* From schema 1 (a database of the media layer only). */
	snprintf(path, sizeof(path), "%s/old.db", f->db.dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE media_sessions (call_id TEXT PRIMARY KEY,"
				      " state TEXT NOT NULL, updated INTEGER NOT NULL);"
				      "INSERT INTO media_sessions VALUES ('c1', '{}', 1);"
				      "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(&f->st, path), 0);
	assert_int_equal(store_schema_version(&f->st), store_schema_latest());
	{
		sqlite3_stmt *q;

		assert_int_equal(sqlite3_prepare_v2(f->st.db, "SELECT count(*) FROM media_sessions",
						    -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(q, 0), 1);		/* data kept */
		sqlite3_finalize(q);
	}
	store_close(&f->st);
	memset(&f->st, 0, sizeof(f->st));
	/* From nothing, in directories that do not exist yet. */
	assert_int_equal(store_open(&f->st, f->db.path), 0);
	assert_int_equal(store_schema_version(&f->st), store_schema_latest());
}

static void test_subscribers(void **state)
{
	struct fx *f = *state;
	struct subscriber s, got;
	enum sub_put how;
	const char *why;
	int n;

	assert_int_equal(store_open(&f->st, f->db.path), 0);
	/* RFC 7616 §3.9.1: Mufasa, "Circle of Life", realm http-auth@example.org. */
	assert_int_equal(subscriber_init(&s, "Mufasa", "http-auth@example.org", "Circle of Life",
					 &why), -EINVAL);	/* not a domain: refused */
	assert_int_equal(subscriber_init(&s, "Mufasa", "example.org", "Circle of Life", &why), 0);
	assert_int_equal(subscriber_init(&s, "bad user", "example.org", "pw", &why), -EINVAL);
	assert_non_null(strstr(why, "user name"));
	assert_int_equal(subscriber_init(&s, "1001", "ims.local", "", &why), -EINVAL);

	assert_int_equal(subscriber_init(&s, "1001", "ims.local", "secret", NULL), 0);
	/* md5sum and sha256sum of "1001:ims.local:secret". */
	assert_string_equal(s.ha1_md5, "0cb9890629d27f2553634fee4abc22ed");
	assert_string_equal(s.ha1_sha256, "9aac15f05d16824d64a2759e566a4d00923f8447661c8e9d9a8c8588be7ee295");
	assert_string_equal(s.impu, "sip:1001@ims.local");
	strcpy(s.display_name, "Alice");
	assert_int_equal(subscriber_add(&f->st, &s), 0);
	assert_int_equal(subscriber_add(&f->st, &s), -EEXIST);
	assert_int_equal(subscriber_get(&f->st, "1001", &got), 0);
	assert_string_equal(got.display_name, "Alice");
	assert_string_equal(got.ha1_sha256, s.ha1_sha256);
	assert_int_equal(got.status, SUB_ACTIVE);
	assert_int_equal(subscriber_get_by_impu(&f->st, "sip:1001@ims.local", &got), 0);
	assert_int_equal(subscriber_get(&f->st, "1002", &got), -ENOENT);

	assert_int_equal(subscriber_put(&f->st, &s, &how), 0);
	assert_int_equal(how, SUB_PUT_UNCHANGED);
	strcpy(s.email, "alice@example.org");
	assert_int_equal(subscriber_put(&f->st, &s, &how), 0);
	assert_int_equal(how, SUB_PUT_UPDATED);
	assert_int_equal(subscriber_set_status(&f->st, "1001", SUB_SUSPENDED), 0);
	assert_int_equal(subscriber_get(&f->st, "1001", &got), 0);
	assert_int_equal(got.status, SUB_SUSPENDED);
	assert_string_equal(got.email, "alice@example.org");
	assert_int_equal(subscriber_set_status(&f->st, "nobody", SUB_ACTIVE), -ENOENT);
	assert_int_equal(subscriber_count(&f->st, &n), 0);
	assert_int_equal(n, 1);

	/* Deleting a subscriber takes its registrations along. */
	{
		struct store_binding b = { 0 };

		strcpy(b.aor, "sip:1001@ims.local");
		strcpy(b.contact, "sip:1001@10.0.0.1:5060");
		strcpy(b.received_addr, "192.0.2.1");
		b.received_port = 5060;
		strcpy(b.transport, "UDP");
		strcpy(b.call_id, "c");
		b.expires = 5000;
		b.q = 1000;
		assert_int_equal(store_binding_put(&f->st, &b), 0);
		assert_int_equal(subscriber_delete(&f->st, "1001"), 0);
		assert_int_equal(store_binding_count(&f->st, "sip:1001@ims.local", 0, &n), 0);
		assert_int_equal(n, 0);
	}
	assert_int_equal(subscriber_delete(&f->st, "1001"), -ENOENT);
	assert_int_equal(subscriber_status_parse("inactive", &got.status), 0);
	assert_int_equal(got.status, SUB_INACTIVE);
	assert_int_equal(subscriber_status_parse("DELETED", &got.status), -EINVAL);
}

static void binding(struct store_binding *b, const char *contact, int64_t expires, uint16_t q)
{
	memset(b, 0, sizeof(*b));
	strcpy(b->aor, "sip:1001@ims.local");
	snprintf(b->contact, sizeof(b->contact), "%s", contact);
	strcpy(b->received_addr, "192.0.2.1");
	b->received_port = 5060;
	strcpy(b->transport, "UDP");
	strcpy(b->call_id, "call");
	b->expires = expires;
	b->q = q;
}

static int collect(const struct store_binding *b, void *arg)
{
	char *out = arg;

	strcat(out, b->contact);
	strcat(out, " ");
	return 0;
}

/*
 * sqlite's released migrations (literal SQL) and the schema description
 * (schema.c) that PostgreSQL's are rendered from make the same tables:
 * each column, in order, with its type.
 */
static void test_schema_description(void **state)
{
	struct fx *f = *state;

	assert_int_equal(store_open(&f->st, f->db.path), 0);
	assert_int_equal(store_schema_latest(), schema_latest());
	for (const struct schema_table *t = schema_tables; t->name; t++) {
		char sql[128];
		sqlite3_stmt *q;
		const struct schema_col *c = t->cols;

		snprintf(sql, sizeof(sql), "SELECT name, type FROM pragma_table_info('%s')", t->name);
		assert_int_equal(sqlite3_prepare_v2(f->st.db, sql, -1, &q, NULL), SQLITE_OK);
		for (; sqlite3_step(q) == SQLITE_ROW; c++) {
			const char *want = c->type == COL_REAL ? "REAL" :
					   c->type == COL_TEXT ? "TEXT" : "INTEGER";

			assert_non_null(c->name);
			assert_string_equal((const char *)sqlite3_column_text(q, 0), c->name);
			assert_string_equal((const char *)sqlite3_column_text(q, 1), want);
		}
		assert_null(c->name);	/* no column described that sqlite lacks */
		sqlite3_finalize(q);
	}
	store_close(&f->st);
}

static void exec_ok(struct store *st, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static void test_subscriber_digest(void **state)
{
	const struct digest_algs md5 = { 1, { DIGEST_MD5 } };
	struct fx *f = *state;
	struct subscriber s, got;
	enum sub_put how;
	char text[DIGEST_ALGS_TEXT_MAX];

	/* A subscriber of schema 3, before the column: migrated in with none of its own. */
	assert_int_equal(store_open(&f->st, f->db.path), 0);
	assert_int_equal(subscriber_init(&s, "1001", "ims.local", "secret", NULL), 0);
	assert_int_equal(subscriber_add(&f->st, &s), 0);
	exec_ok(&f->st, "DROP INDEX registrations_node; ALTER TABLE registrations DROP COLUMN node;"
		"ALTER TABLE registrations DROP COLUMN node_addr; ALTER TABLE cdr DROP COLUMN node;"
		"DROP TABLE nodes; ALTER TABLE subscribers DROP COLUMN digest;"
		"ALTER TABLE cdr DROP COLUMN listened_by; ALTER TABLE cdr DROP COLUMN test_call;"
		"PRAGMA user_version = 3");
	store_close(&f->st);
	assert_int_equal(store_open(&f->st, f->db.path), 0);
	assert_int_equal(store_schema_version(&f->st), store_schema_latest());
	assert_int_equal(subscriber_get(&f->st, "1001", &got), 0);
	assert_int_equal(got.digest.n, 0);
	assert_ptr_equal(subscriber_digest(&got, &md5), &md5);		/* [sip] digest's */
	assert_ptr_equal(subscriber_digest(NULL, &md5), &md5);		/* an unknown user */

	/* Hardened, in order, and back to the default. */
	assert_int_equal(subscriber_digest_parse("sha-256, md5", &s.digest), 0);
	assert_int_equal(subscriber_put(&f->st, &s, &how), 0);
	assert_int_equal(how, SUB_PUT_UPDATED);
	assert_int_equal(subscriber_get(&f->st, "1001", &got), 0);
	assert_int_equal(digest_algs_format(subscriber_digest(&got, &md5), text, sizeof(text)), 0);
	assert_string_equal(text, "SHA-256, MD5");
	assert_int_equal(subscriber_put(&f->st, &got, &how), 0);
	assert_int_equal(how, SUB_PUT_UNCHANGED);
	assert_int_equal(subscriber_digest_parse("SHA-256", &s.digest), 0);
	assert_int_equal(subscriber_put(&f->st, &s, &how), 0);
	assert_int_equal(how, SUB_PUT_UPDATED);
	assert_int_equal(subscriber_get(&f->st, "1001", &got), 0);
	assert_int_equal(got.digest.n, 1);
	assert_int_equal(got.digest.alg[0], DIGEST_SHA256);
	assert_int_equal(subscriber_digest_parse("default", &s.digest), 0);
	assert_int_equal(s.digest.n, 0);
	assert_int_equal(subscriber_digest_parse("", &s.digest), 0);
	assert_int_equal(subscriber_digest_parse("sha-512", &s.digest), -EINVAL);
	assert_int_equal(subscriber_digest_parse("md5, md5", &s.digest), -EINVAL);
	/* A struct out of range is refused; so is an unknown value written by hand. */
	s.digest = (struct digest_algs){ 2, { DIGEST_MD5, DIGEST_MD5 } };
	assert_int_equal(subscriber_update(&f->st, &s), -EINVAL);
	assert_int_not_equal(sqlite3_exec(f->st.db, "UPDATE subscribers SET digest = 'sha256'",
					  NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(subscriber_get(&f->st, "1001", &got), 0);
	assert_int_equal(got.digest.alg[0], DIGEST_SHA256);
}

static void test_bindings(void **state)
{
	struct fx *f = *state;
	struct store_binding b;
	char order[512] = "";
	int n;

	assert_int_equal(store_open(&f->st, f->db.path), 0);
	binding(&b, "sip:a", 2000, 500);
	assert_int_equal(store_binding_put(&f->st, &b), 0);
	binding(&b, "sip:b", 3000, 1000);
	assert_int_equal(store_binding_put(&f->st, &b), 0);
	binding(&b, "sip:c", 1500, 1000);
	assert_int_equal(store_binding_put(&f->st, &b), 0);
	binding(&b, "sip:a", 2500, 500);			/* replaces sip:a */
	assert_int_equal(store_binding_put(&f->st, &b), 0);
	assert_int_equal(store_binding_count(&f->st, "sip:1001@ims.local", 0, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_binding_get(&f->st, "sip:1001@ims.local", "sip:a", &b), 0);
	assert_int_equal(b.expires, 2500);
	/* Highest q first, then the latest to expire. */
	assert_int_equal(store_binding_list(&f->st, "sip:1001@ims.local", 1000, collect, order), 0);
	assert_string_equal(order, "sip:b sip:c sip:a ");
	/* Expired at 1500: sip:c (expires <= now) goes. */
	assert_int_equal(store_binding_purge(&f->st, 1500, NULL, NULL, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_binding_del(&f->st, "sip:1001@ims.local", "sip:b"), 0);
	assert_int_equal(store_binding_del(&f->st, "sip:1001@ims.local", "sip:b"), -ENOENT);
	assert_int_equal(store_binding_del_aor(&f->st, "sip:1001@ims.local", &n), 0);
	assert_int_equal(n, 1);
}

static void test_disk_full(void **state)
{
	struct fx *f = *state;
	struct subscriber s;
	char name[32];
	int added = 0, err = 0, n;

	assert_int_equal(store_open(&f->st, f->db.path), 0);
	/* A database that may not grow stands for a full disk. */
	assert_int_equal(sqlite3_exec(f->st.db, "PRAGMA max_page_count = 40", NULL, NULL, NULL),
			 SQLITE_OK);
	for (int i = 0; i < 100000 && !err; i++) {
		snprintf(name, sizeof(name), "u%06d", i);
		assert_int_equal(subscriber_init(&s, name, "ims.local", "pw", NULL), 0);
		err = subscriber_add(&f->st, &s);
		added += !err;
	}
	assert_int_equal(err, -ENOSPC);
	assert_true(added > 10);
	/* Everything added before is still there and readable. */
	assert_int_equal(subscriber_count(&f->st, &n), 0);
	assert_int_equal(n, added);
	assert_int_equal(subscriber_get(&f->st, "u000000", &s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_description, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriber_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bindings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
