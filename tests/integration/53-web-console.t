#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The console in a real browser: tests/web/console.js (playwright-core,
# Debian's chromium, headless) against a running sluiced (userspace relay,
# in a namespace of its own), while this script plays the phones: two
# sipp phones register and call once the browser has added them, RTP
# flows both ways; while the browser watches the live calls page a
# second call (2001 to 2003) comes and goes, which the page must show
# and drop from the pushed events alone; the browser hangs the first
# call up and reads its ladder diagram in the SIP trace. Screenshots and the
# exported CSV land in build/web-*.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/web-lib.sh"

require_root
require_cmd ip nsenter sipp
[ -x "$SLUICED" ] && [ -x "$RTPIO" ] || skip_all "build first (make, make unit-bins)"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip_all "no chromium (Debian chromium, in make deps)"
command -v node >/dev/null || skip_all "no node (the machine's node 20)"
[ -d "$TOP/tests/web/node_modules/playwright-core" ] ||
	skip_all "no playwright-core in tests/web/node_modules (make deps installs it with npm)"

WEB_NS=scon$$
netns_add $WEB_NS
web_sluiced $WEB_NS
plan 48

SHOTS=$TOP/build
mkdir -p $SHOTS $TMP/steps
rm -f $SHOTS/web-*.png $SHOTS/web-cdrs.csv
CHROMIUM=$CHROMIUM nsenter --net=/run/netns/$WEB_NS node $TOP/tests/web/console.js $WEB \
	$TMP/steps $SHOTS >$TMP/browser.out 2>&1 &
BROWSER=$!
cleanup_add "kill $BROWSER"

# The phones, once the browser has added their subscribers.
wait_for_file() { local i; for ((i = 0; i < $2; i++)); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }
wait_for_file $TMP/steps/subs-added 600
ok $? "the browser added the subscribers" || diag "$(tail -5 $TMP/browser.out)"
web_phones_register "registers with the password the browser set"
web_phones_call 60
ok $? "2001 calls 2002"
pa=$(in_ns $WEB_NS curl -s -H "Authorization: Bearer $TOKEN" $WEB/api/streams |
	jq -r '.tables[0].rows[] | select(.leg == "A") | .relayport')
pb=$(in_ns $WEB_NS curl -s -H "Authorization: Bearer $TOKEN" $WEB/api/streams |
	jq -r '.tables[0].rows[] | select(.leg == "B") | .relayport')
# RTP both ways for up to 30 s, 25 packets a second: the counters move.
nsenter --net=/run/netns/$WEB_NS "$RTPIO" send 127.0.0.1:7164 127.0.0.1:$pa 750 1111 25 >/dev/null 2>&1 &
RA=$!
nsenter --net=/run/netns/$WEB_NS "$RTPIO" send 127.0.0.1:7165 127.0.0.1:$pb 750 2222 25 >/dev/null 2>&1 &
RB=$!
cleanup_add "kill $RA $RB"
sleep 0.5
touch $TMP/steps/call-up

# The second call, while the browser watches the live calls page: 2003
# (added with the token, registered on 5066) answers 2001 calling from
# 5067, and 2001 hangs up after 4 s.
wait_for_file $TMP/steps/calls-watched 600
ok $? "the browser watches the live calls page" || diag "$(tail -5 $TMP/browser.out)"
api POST /api/subscribers '{"username": "2003", "password": "pw-2003-x"}' \
	-H "Authorization: Bearer $TOKEN" >/dev/null
in_ns $WEB_NS sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user 2003 \
	-key aor 2003 -key domain ims.local -key expires 600 -au 2003 -ap pw-2003-x \
	-i 127.0.0.1 -p 5066 127.0.0.1:5060 >$TMP/reg-2003.out 2>&1
ok $? "2003 registers" || diag "$(tail -3 $TMP/reg-2003.out)"
in_ns $WEB_NS sipp -sf $TOP/tests/integration/sipp/uas_answer.xml -m 1 -nostdin -timeout 30 \
	-timeout_error -i 127.0.0.1 -p 5066 -mp 7090 127.0.0.1:5060 >$TMP/uas2.out 2>&1 &
UAS2=$!
cleanup_add "kill $UAS2"
in_ns $WEB_NS sipp -sf $TOP/tests/integration/sipp/uac_call.xml -m 1 -nostdin -timeout 30 \
	-timeout_error -d 4000 -key user 2001 -key target 2003 -key domain ims.local -au 2001 \
	-ap pw-2001-x -auth_uri 2003@ims.local -i 127.0.0.1 -p 5067 -mp 7080 127.0.0.1:5060 \
	>$TMP/uac2.out 2>&1
ok $? "2001 calls 2003 for 4 s and hangs up" || diag "$(tail -5 $TMP/uac2.out)"
wait $UAS2
ok $? "... and 2003 saw the BYE"
touch $TMP/steps/call2-done

wait $BROWSER
ok $? "the browser run passes" || diag "$(grep -v '^RESULT 0' $TMP/browser.out | tail -5)"
while read -r tag rc what; do
	[ "$tag" = RESULT ] && ok "$rc" "browser: $what"
done <$TMP/browser.out
wait $UAC
ok $? "the hang-up button sent the caller a BYE" || diag "$(tail -5 $TMP/uac.out)"
wait $UAS
ok $? "... and the callee"
kill $RA $RB 2>/dev/null
ls $SHOTS/web-login.png $SHOTS/web-dashboard.png $SHOTS/web-calls.png $SHOTS/web-subscribers.png \
	$SHOTS/web-cdrs.png $SHOTS/web-trace.png >/dev/null
ok $? "screenshots of every page in build/"

kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
done_testing
