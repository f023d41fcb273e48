/* SPDX-License-Identifier: GPL-2.0-only */
/* The release both programs report; the ABI has its own version. */
#ifndef SLUICE_VERSION_H
#define SLUICE_VERSION_H

#define SLUICE_VERSION "0.1.0"

#endif /* SLUICE_VERSION_H */
