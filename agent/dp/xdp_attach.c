// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attaching the XDP program (dp_xdp.c loads it): one bpf_link per [media]
 * interface, pinned as link_<ifname>, in the mode asked for; a previous
 * sluiced's link adopted (switched to the new program) when it runs in
 * that mode, replaced when not. Native is taken only where what the
 * program sends is delivered (link.h); the delivery watch (xdp_watch.c)
 * moves every interface to the other mode with dp_xdp_reattach().
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "core/log.h"
#include "dp/link.h"
#include "dp/xdp_int.h"
#include "sluice.skel.h"

static void warn_forwarding_off(const char *ifname)
{
	char path[128], val[8] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", ifname);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(val, sizeof(val), f) && val[0] == '0')
		LOG(L_WARN, "[dp] %s: net.ipv4.conf.%s.forwarding is 0, so the kernel's FIB "
		    "will not forward and XDP passes this interface's media to userspace "
		    "(sysctl -w net.ipv4.conf.%s.forwarding=1)", ifname, ifname, ifname);
	fclose(f);
}

static const char *attach_mode_name(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return "?";
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offloaded";
	default:
		return "?";
	}
}

static const char *mode_name(enum dp_xdp_mode mode)
{
	return mode == DP_XDP_NATIVE ? "native" : "generic";
}

/* The mode XDP is attached in on ifindex now, as a dp_xdp_mode; -1 for none. */
static int attached_mode(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return -1;
	if (q.attach_mode == XDP_ATTACHED_DRV)
		return DP_XDP_NATIVE;
	if (q.attach_mode == XDP_ATTACHED_SKB)
		return DP_XDP_GENERIC;
	return -1;
}

/* Adopts the pinned link of a previous sluiced, or creates and pins one. */
static int attach_if(struct dp_xdp *x, struct dp_xdp_if *xi, enum dp_xdp_mode mode,
		     char *why, size_t whylen)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo,
		    .flags = mode == DP_XDP_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
	int prog_fd = bpf_program__fd(x->skel->progs.sluice_xdp);
	char path[PATH_MAX];
	int fd, err;

	dp_xdp_pin_path(path, sizeof(path), x->pin_dir, SLUICE_LINK_PREFIX, xi->name);
	fd = bpf_obj_get(path);
	if (fd >= 0 && attached_mode(xi->ifindex) != (int)mode) {
		/* A previous sluiced's link in the other mode (a fallback): replaced. */
		LOG(L_INFO, "[dp] %s: pinned XDP link is %s, replacing it with %s", xi->name,
		    attach_mode_name(xi->ifindex), mode_name(mode));
		bpf_link_detach(fd);
		close(fd);
		unlink(path);
		fd = -1;
	}
	if (fd >= 0) {
		if (!bpf_link_update(fd, prog_fd, NULL)) {
			xi->link_fd = fd;
			xi->mode = mode;
			LOG(L_INFO, "[dp] %s: adopted the pinned XDP link (%s)", xi->name,
			    attach_mode_name(xi->ifindex));
			return 0;
		}
		/* The interface went away and came back: the old link is dead. */
		LOG(L_INFO, "[dp] %s: pinned XDP link is stale (%s), replacing it", xi->name,
		    strerror(errno));
		close(fd);
		unlink(path);
	}

	fd = bpf_link_create(prog_fd, xi->ifindex, BPF_XDP, &lo);
	if (fd < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: %s%s", xi->name, strerror(errno),
			 errno == EBUSY || errno == EEXIST ?
			 " (another XDP program is attached)" : "");
		return err;
	}
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		snprintf(why, whylen, "%s: cannot pin the link at %s: %s", xi->name, path,
			 strerror(errno));
		close(fd);
		return err;
	}
	xi->link_fd = fd;
	xi->created = true;
	xi->mode = mode;
	return 0;
}

void dp_xdp_detach_if(struct dp_xdp *x, struct dp_xdp_if *xi)
{
	char path[PATH_MAX];

	if (xi->link_fd < 0)
		return;
	dp_xdp_pin_path(path, sizeof(path), x->pin_dir, SLUICE_LINK_PREFIX, xi->name);
	bpf_link_detach(xi->link_fd);
	unlink(path);
	close(xi->link_fd);
	xi->link_fd = -1;
}


/* How the program treats checksums a local sender left for the NIC (sluice.bpf.c). */
static void set_mode(struct dp_xdp *x, enum dp_xdp_mode mode)
{
	if (x->skel && x->skel->bss)
		x->skel->bss->sluice_native_mode = mode == DP_XDP_NATIVE;
}


void dp_xdp_describe(struct dp_xdp *x)
{
	size_t n;
	int i;

	n = (size_t)snprintf(x->dp.desc, sizeof(x->dp.desc), "XDP %s on",
			     attach_mode_name(x->ifs[0].ifindex));
	for (i = 0; i < x->n_ifs && n < sizeof(x->dp.desc); i++)
		n += (size_t)snprintf(x->dp.desc + n, sizeof(x->dp.desc) - n, "%s%s",
				      i ? "," : " ", x->ifs[i].name);
}


int dp_xdp_attach_all(struct dp_xdp *x, const struct conf *conf, enum dp_xdp_mode mode,
		      char *why, size_t whylen)
{
	int i, err;

	set_mode(x, mode);
	for (i = 0; i < conf->media_n_ifaces; i++) {
		struct dp_xdp_if *xi = &x->ifs[i];

		x->n_ifs = i + 1;
		err = attach_if(x, xi, mode, why, whylen);
		if (err)
			return err;
		if (bpf_map_update_elem(x->tx_fd, &xi->ifindex, &xi->ifindex, BPF_ANY)) {
			err = -errno;
			snprintf(why, whylen, "%s: cannot add to tx_ports: %s", xi->name,
				 strerror(errno));
			return err;
		}
		warn_forwarding_off(xi->name);
	}
	/* Native is taken only where what the program sends is delivered. */
	if (mode == DP_XDP_NATIVE) {
		err = dp_xdp_native_check(x, false, why, whylen);
		if (err)
			return err;
	}
	dp_xdp_describe(x);
	return 0;
}

int dp_xdp_reattach(struct dp_xdp *x, enum dp_xdp_mode mode, char *why, size_t whylen)
{
	int i, err = 0;

	set_mode(x, mode);
	for (i = 0; i < x->n_ifs; i++) {
		struct dp_xdp_if *xi = &x->ifs[i];

		/* A moment without XDP: packets meanwhile reach the relay's sockets. */
		dp_xdp_detach_if(x, xi);
		err = attach_if(x, xi, mode, why, whylen);
		if (err)
			break;
	}
	dp_xdp_describe(x);
	return err;
}


int dp_xdp_native_check(struct dp_xdp *x, bool veth_only, char *why, size_t whylen)
{
	bool redirects = x->n_ifs > 1;
	int i;

	for (i = 0; i < x->n_ifs; i++) {
		struct dp_link l;
		int rc;

		if (veth_only && !x->ifs[i].veth)
			continue;
		rc = dp_link_get(x->ifs[i].ifindex, DP_LINK_SAME_NS, &l);
		if (rc) {
			snprintf(why, whylen, "%s: %s", x->ifs[i].name, strerror(-rc));
			return rc;
		}
		rc = dp_link_native_delivers(&l, redirects, why, whylen);
		if (rc == 0)
			return -EPIPE;
		if (rc < 0)
			return rc;
	}
	return 0;
}

