#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Test calls: sluiced calls a registered sipp phone and plays it the
# shipped prompt (share/prompts/tone.wav, 2 s of A-law: 100 packets of
# 20 ms), then hangs up with BYE. Originated from MML (ORG TESTCALL) and
# from the API (POST /api/testcalls); the phone's side counts the RTP in
# a capture; the CDR is marked as a test call; [testcall] rate refuses
# the fifth call of the minute; a number that is no subscriber goes to
# the trunk; the console's Test call form starts
# one (headless Chromium, when there); an OPERATOR may not originate one.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/web-lib.sh"

require_root
require_cmd ip nsenter sipp tcpdump curl jq perl
[ -x "$SLUICED" ] && [ -x "$RTPIO" ] || skip_all "build first (make, make unit-bins)"

WEB_NS=stc$$
netns_add $WEB_NS
web_sluiced $WEB_NS testcall.rate=4 testcall.prompts=$TOP/share/prompts \
	trunk.address=127.0.0.2:5090 trunk.username=trunkuser trunk.password=trunk-secret
plan 29

auth=(-H "Authorization: Bearer $TOKEN")
web_phones_add
web_phones_register "registers"
mml() { in_ns $WEB_NS perl $TOP/tests/tools/mmlc.pl 127.0.0.1:7777 \
	'LGI: OP="admin", PWD="web-admin-pw";' "$@"; }

# answer N [SCENARIO ADDR PORT MEDIAPORT]: the phone 2002 (or another)
# answers one call, what reaches its media port captured.
answer() {
	local sf=${2:-$TOP/tests/integration/sipp/uas_answer.xml} mp=${5:-7065}
	MP=$mp
	nsenter --net=/run/netns/$WEB_NS tcpdump -U --immediate-mode -i lo -n -w $TMP/rtp$1.pcap \
		udp dst port $mp 2>/dev/null &
	TCPDUMP=$!
	sleep 0.5
	in_ns $WEB_NS sipp -sf $sf -m 1 -nostdin -timeout 20 -timeout_error -trace_err -error_file $TMP/uas$1.err \
		-i ${3:-127.0.0.1} -p ${4:-5065} -mp $mp 127.0.0.1:5060 >$TMP/uas$1.out 2>&1 &
	UAS=$!
	cleanup_add "kill $UAS $TCPDUMP 2>/dev/null"
	sleep 0.3
}
# heard N: the capture's summary (frames, first and last sequence number).
heard() {
	sleep 0.3
	kill $TCPDUMP 2>/dev/null
	wait $TCPDUMP 2>/dev/null
	"$RTPIO" pcap $TMP/rtp$1.pcap $MP |
		sed -n 's/.*frames \([0-9]*\) .*first_seq \([0-9]*\) last_seq \([0-9]*\).*/\1 \2 \3/p' |
		awk '{print $1, $3 - $2 + 1}'
}

# Refusals first: they do not count towards the rate.
api POST /api/subscribers '{"username": "2003", "password": "pw-2003-x"}' "${auth[@]}" >/dev/null
like "$(mml 'ORG TESTCALL: CALLEE="2003";')" "RETCODE = 4 .*not registered" \
	"MML: a subscriber that is not registered: RETCODE 4"
like "$(mml 'ORG TESTCALL: CALLEE="nobody";')" "RETCODE = 4 .*not registered" \
	"MML: neither a subscriber nor a number for the trunk: RETCODE 4"
like "$(mml 'ORG TESTCALL: CALLEE="2002", PROMPT="../etc/passwd";')" "RETCODE = [34] " \
	"MML: a prompt that is not a plain file name is refused"
api POST /api/operators '{"op": "viewer", "pwd": "viewer-pw-1", "role": "OPERATOR"}' "${auth[@]}" >/dev/null
web_login viewer viewer-pw-1
is "$(api POST /api/testcalls '{"callee": "2002"}')" 403 "API: an OPERATOR may not originate a test call"
CSRF=

