/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bencode, the encoding of rtpengine's NG control protocol: integers
 * (i42e), byte strings (5:hello), lists (l...e) and dictionaries (d...e,
 * string keys). The decoder builds a tree of nodes in a caller-supplied
 * array, with strings pointing into the datagram itself (no copies, no
 * allocation), and bounds depth and node count: a datagram is untrusted.
 * The encoder appends to a growing buffer.
 */
#ifndef SLUICE_BENCODE_H
#define SLUICE_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef BENC_MAX_DEPTH
#define BENC_MAX_DEPTH 16
#endif

enum benc_type {
	BENC_INT,
	BENC_STR,
	BENC_LIST,
	BENC_DICT,
};

struct benc {
	enum benc_type	type;
	struct benc	*next;		/* next item of the enclosing list/dict */
	union {
		int64_t		i;
		struct {
			const char	*s;	/* not NUL-terminated */
			size_t		len;
		} str;
		struct {
			struct benc	*first;	/* dict: key, value, key, ... */
			size_t		n;	/* items (dict: key + value pairs * 2) */
		} list;
	};
};

/*
 * Decodes exactly one value spanning buf[0..len). Returns the root, or
 * NULL with a reason in *err (a static string) when the input is malformed,
 * nested deeper than BENC_MAX_DEPTH, or needs more than nnodes nodes.
 * Trailing bytes are an error.
 */
struct benc *benc_decode(const char *buf, size_t len, struct benc *nodes, size_t nnodes,
			 const char **err);

/* The value under key in a dict, or NULL. */
const struct benc *benc_dict_get(const struct benc *dict, const char *key);
/* True when a BENC_STR node equals s. */
bool benc_str_eq(const struct benc *b, const char *s);
/* Copies a string node into out (NUL-terminated); -ENOSPC / -EINVAL. */
int benc_str_copy(const struct benc *b, char *out, size_t outlen);

/* An output buffer; err latches the first failure (-ENOMEM). */
struct benc_buf {
	char	*data;
	size_t	len;
	size_t	cap;
	int	err;
};

void benc_buf_free(struct benc_buf *b);
void benc_put_int(struct benc_buf *b, int64_t v);
void benc_put_strn(struct benc_buf *b, const char *s, size_t len);
void benc_put_str(struct benc_buf *b, const char *s);
void benc_put_raw(struct benc_buf *b, const char *s, size_t len);
/* 'd' / 'l' to open, benc_put_end() to close. */
void benc_put_dict(struct benc_buf *b);
void benc_put_list(struct benc_buf *b);
void benc_put_end(struct benc_buf *b);
/* Re-encodes a decoded value (used to echo unknown values back). */
void benc_put_node(struct benc_buf *b, const struct benc *node);

#endif /* SLUICE_BENCODE_H */
