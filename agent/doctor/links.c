// SPDX-License-Identifier: GPL-2.0-only
/*
 * The doctor's look at the kernel path (doctor.h): each [media] interface
 * (there, up, forwarding, reverse-path filter, MTU), a veth's peer and
 * whether XDP native would deliver through it (dp/link.h), the bpf
 * filesystem and what a previous sluiced left pinned there, and the
 * nftables table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sluice/abi.h>

#include "dp/link.h"
#include "dp/nft.h"
#include "doctor/links.h"

static bool uses_xdp(const struct conf *c)
{
	return c->media_datapath == CONF_DP_AUTO || c->media_datapath == CONF_DP_XDP ||
	       c->media_datapath == CONF_DP_XDP_NATIVE || c->media_datapath == CONF_DP_XDP_GENERIC;
}

static bool uses_kernel(const struct conf *c)
{
	return c->media_datapath != CONF_DP_USER;
}

static bool media_v6(const struct conf *c)
{
	return strchr(c->media_address, ':') != NULL;
}

/* net.ipv4.conf.IF.forwarding (and ipv6's): XDP's FIB lookup refuses without it. */
static void check_forwarding(struct doctor *d, const char *ifname)
{
	static const char *const fam[] = { "ipv4", "ipv6" };
	int i;

	for (i = 0; i < 2; i++) {
		char path[128], fix[160];
		long v;

		if (i == 1 && !media_v6(d->conf))
			continue;
		snprintf(path, sizeof(path), "net/%s/conf/%s/forwarding", fam[i], ifname);
		if (doctor_sysctl(path, &v) || v)
			continue;
		snprintf(fix, sizeof(fix), "sysctl -w net.%s.conf.%s.forwarding=1 (and in "
			 "/etc/sysctl.d/ to keep it)", fam[i], ifname);
		doctor_add(d, DOCTOR_WARN, "kernel", fix, "%s: %s forwarding is off, so XDP's FIB "
			   "lookup refuses and the userspace relay carries this interface's media",
			   ifname, fam[i]);
	}
}

/* Strict reverse-path filtering drops media that arrives where its route does not point. */
static void check_rp_filter(struct doctor *d, const char *ifname)
{
	char path[128], fix[200];
	long all = 0, one = 0;

	snprintf(path, sizeof(path), "net/ipv4/conf/%s/rp_filter", ifname);
	if (doctor_sysctl("net/ipv4/conf/all/rp_filter", &all) || doctor_sysctl(path, &one))
		return;
	if ((all > one ? all : one) != 1 || d->conf->media_n_ifaces < 2)
		return;
	snprintf(fix, sizeof(fix), "sysctl -w net.ipv4.conf.all.rp_filter=2 "
		 "net.ipv4.conf.%s.rp_filter=2 (loose)", ifname);
	doctor_add(d, DOCTOR_WARN, "kernel", fix, "%s: strict reverse-path filtering (rp_filter "
		   "1) drops packets whose source is routed out of another interface: media "
		   "of a phone reached asymmetrically never gets to sluiced", ifname);
}

/* A veth: whom its frames reach, and whether XDP native would deliver there. */
static void check_veth(struct doctor *d, const struct dp_link *l)
{
	const struct conf *c = d->conf;
	bool native = c->media_datapath == CONF_DP_XDP_NATIVE;
	struct dp_link p;
	char why[400] = "", peer[96], *fix;
	int rc;

	if (dp_link_get(l->link_ifindex, l->link_nsid, &p)) {
		snprintf(peer, sizeof(peer), "ifindex %d", l->link_ifindex);
		memset(&p, 0, sizeof(p));
	} else {
		snprintf(peer, sizeof(peer), "%s%s%s%s", p.name,
			 l->link_nsid != DP_LINK_SAME_NS ? " (another netns)" : "",
			 p.master[0] ? ", a port of bridge " : "", p.master);
	}
	if (p.mtu && p.mtu != l->mtu)
		doctor_add(d, DOCTOR_WARN, "veth", NULL, "%s: MTU %u, its peer %s MTU %u: larger "
			   "frames are dropped on one side", l->name, l->mtu, p.name, p.mtu);
	if (!uses_xdp(c) || c->media_datapath == CONF_DP_XDP_GENERIC) {
		doctor_add(d, DOCTOR_OK, "veth", NULL, "%s: a veth whose peer is %s (datapath = %s "
			   "does not use XDP native)", l->name, peer,
			   conf_datapath_name(c->media_datapath));
		return;
	}
	rc = dp_link_native_delivers(l, c->media_n_ifaces > 1, why, sizeof(why));
	if (rc == 1) {
		doctor_add(d, DOCTOR_OK, "veth", NULL, "%s: a veth whose peer is %s, which takes "
			   "XDP frames (GRO or an XDP program there): XDP native delivers", l->name,
			   peer);
		return;
	}
	/* why ends with "; fix: ..." where there is one. */
	fix = strstr(why, "; fix: ");
	if (fix) {
		*fix = '\0';
		fix += strlen("; fix: ");
	}
	if (rc < 0)
		doctor_add(d, DOCTOR_WARN, "veth", fix, "%s", why);
	else if (native)
		doctor_add(d, DOCTOR_FAIL, "veth", fix, "%s%s%s; with datapath = xdp-native "
			   "sluiced refuses to start", why, p.master[0] ? " (a port of bridge " : "",
			   p.master[0] ? p.master : "");
	else
		doctor_add(d, DOCTOR_WARN, "veth", fix, "%s; sluiced uses XDP generic here, which "
			   "delivers at a higher cost per packet", why);
}

