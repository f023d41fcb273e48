// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: datagrams that reach a relay port whose leg speaks
 * DTLS-SRTP, through the relay's demultiplexing (RFC 7983) into the
 * handshake of a fresh server-side association (dtls.h): the first byte
 * splits the input into up to four datagrams, each handed over as the
 * relay would (those that are not DTLS skipped), then the association's
 * timer runs once and it is freed. Nothing may crash or leak; the
 * handshake can never complete (no peer key), so no keys come out.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/dtls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct media_dtls_cert cert;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct sdes_crypto rx, tx;
	struct media_dtls *d = NULL;
	size_t parts, chunk, off = 1;

	if (!cert.ctx && media_dtls_cert_init(&cert))
		abort();
	if (size < 1 || media_dtls_start(&d, &cert, data[0] & 0x80, "00:11", 1))
		return 0;
	parts = (data[0] & 3) + 1;
	chunk = (size - 1) / parts + 1;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		/* fd -1: what the server would answer goes nowhere. */
		if (media_dtls_is_packet(data + off, n) &&
		    media_dtls_input(d, data + off, n, -1, (struct sockaddr *)&to, sizeof(to),
				     &rx, &tx) == 1)
			abort();	/* no peer could have matched "00:11" */
		off += n;
	}
	media_dtls_flush(d, -1, (struct sockaddr *)&to, sizeof(to));
	media_dtls_free(&d);
	return 0;
}
