/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The previous server's users.json into the subscribers table: an object
 * keyed by user name, each value an object with username, password,
 * display_name, phone, email, status, service_type and role; and, our
 * own, digest: the algorithms the user may answer with ("sha-256",
 * "sha-256, md5", "" for [sip] digest; absent keeps what is stored).
 * Passwords become the two HA1s of the realm and are never stored. Importing again
 * updates what changed and leaves the rest; an entry that cannot be taken
 * is reported with its reason and skipped, the others go in, all in one
 * transaction (a database error imports nothing).
 */
#ifndef SLUICE_STORE_IMPORT_H
#define SLUICE_STORE_IMPORT_H

#include <stdio.h>

#include <jansson.h>

#include "store/store.h"

struct import_report {
	int	added;
	int	updated;
	int	unchanged;
	int	skipped;
};

/*
 * Imports path for realm; each skipped entry is written to errs as one
 * line. Returns 0, or -errno when the file is unreadable, not a JSON
 * object, or the database fails (then nothing was imported).
 */
int users_import(struct store *st, const char *realm, const char *path,
		 struct import_report *r, FILE *errs);

/* The same from a document already parsed (the web API's body); path names it in errs. */
int users_import_doc(struct store *st, const char *realm, json_t *root, const char *path,
		     struct import_report *r, FILE *errs);

#endif /* SLUICE_STORE_IMPORT_H */
