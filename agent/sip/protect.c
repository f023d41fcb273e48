// SPDX-License-Identifier: GPL-2.0-only
/*
 * Failed-authentication blocks, the blacklist and scanner User-Agents
 * (see protect.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "sip/protect.h"

int protect_init(struct protect *p, uint32_t limit, uint32_t window_s, uint32_t block_s)
{
	memset(p, 0, sizeof(*p));
	p->table = calloc(PROTECT_SETS * PROTECT_WAYS, sizeof(*p->table));
	if (!p->table)
		return -ENOMEM;
	p->limit = limit;
	p->window = window_s;
	p->block = block_s;
	sip_hash_key_random(&p->key);
	return 0;
}

static void free_lens(struct protect_len *lens, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(lens[i].addrs);
	free(lens);
}

void protect_fini(struct protect *p)
{
	free(p->table);
	free_lens(p->lens, p->nlens);
	memset(p, 0, sizeof(*p));
}

bool protect_addr(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

static void mask(uint8_t a[16], unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;

		if (bits < 8)
			a[i] &= (uint8_t)(0xff00 >> bits);
	}
}

static int cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static bool blacklisted(const struct protect *p, const uint8_t addr[16])
{
	uint8_t m[16];

	for (unsigned i = 0; i < p->nlens; i++) {
		memcpy(m, addr, 16);
		mask(m, p->lens[i].len);
		if (bsearch(m, p->lens[i].addrs, p->lens[i].n, 16, cmp16))
			return true;
	}
	return false;
}

static struct protect_entry *set_of(struct protect *p, const uint8_t addr[16])
{
	return &p->table[(sip_hash_buf(&p->key, addr, 16) % PROTECT_SETS) * PROTECT_WAYS];
}

bool protect_blocked(struct protect *p, const struct sockaddr *sa, int64_t now)
{
	struct protect_entry *set;
	uint8_t a[16];

	if (!protect_addr(sa, a))
		return false;
	if (p->nlens && blacklisted(p, a))
		return true;
	set = set_of(p, a);
	for (int i = 0; i < PROTECT_WAYS; i++)
		if (set[i].window_start && !memcmp(set[i].addr, a, 16))
			return set[i].blocked_until > now;
	return false;
}

bool protect_fail(struct protect *p, const struct sockaddr *sa, int64_t now)
{
	struct protect_entry *set, *e = NULL, *victim = NULL;
	char text[INET6_ADDRSTRLEN];
	uint8_t a[16];

	if (!protect_addr(sa, a))
		return false;
	p->stats.failures++;
	set = set_of(p, a);
	for (int i = 0; i < PROTECT_WAYS && !e; i++)
		if (set[i].window_start && !memcmp(set[i].addr, a, 16))
			e = &set[i];
	if (!e) {
		/* A free way, else the oldest that is not blocked, else the oldest. */
		for (int i = 0; i < PROTECT_WAYS; i++) {
			struct protect_entry *c = &set[i];
			bool c_blocked = c->blocked_until > now;

			if (!c->window_start) {
				victim = c;
				break;
			}
			if (!victim || (victim->blocked_until > now && !c_blocked) ||
			    ((victim->blocked_until > now) == c_blocked &&
			     c->window_start < victim->window_start))
				victim = c;
		}
		e = victim;
		memset(e, 0, sizeof(*e));
		memcpy(e->addr, a, 16);
	}
	if (e->blocked_until > now)
		return false;			/* already blocked */
	if (!e->window_start || now - e->window_start >= p->window) {
		e->window_start = now ? now : 1;
		e->fails = 0;
	}
	if (++e->fails <= p->limit)
		return false;
	e->blocked_until = now + p->block;
	e->window_start = now ? now : 1;
	e->fails = 0;
	p->stats.blocks++;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text, sizeof(text));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text,
			  sizeof(text));
	LOG(L_WARN, "[sip] %s blocked for %u s: more than %u failed authentications in %u s",
	    text, p->block, p->limit, p->window);
	return true;
}

