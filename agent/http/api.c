// SPDX-License-Identifier: GPL-2.0-only
/*
 * The JSON API (see api.h): who is asking (a session cookie with its CSRF
 * token, or the bearer token), which MML command the route names, the
 * command's parameters from the query or the JSON body, mml_run(), and the
 * command's result as JSON (or CSV). A request the API cannot take whole
 * (malformed JSON, a field of the wrong type, one the command does not
 * know) is refused with 400 and a reason before anything runs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "core/log.h"
#include "core/loop.h"
#include "http/api.h"
#include "http/import.h"
#include "http/live.h"
#include "http/metrics.h"
#include "http/session.h"
#include "mml/cmd.h"
#include "mml/parse.h"
#include "mml/server.h"
#include "store/queue.h"

struct http_api {
	struct loop		*loop;
	struct mml_server	*mml;
	bool			tls, loopback;
	struct http_sessions	sessions;
	struct http_req		*held;		/* answers a failed login's delay holds */
	struct http_live	*live;		/* history and the dashboard's events */
	struct api_sync		*syncs;		/* answers waiting for the store's writer */
};

/*
 * A change at the store's writer (mml_pending): the answer waits, held,
 * until it is made; api and r go NULL when the API or the hold ends first.
 */
struct api_sync {
	struct http_api		*api;
	struct http_req		*r;
	struct api_sync		*next;
};

#define API_SYNC_MAX_MS	60000	/* then 504 goes, the change still queued */

/* Who a request acts as. */
struct who {
	char			op[OP_NAME_MAX];
	enum op_role		role;
	struct http_session	*session;	/* NULL: the bearer token */
};

/* A route: method, path (ending in '/': the rest of the path is the field rest_key). */
struct route {
	const char	*method, *path;
	const char	*verb, *obj;
	const char	*rest_key;
	bool		csv;
};

static const struct route routes[] = {
	{ "GET", "/api/subscribers", "DSP", "USER", NULL, false },
	{ "GET", "/api/subscribers/", "DSP", "USER", "username", false },
	{ "POST", "/api/subscribers", "ADD", "USER", NULL, false },
	{ "PATCH", "/api/subscribers/", "MOD", "USER", "username", false },
	{ "DELETE", "/api/subscribers/", "RMV", "USER", "username", false },
	{ "GET", "/api/registrations", "DSP", "REG", NULL, false },
	{ "DELETE", "/api/registrations/", "RMV", "REG", "username", false },
	{ "GET", "/api/calls", "DSP", "CALL", NULL, false },
	{ "GET", "/api/calls/", "DSP", "CALL", "callid", false },
	{ "DELETE", "/api/calls/", "RMV", "CALL", "callid", false },
	{ "GET", "/api/streams", "DSP", "STREAM", NULL, false },
	{ "GET", "/api/cdrs", "DSP", "CDR", NULL, false },
	{ "GET", "/api/cdrs.csv", "EXP", "CDR", NULL, true },
	{ "DELETE", "/api/cdrs", "CLR", "CDR", NULL, false },
	{ "GET", "/api/blacklist", "DSP", "BLACKLIST", NULL, false },
	{ "POST", "/api/blacklist", "ADD", "BLACKLIST", NULL, false },
	{ "DELETE", "/api/blacklist/", "RMV", "BLACKLIST", "prefix", false },
	{ "GET", "/api/siptrace", "DSP", "SIPTRACE", NULL, false },
	{ "PUT", "/api/siptrace", "SET", "SIPTRACE", NULL, false },
	{ "GET", "/api/sysinfo", "DSP", "SYSINFO", NULL, false },
	{ "GET", "/api/srvstat", "DSP", "SRVSTAT", NULL, false },
	{ "GET", "/api/config", "DSP", "CFG", NULL, false },
	{ "PUT", "/api/log", "SET", "LOG", NULL, false },
	{ "GET", "/api/operators", "DSP", "OP", NULL, false },
	{ "POST", "/api/operators", "ADD", "OP", NULL, false },
	{ "PATCH", "/api/operators/", "MOD", "OP", "op", false },
	{ "DELETE", "/api/operators/", "RMV", "OP", "op", false },
	{ "POST", "/api/listen", "STR", "LISTEN", NULL, false },
	{ "POST", "/api/testcalls", "ORG", "TESTCALL", NULL, false },
	{ "DELETE", "/api/listen/", "STP", "LISTEN", "callid", false },
	{ "GET", "/api/help", "HELP", "", NULL, false },
	{ 0 }
};

