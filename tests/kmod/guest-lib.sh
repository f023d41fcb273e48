# SPDX-License-Identifier: GPL-2.0-only
# What the guest's scripts (guest-test.sh, guest-bench.sh) share, on top of
# tests/lib.sh and tests/forward-lib.sh: the three namespaces of
# 20-xdp-forward.t and sluicectl in the relay, through the module
# (CTL=(-k)) or the XDP maps (CTL=(-p PIN)).
. /sluice/tests/lib.sh
. /sluice/tests/forward-lib.sh

C=slc R=slr E=sle
PIN=/sys/fs/bpf/sluice-g
MODS=/sluice/modules
CTL=(-k)

ctl() { in_ns $R "$SLUICECTL" "${CTL[@]}" "$@"; }

# The namespaces of 20-xdp-forward.t. 1 when any step fails.
build_topology() { fwd_namespaces && fwd_neighbours; }

# The XDP program on both legs: native, else generic. Prints the mode.
xdp_load() {
	local out
	if out=$(in_ns $R "$SLUICECTL" -p $PIN load r0,r1 native 2>&1); then
		echo native
		return 0
	fi
	echo "# XDP native on veth failed: $out; trying generic" >&2
	out=$(in_ns $R "$SLUICECTL" -p $PIN load r0,r1 generic 2>&1) && echo generic && return 0
	echo "# XDP generic failed too: $out" >&2
	return 1
}
