// SPDX-License-Identifier: GPL-2.0-only
/*
 * The registrar and its location index (see registrar.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <osipparser2/osip_parser.h>

#include "core/log.h"
#include "sip/registrar.h"
#include "store/queue.h"

/* One change a REGISTER asks for, checked before any is made. */
struct reg_op {
	struct store_binding	b;
	bool			del;
	bool			existed;
};

static unsigned bucket_of(const struct registrar *r, const char *aor)
{
	return (unsigned)sip_hash_buf(&r->key, aor, strlen(aor)) & (REG_BUCKETS - 1);
}

static struct reg_aor *find_aor(const struct registrar *r, const char *aor)
{
	struct reg_aor *a;

	for (a = r->buckets[bucket_of(r, aor)]; a; a = a->next)
		if (!strcmp(a->aor, aor))
			return a;
	return NULL;
}

static struct reg_aor *get_aor(struct registrar *r, const char *aor)
{
	struct reg_aor *a = find_aor(r, aor);
	unsigned h;

	if (a)
		return a;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	snprintf(a->aor, sizeof(a->aor), "%s", aor);
	h = bucket_of(r, aor);
	a->next = r->buckets[h];
	r->buckets[h] = a;
	r->naors++;
	return a;
}

static void drop_aor_if_empty(struct registrar *r, struct reg_aor *a)
{
	struct reg_aor **pp;

	if (a->bindings)
		return;
	for (pp = &r->buckets[bucket_of(r, a->aor)]; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			free(a);
			r->naors--;
			return;
		}
	}
}

static struct reg_binding *find_binding(const struct reg_aor *a, const char *contact)
{
	struct reg_binding *rb;

	for (rb = a ? a->bindings : NULL; rb; rb = rb->next)
		if (!strcmp(rb->b.contact, contact))
			return rb;
	return NULL;
}

static void peer_of(const struct store_binding *b, struct sip_peer *p)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&p->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->addr;

	memset(p, 0, sizeof(*p));
	p->proto = sip_proto_parse(b->transport) < 0 ? SIP_UDP
						     : (uint8_t)sip_proto_parse(b->transport);
	if (inet_pton(AF_INET, b->received_addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(b->received_port);
		p->len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, b->received_addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(b->received_port);
		p->len = sizeof(*sin6);
	}
}

/* Into the index, replacing the binding of the same contact. */
static int index_put(struct registrar *r, const struct store_binding *b)
{
	struct reg_aor *a = get_aor(r, b->aor);
	struct reg_binding *rb;

	if (!a)
		return -ENOMEM;
	rb = find_binding(a, b->contact);
	if (!rb) {
		rb = calloc(1, sizeof(*rb));
		if (!rb) {
			drop_aor_if_empty(r, a);
			return -ENOMEM;
		}
		rb->next = a->bindings;
		a->bindings = rb;
		a->n++;
		r->nbindings++;
	}
	rb->b = *b;
	peer_of(b, &rb->peer);
	return 0;
}

static void index_del(struct registrar *r, struct reg_aor *a, const char *contact)
{
	struct reg_binding **pp, *rb;

	for (pp = &a->bindings; (rb = *pp); pp = &rb->next) {
		if (!strcmp(rb->b.contact, contact)) {
			*pp = rb->next;
			free(rb);
			a->n--;
			r->nbindings--;
			break;
		}
	}
	drop_aor_if_empty(r, a);
}

int registrar_init(struct registrar *r, struct store *st, uint32_t min_expires,
		   uint32_t max_expires, uint32_t default_expires)
{
	memset(r, 0, sizeof(*r));
	r->buckets = calloc(REG_BUCKETS, sizeof(*r->buckets));
	if (!r->buckets)
		return -ENOMEM;
	r->store = st;
	r->min_expires = min_expires;
	r->max_expires = max_expires < min_expires ? min_expires : max_expires;
	r->default_expires = default_expires;
	sip_hash_key_random(&r->key);
	return 0;
}

static void index_clear(struct registrar *r);

void registrar_fini(struct registrar *r)
{
	if (!r->buckets)
		return;
	if (r->batch_open)
		registrar_flush(r);
	index_clear(r);
	free(r->buckets);
	r->buckets = NULL;
}

static int load_one(const struct store_binding *b, void *arg)
{
	return index_put(arg, b);
}

int registrar_load(struct registrar *r, int64_t now)
{
	int err;

	if (!r->store)
		return 0;
	err = store_binding_list(r->store, NULL, now, load_one, r);
	return err ? err : (int)r->nbindings;
}

