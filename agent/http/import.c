// SPDX-License-Identifier: GPL-2.0-only
/*
 * The users.json import of the web API (see import.h). The body must be
 * the whole document; entries that cannot be taken are skipped and named
 * in the answer with their reason, as sluicectl prints them, and a
 * database error imports nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/log.h"
#include "http/import.h"
#include "mml/server.h"
#include "store/import.h"
#include "store/queue.h"
#include "store/subscriber.h"

/* The reasons written to errs, one a line, as a JSON array. */
static json_t *lines(const char *text)
{
	json_t *out = json_array();

	for (const char *p = text; out && p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		json_array_append_new(out, json_stringn(p, n));
		p = nl ? nl + 1 : NULL;
	}
	return out;
}

static json_t *parse(struct http_req *r)
{
	static const char type[] = "application/json";
	json_error_t jerr;
	json_t *doc;

	if (r->too_big) {
		http_error(r, 413, "a users.json larger than %d bytes", HTTP_MAX_IMPORT);
		return NULL;
	}
	if (r->nargs) {
		http_error(r, 400, "the import takes the users.json as its body, no query");
		return NULL;
	}
	if (strncasecmp(r->ctype, type, sizeof(type) - 1) ||
	    (r->ctype[sizeof(type) - 1] && r->ctype[sizeof(type) - 1] != ';')) {
		http_error(r, 415, "the body must be application/json");
		return NULL;
	}
	doc = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		http_error(r, 400, "malformed JSON at line %d, column %d: %s", jerr.line,
			   jerr.column, jerr.text);
	else if (!json_is_object(doc) || !json_object_size(doc)) {
		http_error(r, 400, "the body must be a users.json: an object keyed by user name");
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

/*
 * An import at the store's writer: the document, what it did and the
 * reasons of what it skipped. The request's answer waits (mml_pending).
 */
struct import_job {
	struct mml_pending	p;
	struct mml_server	*m;
	json_t			*doc;
	char			domain[256];
	char			op[OP_NAME_MAX];
	struct import_report	rep;
	char			*errs;
	size_t			errs_len;
	int			err;
};

static void job_free(struct import_job *j)
{
	json_decref(j->doc);
	free(j->errs);
	mml_reply_free(&j->p.reply);
	free(j);
}

/* On the writer, inside its transaction (again, if the batch is retried). */
static int import_w(struct store *st, void *data)
{
	struct import_job *j = data;
	FILE *f;
	int err;

	free(j->errs);
	j->errs = NULL;
	j->errs_len = 0;
	memset(&j->rep, 0, sizeof(j->rep));
	f = open_memstream(&j->errs, &j->errs_len);
	if (!f)
		return -ENOMEM;
	err = users_import_doc(st, j->domain, j->doc, "users.json", &j->rep, f);
	fclose(f);
	return err;
}

/* Back on the loop, the import committed (and copied to a shared store) or refused. */
static void import_finish(struct import_job *j)
{
	struct mml_server *m = j->m;
	struct mml_pending **pp;
	json_t *ans = NULL, *v;
	const char *key;

	if (!j->p.gone) {
		for (pp = &m->writes; *pp && *pp != &j->p; pp = &(*pp)->next)
			;
		if (*pp)
			*pp = j->p.next;
		/* The loop's copy of the subscribers takes the rows again when next read. */
		json_object_foreach(j->doc, key, v)
			subscriber_forget(m->env.store, key);
		if (j->err) {
			j->p.retcode = j->err == -EINVAL ? MML_RET_PARAM : MML_RET_INTERNAL;
			ans = json_pack("{s:s+}", "reason", "nothing imported: ", strerror(-j->err));
		} else {
			LOG(L_INFO, "[http] %s imported users.json: %d added, %d updated, "
			    "%d unchanged, %d skipped", j->op, j->rep.added, j->rep.updated,
			    j->rep.unchanged, j->rep.skipped);
			ans = json_pack("{s:i, s:i, s:i, s:i, s:o}", "added", j->rep.added,
					"updated", j->rep.updated, "unchanged", j->rep.unchanged,
					"skipped", j->rep.skipped, "errors", lines(j->errs));
		}
		if (mml_reply_init_json(&j->p.reply) || !ans) {
			j->p.reply.err = -ENOMEM;
		} else {
			json_decref(j->p.reply.json);
			j->p.reply.json = ans;
			ans = NULL;
		}
		json_decref(ans);
	}
	if (j->p.ready)
		j->p.ready(&j->p, j->p.arg);
	job_free(j);
}

static void import_shared(struct store_op *op, void *arg)
{
	(void)op;
	import_finish(arg);
}

static void import_done(struct store_op *op, void *arg)
{
	struct import_job *j = arg;
	struct store *st = j->p.gone ? NULL : j->m->env.store;
	const char *key;
	json_t *v;
	bool synced = false;

	op->u.call.data = NULL;		/* j is ours again */
	j->err = op->result;
	/* A shared store (PostgreSQL) copies the rows: the answer waits for that too. */
	if (!j->err && st && st->wq) {
		json_object_foreach(j->doc, key, v)
			synced |= store_q_sync(st->wq, "subscribers", key);
		if (synced && !store_q_fence(st->wq, import_shared, j))
			return;
	}
	import_finish(j);
}

void http_import_users(struct mml_server *m, struct http_req *r, const char *op,
		       enum op_role role)
{
	struct import_report rep;
	struct import_job *j;
	struct store_op *sop;
	char *errs = NULL;
	size_t errs_len = 0;
	json_t *doc, *ans;
	char *text;
	FILE *f;
	int err;

	if (strcmp(r->method, "POST")) {
		http_error(r, 405, "POST only");
		return;
	}
	if (role != OP_ADMIN) {
		http_error(r, 403, "importing subscribers needs the ADMIN role");
		return;
	}
	if (!m->env.store) {
		http_error(r, 503, "no database ([store] db unusable)");
		return;
	}
	if (m->env.store->wq && store_q_full(m->env.store->wq)) {
		r->retry_after = 1;
		http_error(r, 503, "store busy: try again");
		return;
	}
	if (!(doc = parse(r)))
		return;
	if (m->env.store->wq) {
		/* The writer imports: the answer waits for it (the caller holds r). */
		j = calloc(1, sizeof(*j));
		sop = j ? store_op_new(STORE_OP_CALL) : NULL;
		if (!sop) {
			free(j);
			json_decref(doc);
			http_error(r, 500, "out of memory");
			return;
		}
		j->m = m;
		j->doc = doc;
		snprintf(j->domain, sizeof(j->domain), "%s", m->env.conf->sip_domain);
		snprintf(j->op, sizeof(j->op), "%s", op);
		sop->u.call.fn = import_w;
		sop->u.call.data = j;
		store_q_submit(m->env.store->wq, sop, import_done, j);
		j->p.next = m->writes;
		m->writes = &j->p;
		m->pending = &j->p;
		return;
	}
	/* A store without a writer (a test's): at once. */
	f = open_memstream(&errs, &errs_len);
	if (!f) {
		json_decref(doc);
		http_error(r, 500, "out of memory");
		return;
	}
	err = users_import_doc(m->env.store, m->env.conf->sip_domain, doc, "users.json", &rep, f);
	fclose(f);
	json_decref(doc);
	if (err) {
		http_error(r, err == -EINVAL ? 400 : 500, "nothing imported: %s", strerror(-err));
	} else {
		LOG(L_INFO, "[http] %s imported users.json: %d added, %d updated, %d unchanged, "
			    "%d skipped", op, rep.added, rep.updated, rep.unchanged, rep.skipped);
		ans = json_pack("{s:i, s:i, s:i, s:i, s:o}", "added", rep.added, "updated",
				rep.updated, "unchanged", rep.unchanged, "skipped", rep.skipped,
				"errors", lines(errs));
		text = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
		json_decref(ans);
		if (text)
			http_reply(r, 200, "application/json", text, strlen(text));
		else
			http_error(r, 500, "out of memory");
		free(text);
	}
	free(errs);
}
