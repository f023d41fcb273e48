/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * JSON text written straight into one growing buffer, for the rows the
 * event loop writes on every call (a media session and the call it
 * carries): a jansson tree cost a dozen allocations for each. Only
 * writing; reading stays jansson's. An allocation that fails marks the
 * buffer (oom) and the rest is a no-op: check once at the end.
 */
#ifndef SLUICE_JBUF_H
#define SLUICE_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct jbuf {
	char	*p;		/* NUL-terminated; the caller frees it */
	size_t	len, cap;
	bool	oom;
};

void jb_put(struct jbuf *b, const char *s, size_t n);
/* A JSON string: quotes, backslashes and control characters escaped. */
void jb_str(struct jbuf *b, const char *s);
/*
 * The same, bytes past ASCII written '?': for text from the network that
 * a browser reads (Call-IDs, URIs are ASCII; a stray byte must not make
 * the whole event invalid UTF-8).
 */
void jb_str_ascii(struct jbuf *b, const char *s);
void jb_uint(struct jbuf *b, uint64_t v);

static inline void jb_lit(struct jbuf *b, const char *s)
{
	jb_put(b, s, strlen(s));
}

static inline void jb_bool(struct jbuf *b, bool v)
{
	jb_lit(b, v ? "true" : "false");
}

#endif
