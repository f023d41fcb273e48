// SPDX-License-Identifier: GPL-2.0-only
/*
 * The STUN Binding server (see stun.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <zlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "net/stun.h"

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
#define ATTR_ICE_CONTROLLED	0x8029
#define MAX_UNKNOWN		8
#define MI_LEN			20	/* HMAC-SHA1 */
#define USERNAME_MAX		513	/* RFC 5389 §15.3 */

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

/* What a request says, as far as an answer needs it. */
struct request {
	uint16_t	unknown[MAX_UNKNOWN];
	int		nunknown;
	const uint8_t	*username;	/* NULL: none */
	uint16_t	username_len;
	size_t		mi_off;		/* MESSAGE-INTEGRITY's offset, 0: none */
	bool		use_candidate;	/* before MESSAGE-INTEGRITY, so covered by it */
	bool		controlled;	/* ICE-CONTROLLED */
};

/* One attribute before MESSAGE-INTEGRITY; false: a malformed one. */
static bool note_attr(struct request *r, const uint8_t *req, size_t off, uint16_t type,
		      uint16_t alen)
{
	switch (type) {
	case ATTR_MESSAGE_INTEGRITY:
		r->mi_off = off;
		return alen == MI_LEN;
	case ATTR_USERNAME:
		r->username = req + off + 4;
		r->username_len = alen;
		break;
	case ATTR_USE_CANDIDATE:
		r->use_candidate = true;
		break;
	case ATTR_ICE_CONTROLLED:
		r->controlled = true;
		break;
	default:
		if (!known(type) && r->nunknown < MAX_UNKNOWN)
			r->unknown[r->nunknown++] = type;
	}
	return true;
}

/*
 * Walks a Binding request's attributes. false: no answer at all (not a
 * Binding request, damaged, a FINGERPRINT that is not last or not right).
 * What follows MESSAGE-INTEGRITY, FINGERPRINT apart, is ignored (RFC 5389
 * §15.4).
 */
static bool parse_request(const uint8_t *req, size_t len, const struct sockaddr *src,
			  struct request *r)
{
	size_t off;

	memset(r, 0, sizeof(*r));
	if (!stun_is_packet(req, len) || (src->sa_family != AF_INET && src->sa_family != AF_INET6))
		return false;
	if (STUN_HEADER + (size_t)get16(req + 2) != len || get16(req) != TYPE_BINDING_REQUEST)
		return false;
	for (off = STUN_HEADER; off < len;) {
		uint16_t type, alen;

		if (len - off < 4)
			return false;
		type = get16(req + off);
		alen = get16(req + off + 2);
		if (len - off - 4 < ((alen + 3u) & ~3u))
			return false;
		if (type == ATTR_FINGERPRINT) {
			/* Last, and right (RFC 5389 §15.5). */
			if (alen != 4 || off + 8 != len ||
			    get32(req + off + 4) != fingerprint(req, off))
				return false;
		} else if (!r->mi_off && !note_attr(r, req, off, type, alen)) {
			return false;
		}
		off += 4 + ((alen + 3u) & ~3u);
	}
	return true;
}

/*
 * HMAC-SHA1 of msg[0, mi_off) keyed by key, the header's length counting
 * up to the end of MESSAGE-INTEGRITY at mi_off (RFC 5389 §15.4). false
 * when OpenSSL fails or the message is too long to copy.
 */
static bool integrity(const uint8_t *msg, size_t mi_off, const char *key, uint8_t *mac)
{
	uint8_t copy[STUN_MAX_REQUEST];
	unsigned int maclen = 0;

	if (mi_off > sizeof(copy))
		return false;
	memcpy(copy, msg, mi_off);
	put16(copy + 2, (uint16_t)(mi_off + 4 + MI_LEN - STUN_HEADER));
	if (!HMAC(EVP_sha1(), key, (int)strlen(key), copy, mi_off, mac, &maclen))
		return false;
	return maclen == MI_LEN;
}

bool stun_check_integrity(const uint8_t *msg, size_t len, const char *key)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t off;

	if (len < STUN_HEADER || STUN_HEADER + (size_t)get16(msg + 2) != len)
		return false;
	for (off = STUN_HEADER; len - off >= 4;) {
		uint16_t type = get16(msg + off), alen = get16(msg + off + 2);

		if (len - off - 4 < ((alen + 3u) & ~3u))
			return false;
		if (type == ATTR_MESSAGE_INTEGRITY)
			return alen == MI_LEN && integrity(msg, off, key, mac) &&
			       CRYPTO_memcmp(mac, msg + off + 4, MI_LEN) == 0;
		off += 4 + ((alen + 3u) & ~3u);
	}
	return false;
}

/* ERROR-CODE (RFC 5389 §15.6) with its reason phrase. */
static void error_code(struct out *o, int code, const char *reason)
{
	size_t n = strlen(reason);
	uint8_t *v = attr(o, ATTR_ERROR_CODE, (uint16_t)(4 + n));

	if (!v)
		return;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, n);
}

