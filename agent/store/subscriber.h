/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Subscribers in the database: who may register and call. A subscriber is
 * named by its digest user name and by its IMPU (sip:USER@REALM), and
 * holds the HA1 of its password for MD5 and for SHA-256, made for one
 * realm ([sip] domain); the password itself is never stored. A subscriber
 * may be held to its own digest algorithms (a hardened one: SHA-256 only),
 * which it is challenged with and may answer with; one without follows
 * [sip] digest. Only ACTIVE subscribers register. The MML (ADD/MOD/RMV/DSP
 * USER), the importer and the registrar use this module.
 */
#ifndef SLUICE_STORE_SUBSCRIBER_H
#define SLUICE_STORE_SUBSCRIBER_H

#include <stdbool.h>
#include <stdint.h>

#include "net/digest.h"
#include "store/store.h"

#define SUB_USER_MAX	65	/* with the NUL, as every _MAX here */
#define SUB_REALM_MAX	128
#define SUB_IMPU_MAX	(4 + SUB_USER_MAX + SUB_REALM_MAX)
#define SUB_TEXT_MAX	128	/* display name, email */
#define SUB_SHORT_MAX	33	/* phone, service type, role */
#define SUB_PASSWORD_MAX 256

enum sub_status {
	SUB_ACTIVE = 0,
	SUB_INACTIVE,
	SUB_SUSPENDED,
};

struct subscriber {
	char		username[SUB_USER_MAX];
	char		realm[SUB_REALM_MAX];
	char		impu[SUB_IMPU_MAX];
	char		ha1_md5[DIGEST_HEX_MAX];	/* 32 hex digits */
	char		ha1_sha256[DIGEST_HEX_MAX];
	char		display_name[SUB_TEXT_MAX];
	char		phone[SUB_SHORT_MAX];
	char		email[SUB_TEXT_MAX];
	char		service_type[SUB_SHORT_MAX];
	char		role[SUB_SHORT_MAX];
	enum sub_status	status;
	struct digest_algs digest;	/* n 0: [sip] digest's */
	int64_t		created;	/* unix seconds, set by the store */
	int64_t		updated;
};

enum sub_put {
	SUB_PUT_ADDED = 0,
	SUB_PUT_UPDATED,
	SUB_PUT_UNCHANGED,
};

typedef int (*subscriber_fn)(const struct subscriber *s, void *arg);

/* "ACTIVE" etc., case-insensitive; -EINVAL otherwise. */
int subscriber_status_parse(const char *name, enum sub_status *out);
const char *subscriber_status_name(enum sub_status st);
/* A user name we accept: 1 to 64 of RFC 3261's user characters, no escapes. */
bool subscriber_username_ok(const char *name);
/* Text for the free fields: no control bytes, shorter than size. */
bool subscriber_text_ok(const char *text, size_t size);

/*
 * Starts a subscriber: user name, realm, IMPU and both HA1s from the
 * password; the other fields empty, status ACTIVE. -EINVAL (and a reason in
 * why, if not NULL) for a user name, realm or password we refuse.
 */
int subscriber_init(struct subscriber *s, const char *username, const char *realm,
		    const char *password, const char **why);
/* Sets both HA1s for a new password (user name and realm unchanged). */
int subscriber_set_password(struct subscriber *s, const char *password);
/* The HA1 a digest response for alg is checked against. */
const char *subscriber_ha1(const struct subscriber *s, enum digest_alg alg);
/*
 * A subscriber's own digest algorithms from "sha-256", "SHA-256, MD5"...,
 * or "" / "DEFAULT" for [sip] digest's; -EINVAL otherwise.
 */
int subscriber_digest_parse(const char *text, struct digest_algs *out);
/* The algorithms s answers with: its own, or dflt ([sip] digest). */
const struct digest_algs *subscriber_digest(const struct subscriber *s,
					    const struct digest_algs *dflt);

/* -EEXIST when the user name or the IMPU is taken. */
int subscriber_add(struct store *st, const struct subscriber *s);
/* Adds, or updates the one of that user name; *how says which (may be NULL). */
int subscriber_put(struct store *st, const struct subscriber *s, enum sub_put *how);
/* Every field of the one with s->username; -ENOENT when there is none. */
int subscriber_update(struct store *st, const struct subscriber *s);
int subscriber_set_status(struct store *st, const char *username, enum sub_status status);
/* -ENOENT when there is none. Its registrations are removed with it. */
int subscriber_delete(struct store *st, const char *username);
int subscriber_get(struct store *st, const char *username, struct subscriber *out);
/*
 * Another connection (the store's writer) changed username: st's copy in
 * memory and its count go, the next read takes the row.
 */
void subscriber_forget(struct store *st, const char *username);
int subscriber_get_by_impu(struct store *st, const char *impu, struct subscriber *out);
/* Each subscriber in user-name order; a non-zero return from fn stops and is returned. */
int subscriber_list(struct store *st, subscriber_fn fn, void *arg);
int subscriber_count(struct store *st, int *n);
/* Another process changed the subscribers (the writer read them again): counted anew. */
void subscriber_changed_outside(struct store *st);

/* Every row of st's subscribers table into a new cache (subcache.h); NULL
 * on failure. */
struct sub_cache *subscriber_cache_load(struct store *st);

#endif /* SLUICE_STORE_SUBSCRIBER_H */
