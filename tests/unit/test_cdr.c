// SPDX-License-Identifier: GPL-2.0-only
/*
 * Call detail records: every field back from the database as written, a
 * queued record replaced in place, ids that go on after a restart, the
 * duration arithmetic, rows left open by a crash closed at start-up,
 * DSP CDR's filters and order, EXP CDR's columns and quoting, CLR CDR's
 * seven-day guard, the flush timer, and a database that refuses writes
 * (another process holds its lock, or the disk is full): -EBUSY or
 * -ENOSPC, nothing lost, one log line for the failure and one when the
 * rows are written late.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/loop.h"
#include "store/cdr.h"

#include "fixtures.h"

#define T0	1700000000000LL		/* 2023-11-14 22:13:20.000 UTC */
#define DAY	(24 * 60 * 60 * 1000LL)

struct fx {
	struct tmp_db	db;
	struct store	st;
	struct cdr_ctx	cdr;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (tmp_db_make(&f->db, "cdr", "sluice.db") ||
	    store_open(&f->st, f->db.path) || cdr_init(&f->cdr, &f->st, NULL))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	cdr_fini(&f->cdr);
	store_close(&f->st);
	if (tmp_db_remove(&f->db))
		return -1;
	free(f);
	return 0;
}

/* Every field set, each to something of its own. */
static void fill(struct cdr_rec *r, struct cdr_ctx *c)
{
	cdr_rec_init(r, c, CDR_TYPE_CALL, T0);
	strcpy(r->a_call_id, "a-leg@192.0.2.1");
	strcpy(r->b_call_id, "b-leg@sluice");
	strcpy(r->caller_uri, "sip:1001@ims.local");
	strcpy(r->caller_number, "1001");
	strcpy(r->caller_ip, "192.0.2.1");
	r->caller_port = 5060;
	strcpy(r->callee_uri, "sip:1002@ims.local");
	strcpy(r->callee_number, "1002");
	strcpy(r->callee_ip, "2001:db8::2");
	r->callee_port = 5062;
	r->ring_ms = T0 + 250;
	r->answer_ms = T0 + 2000;
	r->end_ms = T0 + 63500;
	cdr_finish(r);
	strcpy(r->disposition, CDR_ANSWERED);
	r->status_code = 200;
	strcpy(r->status_text, "OK");
	strcpy(r->released_by, "caller");
	strcpy(r->close_reason, CDR_CLOSE_NORMAL);
	strcpy(r->codec, "PCMA/8000");
	strcpy(r->caller_ua, "Acme \"Phone\", v1");
	strcpy(r->callee_ua, "Bob");
	strcpy(r->datapath, "xdp");
	strcpy(r->contact, "sip:1001@192.0.2.1:5060");
	r->expires = 3600;
	strcpy(r->message_body, "x\ny");
	strcpy(r->server_ip, "192.0.2.10");
	r->server_port = 5060;
	r->cseq = 4242;
	strcpy(r->extra_info, "a,b");
	r->q[0] = (struct cdr_quality){ 3100, 533200, 2, 1.234, 93.26, 4.4 };
	r->q[1] = (struct cdr_quality){ 1ull << 40, 1ull << 50, -1, 0.5, 80.5, 3.9 };
}

static void assert_same(const struct cdr_rec *a, const struct cdr_rec *b)
{
	assert_int_equal(a->id, b->id);
	assert_string_equal(a->a_call_id, b->a_call_id);
	assert_string_equal(a->caller_ua, b->caller_ua);
	assert_int_equal(a->q[1].packets, b->q[1].packets);
	/* Both zeroed before filling: padding and string tails agree too. */
	assert_memory_equal(a, b, sizeof(*a));
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct cdr_rec r, got;

	fill(&r, &f->cdr);
	assert_int_equal(r.id, 1);
	assert_int_equal(cdr_write(&f->cdr, &r), 0);
	assert_int_equal(f->cdr.npending, 1);
	assert_int_equal(cdr_get(&f->cdr, r.id, &got), 0);	/* the queued copy */
	assert_same(&r, &got);
	assert_int_equal(cdr_flush(&f->cdr), 0);
	assert_int_equal(f->cdr.npending, 0);
	assert_null(f->cdr.pending);
	assert_int_equal(f->cdr.written, 1);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(cdr_get(&f->cdr, r.id, &got), 0);	/* from the table */
	assert_same(&r, &got);
	assert_int_equal(cdr_get(&f->cdr, 99, &got), -ENOENT);
	assert_int_equal(cdr_flush(&f->cdr), 0);		/* nothing queued */
}

