#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What a B2BUA must do beyond a plain call, with sipp on both sides
# (callees registered with digest, callers challenged with 407):
#   - late offer: an INVITE without SDP, the offer in the 200, the answer
#     in the ACK, each rewritten by the relay;
#   - reliable provisionals (RFC 3262) on both legs: the callee's 183 is
#     PRACKed by sluice, the caller gets sluice's 183 reliably and PRACKs it;
#   - session timers (RFC 4028): a caller that does not refresh is hung up
#     on both legs with a Reason; one that does keeps its call past the
#     interval; an interval under Min-SE gets 422;
#   - the trunk: a number that is no subscriber goes to the trunk (a sipp
#     on 127.0.0.2) with its prefix rewritten and the trunk's 401 answered
#     with the configured credentials, over UDP and over TCP; the trunk's
#     own INVITE reaches a subscriber without a challenge, and may reach
#     nothing else;
#   - restarts: a call answered before a SIGUSR2 handover, and one before
#     a SIGKILL, is adopted by the next sluiced and still hung up end to end.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter sipp sqlite3
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"

S=sbx$$
netns_add $S
SIP=127.0.0.1:5060
sluice_conf $TMP/sluice.conf \
	sip.listen=$SIP sip.domain=ims.local sip.ring_timeout=5 \
	sip.session_expires=30 sip.min_se=10 \
	trunk.address=127.0.0.2:5090 trunk.username=trunkuser trunk.password=trunk-secret \
	trunk.rewrite="0=+49, 00=+" \
	media.timeout=60 media.ports=30000-30999	# the scenarios know the relay by its 3xxxx ports
cat >$TMP/users.json <<JSON
{ "1001": { "username": "1001", "password": "pw1001" },
  "1002": { "username": "1002", "password": "pw1002" } }
JSON
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null ||
	skip_all "import-users failed"
start_sluiced() {
	nsenter --net=/run/netns/$S "$SLUICED" -c $TMP/sluice.conf >>$TMP/sluiced.log 2>&1 &
	SPID=$!
	cleanup_add "kill $SPID 2>/dev/null"
}
: >$TMP/sluiced.log
start_sluiced
wait_for $TMP/sluiced.log "running|cannot" 100
grep -q "\[sip\] listening" $TMP/sluiced.log || skip_all "sluiced has no SIP server"
plan 46

D=$TOP/tests/integration/sipp
reg() {	# reg USER PORT
	sed "s/@EXPECT@/200/" $D/register.xml >$TMP/reg.xml
	in_ns $S sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error \
		-key user $1 -key aor $1 -key domain ims.local -key expires 600 -au $1 -ap pw$1 \
		-p $2 $SIP >$TMP/reg.out 2>&1
}
uas() {	# uas SCENARIO-FILE PORT [sipp options]: a callee in the background ($!)
	local file=$1 port=$2
	shift 2
	in_ns $S sipp -sf $file -m 1 -nostdin -timeout 30 -timeout_error -p $port \
		-mp $((port + 1000)) "$@" $SIP >$TMP/uas-$port.out 2>&1 &
}
uac() {	# uac SCENARIO-FILE TARGET [sipp options]: caller 1001
	local file=$1 target=$2
	shift 2
	in_ns $S sipp -sf $file -m 1 -nostdin -timeout 30 -timeout_error -key user 1001 \
		-key target $target -key domain ims.local -au 1001 -ap pw1001 \
		-p 5061 -mp 7061 "$@" $SIP >$TMP/uac.out 2>&1
}
fails() {	# fails STATUS DESCRIPTION: ok when STATUS is not 0
	[ "$1" != 0 ]
	ok $? "$2"
}
why() {	# the end of both phones' output and of the log, when a check failed
	diag "$(tail -4 $TMP/uac.out; tail -4 $TMP/uas-*.out; tail -6 $TMP/sluiced.log)"
}

reg 1002 5062
ok $? "1002 registers at port 5062"

