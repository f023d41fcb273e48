/* SPDX-License-Identifier: GPL-2.0-only */
/* The doctor's look at interfaces, veth peers, sysctls, bpffs and nftables (links.c). */
#ifndef SLUICE_DOCTOR_LINKS_H
#define SLUICE_DOCTOR_LINKS_H

#include "doctor/report.h"

void doctor_check_links(struct doctor *d);

#endif /* SLUICE_DOCTOR_LINKS_H */
