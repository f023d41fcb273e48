// SPDX-License-Identifier: GPL-2.0-only
/*
 * WebSocket frames: RFC 6455's own examples parsed (§5.7) and its
 * handshake's accept key (§1.3), our headers in each length form, frames
 * RFC 6455 forbids refused, and ws_read() joining fragments in place with
 * a ping between them, across reads cut anywhere.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/ws_frame.h"

static void test_rfc_examples(void **state)
{
	/* §5.7: "Hello", unmasked and masked. */
	static const uint8_t plain[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };
	static const uint8_t masked[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					  0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	uint8_t buf[sizeof(masked)];
	char accept[WS_ACCEPT_LEN + 1];
	struct ws_frame f;

	(void)state;
	assert_int_equal(ws_frame_parse(plain, sizeof(plain), 100, false, &f), 7);
	assert_true(f.fin);
	assert_int_equal(f.opcode, WS_OP_TEXT);
	assert_int_equal(f.len, 5);
	assert_int_equal(ws_frame_parse(plain, sizeof(plain), 100, true, &f), -EPROTO);
	memcpy(buf, masked, sizeof(buf));
	assert_int_equal(ws_frame_parse(buf, sizeof(buf), 100, true, &f), 11);
	ws_unmask(buf + f.hdr_len, (size_t)f.len, f.mask);
	assert_memory_equal(buf + f.hdr_len, "Hello", 5);
	for (size_t n = 0; n < sizeof(masked); n++)	/* short: wait for more */
		assert_int_equal(ws_frame_parse(masked, n, 100, true, &f), 0);
	/* §1.3 */
	assert_int_equal(ws_accept("dGhlIHNhbXBsZSBub25jZQ==", accept), 0);
	assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_headers(void **state)
{
	uint8_t h[WS_HDR_MAX];
	struct ws_frame f;
	static uint8_t big[70000 + WS_HDR_MAX];

	(void)state;
	assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 125), 2);
	assert_int_equal(h[0], 0x81);
	assert_int_equal(h[1], 125);
	assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 126), 4);
	assert_int_equal(h[1], 126);
	assert_int_equal(h[2] << 8 | h[3], 126);
	assert_int_equal(ws_frame_header(big, WS_OP_BINARY, 70000), 10);
	assert_int_equal(ws_frame_parse(big, sizeof(big), 100000, false, &f), 70010);
	assert_int_equal(f.len, 70000);
	assert_int_equal(ws_frame_parse(big, sizeof(big), 65535, false, &f), -EMSGSIZE);
}

static void test_forbidden(void **state)
{
	static const uint8_t rsv[] = { 0xc1, 0x80, 0, 0, 0, 0 };		/* RSV1 */
	static const uint8_t op3[] = { 0x83, 0x80, 0, 0, 0, 0 };		/* reserved opcode */
	static const uint8_t frag_ping[] = { 0x09, 0x80, 0, 0, 0, 0 };	/* control, no FIN */
	static const uint8_t long_ping[] = { 0x89, 0xfe, 0x00, 0x7e };	/* control of 126 */
	static const uint8_t not_short[] = { 0x81, 0xfe, 0x00, 0x05 };	/* 5 in 16 bits */
	struct ws_frame f;

	(void)state;
	assert_int_equal(ws_frame_parse(rsv, sizeof(rsv), 100, true, &f), -EPROTO);
	assert_int_equal(ws_frame_parse(op3, sizeof(op3), 100, true, &f), -EPROTO);
	assert_int_equal(ws_frame_parse(frag_ping, sizeof(frag_ping), 100, true, &f), -EPROTO);
	assert_int_equal(ws_frame_parse(long_ping, sizeof(long_ping), 1000, true, &f), -EPROTO);
	assert_int_equal(ws_frame_parse(not_short, sizeof(not_short), 100, true, &f), -EPROTO);
}

/* A client's frame: masked with a fixed key. */
static size_t client_frame(uint8_t *out, uint8_t op, bool fin, const char *p, size_t n)
{
	static const uint8_t key[4] = { 1, 2, 3, 4 };
	size_t h = ws_frame_header(out, op, n);

	out[0] = (uint8_t)((fin ? 0x80 : 0) | op);
	out[1] |= 0x80;
	memcpy(out + h, key, 4);
	for (size_t i = 0; i < n; i++)
		out[h + 4 + i] = (uint8_t)p[i] ^ key[i & 3];
	return h + 4 + n;
}

struct got {
	char	msgs[4][64];
	int	n, pings;
};

static bool on_msg(void *arg, uint8_t opcode, char *payload, size_t len)
{
	struct got *g = arg;

	assert_int_equal(payload[len], '\0');
	if (opcode == WS_OP_PING)
		g->pings++;
	else if (g->n < 4)
		snprintf(g->msgs[g->n++], sizeof(g->msgs[0]), "%s", payload);
	return true;
}

/* Upgrade and Connection lists, as browsers and proxies send them. */
static void test_has_token(void **state)
{
	(void)state;
	assert_true(ws_has_token("websocket", "websocket"));
	assert_true(ws_has_token("keep-alive, Upgrade", "upgrade"));
	assert_true(ws_has_token(" ,Upgrade,", "upgrade"));
	assert_false(ws_has_token("upgrades", "upgrade"));
	assert_false(ws_has_token("keep-alive", "upgrade"));
	assert_false(ws_has_token("", "upgrade"));
	assert_false(ws_has_token(NULL, "upgrade"));
}

static void test_read_fragments(void **state)
{
	uint8_t in[256];
	size_t n = 0;

	(void)state;
	n += client_frame(in + n, WS_OP_TEXT, false, "OPTIONS sip:", 12);
	n += client_frame(in + n, WS_OP_PING, true, "hb", 2);
	n += client_frame(in + n, WS_OP_CONT, true, "x SIP/2.0", 9);
	n += client_frame(in + n, WS_OP_BINARY, true, "second", 6);
	/* Cut into reads of every size, the result is the same. */
	for (size_t step = 1; step <= n; step++) {
		struct ws_reader r = { 0 };
		struct got g = { .n = 0 };
		char buf[sizeof(in) + 1];
		size_t len = 0, off = 0;

		while (off < n) {
			size_t k = n - off < step ? n - off : step;

			memcpy(buf + len, in + off, k);
			len += k;
			off += k;
			assert_int_equal(ws_read(&r, buf, &len, 100, true, on_msg, &g), 0);
		}
		assert_int_equal(len, 0);
		assert_int_equal(g.n, 2);
		assert_int_equal(g.pings, 1);
		assert_string_equal(g.msgs[0], "OPTIONS sip:x SIP/2.0");
		assert_string_equal(g.msgs[1], "second");
	}
}

static void test_read_out_of_order(void **state)
{
	struct ws_reader r = { 0 };
	struct got g = { .n = 0 };
	char buf[64];
	size_t len;

	(void)state;
	len = client_frame((uint8_t *)buf, WS_OP_CONT, true, "lost", 4);
	assert_int_equal(ws_read(&r, buf, &len, 100, true, on_msg, &g), -EPROTO);
	memset(&r, 0, sizeof(r));
	len = client_frame((uint8_t *)buf, WS_OP_TEXT, false, "a", 1);
	len += client_frame((uint8_t *)buf + len, WS_OP_TEXT, true, "b", 1);
	assert_int_equal(ws_read(&r, buf, &len, 100, true, on_msg, &g), -EPROTO);
	assert_int_equal(g.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_has_token),
		cmocka_unit_test(test_read_fragments),
		cmocka_unit_test(test_read_out_of_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