static const char *const secrets[] = { "PWD", "PASSWORD", NULL };

static bool changes(const struct http_req *r)
{
	return strcmp(r->method, "GET") && strcmp(r->method, "HEAD");
}

static bool has_body(const struct http_req *r)
{
	return !strcmp(r->method, "POST") || !strcmp(r->method, "PATCH") ||
	       !strcmp(r->method, "PUT");
}

static int reply_json(struct http_req *r, int status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
	int rc;

	json_decref(doc);
	if (!text) {
		http_error(r, 500, "out of memory");
		return -ENOMEM;
	}
	rc = http_reply(r, status, "application/json", text, strlen(text));
	free(text);
	return rc;
}

/* ---- the command's parameters ---- */

/* key (a JSON member or query argument) as an MML key: [a-z0-9_]{1,31}, upper-cased. */
/* several: the key callid may come more than once (DSP STREAM's, for the live calls page). */
static int add_param(struct http_req *r, struct mml_cmd *cmd, const char *key, const char *value,
		     bool several)
{
	struct mml_param *p;
	size_t n = strlen(key);

	if (!n || n >= MML_MAX_WORD) {
		http_error(r, 400, "field names are 1 to %d characters", MML_MAX_WORD - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)key[i]) && !isdigit((unsigned char)key[i]) &&
		    key[i] != '_') {
			http_error(r, 400, "field %.40s: names are lower case a-z, 0-9 and _", key);
			return -EINVAL;
		}
	if (strlen(value) >= MML_MAX_VALUE) {
		http_error(r, 400, "field %s: longer than %d characters", key, MML_MAX_VALUE - 1);
		return -EINVAL;
	}
	for (const char *v = value; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f) {
			http_error(r, 400, "field %s: control characters", key);
			return -EINVAL;
		}
	if (cmd->nparams == MML_MAX_PARAMS) {
		http_error(r, 400, "more than %d fields", MML_MAX_PARAMS);
		return -EINVAL;
	}
	for (int i = 0; i < cmd->nparams; i++)
		if (!strcasecmp(cmd->params[i].key, key) && !(several && !strcmp(key, "callid"))) {
			http_error(r, 400, "field %s given twice", key);
			return -EINVAL;
		}
	p = &cmd->params[cmd->nparams++];
	for (size_t i = 0; i <= n; i++)
		p->key[i] = (char)toupper((unsigned char)key[i]);
	snprintf(p->value, sizeof(p->value), "%s", value);
	p->quoted = true;
	return 0;
}

static bool json_type_ok(const char *ctype)
{
	size_t n = strlen("application/json");

	return !strncasecmp(ctype, "application/json", n) && (!ctype[n] || ctype[n] == ';');
}

/* The body: empty, or a JSON object of strings and whole numbers. */
static int body_params(struct http_req *r, struct mml_cmd *cmd)
{
	json_error_t jerr;
	const char *key;
	json_t *doc, *v;
	int rc = 0;

	if (r->too_big) {
		http_error(r, 413, "request body larger than %d bytes", HTTP_MAX_BODY);
		return -EMSGSIZE;
	}
	if (!r->body_len)
		return 0;
	if (!json_type_ok(r->ctype)) {
		http_error(r, 415, "the body must be application/json");
		return -EINVAL;
	}
	doc = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		http_error(r, 400, "malformed JSON at line %d, column %d: %s", jerr.line,
			   jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(doc)) {
		http_error(r, 400, "the body must be a JSON object");
		json_decref(doc);
		return -EINVAL;
	}
	json_object_foreach(doc, key, v) {
		char num[32];

		if (json_is_string(v)) {
			if (strlen(json_string_value(v)) != json_string_length(v)) {
				http_error(r, 400, "field %.40s: NUL in a string", key);
				rc = -EINVAL;
			} else {
				rc = add_param(r, cmd, key, json_string_value(v), false);
			}
		} else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			rc = add_param(r, cmd, key, num, false);
		} else {
			http_error(r, 400, "field %.40s: must be a string or a whole number", key);
			rc = -EINVAL;
		}
		if (rc)
			break;
	}
	json_decref(doc);
	return rc;
}

