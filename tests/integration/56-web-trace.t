#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The SIP tracker, the dashboard's live push and the charts' history,
# with a running sluiced (userspace relay, in a namespace of its own): two
# sipp phones register and call; GET /api/siptrace (DSP SIPTRACE's twin)
# finds the call by number and by either leg's Call-ID and gives every
# message of both legs in order (INVITE, 100, 180, 200, ACK, BYE, 200),
# each openable whole, and MML's DSP SIPTRACE gives the same; bad
# searches get 4xx with a reason. GET /api/events streams one event a
# second (SYSINFO, streams by path, calls per second, interfaces), at most
# 8 at once; GET /api/history has its samples; /metrics counts the call
# and the tracker. Then sluiced again with trace_size = 6 keeps six
# messages, and with trace = off none.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/web-lib.sh"

require_root
require_cmd ip nsenter curl jq sipp
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"

WEB_NS=strc$$
netns_add $WEB_NS
web_sluiced $WEB_NS
plan 68

bearer=(-H "Authorization: Bearer $TOKEN")
web_phones_add
web_phones_register "registers"
web_phones_call 30
ok $? "2001 calls 2002"
is "$(api GET /api/calls '' "${bearer[@]}")" 200 "GET /api/calls"
A=$(jbody '.tables[0].rows[0].callid')
B=$(jbody '.tables[0].rows[0].bcallid')
like "$B" "@sluice$" "the call's two legs: $A and $B"

# ---- the live push, while the call is up ----
in_ns $WEB_NS curl -s -N --max-time 3.5 "${bearer[@]}" $WEB/api/events >$TMP/events
n=$(grep -c '^data: ' $TMP/events)
[ "$n" -ge 2 ] && [ "$n" -le 5 ]
ok $? "GET /api/events streams an event a second ($n in 3.5 s)"
grep '^data: ' $TMP/events | tail -1 | sed 's/^data: //' >$TMP/event
is "$(jq -r '.sysinfo.tables[0].values.REGISTRATIONS' $TMP/event)" 2 "... with DSP SYSINFO: two registrations"
is "$(jq -r '.sysinfo.tables[0].values.CALLS' $TMP/event)" 1 "... one call"
is "$(jq -r '.paths.user.streams' $TMP/event)" 2 "... its two stream directions on the user path"
like "$(jq -r '.interfaces | keys | join(",")' $TMP/event)" "." "... the interfaces' packet counters"
like "$(jq -r '.cps' $TMP/event)" "^[0-9.]+(e-?[0-9]+)?$" "... and calls per second"
is "$(in_ns $WEB_NS curl -s -o /dev/null -w '%{http_code}' --max-time 2 $WEB/api/events)" 401 \
	"no login: no events (401)"
# A stream whose browser went away holds its place until a write fails
# (a second or two): let the first one go.
sleep 3
pids=()
for i in 1 2 3 4 5 6 7 8; do
	in_ns $WEB_NS curl -s -N --max-time 6 "${bearer[@]}" $WEB/api/events >$TMP/stream-$i &
	pids+=($!)
done
# Each stream's first line (retry:) comes once it counts among the open ones.
for t in $(seq 50); do
	[ "$(cat $TMP/stream-? 2>/dev/null | grep -c '^retry:')" = 8 ] && break
	sleep 0.1
done
is "$(cat $TMP/stream-? | grep -c '^retry:')" 8 "eight streams open at once"
is "$(in_ns $WEB_NS curl -s -o $TMP/body -w '%{http_code}' --max-time 2 "${bearer[@]}" $WEB/api/events)" 503 \
	"a ninth stream at once: 503"
like "$(jbody .error)" "too many event streams" "... with a reason"
wait "${pids[@]}"
is "$(api POST /api/events '' "${bearer[@]}")" 405 "POST /api/events: 405"
is "$(api GET '/api/events?x=1' '' "${bearer[@]}")" 400 "GET /api/events with an argument: 400"

# ---- hang up, then the trace ----
is "$(api DELETE "/api/calls/$A" '' "${bearer[@]}")" 200 "the call hung up from the API"
wait $UAC
ok $? "the caller got its BYE"
wait $UAS
sleep 0.3

