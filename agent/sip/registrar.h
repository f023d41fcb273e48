/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The registrar (RFC 3261 §10.3) and the location service the B2BUA asks.
 * Bindings are rows of the registrations table (store/binding.h), so they
 * survive a restart, and an in-memory index of them keyed by AOR answers
 * lookups without touching sqlite. With the store's writer thread
 * (store/queue.h) a change goes to the index at once and is queued for the
 * writer, which commits it whatever it takes (a locked or full database is
 * waited for): the SIP server answers 200 only once it is committed.
 * Without one (tests, tools) every change is written to the database first
 * and to the index once the write committed; a write that fails answers
 * 500 and changes nothing.
 *
 * What a REGISTER may do, in order: list the bindings (no Contact), remove
 * them all (Contact: * with Expires: 0, alone), or add, refresh and remove
 * bindings one by one, each with its own expiry (the contact's expires
 * parameter, else the Expires header, else default_expires) capped at
 * max_expires; an expiry below min_expires and above zero fails the whole
 * request with 423 and Min-Expires. A request older than the one that set
 * a binding (same Call-ID, lower or equal CSeq) is refused with 500.
 *
 * Where a binding's requests go: the address, port and transport its
 * REGISTER came from (RFC 3581's received/rport), not the Contact's host,
 * which behind NAT is unreachable. A binding whose Contact names another
 * address than the one it came from is marked behind NAT; keepalives go
 * to those.
 */
#ifndef SLUICE_SIP_REGISTRAR_H
#define SLUICE_SIP_REGISTRAR_H

#include <stdbool.h>
#include <stdint.h>

#include <osipparser2/osip_message.h>

#include "sip/msg.h"
#include "sip/transport.h"
#include "store/binding.h"
#include "store/store.h"
#include "store/subscriber.h"

#define REG_BUCKETS		16384	/* power of two */
#define REG_MAX_CONTACTS	16	/* per AOR; more get 403 */

struct reg_binding {
	struct reg_binding	*next;
	struct store_binding	b;
	struct sip_peer		peer;	/* where its requests go */
};

struct reg_aor {
	struct reg_aor		*next;
	struct reg_binding	*bindings;
	unsigned		n;
	char			aor[SUB_IMPU_MAX];
};

struct registrar {
	struct store		*store;
	struct reg_aor		**buckets;
	struct sip_hash_key	key;
	unsigned		naors;
	unsigned		nbindings;
	uint32_t		min_expires;
	uint32_t		max_expires;
	uint32_t		default_expires;
	bool			batch;		/* group commit: changes wait for registrar_flush() */
	bool			batch_open;	/* a transaction holds changes not yet committed */
	struct {
		uint64_t	registered, refreshed, removed, expired, refused;
	} stats;
};

/* The outcome of a REGISTER: a status code, and for 200 the AOR's bindings. */
struct reg_result {
	int			code;		/* 200, 400, 403, 423, 500 */
	const char		*reason;	/* NULL: the standard phrase */
	const struct reg_aor	*aor;		/* 200: every live binding */
};

int registrar_init(struct registrar *r, struct store *st, uint32_t min_expires,
		   uint32_t max_expires, uint32_t default_expires);
void registrar_fini(struct registrar *r);

/*
 * Group commit: with r->batch set, the changes of several REGISTERs go
 * into one transaction, which registrar_flush() commits; their 200s must
 * wait for it. A commit that fails is rolled back and the index read
 * again from the database, so that the two agree; it returns -errno and
 * the waiting REGISTERs get 500 instead.
 */
int registrar_flush(struct registrar *r);

/* Reads the live bindings of the database into the index; returns how many. */
int registrar_load(struct registrar *r, int64_t now);

/*
 * Handles the REGISTER req of subscriber sub (authenticated, and owner of
 * the AOR in To) that came from from, at unix time now.
 */
void registrar_register(struct registrar *r, const osip_message_t *req,
			const struct sip_peer *from, const struct subscriber *sub, int64_t now,
			struct reg_result *res);

/*
 * Adds a Contact header for each binding of aor to resp, with the seconds
 * it has left. Returns 0 or -ENOMEM.
 */
int registrar_contacts(const struct reg_aor *aor, int64_t now, osip_message_t *resp);

/* The live bindings of aor (an IMPU), NULL when there are none. */
const struct reg_aor *registrar_lookup(struct registrar *r, const char *aor, int64_t now);

/* Removes one binding (a keepalive found it dead). */
int registrar_remove(struct registrar *r, const char *aor, const char *contact);

/* Removes the bindings expired at now from the index and the database. */
int registrar_purge(struct registrar *r, int64_t now);

/* Calls fn for every binding; a non-zero return stops the walk. */
int registrar_foreach(struct registrar *r, int (*fn)(const struct reg_binding *b, void *arg),
		      void *arg);

/* The canonical AOR of a SIP URI in our domain: "sip:user@domain". */
int registrar_aor(const osip_uri_t *uri, const char *domain, char *out, size_t size);

#endif /* SLUICE_SIP_REGISTRAR_H */
