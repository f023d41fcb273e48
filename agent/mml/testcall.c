// SPDX-License-Identifier: GPL-2.0-only
/*
 * ORG TESTCALL (sip/testcall.c): an ADMIN has sluiced call a registered
 * subscriber and play it a prompt from [testcall] prompts, at most
 * [testcall] rate a minute. The reply names the call (DSP CALL, RMV CALL).
 */
#include <errno.h>
#include <stdio.h>

#include "core/log.h"
#include "mml/cmd.h"
#include "sip/b2bua.h"

int mml_org_testcall(struct mml_call *c)
{
	static const char *const cols[] = { "CALLID", "CALLEE", "PROMPT" };
	const char *callee = mml_param(c->cmd, "CALLEE");
	const char *prompt = mml_param(c->cmd, "PROMPT");
	char id[256], err[160] = "";
	const char *row[3];
	int rc;

	if (!callee || !callee[0])
		return mml_fail(c, MML_RET_PARAM, "CALLEE (a subscriber's user name) is required");
	if (!prompt)
		prompt = "tone.wav";
	rc = b2bua_testcall(c->m->env.sip, callee, mml_param(c->cmd, "BRIDGE"), prompt, c->op, id,
			    sizeof(id), err, sizeof(err));
	if (rc == -EBUSY)
		return mml_fail(c, MML_RET_BUSY, "%s", err);
	if (rc == -ENOENT || rc == -EHOSTUNREACH)
		return mml_fail(c, MML_RET_NOT_FOUND, "%s", err);
	if (rc == -EINVAL)
		return mml_fail(c, MML_RET_PARAM, "PROMPT %s: %s", prompt, err);
	if (rc)
		return mml_fail(c, MML_RET_INTERNAL, "no test call: %s", err[0] ? err : "failed");
	row[0] = id;
	row[1] = callee;
	row[2] = prompt;
	mml_ok(c);
	mml_reply_table_begin(c->r, "Test call", 3, cols);
	mml_reply_row(c->r, row);
	mml_reply_table_end(c->r);
	return 0;
}
