// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: rtpproxy datagrams through the whole command path
 * (cookie, words, modifiers, U/L/D/Q/I on media sessions over loopback
 * ports, the reply cache), and the same bytes as a unix socket command.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/loop.h"
#include "ctl/rtpproxy.h"
#include "dp/dp.h"
#include "dp/dp_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct loop *loop;
	static struct media_ctx media;
	static struct dp *dp;
	static struct rtpproxy rp;
	char *reply;
	size_t rlen;

	if (!loop) {
		if (loop_new(&loop) || dp_user_open(&dp) ||
		    media_init(&media, loop, dp, "127.0.0.1", 44100, 44199, MEDIA_RELATCH_SSRC,
			       60, 3600) ||
		    rtpproxy_open(&rp, loop, &media, NULL, 0, NULL))
			abort();
	}
	rtpproxy_handle(&rp, (const char *)data, size, &reply, &rlen);
	free(reply);
	rtpproxy_handle_stream(&rp, (const char *)data, size, &reply, &rlen);
	free(reply);
	/* Sessions left behind would exhaust the ports: start each run clean. */
	rtpproxy_reset(&rp);
	return 0;
}
