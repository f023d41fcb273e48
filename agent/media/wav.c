// SPDX-License-Identifier: GPL-2.0-only
/*
 * WAV prompts (see wav.h): the RIFF chunks walked with every length
 * checked, the "fmt " chunk's format, rate and channels, the "data"
 * chunk's samples as G.711.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/wav.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint8_t wav_alaw(int16_t pcm)
{
	int sign = pcm >= 0 ? 0x80 : 0, mag = pcm >= 0 ? pcm : -(int)pcm - 1, seg = 0;
	uint8_t a;

	mag >>= 3;		/* A-law works on 13 bits */
	if (mag > 0xfff)
		mag = 0xfff;
	while (seg < 7 && mag >= (0x20 << seg))
		seg++;
	a = (uint8_t)(seg << 4 | (seg ? (mag >> seg) & 0x0f : (mag >> 1) & 0x0f));
	return (uint8_t)((a | sign) ^ 0x55);
}

static int fail(char *err, size_t n, const char *why)
{
	snprintf(err, n, "%s", why);
	return -EINVAL;
}

int wav_parse(const uint8_t *buf, size_t len, struct wav *out, char *err, size_t errlen)
{
	const uint8_t *fmt = NULL, *data = NULL;
	size_t off = 12, dlen = 0;
	uint16_t tag, chans, bits;

	memset(out, 0, sizeof(*out));
	if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4))
		return fail(err, errlen, "not a RIFF WAVE file");
	while (off + 8 <= len && (!fmt || !data)) {
		uint32_t n = le32(buf + off + 4);

		if (n > len - off - 8)
			return fail(err, errlen, "a chunk runs past the end of the file");
		if (!memcmp(buf + off, "fmt ", 4) && n >= 16)
			fmt = buf + off + 8;
		else if (!memcmp(buf + off, "data", 4)) {
			data = buf + off + 8;
			dlen = n;
		}
		off += 8 + (size_t)n + (n & 1);
	}
	if (!fmt || !data)
		return fail(err, errlen, "no fmt or no data chunk");
	tag = le16(fmt);
	chans = le16(fmt + 2);
	bits = le16(fmt + 14);
	if (chans != 1 || le32(fmt + 4) != 8000)
		return fail(err, errlen, "not 8000 Hz mono");
	if (!((tag == 6 || tag == 7) && bits == 8) && !(tag == 1 && bits == 16))
		return fail(err, errlen, "neither A-law, mu-law nor 16-bit PCM");
	if (tag == 1)
		dlen /= 2;
	if (!dlen || dlen > WAV_MAX_BYTES)
		return fail(err, errlen, "no audio, or more than five minutes of it");
	out->data = malloc(dlen);
	if (!out->data) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	out->len = dlen;
	out->pt = tag == 7 ? 0 : 8;
	if (tag != 1)
		memcpy(out->data, data, dlen);
	else
		for (size_t i = 0; i < dlen; i++)
			out->data[i] = wav_alaw((int16_t)le16(data + 2 * i));
	return 0;
}

int wav_load(const char *dir, const char *name, struct wav *out, char *err, size_t errlen)
{
	char path[512];
	struct stat st;
	uint8_t *buf;
	ssize_t got;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if (!name[0] || name[0] == '.' || strchr(name, '/') ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return fail(err, errlen, "a prompt is a plain file name in [testcall] prompts");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -ENOENT;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > 2 * WAV_MAX_BYTES + 4096) {
		close(fd);
		return fail(err, errlen, "not a regular file, or too large");
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	got = read(fd, buf, (size_t)st.st_size);
	close(fd);
	rc = got == st.st_size ? wav_parse(buf, (size_t)got, out, err, errlen)
			       : fail(err, errlen, "short read");
	free(buf);
	return rc;
}

void wav_free(struct wav *w)
{
	free(w->data);
	w->data = NULL;
	w->len = 0;
}
