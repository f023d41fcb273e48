// SPDX-License-Identifier: GPL-2.0-only
/*
 * The RTP statistics code that the XDP program and the kernel module share
 * (bpf/rtp_stats.h), run in userspace where the test chooses every arrival
 * time, so that interarrival jitter can be checked exactly.
 *
 * The reference is the tests' own reading of RFC 3550 A.1 (without
 * probation), A.3 and A.8 (tests/bpf/rfc3550.h), kept in the RFC's shape.
 * Both run over generated streams (loss, duplicates, reordering, sequence
 * wraps, sender restarts, stray packets, SSRC changes, varying network
 * delay and an arrival clock that wraps) and must agree on every field
 * after every packet; the integer jitter must also stay within a unit of
 * A.8's floating-point definition. Hand-worked cases pin both to numbers.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../bpf/rtp_stats.h"
#include "../bpf/rfc3550.h"

/* Both implementations, fed the same packets. */
struct pair {
	struct sluice_flow_stats	st;
	struct rfc3550_source		ref;
};

static void feed(struct pair *p, uint32_t ssrc, uint16_t seq, uint32_t ts, uint32_t arrival)
{
	sluice_rtp_update(&p->st, seq, ts, ssrc, arrival, SLUICE_RTP_CLOCK_PAIR);
	rfc3550_receive(&p->ref, ssrc, seq, ts, arrival);
}

static void check_agree(const struct pair *p)
{
	const struct sluice_flow_stats *st = &p->st;
	const struct rfc3550_source *r = &p->ref;

	assert_int_equal(st->ssrc, r->ssrc);
	assert_int_equal(st->ext_max_seq, rfc3550_ext_max(r));
	assert_int_equal(st->base_seq, r->base_seq);
	assert_int_equal(st->bad_seq, r->bad_seq);
	assert_int_equal(st->received, r->received);
	assert_int_equal(sluice_rtp_expected(st), rfc3550_expected(r));
	assert_int_equal(sluice_rtp_lost(st), rfc3550_lost(r));
	assert_int_equal(st->ssrc_changes, r->ssrc_changes);
	assert_int_equal(st->transit, (uint32_t)r->transit);
	assert_int_equal(st->jitter, r->jitter);
	/* The integer form rounds at every step; it stays within a unit. */
	assert_true(fabs(st->jitter / 16.0 - r->jitter_f) < 1.0);
}

/* -------------------------------------------------------- hand-worked */

static void test_nothing_received(void **state)
{
	struct sluice_flow_stats st = { 0 };

	(void)state;
	assert_int_equal(sluice_rtp_expected(&st), 0);
	assert_int_equal(sluice_rtp_lost(&st), 0);
}

/* Loss, reordering, a wrap and a duplicate, counted by hand. */
static void test_sequence_by_hand(void **state)
{
	static const uint16_t seqs[] = { 65534, 65535, 1, 0, 3 };
	struct pair p = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		feed(&p, 7, seqs[i], 160u * seqs[i], 160u * seqs[i]);
		check_agree(&p);
	}
	/* 65534 .. 65539 (3 after the wrap): 6 expected, 2 missing. */
	assert_int_equal(p.st.base_seq, 65534);
	assert_int_equal(p.st.ext_max_seq, 65536 + 3);
	assert_int_equal(sluice_rtp_expected(&p.st), 6);
	assert_int_equal(p.st.received, 5);
	assert_int_equal(sluice_rtp_lost(&p.st), 1);

	feed(&p, 7, 2, 320, 320);	/* the missing one, late */
	feed(&p, 7, 3, 480, 480);	/* a duplicate */
	check_agree(&p);
	assert_int_equal(sluice_rtp_expected(&p.st), 6);
	assert_int_equal(p.st.received, 7);
	assert_int_equal(sluice_rtp_lost(&p.st), -1);
}

