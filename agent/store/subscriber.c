// SPDX-License-Identifier: GPL-2.0-only
/*
 * Subscribers (see subscriber.h): validation, HA1s, and the rows of the
 * subscribers table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "store/subcache.h"
#include "store/subscriber.h"

static const char *const status_names[] = {
	[SUB_ACTIVE] = "ACTIVE",
	[SUB_INACTIVE] = "INACTIVE",
	[SUB_SUSPENDED] = "SUSPENDED",
};

#define SUB_COLS "username, realm, impu, ha1_md5, ha1_sha256, display_name, phone, email, " \
		 "status, service_type, role, digest, created, updated"

int subscriber_status_parse(const char *name, enum sub_status *out)
{
	unsigned i;

	for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
		if (!strcasecmp(name, status_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *subscriber_status_name(enum sub_status st)
{
	return (unsigned)st < sizeof(status_names) / sizeof(status_names[0]) ?
		status_names[st] : "?";
}

/* RFC 3261 25.1 user: unreserved / user-unreserved, without escapes or ';', '?', '/'. */
bool subscriber_username_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (!n || n >= SUB_USER_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("-_.!~*'()&=+$,", ch)))
			return false;
	}
	return true;
}

bool subscriber_text_ok(const char *text, size_t size)
{
	size_t n = 0;

	for (; text[n]; n++)
		if ((unsigned char)text[n] < 0x20 || text[n] == 0x7f)
			return false;
	return n < size;
}

/* A realm goes into URIs and quoted strings: a host name, nothing fancier. */
static bool realm_ok(const char *realm)
{
	size_t n = strlen(realm), i;

	if (!n || n >= SUB_REALM_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = realm[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("-.[]:", ch)))
			return false;
	}
	return true;
}

static bool hex_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return !s[len];
}

int subscriber_set_password(struct subscriber *s, const char *password)
{
	int err;

	if (!*password || strlen(password) >= SUB_PASSWORD_MAX)
		return -EINVAL;
	err = digest_ha1(DIGEST_MD5, s->username, s->realm, password, s->ha1_md5);
	if (!err)
		err = digest_ha1(DIGEST_SHA256, s->username, s->realm, password, s->ha1_sha256);
	return err;
}

int subscriber_init(struct subscriber *s, const char *username, const char *realm,
		    const char *password, const char **why)
{
	const char *dummy;
	int err;

	if (!why)
		why = &dummy;
	memset(s, 0, sizeof(*s));
	if (!subscriber_username_ok(username)) {
		*why = "user name: 1 to 64 letters, digits or -_.!~*'()&=+$,";
		return -EINVAL;
	}
	if (!realm_ok(realm)) {
		*why = "realm: not a domain name";
		return -EINVAL;
	}
	strcpy(s->username, username);
	strcpy(s->realm, realm);
	snprintf(s->impu, sizeof(s->impu), "sip:%s@%s", username, realm);
	err = subscriber_set_password(s, password);
	if (err)
		*why = err == -EINVAL ? "password: empty or too long" : "computing the HA1";
	return err;
}

const char *subscriber_ha1(const struct subscriber *s, enum digest_alg alg)
{
	return alg == DIGEST_SHA256 ? s->ha1_sha256 : s->ha1_md5;
}

int subscriber_digest_parse(const char *text, struct digest_algs *out)
{
	if (!text[strspn(text, " \t")] || !strcasecmp(text, "DEFAULT")) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return digest_algs_parse(text, out);
}

const struct digest_algs *subscriber_digest(const struct subscriber *s,
					    const struct digest_algs *dflt)
{
	return s && s->digest.n ? &s->digest : dflt;
}

static bool digest_ok(const struct digest_algs *a)
{
	if (a->n > DIGEST_ALG_N)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (a->alg[i] > DIGEST_SHA256 || (i && a->alg[i] == a->alg[0]))
			return false;
	return true;
}

static bool valid(const struct subscriber *s)
{
	return subscriber_username_ok(s->username) && realm_ok(s->realm) && s->impu[0] &&
	       subscriber_text_ok(s->impu, sizeof(s->impu)) && hex_ok(s->ha1_md5, 32) &&
	       hex_ok(s->ha1_sha256, 64) &&
	       subscriber_text_ok(s->display_name, sizeof(s->display_name)) &&
	       subscriber_text_ok(s->phone, sizeof(s->phone)) &&
	       subscriber_text_ok(s->email, sizeof(s->email)) &&
	       subscriber_text_ok(s->service_type, sizeof(s->service_type)) &&
	       subscriber_text_ok(s->role, sizeof(s->role)) &&
	       (unsigned)s->status <= SUB_SUSPENDED && digest_ok(&s->digest);
}

static void column(sqlite3_stmt *q, int i, char *out, size_t size)
{
	const char *t = (const char *)sqlite3_column_text(q, i);

	snprintf(out, size, "%s", t ? t : "");
}

