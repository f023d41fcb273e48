#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A locked database does not stop SIP (issue 16). Calls go through the
# B2BUA at a steady rate while another process (the sqlite3 CLI) holds
# BEGIN EXCLUSIVE on sluiced's database for 6 s: every call is answered
# and ends normally, the event loop's longest iteration while the lock is
# held (DSP SYSINFO's LOOP figures, restarted by CLR SYSINFO when the lock
# is taken) stays under 10 ms (30 ms for the ASan/UBSan build), a REGISTER sent during the lock is
# answered 200 only after the lock is gone (its binding committed first),
# and once the writer gets through, every CDR and both bindings are in the
# database and no media session row outlives its call.
#
# Then back-pressure: sluiced again with [store] queue = 2 and the
# database locked; a REGISTER fills the queue and waits, the next request
# gets 503 with Retry-After, an MML change RETCODE 8; both are logged once,
# as is the recovery, and the waiting REGISTER gets its 200.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../b2bua-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp sqlite3 perl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"

C=slc$$ R=slr$$ E=sle$$
PIN=/sys/fs/bpf/sluice-test-l$$
DB=$TMP/sluice.db
relay_topology $C $R $E
B2BUA_CONF=(mml.admin_password=lock-test-pw)
b2bua_sluiced $R $PIN default 30000-30999
plan 23

SIPP_DIR=$TOP/tests/integration/sipp
MMLC=$TOP/tests/tools/mmlc.pl
mml() { in_ns $R perl $MMLC 127.0.0.1:7777 'LGI: OP="admin", PWD="lock-test-pw";' "$@"; }
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
register() {	# register NS IP PORT USER PASSWORD
	in_ns $1 sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 30 -timeout_error -key user $4 \
		-key aor $4 -key domain ims.local -key expires 600 -au $4 -ap $5 \
		-i $2 -p $3 10.0.$([ $1 = $C ] && echo 1 || echo 2).1:5060 >$TMP/reg-$4.out 2>&1
}
# lock SECONDS: BEGIN EXCLUSIVE held that long by another process; $TMP/unlocked
# holds the time it let go (just before its COMMIT).
lock() {
	rm -f $TMP/lock.out $TMP/unlocked
	{ echo ".timeout 5000"; echo "BEGIN EXCLUSIVE;"; echo "SELECT 'locked';"
	  sleep $1; date +%s.%N >$TMP/unlocked; echo "COMMIT;"; } |
		sqlite3 $DB >$TMP/lock.out 2>&1 &
	LOCK=$!
	wait_for $TMP/lock.out locked 50
}

register $E 10.0.2.2 5062 1002 callee-pw
ok $? "the callee registers" || diag "$(tail -5 $TMP/reg-1002.out)"

CALLS=200
in_ns $E sipp -sf $SIPP_DIR/uas_answer.xml -m $CALLS -nostdin -timeout 60 -timeout_error \
	-i 10.0.2.2 -p 5062 -trace_err -error_file $TMP/uas-err.log 10.0.2.1:5060 \
	>$TMP/uas.out 2>&1 &
UAS=$!
sleep 0.5
# 20 calls a second for 10 s, each up for 1 s; the lock from 2 s to 8 s.
in_ns $C sipp -sf $SIPP_DIR/uac_call.xml -m $CALLS -r 20 -nostdin -timeout 60 \
	-timeout_error -key user 1001 -key target 1002 -key domain ims.local -d 1000 \
	-au 1001 -ap caller-pw -i 10.0.1.2 -p 5061 -trace_err -error_file $TMP/uac-err.log \
	10.0.1.1:5060 >$TMP/uac.out 2>&1 &
UAC=$!
sleep 2
lock 6
ok $? "another process holds the database locked (BEGIN EXCLUSIVE)" || diag "$(cat $TMP/lock.out)"
mml 'CLR SYSINFO:;' >/dev/null		# the loop's figures from here: the lock's time
sleep 1
register $C 10.0.1.2 5063 1001 caller-pw
reg_rc=$? reg_done=$(date +%s.%N)
ok $reg_rc "a REGISTER sent during the lock is answered 200" ||
	diag "$(tail -5 $TMP/reg-1001.out)"
wait $LOCK
mml 'DSP SYSINFO:;' >$TMP/sysinfo.out	# the lock's time, and a moment after
awk -v a="$reg_done" -v b="$(cat $TMP/unlocked)" 'BEGIN { exit !(a > b) }'
ok $? "... only after the lock was released: its binding was committed first" ||
	diag "200 at $reg_done, unlocked at $(cat $TMP/unlocked)"
wait $UAC
ok $? "$CALLS calls at 20 per second through the lock: all answered and ended" ||
	diag "$(grep -E 'Successful call|Failed call' $TMP/uac.out | tail -2; head -5 $TMP/uac-err.log)"
wait $UAS
ok $? "... and taken by the callee" || diag "$(head -5 $TMP/uas-err.log)"

