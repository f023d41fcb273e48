/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-flow RTP receive statistics as RFC 3550 defines them: sequence
 * tracking (A.1), loss (A.3) and interarrival jitter (A.8), kept in struct
 * sluice_flow_stats. Plain C so that the XDP program, the kernel module and
 * the unit tests run the very same code.
 *
 * Differences from A.1, and why:
 * - No probation: a flow exists only once userspace has latched its source,
 *   so the first packet the kernel sees already comes from a validated
 *   peer. The first packet of an SSRC initialises the state.
 * - A new SSRC restarts the sequence and jitter state (a re-INVITE to
 *   another endpoint, a media server taking over) and counts in
 *   ssrc_changes; the counters of the old source are gone by then.
 * - received == 0 means "no RTP seen yet": A.1's init_seq followed by
 *   received++ never leaves it at zero.
 *
 * The caller supplies the arrival time in RTP timestamp units (A.8's
 * "arrival"); a flow without a clock rate passes the packet's own timestamp,
 * which keeps the transit time constant and the jitter at zero. It reads
 * its clock only for the packets sluice_rtp_clock() asks it for: every
 * packet (A.8 exactly), or one pair of consecutive packets in 2^k.
 */
#ifndef SLUICE_RTP_STATS_H
#define SLUICE_RTP_STATS_H

#include <sluice/abi.h>

#include "portable.h"

#define SLUICE_RTP_SEQ_MOD	(1u << 16)
#define SLUICE_RTP_MAX_DROPOUT	3000
#define SLUICE_RTP_MAX_MISORDER	100

/* The fixed RTP header, RFC 3550 5.1; fields in network order. */
struct sluice_rtp_hdr {
	__u8	vpxcc;		/* version (2 bits), padding, extension, CSRC count */
	__u8	mpt;		/* marker, payload type */
	__u16	seq;		/* network order */
	__u32	ts;		/* network order */
	__u32	ssrc;		/* network order */
};

static __always_inline void sluice_rtp_init_seq(struct sluice_flow_stats *st, __u16 seq)
{
	st->base_seq = seq;
	st->ext_max_seq = seq;
	st->bad_seq = SLUICE_RTP_SEQ_MOD + 1;	/* so seq == bad_seq is false */
	st->received = 0;
}

/*
 * A.1 update_seq(). Returns false for a packet that A.1 does not count:
 * a large jump seen once, which may be the start of a new sequence
 * (restarted sender) if the next packet continues it.
 */
static __always_inline bool sluice_rtp_update_seq(struct sluice_flow_stats *st, __u16 seq)
{
	__u32 cycles = st->ext_max_seq & ~(SLUICE_RTP_SEQ_MOD - 1);
	__u16 max_seq = (__u16)st->ext_max_seq;
	__u16 udelta = seq - max_seq;

	if (sluice_likely(udelta < SLUICE_RTP_MAX_DROPOUT)) {
		/* In order, with a permissible gap. */
		if (seq < max_seq)
			cycles += SLUICE_RTP_SEQ_MOD;
		st->ext_max_seq = cycles | seq;
	} else if (udelta <= SLUICE_RTP_SEQ_MOD - SLUICE_RTP_MAX_MISORDER) {
		/* A very large jump. */
		if (seq != st->bad_seq) {
			st->bad_seq = (seq + 1) & (SLUICE_RTP_SEQ_MOD - 1);
			return false;
		}
		/* Two sequential packets: the source restarted. */
		sluice_rtp_init_seq(st, seq);
	}
	/* else: a duplicate or reordered packet, counted as received. */
	st->received++;
	return true;
}

/* A.8: J += (|D| - J) / 16, kept as J * 16 in st->jitter. */
static __always_inline void sluice_rtp_update_jitter(struct sluice_flow_stats *st,
						     __u32 rtp_ts, __u32 arrival)
{
	__u32 transit = arrival - rtp_ts;
	__s32 d = (__s32)(transit - st->transit);

	st->transit = transit;
	if (d < 0)
		d = -d;
	st->jitter += (__u32)d - ((st->jitter + 8) >> 4);
}

/*
 * Which packets need their arrival time. A.8 reads the clock for every
 * packet, and a precise clock is the dearest single step of the XDP
 * program (read_tsc behind a retpoline in a guest: a third of a minimal
 * relay's whole time per packet). With mask = 2^k - 1 (k > 0) the clock is
 * read for one pair of consecutive packets in every 2^k sequence numbers:
 * the pair's first (seq & mask == 0) leaves its transit time, the packet
 * right after it (seq & mask == 1, arriving next in order) takes A.8's D
 * between the two and updates J. D keeps RFC 3550's meaning, the
 * difference between two consecutive packets, and J its filter; J is
 * worked out from one pair in 2^k, so it follows a change 2^k times more
 * slowly (with k = 3 and 20 ms packets: J's time constant 2.6 s, not
 * 320 ms). mask 0: every packet, A.8 itself.
 */
