// SPDX-License-Identifier: GPL-2.0-only
/*
 * HEP3 (see hep.h): a "HEP3" header with the packet's length, then chunks
 * of vendor 0 (generic), each a type, a length and a value, all in
 * network byte order: IP family, IP protocol, source and destination
 * addresses and ports, seconds and microseconds, protocol type (1 SIP, 5
 * RTCP as JSON), the capture agent's id, the correlation id (a report's
 * Call-ID) and the message itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "net/hep.h"

enum {
	HEP_IP_FAMILY = 1, HEP_IP_PROTO, HEP_SRC_IP4, HEP_DST_IP4, HEP_SRC_IP6, HEP_DST_IP6,
	HEP_SRC_PORT, HEP_DST_PORT, HEP_TS_SEC, HEP_TS_USEC, HEP_PROTO_TYPE, HEP_CAPTURE_ID,
	HEP_PAYLOAD = 15, HEP_CORRELATION = 17,
};

struct hep_buf {
	uint8_t	*p;
	size_t	len, cap;
	int	full;
};

static void chunk(struct hep_buf *b, uint16_t type, const void *v, size_t n)
{
	uint16_t hdr[3] = { 0, htons(type), htons((uint16_t)(n + 6)) };

	if (b->full || n + 6 > b->cap - b->len || n + 6 > HEP_MAX) {
		b->full = 1;
		return;
	}
	memcpy(b->p + b->len, hdr, 6);
	memcpy(b->p + b->len + 6, v, n);
	b->len += n + 6;
}

static void chunk8(struct hep_buf *b, uint16_t type, uint8_t v)
{
	chunk(b, type, &v, 1);
}

static void chunk16(struct hep_buf *b, uint16_t type, uint16_t v_be)
{
	chunk(b, type, &v_be, 2);
}

static void chunk32(struct hep_buf *b, uint16_t type, uint32_t v)
{
	uint32_t be = htonl(v);

	chunk(b, type, &be, 4);
}

size_t hep_encode(const struct hep_msg *m, uint32_t capture_id, uint8_t *out, size_t cap)
{
	struct hep_buf b = { out, 6, cap < HEP_MAX ? cap : HEP_MAX, cap < 6 };
	uint16_t total;

	if (m->src->sa_family != m->dst->sa_family)
		return 0;
	if (m->src->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)m->src, *d = (const void *)m->dst;

		chunk8(&b, HEP_IP_FAMILY, AF_INET);
		chunk8(&b, HEP_IP_PROTO, m->ipproto);
		chunk(&b, HEP_SRC_IP4, &s->sin_addr, 4);
		chunk(&b, HEP_DST_IP4, &d->sin_addr, 4);
		chunk16(&b, HEP_SRC_PORT, s->sin_port);
		chunk16(&b, HEP_DST_PORT, d->sin_port);
	} else if (m->src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)m->src, *d = (const void *)m->dst;

		chunk8(&b, HEP_IP_FAMILY, AF_INET6);
		chunk8(&b, HEP_IP_PROTO, m->ipproto);
		chunk(&b, HEP_SRC_IP6, &s->sin6_addr, 16);
		chunk(&b, HEP_DST_IP6, &d->sin6_addr, 16);
		chunk16(&b, HEP_SRC_PORT, s->sin6_port);
		chunk16(&b, HEP_DST_PORT, d->sin6_port);
	} else {
		return 0;
	}
	chunk32(&b, HEP_TS_SEC, (uint32_t)(m->ts_us / 1000000));
	chunk32(&b, HEP_TS_USEC, (uint32_t)(m->ts_us % 1000000));
	chunk8(&b, HEP_PROTO_TYPE, m->type ? m->type : HEP_PROTO_SIP);
	chunk32(&b, HEP_CAPTURE_ID, capture_id);
	if (m->cid)
		chunk(&b, HEP_CORRELATION, m->cid, strlen(m->cid));
	chunk(&b, HEP_PAYLOAD, m->payload, m->len);
	if (b.full)
		return 0;
	memcpy(out, "HEP3", 4);
	total = htons((uint16_t)b.len);
	memcpy(out + 4, &total, 2);
	return b.len;
}

int hep_open(struct hep *h, const struct sockaddr *collector, socklen_t len,
	     uint32_t capture_id)
{
	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->capture_id = capture_id;
	if (!collector)
		return 0;
	h->fd = socket(collector->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0)
		return -errno;
	if (connect(h->fd, collector, len)) {
		int err = -errno;

		close(h->fd);
		h->fd = -1;
		return err;
	}
	return 0;
}

void hep_close(struct hep *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

static void hep_send(struct hep *h, struct hep_msg *m)
{
	static uint8_t out[HEP_MAX];	/* the loop's thread only */
	struct timeval tv;
	size_t n;

	if (h->fd < 0)
		return;
	gettimeofday(&tv, NULL);
	m->ts_us = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	n = hep_encode(m, h->capture_id, out, sizeof(out));
	if (n && send(h->fd, out, n, MSG_DONTWAIT) == (ssize_t)n)
		h->sent++;
	else
		h->dropped++;
}

void hep_sip(struct hep *h, const struct sockaddr *src, const struct sockaddr *dst,
	     uint8_t ipproto, const char *buf, size_t len)
{
	struct hep_msg m = { src, dst, ipproto, 0, buf, len, HEP_PROTO_SIP, NULL };

	hep_send(h, &m);
}

void hep_rtcp_json(struct hep *h, const struct sockaddr *src, const struct sockaddr *dst,
		   const char *call_id, const char *json, size_t len)
{
	struct hep_msg m = { src, dst, IPPROTO_UDP, 0, json, len, HEP_PROTO_RTCP, call_id };

	hep_send(h, &m);
}
