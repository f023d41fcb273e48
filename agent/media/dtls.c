// SPDX-License-Identifier: GPL-2.0-only
/*
 * DTLS-SRTP over OpenSSL (see dtls.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/log.h"
#include "media/dtls.h"

#define DTLS_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32"

static void fingerprint_of(X509 *x, char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0, i;
	size_t o = 0;

	out[0] = '\0';
	if (!X509_digest(x, EVP_sha256(), md, &len))
		return;
	for (i = 0; i < len && o + 4 <= n; i++)
		o += (size_t)snprintf(out + o, n - o, "%s%02X", i ? ":" : "", md[i]);
}

/* Any certificate passes here: the fingerprint is checked once the handshake is done. */
static int accept_any(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	(void)store;
	return 1;
}

static X509 *self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[8];

	if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out_free;
	serial[0] &= 0x7f;
	X509_set_version(x, 2);
	ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
				((uint64_t)serial[0] << 56) | ((uint64_t)serial[1] << 48) |
				((uint64_t)serial[2] << 40) | ((uint64_t)serial[3] << 32) |
				((uint64_t)serial[4] << 24) | ((uint64_t)serial[5] << 16) |
				((uint64_t)serial[6] << 8) | serial[7]);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sluice",
				   -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, key, EVP_sha256()))
		return x;
out_free:
	X509_free(x);
	return NULL;
}

int media_dtls_cert_init(struct media_dtls_cert *c)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = key ? self_signed(key) : NULL;
	SSL_CTX *ctx = x ? SSL_CTX_new(DTLS_method()) : NULL;
	int err = -ENOMEM;

	memset(c, 0, sizeof(*c));
	if (!ctx)
		goto out_free;
	err = -EINVAL;
	SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
	if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_set_tlsext_use_srtp(ctx, DTLS_PROFILES) != 0)
		goto out_free;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
	SSL_CTX_set_read_ahead(ctx, 1);
	fingerprint_of(x, c->fingerprint, sizeof(c->fingerprint));
	c->ctx = ctx;
	ctx = NULL;
	err = 0;
out_free:
	SSL_CTX_free(ctx);
	X509_free(x);
	EVP_PKEY_free(key);
	if (err)
		LOG(L_WARN, "[media] no DTLS certificate (%s): DTLS-SRTP is not available",
		    ERR_reason_error_string(ERR_get_error()));
	ERR_clear_error();
	return err;
}

void media_dtls_cert_fini(struct media_dtls_cert *c)
{
	SSL_CTX_free(c->ctx);
	c->ctx = NULL;
}

int media_dtls_start(struct media_dtls **dp, struct media_dtls_cert *c, bool server,
		     const char *peer_fp, uint64_t now_ms)
{
	struct media_dtls *d;
	BIO *rbio, *wbio;

	if (!c->ctx)
		return -EPROTONOSUPPORT;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->ssl = SSL_new(c->ctx);
	rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(BIO_s_mem());
	if (!d->ssl || !rbio || !wbio) {
		BIO_free(rbio);
		BIO_free(wbio);
		SSL_free(d->ssl);
		free(d);
		return -ENOMEM;
	}
	BIO_set_mem_eof_return(rbio, -1);
	SSL_set_bio(d->ssl, rbio, wbio);
	SSL_set_mtu(d->ssl, 1200);
	SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
	if (server)
		SSL_set_accept_state(d->ssl);
	else
		SSL_set_connect_state(d->ssl);
	d->server = server;
	d->started_ms = now_ms;
	snprintf(d->peer_fp, sizeof(d->peer_fp), "%s", peer_fp ? peer_fp : "");
	media_dtls_free(dp);
	*dp = d;
	return 0;
}

void media_dtls_free(struct media_dtls **dp)
{
	if (!*dp)
		return;
	SSL_free((*dp)->ssl);
	free(*dp);
	*dp = NULL;
}

/* What OpenSSL wrote, one datagram per record flight piece, to the peer. */
static void send_out(struct media_dtls *d, int fd, const struct sockaddr *to, socklen_t tolen)
{
	BIO *w = SSL_get_wbio(d->ssl);
	uint8_t buf[2048];
	int n;

	while ((n = BIO_read(w, buf, sizeof(buf))) > 0)
		if (fd >= 0 && to && sendto(fd, buf, (size_t)n, MSG_DONTWAIT, to, tolen) < 0)
			LOG(L_DEBUG, "[media] DTLS send: %s", strerror(errno));
}

