#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The data-plane benchmark (make bench). Three namespaces: a generator, the
# relay, a sink, joined by veth pairs. bench.bpf.c's generator offers
# 214-byte RTP frames round-robin over the flows; its sink counts what
# arrives. For each path through the relay:
#
#   kernel forwarding  plain IPv4 routing, no rewrite: the reference
#   XDP native/generic sluice's program, flows installed with sluicectl
#   reference relay    ref.bpf.c, the least an XDP relay does per packet
#                      (parse, one lookup, rewrite, transmit), loaded the
#                      same way (refrelay), with the same flows, each run
#                      in turn with sluice_xdp's
#   rtpengine          Debian's rtpengine-daemon, userspace only (--table=-1),
#                      calls set up through its NG socket
#
# it finds the highest offered rate forwarded with under 0.1% loss
# (bisection over 1-second trials), and the relay's CPU time per packet
# over 4 seconds at 50,000 pps. For the kernel paths (XDP, the reference
# relay, IP forwarding) that is the time spent in the NAPI polls of the
# relay namespace's veths, where they do all their work (bench.bpf.c's
# tracepoint programs, loaded by rtpgen): no other process's time is in
# it. For the userspace relays, whose work runs in their processes too,
# it is that and their threads' time on a CPU (schedstat). The machine's
# busy time (all cores, /proc/stat, steal excluded) per packet, minus
# the same measured just before for a baseline where the generator sends
# to the sink over a direct veth, is in the log beside it: it was the
# figure until 2026-12-06, and any other process's work moves it. For the XDP paths,
# a 2-second trial with kernel.bpf_stats_enabled (off for the rest: it
# costs every run two clock reads) gives the program's own run time per
# packet. The generator is a socket sender on the same
# two cores, so on this machine it caps every path's lossless rate; the
# relay's CPU per packet is the figure that compares the relays, and
# 1e9 / it is what one core of relay would forward. Each measurement is
# repeated BENCH_REPS times; the table shows medians. Then the same with
# 100,000 installed flows (traffic still over 10,000 of them), and for
# sluice_xdp and the reference with a single flow. xdpcost then shows
# where sluice_xdp's time goes, one step left out at a time.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh

require_root
FLOWS=10000
BIG=100000
NSTREAMS=$FLOWS		# streams the generator sends over
RTPE_KEY=
OUT=${BENCH_OUT:-$TOP/build/bench/results.md}
. tests/bench/dataplane.sh

echo "# baseline: generator to sink over one veth, no relay" >&2
base=()
for ((i = 0; i < REPS; i++)); do base+=($(cpu 10.80.3.1 20000 s1 10.80.3.2:9000 | cut -d" " -f1)); done
BASE_NS=$(printf '%s\n' "${base[@]}" | median)
echo "  generator and sink: $BASE_NS ns/packet" >&2

echo "# kernel IP forwarding (reference)" >&2
measure kfwd $FLOWS 10.80.2.2 20000

# sluice_xdp and the reference relay (ref.bpf.c: parse, one lookup,
# rewrite, transmit), each with 1, FLOWS and BIG flows installed, traffic
# over at most FLOWS of them. For each run of a row the two are loaded in
# turn, the one to go first swapped every run, so that the machine's drift
# over the minutes of a row weighs on both alike: measured one after the
# other, minutes apart, the ratio moved by a third between runs.
REF=$TOP/build/bench/refrelay
SINK_MAC=$(mac $S s0)

sluice_run() {	# sluice_run MODE N: sluice_xdp with N flows installed, one run
	in_ns $R "$SLUICECTL" -p $PIN load r0,r1 $1 >/dev/null
	sluice_flows $(($2 < FLOWS ? $2 : FLOWS)) $(($2 > FLOWS ? $2 - FLOWS : 0)) |
		in_ns $R "$SLUICECTL" -p $PIN flow add - >/dev/null
	rep xdp-$1 $2 10.80.1.1 20000
	in_ns $R "$SLUICECTL" -p $PIN unload >/dev/null
}

ref_run() {	# ref_run MODE N: the reference relay with N flows installed, one run
	in_ns $R "$REF" load r0 r1 $1 $2 10.80.1.2:9000 10.80.1.1 20000 10.80.2.1 \
		10.80.2.2 $SINK_MAC >/dev/null
	rep ref-$1 $2 10.80.1.1 20000
	in_ns $R "$REF" unload r0 r1
}

