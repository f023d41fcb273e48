/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `sluicectl xdp-pass`: a do-nothing native XDP program for the peer of a
 * veth that sluiced's XDP runs on, which the veth driver needs there to
 * deliver the frames XDP sends (xdp_pass.c, link.h).
 */
#ifndef SLUICE_DP_XDP_PASS_H
#define SLUICE_DP_XDP_PASS_H

#include <stdbool.h>
#include <stddef.h>

#define DP_XDP_PASS_NAME "sluice_pass"

/*
 * Attaches (or with attach false, detaches) the XDP_PASS program on
 * ifname in this network namespace. An interface that already runs a
 * native program is left alone: any program serves. msg says what happened.
 */
int dp_xdp_pass(const char *ifname, bool attach, char *msg, size_t len);

#endif /* SLUICE_DP_XDP_PASS_H */
