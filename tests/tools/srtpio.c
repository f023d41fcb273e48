// SPDX-License-Identifier: GPL-2.0-only
/*
 * srtpio: an SRTP phone for the integration tests, on libsrtp2.
 *
 *   srtpio send FROM TO COUNT SUITE KEY [SSRC [rtcp]]
 *	sends COUNT RTP packets (PCMU, 160-byte payload whose bytes are the
 *	sequence number's low byte), or with "rtcp" receiver reports, from
 *	the UDP socket bound to FROM to TO, protected with SUITE and KEY (the
 *	base64 of an a=crypto line's inline key); KEY "-" sends them plain.
 *	2 ms apart, or SRTPIO_PPS per second (roughly: usleep) when set.
 *   srtpio recv LOCAL COUNT TIMEOUT_MS SUITE KEY
 *	binds LOCAL, prints "ready", and reads until COUNT packets or TIMEOUT_MS of silence;
 *	each is unprotected (KEY "-": taken plain) and an RTP payload checked
 *	against the pattern above; prints one line:
 *	  packets N ok N bad_auth N bad_payload N rtcp N from ADDR:PORT
 *
 *   srtpio talk LOCAL REMOTE COUNT SUITE TX_KEY RX_KEY SSRC
 *	a symmetric phone: sends COUNT packets to REMOTE from LOCAL (TX_KEY,
 *	"-" plain), at SRTPIO_PPS per second (default 500), and receives on
 *	the same socket (RX_KEY, "-" plain) until COUNT or 3 s of silence
 *	after its last; prints a line as recv does. SRTPIO_START_MS: a wait
 *	between binding and the first packet, so that two phones started
 *	together are both bound before either sends.
 *   srtpio dtls client|server|stall LOCAL REMOTE CERT KEY PEER_FP COUNT
 *	a DTLS-SRTP peer on the UDP socket bound to LOCAL and connected to
 *	REMOTE, with the PEM certificate and key given, offering
 *	SRTP_AES128_CM_SHA1_80: the handshake in that role (stall: a client
 *	that sends its ClientHello and then nothing, and exits after 1 s), the peer's
 *	certificate checked against PEER_FP (SHA-256, hex with colons), then
 *	"keyed PROFILE" printed, COUNT SRTP packets sent and up to COUNT
 *	received (3 s of silence ends it) with the exported keys; last a
 *	line as recv prints. A failed handshake prints "handshake failed".
 *
 * Independent of the project's code: it checks what the relay encrypts
 * and decrypts with a libsrtp2 context of its own.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <srtp2/srtp.h>

static int parse_ep(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static srtp_t context(const char *suite, const char *b64, bool inbound)
{
	unsigned char key[64];
	srtp_policy_t p;
	srtp_t ctx;
	size_t len = strlen(b64);
	int n;

	memset(&p, 0, sizeof(p));
	if (!strcmp(suite, "AES_CM_128_HMAC_SHA1_80")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
	} else if (!strcmp(suite, "AES_CM_128_HMAC_SHA1_32")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
	} else if (!strcmp(suite, "AEAD_AES_128_GCM")) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
	} else if (!strcmp(suite, "AEAD_AES_256_GCM")) {
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtcp);
	} else {
		fprintf(stderr, "srtpio: unknown suite %s\n", suite);
		exit(2);
	}
	n = len <= 88 ? EVP_DecodeBlock(key, (const unsigned char *)b64, (int)len) : -1;
	if (n < 0) {
		fprintf(stderr, "srtpio: bad key\n");
		exit(2);
	}
	p.key = key;
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.window_size = 1024;
	if (srtp_create(&ctx, &p) != srtp_err_status_ok) {
		fprintf(stderr, "srtpio: no context\n");
		exit(2);
	}
	return ctx;
}

static int bound(const char *local)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || parse_ep(local, &a) || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("srtpio: bind");
		exit(2);
	}
	return fd;
}

static int do_send(char **argv, int argc)
{
	struct sockaddr_in to;
	int fd = bound(argv[2]), count = atoi(argv[4]);
	uint32_t ssrc = argc > 7 ? (uint32_t)strtoul(argv[7], NULL, 0) : 0x5e1f;
	bool rtcp = argc > 8 && !strcmp(argv[8], "rtcp");
	srtp_t ctx = strcmp(argv[6], "-") ? context(argv[5], argv[6], false) : NULL;
	const char *pps = getenv("SRTPIO_PPS");
	useconds_t gap = pps && atoi(pps) > 0 ? (useconds_t)(1000000 / atoi(pps)) : 2000;
	uint8_t pkt[512];

	if (parse_ep(argv[3], &to))
		return 2;
	for (int i = 0; i < count; i++) {
		uint16_t seq = (uint16_t)(1000 + i);
		uint32_t ts = (uint32_t)i * 160, nssrc = htonl(ssrc);
		int len;

		memset(pkt, 0, sizeof(pkt));
		if (rtcp) {	/* RR with one report block */
			pkt[0] = 0x81;
			pkt[1] = 201;
			pkt[3] = 7;
			memcpy(pkt + 4, &nssrc, 4);
			len = 32;
		} else {
			pkt[0] = 0x80;
			pkt[1] = 0;
			pkt[2] = (uint8_t)(seq >> 8);
			pkt[3] = (uint8_t)seq;
			pkt[4] = (uint8_t)(ts >> 24);
			pkt[5] = (uint8_t)(ts >> 16);
			pkt[6] = (uint8_t)(ts >> 8);
			pkt[7] = (uint8_t)ts;
			memcpy(pkt + 8, &nssrc, 4);
			memset(pkt + 12, seq & 0xff, 160);
			len = 172;
		}
		if (ctx && (rtcp ? srtp_protect_rtcp(ctx, pkt, &len) : srtp_protect(ctx, pkt, &len))) {
			fprintf(stderr, "srtpio: protect failed\n");
			return 1;
		}
		sendto(fd, pkt, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to));
		if (gap)
			usleep(gap);
	}
	return 0;
}

