// SPDX-License-Identifier: GPL-2.0-only
/*
 * The schema's description (schema.h) and its rendering to each dialect.
 * A column, once released, is never edited: a change is a new column or
 * table with the next version in its since.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/schema.h"

#define Z	"0"
#define E	"''"

static const struct schema_col media_cols[] = {
	{ "id", COL_TEXT, NULL, NULL, false, true, 1 },
	{ "state", COL_TEXT, NULL, NULL, false, false, 1 },	/* JSON, media/persist.c */
	{ "updated", COL_INT, NULL, NULL, false, false, 1 },	/* unix seconds */
	{ 0 }
};

static const struct schema_col sub_cols[] = {
	{ "id", COL_ID, NULL, NULL, false, true, 2 },
	{ "impu", COL_TEXT, NULL, NULL, true, false, 2 },
	{ "username", COL_TEXT, NULL, NULL, true, false, 2 },
	{ "realm", COL_TEXT, NULL, NULL, false, false, 2 },
	{ "ha1_md5", COL_TEXT, NULL, NULL, false, false, 2 },
	{ "ha1_sha256", COL_TEXT, NULL, NULL, false, false, 2 },
	{ "display_name", COL_TEXT, E, NULL, false, false, 2 },
	{ "phone", COL_TEXT, E, NULL, false, false, 2 },
	{ "email", COL_TEXT, E, NULL, false, false, 2 },
	{ "status", COL_TEXT, "'ACTIVE'", "status IN ('ACTIVE', 'INACTIVE', 'SUSPENDED')",
	  false, false, 2 },
	{ "service_type", COL_TEXT, E, NULL, false, false, 2 },
	{ "role", COL_TEXT, E, NULL, false, false, 2 },
	{ "created", COL_INT, NULL, NULL, false, false, 2 },
	{ "updated", COL_INT, NULL, NULL, false, false, 2 },
	{ "digest", COL_TEXT, E,
	  "digest IN ('', 'MD5', 'SHA-256', 'SHA-256, MD5', 'MD5, SHA-256')", false, false, 4 },
	{ 0 }
};

static const struct schema_col reg_cols[] = {
	{ "id", COL_ID, NULL, NULL, false, true, 2 },
	{ "aor", COL_TEXT, NULL, NULL, false, false, 2 },
	{ "contact", COL_TEXT, NULL, NULL, false, false, 2 },
	{ "received_addr", COL_TEXT, NULL, NULL, false, false, 2 },
	{ "received_port", COL_INT, NULL, NULL, false, false, 2 },
	{ "transport", COL_TEXT, NULL, NULL, false, false, 2 },
	{ "expires", COL_INT, NULL, NULL, false, false, 2 },
	{ "call_id", COL_TEXT, NULL, NULL, false, false, 2 },
	{ "cseq", COL_INT, NULL, NULL, false, false, 2 },
	{ "q", COL_INT, "1000", NULL, false, false, 2 },
	{ "user_agent", COL_TEXT, E, NULL, false, false, 2 },
	{ "path", COL_TEXT, E, NULL, false, false, 2 },
	{ "instance", COL_TEXT, E, NULL, false, false, 2 },
	{ "nat", COL_INT, Z, NULL, false, false, 2 },
	{ "updated", COL_INT, NULL, NULL, false, false, 2 },
	/* The node that took the REGISTER and owns the flow, and its SIP address. */
	{ "node", COL_TEXT, E, NULL, false, false, 5 },
	{ "node_addr", COL_TEXT, E, NULL, false, false, 5 },
	{ 0 }
};

#define CDR_INT(n)	{ n, COL_INT, Z, NULL, false, false, 3 }
#define CDR_TEXT(n)	{ n, COL_TEXT, E, NULL, false, false, 3 }
#define CDR_REAL(n)	{ n, COL_REAL, Z, NULL, false, false, 3 }

