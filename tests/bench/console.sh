#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What the console, /metrics and the SIP tracker cost the SIP path, inside
# ONE sluiced run: the call benchmark of calls.sh (sipp UAC -> sluiced ->
# sipp UAS, digest challenge, a media session per call, each held HOLD_MS)
# at a steady RATE calls per second, while the console's parts are
# switched on and off in alternate windows against the same calls:
#
#   without: no browser on the console (it waits on about:blank: no page,
#            no event stream), no scrape, the SIP tracker off
#            (SET SIPTRACE: STATE=OFF through PUT /api/siptrace);
#   with:    the browser on the live calls page (the calls' events and
#            the stream counters of the calls on screen every second),
#            /metrics fetched every second as Prometheus would, the
#            tracker on (a fresh ring).
#
# The web listener is up in both (idle in "without": its thread waits in
# epoll). The windows go W0 (warm-up, "without", not counted), then A1 B1
# A2 B2 ... BN A(N+1): each "with" window B sits between two "without"
# windows, and its ratio is taken against their mean, so that a drift of
# the machine's other load cancels to first order. After each switch
# SETTLE seconds pass unmeasured (the page loading and taking its first
# full list, an abandoned event stream noticed, the ring's first pages),
# then WINDOW seconds are measured: sluiced's CPU time, all its threads
# (the sum of /proc/PID/task/*/schedstat's run time, in ns; the window is
# taken from /proc/PID/stat's utime + stime instead, in clock ticks, if a
# thread came or went), divided by the calls sluiced started in the
# window (sluice_calls_started_total, read from /metrics just before the
# window starts and just after it ends: those two reads are outside every
# window's CPU). The figure is the median of the N ratios, with their
# interquartile range and a bootstrap 95% interval of the median; it
# passes when the median ratio is at most 1.05 and every call completed
# (sipp's failed calls 0, its successful calls all that sluiced started);
# otherwise the run is void. sluiced on core SERVER_CPU; sipp, the
# browser and curl on CLIENT_CPU.
#
#   tests/bench/console.sh [OUT.md]     (root; sipp, curl, chromium, node)
#
# RATE (200), HOLD_MS (2000), PAIRS (20), WINDOW (10 s), SETTLE (3 s),
# PARTS (what "with" turns on: any of "browser scrape trace").
# MODE=processes runs the older benchmark instead (console-processes.sh:
# separate sluiced runs with and without, alternating rounds).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ "${MODE:-windows}" = processes ] && exec "$TOP/tests/bench/console-processes.sh" "$@"
[ "${MODE:-windows}" = windows ] || { echo "console.sh: MODE is windows or processes" >&2; exit 1; }
SLUICED=${SLUICE_BIN:-$TOP/agent}/sluiced
SLUICECTL=${SLUICE_BIN:-$TOP/agent}/sluicectl
OUT=${1:-$TOP/build/bench/console.md}
RATE=${RATE:-200}
HOLD_MS=${HOLD_MS:-2000}
PAIRS=${PAIRS:-20}
WINDOW=${WINDOW:-10}
SETTLE=${SETTLE:-3}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
PARTS=${PARTS:-"browser scrape trace"}
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

[ "$(id -u)" -eq 0 ] || { echo "console.sh: needs root" >&2; exit 1; }
for c in sipp curl node; do
	command -v $c >/dev/null || { echo "console.sh: no $c" >&2; exit 1; }
done
[ -x "$CHROMIUM" ] && [ -d "$TOP/tests/web/node_modules/playwright-core" ] ||
	{ echo "console.sh: no chromium or playwright-core (make deps)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/sluice-bench-console.XXXXXX)
NS=sbcons$$
TOKEN=bench-token-$$-0123456789abcdef
WEB=http://127.0.0.1:8080
SPID= UAC= UAS= WATCH= SCRAPE=
cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$SCRAPE" ] && kill $SCRAPE 2>/dev/null
	[ -n "$UAC" ] && kill $UAC 2>/dev/null
	[ -n "$UAS" ] && kill $UAS 2>/dev/null
	[ -n "$WATCH" ] && kill $WATCH 2>/dev/null
	[ -n "$SPID" ] && kill $SPID 2>/dev/null
	sleep 0.5
	ip netns del $NS 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
die() { echo "console.sh: $*" >&2; exit 1; }
ip netns add $NS
ip -n $NS link set lo up
ns() { nsenter --net=/run/netns/$NS "$@"; }
D=$TOP/tests/integration/sipp
load() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(date -u +%H:%M:%S) UTC)"; }
LOAD0=$(load)
echo "before: $LOAD0" >&2

