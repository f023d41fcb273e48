// SPDX-License-Identifier: GPL-2.0-only
/*
 * MML operators (see operator.h): the rows of the operators table, their
 * PBKDF2-HMAC-SHA256 password hashes, logins and the first run's "admin".
 *
 * The salt is 16 random bytes from getrandom() and the hash 32 bytes, both
 * stored as hex; PBKDF2 runs over the raw bytes. Each row keeps the number
 * of rounds it was made with, so that raising OP_ITERATIONS leaves existing
 * passwords working (a new password gets the new count).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/log.h"
#include "store/operator.h"
#include "store/queue.h"

#define OP_SALT_LEN	OP_SALT_BYTES
#define OP_HASH_LEN	OP_HASH_BYTES
#define OP_RANDOM_LEN	16	/* characters of a bootstrap password */
/* A corrupt or hostile row must not make one login take minutes. */
#define OP_ITERATIONS_MAX	10000000

static const char *const role_names[] = {
	[OP_OPERATOR] = "OPERATOR",
	[OP_ADMIN] = "ADMIN",
};

#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

/*
 * What an unknown name is hashed with, so that it costs what a known one
 * does: a caller cannot tell names that exist by the time an answer takes.
 */
static const unsigned char dummy_salt[OP_SALT_LEN] = {
	0x73, 0x6c, 0x75, 0x69, 0x63, 0x65, 0x2d, 0x6e,
	0x6f, 0x2d, 0x73, 0x75, 0x63, 0x68, 0x2d, 0x6f,
};

const char *operator_role_name(enum op_role role)
{
	return (unsigned)role < NROLES ? role_names[role] : "?";
}

int operator_role_parse(const char *name, enum op_role *out)
{
	unsigned i;

	for (i = 0; i < NROLES; i++) {
		if (!strcasecmp(name, role_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

bool operator_name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (!n || n >= OP_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

static bool password_ok(const char *pw)
{
	size_t n = strlen(pw);

	return n >= OP_PASSWORD_MIN && n < OP_PASSWORD_MAX;
}

/* getrandom() may return short for large requests or on a signal: loop. */
static int random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len) {
		n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void to_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly len bytes of hex, or -EINVAL. */
static int from_hex(const char *in, unsigned char *out, size_t len)
{
	size_t i;
	int hi, lo;

	if (!in || strlen(in) != 2 * len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		hi = hex_digit(in[2 * i]);
		lo = hex_digit(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int pbkdf2(const char *pw, const unsigned char *salt, int iterations,
		  unsigned char out[OP_HASH_LEN])
{
	if (!PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, OP_SALT_LEN, iterations, EVP_sha256(),
			       OP_HASH_LEN, out)) {
		LOG(L_ERROR, "[store] PBKDF2 failed");
		return -EIO;
	}
	return 0;
}

/* A fresh salt and the password's hash under it, both as hex. */
static int make_hash(const char *pw, char salt_hex[2 * OP_SALT_LEN + 1],
		     char hash_hex[2 * OP_HASH_LEN + 1])
{
	unsigned char salt[OP_SALT_LEN], hash[OP_HASH_LEN];
	int err;

	err = random_bytes(salt, sizeof(salt));
	if (err) {
		LOG(L_ERROR, "[store] no random salt: %s", strerror(-err));
		return err;
	}
	err = pbkdf2(pw, salt, OP_ITERATIONS, hash);
	if (err)
		return err;
	to_hex(salt, sizeof(salt), salt_hex);
	to_hex(hash, sizeof(hash), hash_hex);
	OPENSSL_cleanse(hash, sizeof(hash));
	return 0;
}

/* Runs a statement that returns no row. */
static int exec(struct store *st, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);

	store_stmt_done(q);
	return rc == SQLITE_DONE ? 0 : store_err(st, rc, what);
}

/* exec() for an UPDATE or DELETE of one name: -ENOENT when it matched none. */
static int exec_one(struct store *st, sqlite3_stmt *q, const char *what)
{
	int err = exec(st, q, what);

	if (!err && !sqlite3_changes(st->db))
		err = -ENOENT;
	return err;
}

int operator_add(struct store *st, const char *name, const char *password, enum op_role role)
{
	static const char sql[] =
		"INSERT INTO operators (name, role, salt, hash, iterations, created)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	char salt[2 * OP_SALT_LEN + 1], hash[2 * OP_HASH_LEN + 1];
	sqlite3_stmt *q;
	int err;

	if (!operator_name_ok(name) || !password_ok(password) || (unsigned)role >= NROLES)
		return -EINVAL;
	err = make_hash(password, salt, hash);
	if (err)
		return err;
	err = store_stmt(st, sql, &q);
	if (err)
		return err;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, role_names[role], -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, salt, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 5, OP_ITERATIONS);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)time(NULL));
	return exec(st, q, "adding an operator");
}

/* The count of failures stays: setting a password is not a good login. */
int operator_set_password(struct store *st, const char *name, const char *password)
{
	static const char sql[] =
		"UPDATE operators SET salt = ?2, hash = ?3, iterations = ?4 WHERE name = ?1";
	char salt[2 * OP_SALT_LEN + 1], hash[2 * OP_HASH_LEN + 1];
	sqlite3_stmt *q;
	int err;

	if (!password_ok(password))
		return -EINVAL;
	err = make_hash(password, salt, hash);
	if (err)
		return err;
	err = store_stmt(st, sql, &q);
	if (err)
		return err;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, salt, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, OP_ITERATIONS);
	return exec_one(st, q, "setting an operator's password");
}

int operator_set_role(struct store *st, const char *name, enum op_role role)
{
	static const char sql[] = "UPDATE operators SET role = ?2 WHERE name = ?1";
	sqlite3_stmt *q;
	int err;

	if ((unsigned)role >= NROLES)
		return -EINVAL;
	err = store_stmt(st, sql, &q);
	if (err)
		return err;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, role_names[role], -1, SQLITE_STATIC);
	return exec_one(st, q, "setting an operator's role");
}

int operator_delete(struct store *st, const char *name)
{
	static const char sql[] = "DELETE FROM operators WHERE name = ?1";
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q);

	if (err)
		return err;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	return exec_one(st, q, "removing an operator");
}

