// SPDX-License-Identifier: GPL-2.0-only
/*
 * NG's JSON form: rtpengine takes a request whose dictionary starts with
 * '{' as JSON and answers in JSON. Rather than a second set of command
 * handlers, the JSON object becomes the same bencode dictionary (strings
 * stay strings, numbers integers, true and false 1 and 0, null is left
 * out) and the bencoded reply goes back to JSON (a string that is not
 * UTF-8 cannot: it is refused). jansson does the JSON.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl/ng_json.h"

static int put_json(struct benc_buf *b, json_t *j, int depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > BENC_MAX_DEPTH)
		return -E2BIG;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		benc_put_dict(b);
		json_object_foreach(j, key, v) {
			if (json_is_null(v))
				continue;
			benc_put_str(b, key);
			if (put_json(b, v, depth + 1))
				return -EINVAL;
		}
		benc_put_end(b);
		return 0;
	case JSON_ARRAY:
		benc_put_list(b);
		json_array_foreach(j, i, v)
			if (!json_is_null(v) && put_json(b, v, depth + 1))
				return -EINVAL;
		benc_put_end(b);
		return 0;
	case JSON_STRING:
		benc_put_strn(b, json_string_value(j), json_string_length(j));
		return 0;
	case JSON_INTEGER:
		benc_put_int(b, (int64_t)json_integer_value(j));
		return 0;
	case JSON_REAL:
		benc_put_int(b, (int64_t)json_real_value(j));
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		benc_put_int(b, json_is_true(j));
		return 0;
	default:
		return -EINVAL;
	}
}

int ng_json_to_benc(const char *text, size_t len, struct benc_buf *out, const char **why)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	int err;

	if (!j) {
		*why = "malformed JSON";
		return -EINVAL;
	}
	err = json_is_object(j) ? put_json(out, j, 0) : -EINVAL;
	json_decref(j);
	if (err)
		*why = "the JSON request is not an object of strings, numbers, lists and objects";
	return err ? err : out->err;
}

static json_t *to_json(const struct benc *n, int depth)
{
	json_t *j;

	if (depth > BENC_MAX_DEPTH)
		return NULL;
	switch (n->type) {
	case BENC_INT:
		return json_integer(n->i);
	case BENC_STR:
		return json_stringn(n->str.s, n->str.len);	/* NULL: not UTF-8 */
	case BENC_LIST:
		j = json_array();
		for (const struct benc *c = n->list.first; j && c; c = c->next)
			if (json_array_append_new(j, to_json(c, depth + 1))) {
				json_decref(j);
				j = NULL;
			}
		return j;
	case BENC_DICT:
		j = json_object();
		for (const struct benc *k = n->list.first; j && k && k->next; k = k->next->next) {
			char key[256];

			if (k->type != BENC_STR || benc_str_copy(k, key, sizeof(key)) ||
			    json_object_set_new(j, key, to_json(k->next, depth + 1))) {
				json_decref(j);
				j = NULL;
			}
		}
		return j;
	}
	return NULL;
}

char *ng_benc_to_json(const struct benc *node)
{
	json_t *j = to_json(node, 0);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return text;
}
