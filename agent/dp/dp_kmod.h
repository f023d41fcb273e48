/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel-module backend (dp_kmod.c): sluice.ko programmed over its
 * generic netlink family, behind the same struct dp_ops as the XDP
 * backend. For dp.c, which picks a backend, and for test tools.
 */
#ifndef SLUICE_DP_KMOD_H
#define SLUICE_DP_KMOD_H

#include <stddef.h>

#include <linux/types.h>

#include "dp/dp.h"

/*
 * Opens the module's family in the caller's network namespace and shakes
 * hands: a module of another ABI is refused (-EPROTO), a missing one is
 * -ENOENT. Flows the module already holds are adopted, not flushed (a
 * restarted sluiced keeps its calls' media). On failure why (at most whylen
 * bytes) says what went wrong, for dp.c's one log line.
 */
int dp_kmod_open(struct dp **out, char *why, size_t whylen);

/*
 * For tests: the handshake as a sluiced of ABI `abi` would send it,
 * skipping this side's own check of the family's version, so that the
 * module's refusal can be seen. 0, or -errno with the module's reason.
 */
int dp_kmod_hello_as(__u32 abi, char *why, size_t whylen);

#endif /* SLUICE_DP_KMOD_H */
