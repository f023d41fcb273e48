// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userspace relay on loopback, with real sockets: a caller behind a
 * "NAT" (it sends from another port than its SDP says) is latched and
 * answered where it really is; a stranger's packets are dropped and
 * counted; the re-latch policies do what the README says; a peer that does
 * not want media gets none.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/ports.h"
#include "media/relay.h"

#include "fixtures.h"

/* Waits for the leg's socket, then relays; returns packets relayed. */
static int pump(struct media_stream *st, int leg)
{
	struct pollfd pfd = { .fd = st->leg[leg].fd[MEDIA_RTP], .events = POLLIN };

	if (poll(&pfd, 1, 500) != 1)
		return -ETIMEDOUT;
	return media_relay_input(st, leg, MEDIA_RTP, 1000);
}

struct fixture {
	struct media_ports	ports;
	struct media_stream	st;
	uint16_t		port[2];
	struct phone		caller, callee, stranger;
	int			latches;
};

static void on_latch(struct media_stream *st, int leg, enum media_comp comp, void *arg)
{
	(void)st;
	(void)leg;
	(void)comp;
	(*(int *)arg)++;
}

static void set_sdp(struct media_leg *leg, uint16_t port)
{
	struct sockaddr_in *a = (struct sockaddr_in *)&leg->sdp[MEDIA_RTP].ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	leg->sdp[MEDIA_RTP].len = sizeof(*a);
}

static int setup(void **state)
{
	static struct fixture f;
	struct sockaddr_in lo = loopback(0);
	int i, rtcp;

	memset(&f, 0, sizeof(f));
	assert_int_equal(media_ports_init(&f.ports, (struct sockaddr *)&lo, sizeof(lo), 22100,
					  22199), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(media_ports_alloc(&f.ports, &f.port[i],
						   &f.st.leg[i].fd[MEDIA_RTP], &rtcp), 0);
		f.st.leg[i].fd[MEDIA_RTCP] = rtcp;
		f.st.leg[i].wants_media = true;
	}
	phone_open(&f.caller);
	phone_open(&f.callee);
	phone_open(&f.stranger);
	/* The caller's SDP names a private port it does not send from (NAT). */
	set_sdp(&f.st.leg[0], 9);
	set_sdp(&f.st.leg[1], f.callee.port);
	f.st.on_latch = on_latch;
	f.st.arg = &f.latches;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	media_ports_fini(&f->ports);
	close(f->caller.fd);
	close(f->callee.fd);
	close(f->stranger.fd);
	return 0;
}

static void test_latching_through_nat(void **state)
{
	struct fixture *f = *state;
	uint32_t ssrc;

	phone_rtp(&f->caller, f->port[0], 0xaaaa, 1);
	assert_int_equal(pump(&f->st, 0), 1);
	assert_int_equal(phone_heard(&f->callee, &ssrc), f->port[1]);	/* from the relay's B leg */
	assert_int_equal(ssrc, 0xaaaa);
	assert_true(f->st.leg[0].latched[MEDIA_RTP]);
	assert_int_equal(f->latches, 1);

	/* The callee answers; the caller hears it where it really is. */
	phone_rtp(&f->callee, f->port[1], 0xbbbb, 1);
	assert_int_equal(pump(&f->st, 1), 1);
	assert_int_equal(phone_heard(&f->caller, &ssrc), f->port[0]);
	assert_int_equal(ssrc, 0xbbbb);
	assert_int_equal(f->latches, 2);
	assert_int_equal(f->st.leg[0].stats.packets, 1);
	assert_int_equal(f->st.leg[1].stats.bytes, 172);
}

