// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP backend: loads bpf/sluice.bpf.o (through its skeleton), attaches
 * it with one bpf_link per [media] interface, and programs its maps.
 *
 * Everything lives pinned under the pin directory (/sys/fs/bpf/sluice):
 * the maps (libbpf pins them by name and reuses them when they are there)
 * and the links (link_<ifname>). A sluiced that starts where another left
 * state behind adopts it: the maps keep their flows and counters and the
 * existing link is switched to the new program atomically, so calls in
 * progress do not lose a packet across a restart or an upgrade.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>

#include "core/log.h"
#include "dp/dp.h"
#include "dp/dp_impl.h"
#include "dp/link.h"
#include "dp/xdp_int.h"
#include "sluice.skel.h"

#define BPFFS_ROOT	"/sys/fs/bpf"

/* ---- pins ---- */

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* Mounts bpffs at /sys/fs/bpf when the pin directory needs it and it is not. */
static int prepare_pin_dir(const char *pin_dir, char *why, size_t whylen)
{
	int err;

	if (!strncmp(pin_dir, BPFFS_ROOT "/", strlen(BPFFS_ROOT) + 1) && !is_bpffs(BPFFS_ROOT)) {
		if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			err = -errno;
			snprintf(why, whylen, "cannot mount bpffs on %s: %s", BPFFS_ROOT,
				 strerror(errno));
			return err;
		}
		LOG(L_INFO, "[dp] mounted bpffs on %s", BPFFS_ROOT);
	}
	err = mkdir_p(pin_dir);
	if (err) {
		snprintf(why, whylen, "cannot create %s: %s", pin_dir, strerror(-err));
		return err;
	}
	if (!is_bpffs(pin_dir)) {
		snprintf(why, whylen, "%s is not on a bpf filesystem", pin_dir);
		return -ENOTDIR;
	}
	return 0;
}

static int open_pinned_map(const char *dir, const char *name, int *fd)
{
	char path[PATH_MAX];

	dp_xdp_pin_path(path, sizeof(path), dir, "", name);
	*fd = bpf_obj_get(path);
	return *fd < 0 ? -errno : 0;
}

static void unpin_maps(const char *pin_dir)
{
	static const char *const maps[] = {
		SLUICE_MAP_FLOWS, SLUICE_MAP_VERDICTS, SLUICE_MAP_TX_PORTS, SLUICE_MAP_ABI,
		"flows_abi2", "flow_stats",	/* an ABI 2 upgrade's leftovers, if any */
	};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		dp_xdp_pin_path(path, sizeof(path), pin_dir, "", maps[i]);
		unlink(path);
	}
	rmdir(pin_dir);
}

static void xdp_close(struct dp *dp, bool keep)
{
	struct dp_xdp *x = to_xdp(dp);
	int i;

	dp_xdp_egress_close(x);
	for (i = 0; i < x->n_ifs; i++) {
		if (keep || !x->skel) {
			if (x->ifs[i].link_fd >= 0)
				close(x->ifs[i].link_fd);
			continue;
		}
		bpf_map_delete_elem(x->tx_fd, &x->ifs[i].ifindex);
		dp_xdp_detach_if(x, &x->ifs[i]);
	}
	if (x->skel) {
		sluice__destroy(x->skel);
		if (!keep) {
			dp_xdp_unload(x->pin_dir);
			LOG(L_INFO, "[dp] XDP detached, pins under %s removed", x->pin_dir);
		} else {
			LOG(L_INFO, "[dp] XDP left attached, state pinned under %s", x->pin_dir);
		}
	} else {
		close(x->flows_fd);
		close(x->verdicts_fd);
		close(x->tx_fd);
		close(x->abi_fd);
	}
	free(x);
}

static const struct dp_ops dp_xdp_ops = {
	.name = "xdp",
	.flow_put = dp_xdp_flow_put,
	.flow_del = dp_xdp_flow_del,
	.stats_read = dp_xdp_stats_read,
	.flow_iter = dp_xdp_flow_iter,
	.verdicts = dp_xdp_verdicts,
	.watch = dp_xdp_watch,
	.event_fd = dp_xdp_egress_fd,
	.on_event = dp_xdp_egress_read,
	.close = xdp_close,
};

static struct dp_xdp *xdp_alloc(const char *pin_dir)
{
	struct dp_xdp *x = calloc(1, sizeof(*x));
	int i;

	if (!x)
		return NULL;
	x->dp.ops = &dp_xdp_ops;
	x->dp.kind = DP_XDP;
	x->dp.priv = x;
	snprintf(x->pin_dir, sizeof(x->pin_dir), "%s", pin_dir);
	x->ncpus = libbpf_num_possible_cpus();
	for (i = 0; i < CONF_MAX_IFACES; i++)
		x->ifs[i].link_fd = -1;
	x->egress_fd = -1;
	return x;
}

