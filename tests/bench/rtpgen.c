// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtpgen: offers RTP at a given rate across N flows from the generator
 * namespace and counts what reaches the sink namespace (bench.bpf.c's XDP
 * sink), and reports the machine's busy CPU time over the run (its CPUs' wall
 * time less their idle, iowait and steal time).
 *
 *   rtpgen GEN_NS REFLECT_IF OUT_IF NEXT_MAC SINK_NS SINK_IF SRC_IP:PORT DST_IP
 *          PORTS FLOWS RATE_PPS SECONDS
 *
 * PORTS is a number (flow i goes to PORTS + 2i) or @FILE, one destination
 * port per line (the ports a relay handed out). Datagrams carry 172 bytes
 * (an RTP header and 20 ms of G.711): 214 bytes on the wire. RATE_PPS 0
 * offers as fast as one core can. Prints:
 *
 *   offered N received N seconds S busy_ns N relay_napi_ns N
 *
 * relay_napi_ns is the time spent in the relay's veth NAPI polls over the
 * run (bench.bpf.c: the softirq and napi_poll tracepoints), given the relay's
 * network namespace in RTPGEN_RELAY_NS, else 0. A kernel relay does all
 * of its per-packet work there, and the figure, unlike busy_ns, holds no
 * other process's time: a build on the machine moves busy_ns by more than
 * a relay costs.
 *
 * Frames go out with sendmmsg in batches of 64 from one UDP socket routed
 * into REFLECT_IF, whose XDP program (bench_reflect) sends them on out of
 * OUT_IF to NEXT_MAC as XDP frames. Debian's xdp-trafficgen would be
 * cheaper but fails on current kernels, and BPF_PROG_TEST_RUN's live
 * frames cost a page-pool set-up per call, which makes pacing impossible.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.skel.h"

#define BATCH 64