static void test_replace_queued(void **state)
{
	struct fx *f = *state;
	struct cdr_rec a, b, got;
	int total, open;

	fill(&a, &f->cdr);
	a.open = true;
	fill(&b, &f->cdr);
	assert_int_equal(cdr_write(&f->cdr, &a), 0);
	assert_int_equal(cdr_write(&f->cdr, &b), 0);
	strcpy(a.close_reason, CDR_CLOSE_MEDIA);
	a.open = false;
	assert_int_equal(cdr_write(&f->cdr, &a), 0);		/* replaces the queued one */
	assert_int_equal(f->cdr.npending, 2);
	assert_int_equal(cdr_get(&f->cdr, a.id, &got), 0);
	assert_string_equal(got.close_reason, CDR_CLOSE_MEDIA);
	/* With no loop nothing is written until asked. */
	assert_int_equal(cdr_count(&f->cdr, &total, &open), 0);	/* asks */
	assert_int_equal(total, 2);
	assert_int_equal(open, 0);
	assert_int_equal(cdr_get(&f->cdr, a.id, &got), 0);
	assert_string_equal(got.close_reason, CDR_CLOSE_MEDIA);
	/* A row written again after its flush is replaced in the table. */
	a.open = true;
	assert_int_equal(cdr_write(&f->cdr, &a), 0);
	assert_int_equal(cdr_flush(&f->cdr), 0);
	assert_int_equal(cdr_count(&f->cdr, &total, &open), 0);
	assert_int_equal(total, 2);
	assert_int_equal(open, 1);
}

static void test_ids_continue(void **state)
{
	struct fx *f = *state;
	struct cdr_rec r;

	assert_int_equal(cdr_new_id(&f->cdr), 1);
	assert_int_equal(cdr_new_id(&f->cdr), 2);
	cdr_rec_init(&r, &f->cdr, CDR_TYPE_REGISTER, T0);
	assert_int_equal(r.id, 3);
	assert_string_equal(r.type, "REGISTER");
	assert_int_equal(r.invite_ms, T0);
	assert_false(r.open);
	assert_int_equal(cdr_write(&f->cdr, &r), 0);
	cdr_rec_init(&r, &f->cdr, CDR_TYPE_MESSAGE, T0);	/* id 4, never written */
	cdr_fini(&f->cdr);					/* writes id 3 */
	store_close(&f->st);
	assert_int_equal(store_open(&f->st, f->db.path), 0);
	assert_int_equal(cdr_init(&f->cdr, &f->st, NULL), 0);
	assert_int_equal(cdr_new_id(&f->cdr), 4);
	assert_int_equal(cdr_get(&f->cdr, 3, &r), 0);
	assert_string_equal(r.type, "REGISTER");
}

