// SPDX-License-Identifier: GPL-2.0-only
/*
 * The NG protocol's commands through ng_handle(), in bencode and in JSON,
 * over the userspace data path and loopback media ports: ping, offer and
 * answer with the SDP rewritten, query, list, delete, errors for what is
 * malformed or unknown, the reply cache, and the RELAY CDR a call leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "core/loop.h"
#include "ctl/ng.h"
#include "dp/dp.h"
#include "dp/dp_impl.h"
#include "store/cdr.h"
#include "store/store.h"

#include "fixtures.h"

struct fix {
	struct loop		*loop;
	struct dp		*dp;
	struct media_ctx	media;
	struct store		st;
	struct cdr_ctx		cdr;
	struct ng		ng;
	struct tmp_db		db;
	char			*reply;
	size_t			rlen;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tmp_db_make(&f->db, "ng", "sluice.db"), 0);
	assert_int_equal(loop_new(&f->loop), 0);
	assert_int_equal(dp_user_open(&f->dp), 0);
	assert_int_equal(media_init(&f->media, f->loop, f->dp, "127.0.0.1", 45000, 45099,
				    MEDIA_RELATCH_SSRC, 60, 3600), 0);
	assert_int_equal(store_open(&f->st, f->db.path), 0);
	assert_int_equal(cdr_init(&f->cdr, &f->st, NULL), 0);
	f->ng.loop = f->loop;
	f->ng.media = &f->media;
	f->ng.fd = -1;
	f->ng.cdr = &f->cdr;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	ng_reset(&f->ng);
	free(f->reply);
	cdr_fini(&f->cdr);
	store_close(&f->st);
	media_fini(&f->media);
	dp_close(f->dp, false);
	loop_free(f->loop);
	assert_int_equal(tmp_db_remove(&f->db), 0);
	free(f);
	return 0;
}

/* Sends text, returns the reply as a string (owned by the fixture). */
static const char *ng(struct fix *f, const char *text)
{
	free(f->reply);
	ng_handle(&f->ng, text, strlen(text), &f->reply, &f->rlen);
	if (!f->reply)
		return "";
	f->reply = realloc(f->reply, f->rlen + 1);
	f->reply[f->rlen] = '\0';
	return f->reply;
}

#define OFFER_SDP "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n" \
		  "m=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
#define ANSWER_SDP "v=0\r\no=- 2 2 IN IP4 10.2.2.2\r\ns=-\r\nc=IN IP4 10.2.2.2\r\nt=0 0\r\n" \
		   "m=audio 5000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"

static char *benc_request(const char *cookie, const char *cmd, const char *call_id,
			  const char *from, const char *to, const char *sdp)
{
	static char buf[2048];
	int n = snprintf(buf, sizeof(buf), "%s d7:call-id%zu:%s7:command%zu:%s", cookie,
			 strlen(call_id), call_id, strlen(cmd), cmd);

	if (from)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "8:from-tag%zu:%s", strlen(from), from);
	if (sdp)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "3:sdp%zu:%s", strlen(sdp), sdp);
	if (to)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "6:to-tag%zu:%s", strlen(to), to);
	snprintf(buf + n, sizeof(buf) - (size_t)n, "e");
	return buf;
}

static void test_ping(void **state)
{
	struct fix *f = *state;

	assert_string_equal(ng(f, "c1 d7:command4:pinge"), "c1 d6:result4:ponge");
	assert_string_equal(ng(f, "c2 {\"command\":\"ping\"}"), "c2 {\"result\":\"pong\"}");
	assert_string_equal(ng(f, "nocookie"), "");
}

