// SPDX-License-Identifier: GPL-2.0-only
/*
 * The MML commands (see cmd.h): one table names each command, who may
 * run it, its parameters and their meaning (HELP prints it), and the
 * handler. A handler checks its parameters, does the work and writes the
 * reply: mml_ok() and a table, or mml_fail() with a RETCODE and a reason.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "dp/dp.h"
#include "media/session.h"
#include "mml/cmd.h"
#include "mml/server.h"
#include "sip/b2bua.h"
#include "sip/protect.h"
#include "sip/registrar.h"
#include "sip/server.h"
#include "store/cdr.h"
#include "store/operator.h"
#include "store/queue.h"
#include "store/subscriber.h"
#include "version.h"

struct mml_param_help {
	const char	*key;
	bool		required;
	const char	*what;
};

/* What a command works on; mml_run() refuses it when that is not there. */
#define NEEDS_STORE	(1u << 0)
#define NEEDS_SIP	(1u << 1)
#define NEEDS_CDR	(1u << 2)

struct mml_command {
	const char	*verb, *obj;
	bool		admin;		/* changes something: ADMIN only */
	unsigned	needs;		/* NEEDS_* */
	int		(*run)(struct mml_call *c);
	const char	*what;
	struct mml_param_help params[12];	/* ending in { 0 } */
};

static const struct mml_command commands[];

/* ---- the head of a handler's reply ---- */

void mml_ok(struct mml_call *c)
{
	struct mml_server *m = c->m;

	mml_reply_head(c->r, m->env.conf->mml_node, time(NULL), m->seq++, c->text, 0, NULL);
	c->answered = true;
}

int mml_fail(struct mml_call *c, int retcode, const char *fmt, ...)
{
	struct mml_server *m = c->m;
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	mml_reply_head(c->r, m->env.conf->mml_node, time(NULL), m->seq++, c->text, retcode,
		       reason);
	c->answered = true;
	m->stats.errors++;
	return retcode;
}

/* ---- small helpers ---- */

/* A parameter's key is key, with or without underscores (DISPLAYNAME, DISPLAY_NAME). */
static bool key_is(const char *a, const char *b)
{
	while (*a || *b) {
		if (*a == '_') {
			a++;
			continue;
		}
		if (*b == '_') {
			b++;
			continue;
		}
		if (*a != *b)
			return false;
		a++;
		b++;
	}
	return true;
}

/* The value of key (the first, when the API gave it more than once). */
static const char *param(const struct mml_call *c, const char *key)
{
	for (int i = 0; i < c->cmd->nparams; i++)
		if (key_is(c->cmd->params[i].key, key))
			return c->cmd->params[i].value;
	return NULL;
}

static void fmt_time(int64_t ms, char *out, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms) {
		snprintf(out, n, "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

/* "2026-11-24" or "2026-11-24 15:04:05" (local time) as unix milliseconds. */
static int parse_time(const char *s, int64_t *ms)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end)
		return -EINVAL;
	if (*end && !(end = strptime(end, " %H:%M:%S", &tm)))
		return -EINVAL;
	if (*end)
		return -EINVAL;
	tm.tm_isdst = -1;
	*ms = (int64_t)mktime(&tm) * 1000;
	return 0;
}

static void fmt_u64(char *out, size_t n, uint64_t v)
{
	snprintf(out, n, "%" PRIu64, v);
}

/* A two-column table of names and values (SYSINFO, SRVSTAT, CFG). */
struct kv {
	struct mml_reply *r;
	int		n;
};

static void kv_begin(struct kv *kv, struct mml_call *c, const char *title)
{
	static const char *const cols[] = { "NAME", "VALUE" };

	kv->r = c->r;
	kv->n = 0;
	mml_reply_table_begin(c->r, title, 2, cols);
}

static void kv_add(struct kv *kv, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void kv_add(struct kv *kv, const char *name, const char *fmt, ...)
{
	char value[512];
	const char *row[2] = { name, value };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	mml_reply_row(kv->r, row);
	kv->n++;
}

static void kv_end(struct kv *kv)
{
	mml_reply_table_end(kv->r);
}

/* ---- USER ---- */

static int user_fields(struct mml_call *c, struct subscriber *s)
{
	static const struct { const char *key; size_t off, size; } text[] = {
		{ "DISPLAYNAME", offsetof(struct subscriber, display_name), SUB_TEXT_MAX },
		{ "PHONE", offsetof(struct subscriber, phone), SUB_SHORT_MAX },
		{ "EMAIL", offsetof(struct subscriber, email), SUB_TEXT_MAX },
		{ "SERVICETYPE", offsetof(struct subscriber, service_type), SUB_SHORT_MAX },
		{ "ROLE", offsetof(struct subscriber, role), SUB_SHORT_MAX },
	};
	const char *v;

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		v = param(c, text[i].key);
		if (!v)
			continue;
		if (!subscriber_text_ok(v, text[i].size))
			return mml_fail(c, MML_RET_PARAM, "%s: too long or has control characters",
					text[i].key);
		snprintf((char *)s + text[i].off, text[i].size, "%s", v);
	}
	v = param(c, "STATUS");
	if (v && subscriber_status_parse(v, &s->status))
		return mml_fail(c, MML_RET_PARAM, "STATUS: ACTIVE, INACTIVE or SUSPENDED");
	v = param(c, "PASSWORD");
	if (v && subscriber_set_password(s, v))
		return mml_fail(c, MML_RET_PARAM, "PASSWORD: refused");
	v = param(c, "DIGEST");
	if (v && subscriber_digest_parse(v, &s->digest))
		return mml_fail(c, MML_RET_PARAM,
				"DIGEST: SHA-256, MD5, both in the order offered, or DEFAULT");
	return 0;
}

/* ---- changes through the store's writer ---- */

/*
 * A change is made by the store's writer (store/queue.h), never on the
 * loop's connection: the handler checks what it can from memory, fills an
 * mml_write and defer()s it. fn runs on the writer, inside its
 * transaction, on the writer's own connection (it may run again when the
 * batch is retried: it touches the database and w->u alone). Once it is
 * committed (and, with a shared store, copied there), after runs on the
 * loop with fn's result: it changes what the loop keeps in memory and
 * writes the reply, which the front end (m->pending) sends.
 */
struct mml_write;
typedef int (*write_after_fn)(struct mml_call *c, struct mml_write *w);

struct mml_write {
	struct mml_pending	p;		/* the front end's */
	struct mml_server	*m;		/* m->writes holds p until the server closes */
	bool			json;		/* the reply is the web API's */
	char			text[MML_MAX_LINE + 64];
	char			op[OP_NAME_MAX];
	enum op_role		role;
	store_call_fn		fn;
	write_after_fn		after;
	int			rc;		/* fn's result */
	const char		*table;		/* the row's, for a shared store (PostgreSQL) */
	char			key[SUB_IMPU_MAX];
	int			n;		/* rows fn changed, where it counts them */
	char			*owned;		/* freed with w (a blacklist entry's reason) */
	union {
		struct subscriber	sub;
		struct {
			char		name[OP_NAME_MAX];
			char		pwd[OP_PASSWORD_MAX];
			enum op_role	role;
			bool		set_pwd, set_role;
		} op;
		struct {
			char		prefix[64];
			const char	*reason;	/* w->owned */
		} bl;
		struct {
			int64_t		before;
			char		text[32];
		} cdr;
	} u;
};

static struct mml_write *write_new(struct mml_call *c, store_call_fn fn, write_after_fn after)
{
	struct mml_write *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->fn = fn;
	w->after = after;
	w->role = c->role;
	w->json = c->r->render != NULL;
	snprintf(w->text, sizeof(w->text), "%s", c->text);
	snprintf(w->op, sizeof(w->op), "%s", c->op ? c->op : "");
	return w;
}

static void write_free(struct mml_write *w)
{
	if (!w)
		return;
	free(w->owned);
	mml_reply_free(&w->p.reply);
	OPENSSL_cleanse(w, sizeof(*w));		/* an operator's password */
	free(w);
}

/* On the loop, fn's result in: the reply, and the pending front end told. */
static void write_finish(struct mml_write *w)
{
	struct mml_server *m = w->m;
	struct mml_pending **pp;

	if (!w->p.gone) {
		struct mml_cmd none = { .nparams = 0 };
		struct mml_call c = { m, &none, &w->p.reply, w->text, w->role, w->op, false, false };

		for (pp = &m->writes; *pp && *pp != &w->p; pp = &(*pp)->next)
			;
		if (*pp)
			*pp = w->p.next;
		if (w->json) {
			if (mml_reply_init_json(&w->p.reply))
				w->p.reply.err = -ENOMEM;
		} else {
			mml_reply_init(&w->p.reply);
		}
		w->p.retcode = w->after(&c, w);
		if (!c.answered)
			w->p.retcode = mml_fail(&c, MML_RET_INTERNAL, "no reply");
		mml_reply_end(&w->p.reply);
	} else {
		w->p.retcode = MML_RET_INTERNAL;
	}
	if (w->p.ready)
		w->p.ready(&w->p, w->p.arg);
	write_free(w);
}

