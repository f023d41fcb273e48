/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tests' own reading of RFC 3550's receiver statistics, written from
 * the RFC's appendix and kept in the RFC's shape (max_seq and cycles apart,
 * jitter in integer and in floating point), so that the shared code in
 * bpf/rtp_stats.h is checked against the algorithm and not against itself:
 *
 *   A.1 update_seq, without probation: the first packet of a source
 *       initialises the state and counts as received;
 *   A.3 expected = extended max - base_seq + 1, lost = expected - received;
 *   A.8 J += (|D| - J) / 16, in the RFC's integer form (J scaled by 16)
 *       and in floating point.
 *
 * A source here is one SSRC: a packet with another SSRC starts a new one
 * (ssrc_changes counts how often). A.1 returns 0 for a packet it does not
 * take (the first of a very large jump): such a packet updates neither the
 * counts nor the jitter, as an RFC receiver discards it.
 */
#ifndef SLUICE_TEST_RFC3550_H
#define SLUICE_TEST_RFC3550_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define RFC3550_SEQ_MOD		65536u
#define RFC3550_MAX_DROPOUT	3000
#define RFC3550_MAX_MISORDER	100

struct rfc3550_source {
	bool		seen;		/* a packet of any SSRC arrived */
	uint32_t	ssrc;
	uint16_t	max_seq;	/* highest sequence number seen */
	uint32_t	cycles;		/* shifted count of sequence wraps */
	uint32_t	base_seq;
	uint32_t	bad_seq;	/* last 'bad' sequence number + 1 */
	uint32_t	received;
	int32_t		transit;	/* relative transit time of the last packet */
	uint32_t	jitter;		/* A.8 integer form: J * 16 */
	double		jitter_f;	/* A.8 in floating point: J */
	uint32_t	ssrc_changes;
};

static inline void rfc3550_init_seq(struct rfc3550_source *s, uint16_t seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = RFC3550_SEQ_MOD + 1;	/* so seq == bad_seq is false */
	s->cycles = 0;
	s->received = 0;
}

/* A.1; returns 1 when the packet is taken, 0 when not. */
static inline int rfc3550_update_seq(struct rfc3550_source *s, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - s->max_seq);

	if (udelta < RFC3550_MAX_DROPOUT) {
		/* in order, with permissible gap */
		if (seq < s->max_seq)
			s->cycles += RFC3550_SEQ_MOD;	/* wrapped */
		s->max_seq = seq;
	} else if (udelta <= RFC3550_SEQ_MOD - RFC3550_MAX_MISORDER) {
		/* the sequence number made a very large jump */
		if (seq == s->bad_seq) {
			/* two sequential packets: assume the other side restarted */
			rfc3550_init_seq(s, seq);
		} else {
			s->bad_seq = (seq + 1u) & (RFC3550_SEQ_MOD - 1);
			return 0;
		}
	} else {
		/* duplicate or reordered packet */
	}
	s->received++;
	return 1;
}

/* A.8, with arrival in RTP timestamp units (32-bit clocks, wrapping). */
static inline void rfc3550_jitter(struct rfc3550_source *s, uint32_t ts, uint32_t arrival)
{
	int32_t transit = (int32_t)(arrival - ts);
	int32_t d = (int32_t)((uint32_t)transit - (uint32_t)s->transit);

	s->transit = transit;
	if (d < 0)
		d = -d;
	s->jitter += (uint32_t)d - ((s->jitter + 8) >> 4);
	s->jitter_f += (1.0 / 16.0) * ((double)d - s->jitter_f);
}

/* One RTP packet as the receiver sees it. */
static inline void rfc3550_receive(struct rfc3550_source *s, uint32_t ssrc, uint16_t seq,
				   uint32_t ts, uint32_t arrival)
{
	if (!s->seen || ssrc != s->ssrc) {
		if (s->seen)
			s->ssrc_changes++;
		s->seen = true;
		s->ssrc = ssrc;
		rfc3550_init_seq(s, seq);
		s->received = 1;
		s->transit = (int32_t)(arrival - ts);
		s->jitter = 0;
		s->jitter_f = 0;
		return;
	}
	if (rfc3550_update_seq(s, seq))
		rfc3550_jitter(s, ts, arrival);
}

/* A.3 */
static inline uint32_t rfc3550_ext_max(const struct rfc3550_source *s)
{
	return s->cycles + s->max_seq;
}

static inline int64_t rfc3550_expected(const struct rfc3550_source *s)
{
	return s->seen ? (int64_t)rfc3550_ext_max(s) - s->base_seq + 1 : 0;
}

static inline int64_t rfc3550_lost(const struct rfc3550_source *s)
{
	return rfc3550_expected(s) - s->received;
}

#endif /* SLUICE_TEST_RFC3550_H */