# Late offer.
uas $D/uas_late.xml 5062
P=$!
sleep 0.3
uac $D/uac_late.xml 1002 -d 500
ok $? "late offer: the caller's INVITE has no SDP, the relay's offer comes in the 200" || why
wait $P
ok $? "... and the callee got no SDP in the INVITE and the relay's answer in the ACK" || why
like "$(cat $TMP/sluiced.log)" "offer awaited in the answer" "... logged as a late offer"

# 100rel on both legs.
uas $D/uas_100rel.xml 5062
P=$!
sleep 0.3
uac $D/uac_100rel.xml 1002 -d 500
ok $? "100rel: the caller gets a reliable 183 (Require: 100rel, RSeq), its PRACK gets 200" || why
wait $P
ok $? "... and the callee's reliable 183 was PRACKed by sluice with the right RAck" || why

# A CANCEL while the callee's 200 waits for the caller's PRACK: the callee
# gets a BYE, the caller 487, and the record is a cancelled call.
uas $D/uas_100rel.xml 5062
P=$!
sleep 0.3
uac $D/uac_100rel_cancel.xml 1002
ok $? "100rel: a caller that cancels instead of PRACKing gets 487" || why
wait $P
ok $? "... and the callee, whose 200 waited for that PRACK, a BYE" || why
# The record is written within 20 ms of the call's end (its queue's flush).
for ((i = 0; i < 20; i++)); do
	rec=$(sqlite3 $TMP/sluice.db "SELECT disposition, close_reason, released_by,
		coalesce(answer_ms, 0), billable_s FROM cdr WHERE record_type = 'CALL'
		ORDER BY id DESC LIMIT 1")
	[ "$rec" = "CANCELLED|normal|caller|0|0" ] && break
	sleep 0.1
done
is "$rec" "CANCELLED|normal|caller|0|0" "... and its record is a cancelled call"

# Session timers.
uas $D/uas_timer.xml 5062
P=$!
sleep 0.3
t0=$(date +%s)
uac $D/uac_timer_expire.xml 1002
ok $? "session timer: a caller that never refreshes gets a BYE naming the session timer" || why
t1=$(date +%s)
wait $P
ok $? "... the callee got sluice's UPDATE refresh (sluice is its refresher), then the BYE" || why
# 10 s interval, refresher the caller: the end comes 10 - 10/3 s after the answer.
ok $([ $((t1 - t0)) -ge 5 ] && [ $((t1 - t0)) -le 9 ]; echo $?) \
	"... after about two thirds of the interval ($((t1 - t0)) s)"
like "$(cat $TMP/sluiced.log)" "leg A sent no session refresh within 10 s" "... logged"

uas $D/uas_timer.xml 5062
P=$!
sleep 0.3
uac $D/uac_timer_refresh.xml 1002
ok $? "session timer: a caller that refreshes by UPDATE keeps its call past the interval" || why
wait $P
ok $? "... and the callee saw the refreshes relayed, then the caller's BYE" || why

sed "s/@EXPECT@/422/; s/^\(      Contact: .*\)$/\1\n      Session-Expires: 5/" \
	$D/uac_final.xml >$TMP/uac_422.xml
grep -q "Session-Expires: 5" $TMP/uac_422.xml || diag "uac_final.xml has no Contact line"
uac $TMP/uac_422.xml 1002
ok $? "an interval under min_se: 422" || why

# The trunk.
uas_trunk() {	# uas_trunk RURI-REGEXP USER PASS
	sed "s|@RURI@|$1|; s|@USER@|$2|; s|@PASS@|$3|" $D/uas_trunk.xml >$TMP/uas_trunk.xml
	in_ns $S sipp -sf $TMP/uas_trunk.xml -m 1 -nostdin -timeout 30 -timeout_error \
		-i 127.0.0.2 -p 5090 -mp 8090 $SIP >$TMP/uas-5090.out 2>&1 &
}
uas_trunk 'sip:[+]4930123456@127[.]0[.]0[.]2:5090' trunkuser trunk-secret
P=$!
sleep 0.3
uac $D/uac_call.xml 030123456 -d 500
ok $? "a number that is no subscriber goes to the trunk, and connects" || why
wait $P
ok $? "... rewritten by prefix (0 -> +49), the trunk's 401 answered with its credentials" || why
like "$(cat $TMP/sluiced.log)" "branch to the trunk" "... logged"

uas_trunk 'sip:[+]4930123456@127[.]0[.]0[.]2:5090' trunkuser not-the-password
P=$!
sleep 0.3
uac $D/uac_call.xml 030123456 -d 500
fails $? "with a wrong trunk password the trunk refuses the call (the check can fail)"
wait $P
fails $? "... as the trunk saw"
sleep 1

sed "s/@EXPECT@/404/" $D/uac_final.xml >$TMP/uac_404.xml
uac $TMP/uac_404.xml 1999abc
ok $? "a callee that is neither a subscriber nor a number: 404" || why

uas $D/uas_answer.xml 5062
P=$!
sleep 0.3
in_ns $S sipp -sf $D/uac_trunk_in.xml -m 1 -nostdin -timeout 30 -timeout_error \
	-key user 4930555 -key target 1002 -key domain ims.local -i 127.0.0.2 -p 5091 \
	-mp 8091 -d 500 $SIP >$TMP/uac.out 2>&1
ok $? "a call in from the trunk's address reaches a subscriber without a challenge" || why
wait $P
ok $? "... who answers and gets the BYE" || why

cat >$TMP/trunk_404.xml <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="trunk to a non-subscriber">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[target]@[domain] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:[user]@[domain]>;tag=[pid]-[call_number]
      To: <sip:[target]@[domain]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[user]@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="404"/>
  <send>
    <![CDATA[

      ACK sip:[target]@[domain] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-2];rport
      Max-Forwards: 70
      From: <sip:[user]@[domain]>;tag=[pid]-[call_number]
      To: <sip:[target]@[domain]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Content-Length: 0

    ]]>
  </send>