static const struct schema_col cdr_cols[] = {
	{ "id", COL_INT, NULL, NULL, false, true, 3 },	/* the node's record id */
	{ "record_type", COL_TEXT, NULL, NULL, false, false, 3 },
	CDR_INT("open"), CDR_TEXT("a_call_id"), CDR_TEXT("b_call_id"),
	CDR_TEXT("caller_uri"), CDR_TEXT("caller_number"), CDR_TEXT("caller_ip"),
	CDR_INT("caller_port"), CDR_TEXT("callee_uri"), CDR_TEXT("callee_number"),
	CDR_TEXT("callee_ip"), CDR_INT("callee_port"), CDR_INT("invite_ms"),
	CDR_INT("ring_ms"), CDR_INT("answer_ms"), CDR_INT("end_ms"), CDR_INT("duration_s"),
	CDR_INT("billable_s"), CDR_INT("setup_ms"), CDR_TEXT("disposition"),
	CDR_INT("status_code"), CDR_TEXT("status_text"), CDR_TEXT("released_by"),
	CDR_TEXT("close_reason"), CDR_TEXT("codec"), CDR_TEXT("caller_ua"),
	CDR_TEXT("callee_ua"), CDR_TEXT("datapath"), CDR_TEXT("contact"), CDR_INT("expires"),
	CDR_TEXT("message_body"), CDR_TEXT("server_ip"), CDR_INT("server_port"),
	CDR_INT("cseq"), CDR_TEXT("extra_info"),
	CDR_INT("a_packets"), CDR_INT("a_bytes"), CDR_INT("a_lost"), CDR_REAL("a_jitter_ms"),
	CDR_REAL("a_r"), CDR_REAL("a_mos"),
	CDR_INT("b_packets"), CDR_INT("b_bytes"), CDR_INT("b_lost"), CDR_REAL("b_jitter_ms"),
	CDR_REAL("b_r"), CDR_REAL("b_mos"),
	{ "node", COL_TEXT, E, NULL, false, false, 5 },	/* [store] node that wrote it */
	/* 6: who listened in on the call (STR LISTEN); a test call (ORG TESTCALL) */
	{ "listened_by", COL_TEXT, E, NULL, false, false, 6 },
	{ "test_call", COL_INT, Z, NULL, false, false, 6 },
	{ 0 }
};

static const struct schema_col op_cols[] = {
	{ "name", COL_TEXT, NULL, NULL, false, true, 3 },
	{ "role", COL_TEXT, NULL, "role IN ('ADMIN', 'OPERATOR')", false, false, 3 },
	{ "salt", COL_TEXT, NULL, NULL, false, false, 3 },
	{ "hash", COL_TEXT, NULL, NULL, false, false, 3 },
	{ "iterations", COL_INT, NULL, NULL, false, false, 3 },
	{ "failed", COL_INT, Z, NULL, false, false, 3 },
	{ "last_login", COL_INT, Z, NULL, false, false, 3 },
	{ "created", COL_INT, NULL, NULL, false, false, 3 },
	{ 0 }
};

static const struct schema_col bl_cols[] = {
	{ "prefix", COL_TEXT, NULL, NULL, false, true, 3 },
	{ "reason", COL_TEXT, E, NULL, false, false, 3 },
	{ "created", COL_INT, NULL, NULL, false, false, 3 },
	{ 0 }
};

static const struct schema_col node_cols[] = {
	{ "name", COL_TEXT, NULL, NULL, false, true, 5 },	/* [store] node */
	{ "address", COL_TEXT, E, NULL, false, false, 5 },	/* [store] node_address */
	{ "started", COL_INT, Z, NULL, false, false, 5 },	/* unix seconds */
	{ 0 }
};

const struct schema_table schema_tables[] = {
	{ "media_sessions", media_cols, NULL, "id", NULL, true, 1 },
	{ "subscribers", sub_cols, NULL, "username", NULL, false, 2 },
	{ "registrations", reg_cols, "UNIQUE (aor, contact)", "aor, contact", NULL, false, 2 },
	{ "cdr", cdr_cols, NULL, "id", "PRIMARY KEY (node, id)", false, 3 },
	{ "operators", op_cols, NULL, "name", NULL, false, 3 },
	{ "blacklist", bl_cols, NULL, "prefix", NULL, false, 3 },
	{ "nodes", node_cols, NULL, "name", NULL, false, 5 },
	{ 0 }
};

const struct schema_index schema_indexes[] = {
	{ "registrations_expires", "registrations", "(expires)", 2 },
	{ "cdr_invite", "cdr", "(invite_ms)", 3 },
	{ "cdr_open", "cdr", "(open) WHERE open = 1", 3 },
	{ "registrations_node", "registrations", "(node)", 5 },
	{ 0 }
};