int registrar_aor(const osip_uri_t *uri, const char *domain, char *out, size_t size)
{
	if (!uri || !uri->scheme || !uri->username || !uri->username[0])
		return -EINVAL;
	if (strcasecmp(uri->scheme, "sip") && strcasecmp(uri->scheme, "sips"))
		return -EINVAL;
	if (!subscriber_username_ok(uri->username))
		return -EINVAL;
	/* The host is ours by definition: the request reached us. */
	if (snprintf(out, size, "sip:%s@%s", uri->username, domain) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

/* "0.5" as 500; -1 when it is no q-value (RFC 3261 §25.1 qvalue). */
static int parse_q(const char *s)
{
	int q = 0, scale = 100;

	if (s[0] != '0' && s[0] != '1')
		return -1;
	q = (s[0] - '0') * 1000;
	s++;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9' && scale; s++, scale /= 10)
			q += (*s - '0') * scale;
	}
	if (*s || q > 1000)
		return -1;
	return q;
}

/* Seconds from "3600"; -1 when it does not parse. Large values saturate. */
static long parse_delta(const char *s)
{
	unsigned long v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v < 0xffffffffUL)
			v = v * 10 + (unsigned long)(*s - '0');
	}
	return v > 0xffffffffUL ? 0xffffffffL : (long)v;
}

static const char *contact_param(const osip_contact_t *c, const char *name)
{
	osip_generic_param_t *p = NULL;

	if (osip_contact_param_get_byname((osip_contact_t *)c, (char *)name, &p) || !p)
		return NULL;
	return p->gvalue ? p->gvalue : "";
}

static bool same_host(const char *contact_host, const char *received)
{
	struct in6_addr a, b;
	char h[64];
	size_t n = strlen(contact_host);

	/* [v6] in a URI */
	if (n > 2 && contact_host[0] == '[' && contact_host[n - 1] == ']' && n - 2 < sizeof(h)) {
		memcpy(h, contact_host + 1, n - 2);
		h[n - 2] = '\0';
		contact_host = h;
	}
	if (inet_pton(AF_INET6, contact_host, &a) == 1 && inet_pton(AF_INET6, received, &b) == 1)
		return !memcmp(&a, &b, sizeof(a));
	return !strcmp(contact_host, received);
}

static void fill_source(struct store_binding *b, const struct sip_peer *from)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&from->addr;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&from->addr;

	if (from->addr.ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, b->received_addr, sizeof(b->received_addr));
		b->received_port = ntohs(sin->sin_port);
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, b->received_addr, sizeof(b->received_addr));
		b->received_port = ntohs(sin6->sin6_port);
	}
	snprintf(b->transport, sizeof(b->transport), "%s", sip_proto_name(from->proto));
}

/* The request's fields every binding it sets shares. */
static int common_fields(const osip_message_t *req, const struct sip_peer *from,
			 const char *aor, struct store_binding *tmpl, const char **reason)
{
	const char *ua = sip_msg_header(req, "user-agent", 0);
	const char *path = sip_msg_header(req, "path", 0);
	char *cid = NULL;
	long cseq;

	memset(tmpl, 0, sizeof(*tmpl));
	snprintf(tmpl->aor, sizeof(tmpl->aor), "%s", aor);
	fill_source(tmpl, from);
	if (osip_call_id_to_str(req->call_id, &cid) || !cid ||
	    strlen(cid) >= sizeof(tmpl->call_id)) {
		osip_free(cid);
		*reason = "Bad Call-ID";
		return -EINVAL;
	}
	strcpy(tmpl->call_id, cid);
	osip_free(cid);
	cseq = parse_delta(req->cseq->number);
	if (cseq < 0) {
		*reason = "Bad CSeq";
		return -EINVAL;
	}
	tmpl->cseq = (uint32_t)cseq;
	if (ua && subscriber_text_ok(ua, sizeof(tmpl->user_agent)))
		strcpy(tmpl->user_agent, ua);
	if (path && subscriber_text_ok(path, sizeof(tmpl->path)))
		strcpy(tmpl->path, path);
	return 0;
}

/*
 * Reads every Contact of req into ops. Returns how many, or -1 with res
 * set when the request must be refused as a whole.
 */
static int read_contacts(struct registrar *r, const osip_message_t *req,
			 const struct store_binding *tmpl, int64_t now, struct reg_op *ops,
			 struct reg_result *res)
{
	const char *hdr_exp = sip_msg_header(req, "expires", 0);
	long dflt = r->default_expires, exp;
	osip_contact_t *c;
	int n = 0;