static int do_recv(char **argv)
{
	int fd = bound(argv[2]), count = atoi(argv[3]), timeout = atoi(argv[4]);
	srtp_t ctx = strcmp(argv[6], "-") ? context(argv[5], argv[6], true) : NULL;
	unsigned packets = 0, ok = 0, bad_auth = 0, bad_payload = 0, rtcp = 0;
	char from[64] = "-";
	uint8_t pkt[2048];

	printf("ready\n");	/* bound: the test may send */
	fflush(stdout);

	while (packets < (unsigned)count) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_in src;
		socklen_t sl = sizeof(src);
		ssize_t n;
		int len;
		bool is_rtcp, good = true;

		if (poll(&pfd, 1, timeout) <= 0)
			break;
		n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&src, &sl);
		if (n < 2)
			continue;
		packets++;
		snprintf(from, sizeof(from), "%s:%u", inet_ntoa(src.sin_addr), ntohs(src.sin_port));
		len = (int)n;
		is_rtcp = (pkt[1] & 0x7f) >= 72 && (pkt[1] & 0x7f) <= 76;
		rtcp += is_rtcp;
		if (ctx && (is_rtcp ? srtp_unprotect_rtcp(ctx, pkt, &len) :
			    srtp_unprotect(ctx, pkt, &len))) {
			bad_auth++;
			continue;
		}
		if (!is_rtcp) {
			uint8_t want = pkt[3];

			if (len != 172)
				good = false;
			for (int k = 12; good && k < len; k++)
				good = pkt[k] == want;
		}
		if (good)
			ok++;
		else
			bad_payload++;
	}
	printf("packets %u ok %u bad_auth %u bad_payload %u rtcp %u from %s\n", packets, ok,
	       bad_auth, bad_payload, rtcp, from);
	return 0;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* talk: send and receive on one socket (a symmetric phone), paced by SRTPIO_PPS. */
