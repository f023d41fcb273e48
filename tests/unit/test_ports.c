// SPDX-License-Identifier: GPL-2.0-only
/*
 * The media port allocator on loopback: pairs are even/odd and bound, a
 * port held by another program is skipped, running out is an error the
 * caller can answer 503 with, and freed pairs rest before reuse, those
 * that kept their sockets reused first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/loop.h"
#include "media/ports.h"

#include "fixtures.h"

/*
 * A range below the kernel's ephemeral ports (32768 and up), where no
 * outgoing connection lands by chance; spread by pid for parallel runs.
 */
static uint16_t base_port(void)
{
	return (uint16_t)(21000 + (getpid() % 400) * 32);
}

static void test_pairs_and_exhaustion(void **state)
{
	struct sockaddr_in a = loopback(0);
	struct media_ports mp;
	uint16_t base = base_port(), port, seen[4];
	int rtp, rtcp, i;

	(void)state;
	assert_int_equal(media_ports_init(&mp, (struct sockaddr *)&a, sizeof(a), base,
					  (uint16_t)(base + 7)), 0);
	assert_int_equal(media_ports_total(&mp), 4);
	for (i = 0; i < 4; i++) {
		struct sockaddr_in b;
		socklen_t len = sizeof(b);

		assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
		assert_int_equal(port & 1, 0);
		assert_int_equal(port, base + 2 * i);
		getsockname(rtcp, (struct sockaddr *)&b, &len);
		assert_int_equal(ntohs(b.sin_port), port + 1);
		seen[i] = port;
	}
	assert_int_equal(media_ports_free_count(&mp), 0);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), -EADDRNOTAVAIL);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), -EADDRNOTAVAIL);

	/* Freed pairs come back in the order they were freed. */
	media_ports_free(&mp, seen[2]);
	media_ports_free(&mp, seen[0]);
	/* A freed port stays bound: nobody else takes it meanwhile... */
	{
		struct sockaddr_in mine = loopback(seen[2]);
		int other = socket(AF_INET, SOCK_DGRAM, 0);

		assert_int_equal(bind(other, (struct sockaddr *)&mine, sizeof(mine)), -1);
		assert_int_equal(errno, EADDRINUSE);
		/* ...and what arrives while it is free is not the next call's. */
		assert_int_equal(sendto(other, "late", 4, 0, (struct sockaddr *)&mine,
					sizeof(mine)), 4);
		close(other);
	}
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, seen[2]);
	{
		char buf[8];

		assert_int_equal(recv(rtp, buf, sizeof(buf), MSG_DONTWAIT), -1);
		assert_int_equal(errno, EAGAIN);
	}
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, seen[0]);
	media_ports_free(&mp, (uint16_t)(base + 1));	/* odd: refused, logged */
	media_ports_fini(&mp);
}

static void test_port_held_elsewhere(void **state)
{
	struct sockaddr_in a = loopback(0);
	uint16_t base = (uint16_t)(base_port() + 16), port;
	struct sockaddr_in held = loopback((uint16_t)(base + 3));
	struct media_ports mp;
	int other, rtp, rtcp;

	(void)state;
	other = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(other, (struct sockaddr *)&held, sizeof(held)), 0);
	assert_int_equal(media_ports_init(&mp, (struct sockaddr *)&a, sizeof(a), base,
					  (uint16_t)(base + 5)), 0);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, base);
	/* base+2/base+3 is half taken: skipped, and the next pair is used. */
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, base + 4);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), -EADDRNOTAVAIL);
	/* Once the other program lets go, the pair is usable again. */
	close(other);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, base + 2);
	media_ports_fini(&mp);
}

static void test_bad_ranges(void **state)
{
	struct sockaddr_in a = loopback(0);
	struct media_ports mp;

	(void)state;
	assert_int_equal(media_ports_init(&mp, (struct sockaddr *)&a, sizeof(a), 40001, 40002),
			 -EINVAL);
	assert_int_equal(media_ports_init(&mp, (struct sockaddr *)&a, sizeof(a), 40000, 40000),
			 -EINVAL);
	assert_int_equal(media_ports_init(&mp, (struct sockaddr *)&a, sizeof(a), 40001, 40005), 0);
	assert_int_equal(media_ports_total(&mp), 2);	/* 40002/3, 40004/5 */
	media_ports_fini(&mp);
}

