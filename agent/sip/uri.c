// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIP URI equivalence and the digest-uri rule (see uri.h). libosip2 has
 * parsed the URIs and unescaped their user, password and header values;
 * what is left here is which parts count and how each compares.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sip/uri.h"

/* Parameters that never match when only one URI has them (§19.1.4). */
static const char *const must_match[] = { "user", "ttl", "method", "maddr", "transport" };

static const char *str(const char *s)
{
	return s ? s : "";
}

static bool is_sip(const osip_uri_t *u)
{
	return u->scheme && (!strcasecmp(u->scheme, "sip") || !strcasecmp(u->scheme, "sips"));
}

/* An address literal (brackets allowed) into a; false for a name. */
static bool host_addr(const char *host, int *family, unsigned char a[16])
{
	char buf[INET6_ADDRSTRLEN];
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return false;
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	if (inet_pton(AF_INET, host, a) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, host, a) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

static bool host_equal(const char *a, const char *b)
{
	unsigned char x[16], y[16];
	int fx = 0, fy = 0;
	bool ax = host_addr(a, &fx, x), ay = host_addr(b, &fy, y);

	if (ax || ay)
		return ax && ay && fx == fy && !memcmp(x, y, fx == AF_INET ? 4 : 16);
	return !strcasecmp(a, b);
}

/* A port's value, or -1 when it is not 0..65535 in digits. */
static long port_value(const char *p)
{
	char *end;
	long v;

	if (!p || !*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5)
		return -1;
	v = strtol(p, &end, 10);
	return v <= 65535 ? v : -1;
}

static bool port_equal(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	if (port_value(a) < 0 || port_value(b) < 0)
		return !strcmp(a, b);
	return port_value(a) == port_value(b);
}

static osip_uri_param_t *find(const osip_list_t *l, const char *name)
{
	osip_list_t *list = (osip_list_t *)l;	/* libosip2's getters take no const */
	osip_uri_param_t *p;

	for (int i = 0; (p = osip_list_get(list, i)); i++)
		if (p->gname && !strcasecmp(p->gname, name))
			return p;
	return NULL;
}

static bool is_must_match(const char *name)
{
	for (size_t i = 0; i < sizeof(must_match) / sizeof(must_match[0]); i++)
		if (!strcasecmp(name, must_match[i]))
			return true;
	return false;
}

/* The first of a's parameters with p's name is p (later ones are ignored). */
static bool first_of_name(const osip_uri_t *a, const osip_uri_param_t *p)
{
	return p->gname && find(&a->url_params, p->gname) == p;
}

static bool params_equal(const osip_uri_t *a, const osip_uri_t *b)
{
	osip_uri_param_t *p, *q;
	int i;

	for (i = 0; (p = osip_list_get((osip_list_t *)&a->url_params, i)); i++) {
		if (!first_of_name(a, p))
			continue;
		q = find(&b->url_params, p->gname);
		if (q ? strcasecmp(str(p->gvalue), str(q->gvalue)) : is_must_match(p->gname))
			return false;
	}
	for (i = 0; (q = osip_list_get((osip_list_t *)&b->url_params, i)); i++)
		if (first_of_name(b, q) && is_must_match(q->gname) &&
		    !find(&a->url_params, q->gname))
			return false;
	return true;
}

/* Whether list l holds a header h's name (case-insensitive) and value. */
static bool has_header(const osip_list_t *l, const osip_uri_header_t *h)
{
	osip_uri_header_t *g;

	for (int i = 0; (g = osip_list_get((osip_list_t *)l, i)); i++)
		if (!strcasecmp(str(h->gname), str(g->gname)) &&
		    !strcmp(str(h->gvalue), str(g->gvalue)))
			return true;
	return false;
}

/* Headers are never ignored: as many, each one in the other, in any order. */
static bool headers_equal(const osip_uri_t *a, const osip_uri_t *b)
{
	osip_uri_header_t *h;
	int i;

	if (osip_list_size(&a->url_headers) != osip_list_size(&b->url_headers))
		return false;
	for (i = 0; (h = osip_list_get((osip_list_t *)&a->url_headers, i)); i++)
		if (!has_header(&b->url_headers, h))
			return false;
	for (i = 0; (h = osip_list_get((osip_list_t *)&b->url_headers, i)); i++)
		if (!has_header(&a->url_headers, h))
			return false;
	return true;
}

bool sip_uri_equal(const osip_uri_t *a, const osip_uri_t *b)
{
	if (!a->scheme || !b->scheme || strcasecmp(a->scheme, b->scheme))
		return false;
	if (!is_sip(a))
		return a->string && b->string && !strcmp(a->string, b->string);
	return a->host && b->host && !strcmp(str(a->username), str(b->username)) &&
	       !strcmp(str(a->password), str(b->password)) && host_equal(a->host, b->host) &&
	       port_equal(a->port, b->port) && params_equal(a, b) && headers_equal(a, b);
}

static bool same_addr(int family, const void *x, const unsigned char a[16])
{
	return !memcmp(x, a, family == AF_INET ? 4 : 16);
}

/*
 * Reads the interface addresses into h (as many as fit) and says whether
 * one of them, kept or not, is (family, a).
 */
static bool host_read(struct sip_host_addrs *h, uint64_t now_ms, int family,
		      const unsigned char a[16])
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	h->n = 0;
	h->truncated = false;
	h->read_ms = 0;
	if (getifaddrs(&ifs))
		return false;
	for (i = ifs; i; i = i->ifa_next) {
		int f = i->ifa_addr ? i->ifa_addr->sa_family : AF_UNSPEC;
		const void *x;

		if (f == AF_INET)
			x = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		else if (f == AF_INET6)
			x = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		else
			continue;
		found |= f == family && same_addr(f, x, a);
		if (h->n == SIP_HOST_ADDRS_MAX) {
			h->truncated = true;
			continue;
		}
		h->addr[h->n].family = (uint8_t)f;
		memcpy(h->addr[h->n].a, x, f == AF_INET ? 4 : 16);
		h->n++;
	}
	freeifaddrs(ifs);
	h->read_ms = now_ms ? now_ms : 1;
	return found;
}

