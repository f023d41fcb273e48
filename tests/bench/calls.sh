#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Calls through the B2BUA: sipp UAC -> sluiced -> sipp UAS, each INVITE
# challenged (407) and answered with credentials, each call's media
# session set up (ports bound, both SDPs rewritten), the call held for
# HOLD_MS and hung up. sluiced on one core, the two sipps on the other.
#
# 1. Sustained calls per second: the highest rate of RATES at which
#    sipp completes CALLS_PER_RATE_S seconds of calls with none failed.
# 2. Concurrent calls: CONC calls set up at 200 per second and held for
#    60 s, none failed.
#
# No RTP flows here, so the media sessions stay in userspace (nothing to
# latch); media forwarding is measured by run.sh.
#
#   tests/bench/calls.sh [OUT.md]     (root; sipp, sqlite3)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SLUICED=${SLUICE_BIN:-$TOP/agent}/sluiced
SLUICECTL=${SLUICE_BIN:-$TOP/agent}/sluicectl
OUT=${1:-$TOP/build/bench/calls.md}
ERRLOG=$(dirname "$OUT")/calls-errors.log
RATES=${RATES:-"100 200 400 600 800 1000 1200"}
SECS=${SECS:-10}
HOLD_MS=${HOLD_MS:-1000}
CONC=${CONC:-2000}
SERVER_CPU=${SERVER_CPU:-1}
SIPP_CPU=${SIPP_CPU:-0}

[ "$(id -u)" -eq 0 ] || { echo "calls.sh: needs root" >&2; exit 1; }
TMP=$(mktemp -d /tmp/sluice-bench-calls.XXXXXX)
NS=sbcall$$
cleanup() {
	kill $(jobs -p) 2>/dev/null
	sleep 0.3
	ip netns del $NS 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add $NS
ip -n $NS link set lo up
mkdir -p "$(dirname "$OUT")"
: >"$ERRLOG"
ns() { nsenter --net=/run/netns/$NS "$@"; }
D=$TOP/tests/integration/sipp

cat >$TMP/sluice.conf <<CONF
[sip]
listen = 127.0.0.1:5060
domain = ims.local
digest = md5, sha-256
keepalive = off
auth_fail_limit = 1000000
[media]
interface = lo
address = 127.0.0.1
ports = 20000-59999
datapath = user
timeout = 600
bpf_pin_dir = /sys/fs/bpf/sluice-bench-c$$
[control]
ng = off
rtpproxy = off
[store]
db = $TMP/sluice.db
[log]
level = warn
CONF
printf '{"1001": {"username": "1001", "password": "pw1001"}, "1002": {"username": "1002", "password": "pw1002"}}' >$TMP/users.json
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null
nsenter --net=/run/netns/$NS taskset -c $SERVER_CPU "$SLUICED" -c $TMP/sluice.conf \
	>$TMP/sluiced.log 2>&1 &
SPID=$!
sleep 1
sed "s/@EXPECT@/200/" $D/register.xml >$TMP/reg.xml
ns sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -key user 1002 -key aor 1002 \
	-key domain ims.local -key expires 3600 -au 1002 -ap pw1002 -auth_uri ims.local \
	-p 5062 127.0.0.1:5060 >/dev/null 2>&1 || { echo "calls.sh: callee did not register" >&2; exit 1; }

# run RATE COUNT HOLD_MS: prints "OK FAILED CPU_S WALL_S"
run() {
	local t0 t1 c0 c1 okc fail
	nsenter --net=/run/netns/$NS taskset -c $SIPP_CPU sipp -sf $D/uas_answer.xml -nostdin \
		-p 5062 -mp 25000 \
		-timeout $((($2 / $1) + $3 / 1000 + 60)) 127.0.0.1:5060 >$TMP/uas.out 2>&1 &
	local uas=$!
	sleep 0.5
	c0=$(awk '{print $14 + $15}' /proc/$SPID/stat)
	t0=$(date +%s.%N)
	ns taskset -c $SIPP_CPU sipp -sf $D/uac_call.xml -nostdin -r $1 -m $2 -l $((${1} * (${3} / 1000 + 5))) \
		-d $3 -key user 1001 -key target 1002 -key domain ims.local -au 1001 -ap pw1001 \
		-auth_uri 1002@ims.local -p 5061 -mp 26000 -timeout $((($2 / $1) + $3 / 1000 + 60)) \
		-trace_err -error_file $TMP/uac-err.log 127.0.0.1:5060 >$TMP/uac.out 2>&1
	t1=$(date +%s.%N)
	[ -s $TMP/uac-err.log ] && { echo "== rate $1"; head -c 20000 $TMP/uac-err.log; } >>"$ERRLOG"
	rm -f $TMP/uac-err.log
	c1=$(awk '{print $14 + $15}' /proc/$SPID/stat)
	kill $uas 2>/dev/null
	wait $uas 2>/dev/null
	okc=$(sed -n 's/^ *Successful call *| *[0-9]* *| *\([0-9]*\).*/\1/p' $TMP/uac.out | tail -1)
	fail=$(sed -n 's/^ *Failed call *| *[0-9]* *| *\([0-9]*\).*/\1/p' $TMP/uac.out | tail -1)
	echo "${okc:-0} ${fail:-?} $(echo "($c1 - $c0) / 100" | bc -l) $(echo "$t1 - $t0" | bc -l)"
}

best=0 best_cpu=0
for r in $RATES; do
	read -r okc fail cpu wall < <(run $r $((r * SECS)) $HOLD_MS)
	printf 'rate %s: %s ok, %s failed, sluiced %.1f s CPU in %.1f s\n' $r $okc $fail $cpu $wall >&2
	[ "$fail" = 0 ] && [ "$okc" = $((r * SECS)) ] || break
	best=$r
	best_cpu=$(echo "100 * $cpu / $wall" | bc -l)
	sleep 3
done
sleep 3
read -r cokc cfail ccpu cwall < <(run 200 $CONC 60000)
printf 'concurrent %s: %s ok, %s failed\n' $CONC $cokc $cfail >&2

mkdir -p "$(dirname "$OUT")"
{
	echo "| calls through the B2BUA (digest auth, media session per call), one core | figure |"
	echo "|---|---|"
	printf '| sustained calls per second, none failed (%s s at each rate of %s) | %s |\n' $SECS "$RATES" $best
	printf "| sluiced's CPU share at that rate | %.0f%% of one core |\n" $best_cpu
	printf '| concurrent calls held 60 s (%s tried) | %s, %s failed |\n' $CONC $cokc $cfail
} | tee "$OUT"
