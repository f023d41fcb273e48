// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: SDP bodies as they arrive in INVITEs, through the
 * parser and, when it accepts them, the rewrite towards the relay, whose
 * output must parse again with the same number of streams.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_parser.h>

#include "media/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_rewrite rw = { .addr = "192.0.2.1", .ports = { 30000, 30002, 30004, 30006 } };
	struct sdp_info info, again;
	char err[128], *out = NULL;

	if (sdp_parse((const char *)data, size, &info, err, sizeof(err)))
		return 0;
	if (sdp_rewrite((const char *)data, size, &rw, &out, err, sizeof(err)))
		abort();	/* parse accepted what rewrite refuses */
	if (sdp_parse(out, strlen(out), &again, err, sizeof(err)) ||
	    again.nstreams != info.nstreams)
		abort();
	free(out);
	return 0;
}
