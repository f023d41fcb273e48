// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: datagrams to a media port whose leg the relay
 * terminates SRTP on (srtp.h), as the relay hands them over: unprotect
 * as SRTP or SRTCP (the first byte picks, and the suite), and what
 * authenticates protected again for the other side in a buffer with the
 * room the relay leaves. The seeds were made with the keys below, so
 * that the fuzzer reaches past authentication.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/srtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct media_srtp *ctx[SDES_NSUITES];

static void setup(void)
{
	for (int s = 0; s < SDES_NSUITES; s++) {
		struct sdes_crypto k = { .tag = 1, .suite = (enum sdes_suite)s };

		memset(k.key, 0x5a, sizeof(k.key));
		if (media_srtp_set(&ctx[s], &k, &k))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[2048];
	size_t len;
	bool rtcp;
	int s;

	if (!ctx[0])
		setup();
	if (size < 1 || size - 1 > sizeof(buf) - MEDIA_SRTP_TRAILER)
		return 0;
	rtcp = data[0] & 1;
	s = (data[0] >> 1) % SDES_NSUITES;
	len = size - 1;
	memcpy(buf, data + 1, len);
	if (!media_srtp_unprotect(ctx[s], rtcp, buf, &len)) {
		if (len > size - 1)
			abort();
		media_srtp_protect(ctx[s], rtcp, buf, &len);
	}
	return 0;
}
