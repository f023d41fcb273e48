/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Call detail records: one row per call attempt in the cdr table, and
 * event rows for REGISTER and MESSAGE ([cdr] events). The B2BUA writes a
 * call's row when it is answered (open = 1) and again when it ends, so a
 * crash loses no answered call: rows still open when sluiced starts, and
 * not taken up again by an adopted call, are closed with close reason
 * "restart". An attempt that is never answered is written once, at its
 * end.
 *
 * Writes do not touch the disk on the caller's path: cdr_write() queues a
 * copy of the record (a later write of the same id replaces the queued
 * one) and a timer CDR_FLUSH_MS later hands the queue to the store's
 * writer thread (store/queue.h), which commits it and retries for as long
 * as the database refuses (locked, full), never dropping a row. Without a
 * writer (tools, tests) the flush writes in one transaction itself; when
 * the database refuses, the cause is logged once, the rows stay queued,
 * and the flush is retried every CDR_RETRY_MS until the database takes
 * them; then one line says how many were written late.
 *
 * The CSV export (EXP CDR) writes the previous server's 34 columns first,
 * in its order, then sluice's own (disposition, who released, the data
 * path and each leg's quality), so existing scripts keep working.
 */
#ifndef SLUICE_STORE_CDR_H
#define SLUICE_STORE_CDR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/loop.h"
#include "store/store.h"

#ifndef CDR_FLUSH_MS
#define CDR_FLUSH_MS	20
#endif
#ifndef CDR_RETRY_MS
#define CDR_RETRY_MS	1000
#endif
#define CDR_KEEP_DAYS	7	/* CLR CDR never removes younger rows */

#define CDR_ID_MAX	256	/* Call-ID, URI, Contact: with the NUL */
#define CDR_NUMBER_MAX	65
#define CDR_IP_MAX	46
#define CDR_WORD_MAX	32	/* disposition, reasons, codec, data path */
#define CDR_TEXT_MAX	128	/* status text, user agents */
#define CDR_BODY_MAX	512	/* a MESSAGE's body, cut */

/* The bits of [cdr] events. */
#define CDR_EV_REGISTER	(1u << 0)
#define CDR_EV_MESSAGE	(1u << 1)
#define CDR_EV_OPTIONS	(1u << 2)

/* record_type */
#define CDR_TYPE_CALL		"CALL"
#define CDR_TYPE_REGISTER	"REGISTER"
#define CDR_TYPE_MESSAGE	"MESSAGE"
#define CDR_TYPE_OPTIONS	"OPTIONS"
#define CDR_TYPE_RELAY		"RELAY"		/* a call relayed for Kamailio/OpenSIPS (NG) */

/* disposition */
#define CDR_ANSWERED	"ANSWERED"
#define CDR_NO_ANSWER	"NO ANSWER"	/* 408, 480, 487 after ring_timeout */
#define CDR_BUSY	"BUSY"		/* 486, 600 */
#define CDR_FAILED	"FAILED"	/* any other final failure */
#define CDR_CANCELLED	"CANCELLED"	/* the caller gave up (CANCEL) */

/* close_reason */
#define CDR_CLOSE_NORMAL	"normal"	/* a BYE, or the attempt's final answer */
#define CDR_CLOSE_MEDIA		"media timeout"
#define CDR_CLOSE_TIMER		"session timer"
#define CDR_CLOSE_ADMIN		"admin"		/* RMV CALL */
#define CDR_CLOSE_RESTART	"restart"	/* open when sluiced (re)started */
#define CDR_CLOSE_SHUTDOWN	"shutdown"	/* SIGTERM hung it up */

struct cdr_quality {
	uint64_t	packets;
	uint64_t	bytes;
	int64_t		lost;
	double		jitter_ms;
	double		r;		/* E-model R-factor, 0: not measured */
	double		mos;
};

struct cdr_rec {
	int64_t		id;		/* from cdr_new_id() */
	char		type[CDR_WORD_MAX];	/* CDR_TYPE_* */
	bool		open;		/* answered and not yet ended */
	char		a_call_id[CDR_ID_MAX];	/* the caller's dialog */
	char		b_call_id[CDR_ID_MAX];	/* sluice's towards the callee */
	char		caller_uri[CDR_ID_MAX];
	char		caller_number[CDR_NUMBER_MAX];	/* the URI's user part */
	char		caller_ip[CDR_IP_MAX];	/* where the request came from */
	uint16_t	caller_port;
	char		callee_uri[CDR_ID_MAX];
	char		callee_number[CDR_NUMBER_MAX];
	char		callee_ip[CDR_IP_MAX];	/* where leg B went, or the AoR's binding */
	uint16_t	callee_port;
	int64_t		invite_ms;	/* unix milliseconds; 0: did not happen */
	int64_t		ring_ms;	/* first 18x */
	int64_t		answer_ms;
	int64_t		end_ms;		/* BYE, CANCEL, final failure, timeout */
	/* Set by cdr_finish() from the times above. */
	int64_t		duration_s;	/* INVITE to end, rounded up */
	int64_t		billable_s;	/* answer to end, rounded up; 0 unanswered */
	int64_t		setup_ms;	/* INVITE to first ring (or answer, or end) */
	char		disposition[CDR_WORD_MAX];	/* CDR_ANSWERED, ... */
	int		status_code;	/* the final SIP status of the attempt */
	char		status_text[CDR_TEXT_MAX];
	char		released_by[CDR_WORD_MAX];	/* caller, callee, system */
	char		close_reason[CDR_WORD_MAX];	/* CDR_CLOSE_* */
	char		codec[CDR_WORD_MAX];	/* first codec of the answer, "PCMA/8000" */
	char		caller_ua[CDR_TEXT_MAX];
	char		callee_ua[CDR_TEXT_MAX];
	char		datapath[CDR_WORD_MAX];	/* xdp, kmod, user */
	/* Event rows (and the previous server's columns) */
	char		contact[CDR_ID_MAX];
	uint32_t	expires;
	char		message_body[CDR_BODY_MAX];
	char		server_ip[CDR_IP_MAX];
	uint16_t	server_port;
	uint32_t	cseq;
	char		extra_info[CDR_ID_MAX];
	struct cdr_quality q[2];	/* [0]: caller to callee, [1]: back */
	/* sluice's own, after the rest (migration 6) */
	char		listened_by[CDR_TEXT_MAX];	/* operators who listened in, "a, b" */
	bool		test_call;	/* a test call sluiced originated (ORG TESTCALL) */
};

