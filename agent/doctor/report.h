/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The doctor's findings (doctor.h says what the doctor is for): a level,
 * a topic, what was found and its fix, handed to a callback as each check
 * makes them. The checks (links.c, ports.c) report through doctor_add();
 * the runner (doctor.c) calls them in turn.
 */
#ifndef SLUICE_DOCTOR_REPORT_H
#define SLUICE_DOCTOR_REPORT_H

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

/* One run of the checks: what they look at, where findings go, the counts. */
struct doctor {
	const struct conf	*conf;
	unsigned		flags;
	doctor_fn		report;
	void			*arg;
	int			nwarn;
	int			nfail;
};

/* One finding, what as printf. */
void doctor_add(struct doctor *d, enum doctor_level level, const char *topic, const char *fix,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Prints a finding for a terminal: "FAIL  ports  ...", then "      fix: ...". */
void doctor_print(const struct doctor_finding *f, void *file);

/* Reads a sysctl under /proc/sys as an integer; -errno when it is not there. */
int doctor_sysctl(const char *path, long *val);

#endif /* SLUICE_DOCTOR_REPORT_H */
