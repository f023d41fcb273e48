/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sluiced's sqlite database ([store] db): one file, WAL mode, a schema
 * versioned by PRAGMA user_version and brought up to date by an ordered
 * list of migrations when it opens. sqlite's result codes become -errno
 * here, with one log line naming the cause (a full disk is -ENOSPC).
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <sqlite3.h>

struct store {
	sqlite3	*db;
	char	path[256];
};

/* Opens (creating the file and its directory) and migrates. */
int store_open(struct store *st, const char *path);
void store_close(struct store *st);
/* sqlite's code as -errno, logging what failed once. */
int store_err(struct store *st, int rc, const char *what);
int store_schema_version(struct store *st);

#endif /* SLUICE_STORE_H */
