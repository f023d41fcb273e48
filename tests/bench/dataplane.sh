# SPDX-License-Identifier: GPL-2.0-only
#
# What the data-plane benchmarks share (run.sh, ng.sh); source after
# tests/lib.sh. Builds three namespaces joined by veth pairs: $G, the
# generator (rtpgen's socket and bench.bpf.c's reflector), $R, the relay
# (r0 10.80.1.1/24 towards the generator, r1 10.80.2.1/24 towards the sink)
# and $S, the sink (s0 10.80.2.2), plus a direct link g1-s1 for the
# baseline. The generator sends from 10.80.1.2:9000. Then the measuring
# functions: trial, search (the highest rate forwarded with under 0.1%
# loss), cpu (the machine's busy ns per packet and the relay's NAPI ns
# per packet), progtime (an XDP program's own ns per packet), rep (one
# run of each against a baseline taken right before), settle (the
# medians of a row's runs into PPS, NS and PROG) and measure (REPS runs,
# settled). NSTREAMS, the streams the generator sends over, is the
# caller's.
require_cmd ip ethtool nsenter
SLUICECTL=$TOP/agent/sluicectl
GEN=$TOP/build/bench/rtpgen
CPU_RATE=${BENCH_CPU_RATE:-50000}
CPU_SECS=${BENCH_CPU_SECS:-4}
PROG_SECS=${BENCH_PROG_SECS:-2}
REPS=${BENCH_REPS:-5}
TRIAL=${BENCH_TRIAL:-1}
G=bg$$ R=br$$ S=bs$$
PIN=/sys/fs/bpf/sluice-bench-$$
bpffs_ready
# kernel.bpf_stats_enabled stays off but while progtime measures a
# program's own time: it adds two clock reads to every run of every
# program, which the relays' CPU figures would carry.
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=0
cleanup_add "sysctl -qw kernel.bpf_stats_enabled=$stats_was"
mac() { ip -n $1 -o link show $2 | sed 's/.*link\/ether \([0-9a-f:]*\).*/\1/'; }

netns_add $G
netns_add $R
netns_add $S
# The generator's socket sends into gx0; XDP on gx1 passes the frames on
# out of g0 (to the relay) or g1 (the baseline's direct link to the sink).
ip -n $G link add gx0 type veth peer name gx1
ip -n $G link set gx0 up
# The socket must write real UDP checksums, as behind a NIC: a veth would
# leave them to an offload nobody performs, and the relay's stack drops them.
in_ns $G ethtool -K gx0 tx off >/dev/null
ip -n $G link set gx1 up
ip -n $G addr add 10.80.9.1/24 dev gx0
ip -n $G addr add 10.80.1.2/32 dev gx0
ip -n $G addr add 10.80.3.2/32 dev gx0
ip -n $G neigh add 10.80.9.2 lladdr $(mac $G gx1) dev gx0 nud permanent
ip -n $G route add default via 10.80.9.2 dev gx0
veth_link $G g0 10.80.8.2/30 $R r0 10.80.1.1/24
veth_link $R r1 10.80.2.1/24 $S s0 10.80.2.2/24
veth_link $G g1 10.80.8.6/30 $S s1 10.80.3.1/24
ip -n $R neigh add 10.80.1.2 lladdr $(mac $G g0) dev r0 nud permanent
ip -n $S neigh add 10.80.3.2 lladdr $(mac $G g1) dev s1 nud permanent
ip -n $S route add default via 10.80.2.1
in_ns $R sysctl -qw net.ipv4.conf.all.forwarding=1
for x in "$G gx1" "$G g0" "$G g1" "$R r0" "$R r1" "$S s0" "$S s1"; do
	set -- $x
	in_ns $1 ethtool -K $2 gro on >/dev/null	# NAPI for XDP frames
done
in_ns $R ping -c1 -W1 10.80.2.2 >/dev/null
R0_MAC=$(mac $R r0)
S1_MAC=$(mac $S s1)
cleanup_add "'$SLUICECTL' -p $PIN unload"

# trial DST PORTS RATE [SECONDS [SINK_IF SRC]]: one run; prints
# "offered received seconds busy_ns relay_napi_ns" (the last: time in the
# relay namespace's veth NAPI polls, rtpgen.c)
trial() {
	local out=g0 next=$R0_MAC
	[ "${5:-s0}" = s1 ] && out=g1 next=$S1_MAC
	RTPGEN_RELAY_NS=$R "$GEN" $G gx1 $out $next $S ${5:-s0} ${6:-10.80.1.2:9000} $1 $2 \
		$NSTREAMS $3 ${4:-$TRIAL} | awk '{ print $2, $4, $6, $8, $10 }'
}

lossless() { [ "$1" -gt 0 ] && [ $(($2 * 1000)) -ge $(($1 * 999)) ]; }

# search DST PORTS: the highest rate forwarded with under 0.1% loss
search() {
	local dst=$1 ports=$2 lo=0 hi mid off rx secs busy i
	read off rx secs busy <<<"$(trial $dst $ports 0)"
	if lossless $off $rx; then
		awk -v r=$rx -v s=$secs 'BEGIN { printf "%d\n", r / s }'
		return
	fi
	hi=$(awk -v r=$rx -v s=$secs 'BEGIN { printf "%d", 1.2 * r / s + 1000 }')
	for i in 1 2 3 4 5 6; do
		mid=$(((lo + hi) / 2))
		read off rx secs busy <<<"$(trial $dst $ports $mid)"
		if lossless $off $rx; then lo=$mid; else hi=$mid; fi
	done
	echo $lo
}