static int suite_of(const SRTP_PROTECTION_PROFILE *p, enum sdes_suite *s, size_t *klen,
		    size_t *slen)
{
	if (!p)
		return -EACCES;
	if (p->id == SRTP_AES128_CM_SHA1_80 || p->id == SRTP_AES128_CM_SHA1_32) {
		*s = p->id == SRTP_AES128_CM_SHA1_80 ? SDES_AES_CM_128_HMAC_SHA1_80 :
						       SDES_AES_CM_128_HMAC_SHA1_32;
		*klen = 16;
		*slen = 14;
		return 0;
	}
	if (p->id == SRTP_AEAD_AES_128_GCM) {
		*s = SDES_AEAD_AES_128_GCM;
		*klen = 16;
		*slen = 12;
		return 0;
	}
	return -EACCES;
}

/* RFC 5764 4.2: client key, server key, client salt, server salt. */
static int export_keys(struct media_dtls *d, struct sdes_crypto *rx, struct sdes_crypto *tx)
{
	uint8_t m[2 * (32 + 14)];
	enum sdes_suite s;
	size_t k, sl;
	struct sdes_crypto *client, *server;
	int rc = suite_of(SSL_get_selected_srtp_profile(d->ssl), &s, &k, &sl);

	if (rc)
		return rc;
	if (SSL_export_keying_material(d->ssl, m, 2 * (k + sl), "EXTRACTOR-dtls_srtp", 19,
				       NULL, 0, 0) != 1)
		return -EACCES;
	client = d->server ? rx : tx;
	server = d->server ? tx : rx;
	memset(rx, 0, sizeof(*rx));
	memset(tx, 0, sizeof(*tx));
	client->suite = server->suite = s;
	client->tag = server->tag = 1;
	memcpy(client->key, m, k);
	memcpy(server->key, m + k, k);
	memcpy(client->key + k, m + 2 * k, sl);
	memcpy(server->key + k, m + 2 * k + sl, sl);
	OPENSSL_cleanse(m, sizeof(m));
	return 0;
}

static bool peer_matches(struct media_dtls *d)
{
	X509 *peer = SSL_get1_peer_certificate(d->ssl);
	char fp[MEDIA_DTLS_FP_MAX];

	if (!peer)
		return false;
	fingerprint_of(peer, fp, sizeof(fp));
	X509_free(peer);
	return fp[0] && !strcasecmp(fp, d->peer_fp);
}

void media_dtls_abort(struct media_dtls *d)
{
	SSL_free(d->ssl);
	d->ssl = NULL;
	d->failed = true;
}

int media_dtls_input(struct media_dtls *d, const uint8_t *pkt, size_t len, int fd,
		     const struct sockaddr *to, socklen_t tolen, struct sdes_crypto *rx,
		     struct sdes_crypto *tx)
{
	int r;

	if (d->failed || !d->ssl)
		return -EACCES;
	BIO_write(SSL_get_rbio(d->ssl), pkt, (int)len);
	if (d->done) {
		uint8_t junk[2048];

		while (SSL_read(d->ssl, junk, sizeof(junk)) > 0)
			;	/* no application data on a DTLS-SRTP association */
		send_out(d, fd, to, tolen);
		ERR_clear_error();
		return 0;
	}
	r = SSL_do_handshake(d->ssl);
	send_out(d, fd, to, tolen);
	if (r == 1) {
		if (peer_matches(d) && !export_keys(d, rx, tx)) {
			d->done = true;
			ERR_clear_error();
			return 1;
		}
		d->failed = true;	/* the session's tick reports and frees it */
		ERR_clear_error();
		return -EACCES;
	}
	r = SSL_get_error(d->ssl, r);
	ERR_clear_error();
	if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE)
		return 0;
	d->failed = true;
	return -EACCES;
}

void media_dtls_flush(struct media_dtls *d, int fd, const struct sockaddr *to, socklen_t tolen)
{
	if (d->failed || d->done || !d->ssl)
		return;
	if (!d->server && SSL_in_before(d->ssl))
		SSL_do_handshake(d->ssl);	/* the client's first flight */
	else
		DTLSv1_handle_timeout(d->ssl);
	ERR_clear_error();
	send_out(d, fd, to, tolen);
}
