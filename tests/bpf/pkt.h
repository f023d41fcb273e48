/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test frames for the XDP program's unit tests: a builder that lays a
 * frame out byte by byte from a description (Ethernet, up to two VLAN tags,
 * IPv4 with or without options and fragment bits, or IPv6 with or without
 * a fragment header, UDP, an RTP header and a payload), and the test's own
 * Internet checksum.
 *
 * The checksum here is the plain RFC 1071 sum, computed in full over the
 * IPv4 header or over the pseudo-header and the whole UDP datagram, never
 * updated incrementally: it is the reference that the program's RFC 1624
 * updates are judged against, so it shares no code with bpf/csum.h. The
 * checker parses a frame from its bytes alone, independently of the
 * description it was built from.
 *
 * Header-only: each test under tests/bpf is one translation unit.
 */
#ifndef SLUICE_TEST_PKT_H
#define SLUICE_TEST_PKT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PKT_MAX			2048
#define PKT_ETH_P_IP		0x0800
#define PKT_ETH_P_IPV6		0x86dd
#define PKT_ETH_P_8021Q		0x8100
#define PKT_ETH_P_8021AD	0x88a8
#define PKT_PROTO_UDP		17
#define PKT_NEXTHDR_FRAG	44
#define PKT_RTP_HDR		12
#define PKT_DEFAULT_PAYLOAD	172	/* 20 ms of G.711 plus the RTP header */

/* pkt_spec.byte0: the first payload byte is this value's low byte. */
#define PKT_BYTE0(b)		(0x100 | (b))

struct pkt_spec {
	int		family;		/* 4 or 6 */
	int		vlans;		/* VLAN tags, 0..2 (2: 802.1ad outer, 802.1Q inner) */
	bool		vlan_ad;	/* a single tag is 802.1ad (QinQ's outer) */
	uint16_t	ethertype;	/* instead of the family's; 0 = the family's */
	const char	*smac, *dmac;	/* "02:00:..."; see pkt_build() defaults */
	const char	*src, *dst;	/* IP addresses, text */
	uint16_t	sport, dport;
	uint8_t		ttl;		/* or hop limit; 64 when 0 */
	uint8_t		tos;		/* or IPv6 traffic class */
	uint8_t		proto;		/* or next header; UDP when 0 */
	uint8_t		ihl;		/* IPv4 header words; 5 when 0, more = NOP options */
	uint8_t		version;	/* IP version nibble; the family's when 0 */
	uint16_t	ip_id;		/* IPv4 identification */
	uint16_t	frag;		/* IPv4 flags and fragment offset, host order */
	bool		v6_frag;	/* an IPv6 fragment header before UDP */
	bool		no_udp_csum;	/* checksum field 0 */
	bool		partial_udp_csum; /* the field holds the folded pseudo-header sum,
					   * as a sender's CHECKSUM_PARTIAL leaves it */
	bool		empty;		/* no payload at all */
	uint16_t	payload_len;	/* PKT_DEFAULT_PAYLOAD when 0 (and not empty) */
	uint16_t	byte0;		/* PKT_BYTE0(b), or 0: an RTP version 2 header */
	uint8_t		rtp_pt;		/* 7 bits */
	uint16_t	seq;
	uint32_t	ts;
	uint32_t	ssrc;
	uint16_t	tail;		/* last payload word, to steer a checksum */
};

struct pkt {
	uint8_t		b[PKT_MAX];
	size_t		len;
};

/* A frame as its bytes say it is, found without its description. */
struct pkt_view {
	int		family;		/* 0: not IP/UDP, or cut short */
	const uint8_t	*l3;
	size_t		l3_len;		/* header bytes up to UDP */
	const uint8_t	*udp;
	size_t		udp_len;	/* from the UDP header */
};

static inline uint16_t pkt_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pkt_put32(uint8_t *p, uint32_t v)
{
	pkt_put16(p, (uint16_t)(v >> 16));
	pkt_put16(p + 2, (uint16_t)v);
}

/* RFC 1071: 16-bit big-endian words, an odd last byte padded with zero. */
static inline uint32_t pkt_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += pkt_get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static inline uint16_t pkt_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Pseudo-header (RFC 768 for IPv4, RFC 8200 8.1 for IPv6) plus the datagram. */
static inline uint32_t pkt_udp_sum(int family, const uint8_t *l3, const uint8_t *udp,
				   size_t udp_len)
{
	uint32_t sum;

	if (family == 4)
		sum = pkt_sum(0, l3 + 12, 8);
	else
		sum = pkt_sum(0, l3 + 8, 32);
	sum += PKT_PROTO_UDP + (uint32_t)udp_len;
	return pkt_sum(sum, udp, udp_len);
}

static inline void pkt_mac(uint8_t *out, const char *s)
{
	unsigned int m[6] = { 0 };
	int i;

	sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
	for (i = 0; i < 6; i++)
		out[i] = (uint8_t)m[i];
}

