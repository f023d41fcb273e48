// SPDX-License-Identifier: GPL-2.0-only
/*
 * AES-ICM-128 and HMAC-SHA1 for libsrtp2 on OpenSSL's EVP (see
 * srtp_evp.h). libsrtp2 keeps everything SRTP is (key derivation, the
 * rollover counter, replay windows, SRTCP, the tags' placement); these
 * are only its two primitives for the AES_CM_128_HMAC_SHA1 suites,
 * registered with srtp_replace_cipher_type() and srtp_replace_auth_type().
 *
 * Why: Debian builds libsrtp2 on NSS, whose AES-ICM creates and destroys
 * an NSS context for every packet's IV, and whose HMAC does the same for
 * every packet's tag, each with allocations and locks: half of the relay's
 * CPU per packet (docs/media.md, "SRTP and the kernel"). Here each stream
 * keeps one cipher context, keyed once, whose IV is reset per packet, and
 * one HMAC context, keyed once, restarted per packet without its key
 * schedule. libsrtp2 runs its known-answer tests (RFC 3711 B.2's AES-CM
 * keystream, RFC 2202's first HMAC-SHA1 case) on both when they are
 * registered, and refuses them if they fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <srtp2/srtp.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>

#include "media/srtp_evp.h"

#define ICM_KEY		16	/* AES-128 */
#define ICM_SALT	14	/* SRTP_SALT_LEN */
#define SHA1_LEN	20

/* ---- AES-ICM-128 (RFC 3711 4.1.1) ---- */

struct icm {
	EVP_CIPHER_CTX	*ctx;
	uint8_t		offset[16];	/* the salt, its last two octets zero */
};

static const srtp_cipher_type_t icm_type;

static srtp_err_status_t icm_dealloc(srtp_cipher_t *c)
{
	struct icm *s = c ? c->state : NULL;

	if (s) {
		EVP_CIPHER_CTX_free(s->ctx);
		OPENSSL_cleanse(s, sizeof(*s));
		free(s);
	}
	free(c);
	return srtp_err_status_ok;
}

static srtp_err_status_t icm_alloc(srtp_cipher_t **cp, int key_len, int tag_len)
{
	srtp_cipher_t *c;
	struct icm *s;

	(void)tag_len;
	if (key_len != ICM_KEY + ICM_SALT)
		return srtp_err_status_bad_param;
	c = calloc(1, sizeof(*c));
	s = calloc(1, sizeof(*s));
	if (!c || !s || !(s->ctx = EVP_CIPHER_CTX_new())) {
		free(s);
		free(c);
		return srtp_err_status_alloc_fail;
	}
	c->type = &icm_type;
	c->state = s;
	c->key_len = key_len;
	c->algorithm = SRTP_AES_ICM_128;
	*cp = c;
	return srtp_err_status_ok;
}

/* key: the 16-octet AES key, then the 14-octet salt. */
static srtp_err_status_t icm_init(void *state, const uint8_t *key)
{
	struct icm *s = state;

	memset(s->offset, 0, sizeof(s->offset));
	memcpy(s->offset, key + ICM_KEY, ICM_SALT);
	if (!EVP_EncryptInit_ex(s->ctx, EVP_aes_128_ctr(), NULL, key, s->offset))
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

/* The counter block: the salt's offset XOR the packet's IV (RFC 3711 4.1.1). */
static srtp_err_status_t icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
	struct icm *s = state;
	uint8_t counter[16];

	(void)dir;
	for (int i = 0; i < 16; i++)
		counter[i] = s->offset[i] ^ iv[i];
	if (!EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, counter))
		return srtp_err_status_fail;
	return srtp_err_status_ok;
}

/* In place; counter mode: encrypting and decrypting are the same XOR. */
static srtp_err_status_t icm_crypt(void *state, uint8_t *buf, unsigned int *len)
{
	struct icm *s = state;
	int out = 0;

	if (*len > INT32_MAX || !EVP_EncryptUpdate(s->ctx, buf, &out, buf, (int)*len))
		return srtp_err_status_cipher_fail;
	*len = (unsigned int)out;
	return srtp_err_status_ok;
}

