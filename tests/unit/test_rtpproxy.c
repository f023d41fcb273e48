// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rtpproxy protocol in process: version and capability probes as
 * Kamailio sends them, a call set up with U and L between two phones on
 * loopback whose RTP then flows through the relay (the userspace data
 * path stands in for the kernel), Q counting it, D ending it; modifiers
 * accepted, every error code the parser gives, retransmissions answered
 * from the cache, and the UDP and unix sockets themselves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/loop.h"
#include "ctl/rtpproxy.h"
#include "dp/dp.h"
#include "dp/dp_impl.h"
#include "media/session.h"

#include "fixtures.h"

struct fx {
	struct loop		*loop;
	struct dp		*dp;
	struct media_ctx	m;
	struct rtpproxy		rp;
	char			out[2048];
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(loop_new(&f.loop), 0);
	assert_int_equal(dp_user_open(&f.dp), 0);
	assert_int_equal(media_init(&f.m, f.loop, f.dp, "127.0.0.1", 22400, 22499,
				    MEDIA_RELATCH_SSRC, 60, 3600), 0);
	assert_int_equal(rtpproxy_open(&f.rp, f.loop, &f.m, NULL, 0, NULL), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rtpproxy_close(&f->rp);
	assert_int_equal(f->m.nsessions, 0);
	media_fini(&f->m);
	dp_close(f->dp, false);
	loop_free(f->loop);
	return 0;
}

/* Sends cmd (with its cookie) and returns the reply, cookie and newline checked. */
static const char *cmd(struct fx *f, const char *text)
{
	char *reply, cookie[64];
	const char *sp = strchr(text, ' ');
	size_t rlen, clen;

	rtpproxy_handle(&f->rp, text, strlen(text), &reply, &rlen);
	assert_non_null(reply);
	assert_true(sp != NULL);
	clen = (size_t)(sp - text);
	memcpy(cookie, text, clen);
	cookie[clen] = ' ';
	assert_true(rlen > clen + 1);
	assert_memory_equal(reply, cookie, clen + 1);
	assert_int_equal(reply[rlen - 1], '\n');
	snprintf(f->out, sizeof(f->out), "%.*s", (int)(rlen - clen - 2), reply + clen + 1);
	free(reply);
	return f->out;
}

static void test_version(void **state)
{
	struct fx *f = *state;

	assert_string_equal(cmd(f, "1_0 V"), "20040107");
	assert_string_equal(cmd(f, "1_1 VF 20040107"), "1");
	assert_string_equal(cmd(f, "1_2 VF 20050322"), "1");
	assert_string_equal(cmd(f, "1_3 VF 20071116"), "1");
	assert_string_equal(cmd(f, "1_4 VF 20080403"), "1");
	assert_string_equal(cmd(f, "1_5 vf 20081102"), "1");
	assert_string_equal(cmd(f, "1_6 VF 20081224"), "0");	/* no timeout notifications */
	assert_string_equal(cmd(f, "1_7 VF 20150330"), "0");
	assert_string_equal(cmd(f, "1_8 VF"), "E1");
	assert_string_equal(cmd(f, "1_9 VX 1"), "E2");
	assert_string_equal(cmd(f, "1_10 v"), "20040107");
}

/* [control] max_sessions: the next session is refused as out of ports (E71). */
static void test_limit(void **state)
{
	struct fx *f = *state;

	f->rp.max_sessions = 1;
	assert_non_null(strstr(cmd(f, "9_1 U call-a 10.1.1.1 4000 tag-a"), " 127.0.0.1"));
	assert_string_equal(cmd(f, "9_2 U call-b 10.1.1.1 4002 tag-b"), "E71");
	/* The first session's other side is no new session: still answered. */
	assert_non_null(strstr(cmd(f, "9_3 L call-a 10.2.2.2 5000 tag-a tag-z"), " 127.0.0.1"));
	assert_string_equal(cmd(f, "9_4 D call-a tag-a"), "0");
	assert_non_null(strstr(cmd(f, "9_5 U call-b 10.1.1.1 4002 tag-b"), " 127.0.0.1"));
	assert_string_equal(cmd(f, "9_6 D call-b tag-b"), "0");
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	char *reply;
	size_t rlen;

	assert_string_equal(cmd(f, "2_0 Y foo"), "E0");
	assert_string_equal(cmd(f, "2_1 R c1 f t"), "E0");	/* recording: not a relay's */
	assert_string_equal(cmd(f, "2_2 U c1 127.0.0.1"), "E1");
	assert_string_equal(cmd(f, "2_3 L c1 127.0.0.1 4000 f"), "E1");
	assert_string_equal(cmd(f, "2_4 D c1"), "E1");
	assert_string_equal(cmd(f, "2_5 Q c1 f"), "E1");
	assert_string_equal(cmd(f, "2_6 U c1 300.1.1.1 4000 f"), "E37");
	assert_string_equal(cmd(f, "2_7 U c1 127.0.0.1 70000 f"), "E37");
	assert_string_equal(cmd(f, "2_8 U c1 127.0.0.1 4x f"), "E37");
	assert_string_equal(cmd(f, "2_9 U6 c1 127.0.0.1 4000 f"), "E37");
	assert_string_equal(cmd(f, "2_10 Uq c1 127.0.0.1 4000 f"), "E35");
	assert_string_equal(cmd(f, "2_11 UZ c1 127.0.0.1 4000 f"), "E13");
	assert_string_equal(cmd(f, "2_12 UZ1000 c1 127.0.0.1 4000 f"), "E13");
	assert_string_equal(cmd(f, "2_13 Uc c1 127.0.0.1 4000 f"), "E14");
	assert_string_equal(cmd(f, "2_14 Dx c1 f"), "E8");
	assert_string_equal(cmd(f, "2_15 Qx c1 f t"), "E9");
	assert_string_equal(cmd(f, "2_16 Ix"), "E18");
	assert_string_equal(cmd(f, "2_17 D nosuch f t"), "E50");
	assert_string_equal(cmd(f, "2_18 Q nosuch f t"), "E50");
	/* rtpproxy answers a lookup of an unknown session with port 0. */
	assert_string_equal(cmd(f, "2_19 L nosuch 127.0.0.1 4000 f t"), "0");
	/* IPv6 asked of a relay with no IPv6 address. */
	assert_string_equal(cmd(f, "2_20 U6 c1 ::1 4000 f"), "E36");
	assert_string_equal(cmd(f, "2_21 "), "E1");
	assert_int_equal(f->m.nsessions, 0);	/* none of these left a session */

	/* Nothing to answer without a cookie; truncated and odd bytes parse. */
	rtpproxy_handle(&f->rp, "", 0, &reply, &rlen);
	assert_int_equal(rlen, 0);
	rtpproxy_handle(&f->rp, "   \n", 4, &reply, &rlen);
	assert_int_equal(rlen, 0);
	rtpproxy_handle(&f->rp, "3_0 U c1 127.0\0.0.1 4000 f", 26, &reply, &rlen);
	assert_non_null(reply);
	assert_string_equal(reply, "3_0 E1\n");
	free(reply);
}

/* ---- a call between two phones ---- */

/* Datagrams waiting on p, and the source port of the last one. */
static int drain(struct phone *p, uint16_t *src)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	struct sockaddr_in from;
	uint8_t buf[512];
	int n = 0;