static void test_stranger_dropped(void **state)
{
	struct fixture *f = *state;

	phone_rtp(&f->caller, f->port[0], 0xaaaa, 1);
	assert_int_equal(pump(&f->st, 0), 1);
	assert_true(phone_heard(&f->callee, NULL) > 0);
	phone_rtp(&f->stranger, f->port[0], 0x666, 1);
	assert_int_equal(pump(&f->st, 0), 0);
	assert_int_equal(phone_heard(&f->callee, NULL), -1);
	assert_int_equal(f->st.leg[0].stats.dropped_source, 1);
	/* Even carrying the latched SSRC: the policy is off. */
	phone_rtp(&f->stranger, f->port[0], 0xaaaa, 2);
	assert_int_equal(pump(&f->st, 0), 0);
	assert_int_equal(f->st.leg[0].stats.dropped_source, 2);
}

static void test_relatch_ssrc(void **state)
{
	struct fixture *f = *state;

	f->st.relatch = MEDIA_RELATCH_SSRC;
	phone_rtp(&f->caller, f->port[0], 0xaaaa, 1);
	assert_int_equal(pump(&f->st, 0), 1);
	phone_heard(&f->callee, NULL);
	/* A new source with another SSRC: a stranger, dropped. */
	phone_rtp(&f->stranger, f->port[0], 0x666, 1);
	assert_int_equal(pump(&f->st, 0), 0);
	/* The same SSRC from a new source: the phone's NAT rebound. */
	phone_rtp(&f->stranger, f->port[0], 0xaaaa, 2);
	assert_int_equal(pump(&f->st, 0), 1);
	assert_int_equal(f->st.leg[0].stats.relatched, 1);
	assert_true(phone_heard(&f->callee, NULL) > 0);
	/* And now the old source is the stranger. */
	phone_rtp(&f->caller, f->port[0], 0x1, 3);
	assert_int_equal(pump(&f->st, 0), 0);
}

static void test_relatch_any(void **state)
{
	struct fixture *f = *state;

	f->st.relatch = MEDIA_RELATCH_ANY;
	phone_rtp(&f->caller, f->port[0], 0xaaaa, 1);
	assert_int_equal(pump(&f->st, 0), 1);
	phone_rtp(&f->stranger, f->port[0], 0x666, 1);
	assert_int_equal(pump(&f->st, 0), 1);
	assert_int_equal(f->st.leg[0].stats.relatched, 1);
}

static void test_direction(void **state)
{
	struct fixture *f = *state;

	f->st.leg[1].wants_media = false;	/* the callee put the call on hold */
	phone_rtp(&f->caller, f->port[0], 0xaaaa, 1);
	assert_int_equal(pump(&f->st, 0), 0);
	assert_int_equal(phone_heard(&f->callee, NULL), -1);
	assert_int_equal(f->st.leg[0].stats.dropped_direction, 1);
	/* The caller is still latched: resuming needs no new latch. */
	assert_true(f->st.leg[0].latched[MEDIA_RTP]);
}

static void test_not_rtp_latches_without_ssrc(void **state)
{
	struct media_leg leg = { 0 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5000) };
	struct sockaddr_in b = { .sin_family = AF_INET, .sin_port = htons(5001) };
	uint8_t junk[4] = { 1, 2, 3, 4 };

	(void)state;
	assert_int_equal(media_latch(&leg, MEDIA_RTP, MEDIA_RELATCH_SSRC, (struct sockaddr *)&a,
				     sizeof(a), junk, sizeof(junk)), MEDIA_LATCH);
	assert_int_equal(leg.ssrc[MEDIA_RTP], 0);
	/* With no SSRC latched, ssrc re-latching has nothing to match. */
	assert_int_equal(media_latch(&leg, MEDIA_RTP, MEDIA_RELATCH_SSRC, (struct sockaddr *)&b,
				     sizeof(b), junk, sizeof(junk)), MEDIA_DROP_SOURCE);
	assert_int_equal(media_latch(&leg, MEDIA_RTP, MEDIA_RELATCH_SSRC, (struct sockaddr *)&a,
				     sizeof(a), junk, sizeof(junk)), MEDIA_ACCEPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_latching_through_nat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stranger_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relatch_ssrc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relatch_any, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direction, setup, teardown),
		cmocka_unit_test(test_not_rtp_latches_without_ssrc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
