// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the MML parser and the canonical form written back
 * into the reply, over whatever a TCP client sends.
 */
#include <stddef.h>
#include <stdint.h>

#include "mml/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secret[] = { "PWD", NULL };
	struct mml_cmd cmd;
	char err[128], out[MML_MAX_LINE + 512];

	if (mml_parse((const char *)data, size, &cmd, err, sizeof(err)) == 0)
		mml_format(&cmd, secret, out, sizeof(out));
	return 0;
}
