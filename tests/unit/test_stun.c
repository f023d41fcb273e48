// SPDX-License-Identifier: GPL-2.0-only
/*
 * The STUN Binding server: answers to IPv4 and IPv6 sources (the
 * XOR-MAPPED-ADDRESS of RFC 5769 §2.2 for 192.0.2.1:32853), FINGERPRINT
 * checked with a CRC-32 written here bit by bit, 420 for an unknown
 * comprehension-required attribute, and silence for everything that is
 * not a well-formed Binding request.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "sip/stun.h"

/* CRC-32 (IEEE 802.3, reflected), independent of zlib's. */
static uint32_t crc32_bits(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
	}
	return ~c;
}

static size_t request(uint8_t *buf, uint16_t extra_attr, bool fingerprint, bool bad_fp)
{
	size_t len = 20;

	memset(buf, 0, 64);
	buf[1] = 0x01;					/* Binding request */
	buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
	for (int i = 0; i < 12; i++)
		buf[8 + i] = (uint8_t)(0xb0 + i);	/* transaction ID */
	if (extra_attr) {
		buf[len] = (uint8_t)(extra_attr >> 8);
		buf[len + 1] = (uint8_t)extra_attr;
		buf[len + 3] = 4;
		memcpy(buf + len + 4, "abcd", 4);
		len += 8;
	}
	if (fingerprint) {
		uint32_t fp;

		buf[3] = (uint8_t)(len + 8 - 20);
		fp = crc32_bits(buf, len) ^ 0x5354554eu;
		if (bad_fp)
			fp ^= 1;
		buf[len] = 0x80, buf[len + 1] = 0x28, buf[len + 3] = 4;
		buf[len + 4] = (uint8_t)(fp >> 24), buf[len + 5] = (uint8_t)(fp >> 16);
		buf[len + 6] = (uint8_t)(fp >> 8), buf[len + 7] = (uint8_t)fp;
		len += 8;
	}
	buf[3] = (uint8_t)(len - 20);
	return len;
}

/* The value of attribute type in msg, or NULL. */
static const uint8_t *find_attr(const uint8_t *msg, size_t len, uint16_t type, uint16_t *alen)
{
	for (size_t off = 20; off + 4 <= len;) {
		uint16_t t = (uint16_t)(msg[off] << 8 | msg[off + 1]);
		uint16_t l = (uint16_t)(msg[off + 2] << 8 | msg[off + 3]);

		if (t == type) {
			*alen = l;
			return msg + off + 4;
		}
		off += 4 + ((l + 3u) & ~3u);
	}
	return NULL;
}

static void check_fingerprint(const uint8_t *out, int n)
{
	uint16_t alen;
	const uint8_t *fp = find_attr(out, (size_t)n, 0x8028, &alen);
	uint32_t want, got;

	assert_non_null(fp);
	assert_ptr_equal(fp, out + n - 4);			/* the last attribute */
	want = crc32_bits(out, (size_t)n - 8) ^ 0x5354554eu;
	got = (uint32_t)fp[0] << 24 | (uint32_t)fp[1] << 16 | (uint32_t)fp[2] << 8 | fp[3];
	assert_int_equal(got, want);
	assert_int_equal(out[2] << 8 | out[3], n - 20);		/* length covers it all */
}

static void test_ipv4(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(32853) };
	const uint8_t want[] = { 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43 };	/* RFC 5769 */
	uint8_t req[64], out[STUN_MAX_RESPONSE];
	const uint8_t *x;
	uint16_t alen;
	int n;

	(void)state;
	inet_pton(AF_INET, "192.0.2.1", &src.sin_addr);
	n = stun_answer(req, request(req, 0, true, false), (struct sockaddr *)&src, out,
			sizeof(out));
	assert_true(n > 20);
	assert_int_equal(out[0] << 8 | out[1], 0x0101);		/* Binding success */
	assert_memory_equal(out + 4, req + 4, 16);		/* cookie and ID */
	x = find_attr(out, (size_t)n, 0x0020, &alen);
	assert_non_null(x);
	assert_int_equal(alen, 8);
	assert_memory_equal(x, want, 8);
	check_fingerprint(out, n);
	/* Without FINGERPRINT in the request too. */
	assert_true(stun_answer(req, request(req, 0, false, false), (struct sockaddr *)&src, out,
				sizeof(out)) > 20);
}

static void test_ipv6(void **state)
{
	struct sockaddr_in6 src = { .sin6_family = AF_INET6, .sin6_port = htons(32853) };
	uint8_t req[64], out[STUN_MAX_RESPONSE], key[16];
	const uint8_t *x;
	uint16_t alen;
	int n;

	(void)state;
	inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &src.sin6_addr);
	request(req, 0, false, false);
	n = stun_answer(req, 20, (struct sockaddr *)&src, out, sizeof(out));
	assert_true(n > 20);
	x = find_attr(out, (size_t)n, 0x0020, &alen);
	assert_non_null(x);
	assert_int_equal(alen, 20);
	assert_int_equal(x[1], 0x02);
	assert_int_equal(x[2] << 8 | x[3], 32853 ^ 0x2112);
	memcpy(key, req + 4, 16);				/* cookie then ID */
	for (int i = 0; i < 16; i++)
		assert_int_equal(x[4 + i] ^ key[i], src.sin6_addr.s6_addr[i]);
	check_fingerprint(out, n);
}

static void test_unknown_attributes(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(5060) };
	uint8_t req[64], out[STUN_MAX_RESPONSE];
	const uint8_t *v;
	uint16_t alen;
	int n;

	(void)state;
	n = stun_answer(req, request(req, 0x0033, true, false), (struct sockaddr *)&src, out,
			sizeof(out));
	assert_true(n > 20);
	assert_int_equal(out[0] << 8 | out[1], 0x0111);		/* Binding error */
	v = find_attr(out, (size_t)n, 0x0009, &alen);
	assert_non_null(v);
	assert_int_equal(v[2] * 100 + v[3], 420);
	v = find_attr(out, (size_t)n, 0x000a, &alen);
	assert_non_null(v);
	assert_int_equal(alen, 2);
	assert_int_equal(v[0] << 8 | v[1], 0x0033);
	check_fingerprint(out, n);
	/* An unknown comprehension-optional attribute is ignored. */
	n = stun_answer(req, request(req, 0x8033, true, false), (struct sockaddr *)&src, out,
			sizeof(out));
	assert_int_equal(out[0] << 8 | out[1], 0x0101);
}

static void test_dropped(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(5060) };
	uint8_t req[64], out[STUN_MAX_RESPONSE];
	size_t len;

	(void)state;
	len = request(req, 0, true, true);			/* damaged FINGERPRINT */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	len = request(req, 0, false, false);
	req[1] = 0x11;						/* an indication */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	req[0] = 0x01, req[1] = 0x01;				/* a response */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	len = request(req, 0x0033, false, false);
	req[3] += 4;						/* length beyond the datagram */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	len = request(req, 0x0033, false, false);
	req[23] = 40;						/* attribute beyond the message */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	len = request(req, 0, false, false);
	req[4] = 0;						/* no magic cookie: RFC 3489 */
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, sizeof(out)), 0);
	assert_false(stun_is_packet("OPTIONS sip:x SIP/2.0\r\n", 23));
	for (size_t cut = 0; cut < 20; cut++)
		assert_int_equal(stun_answer(req, cut, (struct sockaddr *)&src, out, sizeof(out)), 0);
	len = request(req, 0, false, false);
	assert_int_equal(stun_answer(req, len, (struct sockaddr *)&src, out, 30), -ENOBUFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_unknown_attributes),
		cmocka_unit_test(test_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