static void row(sqlite3_stmt *q, struct subscriber *s)
{
	char status[16], digest[DIGEST_ALGS_TEXT_MAX + 8];

	memset(s, 0, sizeof(*s));
	column(q, 0, s->username, sizeof(s->username));
	column(q, 1, s->realm, sizeof(s->realm));
	column(q, 2, s->impu, sizeof(s->impu));
	column(q, 3, s->ha1_md5, sizeof(s->ha1_md5));
	column(q, 4, s->ha1_sha256, sizeof(s->ha1_sha256));
	column(q, 5, s->display_name, sizeof(s->display_name));
	column(q, 6, s->phone, sizeof(s->phone));
	column(q, 7, s->email, sizeof(s->email));
	column(q, 8, status, sizeof(status));
	subscriber_status_parse(status, &s->status);
	column(q, 9, s->service_type, sizeof(s->service_type));
	column(q, 10, s->role, sizeof(s->role));
	column(q, 11, digest, sizeof(digest));
	if (subscriber_digest_parse(digest, &s->digest)) {
		/* The table's CHECK keeps this from happening; if it does, fail closed. */
		LOG(L_WARN, "[store] subscriber %s: digest '%s' unknown: SHA-256 only",
		    s->username, digest);
		s->digest = (struct digest_algs){ .n = 1, .alg = { DIGEST_SHA256 } };
	}
	s->created = sqlite3_column_int64(q, 12);
	s->updated = sqlite3_column_int64(q, 13);
}

/* Binds the fields in SUB_COLS order from ?1, without created/updated. */
static void bind(sqlite3_stmt *q, const struct subscriber *s, char digest[DIGEST_ALGS_TEXT_MAX])
{
	digest_algs_format(&s->digest, digest, DIGEST_ALGS_TEXT_MAX);
	sqlite3_bind_text(q, 1, s->username, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, s->realm, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, s->impu, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, s->ha1_md5, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, s->ha1_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, s->display_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, s->phone, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, s->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 9, subscriber_status_name(s->status), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 10, s->service_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 11, s->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 12, digest, -1, SQLITE_STATIC);
}

/* Runs a statement that returns no row. */
static int exec(struct store *st, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);

	store_stmt_done(q);
	return rc == SQLITE_DONE ? 0 : store_err(st, rc, what);
}

/* A change through st: the cached copy goes, the next read takes the row. */
static void forget(struct store *st, const char *username)
{
	st->nsubs_known = false;
	if (st->subs)
		sub_cache_del(st->subs, username);
}

void subscriber_forget(struct store *st, const char *username)
{
	forget(st, username);
}

int subscriber_add(struct store *st, const struct subscriber *s)
{
	static const char sql[] = "INSERT INTO subscribers (" SUB_COLS ") VALUES"
				  " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)";
	char digest[DIGEST_ALGS_TEXT_MAX];
	sqlite3_stmt *q;
	int err;

	if (!valid(s))
		return -EINVAL;
	err = store_stmt(st, sql, &q);
	if (err)
		return err;
	bind(q, s, digest);
	sqlite3_bind_int64(q, 13, (sqlite3_int64)time(NULL));
	err = exec(st, q, "adding a subscriber");
	forget(st, s->username);
	return err;
}

int subscriber_update(struct store *st, const struct subscriber *s)
{
	static const char sql[] =
		"UPDATE subscribers SET realm = ?2, impu = ?3, ha1_md5 = ?4, ha1_sha256 = ?5,"
		" display_name = ?6, phone = ?7, email = ?8, status = ?9, service_type = ?10,"
		" role = ?11, digest = ?12, updated = ?13 WHERE username = ?1";
	char digest[DIGEST_ALGS_TEXT_MAX];
	sqlite3_stmt *q;
	int err;

	if (!valid(s))
		return -EINVAL;
	err = store_stmt(st, sql, &q);
	if (err)
		return err;
	bind(q, s, digest);
	sqlite3_bind_int64(q, 13, (sqlite3_int64)time(NULL));
	err = exec(st, q, "updating a subscriber");
	if (!err && !sqlite3_changes(st->db))
		err = -ENOENT;
	forget(st, s->username);
	return err;
}

/* The same subscriber, apart from when it was written. */
static bool same(const struct subscriber *a, const struct subscriber *b)
{
	return !strcmp(a->realm, b->realm) && !strcmp(a->impu, b->impu) &&
	       !strcmp(a->ha1_md5, b->ha1_md5) && !strcmp(a->ha1_sha256, b->ha1_sha256) &&
	       !strcmp(a->display_name, b->display_name) && !strcmp(a->phone, b->phone) &&
	       !strcmp(a->email, b->email) && a->status == b->status &&
	       !strcmp(a->service_type, b->service_type) && !strcmp(a->role, b->role) &&
	       a->digest.n == b->digest.n &&
	       !memcmp(a->digest.alg, b->digest.alg, a->digest.n);
}

