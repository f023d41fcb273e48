/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Between reply.c, which a command writes its result through, and
 * reply_json.c, which renders that result as JSON for the web API.
 */
#ifndef SLUICE_MML_REPLY_INT_H
#define SLUICE_MML_REPLY_INT_H

#include <stdarg.h>

#include "mml/reply.h"

/*
 * A renderer other than MML's text, set by its init (mml_reply_init_json):
 * reply.c hands it each part of the result and knows nothing of its format.
 */
struct mml_render {
	void (*head)(struct mml_reply *r, int retcode, const char *reason);
	/* The table in r->cells (its first row the column names). */
	void (*table)(struct mml_reply *r);
	void (*vline)(struct mml_reply *r, const char *fmt, va_list ap)
		__attribute__((format(printf, 2, 0)));
	void (*free)(struct mml_reply *r);
};

#endif /* SLUICE_MML_REPLY_INT_H */
