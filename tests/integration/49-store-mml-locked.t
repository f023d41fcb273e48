#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# MML and web API changes go through the store's writer (issue 16): while
# another process (the sqlite3 CLI) holds BEGIN EXCLUSIVE on sluiced's
# database for 5 s and calls go through the B2BUA at 20 per second, an
# operator adds, changes and removes subscribers, operators, blacklist
# entries and CDRs over MML, and adds a subscriber and imports a
# users.json over the web API. Nothing waits on the loop: the calls all
# go through, the loop's own work in any iteration stays under 10 ms
# (30 ms with ASan/UBSan), and a second MML connection is answered at
# once meanwhile. The changes' replies come only after the lock is gone
# (the change committed first), in the order sent, RETCODE 0, or the
# reason the database gave (a subscriber that exists: RETCODE 5). Every
# change is in the database afterwards, and the SIP server sees the
# changed subscribers (a REGISTER with the new password gets 200).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../b2bua-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp sqlite3 perl curl jq
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"

C=smc$$ R=smr$$ E=sme$$
PIN=/sys/fs/bpf/sluice-test-m$$
DB=$TMP/sluice.db
TOKEN=mml-lock-token-0123456789abcdef
relay_topology $C $R $E
B2BUA_CONF=(mml.admin_password=lock-test-pw http.listen=127.0.0.1:8080 http.token=$TOKEN)
b2bua_sluiced $R $PIN default 30000-30999
grep -q "\[http\] listening on 127.0.0.1:8080" $TMP/sluiced.log ||
	skip_all "no web listener: $(grep http $TMP/sluiced.log | tail -1)"
plan 27

SIPP_DIR=$TOP/tests/integration/sipp
MMLC=$TOP/tests/tools/mmlc.pl
mml() { in_ns $R perl $MMLC 127.0.0.1:7777 'LGI: OP="admin", PWD="lock-test-pw";' "$@"; }
api() {		# api METHOD PATH BODY: the status; the body in $TMP/api-body-$N
	in_ns $R curl -s -o $TMP/api-body-$4 -w '%{http_code}' -X "$1" \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		--data-binary "$3" "http://127.0.0.1:8080$2"
}
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
register() {	# register NS IP PORT USER PASSWORD
	in_ns $1 sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 30 -timeout_error -key user $4 \
		-key aor $4 -key domain ims.local -key expires 600 -au $4 -ap $5 \
		-i $2 -p $3 10.0.$([ $1 = $C ] && echo 1 || echo 2).1:5060 >$TMP/reg-$4.out 2>&1
}
lock() {	# lock SECONDS: BEGIN EXCLUSIVE from another process; $TMP/unlocked: when it let go
	rm -f $TMP/lock.out $TMP/unlocked
	{ echo ".timeout 5000"; echo "BEGIN EXCLUSIVE;"; echo "SELECT 'locked';"
	  sleep $1; date +%s.%N >$TMP/unlocked; echo "COMMIT;"; } |
		sqlite3 $DB >$TMP/lock.out 2>&1 &
	LOCK=$!
	wait_for $TMP/lock.out locked 50
}
# A CDR old enough for CLR CDR to take (it keeps the last 7 days).
sqlite3 $DB "INSERT INTO cdr (id, record_type, a_call_id, invite_ms, open)
	VALUES (999999, 'CALL', 'old-call', 1000, 0)" 2>$TMP/cdr-err ||
	diag "an old CDR not inserted: $(cat $TMP/cdr-err)"

register $E 10.0.2.2 5062 1002 callee-pw
ok $? "the callee registers" || diag "$(tail -5 $TMP/reg-1002.out)"

CALLS=200
in_ns $E sipp -sf $SIPP_DIR/uas_answer.xml -m $CALLS -nostdin -timeout 60 -timeout_error \
	-i 10.0.2.2 -p 5062 -trace_err -error_file $TMP/uas-err.log 10.0.2.1:5060 \
	>$TMP/uas.out 2>&1 &