cat >$TMP/sluice.conf <<CONF
[sip]
listen = 127.0.0.1:5060
domain = ims.local
keepalive = off
auth_fail_limit = 1000000
[media]
interface = lo
address = 127.0.0.1
ports = 20000-59999
datapath = user
timeout = 600
bpf_pin_dir = /sys/fs/bpf/sluice-bench-w$$
[control]
ng = off
rtpproxy = off
[store]
db = $TMP/sluice.db
[mml]
listen = off
admin_password = bench-admin-pw
[http]
listen = 127.0.0.1:8080
root = $TOP/web
token = $TOKEN
trace = off
[log]
level = warn
CONF
printf '{"1001": {"username": "1001", "password": "pw1001"}, "1002": {"username": "1002", "password": "pw1002"}}' >$TMP/users.json
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null || die "import-users failed"

# nsenter itself, not the function ns: $! is then the process (a function in
# the background would be a subshell around it).
NSX="nsenter --net=/run/netns/$NS"
$NSX taskset -c $SERVER_CPU "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
for i in $(seq 100); do ns curl -s -o /dev/null $WEB/metrics && break; sleep 0.1; done
[ "$(readlink /proc/$SPID/exe)" = "$(readlink -f "$SLUICED")" ] || die "sluiced did not start: $(tail -3 $TMP/sluiced.log)"
sed "s/@EXPECT@/200/" $D/register.xml >$TMP/reg.xml
ns sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -key user 1002 -key aor 1002 \
	-key domain ims.local -key expires 3600 -au 1002 -ap pw1002 -auth_uri ims.local \
	-p 5062 127.0.0.1:5060 >/dev/null 2>&1 ||
	die "callee did not register: $(tail -3 $TMP/sluiced.log)"

# The browser, logged in and waiting on about:blank; commands through fd 3.
if has browser; then
	mkfifo $TMP/ctl
	CHROMIUM=$CHROMIUM $NSX taskset -c $CLIENT_CPU node $TOP/tests/bench/console-watch.js \
		$WEB admin bench-admin-pw --switch <$TMP/ctl >$TMP/watch.out 2>&1 &
	WATCH=$!
	exec 3>$TMP/ctl
	# Up to a minute: on a loaded machine Chromium starts slowly.
	for i in $(seq 600); do grep -q '^ready' $TMP/watch.out && break; sleep 0.1; done
	grep -q '^ready' $TMP/watch.out || die "the browser did not start: $(cat $TMP/watch.out)"
fi

# browser on|off: the page opened or left, once the browser says so.
NCMD=0
browser() {
	local i

	has browser || return 0
	echo $1 >&3
	NCMD=$((NCMD + 1))
	for i in $(seq 600); do
		[ "$(grep -c -E '^(on|off)$' $TMP/watch.out)" -ge $NCMD ] && return 0
		grep -q '^failed' $TMP/watch.out && break
		sleep 0.1
	done
	die "the browser did not switch $1: $(tail -3 $TMP/watch.out)"
}
trace() {
	has trace || return 0
	[ "$(ns curl -s -o $TMP/put -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --data-binary "{\"state\": \"$1\"}" \
		$WEB/api/siptrace)" = 200 ] || die "PUT /api/siptrace $1: $(cat $TMP/put)"
}
scrape() {
	has scrape || return 0
	if [ $1 = on ]; then
		$NSX taskset -c $CLIENT_CPU bash -c "while :; do curl -s -o /dev/null $WEB/metrics; sleep 1; done" &
		SCRAPE=$!
	else
		[ -n "$SCRAPE" ] && { kill $SCRAPE; wait $SCRAPE 2>/dev/null; }
		SCRAPE=
	fi
}
with_on() { browser on; trace on; scrape on; }
with_off() { scrape off; trace off; browser off; }

# counters: "STARTED BYES MESSAGES" from /metrics: calls started, BYEs
# received, and SIP requests and responses received and responses sent
# (more of these per call: retransmissions).
counters() {
	ns curl -s $WEB/metrics | awk '
		/^sluice_calls_started_total / { s = $2 }
		/^sluice_sip_requests_received_total\{method="BYE"\} / { b = $2 }
		/^sluice_sip_(requests_received|responses_received|responses_sent)_total/ { m += $2 }
		END { printf "%d %d %d\n", s, b, m }'
}
# cpu: "NS TICKS TIDS": schedstat's run time summed over sluiced's threads,
# utime + stime of /proc/PID/stat, and the thread ids.
cpu() {
	local sum=0 t r tids=
	for t in /proc/$SPID/task/*; do
		read -r r _ <$t/schedstat && sum=$((sum + r))
		tids="$tids${t##*/},"
	done
	echo "$sum $(awk '{print $14 + $15}' /proc/$SPID/stat) $tids"
}