static void test_offer_answer_delete(void **state)
{
	struct fix *f = *state;
	const char *r;

	r = ng(f, benc_request("o1", "offer", "call-1", "tagA", NULL, OFFER_SDP));
	assert_non_null(strstr(r, "6:result2:ok"));
	assert_non_null(strstr(r, "c=IN IP4 127.0.0.1\r\n"));	/* the relay's address */
	assert_null(strstr(r, "10.1.1.1\r\nt="));
	r = ng(f, benc_request("a1", "answer", "call-1", "tagA", "tagB", ANSWER_SDP));
	assert_non_null(strstr(r, "6:result2:ok"));
	r = ng(f, "q1 d7:call-id6:call-17:command5:querye");
	assert_non_null(strstr(r, "4:tagA"));
	assert_non_null(strstr(r, "4:tagB"));
	assert_non_null(strstr(r, "3:RTPd5:bytesi0e"));
	r = ng(f, "l1 d7:command4:liste");
	assert_non_null(strstr(r, "5:callsl6:call-1e"));
	r = ng(f, "d1 d7:call-id6:call-17:command6:deletee");
	assert_string_equal(r, "d1 d6:result2:oke");
	r = ng(f, "d2 d7:call-id6:call-17:command6:deletee");
	assert_non_null(strstr(r, "Call-ID not found"));
}

static void test_json(void **state)
{
	struct fix *f = *state;
	char req[1024];
	const char *r;

	snprintf(req, sizeof(req), "j1 {\"command\":\"offer\",\"call-id\":\"call-j\","
		 "\"from-tag\":\"x\",\"sdp\":\"%s\",\"flags\":[\"trust-address\"],"
		 "\"replace\":[\"origin\"],\"ICE\":\"remove\",\"ignored\":null,\"n\":1.5,"
		 "\"t\":true}",
		 "v=0\\r\\no=- 1 1 IN IP4 10.1.1.1\\r\\ns=-\\r\\nc=IN IP4 10.1.1.1\\r\\nt=0 0\\r\\n"
		 "m=audio 4000 RTP/AVP 8\\r\\n");
	r = ng(f, req);
	assert_int_equal(strncmp(r, "j1 {", 4), 0);
	assert_non_null(strstr(r, "\"result\":\"ok\""));
	assert_non_null(strstr(r, "c=IN IP4 127.0.0.1\\r\\n"));
	r = ng(f, "j2 {\"command\":\"query\",\"call-id\":\"call-j\"}");
	assert_non_null(strstr(r, "\"totals\":{"));
	r = ng(f, "j3 {\"command\":");
	assert_string_equal(r, "j3 {\"error-reason\":\"malformed JSON\",\"result\":\"error\"}");
	r = ng(f, "j4 {\"a\":[1,{\"b\":{}}],\"command\":7}");	/* JSON, but no command */
	assert_non_null(strstr(r, "\"result\":\"error\""));
	r = ng(f, "j5 {\"command\":\"delete\",\"call-id\":\"call-j\"}");
	assert_string_equal(r, "j5 {\"result\":\"ok\"}");
}

static void test_errors_and_cache(void **state)
{
	struct fix *f = *state;
	const char *r;
	char first[256];

	r = ng(f, "e1 d7:command5:offere");
	assert_non_null(strstr(r, "call-id and sdp are required"));
	r = ng(f, "e2 d7:command3:fooe");
	assert_non_null(strstr(r, "6:result5:error"));
	r = ng(f, "e3 d7:command4:pin");
	assert_non_null(strstr(r, "6:result5:error"));
	r = ng(f, "e4 i42e");
	assert_non_null(strstr(r, "request is not a dictionary"));
	r = ng(f, benc_request("k1", "answer", "nope", "a", "b", ANSWER_SDP));
	assert_non_null(strstr(r, "Unknown call-id"));
	/* The same cookie again: the first reply, not a second session. */
	r = ng(f, benc_request("k2", "offer", "call-k", "a", NULL, OFFER_SDP));
	snprintf(first, sizeof(first), "%s", r);
	r = ng(f, benc_request("k2", "offer", "call-k", "a", NULL, OFFER_SDP));
	assert_string_equal(r, first);
	r = ng(f, "k3 d7:command4:liste");
	assert_non_null(strstr(r, "5:callsl6:call-ke"));
}

