// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: what a WebSocket client sends after the upgrade, as
 * the transport reads it (net/ws_frame.c's ws_read(): frames unmasked,
 * fragments joined in place, control frames between them). The first
 * byte picks: bit 0 whether frames must be masked (a server's reading),
 * bits 1-2 how the input is cut into reads (at once, or in pieces of 1, 7
 * or 64 bytes), as a socket may deliver it. Every message handed up must
 * lie inside the buffer and be NUL-terminated; no read may go past it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG	4096
#define CAP	(MAX_MSG + WS_HDR_MAX)

struct seen {
	const char	*buf;
	unsigned	n;
};

static bool on_msg(void *arg, uint8_t opcode, char *payload, size_t len)
{
	struct seen *s = arg;

	if (payload[len] != '\0' || (opcode < WS_OP_CLOSE && payload != s->buf))
		__builtin_trap();
	if (opcode >= WS_OP_CLOSE && len > WS_CTRL_MAX)
		__builtin_trap();
	s->n++;
	return opcode != WS_OP_CLOSE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t steps[4] = { CAP, 1, 7, 64 };
	struct ws_reader r = { 0 };
	struct ws_frame f;
	size_t len = 0, off, step;
	struct seen s;
	bool mask;
	char *buf;
	int rc = 0;

	if (size < 1)
		return 0;
	mask = data[0] & 1;
	step = steps[(data[0] >> 1) & 3];
	data++;
	size--;
	/* The parser alone never claims more than it was given. */
	{
		long n = ws_frame_parse(data, size, MAX_MSG, mask, &f);

		if (n > 0 && ((size_t)n > size || f.hdr_len + f.len != (size_t)n))
			__builtin_trap();
	}
	buf = malloc(CAP + 1);
	if (!buf)
		return 0;
	s.buf = buf;
	s.n = 0;
	for (off = 0; off < size && rc == 0;) {
		size_t n = size - off;

		if (n > step)
			n = step;
		if (n > CAP - len)
			n = CAP - len;
		if (!n)
			break;
		memcpy(buf + len, data + off, n);
		len += n;
		off += n;
		rc = ws_read(&r, buf, &len, MAX_MSG, mask, on_msg, &s);
		if (len > CAP || r.msg > len)
			__builtin_trap();
	}
	free(buf);
	return 0;
}
