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

#include <stdarg.h>
#include <stdio.h>

#include "core/conf.h"

enum doctor_level {
	DOCTOR_OK,
	DOCTOR_WARN,
	DOCTOR_FAIL,
};

struct doctor_finding {
	enum doctor_level	level;
	const char		*topic;		/* "sip", "media", "ports", "veth", ... */
	char			what[448];
	char			fix[320];	/* "" when there is nothing to do */
};

typedef void (*doctor_fn)(const struct doctor_finding *f, void *arg);

/* sluiced at start: leave out what it says itself as it opens the data path. */
#define DOCTOR_AT_START	(1u << 0)

struct doctor {
	const struct conf	*conf;
	unsigned		flags;
	doctor_fn		report;
	void			*arg;
	int			nwarn;
	int			nfail;
};

/*
 * Runs every check against conf on this host (this network namespace) and
 * reports each finding to fn. Returns the number of FAILs.
 */
int doctor_run(const struct conf *conf, unsigned flags, doctor_fn fn, void *arg);

/* Prints a finding for a terminal: "FAIL  ports  ...", then "      fix: ...". */
void doctor_print(const struct doctor_finding *f, void *file);

/* For the checks (doctor_*.c): one finding, what as printf. */
void doctor_add(struct doctor *d, enum doctor_level level, const char *topic, const char *fix,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The checks, by what they look at. */
void doctor_check_links(struct doctor *d);	/* interfaces, veth peers, sysctls, bpffs */
void doctor_check_ports(struct doctor *d);	/* listen addresses, media ports, fds */

/* Reads a sysctl under /proc/sys as an integer; -errno when it is not there. */
int doctor_sysctl(const char *path, long *val);

#endif /* SLUICE_DOCTOR_H */
