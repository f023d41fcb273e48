// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SIP tracker's ring (sip/trace.c): messages kept in order with their
 * Call-ID (long and compact header forms) and first line, the oldest
 * evicted by count and by bytes, a long message cut, the two legs of a
 * call linked, searches by number that match user parts only, and an off
 * tracker that keeps nothing.
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip/trace.h"

static struct sockaddr_in here = { .sin_family = AF_INET, .sin_port = 0xc413 };

static void add(struct sip_trace *t, const char *text)
{
	sip_trace_add(t, 1000 + t->seq, false, 0, (struct sockaddr *)&here, sizeof(here),
		      (struct sockaddr *)&here, sizeof(here), text, strlen(text));
}

static const char invite[] =
	"INVITE sip:2002@ims.local SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
	"From: <sip:2001@ims.local>;tag=1\r\n"
	"To: <sip:2002@ims.local>\r\n"
	"Call-ID:  abc@host \r\n"
	"CSeq: 1 INVITE\r\n\r\n"
	"v=0\r\ni=Call-ID: not-this-one\r\n";
static const char leg_b[] =
	"INVITE sip:2002@10.0.0.2:5062 SIP/2.0\r\n"
	"f: <sip:2001@ims.local>;tag=9\r\n"
	"t: <sip:2002@ims.local>\r\n"
	"i: 0123@sluice\r\n\r\n";
static const char ok_b[] = "SIP/2.0 200 OK\r\ni: 0123@sluice\r\nt: <sip:2002@ims.local>\r\n\r\n";
static const char reg[] =
	"REGISTER sip:ims.local SIP/2.0\r\nFrom: <sip:12002@ims.local>\r\n"
	"To: <sip:12002@ims.local>\r\nCall-ID: reg-1\r\n\r\n";

static void test_ring_and_links(void **state)
{
	char ids[SIP_TRACE_MAX_IDS][SIP_TRACE_CALLID_MAX];
	const struct sip_trace_msg *m;
	struct sip_trace t;
	int side;

	(void)state;
	assert_int_equal(sip_trace_init(&t, 8), 0);
	add(&t, reg);
	add(&t, invite);
	sip_trace_link(&t, "abc@host", "0123@sluice");
	add(&t, leg_b);
	add(&t, ok_b);
	assert_int_equal(t.n, 4);
	m = sip_trace_at(&t, 1);
	assert_string_equal(m->call_id, "abc@host");	/* trimmed, not the SDP's */
	assert_string_equal(m->summary, "INVITE sip:2002@ims.local SIP/2.0");
	assert_string_equal(sip_trace_at(&t, 2)->call_id, "0123@sluice");	/* compact i: */
	assert_string_equal(sip_trace_linked(&t, "0123@sluice", &side), "abc@host");
	assert_int_equal(side, 1);
	assert_string_equal(sip_trace_linked(&t, "abc@host", &side), "0123@sluice");
	assert_int_equal(side, 0);
	assert_null(sip_trace_linked(&t, "reg-1", NULL));

	/* By number: user parts only (2002 is not 12002's), a call once, by its leg A. */
	assert_int_equal(sip_trace_ids(&t, NULL, "2002", ids, SIP_TRACE_MAX_IDS), 1);
	assert_string_equal(ids[0], "abc@host");
	assert_int_equal(sip_trace_ids(&t, NULL, "12002", ids, SIP_TRACE_MAX_IDS), 1);
	assert_string_equal(ids[0], "reg-1");
	assert_int_equal(sip_trace_ids(&t, NULL, "200", ids, SIP_TRACE_MAX_IDS), 0);
	assert_int_equal(sip_trace_ids(&t, NULL, NULL, ids, SIP_TRACE_MAX_IDS), 2);
	assert_string_equal(ids[0], "abc@host");
	assert_string_equal(ids[1], "reg-1");
	assert_true(sip_trace_match(sip_trace_at(&t, 3), "abc@host", "0123@sluice"));
	assert_false(sip_trace_match(sip_trace_at(&t, 0), "abc@host", "0123@sluice"));

	/* Full: the oldest go, the sequence numbers stay. */
	for (int i = 0; i < 6; i++)
		add(&t, reg);
	assert_int_equal(t.n, 8);
	assert_int_equal(t.evicted, 2);
	assert_int_equal(sip_trace_at(&t, 0)->seq, 3);
	sip_trace_fini(&t);
}

