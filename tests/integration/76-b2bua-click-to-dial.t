#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Click-to-dial (ORG TESTCALL with BRIDGE): sluiced calls the sipp phone
# 2001, and once it answers calls 2002 with 2001's media and connects the
# two through the relay; RTP flows both ways (rtpio on each phone, a
# capture at each counting what arrives); the API hangs the call up and
# both phones get their BYE; the CDR is a test call from 2002 to 2001.
# Then 2001 answers and hangs up while 2002 still rings: 2002 gets a
# CANCEL (it would ring on otherwise), and the call ends.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/web-lib.sh"

require_root
require_cmd ip nsenter sipp tcpdump curl jq perl
[ -x "$SLUICED" ] && [ -x "$RTPIO" ] || skip_all "build first (make, make unit-bins)"

WEB_NS=sctd$$
netns_add $WEB_NS
web_sluiced $WEB_NS
plan 17

auth=(-H "Authorization: Bearer $TOKEN")
web_phones_add
web_phones_register "registers"

# Both phones answer one call each and wait for a BYE.
for u in 2001:5064:7064 2002:5065:7065; do
	IFS=: read -r user port mp <<<"$u"
	in_ns $WEB_NS sipp -sf $TOP/tests/integration/sipp/uas_answer.xml -m 1 -nostdin \
		-timeout 30 -timeout_error -i 127.0.0.1 -p $port -mp $mp 127.0.0.1:5060 \
		>$TMP/uas-$user.out 2>&1 &
	eval "UAS_$user=$!"
done
cleanup_add "kill $UAS_2001 $UAS_2002 2>/dev/null"
sleep 0.5

out=$(in_ns $WEB_NS perl $TOP/tests/tools/mmlc.pl 127.0.0.1:7777 \
	'LGI: OP="admin", PWD="web-admin-pw";' 'ORG TESTCALL: CALLEE="2001", BRIDGE="2002";')
like "$out" "RETCODE = 0 " "MML: ORG TESTCALL: CALLEE=2001, BRIDGE=2002" || diag "$out"
callid=$(printf '%s\n' "$out" | grep -o '[0-9a-f]\{16\}@testcall' | head -1)
wait_for $TMP/sluiced.log "sip:2001@ims.local and sip:2002@ims.local bridged" 50
ok $? "2001 answers, then 2002 is called and answers: bridged" ||
	diag "$(grep -E 'testcall|call\]' $TMP/sluiced.log | tail -5)"

api GET "/api/calls" '' "${auth[@]}" >/dev/null
is "$(jbody '.tables[0].rows[0] | "\(.caller) \(.callee) \(.state)"')" \
	"sip:2002@ims.local sip:2001@ims.local ACTIVE" "DSP CALL: 2002 to 2001, up"
api GET "/api/streams" '' "${auth[@]}" >/dev/null
p2002=$(jbody '.tables[0].rows[] | select(.leg == "A") | .relayport')
p2001=$(jbody '.tables[0].rows[] | select(.leg == "B") | .relayport')

# RTP both ways: one packet each to latch, then 100 at 50 a second.
N=100
in_ns $WEB_NS "$RTPIO" send 127.0.0.1:7164 127.0.0.1:$p2001 1 1111 50 >/dev/null 2>&1
in_ns $WEB_NS "$RTPIO" send 127.0.0.1:7165 127.0.0.1:$p2002 1 2222 50 >/dev/null 2>&1
sleep 0.3
nsenter --net=/run/netns/$WEB_NS tcpdump -U --immediate-mode -i lo -n -w $TMP/to2001.pcap \
	udp dst port 7164 2>/dev/null &
T1=$!
nsenter --net=/run/netns/$WEB_NS tcpdump -U --immediate-mode -i lo -n -w $TMP/to2002.pcap \
	udp dst port 7165 2>/dev/null &
T2=$!
cleanup_add "kill $T1 $T2 2>/dev/null"
sleep 1
in_ns $WEB_NS "$RTPIO" send 127.0.0.1:7164 127.0.0.1:$p2001 $N 1111 50 1 >/dev/null 2>&1 &
R1=$!
in_ns $WEB_NS "$RTPIO" send 127.0.0.1:7165 127.0.0.1:$p2002 $N 2222 50 1 >/dev/null 2>&1 &
R2=$!
wait $R1 $R2
sleep 0.5
kill $T1 $T2
wait $T1 $T2 2>/dev/null
got() { "$RTPIO" pcap $1 $2 | sed -n "s/.*frames \([0-9]*\) .*/\1 /p"; }
like "$(got $TMP/to2002.pcap 7165)" "^$N " "2002 receives every packet 2001 sends ($N)"
like "$(got $TMP/to2001.pcap 7164)" "^$N " "2001 receives every packet 2002 sends"
api GET "/api/streams" '' "${auth[@]}" >/dev/null
is "$(jbody '[.tables[0].rows[].packets] | map(tostring) | join(" ")')" "$((N + 1)) $((N + 1))" \
	"the relay counted both directions"

is "$(api DELETE "/api/calls/$callid" '' "${auth[@]}")" 200 "the API hangs the call up"
wait $UAS_2001
ok $? "2001 got its BYE" || diag "$(tail -5 $TMP/uas-2001.out)"
wait $UAS_2002
ok $? "2002 got its BYE" || diag "$(tail -5 $TMP/uas-2002.out)"
sleep 0.3
api GET '/api/cdrs?type=CALL&limit=1' '' "${auth[@]}" >/dev/null
is "$(jbody '.tables[0].rows[0] | "\(.caller) \(.callee) \(.disposition) \(.testcall)"')" \
	"2002 2001 ANSWERED YES" "the CDR: a test call from 2002 to 2001, answered"

# The first party hangs up while the second one's phone rings.
in_ns $WEB_NS sipp -sf $TOP/tests/integration/sipp/uas_hangup.xml -m 1 -nostdin -d 2000 \
	-timeout 30 -timeout_error -i 127.0.0.1 -p 5064 -mp 7064 127.0.0.1:5060 \
	>$TMP/uas2-2001.out 2>&1 &
UAS2_2001=$!
in_ns $WEB_NS sipp -sf $TOP/tests/integration/sipp/uas_ring.xml -m 1 -nostdin \
	-timeout 30 -timeout_error -i 127.0.0.1 -p 5065 -mp 7065 127.0.0.1:5060 \
	>$TMP/uas2-2002.out 2>&1 &
UAS2_2002=$!
cleanup_add "kill $UAS2_2001 $UAS2_2002 2>/dev/null"
sleep 0.5
out=$(in_ns $WEB_NS perl $TOP/tests/tools/mmlc.pl 127.0.0.1:7777 \
	'LGI: OP="admin", PWD="web-admin-pw";' 'ORG TESTCALL: CALLEE="2001", BRIDGE="2002";')
like "$out" "RETCODE = 0 " "MML: a second click-to-dial, 2001 to 2002" || diag "$out"
wait $UAS2_2001
ok $? "2001 answers and hangs up after 2 s" || diag "$(tail -5 $TMP/uas2-2001.out)"
wait $UAS2_2002
ok $? "2002, still ringing, gets a CANCEL (and answers it 200, the INVITE 487)" ||
	diag "$(tail -5 $TMP/uas2-2002.out; grep testcall $TMP/sluiced.log | tail -3)"
wait_for $TMP/sluiced.log "hung up while sip:2002@ims.local rang: cancelling" 20
ok $? "sluiced says why it cancelled" || diag "$(grep testcall $TMP/sluiced.log | tail -3)"

kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
done_testing
