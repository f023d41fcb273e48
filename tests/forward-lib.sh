# SPDX-License-Identifier: GPL-2.0-only
#
# What 20-xdp-forward.t and the kernel module's qemu guest
# (tests/kmod/guest-test.sh, to which run-qemu.sh copies this file) share:
# three namespaces, caller C, relay R and callee E, joined by veth pairs
# in IPv4 and IPv6; a flow pair per family programmed in the relay; and
# the checks that RTP through them arrives rewritten, with valid checksums
# and counted, that the relay's own sockets see none of it, and that a
# stranger's packets are not forwarded. Source after lib.sh; the script
# sets C, R, E and N (packets per direction) and defines ctl (sluicectl
# in R, on the path under test: the XDP maps or the module).

# fwd_namespaces: C (c0: 10.77.1.2, fd77:1::2), R (r0: 10.77.1.1,
# fd77:1::1; r1: 10.77.2.1, fd77:2::1; forwarding) and E (e0: 10.77.2.2,
# fd77:2::2). 1 when a veth pair cannot be made.
fwd_namespaces() {
	netns_add $C
	netns_add $R
	netns_add $E
	veth_link $C c0 10.77.1.2/24 $R r0 10.77.1.1/24 || return 1
	veth_link $R r1 10.77.2.1/24 $E e0 10.77.2.2/24 || return 1
	addr6 $C c0 fd77:1::2/64
	addr6 $R r0 fd77:1::1/64
	addr6 $R r1 fd77:2::1/64
	addr6 $E e0 fd77:2::2/64
	in_ns $R sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1
	# Frames redirected into a veth vanish unless its peer runs NAPI (GRO
	# or XDP). And a veth offloads the UDP checksum to nobody: a sender's
	# frames carry only the pseudo-header sum, which a physical wire never
	# does. Make the phones send what a real NIC would.
	in_ns $C ethtool -K c0 gro on tx off >/dev/null
	in_ns $E ethtool -K e0 gro on tx off >/dev/null
}

# fwd_neighbours: the relay's neighbours resolved, so that the FIB can
# answer from the first packet; 1 when a phone does not answer.
fwd_neighbours() {
	in_ns $R ping -c1 -W2 10.77.1.2 >/dev/null &&
	in_ns $R ping -c1 -W2 10.77.2.2 >/dev/null &&
	in_ns $R ping -6 -c1 -W2 fd77:1::2 >/dev/null &&
	in_ns $R ping -6 -c1 -W2 fd77:2::2 >/dev/null
}

