// SPDX-License-Identifier: GPL-2.0-only
/*
 * The doctor's runner (doctor.h): it runs the checks of links.c and
 * ports.c in the order an operator reads them (interfaces and the kernel
 * path first, then sockets and limits) and counts what they found.
 */
#include "doctor/doctor.h"
#include "doctor/links.h"
#include "doctor/ports.h"

int doctor_run(const struct conf *conf, unsigned flags, doctor_fn fn, void *arg)
{
	struct doctor d = { .conf = conf, .flags = flags, .report = fn, .arg = arg };

	doctor_check_links(&d);
	doctor_check_ports(&d);
	return d.nfail;
}
