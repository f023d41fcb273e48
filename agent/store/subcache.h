/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Subscribers in memory, so that digest authentication (an HA1 per
 * REGISTER and INVITE) never reads the database on the event loop: a hash
 * by user name and one by IMPU over copies of the rows.
 *
 * The loop's struct store holds one (store.h: subs), read first by
 * subscriber_get() and subscriber_get_by_impu(). It is filled whole at
 * start; a change made through that store (MML) drops the entry it
 * touched, and one made by another process (sluicectl import-users, an
 * operator's sqlite3) is seen by the writer thread (PRAGMA data_version),
 * which reads the table again into a new cache and hands it to the loop
 * (store_q_open's on_subs), within STORE_Q_POLL_MS. A name the cache does
 * not hold is looked up in the database (and kept when found), so a
 * subscriber added a moment ago is known at once.
 */
#ifndef SLUICE_STORE_SUBCACHE_H
#define SLUICE_STORE_SUBCACHE_H

#include "store/subscriber.h"

struct sub_entry;

struct sub_cache {
	struct sub_entry	**by_user;
	struct sub_entry	**by_impu;
	unsigned		nbuckets;	/* a power of two */
	unsigned		n;
};

/* An empty cache sized for n subscribers; NULL without memory. Filled by
 * subscriber_cache_load() (subscriber.h), which reads the table. */
struct sub_cache *sub_cache_new(unsigned n);
void sub_cache_free(struct sub_cache *c);

int sub_cache_get(const struct sub_cache *c, const char *username, struct subscriber *out);
int sub_cache_get_by_impu(const struct sub_cache *c, const char *impu, struct subscriber *out);
/* Adds s, replacing the entry of its user name; -ENOMEM. */
int sub_cache_put(struct sub_cache *c, const struct subscriber *s);
void sub_cache_del(struct sub_cache *c, const char *username);

#endif /* SLUICE_STORE_SUBCACHE_H */