int protect_parse_prefix(const char *text, uint8_t addr[16], unsigned *len)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	struct in6_addr a6;
	struct in_addr a4;
	unsigned long bits;
	bool v4;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		v4 = true;
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		v4 = false;
		memcpy(addr, &a6, 16);
	} else {
		return -EINVAL;
	}
	bits = v4 ? 32 : 128;
	if (slash) {
		if (!*slash || !isdigit((unsigned char)*slash))
			return -EINVAL;
		bits = strtoul(slash, &end, 10);
		if (*end || bits > (v4 ? 32u : 128u))
			return -EINVAL;
	}
	*len = (unsigned)bits + (v4 ? 96 : 0);
	mask(addr, *len);
	return 0;
}

static int add_prefix(struct protect_len **lens, unsigned *nlens, const uint8_t a[16],
		      unsigned len)
{
	struct protect_len *l = NULL;
	uint8_t (*grown)[16];

	for (unsigned i = 0; i < *nlens; i++)
		if ((*lens)[i].len == len)
			l = &(*lens)[i];
	if (!l) {
		struct protect_len *n = realloc(*lens, (*nlens + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		*lens = n;
		l = &n[(*nlens)++];
		memset(l, 0, sizeof(*l));
		l->len = len;
	}
	grown = realloc(l->addrs, (l->n + 1) * 16);
	if (!grown)
		return -ENOMEM;
	l->addrs = grown;
	memcpy(l->addrs[l->n++], a, 16);
	return 0;
}

int protect_blacklist_load(struct protect *p, const char *path, const char *const *extra,
			   size_t nextra)
{
	struct protect_len *lens = NULL;
	unsigned nlens = 0, lineno = 0;
	size_t total = 0;
	char line[512];
	FILE *f;
	int err = 0;

	if (path && *path) {
		f = fopen(path, "re");
		if (!f) {
			err = -errno;
			LOG(L_ERROR, "[sip] blacklist %s: %s; the list in force stays", path,
			    strerror(errno));
			return err;
		}
		while (fgets(line, sizeof(line), f)) {
			char *s = line, *hash = strchr(line, '#'), *e;
			uint8_t a[16];
			unsigned len;

			lineno++;
			if (hash)
				*hash = '\0';
			while (isspace((unsigned char)*s))
				s++;
			e = s + strlen(s);
			while (e > s && isspace((unsigned char)e[-1]))
				*--e = '\0';
			if (!*s)
				continue;
			if (protect_parse_prefix(s, a, &len)) {
				LOG(L_WARN, "[sip] blacklist %s:%u: not an address or prefix: '%s'",
				    path, lineno, s);
				continue;
			}
			err = add_prefix(&lens, &nlens, a, len);
			if (err)
				break;
			total++;
		}
		fclose(f);
		if (err) {
			free_lens(lens, nlens);
			return err;
		}
		LOG(L_INFO, "[sip] blacklist %s: %zu entr%s", path, total, total == 1 ? "y" : "ies");
	}
	for (size_t i = 0; i < nextra && !err; i++) {
		uint8_t a[16];
		unsigned len;

		if (protect_parse_prefix(extra[i], a, &len)) {
			LOG(L_WARN, "[sip] blacklist: not an address or prefix: '%s'", extra[i]);
			continue;
		}
		err = add_prefix(&lens, &nlens, a, len);
		total++;
	}
	if (err) {
		free_lens(lens, nlens);
		return err;
	}
	for (unsigned i = 0; i < nlens; i++)
		qsort(lens[i].addrs, lens[i].n, 16, cmp16);
	free_lens(p->lens, p->nlens);
	p->lens = lens;
	p->nlens = nlens;
	p->nblack = total;
	return (int)total;
}

void protect_set_scanners(struct protect *p, const char *list)
{
	const char *s = list;

	p->nscanners = 0;
	while (s && *s && p->nscanners < PROTECT_SCANNERS) {
		size_t n;

		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		n = strcspn(s, ",");
		while (n && isspace((unsigned char)s[n - 1]))
			n--;
		if (n && n < sizeof(p->scanners[0])) {
			memcpy(p->scanners[p->nscanners], s, n);
			p->scanners[p->nscanners++][n] = '\0';
		}
		s += strcspn(s, ",");
	}
}

bool protect_scanner_ua(const struct protect *p, const char *ua)
{
	if (!ua)
		return false;
	for (int i = 0; i < p->nscanners; i++)
		if (strcasestr(ua, p->scanners[i]))
			return true;
	return false;
}
