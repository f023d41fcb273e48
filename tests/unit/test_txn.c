// SPDX-License-Identifier: GPL-2.0-only
/*
 * The transaction layer on a fake clock (RFC 3261 §17, RFC 6026): when
 * each timer fires, to the millisecond; what a retransmitted request or
 * response does; the 2xx retransmitted until its ACK; matching by branch,
 * by the RFC 2543 fields, of ACK and CANCEL, and of the ACK of a non-2xx
 * final sent with another branch; no retransmissions over TCP.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <osipparser2/osip_parser.h>

#include "core/loop.h"
#include "sip/txn.h"

#define MAX_SENT 256

static uint64_t now_ms;
static uint64_t sent_at[MAX_SENT];
static char sent_line[MAX_SENT][64];	/* start lines */
static int nsent;

static uint64_t fake_clock(void)
{
	return now_ms;
}

static int record(void *arg, const struct sip_peer *to, const char *buf, size_t len)
{
	(void)arg;
	(void)to;
	if (nsent < MAX_SENT) {
		size_t n = strcspn(buf, "\r");

		if (n > len)
			n = len;
		if (n >= sizeof(sent_line[0]))
			n = sizeof(sent_line[0]) - 1;
		memcpy(sent_line[nsent], buf, n);
		sent_line[nsent][n] = '\0';
		sent_at[nsent] = now_ms;
	}
	nsent++;
	return 0;
}

struct fx {
	struct loop	*loop;
	struct sip_txns	tx;
	struct sip_peer	udp, tcp;
	int		resp_codes[16];
	int		nresp;
	int		end_code;
};

static struct fx *fx;

static void on_end(struct sip_txn *t, int code, void *arg);

static void advance(uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += 10) {
		now_ms += 10;
		loop_run_timers(fx->loop);
	}
}

static int setup(void **state)
{
	fx = calloc(1, sizeof(*fx));
	now_ms = 1000000;
	nsent = 0;
	if (!fx || loop_new(&fx->loop))
		return -1;
	loop_set_clock(fx->loop, fake_clock);
	if (sip_txns_init(&fx->tx, fx->loop, record, NULL))
		return -1;
	fx->udp.proto = SIP_UDP;
	((struct sockaddr_in *)&fx->udp.addr)->sin_family = AF_INET;
	((struct sockaddr_in *)&fx->udp.addr)->sin_port = htons(5070);
	inet_pton(AF_INET, "192.0.2.1", &((struct sockaddr_in *)&fx->udp.addr)->sin_addr);
	fx->udp.len = sizeof(struct sockaddr_in);
	fx->tcp = fx->udp;
	fx->tcp.proto = SIP_TCP;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sip_txns_fini(&fx->tx);
	loop_free(fx->loop);
	free(fx);
	return 0;
}

static osip_message_t *msg(const char *fmt, ...)
{
	char text[2048];
	osip_message_t *m;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_int_equal(osip_message_init(&m), 0);
	assert_int_equal(osip_message_parse(m, text, (size_t)n), 0);
	return m;
}

/* A request: method, branch (NULL: none, RFC 2543), CSeq number. */
static osip_message_t *req(const char *method, const char *branch, int cseq)
{
	char via[128];

	if (branch)
		snprintf(via, sizeof(via), "SIP/2.0/UDP 192.0.2.1:5070;branch=%s", branch);
	else
		snprintf(via, sizeof(via), "SIP/2.0/UDP 192.0.2.1:5070");
	return msg("%s sip:bob@example.com SIP/2.0\r\n"
		   "Via: %s\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@example.com>;tag=a1\r\n"
		   "To: <sip:bob@example.com>\r\n"
		   "Call-ID: call-1@example.com\r\n"
		   "CSeq: %d %s\r\n"
		   "Content-Length: 0\r\n\r\n", method, via, cseq, method);
}

