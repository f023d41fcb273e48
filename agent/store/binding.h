/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Registrations in the database: the bindings of an address-of-record
 * (a subscriber's IMPU) to contacts, each with where it registered from
 * (source address, port and transport, so that requests reach it through
 * NAT), when it expires, the Call-ID and CSeq that set it (RFC 3261 10.3:
 * an older CSeq on the same Call-ID must not overwrite it), its q-value,
 * user agent and Path. Bindings survive a restart; the registrar keeps its
 * own index in memory and asks purge for the expired ones.
 */
#ifndef SLUICE_STORE_BINDING_H
#define SLUICE_STORE_BINDING_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "store/subscriber.h"

#define BINDING_URI_MAX		512
#define BINDING_ADDR_MAX	48	/* an IPv6 address as text */
#define BINDING_CALLID_MAX	256
#define BINDING_UA_MAX		256
#define BINDING_INSTANCE_MAX	128

struct store_binding {
	char		aor[SUB_IMPU_MAX];
	char		contact[BINDING_URI_MAX];
	char		received_addr[BINDING_ADDR_MAX];
	uint16_t	received_port;			/* host order */
	char		transport[8];			/* "UDP", "TCP" */
	int64_t		expires;			/* unix seconds */
	char		call_id[BINDING_CALLID_MAX];
	uint32_t	cseq;
	uint16_t	q;				/* thousandths: 1000 is q=1 */
	bool		nat;				/* keepalives go to it */
	char		user_agent[BINDING_UA_MAX];
	char		path[BINDING_URI_MAX];
	char		instance[BINDING_INSTANCE_MAX];
	int64_t		updated;			/* set by the store */
};

/* Called per binding; a non-zero return stops the walk and is returned. */
typedef int (*store_binding_fn)(const struct store_binding *b, void *arg);

/* Adds the binding, or replaces the one of the same AOR and contact. */
int store_binding_put(struct store *st, const struct store_binding *b);
/* -ENOENT when there is none (expired ones included until purged). */
int store_binding_get(struct store *st, const char *aor, const char *contact,
		      struct store_binding *out);
int store_binding_del(struct store *st, const char *aor, const char *contact);
/* Every binding of aor (Contact: *); *n (may be NULL) says how many. */
int store_binding_del_aor(struct store *st, const char *aor, int *n);
/*
 * The bindings of aor (NULL: of every AOR) still alive at now, highest q
 * first, then the latest to expire. fn may call into the store.
 */
int store_binding_list(struct store *st, const char *aor, int64_t now, store_binding_fn fn,
		       void *arg);
int store_binding_count(struct store *st, const char *aor, int64_t now, int *n);
/*
 * Removes the bindings expired at now (expires <= now), calling fn (may
 * be NULL) for each before it goes; *n (may be NULL) says how many.
 */
int store_binding_purge(struct store *st, int64_t now, store_binding_fn fn, void *arg, int *n);

#endif /* SLUICE_STORE_BINDING_H */
