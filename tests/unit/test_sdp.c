// SPDX-License-Identifier: GPL-2.0-only
/*
 * SDP over a corpus of real-world offers (tests/unit/sdp/, one .sdp per offer): what the
 * relay reads from each, and the rewritten body compared byte for byte
 * with the reviewed *.out next to it. Malformed bodies get a reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/sdp.h"

static char *slurp(const char *name, const char *ext, size_t *len)
{
	char path[512], *buf;
	const char *src = __FILE__;
	size_t dir = strrchr(src, '/') ? (size_t)(strrchr(src, '/') - src) : 0;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%.*s%ssdp/%s.%s", (int)dir, src, dir ? "/" : "", name, ext);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

struct want_stream {
	const char	*media;
	uint16_t	port, rtcp_port;
	const char	*addr;
	int		family;
	enum sdp_dir	dir;
	bool		hold, mux;
	uint32_t	clock;
};

struct corpus_case {
	const char		*name;
	const char		*relay;
	int			nstreams;
	struct want_stream	s[3];
};

static const struct corpus_case corpus[] = {
	{ "phone_audio", "203.0.113.50", 1,
	  { { "audio", 11780, 11781, "192.168.1.34", AF_INET, SDP_SENDRECV, false, false, 8000 } } },
	{ "audio_video", "203.0.113.50", 2,
	  { { "audio", 2222, 2223, "10.0.5.21", AF_INET, SDP_SENDRECV, false, false, 8000 },
	    { "video", 2224, 2225, "10.0.5.21", AF_INET, SDP_SENDRECV, false, false, 90000 } } },
	{ "rtcp_mux", "203.0.113.50", 1,
	  { { "audio", 40000, 40000, "172.16.0.9", AF_INET, SDP_SENDRECV, false, true, 48000 } } },
	{ "ipv6", "2001:db8:ffff::1", 1,
	  { { "audio", 5004, 5005, "2001:db8::10", AF_INET6, SDP_SENDRECV, false, false, 8000 } } },
	{ "hold_sendonly", "203.0.113.50", 1,
	  { { "audio", 11780, 11781, "192.168.1.34", AF_INET, SDP_SENDONLY, false, false, 8000 } } },
	{ "hold_inactive", "203.0.113.50", 1,
	  { { "audio", 11780, 11781, "192.168.1.34", AF_INET, SDP_INACTIVE, false, false, 8000 } } },
	{ "hold_c0", "203.0.113.50", 1,
	  { { "audio", 11780, 11781, "0.0.0.0", AF_INET, SDP_SENDRECV, true, false, 8000 } } },
	{ "crypto", "203.0.113.50", 1,
	  { { "audio", 16384, 16385, "198.51.100.7", AF_INET, SDP_SENDRECV, false, false, 8000 } } },
	{ "ice", "203.0.113.50", 1,
	  { { "audio", 51372, 51373, "203.0.113.4", AF_INET, SDP_SENDRECV, false, false, 48000 } } },
	{ "rejected", "203.0.113.50", 2,
	  { { "audio", 7078, 7079, "10.1.1.1", AF_INET, SDP_SENDRECV, false, false, 8000 },
	    { "video", 0, 0, "10.1.1.1", AF_INET, SDP_SENDRECV, false, false, 90000 } } },
	{ "media_level_c", "203.0.113.50", 1,
	  { { "audio", 30000, 30011, "10.9.9.10", AF_INET, SDP_RECVONLY, false, false, 8000 } } },
	{ "webrtc", "203.0.113.50", 2,
	  { { "audio", 54400, 9, "198.51.100.23", AF_INET, SDP_SENDRECV, false, true, 48000 },
	    { "video", 54400, 9, "198.51.100.23", AF_INET, SDP_SENDRECV, false, true, 90000 } } },
	{ "volte_ipv6", "2001:db8:ffff::1", 1,
	  { { "audio", 1234, 1235, "2001:db8:20:1a::3c", AF_INET6, SDP_SENDRECV, false, false,
	      16000 } } },
	{ "t38", "203.0.113.50", 2,
	  { { "audio", 0, 0, "10.20.0.15", AF_INET, SDP_SENDRECV, false, false, 8000 },
	    { "image", 17004, 17005, "10.20.0.15", AF_INET, SDP_SENDRECV, false, false, 0 } } },
	{ "rejected_ice", "203.0.113.50", 2,
	  { { "audio", 49170, 49171, "192.168.7.5", AF_INET, SDP_SENDRECV, false, false, 8000 },
	    { "video", 0, 0, "192.168.7.6", AF_INET, SDP_SENDRECV, false, false, 90000 } } },
	{ "hold_c0_sendonly", "203.0.113.50", 1,
	  { { "audio", 18450, 18451, "0.0.0.0", AF_INET, SDP_SENDONLY, true, false, 8000 } } },
	{ "mixed_levels", "203.0.113.50", 2,
	  { { "audio", 60000, 60001, "10.40.0.10", AF_INET, SDP_SENDONLY, false, false, 8000 },
	    { "video", 60002, 60003, "10.40.0.11", AF_INET, SDP_SENDRECV, false, false, 90000 } } },
};

static void check_case(const struct corpus_case *c)
{
	struct sdp_rewrite rw = { .addr = c->relay, .ports = { 35000, 35002, 35004 } };
	char err[128] = "", *in, *want, *out = NULL;
	struct sdp_info info;
	size_t len, wlen;
	int i;

	print_message("  %s\n", c->name);
	in = slurp(c->name, "sdp", &len);
	assert_non_null(in);
	assert_int_equal(sdp_parse(in, len, &info, err, sizeof(err)), 0);
	assert_int_equal(info.nstreams, c->nstreams);
	for (i = 0; i < c->nstreams; i++) {
		const struct want_stream *w = &c->s[i];
		const struct sdp_stream *s = &info.streams[i];

		assert_string_equal(s->media, w->media);
		assert_int_equal(s->port, w->port);
		assert_int_equal(s->rtcp_port, w->rtcp_port);
		assert_string_equal(s->addr, w->addr);
		assert_int_equal(s->family, w->family);
		assert_int_equal(s->dir, w->dir);
		assert_int_equal(s->hold, w->hold);
		assert_int_equal(s->rtcp_mux, w->mux);
		assert_int_equal(s->clock_rate, w->clock);
	}
	assert_int_equal(sdp_rewrite(in, len, &rw, &out, err, sizeof(err)), 0);
	want = slurp(c->name, "out", &wlen);
	if (!want || strcmp(out, want)) {
		print_message("--- rewritten %s:\n%s--- expected:\n%s", c->name, out,
			      want ? want : "(no .out file)\n");
		fail();
	}
	free(want);
	free(out);
	free(in);
}

static void test_corpus(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++)
		check_case(&corpus[i]);
}

static void expect_bad(const char *body, const char *reason)
{
	struct sdp_rewrite rw = { .addr = "192.0.2.1" };
	struct sdp_info info;
	char err[128] = "", *out = NULL;

	assert_int_equal(sdp_parse(body, strlen(body), &info, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, reason);
	err[0] = '\0';
	assert_int_equal(sdp_rewrite(body, strlen(body), &rw, &out, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, reason);
	assert_null(out);
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
#define MEDIA HEAD "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

static void test_malformed(void **state)
{
	(void)state;
	expect_bad("", "empty SDP or a NUL byte in it");
	expect_bad("hello world", "SDP does not parse");
	expect_bad("v=0\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "SDP does not parse");
	expect_bad("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		   "m=audio: no c= line for the stream");
	expect_bad("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
		   "m=audio 70000 RTP/AVP 0\r\n", "m=: bad port '70000'");
	expect_bad(HEAD "c=IN IP4 10.0.0.300\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		   "c=: bad or multicast address '10.0.0.300'");
	expect_bad(MEDIA "a=rtcp:x\r\n", "a=rtcp: bad value 'x'");
	/* What libosip2 5.3 lets through and the relay must not act on. */
	expect_bad(HEAD "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP\r\n",
		   "m=audio: no format");
	expect_bad(HEAD "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio +4000 RTP/AVP 0\r\n",
		   "m=: bad port '+4000'");
	expect_bad(HEAD "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000/2 RTP/AVP 0\r\n",
		   "m=: port counts ('/2') are not supported");
	expect_bad(HEAD "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 65535 RTP/AVP 0\r\n",
		   "m=audio: no port left for RTCP above 65535");
	expect_bad(HEAD "c=IN IP4 224.2.1.1/127\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		   "c=: bad or multicast address '224.2.1.1'");
	expect_bad(HEAD "c=IN IP6 ff0e::101\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		   "c=: bad or multicast address 'ff0e::101'");
	expect_bad(HEAD "c=IN IP4 pbx.example.com\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		   "c=: bad or multicast address 'pbx.example.com'");
	expect_bad(HEAD "c=IN IP6 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		   "c=: bad or multicast address '10.0.0.1'");
	expect_bad(MEDIA "a=rtcp:0\r\n", "a=rtcp: bad value '0'");
	expect_bad(MEDIA "a=rtcp:4001 IN\r\n", "a=rtcp: bad value '4001 IN'");
	expect_bad(MEDIA "a=rtcp:4001 IN IP4 garbage\r\n",
		   "a=rtcp: bad or multicast address 'garbage'");
	expect_bad(MEDIA "a=rtcp:4001 IN IP6 2001:db8::1\r\n",
		   "a=rtcp: address family differs from c= ('2001:db8::1')");
	expect_bad(HEAD "c=IN IP4 10.0.0.1\r\nt=0 0\r\n"
		   "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\nm=audio 4004 RTP/AVP 0\r\n"
		   "m=audio 4006 RTP/AVP 0\r\nm=audio 4008 RTP/AVP 0\r\nm=audio 4010 RTP/AVP 0\r\n"
		   "m=audio 4012 RTP/AVP 0\r\nm=audio 4014 RTP/AVP 0\r\nm=audio 4016 RTP/AVP 0\r\n",
		   "more than 8 m= lines");
}

/*
 * Hold as c=:: (the IPv6 form of c=0.0.0.0): recognised, and left alone
 * by the rewrite; the live stream next to it is rewritten.
 */
static void test_ipv6_hold(void **state)
{
	static const char body[] = "v=0\r\no=- 1 2 IN IP6 2001:db8::10\r\ns=-\r\n"
				   "c=IN IP6 ::\r\nt=0 0\r\nm=audio 5004 RTP/AVP 8\r\n"
				   "m=video 5006 RTP/AVP 96\r\nc=IN IP6 2001:db8::11\r\n";
	struct sdp_rewrite rw = { .addr = "2001:db8:ffff::1", .ports = { 35000, 35002 } };
	struct sdp_info info;
	char err[128], *out = NULL;

	(void)state;
	assert_int_equal(sdp_parse(body, strlen(body), &info, err, sizeof(err)), 0);
	assert_true(info.streams[0].hold);
	assert_int_equal(info.streams[0].family, AF_INET6);
	assert_false(info.streams[1].hold);
	assert_int_equal(sdp_rewrite(body, strlen(body), &rw, &out, err, sizeof(err)), 0);
	assert_string_equal(out, "v=0\r\no=- 1 2 IN IP6 2001:db8:ffff::1\r\ns=-\r\n"
				 "c=IN IP6 ::\r\nt=0 0\r\nm=audio 35000 RTP/AVP 8\r\n"
				 "m=video 35002 RTP/AVP 96\r\nc=IN IP6 2001:db8:ffff::1\r\n");
	free(out);
}

/* What each RTCP multiplexing mode makes of a muxed and of a plain m= line. */
static void test_rewrite_mux(void **state)
{
	static const char head[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
				   "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
	static const struct {
		enum sdp_mux_out	mux;
		const char		*in, *out;	/* the attributes */
	} rows[] = {
		{ SDP_MUX_KEEP, "a=rtcp:4000\r\na=rtcp-mux\r\n",
		  "a=rtcp:30000 IN IP4 10.9.9.9\r\na=rtcp-mux\r\n" },
		{ SDP_MUX_KEEP, "a=rtcp:4001\r\n", "a=rtcp:30001 IN IP4 10.9.9.9\r\n" },
		{ SDP_MUX_OFF, "a=rtcp:4000\r\na=rtcp-mux\r\n", "a=rtcp:30001 IN IP4 10.9.9.9\r\n" },
		{ SDP_MUX_OFF, "a=rtcp-mux\r\n", "" },
		{ SDP_MUX_OFFER, "a=rtcp:4000\r\na=rtcp-mux\r\n",
		  "a=rtcp:30001 IN IP4 10.9.9.9\r\na=rtcp-mux\r\n" },
		{ SDP_MUX_OFFER, "a=rtcp:4001\r\n",
		  "a=rtcp:30001 IN IP4 10.9.9.9\r\na=rtcp-mux\r\n" },
		{ SDP_MUX_OFFER, "", "a=rtcp-mux\r\n" },
		{ SDP_MUX_ONLY, "a=rtcp:4001\r\n",
		  "a=rtcp:30000 IN IP4 10.9.9.9\r\na=rtcp-mux\r\n" },
		{ SDP_MUX_ONLY, "a=rtcp-mux\r\na=rtcp:4001\r\n",
		  "a=rtcp-mux\r\na=rtcp:30000 IN IP4 10.9.9.9\r\n" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sdp_rewrite rw = { .addr = "10.9.9.9", .ports = { 30000 },
					  .mux = { rows[i].mux } };
		char body[512], want[512], err[128], *out = NULL;

		snprintf(body, sizeof(body), "%s%s", head, rows[i].in);
		snprintf(want, sizeof(want), "v=0\r\no=- 1 1 IN IP4 10.9.9.9\r\ns=-\r\n"
			 "c=IN IP4 10.9.9.9\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n%s",
			 rows[i].out);
		assert_int_equal(sdp_rewrite(body, strlen(body), &rw, &out, err, sizeof(err)), 0);
		assert_string_equal(out, want);
		free(out);
	}
}

/* The caller's mistakes: no relay address, or no relay port for a live stream. */
static void test_rewrite_needs(void **state)
{
	static const char body[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
				   "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
				   "m=video 0 RTP/AVP 31\r\nm=video 4002 RTP/AVP 31\r\n";
	struct sdp_rewrite rw = { .ports = { 30000 } };
	char err[128], *out = NULL;

	(void)state;
	assert_int_equal(sdp_rewrite(body, strlen(body), &rw, &out, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no relay address to rewrite to");
	assert_null(out);
	rw.addr = "192.0.2.1";
	assert_int_equal(sdp_rewrite(body, strlen(body), &rw, &out, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "m=video: no relay port for the stream");
	assert_null(out);
	rw.ports[2] = 30002;	/* the rejected one in between needs none */
	assert_int_equal(sdp_rewrite(body, strlen(body), &rw, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "m=audio 30000 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n"
				    "m=video 30002 RTP/AVP 31\r\n"));
	free(out);
}

/* ice = keep: the candidates go through as they came. */
static void test_keep_ice(void **state)
{
	struct sdp_rewrite rw = { .addr = "203.0.113.50", .ports = { 35000 }, .keep_ice = true };
	char err[128], *in, *out = NULL;
	size_t len;

	(void)state;
	in = slurp("ice", "sdp", &len);
	assert_non_null(in);
	assert_int_equal(sdp_rewrite(in, len, &rw, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "a=candidate:1 1 UDP 2130706431 192.168.0.4 51372 typ host"));
	assert_non_null(strstr(out, "a=ice-ufrag:F7gI"));
	assert_non_null(strstr(out, "a=ice-options:trickle"));
	assert_non_null(strstr(out, "m=audio 35000 "));
	free(out);
	free(in);
}

/* Occurrences of needle in hay. */
static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void before(const char *hay, const char *needle, const char *limit)
{
	const char *p = strstr(hay, needle);

	assert_non_null(p);
	assert_true(p < limit);
}

/*
 * ICE=force: the peer's ICE goes (keep_ice or not), the relay's comes:
 * ice-lite, its credentials at session level, its host candidates per
 * live m= line, RTCP's at port + 1.
 */
static void test_ice_force(void **state)
{
	struct sdp_rewrite rw = { .addr = "203.0.113.50", .ports = { 35000 }, .keep_ice = true,
				  .ice_ufrag = "Ab3+", .ice_pwd = "0123456789abcdefghij+/" };
	char err[128], *in, *out = NULL, *m;
	size_t len;

	(void)state;
	in = slurp("ice", "sdp", &len);
	assert_non_null(in);
	assert_int_equal(sdp_rewrite(in, len, &rw, &out, err, sizeof(err)), 0);
	assert_null(strstr(out, "192.168.0.4"));
	assert_null(strstr(out, "F7gI"));
	assert_null(strstr(out, "srflx"));
	assert_null(strstr(out, "a=ice-options"));
	assert_null(strstr(out, "a=end-of-candidates"));
	m = strstr(out, "m=audio 35000 ");
	assert_non_null(m);
	/* Session level: before the first m=. */
	before(out, "a=ice-lite\r\n", m);
	before(out, "a=ice-ufrag:Ab3+\r\n", m);
	before(out, "a=ice-pwd:0123456789abcdefghij+/\r\n", m);
	assert_int_equal(count(out, "a=ice-ufrag:"), 1);
	assert_true(strstr(m, "a=candidate:1 1 UDP 2130706431 203.0.113.50 35000 typ host\r\n") != NULL);
	assert_true(strstr(m, "a=candidate:1 2 UDP 2130706430 203.0.113.50 35001 typ host\r\n") != NULL);
	assert_int_equal(count(out, "a=candidate:"), 2);
	free(out);
	free(in);

	/* rtcp-mux: component 1 only. */
	in = slurp("rtcp_mux", "sdp", &len);
	assert_non_null(in);
	assert_int_equal(sdp_rewrite(in, len, &rw, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "a=candidate:1 1 UDP 2130706431 203.0.113.50 35000 typ host"));
	assert_int_equal(count(out, "a=candidate:"), 1);
	free(out);
	free(in);

	/* A rejected stream gets none; the live one its two. */
	in = slurp("rejected_ice", "sdp", &len);
	assert_non_null(in);
	rw.ports[0] = 35000;
	rw.ports[1] = 35002;
	assert_int_equal(sdp_rewrite(in, len, &rw, &out, err, sizeof(err)), 0);
	assert_int_equal(count(out, "a=candidate:"), 2);
	assert_int_equal(count(out, "a=ice-lite"), 1);
	free(out);
	free(in);
}

/* Bare LF, as some phones send; and the mix that overran libosip2 5.3. */
static void test_line_endings(void **state)
{
	static const char lf[] = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\n"
				 "t=0 0\nm=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU/8000";
	static const char mixed[] = "v=0\r\no=- 77 2 IN IP4 10.1.1.1\r\ns=-\r\n"
				    "c=IN IP4 10.1.1.1\r\nt=0 0\r\nm]audio 7078 RT:96\r\n"
				    "m=audio 7078 RTP/AVP 0\r\na=rtpmap:0\r\nm\r\n"
				    "m=video 0 RTP/A\n";
	struct sdp_rewrite rw = { .addr = "192.0.2.1", .ports = { 30000 } };
	struct sdp_info info;
	char err[128], *out = NULL;

	(void)state;
	assert_int_equal(sdp_parse(lf, strlen(lf), &info, err, sizeof(err)), 0);
	assert_int_equal(info.streams[0].port, 4000);
	assert_int_equal(sdp_rewrite(lf, strlen(lf), &rw, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"));
	free(out);
	/* Whatever libosip2 makes of it, under ASan this must not overrun. */
	sdp_parse(mixed, strlen(mixed), &info, err, sizeof(err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_keep_ice),
		cmocka_unit_test(test_ice_force),
		cmocka_unit_test(test_ipv6_hold),
		cmocka_unit_test(test_rewrite_needs),
		cmocka_unit_test(test_rewrite_mux),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