static osip_message_t *resp_to(const osip_message_t *r, int code)
{
	osip_message_t *out;

	assert_int_equal(sip_msg_response(r, code, NULL, "totag", NULL, &out), 0);
	return out;
}

/* Sends between t0 and t1 (relative ms since start). */
static int sends_between(uint64_t start, uint64_t from, uint64_t to)
{
	int n = 0;

	for (int i = 0; i < nsent && i < MAX_SENT; i++)
		if (sent_at[i] >= start + from && sent_at[i] < start + to)
			n++;
	return n;
}

static void test_nist(void **state)
{
	osip_message_t *r = req("REGISTER", "z9hG4bKnist1", 1), *dup = req("REGISTER", "z9hG4bKnist1", 1);
	uint64_t t0 = now_ms;
	struct sip_txn *t;

	(void)state;
	assert_int_equal(sip_txn_server_match(&fx->tx, r, &fx->udp), SIP_TXN_NEW);
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	assert_int_equal(sip_txn_state(t), SIP_TXN_TRYING);
	/* A retransmission before any response: absorbed, nothing sent. */
	assert_int_equal(sip_txn_server_match(&fx->tx, dup, &fx->udp), SIP_TXN_ABSORBED);
	assert_int_equal(nsent, 0);
	assert_int_equal(sip_txn_reply(t, resp_to(sip_txn_request(t), 200)), 0);
	assert_int_equal(nsent, 1);
	assert_string_equal(sent_line[0], "SIP/2.0 200 OK");
	assert_int_equal(sip_txn_state(t), SIP_TXN_COMPLETED);
	/* Now the retransmission gets the 200 again; a second final is refused. */
	assert_int_equal(sip_txn_server_match(&fx->tx, dup, &fx->udp), SIP_TXN_ABSORBED);
	assert_int_equal(nsent, 2);
	/* Timer J: 64*T1 over UDP, then a new request. */
	advance(64 * SIP_T1_MS - 20);
	assert_int_equal(sip_txn_server_match(&fx->tx, dup, &fx->udp), SIP_TXN_ABSORBED);
	advance(40);
	assert_int_equal(sip_txn_server_match(&fx->tx, dup, &fx->udp), SIP_TXN_NEW);
	assert_int_equal(fx->tx.count, 0);
	(void)t0;
	osip_message_free(dup);
}

static void test_nist_tcp_and_tu_deadline(void **state)
{
	osip_message_t *r = req("OPTIONS", "z9hG4bKnist2", 1), *dup = req("OPTIONS", "z9hG4bKnist2", 1);
	struct sip_txn *t;

	(void)state;
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->tcp, &t), 0);
	assert_int_equal(sip_txn_reply(t, resp_to(sip_txn_request(t), 200)), 0);
	advance(10);		/* Timer J is zero over TCP */
	assert_int_equal(sip_txn_server_match(&fx->tx, dup, &fx->tcp), SIP_TXN_NEW);

	/* A TU that never answers: the transaction ends with 500 at 64*T1. */
	r = req("OPTIONS", "z9hG4bKnist3", 2);
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	fx->end_code = 0;
	sip_txn_set_end(t, on_end, NULL);
	advance(64 * SIP_T1_MS + 20);
	assert_int_equal(fx->end_code, 500);
	assert_int_equal(fx->tx.count, 0);
	osip_message_free(dup);
}

static void on_end(struct sip_txn *t, int code, void *arg)
{
	(void)t;
	(void)arg;
	fx->end_code = code;
}

