/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the backends offer dp.c, which picks one. Not for the media layer:
 * it sees only dp.h.
 */
#ifndef SLUICE_DP_IMPL_H
#define SLUICE_DP_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/conf.h"
#include "dp/dp.h"

enum dp_xdp_mode {
	DP_XDP_NATIVE,
	DP_XDP_GENERIC,
};

int dp_user_open(struct dp **out);

/*
 * Loads the XDP program, adopting maps and links pinned under
 * conf->media_pin_dir, and attaches it in `mode` to every [media]
 * interface. On failure nothing stays attached that was not before, and
 * why (at most whylen bytes) says what went wrong, for dp.c's one log line.
 */
int dp_xdp_open(const struct conf *conf, enum dp_xdp_mode mode, struct dp **out,
		char *why, size_t whylen);
int dp_xdp_open_pinned(const char *pin_dir, struct dp **out);
/*
 * An XDP backend opened in generic mode because native would not have
 * delivered: its watch moves it to native once native delivers.
 */
void dp_xdp_retry_native(struct dp *dp);
/*
 * Steps the next dp_xdp_open()'s program leaves out (SLUICE_PROF_* of
 * bpf/sluice.bpf.c), for the benchmark's breakdown (sluicectl load ...
 * skip=MASK). Never in production.
 */
void dp_xdp_set_prof_skip(unsigned mask);
/* Detaches every link pinned in pin_dir and removes the pins (sluicectl unload). */
int dp_xdp_unload(const char *pin_dir);

#endif /* SLUICE_DP_IMPL_H */