	if (hdr_exp) {
		dflt = parse_delta(hdr_exp);
		if (dflt < 0) {
			res->code = 400;
			res->reason = "Bad Expires";
			return -1;
		}
	}
	for (int pos = 0; osip_message_get_contact(req, pos, &c) >= 0; pos++) {
		struct reg_op *op = &ops[n];
		const char *v;
		char *uri = NULL;

		if (!c->url) {			/* "*": only alone, checked before */
			res->code = 400;
			res->reason = "Contact * with other contacts";
			return -1;
		}
		if (n == REG_MAX_CONTACTS) {
			res->code = 403;
			res->reason = "Too many contacts";
			return -1;
		}
		v = contact_param(c, "expires");
		exp = v ? parse_delta(v) : dflt;
		if (exp < 0) {
			res->code = 400;
			res->reason = "Bad expires parameter";
			return -1;
		}
		if (exp > 0 && exp < (long)r->min_expires) {
			res->code = 423;
			return -1;
		}
		if (exp > (long)r->max_expires)
			exp = r->max_expires;
		if (osip_uri_to_str(c->url, &uri) || !uri ||
		    !subscriber_text_ok(uri, sizeof(op->b.contact))) {
			osip_free(uri);
			res->code = 400;
			res->reason = "Bad Contact URI";
			return -1;
		}
		op->b = *tmpl;
		strcpy(op->b.contact, uri);
		osip_free(uri);
		op->del = exp == 0;
		op->b.expires = now + exp;
		op->b.q = 1000;
		v = contact_param(c, "q");
		if (v) {
			int q = parse_q(v);

			if (q < 0) {
				res->code = 400;
				res->reason = "Bad q-value";
				return -1;
			}
			op->b.q = (uint16_t)q;
		}
		v = contact_param(c, "+sip.instance");
		if (v && subscriber_text_ok(v, sizeof(op->b.instance)))
			strcpy(op->b.instance, v);
		op->b.nat = !c->url->host ||
			    !same_host(c->url->host, tmpl->received_addr) ||
			    (c->url->port ? atoi(c->url->port) : 5060) != tmpl->received_port;
		/* A later duplicate of the same contact wins, as in one list. */
		for (int k = 0; k < n; k++) {
			if (!strcmp(ops[k].b.contact, op->b.contact)) {
				ops[k] = *op;
				n--;
				break;
			}
		}
		n++;
	}
	return n;
}

static bool out_of_order(const struct reg_binding *rb, const struct store_binding *b)
{
	return rb && !strcmp(rb->b.call_id, b->call_id) && b->cseq <= rb->b.cseq;
}

/*
 * Queues the changes for the store's writer (store/queue.h), in order; the
 * index takes them at once. What answers the REGISTER waits for a fence
 * behind them (sip_server: the 200 follows the commit).
 */
static int queue_ops(struct registrar *r, const struct reg_op *ops, int n)
{
	for (int i = 0; i < n; i++) {
		struct store_op *op = store_op_new(ops[i].del ? STORE_OP_BINDING_DEL
							      : STORE_OP_BINDING_PUT);

		if (!op)
			return -ENOMEM;
		op->u.binding = ops[i].b;
		store_q_submit(r->store->wq, op, NULL, NULL);
	}
	return 0;
}

/* Writes ops to the database in one transaction (or queues them); then to the index. */
static int apply(struct registrar *r, struct reg_aor *a, struct reg_op *ops, int n)
{
	int err = 0;

	if (r->store && r->store->wq) {
		err = queue_ops(r, ops, n);
		if (err)
			return err;
	} else if (r->store) {
		/* One change is one statement, atomic by itself: no BEGIN/COMMIT. */
		bool txn = n > 1 && !r->batch;

		if (r->batch && !r->batch_open) {
			err = store_begin(r->store);
			if (err)
				return err;
			r->batch_open = true;
		}
		err = txn ? store_begin(r->store) : 0;
		for (int i = 0; i < n && !err; i++) {
			if (ops[i].del) {
				err = store_binding_del(r->store, ops[i].b.aor, ops[i].b.contact);
				if (err == -ENOENT)
					err = 0;
			} else {
				err = store_binding_put(r->store, &ops[i].b);
			}
		}
		if (txn && !err)
			err = store_commit(r->store);
		else if (txn)
			store_rollback(r->store);
		if (err)
			return err;
	}
	for (int i = 0; i < n; i++) {
		if (ops[i].del) {
			if (a && find_binding(a, ops[i].b.contact)) {
				index_del(r, a, ops[i].b.contact);
				r->stats.removed++;
				a = find_aor(r, ops[i].b.aor);	/* may be gone */
			}
			continue;
		}
		err = index_put(r, &ops[i].b);
		if (err)
			return err;
		a = find_aor(r, ops[i].b.aor);
		if (ops[i].existed)
			r->stats.refreshed++;
		else
			r->stats.registered++;
	}
	return 0;
}