/* Leg 0's address as its SDP gave it, "A.B.C.D:PORT". */
static const char *leg0_sdp(struct fix *f, char *out, size_t n)
{
	const struct media_endpoint *e = &f->media.sessions->st[0].relay.leg[0].sdp[0];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&e->ss;
	char a[16];

	inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
	snprintf(out, n, "%s:%u", a, ntohs(sin->sin_port));
	return out;
}

/* SIP-source-address: received-from replaces the SDP's address; trust-address keeps it. */
static void test_flags(void **state)
{
	struct fix *f = *state;
	char req[1024], ep[64];
	const char *r;

	snprintf(req, sizeof(req), "f1 d7:call-id3:f-17:command5:offer5:flagsl18:SIP-source-address"
		 "e8:from-tag1:a13:received-froml3:IP49:192.0.2.9e3:sdp%zu:%se", strlen(OFFER_SDP),
		 OFFER_SDP);
	r = ng(f, req);
	assert_non_null(strstr(r, "6:result2:ok"));
	assert_string_equal(leg0_sdp(f, ep, sizeof(ep)), "192.0.2.9:4000");
	ng(f, "f2 d7:call-id3:f-17:command6:deletee");

	snprintf(req, sizeof(req), "f3 d7:call-id3:f-27:command5:offer8:from-tag1:a10:rtpp-flags"
		 "56:SIP-source-address received-from=192.0.2.8 trust-address3:sdp%zu:%se",
		 strlen(OFFER_SDP), OFFER_SDP);
	r = ng(f, req);
	assert_non_null(strstr(r, "6:result2:ok"));
	assert_string_equal(leg0_sdp(f, ep, sizeof(ep)), "10.1.1.1:4000");	/* trusted */
	ng(f, "f4 d7:call-id3:f-27:command6:deletee");

	snprintf(req, sizeof(req), "f5 {\"command\":\"offer\",\"call-id\":\"f-3\",\"from-tag\":"
		 "\"a\",\"rtpp-flags\":\"SIP-source-address received-from=192.0.2.7 ICE=remove\","
		 "\"replace\":[\"origin\"],\"sdp\":\"v=0\\r\\no=- 1 1 IN IP4 10.1.1.1\\r\\n"
		 "s=-\\r\\nc=IN IP4 10.1.1.1\\r\\nt=0 0\\r\\nm=audio 4000 RTP/AVP 8\\r\\n\"}");
	r = ng(f, req);
	assert_non_null(strstr(r, "\"result\":\"ok\""));
	assert_string_equal(leg0_sdp(f, ep, sizeof(ep)), "192.0.2.7:4000");
}

/*
 * The flags that change the media, in each form: transport-protocol as a
 * key and as a bare rtpp-flags word, asymmetric in the flags list; a
 * profile the relay cannot give is an error with the reason.
 */
