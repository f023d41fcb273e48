// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: SDP bodies as they arrive in INVITEs, through the
 * parser and, when it accepts them, the rewrite towards the relay. The
 * rewritten body must parse again into the same streams, now at the
 * relay: every live stream on its relay port and address (or still on
 * hold), every rejected one still rejected, and no ICE left.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "media/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_stream(const struct sdp_stream *in, const struct sdp_stream *out,
			 const char *relay, uint16_t port)
{
	if (strcmp(in->media, out->media) || in->dir != out->dir || in->hold != out->hold ||
	    in->rtcp_mux != out->rtcp_mux || in->clock_rate != out->clock_rate)
		abort();
	if (!in->port) {
		if (out->port)
			abort();	/* a rejected stream came back to life */
		return;
	}
	if (out->port != port || (!in->hold && strcmp(out->addr, relay)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_rewrite rw = { .ports = { 30000, 30002, 30004, 30006, 30008, 30010, 30012,
					     30014 } };
	struct sdp_info info, again;
	char err[128], *out = NULL, codec[32];
	bool one_family = true;
	int i;

	if (sdp_parse((const char *)data, size, &info, err, sizeof(err)))
		return 0;
	/* The CDR's codec, read from the same bytes (not NUL-terminated here). */
	if (!sdp_first_codec((const char *)data, size, codec, sizeof(codec)) && !codec[0])
		abort();
	/* The sessions relay a call in its own family; mixed ones they refuse. */
	rw.addr = info.nstreams && info.streams[0].family == AF_INET6 ? "2001:db8::1"
								      : "192.0.2.1";
	for (i = 1; i < info.nstreams; i++)
		if (info.streams[i].family && info.streams[i].family != info.streams[0].family)
			one_family = false;
	if (sdp_rewrite((const char *)data, size, &rw, &out, err, sizeof(err)))
		abort();	/* parse accepted what rewrite refuses */
	if (strstr(out, "\na=candidate:") || strstr(out, "\na=ice-"))
		abort();
	if (one_family) {
		if (sdp_parse(out, strlen(out), &again, err, sizeof(err)) ||
		    again.nstreams != info.nstreams)
			abort();
		for (i = 0; i < info.nstreams; i++)
			check_stream(&info.streams[i], &again.streams[i], rw.addr, rw.ports[i]);
	}
	free(out);
	return 0;
}