is "$(api GET /api/siptrace '' "${bearer[@]}")" 200 "GET /api/siptrace: the newest traced calls"
like "$(jbody '[.tables[0].rows[].callid] | join(" ")')" "$A" "... the call among them"
is "$(api GET '/api/siptrace?number=2002' '' "${bearer[@]}")" 200 "search by number 2002"
is "$(jbody '[.tables[0].rows[] | select(.callid == "'$A'")] | .[0].otherleg')" "$B" \
	"... finds the call, its other leg linked"
like "$(jbody '[.tables[0].rows[].first] | join(" | ")')" "REGISTER sip:ims.local" \
	"... and 2002's registrations"
is "$(api GET '/api/siptrace?number=2999' '' "${bearer[@]}")" 200 "a number never seen"
is "$(jbody '.tables[0].rows | length')" 0 "... finds nothing"

is "$(api GET "/api/siptrace?callid=$A" '' "${bearer[@]}")" 200 "the call's messages by the caller's Call-ID"
cp $TMP/body $TMP/ladder.json
ladder() { jq -r '.tables[0].rows[] | select(.leg == "'$1'") | "\(.dir) \(.message | split(" ") | if .[0] == "SIP/2.0" then .[1] else .[0] end)"' $TMP/ladder.json | tr '\n' ' '; }
is "$(ladder A)" "IN INVITE OUT 407 IN ACK IN INVITE OUT 100 OUT 180 OUT 200 IN ACK OUT BYE IN 200 " \
	"... the caller's leg: challenged INVITE, INVITE, 100, 180, 200, ACK, BYE, 200"
is "$(ladder B)" "OUT INVITE IN 180 IN 200 OUT ACK OUT BYE IN 200 " \
	"... the callee's leg: INVITE, 180, 200, ACK, BYE, 200"
jq -r '.tables[0].rows[].us' $TMP/ladder.json >$TMP/us
sort -n -c $TMP/us
ok $? "... with their times in order"
is "$(jq -r '[.tables[0].rows[] | select(.leg == "A") | .callid] | unique | join(" ")' $TMP/ladder.json)" "$A" \
	"... leg A's under its Call-ID"
is "$(jq -r '[.tables[0].rows[] | select(.leg == "B") | .callid] | unique | join(" ")' $TMP/ladder.json)" "$B" \
	"... leg B's under sluice's"
is "$(jq -r '[.tables[0].rows[] | select(.dir == "IN" and .leg == "A") | .src] | unique | join(" ")' $TMP/ladder.json)" \
	"127.0.0.1:5064" "... leg A from the caller's address"
is "$(jq -r '[.tables[0].rows[] | select(.dir == "OUT" and .leg == "B") | .dst] | unique | join(" ")' $TMP/ladder.json)" \
	"127.0.0.1:5065" "... leg B to the callee's"
is "$(jq -r '[.tables[0].rows[].proto] | unique | join(" ")' $TMP/ladder.json)" UDP "... over UDP"
api GET "/api/siptrace?callid=$B" '' "${bearer[@]}" >/dev/null
is "$(jq -c '[.tables[0].rows[].seq]' $TMP/body)" "$(jq -c '[.tables[0].rows[].seq]' $TMP/ladder.json)" \
	"the callee leg's Call-ID finds the same messages"

seq=$(jq -r '.tables[0].rows[] | select(.leg == "B" and .dir == "OUT") | .seq' $TMP/ladder.json | head -1)
is "$(api GET "/api/siptrace?seq=$seq" '' "${bearer[@]}")" 200 "one message whole by its SEQ"
like "$(jbody '.text | join("\n")')" "^INVITE sip:2002@127.0.0.1:5065" "... its request line"
like "$(jbody '.text | join("\n")')" "Call-ID: $B" "... its headers"
like "$(jbody '.text | join("\n")')" "m=audio [0-9]+ RTP/AVP" "... and its SDP"