/* With a shared store: the row is there too. */
static void write_shared(struct store_op *op, void *arg)
{
	(void)op;
	write_finish(arg);
}

/* Back from the writer: committed (rc 0), or refused. */
static void write_done(struct store_op *op, void *arg)
{
	struct mml_write *w = arg;
	struct store *st = w->p.gone ? NULL : w->m->env.store;

	op->u.call.data = NULL;		/* w is ours again */
	w->rc = op->result;
	/* A shared store (PostgreSQL) copies the row: the reply waits for that too. */
	if (!w->rc && w->table && st && st->wq && store_q_sync(st->wq, w->table, w->key) &&
	    !store_q_fence(st->wq, write_shared, w))
		return;
	write_finish(w);
}

/*
 * Hands w to the writer; the reply follows (the command returns with
 * c->deferred). A store without a writer (a tool's, a test's) makes the
 * change at once, as before.
 */
static int defer(struct mml_call *c, struct mml_write *w)
{
	struct mml_server *m = c->m;
	struct store *st = m->env.store;
	struct store_op *op;
	int rc;

	if (!st->wq) {
		w->rc = w->fn(st, w);
		rc = w->after(c, w);
		write_free(w);
		return rc;
	}
	op = store_op_new(STORE_OP_CALL);
	if (!op) {
		write_free(w);
		return mml_fail(c, MML_RET_INTERNAL, "out of memory");
	}
	w->m = m;
	op->u.call.fn = w->fn;
	op->u.call.data = w;
	store_q_submit(st->wq, op, write_done, w);
	w->p.next = m->writes;
	m->writes = &w->p;
	m->pending = &w->p;
	c->answered = true;
	c->deferred = true;
	return 0;
}

/* The usual answers of a write refused: RETCODE 7 and the database's reason. */
static int write_failed(struct mml_call *c, int rc)
{
	return mml_fail(c, MML_RET_INTERNAL, "database: %s", strerror(-rc));
}

/* On the writer. */
static int user_add_w(struct store *st, void *data)
{
	struct mml_write *w = data;

	return subscriber_add(st, &w->u.sub);
}

static int user_update_w(struct store *st, void *data)
{
	struct mml_write *w = data;

	return subscriber_update(st, &w->u.sub);
}

static int user_delete_w(struct store *st, void *data)
{
	struct mml_write *w = data;

	return subscriber_delete(st, w->u.sub.username);
}

/* On the loop, after. */
static int user_added(struct mml_call *c, struct mml_write *w)
{
	struct store *st = c->m->env.store;

	subscriber_forget(st, w->u.sub.username);
	if (w->rc == -EEXIST)
		return mml_fail(c, MML_RET_EXISTS, "subscriber %s exists", w->u.sub.username);
	if (w->rc)
		return write_failed(c, w->rc);
	LOG(L_INFO, "[mml] %s added subscriber %s", c->op, w->u.sub.username);
	mml_ok(c);
	return 0;
}

static int user_updated(struct mml_call *c, struct mml_write *w)
{
	subscriber_forget(c->m->env.store, w->u.sub.username);
	if (w->rc == -ENOENT)
		return mml_fail(c, MML_RET_NOT_FOUND, "no subscriber %s", w->u.sub.username);
	if (w->rc)
		return write_failed(c, w->rc);
	LOG(L_INFO, "[mml] %s changed subscriber %s", c->op, w->u.sub.username);
	mml_ok(c);
	return 0;
}

static int user_removed(struct mml_call *c, struct mml_write *w)
{
	struct store *st = c->m->env.store;
	const char *impu = w->u.sub.impu;

	subscriber_forget(st, w->u.sub.username);
	if (w->rc == -ENOENT)
		return mml_fail(c, MML_RET_NOT_FOUND, "no subscriber %s", w->u.sub.username);
	if (w->rc)
		return write_failed(c, w->rc);
	/* A shared store: its bindings on the other nodes too (they stop routing to them). */
	if (st->wq && st->wq->be == &store_pg_backend) {
		struct store_op *op = store_op_new(STORE_OP_BINDING_DEL_AOR);

		if (op) {
			snprintf(op->u.binding.aor, sizeof(op->u.binding.aor), "%s", impu);
			store_q_submit(st->wq, op, NULL, NULL);
		}
	}
	/* Its bindings go from the registrar's index too. */
	if (c->m->env.sip) {
		const struct reg_aor *a;

		while ((a = registrar_lookup(&c->m->env.sip->reg, impu, 0)) && a->bindings)
			registrar_remove(&c->m->env.sip->reg, impu, a->bindings->b.contact);
	}
	LOG(L_INFO, "[mml] %s removed subscriber %s", c->op, w->u.sub.username);
	mml_ok(c);
	return 0;
}

static int add_user(struct mml_call *c)
{
	const char *user = param(c, "USERNAME"), *pwd = param(c, "PASSWORD"), *why = NULL;
	struct mml_write *w;
	int rc;

	if (!user || !pwd)
		return mml_fail(c, MML_RET_PARAM, "USERNAME and PASSWORD are required");
	w = write_new(c, user_add_w, user_added);
	if (!w)
		return mml_fail(c, MML_RET_INTERNAL, "out of memory");
	if (subscriber_init(&w->u.sub, user, c->m->env.conf->sip_domain, pwd, &why)) {
		write_free(w);
		return mml_fail(c, MML_RET_PARAM, "%s", why ? why : "bad USERNAME or PASSWORD");
	}
	rc = user_fields(c, &w->u.sub);
	if (rc) {
		write_free(w);
		return rc;
	}
	w->table = "subscribers";
	snprintf(w->key, sizeof(w->key), "%s", user);
	return defer(c, w);
}

static int mod_user(struct mml_call *c)
{
	const char *user = param(c, "USERNAME");
	struct mml_write *w;
	int rc;

	if (!user)
		return mml_fail(c, MML_RET_PARAM, "USERNAME is required");
	if (c->cmd->nparams < 2)
		return mml_fail(c, MML_RET_PARAM, "nothing to change");
	w = write_new(c, user_update_w, user_updated);
	if (!w)
		return mml_fail(c, MML_RET_INTERNAL, "out of memory");
	/* From memory (the subscribers' copy) or the loop's connection, which only reads. */
	if (subscriber_get(c->m->env.store, user, &w->u.sub)) {
		write_free(w);
		return mml_fail(c, MML_RET_NOT_FOUND, "no subscriber %s", user);
	}
	rc = user_fields(c, &w->u.sub);
	if (rc) {
		write_free(w);
		return rc;
	}
	w->table = "subscribers";
	snprintf(w->key, sizeof(w->key), "%s", user);
	return defer(c, w);
}

static int rmv_user(struct mml_call *c)
{
	const char *user = param(c, "USERNAME");
	struct mml_write *w;

	if (!user)
		return mml_fail(c, MML_RET_PARAM, "USERNAME is required");
	w = write_new(c, user_delete_w, user_removed);
	if (!w)
		return mml_fail(c, MML_RET_INTERNAL, "out of memory");
	if (subscriber_get(c->m->env.store, user, &w->u.sub)) {
		write_free(w);
		return mml_fail(c, MML_RET_NOT_FOUND, "no subscriber %s", user);
	}
	w->table = "subscribers";
	snprintf(w->key, sizeof(w->key), "%s", user);
	return defer(c, w);
}

static int count_bindings(struct mml_call *c, const char *impu)
{
	const struct reg_aor *a;

	if (!c->m->env.sip)
		return 0;
	a = registrar_lookup(&c->m->env.sip->reg, impu, c->m->env.sip->now());
	return a ? (int)a->n : 0;
}

struct user_walk {
	struct mml_call	*c;
	const char	*search;	/* SEARCH=, NULL: every one */
	int		n;
};

static bool user_matches(const struct subscriber *s, const char *search)
{
	return !search || strcasestr(s->username, search) || strcasestr(s->impu, search) ||
	       strcasestr(s->display_name, search) || strcasestr(s->phone, search) ||
	       strcasestr(s->email, search);
}

static int user_row(const struct subscriber *s, void *arg)
{
	struct user_walk *w = arg;
	char regs[16], digest[DIGEST_ALGS_TEXT_MAX];
	const char *row[] = { s->username, s->impu, s->display_name, s->phone, s->email,
			      subscriber_status_name(s->status), s->service_type, s->role, regs,
			      digest };

	if (!user_matches(s, w->search))
		return 0;
	snprintf(regs, sizeof(regs), "%d", count_bindings(w->c, s->impu));
	if (!s->digest.n || digest_algs_format(&s->digest, digest, sizeof(digest)))
		snprintf(digest, sizeof(digest), "DEFAULT");
	mml_reply_row(w->c->r, row);
	w->n++;
	return 0;
}