/* Another driver as a redirect target (several interfaces): it needs ndo_xdp_xmit. */
static void check_redirect_target(struct doctor *d, const struct dp_link *l)
{
	char why[400] = "";
	int rc;

	if (!uses_xdp(d->conf) || d->conf->media_datapath == CONF_DP_XDP_GENERIC ||
	    d->conf->media_n_ifaces < 2)
		return;
	rc = dp_link_native_delivers(l, true, why, sizeof(why));
	if (rc == 0)
		doctor_add(d, d->conf->media_datapath == CONF_DP_XDP_NATIVE ? DOCTOR_FAIL :
			   DOCTOR_WARN, "xdp", NULL, "%s; sluiced uses XDP generic", why);
}

static void check_iface(struct doctor *d, const char *ifname)
{
	const struct conf *c = d->conf;
	struct dp_link l;
	char fix[160];

	if (dp_link_get_by_name(ifname, &l)) {
		doctor_add(d, DOCTOR_WARN, "media", "set [media] interface to the interfaces media "
			   "arrives on (ip -br link)", "%s: no such interface: XDP cannot attach, so "
			   "%s carries all media", ifname, c->media_datapath == CONF_DP_AUTO ?
			   "the kernel module or the userspace relay" : "nothing in the kernel");
		return;
	}
	if (!l.up) {
		snprintf(fix, sizeof(fix), "ip link set %s up", ifname);
		doctor_add(d, DOCTOR_FAIL, "media", fix, "%s is down: media through it is lost",
			   ifname);
		return;
	}
	doctor_add(d, DOCTOR_OK, "media", NULL, "%s: %s%s%s, up%s, MTU %u", ifname,
		   l.kind[0] ? l.kind : "device", l.master[0] ? " in bridge " : "", l.master,
		   l.carrier ? "" : " (no carrier)", l.mtu);
	if (l.mtu < 576)
		doctor_add(d, DOCTOR_WARN, "media", NULL, "%s: MTU %u is below what media packets "
			   "need (576)", ifname, l.mtu);
	if (uses_xdp(c) && !(d->flags & DOCTOR_AT_START))
		check_forwarding(d, ifname);
	if (uses_kernel(c))
		check_rp_filter(d, ifname);
	if (d->flags & DOCTOR_AT_START)
		return;		/* the data path says what follows as it opens */
	if (dp_link_is_veth(&l))
		check_veth(d, &l);
	else
		check_redirect_target(d, &l);
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* What a previous sluiced left pinned, and whether this one can take it over. */
static void check_pins(struct doctor *d, const char *pin_dir)
{
	char path[512];
	__u32 key = 0, ver = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, SLUICE_MAP_ABI);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_map_lookup_elem(fd, &key, &ver) && ver && ver != SLUICE_ABI_VERSION)
		doctor_add(d, d->conf->media_datapath == CONF_DP_AUTO ? DOCTOR_WARN : DOCTOR_FAIL,
			   "bpf", "stop the sluiced that made them, then `sluicectl unload`",
			   "%s holds maps of ABI %u, this sluice is ABI %d: XDP will be refused",
			   pin_dir, ver, SLUICE_ABI_VERSION);
	else
		doctor_add(d, DOCTOR_OK, "bpf", NULL, "%s holds a previous sluiced's maps (ABI %u): "
			   "the next start adopts their calls", pin_dir, ver);
	close(fd);
}

static void check_bpffs(struct doctor *d)
{
	const char *pin = d->conf->media_pin_dir;
	char parent[CONF_STR_MAX];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (!is_bpffs(parent)) {
		bool root_bpf = !strncmp(pin, "/sys/fs/bpf/", strlen("/sys/fs/bpf/"));

		doctor_add(d, DOCTOR_WARN, "bpf", root_bpf ? "mount -t bpf bpf /sys/fs/bpf "
			   "(systemd mounts it at boot)" : "set [media] bpf_pin_dir under a bpf "
			   "filesystem", "%s is not on a bpf filesystem%s", parent, root_bpf ?
			   ": sluiced mounts one at start when it may (root with CAP_SYS_ADMIN, "
			   "which the systemd unit does not grant), or XDP is not possible" :
			   ": XDP is not possible");
		return;
	}
	doctor_add(d, DOCTOR_OK, "bpf", NULL, "%s is a bpf filesystem", parent);
	check_pins(d, pin);
}

static void check_nft(struct doctor *d)
{
	bool present = false;
	char why[200] = "";

	if (dp_nft_table_present(&present, why, sizeof(why)))
		doctor_add(d, DOCTOR_WARN, "nft", "run as root or with CAP_NET_ADMIN; load nf_tables",
			   "nftables cannot be read (%s): sluiced cannot keep media out of "
			   "connection tracking", why);
	else if (present)
		doctor_add(d, DOCTOR_OK, "nft", NULL, "table inet %s is there (a running or "
			   "handed-over sluiced's): a start replaces it", DP_NFT_TABLE);
	else
		doctor_add(d, DOCTOR_OK, "nft", NULL, "nftables reachable; sluiced installs table "
			   "inet %s at start", DP_NFT_TABLE);
}

void doctor_check_links(struct doctor *d)
{
	const struct conf *c = d->conf;
	int i;

	if (geteuid())
		doctor_add(d, DOCTOR_WARN, "host", "run sluicectl doctor as root",
			   "not root: what needs root (XDP, nftables, other namespaces) may read "
			   "as missing");
	for (i = 0; i < c->media_n_ifaces; i++)
		check_iface(d, c->media_ifaces[i]);
	if (d->flags & DOCTOR_AT_START)
		return;
	if (uses_xdp(c))
		check_bpffs(d);
	if (uses_kernel(c))
		check_nft(d);
}
