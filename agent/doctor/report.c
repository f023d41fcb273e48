// SPDX-License-Identifier: GPL-2.0-only
/*
 * The doctor's findings (report.h): counted as they are made, handed to the
 * caller's callback, printed for a terminal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/report.h"

void doctor_add(struct doctor *d, enum doctor_level level, const char *topic, const char *fix,
		const char *fmt, ...)
{
	struct doctor_finding f = { .level = level, .topic = topic };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f.what, sizeof(f.what), fmt, ap);
	va_end(ap);
	snprintf(f.fix, sizeof(f.fix), "%s", fix ? fix : "");
	if (level == DOCTOR_FAIL)
		d->nfail++;
	else if (level == DOCTOR_WARN)
		d->nwarn++;
	d->report(&f, d->arg);
}

int doctor_sysctl(const char *path, long *val)
{
	char full[256], buf[64];
	FILE *f;
	int err = 0;

	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	f = fopen(full, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		err = -EIO;
	else
		*val = strtol(buf, NULL, 10);
	fclose(f);
	return err;
}

void doctor_print(const struct doctor_finding *f, void *file)
{
	static const char *const level[] = { "ok", "WARN", "FAIL" };
	FILE *out = file;

	fprintf(out, "%-4s  %-7s %s\n", level[f->level], f->topic, f->what);
	if (f->fix[0])
		fprintf(out, "%-4s  %-7s fix: %s\n", "", "", f->fix);
}
