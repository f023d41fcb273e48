/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A test call's prompt (sip/testcall.c): a WAV file (RIFF, RFC 2361's
 * format tags) of 8 kHz mono audio, read whole into G.711 ready to be
 * sent 160 bytes (20 ms) to an RTP packet. A-law (tag 6) and mu-law (7)
 * are taken as they are; 16-bit linear PCM (1) is encoded to A-law. Any
 * other format, rate or channel count is refused with a reason. Files
 * are operators' (the [testcall] prompts directory), yet read with the
 * care of network input: every chunk length checked against the file's,
 * at most WAV_MAX_BYTES of audio (fuzzed: tests/fuzz/fuzz_wav.c).
 */
#ifndef SLUICE_MEDIA_WAV_H
#define SLUICE_MEDIA_WAV_H

#include <stddef.h>
#include <stdint.h>

#define WAV_MAX_BYTES	(8000 * 300)	/* five minutes of G.711 */

struct wav {
	uint8_t		*data;		/* G.711, malloc'ed */
	size_t		len;		/* bytes = samples */
	int		pt;		/* RTP payload type: 0 PCMU, 8 PCMA */
};

/* Parses a WAV file's bytes; 0, or -EINVAL with why in err (-ENOMEM). */
int wav_parse(const uint8_t *buf, size_t len, struct wav *out, char *err, size_t errlen);
/* Reads name in the directory dirfd's path dir and parses it. */
int wav_load(const char *dir, const char *name, struct wav *out, char *err, size_t errlen);
void wav_free(struct wav *w);
/* G.711 A-law of a 16-bit linear sample. */
uint8_t wav_alaw(int16_t pcm);

#endif /* SLUICE_MEDIA_WAV_H */