/* A.1's limits: 2999 ahead is in order, 3000 a jump; 99 behind reordered, 100 a jump. */
static void test_dropout_and_misorder_limits(void **state)
{
	struct pair p = { 0 };

	(void)state;
	feed(&p, 1, 1000, 0, 0);
	feed(&p, 1, 4000, 0, 0);	/* 3000 ahead: not taken */
	check_agree(&p);
	assert_int_equal(p.st.ext_max_seq, 1000);
	assert_int_equal(p.st.received, 1);
	assert_int_equal(p.st.bad_seq, 4001);
	feed(&p, 1, 3999, 0, 0);	/* 2999 ahead */
	check_agree(&p);
	assert_int_equal(p.st.ext_max_seq, 3999);
	assert_int_equal(p.st.received, 2);
	feed(&p, 1, 3900, 0, 0);	/* 99 behind */
	check_agree(&p);
	assert_int_equal(p.st.received, 3);
	feed(&p, 1, 3899, 0, 0);	/* 100 behind: not taken */
	check_agree(&p);
	assert_int_equal(p.st.received, 3);
	assert_int_equal(p.st.ext_max_seq, 3999);
}

/* A jump seen once is ignored; the next in line confirms a restart. */
static void test_restart_by_hand(void **state)
{
	struct pair p = { 0 };

	(void)state;
	feed(&p, 5, 10, 0, 0);
	feed(&p, 5, 11, 160, 160);
	feed(&p, 5, 30000, 320, 320);
	check_agree(&p);
	assert_int_equal(p.st.received, 2);
	assert_int_equal(p.st.bad_seq, 30001);
	feed(&p, 5, 30001, 480, 480);
	check_agree(&p);
	assert_int_equal(p.st.base_seq, 30001);
	assert_int_equal(p.st.ext_max_seq, 30001);
	assert_int_equal(p.st.received, 1);
	assert_int_equal(p.st.ssrc_changes, 0);
	assert_int_equal(sluice_rtp_lost(&p.st), 0);

	/* A restart across the wrap: 65535 then 0 are in line. */
	feed(&p, 5, 65535, 640, 640);
	check_agree(&p);
	assert_int_equal(p.st.bad_seq, 0);
	feed(&p, 5, 0, 800, 800);
	check_agree(&p);
	assert_int_equal(p.st.base_seq, 0);
	assert_int_equal(p.st.ext_max_seq, 0);
	assert_int_equal(p.st.received, 1);
}

/* A new SSRC starts over, jitter included, and is counted. */
static void test_ssrc_change_by_hand(void **state)
{
	struct pair p = { 0 };

	(void)state;
	feed(&p, 1, 10, 0, 0);
	feed(&p, 1, 12, 320, 400);
	check_agree(&p);
	assert_int_equal(sluice_rtp_lost(&p.st), 1);
	assert_true(p.st.jitter > 0);
	feed(&p, 2, 7, 0, 1000);
	check_agree(&p);
	assert_int_equal(p.st.ssrc, 2);
	assert_int_equal(p.st.ssrc_changes, 1);
	assert_int_equal(p.st.jitter, 0);
	assert_int_equal(p.st.base_seq, 7);
	assert_int_equal(sluice_rtp_expected(&p.st), 1);
	feed(&p, 1, 13, 480, 1100);	/* and back */
	check_agree(&p);
	assert_int_equal(p.st.ssrc_changes, 2);
	assert_int_equal(p.st.base_seq, 13);
}

/*
 * Transits 1000, 1160, 1160, 1192: D = 160, 0, 32. A.8 in integers:
 * J16 = 0 + 160 - 0 = 160; 160 + 0 - 10 = 150; 150 + 32 - 9 = 173.
 * In real numbers: J = 10, 9.375, 9.375 + (32 - 9.375) / 16 = 10.7890625.
 */
static void test_jitter_by_hand(void **state)
{
	static const uint32_t ts[] = { 0, 160, 320, 480 };
	static const uint32_t arrival[] = { 1000, 1320, 1480, 1672 };
	static const uint32_t j16[] = { 0, 160, 150, 173 };
	static const double j[] = { 0, 10, 9.375, 10.7890625 };
	struct pair p = { 0 };
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		feed(&p, 3, (uint16_t)(20 + i), ts[i], arrival[i]);
		check_agree(&p);
		assert_int_equal(p.st.jitter, j16[i]);
		assert_true(fabs(p.ref.jitter_f - j[i]) < 1e-9);
	}
}