static int do_talk(char **argv)
{
	int fd = bound(argv[2]), count = atoi(argv[4]);
	const char *pps = getenv("SRTPIO_PPS");
	uint64_t gap = 1000000 / (uint64_t)(pps && atoi(pps) > 0 ? atoi(pps) : 500), next = mono_us();
	srtp_t tx = strcmp(argv[6], "-") ? context(argv[5], argv[6], false) : NULL;
	srtp_t rx = strcmp(argv[7], "-") ? context(argv[5], argv[7], true) : NULL;
	uint32_t nssrc = htonl((uint32_t)strtoul(argv[8], NULL, 0));
	unsigned sent = 0, packets = 0, ok = 0, bad_auth = 0;
	uint64_t quiet_until = 0;
	struct sockaddr_in to;
	uint8_t pkt[2048];

	if (parse_ep(argv[3], &to))
		return 2;
	if (getenv("SRTPIO_START_MS")) {
		usleep((useconds_t)atoi(getenv("SRTPIO_START_MS")) * 1000);
		next = mono_us();
	}
	/* Until both: a phone that has heard everything still sends the rest. */
	while (packets < (unsigned)count || sent < (unsigned)count) {
		uint64_t now = mono_us();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t wait_us;
		struct timespec ts;
		ssize_t n;
		int len;

		if (sent == (unsigned)count && now > quiet_until)
			break;
		/* To the microsecond: a phone at more than 1,000 pps must sleep, not spin. */
		wait_us = sent < (unsigned)count ? (next > now ? next - now : 0) : 100000;
		ts.tv_sec = (time_t)(wait_us / 1000000);
		ts.tv_nsec = (long)(wait_us % 1000000) * 1000;
		/* Everything that arrived first, so that a late sender never overflows its own socket. */
		if (ppoll(&pfd, 1, &ts, NULL) > 0) {
			while ((n = recv(fd, pkt, sizeof(pkt), MSG_DONTWAIT)) > 0) {
				if (n < 12)
					continue;
				packets++;
				len = (int)n;
				if (rx && srtp_unprotect(rx, pkt, &len))
					bad_auth++;
				else if (len == 172 && pkt[12] == pkt[3])
					ok++;
				if (sent == (unsigned)count)
					quiet_until = mono_us() + 3000000;
			}
		}
		now = mono_us();
		if (sent < (unsigned)count && now >= next) {
			uint16_t seq = (uint16_t)(1000 + sent);

			memset(pkt, 0, 12);
			pkt[0] = 0x80;
			pkt[2] = (uint8_t)(seq >> 8);
			pkt[3] = (uint8_t)seq;
			memcpy(pkt + 8, &nssrc, 4);
			memset(pkt + 12, seq & 0xff, 160);
			len = 172;
			if (tx)
				srtp_protect(tx, pkt, &len);
			sendto(fd, pkt, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to));
			next += gap;
			if (++sent == (unsigned)count)
				quiet_until = now + 3000000;
		}
	}
	printf("packets %u ok %u bad_auth %u bad_payload %u rtcp 0 from %s\n", packets, ok,
	       bad_auth, packets - ok - bad_auth, argv[3]);
	return 0;
}

static int accept_any(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	(void)store;
	return 1;
}

static void fp_of(X509 *x, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	out[0] = '\0';
	X509_digest(x, EVP_sha256(), md, &len);
	for (unsigned i = 0; i < len; i++)
		sprintf(out + strlen(out), "%s%02X", i ? ":" : "", md[i]);
}

static srtp_t key_context(const uint8_t *key, const uint8_t *salt, bool inbound)
{
	srtp_policy_t p;
	uint8_t k[30];
	srtp_t ctx;

	memcpy(k, key, 16);
	memcpy(k + 16, salt, 14);
	memset(&p, 0, sizeof(p));
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
	p.key = k;
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.window_size = 1024;
	if (srtp_create(&ctx, &p) != srtp_err_status_ok)
		exit(2);
	return ctx;
}

