#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Calls through the B2BUA with their media in the kernel: the
# topology of tests/integration/70-b2bua-call.t (caller, relay and callee
# namespaces, XDP native on the relay's veths), sipp UAC -> sluiced -> sipp
# UAS with digest authentication on every INVITE. Each side of each call
# plays the first 3 packets of Debian's G.711 pcap once it is answered,
# which latches both legs, and the kernel takes the stream over. Each call
# is held until every call is up and HOLD_S seconds more (no more media:
# [media] timeout is set above that), so that all CONC calls are up at
# once for HOLD_S seconds, and then hung up.
#
# Half the calls offer IPv6 media, half IPv4 (SIP itself is IPv4): a port
# pair per leg means one address's 64k ports hold at most 16,000 calls, so
# 20,000 need both families of the relay's dual-stack address. The
# process's 20,000 file descriptors cannot hold 4 sockets per call either:
# sluiced gives up the sockets of the streams the kernel forwards.
#
# 1. Sustained calls per second: the highest of RATES (IPv4 media) at
#    which SECS seconds of calls, each held 1 s, complete with none failed; the XDP program's redirect counter shows each call's
#    media offloaded (of its 6 packets, the first each way latches in
#    userspace, the other 4 are the kernel's).
# 2. Concurrent calls: CONC calls up at once for HOLD_S seconds. Prints
#    calls set up, failed, the kernel's flows at the plateau, sluiced's
#    CPU share while setting them up and its memory.
#
#   tests/bench/calls-xdp.sh [OUT.md]     (root; sipp, tcpdump, bc)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SLUICED=${SLUICE_BIN:-$TOP/agent}/sluiced
SLUICECTL=${SLUICE_BIN:-$TOP/agent}/sluicectl
OUT=${1:-$TOP/build/bench/calls-xdp.md}
RATES=${RATES:-"200 400 600 800 1000"}
SECS=${SECS:-10}
CONC=${CONC:-20000}		# in all, half per family
RATE=${RATE:-100}		# calls per second per family
HOLD_S=${HOLD_S:-60}
SERVER_CPU=${SERVER_CPU:-1}
SIPP_CPU=${SIPP_CPU:-0}
PCAP=/usr/share/sip-tester/g711a.pcap