struct cdr_pending;

#ifndef CDR_PENDING_BUCKETS
#define CDR_PENDING_BUCKETS	4096	/* a power of two */
#endif

#define CDR_MOS_BOUNDS	{ 1.0, 2.0, 2.5, 3.0, 3.5, 3.8, 4.0, 4.2, 4.4 }
#define CDR_MOS_NBOUNDS	9

struct cdr_ctx {
	struct store		*st;
	struct loop		*loop;
	struct loop_timer	timer;
	int64_t			next_id;
	struct cdr_pending	*pending;	/* queued writes, oldest first */
	struct cdr_pending	*pending_tail;
	/* The queue by id: a call's second write finds its first at once. */
	struct cdr_pending	*by_id[CDR_PENDING_BUCKETS];
	unsigned		npending;
	bool			failing;	/* the last flush failed (logged once) */
	unsigned		late;		/* rows written after a failed flush, since start */
	uint64_t		written;	/* rows flushed since start */
	uint64_t		flush_failures;
	/* Ended calls' stream MOS, by CDR_MOS_BOUNDS (<=), the last: above (/metrics). */
	uint64_t		mos_le[CDR_MOS_NBOUNDS + 1];
	double			mos_sum;
};

/* Reads the highest id so far; loop may be NULL (writes then need cdr_flush()). */
int cdr_init(struct cdr_ctx *c, struct store *st, struct loop *loop);
/* Flushes what it can and frees the queue (logging rows it could not write). */
void cdr_fini(struct cdr_ctx *c);
int64_t cdr_new_id(struct cdr_ctx *c);

/* Now, as every time in a record: unix milliseconds of the wall clock. */
int64_t cdr_now_ms(void);

/* A record with id, type, and the current time as invite_ms for events. */
void cdr_rec_init(struct cdr_rec *r, struct cdr_ctx *c, const char *type, int64_t now_ms);
/* duration_s, billable_s and setup_ms from the times; open = false. */
void cdr_finish(struct cdr_rec *r);

/* The row of r inserted or replaced now, on st (the writer's back end). */
int cdr_store_row(struct store *st, const struct cdr_rec *r);

/* Queues r (copied) for the next flush; -ENOMEM only. */
int cdr_write(struct cdr_ctx *c, const struct cdr_rec *r);
/*
 * Writes the queue now, in one transaction; the store's -errno on failure.
 * Inside a caller's transaction, -EBUSY: the rows wait for the timer.
 */
int cdr_flush(struct cdr_ctx *c);

/*
 * At start-up, after adoption: every row still open whose id is not in
 * keep[0..nkeep) is closed at now_ms with close reason restart (released
 * by system). Returns how many, or -errno.
 */
int cdr_close_stale(struct cdr_ctx *c, const int64_t *keep, int nkeep, int64_t now_ms);

/* DSP CDR, EXP CDR: which rows. Empty strings and zeros match anything. */
struct cdr_filter {
	int64_t		from_ms;	/* invite_ms >= from_ms */
	int64_t		to_ms;		/* invite_ms < to_ms, 0: no bound */
	char		caller[CDR_ID_MAX];	/* number or URI, exact */
	char		callee[CDR_ID_MAX];
	char		disposition[CDR_WORD_MAX];	/* case-insensitive */
	char		type[CDR_WORD_MAX];
	int		limit;		/* newest first when set; 0: all, oldest first */
	int		code;		/* the final SIP status (the cause), 0: any */
	char		number[CDR_ID_MAX];	/* caller or callee, exact */
};

typedef int (*cdr_fn)(const struct cdr_rec *r, void *arg);

/* Each matching row (the queue flushed first); fn's non-zero return stops. */
int cdr_query(struct cdr_ctx *c, const struct cdr_filter *f, cdr_fn fn, void *arg);
int cdr_get(struct cdr_ctx *c, int64_t id, struct cdr_rec *out);
int cdr_count(struct cdr_ctx *c, int *total, int *open);

/* The CSV header line and one row, each ending in "\r\n" (RFC 4180 quoting). */
int cdr_csv_header(FILE *out);
int cdr_csv_row(FILE *out, const struct cdr_rec *r);
/* Header and every matching row; *nrows (may be NULL) says how many. */
int cdr_export_csv(struct cdr_ctx *c, const struct cdr_filter *f, FILE *out, int *nrows);

/*
 * CLR CDR: removes closed rows whose invite_ms is before before_ms; -EPERM
 * when before_ms is within the last CDR_KEEP_DAYS days of now_ms.
 */
int cdr_delete_before(struct cdr_ctx *c, int64_t before_ms, int64_t now_ms, int *removed);
/* The DELETE itself, on st (the store's writer: cdr_flush() first, on the loop). */
int cdr_store_delete_before(struct store *st, int64_t before_ms, int *removed);

#endif /* SLUICE_STORE_CDR_H */
