// SPDX-License-Identifier: GPL-2.0-only
/*
 * A request's answer, written by the loop (api.c) and handed back to the
 * listener (server.c): see req.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "http/req.h"

int http_reply(struct http_req *r, int status, const char *type, const char *body, size_t len)
{
	char *copy = malloc(len + 1);

	free(r->out);
	r->out = NULL;
	r->out_len = 0;
	r->status = status;
	r->out_type = type;
	if (!copy) {
		r->status = 500;
		return -ENOMEM;
	}
	memcpy(copy, body, len);
	copy[len] = '\0';
	r->out = copy;
	r->out_len = len;
	return 0;
}

void http_error(struct http_req *r, int status, const char *fmt, ...)
{
	char reason[300], body[700];
	va_list ap;
	size_t n = 0;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* The reason is ours, but may quote what the client sent. */
	n = (size_t)snprintf(body, sizeof(body), "{\"error\": \"");
	for (const char *p = reason; *p && n < sizeof(body) - 8; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\')
			n += (size_t)snprintf(body + n, sizeof(body) - n, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			body[n++] = '?';
		else
			body[n++] = (char)c;
	}
	n += (size_t)snprintf(body + n, sizeof(body) - n, "\"}\n");
	http_reply(r, status, "application/json", body, n);
}

void http_answer(struct http_req *r)
{
	r->answered = true;
	if (r->conn)		/* a test's request has no connection */
		MHD_resume_connection(r->conn);
}