/* |D| = 80 every packet: J converges to 80 units (10 ms at 8 kHz). */
static void test_jitter_converges(void **state)
{
	struct pair p = { 0 };
	uint32_t i;

	(void)state;
	for (i = 0; i < 300; i++)
		feed(&p, 4, (uint16_t)i, 160 * i, 160 * i + ((i & 1) ? 80 : 0));
	check_agree(&p);
	assert_true(fabs(p.ref.jitter_f - 80.0) < 0.01);
	assert_true(fabs(p.st.jitter / 16.0 - 80.0) < 1.0);
}

/* Timestamps and the arrival clock wrap at 2^32 without a jitter spike. */
static void test_clock_wrap(void **state)
{
	struct pair p = { 0 };
	uint32_t i;

	(void)state;
	for (i = 0; i < 200; i++) {
		uint32_t ts = 0xffffff00u + 160 * i;
		uint32_t arrival = 0xfffff000u + 160 * i + 40 * (i % 3);

		feed(&p, 9, (uint16_t)(65500 + i), ts, arrival);
		check_agree(&p);
		assert_true(p.st.jitter / 16 <= 80);	/* no 2^32 spike */
	}
}

/* ---------------------------------------------------------- generated */

static uint64_t rng_state;

static uint32_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static bool chance(unsigned int per_mille)
{
	return rng() % 1000 < per_mille;
}

struct sent {
	uint32_t	ssrc;
	uint16_t	seq;
	uint32_t	ts;
	uint32_t	due;	/* send time plus network delay, timestamp units */
};

#define GEN_MAX 4000

/*
 * A sender's stream with its mishaps: silence (timestamps jump, sequence
 * numbers do not), restarts (a new sequence base), SSRC changes, stray
 * packets with a wild sequence number, and a network delay that varies.
 */
static size_t gen_stream(struct sent *out, size_t n)
{
	uint32_t ssrc = rng(), ts = rng(), now = rng();
	uint16_t seq = (uint16_t)(65535 - rng() % 800);	/* a wrap early on */
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t delay = rng() % 200 + (chance(20) ? rng() % 4000 : 0);

		if (chance(10)) {		/* silence */
			ts += 160 * (rng() % 50);
			now += 160 * (rng() % 50);
		}
		if (chance(2))			/* restart */
			seq = (uint16_t)rng();
		if (chance(2))			/* another source */
			ssrc = rng();
		out[i] = (struct sent){ ssrc, seq, ts, now + delay };
		if (chance(3))			/* a stray */
			out[i].seq = (uint16_t)rng();
		seq++;
		ts += 160;
		now += 160;
	}
	return n;
}

/* What the receiver gets: losses, duplicates, neighbours swapped, late ones. */
static size_t gen_deliver(const struct sent *in, size_t n, struct sent *out)
{
	size_t i, m = 0;

	for (i = 0; i < n && m < 2 * GEN_MAX - 2; i++) {
		if (chance(50))
			continue;
		out[m++] = in[i];
		if (chance(30))
			out[m++] = in[i];
		if (m >= 2 && chance(30)) {
			struct sent t = out[m - 1];

			out[m - 1] = out[m - 2];
			out[m - 2] = t;
		}
		if (m >= 40 && chance(5)) {	/* one far behind */
			struct sent t = out[m - 1];

			memmove(&out[m - 30], &out[m - 31], 30 * sizeof(*out));
			out[m - 31] = t;
		}
	}
	return m;
}

static bool feed_sampled(struct pair *p, uint32_t ssrc, uint16_t seq, uint32_t ts,
			 uint32_t arrival, unsigned n);