static int do_dtls(char **argv)
{
	const char *role = argv[2];
	struct sockaddr_in remote;
	int fd = bound(argv[3]), count = atoi(argv[8]);
	SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
	uint8_t m[60], pkt[2048];
	char fp[128];
	srtp_t tx, rx;
	unsigned packets = 0, ok = 0, bad_auth = 0;
	X509 *peer;
	BIO *bio;
	SSL *ssl;
	bool client = strcmp(role, "server") != 0;

	if (parse_ep(argv[4], &remote) || connect(fd, (struct sockaddr *)&remote, sizeof(remote)) ||
	    SSL_CTX_use_certificate_file(ctx, argv[5], SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[6], SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AES128_CM_SHA1_80")) {
		fprintf(stderr, "srtpio: dtls set-up failed\n");
		return 2;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
	ssl = SSL_new(ctx);
	bio = BIO_new_dgram(fd, BIO_NOCLOSE);
	BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &remote);
	SSL_set_bio(ssl, bio, bio);
	if (!strcmp(role, "stall")) {
		/* The ClientHello made over memory BIOs, sent, and nothing read. */
		SSL *mem = SSL_new(ctx);
		BIO *w = BIO_new(BIO_s_mem());
		int n;

		SSL_set_bio(mem, BIO_new(BIO_s_mem()), w);
		SSL_connect(mem);
		n = BIO_read(w, pkt, sizeof(pkt));
		if (n > 0)
			send(fd, pkt, (size_t)n, 0);
		sleep(1);
		printf("stalled\n");
		return 0;
	}
	if ((client ? SSL_connect(ssl) : SSL_accept(ssl)) != 1) {
		printf("handshake failed\n");
		ERR_print_errors_fp(stderr);
		return 1;
	}
	peer = SSL_get1_peer_certificate(ssl);
	fp_of(peer, fp);
	if (strcasecmp(fp, argv[7])) {
		printf("fingerprint mismatch %s\n", fp);
		return 1;
	}
	SSL_export_keying_material(ssl, m, 60, "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0);
	/* client key, server key, client salt, server salt */
	tx = key_context(client ? m : m + 16, client ? m + 32 : m + 46, false);
	rx = key_context(client ? m + 16 : m, client ? m + 46 : m + 32, true);
	printf("keyed %s\n", SSL_get_selected_srtp_profile(ssl)->name);
	fflush(stdout);
	for (int i = 0; i < count; i++) {
		int len = 172;

		memset(pkt, 0, sizeof(pkt));
		pkt[0] = 0x80;
		pkt[2] = (uint8_t)((1000 + i) >> 8);
		pkt[3] = (uint8_t)(1000 + i);
		pkt[11] = 0x77;
		memset(pkt + 12, (1000 + i) & 0xff, 160);
		srtp_protect(tx, pkt, &len);
		send(fd, pkt, (size_t)len, 0);
		usleep(2000);
	}
	while (packets < (unsigned)count) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int len;

		if (poll(&pfd, 1, 3000) <= 0)
			break;
		n = recv(fd, pkt, sizeof(pkt), 0);
		if (n < 12 || pkt[0] < 128)
			continue;	/* DTLS retransmissions and the like */
		packets++;
		len = (int)n;
		if (srtp_unprotect(rx, pkt, &len))
			bad_auth++;
		else if (len == 172 && pkt[12] == pkt[3])
			ok++;
	}
	printf("packets %u ok %u bad_auth %u bad_payload %u rtcp 0 from %s\n", packets, ok,
	       bad_auth, packets - ok - bad_auth, argv[4]);
	return 0;
}

int main(int argc, char **argv)
{
	srtp_init();
	if (argc >= 9 && !strcmp(argv[1], "dtls"))
		return do_dtls(argv);
	if (argc >= 9 && !strcmp(argv[1], "talk"))
		return do_talk(argv);
	if (argc >= 7 && !strcmp(argv[1], "send"))
		return do_send(argv, argc);
	if (argc >= 7 && !strcmp(argv[1], "recv"))
		return do_recv(argv);
	fprintf(stderr, "usage: srtpio send FROM TO COUNT SUITE KEY [SSRC [rtcp]]\n"
		"       srtpio recv LOCAL COUNT TIMEOUT_MS SUITE KEY\n"
		"       srtpio talk LOCAL REMOTE COUNT SUITE TX_KEY RX_KEY SSRC\n"
		"       srtpio dtls client|server|stall LOCAL REMOTE CERT KEY PEER_FP COUNT\n");
	return 2;
}
