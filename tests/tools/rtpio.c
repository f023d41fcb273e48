// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtpio: the RTP phone of the integration tests and benchmarks.
 *
 *   rtpio send FROM TO COUNT [SSRC [PPS [START]]]
 *	sends COUNT RTP packets (PCMU, 160-byte payload, seq and timestamp
 *	advancing by 1 and 160) from the UDP socket bound to FROM to TO;
 *	START packets into the stream (seq 1000 + START), to continue one.
 *   rtpio rtcp FROM TO COUNT [SSRC [PPS]]
 *	the same with RTCP receiver reports (RFC 3550 6.4.2, one report
 *	block about SSRC, from SSRC), as a peer sends them, muxed or not.
 *   rtpio recv IFACE LOCAL COUNT TIMEOUT_MS
 *	binds LOCAL (so the stack does not answer "port unreachable") and
 *	watches IFACE with a packet socket; for every UDP datagram to LOCAL's
 *	port it checks the IPv4 header checksum and the UDP checksum by its
 *	own full computation (or IPv6's UDP checksum), and prints one summary:
 *	  frames N sock N bad_ip_csum N bad_udp_csum N zero_udp_csum N
 *	  from ADDR:PORT ssrc X first_seq N last_seq N partial_udp_csum N rtcp N
 *	(partial_udp_csum: of the bad UDP checksums, those that hold the
 *	folded pseudo-header sum of the frame's own addresses, which a NIC
 *	with checksum offload finishes on the way out: what the kernel's
 *	CHECKSUM_PARTIAL leaves between namespaces; rtcp: how many of the
 *	frames were RTCP by RFC 5761's test).
 *	It stops after COUNT frames or TIMEOUT_MS of silence.
 *   rtpio pcap FILE PORT
 *	the same summary (sock 0) over the frames to PORT in a capture
 *	file, for a port another program holds (sipp's RTP port).
 *
 * Independent of the project's code on purpose: it checks what the XDP
 * program wrote with arithmetic of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int parse_ep(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return -1;
		hlen = (size_t)(colon - s - 1);
		s++;
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hlen = (size_t)(colon - s);
	}
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof(*a);
		return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof(*a);
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
	}
}

static int bound_socket(const char *ep, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd, one = 1;

	if (parse_ep(ep, ss, len)) {
		fprintf(stderr, "rtpio: bad endpoint %s\n", ep);
		exit(2);
	}
	fd = socket(ss->ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, *len)) {
		fprintf(stderr, "rtpio: bind %s: %s\n", ep, strerror(errno));
		exit(1);
	}
	return fd;
}

/* An RTCP receiver report from and about ssrc into pkt; returns its length. */
static size_t rtcp_rr(unsigned char *pkt, uint32_t ssrc)
{
	uint32_t ss = htonl(ssrc);

	memset(pkt, 0, 32);
	pkt[0] = 0x81;		/* V=2, one report block */
	pkt[1] = 201;		/* RR */
	pkt[3] = 7;		/* length in words, minus one */
	memcpy(pkt + 4, &ss, 4);
	memcpy(pkt + 8, &ss, 4);
	return 32;
}

static int do_send(int argc, char **argv, bool rtcp)
{
	struct sockaddr_storage from, to;
	socklen_t flen, tlen;
	unsigned long count, ssrc = 0x5111ce00, pps = 0, start = 0, i;
	unsigned char pkt[12 + 160];
	size_t len = sizeof(pkt);
	struct timespec gap = { 0 };
	int fd;

	if (argc < 3)
		return 2;
	fd = bound_socket(argv[0], &from, &flen);
	if (parse_ep(argv[1], &to, &tlen))
		return 2;
	count = strtoul(argv[2], NULL, 0);
	if (argc > 3)
		ssrc = strtoul(argv[3], NULL, 0);
	if (argc > 4)
		pps = strtoul(argv[4], NULL, 0);
	if (argc > 5)
		start = strtoul(argv[5], NULL, 0);
	if (pps)
		gap.tv_nsec = (long)(1000000000UL / pps);
	memset(pkt, 0xd5, sizeof(pkt));	/* PCMU silence */
	for (i = start; i < start + count; i++) {
		uint16_t seq = htons((uint16_t)(1000 + i));
		uint32_t ts = htonl((uint32_t)(i * 160)), ss = htonl((uint32_t)ssrc);

		pkt[0] = 0x80;
		pkt[1] = i ? 0 : 0x80;	/* marker on the stream's first */
		memcpy(pkt + 2, &seq, 2);
		memcpy(pkt + 4, &ts, 4);
		memcpy(pkt + 8, &ss, 4);
		if (rtcp)
			len = rtcp_rr(pkt, (uint32_t)ssrc);
		if (sendto(fd, pkt, len, 0, (struct sockaddr *)&to, tlen) < 0) {
			fprintf(stderr, "rtpio: send: %s\n", strerror(errno));
			return 1;
		}
		if (pps)
			nanosleep(&gap, NULL);
	}
	printf("sent %lu\n", count);
	return 0;
}

