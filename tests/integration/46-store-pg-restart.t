#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# PostgreSQL restarted under load (issue 16): sipp registers 1,500
# subscribers (put into PostgreSQL with psql: sluiced reads them at
# connect) at 150 a second while calls go through the B2BUA at 10 a
# second, and the test stops PostgreSQL for 3 s in the middle. sluiced
# logs the lost connection, keeps the changes queued (REGISTERs wait for
# their commit, so their 200s wait too), connects again, and writes them:
# every AOR sipp saw a 200 for has its row in PostgreSQL, and every call
# answered has its CDR there.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pg-lib.sh"

require_root
require_cmd ip nsenter sipp perl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
pg_start
N=1500
S=pr$$
netns_add $S
SIP=127.0.0.1:5060
sluice_conf $TMP/sluice.conf sip.listen=$SIP sip.domain=ims.local mml.listen=off \
	"store.db=$PG_CONNINFO" store.local=$TMP/local.db store.node=n1 store.node_address=$SIP

# The schema first: sluiced makes it when it connects.
nsenter --net=/run/netns/$S "$SLUICED" -c $TMP/sluice.conf >$TMP/first.log 2>&1 &
pid=$!
wait_for $TMP/first.log "running|cannot" 100
kill -TERM $pid
wait $pid
# The subscribers, straight into the shared table: HA1s made by PostgreSQL.
psql_q "INSERT INTO subscribers (impu, username, realm, ha1_md5, ha1_sha256, created, updated)
	SELECT 'sip:' || u || '@ims.local', u, 'ims.local', md5(u || ':ims.local:pw-' || u),
	       encode(sha256(convert_to(u || ':ims.local:pw-' || u, 'UTF8')), 'hex'), 0, 0
	FROM (SELECT 'u' || g AS u FROM generate_series(1, $N) g
	      UNION ALL SELECT 'caller' UNION ALL SELECT 'callee') s" >/dev/null ||
	skip_all "cannot insert subscribers with psql"
{ echo SEQUENTIAL; for i in $(seq $N); do echo "u$i;pw-u$i"; done; } >$TMP/users.csv

nsenter --net=/run/netns/$S "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
cleanup_add 'kill $SPID 2>/dev/null'
wait_for $TMP/sluiced.log "running|cannot" 100
grep -q "connected as node n1" $TMP/sluiced.log ||
	skip_all "sluiced did not reach PostgreSQL: $(tail -3 $TMP/sluiced.log)"
plan 10

D=$TOP/tests/integration/sipp
sed "s/@EXPECT@/200/" $D/register.xml >$TMP/reg1.xml
in_ns $S sipp -sf $TMP/reg1.xml -m 1 -nostdin -timeout 10 -timeout_error -key user callee \
	-key aor callee -key domain ims.local -key expires 600 -au callee -ap pw-callee \
	-p 5080 $SIP >$TMP/reg-callee.out 2>&1
ok $? "the callee registers with the subscriber psql put in PostgreSQL" ||
	diag "$(tail -3 $TMP/reg-callee.out; tail -3 $TMP/sluiced.log)"
nsenter --net=/run/netns/$S sipp -sf $D/uas_answer.xml -nostdin -p 5080 -mp 7080 $SIP >$TMP/uas.out 2>&1 &
UAS=$!
nsenter --net=/run/netns/$S sipp -sf $D/uac_call.xml -r 10 -m 120 -d 200 -nostdin -key user caller \
	-key target callee -key domain ims.local -au caller -ap pw-caller -p 5081 -mp 7081 \
	-trace_msg -message_file $TMP/calls.log $SIP >$TMP/uac.out 2>&1 &
UAC=$!
sed -e 's/\[user\]/[field0]/g; s/\[aor\]/[field0]/g; s/@EXPECT@/200/' $D/register.xml >$TMP/reg.xml
nsenter --net=/run/netns/$S sipp -sf $TMP/reg.xml -inf $TMP/users.csv -au '[field0]' -ap '[field1]' \
	-key domain ims.local -key expires 3600 -m $N -r 150 -nostdin -timeout 40 \
	-i 127.0.0.1 -p 5070 -trace_msg -message_file $TMP/msgs.log $SIP >$TMP/sipp.out 2>&1 &
SIPP=$!
sleep 3
before=$(psql_q "SELECT count(*) FROM registrations")
pg_down
sleep 3
pg_up
ok $? "PostgreSQL is back after 3 s away"
wait $SIPP $UAC 2>/dev/null
sleep 2
kill $UAS 2>/dev/null
wait $UAS 2>/dev/null

like "$(cat $TMP/sluiced.log)" "PostgreSQL unreachable" "sluiced logs that it lost PostgreSQL"
like "$(cat $TMP/sluiced.log)" "PostgreSQL reachable again after" "... and that it is back"
perl -ne '
	if (/^UDP message received/) { $in = 1; $ok = 0; next }
	if (/^UDP message sent/) { $in = 0; next }
	next unless $in;
	$ok = 1 if m{^SIP/2\.0 200 };
	print "$1\n" if $ok && /^To:\s*<sip:(u\d+)\@/i;
' $TMP/msgs.log | sort -u >$TMP/acked.txt
acked=$(wc -l <$TMP/acked.txt)
psql_q "SELECT substr(aor, 5, strpos(aor, '@') - 5) FROM registrations WHERE aor LIKE 'sip:u%'" |
	sort -u >$TMP/rows.txt
ok $((acked > before + 100 ? 0 : 1)) \
	"REGISTERs went on being acknowledged across the restart ($before rows before it, $acked acknowledged)"
is "$(comm -23 $TMP/acked.txt $TMP/rows.txt | wc -l)" 0 \
	"every AOR acknowledged with a 200 has its row in PostgreSQL" ||
	diag "missing: $(comm -23 $TMP/acked.txt $TMP/rows.txt | head -5 | xargs)"

perl -ne '
	if (/^UDP message received/) { $in = 1; $ok = $inv = 0; $id = ""; next }
	if (/^UDP message sent/) { $in = 0; next }
	next unless $in;
	$ok = 1 if m{^SIP/2\.0 200 };
	$inv = 1 if /^CSeq:\s*\d+ INVITE/i;
	$id = $1 if /^Call-ID:\s*(\S+)/i;
	if (/^\s*$/ && $ok && $inv && $id) { print "$id\n"; $ok = 0 }
' $TMP/calls.log | sort -u >$TMP/answered.txt
psql_q "SELECT a_call_id FROM cdr WHERE record_type = 'CALL' AND open = 0" | sort -u >$TMP/cdrs.txt
answered=$(wc -l <$TMP/answered.txt)
ok $((answered > 50 ? 0 : 1)) "calls were answered across the restart ($answered)"
is "$(comm -23 $TMP/answered.txt $TMP/cdrs.txt | wc -l)" 0 \
	"every answered call has its closed CDR row in PostgreSQL" ||
	diag "missing: $(comm -23 $TMP/answered.txt $TMP/cdrs.txt | head -3 | xargs)"
is "$(psql_q "SELECT count(DISTINCT node) || ' ' || min(node) FROM cdr")" "1 n1" \
	"the CDR rows carry the node that wrote them"
kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)"
done_testing
