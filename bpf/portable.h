/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What lets the per-packet code in csum.h and rtp_stats.h compile unchanged
 * in three worlds: the XDP program (clang -target bpf), the kernel module
 * and userspace unit tests. Only <linux/types.h> types and an inline marker.
 */
#ifndef SLUICE_PORTABLE_H
#define SLUICE_PORTABLE_H

#include <linux/types.h>
#ifndef __KERNEL__
#include <stdbool.h>	/* the kernel has bool in <linux/types.h> */
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* For the layout: the compiler puts the unlikely side of a branch out of the straight line. */
#define sluice_likely(x)	__builtin_expect(!!(x), 1)
#define sluice_unlikely(x)	__builtin_expect(!!(x), 0)

#endif /* SLUICE_PORTABLE_H */
