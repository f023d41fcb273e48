// SPDX-License-Identifier: GPL-2.0-only
/*
 * Building MML replies (layout in reply.h) into one growing buffer, so a
 * reply goes out in one write and a failed allocation turns into an error
 * the caller sees once, at the end, instead of at every append.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mml/reply.h"
#include "mml/reply_int.h"

void mml_reply_init(struct mml_reply *r)
{
	memset(r, 0, sizeof(*r));
}

static void table_clear(struct mml_reply *r)
{
	size_t i;

	for (i = 0; i < r->ncells; i++)
		free(r->cells[i]);
	free(r->cells);
	r->cells = NULL;
	r->ncells = r->cells_cap = 0;
	r->ncols = 0;
	r->title = NULL;
	r->types = NULL;
}

void mml_reply_free(struct mml_reply *r)
{
	table_clear(r);
	if (r->render)
		r->render->free(r);
	free(r->blob);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

static void vappend(struct mml_reply *r, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	if (r->err)
		return;
	va_copy(again, ap);
	n = vsnprintf(r->buf ? r->buf + r->len : NULL, r->buf ? r->cap - r->len : 0, fmt, ap);
	if (n >= 0 && (!r->buf || (size_t)n >= r->cap - r->len)) {
		size_t cap = r->cap ? r->cap : 1024;
		char *nb;

		while (cap - r->len <= (size_t)n)
			cap *= 2;
		nb = realloc(r->buf, cap);
		if (!nb) {
			r->err = -ENOMEM;
			va_end(again);
			return;
		}
		r->buf = nb;
		r->cap = cap;
		n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, again);
	}
	va_end(again);
	if (n < 0) {
		r->err = -EINVAL;
		return;
	}
	r->len += (size_t)n;
}

static void append(struct mml_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void append(struct mml_reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(r, fmt, ap);
	va_end(ap);
}

void mml_reply_printf(struct mml_reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (r->render)
		r->render->vline(r, fmt, ap);
	else
		vappend(r, fmt, ap);
	va_end(ap);
	if (!r->render)
		append(r, "\r\n");
}

void mml_reply_blob(struct mml_reply *r, const char *data, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy) {
		r->err = -ENOMEM;
		return;
	}
	memcpy(copy, data, len);
	copy[len] = '\0';
	free(r->blob);
	r->blob = copy;
	r->blob_len = len;
	if (r->render)
		return;
	append(r, "\r\n%.*s", (int)len, data);
	if (len < 2 || memcmp(data + len - 2, "\r\n", 2))
		append(r, "\r\n");
}

void mml_reply_table_types(struct mml_reply *r, const char *types)
{
	r->types = types;
}

void mml_reply_head(struct mml_reply *r, const char *node, time_t when, unsigned seq,
		    const char *command, int retcode, const char *reason)
{
	char date[32];
	struct tm tm;

	if (r->render) {
		r->render->head(r, retcode, reason);
		return;
	}
	localtime_r(&when, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	append(r, "+++    %-12s  %s\r\n", node, date);
	append(r, "O&M    #%u\r\n", seq);
	append(r, "%%%%%s%%%%\r\n", command);
	append(r, "RETCODE = %d  %s\r\n", retcode,
	       reason ? reason : "Operation succeeded");
}

void mml_reply_table_begin(struct mml_reply *r, const char *title, int ncols,
			   const char *const *cols)
{
	table_clear(r);
	if (ncols < 1 || ncols > MML_MAX_COLS) {
		r->err = -EINVAL;
		return;
	}
	r->title = title;
	r->ncols = ncols;
	mml_reply_row(r, cols);
}

void mml_reply_row(struct mml_reply *r, const char *const *cells)
{
	int i;

	if (r->err || !r->ncols)
		return;
	if (r->ncells + (size_t)r->ncols > r->cells_cap) {
		size_t cap = r->cells_cap ? r->cells_cap * 2 : 64;
		char **nc;

		while (cap < r->ncells + (size_t)r->ncols)
			cap *= 2;
		nc = realloc(r->cells, cap * sizeof(*nc));
		if (!nc) {
			r->err = -ENOMEM;
			return;
		}
		r->cells = nc;
		r->cells_cap = cap;
	}
	for (i = 0; i < r->ncols; i++) {
		char *c = strdup(cells[i] ? cells[i] : "");

		if (!c) {
			r->err = -ENOMEM;
			return;
		}
		r->cells[r->ncells++] = c;
	}
}

void mml_reply_table_end(struct mml_reply *r)
{
	size_t width[MML_MAX_COLS] = { 0 };
	size_t rows, row, i;
	int c;

	if (r->err || !r->ncols)
		goto out_clear;
	if (r->render) {
		r->render->table(r);
		goto out_clear;
	}
	rows = r->ncells / (size_t)r->ncols;
	for (i = 0; i < r->ncells; i++) {
		size_t w = strlen(r->cells[i]);

		c = (int)(i % (size_t)r->ncols);
		if (w > width[c])
			width[c] = w;
	}
	append(r, "\r\n%s\r\n", r->title);
	for (i = 0; i < strlen(r->title); i++)
		append(r, "-");
	append(r, "\r\n");
	for (row = 0; row < rows; row++) {
		for (c = 0; c < r->ncols; c++) {
			const char *cell = r->cells[row * (size_t)r->ncols + (size_t)c];

			if (c == r->ncols - 1)
				append(r, " %s", cell);
			else
				append(r, " %-*s ", (int)width[c], cell);
		}
		append(r, "\r\n");
	}
	append(r, "(Number of results = %zu)\r\n", rows - 1);
out_clear:
	table_clear(r);
}

void mml_reply_end(struct mml_reply *r)
{
	if (r->render)
		return;
	append(r, "\r\n---    END\r\n");
}