UAS=$!
sleep 0.5
# 20 calls a second for 10 s, each up for 1 s; the lock from 2 s to 7 s.
in_ns $C sipp -sf $SIPP_DIR/uac_call.xml -m $CALLS -r 20 -nostdin -timeout 60 \
	-timeout_error -key user 1001 -key target 1002 -key domain ims.local -d 1000 \
	-au 1001 -ap caller-pw -i 10.0.1.2 -p 5061 -trace_err -error_file $TMP/uac-err.log \
	10.0.1.1:5060 >$TMP/uac.out 2>&1 &
UAC=$!
sleep 2
lock 5
ok $? "another process holds the database locked (BEGIN EXCLUSIVE)" || diag "$(cat $TMP/lock.out)"
mml 'CLR SYSINFO:;' >/dev/null		# the loop's figures from here: the lock's time
sent=$(date +%s.%N)
mml 'ADD USER: USERNAME="3001", PASSWORD="three-pw-1";' \
	'MOD USER: USERNAME="1002", DISPLAYNAME="Callee, changed";' \
	'ADD BLACKLIST: PREFIX="192.0.2.0/24", REASON="test";' \
	'ADD BLACKLIST: PREFIX="198.51.100.0/24";' \
	'RMV BLACKLIST: PREFIX="198.51.100.0/24";' \
	'ADD OP: OP="ops2", PWD="ops2-password", ROLE="OPERATOR";' \
	'MOD OP: OP="ops2", ROLE="ADMIN";' \
	'ADD USER: USERNAME="3001", PASSWORD="three-pw-2";' \
	'CLR CDR: BEFORE="2020-01-01";' \
	'MOD USER: USERNAME="3001", PASSWORD="three-pw-3";' >$TMP/mml-w.out 2>&1 &
MMLW=$!
api POST /api/subscribers '{"username": "3002", "password": "three-pw-x"}' 1 >$TMP/api-1.st &
API1=$!
cat >$TMP/import.json <<JSON
{ "3003": { "username": "3003", "password": "three-pw-y", "display_name": "Imported" } }
JSON
in_ns $R curl -s -o $TMP/api-body-2 -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary @$TMP/import.json http://127.0.0.1:8080/api/subscribers/import \
	>$TMP/api-2.st &
API2=$!
sleep 1
# Meanwhile another operator is answered at once: the loop does not wait.
mml 'DSP SYSINFO:;' >$TMP/mml-r.out
ms=$(sed -n 's/^=== 2 \([0-9]*\) .*/\1/p' $TMP/mml-r.out)
like "$(cat $TMP/mml-r.out)" "RETCODE = 0" "during the lock, another MML connection's DSP SYSINFO is answered" 
ok "$([ -n "$ms" ] && [ "$ms" -lt 1000 ] && echo 0 || echo 1)" "... at once (${ms:-?} ms)"
ok "$(kill -0 $MMLW 2>/dev/null && echo 0 || echo 1)" "... while the changes' replies still wait"
wait $LOCK
wait $MMLW
wait $API1 $API2
unlocked=$(cat $TMP/unlocked)
# When the first change's reply came: when sent plus its wait.
first=$(sed -n 's/^=== 2 \([0-9]*\) .*/\1/p' $TMP/mml-w.out)
awk -v s="$sent" -v ms="${first:-0}" -v u="$unlocked" 'BEGIN { exit !(s + ms / 1000 > u) }'
ok $? "the first change's reply came after the lock was released (${first:-?} ms)" ||
	diag "sent $sent, unlocked $unlocked"
rc() { awk -v n=$1 '/^=== / { cur = $2 } cur == n && /RETCODE = / { print $3; exit }' $TMP/mml-w.out; }
is "$(rc 2):$(rc 3):$(rc 4):$(rc 5):$(rc 6):$(rc 7):$(rc 8)" "0:0:0:0:0:0:0" \
	"ADD USER, MOD USER, ADD BLACKLIST twice, RMV BLACKLIST, ADD OP, MOD OP: RETCODE 0"
