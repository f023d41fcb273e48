// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test call prompts (media/wav.h): the A-law encoder against G.711's
 * decoding of every code (each decoded value encodes back to its code),
 * A-law and 16-bit PCM files parsed, the shipped prompt read, and files
 * that lie about their chunks or carry the wrong audio refused.
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

#include "media/wav.h"

/* G.711 A-law decoding, written from the standard's table. */
static int alaw_decode(uint8_t b)
{
	int a = b ^ 0x55, seg = (a & 0x70) >> 4, t = (a & 0x0f) << 4;

	t = seg ? (t + 0x108) << (seg - 1) : t + 8;
	return a & 0x80 ? t : -t;
}

static void test_alaw_round_trip(void **state)
{
	(void)state;
	for (int code = 0; code < 256; code++)
		assert_int_equal(wav_alaw((int16_t)alaw_decode((uint8_t)code)), code);
	assert_int_equal(wav_alaw(0), 0xd5);
	assert_int_equal(wav_alaw(32767), 0xaa);
	assert_int_equal(wav_alaw(-32768), 0x2a);
}

/* A WAV file: fmt with tag, rate, channels and bits, then n bytes of data. */
static size_t make_wav(uint8_t *buf, uint16_t tag, uint32_t rate, uint16_t chans, uint16_t bits,
		       const uint8_t *data, uint32_t n, uint32_t claimed)
{
	uint8_t *p = buf;
	uint32_t v;

#define PUT(x, len) do { v = (x); memcpy(p, &v, len); p += len; } while (0)
	memcpy(p, "RIFF", 4), p += 4;
	PUT(36 + n, 4);
	memcpy(p, "WAVEfmt ", 8), p += 8;
	PUT(16, 4);
	PUT(tag, 2);
	PUT(chans, 2);
	PUT(rate, 4);
	PUT(rate * chans * bits / 8, 4);
	PUT(chans * bits / 8, 2);
	PUT(bits, 2);
	memcpy(p, "data", 4), p += 4;
	PUT(claimed, 4);
	memcpy(p, data, n);
#undef PUT
	return (size_t)(p - buf) + n;
}

static void test_parse(void **state)
{
	uint8_t buf[1024], data[320];
	struct wav w;
	char err[128];
	size_t n;

	(void)state;
	memset(data, 0xd5, sizeof(data));
	n = make_wav(buf, 6, 8000, 1, 8, data, 320, 320);
	assert_int_equal(wav_parse(buf, n, &w, err, sizeof(err)), 0);
	assert_int_equal(w.len, 320);
	assert_int_equal(w.pt, 8);
	wav_free(&w);
	n = make_wav(buf, 7, 8000, 1, 8, data, 320, 320);
	assert_int_equal(wav_parse(buf, n, &w, err, sizeof(err)), 0);
	assert_int_equal(w.pt, 0);
	wav_free(&w);
	memset(data, 0, sizeof(data));		/* 160 samples of PCM silence */
	n = make_wav(buf, 1, 8000, 1, 16, data, 320, 320);
	assert_int_equal(wav_parse(buf, n, &w, err, sizeof(err)), 0);
	assert_int_equal(w.len, 160);
	assert_int_equal(w.pt, 8);
	assert_int_equal(w.data[0], 0xd5);
	wav_free(&w);

	n = make_wav(buf, 6, 8000, 1, 8, data, 320, 1000);	/* data past the end */
	assert_int_equal(wav_parse(buf, n, &w, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "past the end"));
	n = make_wav(buf, 6, 16000, 1, 8, data, 320, 320);
	assert_int_equal(wav_parse(buf, n, &w, err, sizeof(err)), -EINVAL);
	n = make_wav(buf, 6, 8000, 2, 8, data, 320, 320);
	assert_int_equal(wav_parse(buf, n, &w, err, sizeof(err)), -EINVAL);
	n = make_wav(buf, 85, 8000, 1, 8, data, 320, 320);	/* MP3 */
	assert_int_equal(wav_parse(buf, n, &w, err, sizeof(err)), -EINVAL);
	for (size_t cut = 0; cut < n; cut++)
		if (!wav_parse(buf, cut, &w, err, sizeof(err)))
			wav_free(&w);	/* a cut inside data may still parse: never past cut */
	assert_int_equal(wav_parse((const uint8_t *)"RIFX", 4, &w, err, sizeof(err)), -EINVAL);
}

static void test_shipped_prompt(void **state)
{
	struct wav w;
	char err[128];

	(void)state;
	assert_int_equal(wav_load("share/prompts", "tone.wav", &w, err, sizeof(err)), 0);
	assert_int_equal(w.len, 16000);		/* 2 s: 100 packets */
	assert_int_equal(w.pt, 8);
	wav_free(&w);
	assert_int_equal(wav_load("share/prompts", "../prompts/tone.wav", &w, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(wav_load("share/prompts", "none.wav", &w, err, sizeof(err)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alaw_round_trip),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_shipped_prompt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
