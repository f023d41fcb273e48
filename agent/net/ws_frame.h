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
/*
 * A connection's input as whole messages: buf holds r->msg bytes of a
 * fragmented message being joined, then the frames not yet read, *len
 * bytes in all, and has room for one byte more (a NUL). ws_read() unmasks
 * each frame (need_mask: a client's), joins data frames' payloads in
 * place and calls fn with each whole message (opcode TEXT, for text and
 * binary alike, its payload NUL-terminated for the call) and each control frame (CLOSE,
 * PING, PONG); what was handed over leaves buf. Returns 0 when what is
 * left is an incomplete frame, -EPROTO (a forbidden frame, fragments out
 * of order), -EMSGSIZE (a message over max) or -ECANCELED (fn returned
 * false: it stops reading, e.g. the connection closed).
 */
struct ws_reader {
	size_t	msg;		/* bytes of the message being joined */
	bool	frag;		/* its final frame has not come */
};
typedef bool (*ws_msg_fn)(void *arg, uint8_t opcode, char *payload, size_t len);
int ws_read(struct ws_reader *r, char *buf, size_t *len, uint64_t max, bool need_mask,
	    ws_msg_fn fn, void *arg);

/* XORs n bytes with the mask, from the payload's byte 0. */
void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4]);
/* The header of an unmasked, final frame of len bytes (ours: a server's); its size. */
size_t ws_frame_header(uint8_t out[WS_HDR_MAX], uint8_t opcode, uint64_t len);
/* Whether a header's comma-separated list holds token (case-insensitive: Upgrade, Connection). */
bool ws_has_token(const char *list, const char *token);
/* Sec-WebSocket-Accept for key: base64(SHA-1(key GUID)), NUL-terminated. */
int ws_accept(const char *key, char out[WS_ACCEPT_LEN + 1]);

#endif /* SLUICE_NET_WS_FRAME_H */
