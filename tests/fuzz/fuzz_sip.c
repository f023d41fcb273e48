// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: one datagram through sluiced's whole inbound SIP path
 * (scan, parse, checks, transactions, digest authentication against a real
 * subscriber table, the registrar, MESSAGE forking, the answers). The
 * first input byte picks UDP or TCP and the source; the clock jumps past
 * every transaction timer after each input, so state does not pile up.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/loop.h"
#include "sip/b2bua.h"
#include "sip/msg.h"
#include "sip/server.h"
#include "store/subscriber.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fake_ms;

static uint64_t fake_clock(void)
{
	return fake_ms;
}

static int64_t fake_now(void)
{
	return (int64_t)(fake_ms / 1000);
}

static volatile unsigned char sink_sum;

static int sink(void *arg, const struct sip_peer *to, const char *buf, size_t len)
{
	unsigned char x = 0;

	(void)arg;
	(void)to;
	/* Read every byte, so ASan sees an answer built past its end. */
	for (size_t i = 0; i < len; i++)
		x ^= (unsigned char)buf[i];
	sink_sum = x;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct loop *loop;
	static struct conf conf;
	static struct store store;
	static struct sip_server s;
	struct sip_peer from = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&from.addr;
	char *buf;

	if (!loop) {
		struct subscriber sub;

		conf_defaults(&conf);
		strcpy(conf.sip_domain, "example.com");
		if (loop_new(&loop) || store_open(&store, ":memory:"))
			abort();
		loop_set_clock(loop, fake_clock);
		if (subscriber_init(&sub, "alice", "example.com", "secret", NULL) ||
		    subscriber_add(&store, &sub) ||
		    subscriber_init(&sub, "bob", "example.com", "secret", NULL) ||
		    subscriber_add(&store, &sub) ||
		    sip_server_init(&s, loop, &conf, &store, sink, NULL) || b2bua_init(&s))
			abort();
		s.now = fake_now;
	}
	if (size < 1)
		return 0;
	from.proto = data[0] & 1 ? SIP_TCP : SIP_UDP;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x7f000001 + (data[0] >> 4));
	sin->sin_port = htons(5060);
	from.len = sizeof(*sin);
	/* The transports hand up a writable copy with room for a NUL. */
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	sip_server_input(&s, &from, buf, size - 1, data[0] & 2 ? SIP_RX_OVERSIZE : 0);
	sip_server_flush(&s);
	/* The B2BUA's responses from the request's lines (fuzzers rarely pass its digest). */
	memcpy(buf, data + 1, size - 1);
	{
		struct sip_scan sc;
		osip_message_t *m = NULL;
		char out[8192];
		int n;

		if (!sip_msg_scan(buf, size - 1, &sc) && !sc.code &&
		    !sip_msg_parse(buf, size - 1, &sc, &m)) {
			struct sip_resp_head h;
			char head[4096];

			n = sip_msg_trying_text(m, buf, &sc, (const struct sockaddr *)sin, out,
						sizeof(out));
			if (n > 0)
				sink(NULL, &from, out, (size_t)n);
			/* Any response printed from the request's lines (the 407, 180, 200s). */
			if (!sip_msg_resp_head(m, buf, &sc, (const struct sockaddr *)sin, head,
					       sizeof(head), &h)) {
				n = sip_msg_resp_text(&h, 100 + data[0] % 600, NULL, "0123456789abcdef",
						      "Supported: timer\r\n", 18, "v=0\r\n", 5,
						      out, sizeof(out));
				if (n > 0)
					sink(NULL, &from, out, (size_t)n);
			}
		}
		if (m)
			osip_message_free(m);
	}
	free(buf);
	fake_ms += 64 * 1000;
	loop_run_timers(loop);
	return 0;
}
