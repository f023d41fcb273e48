// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: a test call's prompt file (media/wav.c's wav_parse()),
 * whatever an operator drops in [testcall] prompts. Either it is refused
 * with a reason, or its audio is 1 to WAV_MAX_BYTES bytes of G.711 in
 * PCMU or PCMA; no read goes past the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/wav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);	/* exactly size: ASan sees an overread */
	char err[128];
	struct wav w;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (!wav_parse(copy, size, &w, err, sizeof(err))) {
		if (!w.len || w.len > WAV_MAX_BYTES || (w.pt != 0 && w.pt != 8))
			__builtin_trap();
		wav_free(&w);
	} else if (!err[0]) {
		__builtin_trap();	/* refused without a reason */
	}
	free(copy);
	return 0;
}
