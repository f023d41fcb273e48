/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * POST /api/subscribers/import: the previous server's users.json as the
 * request's body, imported by the code `sluicectl import-users` runs
 * (store/import.h), for an ADMIN operator, on the store's writer thread:
 * the event loop does not wait for the database.
 */
#ifndef SLUICE_HTTP_IMPORT_H
#define SLUICE_HTTP_IMPORT_H

#include "http/req.h"
#include "store/operator.h"

#ifndef HTTP_MAX_IMPORT
#define HTTP_MAX_IMPORT		(4 * 1024 * 1024)	/* a users.json, bytes */
#endif
#define HTTP_IMPORT_PATH	"/api/subscribers/import"

struct mml_server;

/*
 * Answers r: 200 with the counts and each skipped entry's reason, or
 * 4xx/5xx. With a writer, the import runs there: m->pending is set, and the
 * caller holds r until it is ready (its reply: the answer's JSON).
 */
void http_import_users(struct mml_server *m, struct http_req *r, const char *op,
		       enum op_role role);

#endif /* SLUICE_HTTP_IMPORT_H */
