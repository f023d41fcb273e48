// SPDX-License-Identifier: GPL-2.0-only
/*
 * WebSocket frames (see ws_frame.h).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "net/ws_frame.h"

static bool known_opcode(uint8_t op)
{
	return op <= WS_OP_BINARY || (op >= WS_OP_CLOSE && op <= WS_OP_PONG);
}

long ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max, bool need_mask,
		    struct ws_frame *f)
{
	size_t h = 2;
	uint64_t n;

	memset(f, 0, sizeof(*f));
	if (len < 2)
		return 0;
	f->fin = buf[0] & 0x80;
	f->opcode = buf[0] & 0x0f;
	f->masked = buf[1] & 0x80;
	n = buf[1] & 0x7f;
	if ((buf[0] & 0x70) || !known_opcode(f->opcode) || (need_mask && !f->masked))
		return -EPROTO;
	if (n == 126) {
		if (len < 4)
			return 0;
		n = (uint64_t)buf[2] << 8 | buf[3];
		h = 4;
		if (n < 126)
			return -EPROTO;
	} else if (n == 127) {
		if (len < 10)
			return 0;
		n = 0;
		for (int i = 0; i < 8; i++)
			n = n << 8 | buf[2 + i];
		h = 10;
		if (n <= 0xffff || (n >> 63))
			return -EPROTO;
	}
	if (f->opcode >= WS_OP_CLOSE && (!f->fin || n > WS_CTRL_MAX))
		return -EPROTO;
	if (n > max)
		return -EMSGSIZE;
	if (f->masked) {
		if (len < h + 4)
			return 0;
		memcpy(f->mask, buf + h, 4);
		h += 4;
	}
	f->hdr_len = h;
	f->len = n;
	if (len - h < n)
		return 0;
	return (long)(h + n);
}

void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4])
{
	for (size_t i = 0; i < n; i++)
		p[i] ^= mask[i & 3];
}

/* Hands the message joined at buf's start to fn, NUL-terminated meanwhile. */
static bool deliver(char *buf, size_t m, uint8_t opcode, ws_msg_fn fn, void *arg)
{
	char save = buf[m];
	bool go;

	buf[m] = '\0';
	go = fn(arg, opcode, buf, m);
	buf[m] = save;
	return go;
}

int ws_read(struct ws_reader *r, char *buf, size_t *len, uint64_t max, bool need_mask,
	    ws_msg_fn fn, void *arg)
{
	for (;;) {
		char *raw = buf + r->msg;
		size_t avail = *len - r->msg;
		struct ws_frame f;
		long n = ws_frame_parse((const uint8_t *)raw, avail, max - r->msg, need_mask, &f);
		size_t plen;

		if (n <= 0)
			return (int)n;
		plen = (size_t)f.len;
		ws_unmask((uint8_t *)raw + f.hdr_len, plen, f.mask);
		if (f.opcode >= WS_OP_CLOSE) {
			/* A control frame may come between fragments (RFC 6455 §5.4). */
			if (!deliver(raw + f.hdr_len, plen, f.opcode, fn, arg))
				return -ECANCELED;
			memmove(raw, raw + n, avail - (size_t)n);
			*len -= (size_t)n;
			continue;
		}
		if ((f.opcode == WS_OP_CONT) != r->frag)
			return -EPROTO;
		if (f.opcode != WS_OP_CONT)
			r->frag = false;
		/* The payload joins the message; the frames after it close up. */
		memmove(raw, raw + f.hdr_len, plen);
		memmove(raw + plen, raw + n, avail - (size_t)n);
		*len -= f.hdr_len;
		r->msg += plen;
		r->frag = !f.fin;
		if (r->frag)
			continue;
		{
			size_t m = r->msg;

			r->msg = 0;
			if (!deliver(buf, m, WS_OP_TEXT, fn, arg))
				return -ECANCELED;
			memmove(buf, buf + m, *len - m);
			*len -= m;
		}
	}
}

size_t ws_frame_header(uint8_t out[WS_HDR_MAX], uint8_t opcode, uint64_t len)
{
	out[0] = 0x80 | (opcode & 0x0f);
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

bool ws_has_token(const char *list, const char *token)
{
	size_t tl = strlen(token);

	while (list && *list) {
		size_t n;

		list += strspn(list, " \t,");
		n = strcspn(list, " \t,");
		if (n == tl && !strncasecmp(list, token, tl))
			return true;
		list += n;
	}
	return false;
}

int ws_accept(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[SHA_DIGEST_LENGTH];
	char buf[128];
	size_t kl = strlen(key);

	if (kl + sizeof(guid) > sizeof(buf))
		return -EINVAL;
	memcpy(buf, key, kl);
	memcpy(buf + kl, guid, sizeof(guid) - 1);
	SHA1((const unsigned char *)buf, kl + sizeof(guid) - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, sizeof(md));
	out[WS_ACCEPT_LEN] = '\0';
	return 0;
}
