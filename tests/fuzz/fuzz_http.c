// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the web API's request path in the event loop
 * (http/api.c), over whatever a browser or script sends once
 * libmicrohttpd has cut the request: the method, the path, the query
 * arguments, the headers that matter (cookie, CSRF token, Authorization,
 * Content-Type) and the body. The input is lines:
 *
 *	METHOD \n PATH \n KEY=VALUE&... \n FLAGS \n BODY...
 *
 * FLAGS' first character chooses the credentials: 'b' the right bearer
 * token, 'x' a wrong one, anything else none. No database and no SIP
 * server, so the commands answer "no database", but everything before
 * them (routes, JSON, fields, types, sizes, authorization) runs, and the
 * reply renderer with it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "http/api.h"
#include "mml/cmd.h"
#include "mml/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *cut(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));

	*len = nl ? (size_t)(nl - s) : (size_t)(end - s);
	*p = nl ? nl + 1 : end;
	return s;
}

static void copy(char *out, size_t n, const char *s, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

static void args_of(struct http_req *r, const char *s, size_t len)
{
	char *q = strndup(s, len), *save = NULL, *kv;

	for (kv = q ? strtok_r(q, "&", &save) : NULL; kv && r->nargs < HTTP_MAX_ARGS;
	     kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');

		if (eq)
			*eq++ = '\0';
		r->args[r->nargs].key = strdup(kv);
		r->args[r->nargs].value = strdup(eq ? eq : "");
		r->nargs++;
	}
	free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf conf;
	static struct mml_server mml;
	static struct loop *loop;
	const char *p = (const char *)data, *end = p + size, *s;
	struct http_api *api;
	struct http_req *r;
	size_t len;

	if (!loop) {
		struct mml_env env = { .conf = &conf };

		log_set_level(L_ERROR);
		conf_defaults(&conf);
		conf.http_listen.ss.ss_family = AF_UNSPEC;
		conf.mml_listen.ss.ss_family = AF_UNSPEC;
		strcpy(conf.http_token, "fuzz-token-0123456789");
		if (loop_new(&loop) || mml_open(&mml, loop, &env, mml_run))
			abort();
	}
	if (size > HTTP_MAX_BODY + 1024 || http_api_new(&api, loop, &mml, false, true))
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	s = cut(&p, end, &len);
	copy(r->method, sizeof(r->method), s, len);
	s = cut(&p, end, &len);
	copy(r->path, sizeof(r->path), s, len);
	s = cut(&p, end, &len);
	args_of(r, s, len);
	s = cut(&p, end, &len);
	if (len && s[0] == 'b')
		strcpy(r->auth, "Bearer fuzz-token-0123456789");
	else if (len && s[0] == 'x')
		strcpy(r->auth, "Bearer wrong");
	strcpy(r->ctype, "application/json");
	strcpy(r->peer, "192.0.2.1");
	r->body_len = (size_t)(end - p);
	r->body = malloc(r->body_len + 1);
	if (!r->body)
		abort();
	memcpy(r->body, p, r->body_len);
	r->body[r->body_len] = '\0';
	http_api_handle(api, r);
	http_api_free(api);	/* answers what it held */
	for (int i = 0; i < r->nargs; i++) {
		free(r->args[i].key);
		free(r->args[i].value);
	}
	free(r->body);
	free(r->out);
	free(r);
	return 0;
}
