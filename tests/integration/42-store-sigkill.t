#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Nothing acknowledged is lost when sluiced dies (issue 16): sipp registers
# 3,000 subscribers, each its own AOR, at 300 a second, while calls go
# through the B2BUA at 20 a second, and sluiced is killed with SIGKILL in
# the middle of the burst, with writes still queued for its writer thread.
# Every AOR sipp saw a 200 for has its binding in the database afterwards
# (a 200 to REGISTER leaves only once the writer committed it), every call
# answered a second or more before the kill has its CDR row (durable
# within CDR_FLUSH_MS and a commit), and the next sluiced restores the
# bindings and closes those rows as "restart".
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter sipp sqlite3 perl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"

S=sk$$
netns_add $S
SIP=127.0.0.1:5060
DB=$TMP/sluice.db
N=3000
sluice_conf $TMP/sluice.conf sip.listen=$SIP sip.domain=ims.local mml.listen=off store.db=$DB

# N subscribers, user u1..uN with password pw-uI, through the importer.
perl -e 'print "{", join(",", map { "\"$_\": {\"username\": \"$_\", \"password\": \"pw-$_\"}" }
	"caller", "callee", map { "u$_" } 1 .. $ARGV[0]), "}\n"' $N >$TMP/users.json
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null ||
	skip_all "import-users failed"
{ echo SEQUENTIAL; for i in $(seq $N); do echo "u$i;pw-u$i"; done; } >$TMP/users.csv

start() {	# a fresh log each time: $TMP/sluiced.log
	[ -f $TMP/sluiced.log ] && mv $TMP/sluiced.log $TMP/sluiced-killed.log
	nsenter --net=/run/netns/$S "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
	SPID=$!
	wait_for $TMP/sluiced.log "running|cannot" 100
}
start
cleanup_add 'kill $SPID 2>/dev/null'
grep -q "\[sip\] listening on $SIP" $TMP/sluiced.log ||
	skip_all "sluiced did not start its SIP server: $(tail -3 $TMP/sluiced.log)"
plan 10

D=$TOP/tests/integration/sipp
sed "s/@EXPECT@/200/" $D/register.xml >$TMP/reg1.xml
in_ns $S sipp -sf $TMP/reg1.xml -m 1 -nostdin -timeout 10 -timeout_error -key user callee \
	-key aor callee -key domain ims.local -key expires 600 -au callee -ap pw-callee \
	-p 5080 $SIP >$TMP/reg-callee.out 2>&1
ok $? "the callee registers" || diag "$(tail -3 $TMP/reg-callee.out)"
# nsenter itself, not in_ns: a function in the background is a subshell,
# whose pid $! names, and killing it would leave sipp running on.
nsenter --net=/run/netns/$S sipp -sf $D/uas_answer.xml -nostdin -p 5080 -mp 7080 $SIP >$TMP/uas.out 2>&1 &
UAS=$!
nsenter --net=/run/netns/$S sipp -sf $D/uac_call.xml -r 20 -m 400 -d 300 -nostdin -key user caller \
	-key target callee -key domain ims.local -au caller -ap pw-caller -p 5081 -mp 7081 \
	-trace_msg -message_file $TMP/calls.log $SIP >$TMP/uac.out 2>&1 &
UAC=$!

sed -e 's/\[user\]/[field0]/g; s/\[aor\]/[field0]/g; s/@EXPECT@/200/' \
	$TOP/tests/integration/sipp/register.xml >$TMP/reg.xml
nsenter --net=/run/netns/$S sipp -sf $TMP/reg.xml -inf $TMP/users.csv -au '[field0]' -ap '[field1]' \
	-key domain ims.local -key expires 3600 -m $N -r 300 -nostdin -timeout 20 \
	-i 127.0.0.1 -p 5070 -trace_msg -message_file $TMP/msgs.log $SIP >$TMP/sipp.out 2>&1 &
