/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NG requests and replies in JSON (ng_json.c): converted to and from the
 * bencode the command handlers speak.
 */
#ifndef SLUICE_CTL_NG_JSON_H
#define SLUICE_CTL_NG_JSON_H

#include <stddef.h>

#include "ctl/bencode.h"

/* A JSON object as a bencoded dictionary appended to out; -EINVAL and why otherwise. */
int ng_json_to_benc(const char *text, size_t len, struct benc_buf *out, const char **why);
/* A decoded bencode value as compact JSON (malloc'ed), NULL if it has no JSON form. */
char *ng_benc_to_json(const struct benc *node);

#endif /* SLUICE_CTL_NG_JSON_H */