static void test_finish(void **state)
{
	struct cdr_rec r;

	(void)state;
	/* Unanswered: rang, then the callee declined. */
	memset(&r, 0, sizeof(r));
	r.open = true;
	r.invite_ms = T0;
	r.ring_ms = T0 + 500;
	r.end_ms = T0 + 4900;
	cdr_finish(&r);
	assert_int_equal(r.duration_s, 5);			/* rounded up */
	assert_int_equal(r.billable_s, 0);
	assert_int_equal(r.setup_ms, 500);
	assert_false(r.open);
	/* Answered without a ring: 7.001 s of talk bills 8. */
	memset(&r, 0, sizeof(r));
	r.invite_ms = T0;
	r.answer_ms = T0 + 3000;
	r.end_ms = T0 + 10001;
	cdr_finish(&r);
	assert_int_equal(r.duration_s, 11);
	assert_int_equal(r.billable_s, 8);
	assert_int_equal(r.setup_ms, 3000);
	r.end_ms = T0 + 10000;					/* exactly 7 s */
	cdr_finish(&r);
	assert_int_equal(r.billable_s, 7);
	/* Neither ring nor answer: setup runs to the end. */
	memset(&r, 0, sizeof(r));
	r.invite_ms = T0;
	r.end_ms = T0 + 32000;
	cdr_finish(&r);
	assert_int_equal(r.setup_ms, 32000);
	assert_int_equal(r.duration_s, 32);
	/* No INVITE time, no end: nothing to measure. */
	memset(&r, 0, sizeof(r));
	r.answer_ms = T0;
	r.end_ms = T0 + 1000;
	cdr_finish(&r);
	assert_int_equal(r.duration_s, 0);
	assert_int_equal(r.setup_ms, 0);
	assert_int_equal(r.billable_s, 1);
	memset(&r, 0, sizeof(r));
	r.invite_ms = T0;
	r.answer_ms = T0 + 1000;
	cdr_finish(&r);
	assert_int_equal(r.duration_s, 0);
	assert_int_equal(r.billable_s, 0);
	assert_int_equal(r.setup_ms, 1000);
}

/* An answered call still up (open), as the B2BUA writes it at the 200. */
static int64_t write_open(struct cdr_ctx *c, int64_t invite_ms)
{
	struct cdr_rec r;

	cdr_rec_init(&r, c, CDR_TYPE_CALL, invite_ms);
	r.answer_ms = invite_ms + 1000;
	r.open = true;
	strcpy(r.disposition, CDR_ANSWERED);
	r.status_code = 200;
	assert_int_equal(cdr_write(c, &r), 0);
	return r.id;
}

static void test_close_stale(void **state)
{
	struct fx *f = *state;
	int64_t a, b, c, d, keep[1];
	struct cdr_rec r;
	int total, open;

	a = write_open(&f->cdr, T0);
	b = write_open(&f->cdr, T0);
	c = write_open(&f->cdr, T0);
	d = write_open(&f->cdr, T0);
	assert_int_equal(cdr_get(&f->cdr, d, &r), 0);
	r.end_ms = T0 + 5000;
	strcpy(r.close_reason, CDR_CLOSE_NORMAL);
	cdr_finish(&r);
	assert_int_equal(cdr_write(&f->cdr, &r), 0);
	assert_int_equal(cdr_flush(&f->cdr), 0);

	keep[0] = b;	/* adopted: still up */
	assert_int_equal(cdr_close_stale(&f->cdr, keep, 1, T0 + 60500), 2);
	assert_int_equal(f->cdr.npending, 0);			/* written */
	assert_int_equal(cdr_get(&f->cdr, a, &r), 0);
	assert_false(r.open);
	assert_int_equal(r.end_ms, T0 + 60500);
	assert_string_equal(r.close_reason, "restart");
	assert_string_equal(r.released_by, "system");
	assert_int_equal(r.duration_s, 61);			/* 60.5 s rounded up */
	assert_int_equal(r.billable_s, 60);			/* 59.5 s rounded up */
	assert_string_equal(r.disposition, CDR_ANSWERED);	/* kept */
	assert_int_equal(cdr_get(&f->cdr, c, &r), 0);
	assert_false(r.open);
	assert_int_equal(cdr_get(&f->cdr, b, &r), 0);
	assert_true(r.open);
	assert_int_equal(r.end_ms, 0);
	assert_int_equal(cdr_get(&f->cdr, d, &r), 0);		/* closed before: untouched */
	assert_int_equal(r.end_ms, T0 + 5000);
	assert_string_equal(r.close_reason, CDR_CLOSE_NORMAL);
	assert_int_equal(cdr_count(&f->cdr, &total, &open), 0);
	assert_int_equal(total, 4);
	assert_int_equal(open, 1);
	/* Nothing left to close, and no keep list at all. */
	assert_int_equal(cdr_close_stale(&f->cdr, keep, 1, T0 + 70000), 0);
	assert_int_equal(cdr_close_stale(&f->cdr, NULL, 0, T0 + 70000), 1);
}

