// SPDX-License-Identifier: GPL-2.0-only
/*
 * libsrtp2 contexts for a terminated leg (see srtp.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#include "core/log.h"
#include "media/srtp.h"
#include "media/srtp_evp.h"

/* SRTP's default replay window is 128; a jittery path reorders more. */
#define SRTP_WINDOW	1024

int media_srtp_global_init(void)
{
	static bool done;

	if (done)
		return 0;
	if (srtp_init() != srtp_err_status_ok) {
		LOG(L_ERROR, "[media] libsrtp2 does not initialise: SRTP is not available");
		return -EIO;
	}
	if (media_srtp_evp_register())
		LOG(L_WARN, "[media] libsrtp2 refused OpenSSL's AES-ICM and HMAC-SHA1: "
		    "SRTP uses libsrtp2's own (slower per packet)");
	done = true;
	return 0;
}

static void suite_policy(enum sdes_suite suite, srtp_policy_t *p)
{
	switch (suite) {
	case SDES_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	case SDES_AES_CM_128_HMAC_SHA1_32:
		/* RFC 4568 6.2.2: SRTCP keeps the 80-bit tag. */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	case SDES_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
		break;
	case SDES_AEAD_AES_256_GCM:
	default:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
		break;
	}
}

static int context(srtp_t *ctx, const struct sdes_crypto *key, bool inbound)
{
	srtp_policy_t p;
	uint8_t k[SDES_KEY_MAX];
	srtp_err_status_t rc;

	if ((unsigned)key->suite >= SDES_NSUITES)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	suite_policy(key->suite, &p);
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	memcpy(k, key->key, sizeof(k));
	p.key = k;
	p.window_size = SRTP_WINDOW;
	/* The other peer may resend a packet (a retransmission): not a replay of ours. */
	p.allow_repeat_tx = 1;
	rc = srtp_create(ctx, &p);
	OPENSSL_cleanse(k, sizeof(k));
	if (rc != srtp_err_status_ok) {
		LOG(L_WARN, "[media] libsrtp2 refuses a %s context (%s): error %d",
		    inbound ? "receiving" : "sending", sdes_suites[key->suite].name, rc);
		return rc == srtp_err_status_alloc_fail ? -ENOMEM : -EINVAL;
	}
	return 0;
}

static bool same_key(const struct sdes_crypto *a, const struct sdes_crypto *b)
{
	return a->suite == b->suite && !CRYPTO_memcmp(a->key, b->key, sizeof(a->key));
}

void media_srtp_free(struct media_srtp **sp)
{
	struct media_srtp *s = *sp;

	if (!s)
		return;
	if (s->rx)
		srtp_dealloc(s->rx);
	if (s->tx)
		srtp_dealloc(s->tx);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
	*sp = NULL;
}

int media_srtp_set(struct media_srtp **sp, const struct sdes_crypto *rx,
		   const struct sdes_crypto *tx)
{
	struct media_srtp *s = *sp;
	srtp_t in = NULL, out = NULL;
	int rc;

	if (s && same_key(&s->rx_key, rx) && same_key(&s->tx_key, tx))
		return 0;
	rc = media_srtp_global_init();
	if (!rc)
		rc = context(&in, rx, true);
	if (!rc)
		rc = context(&out, tx, false);
	if (!rc && !s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			rc = -ENOMEM;
	}
	if (rc) {
		if (in)
			srtp_dealloc(in);
		if (out)
			srtp_dealloc(out);
		return rc;
	}
	if (s->rx)
		srtp_dealloc(s->rx);
	if (s->tx)
		srtp_dealloc(s->tx);
	s->rx = in;
	s->tx = out;
	s->rx_key = *rx;
	s->tx_key = *tx;
	*sp = s;
	return 0;
}

int media_srtp_unprotect(struct media_srtp *s, bool rtcp, uint8_t *buf, size_t *len)
{
	int n = (int)*len;
	srtp_err_status_t rc;

	if (*len < (rtcp ? 8u : 12u) || *len > 65535)
		return -EINVAL;
	rc = rtcp ? srtp_unprotect_rtcp(s->rx, buf, &n) : srtp_unprotect(s->rx, buf, &n);
	if (rc != srtp_err_status_ok)
		return rc == srtp_err_status_bad_param ? -EINVAL : -EACCES;
	*len = (size_t)n;
	return 0;
}

int media_srtp_protect(struct media_srtp *s, bool rtcp, uint8_t *buf, size_t *len)
{
	int n = (int)*len;
	srtp_err_status_t rc;

	if (*len < (rtcp ? 8u : 12u) || *len > 65535 - MEDIA_SRTP_TRAILER)
		return -EINVAL;
	rc = rtcp ? srtp_protect_rtcp(s->tx, buf, &n) : srtp_protect(s->tx, buf, &n);
	if (rc != srtp_err_status_ok)
		return -EINVAL;
	*len = (size_t)n;
	return 0;
}
