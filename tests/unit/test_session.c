// SPDX-License-Identifier: GPL-2.0-only
/*
 * Media sessions in process, over loopback with real sockets and the real
 * event loop: offer and answer rewritten to the relay, media relayed both
 * ways and latched, both directions handed to the data path once latched
 * (a recording data path stands in for the kernel here; the kernel itself
 * is exercised by the integration tests), hold closing a direction,
 * silence reported as a dead session, and nothing left behind.
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
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "core/loop.h"
#include "media/persist.h"
#include "media/session.h"
#include "net/stun.h"
#include "store/store.h"

#include "fixtures.h"

/* ---- a data path that records what it is told ---- */

#define MAX_FLOWS 16

struct rec_dp {
	struct dp			dp;
	struct sluice_flow_key		keys[MAX_FLOWS];
	struct sluice_flow_action	acts[MAX_FLOWS];
	int				n;
	int				puts, dels;
};

static int rec_find(struct rec_dp *r, const struct sluice_flow_key *key)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (!memcmp(&r->keys[i], key, sizeof(*key)))
			return i;
	return -1;
}

static int rec_put(struct dp *dp, const struct sluice_flow_key *key,
		   const struct sluice_flow_action *act)
{
	struct rec_dp *r = (struct rec_dp *)dp;
	int i = rec_find(r, key);

	if (i < 0)
		i = r->n++;
	r->keys[i] = *key;
	r->acts[i] = *act;
	r->puts++;
	return 0;
}

static int rec_del(struct dp *dp, const struct sluice_flow_key *key)
{
	struct rec_dp *r = (struct rec_dp *)dp;
	int i = rec_find(r, key);

	if (i < 0)
		return -ENOENT;
	r->keys[i] = r->keys[r->n - 1];
	r->acts[i] = r->acts[r->n - 1];
	r->n--;
	r->dels++;
	return 0;
}

/* rec_stats: the kernel forwarding now (true) or nothing, and how often it was asked. */
static bool kernel_live;
static int stats_reads;

static int rec_stats(struct dp *dp, const struct sluice_flow_key *keys,
		     struct sluice_flow_stats *out, size_t n)
{
	struct timespec ts;