static void add(struct cdr_ctx *c, const char *type, int64_t invite_ms, const char *from,
		const char *to, const char *disposition)
{
	struct cdr_rec r;

	cdr_rec_init(&r, c, type, invite_ms);
	snprintf(r.caller_number, sizeof(r.caller_number), "%s", from);
	snprintf(r.caller_uri, sizeof(r.caller_uri), "sip:%s@ims.local", from);
	snprintf(r.callee_number, sizeof(r.callee_number), "%s", to);
	snprintf(r.callee_uri, sizeof(r.callee_uri), "sip:%s@ims.local", to);
	snprintf(r.disposition, sizeof(r.disposition), "%s", disposition);
	assert_int_equal(cdr_write(c, &r), 0);
}

struct ids {
	char	s[128];
	int	stop_after;	/* 0: never */
	int	n;
};

static int collect(const struct cdr_rec *r, void *arg)
{
	struct ids *ids = arg;
	size_t len = strlen(ids->s);

	snprintf(ids->s + len, sizeof(ids->s) - len, "%lld ", (long long)r->id);
	return ++ids->n == ids->stop_after ? 7 : 0;
}

/* The ids that f selects, in order, as "1 2 3 ". */
static const char *query(struct cdr_ctx *c, const struct cdr_filter *f, struct ids *ids)
{
	memset(ids, 0, sizeof(*ids));
	assert_int_equal(cdr_query(c, f, collect, ids), 0);
	return ids->s;
}

static void test_query(void **state)
{
	struct fx *f = *state;
	struct cdr_filter flt;
	struct ids ids;

	add(&f->cdr, CDR_TYPE_CALL, T0 + 3000, "1001", "1002", CDR_ANSWERED);	/* 1 */
	add(&f->cdr, CDR_TYPE_CALL, T0 + 1000, "1001", "1003", CDR_BUSY);		/* 2 */
	add(&f->cdr, CDR_TYPE_CALL, T0 + 2000, "1002", "1001", CDR_NO_ANSWER);	/* 3 */
	add(&f->cdr, CDR_TYPE_REGISTER, T0 + 2000, "1003", "1003", "");		/* 4 */
	add(&f->cdr, CDR_TYPE_CALL, T0 + 4000, "1003", "1001", CDR_ANSWERED);	/* 5 */
	/* Queued only: cdr_query() flushes first. */
	assert_int_equal(f->cdr.npending, 5);

	memset(&flt, 0, sizeof(flt));
	assert_string_equal(query(&f->cdr, &flt, &ids), "2 3 4 1 5 ");	/* oldest first */
	assert_int_equal(f->cdr.npending, 0);
	assert_string_equal(query(&f->cdr, NULL, &ids), "2 3 4 1 5 ");
	flt.limit = 3;
	assert_string_equal(query(&f->cdr, &flt, &ids), "5 1 4 ");	/* newest first */
	flt.limit = 0;

	strcpy(flt.caller, "1001");
	assert_string_equal(query(&f->cdr, &flt, &ids), "2 1 ");
	strcpy(flt.caller, "sip:1001@ims.local");			/* the URI matches too */
	assert_string_equal(query(&f->cdr, &flt, &ids), "2 1 ");
	strcpy(flt.caller, "100");					/* exact, not a prefix */
	assert_string_equal(query(&f->cdr, &flt, &ids), "");
	flt.caller[0] = '\0';

	strcpy(flt.callee, "1001");
	assert_string_equal(query(&f->cdr, &flt, &ids), "3 5 ");
	strcpy(flt.disposition, "answered");				/* any case */
	assert_string_equal(query(&f->cdr, &flt, &ids), "5 ");
	flt.callee[0] = '\0';
	strcpy(flt.disposition, "No Answer");
	assert_string_equal(query(&f->cdr, &flt, &ids), "3 ");
	flt.disposition[0] = '\0';

	strcpy(flt.type, CDR_TYPE_REGISTER);
	assert_string_equal(query(&f->cdr, &flt, &ids), "4 ");
	strcpy(flt.type, CDR_TYPE_CALL);
	flt.from_ms = T0 + 2000;					/* inclusive */
	flt.to_ms = T0 + 4000;						/* exclusive */
	assert_string_equal(query(&f->cdr, &flt, &ids), "3 1 ");
	flt.to_ms = 0;
	assert_string_equal(query(&f->cdr, &flt, &ids), "3 1 5 ");

	/* The callback's non-zero return stops the walk and comes back. */
	memset(&ids, 0, sizeof(ids));
	ids.stop_after = 2;
	assert_int_equal(cdr_query(&f->cdr, NULL, collect, &ids), 7);
	assert_string_equal(ids.s, "2 3 ");
}

