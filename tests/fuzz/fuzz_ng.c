// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: NG datagrams through the whole command path (cookie,
 * bencode, dispatch, media sessions over loopback ports, the reply cache).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/loop.h"
#include "ctl/ng.h"
#include "dp/dp.h"
#include "dp/dp_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct loop *loop;
	static struct media_ctx media;
	static struct dp *dp;
	static struct ng ng;
	char *reply;
	size_t rlen;

	if (!loop) {
		if (loop_new(&loop) || dp_user_open(&dp) ||
		    media_init(&media, loop, dp, "int/127.0.0.1, ext/127.0.0.2", 44000, 44099,
			       MEDIA_RELATCH_SSRC, 60, 3600))
			abort();
		ng.loop = loop;
		ng.media = &media;
		ng.fd = -1;
	}
	ng_handle(&ng, (const char *)data, size, &reply, &rlen);
	free(reply);
	/* Calls left behind would exhaust the ports: start each run clean. */
	ng_reset(&ng);
	return 0;
}
