// SPDX-License-Identifier: GPL-2.0-only
/*
 * srtp_evp.c against libsrtp2's own primitives (NSS in Debian's build):
 * contexts made before media_srtp_evp_register() keep libsrtp2's, those
 * made after use OpenSSL's. For each suite whose key derivation or
 * transform they touch (AES_CM_128_HMAC_SHA1_80 and _32, AEAD_AES_128_GCM),
 * the same packets (sequence numbers across a rollover, SRTCP too) come
 * out byte for byte the same from both, each side reads the other's, and
 * a flipped bit or a replay is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <srtp2/srtp.h>

#include "media/srtp_evp.h"

#define NPKT	7

/* Steps under 2^15, as a sender's are, across a rollover (RFC 3711 3.3.1). */
static const uint16_t seqs[NPKT] = { 1, 2, 30000, 60000, 65535, 0, 1 };

enum which { CM80, CM32, GCM128 };

static srtp_t make(enum which w, bool inbound, const uint8_t *key)
{
	srtp_policy_t p;
	srtp_t s;

	memset(&p, 0, sizeof(p));
	if (w == CM80) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
	} else if (w == CM32) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
	} else {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
	}
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = (uint8_t *)key;
	p.window_size = 1024;
	assert_int_equal(srtp_create(&s, &p), srtp_err_status_ok);
	return s;
}

/*
 * Payloads of several lengths: whole AES blocks and not, and one longer
 * than the keystream the cipher makes per call (srtp_evp.c's ICM_CHUNK).
 */
#define PKT_MAX	1600

static int payload_len(uint16_t seq)
{
	return seq == 30000 ? 1500 : 160 + seq % 13;
}

static int rtp(uint8_t *pkt, uint16_t seq)
{
	int n = payload_len(seq);

	memset(pkt, 0, 12);
	pkt[0] = 0x80;
	pkt[2] = (uint8_t)(seq >> 8);
	pkt[3] = (uint8_t)seq;
	pkt[7] = 0x20;		/* timestamp */
	pkt[11] = 0x77;		/* SSRC */
	for (int i = 0; i < n; i++)
		pkt[12 + i] = (uint8_t)(seq + i);
	return 12 + n;
}

static int rtcp(uint8_t *pkt)
{
	static const uint8_t rr[8] = { 0x80, 201, 0, 1, 0, 0, 0, 0x77 };

	memcpy(pkt, rr, sizeof(rr));
	return sizeof(rr);
}

/* What each context made in `out` (NPKT RTP, then one SRTCP): lengths in len. */
static void protect_all(srtp_t s, uint8_t out[NPKT + 1][PKT_MAX], int len[NPKT + 1])
{
	for (int i = 0; i < NPKT; i++) {
		len[i] = rtp(out[i], seqs[i]);
		assert_int_equal(srtp_protect(s, out[i], &len[i]), srtp_err_status_ok);
	}
	len[NPKT] = rtcp(out[NPKT]);
	assert_int_equal(srtp_protect_rtcp(s, out[NPKT], &len[NPKT]), srtp_err_status_ok);
}

static void read_all(srtp_t s, uint8_t in[NPKT + 1][PKT_MAX], const int len[NPKT + 1])
{
	uint8_t buf[PKT_MAX], want[PKT_MAX];
	int n;

	/* A flipped bit in the payload: forged. */
	memcpy(buf, in[0], (size_t)len[0]);
	buf[40] ^= 0x10;
	n = len[0];
	assert_int_equal(srtp_unprotect(s, buf, &n), srtp_err_status_auth_fail);
	for (int i = 0; i < NPKT; i++) {
		memcpy(buf, in[i], (size_t)len[i]);
		n = len[i];
		assert_int_equal(srtp_unprotect(s, buf, &n), srtp_err_status_ok);
		assert_int_equal(n, rtp(want, seqs[i]));
		assert_memory_equal(buf, want, (size_t)n);
	}
	memcpy(buf, in[NPKT], (size_t)len[NPKT]);
	n = len[NPKT];
	assert_int_equal(srtp_unprotect_rtcp(s, buf, &n), srtp_err_status_ok);
	assert_int_equal(n, rtcp(want));
	/* The last packet again: a replay. */
	memcpy(buf, in[NPKT - 1], (size_t)len[NPKT - 1]);
	n = len[NPKT - 1];
	assert_int_equal(srtp_unprotect(s, buf, &n), srtp_err_status_replay_fail);
}

static void test_same_as_libsrtp(void **state)
{
	static uint8_t ref[3][NPKT + 1][PKT_MAX], ours[3][NPKT + 1][PKT_MAX];
	int ref_len[3][NPKT + 1], ours_len[3][NPKT + 1];
	srtp_t ref_in[3], ours_in[3], s;
	uint8_t key[30];

	(void)state;
	for (int i = 0; i < 30; i++)
		key[i] = (uint8_t)(0x11 * i + 3);
	assert_int_equal(srtp_init(), srtp_err_status_ok);
	for (int w = CM80; w <= GCM128; w++) {
		s = make(w, false, key);
		protect_all(s, ref[w], ref_len[w]);
		srtp_dealloc(s);
		ref_in[w] = make(w, true, key);
	}
	assert_int_equal(media_srtp_evp_register(), 0);
	for (int w = CM80; w <= GCM128; w++) {
		s = make(w, false, key);
		protect_all(s, ours[w], ours_len[w]);
		srtp_dealloc(s);
		ours_in[w] = make(w, true, key);
		for (int i = 0; i <= NPKT; i++) {
			assert_int_equal(ours_len[w][i], ref_len[w][i]);
			assert_memory_equal(ours[w][i], ref[w][i], (size_t)ref_len[w][i]);
		}
		read_all(ours_in[w], ref[w], ref_len[w]);
		read_all(ref_in[w], ours[w], ours_len[w]);
		srtp_dealloc(ours_in[w]);
		srtp_dealloc(ref_in[w]);
	}
	srtp_shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_libsrtp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
