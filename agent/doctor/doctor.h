/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host checks behind `sluicectl doctor` and `sluiced -t`, and the ones
 * sluiced logs when it starts: what about this machine would lose media or
 * calls, or slow them, with the fix for each. A data path that forwards
 * into a void and a port another program holds look healthy from inside
 * sluiced; these checks look from outside, before the first call.
 *
 * Each finding has a level: FAIL when media or calls would be lost or
 * refused (a port taken, an interface down, too few file descriptors for
 * the media ports, datapath = xdp-native where native cannot deliver),
 * WARN when they would work worse than they could (the userspace relay
 * instead of the kernel, generic XDP instead of native, an ephemeral port
 * range that overlaps the media ports), OK for what was checked and found
 * right. Nothing is changed on the host.
 */
#ifndef SLUICE_DOCTOR_H
#define SLUICE_DOCTOR_H

#include "core/conf.h"
#include "doctor/report.h"

/*
 * Runs every check against conf on this host (this network namespace) and
 * reports each finding to fn. Returns the number of FAILs.
 */
int doctor_run(const struct conf *conf, unsigned flags, doctor_fn fn, void *arg);

#endif /* SLUICE_DOCTOR_H */