/* One generated stream through both, jitter from 1 pair in n (1: every packet, A.8). */
static void run_generated(uint64_t seed, unsigned n_sample, bool *saw_wrap, bool *saw_change,
			  bool *saw_loss)
{
	static struct sent sent[GEN_MAX], got[2 * GEN_MAX];
	struct pair p = { 0 };
	uint32_t arrival = 0;
	size_t i, n;

	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	n = gen_deliver(sent, gen_stream(sent, GEN_MAX), got);
	for (i = 0; i < n; i++) {
		/* Arrivals never go back; a packet waits behind those before it. */
		if (!i || (int32_t)(got[i].due - arrival) > 0)
			arrival = got[i].due;
		feed_sampled(&p, got[i].ssrc, got[i].seq, got[i].ts, arrival, n_sample);
		check_agree(&p);
		*saw_wrap |= p.st.ext_max_seq >= 65536;
		*saw_loss |= sluice_rtp_lost(&p.st) > 0;
	}
	*saw_change |= p.st.ssrc_changes > 0;
}

/*
 * The program's arrival time without a division (sluice_rtp_arrival)
 * against the exact quotient, over clock rates and times from boot to
 * centuries: what A.8 uses, the difference between two arrivals up to a
 * minute apart, is the exact one within two units (a floor on each
 * side), whatever the wrap of either.
 */
static uint32_t exact_arrival(uint64_t ns, uint32_t rate)
{
	return (uint32_t)((unsigned __int128)ns * rate / 1000000000u);
}

static void test_arrival_without_division(void **state)
{
	static const uint32_t rates[] = { 8000, 16000, 32000, 44100, 48000, 90000, 96000 };
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		uint32_t m = sluice_rtp_ts_mult(rates[r]);

		assert_true(m != 0);
		for (int i = 0; i < 100000; i++) {
			uint64_t t1, t2;
			int32_t err;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* Spread over every scale: up to 2^(20..62) ns. */
			t1 = x >> (2 + i % 43);
			t2 = t1 + (x % 60000000000ull) / (1 + i % 1000);
			err = (int32_t)((exact_arrival(t2, rates[r]) - exact_arrival(t1, rates[r])) -
					(sluice_rtp_arrival(t2, m) - sluice_rtp_arrival(t1, m)));
			assert_true(err >= -2 && err <= 2);
		}
	}
	/* A rate too high for 32 bits of multiplier: no clock at all. */
	assert_int_equal(sluice_rtp_ts_mult(1000000), 0);
}

/* ------------------------------------------------- sampled jitter */

/*
 * [media] jitter_sampling = n, as docs/configuration.md puts it, read on
 * the RFC's own state: a packet taken as the newest whose sequence number
 * is a multiple of n keeps its transit time (so does the first of a
 * source, if a multiple); the packet that follows it in sequence, taken
 * while that one is still the newest, gives D between the two and A.8's
 * filter. Every other packet leaves transit and jitter alone. n = 1 is
 * A.8 itself.
 */
static void sampled_receive(struct rfc3550_source *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
			    uint32_t arrival, unsigned n)
{
	uint16_t newest = s->max_seq, dist = (uint16_t)(seq - newest);

	if (n == 1) {
		rfc3550_receive(s, ssrc, seq, ts, arrival);
		return;
	}
	if (!s->seen || ssrc != s->ssrc) {
		rfc3550_receive(s, ssrc, seq, ts, arrival);
		if (seq % n)
			s->transit = 0;
		return;
	}
	if (!rfc3550_update_seq(s, seq))
		return;
	if (seq % n == 0 && dist > 0 && dist < RFC3550_MAX_DROPOUT)
		s->transit = (int32_t)(arrival - ts);
	else if (seq % n == 1 && dist == 1)
		rfc3550_jitter(s, ts, arrival);
}

/* Both, sampled; returns whether the implementation asked for the clock. */
static bool feed_sampled(struct pair *p, uint32_t ssrc, uint16_t seq, uint32_t ts,
			 uint32_t arrival, unsigned n)
{
	enum sluice_rtp_clock clock = sluice_rtp_clock(&p->st, seq, ssrc, n - 1);

	/* Without the clock the implementation must not use the arrival. */
	sluice_rtp_update(&p->st, seq, ts, ssrc, clock ? arrival : 0xdeadbeef, clock);
	sampled_receive(&p->ref, ssrc, seq, ts, arrival, n);
	return clock != SLUICE_RTP_CLOCK_NONE;
}