static int enter_ns(const char *name)
{
	char path[256];
	int fd, rc;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc ? -errno : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The machine's time not busy, in ns, from /proc/stat: idle, iowait and
 * steal (the hypervisor's, not ours). Busy time over a run is the CPUs'
 * wall time less this. Not the sum of user, system, irq and softirq: on a
 * kernel without IRQ_TIME_ACCOUNTING those are samples, one per tick,
 * whose noise over a few seconds was as large as a relay's cost per packet
 * (negative differences); idle is measured at each idle entry and exit
 * (NO_HZ), steal from the hypervisor's clock.
 */
static unsigned long long unbusy_ns(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) != 8)
		v[3] = v[4] = v[7] = 0;
	fclose(f);
	return (v[3] + v[4] + v[7]) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

static unsigned long long sink_count(struct bench *skel)
{
	int ncpus = libbpf_num_possible_cpus(), c;
	unsigned long long *v = calloc((size_t)ncpus, sizeof(*v)), n = 0;
	__u32 zero = 0;

	if (v && !bpf_map__lookup_elem(skel->maps.sink_count, &zero, 4, v,
				       sizeof(*v) * (size_t)ncpus, 0))
		for (c = 0; c < ncpus; c++)
			n += v[c];
	free(v);
	return n;
}

/* SIOCGIFHWADDR, not /sys/class/net: sysfs shows the mounter's netns. */
static int own_mac(const char *ifname, unsigned char *mac)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	rc = fd < 0 ? -1 : ioctl(fd, SIOCGIFHWADDR, &ifr);
	if (fd >= 0)
		close(fd);
	if (rc)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* Points bench_reflect at OUT_IF and attaches it to REFLECT_IF. */
static int setup_reflect(struct bench *skel, const char *reflect_if, const char *out_if,
			 const char *next_mac)
{
	struct { __u32 ifindex; unsigned char dmac[6], smac[6]; } cfg = { 0 };
	unsigned m[6];
	__u32 zero = 0;
	int rif, i;

	cfg.ifindex = if_nametoindex(out_if);
	rif = (int)if_nametoindex(reflect_if);
	if (!cfg.ifindex || !rif || own_mac(out_if, cfg.smac) ||
	    sscanf(next_mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		cfg.dmac[i] = (unsigned char)m[i];
	if (bpf_map__update_elem(skel->maps.reflect, &zero, 4, &cfg, sizeof(cfg), BPF_ANY))
		return -1;
	bpf_xdp_detach(rif, 0, NULL);
	return bpf_xdp_attach(rif, bpf_program__fd(skel->progs.bench_reflect),
			      XDP_FLAGS_DRV_MODE, NULL);
}

static unsigned short *load_ports(const char *spec, unsigned n)
{
	unsigned short *ports = calloc(n, sizeof(*ports));
	unsigned i, p;
	FILE *f;

	if (!ports)
		return NULL;
	if (spec[0] != '@') {
		for (i = 0; i < n; i++)
			ports[i] = (unsigned short)(atoi(spec) + 2 * (int)i);
		return ports;
	}
	f = fopen(spec + 1, "r");
	for (i = 0; f && i < n && fscanf(f, "%u", &p) == 1; i++)
		ports[i] = (unsigned short)p;
	if (f)
		fclose(f);
	if (i < n) {
		fprintf(stderr, "rtpgen: %s holds fewer than %u ports\n", spec + 1, n);
		free(ports);
		return NULL;
	}
	return ports;
}

/*
 * Loads the relay's NAPI timing when RTPGEN_RELAY_NS names the relay's
 * namespace (its nsfs inode is the namespace's number), else leaves it out.
 */
static bool relay_ns;

static int relay_timing(struct bench *skel, const char *name)
{
	char path[256];
	struct stat st;

	relay_ns = name && *name;
	bpf_program__set_autoload(skel->progs.relay_softirq_entry, relay_ns);
	bpf_program__set_autoload(skel->progs.relay_softirq_exit, relay_ns);
	bpf_program__set_autoload(skel->progs.relay_napi_poll, relay_ns);
	if (!relay_ns)
		return 0;
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	if (stat(path, &st)) {
		fprintf(stderr, "rtpgen: relay namespace %s: %s\n", name, strerror(errno));
		return -1;
	}
	skel->rodata->relay_netns_inum = (__u32)st.st_ino;
	return 0;
}

int main(int argc, char **argv)
{
	static struct sockaddr_in to[BATCH];
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov[BATCH];
	static unsigned char payload[BATCH][172];
	uint16_t *seq;
	unsigned long long offered = 0, base_rx, rx, b0, b1, napi0, napi;
	double busy;
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct in_addr dst;
	unsigned short *ports;
	unsigned flows, next = 0, i;
	double rate, secs, t0, t1;
	const char *gen_ns, *reflect_if, *out_if, *next_mac;
	struct bench *skel;
	int sink_if, fd, err;
	char *colon;

	if (argc != 13) {
		fprintf(stderr, "usage: rtpgen GEN_NS REFLECT_IF OUT_IF NEXT_MAC SINK_NS SINK_IF "
			"SRC_IP:PORT DST_IP PORTS FLOWS RATE_PPS SECONDS\n");
		return 2;
	}
	gen_ns = argv[1];
	reflect_if = argv[2];
	out_if = argv[3];
	next_mac = argv[4];
	argv += 3;	/* the rest as before: SINK_NS is argv[2] */
	colon = strchr(argv[4], ':');
	if (!colon)
		return 2;
	*colon = '\0';
	src.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, argv[4], &src.sin_addr) != 1 || inet_pton(AF_INET, argv[5], &dst) != 1)
		return 2;
	flows = (unsigned)atoi(argv[7]);
	rate = atof(argv[8]);
	secs = atof(argv[9]);
	ports = load_ports(argv[6], flows);
	if (!ports)
		return 1;

	skel = bench__open();
	if (!skel || relay_timing(skel, getenv("RTPGEN_RELAY_NS")) || bench__load(skel) ||
	    (relay_ns && bench__attach(skel))) {
		fprintf(stderr, "rtpgen: cannot load bench.bpf.o\n");
		return 1;
	}
	if (enter_ns(argv[2]) || !(sink_if = (int)if_nametoindex(argv[3]))) {
		fprintf(stderr, "rtpgen: sink %s/%s: %s\n", argv[2], argv[3], strerror(errno));
		return 1;
	}
	bpf_xdp_detach(sink_if, 0, NULL);
	err = bpf_xdp_attach(sink_if, bpf_program__fd(skel->progs.bench_sink),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (err) {
		fprintf(stderr, "rtpgen: attach sink: %s\n", strerror(-err));
		return 1;
	}
	if (enter_ns(gen_ns) || setup_reflect(skel, reflect_if, out_if, next_mac)) {
		fprintf(stderr, "rtpgen: generator %s/%s: %s\n", gen_ns, reflect_if, strerror(errno));
		return 1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src))) {
		fprintf(stderr, "rtpgen: bind: %s\n", strerror(errno));
		return 1;
	}
	seq = calloc(flows, sizeof(*seq));
	if (!seq)
		return 1;
	memset(payload, 0xd5, sizeof(payload));	/* PCMU silence */
	for (i = 0; i < BATCH; i++) {
		payload[i][0] = 0x80;		/* RTP version 2 */
		payload[i][1] = 0;		/* PCMU, as the SDP says */
		iov[i].iov_base = payload[i];
		iov[i].iov_len = sizeof(payload[i]);
		to[i].sin_family = AF_INET;
		to[i].sin_addr = dst;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(to[i]);
	}

	base_rx = sink_count(skel);
	napi0 = skel->bss->relay_napi_ns;
	b0 = unbusy_ns();
	t0 = now();
	for (;;) {
		double t = now() - t0;
		unsigned n = BATCH;
		int sent;

		if (t >= secs)
			break;
		if (rate > 0) {
			double due = rate * t - (double)offered;

			if (due < 1) {
				struct timespec ts = { 0, 50000 };

				nanosleep(&ts, NULL);
				continue;
			}
			if (due < n)
				n = (unsigned)due;
		}
		/* Each stream its own SSRC, sequence and timestamp. */
		for (i = 0; i < n; i++) {
			uint16_t s = seq[next]++;
			uint32_t ts = htonl((uint32_t)s * 160), ssrc = htonl(0x5100000u + next);

			s = htons(s);
			memcpy(payload[i] + 2, &s, 2);
			memcpy(payload[i] + 4, &ts, 4);
			memcpy(payload[i] + 8, &ssrc, 4);
			to[i].sin_port = htons(ports[next]);
			next = next + 1 == flows ? 0 : next + 1;
		}
		sent = sendmmsg(fd, msgs, n, 0);
		if (sent > 0)
			offered += (unsigned)sent;
	}
	t1 = now();
	b1 = unbusy_ns();
	usleep(200000);		/* let the last frames drain */
	rx = sink_count(skel) - base_rx;
	napi = skel->bss->relay_napi_ns - napi0;

	bpf_xdp_detach((int)if_nametoindex(reflect_if), 0, NULL);
	if (enter_ns(argv[2]) == 0)
		bpf_xdp_detach(sink_if, 0, NULL);
	busy = (t1 - t0) * 1e9 * (double)sysconf(_SC_NPROCESSORS_ONLN) - (double)(b1 - b0);
	printf("offered %llu received %llu seconds %.3f busy_ns %.0f relay_napi_ns %llu\n", offered,
	       rx, t1 - t0, busy > 0 ? busy : 0, napi);
	bench__destroy(skel);
	return 0;
}