/*
 * An IPv6 plane beside an IPv4 one on the same range: both get every
 * pair, even with the IPv6 plane on the wildcard, which without
 * IPV6_V6ONLY would also take (and so collide with) the IPv4 ports.
 */
static void test_ipv6_beside_ipv4(void **state)
{
	struct sockaddr_in a = loopback(0);
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in6 b;
	socklen_t len = sizeof(b);
	uint16_t base = (uint16_t)(base_port() + 24), p4, p6;
	struct media_ports v4, v6;
	int probe, rtp, rtcp;

	(void)state;
	probe = socket(AF_INET6, SOCK_DGRAM, 0);
	if (probe < 0)
		skip();		/* no IPv6 in this kernel or namespace */
	close(probe);
	assert_int_equal(media_ports_init(&v4, (struct sockaddr *)&a, sizeof(a), base,
					  (uint16_t)(base + 3)), 0);
	assert_int_equal(media_ports_init(&v6, (struct sockaddr *)&any6, sizeof(any6), base,
					  (uint16_t)(base + 3)), 0);
	assert_int_equal(media_ports_alloc(&v4, &p4, &rtp, &rtcp), 0);
	assert_int_equal(media_ports_alloc(&v6, &p6, &rtp, &rtcp), 0);
	assert_int_equal(p4, base);
	assert_int_equal(p6, base);
	getsockname(rtcp, (struct sockaddr *)&b, &len);
	assert_int_equal(b.sin6_family, AF_INET6);
	assert_int_equal(ntohs(b.sin6_port), base + 1);
	media_ports_fini(&v6);
	media_ports_fini(&v4);
}

/* A restarted sluiced takes back a given pair; alloc then passes it by. */
static void test_take(void **state)
{
	struct sockaddr_in a = loopback(0);
	uint16_t base = (uint16_t)(base_port() + 28), port;
	struct media_ports mp;
	int rtp, rtcp;

	(void)state;
	assert_int_equal(media_ports_init(&mp, (struct sockaddr *)&a, sizeof(a), base,
					  (uint16_t)(base + 3)), 0);
	assert_int_equal(media_ports_take(&mp, base, &rtp, &rtcp), 0);
	assert_int_equal(media_ports_take(&mp, base, &rtp, &rtcp), -EBUSY);
	assert_int_equal(media_ports_take(&mp, (uint16_t)(base + 1), &rtp, &rtcp), -EINVAL);
	assert_int_equal(media_ports_take(&mp, (uint16_t)(base + 4), &rtp, &rtcp), -EINVAL);
	assert_int_equal(media_ports_free_count(&mp), 1);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, base + 2);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), -EADDRNOTAVAIL);
	media_ports_free(&mp, base);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, base);
	media_ports_fini(&mp);
}

/* Out of file descriptors, the sockets idle pairs keep are closed and the allocation succeeds. */
/* Lowers the open-file limit to extra descriptors more than are open, besides the headroom. */
static void limit_fds(int extra, struct rlimit *old)
{
	struct rlimit low;
	int fds = 0;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, old), 0);
	for (int fd = 0; fd < 4096; fd++)
		fds += fcntl(fd, F_GETFD) != -1;
	low = *old;
	low.rlim_cur = (rlim_t)(fds + extra + MEDIA_FD_HEADROOM);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
}