	while (poll(&pfd, 1, 50) == 1) {
		socklen_t len = sizeof(from);

		if (recvfrom(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) < 0)
			break;
		*src = ntohs(from.sin_port);
		n++;
	}
	return n;
}

static void test_call(void **state)
{
	struct fx *f = *state;
	struct phone a, b;
	unsigned port_b, port_a;
	char line[256], addr[64];
	uint16_t src = 0;
	int i;

	phone_open(&a);
	phone_open(&b);
	/* The offer, as Kamailio sends it: codecs, the media number on the tags. */
	snprintf(line, sizeof(line), "k_1 UAc8,0,101 call-1@x 127.0.0.1 %u ftag;1", a.port);
	assert_int_equal(sscanf(cmd(f, line), "%u %63s", &port_b, addr), 2);
	assert_string_equal(addr, "127.0.0.1");
	/* A retransmission: the same answer, no second session. */
	assert_string_equal(cmd(f, line), f->out);
	assert_int_equal(f->m.nsessions, 1);
	snprintf(line, sizeof(line), "k_2 LZ20c8 call-1@x 127.0.0.1 %u ftag;1 ttag;1", b.port);
	assert_int_equal(sscanf(cmd(f, line), "%u %63s", &port_a, addr), 2);
	assert_int_not_equal(port_a, port_b);
	assert_int_equal(f->m.nsessions, 1);

	/* Media both ways, each phone hearing the relay's port of its own side. */
	for (i = 0; i < 10; i++) {
		phone_rtp(&a, (uint16_t)port_a, 0xa, (uint16_t)i);
		phone_rtp(&b, (uint16_t)port_b, 0xb, (uint16_t)i);
		spin(f->loop, 5);
	}
	spin(f->loop, 50);
	assert_int_equal(drain(&b, &src), 10);
	assert_int_equal(src, port_b);
	assert_int_equal(drain(&a, &src), 10);
	assert_int_equal(src, port_a);

	assert_string_equal(cmd(f, "k_3 Q call-1@x ftag;1 ttag;1"), "60 10 10 20 0");
	assert_string_equal(cmd(f, "k_4 Qv call-1@x ftag;1 ttag;1"),
			    "ttl=60 npkts_ina=10 npkts_ino=10 nrelayed=20 ndropped=0");
	assert_string_equal(cmd(f, "k_5 Q call-1@x ftag;1 ttag;1 npkts_ino bogus ttl"),
			    "npkts_ino=10 ttl=60");
	/* From the callee's side the directions swap. */
	phone_rtp(&a, (uint16_t)port_a, 0xa, 10);
	spin(f->loop, 20);
	drain(&b, &src);
	assert_string_equal(cmd(f, "k_6 Q call-1@x ttag;1 ftag;1"), "60 10 11 21 0");
	assert_non_null(strstr(cmd(f, "k_7 I"), "active sessions: 1\n"));
	assert_non_null(strstr(cmd(f, "k_8 Ib"), "sessions created: 1\n"));

	/* A re-INVITE from the callee: U from its tag, L from the caller's. */
	snprintf(line, sizeof(line), "k_9 U call-1@x 127.0.0.1 %u ttag;1 ftag;1", b.port);
	assert_int_equal(sscanf(cmd(f, line), "%u", &i), 1);
	assert_int_equal((unsigned)i, port_a);
	snprintf(line, sizeof(line), "k_10 L call-1@x 127.0.0.1 %u ttag;1 ftag;1", a.port);
	assert_int_equal(sscanf(cmd(f, line), "%u", &i), 1);
	assert_int_equal((unsigned)i, port_b);
	assert_int_equal(f->m.nsessions, 1);

	assert_string_equal(cmd(f, "k_11 D call-1@x ftag ttag"), "0");
	assert_int_equal(f->m.nsessions, 0);
	assert_string_equal(cmd(f, "k_12 D call-1@x ftag ttag"), "E50");
	close(a.fd);
	close(b.fd);
}

