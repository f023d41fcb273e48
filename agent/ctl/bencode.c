// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bencode decoding and encoding (see bencode.h). Written by hand: the
 * format is four productions, and no Debian library offers a zero-copy
 * decoder with the bounds a network parser needs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/bencode.h"

struct dec {
	const char	*p;
	const char	*end;
	struct benc	*nodes;
	size_t		nnodes;
	size_t		used;
	const char	*err;
};

static struct benc *dec_value(struct dec *d, int depth);

static struct benc *dec_fail(struct dec *d, const char *why)
{
	if (!d->err)
		d->err = why;
	return NULL;
}

static struct benc *dec_node(struct dec *d, enum benc_type type)
{
	struct benc *n;

	if (d->used >= d->nnodes)
		return dec_fail(d, "too many values");
	n = &d->nodes[d->used++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

/* Digits up to `stop`; no sign, no leading zero except "0" itself. */
static int dec_digits(struct dec *d, char stop, uint64_t limit, uint64_t *out)
{
	const char *start = d->p;
	uint64_t v = 0;

	while (d->p < d->end && *d->p >= '0' && *d->p <= '9') {
		unsigned digit = (unsigned)(*d->p - '0');

		if (v > (limit - digit) / 10)
			return -ERANGE;
		v = v * 10 + digit;
		d->p++;
	}
	if (d->p == start || d->p >= d->end || *d->p != stop)
		return -EINVAL;
	if (*start == '0' && d->p - start > 1)
		return -EINVAL;
	d->p++;
	*out = v;
	return 0;
}

static struct benc *dec_int(struct dec *d)
{
	bool neg = false;
	struct benc *n;
	uint64_t v;

	d->p++;		/* 'i' */
	if (d->p < d->end && *d->p == '-') {
		neg = true;
		d->p++;
	}
	if (dec_digits(d, 'e', neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &v))
		return dec_fail(d, "bad integer");
	if (neg && !v)
		return dec_fail(d, "bad integer");	/* "i-0e" */
	n = dec_node(d, BENC_INT);
	if (n)
		n->i = neg ? (int64_t)(0 - v) : (int64_t)v;
	return n;
}

static struct benc *dec_str(struct dec *d)
{
	struct benc *n;
	uint64_t len;

	if (dec_digits(d, ':', SIZE_MAX, &len))
		return dec_fail(d, "bad string length");
	if (len > (uint64_t)(d->end - d->p))
		return dec_fail(d, "string runs past the end");
	n = dec_node(d, BENC_STR);
	if (!n)
		return NULL;
	n->str.s = d->p;
	n->str.len = (size_t)len;
	d->p += len;
	return n;
}

static struct benc *dec_container(struct dec *d, enum benc_type type, int depth)
{
	struct benc *n, **tail;

	if (depth >= BENC_MAX_DEPTH)
		return dec_fail(d, "nested too deep");
	n = dec_node(d, type);
	if (!n)
		return NULL;
	d->p++;		/* 'l' or 'd' */
	tail = &n->list.first;
	for (;;) {
		struct benc *item;

		if (d->p >= d->end)
			return dec_fail(d, "unterminated list or dictionary");
		if (*d->p == 'e') {
			d->p++;
			break;
		}
		/* Dictionary keys are strings. */
		if (type == BENC_DICT && !(n->list.n & 1) && (*d->p < '0' || *d->p > '9'))
			return dec_fail(d, "dictionary key is not a string");
		item = dec_value(d, depth + 1);
		if (!item)
			return NULL;
		*tail = item;
		tail = &item->next;
		n->list.n++;
	}
	if (type == BENC_DICT && (n->list.n & 1))
		return dec_fail(d, "dictionary key without a value");
	return n;
}

static struct benc *dec_value(struct dec *d, int depth)
{
	if (d->p >= d->end)
		return dec_fail(d, "value expected");
	switch (*d->p) {
	case 'i':
		return dec_int(d);
	case 'l':
		return dec_container(d, BENC_LIST, depth);
	case 'd':
		return dec_container(d, BENC_DICT, depth);
	default:
		if (*d->p >= '0' && *d->p <= '9')
			return dec_str(d);
		return dec_fail(d, "unexpected character");
	}
}

struct benc *benc_decode(const char *buf, size_t len, struct benc *nodes, size_t nnodes,
			 const char **err)
{
	struct dec d = { .p = buf, .end = buf + len, .nodes = nodes, .nnodes = nnodes };
	struct benc *root = dec_value(&d, 0);

	if (root && d.p != d.end)
		root = dec_fail(&d, "trailing bytes after the value");
	if (!root && err)
		*err = d.err;
	return root;
}

bool benc_str_eq(const struct benc *b, const char *s)
{
	size_t n = strlen(s);

	return b && b->type == BENC_STR && b->str.len == n && !memcmp(b->str.s, s, n);
}

const struct benc *benc_dict_get(const struct benc *dict, const char *key)
{
	const struct benc *k;

	if (!dict || dict->type != BENC_DICT)
		return NULL;
	for (k = dict->list.first; k && k->next; k = k->next->next)
		if (benc_str_eq(k, key))
			return k->next;
	return NULL;
}

int benc_str_copy(const struct benc *b, char *out, size_t outlen)
{
	if (!b || b->type != BENC_STR)
		return -EINVAL;
	if (b->str.len >= outlen)
		return -ENOSPC;
	memcpy(out, b->str.s, b->str.len);
	out[b->str.len] = '\0';
	return 0;
}

void benc_buf_free(struct benc_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void benc_put_raw(struct benc_buf *b, const char *s, size_t len)
{
	if (b->err)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *nd;

		while (cap < b->len + len)
			cap *= 2;
		nd = realloc(b->data, cap);
		if (!nd) {
			b->err = -ENOMEM;
			return;
		}
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, len);
	b->len += len;
}

void benc_put_int(struct benc_buf *b, int64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "i%" PRId64 "e", v);

	benc_put_raw(b, tmp, (size_t)n);
}

void benc_put_strn(struct benc_buf *b, const char *s, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%zu:", len);

	benc_put_raw(b, tmp, (size_t)n);
	benc_put_raw(b, s, len);
}

void benc_put_str(struct benc_buf *b, const char *s)
{
	benc_put_strn(b, s, strlen(s));
}

void benc_put_dict(struct benc_buf *b)
{
	benc_put_raw(b, "d", 1);
}

void benc_put_list(struct benc_buf *b)
{
	benc_put_raw(b, "l", 1);
}

void benc_put_end(struct benc_buf *b)
{
	benc_put_raw(b, "e", 1);
}

void benc_put_node(struct benc_buf *b, const struct benc *node)
{
	const struct benc *c;

	switch (node->type) {
	case BENC_INT:
		benc_put_int(b, node->i);
		break;
	case BENC_STR:
		benc_put_strn(b, node->str.s, node->str.len);
		break;
	case BENC_LIST:
	case BENC_DICT:
		benc_put_raw(b, node->type == BENC_LIST ? "l" : "d", 1);
		for (c = node->list.first; c; c = c->next)
			benc_put_node(b, c);
		benc_put_end(b);
		break;
	}
}
