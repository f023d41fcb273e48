// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SIP transports over real sockets on loopback: UDP both ways, TCP
 * framing (two messages in one segment, one message in pieces), the CRLF
 * keepalive pong, a message beyond the limit and one with a broken
 * Content-Length, answers down the connection the peer opened, an
 * outbound connection when there is none, idle connections reaped, and
 * "[::]" listening on both families.
 */
#include <errno.h>
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
#include <poll.h>
#include <signal.h>

#include "core/loop.h"
#include "sip/transport.h"

#include "fixtures.h"

#define MAXMSG 8

static struct {
	char		text[MAXMSG][256];
	size_t		len[MAXMSG];
	unsigned	flags[MAXMSG];
	struct sip_peer	peer[MAXMSG];
	int		n;
} rx;

static void on_rx(void *arg, const struct sip_peer *from, char *buf, size_t len, unsigned flags)
{
	(void)arg;
	if (rx.n < MAXMSG) {
		size_t n = len < sizeof(rx.text[0]) - 1 ? len : sizeof(rx.text[0]) - 1;

		memcpy(rx.text[rx.n], buf, n);
		rx.text[rx.n][n] = '\0';
		rx.len[rx.n] = len;
		rx.flags[rx.n] = flags;
		rx.peer[rx.n] = *from;
	}
	rx.n++;
}

#define MSG1 "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\n" \
	     "Call-ID: 1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
#define MSG2 "MESSAGE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK2\r\n" \
	     "Call-ID: 2\r\nCSeq: 1 MESSAGE\r\nContent-Length: 5\r\n\r\nhello"

struct fx {
	struct loop		*loop;
	struct sip_transport	tp;
	struct sockaddr_in	at;	/* the transport's address */
};

static int setup(void **state)
{
	static struct fx f;
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len;

	memset(&f, 0, sizeof(f));
	memset(&rx, 0, sizeof(rx));
	if (loop_new(&f.loop) ||
	    sip_transport_open(&f.tp, f.loop, (struct sockaddr *)&any, sizeof(any), on_rx, NULL))
		return -1;
	memcpy(&f.at, sip_transport_local(&f.tp, 0, &len), sizeof(f.at));
	if (!f.at.sin_port)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sip_transport_close(&f->tp);
	loop_free(f->loop);
	return 0;
}

static int tcp_client(const struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)to, sizeof(*to)), 0);
	return fd;
}

