// SPDX-License-Identifier: GPL-2.0-only
/*
 * Keeping the program's egress cache true. The XDP program resolves a
 * flow's egress (interface, source and next-hop MAC) with bpf_fib_lookup
 * on the flow's first packet and keeps it in the flow's action (ABI 3);
 * it trusts the answer while it was given in the program's current
 * generation and is younger than SLUICE_EGRESS_TTL_NS. This file holds an
 * rtnetlink socket subscribed to link, address, route and neighbour
 * changes; whatever arrives on it (a neighbour's new MAC, a route
 * replaced, an interface down or up, or an overflow that lost messages)
 * starts a new generation, so that every flow's next packet asks the FIB
 * again. The next packet goes where the kernel now says, a few
 * milliseconds after the change; without a running sluiced (a restart),
 * within SLUICE_EGRESS_TTL_NS.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "core/log.h"
#include "dp/xdp_int.h"
#include "sluice.skel.h"

#define EGRESS_GROUPS	(RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | \
			 RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE)

void dp_xdp_egress_changed(struct dp_xdp *x)
{
	if (!x->skel || !x->skel->bss)
		return;
	/* Every flow's cached egress is stale from here on; 0 is "never". */
	if (!++x->skel->bss->sluice_egress_gen)
		x->skel->bss->sluice_egress_gen = 1;
}

int dp_xdp_egress_open(struct dp_xdp *x)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = EGRESS_GROUPS };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	x->egress_fd = -1;
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	x->egress_fd = fd;
	return 0;
}

int dp_xdp_egress_fd(struct dp *dp)
{
	return to_xdp(dp)->egress_fd;
}

void dp_xdp_egress_read(struct dp *dp)
{
	struct dp_xdp *x = to_xdp(dp);
	char buf[8192];
	unsigned n = 0;
	ssize_t r;

	/* What changed does not matter: any change is a new generation. */
	while ((r = recv(x->egress_fd, buf, sizeof(buf), 0)) > 0 || (r < 0 && errno == ENOBUFS))
		n++;
	if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		LOG(L_WARN, "[dp] route and neighbour events: %s", strerror(errno));
	if (n) {
		dp_xdp_egress_changed(x);
		x->egress_changes++;
	}
}

void dp_xdp_egress_close(struct dp_xdp *x)
{
	if (x->egress_fd >= 0)
		close(x->egress_fd);
	x->egress_fd = -1;
}