static uint32_t sum16(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

struct rx {
	unsigned long frames, sock, bad_ip, bad_udp, zero_udp, partial_udp, rtcp;
	char from[80];
	uint32_t ssrc;
	int first_seq, last_seq;
};

/* Checks one frame; returns 1 when it is a datagram to our port. */
static int check_frame(struct rx *rx, const uint8_t *f, size_t len, uint16_t port)
{
	const struct ether_header *eth = (const void *)f;
	const uint8_t *l3 = f + sizeof(*eth), *udp, *rtp;
	uint16_t proto, ulen;
	uint32_t sum;
	char host[64];
	int v6;

	if (len < sizeof(*eth))
		return 0;
	proto = ntohs(eth->ether_type);
	if (proto == ETHERTYPE_IP && len >= sizeof(*eth) + 20) {
		const struct iphdr *ip = (const void *)l3;

		if (ip->protocol != IPPROTO_UDP)
			return 0;
		udp = l3 + ip->ihl * 4;
		v6 = 0;
	} else if (proto == ETHERTYPE_IPV6 && len >= sizeof(*eth) + 40) {
		if (l3[6] != IPPROTO_UDP)
			return 0;
		udp = l3 + 40;
		v6 = 1;
	} else {
		return 0;
	}
	if ((size_t)(udp + 8 - f) > len || ntohs(*(const uint16_t *)(udp + 2)) != port)
		return 0;
	ulen = ntohs(*(const uint16_t *)(udp + 4));
	if ((size_t)(udp - f) + ulen > len)
		return 0;
	rx->frames++;
	if (!v6) {
		const struct iphdr *ip = (const void *)l3;

		if (fold(sum16(0, ip, ip->ihl * 4u)) != 0xffff)
			rx->bad_ip++;
		sum = sum16(0, &ip->saddr, 8);
		inet_ntop(AF_INET, &ip->saddr, host, sizeof(host));
		snprintf(rx->from, sizeof(rx->from), "%s:%u", host,
			 ntohs(*(const uint16_t *)udp));
	} else {
		sum = sum16(0, l3 + 8, 32);
		inet_ntop(AF_INET6, l3 + 8, host, sizeof(host));
		snprintf(rx->from, sizeof(rx->from), "[%s]:%u", host,
			 ntohs(*(const uint16_t *)udp));
	}
	if (!v6 && !*(const uint16_t *)(udp + 6)) {
		rx->zero_udp++;
	} else {
		sum += IPPROTO_UDP + ulen;
		if (fold(sum16(sum, udp, ulen)) != 0xffff) {
			rx->bad_udp++;
			/* Left for a NIC to finish: the pseudo-header's sum, right for these addresses. */
			if (ntohs(*(const uint16_t *)(udp + 6)) == fold(sum))
				rx->partial_udp++;
		}
	}
	rtp = udp + 8;
	if (ulen >= 8 + 2 && (rtp[1] & 0x7f) >= 72 && (rtp[1] & 0x7f) <= 76)
		rx->rtcp++;
	if (ulen >= 8 + 12) {
		int seq = rtp[2] << 8 | rtp[3];

		rx->ssrc = (uint32_t)rtp[8] << 24 | rtp[9] << 16 | rtp[10] << 8 | rtp[11];
		if (rx->first_seq < 0)
			rx->first_seq = seq;
		rx->last_seq = seq;
	}
	return 1;
}

static void print_rx(const struct rx *rx)
{
	printf("frames %lu sock %lu bad_ip_csum %lu bad_udp_csum %lu zero_udp_csum %lu "
	       "from %s ssrc 0x%08x first_seq %d last_seq %d partial_udp_csum %lu rtcp %lu\n",
	       rx->frames, rx->sock, rx->bad_ip, rx->bad_udp, rx->zero_udp,
	       rx->from[0] ? rx->from : "-", rx->ssrc, rx->first_seq, rx->last_seq,
	       rx->partial_udp, rx->rtcp);
}

static int do_recv(int argc, char **argv)
{
	struct sockaddr_storage local;
	struct sockaddr_ll sll = { 0 };
	struct rx rx = { .first_seq = -1, .last_seq = -1 };
	unsigned long count, timeout;
	uint8_t buf[2048];
	socklen_t llen;
	int ufd, pfd;
	uint16_t port;

	if (argc < 4)
		return 2;
	ufd = bound_socket(argv[1], &local, &llen);
	port = ntohs(((struct sockaddr_in *)&local)->sin_port);
	count = strtoul(argv[2], NULL, 0);
	timeout = strtoul(argv[3], NULL, 0);
	pfd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (pfd < 0) {
		fprintf(stderr, "rtpio: packet socket: %s\n", strerror(errno));
		return 1;
	}
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(argv[0]);
	if (!sll.sll_ifindex || bind(pfd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "rtpio: interface %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (rx.frames < count || rx.sock < count) {
		struct pollfd p[2] = { { .fd = pfd, .events = POLLIN },
				       { .fd = ufd, .events = POLLIN } };
		int n = poll(p, 2, (int)timeout);

		if (n <= 0)
			break;
		if (p[0].revents & POLLIN) {
			struct sockaddr_ll from;
			socklen_t fl = sizeof(from);
			ssize_t r = recvfrom(pfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

			if (r > 0 && from.sll_pkttype != PACKET_OUTGOING)
				check_frame(&rx, buf, (size_t)r, port);
		}
		if (p[1].revents & POLLIN && recv(ufd, buf, sizeof(buf), 0) >= 0)
			rx.sock++;
	}
	print_rx(&rx);
	return 0;
}

/*
 * rtpio pcap FILE PORT: recv's summary (sock 0) over the Ethernet frames to
 * PORT of a capture file (tcpdump -w), for a port that another program
 * holds: sipp's RTP port, say.
 */
static int do_pcap(int argc, char **argv)
{
	struct rx rx = { .first_seq = -1, .last_seq = -1 };
	uint32_t ghdr[6], rhdr[4];
	uint8_t buf[65536];
	FILE *f;

	if (argc < 2)
		return 2;
	f = fopen(argv[0], "rb");
	if (!f || fread(ghdr, sizeof(ghdr), 1, f) != 1 || ghdr[0] != 0xa1b2c3d4 ||
	    ghdr[5] != 1 /* LINKTYPE_ETHERNET */) {
		fprintf(stderr, "rtpio: %s: not a little-endian Ethernet pcap\n", argv[0]);
		if (f)
			fclose(f);
		return 1;
	}
	while (fread(rhdr, sizeof(rhdr), 1, f) == 1) {
		uint32_t len = rhdr[2];

		if (len > sizeof(buf) || fread(buf, 1, len, f) != len)
			break;
		check_frame(&rx, buf, len, (uint16_t)strtoul(argv[1], NULL, 0));
	}
	fclose(f);
	print_rx(&rx);
	return 0;
}

/* rtpio sink LOCAL TIMEOUT_MS: counts datagrams on a socket until silence. */
static int do_sink(int argc, char **argv)
{
	struct sockaddr_storage local;
	unsigned long n = 0;
	uint8_t buf[2048];
	socklen_t llen;
	int fd;

	if (argc < 2)
		return 2;
	fd = bound_socket(argv[0], &local, &llen);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, atoi(argv[1])) <= 0)
			break;
		while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			n++;
	}
	printf("sock %lu\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc >= 2 && !strcmp(argv[1], "send"))
		rc = do_send(argc - 2, argv + 2, false);
	else if (argc >= 2 && !strcmp(argv[1], "rtcp"))
		rc = do_send(argc - 2, argv + 2, true);
	else if (argc >= 2 && !strcmp(argv[1], "recv"))
		rc = do_recv(argc - 2, argv + 2);
	else if (argc >= 2 && !strcmp(argv[1], "sink"))
		rc = do_sink(argc - 2, argv + 2);
	else if (argc >= 2 && !strcmp(argv[1], "pcap"))
		rc = do_pcap(argc - 2, argv + 2);
	if (rc == 2)
		fprintf(stderr, "usage: rtpio send FROM TO COUNT [SSRC [PPS [START]]]\n"
			"       rtpio rtcp FROM TO COUNT [SSRC [PPS]]\n"
			"       rtpio recv IFACE LOCAL COUNT TIMEOUT_MS\n"
			"       rtpio sink LOCAL TIMEOUT_MS\n"
			"       rtpio pcap FILE PORT\n");
	return rc;
}
