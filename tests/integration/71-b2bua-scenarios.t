#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Calls through the B2BUA that do not simply connect, with sipp on both
# sides (callees registered with digest authentication, callers
# authenticated with 407; the shipped [sip] digest and sipp's own digest
# defaults): busy, no answer within ring_timeout, the caller cancelling
# while it rings, the callee hanging up, a caller that ACKs the 407 on a
# fresh branch, hold and resume by re-INVITE, early media (183 with SDP),
# an unknown callee, a callee with no binding, forking to two contacts of
# one subscriber (one answers, the other is cancelled), and a silent call
# hung up on both legs by the media timeout with a Reason.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter sipp
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"

S=sbs$$
netns_add $S
SIP=127.0.0.1:5060
sluice_conf $TMP/sluice.conf \
	sip.listen=$SIP sip.domain=ims.local sip.ring_timeout=2 \
	media.timeout=3
printf '{' >$TMP/users.json
for u in 1001 1002 1003 1004; do
	printf '"%s": {"username": "%s", "password": "pw%s"},' $u $u $u >>$TMP/users.json
done
printf '"1005": {"username": "1005", "password": "pw1005"}}' >>$TMP/users.json
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null ||
	skip_all "import-users failed"
nsenter --net=/run/netns/$S "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
cleanup_add "kill $SPID"
wait_for $TMP/sluiced.log "running|cannot" 100
grep -q "\[sip\] listening" $TMP/sluiced.log || skip_all "sluiced has no SIP server"
plan 34

D=$TOP/tests/integration/sipp
expect() {	# expect SCENARIO CODE: a copy of SCENARIO with @EXPECT@ = CODE
	sed "s/@EXPECT@/$2/; s/@REASON@/${3:-false}/" $D/$1.xml >$TMP/$1-$2.xml
	echo $TMP/$1-$2.xml
}
reg() {	# reg USER PORT
	in_ns $S sipp -sf "$(expect register 200)" -m 1 -nostdin -timeout 10 -timeout_error \
		-key user $1 -key aor $1 -key domain ims.local -key expires 600 -au $1 -ap pw$1 \
		-p $2 $SIP >$TMP/reg.out 2>&1
}
uas() {	# uas SCENARIO PORT [sipp options]: a callee in the background ($!)
	local scen=$1 port=$2
	shift 2
	in_ns $S sipp -sf $D/$scen.xml -m 1 -nostdin -timeout 20 -timeout_error -p $port \
		-mp $((port + 1000)) "$@" $SIP >$TMP/uas-$port.out 2>&1 &
}
uac() {	# uac SCENARIO-FILE TARGET [sipp options]: caller 1001
	local file=$1 target=$2
	shift 2
	in_ns $S sipp -sf $file -m 1 -nostdin -timeout 20 -timeout_error -key user 1001 \
		-key target $target -key domain ims.local -au 1001 -ap pw1001 \
		-p 5061 -mp 7061 "$@" $SIP >$TMP/uac.out 2>&1
}

reg 1002 5062
ok $? "1002 registers at port 5062"

uas uas_busy 5062
P=$!
sleep 0.3
uac "$(expect uac_final 486)" 1002
ok $? "busy: the caller gets the callee's 486"
wait $P
ok $? "... and the callee got its ACK"

uas uas_ring 5062
P=$!
sleep 0.3
uac "$(expect uac_final 480)" 1002
ok $? "no answer within ring_timeout: 480 to the caller"
wait $P
ok $? "... and CANCEL to the callee (200, 487, ACK)"
like "$(cat $TMP/sluiced.log)" "no answer within 2 s" "... logged"

uas uas_ring 5062
P=$!
sleep 0.3
uac $D/uac_cancel.xml 1002
ok $? "the caller cancels while it rings: 200 to the CANCEL, 487"
wait $P
ok $? "... and the callee's INVITE is cancelled too"

uas uas_hangup 5062 -d 500
P=$!
sleep 0.3
uac "$(expect uac_wait_bye x false)" 1002
ok $? "the callee hangs up: the caller gets the BYE"
wait $P
ok $? "... and the callee's BYE is answered 200"
like "$(cat $TMP/sluiced.log)" "ended: the callee hung up" "... logged"

uas uas_answer 5062
P=$!
sleep 0.3
uac $D/uac_call.xml 1002 -d 500
ok $? "the caller hangs up"
wait $P
ok $? "... and the callee gets the BYE"