static void test_ist_non2xx(void **state)
{
	osip_message_t *r = req("INVITE", "z9hG4bKist1", 1);
	osip_message_t *ack = req("ACK", "z9hG4bKist1", 1);
	uint64_t t0 = now_ms;
	struct sip_txn *t;

	(void)state;
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	/* 100 Trying from the transaction once the TU is silent for 200 ms. */
	advance(190);
	assert_int_equal(nsent, 0);
	advance(20);
	assert_int_equal(nsent, 1);
	assert_string_equal(sent_line[0], "SIP/2.0 100 Trying");
	/* A CANCEL finds it while it is proceeding. */
	{
		osip_message_t *c = req("CANCEL", "z9hG4bKist1", 1);

		assert_ptr_equal(sip_txn_find_invite(&fx->tx, c), t);
		osip_message_free(c);
	}
	t0 = now_ms;
	nsent = 0;
	assert_int_equal(sip_txn_reply(t, resp_to(sip_txn_request(t), 486)), 0);
	/* Timer G: T1, 2T1, 4T1, then T2 (4 s) apart. */
	advance(8000);
	assert_int_equal(sends_between(t0, 0, 1), 1);		/* the 486 itself */
	assert_int_equal(sends_between(t0, 495, 515), 1);	/* +500 */
	assert_int_equal(sends_between(t0, 1495, 1515), 1);	/* +1000 */
	assert_int_equal(sends_between(t0, 3495, 3515), 1);	/* +2000 */
	assert_int_equal(sends_between(t0, 7495, 7515), 1);	/* +4000 */
	assert_int_equal(nsent, 5);
	/* The ACK confirms: no more retransmissions, Timer I (T4) ends it. */
	assert_int_equal(sip_txn_server_match(&fx->tx, ack, &fx->udp), SIP_TXN_ABSORBED);
	assert_int_equal(sip_txn_state(t), SIP_TXN_CONFIRMED);
	advance(SIP_T4_MS - 20);
	assert_int_equal(nsent, 5);
	assert_int_equal(fx->tx.count, 1);
	advance(40);
	assert_int_equal(fx->tx.count, 0);
	osip_message_free(ack);
}

/* An ACK: branch, CSeq number, From tag, To tag, Call-ID. */
static osip_message_t *ack_of(const char *branch, int cseq, const char *ftag, const char *ttag,
			      const char *callid)
{
	return msg("ACK sip:bob@example.com SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=%s\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@example.com>;tag=%s\r\n"
		   "To: <sip:bob@example.com>;tag=%s\r\n"
		   "Call-ID: %s\r\n"
		   "CSeq: %d ACK\r\n"
		   "Content-Length: 0\r\n\r\n", branch, ftag, ttag, callid, cseq);
}

/*
 * The ACK of a 407 with a fresh branch (sipp's [branch]): matched by
 * Call-ID, From tag, CSeq number and our To tag, it stops the 407's
 * retransmissions; an ACK that differs in any of those is not its.
 */
static void test_ist_non2xx_ack_other_branch(void **state)
{
	static const struct {
		const char	*why;
		int		cseq;
		const char	*ftag, *ttag, *callid;
	} others[] = {
		{ "another To tag", 1, "a1", "other", "call-1@example.com" },
		{ "another From tag", 1, "a2", "totag", "call-1@example.com" },
		{ "another CSeq", 2, "a1", "totag", "call-1@example.com" },
		{ "another Call-ID", 1, "a1", "totag", "call-2@example.com" },
	};
	osip_message_t *r = req("INVITE", "z9hG4bKist4", 1), *a;
	struct sip_txn *t;
	int before;

	(void)state;
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	assert_int_equal(sip_txn_reply(t, resp_to(sip_txn_request(t), 407)), 0);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		a = ack_of("z9hG4bKfresh1", others[i].cseq, others[i].ftag, others[i].ttag,
			   others[i].callid);
		if (sip_txn_server_match(&fx->tx, a, &fx->udp) != SIP_TXN_NEW)
			fail_msg("an ACK with %s was taken for the 407's", others[i].why);
		osip_message_free(a);
	}
	assert_int_equal(sip_txn_state(t), SIP_TXN_COMPLETED);
	before = nsent;
	advance(600);
	assert_int_equal(nsent, before + 1);		/* Timer G goes on */
	a = ack_of("z9hG4bKfresh1", 1, "a1", "totag", "call-1@example.com");
	assert_int_equal(sip_txn_server_match(&fx->tx, a, &fx->udp), SIP_TXN_ABSORBED);
	assert_int_equal(sip_txn_state(t), SIP_TXN_CONFIRMED);
	before = nsent;
	advance(SIP_TIMER_D_MS);
	assert_int_equal(nsent, before);		/* not one retransmission more */
	assert_int_equal(fx->tx.count, 0);		/* Timer I ended it */
	/* Gone, it matches nothing: a late copy of the ACK is a new message. */
	assert_int_equal(sip_txn_server_match(&fx->tx, a, &fx->udp), SIP_TXN_NEW);
	osip_message_free(a);

	/* The ACK of a 2xx is the TU's, whatever its branch: never taken here. */
	r = req("INVITE", "z9hG4bKist5", 3);
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	assert_int_equal(sip_txn_reply(t, resp_to(sip_txn_request(t), 200)), 0);
	a = ack_of("z9hG4bKfresh2", 3, "a1", "totag", "call-1@example.com");
	assert_int_equal(sip_txn_server_match(&fx->tx, a, &fx->udp), SIP_TXN_NEW);
	assert_true(sip_txn_ack_2xx(&fx->tx, a));
	osip_message_free(a);
}

