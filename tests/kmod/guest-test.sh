#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs inside the qemu guest (tests/kmod/run-qemu.sh) on Debian's kernel:
# sluice.ko's runtime test, then the XDP program's on the same kernel.
# The topology is 20-xdp-forward.t's: three namespaces (caller, relay,
# callee) joined by veth pairs, IPv4 and IPv6, a flow pair per family
# programmed in the relay with sluicectl. Through each path RTP sent both
# ways must arrive rewritten (from the relay's other leg, SSRC and
# sequence intact) with valid checksums, the relay's own sockets must see
# none of it, the statistics must match, a stranger's packets must stay
# with userspace and be counted, and a deleted flow must stop forwarding.
# The module must also refuse another ABI's handshake, unload safely with
# flows installed and traffic flowing, load again, and leave no warning
# in the kernel log. TAP, with the plan at the end.
. /sluice/tests/kmod/guest-lib.sh

# Nothing to skip in the guest: what cannot be set up has failed.
skip_all() {
	ok 1 "$*"
	finish
	exit 1
}

finish() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}

N=50

# ---- the guest and the module ----

kernel_log_clean() {	# kernel_log_clean WHAT: no warning, oops or lockdep splat
	local bad
	bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|refcount_t|list_(add|del) corruption')
	is "$bad" "" "no kernel warning or oops $*"
}

insmod $MODS/veth.ko
ok $? "veth.ko loads into $(uname -r)"
san=
[ "$SLUICE_SAN" = 1 ] && san=", built with ASan/UBSan"
echo "# guest: $(uname -r), $(nproc) CPUs, $("$SLUICECTL" -V)$san"
abi=$("$SLUICECTL" -V | sed -n 's/.*(ABI \([0-9]*\)).*/\1/p')
insmod $MODS/sluice.ko
ok $? "sluice.ko loads"
like "$(dmesg | grep 'sluice: ABI')" "sluice: ABI $abi, [0-9]+ flows per namespace, hook at PRE_ROUTING" \
	"dmesg shows the module loaded, of sluicectl's ABI $abi"

# ---- three namespaces, as 20-xdp-forward.t builds them ----

build_topology
ok $? "three namespaces joined by veth pairs, neighbours resolved (IPv4, IPv6)" ||
	skip_all "cannot build the namespaces"

# ---- forwarding checks, the same for both paths ----

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
	in_ns $sns "$RTPIO" ${KIND:-send} $src $dst $N $ssrc 2000 >/dev/null
	wait $rx "${sinks[@]}"
}

check_rx() {	# check_rx PATH NAME FROM SSRC
	local rx
	rx=$(cat $TMP/$2.rx)
	like "$rx" "frames $N sock $N " "$1 $2: all $N packets arrive, at the wire and at the socket"
	like "$rx" "bad_ip_csum 0 bad_udp_csum 0 zero_udp_csum 0 " "$1 $2: IP and UDP checksums valid"
	like "$rx" "from $(re_quote "$3") ssrc $4 first_seq 1000 last_seq $((1000 + N - 1))" \
		"$1 $2: rewritten to come from the relay's other leg, SSRC and sequence intact"
}

add_flows() {
	ctl flow add 10.77.1.1:30000 from 10.77.1.2:40000 via 10.77.2.1:30002 to 10.77.2.2:50000 rtp clock 8000 &&
	ctl flow add 10.77.2.1:30002 from 10.77.2.2:50000 via 10.77.1.1:30000 to 10.77.1.2:40000 rtp clock 8000 &&
	ctl flow add [fd77:1::1]:31000 from [fd77:1::2]:41000 via [fd77:2::1]:31002 to [fd77:2::2]:51000 rtp &&
	ctl flow add [fd77:2::1]:31002 from [fd77:2::2]:51000 via [fd77:1::1]:31000 to [fd77:1::2]:41000 rtp
}

