/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inet_ntop without its cost for IPv4: glibc formats IPv4 with sprintf,
 * and SIP formats an address or two for every message it answers or
 * sends (Via received, our own host, a media session's endpoints). IPv6
 * goes to inet_ntop as before; the text is the same as inet_ntop's.
 */
#ifndef SLUICE_IP_STR_H
#define SLUICE_IP_STR_H

#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>

static inline const char *ip_ntop(int family, const void *addr, char *out, socklen_t n)
{
	const uint8_t *q = addr;
	char *p = out;

	if (family != AF_INET || n < INET_ADDRSTRLEN)
		return inet_ntop(family, addr, out, n);
	for (int i = 0; i < 4; i++) {
		uint8_t v = q[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	return out;
}

#endif
