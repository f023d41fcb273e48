#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Registrations per second with digest authentication: sipp registers
# 10,000 subscribers, each REGISTER challenged (401) and answered, against
# sluiced and against Kamailio (auth_db over sqlite, registrar, usrloc) on
# the same machine in the same run. Each server is pinned to one core and
# sipp to the other; sipp keeps RUNS_CONC registrations in flight (a
# closed loop: the server's pace sets the rate). Prints a markdown table
# with the median of REPEAT runs and the ratio to Kamailio.
#
#   tests/bench/register.sh [OUT.md]     (root; sipp, sqlite3; kamailio optional)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SLUICED=${SLUICE_BIN:-$TOP/agent}/sluiced
OUT=${1:-$TOP/build/bench/register.md}
ERRLOG=$(dirname "$OUT")/register-errors.log
SUBS=${SUBS:-10000}
CALLS=${CALLS:-40000}
CONC=${CONC:-200}
REPEAT=${REPEAT:-3}
SERVER_CPU=${SERVER_CPU:-1}
SIPP_CPU=${SIPP_CPU:-0}

[ "$(id -u)" -eq 0 ] || { echo "register.sh: needs root" >&2; exit 1; }
command -v sipp >/dev/null || { echo "register.sh: needs sipp" >&2; exit 1; }
[ -x "$SLUICED" ] || { echo "register.sh: build first" >&2; exit 1; }
TMP=$(mktemp -d /tmp/sluice-bench-reg.XXXXXX)
NS=sbreg$$
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
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

# 10,000 subscribers: user 2000000+i, password pw<i>, in sipp's CSV too.
echo SEQUENTIAL >$TMP/users.csv
{
	echo "BEGIN;"
	for ((i = 0; i < SUBS; i++)); do
		u=$((2000000 + i))
		echo "$u;pw$i" >>$TMP/users.csv
		printf '%s:ims.local:pw%s\n' $u $i
	done | perl -MDigest::MD5=md5_hex -MDigest::SHA=sha256_hex -ne '
		chomp; my ($u) = /^(\d+)/;
		printf "INSERT INTO subscribers (impu, username, realm, ha1_md5, ha1_sha256, created, updated) VALUES (%s, %s, %s, %s, %s, 0, 0);\n",
			"\x27sip:$u\@ims.local\x27", "\x27$u\x27", "\x27ims.local\x27", "\x27" . md5_hex($_) . "\x27", "\x27" . sha256_hex($_) . "\x27";
		print STDERR "$u|ims.local|" . md5_hex($_) . "\n";' 2>$TMP/kam-subs.txt
	echo "COMMIT;"
} >$TMP/subs.sql

sed -e 's/\[user\]/[field0]/g; s/\[aor\]/[field0]/g' \
    -e 's/@EXPECT@/200/' "$TOP/tests/integration/sipp/register.xml" >$TMP/reg.xml

