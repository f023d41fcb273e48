/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MML operators in the database (table operators): a name, a role and a
 * password kept as PBKDF2-HMAC-SHA256 with a random salt, never the
 * password itself. ADMIN may change things; OPERATOR may only look.
 *
 * There is no built-in password: on the first run (no operator at all)
 * operator_bootstrap() creates "admin" with [mml] admin_password, or with a
 * random one that sluiced prints once.
 *
 * An unknown name and a wrong password look alike to the caller (same
 * result, same work: the hash is computed either way). Failed logins are
 * counted per operator until the next good one.
 */
#ifndef SLUICE_STORE_OPERATOR_H
#define SLUICE_STORE_OPERATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define OP_NAME_MAX		33	/* with the NUL */
#define OP_PASSWORD_MAX		129
#define OP_PASSWORD_MIN		8
#define OP_ITERATIONS		10000	/* PBKDF2 rounds for new passwords */

enum op_role {
	OP_OPERATOR = 0,
	OP_ADMIN,
};

struct operator {
	char		name[OP_NAME_MAX];
	enum op_role	role;
	uint32_t	failed;		/* failed logins since the last good one */
	int64_t		last_login;	/* unix seconds, 0: never */
	int64_t		created;
};

typedef int (*operator_fn)(const struct operator *op, void *arg);

const char *operator_role_name(enum op_role role);	/* "ADMIN", "OPERATOR" */
int operator_role_parse(const char *name, enum op_role *out);	/* case-insensitive */
/* 1 to 32 of [A-Za-z0-9_.-]. */
bool operator_name_ok(const char *name);

/* -EEXIST when taken, -EINVAL for a bad name or a password shorter than OP_PASSWORD_MIN. */
int operator_add(struct store *st, const char *name, const char *password, enum op_role role);
int operator_set_password(struct store *st, const char *name, const char *password);
int operator_set_role(struct store *st, const char *name, enum op_role role);
/* -ENOENT when there is none. */
int operator_delete(struct store *st, const char *name);
int operator_get(struct store *st, const char *name, struct operator *out);
int operator_list(struct store *st, operator_fn fn, void *arg);
int operator_count(struct store *st, int *n);

/*
 * A login: 0 and the role when name and password match (the failure count
 * is reset, last_login set), -EACCES otherwise, whether the name exists or
 * not (the failure count of an existing one goes up).
 */
int operator_check(struct store *st, const char *name, const char *password,
		   enum op_role *role);

/*
 * operator_check() in three steps, so that the 10,000 rounds of HMAC run
 * off the event loop: begin reads the operator's salt and hash (on the
 * loop's connection), hash computes (any thread: it touches l alone and
 * wipes the password), end compares, records the login and wipes l.
 */
#define OP_SALT_BYTES	16
#define OP_HASH_BYTES	32
struct op_login {
	char		name[OP_NAME_MAX];
	char		password[OP_PASSWORD_MAX];
	bool		found;
	enum op_role	role;
	int		iterations;
	unsigned char	salt[OP_SALT_BYTES];
	unsigned char	want[OP_HASH_BYTES];
	unsigned char	got[OP_HASH_BYTES];
	int		hash_err;
};
int operator_login_begin(struct store *st, const char *name, const char *password,
			 struct op_login *l);
void operator_login_hash(struct op_login *l);
/* operator_login_hash() as a worker thread's job (store_call's), data the op_login. */
int operator_login_hash_job(struct store *st, void *data);
int operator_login_end(struct store *st, struct op_login *l, enum op_role *role);

/*
 * The first run: with no operator in the database, adds "admin" (ADMIN)
 * with password, or with a random one of 16 characters from [A-Za-z0-9]
 * when password is empty, copied to out. Returns 1 when it added one, 0
 * when operators exist already, or -errno.
 */
int operator_bootstrap(struct store *st, const char *password, char *out, size_t outlen);

#endif /* SLUICE_STORE_OPERATOR_H */