static int dsp_user(struct mml_call *c)
{
	static const char *const cols[] = { "USERNAME", "IMPU", "DISPLAYNAME", "PHONE", "EMAIL",
					    "STATUS", "SERVICETYPE", "ROLE", "BINDINGS",
					    "DIGEST" };
	const char *user = param(c, "USERNAME");
	struct user_walk w = { c, param(c, "SEARCH"), 0 };
	struct subscriber s;
	int rc;

	if (user && subscriber_get(c->m->env.store, user, &s))
		return mml_fail(c, MML_RET_NOT_FOUND, "no subscriber %s", user);
	mml_ok(c);
	mml_reply_table_begin(c->r, "Subscribers", 10, cols);
	mml_reply_table_types(c->r, "ssssssssns");
	rc = user ? user_row(&s, &w) : subscriber_list(c->m->env.store, user_row, &w);
	mml_reply_table_end(c->r);
	return rc ? MML_RET_INTERNAL : 0;
}

/* ---- REG ---- */

struct reg_walk {
	struct mml_call	*c;
	const char	*impu;		/* NULL: all */
	int64_t		now;
};

static int reg_row(const struct reg_binding *rb, void *arg)
{
	struct reg_walk *w = arg;
	const struct store_binding *b = &rb->b;
	char recv[80], left[24], q[16];
	const char *row[] = { b->aor, b->contact, recv, b->transport, left, q,
			      b->nat ? "YES" : "NO", b->user_agent };

	if (w->impu && strcmp(b->aor, w->impu))
		return 0;
	if (b->expires <= w->now)
		return 0;
	snprintf(recv, sizeof(recv), strchr(b->received_addr, ':') ? "[%s]:%u" : "%s:%u",
		 b->received_addr, b->received_port);
	snprintf(left, sizeof(left), "%" PRId64, b->expires - w->now);
	snprintf(q, sizeof(q), "%u.%03u", b->q / 1000, b->q % 1000);
	mml_reply_row(w->c->r, row);
	return 0;
}

/* USERNAME or IMPU to the IMPU; NULL when neither was given. */
static int impu_param(struct mml_call *c, char *out, size_t n, bool *given)
{
	const char *user = param(c, "USERNAME"), *impu = param(c, "IMPU");
	struct subscriber s;

	*given = user || impu;
	if (impu) {
		snprintf(out, n, "%s", impu);
		return 0;
	}
	if (!user)
		return 0;
	if (!c->m->env.store || subscriber_get(c->m->env.store, user, &s))
		return mml_fail(c, MML_RET_NOT_FOUND, "no subscriber %s", user);
	snprintf(out, n, "%s", s.impu);
	return 0;
}

static int dsp_reg(struct mml_call *c)
{
	static const char *const cols[] = { "IMPU", "CONTACT", "RECEIVED", "TRANSPORT",
					    "EXPIRES", "Q", "NAT", "USERAGENT" };
	char impu[SUB_IMPU_MAX];
	struct reg_walk w;
	bool given;
	int rc;

	rc = impu_param(c, impu, sizeof(impu), &given);
	if (rc)
		return rc;
	w = (struct reg_walk){ c, given ? impu : NULL, c->m->env.sip->now() };
	mml_ok(c);
	mml_reply_table_begin(c->r, "Registrations", 8, cols);
	mml_reply_table_types(c->r, "ssssnnss");
	registrar_foreach(&c->m->env.sip->reg, reg_row, &w);
	mml_reply_table_end(c->r);
	return 0;
}

static int rmv_reg(struct mml_call *c)
{
	const char *contact = param(c, "CONTACT");
	struct registrar *reg;
	const struct reg_aor *a;
	char impu[SUB_IMPU_MAX];
	int rc, n = 0;
	bool given;

	rc = impu_param(c, impu, sizeof(impu), &given);
	if (rc)
		return rc;
	if (!given)
		return mml_fail(c, MML_RET_PARAM, "USERNAME or IMPU is required");
	reg = &c->m->env.sip->reg;
	if (contact) {
		if (registrar_remove(reg, impu, contact))
			return mml_fail(c, MML_RET_NOT_FOUND, "%s has no binding %s", impu, contact);
		n = 1;
	} else {
		while ((a = registrar_lookup(reg, impu, 0)) && a->bindings &&
		       !registrar_remove(reg, impu, a->bindings->b.contact))
			n++;
	}
	if (!n)
		return mml_fail(c, MML_RET_NOT_FOUND, "%s is not registered", impu);
	registrar_flush(reg);
	LOG(L_INFO, "[mml] %s removed %d binding%s of %s", c->op, n, n == 1 ? "" : "s", impu);
	mml_ok(c);
	return 0;
}

/* ---- CALL and STREAM ---- */

struct call_walk {
	struct mml_call	*c;
	const char	*call_id;
	int64_t		now;
	int		n;
};

static int call_row(const struct b2bua_call_info *ci, void *arg)
{
	struct call_walk *w = arg;
	char start[32], dur[24], a[64], b[64] = "-";
	const char *row[] = { ci->a_call_id, ci->caller, ci->callee, ci->state, start, dur, a,
			      b, ci->b_call_id };

	if (w->call_id && strcmp(w->call_id, ci->a_call_id) && strcmp(w->call_id, ci->b_call_id))
		return 0;
	fmt_time(ci->invite_ms, start, sizeof(start));
	if (ci->answer_ms)
		snprintf(dur, sizeof(dur), "%" PRId64, (w->now - ci->answer_ms) / 1000);
	else
		snprintf(dur, sizeof(dur), "-");
	sip_peer_str(ci->a_peer, a, sizeof(a));
	if (ci->b_peer)
		sip_peer_str(ci->b_peer, b, sizeof(b));
	mml_reply_row(w->c->r, row);
	w->n++;
	return 0;
}

static int dsp_call(struct mml_call *c)
{
	static const char *const cols[] = { "CALLID", "CALLER", "CALLEE", "STATE", "START",
					    "DURATION", "CALLERADDR", "CALLEEADDR", "BCALLID" };
	struct call_walk w = { c, param(c, "CALLID"), cdr_now_ms(), 0 };

	mml_ok(c);
	mml_reply_table_begin(c->r, "Calls", 9, cols);
	mml_reply_table_types(c->r, "sssssnsss");
	b2bua_list(c->m->env.sip, call_row, &w);
	mml_reply_table_end(c->r);
	return 0;
}

static int rmv_call(struct mml_call *c)
{
	const char *id = param(c, "CALLID");

	if (!id)
		return mml_fail(c, MML_RET_PARAM, "CALLID is required");
	if (b2bua_remove(c->m->env.sip, id))
		return mml_fail(c, MML_RET_NOT_FOUND, "no call %s", id);
	LOG(L_INFO, "[mml] %s removed call %s", c->op, id);
	mml_ok(c);
	return 0;
}

static const char *endpoint_str(const struct media_endpoint *e, char *out, size_t n)
{
	struct sip_peer p = { 0 };
	char *slash;

	if (!e->len) {
		snprintf(out, n, "-");
		return out;
	}
	memcpy(&p.addr, &e->ss, sizeof(e->ss));
	p.len = e->len;
	sip_peer_str(&p, out, n);
	slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';	/* media has no SIP transport */
	return out;
}

static int dsp_stream(struct mml_call *c)
{
	static const char *const cols[] = { "SESSION", "STREAM", "LEG", "RELAYPORT", "PEER",
					    "PACKETS", "BYTES", "LOST", "JITTER", "MOS", "PATH" };
	struct media_ctx *m = c->m->env.media;
	const char *kernel, *ids[MML_MAX_PARAMS];
	int nids = 0;

	if (!m)
		return mml_fail(c, MML_RET_INTERNAL, "no media relay");
	/* MML gives one CALLID; the API may give several (the live calls page's). */
	for (int i = 0; i < c->cmd->nparams; i++)
		if (key_is(c->cmd->params[i].key, "CALLID"))
			ids[nids++] = c->cmd->params[i].value;
	kernel = m->dp ? m->dp->ops->name : "user";
	mml_ok(c);
	mml_reply_table_begin(c->r, "Streams", 11, cols);
	mml_reply_table_types(c->r, "snsnsnnnnns");
	for (struct media_session *s = m->sessions; s; s = s->next) {
		int k = 0;

		while (k < nids && strcmp(ids[k], s->id))
			k++;
		if (nids && k == nids)
			continue;
		for (int i = 0; i < s->nstreams; i++) {
			for (int leg = 0; leg < 2; leg++) {
				const struct media_sstream *st = &s->st[i];
				const struct media_leg *l = &st->relay.leg[leg];
				struct media_leg_report q;
				char idx[16], port[8], peer[80], pk[24], by[24], lost[24], jit[16],
				     mos[16];
				const char *row[] = { s->id, idx, leg ? "B" : "A", port, peer, pk, by,
						      lost, jit, mos, "" };

				if (media_leg_report(s, i, leg, &q))
					continue;
				snprintf(idx, sizeof(idx), "%d", i);
				snprintf(port, sizeof(port), "%u", st->port[leg]);
				endpoint_str(l->latched[0] ? &l->peer[0] : &l->sdp[0], peer,
					     sizeof(peer));
				fmt_u64(pk, sizeof(pk), q.packets);
				fmt_u64(by, sizeof(by), q.bytes);
				snprintf(lost, sizeof(lost), "%" PRId64, q.lost);
				snprintf(jit, sizeof(jit), "%.2f", q.jitter_ms);
				snprintf(mos, sizeof(mos), q.r > 0 ? "%.2f" : "-", q.mos);
				row[10] = q.offloaded ? kernel : "user";
				mml_reply_row(c->r, row);
			}
		}
	}
	mml_reply_table_end(c->r);
	return 0;
}

