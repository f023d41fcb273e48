// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: datagrams to the STUN Binding server of the SIP port
 * and to the ICE-lite agent of the media ports (short-term credentials,
 * MESSAGE-INTEGRITY), from an IPv4 or an IPv6 source. The first byte
 * picks: bit 0 the family, bit 1 the media ports' path, bit 2 a username
 * that matches the seeds' ("evtj", RFC 5769's) or not. Answers go into a
 * buffer exactly as large as the largest answer.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "net/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct stun_ice_cred creds[2] = {
		{ "evtj", "VOkJxbRl1RmTxUk/WvJxBt" },
		{ "Rl4y", "relaypassword0123456789" },
	};
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(5060) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(5060) };
	uint8_t out[STUN_MAX_RESPONSE];
	const struct sockaddr *src;
	unsigned flags;
	int n;

	if (size < 1)
		return 0;
	s4.sin_addr.s_addr = htonl(0xc0000201);
	memset(&s6.sin6_addr, 0x20, sizeof(s6.sin6_addr));
	src = data[0] & 1 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4;
	if (data[0] & 2) {
		n = stun_ice_answer(data + 1, size - 1, src, &creds[(data[0] >> 2) & 1], out,
				    sizeof(out), &flags);
		if (n <= 0 && flags)
			__builtin_trap();	/* no answer, yet authenticated */
		(void)stun_check_integrity(data + 1, size - 1, creds[0].pwd);
	} else {
		n = stun_answer(data + 1, size - 1, src, out, sizeof(out));
	}
	if (n > (int)sizeof(out))
		__builtin_trap();
	return 0;
}
