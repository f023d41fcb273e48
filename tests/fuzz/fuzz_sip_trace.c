// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: whatever arrives on a SIP port, into the SIP tracker
 * (sip/trace.c), which reads its first line and scans its header lines
 * for the Call-ID; then the searches that read the kept text again (by
 * number, the user parts of the request line, From and To), with a
 * number taken from the input's first bytes. A small ring, so that
 * eviction runs too.
 */
#include <stdint.h>
#include <string.h>

#include "sip/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_trace t;
	static char ids[SIP_TRACE_MAX_IDS][SIP_TRACE_CALLID_MAX];
	char number[8] = "";
	size_t n = size < 4 ? size : 4;

	if (!sip_trace_on(&t) && sip_trace_init(&t, 4))
		return 0;
	for (size_t i = 0; i < n && data[i] >= '0' && data[i] <= '9'; i++)
		number[i] = (char)data[i];
	sip_trace_add(&t, 1, size & 1, 0, NULL, 0, NULL, 0, (const char *)data, size);
	if (t.n && t.seq % 2)
		sip_trace_link(&t, sip_trace_at(&t, 0)->call_id, sip_trace_at(&t, t.n - 1)->call_id);
	sip_trace_ids(&t, NULL, number[0] ? number : "2002", ids, SIP_TRACE_MAX_IDS);
	sip_trace_ids(&t, NULL, NULL, ids, SIP_TRACE_MAX_IDS);
	if (t.bytes > t.max_bytes || t.n > t.cap)
		__builtin_trap();
	return 0;
}
