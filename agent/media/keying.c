// SPDX-License-Identifier: GPL-2.0-only
/*
 * SDES negotiation per stream (see keying.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "media/keying.h"
#include "media/srtp.h"

const char *media_keying_proto(const char *proto, bool srtp)
{
	bool fb = !strcasecmp(proto, "RTP/AVPF") || !strcasecmp(proto, "RTP/SAVPF");

	if (srtp)
		return fb ? "RTP/SAVPF" : "RTP/SAVP";
	return fb ? "RTP/AVPF" : "RTP/AVP";
}

void media_keying_clear(struct media_keying *k, struct media_stream *rs)
{
	media_srtp_free(&rs->leg[0].srtp);
	media_srtp_free(&rs->leg[1].srtp);
	OPENSSL_cleanse(k, sizeof(*k));
}

static void leg_plain(struct media_keying_leg *l, struct media_leg *rl)
{
	media_srtp_free(&rl->srtp);
	OPENSSL_cleanse(l, sizeof(*l));
}

/* lines += "VALUE\n" for c. */
static int add_line(char *lines, size_t n, const struct sdes_crypto *c)
{
	size_t used = strlen(lines);

	if (n - used < SDES_LINE_MAX + 1 || sdes_format(c, lines + used, n - used - 1))
		return -ENOSPC;
	strcat(lines, "\n");
	return 0;
}

/* The sender's leg: its first usable key in, the relay's own in its suite out. */
static int key_sender(struct media_keying *k, struct media_leg *rl, int from,
		      const struct sdp_stream *sdp, char *err, size_t errlen)
{
	struct media_keying_leg *l = &k->leg[from];
	const struct sdes_crypto *theirs = &sdp->crypto[0];
	int rc;

	if (!sdp->ncrypto) {
		if (sdp->ncrypto_seen || sdp_proto_is_srtp(sdp->proto)) {
			snprintf(err, errlen, "m=%s: no a=crypto that sluice can use (%s)",
				 sdp->media, "AES_CM_128_HMAC_SHA1_80/32, AEAD_AES_128/256_GCM; "
				 "one inline key, no MKI");
			return -EINVAL;
		}
		if (k->require) {
			snprintf(err, errlen, "m=%s: SRTP is required and the offer has no a=crypto",
				 sdp->media);
			return -EINVAL;
		}
		leg_plain(l, rl);
		return 0;
	}
	if (!l->on || !l->nours || l->ours[0].suite != theirs->suite) {
		rc = sdes_generate(&l->ours[0], theirs->tag, theirs->suite);
		if (rc)
			goto out_fail;
	}
	l->ours[0].tag = theirs->tag;
	l->nours = 1;
	l->theirs = *theirs;
	l->on = true;
	rc = media_srtp_set(&rl->srtp, &l->theirs, &l->ours[0]);
	if (!rc)
		return 0;
out_fail:
	snprintf(err, errlen, "m=%s: no SRTP context for the key: %s", sdp->media, strerror(-rc));
	leg_plain(l, rl);
	return rc;
}

/* The relay's keys offered to the answerer: one per suite, kept across re-offers. */
static int offer_keys(struct media_keying_leg *l, unsigned no_suites, char *lines, size_t n,
		      char *err, size_t errlen)
{
	struct sdes_crypto keys[SDES_MAX_LINES];
	int s, j, nk = 0, rc;

	for (s = 0; s < SDES_NSUITES && nk < SDES_MAX_LINES; s++) {
		if (no_suites & (1u << s))
			continue;
		for (j = 0; j < l->nours && l->ours[j].suite != (enum sdes_suite)s; j++)
			;
		if (j < l->nours) {
			keys[nk] = l->ours[j];
			keys[nk].tag = (unsigned)nk + 1;
		} else if (sdes_generate(&keys[nk], (unsigned)nk + 1, (enum sdes_suite)s)) {
			OPENSSL_cleanse(keys, sizeof(keys));
			snprintf(err, errlen, "no random bytes for an SRTP key");
			return -EIO;
		}
		nk++;
	}
	if (!nk) {
		snprintf(err, errlen, "SDES flags leave no crypto suite to offer");
		return -EINVAL;
	}
	for (j = 0, rc = 0; j < nk && !rc; j++)
		rc = add_line(lines, n, &keys[j]);
	memcpy(l->ours, keys, sizeof(keys));
	l->nours = (uint8_t)nk;
	OPENSSL_cleanse(keys, sizeof(keys));
	return rc;
}

int media_keying_offer(struct media_keying *k, struct media_stream *rs, int from,
		       const struct sdp_stream *sdp, const struct media_keying_want *w,
		       char *lines, size_t n, const char **lines_out, const char **proto,
		       char *err, size_t errlen)
{
	int rc;

	*lines_out = NULL;
	*proto = NULL;
	lines[0] = '\0';
	if (!w->terminate) {
		if (k->terminate)	/* back to pass-through: the peers key each other */
			media_keying_clear(k, rs);
		return 0;
	}
	k->terminate = true;
	k->require = w->require;
	rc = key_sender(k, &rs->leg[from], from, sdp, err, errlen);
	if (rc)
		return rc;
	if (w->proto && w->proto[0])
		*proto = w->proto;
	*lines_out = lines;
	if (!w->offer_keys) {
		k->leg[!from].nours = 0;
		return 0;
	}
	return offer_keys(&k->leg[!from], w->no_suites, lines, n, err, errlen);
}

int media_keying_answer(struct media_keying *k, struct media_stream *rs, int from,
			const struct sdp_stream *sdp, char *lines, size_t n,
			const char **lines_out, char *err, size_t errlen)
{
	struct media_keying_leg *l = &k->leg[from], *o = &k->leg[!from];
	int c, j, rc;

	*lines_out = NULL;
	lines[0] = '\0';
	if (!k->terminate)
		return 0;
	for (c = 0; c < sdp->ncrypto; c++) {
		for (j = 0; j < l->nours; j++)
			if (l->ours[j].tag == sdp->crypto[c].tag &&
			    l->ours[j].suite == sdp->crypto[c].suite)
				break;
		if (j < l->nours)
			break;
	}
	if (c < sdp->ncrypto) {
		l->ours[0] = l->ours[j];
		l->nours = 1;
		l->theirs = sdp->crypto[c];
		l->on = true;
		rc = media_srtp_set(&rs->leg[from].srtp, &l->theirs, &l->ours[0]);
		if (rc) {
			snprintf(err, errlen, "m=%s: no SRTP context for the key: %s", sdp->media,
				 strerror(-rc));
			return rc;
		}
	} else if (sdp->ncrypto_seen || k->require) {
		snprintf(err, errlen, "m=%s: no a=crypto in the answer matches the offer's",
			 sdp->media);
		return -EINVAL;
	} else {
		leg_plain(l, &rs->leg[from]);
	}
	*lines_out = lines;
	return o->on ? add_line(lines, n, &o->ours[0]) : 0;
}