static void test_ist_timer_h(void **state)
{
	osip_message_t *r = req("INVITE", "z9hG4bKist2", 1);
	uint64_t t0;
	struct sip_txn *t;

	(void)state;
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	t0 = now_ms;
	assert_int_equal(sip_txn_reply(t, resp_to(sip_txn_request(t), 404)), 0);
	advance(64 * SIP_T1_MS + 20);
	/* 1 + retransmissions at 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5 s */
	assert_int_equal(sends_between(t0, 0, 64 * SIP_T1_MS), 11);
	assert_int_equal(fx->tx.count, 0);
}

static void test_ist_2xx_until_ack(void **state)
{
	osip_message_t *r = req("INVITE", "z9hG4bKist3", 1);
	osip_message_t *retrans = req("INVITE", "z9hG4bKist3", 1);
	osip_message_t *ack = req("ACK", "z9hG4bKack3", 1);
	uint64_t t0;
	struct sip_txn *t;

	(void)state;
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	sip_txn_set_end(t, on_end, NULL);
	t0 = now_ms;
	assert_int_equal(sip_txn_reply(t, resp_to(sip_txn_request(t), 200)), 0);
	assert_int_equal(sip_txn_state(t), SIP_TXN_ACCEPTED);
	/* RFC 6026: a retransmitted INVITE is absorbed, not a new call. */
	assert_int_equal(sip_txn_server_match(&fx->tx, retrans, &fx->udp), SIP_TXN_ABSORBED);
	advance(4000);
	/* the 200 at 0, again at 0.5, 1.5, 3.5 s */
	assert_int_equal(sends_between(t0, 0, 4000), 4);
	/* The ACK (its own branch) stops them. */
	assert_int_equal(sip_txn_server_match(&fx->tx, ack, &fx->udp), SIP_TXN_NEW);
	assert_true(sip_txn_ack_2xx(&fx->tx, ack));
	assert_false(sip_txn_ack_2xx(&fx->tx, ack));
	advance(10000);
	assert_int_equal(sends_between(t0, 4000, 14000), 0);
	assert_int_equal(fx->end_code, 0);
	osip_message_free(retrans);
	osip_message_free(ack);

	/* Without an ACK: given up at 64*T1, and the TU hears 408. */
	r = req("INVITE", "z9hG4bKist4", 2);
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	sip_txn_set_end(t, on_end, NULL);
	assert_int_equal(sip_txn_reply(t, resp_to(sip_txn_request(t), 200)), 0);
	advance(64 * SIP_T1_MS + 20);
	assert_int_equal(fx->end_code, 408);
}

static void on_resp(struct sip_txn *t, const osip_message_t *resp, int code, void *arg)
{
	(void)t;
	(void)resp;
	(void)arg;
	if (fx->nresp < 16)
		fx->resp_codes[fx->nresp] = code;
	fx->nresp++;
}