#define OP_COLS "name, role, failed, last_login, created"

static void row(sqlite3_stmt *q, struct operator *out)
{
	const char *name = (const char *)sqlite3_column_text(q, 0);
	const char *role = (const char *)sqlite3_column_text(q, 1);

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
	/* The table's CHECK admits only the two names; anything else reads as the lesser. */
	if (!role || operator_role_parse(role, &out->role))
		out->role = OP_OPERATOR;
	out->failed = (uint32_t)sqlite3_column_int64(q, 2);
	out->last_login = sqlite3_column_int64(q, 3);
	out->created = sqlite3_column_int64(q, 4);
}

int operator_get(struct store *st, const char *name, struct operator *out)
{
	static const char sql[] = "SELECT " OP_COLS " FROM operators WHERE name = ?1";
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	if (err)
		return err;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		row(q, out);
	store_stmt_done(q);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : store_err(st, rc, "reading an operator");
}

struct op_walk {
	operator_fn	fn;
	void		*arg;
};

static int op_each(sqlite3_stmt *q, void *arg)
{
	struct op_walk *w = arg;
	struct operator op;

	row(q, &op);
	return w->fn(&op, w->arg);
}

int operator_list(struct store *st, operator_fn fn, void *arg)
{
	struct op_walk w = { fn, arg };

	return store_each(st, "SELECT " OP_COLS " FROM operators ORDER BY name", op_each, &w,
			  "listing operators");
}

int operator_count(struct store *st, int *n)
{
	return store_count(st, "SELECT count(*) FROM operators", n, "counting operators");
}

/* What a login needs of a row. */
struct op_secret {
	bool		found;
	enum op_role	role;
	unsigned char	salt[OP_SALT_LEN];
	unsigned char	hash[OP_HASH_LEN];
	int		iterations;
};

/*
 * Reads name's salt and hash. A row that does not decode is logged and
 * treated as absent, so that its operator cannot log in rather than
 * sluiced failing.
 */
static int read_secret(struct store *st, const char *name, struct op_secret *s)
{
	static const char sql[] =
		"SELECT role, salt, hash, iterations FROM operators WHERE name = ?1";
	sqlite3_int64 iter;
	sqlite3_stmt *q;
	int err = store_stmt(st, sql, &q), rc;

	memset(s, 0, sizeof(*s));
	if (err)
		return err;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *role = (const char *)sqlite3_column_text(q, 0);

		iter = sqlite3_column_int64(q, 3);
		s->found = role && !operator_role_parse(role, &s->role) &&
			   !from_hex((const char *)sqlite3_column_text(q, 1), s->salt, OP_SALT_LEN) &&
			   !from_hex((const char *)sqlite3_column_text(q, 2), s->hash, OP_HASH_LEN) &&
			   iter >= 1 && iter <= OP_ITERATIONS_MAX;
		s->iterations = (int)iter;
		if (!s->found)
			LOG(L_ERROR, "[store] %s: operator %s: bad role, salt, hash or rounds: "
			    "it cannot log in", st->path, name);
	}
	store_stmt_done(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_err(st, rc, "reading an operator");
	return 0;
}

static int record_login(struct store *st, const char *name, bool good)
{
	static const char sql_good[] =
		"UPDATE operators SET failed = 0, last_login = ?2 WHERE name = ?1";
	static const char sql_bad[] = "UPDATE operators SET failed = failed + 1 WHERE name = ?1";
	sqlite3_stmt *q;
	int err = store_stmt(st, good ? sql_good : sql_bad, &q);

	if (err)
		return err;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (good)
		sqlite3_bind_int64(q, 2, (sqlite3_int64)time(NULL));
	return exec(st, q, "recording a login");
}

struct login_rec {
	char	name[OP_NAME_MAX];
	bool	good;
};

