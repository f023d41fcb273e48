// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fix for a veth whose peer cannot take XDP frames (link.h): a native
 * XDP program on the peer that passes every packet to the stack, so that
 * the veth driver runs NAPI there and delivers what sluiced's program
 * sends out of its end. Two instructions, loaded from here rather than
 * from an object file, so that `sluicectl xdp-pass PEER` needs nothing
 * installed beside sluicectl on the host (or in the namespace) that owns
 * the peer. Attached through netlink, it stays after sluicectl exits,
 * until the interface goes or `sluicectl xdp-pass -d PEER` removes it.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include "dp/xdp_pass.h"

static int load_pass(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, DP_XDP_PASS_NAME, "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), NULL);
}

/* The name of the native program on ifindex, "" for none; its id in *id. */
static int native_prog(int ifindex, __u32 *id, char *name, size_t len)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int fd;

	name[0] = '\0';
	if (bpf_xdp_query(ifindex, 0, &q))
		return -errno;
	*id = q.drv_prog_id;
	if (!*id)
		return 0;
	fd = bpf_prog_get_fd_by_id(*id);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(name, len, "%s", info.name);
	close(fd);
	return 0;
}

int dp_xdp_pass(const char *ifname, bool attach, char *msg, size_t len)
{
	int ifindex = (int)if_nametoindex(ifname), fd, err;
	char name[BPF_OBJ_NAME_LEN];
	__u32 id = 0;

	if (!ifindex) {
		snprintf(msg, len, "%s: no such interface here", ifname);
		return -ENODEV;
	}
	err = native_prog(ifindex, &id, name, sizeof(name));
	if (err) {
		snprintf(msg, len, "%s: reading its XDP programs: %s", ifname, strerror(-err));
		return err;
	}
	if (!attach) {
		if (!id || strcmp(name, DP_XDP_PASS_NAME)) {
			snprintf(msg, len, "%s: no %s program to remove", ifname, DP_XDP_PASS_NAME);
			return 0;
		}
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		snprintf(msg, len, err ? "%s: cannot detach: %s" : "%s: %s removed", ifname,
			 err ? strerror(-err) : DP_XDP_PASS_NAME);
		return err;
	}
	if (id) {
		snprintf(msg, len, "%s already runs a native XDP program (%s, id %u): nothing to do",
			 ifname, name[0] ? name : "?", id);
		return 0;
	}
	fd = load_pass();
	if (fd < 0) {
		err = -errno;
		snprintf(msg, len, "loading the XDP_PASS program: %s", strerror(errno));
		return err;
	}
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	close(fd);
	if (err)
		snprintf(msg, len, "%s: cannot attach in native mode: %s", ifname, strerror(-err));
	else
		snprintf(msg, len, "%s: %s attached (native): its veth peer's XDP frames are "
			 "delivered now", ifname, DP_XDP_PASS_NAME);
	return err;
}
