// SPDX-License-Identifier: GPL-2.0-only
/*
 * The other nodes' bindings and addresses (cluster.h). A sorted array:
 * a lookup happens only for a call whose callee has no binding here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/cluster.h"

int cluster_addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[CLUSTER_ADDR_MAX];
	const char *port = NULL;
	unsigned long p = 5060;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!text || !*text || strlen(text) >= sizeof(host))
		return -EINVAL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close)
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(close - text - 1), text + 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return -EINVAL;
	} else {
		const char *colon = strrchr(text, ':');

		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - text) : (int)strlen(text),
			 text);
		if (colon)
			port = colon + 1;
	}
	if (port) {
		p = strtoul(port, &end, 10);
		if (!*port || *end || !p || p > 65535)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)p);
		*len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)p);
		*len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

struct cluster_update *cluster_update_new(int n)
{
	return calloc(1, sizeof(struct cluster_update) + (size_t)n * sizeof(struct cluster_entry));
}

static int find(const struct cluster *c, const char *aor, bool *found)
{
	int lo = 0, hi = c->n;

	while (lo < hi) {
		int mid = (lo + hi) / 2, d = strcmp(c->e[mid].aor, aor);

		if (!d) {
			*found = true;
			return mid;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void put(struct cluster *c, const struct cluster_entry *e)
{
	bool found;
	int i = find(c, e->aor, &found);

	if (found) {
		if (e->addr[0]) {
			c->e[i] = *e;
		} else {
			memmove(&c->e[i], &c->e[i + 1], (size_t)(c->n - i - 1) * sizeof(*c->e));
			c->n--;
		}
		return;
	}
	if (!e->addr[0])
		return;
	if (c->n == c->cap) {
		int cap = c->cap ? c->cap * 2 : 64;
		struct cluster_entry *grown = realloc(c->e, (size_t)cap * sizeof(*grown));

		if (!grown)
			return;		/* the call to it gets 480: no worse than before */
		c->e = grown;
		c->cap = cap;
	}
	memmove(&c->e[i + 1], &c->e[i], (size_t)(c->n - i) * sizeof(*c->e));
	c->e[i] = *e;
	c->n++;
}

void cluster_apply(struct cluster *c, const struct cluster_update *u)
{
	if (u->full)
		c->n = 0;
	for (int i = 0; i < u->n; i++)
		put(c, &u->e[i]);
	if (!u->has_peers)
		return;
	c->npeers = 0;
	for (int i = 0; i < u->npeers && c->npeers < CLUSTER_PEERS_MAX; i++)
		if (!cluster_addr_parse(u->peers[i], &c->peers[c->npeers],
					&c->peer_len[c->npeers]))
			c->npeers++;
}

bool cluster_lookup(const struct cluster *c, const char *aor, int64_t now,
		    struct sockaddr_storage *ss, socklen_t *len)
{
	bool found;
	int i;

	if (!c)
		return false;
	i = find(c, aor, &found);
	if (!found || c->e[i].expires <= now)
		return false;
	return !cluster_addr_parse(c->e[i].addr, ss, len);
}

bool cluster_is_peer(const struct cluster *c, const struct sockaddr_storage *addr)
{
	if (!c)
		return false;
	for (int i = 0; i < c->npeers; i++) {
		const struct sockaddr_storage *p = &c->peers[i];

		if (p->ss_family != addr->ss_family)
			continue;
		if (p->ss_family == AF_INET &&
		    ((const struct sockaddr_in *)p)->sin_addr.s_addr ==
			    ((const struct sockaddr_in *)addr)->sin_addr.s_addr)
			return true;
		if (p->ss_family == AF_INET6 &&
		    !memcmp(&((const struct sockaddr_in6 *)p)->sin6_addr,
			    &((const struct sockaddr_in6 *)addr)->sin6_addr, sizeof(struct in6_addr)))
			return true;
	}
	return false;
}

void cluster_free(struct cluster *c)
{
	free(c->e);
	memset(c, 0, sizeof(*c));
}