static void test_ict(void **state)
{
	osip_message_t *r = req("INVITE", "z9hG4bKict1", 1);
	osip_message_t *resp;
	uint64_t t0 = now_ms;

	(void)state;
	assert_int_equal(sip_txn_client_new(&fx->tx, r, &fx->udp, on_resp, NULL, NULL), 0);
	/* Timer A doubles without a cap; Timer B ends it at 64*T1 with 408. */
	advance(64 * SIP_T1_MS + 20);
	assert_int_equal(sends_between(t0, 0, 1), 1);
	assert_int_equal(sends_between(t0, 495, 515), 1);
	assert_int_equal(sends_between(t0, 1495, 1515), 1);
	assert_int_equal(sends_between(t0, 3495, 3515), 1);
	assert_int_equal(sends_between(t0, 7495, 7515), 1);
	assert_int_equal(sends_between(t0, 15495, 15515), 1);
	assert_int_equal(sends_between(t0, 31495, 31515), 1);
	assert_int_equal(nsent, 7);
	assert_int_equal(fx->nresp, 1);
	assert_int_equal(fx->resp_codes[0], 408);

	/* A 180 stops Timer A; a 486 is ACKed by the transaction, twice if resent. */
	nsent = 0;
	fx->nresp = 0;
	r = req("INVITE", "z9hG4bKict2", 2);
	assert_int_equal(sip_txn_client_new(&fx->tx, r, &fx->udp, on_resp, NULL, NULL), 0);
	resp = msg("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKict2\r\n"
		   "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b\r\n"
		   "Call-ID: call-1@example.com\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n");
	assert_true(sip_txn_client_match(&fx->tx, resp));
	osip_message_free(resp);
	advance(5000);
	assert_int_equal(nsent, 1);
	resp = msg("SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKict2\r\n"
		   "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b\r\n"
		   "Call-ID: call-1@example.com\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n");
	assert_true(sip_txn_client_match(&fx->tx, resp));
	assert_int_equal(nsent, 2);
	assert_string_equal(sent_line[1], "ACK sip:bob@example.com SIP/2.0");
	assert_true(sip_txn_client_match(&fx->tx, resp));	/* retransmitted 486 */
	assert_int_equal(nsent, 3);
	assert_string_equal(sent_line[2], "ACK sip:bob@example.com SIP/2.0");
	assert_int_equal(fx->nresp, 2);				/* 180 and 486 once */
	assert_int_equal(fx->resp_codes[1], 486);
	/* Timer D: 32 s, then the response matches nothing. */
	advance(SIP_TIMER_D_MS + 20);
	assert_false(sip_txn_client_match(&fx->tx, resp));
	osip_message_free(resp);
}

/*
 * Responses the TU printed itself (sip_txn_reply_text()): a 407 whose ACK
 * on a fresh branch is matched by the To tag given with the text, resent
 * by Timer G; a 200 retransmitted until the ACK that sip_txn_ack_2xx()
 * takes; nothing once the final is out.
 */
