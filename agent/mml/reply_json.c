// SPDX-License-Identifier: GPL-2.0-only
/*
 * A command's result (see reply.h) rendered as JSON with jansson, for the
 * web API: the head's RETCODE and reason, each table as an array of
 * objects keyed by its lower-cased column names (numbers where the command
 * said a column holds them), free lines as an array of strings. The text
 * renderer is reply.c; the commands do not know which one they feed.
 */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mml/reply_int.h"

void *mml_reply_take_json(struct mml_reply *r)
{
	void *j = r->json;

	r->json = NULL;
	return j;
}

static void mml_json_free(struct mml_reply *r)
{
	json_decref(r->json);
	r->json = NULL;
}

static void set(struct mml_reply *r, json_t *obj, const char *key, json_t *v)
{
	if (!v || json_object_set_new(obj, key, v))
		r->err = -ENOMEM;
}

/* Text from the network may not be UTF-8: such bytes become '?'. */
static json_t *text(const char *cell)
{
	json_t *j = json_string(cell);
	char *copy;

	if (j)
		return j;
	copy = strdup(cell);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static void mml_json_head(struct mml_reply *r, int retcode, const char *reason)
{
	set(r, r->json, "retcode", json_integer(retcode));
	set(r, r->json, "reason", text(reason ? reason : "Operation succeeded"));
}

/* An array member of the document, made on first use. */
static json_t *array_of(struct mml_reply *r, const char *key)
{
	json_t *a = json_object_get(r->json, key);

	if (!a) {
		a = json_array();
		set(r, r->json, key, a);
	}
	return r->err ? NULL : a;
}

/* "1.5", "-3": a number; "-", "": null; anything else stays text. */
static json_t *number(const char *cell)
{
	char *end;
	long long i;
	double d;

	if (!cell[0] || !strcmp(cell, "-"))
		return json_null();
	i = strtoll(cell, &end, 10);
	if (!*end)
		return json_integer(i);
	d = strtod(cell, &end);
	if (!*end)
		return json_real(d);
	return text(cell);
}

static void column_key(const char *col, char *out, size_t n)
{
	size_t i;

	for (i = 0; col[i] && i + 1 < n; i++)
		out[i] = col[i] == ' ' ? '_' : (char)tolower((unsigned char)col[i]);
	out[i] = '\0';
}

static void mml_json_table(struct mml_reply *r)
{
	size_t nrows = r->ncells / (size_t)r->ncols;
	json_t *tables = array_of(r, "tables"), *t, *rows;
	char key[64];

	if (!tables)
		return;
	t = json_object();
	rows = json_array();
	if (!t || !rows || json_array_append_new(tables, t)) {
		json_decref(rows);
		r->err = -ENOMEM;
		return;
	}
	set(r, t, "title", text(r->title));
	set(r, t, "rows", rows);
	/* A table of names and values (SYSINFO, SRVSTAT) is an object too. */
	if (r->ncols == 2 && !strcmp(r->cells[0], "NAME") && !strcmp(r->cells[1], "VALUE")) {
		json_t *values = json_object();

		set(r, t, "values", values);
		for (size_t row = 1; row < nrows && !r->err; row++)
			set(r, values, r->cells[row * 2], text(r->cells[row * 2 + 1]));
	}
	for (size_t row = 1; row < nrows && !r->err; row++) {
		json_t *o = json_object();

		if (!o || json_array_append_new(rows, o)) {
			r->err = -ENOMEM;
			return;
		}
		for (int c = 0; c < r->ncols; c++) {
			const char *cell = r->cells[row * (size_t)r->ncols + (size_t)c];
			bool num = r->types && r->types[c] == 'n';

			column_key(r->cells[c], key, sizeof(key));
			set(r, o, key, num ? number(cell) : text(cell));
		}
	}
}

static void mml_json_vline(struct mml_reply *r, const char *fmt, va_list ap)
{
	json_t *lines = array_of(r, "text");
	char *line = NULL;

	if (!lines)
		return;
	if (vasprintf(&line, fmt, ap) < 0) {
		r->err = -ENOMEM;
		return;
	}
	if (json_array_append_new(lines, text(line)))
		r->err = -ENOMEM;
	free(line);
}

static const struct mml_render json_render = {
	.head = mml_json_head,
	.table = mml_json_table,
	.vline = mml_json_vline,
	.free = mml_json_free,
};

int mml_reply_init_json(struct mml_reply *r)
{
	mml_reply_init(r);
	r->json = json_object();
	r->render = &json_render;
	return r->json ? 0 : -ENOMEM;
}