	(void)dp;
	(void)keys;
	memset(out, 0, n * sizeof(*out));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (size_t i = 0; kernel_live && i < n; i++) {
		out[i].packets = 1;
		out[i].last_seen_ns = (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
	}
	stats_reads++;
	return 0;
}

static const struct dp_ops rec_ops = { .name = "record", .flow_put = rec_put,
				       .flow_del = rec_del, .stats_read = rec_stats };

static char *sdp_for(const struct phone *p, const char *dir)
{
	char *s;

	assert_true(asprintf(&s, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
			     "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %u RTP/AVP 0\r\n"
			     "a=rtpmap:0 PCMU/8000\r\na=%s\r\n", p->port, dir) > 0);
	return s;
}

static uint16_t sdp_port(const char *sdp)
{
	const char *m = strstr(sdp, "m=audio ");

	assert_non_null(m);
	return (uint16_t)atoi(m + 8);
}

static int deaths;

static void on_dead(struct media_session *s, void *owner)
{
	(void)s;
	(void)owner;
	deaths++;
}

struct fx {
	struct loop		*loop;
	struct rec_dp		dp;
	struct media_ctx	m;
	struct media_session	*s;
	struct phone		caller, callee;
	uint16_t		relay_a, relay_b;	/* where each phone sends */
};

static int setup(void **state)
{
	static struct fx f;
	char err[128], *offer, *answer, *out;

	memset(&f, 0, sizeof(f));
	assert_int_equal(loop_new(&f.loop), 0);
	f.dp.dp.ops = &rec_ops;
	assert_int_equal(media_init(&f.m, f.loop, &f.dp.dp, "127.0.0.1", 22300, 22399,
				    MEDIA_RELATCH_SSRC, 2, 10), 0);
	f.s = media_session_new(&f.m, "call-1", on_dead, NULL);
	phone_open(&f.caller);
	phone_open(&f.callee);

	offer = sdp_for(&f.caller, "sendrecv");
	assert_int_equal(media_offer(f.s, 0, offer, strlen(offer), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "c=IN IP4 127.0.0.1"));
	f.relay_b = sdp_port(out);
	assert_int_not_equal(f.relay_b, f.caller.port);
	free(out);
	answer = sdp_for(&f.callee, "sendrecv");
	assert_int_equal(media_answer(f.s, 1, answer, strlen(answer), &out, err, sizeof(err)), 0);
	f.relay_a = sdp_port(out);
	assert_int_not_equal(f.relay_a, f.relay_b);
	free(out);
	free(offer);
	free(answer);
	deaths = 0;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	media_fini(&f->m);
	assert_int_equal(f->dp.n, 0);		/* no flow left behind */
	loop_free(f->loop);
	close(f->caller.fd);
	close(f->callee.fd);
	return 0;
}

static void test_media_flows_and_offloads(void **state)
{
	struct fx *f = *state;
	struct media_leg_report rep;
	int i;

	phone_rtp(&f->caller, f->relay_a, 0xca11, 1);
	spin(f->loop, 100);
	assert_int_equal(phone_heard(&f->callee, NULL), f->relay_b);
	assert_int_equal(f->dp.n, 0);		/* only one side latched yet */
	phone_rtp(&f->callee, f->relay_b, 0xca11ee, 1);
	spin(f->loop, 100);
	assert_int_equal(phone_heard(&f->caller, NULL), f->relay_a);

	/* Both latched: both directions handed to the data path. */
	assert_int_equal(f->dp.n, 2);
	for (i = 0; i < 2; i++) {
		const struct sluice_flow_key *k = &f->dp.keys[i];
		const struct sluice_flow_action *a = &f->dp.acts[i];
		bool a2b = k->port == f->relay_a;

		assert_int_equal(k->family, SLUICE_FAMILY_IPV4);
		assert_int_equal(a->expect_src_port, a2b ? f->caller.port : f->callee.port);
		assert_int_equal(a->new_src_port, a2b ? f->relay_b : f->relay_a);
		assert_int_equal(a->new_dst_port, a2b ? f->callee.port : f->caller.port);
		assert_int_equal(a->flags, SLUICE_F_STRICT_SRC | SLUICE_F_RTP);
		assert_int_equal(a->clock_rate, 8000);
	}
	assert_int_equal(media_leg_report(f->s, 0, 0, &rep), 0);
	assert_int_equal(rep.packets, 1);
	assert_true(rep.offloaded);
	assert_true(rep.mos > 4.3);
}

static void test_hold_closes_a_direction(void **state)
{
	struct fx *f = *state;
	char err[128], *reoffer, *out;

	phone_rtp(&f->caller, f->relay_a, 1, 1);
	phone_rtp(&f->callee, f->relay_b, 2, 1);
	spin(f->loop, 100);
	phone_heard(&f->callee, NULL);
	phone_heard(&f->caller, NULL);
	assert_int_equal(f->dp.n, 2);
	/* The caller holds: it sends, but wants nothing back. */
	reoffer = sdp_for(&f->caller, "sendonly");
	assert_int_equal(media_offer(f->s, 0, reoffer, strlen(reoffer), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "a=sendonly"));
	assert_int_equal(sdp_port(out), f->relay_b);	/* same ports on update */
	free(out);
	free(reoffer);
	assert_int_equal(f->dp.n, 1);
	assert_int_equal(f->dp.keys[0].port, f->relay_a);	/* caller->callee stays */
	phone_rtp(&f->callee, f->relay_b, 2, 1);
	spin(f->loop, 100);
	assert_int_equal(phone_heard(&f->caller, NULL), -1);
}

/*
 * NG's asymmetric: the caller sends from one port and receives on the one
 * its SDP gives. Its source is still latched (the kernel forwards only
 * from it), but what goes to it goes to the SDP's port.
 */
static void test_asymmetric(void **state)
{
	struct media_opts opts = { .asymmetric = true };
	struct fx *f = *state;
	struct phone tx;
	char err[128], *reoffer, *out;
	int i;

	phone_open(&tx);
	reoffer = sdp_for(&f->caller, "sendrecv");
	assert_int_equal(media_offer_opts(f->s, 0, &opts, reoffer, strlen(reoffer), &out, err,
					  sizeof(err)), 0);
	free(out);
	free(reoffer);
	phone_rtp(&tx, f->relay_a, 1, 1);
	spin(f->loop, 100);
	assert_int_equal(phone_heard(&f->callee, NULL), f->relay_b);
	phone_rtp(&f->callee, f->relay_b, 2, 1);
	spin(f->loop, 100);
	assert_int_equal(phone_heard(&f->caller, NULL), f->relay_a);	/* its SDP's port ... */
	assert_int_equal(phone_heard(&tx, NULL), -1);			/* ... not where it sent from */
	assert_int_equal(f->dp.n, 2);
	for (i = 0; i < 2; i++) {
		const struct sluice_flow_action *a = &f->dp.acts[i];
		bool a2b = f->dp.keys[i].port == f->relay_a;

		assert_int_equal(a->expect_src_port, a2b ? tx.port : f->callee.port);
		assert_int_equal(a->new_dst_port, a2b ? f->callee.port : f->caller.port);
	}
	close(tx.fd);
}

/*
 * NG's transport-protocol: an RTP/AVP offer goes out as RTP/AVPF; the
 * callee's RTP/AVPF answer goes back as RTP/AVP, its a=rtcp-fb gone (the
 * caller's profile has no feedback). Into SRTP is refused with a reason,
 * and so is an unknown profile; the sessions then hold nothing.
 */
static void test_transport_protocol(void **state)
{
	static const char offer[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
				    "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
	static const char answer[] = "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\n"
				     "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVPF 0\r\n"
				     "a=rtcp-fb:* nack\r\n";
	struct media_opts opts = { .proto = "RTP/AVPF" };
	struct fx *f = *state;
	struct media_session *s = media_session_new(&f->m, "tp", NULL, NULL);
	char err[128] = "", *out = NULL;

	assert_int_equal(media_offer_opts(s, 0, &opts, offer, strlen(offer), &out, err,
					  sizeof(err)), 0);
	assert_non_null(strstr(out, " RTP/AVPF 0\r\n"));
	free(out);
	assert_int_equal(media_answer_opts(s, 1, &opts, answer, strlen(answer), &out, err,
					   sizeof(err)), 0);
	assert_non_null(strstr(out, " RTP/AVP 0\r\n"));
	assert_null(strstr(out, "rtcp-fb"));
	free(out);
	/* A re-offer from the callee goes to the caller in the caller's profile. */
	assert_int_equal(media_offer(s, 1, answer, strlen(answer), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, " RTP/AVP 0\r\n"));
	free(out);
	media_session_destroy(s);

	s = media_session_new(&f->m, "tp2", NULL, NULL);
	snprintf(opts.proto, sizeof(opts.proto), "UDP/TLS/RTP/SAVPF");
	assert_int_equal(media_offer_opts(s, 0, &opts, offer, strlen(offer), &out, err,
					  sizeof(err)), 0);
	assert_non_null(strstr(out, " UDP/TLS/RTP/SAVPF 0\r\n"));
	assert_non_null(strstr(out, "a=fingerprint:sha-256 "));
	assert_non_null(strstr(out, "a=setup:actpass"));
	assert_non_null(strstr(out, "a=rtcp-mux"));	/* WebRTC requires it */
	free(out);
	media_session_destroy(s);
	s = media_session_new(&f->m, "tp3", NULL, NULL);
	snprintf(opts.proto, sizeof(opts.proto), "TCP/MSRP");
	assert_int_equal(media_offer_opts(s, 0, &opts, offer, strlen(offer), &out, err,
					  sizeof(err)), -EINVAL);
	assert_string_equal(err, "transport-protocol TCP/MSRP: not an RTP profile");
	media_session_destroy(s);
}

/*
 * SDES termination (keying.h): an SRTP caller bridged to a plain callee
 * with transport-protocol RTP/AVP, then a plain caller to an SRTP callee
 * with RTP/SAVP; keys never cross from one leg to the other, streams with
 * a terminated leg never go to the kernel, and pass-through without flags.
 */
static void test_sdes(void **state)
{
	static const char key[] = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
	static const char savp[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n"
		"a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
		"a=crypto:8 FOO_BAR inline:abcd\r\n";
	static const char avp[] = "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
	struct media_opts opts = { .proto = "RTP/AVP" };
	struct fx *f = *state;
	struct media_session *s = media_session_new(&f->m, "sdes", NULL, NULL);
	char err[128] = "", *out = NULL, *offer;

	assert_int_equal(media_offer_opts(s, 0, &opts, savp, strlen(savp), &out, err,
					  sizeof(err)), 0);
	assert_non_null(strstr(out, " RTP/AVP 0\r\n"));
	assert_null(strstr(out, "a=crypto"));
	assert_non_null(s->st[0].relay.leg[0].srtp);
	free(out);
	assert_int_equal(media_answer_opts(s, 1, &opts, avp, strlen(avp), &out, err,
					   sizeof(err)), 0);
	assert_non_null(strstr(out, " RTP/SAVP 0\r\n"));
	assert_non_null(strstr(out, "a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:"));
	assert_null(strstr(out, key));		/* the relay's own key, not the caller's */
	assert_null(strstr(out, "FOO_BAR"));
	assert_null(s->st[0].relay.leg[1].srtp);
	free(out);
	media_stream_offload(s, &s->st[0]);
	assert_false(s->st[0].offloaded[0][MEDIA_RTP] || s->st[0].offloaded[1][MEDIA_RTP]);
	media_session_destroy(s);

	/* The other way: the callee is offered a key per suite, its answer picks one. */
	s = media_session_new(&f->m, "sdes2", NULL, NULL);
	snprintf(opts.proto, sizeof(opts.proto), "RTP/SAVP");
	opts.sdes_no = 1u << SDES_AEAD_AES_256_GCM;
	assert_int_equal(media_offer_opts(s, 0, &opts, avp, strlen(avp), &out, err,
					  sizeof(err)), 0);
	assert_non_null(strstr(out, " RTP/SAVP 0\r\n"));
	assert_non_null(strstr(out, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
	assert_non_null(strstr(out, "a=crypto:3 AEAD_AES_128_GCM inline:"));
	assert_null(strstr(out, "AEAD_AES_256_GCM"));
	offer = out;
	/* An answer whose tag matches no offered one is refused. */
	assert_int_equal(media_answer_opts(s, 1, &opts, savp, strlen(savp), &out, err,
					   sizeof(err)), -EINVAL);
	assert_string_equal(err, "m=audio: no a=crypto in the answer matches the offer's");
	free(offer);
	media_session_destroy(s);

	/* No flags: a=crypto passes untouched, nothing terminated. */
	s = media_session_new(&f->m, "sdes3", NULL, NULL);
	assert_int_equal(media_offer(s, 0, savp, strlen(savp), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, key));
	assert_null(s->st[0].relay.leg[0].srtp);
	free(out);
	media_session_destroy(s);
}

/*
 * A WebRTC offer (DTLS-SRTP, Firefox's session-level fingerprint) bridged
 * to a plain callee with transport-protocol RTP/AVP: the callee sees none
 * of the browser's keying; the browser's answer carries the relay's
 * fingerprint, a=setup:passive, its a=mid, rtcp-mux and ICE-lite.
 */
static void test_dtls_offer(void **state)
{
	static const char webrtc[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		"c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
		"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\na=group:BUNDLE 0\r\n"
		"m=audio 4000 UDP/TLS/RTP/SAVPF 0\r\na=setup:actpass\r\na=mid:0\r\na=rtcp-mux\r\n";
	static const char avp[] = "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
	struct media_opts opts = { .proto = "RTP/AVP" };
	struct fx *f = *state;
	struct media_session *s = media_session_new(&f->m, "webrtc", NULL, NULL);
	char err[128] = "", *out = NULL;

	int rc = media_offer_opts(s, 0, &opts, webrtc, strlen(webrtc), &out, err, sizeof(err));

	if (rc)
		print_message("offer: %s\n", err);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, " RTP/AVP 0\r\n"));
	assert_null(strstr(out, "a=fingerprint"));
	assert_null(strstr(out, "a=setup"));
	assert_non_null(s->st[0].relay.leg[0].dtls);
	free(out);
	assert_int_equal(media_answer_opts(s, 1, NULL, avp, strlen(avp), &out, err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, " UDP/TLS/RTP/SAVPF 0\r\n"));
	assert_non_null(strstr(out, f->m.dtls.fingerprint));
	assert_non_null(strstr(out, "a=setup:passive"));
	assert_non_null(strstr(out, "a=mid:0"));
	assert_non_null(strstr(out, "a=rtcp-mux"));
	assert_non_null(strstr(out, "a=ice-lite"));
	free(out);
	/* The callee's re-offer (B2BUA: no opts) keeps the browser's DTLS association. */
	{
		struct media_dtls *d = s->st[0].relay.leg[0].dtls;

		f->m.srtp = MEDIA_SRTP_OFFER;
		assert_int_equal(media_offer(s, 1, avp, strlen(avp), &out, err, sizeof(err)), 0);
		f->m.srtp = MEDIA_SRTP_OFF;
		assert_non_null(strstr(out, " UDP/TLS/RTP/SAVPF 0\r\n"));
		assert_non_null(strstr(out, f->m.dtls.fingerprint));
		assert_non_null(strstr(out, "a=setup:passive"));
		assert_null(strstr(out, "a=crypto"));
		assert_ptr_equal(s->st[0].relay.leg[0].dtls, d);
		free(out);
	}
	media_session_destroy(s);
}

/* [media] srtp for sluice's own calls (no opts): offer and require. */
static void test_srtp_mode(void **state)
{
	static const char savp[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n"
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
	static const char avp[] = "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
	struct fx *f = *state;
	struct media_session *s;
	char err[128] = "", *out = NULL;

	f->m.srtp = MEDIA_SRTP_REQUIRE;
	s = media_session_new(&f->m, "req", NULL, NULL);
	assert_int_equal(media_offer(s, 0, avp, strlen(avp), &out, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "m=audio: SRTP is required and the offer has no a=crypto");
	assert_int_equal(media_offer(s, 0, savp, strlen(savp), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, " RTP/SAVP 0\r\n"));
	assert_non_null(strstr(out, "a=crypto:4 AEAD_AES_256_GCM inline:"));
	free(out);
	assert_int_equal(media_answer(s, 1, avp, strlen(avp), &out, err, sizeof(err)), -EINVAL);
	media_session_destroy(s);

	f->m.srtp = MEDIA_SRTP_OFFER;
	s = media_session_new(&f->m, "offer", NULL, NULL);
	assert_int_equal(media_offer(s, 0, avp, strlen(avp), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, " RTP/AVP 0\r\n"));	/* best effort: the profile stays */
	assert_non_null(strstr(out, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
	free(out);
	assert_int_equal(media_answer(s, 1, avp, strlen(avp), &out, err, sizeof(err)), 0);
	assert_null(strstr(out, "a=crypto"));
	assert_null(s->st[0].relay.leg[0].srtp);
	assert_null(s->st[0].relay.leg[1].srtp);
	free(out);
	media_session_destroy(s);
	f->m.srtp = MEDIA_SRTP_OFF;
}

/*
 * A re-offer that rejects the only stream (port 0): the answer still
 * names the relay in o= and c=, the stream's flows and ports are given
 * back, and no packet is relayed any more.
 */
static void test_stream_rejected(void **state)
{
	static const char reoffer[] = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"
				      "c=IN IP4 10.99.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n";
	struct fx *f = *state;
	char err[128] = "", *out = NULL;
	uint32_t nfree = media_ports_free_count(&f->m.plane[0].ports);

	phone_rtp(&f->caller, f->relay_a, 1, 1);
	phone_rtp(&f->callee, f->relay_b, 2, 1);
	spin(f->loop, 100);
	phone_heard(&f->callee, NULL);
	phone_heard(&f->caller, NULL);
	assert_int_equal(f->dp.n, 2);
	assert_int_equal(media_offer(f->s, 0, reoffer, strlen(reoffer), &out, err, sizeof(err)),
			 0);
	assert_string_equal(out, "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"
				 "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n");
	free(out);
	assert_int_equal(f->dp.n, 0);
	assert_int_equal(media_ports_free_count(&f->m.plane[0].ports), nfree + 2);
	phone_rtp(&f->caller, f->relay_a, 1, 1);
	spin(f->loop, 100);
	assert_int_equal(phone_heard(&f->callee, NULL), -1);
}

/* Hold in the old form, c=0.0.0.0: the holder gets nothing back. */
static void test_legacy_hold(void **state)
{
	static const char hold[] = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"
				   "c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio %u RTP/AVP 0\r\n";
	struct fx *f = *state;
	char err[128] = "", body[256], *out = NULL;

	phone_rtp(&f->caller, f->relay_a, 1, 1);
	phone_rtp(&f->callee, f->relay_b, 2, 1);
	spin(f->loop, 100);
	phone_heard(&f->callee, NULL);
	phone_heard(&f->caller, NULL);
	snprintf(body, sizeof(body), hold, f->caller.port);
	assert_int_equal(media_offer(f->s, 0, body, strlen(body), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "c=IN IP4 0.0.0.0\r\n"));
	assert_int_equal(sdp_port(out), f->relay_b);
	free(out);
	assert_int_equal(f->dp.n, 1);
	assert_int_equal(f->dp.keys[0].port, f->relay_a);	/* caller->callee stays */
	phone_rtp(&f->callee, f->relay_b, 2, 1);
	spin(f->loop, 100);
	assert_int_equal(phone_heard(&f->caller, NULL), -1);
}

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void test_silence_is_death(void **state)
{
	struct fx *f = *state;

	fake_now = loop_now_ms(f->loop);
	loop_set_clock(f->loop, fake_clock);
	fake_now += 1000;
	loop_run_timers(f->loop);
	assert_int_equal(deaths, 0);
	fake_now += 2000;
	loop_run_timers(f->loop);
	assert_int_equal(deaths, 1);
	fake_now += 5000;
	loop_run_timers(f->loop);
	assert_int_equal(deaths, 1);	/* reported once */
}

/*
 * A call the kernel forwards lives on without a packet through userspace,
 * and its kernel counters are read about once per timeout (2 s here), not
 * at every tick; once the kernel sees nothing either, it is dead.
 */
static void test_kernel_keeps_alive(void **state)
{
	struct fx *f = *state;

	phone_rtp(&f->caller, f->relay_a, 0xca11, 1);
	phone_rtp(&f->callee, f->relay_b, 0xca11ee, 1);
	spin(f->loop, 100);
	assert_int_equal(f->dp.n, 2);
	fake_now = loop_now_ms(f->loop);
	loop_set_clock(f->loop, fake_clock);
	kernel_live = true;
	stats_reads = 0;
	for (int i = 0; i < 12; i++) {
		fake_now += 1000;
		loop_run_timers(f->loop);
	}
	assert_int_equal(deaths, 0);
	/* Every tick would be 24 reads (12 ticks, a leg each way). */
	assert_in_range(stats_reads, 2, 14);
	kernel_live = false;
	fake_now += 3000;
	loop_run_timers(f->loop);
	assert_int_equal(deaths, 1);
}

static void test_out_of_ports(void **state)
{
	struct fx *f = *state;
	struct media_session *s2[30];
	char err[128] = "", *offer, *out = NULL;
	int i, rc = 0;

	offer = sdp_for(&f->caller, "sendrecv");
	/*
	 * 50 pairs, 2 per stream: the first session holds 2, 24 more fit --
	 * fewer if another program holds a port of the range (it lies in the
	 * kernel's ephemeral range), which the allocator skips.
	 */
	for (i = 0; i < 30; i++) {
		s2[i] = media_session_new(&f->m, "more", NULL, NULL);
		rc = media_offer(s2[i], 0, offer, strlen(offer), &out, err, sizeof(err));
		if (rc)
			break;
		free(out);
	}
	assert_in_range(i, 20, 24);
	assert_int_equal(rc, -EADDRNOTAVAIL);
	assert_string_equal(err, "no media ports left");
	free(offer);
	for (; i >= 0; i--)
		media_session_destroy(s2[i]);
	assert_int_equal(media_ports_free_count(&f->m.plane[0].ports), 48);
}

/* The same call over IPv6: the relay on ::1, both phones there too. */
static int phone6(uint16_t *port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin6_port);
	return fd;
}

static int heard6(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct sockaddr_in6 from;
	socklen_t len = sizeof(from);
	uint8_t buf[512];

	if (poll(&pfd, 1, 200) != 1 ||
	    recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) < 0)
		return -1;
	return ntohs(from.sin6_port);
}

static void send6(int fd, uint16_t port)
{
	uint8_t pkt[172] = { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x66, 0x66 };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to));
}

static void test_ipv6_call(void **state)
{
	struct media_session *s;
	struct media_ctx m;
	struct rec_dp dp = { .dp.ops = &rec_ops };
	struct loop *loop;
	uint16_t pc, pe, ra, rb;
	char err[128], *sdp, *out;
	int caller, callee;

	(void)state;
	assert_int_equal(loop_new(&loop), 0);
	/* IPv6 only, first. */
	assert_int_equal(media_init(&m, loop, &dp.dp, "::1", 22400, 22499, MEDIA_RELATCH_SSRC, 60,
				    3600), 0);
	caller = phone6(&pc);
	callee = phone6(&pe);
	s = media_session_new(&m, "v6", NULL, NULL);
	assert_true(asprintf(&sdp, "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
				   "m=audio %u RTP/AVP 0\r\n", pc) > 0);
	assert_int_equal(media_offer(s, 0, sdp, strlen(sdp), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "c=IN IP6 ::1"));
	rb = sdp_port(out);
	free(out);
	free(sdp);
	assert_true(asprintf(&sdp, "v=0\r\no=- 2 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
				   "m=audio %u RTP/AVP 0\r\n", pe) > 0);
	assert_int_equal(media_answer(s, 1, sdp, strlen(sdp), &out, err, sizeof(err)), 0);
	ra = sdp_port(out);
	free(out);
	free(sdp);

	send6(caller, ra);
	spin(loop, 100);
	assert_int_equal(heard6(callee), rb);
	send6(callee, rb);
	spin(loop, 100);
	assert_int_equal(heard6(caller), ra);
	assert_int_equal(dp.n, 2);
	assert_int_equal(dp.keys[0].family, SLUICE_FAMILY_IPV6);
	assert_int_equal(dp.acts[0].family, SLUICE_FAMILY_IPV6);
	assert_int_equal(dp.keys[0].addr[15], 1);	/* ::1 */

	/* An IPv4 offer to this IPv6 relay is refused with a reason. */
	assert_true(asprintf(&sdp, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
				   "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n") > 0);
	s = media_session_new(&m, "v4", NULL, NULL);
	assert_int_equal(media_offer(s, 0, sdp, strlen(sdp), &out, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "m=audio: address family not served by this relay");
	/* Dual stack: the same offer is relayed in IPv4, the IPv6 call goes on. */
	media_fini(&m);
	assert_int_equal(dp.n, 0);
	assert_int_equal(media_init(&m, loop, &dp.dp, "127.0.0.1, ::1", 22400, 22499,
				    MEDIA_RELATCH_SSRC, 60, 3600), 0);
	s = media_session_new(&m, "v4", NULL, NULL);
	assert_int_equal(media_offer(s, 0, sdp, strlen(sdp), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "c=IN IP4 127.0.0.1"));
	free(out);
	free(sdp);
	assert_true(asprintf(&sdp, "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
				   "m=audio %u RTP/AVP 0\r\n", pc) > 0);
	s = media_session_new(&m, "v6", NULL, NULL);
	assert_int_equal(media_offer(s, 0, sdp, strlen(sdp), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "c=IN IP6 ::1"));
	free(out);
	free(sdp);
	media_fini(&m);
	assert_int_equal(dp.n, 0);
	/* Two addresses of one family: refused. */
	assert_int_equal(media_init(&m, loop, &dp.dp, "127.0.0.1, 127.0.0.2", 22400, 22499,
				    MEDIA_RELATCH_SSRC, 60, 3600), -EINVAL);
	loop_free(loop);
	close(caller);
	close(callee);
}

static void send_to(struct phone *p, const char *addr, uint16_t port)
{
	uint8_t pkt[172] = { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7 };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, addr, &to.sin_addr);
	sendto(p->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to));
}

/* The source address:port of the next datagram, "" after 200 ms. */
static const char *heard_from(struct phone *p, char *out, size_t n)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	char a[INET_ADDRSTRLEN];
	uint8_t buf[512];

	out[0] = '\0';
	if (poll(&pfd, 1, 200) == 1 &&
	    recvfrom(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) >= 0)
		snprintf(out, n, "%s:%u", inet_ntop(AF_INET, &from.sin_addr, a, sizeof(a)),
			 ntohs(from.sin_port));
	return out;
}

/*
 * NG's direction: two logical interfaces, each leg relayed on the one
 * named for it. The caller's side sees only "int"'s address, the callee's
 * only "ext"'s, and the kernel flows go from one to the other. Without a
 * direction a call is on the first interface listed; an unknown name and
 * an interface without the offer's family are errors with the reason.
 */
static void test_direction(void **state)
{
	struct media_opts opts = { .iface = { "int", "ext" } };
	struct rec_dp dp = { .dp.ops = &rec_ops };
	struct phone caller, callee;
	struct media_session *s;
	struct media_ctx m;
	struct loop *loop;
	char err[128], *sdp, *out, want[64], got[64];
	uint16_t ra, rb;

	(void)state;
	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(media_init(&m, loop, &dp.dp, "int/127.0.0.1, ext/127.0.0.2, v6/::1",
				    22500, 22599, MEDIA_RELATCH_SSRC, 60, 3600), 0);
	phone_open(&caller);
	phone_open(&callee);
	s = media_session_new(&m, "dir", NULL, NULL);
	sdp = sdp_for(&caller, "sendrecv");
	assert_int_equal(media_offer_opts(s, 0, &opts, sdp, strlen(sdp), &out, err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, "c=IN IP4 127.0.0.2"));	/* to the callee: ext */
	rb = sdp_port(out);
	free(out);
	free(sdp);
	sdp = sdp_for(&callee, "sendrecv");
	assert_int_equal(media_answer(s, 1, sdp, strlen(sdp), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "c=IN IP4 127.0.0.1"));	/* to the caller: int */
	ra = sdp_port(out);
	free(out);
	free(sdp);

	send_to(&caller, "127.0.0.1", ra);
	spin(loop, 100);
	snprintf(want, sizeof(want), "127.0.0.2:%u", rb);
	assert_string_equal(heard_from(&callee, got, sizeof(got)), want);
	send_to(&callee, "127.0.0.2", rb);
	spin(loop, 100);
	snprintf(want, sizeof(want), "127.0.0.1:%u", ra);
	assert_string_equal(heard_from(&caller, got, sizeof(got)), want);
	assert_int_equal(dp.n, 2);
	/* Each interface has its own ports: the two may well be the same number. */
	for (int i = 0; i < 2; i++) {
		bool a2b = dp.keys[i].addr[3] == 1;

		assert_int_equal(dp.keys[i].port, a2b ? ra : rb);
		assert_int_equal(dp.acts[i].new_src_addr[3], a2b ? 2 : 1);
		assert_int_equal(dp.acts[i].new_src_port, a2b ? rb : ra);
	}
	assert_int_not_equal(dp.keys[0].addr[3], dp.keys[1].addr[3]);
	/* A re-offer naming other interfaces (here one without IPv4): the stream keeps its own. */
	snprintf(opts.iface[0], sizeof(opts.iface[0]), "v6");
	snprintf(opts.iface[1], sizeof(opts.iface[1]), "v6");
	sdp = sdp_for(&caller, "sendrecv");
	assert_int_equal(media_offer_opts(s, 0, &opts, sdp, strlen(sdp), &out, err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, "c=IN IP4 127.0.0.2"));
	assert_int_equal(sdp_port(out), rb);
	free(out);
	free(sdp);
	snprintf(opts.iface[0], sizeof(opts.iface[0]), "int");
	snprintf(opts.iface[1], sizeof(opts.iface[1]), "ext");
	media_session_destroy(s);

	/* No direction: the first interface listed, both legs. */
	s = media_session_new(&m, "plain", NULL, NULL);
	sdp = sdp_for(&caller, "sendrecv");
	assert_int_equal(media_offer(s, 0, sdp, strlen(sdp), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "c=IN IP4 127.0.0.1"));
	free(out);
	media_session_destroy(s);

	s = media_session_new(&m, "bad", NULL, NULL);
	snprintf(opts.iface[1], sizeof(opts.iface[1]), "dmz");
	assert_int_equal(media_offer_opts(s, 0, &opts, sdp, strlen(sdp), &out, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "unknown interface dmz");
	free(sdp);
	assert_true(asprintf(&sdp, "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\n"
			     "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n") > 0);
	snprintf(opts.iface[1], sizeof(opts.iface[1]), "ext");
	assert_int_equal(media_offer_opts(s, 0, &opts, sdp, strlen(sdp), &out, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "m=audio: interface int has no IPv6 address");
	free(sdp);
	media_session_destroy(s);
	media_fini(&m);
	assert_int_equal(dp.n, 0);
	/* Two addresses of one family on one interface: refused. */
	assert_int_equal(media_init(&m, loop, &dp.dp, "ext/127.0.0.1, ext/127.0.0.2", 22500,
				    22599, MEDIA_RELATCH_SSRC, 60, 3600), -EINVAL);
	loop_free(loop);
	close(caller.fd);
	close(callee.fd);
}

/* The value of "a=name:" in sdp, up to the line's end, into out. */
static void sdp_attr(const char *sdp, const char *name, char *out, size_t n)
{
	const char *p = strstr(sdp, name);

	assert_non_null(p);
	p += strlen(name);
	snprintf(out, n, "%.*s", (int)strcspn(p, "\r\n"), p);
}

/*
 * A full agent's check with USE-CANDIDATE for "ufrag:peer", signed with
 * pwd and fingerprinted (RFC 8445 §7.2.2, RFC 5389 §15.4-15.5).
 */
static size_t ice_check(uint8_t *b, const char *ufrag, const char *pwd)
{
	char user[64];
	size_t len = 20, ul = (size_t)snprintf(user, sizeof(user), "%s:peer", ufrag);
	unsigned int mlen;
	uint32_t fp;

	memset(b, 0, 128);
	b[1] = 0x01, b[4] = 0x21, b[5] = 0x12, b[6] = 0xa4, b[7] = 0x42, b[19] = 7;
	b[len + 1] = 0x06, b[len + 3] = (uint8_t)ul;
	memcpy(b + len + 4, user, ul);
	len += 4 + ((ul + 3) & ~3u);
	b[len] = 0x80, b[len + 1] = 0x2a, b[len + 3] = 8;	/* ICE-CONTROLLING */
	len += 12;
	b[len + 1] = 0x25;					/* USE-CANDIDATE */
	len += 4;
	b[3] = (uint8_t)(len + 24 - 20);
	b[len + 1] = 0x08, b[len + 3] = 20;
	HMAC(EVP_sha1(), pwd, (int)strlen(pwd), b, len, b + len + 4, &mlen);
	len += 24;
	b[3] = (uint8_t)(len + 8 - 20);
	fp = (uint32_t)crc32(0, b, (uInt)len) ^ 0x5354554eu;
	b[len] = 0x80, b[len + 1] = 0x28, b[len + 3] = 4;
	b[len + 4] = (uint8_t)(fp >> 24), b[len + 5] = (uint8_t)(fp >> 16);
	b[len + 6] = (uint8_t)(fp >> 8), b[len + 7] = (uint8_t)fp;
	return len + 8;
}

/*
 * ICE=force on the offer: the callee gets the relay's ICE-lite agent and
 * nothing of the caller's ICE; its check is answered, reaches nobody else
 * and (USE-CANDIDATE) latches it. ICE=remove strips ICE even with
 * [media] ice = keep.
 */
static void test_ice_force(void **state)
{
	struct fx *f = *state;
	struct media_opts force = { .ice = MEDIA_ICE_FORCE }, remove = { .ice = MEDIA_ICE_REMOVE };
	struct sockaddr_in to = { .sin_family = AF_INET };
	char err[128], *offer, *out, ufrag[32], pwd[64], cand[128];
	struct media_session *s = media_session_new(&f->m, "ice", NULL, NULL);
	struct media_leg_report rep;
	uint8_t req[128], ans[256];
	uint16_t rb;
	size_t len;
	ssize_t n;

	assert_true(asprintf(&offer, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
			     "c=IN IP4 127.0.0.1\r\nt=0 0\r\na=ice-ufrag:Cllr\r\n"
			     "a=ice-pwd:callerpassword01234567890\r\nm=audio %u RTP/AVP 0\r\n"
			     "a=candidate:1 1 UDP 2130706431 192.168.1.1 4000 typ host\r\n",
			     f->caller.port) > 0);
	assert_int_equal(media_offer_opts(s, 0, &force, offer, strlen(offer), &out, err,
					  sizeof(err)), 0);
	rb = sdp_port(out);
	assert_null(strstr(out, "Cllr"));
	assert_null(strstr(out, "192.168.1.1"));
	assert_non_null(strstr(out, "a=ice-lite\r\n"));
	sdp_attr(out, "a=ice-ufrag:", ufrag, sizeof(ufrag));
	sdp_attr(out, "a=ice-pwd:", pwd, sizeof(pwd));
	assert_int_equal(strlen(ufrag), 8);
	assert_int_equal(strlen(pwd), 24);
	snprintf(cand, sizeof(cand), "a=candidate:1 1 UDP 2130706431 127.0.0.1 %u typ host", rb);
	assert_non_null(strstr(out, cand));
	snprintf(cand, sizeof(cand), "a=candidate:1 2 UDP 2130706430 127.0.0.1 %u typ host",
		 rb + 1);
	assert_non_null(strstr(out, cand));
	free(out);

	/* The callee's check to the relay's candidate. */
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(rb);
	len = ice_check(req, ufrag, pwd);
	sendto(f->callee.fd, req, len, 0, (struct sockaddr *)&to, sizeof(to));
	spin(f->loop, 100);
	n = recv(f->callee.fd, ans, sizeof(ans), MSG_DONTWAIT);
	assert_true(n > 20);
	assert_int_equal(ans[0] << 8 | ans[1], 0x0101);
	assert_int_equal(ans[24] << 8 | ans[25], 0x0001);	/* XOR-MAPPED-ADDRESS, IPv4 */
	assert_int_equal(ans[26] << 8 | ans[27], f->callee.port ^ 0x2112);
	assert_true(stun_check_integrity(ans, (size_t)n, pwd));
	assert_int_equal(phone_heard(&f->caller, NULL), -1);		/* not relayed */
	assert_int_equal(media_leg_report(s, 0, 1, &rep), 0);
	assert_int_equal(rep.packets, 0);			/* not media either */
	assert_true(s->st[0].relay.leg[1].latched[MEDIA_RTP]);	/* nominated */
	/* With the wrong password: 401, and nothing latches on RTCP. */
	len = ice_check(req, ufrag, "wrongwrongwrongwrongwrong");
	to.sin_port = htons(rb + 1);
	sendto(f->callee.fd, req, len, 0, (struct sockaddr *)&to, sizeof(to));
	spin(f->loop, 100);
	n = recv(f->callee.fd, ans, sizeof(ans), MSG_DONTWAIT);
	assert_true(n > 20);
	assert_int_equal(ans[0] << 8 | ans[1], 0x0111);
	assert_false(s->st[0].relay.leg[1].latched[MEDIA_RTCP]);

	/* ICE=remove: the caller's ICE goes, whatever [media] ice says. */
	f->m.keep_ice = true;
	assert_int_equal(media_offer_opts(s, 0, &remove, offer, strlen(offer), &out, err,
					  sizeof(err)), 0);
	assert_null(strstr(out, "a=ice-"));
	assert_null(strstr(out, "a=candidate"));
	free(out);
	assert_int_equal(media_offer(s, 0, offer, strlen(offer), &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "a=ice-ufrag:Cllr"));	/* keep: passed through */
	free(out);
	free(offer);
}

/* ---- RTCP multiplexing (RFC 5761) and the NG rtcp-mux flags ---- */

/* An offer or answer for port, muxed (a=rtcp-mux, a=rtcp at port) or not (a=rtcp at port + 1). */
static char *mux_sdp(uint16_t port, bool mux)
{
	char *s;

	assert_true(asprintf(&s, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
			     "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %u RTP/AVP 0\r\n"
			     "a=rtpmap:0 PCMU/8000\r\na=rtcp:%u\r\n%s", port, mux ? port : port + 1,
			     mux ? "a=rtcp-mux\r\n" : "") > 0);
	return s;
}

/* The port a=rtcp names in sdp. */
static uint16_t rtcp_attr_port(const char *sdp)
{
	const char *a = strstr(sdp, "a=rtcp:");

	assert_non_null(a);
	return (uint16_t)atoi(a + 7);
}

struct mux_row {
	const char	*name;
	unsigned	flags;		/* with the offer */
	bool		offerer, answerer;	/* a=rtcp-mux in what each sends */
	bool		offered;	/* a=rtcp-mux in the offer to the answerer */
	bool		only;		/* ... with a=rtcp at its port (no RTCP port of its own) */
	bool		mux0, mux1;	/* after the answer: the offerer's, the answerer's leg */
};

static const struct mux_row mux_rows[] = {
	{ "both mux", 0, true, true, true, false, true, true },
	{ "answerer declines", 0, true, false, true, false, false, false },
	{ "neither", 0, false, false, false, false, false, false },
	{ "answerer muxes though not offered", 0, false, true, false, false, false, false },
	{ "offer", MEDIA_MUX_OFFER, false, true, true, false, false, true },
	{ "offer, declined", MEDIA_MUX_OFFER, false, false, true, false, false, false },
	{ "require", MEDIA_MUX_REQUIRE, false, false, true, true, false, true },
	{ "demux", MEDIA_MUX_DEMUX, true, false, false, false, true, false },
	{ "demux, answerer muxes anyway", MEDIA_MUX_DEMUX, true, true, false, false, true, false },
	{ "accept", MEDIA_MUX_ACCEPT, true, false, true, false, true, false },
	{ "accept, nothing offered", MEDIA_MUX_ACCEPT, false, true, false, false, false, false },
	{ "reject", MEDIA_MUX_REJECT, true, true, false, false, false, false },
	{ "reject and offer", MEDIA_MUX_REJECT | MEDIA_MUX_OFFER, true, true, true, false,
	  false, true },
};

static void check_mux_row(struct media_ctx *m, const struct mux_row *r)
{
	struct media_opts opts = { .rtcp_mux = r->flags };
	struct media_session *s = media_session_new(m, "mux", NULL, NULL);
	char err[128], *offer = mux_sdp(4000, r->offerer), *answer = mux_sdp(5000, r->answerer);
	char *out;
	uint16_t port;

	print_message("rtcp-mux: %s\n", r->name);
	assert_int_equal(media_offer_opts(s, 0, &opts, offer, strlen(offer), &out, err,
					  sizeof(err)), 0);
	port = sdp_port(out);
	assert_int_equal(strstr(out, "a=rtcp-mux") != NULL, r->offered);
	assert_int_equal(rtcp_attr_port(out), r->only ? port : port + 1);
	free(out);
	assert_int_equal(media_answer_opts(s, 1, NULL, answer, strlen(answer), &out, err,
					   sizeof(err)), 0);
	port = sdp_port(out);
	assert_int_equal(strstr(out, "a=rtcp-mux") != NULL, r->mux0);
	assert_int_equal(rtcp_attr_port(out), r->mux0 ? port : port + 1);
	assert_int_equal(s->st[0].relay.leg[0].mux, r->mux0);
	assert_int_equal(s->st[0].relay.leg[1].mux, r->mux1);
	/* The relay sends each peer's RTCP where it takes it. */
	assert_int_equal(ntohs(((struct sockaddr_in *)&s->st[0].relay.leg[0].sdp[MEDIA_RTCP].ss)
			       ->sin_port), r->mux0 ? 4000 : 4001);
	assert_int_equal(ntohs(((struct sockaddr_in *)&s->st[0].relay.leg[1].sdp[MEDIA_RTCP].ss)
			       ->sin_port), r->mux1 ? 5000 : 5001);
	free(out);
	free(offer);
	free(answer);
	media_session_destroy(s);
}

static void test_mux_flags(void **state)
{
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(mux_rows) / sizeof(mux_rows[0]); i++)
		check_mux_row(&f->m, &mux_rows[i]);
}

/* The flags in an answer: accept and reject act on what goes back to the offerer. */
static void test_mux_flags_in_answer(void **state)
{
	struct media_opts accept = { .rtcp_mux = MEDIA_MUX_ACCEPT };
	struct media_opts reject = { .rtcp_mux = MEDIA_MUX_REJECT };
	struct fx *f = *state;
	struct media_session *s = media_session_new(&f->m, "mux", NULL, NULL);
	char err[128], *offer = mux_sdp(4000, true), *no = mux_sdp(5000, false);
	char *yes = mux_sdp(5000, true), *out;

	assert_int_equal(media_offer(s, 0, offer, strlen(offer), &out, err, sizeof(err)), 0);
	free(out);
	assert_int_equal(media_answer_opts(s, 1, &accept, no, strlen(no), &out, err,
					   sizeof(err)), 0);
	assert_non_null(strstr(out, "a=rtcp-mux"));
	assert_true(s->st[0].relay.leg[0].mux);
	assert_false(s->st[0].relay.leg[1].mux);
	free(out);
	assert_int_equal(media_answer_opts(s, 1, &reject, yes, strlen(yes), &out, err,
					   sizeof(err)), 0);
	assert_null(strstr(out, "a=rtcp-mux"));
	assert_false(s->st[0].relay.leg[0].mux);
	assert_true(s->st[0].relay.leg[1].mux);
	free(out);
	free(offer);
	free(no);
	free(yes);
	media_session_destroy(s);
}

/* A phone that takes RTCP on the port above its RTP port. */
struct phone2 {
	struct phone	rtp, rtcp;
};

static void phone2_open(struct phone2 *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	uint16_t port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (port = 23000; port < 24000; port += 2) {
		p->rtp.fd = socket(AF_INET, SOCK_DGRAM, 0);
		p->rtcp.fd = socket(AF_INET, SOCK_DGRAM, 0);
		a.sin_port = htons(port);
		if (!bind(p->rtp.fd, (struct sockaddr *)&a, sizeof(a))) {
			a.sin_port = htons(port + 1);
			if (!bind(p->rtcp.fd, (struct sockaddr *)&a, sizeof(a)))
				break;
		}
		close(p->rtp.fd);
		close(p->rtcp.fd);
	}
	assert_true(port < 24000);
	p->rtp.port = port;
	p->rtcp.port = (uint16_t)(port + 1);
}

/* An RTCP receiver report, SSRC ssrc. */
static void send_rtcp(struct phone *p, uint16_t port, uint32_t ssrc)
{
	uint8_t pkt[8] = { 0x80, 201, 0, 1, (uint8_t)(ssrc >> 24), 0, 0, (uint8_t)ssrc };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(p->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to));
}

static const struct sluice_flow_action *flow_at(struct rec_dp *r, uint16_t port, uint8_t comp)
{
	struct sluice_flow_key key = { .port = port, .family = SLUICE_FAMILY_IPV4, .comp = comp };

	inet_pton(AF_INET, "127.0.0.1", key.addr);
	return rec_find(r, &key) < 0 ? NULL : &r->acts[rec_find(r, &key)];
}

/*
 * rtcp-mux demux: the caller muxes, the callee takes RTCP apart. The relay
 * carries RTCP between the caller's one port and the callee's two, then
 * hands it to the kernel: the caller's RTCP by a flow of its own.
 */
static void test_mux_demux_relay(void **state)
{
	struct media_opts opts = { .rtcp_mux = MEDIA_MUX_DEMUX };
	struct fx *f = *state;
	struct media_session *s = media_session_new(&f->m, "demux", NULL, NULL);
	const struct sluice_flow_action *a;
	char err[128], *offer, *answer, *out;
	struct phone2 callee;
	uint16_t ra, rb;	/* the relay's ports facing the caller and the callee */

	phone2_open(&callee);
	offer = mux_sdp(f->caller.port, true);
	answer = mux_sdp(callee.rtp.port, false);
	assert_int_equal(media_offer_opts(s, 0, &opts, offer, strlen(offer), &out, err,
					  sizeof(err)), 0);
	rb = sdp_port(out);
	free(out);
	assert_int_equal(media_answer(s, 1, answer, strlen(answer), &out, err, sizeof(err)), 0);
	ra = sdp_port(out);
	free(out);

	phone_rtp(&f->caller, ra, 0xca11, 1);
	spin(f->loop, 50);
	assert_int_equal(phone_heard(&callee.rtp, NULL), rb);
	send_rtcp(&f->caller, ra, 0xca11);
	spin(f->loop, 50);
	assert_int_equal(phone_heard(&callee.rtcp, NULL), rb + 1);		/* demultiplexed */
	assert_int_equal(phone_heard(&callee.rtp, NULL), -1);
	phone_rtp(&callee.rtp, rb, 0xca11ee, 1);
	spin(f->loop, 50);
	assert_int_equal(phone_heard(&f->caller, NULL), ra);
	send_rtcp(&callee.rtcp, rb + 1, 0xca11ee);
	spin(f->loop, 50);
	assert_int_equal(phone_heard(&f->caller, NULL), ra);		/* multiplexed */

	/* All latched: four flows, the caller's RTCP keyed apart on its RTP port. */
	a = flow_at(&f->dp, ra, SLUICE_KEY_PORT);
	assert_non_null(a);
	assert_int_equal(a->flags, SLUICE_F_STRICT_SRC | SLUICE_F_RTP | SLUICE_F_DEMUX);
	assert_int_equal(a->new_src_port, rb);
	assert_int_equal(a->new_dst_port, callee.rtp.port);
	a = flow_at(&f->dp, ra, SLUICE_KEY_MUXED_RTCP);
	assert_non_null(a);
	assert_int_equal(a->flags, SLUICE_F_STRICT_SRC | SLUICE_F_RTCP);
	assert_int_equal(a->expect_src_port, f->caller.port);
	assert_int_equal(a->new_src_port, rb + 1);
	assert_int_equal(a->new_dst_port, callee.rtcp.port);
	a = flow_at(&f->dp, rb, SLUICE_KEY_PORT);
	assert_non_null(a);
	assert_int_equal(a->flags, SLUICE_F_STRICT_SRC | SLUICE_F_RTP);
	a = flow_at(&f->dp, rb + 1, SLUICE_KEY_PORT);
	assert_non_null(a);
	assert_int_equal(a->flags, SLUICE_F_STRICT_SRC | SLUICE_F_RTCP);
	assert_int_equal(a->expect_src_port, callee.rtcp.port);
	assert_int_equal(a->new_src_port, ra);
	assert_int_equal(a->new_dst_port, f->caller.port);
	assert_null(flow_at(&f->dp, ra + 1, SLUICE_KEY_PORT));
	assert_int_equal(f->dp.n, 4);

	/* Both mux after a re-offer: the RTP flows carry RTCP, the others go. */
	free(offer);
	free(answer);
	offer = mux_sdp(f->caller.port, true);
	answer = mux_sdp(callee.rtp.port, true);
	assert_int_equal(media_offer(s, 0, offer, strlen(offer), &out, err, sizeof(err)), 0);
	free(out);
	assert_int_equal(media_answer(s, 1, answer, strlen(answer), &out, err, sizeof(err)), 0);
	free(out);
	assert_null(flow_at(&f->dp, ra, SLUICE_KEY_MUXED_RTCP));
	assert_null(flow_at(&f->dp, rb + 1, SLUICE_KEY_PORT));
	a = flow_at(&f->dp, ra, SLUICE_KEY_PORT);
	assert_non_null(a);
	assert_int_equal(a->flags, SLUICE_F_STRICT_SRC | SLUICE_F_RTP);
	free(offer);
	free(answer);
	media_session_destroy(s);
	close(callee.rtp.fd);
	close(callee.rtcp.fd);
}

/* Multiplexing survives a restart: saved with the session, taken back with it. */
static void test_mux_persisted(void **state)
{
	struct media_opts opts = { .rtcp_mux = MEDIA_MUX_DEMUX | MEDIA_MUX_OFFER };
	struct fx *f = *state;
	char err[128], *offer, *answer, *out;
	struct media_session *s;
	struct tmp_db tmp;
	struct store db;
	sqlite3_stmt *q;

	assert_int_equal(tmp_db_make(&tmp, "mux", "s.db"), 0);
	assert_int_equal(store_open(&db, tmp.path), 0);
	media_persist_init(&f->m, &db);
	s = media_session_new(&f->m, "kept", NULL, NULL);
	/* The owner's data comes back byte for byte, whatever JSON must escape. */
	snprintf(s->owner_data, sizeof(s->owner_data), "{\"a\": \"q\\\"b\\\\\"}\n\t\x01 \xc3\xa9");
	offer = mux_sdp(4000, true);
	answer = mux_sdp(5000, false);
	assert_int_equal(media_offer_opts(s, 0, &opts, offer, strlen(offer), &out, err,
					  sizeof(err)), 0);
	free(out);
	assert_int_equal(media_answer(s, 1, answer, strlen(answer), &out, err, sizeof(err)), 0);
	free(out);
	assert_true(s->st[0].relay.leg[0].mux);
	assert_false(s->st[0].relay.leg[1].mux);
	media_flush(&f->m);
	/* Gone from this sluiced without deleting its row: a crash. */
	f->m.store = NULL;
	media_session_destroy(s);
	f->m.store = &db;
	assert_int_equal(media_restore(&f->m, NULL, NULL), 1);
	s = f->m.sessions;
	assert_string_equal(s->id, "kept");
	assert_string_equal(s->owner_data, "{\"a\": \"q\\\"b\\\\\"}\n\t\x01 \xc3\xa9");
	assert_true(s->st[0].relay.leg[0].mux);
	assert_false(s->st[0].relay.leg[1].mux);
	assert_int_equal(s->st[0].mux_flags, MEDIA_MUX_DEMUX | MEDIA_MUX_OFFER);
	assert_true(s->st[0].mux_offered);
	media_session_destroy(s);
	media_flush(&f->m);

	/* A row from before "muxed": the SDP's a=rtcp-mux stands for it. */
	assert_int_equal(sqlite3_prepare_v2(db.db, "INSERT INTO media_sessions (id, state, "
		"updated) VALUES ('old', '{\"owner\":\"\",\"streams\":[{\"family\":4,\"ports\":"
		"[22390,22392],\"clock\":8000,\"legs\":[{\"sdp\":[\"127.0.0.1:4000\",\"127.0.0.1:"
		"4000\"],\"peer\":[null,null],\"ssrc\":[0,0],\"wants\":true,\"mux\":true,\"hold\":"
		"false,\"addr\":\"127.0.0.1\"},{\"sdp\":[\"127.0.0.1:5000\",\"127.0.0.1:5001\"],"
		"\"peer\":[null,null],\"ssrc\":[0,0],\"wants\":true,\"mux\":false,\"hold\":false,"
		"\"addr\":\"127.0.0.1\"}]}]}', 0)", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	assert_int_equal(media_restore(&f->m, NULL, NULL), 1);
	s = f->m.sessions;
	assert_string_equal(s->id, "old");
	assert_true(s->st[0].relay.leg[0].mux);
	assert_false(s->st[0].relay.leg[1].mux);
	media_session_destroy(s);
	media_flush(&f->m);
	f->m.store = NULL;
	store_close(&db);
	free(offer);
	free(answer);
	assert_int_equal(tmp_db_remove(&tmp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_media_flows_and_offloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_closes_a_direction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_asymmetric, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sdes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srtp_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dtls_offer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence_is_death, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_keeps_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_ports, setup, teardown),
		cmocka_unit_test(test_ipv6_call),
		cmocka_unit_test(test_direction),
		cmocka_unit_test_setup_teardown(test_ice_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mux_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mux_flags_in_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mux_demux_relay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mux_persisted, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
