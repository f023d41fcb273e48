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

# forward_checks PATH: tests/forward-lib.sh's fwd_checks (20-xdp-forward.t's),
# then what only the guest checks: the relay's socket in IPv6 too, the
# callee's IPv6 statistics, and a deleted flow forwarding nothing.
forward_checks() {	# forward_checks PATH
	local p=$1
	fwd_checks $p
	is "$(tail -1 $TMP/v6a2b.sink.0)" "sock 0" "$p v6a2b: the relay's socket saw none of it"
	is "$(tail -1 $TMP/v6b2a.sink.0)" "sock 0" "$p v6b2a: the relay's socket saw none of it"
	like "$(ctl flow list)" "^\[fd77:2::1\]:31002 .*: packets $N bytes $((N * 172)) ssrc 0x00000067 expected $N received $N lost 0$" \
		"$p flow list: IPv6 b2a statistics match"
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
sluice_conf /tmp/kmod.conf \
	sip.listen=off \
	media.interface="r0, r1" media.address=10.77.1.1 media.ports=30100-30199 media.datapath=kmod \
	store.db=/tmp/kmod.db mml.listen=off
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
