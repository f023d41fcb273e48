// SPDX-License-Identifier: GPL-2.0-only
/*
 * The STUN Binding server (see stun.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <zlib.h>

#include "sip/stun.h"

#define TYPE_BINDING_REQUEST	0x0001
#define TYPE_BINDING_SUCCESS	0x0101
#define TYPE_BINDING_ERROR	0x0111
#define ATTR_MAPPED_ADDRESS	0x0001
#define ATTR_USERNAME		0x0006
#define ATTR_MESSAGE_INTEGRITY	0x0008
#define ATTR_ERROR_CODE		0x0009
#define ATTR_UNKNOWN_ATTRIBUTES	0x000a
#define ATTR_REALM		0x0014
#define ATTR_NONCE		0x0015
#define ATTR_XOR_MAPPED_ADDRESS	0x0020
#define ATTR_PRIORITY		0x0024	/* ICE, RFC 8445 */
#define ATTR_USE_CANDIDATE	0x0025
#define ATTR_SOFTWARE		0x8022
#define ATTR_FINGERPRINT	0x8028
#define MAX_UNKNOWN		8

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

bool stun_is_packet(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	return len >= STUN_HEADER && (p[0] & 0xc0) == 0 && get32(p + 4) == STUN_COOKIE &&
	       (get16(p + 2) & 3) == 0;
}

static uint32_t fingerprint(const uint8_t *msg, size_t len)
{
	return (uint32_t)crc32(0L, msg, (uInt)len) ^ STUN_FP_XOR;
}

static bool known(uint16_t type)
{
	switch (type) {
	case ATTR_MAPPED_ADDRESS:
	case ATTR_USERNAME:
	case ATTR_MESSAGE_INTEGRITY:
	case ATTR_ERROR_CODE:
	case ATTR_UNKNOWN_ATTRIBUTES:
	case ATTR_REALM:
	case ATTR_NONCE:
	case ATTR_XOR_MAPPED_ADDRESS:
	case ATTR_PRIORITY:
	case ATTR_USE_CANDIDATE:
		return true;
	}
	return type >= 0x8000;	/* comprehension-optional */
}

struct out {
	uint8_t	*p;
	size_t	len, cap;
	bool	over;
};

static uint8_t *attr(struct out *o, uint16_t type, uint16_t len)
{
	size_t padded = (len + 3u) & ~3u;
	uint8_t *v;

	if (o->len + 4 + padded > o->cap) {
		o->over = true;
		return NULL;
	}
	put16(o->p + o->len, type);
	put16(o->p + o->len + 2, len);
	v = o->p + o->len + 4;
	memset(v, 0, padded);
	o->len += 4 + padded;
	return v;
}

/* MAPPED-ADDRESS, or with x the XOR form keyed by the cookie and tid. */
static void address(struct out *o, uint16_t type, const struct sockaddr *src, bool x,
		    const uint8_t *tid)
{
	uint8_t key[16], *v;
	uint16_t port;

	put32(key, STUN_COOKIE);
	memcpy(key + 4, tid, 12);
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)src;

		v = attr(o, type, 8);
		if (!v)
			return;
		v[1] = 0x01;
		port = ntohs(sin->sin_port);
		put16(v + 2, x ? port ^ (uint16_t)(STUN_COOKIE >> 16) : port);
		memcpy(v + 4, &sin->sin_addr, 4);
		for (int i = 0; x && i < 4; i++)
			v[4 + i] ^= key[i];
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)src;

		v = attr(o, type, 20);
		if (!v)
			return;
		v[1] = 0x02;
		port = ntohs(sin6->sin6_port);
		put16(v + 2, x ? port ^ (uint16_t)(STUN_COOKIE >> 16) : port);
		memcpy(v + 4, &sin6->sin6_addr, 16);
		for (int i = 0; x && i < 16; i++)
			v[4 + i] ^= key[i];
	}
}

static int finish(struct out *o)
{
	uint8_t *v;

	put16(o->p + 2, (uint16_t)(o->len + 8 - STUN_HEADER));	/* FINGERPRINT counted */
	v = attr(o, ATTR_FINGERPRINT, 4);
	if (!v || o->over)
		return -ENOBUFS;
	put32(v, fingerprint(o->p, o->len - 8));
	return (int)o->len;
}

int stun_answer(const uint8_t *req, size_t len, const struct sockaddr *src, uint8_t *out,
		size_t outlen)
{
	uint16_t unknown[MAX_UNKNOWN];
	struct out o = { out, STUN_HEADER, outlen, false };
	size_t mlen, off;
	int nunknown = 0;
	uint8_t *v;

	if (!stun_is_packet(req, len) || (src->sa_family != AF_INET && src->sa_family != AF_INET6))
		return 0;
	mlen = get16(req + 2);
	if (STUN_HEADER + mlen != len || get16(req) != TYPE_BINDING_REQUEST)
		return 0;
	for (off = STUN_HEADER; off < len;) {
		uint16_t type, alen;

		if (len - off < 4)
			return 0;
		type = get16(req + off);
		alen = get16(req + off + 2);
		if (len - off - 4 < ((alen + 3u) & ~3u))
			return 0;
		if (type == ATTR_FINGERPRINT) {
			/* Last, and right (RFC 5389 §15.5). */
			if (alen != 4 || off + 8 != len ||
			    get32(req + off + 4) != fingerprint(req, off))
				return 0;
		} else if (!known(type) && nunknown < MAX_UNKNOWN) {
			unknown[nunknown++] = type;
		}
		off += 4 + ((alen + 3u) & ~3u);
	}
	if (outlen < STUN_HEADER)
		return -ENOBUFS;
	memcpy(out + 4, req + 4, 16);		/* cookie and transaction ID */
	if (nunknown) {
		put16(out, TYPE_BINDING_ERROR);
		v = attr(&o, ATTR_ERROR_CODE, 4 + 17);
		if (v) {
			v[2] = 4;
			v[3] = 20;
			memcpy(v + 4, "Unknown Attribute", 17);
		}
		v = attr(&o, ATTR_UNKNOWN_ATTRIBUTES, (uint16_t)(2 * nunknown));
		for (int i = 0; v && i < nunknown; i++)
			put16(v + 2 * i, unknown[i]);
	} else {
		put16(out, TYPE_BINDING_SUCCESS);
		address(&o, ATTR_XOR_MAPPED_ADDRESS, src, true, req + 8);
		address(&o, ATTR_MAPPED_ADDRESS, src, false, req + 8);
	}
	v = attr(&o, ATTR_SOFTWARE, 6);
	if (v)
		memcpy(v, "sluice", 6);
	return finish(&o);
}
