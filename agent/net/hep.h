/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HEP version 3 (the Homer encapsulation protocol): each SIP message
 * sluiced receives or sends, and its streams' quality reports, each
 * copied in one UDP datagram to a collector
 * (Homer 7's heplify-server, or anything that reads HEP3), with its
 * addresses, ports, transport and time. Sending never waits: a datagram
 * the socket does not take at once is counted and dropped.
 */
#ifndef SLUICE_NET_HEP_H
#define SLUICE_NET_HEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HEP_MAX		65535	/* a HEP3 packet's length field */

struct hep {
	int		fd;		/* connected to the collector, -1: off */
	uint32_t	capture_id;
	uint64_t	sent, dropped;
};

#define HEP_PROTO_SIP	1
#define HEP_PROTO_RTCP	5	/* Homer reads it as heplify's RTCP JSON */

struct hep_msg {
	const struct sockaddr	*src, *dst;	/* the same family */
	uint8_t			ipproto;	/* IPPROTO_UDP, IPPROTO_TCP */
	uint64_t		ts_us;		/* unix microseconds */
	const char		*payload;
	size_t			len;
	uint8_t			type;		/* HEP_PROTO_*, 0: SIP */
	const char		*cid;		/* correlation id (the Call-ID), NULL: none */
};

/* Off (fd -1) when collector is NULL; -errno when no socket. */
int hep_open(struct hep *h, const struct sockaddr *collector, socklen_t len,
	     uint32_t capture_id);
void hep_close(struct hep *h);
/* The HEP3 packet of m into out; its length, or 0 when it does not fit. */
size_t hep_encode(const struct hep_msg *m, uint32_t capture_id, uint8_t *out, size_t cap);
/* One SIP message to the collector, now. */
void hep_sip(struct hep *h, const struct sockaddr *src, const struct sockaddr *dst,
	     uint8_t ipproto, const char *buf, size_t len);
/*
 * A stream's quality to the collector, now, as heplify sends RTCP: type
 * HEP_PROTO_RTCP, the report as JSON (json, len), correlated to the call
 * by its Call-ID; src and dst are the stream's (UDP).
 */
void hep_rtcp_json(struct hep *h, const struct sockaddr *src, const struct sockaddr *dst,
		   const char *call_id, const char *json, size_t len);

#endif /* SLUICE_NET_HEP_H */
