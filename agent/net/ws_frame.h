/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * WebSocket framing (RFC 6455 §5): the one parser of frames a peer sends,
 * the header of frames we send, and the handshake's Sec-WebSocket-Accept.
 * libmicrohttpd does the HTTP upgrade; Debian's build has no WebSocket
 * framing (its libmicrohttpd_ws is not packaged), so the frames are ours.
 * Pure functions over buffers: no allocation, no I/O, fuzzed
 * (tests/fuzz/fuzz_ws_frame.c).
 */
#ifndef SLUICE_NET_WS_FRAME_H
#define SLUICE_NET_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

#define WS_HDR_MAX	14	/* 2 + 8 (length) + 4 (mask) */
#define WS_CTRL_MAX	125	/* a control frame's payload */
#define WS_ACCEPT_LEN	28	/* base64 of a SHA-1 */

struct ws_frame {
	bool		fin;
	uint8_t		opcode;		/* enum ws_opcode */
	bool		masked;
	uint8_t		mask[4];
	size_t		hdr_len;
	uint64_t	len;		/* payload bytes */
};

/*
 * The frame at buf: its whole size (header and payload, all in buf) with
 * *f filled in; 0 when buf holds less than the whole frame; -EPROTO for a
 * frame RFC 6455 forbids (reserved bits without an extension, an unknown
 * opcode, a control frame fragmented or over 125 bytes, a client's frame
 * unmasked when need_mask, a length not in its shortest form) and
 * -EMSGSIZE for a payload over max. Never reads past len.
 */
long ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max, bool need_mask,
		    struct ws_frame *f);
/* XORs n bytes with the mask, from the payload's byte 0. */
void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4]);
/* The header of an unmasked, final frame of len bytes (ours: a server's); its size. */
size_t ws_frame_header(uint8_t out[WS_HDR_MAX], uint8_t opcode, uint64_t len);
/* Sec-WebSocket-Accept for key: base64(SHA-1(key GUID)), NUL-terminated. */
int ws_accept(const char *key, char out[WS_ACCEPT_LEN + 1]);

#endif /* SLUICE_NET_WS_FRAME_H */