sysinfo() { sed -n "s/^ *$1  *\([0-9][0-9]*\).*/\1/p" $TMP/sysinfo.out | head -1; }
stall=$(sysinfo "LOOP STALL MAX") cpu=$(sysinfo "LOOP CPU MAX") waited=$(sysinfo "LOOP WAIT MAX")
load=$(cut -d' ' -f1 /proc/loadavg) ncpu=$(nproc)
# 10 ms for sluiced as shipped. Built with ASan and UBSan (make check's
# build/san/agent) the same work takes about three times as long: 30 ms.
bound=10000 build=plain
ldd "$SLUICED" 2>/dev/null | grep -q libasan && bound=30000 build="ASan/UBSan"
ok "$([ -n "$cpu" ] && [ "$cpu" -lt $bound ] && echo 0 || echo 1)" \
	"during the lock, the loop's own work in any iteration stayed under $((bound / 1000)) ms ($build build: ${cpu:-?} us of CPU)"
# On a host busier than its CPUs (other tests, builds) the wall clock also
# counts the time the loop was preempted: then only the time it spent off
# the CPU is judged, far below the lock's 6 s and sqlite's 100 ms waits.
if awk -v l="$load" -v n="$ncpu" 'BEGIN { exit !(l <= n) }'; then
	ok "$([ -n "$stall" ] && [ "$stall" -lt $bound ] && echo 0 || echo 1)" \
		"... and its longest iteration, wall clock, too (${stall:-?} us)"
else
	ok "$([ -n "$waited" ] && [ "$waited" -lt 50000 ] && echo 0 || echo 1)" \
		"... and it was never off the CPU 50 ms in an iteration (${waited:-?} us; load $load on $ncpu CPUs, so the wall clock's ${stall:-?} us is not judged)"
fi
[ "${stall:-99999}" -lt $bound ] || diag "$(grep -E 'LOOP|STORE' $TMP/sysinfo.out)"
retries=$(sysinfo "STORE RETRIES")
ok "$([ "${retries:-0}" -gt 0 ] && echo 0 || echo 1)" "the writer retried while locked ($retries)"
like "$(cat $TMP/sluiced.log)" "cannot write .* keeping them queued and retrying" \
	"the wait is logged"
like "$(cat $TMP/sluiced.log)" "writable again: .* written after" "... and its end"
! grep -Eq "database locked|forgetting a media session|not stored" $TMP/sluiced.log
ok $? "nothing failed or was dropped for the lock" ||
	diag "$(grep -E "database locked|forgetting a media session|not stored" $TMP/sluiced.log)"

# The writer catches up within a moment of the lock going.
for i in $(seq 50); do
	[ "$(sqlite3 $DB "SELECT count(*) FROM cdr WHERE record_type = 'CALL'")" = $CALLS ] &&
		[ "$(sqlite3 $DB 'SELECT count(*) FROM media_sessions')" = 0 ] && break
	sleep 0.1
done
is "$(sqlite3 $DB "SELECT count(*) FROM cdr WHERE record_type = 'CALL' AND open = 0 AND
	disposition = 'ANSWERED' AND close_reason = 'normal'")" $CALLS \
	"every call's CDR is in the database, closed and answered"
is "$(sqlite3 $DB "SELECT count(*) FROM cdr WHERE record_type = 'REGISTER' AND status_code = 200")" 2 \
	"... and both REGISTERs' event rows"
is "$(sqlite3 $DB "SELECT group_concat(aor) FROM (SELECT aor FROM registrations ORDER BY aor)")" \
	"sip:1001@ims.local,sip:1002@ims.local" "both bindings are in the database"
is "$(sqlite3 $DB 'SELECT count(*) FROM media_sessions')" 0 \
	"no media session row outlives its call"

kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"

# ---- back-pressure ----
mv $TMP/sluiced.log $TMP/sluiced-1.log
B2BUA_CONF=(mml.admin_password=lock-test-pw store.queue=2)
b2bua_sluiced $R $PIN default 30000-30999
lock 5
sipc() { local ns=$1; shift; in_ns $ns perl "$TOP/tests/tools/sipc.pl" "$@"; }
# 1001's REGISTER: its binding and the fence behind it fill the queue of 2.
sipc $C --user 1001 --pass caller-pw --port 5063 10.0.1.1:5060 >$TMP/parked.out 2>&1 &
PARKED=$!
sleep 1
sipc $E --user 1002 --pass callee-pw --port 5064 --print 10.0.2.1:5060 >$TMP/refused.out 2>&1
like "$(head -1 $TMP/refused.out)" "^SIP/2.0 503 " "a full queue answers the next REGISTER 503"
like "$(cat $TMP/refused.out)" "Retry-After: 5" "... with Retry-After"
mml 'ADD USER: USERNAME="1003", PASSWORD="third-pw";' >$TMP/mml-busy.out
like "$(cat $TMP/mml-busy.out)" "RETCODE = 8 .*store busy" "... and an MML change RETCODE 8 and why"
wait $LOCK
wait $PARKED
like "$(cat $TMP/parked.out)" "200" "the waiting REGISTER gets its 200 once the lock is gone"
wait_for $TMP/sluiced.log "caught up" 50
like "$(cat $TMP/sluiced.log)" "refusing new work until it catches up" "the full queue is logged"
like "$(cat $TMP/sluiced.log)" "caught up .* refused meanwhile" "... and the recovery"
done_testing