static int record_login_op(struct store *st, void *data)
{
	struct login_rec *l = data;

	return record_login(st, l->name, l->good);
}

/* With a writer thread, the login is recorded there: the loop does not wait for it. */
static int note_login(struct store *st, const char *name, bool good)
{
	struct store_op *op;
	struct login_rec *l;

	if (!st->wq)
		return record_login(st, name, good);
	op = store_op_new(STORE_OP_CALL);
	l = calloc(1, sizeof(*l));
	if (!op || !l) {
		free(l);
		store_op_free(op);
		return -ENOMEM;
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->good = good;
	op->u.call.fn = record_login_op;
	op->u.call.data = l;
	store_q_submit(st->wq, op, NULL, NULL);
	return 0;
}

/*
 * The hash is computed whether the name exists or not (against the dummy
 * salt with the default rounds), and compared in constant time. What still
 * differs is the one-row UPDATE of a known name's failure count, small next
 * to 10,000 rounds of HMAC.
 */
int operator_login_begin(struct store *st, const char *name, const char *password,
			 struct op_login *l)
{
	struct op_secret s;
	int err;

	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name ? name : "");
	if (snprintf(l->password, sizeof(l->password), "%s", password ? password : "") >=
	    (int)sizeof(l->password))
		l->password[0] = '\0';		/* too long: cannot match */
	err = read_secret(st, l->name, &s);
	if (err)
		return err;
	l->found = s.found;
	l->role = s.role;
	l->iterations = s.found ? s.iterations : OP_ITERATIONS;
	memcpy(l->salt, s.found ? s.salt : dummy_salt, sizeof(l->salt));
	memcpy(l->want, s.hash, sizeof(l->want));
	OPENSSL_cleanse(&s, sizeof(s));
	return 0;
}

void operator_login_hash(struct op_login *l)
{
	l->hash_err = pbkdf2(l->password, l->salt, l->iterations, l->got);
	OPENSSL_cleanse(l->password, sizeof(l->password));
}

int operator_login_hash_job(struct store *st, void *data)
{
	(void)st;
	operator_login_hash(data);
	return 0;
}

int operator_login_end(struct store *st, struct op_login *l, enum op_role *role)
{
	bool match;
	int err = l->hash_err;

	if (err)
		goto out_cleanse;
	match = !CRYPTO_memcmp(l->got, l->want, sizeof(l->got)) && l->found;
	if (!l->found) {
		err = -EACCES;
		goto out_cleanse;
	}
	err = note_login(st, l->name, match);
	if (!err && !match)
		err = -EACCES;
	if (!err && role)
		*role = l->role;

out_cleanse:
	OPENSSL_cleanse(l, sizeof(*l));
	return err;
}

int operator_check(struct store *st, const char *name, const char *password,
		   enum op_role *role)
{
	struct op_login l;
	int err = operator_login_begin(st, name, password, &l);

	if (err) {
		OPENSSL_cleanse(&l, sizeof(l));
		return err;
	}
	operator_login_hash(&l);
	return operator_login_end(st, &l, role);
}

/*
 * 16 characters of [A-Za-z0-9]: a random byte is taken only below 248
 * (4 * 62), so that each character is equally likely; byte % 62 over all
 * 256 values would favour the first eight.
 */
static int random_password(char *out, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	const unsigned n = sizeof(alphabet) - 1;
	const unsigned limit = 256 - 256 % n;
	unsigned char buf[32];
	size_t have = 0, i;
	int err = 0;

	while (have < len) {
		err = random_bytes(buf, sizeof(buf));
		if (err)
			break;
		for (i = 0; i < sizeof(buf) && have < len; i++)
			if (buf[i] < limit)
				out[have++] = alphabet[buf[i] % n];
	}
	out[have] = '\0';
	OPENSSL_cleanse(buf, sizeof(buf));
	return err;
}

/*
 * Counted and added in one transaction, so that two sluiceds starting on
 * the same database make one admin, not two attempts of which one fails.
 */
int operator_bootstrap(struct store *st, const char *password, char *out, size_t outlen)
{
	char pw[OP_PASSWORD_MAX];
	int err, n;

	if (password && *password) {
		if (snprintf(pw, sizeof(pw), "%s", password) >= (int)sizeof(pw))
			return -EINVAL;
	} else {
		err = random_password(pw, OP_RANDOM_LEN);
		if (err) {
			LOG(L_ERROR, "[store] no random password: %s", strerror(-err));
			return err;
		}
	}
	if (!out || strlen(pw) >= outlen) {
		err = -ENOSPC;
		goto out_cleanse;
	}
	err = store_begin(st);
	if (err)
		goto out_cleanse;
	err = operator_count(st, &n);
	if (!err && !n)
		err = operator_add(st, "admin", pw, OP_ADMIN);
	if (!err)
		err = store_commit(st);		/* a failed commit rolls back */
	else
		store_rollback(st);
	if (!err && !n) {
		memcpy(out, pw, strlen(pw) + 1);
		err = 1;
	}

out_cleanse:
	OPENSSL_cleanse(pw, sizeof(pw));
	return err;
}