static void remove_all(struct registrar *r, const osip_message_t *req, const char *aor,
		       const struct store_binding *tmpl, struct reg_result *res)
{
	const char *hdr_exp = sip_msg_header(req, "expires", 0);
	struct reg_aor *a = find_aor(r, aor);
	osip_contact_t *c;
	struct reg_binding *rb;
	int err, n = 0;

	if (!hdr_exp || parse_delta(hdr_exp) != 0 || osip_message_get_contact(req, 1, &c) >= 0) {
		res->code = 400;
		res->reason = "Contact * needs Expires: 0 and no other Contact";
		return;
	}
	for (rb = a ? a->bindings : NULL; rb; rb = rb->next) {
		if (out_of_order(rb, tmpl)) {
			res->code = 500;
			res->reason = "Out of order CSeq";
			return;
		}
	}
	if (r->store && r->store->wq) {
		struct store_op *op = store_op_new(STORE_OP_BINDING_DEL_AOR);

		if (!op) {
			res->code = 500;
			res->reason = "Registrations not stored";
			return;
		}
		snprintf(op->u.binding.aor, sizeof(op->u.binding.aor), "%s", aor);
		store_q_submit(r->store->wq, op, NULL, NULL);
	} else if (r->store) {
		err = store_binding_del_aor(r->store, aor, &n);
		if (err) {
			res->code = 500;
			res->reason = "Registrations not stored";
			return;
		}
	}
	while (a && a->bindings) {
		index_del(r, a, a->bindings->b.contact);
		r->stats.removed++;
		a = find_aor(r, aor);
	}
	res->code = 200;
	res->aor = NULL;
}

void registrar_register(struct registrar *r, const osip_message_t *req,
			const struct sip_peer *from, const struct subscriber *sub, int64_t now,
			struct reg_result *res)
{
	struct store_binding tmpl;
	struct reg_op *ops = NULL;
	struct reg_aor *a;
	osip_contact_t *c;
	int n, count, err;

	memset(res, 0, sizeof(*res));
	res->code = 500;
	if (common_fields(req, from, sub->impu, &tmpl, &res->reason)) {
		res->code = 400;
		goto out;
	}
	if (osip_message_get_contact(req, 0, &c) >= 0 && !c->url &&
	    c->displayname && !strcmp(c->displayname, "*")) {
		remove_all(r, req, sub->impu, &tmpl, res);
		goto out;
	}
	ops = calloc(REG_MAX_CONTACTS + 1, sizeof(*ops));
	if (!ops)
		goto out;
	n = read_contacts(r, req, &tmpl, now, ops, res);
	if (n < 0)
		goto out;

	a = find_aor(r, sub->impu);
	count = 0;
	for (struct reg_binding *rb = a ? a->bindings : NULL; rb; rb = rb->next)
		count += rb->b.expires > now;
	for (int i = 0; i < n; i++) {
		struct reg_binding *rb = find_binding(a, ops[i].b.contact);

		if (out_of_order(rb, &ops[i].b)) {
			res->code = 500;
			res->reason = "Out of order CSeq";
			goto out;
		}
		ops[i].existed = rb && rb->b.expires > now;
		if (ops[i].del)
			count -= ops[i].existed;
		else
			count += !ops[i].existed;
	}
	if (count > REG_MAX_CONTACTS) {
		res->code = 403;
		res->reason = "Too many contacts";
		goto out;
	}
	err = apply(r, a, ops, n);
	if (err) {
		LOG(L_ERROR, "[reg] REGISTER of %s not stored: %s", sub->impu, strerror(-err));
		res->code = 500;
		res->reason = "Registrations not stored";
		goto out;
	}
	res->code = 200;
	res->aor = registrar_lookup(r, sub->impu, now);
out:
	if (res->code != 200)
		r->stats.refused++;
	free(ops);
}

