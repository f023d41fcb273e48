#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Nothing acknowledged is lost when sluiced dies (issue 16): sipp registers
# 3,000 subscribers, each its own AOR, at 300 a second, and sluiced is
# killed with SIGKILL in the middle of the burst, with writes still queued
# for its writer thread. Every AOR sipp saw a 200 for has its binding in
# the database afterwards (a 200 to REGISTER leaves only once the writer
# committed it), and the next sluiced restores them.
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
perl -e 'print "{", join(",", map { "\"u$_\": {\"username\": \"u$_\", \"password\": \"pw-u$_\"}" }
	1 .. $ARGV[0]), "}\n"' $N >$TMP/users.json
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
plan 6

sed -e 's/\[user\]/[field0]/g; s/\[aor\]/[field0]/g; s/@EXPECT@/200/' \
	$TOP/tests/integration/sipp/register.xml >$TMP/reg.xml
in_ns $S sipp -sf $TMP/reg.xml -inf $TMP/users.csv -au '[field0]' -ap '[field1]' \
	-key domain ims.local -key expires 3600 -m $N -r 300 -nostdin -timeout 20 \
	-i 127.0.0.1 -p 5070 -trace_msg -message_file $TMP/msgs.log $SIP >$TMP/sipp.out 2>&1 &
SIPP=$!
sleep 4
kill -KILL $SPID
wait $SPID 2>/dev/null
sleep 2
kill $SIPP 2>/dev/null
wait $SIPP 2>/dev/null

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

rows=$(wc -l <$TMP/rows.txt)
start
like "$(cat $TMP/sluiced.log)" "\[reg\] $rows registrations restored" \
	"the next sluiced restores all $rows bindings"
kill -TERM $SPID
wait $SPID
ok $? "and stops cleanly (no sanitizer report)"
done_testing
