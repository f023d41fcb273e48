// SPDX-License-Identifier: GPL-2.0-only
/*
 * HEP3 encoding (net/hep.c), byte for byte: the header, each chunk's
 * vendor, type and length, values in network byte order, IPv4 and IPv6,
 * and a message too large for one packet refused.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/hep.h"

static void test_hep_ipv4(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(5060) };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(5062) };
	static const char sip[] = "OPTIONS sip:x SIP/2.0\r\n\r\n";
	struct hep_msg m = { (struct sockaddr *)&src, (struct sockaddr *)&dst, IPPROTO_UDP,
			     1700000000123456ull, sip, sizeof(sip) - 1, 0, NULL };
	static const uint8_t want_head[] = {
		'H', 'E', 'P', '3', 0, 0,			/* length, below */
		0, 0, 0, 1, 0, 7, AF_INET,			/* family */
		0, 0, 0, 2, 0, 7, 17,				/* UDP */
		0, 0, 0, 3, 0, 10, 10, 0, 1, 2,			/* source */
		0, 0, 0, 4, 0, 10, 10, 0, 2, 2,			/* destination */
		0, 0, 0, 7, 0, 8, 0x13, 0xc4,			/* 5060 */
		0, 0, 0, 8, 0, 8, 0x13, 0xc6,			/* 5062 */
		0, 0, 0, 9, 0, 10, 0x65, 0x53, 0xf1, 0x00,	/* 1700000000 s */
		0, 0, 0, 10, 0, 10, 0x00, 0x01, 0xe2, 0x40,	/* 123456 us */
		0, 0, 0, 11, 0, 7, 1,				/* SIP */
		0, 0, 0, 12, 0, 10, 0, 0, 0x07, 0xd1,		/* capture id 2001 */
		0, 0, 0, 15, 0, 6 + sizeof(sip) - 1,		/* payload */
	};
	uint8_t out[512];
	size_t n;

	(void)state;
	inet_pton(AF_INET, "10.0.1.2", &src.sin_addr);
	inet_pton(AF_INET, "10.0.2.2", &dst.sin_addr);
	n = hep_encode(&m, 2001, out, sizeof(out));
	assert_int_equal(n, sizeof(want_head) + sizeof(sip) - 1);
	assert_int_equal(out[4] << 8 | out[5], n);
	assert_memory_equal(out + 6, want_head + 6, sizeof(want_head) - 6);
	assert_memory_equal(out, "HEP3", 4);
	assert_memory_equal(out + sizeof(want_head), sip, sizeof(sip) - 1);
}

static void test_hep_ipv6_and_limits(void **state)
{
	struct sockaddr_in6 src = { .sin6_family = AF_INET6, .sin6_port = htons(5060) };
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6, .sin6_port = htons(5060) };
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct hep_msg m = { (struct sockaddr *)&src, (struct sockaddr *)&dst, IPPROTO_TCP, 0,
			     "x", 1, 0, NULL };
	uint8_t *big = malloc(HEP_MAX + 16), out[256];
	size_t n;

	(void)state;
	inet_pton(AF_INET6, "2001:db8::1", &src.sin6_addr);
	n = hep_encode(&m, 1, out, sizeof(out));
	assert_int_equal(n, 6 + 7 + 7 + 22 + 22 + 8 + 8 + 10 + 10 + 7 + 10 + 7);
	assert_int_equal(out[6 + 6], AF_INET6);
	assert_int_equal(out[6 + 7 + 6], 6);			/* TCP */
	assert_int_equal(out[6 + 14 + 3], 5);			/* IPv6 source chunk */
	assert_int_equal(hep_encode(&m, 1, out, 40), 0);	/* does not fit */
	m.dst = (struct sockaddr *)&v4;
	assert_int_equal(hep_encode(&m, 1, out, sizeof(out)), 0);	/* mixed families */
	m.dst = (struct sockaddr *)&dst;
	assert_non_null(big);
	memset(big, 'a', HEP_MAX);
	m.payload = (const char *)big;
	m.len = HEP_MAX;
	assert_int_equal(hep_encode(&m, 1, big, HEP_MAX + 16), 0);	/* over 65535 */
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hep_ipv4),
		cmocka_unit_test(test_hep_ipv6_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