static void test_media_flags(void **state)
{
	static const char sdp[] = "v=0\\r\\no=- 1 1 IN IP4 10.1.1.1\\r\\ns=-\\r\\n"
				  "c=IN IP4 10.1.1.1\\r\\nt=0 0\\r\\nm=audio 4000 RTP/AVP 8\\r\\n";
	struct fix *f = *state;
	char req[1024];
	const char *r;

	snprintf(req, sizeof(req), "g1 {\"command\":\"offer\",\"call-id\":\"g-1\",\"from-tag\":"
		 "\"a\",\"transport-protocol\":\"RTP/AVPF\",\"sdp\":\"%s\"}", sdp);
	r = ng(f, req);
	assert_non_null(strstr(r, "\"result\":\"ok\""));
	assert_non_null(strstr(r, " RTP/AVPF 8"));
	ng(f, "g2 d7:call-id3:g-17:command6:deletee");

	snprintf(req, sizeof(req), "g3 {\"command\":\"offer\",\"call-id\":\"g-2\",\"from-tag\":"
		 "\"a\",\"rtpp-flags\":\"replace-origin RTP/AVPF\",\"flags\":[\"asymmetric\"],"
		 "\"sdp\":\"%s\"}", sdp);
	r = ng(f, req);
	assert_non_null(strstr(r, " RTP/AVPF 8"));
	assert_true(f->media.sessions->st[0].relay.leg[0].asymmetric);
	assert_false(f->media.sessions->st[0].relay.leg[1].asymmetric);
	ng(f, "g4 d7:call-id3:g-27:command6:deletee");

	snprintf(req, sizeof(req), "g5 {\"command\":\"offer\",\"call-id\":\"g-3\",\"from-tag\":"
		 "\"a\",\"transport-protocol\":\"UDP/TLS/RTP/SAVPF\",\"sdp\":\"%s\"}", sdp);
	r = ng(f, req);
	assert_non_null(strstr(r, " UDP/TLS/RTP/SAVPF 8"));
	assert_non_null(strstr(r, "a=fingerprint:sha-256 "));
	ng(f, "g5d d7:call-id3:g-37:command6:deletee");

	/* direction: a list, or rtpp-flags words; each name must be an interface. */
	snprintf(req, sizeof(req), "g6 {\"command\":\"offer\",\"call-id\":\"g-4\",\"from-tag\":"
		 "\"a\",\"direction\":[\"default\",\"external\"],\"sdp\":\"%s\"}", sdp);
	assert_non_null(strstr(ng(f, req), "unknown interface external"));
	snprintf(req, sizeof(req), "g7 {\"command\":\"offer\",\"call-id\":\"g-4\",\"from-tag\":"
		 "\"a\",\"rtpp-flags\":\"direction=default direction=default\",\"sdp\":\"%s\"}",
		 sdp);
	assert_non_null(strstr(ng(f, req), "\"result\":\"ok\""));
	assert_string_equal(f->media.sessions->iface[1], "default");
}

/*
 * rtcp-mux: the rtpp-flags word and the dictionary's list reach the
 * session; demux takes a=rtcp-mux off the offer to the callee and puts it
 * in the answer to the caller, who then muxes alone.
 */
static void test_rtcp_mux(void **state)
{
	static const char muxed[] = OFFER_SDP "a=rtcp-mux\r\n";
	struct fix *f = *state;
	char req[1024];
	const char *r;

	snprintf(req, sizeof(req), "m1 d7:call-id3:m-17:command5:offer8:from-tag1:a10:rtpp-flags"
		 "14:rtcp-mux-demux3:sdp%zu:%se", strlen(muxed), muxed);
	r = ng(f, req);
	assert_non_null(strstr(r, "6:result2:ok"));
	assert_null(strstr(r, "a=rtcp-mux"));
	r = ng(f, benc_request("m2", "answer", "m-1", "a", "b", ANSWER_SDP));
	assert_non_null(strstr(r, "6:result2:ok"));
	assert_non_null(strstr(r, "a=rtcp-mux"));
	assert_true(f->media.sessions->st[0].relay.leg[0].mux);
	assert_false(f->media.sessions->st[0].relay.leg[1].mux);
	ng(f, "m3 d7:call-id3:m-17:command6:deletee");

	/* "rtcp-mux": ["offer"]: offered to the callee though the caller did not. */
	snprintf(req, sizeof(req), "m4 d7:call-id3:m-27:command5:offer8:from-tag1:a8:rtcp-mux"
		 "l5:offere3:sdp%zu:%se", strlen(OFFER_SDP), OFFER_SDP);
	r = ng(f, req);
	assert_non_null(strstr(r, "6:result2:ok"));
	assert_non_null(strstr(r, "a=rtcp-mux"));
	r = ng(f, benc_request("m5", "answer", "m-2", "a", "b", ANSWER_SDP "a=rtcp-mux\r\n"));
	assert_null(strstr(r, "a=rtcp-mux"));
	assert_false(f->media.sessions->st[0].relay.leg[0].mux);
	assert_true(f->media.sessions->st[0].relay.leg[1].mux);
}

/*
 * A forked call: the delete of a branch that lost (its to-tag is not the
 * answer's) keeps the answered call; the answered dialog's delete ends it.
 */
