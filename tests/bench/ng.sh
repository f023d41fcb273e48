#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The NG protocol benchmark (make bench-ng, also part of make bench):
# sluiced and Debian's rtpengine (userspace only, --table=-1) in turn as
# the relay, in the namespaces of run.sh (tests/bench/dataplane.sh), with
# two more for the phones: a caller C (10.80.4.2, on the relay's r2) and
# a callee E (10.80.5.2, on r3).
#
#  1. NG cycles per second: build/bench/ngbench keeps NG_WINDOW calls in
#     flight over the relay's NG socket, each an offer, an answer and a
#     delete as Kamailio's rtpengine module sends them; NG_REPS runs of
#     NG_SECS seconds, the relay pinned to one core and ngbench to the
#     other; the medians of the cycles per second and of the relay's CPU
#     time per cycle. sluiced with XDP native on r0 and r1 and its
#     database on disk (every session persisted, a RELAY CDR row per
#     call), rtpengine with --delete-delay=0 so that a deleted call goes
#     at once, as in sluiced, instead of 30 seconds later.
#
#  2. The data plane of sessions set up over NG by Kamailio: one
#     kamailio.cfg (tests/kamailio-lib.sh's kamailio_start), only its
#     rtpengine_sock pointing at one relay or the other. The callee's sipp
#     registers, the caller's sipp makes NG_CALLS calls through Kamailio
#     and holds them; each SDP names the generator (10.80.1.2:9000) as the
#     caller's media and the sink (10.80.2.2:20000) as the callee's, and
#     the caller's scenario logs the relay port its 200 OK carries. Then
#     run.sh's measure() over those ports: the highest rate forwarded with
#     under 0.1% loss and the relay's CPU ns per packet; for sluice, also
#     the XDP program's verdicts over the measurement (redirected by the
#     kernel, passed to userspace).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/kamailio-lib.sh

require_root
require_cmd ip ethtool nsenter taskset sipp perl kamailio rtpengine
NGBENCH=$TOP/build/bench/ngbench
[ -x "$NGBENCH" ] && [ -x "$TOP/build/bench/rtpgen" ] && [ -x "$TOP/agent/sluiced" ] ||
	skip_all "build first (make all build/bench/ngbench build/bench/rtpgen)"
[ -r $KAMAILIO_MODS/rtpengine.so ] || skip_all "no Kamailio rtpengine module"
NG_REPS=${BENCH_NG_REPS:-5}
NG_SECS=${BENCH_NG_SECS:-5}
NG_WINDOW=${BENCH_NG_WINDOW:-64}
NG_CALLS=${BENCH_NG_CALLS:-2000}
NG_RATE=${BENCH_NG_RATE:-200}		# calls set up per second through Kamailio
NG_PORT=22240
# Media ports of both relays. sluiced keeps a freed pair's sockets (bound
# and watched) for the next call while they fit in an eighth of its
# open-file limit: here 2,500 pairs under the container's 20,000, under
# the systemd unit's 1,048,576 every pair of any range. The cycles run on
# a range of 2,500 pairs, as the unit's limit would keep [media] ports'
# default 5,000; NG_CYCLE_PORTS=20000-60000 shows what binding and closing
# four sockets per call costs instead. The 2,000 calls with media need
# 4,000 pairs: the wide range.
NG_PORTS=${BENCH_NG_PORTS:-20000-60000}
NG_CYCLE_PORTS=${BENCH_NG_CYCLE_PORTS:-20000-24999}
RELAY_CPU=1 LOAD_CPU=0
OUT=${BENCH_OUT:-$TOP/build/bench/ng-results.md}
NSTREAMS=$NG_CALLS
. tests/bench/dataplane.sh

C=bc$$ E=be$$
netns_add $C
netns_add $E
veth_link $C c0 10.80.4.2/24 $R r2 10.80.4.1/24
veth_link $E e0 10.80.5.2/24 $R r3 10.80.5.1/24
ulimit -n "$(ulimit -Hn)"	# rtpengine: four sockets a call

