// SPDX-License-Identifier: GPL-2.0-only
/*
 * The relay's ICE-lite agent (see ice.h): credentials, and the answers to
 * checks, which the STUN codec of net/stun.c builds.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "media/ice.h"
#include "net/stun.h"

/* RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/"; 64 of them, so a byte's low 6 bits pick one evenly. */
static const char ice_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int random_chars(char *out, size_t n)
{
	uint8_t raw[MEDIA_ICE_PWD_LEN];
	size_t got = 0;

	if (n > sizeof(raw))
		return -EINVAL;
	while (got < n) {
		ssize_t r = getrandom(raw + got, n - got, 0);

		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			got += (size_t)r;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = ice_chars[raw[i] & 63];
	out[n] = '\0';
	return 0;
}

int media_ice_start(struct media_ice_agent *ice)
{
	int err;

	if (ice->ufrag[0])
		return 0;
	err = random_chars(ice->ufrag, MEDIA_ICE_UFRAG_LEN);
	if (!err)
		err = random_chars(ice->pwd, MEDIA_ICE_PWD_LEN);
	if (err)
		ice->ufrag[0] = ice->pwd[0] = '\0';
	return err;
}

static bool ice_string(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, ice_chars) == n;
}

bool media_ice_cred_ok(const char *ufrag, const char *pwd)
{
	return ice_string(ufrag, 4, MEDIA_ICE_UFRAG_LEN) && ice_string(pwd, 22, MEDIA_ICE_PWD_LEN);
}

bool media_ice_input(const struct media_ice_agent *ice, int fd, const struct sockaddr *src,
		     socklen_t srclen, const uint8_t *pkt, size_t len, bool *authenticated)
{
	const struct stun_ice_cred cred = { ice->ufrag, ice->pwd };
	uint8_t out[STUN_MAX_RESPONSE];
	unsigned flags;
	int n;

	if (!ice->force || !ice->ufrag[0] || fd < 0)
		return false;
	n = stun_ice_answer(pkt, len, src, &cred, out, sizeof(out), &flags);
	if (n <= 0)
		return false;
	*authenticated = true;
	if (sendto(fd, out, (size_t)n, MSG_DONTWAIT, src, srclen) < 0)
		LOG(L_DEBUG, "[media] ICE answer: %s", strerror(errno));
	return (flags & STUN_ICE_USE_CANDIDATE) != 0;
}