/* Whether an interface of this host has the address: from self->host while it is fresh. */
static bool local_addr(const struct sip_self *self, int family, const unsigned char a[16])
{
	struct sip_host_addrs fresh, *h = self->host;

	if (!h)
		return host_read(&fresh, self->now_ms, family, a);
	if (!h->read_ms || h->truncated || self->now_ms < h->read_ms ||
	    self->now_ms - h->read_ms >= SIP_HOST_ADDRS_MS)
		return host_read(h, self->now_ms, family, a);
	for (int i = 0; i < h->n; i++)
		if (h->addr[i].family == family && same_addr(family, h->addr[i].a, a))
			return true;
	return false;
}

/* Whether the listener l is the address a (family, bytes) and port. */
static bool listener_is(const struct sip_self *self, const struct sockaddr_storage *l,
			int family, const unsigned char a[16], long port)
{
	if (l->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)l;

		if (family != AF_INET || ntohs(sin->sin_port) != port)
			return false;
		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			return local_addr(self, family, a);
		return !memcmp(&sin->sin_addr, a, 4);
	}
	if (l->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)l;

		if (ntohs(sin6->sin6_port) != port)
			return false;
		/* [::] listens on both families (transport.h). */
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			return local_addr(self, family, a);
		return family == AF_INET6 && !memcmp(&sin6->sin6_addr, a, 16);
	}
	return false;
}

bool sip_uri_names_self(const osip_uri_t *u, const struct sip_self *self)
{
	unsigned char a[16];
	int family = 0;
	long port;

	if (!is_sip(u) || !u->host)
		return false;
	if (self->domain && *self->domain && host_equal(u->host, self->domain))
		return true;
	if (!host_addr(u->host, &family, a))
		return false;
	port = u->port ? port_value(u->port) : !strcasecmp(u->scheme, "sips") ? 5061 : 5060;
	if (port < 0)
		return false;
	for (int i = 0; i < self->n && i < SIP_SELF_MAX; i++)
		if (listener_is(self, &self->addr[i], family, a, port))
			return true;
	return false;
}

bool sip_digest_uri_ok(const char *digest_uri, const osip_uri_t *request_uri,
		       const struct sip_self *self)
{
	osip_uri_t *d;
	bool ok = false;

	if (!request_uri || osip_uri_init(&d))
		return false;
	if (!osip_uri_parse(d, digest_uri)) {
		ok = sip_uri_equal(d, request_uri);
		/* This server, for the Request-URI's user or for none. */
		if (!ok && sip_uri_names_self(d, self))
			ok = !d->username || !*d->username ||
			     (request_uri->username && !strcmp(d->username, request_uri->username));
	}
	osip_uri_free(d);
	return ok;
}