# relay_start sluice|rtpengine [WRAP...]: the relay in R serving NG on
# 127.0.0.1:NG_PORT, media on 10.80.1.1, a fresh database; pid in RPID.
relay_start() {	# RANGE: its media ports, NG_PORTS unless set
	local name=$1 range=${RANGE:-$NG_PORTS}
	shift
	rm -f $TMP/ng.db*
	if [ $name = sluice ]; then
		cat >$TMP/ng.conf <<CONF
[sip]
listen = off
[media]
interface = r0, r1
address = 10.80.1.1
ports = $range
datapath = xdp
timeout = 600
bpf_pin_dir = $PIN
[store]
db = $TMP/ng.db
[control]
ng = 127.0.0.1:$NG_PORT
rtpproxy = off
[log]
level = info
CONF
		nsenter --net=/run/netns/$R "$@" "$TOP/agent/sluiced" -c $TMP/ng.conf \
			>$TMP/relay-$name.log 2>&1 &
	else
		nsenter --net=/run/netns/$R "$@" rtpengine --config-file=none --foreground \
			--log-stderr --log-level=4 --interface=10.80.1.1 \
			--listen-ng=127.0.0.1:$NG_PORT --port-min=${range%-*} --port-max=${range#*-} \
			--table=-1 --timeout=600 --delete-delay=0 >$TMP/relay-$name.log 2>&1 &
	fi
	RPID=$!
	cleanup_add "kill $RPID"
	sleep 1
	kill -0 $RPID 2>/dev/null && return 0
	echo "$name did not start: $(tail -3 $TMP/relay-$name.log)" >&2
	return 1
}

relay_stop() {
	kill $RPID 2>/dev/null
	wait $RPID 2>/dev/null
	cp $TMP/relay-$1.log $TOP/build/bench/ng-relay-$1.log 2>/dev/null
}

# cycles NAME: NG_REPS runs of ngbench against the relay in RPID; medians
# into CYC[NAME] and CPU[NAME], the failures summed into FAIL[NAME].
declare -A CYC CPU FAIL VERD
cycles() {
	local name=$1 i r c=() u=() f=0
	in_ns $R taskset -c $LOAD_CPU "$NGBENCH" -w $NG_WINDOW -t 1 -c 10.80.1.2 -e 10.80.2.2 \
		127.0.0.1:$NG_PORT >/dev/null	# warm-up
	for ((i = 0; i < NG_REPS; i++)); do
		r=$(in_ns $R taskset -c $LOAD_CPU "$NGBENCH" -w $NG_WINDOW -t $NG_SECS -p $RPID \
			-c 10.80.1.2 -e 10.80.2.2 127.0.0.1:$NG_PORT)
		echo "  $name, run $((i + 1)): $r" >&2
		read -r _ _ _ _ _ p _ fl _ _ _ us <<<"$r"
		c+=(${p:-0})
		u+=(${us:-0})
		f=$((f + ${fl:-0}))
	done
	CYC[$name]=$(printf '%s\n' "${c[@]}" | median)
	CPU[$name]=$(printf '%s\n' "${u[@]}" | sort -g |
		awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
	FAIL[$name]=$f
}

# The phones' scenarios: kamailio_scenarios' quiet call, its SDP naming the
# generator and the sink and offering PCMU (rtpgen sends payload type 0; rtpengine
# forwarded nothing of a type the SDP did not name); the caller logs the relay port of its 200 OK,
# the callee that of its INVITE.
kamailio_scenarios /dev/null
perl -pe 's{c=IN IP\[media_ip_type\] \[media_ip\]}{c=IN IP4 10.80.1.2};
	s{m=audio \[media_port\] RTP/AVP 8}{m=audio 9000 RTP/AVP 0};
	s{a=rtpmap:8 PCMA/8000}{a=rtpmap:0 PCMU/8000};
	s{(<ereg regexp="c=IN IP\[46\].*/>)}{$1\n      <ereg regexp="m=audio ([0-9]+)" search_in="body" check_it="true" assign_to="y,port"/>\n      <log message="[\$relay] [\$port]"/>};
	s{<Reference variables="x,relay"/>}{<Reference variables="x,relay,y"/>}' \
	$TMP/uac-quiet.xml >$TMP/bench-uac.xml
perl -pe 's{c=IN IP\[media_ip_type\] \[media_ip\]}{c=IN IP4 10.80.2.2};
	s{m=audio \[media_port\] RTP/AVP 8}{m=audio 20000 RTP/AVP 0};
	s{a=rtpmap:8 PCMA/8000}{a=rtpmap:0 PCMU/8000};
	s{^  <recv request="INVITE"/>}{  <recv request="INVITE">\n    <action>\n      <ereg regexp="c=IN IP4 ([0-9.]+)" search_in="body" check_it="true" assign_to="z,relay"/>\n      <ereg regexp="m=audio ([0-9]+)" search_in="body" check_it="true" assign_to="y,port"/>\n      <log message="[\$relay] [\$port]"/>\n    </action>\n  </recv>\n  <Reference variables="y,z"/>}' \
	$TMP/uas-quiet.xml >$TMP/bench-uas.xml

# calls NAME: Kamailio in front of the relay, NG_CALLS calls set up and
# held; their relay ports in $TMP/ports-NAME. Returns non-zero on failure.
calls() {
	local name=$1 i
	KAMAILIO_WRAP="taskset -c $LOAD_CPU" kamailio_start kamailio-$name $R \
		"udp:127.0.0.1:$NG_PORT" 10.80.4.1 10.80.5.1
	grep -q "support for it enabled" $TMP/kamailio-$name.log || {
		echo "kamailio: $(tail -3 $TMP/kamailio-$name.log)" >&2
		return 1
	}
	kamailio_register $E 1002 10.80.5.2 5062 10.80.5.1 || return 1
	rm -f $TMP/ports-$name $TMP/cports-$name
	nsenter --net=/run/netns/$E sipp -sf $TMP/bench-uas.xml -m $NG_CALLS -nostdin \
		-i 10.80.5.2 -p 5062 -mi 10.80.5.2 -mp 6000 -trace_logs -log_file $TMP/cports-$name \
		10.80.5.1:5070 >$TMP/uas-$name.out 2>&1 &
	UAS=$!
	cleanup_add "kill $UAS"
	nsenter --net=/run/netns/$C sipp -sf $TMP/bench-uac.xml -m $NG_CALLS -r $NG_RATE \
		-l $NG_CALLS -nostdin -key user 1001 -key target 1002 -key domain ims.local -d 3600000 \
		-i 10.80.4.2 -p 5061 -mi 10.80.4.2 -mp 6000 -trace_logs -log_file $TMP/ports-$name \
		10.80.4.1:5070 >$TMP/uac-$name.out 2>&1 &
	UAC=$!
	cleanup_add "kill $UAC"
	for ((i = 0; i < 600; i++)); do
		[ "$(cat $TMP/ports-$name 2>/dev/null | grep -c '^[0-9]')" -ge $NG_CALLS ] && break
		kill -0 $UAC 2>/dev/null || break
		sleep 0.1
	done
	# Only calls whose SDPs the relay rewrote (to 10.80.1.1) count.
	awk '$1 == "10.80.1.1" { print $2 }' $TMP/ports-$name >$TMP/ports-$name.n 2>/dev/null
	awk '$1 == "10.80.1.1" { print $2 }' $TMP/cports-$name >$TMP/cports-$name.n 2>/dev/null
	echo "  $name: $(wc -l <$TMP/ports-$name.n) of $NG_CALLS calls up through Kamailio" \
		"with the relay in their SDP" >&2
	[ "$(wc -l <$TMP/ports-$name.n)" -eq $NG_CALLS ] &&
		[ "$(wc -l <$TMP/cports-$name.n)" -eq $NG_CALLS ]
}

calls_end() {
	kill $UAC $UAS $KPID 2>/dev/null
	wait $UAC $UAS $KPID 2>/dev/null
}

verdicts() { in_ns $R "$SLUICECTL" -p $PIN verdicts 2>/dev/null; }

# verdict_diff BEFORE AFTER: "KERNEL USER", the packets the XDP program
# forwarded itself (redirect, tx) and those it passed to the stack.
verdict_diff() {
	printf '%s\n%s\n' "$1" "$2" | awk '
		NR > 1 && $1 == first { after = 1 }
		NR == 1 { first = $1 }
		{ k = ($1 == "redirect" || $1 == "tx"); u = ($1 ~ /^pass_/)
		  if (after) { kk += k * $2; uu += u * $2 } else { kk -= k * $2; uu -= u * $2 } }
		END { print kk, uu }'
}

# callee_latch NAME: one RTP packet from the callee's media address (the
# sink's, 10.80.2.2:20000) to each call's relay port on its side, as a
# phone's first packet: sluice puts a direction in the kernel once both
# ends have latched. rtpengine gets the same.
callee_latch() {
	in_ns $S perl -MIO::Socket::INET -MSocket -e '
		my $s = IO::Socket::INET->new(LocalAddr => "10.80.2.2:20000", Proto => "udp")
			or die "callee_latch: $!\n";
		my $i = 0;
		while (<STDIN>) {
			chomp;
			$s->send(pack("CCnNN", 0x80, 0, 1, 160, 0xca11ee + $i++) . "\xff" x 160, 0,
				 pack_sockaddr_in($_, inet_aton("10.80.1.1")));
			select(undef, undef, undef, 0.0005);
		}' <$TMP/cports-$1.n
}

# dataplane NAME: the calls, both ends latched (one slow pass of the
# generator for the caller's), then measure() over their ports; for
# sluice, the XDP program's verdicts from before the latching to the end.
dataplane() {
	local name=$1 v0 v1
	if calls $name; then
		[ $name = sluice ] && v0=$(verdicts)
		callee_latch $name
		trial 10.80.1.1 @$TMP/ports-$name.n 20000 1 >/dev/null
		measure $name $NG_CALLS 10.80.1.1 @$TMP/ports-$name.n
		[ $name = sluice ] && v1=$(verdicts) && VERD[$name]=$(verdict_diff "$v0" "$v1")
	else
		echo "$name: call setup through Kamailio failed (see $TOP/build/bench/ng-*.log)" >&2
		cp $TMP/uac-$name.out $TOP/build/bench/ng-uac-$name.log 2>/dev/null
		cp $TMP/kamailio-$name.log $TOP/build/bench/ng-kamailio-$name.log 2>/dev/null
	fi
	calls_end
}

mkdir -p $TOP/build/bench
for relay in ${BENCH_NG_RELAYS:-sluice rtpengine}; do
	echo "# $relay: NG offer/answer/delete cycles, relay on core $RELAY_CPU, ngbench on core $LOAD_CPU" >&2
	RANGE=$NG_CYCLE_PORTS relay_start $relay taskset -c $RELAY_CPU || continue
	[ $relay = sluice ] && ! grep -q "XDP native on r0,r1" $TMP/relay-sluice.log &&
		echo "  sluiced: not XDP native: $(grep '\[dp\]' $TMP/relay-sluice.log)" >&2
	cycles $relay
	relay_stop $relay
	echo "# $relay: $NG_CALLS calls through Kamailio, then their media" >&2
	relay_start $relay || continue
	dataplane $relay
	relay_stop $relay
done

# The tables, with ratios to rtpengine.
{
	echo "| NG relay, one core | offer/answer/delete cycles per second (median of $NG_REPS) | relay CPU µs per cycle | failed | vs rtpengine |"
	echo "|---|---:|---:|---:|---:|"
	for r in sluice rtpengine; do
		[ -n "${CYC[$r]:-}" ] || continue
		awk -v name=$r -v c=${CYC[$r]} -v u=${CPU[$r]} -v f=${FAIL[$r]} \
		    -v ref=${CYC[rtpengine]:-0} 'BEGIN {
			names["sluice"] = "sluiced, XDP native, database on disk"
			names["rtpengine"] = "rtpengine 10.5 userspace (--delete-delay=0)"
			printf "| %s | %d | %.1f | %d | %s |\n", names[name], c, u, f,
				ref ? sprintf("%.2fx", c / ref) : "n/a"
		}'
	done
	echo
	echo "| sessions set up over NG by Kamailio ($NG_CALLS calls) | forwarded pps, <0.1% loss | relay CPU ns / packet | relay pps per core | XDP program ns / packet | forwarded by the kernel / passed to userspace | pps vs rtpengine | per core vs rtpengine |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for r in sluice rtpengine; do
		key=$r/$NG_CALLS
		[ -n "${PPS[$key]:-}" ] || continue
		awk -v name=$r -v p=${PPS[$key]} -v n=${NS[$key]} -v v="${VERD[$r]:--}" \
		    -v prog="${PROG[$key]:--}" \
		    -v ref=${PPS[rtpengine/$NG_CALLS]:-0} -v refns=${NS[rtpengine/$NG_CALLS]:-0} 'BEGIN {
			names["sluice"] = "sluiced, XDP native"
			names["rtpengine"] = "rtpengine 10.5 userspace"
			split(v, kv, " ")
			pc = n > 0 ? 1e9 / n : 0
			printf "| %s | %d | %d | %s | %s | %s | %s | %s |\n", names[name], p, n,
				pc ? sprintf("%d", pc) : "n/a", prog, v == "-" ? "-" : kv[1] " / " kv[2],
				ref ? sprintf("%.2fx", p / ref) : "n/a",
				(refns > 0 && n > 0) ? sprintf("%.1fx", refns / n) : "n/a"
		}'
	done
} | tee "$OUT"
s=${CYC[sluice]:-0}
echo
echo "sluice $([ $s -ge 20000 ] && echo reaches || echo does not reach) 20,000 NG cycles per second" \
	"($s); medians of $NG_REPS; ${NG_SECS}s ngbench runs, window $NG_WINDOW; ports $NG_CYCLE_PORTS (cycles), $NG_PORTS (media);" \
	"open files $(ulimit -n);" \
	"$(nproc) cores; kernel $(uname -r); tables in $OUT"