$NSX taskset -c $CLIENT_CPU sipp -sf $D/uas_answer.xml -nostdin -p 5062 -mp 25000 \
	127.0.0.1:5060 >$TMP/uas.out 2>&1 &
UAS=$!
sleep 0.5
$NSX taskset -c $CLIENT_CPU sipp -sf $D/uac_call.xml -nostdin -r $RATE \
	-l $((RATE * (HOLD_MS / 1000 + 5))) -d $HOLD_MS -key user 1001 -key target 1002 \
	-key domain ims.local -au 1001 -ap pw1001 -auth_uri 1002@ims.local -p 5061 -mp 26000 \
	127.0.0.1:5060 >$TMP/uac.out 2>&1 &
UAC=$!

# window I KIND: SETTLE s, then WINDOW s measured; a line into $TMP/windows:
# I KIND SECONDS STARTED BYES CPU_NS TICKS SOURCE MESSAGES.
window() {
	local c0 c1 b0 b1 m0 m1 n0 n1 k0 k1 d0 d1 t0 t1 src=schedstat cpu_ns
	sleep $SETTLE
	read -r c0 b0 m0 < <(counters)
	read -r n0 k0 d0 < <(cpu)
	t0=$(date +%s.%N)
	sleep $WINDOW
	read -r n1 k1 d1 < <(cpu)
	t1=$(date +%s.%N)
	read -r c1 b1 m1 < <(counters)
	cpu_ns=$((n1 - n0))
	[ "$d0" = "$d1" ] || { src=stat; cpu_ns=$(((k1 - k0) * 10000000)); }
	kill -0 $UAC 2>/dev/null || die "sipp stopped early: $(tail -5 $TMP/uac.out)"
	echo "$1 $2 $(echo "$t1 - $t0" | bc) $((c1 - c0)) $((b1 - b0)) $cpu_ns $((k1 - k0)) $src $((m1 - m0))" |
		tee -a $TMP/windows | awk '{ printf "window %s %-7s %.1f s: %d calls started, %d BYEs, sluiced %.3f s CPU (%s), %.3f s per 1000 calls, %.2f SIP messages in and responses out per call\n", $1, $2, $3, $4, $5, $6 / 1e9, $8, $6 / 1e6 / $4, $9 / $4 }' >&2
}

: >$TMP/windows
echo "warm-up: ${HOLD_MS} ms for the calls up to build, then window 0" >&2
sleep $((HOLD_MS / 1000 + 2))
window 0 warmup
for i in $(seq 1 $PAIRS); do
	window $((2 * i - 1)) without
	with_on
	window $((2 * i)) with
	with_off
done
window $((2 * PAIRS + 1)) without

# The calls stop (sipp's soft exit: no new call, every one up finished).
kill -USR1 $UAC
for i in $(seq $((HOLD_MS / 100 + 300))); do kill -0 $UAC 2>/dev/null || break; sleep 0.1; done
wait $UAC 2>/dev/null
UAC=
read -r started byes msgs < <(counters)
okc=$(sed -n 's/^ *Successful call *| *[0-9]* *| *\([0-9]*\).*/\1/p' $TMP/uac.out | tail -1)
fail=$(sed -n 's/^ *Failed call *| *[0-9]* *| *\([0-9]*\).*/\1/p' $TMP/uac.out | tail -1)
if has browser; then
	exec 3>&-
	for i in $(seq 300); do kill -0 $WATCH 2>/dev/null || break; sleep 0.1; done
	kill $WATCH 2>/dev/null
	wait $WATCH
	WATCH=