</scenario>
XML
in_ns $S sipp -sf $TMP/trunk_404.xml -m 1 -nostdin -timeout 10 -timeout_error \
	-key user 4930555 -key target 0301234 -key domain ims.local -i 127.0.0.2 -p 5091 \
	$SIP >$TMP/uac.out 2>&1
ok $? "the trunk cannot call back out through the trunk: 404" || why

sed 's/response="404"/response="407"/' $TMP/trunk_404.xml >$TMP/expect_407.xml
in_ns $S sipp -sf $TMP/expect_407.xml -m 1 -nostdin -timeout 10 -timeout_error \
	-key user 1001 -key target 1002 -key domain ims.local -i 127.0.0.3 -p 5093 \
	$SIP >$TMP/uac.out 2>&1
ok $? "an INVITE from any other address is challenged (407)" || why

# Restarts: the callee hangs up 5 s after answering, while sluiced is replaced.
restart_call() {	# restart_call SIGNAL
	uas $D/uas_hangup.xml 5062 -d 5000
	P=$!
	sleep 0.3
	sed "s/@EXPECT@/200/; s/@REASON@/false/" $D/uac_wait_bye.xml >$TMP/uac_wait.xml
	uac $TMP/uac_wait.xml 1002 &
	C=$!
	wait_for $TMP/sluiced.log "1002@ims.local answered" 50
	sleep 0.5
	kill -$1 $SPID
	wait $SPID 2>/dev/null	# (bash would report the SIGKILL)
	RC=$?
	start_sluiced
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'running (data path' $TMP/sluiced.log)" -gt "$RUNS" ] && break
		sleep 0.1
	done
	RUNS=$((RUNS + 1))
}
RUNS=1

