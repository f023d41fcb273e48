/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The schema once, for both back ends: each table a list of columns
 * (name, a portable type, NOT NULL with a default, a CHECK in the SQL both
 * dialects share) and each column the schema version it came in with.
 * schema_render() writes migration v (what version v - 1 lacks: new
 * tables, new columns, new indexes) in sqlite's or PostgreSQL's dialect;
 * the types are all that differ (INTEGER and BIGINT, REAL and DOUBLE
 * PRECISION, a rowid and an identity column).
 *
 * sqlite's migrations 1 to 4 were released as SQL before this description
 * existed and are never edited (store.c); a unit test checks that they
 * make exactly the tables described here. From 5 on, both back ends run
 * what schema_render() writes.
 *
 * Tables marked local stay in each node's sqlite (media sessions: media
 * is per node); the others are shared by every node of a PostgreSQL
 * store. The generic row copy (pg.c) uses the same description to move a
 * row between sqlite and PostgreSQL: every column but the identity, as
 * text.
 */
#ifndef SLUICE_STORE_SCHEMA_H
#define SLUICE_STORE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

enum schema_type {
	COL_INT = 0,	/* 64-bit integer */
	COL_TEXT,
	COL_REAL,
	COL_ID,		/* an integer key each database numbers itself */
};

enum schema_dialect {
	DIALECT_SQLITE = 0,
	DIALECT_PG,
};

struct schema_col {
	const char	*name;
	enum schema_type type;
	const char	*dflt;		/* NOT NULL DEFAULT this; NULL: NOT NULL, no default */
	const char	*check;		/* a CHECK expression, or NULL */
	bool		unique;
	bool		pk;		/* the primary key (one column; see pg_key) */
	int		since;		/* the schema version that added it */
};

struct schema_table {
	const char	*name;
	const struct schema_col *cols;
	const char	*constraint;	/* a table constraint, or NULL */
	const char	*key;		/* what a row is found by: "username", "aor, contact" */
	const char	*pg_key;	/* PostgreSQL's primary key when it differs (shared ids) */
	bool		local;		/* not in PostgreSQL */
	int		since;
};

struct schema_index {
	const char	*name;
	const char	*table;
	const char	*def;		/* "(expires)", "(open) WHERE open = 1" */
	int		since;
};

extern const struct schema_table schema_tables[];
extern const struct schema_index schema_indexes[];

/* The version this description reaches (store_schema_latest() is the same). */
int schema_latest(void);
const struct schema_table *schema_table(const char *name);
const struct schema_col *schema_col(const struct schema_table *t, const char *name);

/*
 * Migration v (from v - 1) in dialect d into out: 0, -ENOSPC when it does
 * not fit, -ENOENT when v has nothing for d.
 */
int schema_render(enum schema_dialect d, int v, char *out, size_t n);

#endif /* SLUICE_STORE_SCHEMA_H */