int subscriber_put(struct store *st, const struct subscriber *s, enum sub_put *how)
{
	struct subscriber old;
	enum sub_put dummy;
	int err;

	if (!how)
		how = &dummy;
	err = subscriber_get(st, s->username, &old);
	if (err == -ENOENT) {
		*how = SUB_PUT_ADDED;
		return subscriber_add(st, s);
	}
	if (err)
		return err;
	*how = SUB_PUT_UNCHANGED;
	if (same(&old, s))
		return 0;
	*how = SUB_PUT_UPDATED;
	return subscriber_update(st, s);
}

int subscriber_set_status(struct store *st, const char *username, enum sub_status status)
{
	static const char sql[] =
		"UPDATE subscribers SET status = ?2, updated = ?3 WHERE username = ?1";
	sqlite3_stmt *q;
	int err;

	if ((unsigned)status > SUB_SUSPENDED)
		return -EINVAL;
	err = store_stmt(st, sql, &q);
	if (err)
		return err;
	sqlite3_bind_text(q, 1, username, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, subscriber_status_name(status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
	err = exec(st, q, "setting a subscriber's status");
	if (!err && !sqlite3_changes(st->db))
		err = -ENOENT;
	forget(st, username);
	return err;
}

int subscriber_delete(struct store *st, const char *username)
{
	static const char del_regs[] =
		"DELETE FROM registrations WHERE aor IN"
		" (SELECT impu FROM subscribers WHERE username = ?1)";
	static const char del_sub[] = "DELETE FROM subscribers WHERE username = ?1";
	sqlite3_stmt *q;
	int err, n = 0;

	err = store_begin(st);
	if (err)
		return err;
	err = store_stmt(st, del_regs, &q);
	if (!err) {
		sqlite3_bind_text(q, 1, username, -1, SQLITE_STATIC);
		err = exec(st, q, "removing a subscriber's registrations");
	}
	if (!err)
		err = store_stmt(st, del_sub, &q);
	if (!err) {
		sqlite3_bind_text(q, 1, username, -1, SQLITE_STATIC);
		err = exec(st, q, "removing a subscriber");
		n = sqlite3_changes(st->db);
	}
	if (!err && !n)
		err = -ENOENT;
	if (err)
		goto out_rollback;
	forget(st, username);
	return store_commit(st);

out_rollback:
	store_rollback(st);
	return err;
}

static int get_one(struct store *st, const char *sql, const char *key, struct subscriber *out)
{
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	if (err)
		return err;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		row(q, out);
	store_stmt_done(q);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : store_err(st, rc, "reading a subscriber");
}

int subscriber_get(struct store *st, const char *username, struct subscriber *out)
{
	static const char sql[] = "SELECT " SUB_COLS " FROM subscribers WHERE username = ?1";
	int err;

	if (st->subs && !sub_cache_get(st->subs, username, out))
		return 0;
	err = get_one(st, sql, username, out);
	if (!err && st->subs)
		sub_cache_put(st->subs, out);
	return err;
}

int subscriber_get_by_impu(struct store *st, const char *impu, struct subscriber *out)
{
	static const char sql[] = "SELECT " SUB_COLS " FROM subscribers WHERE impu = ?1";
	int err;

	if (st->subs && !sub_cache_get_by_impu(st->subs, impu, out))
		return 0;
	err = get_one(st, sql, impu, out);
	if (!err && st->subs)
		sub_cache_put(st->subs, out);
	return err;
}

struct sub_walk {
	subscriber_fn	fn;
	void		*arg;
};

static int sub_each(sqlite3_stmt *q, void *arg)
{
	struct sub_walk *w = arg;
	struct subscriber s;

	row(q, &s);
	return w->fn(&s, w->arg);
}

int subscriber_list(struct store *st, subscriber_fn fn, void *arg)
{
	struct sub_walk w = { fn, arg };

	return store_each(st, "SELECT " SUB_COLS " FROM subscribers ORDER BY username", sub_each,
			  &w, "listing subscribers");
}

/*
 * The count is read once and kept while the subscribers stay as they are:
 * a scrape or a dashboard's second costs no query. Kept only where a
 * change from outside is seen (a cache the writer reads again, whose
 * handing over forgets it: subscriber_changed_outside()).
 */
int subscriber_count(struct store *st, int *n)
{
	int err;

	if (st->nsubs_known) {
		*n = st->nsubs;
		return 0;
	}
	err = store_count(st, "SELECT count(*) FROM subscribers", n, "counting subscribers");
	if (!err && st->subs && st->wq) {
		st->nsubs = *n;
		st->nsubs_known = true;
	}
	return err;
}

void subscriber_changed_outside(struct store *st)
{
	st->nsubs_known = false;
}

static int cache_one(const struct subscriber *s, void *arg)
{
	return sub_cache_put(arg, s);
}

struct sub_cache *subscriber_cache_load(struct store *st)
{
	struct sub_cache *c;
	int n = 0;

	if (store_count(st, "SELECT count(*) FROM subscribers", &n, "counting subscribers"))
		return NULL;
	c = sub_cache_new((unsigned)n);
	if (c && subscriber_list(st, cache_one, c)) {
		sub_cache_free(c);
		return NULL;
	}
	return c;
}
