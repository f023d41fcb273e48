// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: nonces as they come back in Authorization headers.
 * Nothing the fuzzer makes may verify: it does not know the secret.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/nonce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nonce_ctx ctx;
	static int ready;
	char text[128];

	if (!ready) {
		if (nonce_init(&ctx, 30))
			abort();
		ready = 1;
	}
	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (nonce_check(&ctx, text, 1000) != NONCE_BAD)
		abort();
	return 0;
}
