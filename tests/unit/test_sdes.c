// SPDX-License-Identifier: GPL-2.0-only
/*
 * SDES (a=crypto) values and SRTP contexts: what is usable, what is
 * skipped as unusable, what is malformed; keys printed and read back; and
 * a packet protected by one leg's relay key unprotected by a context made
 * from the same key, a tampered one refused (srtp.h), a replay refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "media/sdes.h"
#include "media/srtp.h"

/* RFC 4568's example key, 30 bytes. */
#define KEY30 "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"

static void test_parse(void **state)
{
	struct sdes_crypto c, again;
	char line[SDES_LINE_MAX];

	(void)state;
	assert_int_equal(sdes_parse("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^20", &c), 0);
	assert_int_equal(c.tag, 1);
	assert_int_equal(c.suite, SDES_AES_CM_128_HMAC_SHA1_80);
	assert_memory_equal(c.key, "YS___semctl () {\t220;}\n}\nunles", 30);
	assert_int_equal(sdes_format(&c, line, sizeof(line)), 0);
	assert_string_equal(line, "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30);
	assert_int_equal(sdes_parse(line, &again), 0);
	assert_memory_equal(again.key, c.key, sizeof(c.key));

	/* Unusable, not malformed: an MKI, two keys, a session parameter, an unknown suite. */
	assert_int_equal(sdes_parse("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^20|1:4", &c),
			 -ENOTSUP);
	assert_int_equal(sdes_parse("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 ";inline:" KEY30,
				    &c), -ENOTSUP);
	assert_int_equal(sdes_parse("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " UNENCRYPTED_SRTP",
				    &c), -ENOTSUP);
	assert_int_equal(sdes_parse("1 F8_128_HMAC_SHA1_80 inline:" KEY30, &c), -ENOTSUP);
	/* Malformed: no tag, tag 0, a short key, bad base64, padding inside, no inline:. */
	assert_int_equal(sdes_parse("AES_CM_128_HMAC_SHA1_80 inline:" KEY30, &c), -EINVAL);
	assert_int_equal(sdes_parse("0 AES_CM_128_HMAC_SHA1_80 inline:" KEY30, &c), -EINVAL);
	assert_int_equal(sdes_parse("1 AES_CM_128_HMAC_SHA1_80 inline:WVNf", &c), -EINVAL);
	assert_int_equal(sdes_parse("1 AES_CM_128_HMAC_SHA1_80 inline:WVNf!!!!", &c), -EINVAL);
	assert_int_equal(sdes_parse("1 AES_CM_128_HMAC_SHA1_80 inline:WV=f", &c), -EINVAL);
	assert_int_equal(sdes_parse("1 AES_CM_128_HMAC_SHA1_80 key:" KEY30, &c), -EINVAL);
	/* AES-GCM: 28 bytes, base64 with padding. */
	assert_int_equal(sdes_generate(&c, 3, SDES_AEAD_AES_128_GCM), 0);
	assert_int_equal(sdes_format(&c, line, sizeof(line)), 0);
	assert_non_null(strstr(line, "=="));
	assert_int_equal(sdes_parse(line, &again), 0);
	assert_memory_equal(again.key, c.key, 28);
}

static void test_contexts(void **state)
{
	struct sdes_crypto relay, peer;
	struct media_srtp *tx = NULL, *rx = NULL;
	uint8_t pkt[172 + MEDIA_SRTP_TRAILER], copy[sizeof(pkt)];
	size_t len = 172, n;

	(void)state;
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x80;
	pkt[3] = 1;
	pkt[11] = 0x42;
	memset(pkt + 12, 0xd5, 160);
	for (int s = 0; s < SDES_NSUITES; s++) {
		assert_int_equal(sdes_generate(&relay, 1, (enum sdes_suite)s), 0);
		assert_int_equal(sdes_generate(&peer, 1, (enum sdes_suite)s), 0);
		/* What the relay sends with its key, a peer context with that key reads. */
		assert_int_equal(media_srtp_set(&tx, &peer, &relay), 0);
		assert_int_equal(media_srtp_set(&rx, &relay, &peer), 0);
		len = 172;
		pkt[3] = (uint8_t)(s + 1);
		memset(pkt + 12, 0xd5, 160);
		assert_int_equal(media_srtp_protect(tx, false, pkt, &len), 0);
		assert_true(len > 172);
		memcpy(copy, pkt, len);
		n = len;
		assert_int_equal(media_srtp_unprotect(rx, false, pkt, &len), 0);
		assert_int_equal(len, 172);
		assert_int_equal(pkt[12], 0xd5);
		/* A replay and a flipped bit: refused. */
		memcpy(pkt, copy, n);
		len = n;
		assert_int_equal(media_srtp_unprotect(rx, false, pkt, &len), -EACCES);
		copy[20] ^= 1;
		copy[3]++;
		len = n;
		assert_int_equal(media_srtp_unprotect(rx, false, copy, &len), -EACCES);
		media_srtp_free(&tx);
		media_srtp_free(&rx);
	}
	assert_null(tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_contexts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
