#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The XDP program forwarding a call's RTP: three namespaces (caller, relay,
# callee) joined by veth pairs, the program attached in the relay with
# sluicectl, a flow pair per family programmed with sluicectl. RTP sent both
# ways must arrive rewritten (source = the relay's other leg) with valid
# checksums, the relay's own sockets must see none of it, the kernel's
# statistics must match, and a stranger's packets must not be forwarded.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip ethtool nsenter
[ -x "$SLUICECTL" ] && [ -x "$RTPIO" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"

N=50
C=slc$$ R=slr$$ E=sle$$
PIN=/sys/fs/bpf/sluice-test-$$
netns_add $C
netns_add $R
netns_add $E
veth_link $C c0 10.77.1.2/24 $R r0 10.77.1.1/24 || skip_all "cannot create veth pairs"
veth_link $R r1 10.77.2.1/24 $E e0 10.77.2.2/24
addr6 $C c0 fd77:1::2/64
addr6 $R r0 fd77:1::1/64
addr6 $R r1 fd77:2::1/64
addr6 $E e0 fd77:2::2/64
in_ns $R sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1
# Frames redirected into a veth vanish unless its peer runs NAPI (GRO or XDP).
# And a veth offloads the UDP checksum to nobody: a sender's frames carry
# only the pseudo-header sum, which a physical wire never does. Make the
# phones send what a real NIC would.
in_ns $C ethtool -K c0 gro on tx off >/dev/null
in_ns $E ethtool -K e0 gro on tx off >/dev/null
# Neighbours resolved, so the FIB can answer from the first packet.
in_ns $R ping -c1 -W1 10.77.1.2 >/dev/null
in_ns $R ping -c1 -W1 10.77.2.2 >/dev/null
in_ns $R ping -6 -c1 -W1 fd77:1::2 >/dev/null
in_ns $R ping -6 -c1 -W1 fd77:2::2 >/dev/null

ctl() { in_ns $R "$SLUICECTL" -p $PIN "$@"; }
cleanup_add "'$SLUICECTL' -p $PIN unload"

out=$(ctl load r0,r1 native 2>&1) || skip_all "XDP native cannot attach here: $out"
plan 33
like "$out" "^XDP native on r0,r1, pinned in $PIN" "sluicectl load attaches natively to both legs"
like "$(ip -n $R link show r0)" "prog/xdp id" "r0 carries the XDP program"
ok $([ -e $PIN/flows ] && [ -e $PIN/link_r0 ] && [ -e $PIN/link_r1 ]; echo $?) \
	"maps and links are pinned under $PIN"

ctl flow add 10.77.1.1:30000 from 10.77.1.2:40000 via 10.77.2.1:30002 to 10.77.2.2:50000 rtp clock 8000 &&
ctl flow add 10.77.2.1:30002 from 10.77.2.2:50000 via 10.77.1.1:30000 to 10.77.1.2:40000 rtp clock 8000 &&
ctl flow add [fd77:1::1]:31000 from [fd77:1::2]:41000 via [fd77:2::1]:31002 to [fd77:2::2]:51000 rtp &&
ctl flow add [fd77:2::1]:31002 from [fd77:2::2]:51000 via [fd77:1::1]:31000 to [fd77:1::2]:41000 rtp
ok $? "sluicectl programs two IPv4 and two IPv6 flows"
bad=$(ctl flow add 10.77.1.1:30000 from 10.77.1.2 via x to y 2>&1)
ok $([ $? -eq 2 ]; echo $?) "a malformed flow is refused: $bad"

# One direction: receiver (checker) in the far namespace, the relay's own
# sockets bound on its ports, then the sender.
run_dir() {	# run_dir NAME SRC_NS SRC DST DST_NS DST_IF DST_EP SSRC RELAY_EP...
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
	in_ns $sns "$RTPIO" send $src $dst $N $ssrc 2000 >/dev/null
	wait $rx "${sinks[@]}"
}

check_rx() {	# check_rx NAME FROM SSRC
	local rx
	rx=$(cat $TMP/$1.rx)
	like "$rx" "frames $N sock $N " "$1: all $N packets arrive, at the wire and at the socket"
	like "$rx" "bad_ip_csum 0 bad_udp_csum 0 zero_udp_csum 0 " "$1: IP and UDP checksums valid"
	like "$rx" "from $(re_quote "$2") ssrc $3 first_seq 1000 last_seq $((1000 + N - 1))" \
		"$1: rewritten to come from the relay's other leg, payload intact"
}

run_dir a2b $C 10.77.1.2:40000 10.77.1.1:30000 $E e0 10.77.2.2:50000 0xa11ce 10.77.1.1:30000
check_rx a2b 10.77.2.1:30002 0x000a11ce
is "$(tail -1 $TMP/a2b.sink.0)" "sock 0" "a2b: the relay's socket saw none of it"

run_dir b2a $E 10.77.2.2:50000 10.77.2.1:30002 $C c0 10.77.1.2:40000 0xb0b 10.77.2.1:30002
check_rx b2a 10.77.1.1:30000 0x00000b0b
is "$(tail -1 $TMP/b2a.sink.0)" "sock 0" "b2a: the relay's socket saw none of it"

run_dir v6a2b $C [fd77:1::2]:41000 [fd77:1::1]:31000 $E e0 [fd77:2::2]:51000 0x66 [fd77:1::1]:31000
check_rx v6a2b [fd77:2::1]:31002 0x00000066
run_dir v6b2a $E [fd77:2::2]:51000 [fd77:2::1]:31002 $C c0 [fd77:1::2]:41000 0x67 [fd77:2::1]:31002
check_rx v6b2a [fd77:1::1]:31000 0x00000067

list=$(ctl flow list)
like "$list" "^10\.77\.1\.1:30000 from 10\.77\.1\.2:40000 via 10\.77\.2\.1:30002 to 10\.77\.2\.2:50000 rtp clock 8000: packets $N bytes $((N * 172)) ssrc 0x000a11ce expected $N received $N lost 0 jitter [0-9.]+ ms$" \
	"flow list: a2b counted $N packets, $((N * 172)) bytes, no loss"
like "$list" "^10\.77\.2\.1:30002 .*: packets $N bytes $((N * 172)) ssrc 0x00000b0b expected $N received $N lost 0 " \
	"flow list: b2a statistics match"
like "$list" "^\[fd77:1::1\]:31000 .*: packets $N .* ssrc 0x00000066 expected $N received $N lost 0$" \
	"flow list: IPv6 statistics match"
like "$list" "^4 flows$" "flow list: four flows"

# A stranger sends to the relay's port: not forwarded, left to userspace.
run_dir stranger $C 10.77.1.2:40001 10.77.1.1:30000 $E e0 10.77.2.2:50000 0xbad 10.77.1.1:30000
like "$(cat $TMP/stranger.rx)" "^frames 0 sock 0 " "a stranger's packets do not reach the callee"
is "$(tail -1 $TMP/stranger.sink.0)" "sock $N" "they reach the relay's own socket instead"

verdicts=$(ctl verdicts)
like "$verdicts" "^redirect +$((4 * N)) packets" "verdicts: $((4 * N)) redirected"
like "$verdicts" "^pass_wrong_src +$N packets" "verdicts: the stranger's $N counted as wrong source"

# A flow update keeps the counters (re-INVITE), a delete removes them.
ctl flow add 10.77.1.1:30000 from 10.77.1.2:40001 via 10.77.2.1:30002 to 10.77.2.2:50000 rtp clock 8000
like "$(ctl flow list)" "^10\.77\.1\.1:30000 from 10\.77\.1\.2:40001 .*: packets $N " \
	"re-latching the flow keeps its statistics"
ctl flow del 10.77.1.1:30000
like "$(ctl flow list)" "^3 flows$" "flow del removes the flow"
out=$(ctl flow del 10.77.1.1:30000 2>&1)
like "$out" "no such flow" "deleting it again says so"

out=$(ctl unload)
like "$out" "^detached 2 links" "unload detaches both links"
ok $([ ! -e $PIN ]; echo $?) "and removes the pins"
unlike_xdp=$(ip -n $R link show r0)
ok $(printf '%s' "$unlike_xdp" | grep -q xdp; [ $? -ne 0 ]; echo $?) "r0 has no XDP program any more"
done_testing
