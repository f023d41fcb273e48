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
	for (int l = 0; l < 2; l++) {
		media_srtp_free(&rs->leg[l].srtp);
		media_dtls_free(&rs->leg[l].dtls);
	}
	OPENSSL_cleanse(k, sizeof(*k));
}

static void leg_plain(struct media_keying_leg *l, struct media_leg *rl)
{
	media_srtp_free(&rl->srtp);
	media_dtls_free(&rl->dtls);
	OPENSSL_cleanse(l, sizeof(*l));
}

/* lines += "crypto:VALUE\n" for c. */
static int add_line(char *lines, size_t n, const struct sdes_crypto *c)
{
	size_t used = strlen(lines);

	if (n - used < SDES_LINE_MAX + 8)
		return -ENOSPC;
	strcpy(lines + used, "crypto:");
	used += 7;
	if (sdes_format(c, lines + used, n - used - 1))
		return -ENOSPC;
	strcat(lines, "\n");
	return 0;
}

/* lines += the relay's a=fingerprint and a=setup. */
static int add_dtls_lines(char *lines, size_t n, const struct media_keying_env *env,
			  const char *setup)
{
	size_t used = strlen(lines);
	int len = snprintf(lines + used, n - used, "fingerprint:sha-256 %s\nsetup:%s\n",
			   env->cert->fingerprint, setup);

	return len < 0 || (size_t)len >= n - used ? -ENOSPC : 0;
}

/*
 * A leg keyed by DTLS-SRTP from its SDP: the association kept where the
 * peer's fingerprint and the roles are the same, else a new one.
 */
static int key_dtls(struct media_keying_leg *l, struct media_leg *rl,
		    const struct sdp_stream *sdp, const struct media_keying_env *env, char *err,
		    size_t errlen)
{
	bool server = sdp->setup != SDP_SETUP_PASSIVE;
	int rc;

	if (!sdp->fingerprint[0]) {
		snprintf(err, errlen, "m=%s: DTLS-SRTP without an a=fingerprint sluice can check "
			 "(sha-256)", sdp->media);
		return -EINVAL;
	}
	if (!env->cert || !env->cert->ctx) {
		snprintf(err, errlen, "m=%s: DTLS-SRTP is not available (no certificate)",
			 sdp->media);
		return -EINVAL;
	}
	if (rl->dtls && l->dtls && !strcmp(l->peer_fp, sdp->fingerprint) &&
	    rl->dtls->server == server)
		return 0;
	media_srtp_free(&rl->srtp);
	rc = media_dtls_start(&rl->dtls, env->cert, server, sdp->fingerprint, 0);
	if (rc) {
		snprintf(err, errlen, "m=%s: no DTLS: %s", sdp->media, strerror(-rc));
		return rc;
	}
	l->on = l->dtls = true;
	l->nours = 0;
	snprintf(l->peer_fp, sizeof(l->peer_fp), "%s", sdp->fingerprint);
	return 0;
}

/* The sender's leg: its first usable key in, the relay's own in its suite out. */
static int key_sender(struct media_keying *k, struct media_leg *rl, int from,
		      const struct sdp_stream *sdp, char *err, size_t errlen)
{
	struct media_keying_leg *l = &k->leg[from];
	const struct sdes_crypto *theirs = &sdp->crypto[0];
	int rc;

	media_dtls_free(&rl->dtls);
	l->dtls = false;
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
		       const struct media_keying_env *env, char *lines, size_t n,
		       const char **lines_out, const char **proto, char *err, size_t errlen)
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
	if (sdp_proto_kind(sdp->proto) == SDP_PROTO_DTLS)
		rc = key_dtls(&k->leg[from], &rs->leg[from], sdp, env, err, errlen);
	else
		rc = key_sender(k, &rs->leg[from], from, sdp, err, errlen);
	if (rc)
		return rc;
	if (w->proto && w->proto[0])
		*proto = w->proto;
	*lines_out = lines;
	k->leg[!from].dtls_offered = w->offer == MEDIA_KEYS_DTLS;
	if (w->offer == MEDIA_KEYS_DTLS) {
		k->leg[!from].nours = 0;
		if (!env->cert || !env->cert->ctx) {
			snprintf(err, errlen, "DTLS-SRTP is not available (no certificate)");
			return -EINVAL;
		}
		/* A live association keeps its roles; a new one is offered both. */
		return add_dtls_lines(lines, n, env, !rs->leg[!from].dtls ? "actpass" :
					rs->leg[!from].dtls->server ? "passive" : "active");
	}
	if (w->offer != MEDIA_KEYS_SDES) {
		k->leg[!from].nours = 0;
		return 0;
	}
	return offer_keys(&k->leg[!from], w->no_suites, lines, n, err, errlen);
}

/* The offerer's keying in the answer to it: the relay's key or certificate. */
static int answer_lines(const struct media_keying_leg *o, const struct media_stream *rs, int leg,
			const struct media_keying_env *env, char *lines, size_t n)
{
	if (!o->on)
		return 0;
	if (o->dtls)
		return add_dtls_lines(lines, n, env, rs->leg[leg].dtls && !rs->leg[leg].dtls->server ?
					       "active" : "passive");
	return add_line(lines, n, &o->ours[0]);
}

int media_keying_answer(struct media_keying *k, struct media_stream *rs, int from,
			const struct sdp_stream *sdp, const struct media_keying_env *env,
			char *lines, size_t n, const char **lines_out, char *err, size_t errlen)
{
	struct media_keying_leg *l = &k->leg[from], *o = &k->leg[!from];
	int c, j, rc;

	*lines_out = NULL;
	lines[0] = '\0';
	if (!k->terminate)
		return 0;
	if (l->dtls_offered && sdp_proto_kind(sdp->proto) == SDP_PROTO_DTLS) {
		rc = key_dtls(l, &rs->leg[from], sdp, env, err, errlen);
		if (rc)
			return rc;
		*lines_out = lines;
		return answer_lines(o, rs, !from, env, lines, n);
	}
	if (l->dtls_offered && k->require) {
		snprintf(err, errlen, "m=%s: SRTP is required and the answer is not DTLS-SRTP",
			 sdp->media);
		return -EINVAL;
	}
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
	return answer_lines(o, rs, !from, env, lines, n);
}