static int query_params(struct http_req *r, struct mml_cmd *cmd, bool several)
{
	for (int i = 0; i < r->nargs; i++) {
		int rc = add_param(r, cmd, r->args[i].key, r->args[i].value, several);

		if (rc)
			return rc;
	}
	return 0;
}

/* ---- running a command ---- */

static int status_of(int retcode)
{
	switch (retcode) {
	case MML_RET_OK:
		return 200;
	case MML_RET_SYNTAX:
	case MML_RET_PARAM:
		return 400;
	case MML_RET_UNKNOWN:
	case MML_RET_NOT_FOUND:
		return 404;
	case MML_RET_EXISTS:
		return 409;
	case MML_RET_DENIED:
		return 403;
	case MML_RET_BUSY:
		return 503;	/* the store behind, or [testcall] rate: try again */
	default:
		return 500;
	}
}

static const struct route *route_of(const struct http_req *r, const char **rest, bool *other)
{
	*other = false;
	for (const struct route *k = routes; k->method; k++) {
		size_t n = strlen(k->path);
		bool hit = k->rest_key ? !strncmp(r->path, k->path, n) && r->path[n]
				       : !strcmp(r->path, k->path);

		if (!hit)
			continue;
		if (strcmp(k->method, r->method)) {
			*other = true;	/* the path is known, the method not */
			continue;
		}
		*rest = k->rest_key ? r->path + n : NULL;
		return k;
	}
	return NULL;
}

static void hold_for_store(struct http_api *api, struct http_req *r, struct mml_pending *p);

/* A command's reply as the answer: its JSON (or CSV), the status its RETCODE says. */
static void answer_reply(struct http_req *r, const struct route *k, struct mml_reply *reply,
			 int rc)
{
	json_t *doc = mml_reply_take_json(reply);

	if (reply->err || !doc) {
		http_error(r, 500, "out of memory");
	} else if (k && k->csv && rc == MML_RET_OK) {
		http_reply(r, 200, "text/csv; charset=utf-8", reply->blob ? reply->blob : "",
			   reply->blob_len);
		snprintf(r->disposition, sizeof(r->disposition),
			 "attachment; filename=\"cdrs.csv\"");
	} else {
		if (rc)
			json_object_set(doc, "error", json_object_get(doc, "reason"));
		reply_json(r, status_of(rc), json_incref(doc));
	}
	json_decref(doc);
}

static void run_command(struct http_api *api, struct http_req *r, const struct route *k,
			const char *rest, const struct who *who)
{
	struct mml_cmd cmd = { .nparams = 0 };
	char text[MML_MAX_LINE + 64];
	struct mml_reply reply;
	struct mml_pending *p;
	int rc;

	snprintf(cmd.verb, sizeof(cmd.verb), "%s", k->verb);
	snprintf(cmd.obj, sizeof(cmd.obj), "%s", k->obj);
	if (rest && add_param(r, &cmd, k->rest_key, rest, false))
		return;
	/* POST, PATCH and PUT take their fields in a body; GET and DELETE in the query. */
	if (has_body(r)) {
		if (r->nargs) {
			http_error(r, 400, "%s takes its fields in the body, not the query",
				   r->method);
			return;
		}
		rc = body_params(r, &cmd);
	} else {
		if (r->too_big) {
			http_error(r, 413, "request body larger than %d bytes", HTTP_MAX_BODY);
			return;
		}
		if (r->body_len) {
			http_error(r, 400, "%s takes no body", r->method);
			return;
		}
		rc = query_params(r, &cmd, !strcmp(k->verb, "DSP") && !strcmp(k->obj, "STREAM"));
	}
	if (rc)
		return;
	if (k->csv && mml_param(&cmd, "FILE")) {
		http_error(r, 400, "no file: the CSV is the answer");
		return;
	}
	if (mml_reply_init_json(&reply)) {
		http_error(r, 500, "out of memory");
		return;
	}
	mml_format(&cmd, secrets, text, sizeof(text));
	api->mml->pending = NULL;
	rc = mml_run(api->mml, &cmd, text, who->op, who->role, &reply);
	p = api->mml->pending;
	api->mml->pending = NULL;
	if (p)
		hold_for_store(api, r, p);	/* its reply comes when the change is made */
	else
		answer_reply(r, k, &reply, rc);
	mml_reply_free(&reply);
}

