#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# sluiced killed with SIGKILL in the middle of a call: the kernel keeps
# forwarding (every packet sent across the crash and the restart arrives),
# the restarted sluiced adopts the pinned program and the call from its
# database (NG still knows the call; the kernel's counters carry on), keeps
# timing it out, and leaves no flow behind when it ends. The same for a
# planned restart (SIGUSR2: stop and leave the media to the next sluiced).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ng-lib.sh"

ng_setup sr 10.78 10.78.1.1 31000-31099 auto 3
plan 18

sdp() {
	printf 'v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %s RTP/AVP 0\r\n' \
		$2 $2 $3 >$1
}
sdp $TMP/offer 10.78.1.2 40000
PB=$(ng offer call-id=crash-1 from-tag=a sdp=@$TMP/offer | sed -n 's/^m=audio \([0-9]*\) .*/\1/p')
sdp $TMP/answer 10.78.2.2 50000
PA=$(ng answer call-id=crash-1 from-tag=a to-tag=b sdp=@$TMP/answer |
	sed -n 's/^m=audio \([0-9]*\) .*/\1/p')
[ -n "$PA" ] && [ -n "$PB" ] || { echo "Bail out! no relay ports from NG: $(tail -5 $TMP/sluiced.log)"; exit 1; }
# Latch both sides.
in_ns $E "$RTPIO" sink 10.78.2.2:50000 300 >/dev/null &
S1=$!
in_ns $C "$RTPIO" sink 10.78.1.2:40000 300 >/dev/null &
S2=$!
sleep 0.1
in_ns $C "$RTPIO" send 10.78.1.2:40000 10.78.1.1:$PA 3 0x11 >/dev/null
in_ns $E "$RTPIO" send 10.78.2.2:50000 10.78.1.1:$PB 3 0x22 >/dev/null
wait $S1 $S2
like "$(ctl flow list)" "^2 flows$" "the call is latched and in the kernel"

# 400 packets at 100 per second; sluiced is killed and restarted meanwhile.
in_ns $E "$RTPIO" recv e0 10.78.2.2:50000 400 1500 >$TMP/rx &
RX=$!
wait_for $TMP/rx ready
in_ns $C "$RTPIO" send 10.78.1.2:40000 10.78.1.1:$PA 400 0x11 100 >/dev/null &
TX=$!
sleep 1
kill -KILL $SPID
wait $SPID 2>/dev/null
sleep 1
ng_start
wait $TX
wait $RX
like "$(tail -1 $TMP/rx)" "^frames 400 sock 400 bad_ip_csum 0 bad_udp_csum 0 " \
	"every packet arrived across the crash and the restart"
like "$(cat $TMP/sluiced.log)" "adopted the pinned XDP link" "the restarted sluiced adopted the program"
like "$(cat $TMP/sluiced.log)" "adopted 1 media session" "and the call from its database"
ng query call-id=crash-1 >/dev/null
ok $? "NG still knows the call"
# The latching packets went through userspace (the callee's side latched
# after them), so the kernel's count is exactly the 400, before and after
# the crash: a counter reset by the restart would show fewer.
like "$(ctl flow list)" "^10\.78\.1\.1:$PA .*: packets 400 .* expected 400 received 400 lost 0" \
	"the kernel's counters carried on over the restart"

# A planned restart in the middle of the same stream: SIGUSR2, then start.
in_ns $E "$RTPIO" recv e0 10.78.2.2:50000 300 1500 >$TMP/rx2 &
RX=$!
wait_for $TMP/rx2 ready
in_ns $C "$RTPIO" send 10.78.1.2:40000 10.78.1.1:$PA 300 0x11 100 400 >/dev/null &
TX=$!
sleep 1
kill -USR2 $SPID
wait $SPID
is $? 0 "SIGUSR2: sluiced exits 0 (and, under ASan, frees everything)"
like "$(cat $TMP/sluiced.log)" "1 media session left in $(re_quote $TMP/sluice.db) for the next sluiced; the kernel keeps forwarding" \
	"it says the call is left to the next sluiced"
like "$(ip -n $R link show r0)" "prog/xdp" "while no sluiced runs, the program stays attached"
like "$(ctl flow list)" "^2 flows$" "and the call's flows stay in the kernel"
ng_start
for i in $(seq 100); do [ "$(grep -c ' running ' $TMP/sluiced.log)" -ge 3 ] && break; sleep 0.1; done
wait $TX
wait $RX
like "$(tail -1 $TMP/rx2)" "^frames 300 sock 300 bad_ip_csum 0 bad_udp_csum 0 " \
	"every packet arrived across the planned restart"
is "$(grep -c 'adopted 1 media session' $TMP/sluiced.log)" 2 "the third sluiced adopted the call too"
like "$(ctl flow list)" "^10\.78\.1\.1:$PA .*: packets 700 .* expected 700 received 700 lost 0" \
	"the kernel's counters carried on over both restarts"

ng offer call-id=crash-1 from-tag=a sdp=@$TMP/offer >$TMP/reoffer
like "$(cat $TMP/reoffer)" "m=audio $PB " "a re-offer after the restart keeps the call's ports"

sleep 5
like "$(cat $TMP/sluiced.log)" "crash-1: no media for 3 s, session dead" "the adopted call still times out"
like "$(ctl flow list)" "^0 flows$" "and leaves no flow behind"
kill -TERM $SPID
wait $SPID
is $? 0 "sluiced stops cleanly"
# One RELAY record for the call, open across the crash and the handover,
# closed by the timeout with both directions' counts.
is "$(sqlite3 $TMP/sluice.db "SELECT record_type, disposition, close_reason, open, codec,
	a_packets >= 700, count(*) FROM cdr WHERE a_call_id = 'crash-1'")" \
	"RELAY|ANSWERED|media timeout|0|PCMU/8000|1|1" \
	"one RELAY CDR for the call, kept open over both restarts, closed by the timeout"
done_testing
