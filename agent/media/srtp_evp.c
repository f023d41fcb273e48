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
 * keeps one AES-128-ECB context, keyed once, which turns the packet's
 * counter blocks into its keystream (no per-packet cipher init: in
 * OpenSSL 3 resetting a CTR context's IV is a provider call with name
 * lookups), and the HMAC's inner and outer SHA-1 states after the keyed
 * pads, copied per packet (EVP_MAC restarts and EVP_MD_CTX_copy_ex
 * allocate and free a provider context per packet in OpenSSL 3: most of
 * what the crypto cost at 50 packets a second per stream). The SHA-1
 * state is OpenSSL's low-level SHA1 API, deprecated in 3.0 but present
 * and the only one whose state is a plain structure to copy; the SHA-1
 * itself is still OpenSSL's (SHA-NI or AVX2). libsrtp2 runs its known-answer tests (RFC 3711 B.2's AES-CM
 * keystream, RFC 2202's first HMAC-SHA1 case) on both when they are
 * registered, and refuses them if they fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* SHA1_Init and friends: deprecated in OpenSSL 3.0, see above. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <srtp2/srtp.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>

#include "media/srtp_evp.h"

#define ICM_KEY		16	/* AES-128 */
#define ICM_SALT	14	/* SRTP_SALT_LEN */
#define SHA1_LEN	20

/* ---- AES-ICM-128 (RFC 3711 4.1.1) ---- */

/* Keystream blocks made per EVP call: a 1,500-octet payload in two calls. */
#define ICM_CHUNK	64

struct icm {
	EVP_CIPHER_CTX	*ctx;		/* AES-128-ECB, keyed once */
	uint8_t		offset[16];	/* the salt, its last two octets zero */
	uint8_t		counter[16];	/* the next counter block */
	uint8_t		ks[16];		/* keystream left over from the last call */
	unsigned	ks_used;	/* of ks: 16 when none is left */
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
	memcpy(s->counter, s->offset, sizeof(s->counter));
	s->ks_used = sizeof(s->ks);
	if (!EVP_EncryptInit_ex(s->ctx, EVP_aes_128_ecb(), NULL, key, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(s->ctx, 0))
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

/* The counter block: the salt's offset XOR the packet's IV (RFC 3711 4.1.1). */
static srtp_err_status_t icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
	struct icm *s = state;

	(void)dir;
	for (int i = 0; i < 16; i++)
		s->counter[i] = s->offset[i] ^ iv[i];
	s->ks_used = sizeof(s->ks);
	return srtp_err_status_ok;
}

/* The 128-bit big-endian counter's next value (as OpenSSL's CTR mode counts). */
static void icm_next(uint8_t counter[16])
{
	for (int i = 15; i >= 0 && !++counter[i]; i--)
		;
}

/*
 * In place; counter mode: encrypting and decrypting are the same XOR with
 * the keystream, AES of the successive counter blocks. A call continues
 * the keystream where the last one stopped, as a CTR context would.
 */
static srtp_err_status_t icm_crypt(void *state, uint8_t *buf, unsigned int *len)
{
	uint8_t ctr[ICM_CHUNK * 16], ks[ICM_CHUNK * 16];
	struct icm *s = state;
	size_t left = *len, off = 0;

	if (*len > INT32_MAX)
		return srtp_err_status_cipher_fail;
	while (left && s->ks_used < sizeof(s->ks)) {
		buf[off++] ^= s->ks[s->ks_used++];
		left--;
	}
	while (left) {
		size_t blocks = (left + 15) / 16, n;
		int out = 0;

		if (blocks > ICM_CHUNK)
			blocks = ICM_CHUNK;
		for (size_t b = 0; b < blocks; b++) {
			memcpy(ctr + 16 * b, s->counter, 16);
			icm_next(s->counter);
		}
		if (!EVP_EncryptUpdate(s->ctx, ks, &out, ctr, (int)(blocks * 16)) ||
		    out != (int)(blocks * 16))
			return srtp_err_status_cipher_fail;
		n = left < blocks * 16 ? left : blocks * 16;
		for (size_t i = 0; i < n; i++)
			buf[off + i] ^= ks[i];
		if (n % 16) {	/* the rest of the last block, for the next call */
			memcpy(s->ks, ks + 16 * (blocks - 1), 16);
			s->ks_used = n % 16;
		}
		off += n;
		left -= n;
	}
	OPENSSL_cleanse(ks, sizeof(ks));
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

/* HMAC-SHA1: SHA-1 over the keyed pads done once per key, copied per packet. */
struct hmac {
	SHA_CTX	inner;	/* after key XOR ipad */
	SHA_CTX	outer;	/* after key XOR opad */
	SHA_CTX	work;	/* this packet's inner hash */
};

static srtp_err_status_t hmac_dealloc(srtp_auth_t *a)
{
	if (a && a->state) {
		OPENSSL_cleanse(a->state, sizeof(struct hmac));
		free(a->state);
	}
	free(a);
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_alloc(srtp_auth_t **ap, int key_len, int out_len)
{
	srtp_auth_t *a;

	if (key_len < 0 || out_len < 1 || out_len > SHA1_LEN)
		return srtp_err_status_bad_param;
	a = calloc(1, sizeof(*a));
	if (!a || !(a->state = calloc(1, sizeof(struct hmac)))) {
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
	struct hmac *h = state;
	uint8_t k[SHA_CBLOCK] = { 0 }, pad[SHA_CBLOCK];
	srtp_err_status_t rc = srtp_err_status_auth_fail;

	if (key_len < 0)
		return srtp_err_status_bad_param;
	if ((size_t)key_len > sizeof(k)) {	/* RFC 2104: a long key is hashed first */
		if (!SHA1(key, (size_t)key_len, k))
			goto out;
	} else {
		memcpy(k, key, (size_t)key_len);
	}
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	if (!SHA1_Init(&h->inner) || !SHA1_Update(&h->inner, pad, sizeof(pad)))
		goto out;
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	if (!SHA1_Init(&h->outer) || !SHA1_Update(&h->outer, pad, sizeof(pad)))
		goto out;
	h->work = h->inner;
	rc = srtp_err_status_ok;
out:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	return rc;
}

/* Each packet's tag from the same key: the inner state after the key, copied. */
static srtp_err_status_t hmac_start(void *state)
{
	struct hmac *h = state;

	h->work = h->inner;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *state, const uint8_t *buf, int len)
{
	struct hmac *h = state;

	if (len < 0 || !SHA1_Update(&h->work, buf, (size_t)len))
		return srtp_err_status_auth_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_compute(void *state, const uint8_t *buf, int len, int tag_len,
				      uint8_t *tag)
{
	struct hmac *h = state;
	uint8_t full[SHA1_LEN];
	SHA_CTX outer;

	if (tag_len < 1 || tag_len > SHA1_LEN || hmac_update(state, buf, len) ||
	    !SHA1_Final(full, &h->work))
		return srtp_err_status_auth_fail;
	outer = h->outer;
	if (!SHA1_Update(&outer, full, sizeof(full)) || !SHA1_Final(full, &outer))
		return srtp_err_status_auth_fail;
	memcpy(tag, full, (size_t)tag_len);
	OPENSSL_cleanse(&outer, sizeof(outer));
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