/* ---- who is asking ---- */

static void cookie(struct http_api *api, struct http_req *r, const char *id, bool end)
{
	snprintf(r->set_cookie, sizeof(r->set_cookie),
		 "sluice_session=%s; Path=/; HttpOnly; SameSite=Strict%s%s", end ? "" : id,
		 api->tls ? "; Secure" : "", end ? "; Max-Age=0" : "");
}

static void unhold(struct http_api *api, struct http_req *r)
{
	struct http_req **pp;

	for (pp = &api->held; *pp && *pp != r; pp = &(*pp)->held_next)
		;
	if (*pp)
		*pp = r->held_next;
	r->held_next = NULL;
}

static bool held_now(const struct http_api *api, struct http_req *r)
{
	return r->owner == api && loop_timer_armed(&r->delay);
}

static void sync_forget(struct http_api *api, struct api_sync *t)
{
	struct api_sync **pp;

	for (pp = &api->syncs; *pp && *pp != t; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = t->next;
}

static void on_delay(struct loop *loop, void *arg)
{
	struct http_req *r = arg;
	struct api_sync *t = r->sync;

	(void)loop;
	if (t) {
		sync_forget(r->owner, t);
		t->r = NULL;
		t->api = NULL;
		r->sync = NULL;
	}
	unhold(r->owner, r);
	http_answer(r);
}

/* Back on the loop: the store's writer made the change (or could not); the held answer goes. */
static void api_written(struct mml_pending *p, void *arg)
{
	struct api_sync *t = arg;

	if (t->api && t->r) {
		sync_forget(t->api, t);
		t->r->sync = NULL;
		loop_timer_cancel(t->api->loop, &t->r->delay);
		unhold(t->api, t->r);
		if (p->gone)
			http_error(t->r, 503, "stopping");
		else
			answer_reply(t->r, NULL, &p->reply, p->retcode);
		http_answer(t->r);
	}
	free(t);
}

/* Holds a failed login's answer for delay_ms, as MML does. */
static void hold(struct http_api *api, struct http_req *r, uint64_t delay_ms);

/*
 * A command whose change went to the store's writer: its answer waits for
 * it, up to API_SYNC_MAX_MS (then 504, the change still queued).
 */
static void hold_for_store(struct http_api *api, struct http_req *r, struct mml_pending *p)
{
	struct api_sync *t = calloc(1, sizeof(*t));

	http_error(r, 504, "the database has not taken the change within %d s: it is queued "
		   "and will be made", API_SYNC_MAX_MS / 1000);
	if (!t)
		return;		/* answered now: the change is made all the same */
	t->api = api;
	t->r = r;
	t->next = api->syncs;
	api->syncs = t;
	r->sync = t;
	p->ready = api_written;
	p->arg = t;
	hold(api, r, API_SYNC_MAX_MS);
}

static bool login_refused(struct http_api *api, struct http_req *r, const char *what)
{
	uint64_t now = loop_now_ms(api->loop);
	uint64_t delay = http_peer_failed(&api->sessions, r->peer, now);

	api->mml->stats.login_failures++;
	LOG(L_WARN, "[http] %s: %s", r->peer, what);
	http_error(r, 401, "login failed: wrong operator, password or token");
	hold(api, r, delay);
	return false;
}

static bool locked_out(struct http_api *api, struct http_req *r)
{
	unsigned left = http_peer_locked(&api->sessions, r->peer, loop_now_ms(api->loop));

	if (!left)
		return false;
	r->retry_after = left;
	http_error(r, 429, "too many failed logins from %s: try again in %u s", r->peer, left);
	return true;
}

/* The bearer token of [http] token; false with r answered (or held) otherwise. */
static bool bearer(struct http_api *api, struct http_req *r, struct who *who, bool *done)
{
	const char *token = api->mml->env.conf->http_token;

	*done = false;
	if (strncasecmp(r->auth, "Bearer ", 7))
		return false;
	*done = true;
	if (locked_out(api, r))
		return false;
	if (!token[0] || !http_token_eq(r->auth + 7, token)) {
		r->challenge = true;
		return login_refused(api, r, "wrong bearer token");
	}
	snprintf(who->op, sizeof(who->op), "token");
	who->role = OP_ADMIN;
	who->session = NULL;
	return true;
}

/* Fills who, or answers r (401, 403) and returns false. */
static bool authorize(struct http_api *api, struct http_req *r, struct who *who)
{
	struct http_session *s;
	bool expired, done;

	if (r->auth[0]) {
		if (bearer(api, r, who, &done))
			return true;
		if (done)
			return false;
	}
	if (!r->session[0]) {
		r->challenge = !!api->mml->env.conf->http_token[0];
		http_error(r, 401, "not logged in");
		return false;
	}
	s = http_session_find(&api->sessions, r->session, loop_now_ms(api->loop), &expired);
	if (!s) {
		http_error(r, 401, expired ? "session expired: log in again" : "not logged in");
		cookie(api, r, "", true);
		return false;
	}
	if (changes(r) && !http_token_eq(r->csrf, s->csrf)) {
		http_error(r, 403, "missing or wrong CSRF token (X-CSRF-Token)");
		return false;
	}
	snprintf(who->op, sizeof(who->op), "%s", s->op);
	who->role = s->role;
	who->session = s;
	return true;
}

static json_t *session_doc(const struct http_session *s)
{
	return json_pack("{s:s, s:s, s:s}", "op", s->op, "role", operator_role_name(s->role),
			 "csrf", s->csrf);
}

/* POST /api/login {"op": ..., "password": ...} */
/* A login's outcome: the session and its cookie, or a refusal held for its delay. */
static bool login_end(struct http_api *api, struct http_req *r, int rc, enum op_role role,
		      const char *op)
{
	struct http_session *s;

	if (rc) {
		char what[80];

		snprintf(what, sizeof(what), "login as '%.32s' failed", op);
		return login_refused(api, r, what);
	}
	http_peer_ok(&api->sessions, r->peer);
	s = http_session_new(&api->sessions, op, role, loop_now_ms(api->loop));
	if (!s) {
		http_error(r, 500, "no random numbers for a session");
		return true;
	}
	api->mml->stats.logins++;
	LOG(L_INFO, "[http] %s: %s logged in (%s)", r->peer, s->op, operator_role_name(role));
	cookie(api, r, s->id, false);
	reply_json(r, 200, session_doc(s));
	return true;
}

/* Back on the loop: the password's hash is done (on the worker); the answer goes. */
static void login_hashed(struct store_op *op, void *arg)
{
	struct api_sync *t = arg;
	struct op_login *l = op->u.call.data;
	struct http_req *r = t->r;
	struct http_api *api = t->api;
	enum op_role role = OP_OPERATOR;
	char name[OP_NAME_MAX];
	int rc;

	if (!api || !r) {		/* the API stopped, or the hold ran out, first */
		OPENSSL_cleanse(l, sizeof(*l));
		free(t);
		return;
	}
	sync_forget(api, t);
	free(t);
	r->sync = NULL;
	loop_timer_cancel(api->loop, &r->delay);
	unhold(api, r);
	snprintf(name, sizeof(name), "%s", l->name);
	rc = operator_login_end(api->mml->env.store, l, &role);	/* wipes l */
	if (login_end(api, r, rc, role, name))
		http_answer(r);
}

/*
 * The 10,000 rounds of PBKDF2 (10-30 ms) on the MML's worker thread, as an
 * MML login's: the request is held meanwhile, the loop goes on. 0 when it
 * went there.
 */
static int login_async(struct http_api *api, struct http_req *r, const char *op,
		       const char *pwd)
{
	struct api_sync *t = calloc(1, sizeof(*t));
	struct store_op *sop = store_op_new(STORE_OP_CALL);
	struct op_login *l = calloc(1, sizeof(*l));
	int err = -ENOMEM;

	if (!t || !sop || !l)
		goto out_free;
	err = operator_login_begin(api->mml->env.store, op, pwd, l);
	if (err)
		goto out_free;
	sop->u.call.fn = operator_login_hash_job;
	sop->u.call.data = l;
	http_error(r, 503, "the login did not complete: try again");
	t->api = api;
	t->r = r;
	t->next = api->syncs;
	api->syncs = t;
	r->sync = t;
	hold(api, r, API_SYNC_MAX_MS);
	store_q_submit(api->mml->env.worker, sop, login_hashed, t);
	return 0;

out_free:
	if (l)
		OPENSSL_cleanse(l, sizeof(*l));
	free(l);
	store_op_free(sop);
	free(t);
	return err;
}

static bool login(struct http_api *api, struct http_req *r)
{
	json_error_t jerr;
	json_t *doc = NULL;
	const char *op = NULL, *pwd = NULL;
	enum op_role role = OP_OPERATOR;
	bool done;
	int rc;

	if (r->too_big) {
		http_error(r, 413, "request body larger than %d bytes", HTTP_MAX_BODY);
		return true;
	}
	if (!json_type_ok(r->ctype)) {
		http_error(r, 415, "the body must be application/json");
		return true;
	}
	if (locked_out(api, r))
		return true;
	doc = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc || json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:s}", "op", &op, "password",
				   &pwd)) {
		http_error(r, 400, "the body must be {\"op\": NAME, \"password\": PASSWORD}: %s",
			   jerr.text);
		json_decref(doc);
		return true;
	}
	if (!api->mml->env.store) {
		http_error(r, 503, "no operator database");
		json_decref(doc);
		return true;
	}
	if (api->mml->env.worker && !login_async(api, r, op, pwd)) {
		json_decref(doc);
		return !held_now(api, r);	/* login_hashed() answers */
	}
	rc = operator_check(api->mml->env.store, op, pwd, &role);
	done = login_end(api, r, rc, role, op);	/* op is doc's */
	json_decref(doc);
	return done;
}