/* Checks (or, on fresh maps, writes) the ABI version the maps were made for. */
static int check_abi(int abi_fd, bool migrating, char *why, size_t whylen)
{
	__u32 key = 0, ver = 0;

	if (bpf_map_lookup_elem(abi_fd, &key, &ver))
		return -errno;
	if (ver && ver != SLUICE_ABI_VERSION && !migrating) {
		snprintf(why, whylen, "pinned maps are ABI %u, this sluiced is ABI %u: "
			 "stop the old one and run `sluicectl unload`", ver, SLUICE_ABI_VERSION);
		return -EPROTO;
	}
	ver = SLUICE_ABI_VERSION;
	return bpf_map_update_elem(abi_fd, &key, &ver, BPF_ANY) ? -errno : 0;
}

/* Read-only check for sluicectl: its idea of the structs must be the maps'. */
static int check_pinned_abi(int abi_fd)
{
	__u32 key = 0, ver = 0;

	if (bpf_map_lookup_elem(abi_fd, &key, &ver))
		return -errno;
	return ver && ver != SLUICE_ABI_VERSION ? -EPROTO : 0;
}

/*
 * tx_ports is pinned by hand (see bpf/maps.h): an existing pin is handed to
 * libbpf before the load, so the program shares it with the previous one.
 */
static int reuse_tx_ports(struct dp_xdp *x, char *why, size_t whylen)
{
	struct bpf_map *map = x->skel->maps.tx_ports;
	char path[PATH_MAX];
	int fd, err;

	dp_xdp_pin_path(path, sizeof(path), x->pin_dir, "", SLUICE_MAP_TX_PORTS);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = bpf_map__reuse_fd(map, fd);
	close(fd);
	if (!err)
		err = bpf_map__set_pin_path(map, path);
	if (err)
		snprintf(why, whylen, "cannot reuse %s: %s", path, strerror(-err));
	return err;
}

static unsigned prof_skip;

void dp_xdp_set_prof_skip(unsigned mask)
{
	prof_skip = mask;
}

/* The program sends a veth's frames back out by a redirect (bpf/sluice.bpf.c). */
static void set_veths(struct dp_xdp *x)
{
	size_t n = 0, max = sizeof(x->skel->rodata->sluice_veth_ifs) /
			    sizeof(x->skel->rodata->sluice_veth_ifs[0]);
	int i;

	for (i = 0; i < CONF_MAX_IFACES && x->ifs[i].ifindex && n < max; i++)
		if (x->ifs[i].veth)
			x->skel->rodata->sluice_veth_ifs[n++] = (__u32)x->ifs[i].ifindex;
}

static int load_prog(struct dp_xdp *x, bool *fresh, char *why, size_t whylen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = x->pin_dir);
	char path[PATH_MAX];
	int err;

	dp_xdp_pin_path(path, sizeof(path), x->pin_dir, "", SLUICE_MAP_FLOWS);
	*fresh = access(path, F_OK) != 0;
	x->skel = sluice__open_opts(&oo);
	if (!x->skel) {
		err = -errno;
		snprintf(why, whylen, "opening the BPF object: %s", strerror(errno));
		return err;
	}
	err = reuse_tx_ports(x, why, whylen);
	if (err)
		return err;
	set_veths(x);
	x->skel->rodata->sluice_prof_skip = prof_skip;
	x->skel->rodata->sluice_jitter_mask = x->jitter_mask;
	/*
	 * A generation no cached egress of a previous program can carry by
	 * chance: the actions it resolved are kept across an adoption.
	 */
	x->skel->bss->sluice_egress_gen = (__u32)time(NULL) | 1;
	err = sluice__load(x->skel);
	if (err) {
		snprintf(why, whylen, "loading the XDP program: %s%s", strerror(-err),
			 err == -EPERM ? " (needs root, or CAP_BPF and CAP_NET_ADMIN)" :
			 !*fresh ? " (pinned maps from another build? `sluicectl unload`)" : "");
		return err;
	}
	dp_xdp_pin_path(path, sizeof(path), x->pin_dir, "", SLUICE_MAP_TX_PORTS);
	if (!bpf_map__is_pinned(x->skel->maps.tx_ports) &&
	    bpf_map__pin(x->skel->maps.tx_ports, path)) {
		err = -errno;
		snprintf(why, whylen, "cannot pin %s: %s", path, strerror(errno));
		return err;
	}
	x->flows_fd = bpf_map__fd(x->skel->maps.flows);
	x->verdicts_fd = bpf_map__fd(x->skel->maps.verdicts);
	x->tx_fd = bpf_map__fd(x->skel->maps.tx_ports);
	x->abi_fd = bpf_map__fd(x->skel->maps.abi);
	return check_abi(x->abi_fd, x->migrating, why, whylen);
}