forward_checks() {	# forward_checks PATH
	local p=$1 list verdicts out
	add_flows
	ok $? "$p: sluicectl ${CTL[*]} programs two IPv4 and two IPv6 flows"
	out=$(ctl flow add 10.77.1.1:30000 from 10.77.1.2 via x to y 2>&1)
	ok $([ $? -eq 2 ]; echo $?) "$p: a malformed flow is refused: $out"

	run_dir a2b $C 10.77.1.2:40000 10.77.1.1:30000 $E e0 10.77.2.2:50000 0xa11ce 10.77.1.1:30000
	check_rx $p a2b 10.77.2.1:30002 0x000a11ce
	is "$(tail -1 $TMP/a2b.sink.0)" "sock 0" "$p a2b: the relay's socket saw none of it"
	run_dir b2a $E 10.77.2.2:50000 10.77.2.1:30002 $C c0 10.77.1.2:40000 0xb0b 10.77.2.1:30002
	check_rx $p b2a 10.77.1.1:30000 0x00000b0b
	is "$(tail -1 $TMP/b2a.sink.0)" "sock 0" "$p b2a: the relay's socket saw none of it"
	run_dir v6a2b $C [fd77:1::2]:41000 [fd77:1::1]:31000 $E e0 [fd77:2::2]:51000 0x66 [fd77:1::1]:31000
	check_rx $p v6a2b [fd77:2::1]:31002 0x00000066
	is "$(tail -1 $TMP/v6a2b.sink.0)" "sock 0" "$p v6a2b: the relay's socket saw none of it"
	run_dir v6b2a $E [fd77:2::2]:51000 [fd77:2::1]:31002 $C c0 [fd77:1::2]:41000 0x67 [fd77:2::1]:31002
	check_rx $p v6b2a [fd77:1::1]:31000 0x00000067
	is "$(tail -1 $TMP/v6b2a.sink.0)" "sock 0" "$p v6b2a: the relay's socket saw none of it"

	list=$(ctl flow list)
	like "$list" "^10\.77\.1\.1:30000 from 10\.77\.1\.2:40000 via 10\.77\.2\.1:30002 to 10\.77\.2\.2:50000 rtp clock 8000: packets $N bytes $((N * 172)) ssrc 0x000a11ce expected $N received $N lost 0 jitter [0-9.]+ ms$" \
		"$p flow list: a2b counted $N packets, $((N * 172)) bytes, no loss"
	like "$list" "^10\.77\.2\.1:30002 .*: packets $N bytes $((N * 172)) ssrc 0x00000b0b expected $N received $N lost 0 " \
		"$p flow list: b2a statistics match"
	like "$list" "^\[fd77:1::1\]:31000 .*: packets $N bytes $((N * 172)) ssrc 0x00000066 expected $N received $N lost 0$" \
		"$p flow list: IPv6 a2b statistics match"
	like "$list" "^\[fd77:2::1\]:31002 .*: packets $N bytes $((N * 172)) ssrc 0x00000067 expected $N received $N lost 0$" \
		"$p flow list: IPv6 b2a statistics match"
	like "$list" "^4 flows$" "$p flow list: four flows"

	# A stranger sends to the relay's port: not forwarded, left to userspace.
	run_dir stranger $C 10.77.1.2:40001 10.77.1.1:30000 $E e0 10.77.2.2:50000 0xbad 10.77.1.1:30000
	like "$(cat $TMP/stranger.rx)" "^frames 0 sock 0 " "$p: a stranger's packets do not reach the callee"
	is "$(tail -1 $TMP/stranger.sink.0)" "sock $N" "$p: they reach the relay's own socket instead"
	verdicts=$(ctl verdicts)
	like "$verdicts" "^redirect +$((4 * N)) packets" "$p verdicts: $((4 * N)) redirected"
	like "$verdicts" "^pass_wrong_src +$N packets" "$p verdicts: the stranger's $N counted as wrong source"

	# A flow update keeps the counters (re-INVITE); a delete stops forwarding.
	ctl flow add 10.77.1.1:30000 from 10.77.1.2:40001 via 10.77.2.1:30002 to 10.77.2.2:50000 rtp clock 8000
	like "$(ctl flow list)" "^10\.77\.1\.1:30000 from 10\.77\.1\.2:40001 .*: packets $N " \
		"$p: re-latching the flow keeps its statistics"
	ctl flow del 10.77.1.1:30000
	like "$(ctl flow list)" "^3 flows$" "$p: flow del removes the flow"
	out=$(ctl flow del 10.77.1.1:30000 2>&1)
	like "$out" "no such flow" "$p: deleting it again says so"
	run_dir deleted $C 10.77.1.2:40001 10.77.1.1:30000 $E e0 10.77.2.2:50000 0xde1 10.77.1.1:30000
	like "$(cat $TMP/deleted.rx)" "^frames 0 sock 0 " "$p: once deleted, the flow forwards nothing"
	is "$(tail -1 $TMP/deleted.sink.0)" "sock $N" "$p: its packets reach the relay's own socket"
	like "$(ctl verdicts)" "^pass_miss +$N packets" "$p verdicts: counted as a miss"
}

