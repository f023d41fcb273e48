// SPDX-License-Identifier: GPL-2.0-only
/*
 * JSON text into one growing buffer (see jbuf.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/jbuf.h"

void jb_put(struct jbuf *b, const char *s, size_t n)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *p;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void str(struct jbuf *b, const char *s, bool ascii)
{
	char esc[8];
	size_t run;

	jb_put(b, "\"", 1);
	while (s && *s) {
		for (run = 0; s[run] && s[run] != '"' && s[run] != '\\' &&
			      (unsigned char)s[run] >= 0x20 &&
			      (!ascii || (unsigned char)s[run] < 0x80); run++)
			;
		jb_put(b, s, run);
		s += run;
		if (!*s)
			break;
		if ((unsigned char)*s >= 0x80) {
			jb_put(b, "?", 1);
		} else if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = *s;
			jb_put(b, esc, 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)*s);
			jb_put(b, esc, 6);
		}
		s++;
	}
	jb_put(b, "\"", 1);
}

void jb_str(struct jbuf *b, const char *s)
{
	str(b, s, false);
}

void jb_str_ascii(struct jbuf *b, const char *s)
{
	str(b, s, true);
}

void jb_uint(struct jbuf *b, uint64_t v)
{
	char d[24];
	int i = (int)sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	jb_put(b, d + i, sizeof(d) - (size_t)i);
}
