# SPDX-License-Identifier: GPL-2.0-only
# What the guest's scripts (guest-test.sh, guest-bench.sh) share, on top of
# tests/lib.sh: the three namespaces of 20-xdp-forward.t and sluicectl in
# the relay, through the module (CTL=(-k)) or the XDP maps (CTL=(-p PIN)).
. /sluice/tests/lib.sh

C=slc R=slr E=sle
PIN=/sys/fs/bpf/sluice-g
MODS=/sluice/modules
CTL=(-k)

ctl() { in_ns $R "$SLUICECTL" "${CTL[@]}" "$@"; }

# caller c0 <-> r0 relay r1 <-> e0 callee, IPv4 and IPv6. 1 when any step fails.
build_topology() {
	netns_add $C
	netns_add $R
	netns_add $E
	veth_link $C c0 10.77.1.2/24 $R r0 10.77.1.1/24 || return 1
	veth_link $R r1 10.77.2.1/24 $E e0 10.77.2.2/24 || return 1
	addr6 $C c0 fd77:1::2/64
	addr6 $R r0 fd77:1::1/64
	addr6 $R r1 fd77:2::1/64
	addr6 $E e0 fd77:2::2/64
	in_ns $R sysctl -qw net.ipv4.conf.all.forwarding=1
	in_ns $R sysctl -qw net.ipv6.conf.all.forwarding=1
	# As in 20-xdp-forward.t: GRO on the phones' side (XDP redirects into
	# a veth need NAPI on its peer), and real UDP checksums from their
	# sockets.
	in_ns $C ethtool -K c0 gro on tx off >/dev/null
	in_ns $E ethtool -K e0 gro on tx off >/dev/null
	# Neighbours resolved, so the FIB can answer from the first packet.
	in_ns $R ping -c1 -W2 10.77.1.2 >/dev/null &&
	in_ns $R ping -c1 -W2 10.77.2.2 >/dev/null &&
	in_ns $R ping -6 -c1 -W2 fd77:1::2 >/dev/null &&
	in_ns $R ping -6 -c1 -W2 fd77:2::2 >/dev/null
}

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