/* What a FILE written by fn holds, NUL-terminated; free() it. */
static char *capture(int (*fn)(FILE *out, const void *arg), const void *arg, int *ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	*ret = fn(out, arg);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static int header_fn(FILE *out, const void *arg)
{
	(void)arg;
	return cdr_csv_header(out);
}

static int row_fn(FILE *out, const void *arg)
{
	return cdr_csv_row(out, arg);
}

static void test_csv_header(void **state)
{
	/* The previous server's, verbatim: operators' scripts parse it. */
	static const char legacy[] =
		"record_id,record_type,call_state,date,start_time,end_time,call_id,caller_uri,"
		"caller_number,caller_ip,caller_port,callee_uri,callee_number,callee_ip,"
		"callee_port,duration,setup_time,status_code,status_text,termination_reason,"
		"invite_time,ringing_time,answer_time,bye_time,call_type,codec,user_agent,"
		"contact,expires,message_body,server_ip,server_port,cseq,extra_info";
	static const char own[] =
		"disposition,released_by,close_reason,billable,datapath,b_call_id,"
		"callee_user_agent,a_packets,a_bytes,a_lost,a_jitter_ms,a_r,a_mos,"
		"b_packets,b_bytes,b_lost,b_jitter_ms,b_r,b_mos,listened_by,test_call";
	char want[1024];
	char *got;
	int ret, commas = 0;

	(void)state;
	snprintf(want, sizeof(want), "%s,%s\r\n", legacy, own);
	got = capture(header_fn, NULL, &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(got, want);
	for (const char *p = legacy; *p; p++)
		commas += *p == ',';
	assert_int_equal(commas + 1, 34);
	free(got);
}

static void test_csv_row(void **state)
{
	struct fx *f = *state;
	struct cdr_rec r;
	char *got;
	int ret;

	fill(&r, &f->cdr);
	r.id = 42;
	r.cseq = 0;		/* empty when 0 */
	got = capture(row_fn, &r, &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(got,
		"42,CALL,COMPLETED,2023-11-14,2023-11-14 22:13:22,2023-11-14 22:14:23,"
		"a-leg@192.0.2.1,sip:1001@ims.local,1001,192.0.2.1,5060,"
		"sip:1002@ims.local,1002,2001:db8::2,5062,"
		"62,0.250,200,OK,normal by caller,"
		"2023-11-14 22:13:20.000,2023-11-14 22:13:20.250,2023-11-14 22:13:22.000,"
		"2023-11-14 22:14:23.500,"
		"audio,PCMA/8000,\"Acme \"\"Phone\"\", v1\",sip:1001@192.0.2.1:5060,,"
		"\"x\ny\",192.0.2.10,5060,,\"a,b\","
		"ANSWERED,caller,normal,62,xdp,b-leg@sluice,Bob,"
		"3100,533200,2,1.23,93.3,4.40,"
		"1099511627776,1125899906842624,-1,0.50,80.5,3.90,,0\r\n");
	free(got);

	/* Still up: ACTIVE, no end yet. */
	r.open = true;
	r.end_ms = 0;
	r.billable_s = 0;
	got = capture(row_fn, &r, &ret);
	assert_non_null(strstr(got, "42,CALL,ACTIVE,2023-11-14,2023-11-14 22:13:22,,"));
	assert_non_null(strstr(got, ",2023-11-14 22:13:22.000,,audio,"));
	free(got);

	/* Not answered: the disposition; the start is the INVITE. */
	r.open = false;
	r.answer_ms = 0;
	r.end_ms = T0 + 3000;
	strcpy(r.disposition, CDR_BUSY);
	strcpy(r.released_by, "");
	got = capture(row_fn, &r, &ret);
	assert_non_null(strstr(got, "42,CALL,BUSY,2023-11-14,2023-11-14 22:13:20,"
				    "2023-11-14 22:13:23,"));
	assert_non_null(strstr(got, ",0,0.250,200,OK,normal,"));	/* no " by " */
	free(got);

	/* An event: completed, lower-case type, expires shown. */
	cdr_rec_init(&r, &f->cdr, CDR_TYPE_REGISTER, T0);
	r.expires = 600;
	r.status_code = 200;
	got = capture(row_fn, &r, &ret);
	assert_non_null(strstr(got, ",REGISTER,COMPLETED,2023-11-14,2023-11-14 22:13:20,,"));
	assert_non_null(strstr(got, ",register,,,,600,,,,,,"));
	free(got);
}

static void test_export(void **state)
{
	struct fx *f = *state;
	struct cdr_filter flt = { .limit = 1 };
	char *buf = NULL, *line;
	size_t len = 0;
	FILE *out;
	int n = -1;

	add(&f->cdr, CDR_TYPE_CALL, T0 + 1000, "1001", "1002", CDR_ANSWERED);
	add(&f->cdr, CDR_TYPE_CALL, T0, "1002", "1001", CDR_BUSY);
	out = open_memstream(&buf, &len);
	assert_int_equal(cdr_export_csv(&f->cdr, NULL, out, &n), 0);
	fclose(out);
	assert_int_equal(n, 2);
	assert_int_equal(strncmp(buf, "record_id,record_type,", 22), 0);
	line = strstr(buf, "\r\n") + 2;
	assert_int_equal(strncmp(line, "2,CALL,BUSY,", 12), 0);		/* oldest first */
	line = strstr(line, "\r\n") + 2;
	assert_int_equal(strncmp(line, "1,CALL,COMPLETED,", 17), 0);
	assert_string_equal(strstr(line, "\r\n"), "\r\n");
	free(buf);

	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_int_equal(cdr_export_csv(&f->cdr, &flt, out, &n), 0);	/* the newest */
	fclose(out);
	assert_int_equal(n, 1);
	assert_int_equal(strncmp(strstr(buf, "\r\n") + 2, "1,CALL,", 7), 0);
	free(buf);
}

static void test_delete_before(void **state)
{
	struct fx *f = *state;
	int64_t now = 100 * DAY;
	int removed = -1, total;

	add(&f->cdr, CDR_TYPE_CALL, 1 * DAY, "1001", "1002", CDR_ANSWERED);
	write_open(&f->cdr, 2 * DAY);				/* still up: never removed */
	add(&f->cdr, CDR_TYPE_REGISTER, 3 * DAY, "1001", "1001", "");
	add(&f->cdr, CDR_TYPE_CALL, 95 * DAY, "1001", "1002", CDR_BUSY);
	/* Younger than seven days: refused, nothing removed. */
	assert_int_equal(cdr_delete_before(&f->cdr, now - 6 * DAY, now, &removed), -EPERM);
	assert_int_equal(removed, 0);
	assert_int_equal(cdr_delete_before(&f->cdr, now - 7 * DAY + 1, now, &removed), -EPERM);
	assert_int_equal(cdr_count(&f->cdr, &total, NULL), 0);
	assert_int_equal(total, 4);
	/* Exactly seven days ago is allowed. */
	assert_int_equal(cdr_delete_before(&f->cdr, now - 7 * DAY, now, &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(cdr_count(&f->cdr, &total, NULL), 0);
	assert_int_equal(total, 2);
	assert_int_equal(cdr_get(&f->cdr, 2, &(struct cdr_rec){ 0 }), 0);
	assert_int_equal(cdr_get(&f->cdr, 4, &(struct cdr_rec){ 0 }), 0);
	assert_int_equal(cdr_delete_before(&f->cdr, now - 7 * DAY, now, NULL), 0);
}

/* stderr into a file, to count the log lines of what follows. */
struct logcap {
	char	path[128];
	int	saved;
};

static void log_capture(struct logcap *l, const char *dir)
{
	int fd;

	snprintf(l->path, sizeof(l->path), "%s/log", dir);
	fd = open(l->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	l->saved = dup(2);
	assert_true(l->saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

/* Restores stderr; what was logged meanwhile (shown too), to free(). */
static char *log_release(struct logcap *l)
{
	char *buf = calloc(1, 8192);
	FILE *in;

	assert_non_null(buf);
	fflush(stderr);
	assert_int_equal(dup2(l->saved, 2), 2);
	close(l->saved);
	in = fopen(l->path, "r");
	assert_non_null(in);
	fread(buf, 1, 8191, in);
	fclose(in);
	fputs(buf, stderr);
	return buf;
}

static int count(const char *text, const char *what)
{
	int n = 0;

	for (; (text = strstr(text, what)); text++)
		n++;
	return n;
}

/* Another process's write lock on the database file. */
static sqlite3 *lock_db(const char *path)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static void unlock_db(sqlite3 *db)
{
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_locked(void **state)
{
	struct fx *f = *state;
	struct logcap lc;
	struct cdr_rec a, b, got;
	sqlite3 *other;
	char *log;
	int total;

	/* The store waits STORE_BUSY_MS for a lock; this test need not. */
	sqlite3_busy_timeout(f->st.db, 50);
	fill(&a, &f->cdr);
	fill(&b, &f->cdr);
	other = lock_db(f->db.path);
	log_capture(&lc, f->db.dir);
	assert_int_equal(cdr_write(&f->cdr, &a), 0);
	assert_int_equal(cdr_flush(&f->cdr), -EBUSY);
	assert_int_equal(f->cdr.npending, 1);			/* still queued */
	assert_true(f->cdr.failing);
	assert_int_equal(cdr_flush(&f->cdr), -EBUSY);		/* again: not logged again */
	assert_int_equal(cdr_write(&f->cdr, &b), 0);
	assert_int_equal(cdr_write(&f->cdr, &a), 0);
	assert_int_equal(f->cdr.npending, 2);
	assert_int_equal(f->cdr.flush_failures, 2);
	assert_int_equal(cdr_get(&f->cdr, b.id, &got), 0);	/* readable from the queue */
	/* Reads go on; the query's own flush fails quietly. */
	assert_int_equal(cdr_count(&f->cdr, &total, NULL), 0);
	assert_int_equal(total, 0);
	assert_int_equal(f->cdr.flush_failures, 3);
	assert_int_equal(f->cdr.written, 0);
	assert_int_equal(f->cdr.late, 0);
	unlock_db(other);
	assert_int_equal(cdr_flush(&f->cdr), 0);
	assert_false(f->cdr.failing);
	assert_int_equal(f->cdr.npending, 0);
	assert_int_equal(f->cdr.written, 2);
	assert_int_equal(f->cdr.late, 2);
	log = log_release(&lc);
	/* One line for the failure, one for the rows written late, none per retry. */
	assert_int_equal(count(log, "[cdr]"), 2);
	assert_int_equal(count(log, "cannot write 1 records (database is locked)"), 1);
	assert_int_equal(count(log, "[cdr] database writable again: 2 rows written late"), 1);
	assert_int_equal(count(log, "[store]"), 0);
	free(log);
	assert_int_equal(cdr_get(&f->cdr, a.id, &got), 0);	/* from the table */
	assert_same(&a, &got);
	assert_int_equal(cdr_count(&f->cdr, &total, NULL), 0);
	assert_int_equal(total, 2);
}

/* A full disk: -ENOSPC, every row kept, all written once there is room. */
static void test_disk_full(void **state)
{
	struct fx *f = *state;
	struct cdr_rec r;
	sqlite3_stmt *q;
	char sql[64];
	int i, total;

	assert_int_equal(sqlite3_prepare_v2(f->st.db, "PRAGMA page_count", -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	/* A database that may not grow stands for a full disk. */
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %d", sqlite3_column_int(q, 0));
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_exec(f->st.db, sql, NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < 50; i++) {
		fill(&r, &f->cdr);
		memset(r.message_body, 'm', sizeof(r.message_body) - 1);
		assert_int_equal(cdr_write(&f->cdr, &r), 0);
	}
	assert_int_equal(cdr_flush(&f->cdr), -ENOSPC);
	assert_int_equal(f->cdr.npending, 50);
	assert_int_equal(cdr_count(&f->cdr, &total, NULL), 0);
	assert_int_equal(total, 0);				/* all or nothing */
	assert_int_equal(sqlite3_exec(f->st.db, "PRAGMA max_page_count = 100000", NULL, NULL,
				      NULL), SQLITE_OK);
	assert_int_equal(cdr_flush(&f->cdr), 0);
	assert_int_equal(cdr_count(&f->cdr, &total, NULL), 0);
	assert_int_equal(total, 50);
	assert_int_equal(f->cdr.late, 50);
}

/* Not inside a caller's transaction: its rollback would take the rows along. */
static void test_in_transaction(void **state)
{
	struct fx *f = *state;
	struct cdr_rec r;
	int total;

	fill(&r, &f->cdr);
	assert_int_equal(store_begin(&f->st), 0);
	assert_int_equal(cdr_write(&f->cdr, &r), 0);
	assert_int_equal(cdr_flush(&f->cdr), -EBUSY);
	assert_int_equal(f->cdr.npending, 1);
	assert_false(f->cdr.failing);			/* nothing wrong with the disk */
	store_rollback(&f->st);
	assert_int_equal(f->cdr.npending, 1);
	assert_int_equal(cdr_flush(&f->cdr), 0);
	assert_int_equal(cdr_count(&f->cdr, &total, NULL), 0);
	assert_int_equal(total, 1);
}

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
	return fake_now;
}

/* Written CDR_FLUSH_MS after the write; retried every CDR_RETRY_MS while locked. */
static void test_timer(void **state)
{
	struct fx *f = *state;
	struct cdr_rec a, b, got;
	struct loop *loop;
	sqlite3 *other;

	fake_now = 1000;
	assert_int_equal(loop_new(&loop), 0);
	loop_set_clock(loop, fake_clock);
	cdr_fini(&f->cdr);
	assert_int_equal(cdr_init(&f->cdr, &f->st, loop), 0);
	sqlite3_busy_timeout(f->st.db, 50);

	fill(&a, &f->cdr);
	assert_int_equal(cdr_write(&f->cdr, &a), 0);
	assert_true(loop_timer_armed(&f->cdr.timer));
	fake_now += CDR_FLUSH_MS - 1;
	assert_int_equal(loop_run_timers(loop), 0);
	assert_int_equal(f->cdr.npending, 1);
	fake_now += 1;
	assert_int_equal(loop_run_timers(loop), 1);
	assert_int_equal(f->cdr.npending, 0);
	assert_false(loop_timer_armed(&f->cdr.timer));
	assert_int_equal(cdr_get(&f->cdr, a.id, &got), 0);

	other = lock_db(f->db.path);
	fill(&b, &f->cdr);
	assert_int_equal(cdr_write(&f->cdr, &b), 0);
	fake_now += CDR_FLUSH_MS;
	assert_int_equal(loop_run_timers(loop), 1);		/* fails */
	assert_true(f->cdr.failing);
	assert_int_equal(f->cdr.npending, 1);
	assert_true(loop_timer_armed(&f->cdr.timer));		/* the retry */
	assert_int_equal(cdr_write(&f->cdr, &b), 0);		/* does not hurry it */
	fake_now += CDR_FLUSH_MS;
	assert_int_equal(loop_run_timers(loop), 0);
	fake_now += CDR_RETRY_MS - CDR_FLUSH_MS;
	assert_int_equal(loop_run_timers(loop), 1);		/* fails again */
	assert_int_equal(f->cdr.flush_failures, 2);
	unlock_db(other);
	fake_now += CDR_RETRY_MS;
	assert_int_equal(loop_run_timers(loop), 1);
	assert_false(f->cdr.failing);
	assert_int_equal(f->cdr.npending, 0);
	assert_int_equal(f->cdr.late, 1);
	assert_int_equal(f->cdr.written, 2);
	assert_false(loop_timer_armed(&f->cdr.timer));

	cdr_fini(&f->cdr);
	loop_free(loop);
	assert_int_equal(cdr_init(&f->cdr, &f->st, NULL), 0);	/* for teardown */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csv_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csv_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_before, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer, setup, teardown),
	};

	/* The CSV's times are local: pin the zone. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