/* In order and without loss, the clock is read for exactly 2 packets in n. */
static void test_sampled_clock_reads(void **state)
{
	static const unsigned ns[] = { 2, 4, 8, 16, 64 };
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		struct pair p = { 0 };
		unsigned reads = 0;
		uint32_t i;

		for (i = 0; i < 64 * 100; i++)
			reads += feed_sampled(&p, 5, (uint16_t)(65000 + i), 160 * i,
					      160 * i + 40 * (i % 5), ns[k]);
		check_agree(&p);
		assert_int_equal(reads, 2 * 64 * 100 / ns[k]);
	}
}

/* |D| = 80 between any two neighbours: the sampled J finds A.8's 80 units. */
static void test_sampled_converges(void **state)
{
	struct pair p = { 0 };
	uint32_t i;

	(void)state;
	for (i = 0; i < 8 * 300; i++)
		feed_sampled(&p, 4, (uint16_t)i, 160 * i, 160 * i + ((i & 1) ? 80 : 0), 8);
	check_agree(&p);
	assert_true(fabs(p.st.jitter / 16.0 - 80.0) < 1.0);
}

/*
 * Random network delay, the same stream measured both ways: over a long
 * stream the sampled J's average is A.8's within a tenth.
 */
static void test_sampled_tracks_rfc(void **state)
{
	struct pair full = { 0 }, sampled = { 0 };
	double sum_full = 0, sum_sampled = 0;
	uint32_t i;

	(void)state;
	rng_state = 42;
	for (i = 0; i < 40000; i++) {
		uint32_t arrival = 160 * i + rng() % 200;

		feed(&full, 6, (uint16_t)i, 160 * i, arrival);
		feed_sampled(&sampled, 6, (uint16_t)i, 160 * i, arrival, 8);
		check_agree(&sampled);
		if (i >= 4000) {
			sum_full += full.st.jitter / 16.0;
			sum_sampled += sampled.st.jitter / 16.0;
		}
	}
	/* Two independent uniform delays in [0, 200) differ by 66.7 on average. */
	assert_true(fabs(sum_full / 36000 - 66.7) < 5);
	assert_true(fabs(sum_sampled / sum_full - 1) < 0.1);
}

/* The generated streams, losses, duplicates, reordering and all, sampled. */
static void test_sampled_generated(void **state)
{
	static const unsigned ns[] = { 2, 8, 64 };
	bool wrap = false, change = false, loss = false;
	uint64_t seed;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
		for (seed = 1; seed <= 100; seed++)
			run_generated(seed, ns[k], &wrap, &change, &loss);
}

static void test_generated_against_rfc(void **state)
{
	bool wrap = false, change = false, loss = false;
	uint64_t seed;

	(void)state;
	for (seed = 1; seed <= 200; seed++)
		run_generated(seed, 1, &wrap, &change, &loss);
	/* The streams did exercise what they are meant to. */
	assert_true(wrap);
	assert_true(change);
	assert_true(loss);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_received),
		cmocka_unit_test(test_sequence_by_hand),
		cmocka_unit_test(test_dropout_and_misorder_limits),
		cmocka_unit_test(test_restart_by_hand),
		cmocka_unit_test(test_ssrc_change_by_hand),
		cmocka_unit_test(test_jitter_by_hand),
		cmocka_unit_test(test_jitter_converges),
		cmocka_unit_test(test_arrival_without_division),
		cmocka_unit_test(test_clock_wrap),
		cmocka_unit_test(test_generated_against_rfc),
		cmocka_unit_test(test_sampled_clock_reads),
		cmocka_unit_test(test_sampled_converges),
		cmocka_unit_test(test_sampled_tracks_rfc),
		cmocka_unit_test(test_sampled_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
