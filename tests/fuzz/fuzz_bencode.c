// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the bencode decoder over NG datagrams, and the
 * re-encoding of what it accepts, which must reproduce the input exactly
 * (bencode has one encoding per value).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/bencode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct benc nodes[256], *root;
	struct benc_buf out = { 0 };

	root = benc_decode((const char *)data, size, nodes, 256, NULL);
	if (root) {
		benc_dict_get(root, "command");
		benc_put_node(&out, root);
		if (!out.err && (out.len != size || memcmp(out.data, data, size)))
			abort();
	}
	benc_buf_free(&out);
	return 0;
}
