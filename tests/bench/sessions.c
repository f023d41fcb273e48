// SPDX-License-Identifier: GPL-2.0-only
/*
 * sessions: media sessions set up and torn down per second through the
 * media API, with kernel offload, on one core. Each session is what a call
 * costs the relay: an offer and an answer rewritten (four ports bound),
 * both legs latched as their first packets would latch them, both
 * directions put into the XDP program's maps, then everything removed.
 * It runs in a private network namespace on a veth of its own, with the
 * real XDP backend. Prints: sessions N seconds S per_second R cpu_us U
 *
 *   sessions COUNT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/loop.h"
#include "dp/dp.h"
#include "media/session.h"

static const char offer[] = "v=0\r\no=- 1 1 IN IP4 10.99.0.2\r\ns=-\r\nc=IN IP4 10.99.0.2\r\n"
			    "t=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
			    "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";
static const char answer[] = "v=0\r\no=- 2 1 IN IP4 10.99.0.3\r\ns=-\r\nc=IN IP4 10.99.0.3\r\n"
			     "t=0 0\r\nm=audio 5000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
			     "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void latch(struct media_leg *leg, const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	uint8_t rtp[12] = { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x12, 0x34 };

	inet_pton(AF_INET, ip, &a.sin_addr);
	media_latch(leg, MEDIA_RTP, MEDIA_RELATCH_SSRC, (struct sockaddr *)&a, sizeof(a), rtp,
		    sizeof(rtp));
}

int main(int argc, char **argv)
{
	static struct conf conf;
	struct media_ctx m;
	struct loop *loop;
	struct dp *dp;
	char err[128], *out, id[32];
	double t0, c0, t1, c1;
	long n, i;

	n = argc > 1 ? atol(argv[1]) : 100000;
	log_init("stderr", L_WARN);
	if (unshare(CLONE_NEWNET) ||
	    system("ip link set lo up && ip link add b0 type veth peer name b1 && "
		   "ip link set b0 up && ip link set b1 up && "
		   "ip addr add 10.99.0.1/24 dev b0")) {
		fprintf(stderr, "sessions: needs root and network namespaces\n");
		return 1;
	}
	conf_defaults(&conf);
	strcpy(conf.media_ifaces[0], "b0");
	conf.media_n_ifaces = 1;
	conf.media_datapath = CONF_DP_XDP;
	snprintf(conf.media_pin_dir, sizeof(conf.media_pin_dir), "/sys/fs/bpf/sluice-sess-%d",
		 (int)getpid());
	if (loop_new(&loop) || dp_open(&conf, &dp) ||
	    media_init(&m, loop, dp, "10.99.0.1", 20000, 20999, MEDIA_RELATCH_SSRC, 60, 3600))
		return 1;

	t0 = now();
	c0 = cpu_s();
	for (i = 0; i < n; i++) {
		struct media_session *s;

		snprintf(id, sizeof(id), "s%ld", i);
		s = media_session_new(&m, id, NULL, NULL);
		if (!s || media_offer(s, 0, offer, sizeof(offer) - 1, &out, err, sizeof(err)))
			goto out_fail;
		free(out);
		if (media_answer(s, 1, answer, sizeof(answer) - 1, &out, err, sizeof(err)))
			goto out_fail;
		free(out);
		latch(&s->st[0].relay.leg[0], "10.99.0.2", 4000);
		latch(&s->st[0].relay.leg[1], "10.99.0.3", 5000);
		media_stream_offload(s, &s->st[0]);
		if (!s->st[0].offloaded[0][MEDIA_RTP] || !s->st[0].offloaded[1][MEDIA_RTP])
			goto out_fail;
		media_session_destroy(s);
	}
	t1 = now();
	c1 = cpu_s();
	printf("sessions %ld seconds %.3f per_second %.0f cpu_us %.1f datapath %s\n", n, t1 - t0,
	       n / (t1 - t0), (c1 - c0) * 1e6 / n, dp->desc);
	media_fini(&m);
	dp_close(dp, false);
	loop_free(loop);
	return 0;

out_fail:
	fprintf(stderr, "sessions: session %ld failed: %s\n", i, err);
	media_fini(&m);
	dp_close(dp, false);
	return 1;
}