# run_sipp PORT: one run; prints "RATE FAILED". Runs are 33 s apart, so
# that each starts once the previous run's transactions are gone (RFC 3261
# Timer J keeps a completed non-INVITE transaction 32 s; sluiced holds at
# most 262,144, then answers 503).
run_sipp() {
	local t0 t1 okc fail
	t0=$(date +%s.%N)
	ns taskset -c $SIPP_CPU sipp -sf $TMP/reg.xml -inf $TMP/users.csv -au '[field0]' -ap '[field1]' -auth_uri ims.local -key domain ims.local \
		-key expires 3600 -r 100000 -l $CONC -m $CALLS -nostdin -timeout 120 \
		-trace_err -error_file $TMP/sipp-err.log -p 0 127.0.0.1:$1 >$TMP/sipp.out 2>&1
	t1=$(date +%s.%N)
	# What failed, kept for reading: build/bench/register-errors.log.
	[ -s $TMP/sipp-err.log ] && { echo "== port $1"; cat $TMP/sipp-err.log; } >>"$ERRLOG"
	rm -f $TMP/sipp-err.log
	okc=$(sed -n 's/^ *Successful call *| *[0-9]* *| *\([0-9]*\).*/\1/p' $TMP/sipp.out | tail -1)
	fail=$(sed -n 's/^ *Failed call *| *[0-9]* *| *\([0-9]*\).*/\1/p' $TMP/sipp.out | tail -1)
	echo "$(echo "${okc:-0} / ($t1 - $t0)" | bc -l | cut -d. -f1) ${fail:-?}"
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# ---- sluiced ----
cat >$TMP/sluice.conf <<CONF
[sip]
listen = 127.0.0.1:5060
domain = ims.local
keepalive = off
digest = md5, sha-256
auth_fail_limit = 1000000
[media]
interface = lo
address = 127.0.0.1
datapath = user
bpf_pin_dir = /sys/fs/bpf/sluice-bench-$$
[control]
ng = off
rtpproxy = off
[store]
db = $TMP/sluice.db
[log]
level = warn
CONF
# nsenter itself, not a function in a subshell: the kill must reach sluiced.
nsenter --net=/run/netns/$NS taskset -c $SERVER_CPU "$SLUICED" -c $TMP/sluice.conf \
	>$TMP/sluiced.log 2>&1 &
SPID=$!
PIDS+=($SPID)
sleep 1
sqlite3 $TMP/sluice.db <$TMP/subs.sql
s_rates=() s_fail=0
for ((r = 0; r < REPEAT; r++)); do
	((r > 0)) && sleep 33
	read -r rate fail < <(run_sipp 5060)
	s_rates+=("$rate")
	[ "$fail" = 0 ] || s_fail=$((s_fail + ${fail:-1}))
	echo "sluiced run $r: $rate registrations/s, $fail failed" >&2
done
s_cpu=$(ps -o times= -p $SPID)
kill $SPID
s_med=$(printf '%s\n' "${s_rates[@]}" | median)

# ---- Kamailio ----
k_med= k_fail=
KAM=$(command -v kamailio)
KMOD=$(dirname "$(find /usr/lib -name auth_db.so -path '*kamailio*' 2>/dev/null | head -1)")
if [ -n "$KAM" ] && [ -f "$KMOD/db_sqlite.so" ]; then
	sqlite3 $TMP/kam.db <<SQL
CREATE TABLE version (table_name VARCHAR(32) NOT NULL PRIMARY KEY, table_version INTEGER DEFAULT 0 NOT NULL);
INSERT INTO version VALUES ('subscriber', 7);
CREATE TABLE subscriber (id INTEGER PRIMARY KEY NOT NULL, username VARCHAR(64) DEFAULT '' NOT NULL,
  domain VARCHAR(64) DEFAULT '' NOT NULL, password VARCHAR(64) DEFAULT '' NOT NULL,
  ha1 VARCHAR(128) DEFAULT '' NOT NULL, ha1b VARCHAR(128) DEFAULT '' NOT NULL);
CREATE INDEX subscriber_account_idx ON subscriber (username, domain);
SQL
	{ echo "BEGIN;"; sed "s/\(.*\)|\(.*\)|\(.*\)/INSERT INTO subscriber (username, domain, ha1) VALUES ('\1', '\2', '\3');/" $TMP/kam-subs.txt; echo "COMMIT;"; } |
		sqlite3 $TMP/kam.db
	cat >$TMP/kamailio.cfg <<KCFG
#!KAMAILIO
debug=1
log_stderror=yes
fork=yes
children=1
listen=udp:127.0.0.1:5090
mpath="$KMOD/"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "db_sqlite.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("auth", "qop", "auth")
modparam("auth_db", "db_url", "sqlite://$TMP/kam.db")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "load_credentials", "")
modparam("usrloc", "db_mode", 0)
request_route {
	if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
	if (is_method("REGISTER")) {
		if (!auth_check("\$fd", "subscriber", "1")) { auth_challenge("\$fd", "1"); exit; }
		if (!save("location")) sl_reply_error();
		exit;
	}
	sl_send_reply("405", "Method Not Allowed");
}
KCFG
	nsenter --net=/run/netns/$NS taskset -c $SERVER_CPU "$KAM" -f $TMP/kamailio.cfg -P $TMP/kam.pid -m 256 -M 32 -E \
		>$TMP/kam.log 2>&1
	sleep 2
	k_rates=() k_fail=0
	sleep 1
	for ((r = 0; r < REPEAT; r++)); do
		((r > 0)) && sleep 33
		read -r rate fail < <(run_sipp 5090)
		k_rates+=("$rate")
		[ "$fail" = 0 ] || k_fail=$((k_fail + ${fail:-1}))
		echo "kamailio run $r: $rate registrations/s, $fail failed" >&2
	done
	kill "$(cat $TMP/kam.pid)" 2>/dev/null
	k_med=$(printf '%s\n' "${k_rates[@]}" | median)
else
	echo "register.sh: Kamailio (kamailio, kamailio-sqlite-modules) not installed: no peer" >&2
fi

mkdir -p "$(dirname "$OUT")"
{
	echo "| REGISTER with digest, $SUBS subscribers, one core | registrations/s (median of $REPEAT) | failed | vs Kamailio |"
	echo "|---|---|---|---|"
	echo "| sluiced (bindings written to sqlite) | $s_med | $s_fail | $([ -n "$k_med" ] && echo "scale=2; $s_med / $k_med" | bc)× |"
	[ -n "$k_med" ] && echo "| Kamailio 5.6 (auth_db sqlite, usrloc in memory, 1 worker) | $k_med | $k_fail | 1× |"
} | tee "$OUT"
