// SPDX-License-Identifier: GPL-2.0-only
/*
 * refrelay: loads the benchmark's reference relay (ref.bpf.c) the way
 * sluicectl loads sluice_xdp, so that make bench compares the two on the
 * same path.
 *
 *   refrelay load IF_IN IF_OUT native|generic FLOWS SRC DST PORT0 VIA TO NEXT_MAC
 *	attaches ref_relay to IF_IN and IF_OUT (netlink, so that it stays
 *	after refrelay exits) and installs FLOWS flows: packets from SRC
 *	(ADDR:PORT) to DST:PORT0+2i leave IF_OUT from VIA:PORT0+2i to
 *	TO:PORT0+2i, with IF_OUT's MAC as source and NEXT_MAC as destination;
 *	past 20,000 flows, i wraps and SRC's port grows by one.
 *   refrelay unload IF...
 *	detaches whatever XDP program the interfaces run.
 *
 * It prints the program's id, for bpftool and kernel.bpf_stats_enabled.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>

#include "ref.h"
#include "ref.skel.h"

static int own_mac(const char *ifname, __u8 mac[ETH_ALEN])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	if (fd >= 0)
		close(fd);
	return err;
}

static int endpoint(const char *s, __be32 *addr, __be16 *port)
{
	char host[64];
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, addr) != 1)
		return -1;
	*port = colon ? htons((__u16)atoi(colon + 1)) : 0;
	return 0;
}

static int load(char **argv)
{
	const char *in = argv[0], *out = argv[1];
	__u32 mode = !strcmp(argv[2], "native") ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	unsigned long n = strtoul(argv[3], NULL, 0), i;
	int ifs[2] = { (int)if_nametoindex(in), (int)if_nametoindex(out) };
	struct ref_flow f = { 0 };
	struct ref_key k = { 0 };
	unsigned int m[ETH_ALEN];
	unsigned int port0;
	__be16 dummy, sport;
	struct ref *skel;
	int j, fd;

	if (!ifs[0] || !ifs[1] || endpoint(argv[4], &k.saddr, &k.sport) ||
	    endpoint(argv[5], &k.daddr, &dummy) || endpoint(argv[7], &f.saddr, &dummy) ||
	    endpoint(argv[8], &f.daddr, &dummy) || own_mac(out, f.smac) ||
	    sscanf(argv[9], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
		fprintf(stderr, "refrelay: bad arguments\n");
		return 2;
	}
	port0 = (unsigned int)atoi(argv[6]);
	sport = k.sport;
	for (j = 0; j < ETH_ALEN; j++)
		f.dmac[j] = (__u8)m[j];
	f.ifindex = (__u32)ifs[1];
	skel = ref__open_and_load();
	if (!skel) {
		fprintf(stderr, "refrelay: loading ref.bpf.o: %s\n", strerror(errno));
		return 1;
	}
	fd = bpf_map__fd(skel->maps.ref_flows);
	for (i = 0; i < n; i++) {
		/* 20,000 flows per source port, as run.sh's idle flows go. */
		__u16 p = (__u16)(port0 + 2 * (i % 20000));

		k.sport = htons((__u16)(ntohs(sport) + i / 20000));
		k.dport = f.sport = f.dport = htons(p);
		if (bpf_map_update_elem(fd, &k, &f, BPF_ANY)) {
			fprintf(stderr, "refrelay: flow %lu: %s\n", i, strerror(errno));
			return 1;
		}
	}
	for (j = 0; j < 2; j++) {
		__u32 idx = (__u32)ifs[j];

		if (bpf_map__update_elem(skel->maps.ref_tx, &idx, 4, &idx, 4, BPF_ANY) ||
		    bpf_xdp_attach(ifs[j], bpf_program__fd(skel->progs.ref_relay), mode, NULL)) {
			fprintf(stderr, "refrelay: attaching to %s: %s\n", j ? out : in,
				strerror(errno));
			return 1;
		}
	}
	{
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.ref_relay), &info, &len);
		printf("ref_relay id %u on %s,%s (%s), %lu flows\n", info.id, in, out, argv[2], n);
	}
	ref__destroy(skel);	/* the links (netlink) keep the program and its maps */
	return 0;
}

int main(int argc, char **argv)
{
	int i, rc = 0;

	if (argc == 12 && !strcmp(argv[1], "load"))
		return load(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "unload")) {
		for (i = 2; i < argc; i++) {
			int idx = (int)if_nametoindex(argv[i]);
			/*
			 * Both modes, each: detaching in driver mode succeeds
			 * when there is nothing to detach there, and left the
			 * generic program attached to carry the next rows'
			 * traffic (rtpengine's, in its place).
			 */
			int drv = idx ? bpf_xdp_detach(idx, XDP_FLAGS_DRV_MODE, NULL) : -1;
			int skb = idx ? bpf_xdp_detach(idx, XDP_FLAGS_SKB_MODE, NULL) : -1;

			if (!idx || (drv && skb))
				rc = 1;
		}
		return rc;
	}
	fprintf(stderr, "usage: refrelay load IF_IN IF_OUT native|generic FLOWS SRC DST PORT0 VIA "
		"TO NEXT_MAC\n       refrelay unload IF...\n");
	return 2;
}