static void test_branch_delete(void **state)
{
	struct fix *f = *state;

	ng(f, benc_request("b1", "offer", "fork-1", "a", NULL, OFFER_SDP));
	assert_non_null(strstr(ng(f, benc_request("b2", "answer", "fork-1", "a", "won",
						   ANSWER_SDP)), "6:result2:ok"));
	assert_non_null(strstr(ng(f, "b3 d7:call-id6:fork-17:command6:delete8:from-tag1:a"
				  "6:to-tag4:loste"), "6:result2:ok"));
	assert_non_null(f->media.sessions);		/* kept */
	assert_non_null(strstr(ng(f, "b4 d7:call-id6:fork-17:command5:querye"), "6:result2:ok"));
	assert_non_null(strstr(ng(f, "b5 d7:call-id6:fork-17:command6:delete8:from-tag1:a"
				  "6:to-tag3:wone"), "6:result2:ok"));
	assert_null(f->media.sessions);			/* gone */
}

/* [control] max_sessions: a new call over the limit gets "load limit". */
static void test_limit(void **state)
{
	struct fix *f = *state;

	f->ng.max_sessions = 1;
	assert_non_null(strstr(ng(f, benc_request("m1", "offer", "call-1", "a", NULL, OFFER_SDP)),
			       "6:result2:ok"));
	assert_non_null(strstr(ng(f, benc_request("m2", "offer", "call-2", "a", NULL, OFFER_SDP)),
			       "6:result10:load limit"));
	/* A re-offer of the call it has is no new call. */
	assert_non_null(strstr(ng(f, benc_request("m3", "offer", "call-1", "a", NULL, OFFER_SDP)),
			       "6:result2:ok"));
	ng(f, "m4 d7:call-id6:call-17:command6:deletee");
	assert_non_null(strstr(ng(f, benc_request("m5", "offer", "call-2", "a", NULL, OFFER_SDP)),
			       "6:result2:ok"));
}

static void test_relay_cdr(void **state)
{
	struct fix *f = *state;
	struct cdr_rec rec;
	int total = 0, open = 0;

	ng(f, benc_request("r1", "offer", "call-r", "tagA", NULL, OFFER_SDP));
	ng(f, benc_request("r2", "answer", "call-r", "tagA", "tagB", ANSWER_SDP));
	assert_int_equal(cdr_flush(&f->cdr), 0);
	assert_int_equal(cdr_count(&f->cdr, &total, &open), 0);
	assert_int_equal(open, 1);	/* open from the answer */
	ng(f, "r3 d7:call-id6:call-r7:command6:deletee");
	assert_int_equal(cdr_flush(&f->cdr), 0);
	assert_int_equal(cdr_count(&f->cdr, &total, &open), 0);
	assert_int_equal(total, 1);
	assert_int_equal(open, 0);
	assert_int_equal(cdr_get(&f->cdr, 1, &rec), 0);
	assert_string_equal(rec.type, "RELAY");
	assert_string_equal(rec.a_call_id, "call-r");
	assert_string_equal(rec.disposition, "ANSWERED");
	assert_string_equal(rec.close_reason, "normal");
	assert_string_equal(rec.codec, "PCMA/8000");
	assert_string_equal(rec.caller_ip, "10.1.1.1");
	assert_int_equal(rec.callee_port, 5000);
	assert_string_equal(rec.extra_info, "from-tag=tagA;to-tag=tagB");
	/* An offer never answered: NO ANSWER at its delete. */
	ng(f, benc_request("r4", "offer", "call-s", "tagA", NULL, OFFER_SDP));
	ng(f, "r5 d7:call-id6:call-s7:command6:deletee");
	assert_int_equal(cdr_flush(&f->cdr), 0);
	assert_int_equal(cdr_get(&f->cdr, 2, &rec), 0);
	assert_string_equal(rec.disposition, "NO ANSWER");
	assert_int_equal(rec.billable_s, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offer_answer_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_and_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_media_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtcp_mux, setup, teardown),
		cmocka_unit_test_setup_teardown(test_branch_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_cdr, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