/* ---- CDR ---- */

static int cdr_filter_of(struct mml_call *c, struct cdr_filter *f, int default_limit)
{
	const char *v;

	memset(f, 0, sizeof(*f));
	f->limit = default_limit;
	if ((v = param(c, "FROM")) && parse_time(v, &f->from_ms))
		return mml_fail(c, MML_RET_PARAM, "FROM: YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\"");
	if ((v = param(c, "TO")) && parse_time(v, &f->to_ms))
		return mml_fail(c, MML_RET_PARAM, "TO: YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\"");
	if ((v = param(c, "CALLER")))
		snprintf(f->caller, sizeof(f->caller), "%s", v);
	if ((v = param(c, "CALLEE")))
		snprintf(f->callee, sizeof(f->callee), "%s", v);
	if ((v = param(c, "DISPOSITION")))
		snprintf(f->disposition, sizeof(f->disposition), "%s", v);
	if ((v = param(c, "TYPE")))
		snprintf(f->type, sizeof(f->type), "%s", v);
	if ((v = param(c, "NUMBER")))
		snprintf(f->number, sizeof(f->number), "%s", v);
	if ((v = param(c, "CODE"))) {
		char *end;
		long n = strtol(v, &end, 10);

		if (*end || n < 100 || n > 699)
			return mml_fail(c, MML_RET_PARAM, "CODE: a SIP status, 100 to 699");
		f->code = (int)n;
	}
	if ((v = param(c, "LIMIT"))) {
		char *end;
		long n = strtol(v, &end, 10);

		if (*end || n < 0 || n > 100000)
			return mml_fail(c, MML_RET_PARAM, "LIMIT: 0 (all) to 100000");
		f->limit = (int)n;
	}
	return 0;
}

static int cdr_row(const struct cdr_rec *r, void *arg)
{
	struct mml_call *c = arg;
	char id[24], start[32], code[16], dur[24], bill[24], mos_a[16], mos_b[16], reason[80];
	const char *row[] = { id, r->type, start, r->caller_number[0] ? r->caller_number
								      : r->caller_uri,
			      r->callee_number[0] ? r->callee_number : r->callee_uri,
			      r->open ? "ACTIVE" : r->disposition, code, dur, bill, reason,
			      mos_a, mos_b, r->datapath, r->listened_by[0] ? r->listened_by : "-",
			      r->test_call ? "YES" : "NO" };

	snprintf(id, sizeof(id), "%" PRId64, r->id);
	fmt_time(r->invite_ms, start, sizeof(start));
	snprintf(code, sizeof(code), "%d", r->status_code);
	snprintf(dur, sizeof(dur), "%" PRId64, r->duration_s);
	snprintf(bill, sizeof(bill), "%" PRId64, r->billable_s);
	snprintf(reason, sizeof(reason), "%s%s%s", r->close_reason, r->released_by[0] ? " by " : "",
		 r->released_by);
	snprintf(mos_a, sizeof(mos_a), r->q[0].r > 0 ? "%.2f" : "-", r->q[0].mos);
	snprintf(mos_b, sizeof(mos_b), r->q[1].r > 0 ? "%.2f" : "-", r->q[1].mos);
	mml_reply_row(c->r, row);
	return 0;
}

static int dsp_cdr(struct mml_call *c)
{
	static const char *const cols[] = { "ID", "TYPE", "START", "CALLER", "CALLEE",
					    "DISPOSITION", "CODE", "DURATION", "BILLABLE", "REASON",
					    "MOS_A", "MOS_B", "PATH", "LISTENEDBY", "TESTCALL" };
	struct cdr_filter f;
	int rc;

	rc = cdr_filter_of(c, &f, 50);
	if (rc)
		return rc;
	mml_ok(c);
	mml_reply_table_begin(c->r, "Call detail records", 15, cols);
	mml_reply_table_types(c->r, "nsssssnnnsnnsss");
	rc = cdr_query(c->m->env.cdr, &f, cdr_row, c);
	mml_reply_table_end(c->r);
	return rc ? MML_RET_INTERNAL : 0;
}

/*
 * FILE= of EXP CDR: a plain name in [cdr] export_dir, so that an operator
 * cannot make sluiced write where it may but they may not; a symbolic
 * link there is not followed. NULL with errno set when it cannot be had.
 */
static FILE *export_file(struct mml_call *c, const char *name, char *path, size_t n)
{
	const char *dir = c->m->env.conf->cdr_export_dir;
	int fd;

	if (!name[0] || name[0] == '.' || strchr(name, '/') || strlen(name) > 128) {
		errno = EINVAL;
		return NULL;
	}
	if (mkdir(dir, 0750) && errno != EEXIST)
		return NULL;
	if ((size_t)snprintf(path, n, "%s/%s", dir, name) >= n) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
	return fd < 0 ? NULL : fdopen(fd, "w");
}

static int exp_cdr(struct mml_call *c)
{
	const char *file = param(c, "FILE");
	char path[CONF_STR_MAX + 160];
	struct cdr_filter f;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int rc, n = 0;

	rc = cdr_filter_of(c, &f, 0);
	if (rc)
		return rc;
	out = file ? export_file(c, file, path, sizeof(path)) : open_memstream(&buf, &len);
	if (!out && errno == EINVAL)
		return mml_fail(c, MML_RET_PARAM, "FILE %s: a file name in [cdr] export_dir, "
				"not a path", file);
	if (!out)
		return mml_fail(c, MML_RET_PARAM, "FILE %s: %s", file, strerror(errno));
	rc = cdr_export_csv(c->m->env.cdr, &f, out, &n);
	if (fclose(out) && !rc)
		rc = -errno;
	if (rc) {
		free(buf);
		return mml_fail(c, MML_RET_INTERNAL, "export: %s", strerror(-rc));
	}
	mml_ok(c);
	if (file) {
		struct kv kv;

		kv_begin(&kv, c, "CDR export");
		kv_add(&kv, "FILE", "%s", path);
		kv_add(&kv, "RECORDS", "%d", n);
		kv_end(&kv);
		LOG(L_INFO, "[mml] %s exported %d CDRs to %s", c->op, n, path);
	} else {
		/* The CSV as it is, between the head and the count. */
		mml_reply_blob(c->r, buf ? buf : "", len);
		mml_reply_printf(c->r, "(Number of results = %d)", n);
	}
	free(buf);
	return 0;
}

static int cdr_delete_w(struct store *st, void *data)
{
	struct mml_write *w = data;

	return cdr_store_delete_before(st, w->u.cdr.before, &w->n);
}

static int cdr_deleted(struct mml_call *c, struct mml_write *w)
{
	struct kv kv;

	if (w->rc)
		return write_failed(c, w->rc);
	LOG(L_INFO, "[mml] %s removed %d CDRs from before %s", c->op, w->n, w->u.cdr.text);
	mml_ok(c);
	kv_begin(&kv, c, "CDRs removed");
	kv_add(&kv, "BEFORE", "%s", w->u.cdr.text);
	kv_add(&kv, "REMOVED", "%d", w->n);
	kv_end(&kv);
	return 0;
}

static int clr_cdr(struct mml_call *c)
{
	const char *before = param(c, "BEFORE");
	struct mml_write *w;
	int64_t ms;

	if (!before || parse_time(before, &ms))
		return mml_fail(c, MML_RET_PARAM, "BEFORE=YYYY-MM-DD is required");
	if (ms > cdr_now_ms() - (int64_t)CDR_KEEP_DAYS * 86400000)
		return mml_fail(c, MML_RET_PARAM, "BEFORE is within the last %d days: those are kept",
				CDR_KEEP_DAYS);
	w = write_new(c, cdr_delete_w, cdr_deleted);
	if (!w)
		return mml_fail(c, MML_RET_INTERNAL, "out of memory");
	w->u.cdr.before = ms;
	snprintf(w->u.cdr.text, sizeof(w->u.cdr.text), "%s", before);
	cdr_flush(c->m->env.cdr);	/* the rows waiting go first: the delete is behind them */
	return defer(c, w);
}