static void software(struct out *o)
{
	uint8_t *v = attr(o, ATTR_SOFTWARE, 6);

	if (v)
		memcpy(v, "sluice", 6);
}

/* MESSAGE-INTEGRITY keyed by key over what o holds so far. */
static void sign(struct out *o, const char *key)
{
	size_t off = o->len;
	uint8_t mac[EVP_MAX_MD_SIZE];
	uint8_t *v = attr(o, ATTR_MESSAGE_INTEGRITY, MI_LEN);

	if (!v)
		return;
	if (!integrity(o->p, off, key, mac)) {
		o->over = true;
		return;
	}
	memcpy(v, mac, MI_LEN);
}

int stun_answer(const uint8_t *req, size_t len, const struct sockaddr *src, uint8_t *out,
		size_t outlen)
{
	struct out o = { out, STUN_HEADER, outlen, false };
	struct request r;
	uint8_t *v;

	if (!parse_request(req, len, src, &r))
		return 0;
	if (outlen < STUN_HEADER)
		return -ENOBUFS;
	memcpy(out + 4, req + 4, 16);		/* cookie and transaction ID */
	if (r.nunknown) {
		put16(out, TYPE_BINDING_ERROR);
		error_code(&o, 420, "Unknown Attribute");
		v = attr(&o, ATTR_UNKNOWN_ATTRIBUTES, (uint16_t)(2 * r.nunknown));
		for (int i = 0; v && i < r.nunknown; i++)
			put16(v + 2 * i, r.unknown[i]);
	} else {
		put16(out, TYPE_BINDING_SUCCESS);
		address(&o, ATTR_XOR_MAPPED_ADDRESS, src, true, req + 8);
		address(&o, ATTR_MAPPED_ADDRESS, src, false, req + 8);
	}
	software(&o);
	return finish(&o);
}

/* Is the USERNAME "cred->ufrag:peer's ufrag" (RFC 8445 §7.2.2)? */
static bool ice_username_ok(const struct request *r, const struct stun_ice_cred *cred)
{
	size_t n = strlen(cred->ufrag);

	return r->username_len > n + 1 && r->username_len <= USERNAME_MAX &&
	       !memcmp(r->username, cred->ufrag, n) && r->username[n] == ':';
}

/*
 * The checks of RFC 5389 §10.1.2 for short-term credentials: 0 when the
 * request authenticates, else the error code to answer (400, 401).
 */
static int ice_auth(const uint8_t *req, const struct request *r,
		    const struct stun_ice_cred *cred)
{
	uint8_t mac[EVP_MAX_MD_SIZE];

	if (!r->username || !r->mi_off)
		return 400;
	if (!ice_username_ok(r, cred) || !integrity(req, r->mi_off, cred->pwd, mac) ||
	    CRYPTO_memcmp(mac, req + r->mi_off + 4, MI_LEN))
		return 401;
	return 0;
}

int stun_ice_answer(const uint8_t *req, size_t len, const struct sockaddr *src,
		    const struct stun_ice_cred *cred, uint8_t *out, size_t outlen,
		    unsigned *flags)
{
	struct out o = { out, STUN_HEADER, outlen, false };
	struct request r;
	int err;
	uint8_t *v;

	*flags = 0;
	if (!parse_request(req, len, src, &r))
		return 0;
	if (outlen < STUN_HEADER)
		return -ENOBUFS;
	memcpy(out + 4, req + 4, 16);		/* cookie and transaction ID */
	put16(out, TYPE_BINDING_ERROR);
	err = ice_auth(req, &r, cred);
	if (err) {
		/* Unauthenticated: no MESSAGE-INTEGRITY (RFC 5389 §10.1.2). */
		error_code(&o, err, err == 400 ? "Bad Request" : "Unauthorized");
		software(&o);
		return finish(&o);
	}
	*flags = STUN_ICE_AUTHENTICATED;
	if (r.nunknown) {
		error_code(&o, 420, "Unknown Attribute");
		v = attr(&o, ATTR_UNKNOWN_ATTRIBUTES, (uint16_t)(2 * r.nunknown));
		for (int i = 0; v && i < r.nunknown; i++)
			put16(v + 2 * i, r.unknown[i]);
	} else if (r.controlled) {
		/*
		 * A lite agent is always controlled (RFC 8445 §6.1.1): a peer
		 * that thinks it is too must take the controlling role
		 * (§7.3.1.1, answered as the agent with the larger tie-breaker).
		 */
		error_code(&o, 487, "Role Conflict");
	} else {
		put16(out, TYPE_BINDING_SUCCESS);
		address(&o, ATTR_XOR_MAPPED_ADDRESS, src, true, req + 8);
		if (r.use_candidate)
			*flags |= STUN_ICE_USE_CANDIDATE;
	}
	software(&o);
	sign(&o, cred->pwd);
	return finish(&o);
}