static void test_fd_limit(void **state)
{
	struct sockaddr_in a = loopback(0);
	struct rlimit old;
	struct media_ports mp;
	uint16_t base = base_port(), port[64];
	int rtp, rtcp, n;

	(void)state;
	assert_int_equal(media_ports_init(&mp, (struct sockaddr *)&a, sizeof(a), base,
					  (uint16_t)(base + 2 * 64 - 1)), 0);
	/* Room for about 20 more descriptors than are open now, besides the headroom. */
	limit_fds(20, &old);
	/* 8 pairs (16 sockets) handed out and taken back: they keep their sockets. */
	for (n = 0; n < 8; n++)
		assert_int_equal(media_ports_alloc(&mp, &port[n], &rtp, &rtcp), 0);
	for (n = 0; n < 8; n++)
		media_ports_free(&mp, port[n]);
	/* 8 more (fresh pairs, FIFO): only by closing the idle pairs' sockets. */
	for (n = 0; n < 8; n++)
		assert_int_equal(media_ports_alloc(&mp, &port[n], &rtp, &rtcp), 0);
	media_ports_fini(&mp);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

/*
 * Out of descriptors with many idle pairs: the sockets of MEDIA_IDLE_CLOSE
 * of them are closed, the most recently freed, not all of them at once.
 */
static void test_fd_limit_bounded(void **state)
{
	struct sockaddr_in a = loopback(0);
	struct rlimit old;
	struct media_ports mp;
	uint16_t base = base_port(), port[100], last;
	int rtp, rtcp, n, held = MEDIA_IDLE_CLOSE + 16;

	(void)state;
	assert_int_equal(media_ports_init(&mp, (struct sockaddr *)&a, sizeof(a), base,
					  (uint16_t)(base + 2 * 100 - 1)), 0);
	limit_fds(2 * held, &old);
	for (n = 0; n < held; n++)
		assert_int_equal(media_ports_alloc(&mp, &port[n], &rtp, &rtcp), 0);
	for (n = 0; n < held; n++)
		media_ports_free(&mp, port[n]);
	last = port[held - 1];
	assert_int_equal(mp.idle->open, held);
	/* Resting, so a fresh pair is bound: the table is full, 64 idle pairs close. */
	assert_int_equal(media_ports_alloc(&mp, &port[0], &rtp, &rtcp), 0);
	assert_int_equal(mp.idle->open, held - MEDIA_IDLE_CLOSE);
	assert_int_equal(mp.pairs[(last - base) / 2].rtp_fd, -1);
	/* The first freed are kept: the warm queue hands them out first. */
	assert_true(mp.pairs[(port[1] - base) / 2].rtp_fd >= 0);
	media_ports_fini(&mp);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

/* The planes share one budget of idle pairs: the second plane's free closes. */
static void test_shared_idle(void **state)
{
	struct sockaddr_in a = loopback(0);
	struct media_ports p4, q4;
	uint16_t base = (uint16_t)(base_port() + 40), x, y;
	int rtp, rtcp, xfd;

	(void)state;
	assert_int_equal(media_ports_init(&p4, (struct sockaddr *)&a, sizeof(a), base,
					  (uint16_t)(base + 3)), 0);
	assert_int_equal(media_ports_init(&q4, (struct sockaddr *)&a, sizeof(a),
					  (uint16_t)(base + 4), (uint16_t)(base + 7)), 0);
	media_ports_share_idle(&q4, &p4);
	p4.idle->cap = 1;
	assert_int_equal(media_ports_alloc(&p4, &x, &xfd, &rtcp), 0);
	assert_int_equal(media_ports_alloc(&q4, &y, &rtp, &rtcp), 0);
	media_ports_free(&p4, x);
	assert_int_equal(p4.idle->open, 1);
	assert_int_equal(p4.pairs[(x - base) / 2].rtp_fd, xfd);
	/* The budget is spent: q4's pair gives its sockets back. */
	media_ports_free(&q4, y);
	assert_int_equal(q4.idle->open, 1);
	assert_int_equal(q4.pairs[(y - base - 4) / 2].rtp_fd, -1);
	media_ports_fini(&q4);
	media_ports_fini(&p4);
}

/*
 * A freed pair that kept its sockets is handed out again once it has
 * rested, before the pairs that never had any; until then those are bound.
 */
static void test_warm_reuse(void **state)
{
	struct sockaddr_in a = loopback(0);
	uint16_t base = (uint16_t)(base_port() + 8), port, first;
	struct media_ports mp;
	int rtp, rtcp, first_rtp;

	(void)state;
	assert_int_equal(media_ports_init(&mp, (struct sockaddr *)&a, sizeof(a), base,
					  (uint16_t)(base + 7)), 0);
	mp.rest_ms = 100;
	assert_int_equal(media_ports_alloc(&mp, &first, &first_rtp, &rtcp), 0);
	media_ports_free(&mp, first);
	/* Freed just now: a pair that never had sockets is bound instead. */
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, base + 2);
	usleep(150 * 1000);
	/* Rested: the freed pair with the very same sockets, ahead of base + 4. */
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, first);
	assert_int_equal(rtp, first_rtp);
	assert_int_equal(media_ports_free_count(&mp), 2);
	/* The cap reached, a freed pair closes its sockets and waits with the cold ones. */
	mp.idle->cap = 0;
	media_ports_free(&mp, first);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, base + 4);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, base + 6);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(port, first);
	assert_int_equal(media_ports_free_count(&mp), 0);
	media_ports_fini(&mp);
}