SIPP=$!
sleep 4
killed=$(date +%s.%N)
kill -KILL $SPID
wait $SPID 2>/dev/null
sleep 2
kill $SIPP $UAC $UAS 2>/dev/null
wait $SIPP $UAC $UAS 2>/dev/null

# The AORs sipp received a 200 for: the To of each 200 to a REGISTER.
perl -ne '
	if (/^UDP message received/) { $in = 1; $ok = 0; next }
	if (/^UDP message sent/) { $in = 0; next }
	next unless $in;
	$ok = 1 if m{^SIP/2\.0 200 };
	print "$1\n" if $ok && /^To:\s*<sip:(u\d+)\@/i;
' $TMP/msgs.log | sort -u >$TMP/acked.txt
acked=$(wc -l <$TMP/acked.txt)
sqlite3 $DB "SELECT substr(aor, 5, instr(aor, '@') - 5) FROM registrations" | sort -u >$TMP/rows.txt
ok "$([ "$acked" -gt 100 ] && echo 0 || echo 1)" "sipp saw 200s before the kill ($acked)"
ok "$([ "$acked" -lt $N ] && echo 0 || echo 1)" "... and sluiced died in the middle of the burst"
missing=$(comm -23 $TMP/acked.txt $TMP/rows.txt | wc -l)
is "$missing" 0 "every AOR acknowledged with a 200 has its binding in the database" ||
	diag "missing: $(comm -23 $TMP/acked.txt $TMP/rows.txt | head -5 | xargs)"
is "$(sqlite3 $DB 'PRAGMA integrity_check')" ok "the database is intact"

# The calls answered (a 200 to their INVITE) at least 1 s before the kill.
perl -MTime::Local -ne '
	if (/^-+ (\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+(?:\.\d+)?)/) {
		$t = timelocal(int($6), $5, $4, $3, $2 - 1, $1) + $6 - int($6); next }
	if (/^UDP message received/) { $in = 1; $ok = $inv = 0; $id = ""; next }
	if (/^UDP message sent/) { $in = 0; next }
	next unless $in;
	$ok = 1 if m{^SIP/2\.0 200 };
	$inv = 1 if /^CSeq:\s*\d+ INVITE/i;
	$id = $1 if /^Call-ID:\s*(\S+)/i;
	if (/^\s*$/ && $ok && $inv && $id && $t < $kill - 1) { print "$id\n"; $ok = 0 }
	BEGIN { $kill = shift @ARGV }
' $killed $TMP/calls.log 2>/dev/null | sort -u >$TMP/answered.txt
sqlite3 $DB "SELECT a_call_id FROM cdr WHERE record_type = 'CALL'" | sort -u >$TMP/cdrs.txt
answered=$(wc -l <$TMP/answered.txt)
ok "$([ "$answered" -gt 10 ] && echo 0 || echo 1)" "calls were answered before the kill ($answered)"
is "$(comm -23 $TMP/answered.txt $TMP/cdrs.txt | wc -l)" 0 \
	"every call answered a second before the kill has its CDR row" ||
	diag "missing: $(comm -23 $TMP/answered.txt $TMP/cdrs.txt | head -3 | xargs)"

rows=$(wc -l <$TMP/rows.txt)
start
like "$(cat $TMP/sluiced.log)" "\[reg\] $rows registrations restored" \
	"the next sluiced restores all $rows bindings"
# A call answered in the last few ms before the kill may be adopted without
# its row (written within CDR_FLUSH_MS); no row stays open without its call.
open_rows=$(sqlite3 $DB "SELECT count(*) FROM cdr WHERE record_type = 'CALL' AND open = 1")
adopted=$(grep -c 'adopted$' $TMP/sluiced.log)
ok "$([ "$open_rows" -le "$adopted" ] && echo 0 || echo 1)" \
	"... adopts the calls up at the kill and closes every other row ($open_rows open, $adopted adopted)"
kill -TERM $SPID
wait $SPID
ok $? "and stops cleanly (no sanitizer report)"
done_testing
