#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# sluice_xdp against the reference relay (ref.bpf.c) in traffic, the
# program's own time per packet only (kernel.bpf_stats_enabled): the
# topology of run.sh (dataplane.sh), one stream of 214-byte RTP frames at
# BENCH_CPU_RATE packets per second for BENCH_CPU_SECS, the two programs
# loaded in turn ROUNDS times so that the machine's drift hits both alike.
# A quicker look than run.sh's rows, for work on the program:
#
#   tests/bench/xdpref.sh [native|generic ...]      (root)
#
# FLOWS=N installs N flows in each program and sends over them all (1 by
# default).
# REF=path/to/refrelay takes another build of the reference relay (make
# build/bench/wide/refrelay: its flow in sluice_xdp's four cache lines).
# OTHER_SLUICECTL=path/to/sluicectl adds a third program to the rounds:
# another build's sluice_xdp (sluicectl carries its program), to weigh a
# change against the code before it in the same run.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh

require_root
MODES=${*:-native generic}	# before dataplane.sh, which sets the positional parameters
FLOWS=${FLOWS:-1}
NSTREAMS=$FLOWS
ROUNDS=${ROUNDS:-7}
. tests/bench/dataplane.sh

REF=${REF:-$TOP/build/bench/refrelay}
SINK_MAC=$(mac $S s0)

PROG_SECS=$CPU_SECS
one() { progtime 10.80.1.1 20000; }	# the program's ns per packet over one CPU trial

sluice() {	# sluice CTL MODE: that sluicectl's program's ns per packet
	in_ns $R "$1" -p $PIN load r0,r1 $2 >/dev/null
	sluice_flows $FLOWS 0 | in_ns $R "$1" -p $PIN flow add - >/dev/null
	cpu 10.80.1.1 20000 >/dev/null	# warm: the egress resolved, caches filled
	one
	in_ns $R "$1" -p $PIN unload >/dev/null
}

for mode in $MODES; do
	s=() r=() o=()
	for ((i = 0; i < ROUNDS; i++)); do
		s+=($(sluice "$SLUICECTL" $mode))
		[ -n "${OTHER_SLUICECTL:-}" ] && o+=($(sluice "$OTHER_SLUICECTL" $mode))
		in_ns $R "$REF" load r0 r1 $mode $FLOWS 10.80.1.2:9000 10.80.1.1 20000 10.80.2.1 \
			10.80.2.2 $SINK_MAC >/dev/null
		cpu 10.80.1.1 20000 >/dev/null
		r+=($(one))
		in_ns $R "$REF" unload r0 r1
		echo "  $mode round $((i + 1)): sluice_xdp ${s[-1]} ns, reference ${r[-1]} ns${o:+, other build ${o[-1]} ns}" >&2
	done
	sm=$(printf '%s\n' "${s[@]}" | median)
	rm=$(printf '%s\n' "${r[@]}" | median)
	awk -v m=$mode -v s=$sm -v r=$rm -v n=$ROUNDS -v fl=$FLOWS 'BEGIN {
		printf "%s, %d flows, medians of %d: sluice_xdp %d ns, reference %d ns, %.2fx\n", m, fl, n, s, r, s / r }'
	if [ ${#o[@]} -gt 0 ]; then
		om=$(printf '%s\n' "${o[@]}" | median)
		awk -v m=$mode -v o=$om -v r=$rm -v fl=$FLOWS 'BEGIN {
			printf "%s, %d flows: the other build %d ns, %.2fx the reference\n", m, fl, o, o / r }'
	fi
done
