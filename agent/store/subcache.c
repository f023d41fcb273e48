// SPDX-License-Identifier: GPL-2.0-only
/*
 * Subscribers in memory (see subcache.h): one entry per subscriber in two
 * chained hashes, by user name and by IMPU.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/subcache.h"

#define SUB_CACHE_MIN_BUCKETS	1024

struct sub_entry {
	struct sub_entry	*unext;		/* in by_user */
	struct sub_entry	*inext;		/* in by_impu */
	struct subscriber	s;
};

/* FNV-1a: the names are the operator's, not an attacker's choice of collisions. */
static unsigned hash(const struct sub_cache *c, const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h & (c->nbuckets - 1);
}

static int sub_cache_init(struct sub_cache *c, unsigned want)
{
	unsigned n = SUB_CACHE_MIN_BUCKETS;

	while (n < want * 2 && n < (1u << 24))
		n *= 2;
	c->nbuckets = n;
	c->n = 0;
	c->by_user = calloc(n, sizeof(*c->by_user));
	c->by_impu = calloc(n, sizeof(*c->by_impu));
	return c->by_user && c->by_impu ? 0 : -ENOMEM;
}

/* An empty cache sized for n subscribers; NULL without memory. */
struct sub_cache *sub_cache_new(unsigned n)
{
	struct sub_cache *c = calloc(1, sizeof(*c));

	if (c && sub_cache_init(c, n)) {
		sub_cache_free(c);
		return NULL;
	}
	return c;
}

void sub_cache_free(struct sub_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; c->by_user && i < c->nbuckets; i++) {
		struct sub_entry *e, *next;

		for (e = c->by_user[i]; e; e = next) {
			next = e->unext;
			free(e);
		}
	}
	free(c->by_user);
	free(c->by_impu);
	free(c);
}

static struct sub_entry *find_user(const struct sub_cache *c, const char *username)
{
	struct sub_entry *e;

	for (e = c->by_user[hash(c, username)]; e; e = e->unext)
		if (!strcmp(e->s.username, username))
			return e;
	return NULL;
}

int sub_cache_get(const struct sub_cache *c, const char *username, struct subscriber *out)
{
	const struct sub_entry *e = find_user(c, username);

	if (!e)
		return -ENOENT;
	*out = e->s;
	return 0;
}

int sub_cache_get_by_impu(const struct sub_cache *c, const char *impu, struct subscriber *out)
{
	const struct sub_entry *e;

	for (e = c->by_impu[hash(c, impu)]; e; e = e->inext) {
		if (!strcmp(e->s.impu, impu)) {
			*out = e->s;
			return 0;
		}
	}
	return -ENOENT;
}

int sub_cache_put(struct sub_cache *c, const struct subscriber *s)
{
	struct sub_entry *e;
	unsigned h;

	sub_cache_del(c, s->username);
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->s = *s;
	h = hash(c, s->username);
	e->unext = c->by_user[h];
	c->by_user[h] = e;
	h = hash(c, s->impu);
	e->inext = c->by_impu[h];
	c->by_impu[h] = e;
	c->n++;
	return 0;
}

void sub_cache_del(struct sub_cache *c, const char *username)
{
	struct sub_entry **pp, *e = find_user(c, username);

	if (!e)
		return;
	for (pp = &c->by_user[hash(c, e->s.username)]; *pp != e; pp = &(*pp)->unext)
		;
	*pp = e->unext;
	for (pp = &c->by_impu[hash(c, e->s.impu)]; *pp && *pp != e; pp = &(*pp)->inext)
		;
	if (*pp)
		*pp = e->inext;
	free(e);
	c->n--;
}
