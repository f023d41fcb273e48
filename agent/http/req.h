/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One HTTP request on its way from the listener's thread (server.c) to the
 * event loop (api.c) and back. The listener fills the first part and does
 * not touch the request while the loop holds it; the loop fills the answer
 * and gives it back with http_answer(), after which it must not touch it.
 */
#ifndef SLUICE_HTTP_REQ_H
#define SLUICE_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include "core/loop.h"

#ifndef HTTP_MAX_BODY
#define HTTP_MAX_BODY		(64 * 1024)	/* a request body, bytes */
#endif
#define HTTP_MAX_ARGS		16		/* query arguments */
#define HTTP_TOKEN_LEN		64		/* session and CSRF tokens, hex */

struct http_arg {
	char	*key, *value;
};

struct http_req {
	struct http_req		*next;
	void			*conn;		/* struct MHD_Connection, the listener's */
	struct http_server	*h;

	/* What came: filled by the listener. */
	char			method[8];
	char			path[256];
	struct http_arg		args[HTTP_MAX_ARGS];
	int			nargs;
	bool			bad_args;	/* too many, or too long a path */
	char			session[HTTP_TOKEN_LEN + 8];	/* the cookie */
	char			csrf[HTTP_TOKEN_LEN + 8];	/* X-CSRF-Token */
	char			auth[192];			/* Authorization */
	char			ctype[96];			/* Content-Type */
	char			*body;
	size_t			body_len;
	bool			too_big;
	char			peer[64];	/* the client's address, no port */
	bool			tls;
	bool			ws;		/* a WebSocket handshake (RFC 6455 4.1) */
	char			ws_key[32];	/* Sec-WebSocket-Key */

	/* The answer: filled by the loop. */
	int			status;
	char			*out;		/* malloc'ed, handed to the listener */
	size_t			out_len;
	const char		*out_type;	/* static string */
	char			set_cookie[256];
	char			disposition[128];
	unsigned		retry_after;	/* seconds, 0: no header */
	bool			challenge;	/* WWW-Authenticate: Bearer */
	bool			stream;		/* 200: the dashboard's event stream follows */
	bool			upgrade;	/* 101: the listen-in WebSocket (http/listen.h) */
	char			ws_accept[32];	/* its Sec-WebSocket-Accept */
	char			ticket[40];	/* its ticket */

	/* The listener's bookkeeping. */
	bool			queued, answered;
	/* The loop's, while it holds the request (a failed login's delay). */
	struct loop_timer	delay;
	struct http_req		*held_next;
	void			*owner;		/* struct http_api */
	void			*sync;		/* api.c's: a shared store's commit it waits for */
};

/* In the loop: hands an answered request back to the listener. */
void http_answer(struct http_req *r);
/* An answer of text/plain or application/json; -ENOMEM. */
int http_reply(struct http_req *r, int status, const char *type, const char *body, size_t len);
/* {"error": reason} with status. */
void http_error(struct http_req *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* SLUICE_HTTP_REQ_H */
