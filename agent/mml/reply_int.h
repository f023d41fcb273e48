/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Between reply.c, which a command writes its result through, and
 * reply_json.c, which renders that result as JSON for the web API.
 */
#ifndef SLUICE_MML_REPLY_INT_H
#define SLUICE_MML_REPLY_INT_H

#include <stdarg.h>

#include "mml/reply.h"

void mml_json_head(struct mml_reply *r, int retcode, const char *reason);
/* The table in r->cells (its first row the column names) into "tables". */
void mml_json_table(struct mml_reply *r);
void mml_json_vline(struct mml_reply *r, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void mml_json_free(struct mml_reply *r);

#endif /* SLUICE_MML_REPLY_INT_H */