/* ---- SYSINFO, SRVSTAT ---- */

/* The loop's work per iteration (core/loop.h): longest, mean, histogram. */
static void sysinfo_loop(struct kv *kv, struct loop *loop)
{
	struct loop_stats ls;
	char hist[320];
	size_t off = 0;

	loop_get_stats(loop, &ls);
	kv_add(kv, "LOOP ITERATIONS", "%" PRIu64, ls.iterations);
	kv_add(kv, "LOOP STALL MAX", "%" PRIu64 " us", ls.max_us);
	kv_add(kv, "LOOP STALL MEAN", "%" PRIu64 " us",
	       ls.iterations ? ls.total_us / ls.iterations : 0);
	kv_add(kv, "LOOP CPU MAX", "%" PRIu64 " us", ls.max_cpu_us);
	kv_add(kv, "LOOP WAIT MAX", "%" PRIu64 " us", ls.max_wait_us);
	kv_add(kv, "LOOP BATCH PAUSES", "%" PRIu64, ls.batch_pauses);
	for (int i = 0; i < LOOP_STALL_BUCKETS && off < sizeof(hist); i++) {
		uint64_t b = loop_stall_bound_us(i ? i - 1 : 0);

		if (i < LOOP_STALL_BUCKETS - 1)
			off += (size_t)snprintf(hist + off, sizeof(hist) - off, "%s<=%" PRIu64
						"us:%" PRIu64, i ? " " : "", loop_stall_bound_us(i),
						ls.bucket[i]);
		else
			off += (size_t)snprintf(hist + off, sizeof(hist) - off, " >%" PRIu64
						"us:%" PRIu64, b, ls.bucket[i]);
	}
	kv_add(kv, "LOOP STALL HISTOGRAM", "%s", hist);
}

/* The store's writer thread (store/queue.h). */
static void sysinfo_store(struct kv *kv, struct store_q *q)
{
	struct store_q_stats qs;

	store_q_get_stats(q, &qs);
	kv_add(kv, "STORE BACKEND", "%s", q->be ? q->be->name : "none");
	kv_add(kv, "STORE QUEUE", "%u of %u", qs.depth, q->limit);
	kv_add(kv, "STORE QUEUE MAX", "%u", qs.max_depth);
	kv_add(kv, "STORE WRITES", "%" PRIu64, qs.committed);
	kv_add(kv, "STORE TRANSACTIONS", "%" PRIu64, qs.transactions);
	kv_add(kv, "STORE RETRIES", "%" PRIu64, qs.retries);
	kv_add(kv, "STORE REFUSED", "%" PRIu64, qs.refused);
	kv_add(kv, "STORE COMMIT MAX", "%" PRIu64 " us", qs.max_commit_us);
}

static int dsp_sysinfo(struct mml_call *c)
{
	static const char *const vnames[] = SLUICE_VERDICT_NAMES;
	const struct mml_env *e = &c->m->env;
	struct sluice_verdict v[SLUICE_V_MAX];
	time_t up = time(NULL) - c->m->started;
	struct kv kv;
	int subs = 0;

	mml_ok(c);
	kv_begin(&kv, c, "System information");
	kv_add(&kv, "VERSION", "sluiced %s", SLUICE_VERSION);
	kv_add(&kv, "NODE", "%s", e->conf->mml_node);
	kv_add(&kv, "UPTIME", "%ldd %02ld:%02ld:%02ld", (long)up / 86400, (long)up / 3600 % 24,
	       (long)up / 60 % 60, (long)up % 60);
	kv_add(&kv, "DATAPATH", "%s", e->dp ? e->dp->desc : "none");
	if (e->dp && e->dp->health.note[0])
		kv_add(&kv, "DATAPATH NOTE", "%s", e->dp->health.note);
	if (e->dp && e->dp->kind == DP_XDP) {
		kv_add(&kv, "DATAPATH DRIVER DROPS", "%llu",
		       (unsigned long long)e->dp->health.driver_drops);
		kv_add(&kv, "DATAPATH FALLBACKS", "%u", e->dp->health.fallbacks);
	}
	for (int p = 0; e->media && p < e->media->nplanes; p++) {
		const struct media_plane *pl = &e->media->plane[p];
		uint32_t total = media_ports_total(&pl->ports);
		uint32_t freep = media_ports_free_count(&pl->ports);
		char v[48], name[80];

		/* "IPV4", or "IPV4 external" on a named interface. */
		snprintf(v, sizeof(v), "IPV%c%s%s", pl->family == AF_INET6 ? '6' : '4',
			 strcmp(pl->name, "default") ? " " : "",
			 strcmp(pl->name, "default") ? pl->name : "");
		snprintf(name, sizeof(name), "MEDIA %s", v);
		kv_add(&kv, name, "%s", pl->addr);
		snprintf(name, sizeof(name), "PORTS %s IN USE", v);
		kv_add(&kv, name, "%u", total - freep);
		snprintf(name, sizeof(name), "PORTS %s FREE", v);
		kv_add(&kv, name, "%u", freep);
	}
	kv_add(&kv, "MEDIA SESSIONS", "%u", e->media ? e->media->nsessions : 0);
	kv_add(&kv, "CALLS", "%u", e->sip ? b2bua_calls(e->sip) : 0);
	kv_add(&kv, "REGISTERED AORS", "%u", e->sip ? e->sip->reg.naors : 0);
	kv_add(&kv, "REGISTRATIONS", "%u", e->sip ? e->sip->reg.nbindings : 0);
	if (e->store && !subscriber_count(e->store, &subs))
		kv_add(&kv, "SUBSCRIBERS", "%d", subs);
	if (c->m->loop)
		sysinfo_loop(&kv, c->m->loop);
	if (e->store && e->store->wq)
		sysinfo_store(&kv, e->store->wq);
	if (e->dp && e->dp->kind != DP_USER && !dp_verdicts(e->dp, v))
		for (int i = 0; i < SLUICE_V_MAX; i++) {
			char name[48];

			snprintf(name, sizeof(name), "KERNEL %s", vnames[i]);
			kv_add(&kv, name, "%" PRIu64 " packets", (uint64_t)v[i].packets);
		}
	kv_end(&kv);
	return 0;
}

/* CLR SYSINFO: the loop's latency figures start again (to measure one period). */
static int clr_sysinfo(struct mml_call *c)
{
	if (c->m->loop)
		loop_reset_stats(c->m->loop);
	mml_ok(c);
	return 0;
}

static int dsp_srvstat(struct mml_call *c)
{
	const struct mml_env *e = &c->m->env;
	const struct mml_server *m = c->m;
	struct kv kv;
	int total = 0, open = 0;

	mml_ok(c);
	kv_begin(&kv, c, "Service statistics");
	if (e->sip) {
		const struct sip_server *s = e->sip;

		kv_add(&kv, "SIP REQUESTS", "%" PRIu64, s->stats.requests);
		kv_add(&kv, "SIP RESPONSES", "%" PRIu64, s->stats.responses);
		kv_add(&kv, "SIP MALFORMED", "%" PRIu64, s->stats.bad);
		kv_add(&kv, "SIP DROPPED", "%" PRIu64, s->stats.dropped);
		kv_add(&kv, "SIP BLOCKED", "%" PRIu64, s->stats.blocked);
		kv_add(&kv, "SIP SCANNERS", "%" PRIu64, s->stats.scanners);
		kv_add(&kv, "AUTH CHALLENGES", "%" PRIu64, s->stats.challenges);
		kv_add(&kv, "AUTH OK", "%" PRIu64, s->stats.auth_ok);
		kv_add(&kv, "AUTH FAILED", "%" PRIu64, s->stats.auth_failed);
		kv_add(&kv, "MESSAGES", "%" PRIu64, s->stats.messages);
		kv_add(&kv, "REG REGISTERED", "%" PRIu64, s->reg.stats.registered);
		kv_add(&kv, "REG REFRESHED", "%" PRIu64, s->reg.stats.refreshed);
		kv_add(&kv, "REG REMOVED", "%" PRIu64, s->reg.stats.removed);
		kv_add(&kv, "REG EXPIRED", "%" PRIu64, s->reg.stats.expired);
		kv_add(&kv, "CALLS NOW", "%u", b2bua_calls(s));
	}
	if (e->cdr) {
		cdr_count(e->cdr, &total, &open);
		kv_add(&kv, "CDR ROWS", "%d", total);
		kv_add(&kv, "CDR OPEN", "%d", open);
		kv_add(&kv, "CDR WRITTEN", "%" PRIu64, e->cdr->written);
		kv_add(&kv, "CDR QUEUED", "%u", e->cdr->npending);
		kv_add(&kv, "CDR WRITE FAILURES", "%" PRIu64, e->cdr->flush_failures);
	}
	kv_add(&kv, "MML CONNECTIONS", "%" PRIu64, m->stats.connections);
	kv_add(&kv, "MML LOGINS", "%" PRIu64, m->stats.logins);
	kv_add(&kv, "MML LOGIN FAILURES", "%" PRIu64, m->stats.login_failures);
	kv_add(&kv, "MML COMMANDS", "%" PRIu64, m->stats.commands);
	kv_add(&kv, "MML ERRORS", "%" PRIu64, m->stats.errors);
	kv_end(&kv);
	return 0;
}