static void index_clear(struct registrar *r)
{
	for (unsigned i = 0; i < REG_BUCKETS; i++) {
		struct reg_aor *a, *an;

		for (a = r->buckets[i]; a; a = an) {
			struct reg_binding *rb, *rn;

			an = a->next;
			for (rb = a->bindings; rb; rb = rn) {
				rn = rb->next;
				free(rb);
			}
			free(a);
		}
		r->buckets[i] = NULL;
	}
	r->naors = r->nbindings = 0;
}

int registrar_flush(struct registrar *r)
{
	int err;

	if (!r->batch_open)
		return 0;
	r->batch_open = false;
	err = store_commit(r->store);
	if (!err)
		return 0;
	/* Rolled back: what the index took from the batch goes too. */
	LOG(L_ERROR, "[reg] registrations not stored (%s): the index is read again",
	    strerror(-err));
	index_clear(r);
	registrar_load(r, (int64_t)time(NULL));
	return err;
}

int registrar_contacts(const struct reg_aor *aor, int64_t now, osip_message_t *resp)
{
	char buf[BINDING_URI_MAX + 64];

	for (const struct reg_binding *rb = aor ? aor->bindings : NULL; rb; rb = rb->next) {
		if (rb->b.expires <= now)
			continue;
		if (rb->b.q != 1000)
			snprintf(buf, sizeof(buf), "<%s>;expires=%lld;q=%u.%03u", rb->b.contact,
				 (long long)(rb->b.expires - now), rb->b.q / 1000, rb->b.q % 1000);
		else
			snprintf(buf, sizeof(buf), "<%s>;expires=%lld", rb->b.contact,
				 (long long)(rb->b.expires - now));
		if (osip_message_set_contact(resp, buf))
			return -ENOMEM;
	}
	return 0;
}

const struct reg_aor *registrar_lookup(struct registrar *r, const char *aor, int64_t now)
{
	const struct reg_aor *a = find_aor(r, aor);

	for (const struct reg_binding *rb = a ? a->bindings : NULL; rb; rb = rb->next)
		if (rb->b.expires > now)
			return a;
	return NULL;
}

int registrar_remove(struct registrar *r, const char *aor, const char *contact)
{
	struct reg_aor *a = find_aor(r, aor);
	int err;

	if (!a || !find_binding(a, contact))
		return -ENOENT;
	if (r->store && r->store->wq) {
		struct store_op *op = store_op_new(STORE_OP_BINDING_DEL);

		if (!op)
			return -ENOMEM;
		snprintf(op->u.binding.aor, sizeof(op->u.binding.aor), "%s", aor);
		snprintf(op->u.binding.contact, sizeof(op->u.binding.contact), "%s", contact);
		store_q_submit(r->store->wq, op, NULL, NULL);
	} else if (r->store) {
		err = store_binding_del(r->store, aor, contact);
		if (err && err != -ENOENT)
			return err;
	}
	index_del(r, a, contact);
	r->stats.removed++;
	return 0;
}

int registrar_purge(struct registrar *r, int64_t now)
{
	int n = 0, err;

	if (r->store && r->store->wq) {
		struct store_op *op = store_op_new(STORE_OP_BINDING_PURGE);

		if (!op)
			return -ENOMEM;
		op->u.now = now;
		store_q_submit(r->store->wq, op, NULL, NULL);
	} else if (r->store) {
		err = store_binding_purge(r->store, now, NULL, NULL, NULL);
		if (err)
			return err;
	}
	for (unsigned i = 0; i < REG_BUCKETS; i++) {
		struct reg_aor *a, *an;

		for (a = r->buckets[i]; a; a = an) {
			struct reg_binding **pp, *rb;

			an = a->next;
			for (pp = &a->bindings; (rb = *pp);) {
				if (rb->b.expires > now) {
					pp = &rb->next;
					continue;
				}
				LOG(L_DEBUG, "[reg] binding of %s to %s expired", a->aor,
				    rb->b.contact);
				*pp = rb->next;
				free(rb);
				a->n--;
				r->nbindings--;
				n++;
			}
			drop_aor_if_empty(r, a);
		}
	}
	r->stats.expired += n;
	return n;
}

int registrar_foreach(struct registrar *r, int (*fn)(const struct reg_binding *b, void *arg),
		      void *arg)
{
	for (unsigned i = 0; i < REG_BUCKETS; i++) {
		for (struct reg_aor *a = r->buckets[i]; a; a = a->next) {
			for (struct reg_binding *rb = a->bindings; rb; rb = rb->next) {
				int rc = fn(rb, arg);

				if (rc)
					return rc;
			}
		}
	}
	return 0;
}