restart_call USR2
ok $RC "SIGUSR2: sluiced hands over and exits 0" ||
	{ grep -A40 -E "Sanitizer" $TMP/sluiced.log | head -60 >/tmp/leak74.txt; diag "see /tmp/leak74.txt"; }
sleep 0.5
like "$(cat $TMP/sluiced.log)" "left for the next sluiced" "... leaving the call"
like "$(cat $TMP/sluiced.log)" "\\[call\\] sip:1001@ims.local -> sip:1002@ims.local adopted" \
	"... which the next sluiced adopts"
wait $P
ok $? "the callee's BYE after the restart is answered" || why
wait $C
ok $? "... and reaches the caller through the adopted call" || why

# The sluiced started after the crash reads on_stop = keep, for the SIGTERM below.
sed -i 's/^\[media\]$/[media]\non_stop = keep/' $TMP/sluice.conf
restart_call KILL
ok $([ $RC = 137 ] ; echo $?) "SIGKILL: sluiced dies mid-call"
sleep 0.5
n=$(grep -c "1002@ims.local adopted" $TMP/sluiced.log)
ok $([ "$n" = 2 ]; echo $?) "... and the next one adopts the call from its database row ($n adoptions)"
wait $P
ok $? "the callee's BYE after the crash is answered" || why
wait $C
ok $? "... and reaches the caller" || why
sleep 0.2	# rows are written in batches, 20 ms apart
is "$(sqlite3 $TMP/sluice.db 'SELECT count(*) FROM media_sessions')" 0 \
	"... and the call's row is gone once it ended"
is "$(sqlite3 $TMP/sluice.db "SELECT disposition, close_reason, released_by, open FROM cdr
	WHERE record_type = 'CALL' ORDER BY id DESC LIMIT 2")" "ANSWERED|normal|callee|0
ANSWERED|normal|callee|0" "both calls' CDRs went on through the restarts and closed at the callee's BYE"
is "$(sqlite3 $TMP/sluice.db "SELECT count(*) FROM cdr WHERE close_reason = 'restart'")" 0 \
	"... none was closed as lost in a restart"

restart_call TERM
ok $RC "SIGTERM with [media] on_stop = keep: sluiced hands over and exits 0"
like "$(cat $TMP/sluiced.log)" "Terminated: stopping, calls' media stays in the kernel .*on_stop = keep" \
	"... saying so"
wait $P
ok $? "... the callee's BYE after the restart is answered" || why
wait $C
ok $? "... and reaches the caller" || why
sed -i '/^on_stop = keep$/d' $TMP/sluice.conf

stop_sluiced() {
	kill -TERM $SPID
	wait $SPID
	rc=$?
	ok $rc "sluiced stops cleanly (no sanitizer report)"
	[ $rc = 0 ] || diag "$(grep -A24 -E 'Sanitizer|runtime error' $TMP/sluiced.log | head -50)"
}
stop_sluiced

# The trunk over TCP: sluiced opens the connection.
sed -i 's/^username = trunkuser/transport = tcp\nusername = trunkuser/' $TMP/sluice.conf
start_sluiced
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c 'running (data path' $TMP/sluiced.log)" -gt "$RUNS" ] && break
	sleep 0.1
done
sed "s|@RURI@|sip:[+]4930123456@127[.]0[.]0[.]2:5090;transport=tcp|; s|@USER@|trunkuser|;
     s|@PASS@|trunk-secret|" $D/uas_trunk.xml >$TMP/uas_trunk.xml
in_ns $S sipp -sf $TMP/uas_trunk.xml -t t1 -m 1 -nostdin -timeout 30 -timeout_error \
	-i 127.0.0.2 -p 5090 -mp 8090 $SIP >$TMP/uas-5090.out 2>&1 &
P=$!
sleep 0.5
uac $D/uac_call.xml 030123456 -d 500
ok $? "[trunk] transport = tcp: the call to the trunk connects over TCP" || why
wait $P
ok $? "... the trunk took it on its TCP port, challenge answered" || why
stop_sluiced
done_testing
