/* SPDX-License-Identifier: GPL-2.0-only */
/* The doctor's look at listen addresses, media ports and the open-file limit (ports.c). */
#ifndef SLUICE_DOCTOR_PORTS_H
#define SLUICE_DOCTOR_PORTS_H

#include "doctor/report.h"

void doctor_check_ports(struct doctor *d);

#endif /* SLUICE_DOCTOR_PORTS_H */