static void test_ist_text_replies(void **state)
{
	static const char r407[] = "SIP/2.0 407 Proxy Authentication Required\r\n...";
	static const char r200[] = "SIP/2.0 200 OK\r\n...";
	osip_message_t *r = req("INVITE", "z9hG4bKtxt1", 1), *a;
	struct sip_txn *t;
	int before;

	(void)state;
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	assert_int_equal(sip_txn_reply_text(t, 100, "SIP/2.0 100 Trying\r\n", 20, "tt"), 0);
	assert_int_equal(sip_txn_state(t), SIP_TXN_PROCEEDING);
	assert_non_null(sip_txn_request(t));
	assert_int_equal(sip_txn_reply_text(t, 407, r407, sizeof(r407) - 1, "tt"), 0);
	assert_int_equal(sip_txn_state(t), SIP_TXN_COMPLETED);
	assert_null(sip_txn_request(t));
	assert_string_equal(sent_line[nsent - 1], "SIP/2.0 407 Proxy Authentication Required");
	assert_int_equal(sip_txn_reply_text(t, 500, r407, sizeof(r407) - 1, "tt"), -EALREADY);
	a = ack_of("z9hG4bKfresh9", 1, "a1", "other", "call-1@example.com");
	assert_int_equal(sip_txn_server_match(&fx->tx, a, &fx->udp), SIP_TXN_NEW);
	osip_message_free(a);
	before = nsent;
	advance(600);
	assert_int_equal(nsent, before + 1);		/* Timer G: the text again */
	assert_string_equal(sent_line[nsent - 1], "SIP/2.0 407 Proxy Authentication Required");
	a = ack_of("z9hG4bKfresh9", 1, "a1", "tt", "call-1@example.com");
	assert_int_equal(sip_txn_server_match(&fx->tx, a, &fx->udp), SIP_TXN_ABSORBED);
	assert_int_equal(sip_txn_state(t), SIP_TXN_CONFIRMED);
	osip_message_free(a);

	r = req("INVITE", "z9hG4bKtxt2", 2);
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	assert_int_equal(sip_txn_reply_text(t, 200, r200, sizeof(r200) - 1, "tt"), 0);
	assert_int_equal(sip_txn_state(t), SIP_TXN_ACCEPTED);
	before = nsent;
	advance(600);
	assert_int_equal(nsent, before + 1);		/* the 2xx again at T1 */
	assert_string_equal(sent_line[nsent - 1], "SIP/2.0 200 OK");
	a = ack_of("z9hG4bKfresh10", 2, "a1", "tt", "call-1@example.com");
	assert_true(sip_txn_ack_2xx(&fx->tx, a));
	osip_message_free(a);
	before = nsent;
	advance(5000);
	assert_int_equal(nsent, before);
}

/*
 * A request the TU printed and did not parse (sip_txn_client_new_raw()
 * with no tree): the method and branch come from the text; an INVITE's
 * text is parsed for the ACK of its non-2xx final.
 */
static void test_client_raw_unparsed(void **state)
{
	static const char inv[] =
		"INVITE sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKraw1;rport\r\n"
		"Max-Forwards: 70\r\n"
		"From: <sip:alice@example.com>;tag=a1\r\n"
		"To: <sip:bob@example.com>\r\n"
		"Call-ID: raw-1@example.com\r\n"
		"CSeq: 5 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char bye[] =
		"BYE sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKraw2\r\n"
		"From: <sip:alice@example.com>;tag=a1\r\n"
		"To: <sip:bob@example.com>;tag=b\r\n"
		"Call-ID: raw-1@example.com\r\n"
		"CSeq: 6 BYE\r\n"
		"Content-Length: 0\r\n\r\n";
	osip_message_t *resp;

	(void)state;
	fx->nresp = 0;
	assert_int_equal(sip_txn_client_new_raw(&fx->tx, NULL, inv, sizeof(inv) - 1, &fx->udp,
						on_resp, NULL, NULL), 0);
	assert_string_equal(sent_line[nsent - 1], "INVITE sip:bob@example.com SIP/2.0");
	resp = msg("SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKraw1\r\n"
		   "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b\r\n"
		   "Call-ID: raw-1@example.com\r\nCSeq: 5 INVITE\r\nContent-Length: 0\r\n\r\n");
	assert_true(sip_txn_client_match(&fx->tx, resp));
	assert_string_equal(sent_line[nsent - 1], "ACK sip:bob@example.com SIP/2.0");
	osip_message_free(resp);
	assert_int_equal(fx->nresp, 1);
	assert_int_equal(fx->resp_codes[0], 486);

	assert_int_equal(sip_txn_client_new_raw(&fx->tx, NULL, bye, sizeof(bye) - 1, &fx->udp,
						on_resp, NULL, NULL), 0);
	resp = msg("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKraw2\r\n"
		   "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b\r\n"
		   "Call-ID: raw-1@example.com\r\nCSeq: 6 BYE\r\nContent-Length: 0\r\n\r\n");
	assert_true(sip_txn_client_match(&fx->tx, resp));
	osip_message_free(resp);
	assert_int_equal(fx->resp_codes[1], 200);
	/* No branch with the magic cookie, or no Via: refused, nothing sent. */
	assert_int_equal(sip_txn_client_new_raw(&fx->tx, NULL, "BYE x SIP/2.0\r\n\r\n", 17,
						&fx->udp, on_resp, NULL, NULL), -EINVAL);
}