/* The [media] interfaces, their ifindexes, and which are veths. */
static int find_ifs(struct dp_xdp *x, const struct conf *conf, char *why, size_t whylen)
{
	int i;

	if (!conf->media_n_ifaces) {
		snprintf(why, whylen, "no [media] interface configured");
		return -ENODEV;
	}
	for (i = 0; i < conf->media_n_ifaces; i++) {
		struct dp_xdp_if *xi = &x->ifs[i];
		struct dp_link l;

		snprintf(xi->name, sizeof(xi->name), "%s", conf->media_ifaces[i]);
		xi->ifindex = (int)if_nametoindex(xi->name);
		if (!xi->ifindex) {
			snprintf(why, whylen, "%s: no such interface", xi->name);
			return -ENODEV;
		}
		xi->veth = !dp_link_get(xi->ifindex, DP_LINK_SAME_NS, &l) && dp_link_is_veth(&l);
	}
	return 0;
}

int dp_xdp_open(const struct conf *conf, enum dp_xdp_mode mode, struct dp **out,
		char *why, size_t whylen)
{
	struct dp_xdp *x;
	bool fresh = false;
	int i, err;

	x = xdp_alloc(conf->media_pin_dir);
	if (!x)
		return -ENOMEM;
	x->want = conf->media_datapath;
	x->jitter_mask = conf->media_jitter_sampling ? conf->media_jitter_sampling - 1 : 0;
	err = find_ifs(x, conf, why, whylen);
	if (err)
		goto out_free;
	/* A veth's peer decides before anything is attached (or replaced). */
	x->n_ifs = conf->media_n_ifaces;
	if (mode == DP_XDP_NATIVE) {
		err = dp_xdp_native_check(x, true, why, whylen);
		if (err)
			goto out_free;
	}
	x->n_ifs = 0;
	err = prepare_pin_dir(x->pin_dir, why, whylen);
	if (err)
		goto out_free;
	err = dp_xdp_migrate_begin(x, why, whylen);
	if (err)
		goto out_free;
	err = load_prog(x, &fresh, why, whylen);
	if (!err)
		err = dp_xdp_migrate_copy(x, why, whylen);
	if (err)
		goto out_destroy;
	err = dp_xdp_attach_all(x, conf, mode, why, whylen);
	if (err)
		goto out_detach;
	dp_xdp_migrate_end(x);
	dp_xdp_watch_reset(x);
	err = dp_xdp_egress_open(x);
	if (err)
		LOG(L_WARN, "[dp] no rtnetlink events (%s): a flow's egress follows route and "
		    "neighbour changes within %llu ms only", strerror(-err),
		    (unsigned long long)(SLUICE_EGRESS_TTL_NS / 1000000));
	*out = &x->dp;
	return 0;

out_detach:
	for (i = 0; i < x->n_ifs; i++) {
		if (x->ifs[i].created)
			dp_xdp_detach_if(x, &x->ifs[i]);
		else if (x->ifs[i].link_fd >= 0)
			close(x->ifs[i].link_fd);
	}
out_destroy:
	sluice__destroy(x->skel);
	if (x->migrating)
		dp_xdp_migrate_undo(x);
	else if (fresh)
		unpin_maps(x->pin_dir);
out_free:
	free(x);
	return err;
}

int dp_xdp_open_pinned(const char *pin_dir, struct dp **out)
{
	struct dp_xdp *x = xdp_alloc(pin_dir);
	int err;

	if (!x)
		return -ENOMEM;
	x->flows_fd = x->verdicts_fd = x->tx_fd = x->abi_fd = -1;
	if ((err = open_pinned_map(pin_dir, SLUICE_MAP_FLOWS, &x->flows_fd)) ||
	    (err = open_pinned_map(pin_dir, SLUICE_MAP_VERDICTS, &x->verdicts_fd)) ||
	    (err = open_pinned_map(pin_dir, SLUICE_MAP_TX_PORTS, &x->tx_fd)) ||
	    (err = open_pinned_map(pin_dir, SLUICE_MAP_ABI, &x->abi_fd)) ||
	    (err = check_pinned_abi(x->abi_fd))) {
		xdp_close(&x->dp, true);
		return err;
	}
	snprintf(x->dp.desc, sizeof(x->dp.desc), "XDP maps pinned in %s", pin_dir);
	*out = &x->dp;
	return 0;
}

int dp_xdp_unload(const char *pin_dir)
{
	size_t plen = strlen(SLUICE_LINK_PREFIX);
	char path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(pin_dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int fd;

		if (strncmp(de->d_name, SLUICE_LINK_PREFIX, plen))
			continue;
		dp_xdp_pin_path(path, sizeof(path), pin_dir, "", de->d_name);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		unlink(path);
		n++;
	}
	closedir(d);
	unpin_maps(pin_dir);
	return n;
}
