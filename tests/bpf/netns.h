/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The network the XDP unit tests route through. bpf_fib_lookup() in
 * BPF_PROG_TEST_RUN consults the FIB of the test process's namespace for
 * the ingress interface named in ctx_in, so the test moves itself into a
 * private network namespace (it vanishes with the process, nothing to
 * clean up) and builds a FIB that answers deterministically:
 *
 *   a0  10.1.0.1/24 fd01::1/64  the caller's leg; 10.1.0.2, .3, fd01::2, ::3 known
 *   b0  10.2.0.1/24 fd02::1/64  the callee's leg; 10.2.0.2, fd02::2 known,
 *                               10.2.0.9 and fd02::9 without a neighbour
 *   c0  10.3.0.1/24 fd03::1/64  forwarding off (IPv4 and IPv6)
 *   d0  10.4.0.1/24 fd04::1/64  routed and resolved, but not in tx_ports
 *   e0  10.5.0.1/24 fd05::1/64  MTU 1280
 *   blackholes 198.51.100.0/24, 2001:db8:dead::/48; unreachable 203.0.113.0/24
 *
 * Every interface is one end of a veth pair whose other end is up, with a
 * fixed MAC address; every neighbour is PERMANENT.
 */
#ifndef SLUICE_TEST_NETNS_H
#define SLUICE_TEST_NETNS_H

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TNET_MAC_A0		"02:00:00:00:0a:00"
#define TNET_MAC_B0		"02:00:00:00:0b:00"
#define TNET_MAC_C0		"02:00:00:00:0c:00"
#define TNET_MAC_D0		"02:00:00:00:0d:00"
#define TNET_MAC_E0		"02:00:00:00:0e:00"
#define TNET_MAC_CALLER		"02:00:00:00:01:02"
#define TNET_MAC_CALLER2	"02:00:00:00:01:03"
#define TNET_MAC_CALLEE		"02:00:00:00:02:02"
#define TNET_MAC_C_PEER		"02:00:00:00:03:02"
#define TNET_MAC_D_PEER		"02:00:00:00:04:02"
#define TNET_MAC_E_PEER		"02:00:00:00:05:02"
#define TNET_MTU_E0		1280

struct tnet {
	int	a, b, c, d, e;	/* ifindex of a0 .. e0 */
};

static inline int tnet_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n < 0 ? -errno : 0;
}

static const char *const tnet_cmds[] = {
	"ip link set lo up",
	"ip link add a0 address " TNET_MAC_A0 " type veth peer name a1",
	"ip link add b0 address " TNET_MAC_B0 " type veth peer name b1",
	"ip link add c0 address " TNET_MAC_C0 " type veth peer name c1",
	"ip link add d0 address " TNET_MAC_D0 " type veth peer name d1",
	"ip link add e0 address " TNET_MAC_E0 " mtu 1280 type veth peer name e1",
	"for i in a0 a1 b0 b1 c0 c1 d0 d1 e0 e1; do ip link set $i up || exit 1; done",
	"ip addr add 10.1.0.1/24 dev a0",
	"ip addr add 10.2.0.1/24 dev b0",
	"ip addr add 10.3.0.1/24 dev c0",
	"ip addr add 10.4.0.1/24 dev d0",
	"ip addr add 10.5.0.1/24 dev e0",
	"ip addr add fd01::1/64 dev a0 nodad",
	"ip addr add fd02::1/64 dev b0 nodad",
	"ip addr add fd03::1/64 dev c0 nodad",
	"ip addr add fd04::1/64 dev d0 nodad",
	"ip addr add fd05::1/64 dev e0 nodad",
	"ip neigh add 10.1.0.2 lladdr " TNET_MAC_CALLER " dev a0 nud permanent",
	"ip neigh add 10.1.0.3 lladdr " TNET_MAC_CALLER2 " dev a0 nud permanent",
	"ip neigh add fd01::2 lladdr " TNET_MAC_CALLER " dev a0 nud permanent",
	"ip neigh add fd01::3 lladdr " TNET_MAC_CALLER2 " dev a0 nud permanent",
	"ip neigh add 10.2.0.2 lladdr " TNET_MAC_CALLEE " dev b0 nud permanent",
	"ip neigh add fd02::2 lladdr " TNET_MAC_CALLEE " dev b0 nud permanent",
	"ip neigh add 10.3.0.2 lladdr " TNET_MAC_C_PEER " dev c0 nud permanent",
	"ip neigh add fd03::2 lladdr " TNET_MAC_C_PEER " dev c0 nud permanent",
	"ip neigh add 10.4.0.2 lladdr " TNET_MAC_D_PEER " dev d0 nud permanent",
	"ip neigh add fd04::2 lladdr " TNET_MAC_D_PEER " dev d0 nud permanent",
	"ip neigh add 10.5.0.2 lladdr " TNET_MAC_E_PEER " dev e0 nud permanent",
	"ip neigh add fd05::2 lladdr " TNET_MAC_E_PEER " dev e0 nud permanent",
	"ip route add blackhole 198.51.100.0/24",
	"ip route add unreachable 203.0.113.0/24",
	"ip -6 route add blackhole 2001:db8:dead::/48",
};

/* Forwarding on everywhere ("all" sets every interface), then off on c0. */
static inline int tnet_forwarding(void)
{
	static const char *const on[] = {
		"/proc/sys/net/ipv4/conf/all/forwarding",
		"/proc/sys/net/ipv6/conf/all/forwarding",
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		err = tnet_sysctl(on[i], "1");
		if (err)
			return err;
	}
	err = tnet_sysctl("/proc/sys/net/ipv4/conf/c0/forwarding", "0");
	if (!err)
		err = tnet_sysctl("/proc/sys/net/ipv6/conf/c0/forwarding", "0");
	return err;
}

/*
 * Moves the calling process into a new network namespace and builds the
 * network above. Returns 0, or -errno with *why saying what was missing.
 */
static inline int tnet_build(struct tnet *n, const char **why)
{
	char cmd[256];
	size_t i;
	int err;

	if (unshare(CLONE_NEWNET)) {
		*why = "cannot create a network namespace (unshare CLONE_NEWNET)";
		return -errno;
	}
	for (i = 0; i < sizeof(tnet_cmds) / sizeof(tnet_cmds[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s >/dev/null 2>&1", tnet_cmds[i]);
		if (system(cmd)) {
			*why = "ip(8) could not build the test network (iproute2, veth?)";
			return -ENODEV;
		}
	}
	err = tnet_forwarding();
	if (err) {
		*why = "cannot set the forwarding sysctls";
		return err;
	}
	n->a = (int)if_nametoindex("a0");
	n->b = (int)if_nametoindex("b0");
	n->c = (int)if_nametoindex("c0");
	n->d = (int)if_nametoindex("d0");
	n->e = (int)if_nametoindex("e0");
	if (!n->a || !n->b || !n->c || !n->d || !n->e) {
		*why = "test interfaces missing after creation";
		return -ENODEV;
	}
	return 0;
}

#endif /* SLUICE_TEST_NETNS_H */