/* Two media numbers are two sessions; D without one ends both, X ends all. */
static void test_streams(void **state)
{
	struct fx *f = *state;

	unsigned p1, p2;

	assert_int_equal(sscanf(cmd(f, "m_1 U c2 127.0.0.1 4000 ft;1"), "%u", &p1), 1);
	assert_int_equal(sscanf(cmd(f, "m_2 U c2 127.0.0.1 4002 ft;2 tt;2"), "%u", &p2), 1);
	assert_int_not_equal(p1, p2);
	cmd(f, "m_3 U c3 127.0.0.1 4004 other");
	assert_int_equal(f->m.nsessions, 3);
	/* Port 0: the callee is not ready to receive yet; the relay still answers. */
	assert_non_null(strstr(cmd(f, "m_4 L c2 127.0.0.1 0 ft;1 tt;1"), " 127.0.0.1"));
	assert_string_equal(cmd(f, "m_5 D c2 ft;2"), "0");
	assert_int_equal(f->m.nsessions, 2);
	assert_string_equal(cmd(f, "m_6 D c2 ft tt"), "0");
	assert_int_equal(f->m.nsessions, 1);
	assert_string_equal(cmd(f, "m_7 X"), "0");
	assert_int_equal(f->m.nsessions, 0);
}

/* What sluiced persists comes back as the same session. */
static void test_adopt(void **state)
{
	struct fx *f = *state;
	struct media_session *s;
	void *first;

	cmd(f, "p_1 U c9 127.0.0.1 4000 ft;1");
	s = f->m.sessions;
	assert_true(rtpproxy_owns(s->owner_data));
	assert_string_equal(s->owner_data, "rtpproxy\nc9\nft\n\n1");
	/* Handed from one rtpproxy context to another, as a restart does. */
	first = f->rp.sessions;		/* the first forgets it without destroying it */
	f->rp.sessions = NULL;
	free(first);
	rtpproxy_reset(&f->rp);
	rtpproxy_adopt(s, s->owner_data, &f->rp);
	assert_string_equal(cmd(f, "p_2 Q c9 ft;1 tt;1"), "60 0 0 0 0");
	assert_string_equal(cmd(f, "p_3 D c9 ft;1"), "0");
	assert_false(rtpproxy_owns("ng\nc9\nft\n"));
	/* Owner data that is not ours is dropped with its session. */
	s = media_session_new(&f->m, "x", NULL, NULL);
	rtpproxy_adopt(s, "rtpproxy\n", &f->rp);
	assert_int_equal(f->m.nsessions, 0);
}

/* The sockets: UDP with the cookie, the unix stream socket without. */
static void test_sockets(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t alen = sizeof(a);
	char path[64], buf[256];
	int u, s;
	ssize_t n;

	snprintf(path, sizeof(path), "/tmp/sluice-rtpp-%d.sock", (int)getpid());
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rtpproxy_close(&f->rp);
	assert_int_equal(rtpproxy_open(&f->rp, f->loop, &f->m, (struct sockaddr *)&a, sizeof(a),
				       path), 0);
	getsockname(f->rp.fd, (struct sockaddr *)&a, &alen);

	u = socket(AF_INET, SOCK_DGRAM, 0);
	sendto(u, "77_1 V", 6, 0, (struct sockaddr *)&a, sizeof(a));
	spin(f->loop, 20);
	n = recv(u, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "77_1 20040107\n");
	close(u);

	strcpy(sun.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(write(s, "VF 20050322", 11), 11);
	spin(f->loop, 20);
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "1\n");
	assert_int_equal(write(s, "U c 127.0.0.1 4000 f\nD c f\n", 27), 27);
	spin(f->loop, 20);
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, " 127.0.0.1\n0\n"));
	close(s);
	spin(f->loop, 20);
	assert_int_equal(f->rp.nconns, 0);
	rtpproxy_close(&f->rp);
	assert_int_equal(access(path, F_OK), -1);	/* the socket file goes with it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sockets, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
