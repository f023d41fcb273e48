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

void http_import_users(struct mml_server *m, struct http_req *r, const char *op,
		       enum op_role role)
{
	struct import_report rep;
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
