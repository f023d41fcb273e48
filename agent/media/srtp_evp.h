/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libsrtp2's AES-ICM-128 and HMAC-SHA1 on OpenSSL's EVP, with contexts
 * kept per stream (srtp_evp.c says why): the AES_CM_128_HMAC_SHA1_80 and
 * _32 suites, and the key derivation of the AES-128 ones, GCM's included.
 * libsrtp2 keeps the protocol; these replace two of its primitives only.
 */
#ifndef SLUICE_MEDIA_SRTP_EVP_H
#define SLUICE_MEDIA_SRTP_EVP_H

/*
 * After srtp_init(), before any context: 0, or -EIO when libsrtp2 refused
 * them (a failed known-answer test); its own implementations then stay.
 */
int media_srtp_evp_register(void);

#endif /* SLUICE_MEDIA_SRTP_EVP_H */