[ "$(id -u)" -eq 0 ] || { echo "concurrent.sh: needs root" >&2; exit 1; }
TMP=$(mktemp -d /tmp/sluice-bench-conc.XXXXXX)
C=bcc$$ R=bcr$$ E=bce$$
PIN=/sys/fs/bpf/sluice-bench-conc$$
cleanup() {
	kill $(jobs -p) 2>/dev/null
	sleep 0.5
	"$SLUICECTL" -p $PIN unload >/dev/null 2>&1
	for ns in $C $R $E; do ip netns del $ns 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
for ns in $C $R $E; do ip netns add $ns; ip -n $ns link set lo up; done
ns() { local n=$1; shift; nsenter --net=/run/netns/$n "$@"; }
ip link add c0 netns $C type veth peer name r0 netns $R
ip link add r1 netns $R type veth peer name e0 netns $E
ip -n $C addr add 10.0.1.2/24 dev c0
ip -n $R addr add 10.0.1.1/24 dev r0
ip -n $R addr add 10.0.2.1/24 dev r1
ip -n $E addr add 10.0.2.2/24 dev e0
ip -n $C addr add fd00:1::2/64 dev c0 nodad
ip -n $R addr add fd00:1::1/64 dev r0 nodad
ip -n $R addr add fd00:2::1/64 dev r1 nodad
ip -n $E addr add fd00:2::2/64 dev e0 nodad
for x in "$C c0" "$R r0" "$R r1" "$E e0"; do set -- $x; ip -n $1 link set $2 up; done
ip -n $C route add default via 10.0.1.1
ip -n $E route add default via 10.0.2.1
ip -n $C -6 route add default via fd00:1::1
ip -n $E -6 route add default via fd00:2::1
ns $R sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1
for x in "$C c0" "$E e0"; do set -- $x; ns $1 ethtool -K $2 gro on tx off >/dev/null; done
sleep 1

cat >$TMP/sluice.conf <<CONF
[sip]
listen = 0.0.0.0:5060
domain = ims.local
digest = md5, sha-256
keepalive = off
session_expires = off
auth_fail_limit = 1000000
[media]
interface = r0, r1
address = 10.0.1.1, fd00:1::1
ports = 10000-59999
datapath = xdp
timeout = $((CONC / RATE + HOLD_S + 300))
bpf_pin_dir = $PIN
[control]
ng = off
rtpproxy = off
[store]
db = ${DB_DIR:-$TMP}/sluice.db
[log]
level = info
CONF
printf '{' >$TMP/users.json
for u in 1001 1002 1003; do printf '"%s": {"username": "%s", "password": "pw%s"},' $u $u $u >>$TMP/users.json; done
printf '"1004": {"username": "1004", "password": "pw1004"}}' >>$TMP/users.json
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null
nsenter --net=/run/netns/$R taskset -c $SERVER_CPU "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
for ((i = 0; i < 100; i++)); do grep -qE "running|cannot" $TMP/sluiced.log && break; sleep 0.1; done
grep -q "XDP native" $TMP/sluiced.log || { echo "concurrent.sh: no XDP: $(tail -3 $TMP/sluiced.log)" >&2; exit 1; }

D=$TOP/tests/integration/sipp
tcpdump -r $PCAP -c 3 -w $TMP/start.pcap 2>/dev/null
PLAY='<nop><action><exec play_pcap_audio="'$TMP/start.pcap'"/></action></nop>'
sed "s|^  <pause/>|  $PLAY\n  <pause/>|" $D/uac_call.xml >$TMP/uac.xml
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $D/uas_answer.xml >$TMP/uas.xml
sed "s/@EXPECT@/200/" $D/register.xml >$TMP/reg.xml
half=$((CONC / 2))
RAMP=$(((half + RATE - 1) / RATE))
tmo=$((2 * RAMP + HOLD_S + 120))
uas_tmo=$((tmo + $(echo $RATES | wc -w) * (SECS + 70)))
# Two callees, one per family of media: CALLEE PORT MEDIA_ADDR MEDIA_PORT.
for x in "1002 5062" "1003 5063"; do
	set -- $x
	ns $E sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -key user $1 -key aor $1 \
		-key domain ims.local -key expires 3600 -au $1 -ap pw$1 -auth_uri ims.local \
		-i 10.0.2.2 -p $2 -mp 9000 10.0.2.1:5060 >/dev/null 2>&1 ||
		{ echo "concurrent.sh: $1 did not register" >&2; exit 1; }
done
# callees FAMILIES: their sipps, started afresh ($UAS_PIDS)
callees() {
	local x
	UAS_PIDS=""
	for x in "4 1002 5062 10.0.2.2 6000" "6 1003 5063 fd00:2::2 7000"; do
		set -- $x
		[[ " $FAMILIES " == *" $1 "* ]] || continue
		shift
		nsenter --net=/run/netns/$E taskset -c $SIPP_CPU sipp -sf $TMP/uas.xml -nostdin \
			-i 10.0.2.2 -p $2 -mi $3 -mp $4 -timeout $uas_tmo -max_socket 60000 \
			10.0.2.1:5060 >$TMP/uas-$1.out 2>&1 &
		UAS_PIDS="$UAS_PIDS $!"
	done
	sleep 0.5
}
sleep 1
cpu_ticks() { awk '{print $14 + $15}' /proc/$SPID/stat; }
redirected() { ns $R "$SLUICECTL" -p $PIN verdicts | awk '$1 == "redirect" {print $2}'; }
# callers FAMILIES: the callers of FAMILIES (4, 6 or "4 6") at once, each at
# RATE_EACH for COUNT_EACH calls held HOLD_MS; waits for them
callers() {
	local x pids=""
	for x in "4 1002 5061 10.0.1.2 6000" "6 1003 5064 fd00:1::2 7000"; do
		set -- $x
		[[ " $FAMILIES " == *" $1 "* ]] || continue
		shift
		nsenter --net=/run/netns/$C taskset -c $SIPP_CPU sipp -sf $TMP/uac.xml -nostdin \
			-r $RATE_EACH -m $COUNT_EACH -l $((RATE_EACH * (HOLD_MS / 1000 + 5))) \
			-d $HOLD_MS -key user 1001 -key target $1 -key domain ims.local -au 1001 \
			-ap pw1001 -auth_uri $1@ims.local -i 10.0.1.2 -p $2 -mi $3 -mp $4 \
			-timeout $((COUNT_EACH / RATE_EACH + HOLD_MS / 1000 + 60)) \
			-trace_err -error_file $TMP/uac-err-$1.log 10.0.1.1:5060 >$TMP/uac-$1.out 2>&1 &
		pids="$pids $!"
	done
	wait $pids
}
# tally USERS: "OK FAILED" of those callers' last run
tally() {
	local u o f okc=0 fail=0
	for u in "$@"; do
		o=$(sed -n 's/^ *Successful call *| *[0-9]* *| *\([0-9]*\).*/\1/p' $TMP/uac-$u.out | tail -1)
		f=$(sed -n 's/^ *Failed call *| *[0-9]* *| *\([0-9]*\).*/\1/p' $TMP/uac-$u.out | tail -1)
		okc=$((okc + ${o:-0}))
		fail=$((fail + ${f:-1}))
	done
	echo $okc $fail
}

best=0 best_cpu=0 best_kpc=0
for r in $RATES; do
	# One family: a call rate needs no more ports than one address has, and
	# two sipps load their core less than four.
	FAMILIES=4 RATE_EACH=$r COUNT_EACH=$((r * SECS)) HOLD_MS=1000
	callees		# a fresh callee each round: a sipp's load grows with its calls
	v0=$(redirected)
	c0=$(cpu_ticks)
	t0=$(date +%s.%N)
	callers
	t1=$(date +%s.%N)
	c1=$(cpu_ticks)
	v1=$(redirected)
	kill $UAS_PIDS 2>/dev/null
	wait $UAS_PIDS 2>/dev/null
	read -r okc fail < <(tally 1002)
	kpc=$(echo "(${v1:-0} - ${v0:-0}) / $COUNT_EACH" | bc -l)
	cpu=$(echo "100 * ($c1 - $c0) / 100 / ($t1 - $t0)" | bc -l)
	printf 'rate %s: %s ok, %s failed, %.2f kernel-forwarded packets per call, sluiced %.0f%% CPU\n' \
		$r $okc $fail $kpc $cpu >&2
	[ "$fail" = 0 ] && [ "$okc" = $COUNT_EACH ] || break
	best=$r best_cpu=$cpu best_kpc=$kpc
	sleep 5
done
rm -f $TMP/uac-err-*.log
sleep 5

FAMILIES="4 6"
callees
c0=$(cpu_ticks)
t0=$(date +%s.%N)
n=0

for x in "1002 5061 10.0.1.2 6000" "1003 5064 fd00:1::2 7000"; do
	set -- $x
	nsenter --net=/run/netns/$C taskset -c $SIPP_CPU sipp -sf $TMP/uac.xml -nostdin -r $RATE -m $half -l $half \
		-d $(((RAMP + HOLD_S) * 1000)) -key user 1001 -key target $1 -key domain ims.local \
		-au 1001 -ap pw1001 -auth_uri $1@ims.local -i 10.0.1.2 -p $2 -mi $3 -mp $4 \
		-timeout $tmo -trace_err -error_file $TMP/uac-err-$1.log 10.0.1.1:5060 \
		>$TMP/uac-$1.out 2>&1 &
	eval uac$n=$!
	n=$((n + 1))
done
# The plateau: every call set up, none yet hung up; read half way through.
sleep $((RAMP + HOLD_S / 2))
t1=$(date +%s.%N)
c1=$(awk '{print $14 + $15}' /proc/$SPID/stat)
flows=$(ns $R "$SLUICECTL" -p $PIN flow list | tail -1)
rss=$(awk '/VmRSS/ {print $2}' /proc/$SPID/status)
fds=$(ls /proc/$SPID/fd | wc -l)
wait $uac0 $uac1
read -r okc fail < <(tally 1002 1003)
cpu=$(echo "100 * ($c1 - $c0) / 100 / ($t1 - $t0)" | bc -l)
printf 'concurrent: %s of %s ok, %s failed; %s at the plateau; sluiced %.0f%% CPU while setting up, RSS %s kB, %s fds\n' \
	$okc $CONC $fail "$flows" $cpu $rss $fds >&2
grep -E "gave up|out of|cannot" $TMP/sluiced.log | tail -3 >&2
[ "$fail" = 0 ] || { head -c 3000 $TMP/uac-err-*.log; tail -5 $TMP/sluiced.log; } >&2
mkdir -p "$(dirname "$OUT")"
{
	echo "| calls through the B2BUA, digest auth, media offloaded to XDP; sluiced on one core | figure |"
	echo "|---|---|"
	printf '| sustained calls per second, none failed (%s s at each of %s, held 1 s) | %s |\n' \
		$SECS "$RATES" $best
	printf "| ... sluiced's CPU share at that rate | %.0f%% of one core |\n" $best_cpu
	printf '| ... packets each call had forwarded by the kernel (of 6; 2 latch in userspace) | %.2f |\n' \
		$best_kpc
	printf '| concurrent calls held %s s (%s tried, half IPv4 and half IPv6 media) | %s, %s failed |\n' \
		$HOLD_S $CONC $okc $fail
	printf '| kernel flows at the plateau | %s |\n' "$flows"
	printf "| sluiced's CPU share while setting calls up | %.0f%% of one core |\n" $cpu
	printf "| sluiced's memory and file descriptors at the plateau | %s MB, %s fds |\n" \
		$((rss / 1024)) $fds
} | tee "$OUT"