enum sluice_rtp_clock {
	SLUICE_RTP_CLOCK_NONE,		/* no arrival time: D and transit untouched */
	SLUICE_RTP_CLOCK_FIRST,		/* the first of a pair: its transit kept */
	SLUICE_RTP_CLOCK_PAIR,		/* D against the packet before, J updated */
};

static __always_inline enum sluice_rtp_clock sluice_rtp_clock(const struct sluice_flow_stats *st,
							       __u16 seq, __u32 ssrc, __u32 mask)
{
	__u16 udelta;

	if (!mask)
		return SLUICE_RTP_CLOCK_PAIR;
	if (sluice_unlikely(!st->received || st->ssrc != ssrc))	/* a new source begins here */
		return seq & mask ? SLUICE_RTP_CLOCK_NONE : SLUICE_RTP_CLOCK_FIRST;
	udelta = seq - (__u16)st->ext_max_seq;
	/* A pair's first only as the newest packet: not a late or repeated one. */
	if (!(seq & mask))
		return udelta && udelta < SLUICE_RTP_MAX_DROPOUT ? SLUICE_RTP_CLOCK_FIRST :
								   SLUICE_RTP_CLOCK_NONE;
	return (seq & mask) == 1 && udelta == 1 ? SLUICE_RTP_CLOCK_PAIR : SLUICE_RTP_CLOCK_NONE;
}

/*
 * A.8's part of a counted packet: a pair's first keeps its transit time,
 * its second takes D against it and updates J; nothing without a clock.
 */
static __always_inline void sluice_rtp_update_timing(struct sluice_flow_stats *st, __u32 rtp_ts,
						     __u32 arrival, enum sluice_rtp_clock clock)
{
	if (clock == SLUICE_RTP_CLOCK_PAIR)
		sluice_rtp_update_jitter(st, rtp_ts, arrival);
	else if (clock == SLUICE_RTP_CLOCK_FIRST)
		st->transit = arrival - rtp_ts;
}

/*
 * Accounts one RTP packet with host-order seq, timestamp and SSRC that
 * arrived at `arrival` (timestamp units; read only when clock, from
 * sluice_rtp_clock(), is not SLUICE_RTP_CLOCK_NONE).
 */
static __always_inline void sluice_rtp_update(struct sluice_flow_stats *st, __u16 seq,
					      __u32 rtp_ts, __u32 ssrc, __u32 arrival,
					      enum sluice_rtp_clock clock)
{
	if (sluice_unlikely(st->received == 0 || ssrc != st->ssrc)) {
		if (st->received)
			st->ssrc_changes++;
		st->ssrc = ssrc;
		sluice_rtp_init_seq(st, seq);
		st->received = 1;
		st->jitter = 0;
		st->transit = clock != SLUICE_RTP_CLOCK_NONE ? arrival - rtp_ts : 0;
		return;
	}
	if (!sluice_rtp_update_seq(st, seq))
		return;
	sluice_rtp_update_timing(st, rtp_ts, arrival, clock);
}

/*
 * The arrival time in timestamp units is ns * rate / 10^9, which a packet
 * takes without a division as ((ns >> 10) * m) >> 32, m being
 * rate * 2^42 / 10^9, worked out once per flow (sluice_rtp_ts_mult). m
 * fits 32 bits for every rate below 976 kHz; above, it is 0: no clock, no
 * jitter. Only the product's bits 32-63 are used, which its overflow past
 * 64 bits leaves intact, so the arrival wraps at 2^32 as RFC 3550's does.
 * The clock it keeps runs slow by 1/m at most (under 3 * 10^-8 at 8 kHz):
 * A.8 uses only the differences between packets, which that and the two
 * floors change by two units at most (tests/unit/test_rtp_stats.c).
 */
static __always_inline __u32 sluice_rtp_ts_mult(__u32 rate)
{
	__u64 m = ((__u64)rate << 42) / 1000000000;

	return m >> 32 ? 0 : (__u32)m;
}

static __always_inline __u32 sluice_rtp_arrival(__u64 now_ns, __u32 ts_mult)
{
	return (__u32)(((now_ns >> 10) * ts_mult) >> 32);
}

/* A.3: packets expected from this SSRC, and lost (negative with duplicates). */
static __always_inline __u32 sluice_rtp_expected(const struct sluice_flow_stats *st)
{
	return st->received ? st->ext_max_seq - st->base_seq + 1 : 0;
}

static __always_inline __s64 sluice_rtp_lost(const struct sluice_flow_stats *st)
{
	return (__s64)sluice_rtp_expected(st) - st->received;
}

#endif /* SLUICE_RTP_STATS_H */