# The 407's ACK on a fresh branch; the pause outlasts the 407's first
# retransmissions, which a 407 left unacknowledged would make.
uas uas_answer 5062
P=$!
sleep 0.3
uac $D/uac_ack_branch.xml 1002 -d 2500
ok $? "a caller that ACKs the 407 on a fresh branch: the call connects, its BYE gets 200" ||
	diag "$(grep -E 'SIP/2.0 [0-9]+|Aborting|Unexpected' $TMP/uac.out | tail -5)"
wait $P
ok $? "... and the callee gets the BYE"

uas uas_hold 5062
P=$!
sleep 0.3
uac $D/uac_hold.xml 1002
ok $? "hold and resume by re-INVITE: the caller's offers answered recvonly, then sendrecv"
wait $P
ok $? "... the callee saw sendonly, then sendrecv, through the relay"

uas uas_early 5062
P=$!
sleep 0.3
uac $D/uac_early.xml 1002 -d 300
ok $? "early media: the caller's 183 carries the relay's SDP, then 200"
wait $P
ok $? "... and the callee's call completes"

uac "$(expect uac_final 404)" 4444
ok $? "an unknown callee: 404"
uac "$(expect uac_final 480)" 1003
ok $? "a subscriber with no binding: 480"

reg 1004 5071 && reg 1004 5072
ok $? "1004 registers two contacts"
uas uas_answer 5071
P1=$!
uas uas_ring 5072
P2=$!
sleep 0.3
uac $D/uac_call.xml 1004 -d 300
ok $? "forking: the call to 1004 is answered"
wait $P1
ok $? "... by the contact that answered"
wait $P2
ok $? "... and the other one is cancelled (200, 487, ACK)"
like "$(cat $TMP/sluiced.log)" "sip:1004@ims.local: 2 branches" "... both were called"

uas uas_answer 5062
P=$!
sleep 0.3
uac "$(expect uac_wait_bye x true)" 1002
ok $? "a silent call: the caller gets a BYE with a Reason after the media timeout"
wait $P
ok $? "... and so does the callee"
like "$(cat $TMP/sluiced.log)" "media timed out, hanging up" "... logged"
kill -TERM $SPID
wait $SPID
rc=$?
ok $rc "sluiced stops cleanly (no sanitizer report)"
[ $rc = 0 ] || diag "$(grep -A24 -E 'Sanitizer|runtime error' $TMP/sluiced.log | head -50)"

# Each attempt's CDR, in the order made: disposition, final status, why it
# closed and who released it.
cdrs=$(sqlite3 $TMP/sluice.db "SELECT callee_number, disposition, status_code, close_reason,
	released_by FROM cdr WHERE record_type = 'CALL' ORDER BY id")
want="1002|BUSY|486|normal|callee
1002|NO ANSWER|480|normal|system
1002|CANCELLED|487|normal|caller
1002|ANSWERED|200|normal|callee
1002|ANSWERED|200|normal|caller
1002|ANSWERED|200|normal|caller
1002|ANSWERED|200|normal|caller
1002|ANSWERED|200|normal|caller
4444|FAILED|404|normal|system
1003|FAILED|480|normal|system
1004|ANSWERED|200|normal|caller
1002|ANSWERED|200|media timeout|system"
is "$cdrs" "$want" "a CDR per attempt: busy, no answer, cancelled, answered and hung up by either side, ACKed on a fresh branch, unknown callee, unregistered, forked, media timeout"
is "$(sqlite3 $TMP/sluice.db "SELECT count(*) FROM cdr WHERE record_type = 'CALL' AND
	disposition = 'ANSWERED' AND (answer_ms < ring_ms OR answer_ms < invite_ms OR
	end_ms < answer_ms OR billable_s < 1 OR codec != 'PCMA/8000' OR open != 0 OR
	b_call_id NOT LIKE '%@sluice' OR caller_number != '1001' OR datapath != 'user')")" 0 \
	"... answered ones with times in order, talk time, codec, both Call-IDs, closed"
is "$(sqlite3 $TMP/sluice.db "SELECT count(*) FROM cdr WHERE record_type = 'CALL' AND
	disposition != 'ANSWERED' AND (answer_ms != 0 OR billable_s != 0 OR end_ms < invite_ms)")" 0 \
	"... the others never answered, nothing billable"
is "$(sqlite3 $TMP/sluice.db "SELECT count(*) FROM cdr WHERE record_type = 'REGISTER' AND
	status_code = 200")" 3 "an event row for each REGISTER ([cdr] events default)"
done_testing