static inline size_t pkt_payload_len(const struct pkt_spec *s)
{
	if (s->empty)
		return 0;
	return s->payload_len ? s->payload_len : PKT_DEFAULT_PAYLOAD;
}

/* Layer 2 up to and including the EtherType; returns where L3 starts. */
static inline uint8_t *pkt_build_l2(const struct pkt_spec *s, uint8_t *p)
{
	uint16_t type = s->family == 4 ? PKT_ETH_P_IP : PKT_ETH_P_IPV6;

	pkt_mac(p, s->dmac ? s->dmac : "02:00:00:00:0a:00");
	pkt_mac(p + 6, s->smac ? s->smac : "02:00:00:00:01:02");
	p += 12;
	if (s->vlans == 2) {
		pkt_put16(p, PKT_ETH_P_8021AD);
		pkt_put16(p + 2, 200);
		p += 4;
	}
	if (s->vlans >= 1) {
		pkt_put16(p, s->vlan_ad && s->vlans == 1 ? PKT_ETH_P_8021AD : PKT_ETH_P_8021Q);
		pkt_put16(p + 2, 100);
		p += 4;
	}
	pkt_put16(p, s->ethertype ? s->ethertype : type);
	return p + 2;
}

/* The IP header (checksum left 0); returns its length. */
static inline size_t pkt_build_l3(const struct pkt_spec *s, uint8_t *l3, size_t udp_len)
{
	uint8_t proto = s->proto ? s->proto : PKT_PROTO_UDP;
	uint8_t ttl = s->ttl ? s->ttl : 64;
	size_t len;

	if (s->family == 4) {
		len = 4u * (s->ihl ? s->ihl : 5);
		l3[0] = (uint8_t)((s->version ? s->version : 4) << 4 | len / 4);
		l3[1] = s->tos;
		pkt_put16(l3 + 2, (uint16_t)(len + udp_len));
		pkt_put16(l3 + 4, s->ip_id);
		pkt_put16(l3 + 6, s->frag);
		l3[8] = ttl;
		l3[9] = proto;
		inet_pton(AF_INET, s->src, l3 + 12);
		inet_pton(AF_INET, s->dst, l3 + 16);
		if (len > 20)
			memset(l3 + 20, 1, len - 20);	/* NOP options */
		return len;
	}
	len = s->v6_frag ? 48 : 40;
	l3[0] = (uint8_t)((s->version ? s->version : 6) << 4 | s->tos >> 4);
	l3[1] = (uint8_t)(s->tos << 4);
	l3[2] = 0x12;	/* some flow label */
	l3[3] = 0x34;
	pkt_put16(l3 + 4, (uint16_t)(len - 40 + udp_len));
	l3[6] = s->v6_frag ? PKT_NEXTHDR_FRAG : proto;
	l3[7] = ttl;
	inet_pton(AF_INET6, s->src, l3 + 8);
	inet_pton(AF_INET6, s->dst, l3 + 24);
	if (s->v6_frag) {
		l3[40] = proto;
		pkt_put16(l3 + 42, 0x0001);	/* offset 0, more fragments */
		pkt_put32(l3 + 44, 0xf00d);
	}
	return len;
}

/* A recognisable payload that starts with an RTP header (or byte0). */
static inline void pkt_build_payload(const struct pkt_spec *s, uint8_t *pl, size_t len)
{
	uint8_t rtp[PKT_RTP_HDR];
	size_t i;

	for (i = 0; i < len; i++)
		pl[i] = (uint8_t)(i * 7 + 3);
	rtp[0] = 0x80;
	rtp[1] = s->rtp_pt;
	pkt_put16(rtp + 2, s->seq);
	pkt_put32(rtp + 4, s->ts);
	pkt_put32(rtp + 8, s->ssrc);
	memcpy(pl, rtp, len < sizeof(rtp) ? len : sizeof(rtp));
	if (len && s->byte0)
		pl[0] = (uint8_t)s->byte0;
	if (len >= PKT_RTP_HDR + 2)
		pkt_put16(pl + len - 2, s->tail);
}

/* Builds the frame with both checksums computed in full. */
static inline void pkt_build(const struct pkt_spec *s, struct pkt *f)
{
	size_t plen = pkt_payload_len(s), ulen = 8 + plen, l3len;
	uint8_t *l3, *udp;

	memset(f, 0, sizeof(*f));
	l3 = pkt_build_l2(s, f->b);
	l3len = pkt_build_l3(s, l3, ulen);
	udp = l3 + l3len;
	pkt_put16(udp, s->sport);
	pkt_put16(udp + 2, s->dport);
	pkt_put16(udp + 4, (uint16_t)ulen);
	pkt_build_payload(s, udp + 8, plen);
	if (s->family == 4)
		pkt_put16(l3 + 10, (uint16_t)~pkt_fold(pkt_sum(0, l3, l3len)));
	if (s->partial_udp_csum)	/* the pseudo-header alone: its length is ulen's */
		pkt_put16(udp + 6, pkt_fold(pkt_udp_sum(s->family, l3, udp, 0) + (uint32_t)ulen));
	else if (!s->no_udp_csum) {
		uint16_t c = (uint16_t)~pkt_fold(pkt_udp_sum(s->family, l3, udp, ulen));

		pkt_put16(udp + 6, c ? c : 0xffff);	/* RFC 768: 0 is sent as ones */
	}
	f->len = (size_t)(udp + ulen - f->b);
}