for mode in native generic; do
	for n in 1 $FLOWS $BIG; do
		echo "# sluice XDP $mode and the reference relay in turn, $n flows" >&2
		NSTREAMS=$((n < FLOWS ? n : FLOWS))
		for ((i = 0; i < REPS; i++)); do
			if ((i % 2)); then
				ref_run $mode $n
				sluice_run $mode $n
			else
				sluice_run $mode $n
				ref_run $mode $n
			fi
		done
		settle xdp-$mode $n
		settle ref-$mode $n
	done
done
NSTREAMS=$FLOWS

# Where the program's time goes, step by step, without traffic.
echo "# sluice_xdp step by step (xdpcost)" >&2
COST1=$("$TOP/build/bench/xdpcost" 2 1 20000)
COSTN=$("$TOP/build/bench/xdpcost" $FLOWS $((FLOWS / 2)) 20000)

echo "# rtpengine (userspace)" >&2
# No XDP program may be left on the relay's interfaces: it would carry
# the userspace relays' traffic in their place.
if ip -n $R -d link show r0 | grep -q 'prog/xdp' || ip -n $R -d link show r1 | grep -q 'prog/xdp'; then
	echo "run.sh: an XDP program is still attached in the relay namespace" >&2
	exit 1
fi
if command -v rtpengine >/dev/null; then
	# A call is two flows (one per direction) and four sockets; the
	# open-file limit bounds how many calls rtpengine can hold here.
	ulimit -n "$(ulimit -Hn)"
	RTPE_CALLS=$(( ($(ulimit -n) - 500) / 4 ))
	[ $RTPE_CALLS -gt $((FLOWS / 2)) ] && RTPE_CALLS=$((FLOWS / 2))
	echo "  $RTPE_CALLS calls ($((2 * RTPE_CALLS)) flows; open files limited to $(ulimit -n))" >&2
	nsenter --net=/run/netns/$R rtpengine --config-file=none --foreground --log-stderr --log-level=3 \
		--interface=10.80.1.1 --listen-ng=127.0.0.1:22223 --port-min=20000 \
		--port-max=65000 --table=-1 --timeout=600 >$TMP/rtpengine.log 2>&1 &
	RTPE=$!
	cleanup_add "kill $RTPE"
	sleep 1
	if in_ns $R perl tests/bench/ngcalls.pl 127.0.0.1:22223 $RTPE_CALLS 10.80.1.2 9000 \
		10.80.2.2 20000 >$TMP/rtpe.ports; then
		# One slow pass so that rtpengine has seen every stream once.
		NSTREAMS=$RTPE_CALLS
		trial 10.80.1.1 @$TMP/rtpe.ports 20000 1 >/dev/null
		RELAY_PID=$RTPE measure rtpengine $((2 * RTPE_CALLS)) 10.80.1.1 @$TMP/rtpe.ports
		RTPE_KEY=rtpengine/$((2 * RTPE_CALLS))
	else
		echo "rtpengine: call setup failed, see $TMP/rtpengine.log" >&2
		cp $TMP/rtpengine.log build/bench/ 2>/dev/null
	fi
	kill $RTPE 2>/dev/null
	wait $RTPE 2>/dev/null
else
	echo "rtpengine not installed (make bench-deps)" >&2
fi

echo "# sluice userspace relay (datapath = user), calls through NG like rtpengine's" >&2
USER_KEY=
if [ -n "${RTPE_CALLS:-}" ]; then
	cat >$TMP/user.conf <<CONF
[media]
interface = r0
address = 10.80.1.1
ports = 20000-60000
datapath = user
timeout = 600
bpf_pin_dir = $PIN-user
[store]
db = $TMP/user.db
[control]
ng = 127.0.0.1:22225
rtpproxy = off
[log]
level = warn
CONF
	nsenter --net=/run/netns/$R "$TOP/agent/sluiced" -c $TMP/user.conf \
		>$TMP/sluiced-user.log 2>&1 &
	SUSER=$!
	cleanup_add "kill $SUSER"
	sleep 1
	if in_ns $R perl tests/bench/ngcalls.pl 127.0.0.1:22225 $RTPE_CALLS 10.80.1.2 9000 \
		10.80.2.2 20000 >$TMP/user.ports; then
		NSTREAMS=$RTPE_CALLS
		trial 10.80.1.1 @$TMP/user.ports 20000 1 >/dev/null
		RELAY_PID=$SUSER measure sluice-user $((2 * RTPE_CALLS)) 10.80.1.1 @$TMP/user.ports
		USER_KEY=sluice-user/$((2 * RTPE_CALLS))
	else
		echo "sluiced: call setup failed: $(tail -3 $TMP/sluiced-user.log)" >&2
	fi
	kill $SUSER 2>/dev/null
	wait $SUSER 2>/dev/null