/* ---- BLACKLIST ---- */

static void blacklist_changed(struct mml_call *c)
{
	if (c->m->env.blacklist_changed)
		c->m->env.blacklist_changed(c->m->env.arg);
}

static int blacklist_add_w(struct store *st, void *data)
{
	static const char sql[] = "INSERT INTO blacklist (prefix, reason, created) VALUES (?, ?, ?)";
	struct mml_write *w = data;
	sqlite3_stmt *q;
	int rc = store_stmt(st, sql, &q);

	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, w->u.bl.prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, w->u.bl.reason ? w->u.bl.reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(q);
	store_stmt_done(q);
	if (rc == SQLITE_DONE)
		return 0;
	return store_err(st, rc, "blacklist");		/* a constraint: -EEXIST */
}

static int blacklist_del_w(struct store *st, void *data)
{
	struct mml_write *w = data;
	sqlite3_stmt *q;
	int rc = store_stmt(st, "DELETE FROM blacklist WHERE prefix = ?", &q);

	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, w->u.bl.prefix, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	store_stmt_done(q);
	if (rc != SQLITE_DONE)
		return store_err(st, rc, "blacklist");
	return sqlite3_changes(st->db) ? 0 : -ENOENT;
}

static int blacklist_added(struct mml_call *c, struct mml_write *w)
{
	if (w->rc == -EEXIST)
		return mml_fail(c, MML_RET_EXISTS, "%s is blacklisted already", w->u.bl.prefix);
	if (w->rc)
		return write_failed(c, w->rc);
	LOG(L_INFO, "[mml] %s blacklisted %s", c->op, w->u.bl.prefix);
	blacklist_changed(c);
	mml_ok(c);
	return 0;
}

static int blacklist_removed(struct mml_call *c, struct mml_write *w)
{
	if (w->rc == -ENOENT)
		return mml_fail(c, MML_RET_NOT_FOUND, "%s is not blacklisted", w->u.bl.prefix);
	if (w->rc)
		return write_failed(c, w->rc);
	LOG(L_INFO, "[mml] %s took %s off the blacklist", c->op, w->u.bl.prefix);
	blacklist_changed(c);
	mml_ok(c);
	return 0;
}

static struct mml_write *blacklist_write(struct mml_call *c, const char *prefix,
					 store_call_fn fn, write_after_fn after)
{
	struct mml_write *w;

	if (strlen(prefix) >= sizeof(w->u.bl.prefix)) {
		mml_fail(c, MML_RET_PARAM, "PREFIX: too long");
		return NULL;
	}
	w = write_new(c, fn, after);
	if (!w) {
		mml_fail(c, MML_RET_INTERNAL, "out of memory");
		return NULL;
	}
	snprintf(w->u.bl.prefix, sizeof(w->u.bl.prefix), "%s", prefix);
	w->table = "blacklist";
	snprintf(w->key, sizeof(w->key), "%s", prefix);
	return w;
}

static int add_blacklist(struct mml_call *c)
{
	const char *prefix = param(c, "PREFIX"), *reason = param(c, "REASON");
	struct mml_write *w;
	uint8_t a[16];
	unsigned len;

	if (!prefix || protect_parse_prefix(prefix, a, &len))
		return mml_fail(c, MML_RET_PARAM, "PREFIX: an address or ADDRESS/LENGTH");
	w = blacklist_write(c, prefix, blacklist_add_w, blacklist_added);
	if (!w)
		return MML_RET_PARAM;
	if (reason && !(w->owned = strdup(reason))) {
		write_free(w);
		return mml_fail(c, MML_RET_INTERNAL, "out of memory");
	}
	w->u.bl.reason = w->owned;
	return defer(c, w);
}

static int rmv_blacklist(struct mml_call *c)
{
	const char *prefix = param(c, "PREFIX");
	struct mml_write *w;

	if (!prefix)
		return mml_fail(c, MML_RET_PARAM, "PREFIX is required");
	w = blacklist_write(c, prefix, blacklist_del_w, blacklist_removed);
	return w ? defer(c, w) : MML_RET_PARAM;
}

static int dsp_blacklist(struct mml_call *c)
{
	static const char *const cols[] = { "PREFIX", "REASON", "ADDED", "SOURCE" };
	const char *file = c->m->env.conf->sip_blacklist;
	sqlite3_stmt *q;
	int rc;

	rc = store_stmt(c->m->env.store,
			"SELECT prefix, reason, created FROM blacklist ORDER BY prefix", &q);
	if (rc)
		return mml_fail(c, MML_RET_INTERNAL, "database: %s", strerror(-rc));
	mml_ok(c);
	mml_reply_table_begin(c->r, "Blacklist", 4, cols);
	while (sqlite3_step(q) == SQLITE_ROW) {
		char added[32];
		const char *row[] = { (const char *)sqlite3_column_text(q, 0),
				      (const char *)sqlite3_column_text(q, 1), added, "MML" };

		fmt_time(sqlite3_column_int64(q, 2) * 1000, added, sizeof(added));
		mml_reply_row(c->r, row);
	}
	store_stmt_done(q);
	if (file[0]) {
		FILE *f = fopen(file, "re");
		char line[256];

		while (f && fgets(line, sizeof(line), f)) {
			char *s = line, *e;
			const char *row[] = { s, "", "-", file };

			s[strcspn(s, "#\r\n")] = '\0';
			while (isspace((unsigned char)*s))
				s++;
			for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);)
				*--e = '\0';
			row[0] = s;
			if (*s)
				mml_reply_row(c->r, row);
		}
		if (f)
			fclose(f);
	}
	mml_reply_table_end(c->r);
	return 0;
}

/* ---- LOG, CFG ---- */

static int set_log(struct mml_call *c)
{
	const char *level = param(c, "LEVEL");
	int l;

	if (!level || (l = log_level_parse(level)) < 0)
		return mml_fail(c, MML_RET_PARAM, "LEVEL: error, warn, info or debug");
	log_set_level((enum log_level)l);
	c->m->env.conf->log_level = l;
	conf_note(c->m->env.conf, "log", "level", log_level_name((enum log_level)l));
	LOG(L_INFO, "[mml] %s set the log level to %s", c->op, log_level_name((enum log_level)l));
	mml_ok(c);
	return 0;
}

static int cfg_row(const char *section, const char *key, const char *value, void *arg)
{
	struct mml_call *c = arg;
	const char *row[] = { section, key, value };

	mml_reply_row(c->r, row);
	return 0;
}

static int dsp_cfg(struct mml_call *c)
{
	static const char *const cols[] = { "SECTION", "KEY", "VALUE" };

	mml_ok(c);
	mml_reply_table_begin(c->r, "Configuration", 3, cols);
	conf_dump(c->m->env.conf, cfg_row, c);
	mml_reply_table_end(c->r);
	return 0;
}

/* ---- operators ---- */

static int op_add_w(struct store *st, void *data)
{
	struct mml_write *w = data;

	return operator_add(st, w->u.op.name, w->u.op.pwd, w->u.op.role);
}

static int op_delete_w(struct store *st, void *data)
{
	struct mml_write *w = data;

	return operator_delete(st, w->u.op.name);
}

static int op_modify_w(struct store *st, void *data)
{
	struct mml_write *w = data;
	int rc = 0;

	if (w->u.op.set_pwd)
		rc = operator_set_password(st, w->u.op.name, w->u.op.pwd);
	if (!rc && w->u.op.set_role)
		rc = operator_set_role(st, w->u.op.name, w->u.op.role);
	return rc;
}

static int op_added(struct mml_call *c, struct mml_write *w)
{
	if (w->rc == -EEXIST)
		return mml_fail(c, MML_RET_EXISTS, "operator %s exists", w->u.op.name);
	if (w->rc == -EINVAL)
		return mml_fail(c, MML_RET_PARAM, "OP: 1 to 32 of A-Z a-z 0-9 _ . -; PWD: at least %d "
				"characters", OP_PASSWORD_MIN);
	if (w->rc)
		return write_failed(c, w->rc);
	LOG(L_INFO, "[mml] %s added operator %s (%s)", c->op, w->u.op.name,
	    operator_role_name(w->u.op.role));
	mml_ok(c);
	return 0;
}