fi
refreshes=$(grep '^refreshes' $TMP/watch.out 2>/dev/null)
[ -n "$refreshes" ] && echo "browser: $refreshes" >&2
LOAD1=$(load)
echo "after: $LOAD1" >&2
echo "calls: ${okc:-?} successful, ${fail:-?} failed, $started started by sluiced" >&2

# The ratios: each "with" window against the mean of the two around it.
awk -v seed=17 -v B=2000 '
	function median(a, n) { return quant(a, n, 0.5) }
	# the q-quantile of a[1..n], linear between order statistics
	function quant(a, n, q,   s, i, j, v, h, lo) {
		for (i = 1; i <= n; i++) {	# insertion sort (POSIX awk has no asort)
			v = a[i]
			for (j = i - 1; j >= 1 && s[j] > v; j--) s[j + 1] = s[j]
			s[j + 1] = v
		}
		h = (n - 1) * q + 1
		lo = int(h)
		return lo >= n ? s[n] : s[lo] + (h - lo) * (s[lo + 1] - s[lo])
	}
	$2 != "warmup" { cpc[$1] = $6 / 1e6 / $4; kind[$1] = $2; if ($1 > last) last = $1;
		if ($8 != "schedstat") stat++ }
	END {
		for (i = 2; i < last; i += 2) {
			n++
			r[n] = cpc[i] / ((cpc[i - 1] + cpc[i + 1]) / 2)
			w[n] = cpc[i]
			sum += r[n]; sq += r[n] * r[n]
		}
		for (i = 1; i <= last; i += 2) wo[++m] = cpc[i]
		srand(seed)
		for (b = 1; b <= B; b++) {
			for (j = 1; j <= n; j++) x[j] = r[int(rand() * n) + 1]
			bm[b] = median(x, n)
		}
		mean = sum / n
		se = sqrt((sq - n * mean * mean) / (n - 1) / n)
		printf "%d %.4f %.4f %.4f %.4f %.4f %.4f %.4f %.4f %.4f %d\n", n, median(r, n),
			quant(r, n, 0.25), quant(r, n, 0.75), quant(bm, B, 0.025), quant(bm, B, 0.975),
			mean, se, median(wo, m), median(w, n), stat + 0
	}' $TMP/windows >$TMP/summary
read -r n med q1 q3 lo hi mean se wo w stat <$TMP/summary
pct() { awk -v r=$1 'BEGIN { printf "%+.1f%%", 100 * (r - 1) }'; }
mkdir -p "$(dirname "$OUT")"
{
	[ "$PARTS" = "browser scrape trace" ] || echo "(with: $PARTS only)"
	echo "| the console's cost, one sluiced run: $RATE calls per second, held $((HOLD_MS / 1000)) s, sluiced on one core; $n window pairs of ${WINDOW} s | sluiced CPU per 1000 calls started (median of the windows) | with / without |"
	echo "|---|---|---|"
	printf '| without (no browser on the console, no scrape, `SET SIPTRACE: STATE=OFF`) | %.3f s | |\n' "$wo"
	printf '| with a browser on the live calls page, /metrics scraped every second, the SIP tracker on | %.3f s | **%s** median of %d paired ratios (interquartile %s to %s; 95%% interval of the median %s to %s; mean %s ± %.1f%%) |\n' \
		"$w" "$(pct $med)" $n "$(pct $q1)" "$(pct $q3)" "$(pct $lo)" "$(pct $hi)" "$(pct $mean)" \
		"$(awk -v s=$se 'BEGIN { print 100 * s }')"
	echo
	echo "Load average before: $LOAD0; after: $LOAD1. Calls: ${okc:-?} successful, ${fail:-?} failed, $started started."
	[ "$stat" = 0 ] || echo "($stat windows measured from /proc/PID/stat: a thread came or went.)"
	[ -n "$refreshes" ] && echo "Browser: $refreshes."
	echo
	echo '```'
	echo "window kind seconds started byes cpu_ns ticks source messages"
	cat $TMP/windows
	echo '```'
} | tee "$OUT"
[ "${fail:-1}" = 0 ] && [ "${okc:-0}" = "$started" ] && [ "$started" -gt 0 ] ||
	die "calls failed or did not complete (${okc:-?} successful, ${fail:-?} failed, $started started): the run is void"
awk -v r=$med 'BEGIN { exit !(r <= 1.05) }' || die "the median ratio $(pct $med) is more than 5%"
echo "console.sh: pass (median ratio $(pct $med))" >&2
