// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simplified E-model (ITU-T G.107, as Cole and Rosenbluth reduce it
 * for VoIP monitoring), with what a relay knows and nothing it would have
 * to guess beyond the two stated assumptions:
 *
 *   R     = 93.2 - Id - Ie_eff
 *   d     = 20 ms packetisation + 2 x jitter (a jitter buffer of twice it)
 *   Id    = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)      (H: step function)
 *   Ie_eff = Ie + (95 - Ie) Ppl / (Ppl + Bpl)            (random loss)
 *            with G.711's Ie = 0 and Bpl = 25.1 (with packet loss concealment)
 *   MOS   = 1                                             R <= 0
 *         = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R)       0 < R < 100
 *         = 4.5                                           R >= 100
 *
 * Network delay is not visible to a relay and is taken as zero, so the
 * figures are upper bounds; they rank calls, which is what operators use
 * them for.
 */
#include "media/quality.h"

#define R0		93.2	/* basic signal-to-noise, default G.107 values */
#define IE_G711		0.0
#define BPL_G711_PLC	25.1
#define PACKET_MS	20.0

double media_mos(double r)
{
	if (!(r > 0))		/* NaN too */
		return 1.0;
	if (r >= 100)
		return 4.5;
	return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
}

void media_quality(double loss_pct, double jitter_ms, struct media_quality *q)
{
	double d, id, ie_eff, r;

	/* Written so that a NaN (0/0 expected packets upstream) counts as none. */
	if (!(loss_pct >= 0))
		loss_pct = 0;
	if (loss_pct > 100)
		loss_pct = 100;
	if (!(jitter_ms >= 0))
		jitter_ms = 0;
	d = PACKET_MS + 2 * jitter_ms;
	id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
	ie_eff = IE_G711 + (95 - IE_G711) * loss_pct / (loss_pct + BPL_G711_PLC);
	r = R0 - id - ie_eff;
	if (r < 0)
		r = 0;
	q->r = r;
	q->mos = media_mos(r);
}