/* Finds IP and UDP in a frame from its bytes; view->family 0 if it cannot. */
static inline void pkt_parse(const struct pkt *f, struct pkt_view *v)
{
	const uint8_t *p = f->b + 12, *end = f->b + f->len;
	uint16_t type;

	memset(v, 0, sizeof(*v));
	if (f->len < 14)
		return;
	type = pkt_get16(p);
	while ((type == PKT_ETH_P_8021Q || type == PKT_ETH_P_8021AD) && p + 6 <= end) {
		p += 4;
		type = pkt_get16(p);
	}
	p += 2;
	if (type == PKT_ETH_P_IP && p + 20 <= end && p[9] == PKT_PROTO_UDP) {
		v->family = 4;
		v->l3_len = 4u * (p[0] & 15);
	} else if (type == PKT_ETH_P_IPV6 && p + 40 <= end && p[6] == PKT_PROTO_UDP) {
		v->family = 6;
		v->l3_len = 40;
	} else {
		return;
	}
	v->l3 = p;
	v->udp = p + v->l3_len;
	if (v->udp + 8 > end || (v->udp_len = pkt_get16(v->udp + 4)) < 8 ||
	    v->udp + v->udp_len > end)
		v->family = 0;
}

/*
 * Whether the frame's checksums hold, from its bytes alone: the IPv4
 * header sums to ones, and the UDP datagram with its pseudo-header sums to
 * ones (or, over IPv4 only, carries no checksum). why names what failed.
 */
static inline bool pkt_checksums_ok(const struct pkt *f, const char **why)
{
	struct pkt_view v;
	uint16_t check;

	pkt_parse(f, &v);
	*why = "not a whole IP/UDP frame";
	if (!v.family)
		return false;
	*why = "IPv4 header checksum";
	if (v.family == 4 && pkt_fold(pkt_sum(0, v.l3, v.l3_len)) != 0xffff)
		return false;
	check = pkt_get16(v.udp + 6);
	*why = "UDP checksum";
	if (v.family == 4 && check == 0)
		return true;
	return check != 0 &&
	       pkt_fold(pkt_udp_sum(v.family, v.l3, v.udp, v.udp_len)) == 0xffff;
}

/* The frame's UDP checksum field (the datagram found by pkt_parse). */
static inline int pkt_udp_check(const struct pkt *f)
{
	struct pkt_view v;

	pkt_parse(f, &v);
	return v.family ? pkt_get16(v.udp + 6) : -1;
}

/* The frame's IPv4 header checksum field. */
static inline int pkt_ip_check(const struct pkt *f)
{
	struct pkt_view v;

	pkt_parse(f, &v);
	return v.family == 4 ? pkt_get16(v.l3 + 10) : -1;
}

/*
 * The tail word that makes the UDP datagram described by s sum to exactly
 * ones without its checksum, so that the checksum computes to 0 (and is
 * sent as 0xffff). The tail lies at an even offset of the datagram when
 * the payload length is even.
 */
static inline uint16_t pkt_tail_for_zero_udp_csum(struct pkt_spec s)
{
	struct pkt f;
	struct pkt_view v;

	s.tail = 0;
	s.no_udp_csum = true;
	pkt_build(&s, &f);
	pkt_parse(&f, &v);
	return (uint16_t)(0xffff - pkt_fold(pkt_udp_sum(v.family, v.l3, v.udp, v.udp_len)));
}

/* The IPv4 identification that makes the header checksum compute to 0. */
static inline uint16_t pkt_id_for_zero_ip_csum(struct pkt_spec s)
{
	struct pkt f;
	struct pkt_view v;

	s.ip_id = 0;
	pkt_build(&s, &f);
	pkt_parse(&f, &v);
	/* Sum without the checksum field: all minus what was put there. */
	return (uint16_t)(0xffff - pkt_fold(pkt_sum(0, v.l3, 10) + pkt_sum(0, v.l3 + 12,
									     v.l3_len - 12)));
}

/* Where the UDP header ends in a frame built from s. */
static inline size_t pkt_headers_len(const struct pkt_spec *s)
{
	struct pkt_spec h = *s;
	struct pkt f;

	h.empty = true;
	pkt_build(&h, &f);
	return f.len;
}

#endif /* SLUICE_TEST_PKT_H */