(umask 077 && printf 'user=admin\npassword=web-admin-pw\n' >$TMP/cred)
in_ns $WEB_NS "$SLUICECTL" -c $TMP/sluice.conf mml -a $TMP/cred "DSP SIPTRACE: CALLID=\"$A\";" >$TMP/mml 2>&1
like "$(cat $TMP/mml)" "RETCODE = 0" "MML: DSP SIPTRACE"
is "$(grep -c " $A " $TMP/mml)" "$(jq '[.tables[0].rows[] | select(.leg == "A")] | length' $TMP/ladder.json)" \
	"... the same leg-A messages as the API"

# ---- bad searches ----
is "$(api GET '/api/siptrace?number=2001@x' '' "${bearer[@]}")" 400 "a number with @: 400"
like "$(jbody .error)" "NUMBER is a user part" "... with a reason"
is "$(api GET "/api/siptrace?number=2001&callid=$A" '' "${bearer[@]}")" 400 "a number and a Call-ID: 400"
is "$(api GET '/api/siptrace?seq=abc' '' "${bearer[@]}")" 400 "SEQ not a number: 400"
is "$(api GET '/api/siptrace?seq=99999999' '' "${bearer[@]}")" 404 "SEQ of no message: 404"
is "$(api GET '/api/siptrace?colour=red' '' "${bearer[@]}")" 400 "an unknown field: 400"
is "$(api GET /api/siptrace)" 401 "no login: 401"

# ---- history and metrics ----
sleep 8
is "$(api GET /api/history '' "${bearer[@]}")" 200 "GET /api/history"
is "$(jbody .step)" 10 "... a sample every 10 s"
like "$(jbody '.samples | length')" "^[2-9][0-9]*$" "... its samples so far and now's ($(jbody '.samples | length'))"
is "$(jbody '[.samples[:-1][] | .cps * 10] | add | round')" 1 "... the call counted in calls per second"
is "$(jbody '.samples[-1].regs')" 2 "... now's registrations"
is "$(api GET '/api/history?from=1' '' "${bearer[@]}")" 400 "GET /api/history with an argument: 400"
like "$(jbody .error)" "takes no arguments" "... with a reason"
is "$(api DELETE /api/history '' "${bearer[@]}")" 405 "DELETE /api/history: 405"
in_ns $WEB_NS curl -s $WEB/metrics >$TMP/metrics
like "$(cat $TMP/metrics)" "sluice_calls_started_total 1" "/metrics: calls started"
like "$(cat $TMP/metrics)" "sluice_sip_trace_messages [1-9]" "... the tracker's messages"
like "$(cat $TMP/metrics)" 'sluice_call_mos_bucket\{le="\+Inf"\} [0-9]+' "... the MOS histogram"
if command -v promtool >/dev/null; then
	out=$(promtool check metrics <$TMP/metrics 2>&1)
	ok $? "promtool check metrics accepts it" || diag "$out"
else
	skip "promtool not installed (Debian prometheus)"
fi

# ---- a small ring, and none ----
in_ns $WEB_NS curl -s -N --max-time 20 "${bearer[@]}" $WEB/api/events >$TMP/open-stream &
STREAM=$!
sleep 1.5
t0=$(date +%s)
kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly with a dashboard's stream open (no sanitizer report)" ||
	diag "$(tail -20 $TMP/sluiced.log)"
wait $STREAM
[ $(($(date +%s) - t0)) -le 5 ]
ok $? "... at once, ending the stream ($(($(date +%s) - t0)) s)"
web_sluiced $WEB_NS http.trace_size=6
web_phones_register "registers again"
is "$(in_ns $WEB_NS curl -s $WEB/metrics | grep '^sluice_sip_trace_messages ')" "sluice_sip_trace_messages 6" \
	"trace_size = 6: six messages kept"
kill -TERM $SPID
wait $SPID
web_sluiced $WEB_NS http.trace=off
is "$(api GET /api/siptrace '' "${bearer[@]}")" 404 "trace = off: nothing traced (404)"
like "$(jbody .error)" "tracker is off" "... says why"
kill -TERM $SPID
wait $SPID
done_testing