# MML.
answer 1
out=$(mml 'ORG TESTCALL: CALLEE="2002";')
like "$out" "RETCODE = 0 " "MML: ORG TESTCALL to 2002" || diag "$out"
like "$out" "[0-9a-f]{16}@testcall +2002 +tone.wav" "... names the call and its prompt"
wait $UAS
ok $? "the phone answered, and sluiced hung up with BYE" || diag "$(tail -5 $TMP/uas1.out)"
is "$(heard 1)" "100 100" "the phone received the prompt: 100 RTP packets (2 s / 20 ms), in sequence"
like "$(cat $TMP/sluiced.log)" "the prompt is over \(100 packets\), hanging up" "sluiced's log says why it hung up"
sleep 0.3
api GET '/api/cdrs?type=CALL&limit=1' '' "${auth[@]}" >/dev/null
is "$(jbody '.tables[0].rows[0] | "\(.caller) \(.callee) \(.disposition) \(.testcall)"')" \
	"testcall 2002 ANSWERED YES" "the CDR: answered, marked as a test call"
like "$(jbody '.tables[0].rows[0].reason')" "normal by system" "... hung up by the system"
api GET '/api/cdrs.csv?type=CALL' '' "${auth[@]}" >/dev/null
is "$(head -1 $TMP/body | tr -d '\r' | awk -F, '{print $NF}') $(tail -1 $TMP/body | tr -d '\r' | awk -F, '{print $NF}')" \
	"test_call 1" "the CSV export's last column marks it too"

# The API twin.
answer 2
is "$(api POST /api/testcalls '{"callee": "2002", "prompt": "tone.wav"}' "${auth[@]}")" 200 \
	"API: POST /api/testcalls with the token"
like "$(jbody '.tables[0].rows[0].callid')" "@testcall$" "... answers the call's id"
wait $UAS
ok $? "the phone answered, and sluiced hung up with BYE" || diag "$(tail -5 $TMP/uas2.out)"
is "$(heard 2)" "100 100" "the phone received the whole prompt again"

# The console's form: the third call of the minute.
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ] && command -v node >/dev/null &&
	[ -d "$TOP/tests/web/node_modules/playwright-core" ]; then
	answer 3
	CHROMIUM=$CHROMIUM nsenter --net=/run/netns/$WEB_NS node $TOP/tests/web/testcall.js $WEB 2002 \
		>$TMP/browser.out 2>&1
	ok $? "browser: the Test call form starts a test call" || diag "$(cat $TMP/browser.out)"
	wait $UAS
	ok $? "... which the phone answers, and sluiced hangs up" || diag "$(tail -5 $TMP/uas3.out)"
	is "$(heard 3)" "100 100" "... after the whole prompt" ||
		diag "$("$RTPIO" pcap $TMP/rtp3.pcap 7065; tcpdump -r $TMP/rtp3.pcap -n 2>/dev/null | sed -n '1p;$p')"
else
	skip "no chromium, node or playwright-core: the console's form not tried"
	skip "(the same)"
	skip "(the same)"
fi

# A number that is no subscriber goes to the trunk ([trunk] rewrite, its
# challenge answered with the trunk's credentials).
sed "s|@RURI@|sip:0301234@127[.]0[.]0[.]2:5090[^ ]*|; s|@USER@|trunkuser|; s|@PASS@|trunk-secret|" \
	$TOP/tests/integration/sipp/uas_trunk.xml >$TMP/uas_trunk.xml
answer 4 $TMP/uas_trunk.xml 127.0.0.2 5090 8090
like "$(mml 'ORG TESTCALL: CALLEE="0301234";')" "RETCODE = 0 " "MML: a test call to a trunk number"
wait $UAS
ok $? "the trunk is called (challenge answered), answers, and gets the BYE" ||
	diag "$(tail -5 $TMP/uas4.out; tail -20 $TMP/uas4.err)"
is "$(heard 4)" "100 100" "... after the whole prompt"

# [testcall] rate = 4: a fifth within the minute is refused.
is "$(api POST /api/testcalls '{"callee": "2002"}' "${auth[@]}")" 503 "API: the fifth test call of the minute: 503"
like "$(jbody .error)" "more than 4 test calls a minute" "... and says why"
like "$(mml 'ORG TESTCALL: CALLEE="2002";')" "RETCODE = 8 " "MML: refused as well (RETCODE 8)"
api GET /api/calls '' "${auth[@]}" >/dev/null
is "$(jbody '.tables[0].rows | length')" 0 "no call is left"

kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
done_testing