/* What arrived on fd within ms, as text ("" for nothing, "EOF" for a close or reset). */
static const char *read_some(int fd, int ms, char *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, ms) != 1)
		return buf;
	n = recv(fd, buf, size - 1, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return "EOF";	/* closed (a reset when our bytes were left unread) */
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_udp(void **state)
{
	struct fx *f = *state;
	int c = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	char buf[512];

	assert_int_equal(sendto(c, MSG1, strlen(MSG1), 0, (struct sockaddr *)&f->at,
				sizeof(f->at)), (ssize_t)strlen(MSG1));
	getsockname(c, (struct sockaddr *)&me, &len);
	spin(f->loop, 50);
	assert_int_equal(rx.n, 1);
	assert_string_equal(rx.text[0], MSG1);
	assert_int_equal(rx.peer[0].proto, SIP_UDP);
	assert_int_equal(((struct sockaddr_in *)&rx.peer[0].addr)->sin_port, me.sin_port);
	assert_int_equal(sip_transport_send(&f->tp, &rx.peer[0], "pong", 4), 0);
	assert_string_equal(read_some(c, 500, buf, sizeof(buf)), "pong");
	close(c);
}

static void test_tcp_framing(void **state)
{
	struct fx *f = *state;
	int c = tcp_client(&f->at);
	char buf[512];
	const char *both = MSG1 "\r\n\r\n" MSG2;

	assert_int_equal(write(c, both, strlen(both)), (ssize_t)strlen(both));
	spin(f->loop, 50);
	assert_int_equal(rx.n, 2);
	assert_string_equal(rx.text[0], MSG1);
	assert_string_equal(rx.text[1], MSG2);
	assert_int_equal(rx.peer[0].proto, SIP_TCP);
	assert_string_equal(read_some(c, 500, buf, sizeof(buf)), "\r\n");	/* the pong */

	/* One message in three pieces, with the loop running in between. */
	assert_int_equal(write(c, MSG2, 20), 20);
	spin(f->loop, 20);
	assert_int_equal(write(c, MSG2 + 20, 60), 60);
	spin(f->loop, 20);
	assert_int_equal(rx.n, 2);
	assert_int_equal(write(c, MSG2 + 80, strlen(MSG2) - 80), (ssize_t)strlen(MSG2) - 80);
	spin(f->loop, 20);
	assert_int_equal(rx.n, 3);
	assert_string_equal(rx.text[2], MSG2);

	/* An answer goes down this connection, not a new one. */
	assert_int_equal(sip_transport_send(&f->tp, &rx.peer[0], "SIP/2.0 200 OK\r\n\r\n", 18), 0);
	assert_string_equal(read_some(c, 500, buf, sizeof(buf)), "SIP/2.0 200 OK\r\n\r\n");
	close(c);
}

static void test_tcp_limits(void **state)
{
	struct fx *f = *state;
	char buf[512], *big;
	int c = tcp_client(&f->at);
	size_t n;

	/* Content-Length beyond SIP_MAX_MSG: handed up flagged, then closed. */
	big = malloc(SIP_MAX_MSG + 1024);
	n = (size_t)snprintf(big, 256, "MESSAGE sip:a SIP/2.0\r\nVia: SIP/2.0/TCP x;branch=z9hG4bK3\r\n"
			     "Content-Length: %d\r\n\r\n", SIP_MAX_MSG + 500);
	memset(big + n, 'x', SIP_MAX_MSG + 500);
	assert_true(write(c, big, n + SIP_MAX_MSG + 500) > 0);
	spin(f->loop, 100);
	assert_int_equal(rx.n, 1);
	assert_true(rx.flags[0] & SIP_RX_OVERSIZE);
	assert_int_equal(rx.len[0], n);				/* the header section */
	{
		const char *got;

		do	/* whatever came before the close */
			got = read_some(c, 300, buf, sizeof(buf));
		while (strcmp(got, "EOF") && got[0]);
		assert_string_equal(got, "EOF");
	}
	close(c);
	free(big);

	/* A Content-Length that frames nothing: flagged, closed. */
	c = tcp_client(&f->at);
	assert_true(write(c, "OPTIONS sip:a SIP/2.0\r\nContent-Length: ten\r\n\r\n", 47) == 47);
	spin(f->loop, 50);
	assert_int_equal(rx.n, 2);
	assert_true(rx.flags[1] & SIP_RX_BAD_FRAME);
	assert_string_equal(read_some(c, 300, buf, sizeof(buf)), "EOF");
	close(c);
}

static void test_idle_reaped(void **state)
{
	struct fx *f = *state;
	char buf[64];
	int c;

	f->tp.idle_ms = 100;
	c = tcp_client(&f->at);
	spin(f->loop, 50);
	assert_string_equal(read_some(c, 0, buf, sizeof(buf)), "");	/* still open */
	spin(f->loop, 200);
	assert_string_equal(read_some(c, 300, buf, sizeof(buf)), "EOF");
	assert_int_equal(f->tp.stats.reaped, 1);
	/* A registration holds a connection past the idle time. */
	c = tcp_client(&f->at);
	assert_int_equal(write(c, MSG1, strlen(MSG1)), (ssize_t)strlen(MSG1));
	spin(f->loop, 30);
	assert_int_equal(rx.n, 1);
	sip_transport_hold(&f->tp, &rx.peer[0], 1000);
	spin(f->loop, 300);
	assert_string_equal(read_some(c, 0, buf, sizeof(buf)), "");
	close(c);
}

static void test_outbound(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sip_peer to = { .proto = SIP_TCP, .len = sizeof(srv) };
	socklen_t len = sizeof(srv);
	char buf[256];
	int l = socket(AF_INET, SOCK_STREAM, 0), a;

	assert_int_equal(bind(l, (struct sockaddr *)&srv, sizeof(srv)), 0);
	assert_int_equal(listen(l, 4), 0);
	getsockname(l, (struct sockaddr *)&srv, &len);
	memcpy(&to.addr, &srv, sizeof(srv));
	assert_int_equal(sip_transport_send(&f->tp, &to, MSG1, strlen(MSG1)), 0);
	spin(f->loop, 50);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_string_equal(read_some(a, 500, buf, sizeof(buf)), MSG1);
	/* The peer's answer comes back up on the same connection. */
	assert_int_equal(write(a, MSG2, strlen(MSG2)), (ssize_t)strlen(MSG2));
	spin(f->loop, 50);
	assert_int_equal(rx.n, 1);
	assert_string_equal(rx.text[0], MSG2);
	close(a);
	close(l);
}

static void test_dual_stack(void **state)
{
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	struct sip_transport tp;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct loop *loop = ((struct fx *)*state)->loop;
	socklen_t len;
	int c;

	assert_int_equal(sip_transport_open(&tp, loop, (struct sockaddr *)&any6, sizeof(any6), on_rx,
					    NULL), 0);
	assert_int_equal(tp.nl, 2);
	to6.sin6_port = ((const struct sockaddr_in6 *)sip_transport_local(&tp, 0, &len))->sin6_port;
	to.sin_port = ((const struct sockaddr_in *)sip_transport_local(&tp, 1, &len))->sin_port;
	assert_int_equal(to.sin_port, to6.sin6_port);		/* one port, both families */
	c = socket(AF_INET, SOCK_DGRAM, 0);
	sendto(c, MSG1, strlen(MSG1), 0, (struct sockaddr *)&to, sizeof(to));
	close(c);
	c = socket(AF_INET6, SOCK_DGRAM, 0);
	sendto(c, MSG1, strlen(MSG1), 0, (struct sockaddr *)&to6, sizeof(to6));
	close(c);
	spin(loop, 50);
	assert_int_equal(rx.n, 2);
	/* No v4-mapped addresses: each family arrives as itself. */
	assert_int_equal(rx.peer[0].addr.ss_family + rx.peer[1].addr.ss_family, AF_INET + AF_INET6);
	sip_transport_close(&tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_reaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dual_stack, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