static int owner_reads;

static void owner_cb(struct loop *loop, int fd, uint32_t events, void *arg)
{
	char buf[64];

	(void)loop;
	(void)events;
	(void)arg;
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		owner_reads++;
}

/* One datagram to port, then the loop for 50 ms. */
static void poke(struct loop *loop, uint16_t port)
{
	struct sockaddr_in to = loopback(port);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	spin(loop, 50);
}

/*
 * Given the loop, a pair's sockets are watched from their bind to their
 * close: the owner takes them over and gives them back without epoll_ctl,
 * a free pair's datagrams are dropped, a released pair's sockets are gone
 * from the loop.
 */
static void test_watched(void **state)
{
	struct sockaddr_in a = loopback(0);
	uint16_t base = base_port(), port, other;
	struct media_ports mp;
	struct loop *loop;
	int rtp, rtcp, rtp2, rtcp2;
	char buf[8];

	(void)state;
	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(media_ports_init(&mp, (struct sockaddr *)&a, sizeof(a), base,
					  (uint16_t)(base + 3)), 0);
	media_ports_set_loop(&mp, loop);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp, &rtcp), 0);
	assert_int_equal(loop_set_fd_cb(loop, rtp, owner_cb, NULL), 0);
	assert_int_equal(loop_set_fd_cb(loop, rtcp, owner_cb, NULL), 0);
	owner_reads = 0;
	poke(loop, port);
	assert_int_equal(owner_reads, 1);
	poke(loop, (uint16_t)(port + 1));
	assert_int_equal(owner_reads, 2);
	/* Freed: kept open and watched, what arrives dropped by the allocator. */
	media_ports_free(&mp, port);
	poke(loop, port);
	assert_int_equal(owner_reads, 2);
	assert_int_equal(recv(rtp, buf, sizeof(buf), MSG_DONTWAIT), -1);
	/* Handed out again (after the other pair, FIFO): the same sockets. */
	assert_int_equal(media_ports_alloc(&mp, &other, &rtp2, &rtcp2), 0);
	assert_int_equal(media_ports_alloc(&mp, &port, &rtp2, &rtcp2), 0);
	assert_int_equal(rtp2, rtp);
	assert_int_equal(loop_set_fd_cb(loop, rtp2, owner_cb, NULL), 0);
	/* Released (out of descriptors): closed, and forgotten by the loop. */
	media_ports_release(&mp, port);
	assert_int_equal(loop_set_fd_cb(loop, rtp2, owner_cb, NULL), -ENOENT);
	assert_int_equal(loop_set_fd_cb(loop, rtcp2, owner_cb, NULL), -ENOENT);
	media_ports_fini(&mp);
	loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs_and_exhaustion),
		cmocka_unit_test(test_port_held_elsewhere),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_ipv6_beside_ipv4),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_fd_limit),
		cmocka_unit_test(test_fd_limit_bounded),
		cmocka_unit_test(test_shared_idle),
		cmocka_unit_test(test_warm_reuse),
		cmocka_unit_test(test_watched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