static bool logout(struct http_api *api, struct http_req *r, struct who *who)
{
	if (who->session) {
		LOG(L_INFO, "[http] %s: %s logged out", r->peer, who->op);
		http_session_end(who->session);
	}
	cookie(api, r, "", true);
	reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	return true;
}

/* ---- the entry ---- */

static void hold(struct http_api *api, struct http_req *r, uint64_t delay_ms)
{
	r->owner = api;
	r->held_next = api->held;
	api->held = r;
	loop_timer_init(&r->delay, on_delay, r);
	loop_timer_arm(api->loop, &r->delay, delay_ms);
}

static void metrics(struct http_api *api, struct http_req *r)
{
	struct who who;
	char *text = NULL;
	size_t len = 0;
	bool done;

	if (strcmp(r->method, "GET")) {
		http_error(r, 405, "GET only");
		return;
	}
	/* Off loopback, the bearer token; on it, anyone on this host may look. */
	if (!api->loopback && !bearer(api, r, &who, &done)) {
		if (!done) {
			r->challenge = true;
			http_error(r, 401, api->mml->env.conf->http_token[0]
					   ? "/metrics needs the bearer token"
					   : "/metrics off loopback needs [http] token");
		}
		return;
	}
	if (http_metrics(api->mml, &text, &len)) {
		http_error(r, 500, "out of memory");
		return;
	}
	http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

/* GET /api/history and GET /api/events (the stream itself is server.c's). */
static bool live_route(struct http_api *api, struct http_req *r)
{
	char *text;
	size_t len;

	if (strcmp(r->method, "GET")) {
		http_error(r, 405, "GET only");
		return true;
	}
	if (r->nargs || r->body_len || r->too_big) {
		http_error(r, 400, "%s takes no arguments and no body", r->path);
		return true;
	}
	if (!strcmp(r->path, "/api/events")) {
		r->status = 200;
		r->stream = true;
		return true;
	}
	text = http_live_history(api->live, &len);
	if (!text) {
		http_error(r, 500, "out of memory");
		return true;
	}
	http_reply(r, 200, "application/json", text, len);
	free(text);
	return true;
}

char *http_api_event(struct http_api *api, size_t *len)
{
	return http_live_event(api->live, len);
}

static bool session_info(struct http_api *api, struct http_req *r, const struct who *who)
{
	(void)api;
	if (who->session)
		reply_json(r, 200, session_doc(who->session));
	else
		reply_json(r, 200, json_pack("{s:s, s:s}", "op", who->op, "role",
					     operator_role_name(who->role)));
	return true;
}

bool http_api_handle(struct http_api *api, struct http_req *r)
{
	const struct route *k;
	const char *rest = NULL;
	struct who who;
	bool other;

	if (r->bad_args) {
		http_error(r, 400, "more than %d query arguments, or too long a path",
			   HTTP_MAX_ARGS);
		return true;
	}
	if (!strcmp(r->path, "/metrics")) {
		metrics(api, r);
		return !held_now(api, r);
	}
	if (!strcmp(r->path, "/api/login")) {
		if (strcmp(r->method, "POST")) {
			http_error(r, 405, "POST only");
			return true;
		}
		return login(api, r);
	}
	if (!authorize(api, r, &who))
		return !held_now(api, r);
	if (!strcmp(r->path, "/api/logout")) {
		if (strcmp(r->method, "POST")) {
			http_error(r, 405, "POST only");
			return true;
		}
		return logout(api, r, &who);
	}
	if (!strcmp(r->path, "/api/session"))
		return session_info(api, r, &who);
	if (!strcmp(r->path, "/api/history") || !strcmp(r->path, "/api/events"))
		return live_route(api, r);
	if (!strcmp(r->path, HTTP_IMPORT_PATH)) {
		struct mml_pending *p;

		api->mml->pending = NULL;
		http_import_users(api->mml, r, who.op, who.role);
		p = api->mml->pending;
		api->mml->pending = NULL;
		if (p)
			hold_for_store(api, r, p);
		return !held_now(api, r);
	}
	k = route_of(r, &rest, &other);
	if (!k) {
		if (other)
			http_error(r, 405, "%s is not a method of %.100s", r->method, r->path);
		else
			http_error(r, 404, "no such API: %.100s", r->path);
		return true;
	}
	run_command(api, r, k, rest, &who);
	return !held_now(api, r);
}

int http_api_new(struct http_api **out, struct loop *loop, struct mml_server *mml,
		 bool tls, bool loopback)
{
	struct http_api *api = calloc(1, sizeof(*api));

	if (!api)
		return -ENOMEM;
	api->loop = loop;
	api->mml = mml;
	api->tls = tls;
	api->loopback = loopback;
	api->sessions.timeout_ms = (uint64_t)mml->env.conf->http_session_timeout * 1000;
	if (http_live_new(&api->live, loop, mml)) {
		free(api);
		return -ENOMEM;
	}
	*out = api;
	return 0;
}

void http_api_free(struct http_api *api)
{
	if (!api)
		return;
	for (struct api_sync *t = api->syncs; t; t = t->next) {
		t->r->sync = NULL;
		t->r = NULL;
		t->api = NULL;
	}
	api->syncs = NULL;
	while (api->held) {
		struct http_req *r = api->held;

		loop_timer_cancel(api->loop, &r->delay);
		unhold(api, r);
		http_answer(r);
	}
	http_live_free(api->live);
	free(api);
}
