/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Media sessions kept in the database (media/persist.c), so that a
 * sluiced restarted after a crash adopts its calls. Once
 * media_persist_init() has given the media layer a database, every change
 * to a session is written to it (within MEDIA_FLUSH_MS): the sessions
 * report their changes through the keeper hook of session.h, and their
 * owners (the B2BUA, NG, rtpproxy) call media_persist() when their own
 * data in the row (owner_data) changes. media_restore() recreates each
 * session (ports bound again, latches as they were, kernel flows put back
 * over the pinned ones, which keeps their counters) and hands it to
 * restore_fn with the owner's data to rebuild the owner's side.
 */
#ifndef SLUICE_MEDIA_PERSIST_H
#define SLUICE_MEDIA_PERSIST_H

#include "media/session.h"
#include "store/store.h"

typedef void (*media_restore_fn)(struct media_session *s, const char *owner_data, void *arg);

/*
 * m's sessions are kept in db from now on. Setting m->store to NULL
 * afterwards (a hand-over) stops the writes and leaves the rows.
 */
void media_persist_init(struct media_ctx *m, struct store *db);

/*
 * Saves and deletes are queued and written together in one transaction
 * MEDIA_FLUSH_MS later (a crash loses at most that much), or now by
 * media_flush() (a stop, a hand-over).
 */
#define MEDIA_FLUSH_MS	20
void media_persist(struct media_session *s);
void media_forget(struct media_session *s);
void media_flush(struct media_ctx *m);
int media_restore(struct media_ctx *m, media_restore_fn fn, void *arg);

#endif /* SLUICE_MEDIA_PERSIST_H */