fi

echo "# media sessions set up, offloaded and torn down per second (media API, XDP)" >&2
sess=()
nsess=$REPS
[ -x "$TOP/build/bench/sessions" ] || { echo "  no build/bench/sessions: make bench builds it" >&2; nsess=0; }
for ((i = 0; i < nsess; i++)); do
	r=$("$TOP/build/bench/sessions" 100000 2>/dev/null)
	echo "  $r" >&2
	sess+=("$(printf '%s\n' "$r" | awk '{ print $6, $8 }')")
done
SESS=$(printf '%s\n' "${sess[@]}" | sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }')

# The table, with ratios to rtpengine.
ref=${PPS[$RTPE_KEY]:-0}
refns=${NS[$RTPE_KEY]:-0}
{
	echo "| path | installed flows | forwarded pps, <0.1% loss | relay CPU ns / packet | relay pps per core | XDP program ns / packet | pps vs rtpengine | per core vs rtpengine |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for key in kfwd/$FLOWS xdp-native/$FLOWS xdp-generic/$FLOWS $RTPE_KEY $USER_KEY \
		   xdp-native/$BIG xdp-generic/$BIG; do
		[ -n "${PPS[$key]:-}" ] || continue
		awk -v name="${key%/*}" -v fl="${key#*/}" -v p=${PPS[$key]} -v n=${NS[$key]} \
		    -v prog="${PROG[$key]:--}" \
		    -v ref=$ref -v refns=$refns 'BEGIN {
			names["kfwd"] = "kernel IP forwarding (reference, no rewrite)"
			names["xdp-native"] = "sluice XDP native"
			names["xdp-generic"] = "sluice XDP generic"
			names["rtpengine"] = "rtpengine 10.5 userspace"
			names["sluice-user"] = "sluice userspace relay (datapath = user)"
			pc = n > 0 ? 1e9 / n : 0
			printf "| %s | %d | %d | %d | %s | %s | %s | %s |\n", names[name], fl, p, n,
				pc ? sprintf("%d", pc) : "n/a", prog,
				ref ? sprintf("%.2fx", p / ref) : "n/a",
				(refns > 0 && n > 0) ? sprintf("%.1fx", refns / n) : "n/a"
		}'
	done
	echo
	echo "Relay CPU: the time in the relay namespace's NAPI polls per packet, and for" \
		"the userspace relays their threads' time on a CPU besides."
	echo
	echo "sluice_xdp beside the reference relay, the program's own time per packet (kernel.bpf_stats_enabled) and the relay's CPU per packet:"
	echo
	echo "| XDP | installed flows | sluice_xdp ns / packet | reference ns / packet | sluice ÷ reference | each run's pair | sluice relay CPU ns | reference relay CPU ns |"
	echo "|---|---:|---:|---:|---:|---|---:|---:|"
	for mode in native generic; do
		for n in 1 $FLOWS $BIG; do
			s=${PROG[xdp-$mode/$n]:-} r=${PROG[ref-$mode/$n]:-}
			[ -n "$s" ] && [ -n "$r" ] || continue
			awk -v m=$mode -v n=$n -v s=$s -v r=$r -v sc=${NS[xdp-$mode/$n]:-0} \
			    -v rc=${NS[ref-$mode/$n]:-0} -v ss="${SAMPLES_PROG[xdp-$mode/$n]}" \
			    -v rs="${SAMPLES_PROG[ref-$mode/$n]}" 'BEGIN {
				k = split(ss, a, " "); split(rs, b, " ")
				for (i = 1; i <= k; i++)
					pairs = pairs (i > 1 ? ", " : "") a[i] "/" b[i]
				printf "| %s | %d | %d | %d | %.2fx | %s | %d | %d |\n", m, n, s, r,
					(r > 0 ? s / r : 0), pairs, sc, rc }'
		done
	done
	echo
	echo "Step by step (tests/bench/xdpcost: BPF_PROG_TEST_RUN, one frame per run, median ns" \
		"of the kernel's own measure; the variants leave one step out):"
	echo
	echo '```'
	printf '%s\n\n%s\n' "$COST1" "$COSTN"
	echo '```'
	echo
	echo "Media sessions set up, offloaded to XDP and torn down through the media API, one core:" \
		"${SESS% *} per second, ${SESS#* } µs CPU each (median of $REPS runs of 100,000)."
} | tee "$OUT"
echo
echo "generator + sink baseline $BASE_NS ns/packet; medians of $REPS; ${TRIAL}s trials;" \
	"$(nproc) cores; kernel $(uname -r); table in $OUT"