static void test_nict(void **state)
{
	osip_message_t *r = req("MESSAGE", "z9hG4bKnict1", 1), *resp;
	uint64_t t0 = now_ms;

	(void)state;
	assert_int_equal(sip_txn_client_new(&fx->tx, r, &fx->udp, on_resp, NULL, NULL), 0);
	advance(64 * SIP_T1_MS + 20);
	/* Timer E: 0.5, 1.5, 3.5, 7.5, then every 4 s to 31.5; F: 408 at 32 s. */
	assert_int_equal(sends_between(t0, 0, 64 * SIP_T1_MS + 20), 11);
	assert_int_equal(fx->nresp, 1);
	assert_int_equal(fx->resp_codes[0], 408);

	/* Over TCP: no retransmission at all. */
	nsent = 0;
	fx->nresp = 0;
	r = req("MESSAGE", "z9hG4bKnict2", 2);
	assert_int_equal(sip_txn_client_new(&fx->tx, r, &fx->tcp, on_resp, NULL, NULL), 0);
	advance(10000);
	assert_int_equal(nsent, 1);
	resp = msg("SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bKnict2\r\n"
		   "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b\r\n"
		   "Call-ID: call-1@example.com\r\nCSeq: 2 MESSAGE\r\nContent-Length: 0\r\n\r\n");
	assert_true(sip_txn_client_match(&fx->tx, resp));
	assert_int_equal(fx->nresp, 1);
	assert_int_equal(fx->resp_codes[0], 200);
	/* A response with another method in CSeq is not this transaction's. */
	osip_free(resp->cseq->method);
	resp->cseq->method = osip_strdup("INFO");
	assert_false(sip_txn_client_match(&fx->tx, resp));
	osip_message_free(resp);
}

static void test_rfc2543_matching(void **state)
{
	osip_message_t *r = req("OPTIONS", NULL, 7), *dup = req("OPTIONS", NULL, 7);
	osip_message_t *other = req("OPTIONS", NULL, 8);
	struct sip_txn *t;

	(void)state;
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	assert_int_equal(sip_txn_server_match(&fx->tx, dup, &fx->udp), SIP_TXN_ABSORBED);
	assert_int_equal(sip_txn_server_match(&fx->tx, other, &fx->udp), SIP_TXN_NEW);
	/* A bare magic cookie is no unique branch: matched the 2543 way too. */
	osip_message_free(dup);
	osip_message_free(other);
	r = req("OPTIONS", "z9hG4bK", 9);
	dup = req("OPTIONS", "z9hG4bK", 9);
	other = req("OPTIONS", "z9hG4bK", 10);
	assert_int_equal(sip_txn_server_new(&fx->tx, r, &fx->udp, &t), 0);
	assert_int_equal(sip_txn_server_match(&fx->tx, dup, &fx->udp), SIP_TXN_ABSORBED);
	assert_int_equal(sip_txn_server_match(&fx->tx, other, &fx->udp), SIP_TXN_NEW);
	osip_message_free(dup);
	osip_message_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nist_tcp_and_tu_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_non2xx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_non2xx_ack_other_branch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_timer_h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_2xx_until_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_text_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_raw_unparsed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2543_matching, setup, teardown),
	};

	parser_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
