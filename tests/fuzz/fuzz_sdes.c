// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: a=crypto values (RFC 4568) as offers and answers
 * carry them, through sdes_parse(); what it accepts must print back with
 * sdes_format() and parse again into the same tag, suite and key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/sdes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdes_crypto c, again;
	char *v = malloc(size + 1), line[SDES_LINE_MAX];

	if (!v)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	if (!sdes_parse(v, &c)) {
		if (c.suite >= SDES_NSUITES || !c.tag)
			abort();
		if (sdes_format(&c, line, sizeof(line)) || sdes_parse(line, &again) ||
		    again.tag != c.tag || again.suite != c.suite ||
		    memcmp(again.key, c.key, sizeof(c.key)))
			abort();
	}
	free(v);
	return 0;
}
