/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Call quality from what the relay can see of a stream (loss and
 * interarrival jitter): an R-factor and a MOS from a simplified ITU-T G.107
 * E-model, for MML, CDRs and DSP STREAM. The formula is in docs/media.md.
 */
#ifndef SLUICE_MEDIA_QUALITY_H
#define SLUICE_MEDIA_QUALITY_H

struct media_quality {
	double	r;	/* 0..93.2 */
	double	mos;	/* 1.0..4.5 */
};

/* loss_pct: 0..100 of packets expected; jitter_ms: RFC 3550 jitter in ms. */
void media_quality(double loss_pct, double jitter_ms, struct media_quality *q);
/* G.107's mapping from R to MOS. */
double media_mos(double r);

#endif /* SLUICE_MEDIA_QUALITY_H */