int schema_latest(void)
{
	int v = 0;

	for (const struct schema_table *t = schema_tables; t->name; t++) {
		if (t->since > v)
			v = t->since;
		for (const struct schema_col *c = t->cols; c->name; c++)
			if (c->since > v)
				v = c->since;
	}
	for (const struct schema_index *i = schema_indexes; i->name; i++)
		if (i->since > v)
			v = i->since;
	return v;
}

const struct schema_table *schema_table(const char *name)
{
	for (const struct schema_table *t = schema_tables; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

const struct schema_col *schema_col(const struct schema_table *t, const char *name)
{
	for (const struct schema_col *c = t->cols; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

struct out {
	char	*p;
	size_t	n, len;
	bool	over;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(o->p + o->len, o->n - o->len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= o->n - o->len)
		o->over = true;
	else
		o->len += (size_t)k;
}

static const char *type_name(enum schema_dialect d, const struct schema_table *t,
			     const struct schema_col *c)
{
	switch (c->type) {
	case COL_INT:
		return d == DIALECT_PG ? "BIGINT" : "INTEGER";
	case COL_REAL:
		return d == DIALECT_PG ? "DOUBLE PRECISION" : "REAL";
	case COL_ID:
		(void)t;
		return d == DIALECT_PG ? "BIGINT GENERATED BY DEFAULT AS IDENTITY" : "INTEGER";
	default:
		return "TEXT";
	}
}

static void column(struct out *o, enum schema_dialect d, const struct schema_table *t,
		   const struct schema_col *c)
{
	bool pk = c->pk && !(d == DIALECT_PG && t->pg_key);

	put(o, "%s %s", c->name, type_name(d, t, c));
	if (pk)
		put(o, " PRIMARY KEY");
	else
		put(o, " NOT NULL");
	if (c->dflt)
		put(o, " DEFAULT %s", c->dflt);
	if (c->unique)
		put(o, " UNIQUE");
	if (c->check)
		put(o, " CHECK (%s)", c->check);
}

/* The version by which every column of t's pg_key exists (0: no pg_key). */
static int pg_key_since(const struct schema_table *t)
{
	char name[32];
	int v = 0;

	for (const char *k = t->pg_key ? strchr(t->pg_key, '(') : NULL; k && *k != ')';) {
		size_t w;

		k += strspn(k, "(, ");
		w = strcspn(k, ", )");
		snprintf(name, sizeof(name), "%.*s", (int)w, k);
		k += w;
		const struct schema_col *c = schema_col(t, name);

		if (c && c->since > v)
			v = c->since;
	}
	return v;
}

static void create_table(struct out *o, enum schema_dialect d, const struct schema_table *t,
			 int v)
{
	bool first = true;

	put(o, "CREATE TABLE %s (", t->name);
	for (const struct schema_col *c = t->cols; c->name; c++) {
		if (c->since > v)
			continue;
		put(o, "%s", first ? "" : ", ");
		column(o, d, t, c);
		first = false;
	}
	if (t->constraint)
		put(o, ", %s", t->constraint);
	if (d == DIALECT_PG && t->pg_key && pg_key_since(t) <= v)
		put(o, ", %s", t->pg_key);
	put(o, ");");
}

int schema_render(enum schema_dialect d, int v, char *buf, size_t n)
{
	struct out o = { buf, n, 0, false };

	if (!n)
		return -ENOSPC;
	buf[0] = '\0';
	for (const struct schema_table *t = schema_tables; t->name; t++) {
		if (d == DIALECT_PG && t->local)
			continue;
		if (t->since == v) {
			create_table(&o, d, t, v);
			continue;
		}
		if (t->since > v)
			continue;
		for (const struct schema_col *c = t->cols; c->name; c++) {
			if (c->since != v)
				continue;
			put(&o, "ALTER TABLE %s ADD COLUMN ", t->name);
			column(&o, d, t, c);
			put(&o, ";");
		}
		/* PostgreSQL's own key, once its columns are all there. */
		if (d == DIALECT_PG && t->pg_key && pg_key_since(t) == v)
			put(&o, "ALTER TABLE %s ADD %s;", t->name, t->pg_key);
	}
	for (const struct schema_index *i = schema_indexes; i->name; i++) {
		const struct schema_table *t = schema_table(i->table);

		if (i->since != v || (d == DIALECT_PG && t && t->local))
			continue;
		put(&o, "CREATE INDEX %s ON %s %s;", i->name, i->table, i->def);
	}
	if (o.over)
		return -ENOSPC;
	return o.len ? 0 : -ENOENT;
}
