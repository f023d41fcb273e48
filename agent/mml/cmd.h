/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The MML commands (mml/cmd.c): what each command of a logged-in operator
 * does, with the table that names them, their roles and parameters (HELP
 * prints it). The listener (server.h) cuts commands, logs operators in
 * and sends the replies; it runs a command through the mml_run_fn it was
 * opened with, which is mml_run() below, so that the commands depend on
 * the listener and never the other way round.
 */
#ifndef SLUICE_MML_CMD_H
#define SLUICE_MML_CMD_H

#include <stdbool.h>

#include "mml/parse.h"
#include "mml/reply.h"
#include "mml/server.h"
#include "store/operator.h"

/* One command being run: what its handler reads and writes. */
struct mml_call {
	struct mml_server	*m;
	const struct mml_cmd	*cmd;
	struct mml_reply	*r;
	const char		*text;		/* canonical command, for %%...%% */
	enum op_role		role;
	const char		*op;		/* the operator's name */
	bool			answered;	/* the handler wrote the head */
	bool			deferred;	/* the reply waits for the store's writer */
};

/*
 * Runs one parsed command for an operator logged in as role into r.
 * Returns the RETCODE. An mml_run_fn: give it to mml_open().
 */
int mml_run(struct mml_server *m, const struct mml_cmd *cmd, const char *text,
	    const char *op, enum op_role role, struct mml_reply *r);

/* In a handler: the head with RETCODE 0, or an error with its reason. */
void mml_ok(struct mml_call *c);
int mml_fail(struct mml_call *c, int retcode, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Commands in files of their own, listed in cmd.c's table. */
int mml_dsp_siptrace(struct mml_call *c);	/* cmd_trace.c */
int mml_set_siptrace(struct mml_call *c);	/* cmd_trace.c */
/* STR LISTEN, STP LISTEN (mml/listen.c) */
int mml_str_listen(struct mml_call *c);
int mml_stp_listen(struct mml_call *c);
/* ORG TESTCALL (mml/testcall.c) */
int mml_org_testcall(struct mml_call *c);

#endif /* SLUICE_MML_CMD_H */