static int op_removed(struct mml_call *c, struct mml_write *w)
{
	if (w->rc == -ENOENT)
		return mml_fail(c, MML_RET_NOT_FOUND, "no operator %s", w->u.op.name);
	if (w->rc)
		return write_failed(c, w->rc);
	LOG(L_INFO, "[mml] %s removed operator %s", c->op, w->u.op.name);
	mml_ok(c);
	return 0;
}

static int op_modified(struct mml_call *c, struct mml_write *w)
{
	if (w->rc == -ENOENT)
		return mml_fail(c, MML_RET_NOT_FOUND, "no operator %s", w->u.op.name);
	if (w->rc == -EINVAL)
		return mml_fail(c, MML_RET_PARAM, "PWD: at least %d characters", OP_PASSWORD_MIN);
	if (w->rc)
		return write_failed(c, w->rc);
	LOG(L_INFO, "[mml] %s changed operator %s", c->op, w->u.op.name);
	mml_ok(c);
	return 0;
}

/* An operator's change for the writer (its password hashed there, off the loop). */
static struct mml_write *op_write(struct mml_call *c, const char *name, const char *pwd,
				  store_call_fn fn, write_after_fn after)
{
	struct mml_write *w;

	if (strlen(name) >= sizeof(w->u.op.name)) {
		mml_fail(c, MML_RET_PARAM, "OP: 1 to 32 of A-Z a-z 0-9 _ . -");
		return NULL;
	}
	if (pwd && strlen(pwd) >= sizeof(w->u.op.pwd)) {
		mml_fail(c, MML_RET_PARAM, "PWD: at most %zu characters", sizeof(w->u.op.pwd) - 1);
		return NULL;
	}
	w = write_new(c, fn, after);
	if (!w) {
		mml_fail(c, MML_RET_INTERNAL, "out of memory");
		return NULL;
	}
	snprintf(w->u.op.name, sizeof(w->u.op.name), "%s", name);
	if (pwd) {
		snprintf(w->u.op.pwd, sizeof(w->u.op.pwd), "%s", pwd);
		w->u.op.set_pwd = true;
	}
	w->table = "operators";
	snprintf(w->key, sizeof(w->key), "%s", name);
	return w;
}

static int add_op(struct mml_call *c)
{
	const char *name = param(c, "OP"), *pwd = param(c, "PWD"), *role_s = param(c, "ROLE");
	enum op_role role = OP_OPERATOR;
	struct mml_write *w;

	if (!name || !pwd)
		return mml_fail(c, MML_RET_PARAM, "OP and PWD are required");
	if (role_s && operator_role_parse(role_s, &role))
		return mml_fail(c, MML_RET_PARAM, "ROLE: ADMIN or OPERATOR");
	w = op_write(c, name, pwd, op_add_w, op_added);
	if (!w)
		return MML_RET_PARAM;
	w->u.op.role = role;
	return defer(c, w);
}

static int rmv_op(struct mml_call *c)
{
	const char *name = param(c, "OP");
	struct mml_write *w;

	if (!name)
		return mml_fail(c, MML_RET_PARAM, "OP is required");
	if (!strcmp(name, c->op))
		return mml_fail(c, MML_RET_PARAM, "an operator cannot remove itself");
	w = op_write(c, name, NULL, op_delete_w, op_removed);
	return w ? defer(c, w) : MML_RET_PARAM;
}

static int mod_op(struct mml_call *c)
{
	const char *name = param(c, "OP"), *pwd = param(c, "PWD"), *role_s = param(c, "ROLE");
	enum op_role role = OP_OPERATOR;
	struct mml_write *w;

	if (!name || (!pwd && !role_s))
		return mml_fail(c, MML_RET_PARAM, "OP and PWD or ROLE are required");
	/* An operator may change its own password; anything else is ADMIN's. */
	if (c->role != OP_ADMIN && (strcmp(name, c->op) || role_s))
		return mml_fail(c, MML_RET_DENIED, "only ADMIN may change other operators");
	if (role_s && operator_role_parse(role_s, &role))
		return mml_fail(c, MML_RET_PARAM, "ROLE: ADMIN or OPERATOR");
	w = op_write(c, name, pwd, op_modify_w, op_modified);
	if (!w)
		return MML_RET_PARAM;
	w->u.op.role = role;
	w->u.op.set_role = role_s != NULL;
	return defer(c, w);
}

static int op_row(const struct operator *op, void *arg)
{
	struct mml_call *c = arg;
	char failed[16], last[32], created[32];
	const char *row[] = { op->name, operator_role_name(op->role), failed, last, created };

	snprintf(failed, sizeof(failed), "%u", op->failed);
	fmt_time(op->last_login * 1000, last, sizeof(last));
	fmt_time(op->created * 1000, created, sizeof(created));
	mml_reply_row(c->r, row);
	return 0;
}

static int dsp_op(struct mml_call *c)
{
	static const char *const cols[] = { "OP", "ROLE", "FAILEDLOGINS", "LASTLOGIN", "CREATED" };

	mml_ok(c);
	mml_reply_table_begin(c->r, "Operators", 5, cols);
	operator_list(c->m->env.store, op_row, c);
	mml_reply_table_end(c->r);
	return 0;
}

/* ---- HELP ---- */

static bool help_match(const struct mml_command *k, const char *only)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%s%s", k->verb, k->obj[0] ? " " : "", k->obj);
	return !only || !strcasecmp(only, name);
}

static int help(struct mml_call *c)
{
	const char *only = param(c, "CMD");
	const struct mml_command *k;
	int n = 0;

	for (k = commands; k->verb && !help_match(k, only); k++)
		;
	if (!k->verb)
		return mml_fail(c, MML_RET_NOT_FOUND, "no command %s", only);
	mml_ok(c);
	mml_reply_printf(c->r, "%s", "");
	for (k = commands; k->verb; k++) {
		if (!help_match(k, only))
			continue;
		mml_reply_printf(c->r, "%s%s%s: %s%s", k->verb, k->obj[0] ? " " : "", k->obj,
				 k->what, k->admin ? " (ADMIN)" : "");
		for (const struct mml_param_help *p = k->params; p->key; p++)
			mml_reply_printf(c->r, "    %-12s %s%s", p->key, p->what,
					 p->required ? " (required)" : "");
		n++;
	}
	mml_reply_printf(c->r, "(Number of results = %d)", n);
	return 0;
}

