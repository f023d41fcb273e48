// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: datagrams to the STUN Binding server, from an IPv4 or
 * an IPv6 source (the first byte picks), answered into a buffer exactly
 * as large as the largest answer.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "sip/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(5060) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(5060) };
	uint8_t out[STUN_MAX_RESPONSE];
	int n;

	if (size < 1)
		return 0;
	s4.sin_addr.s_addr = htonl(0xc0000201);
	memset(&s6.sin6_addr, 0x20, sizeof(s6.sin6_addr));
	n = stun_answer(data + 1, size - 1,
			data[0] & 1 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4, out,
			sizeof(out));
	if (n > (int)sizeof(out))
		__builtin_trap();
	return 0;
}
