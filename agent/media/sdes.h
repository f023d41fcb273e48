/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SDES (RFC 4568): the a=crypto attribute that carries an SRTP master key
 * and salt in the SDP, read and written. No crypto here, only the text:
 * srtp.c turns a key into libsrtp2 contexts. Kept apart so that the
 * parser, which reads what the network sends, is fuzzed on its own
 * (tests/fuzz/fuzz_sdes.c).
 *
 * What is understood: one inline key per line, with an optional lifetime
 * (ignored: the relay re-keys by a new offer, never by packet count) and
 * the suites in sdes_suites[]. A line with an MKI, more than one key, a
 * session parameter (UNENCRYPTED_SRTP, KDR=, ...) or a suite not known
 * is skipped as unusable, never an error: an offer lists alternatives and
 * the relay picks the first it can use.
 */
#ifndef SLUICE_MEDIA_SDES_H
#define SLUICE_MEDIA_SDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDES_KEY_MAX		46	/* AES-256 master key + 14-byte salt */
#define SDES_MAX_LINES		4	/* a=crypto lines kept per m= line */
#define SDES_LINE_MAX		128	/* "TAG SUITE inline:BASE64" */

enum sdes_suite {
	SDES_AES_CM_128_HMAC_SHA1_80 = 0,
	SDES_AES_CM_128_HMAC_SHA1_32,
	SDES_AEAD_AES_128_GCM,
	SDES_AEAD_AES_256_GCM,
	SDES_NSUITES,
};

struct sdes_suite_info {
	const char	*name;		/* as in the SDP */
	size_t		key_len;	/* master key + salt, bytes */
};

extern const struct sdes_suite_info sdes_suites[SDES_NSUITES];

struct sdes_crypto {
	unsigned	tag;		/* 1..999999999 */
	enum sdes_suite	suite;
	uint8_t		key[SDES_KEY_MAX];	/* master key then salt: secret, never logged */
};

/*
 * One a=crypto value ("1 AES_CM_128_HMAC_SHA1_80 inline:..."). 0, or
 * -EINVAL when it is malformed, -ENOTSUP when it is well formed but not
 * usable by the relay (see above).
 */
int sdes_parse(const char *value, struct sdes_crypto *out);

/* The value of an a=crypto line for c into out (SDES_LINE_MAX is enough). */
int sdes_format(const struct sdes_crypto *c, char *out, size_t n);

/* A fresh key for suite (OpenSSL's RAND_bytes). 0 or -EIO. */
int sdes_generate(struct sdes_crypto *c, unsigned tag, enum sdes_suite suite);

/* The suite named name, or -1. */
int sdes_suite_by_name(const char *name, size_t len);

#endif /* SLUICE_MEDIA_SDES_H */
