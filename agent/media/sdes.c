// SPDX-License-Identifier: GPL-2.0-only
/*
 * a=crypto lines (see sdes.h). Base64 by hand: OpenSSL's EVP_DecodeBlock
 * takes padding as data and accepts what RFC 4648 does not, and the key
 * length must come out exact.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "media/sdes.h"

const struct sdes_suite_info sdes_suites[SDES_NSUITES] = {
	[SDES_AES_CM_128_HMAC_SHA1_80] = { "AES_CM_128_HMAC_SHA1_80", 30 },
	[SDES_AES_CM_128_HMAC_SHA1_32] = { "AES_CM_128_HMAC_SHA1_32", 30 },
	[SDES_AEAD_AES_128_GCM] = { "AEAD_AES_128_GCM", 28 },
	[SDES_AEAD_AES_256_GCM] = { "AEAD_AES_256_GCM", 44 },
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/*
 * Decodes exactly len characters into out (at most n bytes); padding
 * only at the end. Returns the byte count or -EINVAL.
 */
static int b64_decode(const char *s, size_t len, uint8_t *out, size_t n)
{
	uint32_t acc = 0;
	size_t i, bits = 0, o = 0, pad = 0;

	for (i = 0; i < len; i++) {
		int v;

		if (s[i] == '=') {
			pad++;
			continue;
		}
		v = b64_value(s[i]);
		if (v < 0 || pad)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == n)
				return -EINVAL;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (pad > 2 || len % 4 != 0 || (pad && bits == 0))
		return -EINVAL;
	return (int)o;
}

static void b64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*out++ = b64[in[i] >> 2];
		*out++ = b64[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*out++ = b64[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		*out++ = b64[in[i + 2] & 63];
	}
	if (len - i == 1) {
		*out++ = b64[in[i] >> 2];
		*out++ = b64[(in[i] & 3) << 4];
		*out++ = '=';
		*out++ = '=';
	} else if (len - i == 2) {
		*out++ = b64[in[i] >> 2];
		*out++ = b64[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*out++ = b64[(in[i + 1] & 15) << 2];
		*out++ = '=';
	}
	*out = '\0';
}

int sdes_suite_by_name(const char *name, size_t len)
{
	for (int s = 0; s < SDES_NSUITES; s++)
		if (strlen(sdes_suites[s].name) == len && !strncmp(sdes_suites[s].name, name, len))
			return s;
	return -1;
}

/* "inline:KEY[|LIFETIME]": the key into out; an MKI (a second '|') is not usable. */
static int parse_key_param(const char *p, size_t len, struct sdes_crypto *out)
{
	const char *bar, *end = p + len;
	size_t need = sdes_suites[out->suite].key_len;
	int n;

	if (len < 7 || strncmp(p, "inline:", 7))
		return -EINVAL;
	p += 7;
	bar = memchr(p, '|', (size_t)(end - p));
	if (bar && memchr(bar + 1, '|', (size_t)(end - bar - 1)))
		return -ENOTSUP;	/* MKI */
	if (bar && memchr(bar + 1, ':', (size_t)(end - bar - 1)))
		return -ENOTSUP;	/* an MKI without a lifetime */
	n = b64_decode(p, (size_t)((bar ? bar : end) - p), out->key, sizeof(out->key));
	if (n < 0)
		return -EINVAL;
	return (size_t)n == need ? 0 : -EINVAL;
}

int sdes_parse(const char *value, struct sdes_crypto *out)
{
	const char *p = value, *sp;
	char *end;
	unsigned long tag;
	int suite, rc;

	memset(out, 0, sizeof(*out));
	if (!p || *p < '0' || *p > '9')
		return -EINVAL;
	tag = strtoul(p, &end, 10);
	if (*end != ' ' || end - p > 9 || tag == 0)
		return -EINVAL;
	p = end + 1;
	sp = strchr(p, ' ');
	if (!sp)
		return -EINVAL;
	suite = sdes_suite_by_name(p, (size_t)(sp - p));
	if (suite < 0)
		return -ENOTSUP;
	out->tag = (unsigned)tag;
	out->suite = (enum sdes_suite)suite;
	p = sp + 1;
	sp = strchr(p, ' ');
	if (sp && sp[1])
		rc = -ENOTSUP;		/* session parameters */
	else if (memchr(p, ';', sp ? (size_t)(sp - p) : strlen(p)))
		rc = -ENOTSUP;		/* more than one key */
	else
		rc = parse_key_param(p, sp ? (size_t)(sp - p) : strlen(p), out);
	if (rc)
		OPENSSL_cleanse(out, sizeof(*out));
	return rc;
}

int sdes_format(const struct sdes_crypto *c, char *out, size_t n)
{
	char key[((SDES_KEY_MAX + 2) / 3) * 4 + 1];
	int len;

	if ((unsigned)c->suite >= SDES_NSUITES)
		return -EINVAL;
	b64_encode(c->key, sdes_suites[c->suite].key_len, key);
	len = snprintf(out, n, "%u %s inline:%s", c->tag, sdes_suites[c->suite].name, key);
	OPENSSL_cleanse(key, sizeof(key));
	return len < 0 || (size_t)len >= n ? -ENOSPC : 0;
}

int sdes_generate(struct sdes_crypto *c, unsigned tag, enum sdes_suite suite)
{
	memset(c, 0, sizeof(*c));
	c->tag = tag;
	c->suite = suite;
	if (RAND_bytes(c->key, (int)sdes_suites[suite].key_len) != 1)
		return -EIO;
	return 0;
}