like "$(awk '/^=== 9 /,/END/' $TMP/mml-w.out)" "RETCODE = 5 +subscriber 3001 exists" \
	"ADD USER of a subscriber that exists by then: RETCODE 5 and why"
like "$(awk '/^=== 10 /,/END/' $TMP/mml-w.out)" "REMOVED +1" "CLR CDR removed the old CDR"
is "$(rc 11)" 0 "MOD USER after them: RETCODE 0"
is "$(grep -c '^=== [0-9]' $TMP/mml-w.out)" 11 "every command answered, in order" ||
	diag "$(cat $TMP/mml-w.out)"
is "$(cat $TMP/api-1.st)" 200 "the web API's POST /api/subscribers: 200 once written" ||
	diag "$(cat $TMP/api-body-1)"
is "$(cat $TMP/api-2.st):$(jq -r .added $TMP/api-body-2)" "200:1" \
	"the web API's users.json import: 200, one added" || diag "$(cat $TMP/api-body-2)"
wait $UAC
ok $? "$CALLS calls at 20 per second through the lock: all answered and ended" ||
	diag "$(grep -E 'Successful call|Failed call' $TMP/uac.out | tail -2; head -5 $TMP/uac-err.log)"
wait $UAS
ok $? "... and taken by the callee" || diag "$(head -5 $TMP/uas-err.log)"

mml 'DSP SYSINFO:;' >$TMP/sysinfo.out
sysinfo() { sed -n "s/^ *$1  *\([0-9][0-9]*\).*/\1/p" $TMP/sysinfo.out | head -1; }
cpu=$(sysinfo "LOOP CPU MAX")
bound=10000 build=plain
ldd "$SLUICED" 2>/dev/null | grep -q libasan && bound=30000 build="ASan/UBSan"
ok "$([ -n "$cpu" ] && [ "$cpu" -lt $bound ] && echo 0 || echo 1)" \
	"the loop's own work in any iteration stayed under $((bound / 1000)) ms ($build build: ${cpu:-?} us of CPU)" ||
	diag "$(grep -E 'LOOP|STORE' $TMP/sysinfo.out)"

q() { sqlite3 $DB "$1"; }
is "$(q "SELECT group_concat(username) FROM (SELECT username FROM subscribers WHERE username LIKE '300%' ORDER BY username)")" \
	"3001,3002,3003" "the three subscribers are in the database"
is "$(q "SELECT display_name FROM subscribers WHERE username = '1002'")" "Callee, changed" \
	"... and the changed display name"
is "$(q "SELECT group_concat(prefix) FROM blacklist")" "192.0.2.0/24" \
	"the blacklist holds the one added and not the one removed"
is "$(q "SELECT role FROM operators WHERE name = 'ops2'")" "ADMIN" "the operator added, then changed"
is "$(q "SELECT count(*) FROM cdr WHERE id = 999999")" 0 "the old CDR is gone"
is "$(q "SELECT count(*) FROM cdr WHERE record_type = 'CALL' AND open = 0 AND disposition = 'ANSWERED'")" \
	$CALLS "every call's CDR is in the database"
like "$(mml 'DSP BLACKLIST:;')" "192.0.2.0/24" "DSP BLACKLIST shows the entry"

# The SIP server sees the changes: the subscriber's last password.
register $C 10.0.1.2 5063 3001 three-pw-3
ok $? "3001 registers with the password of the last MOD USER" ||
	diag "$(tail -5 $TMP/reg-3001.out)"
register $C 10.0.1.2 5064 3003 three-pw-y
ok $? "3003, imported over the web API, registers" || diag "$(tail -5 $TMP/reg-3003.out)"
! grep -Eq "database locked|not stored|no reply" $TMP/sluiced.log
ok $? "nothing failed or was dropped for the lock" ||
	diag "$(grep -E "database locked|not stored|no reply" $TMP/sluiced.log)"

kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
done_testing