# rtcp-mux demux (RFC 5761): a caller that muxes RTCP on its RTP port, a
# callee with RTCP on the port above. The RTP flow hands muxed RTCP to the
# flow keyed rtcp-mux on the same port, which sends it to the callee's
# RTCP port from the relay's RTCP port; RTP stays on its own flow.
demux_checks() {	# demux_checks PATH
	local p=$1 list
	ctl flow add 10.77.1.1:30010 from 10.77.1.2:40010 via 10.77.2.1:30012 to 10.77.2.2:50010 rtp demux clock 8000 &&
	ctl flow add 10.77.1.1:30010 rtcp-mux from 10.77.1.2:40010 via 10.77.2.1:30013 to 10.77.2.2:50011 rtcp
	ok $? "$p: a demultiplexing RTP flow and its rtcp-mux flow"
	KIND=rtcp run_dir mux $C 10.77.1.2:40010 10.77.1.1:30010 $E e0 10.77.2.2:50011 0x5eed 10.77.1.1:30010
	like "$(cat $TMP/mux.rx)" "^frames $N sock $N bad_ip_csum 0 bad_udp_csum 0 zero_udp_csum 0 from 10\.77\.2\.1:30013 .* rtcp $N$" \
		"$p demux: muxed RTCP reaches the callee's RTCP port from the relay's, checksums valid"
	is "$(tail -1 $TMP/mux.sink.0)" "sock 0" "$p demux: the relay's socket saw none of it"
	run_dir muxrtp $C 10.77.1.2:40010 10.77.1.1:30010 $E e0 10.77.2.2:50010 0x5eed 10.77.1.1:30010
	like "$(cat $TMP/muxrtp.rx)" "^frames $N sock $N .*from 10\.77\.2\.1:30012 .* rtcp 0$" \
		"$p demux: RTP on the same port goes to the callee's RTP port"
	list=$(ctl flow list)
	like "$list" "^10\.77\.1\.1:30010 from .* rtp demux clock 8000: packets $N .* received $N lost 0" \
		"$p demux: the RTP flow counted the RTP only"
	like "$list" "^10\.77\.1\.1:30010 rtcp-mux from .* rtcp: packets $N " \
		"$p demux: the rtcp-mux flow counted the RTCP"
	ctl flow del 10.77.1.1:30010 rtcp-mux && ctl flow del 10.77.1.1:30010
	ok $? "$p demux: both flows deleted by their keys"
}

# ---- the kernel module ----

like "$(ctl hello)" "^sluice.ko accepts ABI $abi$" "the handshake of sluicectl's ABI is accepted"
out=$(ctl hello $((abi + 1)) 2>&1)
rc=$?
like "$out" "handshake with sluice.ko: Protocol error: sluice: request and module differ in ABI version" \
	"a handshake of another ABI is refused, with the module's reason"
ok $([ $rc -eq 1 ]; echo $?) "and sluicectl exits 1"
like "$(dmesg | grep 'refusing a request')" "refusing a request of ABI $((abi + 1)): this module is ABI $abi" \
	"the module logs the refusal with both versions"

forward_checks kmod
demux_checks kmod

# Unloading with flows installed, while one of them forwards.
# nsenter execs rtpio, so that $! is the sender itself (in_ns would be a subshell).
nsenter --net=/run/netns/$E "$RTPIO" send [fd77:2::2]:51000 [fd77:2::1]:31002 100000 0x10ad \
	20000 >/dev/null 2>&1 &
sender=$!
sleep 1
like "$(ctl flow list)" "^\[fd77:2::1\]:31002 .*: packets [1-9][0-9]+ " "kmod: a flow forwards a stream flat out"
rmmod sluice
ok $? "rmmod with 3 flows installed and one forwarding succeeds"
sleep 0.5
kill $sender 2>/dev/null
wait $sender 2>/dev/null
like "$(dmesg | tail -5)" "sluice: unloaded" "dmesg says the module unloaded"
out=$(ctl flow list 2>&1)
like "$out" "sluice.ko is not loaded" "sluicectl -k says the module is gone"
insmod $MODS/sluice.ko
ok $? "sluice.ko loads again"
like "$(ctl flow list)" "^0 flows$" "the new module starts with no flows"
ctl flow add 10.77.1.1:30000 from 10.77.1.2:40000 via 10.77.2.1:30002 to 10.77.2.2:50000 rtp clock 8000
run_dir again $C 10.77.1.2:40000 10.77.1.1:30000 $E e0 10.77.2.2:50000 0xa9a 10.77.1.1:30000
check_rx kmod again 10.77.2.1:30002 0x00000a9a