static void test_bytes_cut_off(void **state)
{
	struct sip_trace t;
	char *big = malloc(SIP_TRACE_MSG_MAX + 100);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', SIP_TRACE_MSG_MAX + 100);
	memcpy(big, "MESSAGE sip:a@b SIP/2.0\r\n", 25);
	assert_int_equal(sip_trace_init(&t, 16), 0);	/* 16 x 2 KiB of text */
	sip_trace_add(&t, 1, true, 0, NULL, 0, NULL, 0, big, SIP_TRACE_MSG_MAX + 100);
	assert_int_equal(t.n, 1);
	assert_true(sip_trace_at(&t, 0)->cut);
	assert_int_equal(sip_trace_at(&t, 0)->len, SIP_TRACE_MSG_MAX);
	assert_string_equal(sip_trace_at(&t, 0)->call_id, "");
	sip_trace_add(&t, 2, true, 0, NULL, 0, NULL, 0, big, SIP_TRACE_MSG_MAX);
	sip_trace_add(&t, 3, true, 0, NULL, 0, NULL, 0, big, 20000);
	assert_true(t.bytes <= t.max_bytes);
	assert_int_equal(t.n, 2);	/* 32 KiB of text: the third evicted the first */
	assert_int_equal(t.evicted, 1);
	assert_int_equal(sip_trace_at(&t, 0)->seq, 2);
	sip_trace_fini(&t);

	assert_int_equal(sip_trace_init(&t, 0), 0);	/* off */
	assert_false(sip_trace_on(&t));
	sip_trace_add(&t, 1, true, 0, NULL, 0, NULL, 0, big, 10);
	sip_trace_link(&t, "a", "b");
	assert_int_equal(t.n, 0);
	sip_trace_fini(&t);
	free(big);
}

/* The texts share one arena as a ring of bytes: every kept text stays whole through the wraps. */
static void fill_msg(char *buf, size_t len, uint64_t seq)
{
	int n = snprintf(buf, len, "MESSAGE sip:%llu@b SIP/2.0\r\n", (unsigned long long)seq);

	for (size_t i = (size_t)n; i < len; i++)
		buf[i] = (char)('a' + (seq + i) % 26);
}

static void test_arena_wraps(void **state)
{
	static char buf[SIP_TRACE_MSG_MAX + 200], want[SIP_TRACE_MSG_MAX + 200];
	struct sip_trace t;
	uint32_t r = 12345;

	(void)state;
	assert_int_equal(sip_trace_init(&t, 16), 0);
	for (uint64_t seq = 1; seq <= 3000; seq++) {
		size_t len;

		r = r * 1103515245 + 12345;
		len = 40 + (r >> 8) % (seq % 50 ? 5000 : SIP_TRACE_MSG_MAX + 100);
		fill_msg(buf, len, seq);
		sip_trace_add(&t, seq, false, 0, NULL, 0, NULL, 0, buf, len);
		assert_true(t.n >= 1 && t.n <= 16);
		assert_true(t.bytes <= t.max_bytes);
		assert_int_equal(sip_trace_at(&t, t.n - 1)->seq, seq);
		for (unsigned i = 0; i < t.n; i++) {
			const struct sip_trace_msg *m = sip_trace_at(&t, i);

			assert_true(m->text >= t.arena && m->text + m->len < t.arena + t.arena_size);
			fill_msg(want, m->len, m->seq);	/* as sent, cut where it was cut */
			assert_memory_equal(m->text, want, m->len);
			assert_int_equal(m->text[m->len], '\0');
		}
	}
	assert_true(t.evicted > 2900);
	sip_trace_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_and_links),
		cmocka_unit_test(test_bytes_cut_off),
		cmocka_unit_test(test_arena_wraps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