/* RFC 3711 B.2: the first two keystream blocks from its session key and salt. */
static const uint8_t icm_test_key[ICM_KEY + ICM_SALT] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
	0x4f, 0x3c, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb,
	0xfc, 0xfd,
};
static uint8_t icm_test_iv[16];
static const uint8_t icm_test_plain[32];
static const uint8_t icm_test_cipher[32] = {
	0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b,
	0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe,
	0x4a, 0x5f, 0x97, 0xab,
};
static const srtp_cipher_test_case_t icm_test = {
	.key_length_octets = sizeof(icm_test_key),
	.key = icm_test_key,
	.idx = icm_test_iv,
	.plaintext_length_octets = sizeof(icm_test_plain),
	.plaintext = icm_test_plain,
	.ciphertext_length_octets = sizeof(icm_test_cipher),
	.ciphertext = icm_test_cipher,
};

static const srtp_cipher_type_t icm_type = {
	.alloc = icm_alloc,
	.dealloc = icm_dealloc,
	.init = icm_init,
	.encrypt = icm_crypt,
	.decrypt = icm_crypt,
	.set_iv = icm_set_iv,
	.description = "AES-128 integer counter mode (OpenSSL EVP, sluice)",
	.test_data = &icm_test,
	.id = SRTP_AES_ICM_128,
};

/* ---- HMAC-SHA1 (RFC 2104), tags truncated as the suite says ---- */

static const srtp_auth_type_t hmac_type;

static srtp_err_status_t hmac_dealloc(srtp_auth_t *a)
{
	if (a)
		EVP_MAC_CTX_free(a->state);
	free(a);
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_alloc(srtp_auth_t **ap, int key_len, int out_len)
{
	EVP_MAC *mac;
	srtp_auth_t *a;

	if (key_len < 0 || out_len < 1 || out_len > SHA1_LEN)
		return srtp_err_status_bad_param;
	a = calloc(1, sizeof(*a));
	if (!a)
		return srtp_err_status_alloc_fail;
	mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	a->state = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac);	/* the context holds its own reference */
	if (!a->state) {
		free(a);
		return srtp_err_status_alloc_fail;
	}
	a->type = &hmac_type;
	a->out_len = out_len;
	a->key_len = key_len;
	*ap = a;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_init(void *state, const uint8_t *key, int key_len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0),
		OSSL_PARAM_construct_end(),
	};

	if (!EVP_MAC_init(state, key, (size_t)key_len, params))
		return srtp_err_status_auth_fail;
	return srtp_err_status_ok;
}

/* Each packet's tag from the same key: no key schedule again, only a reset. */
static srtp_err_status_t hmac_start(void *state)
{
	if (!EVP_MAC_init(state, NULL, 0, NULL))
		return srtp_err_status_auth_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *state, const uint8_t *buf, int len)
{
	if (len < 0 || !EVP_MAC_update(state, buf, (size_t)len))
		return srtp_err_status_auth_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_compute(void *state, const uint8_t *buf, int len, int tag_len,
				      uint8_t *tag)
{
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t out = 0;

	if (tag_len < 1 || tag_len > SHA1_LEN || hmac_update(state, buf, len) ||
	    !EVP_MAC_final(state, full, &out, sizeof(full)) || out != SHA1_LEN)
		return srtp_err_status_auth_fail;
	memcpy(tag, full, (size_t)tag_len);
	return srtp_err_status_ok;
}

/* RFC 2202's first HMAC-SHA1 test case. */
static const uint8_t hmac_test_key[20] = {
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
};
static const uint8_t hmac_test_data[8] = { 'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e' };
static const uint8_t hmac_test_tag[20] = {
	0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
	0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00,
};
static const srtp_auth_test_case_t hmac_test = {
	.key_length_octets = sizeof(hmac_test_key),
	.key = hmac_test_key,
	.data_length_octets = sizeof(hmac_test_data),
	.data = hmac_test_data,
	.tag_length_octets = sizeof(hmac_test_tag),
	.tag = hmac_test_tag,
};

static const srtp_auth_type_t hmac_type = {
	.alloc = hmac_alloc,
	.dealloc = hmac_dealloc,
	.init = hmac_init,
	.compute = hmac_compute,
	.update = hmac_update,
	.start = hmac_start,
	.description = "HMAC-SHA1 (OpenSSL EVP, sluice)",
	.test_data = &hmac_test,
	.id = SRTP_HMAC_SHA1,
};

int media_srtp_evp_register(void)
{
	if (srtp_replace_cipher_type(&icm_type, SRTP_AES_ICM_128) != srtp_err_status_ok)
		return -EIO;
	if (srtp_replace_auth_type(&hmac_type, SRTP_HMAC_SHA1) != srtp_err_status_ok)
		return -EIO;
	return 0;
}