# run_dir NAME SRC_NS SRC DST DST_NS DST_IF DST_EP SSRC RELAY_EP...: one
# direction, N packets: a receiver (checker) in the far namespace, the
# relay's own sockets bound on RELAY_EP..., then the sender (rtpio send,
# or $KIND). $TMP/NAME.rx holds what arrived, $TMP/NAME.sink.I what the
# relay's I-th socket saw.
run_dir() {
	local name=$1 sns=$2 src=$3 dst=$4 dns=$5 dif=$6 dep=$7 ssrc=$8
	shift 8
	in_ns $dns "$RTPIO" recv $dif $dep $N 1500 >$TMP/$name.rx &
	local rx=$!
	local sinks=() ep
	for ep in "$@"; do
		in_ns $R "$RTPIO" sink $ep 1200 >$TMP/$name.sink.${#sinks[@]} &
		sinks+=($!)
	done
	wait_for $TMP/$name.rx ready
	for ep in "${!sinks[@]}"; do wait_for $TMP/$name.sink.$ep ready; done
	in_ns $sns "$RTPIO" ${KIND:-send} $src $dst $N $ssrc 2000 >/dev/null
	wait $rx "${sinks[@]}"
}

# check_rx PATH NAME FROM SSRC: three checks on run_dir NAME's receiver;
# PATH (may be empty) names the data path in their descriptions.
check_rx() {
	local p=${1:+$1 } rx
	rx=$(cat $TMP/$2.rx)
	like "$rx" "frames $N sock $N " "$p$2: all $N packets arrive, at the wire and at the socket"
	like "$rx" "bad_ip_csum 0 bad_udp_csum 0 zero_udp_csum 0 " "$p$2: IP and UDP checksums valid"
	like "$rx" "from $(re_quote "$3") ssrc $4 first_seq 1000 last_seq $((1000 + N - 1))" \
		"$p$2: rewritten to come from the relay's other leg, SSRC and sequence intact"
}

# fwd_add_flows: a flow pair per family, caller to callee and back.
fwd_add_flows() {
	ctl flow add 10.77.1.1:30000 from 10.77.1.2:40000 via 10.77.2.1:30002 to 10.77.2.2:50000 rtp clock 8000 &&
	ctl flow add 10.77.2.1:30002 from 10.77.2.2:50000 via 10.77.1.1:30000 to 10.77.1.2:40000 rtp clock 8000 &&
	ctl flow add [fd77:1::1]:31000 from [fd77:1::2]:41000 via [fd77:2::1]:31002 to [fd77:2::2]:51000 rtp &&
	ctl flow add [fd77:2::1]:31002 from [fd77:2::2]:51000 via [fd77:1::1]:31000 to [fd77:1::2]:41000 rtp
}

# fwd_checks [PATH]: 27 checks (PATH, if given, names the data path in
# their descriptions) on a relay whose path is loaded and holds no flow: fwd_add_flows, then RTP both ways in both families, the flow
# list's statistics, a stranger's packets, the verdicts, a flow updated,
# deleted and deleted again (10.77.1.1:30000: three flows are left).
fwd_checks() {
	local path=$1 p=${1:+$1 } c=${1:+$1: } list verdicts out
	fwd_add_flows
	ok $? "${c}sluicectl programs two IPv4 and two IPv6 flows"
	out=$(ctl flow add 10.77.1.1:30000 from 10.77.1.2 via x to y 2>&1)
	ok $([ $? -eq 2 ]; echo $?) "${c}a malformed flow is refused: $out"

	run_dir a2b $C 10.77.1.2:40000 10.77.1.1:30000 $E e0 10.77.2.2:50000 0xa11ce 10.77.1.1:30000
	check_rx "$path" a2b 10.77.2.1:30002 0x000a11ce
	is "$(tail -1 $TMP/a2b.sink.0)" "sock 0" "${p}a2b: the relay's socket saw none of it"
	run_dir b2a $E 10.77.2.2:50000 10.77.2.1:30002 $C c0 10.77.1.2:40000 0xb0b 10.77.2.1:30002
	check_rx "$path" b2a 10.77.1.1:30000 0x00000b0b
	is "$(tail -1 $TMP/b2a.sink.0)" "sock 0" "${p}b2a: the relay's socket saw none of it"
	run_dir v6a2b $C [fd77:1::2]:41000 [fd77:1::1]:31000 $E e0 [fd77:2::2]:51000 0x66 [fd77:1::1]:31000
	check_rx "$path" v6a2b [fd77:2::1]:31002 0x00000066
	run_dir v6b2a $E [fd77:2::2]:51000 [fd77:2::1]:31002 $C c0 [fd77:1::2]:41000 0x67 [fd77:2::1]:31002
	check_rx "$path" v6b2a [fd77:1::1]:31000 0x00000067

	list=$(ctl flow list)
	like "$list" "^10\.77\.1\.1:30000 from 10\.77\.1\.2:40000 via 10\.77\.2\.1:30002 to 10\.77\.2\.2:50000 rtp clock 8000: packets $N bytes $((N * 172)) ssrc 0x000a11ce expected $N received $N lost 0 jitter [0-9.]+ ms$" \
		"${p}flow list: a2b counted $N packets, $((N * 172)) bytes, no loss"
	like "$list" "^10\.77\.2\.1:30002 .*: packets $N bytes $((N * 172)) ssrc 0x00000b0b expected $N received $N lost 0 " \
		"${p}flow list: b2a statistics match"
	like "$list" "^\[fd77:1::1\]:31000 .*: packets $N bytes $((N * 172)) ssrc 0x00000066 expected $N received $N lost 0$" \
		"${p}flow list: IPv6 a2b statistics match"
	like "$list" "^4 flows$" "${p}flow list: four flows"

	# A stranger sends to the relay's port: not forwarded, left to userspace.
	run_dir stranger $C 10.77.1.2:40001 10.77.1.1:30000 $E e0 10.77.2.2:50000 0xbad 10.77.1.1:30000
	like "$(cat $TMP/stranger.rx)" "^frames 0 sock 0 " "${c}a stranger's packets do not reach the callee"
	is "$(tail -1 $TMP/stranger.sink.0)" "sock $N" "${c}they reach the relay's own socket instead"
	verdicts=$(ctl verdicts)
	like "$verdicts" "^redirect +$((4 * N)) packets" "${p}verdicts: $((4 * N)) redirected"
	like "$verdicts" "^pass_wrong_src +$N packets" "${p}verdicts: the stranger's $N counted as wrong source"

	# A flow update keeps the counters (re-INVITE), a delete removes them.
	ctl flow add 10.77.1.1:30000 from 10.77.1.2:40001 via 10.77.2.1:30002 to 10.77.2.2:50000 rtp clock 8000
	like "$(ctl flow list)" "^10\.77\.1\.1:30000 from 10\.77\.1\.2:40001 .*: packets $N " \
		"${c}re-latching the flow keeps its statistics"
	ctl flow del 10.77.1.1:30000
	like "$(ctl flow list)" "^3 flows$" "${c}flow del removes the flow"
	out=$(ctl flow del 10.77.1.1:30000 2>&1)
	like "$out" "no such flow" "${c}deleting it again says so"
}