# proc_ns PID: the ns the process's threads have been on a CPU (schedstat)
proc_ns() { cat /proc/$1/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%.0f\n", n }'; }	# not %d: mawk stops at 2^31

# cpu DST PORTS [SINK_IF SRC]: at CPU_RATE, per packet, the machine's busy
# ns, the ns in the relay's veth NAPI polls and the ns of RELAY_PID's
# threads (0 without one)
cpu() {
	local off rx secs busy napi p0=0 p1=0
	[ -n "${RELAY_PID:-}" ] && p0=$(proc_ns $RELAY_PID)
	read off rx secs busy napi <<<"$(trial $1 $2 $CPU_RATE $CPU_SECS ${3:-} ${4:-})"
	[ -n "${RELAY_PID:-}" ] && p1=$(proc_ns $RELAY_PID)
	rx=$((rx ? rx : 1))
	echo $((busy / rx)) $((${napi:-0} / rx)) $(((p1 - p0) / rx))
}

# kernel_path NAME: whether NAME's relay does all its work in the relay's
# NAPI polls (XDP, the reference relay, IP forwarding), so that its CPU
# per packet is the time there. A userspace relay's (RELAY_PID, its
# process) is that and its threads' time; without RELAY_PID, the
# machine's busy time less the baseline's, in which every other
# process's time is too.
kernel_path() { case $1 in kfwd | xdp-* | ref-*) return 0 ;; esac; return 1; }

# sluice_flows N_ACTIVE N_IDLE: flows as sluicectl lines, the active ones
# on the generator's ports 20000, 20002, ...
sluice_flows() {
	awk -v n=$1 -v idle=$2 'BEGIN {
		for (i = 0; i < n; i++) {
			p = 20000 + 2 * i
			printf "10.80.1.1:%d from 10.80.1.2:9000 via 10.80.2.1:%d to 10.80.2.2:%d rtp clock 8000\n", p, p, p
		}
		for (i = 0; i < idle; i++)
			printf "10.81.%d.%d:%d from 10.82.0.1:9000 via 10.80.2.1:20000 to 10.83.0.1:5000 rtp\n", int(i / 250) % 250, i % 250 + 1, 30000 + int(i / 62500)
	}'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : 0) }'; }

# The XDP program on the relay's r0 (this run's, not another sluice_xdp on
# the machine), and its run time and run count (kernel.bpf_stats_enabled;
# "0 0" before its first counted run)
progid() { ip -n $R -d link show r0 2>/dev/null | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1; }
progstat() {
	local s
	s=$(bpftool prog show id $1 2>/dev/null |
		sed -n 's/.*run_time_ns \([0-9]*\) run_cnt \([0-9]*\).*/\1 \2/p' | head -1)
	echo ${s:-0 0}
}

# progtime DST PORTS: the relay namespace's XDP program's own ns per
# packet (kernel.bpf_stats_enabled) over a trial at CPU_RATE; nothing
# without a program
progtime() {
	local id t0 c0 t1 c1
	id=$(progid)
	[ -n "$id" ] || return 0
	sysctl -qw kernel.bpf_stats_enabled=1
	read t0 c0 <<<"$(progstat $id)"
	trial $1 $2 $CPU_RATE $PROG_SECS >/dev/null
	read t1 c1 <<<"$(progstat $id)"
	sysctl -qw kernel.bpf_stats_enabled=0
	echo $(( (t1 - t0) / ((c1 - c0) ? (c1 - c0) : 1) ))
}

# rep NAME FLOWS DST PORTS: one run of both (the lossless rate, then the
# CPU per packet against a baseline taken right before), kept as one
# sample of NAME/FLOWS for settle
declare -A PPS NS PROG SAMPLES_PPS SAMPLES_NS SAMPLES_PROG
rep() {
	local key=$1/$2 dst=$3 ports=$4 p n base busy napi proc prog
	p=$(search $dst $ports)
	# The baseline right before, so that drift in the machine's
	# background load cancels out of the difference.
	read base napi proc <<<"$(cpu 10.80.3.1 20000 s1 10.80.3.2:9000)"
	read busy napi proc <<<"$(cpu $dst $ports)"
	busy=$((busy - base))
	if kernel_path $1; then
		n=$napi
	elif [ -n "${RELAY_PID:-}" ]; then
		n=$((napi + proc))
	else
		n=$busy
	fi
	prog=$(progtime $dst $ports)
	SAMPLES_PPS[$key]+=" $p"
	SAMPLES_NS[$key]+=" $n"
	[ -n "$prog" ] && SAMPLES_PROG[$key]+=" $prog"
	echo "  $1, $2 flows, run $(wc -w <<<"${SAMPLES_PPS[$key]}"): $p pps lossless," \
		"relay $n ns/packet (NAPI $napi, process $proc, busy less baseline $busy)" \
		"${prog:+program $prog ns}" >&2
}

# settle NAME FLOWS: the medians of NAME/FLOWS's samples into PPS, NS, PROG
settle() {
	local key=$1/$2
	PPS[$key]=$(printf '%s\n' ${SAMPLES_PPS[$key]} | median)
	NS[$key]=$(printf '%s\n' ${SAMPLES_NS[$key]} | median)
	[ -n "${SAMPLES_PROG[$key]:-}" ] && PROG[$key]=$(printf '%s\n' ${SAMPLES_PROG[$key]} | median)
	return 0
}

# measure NAME FLOWS DST PORTS: REPS runs, medians kept
measure() {
	local i
	for ((i = 0; i < REPS; i++)); do rep "$@"; done
	settle $1 $2
}
