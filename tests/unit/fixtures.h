/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the unit tests that use real resources share: a temporary directory
 * for a database, removed with everything in it; a "phone" on loopback (a
 * bound UDP socket) that sends RTP and hears what comes back; and the event
 * loop run for a stretch of real time. Each test is one translation unit,
 * so these are static inline and a test pays only for what it calls.
 */
#ifndef SLUICE_TESTS_UNIT_FIXTURES_H
#define SLUICE_TESTS_UNIT_FIXTURES_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "core/loop.h"

/* ---- a temporary database directory ---- */

struct tmp_db {
	char	dir[64];	/* /tmp/sluice-NAME.XXXXXX */
	char	path[96];	/* a database file in it */
};

/* Makes /tmp/sluice-NAME.XXXXXX and names FILE in it (which may sit in
 * directories still to be made); 0, or -1. */
static inline int tmp_db_make(struct tmp_db *t, const char *name, const char *file)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/sluice-%s.XXXXXX", name);
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, file);
	return 0;
}

/* Removes the directory and all in it; 0, or -1. */
static inline int tmp_db_remove(const struct tmp_db *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	return system(cmd) ? -1 : 0;
}

/* ---- a phone on loopback ---- */

static inline struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

struct phone {
	int		fd;
	uint16_t	port;	/* where it is bound on 127.0.0.1 */
};

static inline void phone_open(struct phone *p)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);

	p->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(p->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(p->fd, (struct sockaddr *)&a, &len);
	p->port = ntohs(a.sin_port);
}

/* One RTP packet (PCMU, 160 bytes of payload) to 127.0.0.1:port. */
static inline void phone_rtp(const struct phone *p, uint16_t port, uint32_t ssrc, uint16_t seq)
{
	uint8_t pkt[172] = { 0x80, 0 };
	struct sockaddr_in to = loopback(port);

	pkt[2] = (uint8_t)(seq >> 8);
	pkt[3] = (uint8_t)seq;
	pkt[8] = (uint8_t)(ssrc >> 24);
	pkt[9] = (uint8_t)(ssrc >> 16);
	pkt[10] = (uint8_t)(ssrc >> 8);
	pkt[11] = (uint8_t)ssrc;
	assert_int_equal(sendto(p->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)),
			 sizeof(pkt));
}

/*
 * Receives one datagram, if any within 200 ms; returns its source port, or
 * -1. With ssrc, only an RTP packet counts, and its SSRC is stored there.
 */
static inline int phone_heard(const struct phone *p, uint32_t *ssrc)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	uint8_t buf[512];
	ssize_t n;

	if (poll(&pfd, 1, 200) != 1)
		return -1;
	n = recvfrom(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	if (n < 0 || (ssrc && n < 12))
		return -1;
	if (ssrc)
		*ssrc = (uint32_t)buf[8] << 24 | buf[9] << 16 | buf[10] << 8 | buf[11];
	return ntohs(from.sin_port);
}

/* ---- the event loop for a while ---- */

static inline void spin_stop(struct loop *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

/* Runs the loop for ms milliseconds of real time. */
static inline void spin(struct loop *loop, unsigned ms)
{
	struct loop_timer t;

	loop_timer_init(&t, spin_stop, NULL);
	loop_timer_arm(loop, &t, ms);
	loop_run(loop);
}

#endif