# sluiced itself on the module: datapath = kmod adopts the flow it finds
# and puts its nftables table in, which a handover leaves and a clean stop
# removes.
for m in $(cat $MODS/nft.order); do insmod $MODS/$m || echo "# insmod $m failed"; done
cat >/tmp/kmod.conf <<CONF
[sip]
listen = off
[media]
interface = r0, r1
address = 10.77.1.1
ports = 30100-30199
datapath = kmod
[store]
db = /tmp/kmod.db
[mml]
listen = off
[control]
ng = off
rtpproxy = off
CONF
start_sluiced() {
	nsenter --net=/run/netns/$R /sluice/bin/sluiced -c /tmp/kmod.conf >/tmp/sluiced.log 2>&1 &
	spid=$!
	for i in $(seq 100); do grep -q "running\|cannot" /tmp/sluiced.log && break; sleep 0.1; done
	grep "\[dp\]" /tmp/sluiced.log | sed "s/^/# sluiced: /"
}
start_sluiced
like "$(cat /tmp/sluiced.log)" "\[dp\] using kernel module sluice.ko \(ABI $abi, 1 flows adopted\) \(datapath = kmod\)" \
	"sluiced with datapath = kmod opens the module and adopts its flow"
like "$(cat /tmp/sluiced.log)" "sluiced .* running \(data path: kernel module" "... and runs on it"
like "$(cat /tmp/sluiced.log)" "\[dp\] nftables: table inet sluice installed \(notrack udp 30100-30199" \
	"... with its nftables table"
like "$(in_ns $R nft list table inet sluice 2>&1)" "udp dport 30100-30199 notrack" \
	"nft shows the media ports untracked"
kill -USR2 $spid
wait $spid
ok $? "SIGUSR2: sluiced hands over and exits 0 (no sanitizer report)" || diag "$(tail -5 /tmp/sluiced.log)"
like "$(ctl flow list)" "^1 flow$" "its flow stays in the module for the next sluiced"
is "$(in_ns $R nft list table inet sluice 2>/dev/null | grep -c notrack)" 2 "... and its table, once"
start_sluiced
kill -TERM $spid
wait $spid
ok $? "the next sluiced adopts and stops cleanly" || diag "$(tail -5 /tmp/sluiced.log)"
in_ns $R nft list table inet sluice >/dev/null 2>&1
ok $([ $? -ne 0 ]; echo $?) "a clean stop removes the table"
like "$(ctl flow list)" "^0 flows$" "... and the flow"
ctl flow add 10.77.1.1:30000 from 10.77.1.2:40000 via 10.77.2.1:30002 to 10.77.2.2:50000 rtp clock 8000

# A namespace that goes away with flows in it takes them along.
netns_add slx
in_ns slx "$SLUICECTL" -k flow add 10.9.9.9:1000 from 10.9.9.8:1000 via 10.9.9.9:1002 to 10.9.9.7:1000
ok $? "a fourth namespace gets flows of its own"
like "$(in_ns slx "$SLUICECTL" -k flow list)" "^1 flow$" "and sees only those"
ip netns del slx
sleep 1
rmmod sluice
ok $? "a namespace deleted with flows in it, then rmmod with a flow installed: safe"
kernel_log_clean "after the module's part"

# ---- the XDP program on the same kernel ----

CTL=(-p $PIN)
mode=$(xdp_load)
ok $([ -n "$mode" ]; echo $?) "sluicectl load attaches XDP (${mode:-neither native nor generic}) to both legs"
like "$(ip -n $R link show r0)" "prog/xdp id|xdpgeneric" "r0 carries the XDP program"
forward_checks xdp-$mode
demux_checks xdp-$mode
out=$(ctl unload)
like "$out" "^detached 2 links" "xdp: unload detaches both links"
ok $([ ! -e $PIN ]; echo $?) "xdp: and removes the pins"
kernel_log_clean "after the XDP part"
finish