static const struct mml_command commands[] = {
	{ "LGI", "", false, 0, NULL, "log in", {
		{ "OP", true, "operator name" }, { "PWD", true, "password" } } },
	{ "LGO", "", false, 0, NULL, "log out and close the connection", { { 0 } } },
	{ "ADD", "USER", true, NEEDS_STORE, add_user, "add a subscriber", {
		{ "USERNAME", true, "digest user name (the IMPU is sip:USERNAME@domain)" },
		{ "PASSWORD", true, "its password (stored as HA1 only)" },
		{ "DISPLAYNAME", false, "display name" }, { "PHONE", false, "phone number" },
		{ "EMAIL", false, "e-mail address" },
		{ "STATUS", false, "ACTIVE (default), INACTIVE or SUSPENDED" },
		{ "SERVICETYPE", false, "free text" }, { "ROLE", false, "free text" },
		{ "DIGEST", false, "algorithms it may answer with, in challenge order: SHA-256, "
				   "MD5 or both; DEFAULT (default): [sip] digest" } } },
	{ "MOD", "USER", true, NEEDS_STORE, mod_user, "change a subscriber", {
		{ "USERNAME", true, "which one" }, { "PASSWORD", false, "a new password" },
		{ "DISPLAYNAME", false, "" }, { "PHONE", false, "" }, { "EMAIL", false, "" },
		{ "STATUS", false, "ACTIVE, INACTIVE or SUSPENDED" },
		{ "SERVICETYPE", false, "" }, { "ROLE", false, "" },
		{ "DIGEST", false, "SHA-256, MD5, both, or DEFAULT" } } },
	{ "RMV", "USER", true, NEEDS_STORE, rmv_user, "remove a subscriber and its registrations", {
		{ "USERNAME", true, "which one" } } },
	{ "DSP", "USER", false, NEEDS_STORE, dsp_user, "show subscribers", {
		{ "USERNAME", false, "only this one" },
		{ "SEARCH", false, "only those with this text in a name, IMPU, phone or e-mail" } } },
	{ "DSP", "REG", false, NEEDS_SIP, dsp_reg, "show registrations", {
		{ "USERNAME", false, "only this subscriber's" }, { "IMPU", false, "or by IMPU" } } },
	{ "RMV", "REG", true, NEEDS_SIP, rmv_reg, "remove registrations", {
		{ "USERNAME", false, "whose (or IMPU)" }, { "IMPU", false, "whose" },
		{ "CONTACT", false, "only this binding" } } },
	{ "DSP", "CALL", false, NEEDS_SIP, dsp_call, "show calls in progress", {
		{ "CALLID", false, "only this one (either leg's Call-ID)" } } },
	{ "RMV", "CALL", true, NEEDS_SIP, rmv_call, "hang up a call (BYE to both legs, CDR closed as admin)", {
		{ "CALLID", true, "either leg's Call-ID" } } },
	{ "STR", "LISTEN", true, 0, mml_str_listen, "listen in on a call: its media through userspace, a one-use ticket for /api/listen/ws", {
		{ "CALLID", true, "either leg's Call-ID, or an NG session's id" } } },
	{ "STP", "LISTEN", true, 0, mml_stp_listen, "stop listening in: the call's media back to the kernel", {
		{ "CALLID", true, "the caller's Call-ID (or the callee's)" } } },
	{ "ORG", "TESTCALL", true, NEEDS_SIP, mml_org_testcall, "a test call: sluiced calls a subscriber, plays a prompt and hangs up", {
		{ "CALLEE", true, "a registered subscriber's user name, or a number for the trunk" },
		{ "PROMPT", false, "a WAV file in [testcall] prompts (default tone.wav)" },
		{ "BRIDGE", false, "click-to-dial: once CALLEE answers, call this subscriber and connect them" } } },
	{ "DSP", "STREAM", false, 0, dsp_stream, "show media streams with their counters and quality", {
		{ "CALLID", false, "only this call's (its caller's Call-ID)" } } },
	{ "DSP", "CDR", false, NEEDS_CDR, dsp_cdr, "show call detail records, newest first", {
		{ "FROM", false, "from YYYY-MM-DD [HH:MM:SS]" }, { "TO", false, "before" },
		{ "CALLER", false, "number or URI" }, { "CALLEE", false, "number or URI" },
		{ "DISPOSITION", false, "ANSWERED, NO ANSWER, BUSY, FAILED, CANCELLED" },
		{ "TYPE", false, "CALL, REGISTER, MESSAGE, OPTIONS" },
		{ "NUMBER", false, "caller or callee, number or URI" },
		{ "CODE", false, "the final SIP status, the cause (486, 603, ...)" },
		{ "LIMIT", false, "how many (default 50, 0: all)" } } },
	{ "EXP", "CDR", false, NEEDS_CDR, exp_cdr, "export call detail records as CSV", {
		{ "FILE", false, "write to this file in [cdr] export_dir (default: in the reply)" },
		{ "FROM", false, "" }, { "TO", false, "" }, { "CALLER", false, "" },
		{ "CALLEE", false, "" }, { "DISPOSITION", false, "" }, { "TYPE", false, "" },
		{ "NUMBER", false, "" }, { "CODE", false, "" }, { "LIMIT", false, "default: all" } } },
	{ "CLR", "CDR", true, NEEDS_CDR, clr_cdr, "remove old call detail records", {
		{ "BEFORE", true, "YYYY-MM-DD, at least 7 days ago" } } },
	{ "DSP", "SYSINFO", false, 0, dsp_sysinfo, "version, uptime, data path, ports, counts", {
		{ 0 } } },
	{ "CLR", "SYSINFO", true, 0, clr_sysinfo, "restart the event loop's latency figures", {
		{ 0 } } },
	{ "DSP", "SRVSTAT", false, 0, dsp_srvstat, "SIP, registrar, CDR and MML counters", {
		{ 0 } } },
	{ "ADD", "BLACKLIST", true, NEEDS_STORE, add_blacklist, "drop SIP from an address or prefix", {
		{ "PREFIX", true, "ADDRESS or ADDRESS/LENGTH" }, { "REASON", false, "a note" } } },
	{ "RMV", "BLACKLIST", true, NEEDS_STORE, rmv_blacklist, "take a prefix off the blacklist", {
		{ "PREFIX", true, "as added" } } },
	{ "DSP", "BLACKLIST", false, NEEDS_STORE, dsp_blacklist, "show the blacklist (MML and [sip] blacklist)",
	  { { 0 } } },
	{ "DSP", "SIPTRACE", false, NEEDS_SIP, mml_dsp_siptrace, "show the SIP tracker's calls, or a call's messages (both legs)", {
		{ "CALLID", false, "this call's messages (either leg's Call-ID)" },
		{ "NUMBER", false, "the newest calls and registrations of this number" },
		{ "SEQ", false, "one message whole, by its SEQ" } } },
	{ "SET", "SIPTRACE", true, NEEDS_SIP, mml_set_siptrace, "turn the SIP tracker on (a fresh ring) or off (its messages let go)", {
		{ "STATE", true, "ON or OFF" } } },
	{ "SET", "LOG", true, 0, set_log, "set the log level", {
		{ "LEVEL", true, "error, warn, info or debug" } } },
	{ "DSP", "CFG", false, 0, dsp_cfg, "show the configuration in force", { { 0 } } },
	{ "ADD", "OP", true, NEEDS_STORE, add_op, "add an MML operator", {
		{ "OP", true, "name" }, { "PWD", true, "password, at least 8 characters" },
		{ "ROLE", false, "OPERATOR (default) or ADMIN" } } },
	{ "MOD", "OP", false, NEEDS_STORE, mod_op, "change a password (own), or a role (ADMIN)", {
		{ "OP", true, "name" }, { "PWD", false, "new password" },
		{ "ROLE", false, "ADMIN or OPERATOR" } } },
	{ "RMV", "OP", true, NEEDS_STORE, rmv_op, "remove an MML operator", { { "OP", true, "name" } } },
	{ "DSP", "OP", false, NEEDS_STORE, dsp_op, "show MML operators", { { 0 } } },
	{ "HELP", "", false, 0, help, "list the commands and their parameters", {
		{ "CMD", false, "only this one, e.g. CMD=\"DSP CDR\"" } } },
	{ 0 }
};

static int needs_missing(struct mml_call *c, unsigned needs)
{
	const struct mml_env *e = &c->m->env;

	if (needs & NEEDS_STORE && !e->store)
		return mml_fail(c, MML_RET_INTERNAL, "no database ([store] db unusable)");
	if (needs & NEEDS_SIP && !e->sip)
		return mml_fail(c, MML_RET_INTERNAL, "no SIP server ([sip] listen = off)");
	if (needs & NEEDS_CDR && !e->cdr)
		return mml_fail(c, MML_RET_INTERNAL, "no CDRs (no database)");
	return 0;
}

int mml_run(struct mml_server *m, const struct mml_cmd *cmd, const char *text,
	    const char *op, enum op_role role, struct mml_reply *r)
{
	struct mml_call c = { m, cmd, r, text, role, op, false, false };
	const struct mml_command *k;
	int rc;

	for (k = commands; k->verb; k++)
		if (!strcmp(k->verb, cmd->verb) && !strcmp(k->obj, cmd->obj) && k->run)
			break;
	if (!k->verb) {
		rc = mml_fail(&c, MML_RET_UNKNOWN, "unknown command %s%s%s (HELP lists them)",
			      cmd->verb, cmd->obj[0] ? " " : "", cmd->obj);
	} else if (k->admin && role != OP_ADMIN) {
		rc = mml_fail(&c, MML_RET_DENIED, "%s %s needs the ADMIN role", k->verb, k->obj);
	} else if (k->admin && m->env.store && m->env.store->wq &&
		   store_q_full(m->env.store->wq)) {
		/* Back-pressure: a change waits for the writer to catch up. */
		rc = mml_fail(&c, MML_RET_BUSY, "store busy: %u changes wait for the database "
			      "([store] queue), try again", m->env.store->wq->depth);
	} else {
		/* Every parameter given must be one the command knows. */
		for (int i = 0; i < cmd->nparams; i++) {
			const struct mml_param_help *p;

			for (p = k->params; p->key; p++) {
				struct mml_call probe = c;
				struct mml_cmd one = { .nparams = 1 };

				one.params[0] = cmd->params[i];
				probe.cmd = &one;
				if (param(&probe, p->key))
					break;
			}
			if (!p->key) {
				rc = mml_fail(&c, MML_RET_PARAM, "%s %s has no parameter %s", k->verb,
					      k->obj, cmd->params[i].key);
				goto out;
			}
		}
		rc = needs_missing(&c, k->needs);
		if (!rc)
			rc = k->run(&c);
	}
out:
	if (c.deferred)
		return rc;	/* the reply is m->pending's */
	if (!c.answered)
		mml_fail(&c, MML_RET_INTERNAL, "no reply");
	mml_reply_end(r);
	return rc;
}
