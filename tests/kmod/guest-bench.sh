#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs inside the qemu guest (tests/kmod/run-qemu.sh bench; make
# bench-kmod): how many packets per second each forwarding path of the
# relay carries on Debian's kernel, with one rtpio sender in the caller's
# namespace sending BENCH_COUNT RTP packets as fast as its socket goes.
# Forwarded packets are counted at the callee's interface (e0's received
# packets, from /proc/net/dev in its namespace), a sink bound there so
# that the stack has a socket for them; each figure is that count over
# the sender's run time, the median of BENCH_RUNS runs. The paths:
#
#   kernel forwarding  plain IP forwarding in the relay, no rewrite, no
#                      sluice: the guest's baseline
#   sluice.ko          the module's netfilter hook, one flow
#   XDP native/generic the XDP program, the same flow in its maps
#
# Under emulation the figures compare the paths on this guest, not
# machines: the emulated CPU is many times slower than the host's, and the
# sender shares its two vCPUs with the relay.
. /sluice/tests/kmod/guest-lib.sh

COUNT=${SLUICE_BENCH_COUNT:-50000}
RUNS=${SLUICE_BENCH_RUNS:-3}
FLOW="10.77.1.1:30000 from 10.77.1.2:40000 via 10.77.2.1:30002 to 10.77.2.2:50000 rtp clock 8000"

fail() {
	echo "guest-bench: $*"
	exit 1
}

e0_rx() {
	in_ns $E cat /proc/net/dev | awk -F'[: ]+' '$2 == "e0" { print $4 }'
}

# trial DST: prints "forwarded_pps sent_pps" for one run of the sender.
trial() {
	local dst=$1 before after t0 t1
	in_ns $E "$RTPIO" sink 10.77.2.2:50000 1000 >$TMP/sink &
	local sink=$!
	wait_for $TMP/sink ready
	before=$(e0_rx)
	t0=$EPOCHREALTIME
	in_ns $C "$RTPIO" send 10.77.1.2:40000 $dst $COUNT 0x5eed >/dev/null
	t1=$EPOCHREALTIME
	wait $sink
	after=$(e0_rx)
	awk -v n=$((after - before)) -v c=$COUNT -v t0=$t0 -v t1=$t1 \
		'BEGIN { printf "%d %d\n", n / (t1 - t0), c / (t1 - t0) }'
}

# measure NAME DST: the median run of RUNS, as "NAME|forwarded|sent|all runs".
measure() {
	local name=$1 dst=$2 i runs=()
	for ((i = 0; i < RUNS; i++)); do
		runs+=("$(trial $dst)")
	done
	printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p" |
		awk -v name="$name" -v all="$(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | tr '\n' ' ')" \
		'{ printf "%s|%d|%d|%s\n", name, $1, $2, all }'
}

insmod $MODS/veth.ko || fail "veth.ko does not load"
build_topology || fail "cannot build the namespaces"
# For the baseline the phones route through the relay themselves.
ip -n $C route add 10.77.2.0/24 via 10.77.1.1
ip -n $E route add 10.77.1.0/24 via 10.77.2.1

results=()
results+=("$(measure "kernel IP forwarding (no sluice, no rewrite)" 10.77.2.2:50000)")

insmod $MODS/sluice.ko || fail "sluice.ko does not load"
ctl flow add $FLOW || fail "sluicectl -k flow add"
results+=("$(measure "sluice.ko (netfilter hook)" 10.77.1.1:30000)")
ctl verdicts | grep -q '^redirect  *[1-9]' || fail "sluice.ko redirected nothing"
rmmod sluice

CTL=(-p $PIN)
for mode in native generic; do
	in_ns $R "$SLUICECTL" -p $PIN load r0,r1 $mode >/dev/null || {
		echo "# XDP $mode cannot attach here"
		continue
	}
	ctl flow add $FLOW || fail "sluicectl -p $PIN flow add"
	results+=("$(measure "sluice XDP $mode" 10.77.1.1:30000)")
	ctl verdicts | grep -q '^redirect  *[1-9]' || fail "XDP $mode redirected nothing"
	ctl unload >/dev/null
done

base=$(echo "${results[0]}" | cut -d'|' -f2)
kmod=$(echo "${results[1]}" | cut -d'|' -f2)
echo "| path (Debian $(uname -r), qemu, $(nproc) vCPUs) | forwarded pps, median of $RUNS | sender pps | vs kernel forwarding | vs sluice.ko | runs (pps) |"
echo "|---|---:|---:|---:|---:|---|"
for r in "${results[@]}"; do
	echo "$r" | awk -F'|' -v b=$base -v k=$kmod \
		'{ printf "| %s | %d | %d | %.2fx | %.2fx | %s|\n", $1, $2, $3, $2 / b, $2 / k, $4 }'
done
