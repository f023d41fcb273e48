#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The userspace relay's wakeup batching ([media] relay_batch_us; docs/media.md
# "The userspace relay's batching") on a terminated SRTP stream: an SRTP
# caller (AES_CM_128_HMAC_SHA1_80) and a plain callee over NG, both talking
# at once at 1,000 packets a second, the relay decrypting one way and
# encrypting the other. Each end checks with a libsrtp2 context of its own
# (tests/tools/srtpio.c) that every packet arrived, authenticated and
# intact. The path was taken: DSP SYSINFO counts the pauses, and the loop
# woke far fewer times than it relayed packets. A wrong key's packets are
# still dropped and counted while batched. Then with relay_batch_us = 0:
# the same traffic intact, and no pause.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ng-lib.sh"

SRTPIO=$TOOLS/srtpio
[ -x "$SRTPIO" ] || skip_all "build the test tools first (make unit-bins)"
ng_require openssl
[ -x "$SLUICECTL" ] || skip_all "build first (make)"
C=sbc$$ R=sbr$$ E=sbe$$
PIN=/sys/fs/bpf/sluice-test-sb$$
NG=127.0.0.1:23$((RANDOM % 900 + 100))
relay_topology $C $R $E 10.82
MMLPW=batch-test-pw
start() {	# start BATCH_US
	ng_conf 10.82.1.1 32200-32299 user 30 media.relay_batch_us=$1 \
		mml.listen=127.0.0.1:7777 mml.admin_password=$MMLPW store.db=$TMP/sluice-$1.db
	ng_start
}
start 5000
plan 12

mml() { in_ns $R perl "$TOP/tests/tools/mmlc.pl" 127.0.0.1:7777 "LGI: OP=\"admin\", PWD=\"$MMLPW\";" "$@"; }
sysinfo() {	# sysinfo KEY: its number in a fresh DSP SYSINFO
	mml 'DSP SYSINFO:;' | sed -n "s/^ *$1  *\([0-9][0-9]*\).*/\1/p" | head -1
}
sdp() {	# sdp FILE ADDR PORT PROTO [CRYPTO-LINE]
	printf "v=0\r\no=- 1 $RANDOM IN IP4 $2\r\ns=-\r\nc=IN IP4 $2\r\nt=0 0\r\nm=audio $3 $4 0\r\na=rtpmap:0 PCMU/8000\r\n" >$1
	[ -z "${5:-}" ] || printf "a=crypto:%s\r\n" "$5" >>$1
}
C80=AES_CM_128_HMAC_SHA1_80
# call ID: an SRTP caller, a plain callee; PA, PB the relay's ports, RK its key to the caller.
call() {
	CK=$(openssl rand -base64 30)
	sdp $TMP/offer 10.82.1.2 40000 RTP/SAVP "1 $C80 inline:$CK"
	PB=$(ng offer call-id=$1 from-tag=caller transport-protocol=RTP/AVP sdp=@$TMP/offer | port_of)
	sdp $TMP/answer 10.82.2.2 50000 RTP/AVP
	ng answer call-id=$1 from-tag=caller to-tag=callee sdp=@$TMP/answer >$TMP/ans
	PA=$(port_of <$TMP/ans)
	RK=$(sed -n "s/^a=crypto:1 $C80 inline:\([A-Za-z0-9+\/=]*\).*/\1/p" $TMP/ans | tr -d '\r')
}
# talk COUNT: both phones at once, COUNT packets each way at 1,000 a second
# (both bound before either sends); what each received in $TMP/rxc (the
# caller) and $TMP/rxe (the callee).
talk() {
	in_ns $C env SRTPIO_PPS=1000 SRTPIO_START_MS=1000 "$SRTPIO" talk 10.82.1.2:40000 10.82.1.1:$PA $1 $C80 \
		"$CK" "$RK" 0x1111 >$TMP/rxc &
	local c=$!
	in_ns $E env SRTPIO_PPS=1000 SRTPIO_START_MS=1000 "$SRTPIO" talk 10.82.2.2:50000 10.82.1.1:$PB $1 $C80 \
		- - 0x2222 >$TMP/rxe
	wait $c
}
# Where a datagram was lost, should one be: each namespace's UDP errors.
udp_errors() {
	local ns
	for ns in $C $R $E; do
		diag "$ns: $(in_ns $ns nstat -az 2>/dev/null | awk '/Udp(RcvbufErrors|NoPorts|InErrors|InDatagrams|OutDatagrams|SndbufErrors) / { printf "%s %s ", $1, $2 }')"
	done
}

call b-1
like "$(cat $TMP/ans)" "m=audio $PA RTP/SAVP 0" "a terminated SRTP leg towards the caller"
P0=$(sysinfo "LOOP BATCH PAUSES") I0=$(sysinfo "LOOP ITERATIONS")
talk 3000
P1=$(sysinfo "LOOP BATCH PAUSES") I1=$(sysinfo "LOOP ITERATIONS")
like "$(tail -1 $TMP/rxe)" "^packets 3000 ok 3000 bad_auth 0 bad_payload 0 rtcp 0 from 10\.82\.1\.1:$PB" \
	"3,000 SRTP from the caller reach the callee decrypted, every payload intact"
like "$(tail -1 $TMP/rxc)" "^packets 3000 ok 3000 bad_auth 0 bad_payload 0 rtcp 0 from 10\.82\.1\.1:$PA" \
	"3,000 RTP from the callee reach the caller encrypted with the relay's key, all authenticated"
[ "$(grep -c "^packets 3000 ok 3000 " $TMP/rxc $TMP/rxe | grep -c ":1")" = 2 ] || udp_errors
[ $((P1 - P0)) -gt 100 ]
ok $? "the batched path was taken: $((P1 - P0)) pauses" ||
	diag "pauses $P0 -> $P1"
# 6,000 packets in about 3 s: a wakeup each without batching; about 5 ms
# apiece with it (some 600, and a few for the tick and the MML itself).
[ $((I1 - I0)) -lt 2000 ]
ok $? "$((I1 - I0)) loop wakeups for 6,000 packets relayed" ||
	diag "iterations $I0 -> $I1"
like "$(mml 'DSP SYSINFO:;')" "LOOP BATCH PAUSES" "DSP SYSINFO names the counter"

# Authentication still decides while batched: a wrong key is dropped and counted.
WK=$(openssl rand -base64 30)
in_ns $E "$SRTPIO" recv 10.82.2.2:50000 20 800 $C80 - >$TMP/rx &
RX=$!
wait_for $TMP/rx ready
in_ns $C "$SRTPIO" send 10.82.1.2:40000 10.82.1.1:$PA 20 $C80 "$WK" 0x3333 >/dev/null 2>&1
wait $RX
like "$(tail -1 $TMP/rx)" "^packets 0 " "20 packets with a wrong key: none reach the callee"
# Reported once a second: a tick between the 20 may split them over two lines.
crypto_failed() {
	sed -n 's/.*b-1: stream 0: \([0-9]*\) SRTP packets\? from the caller failed authentication.*/\1/p' \
		$TMP/sluiced.log | awk '{ n += $1 } END { print n + 0 }'
}
for ((i = 0; i < 100; i++)); do [ "$(crypto_failed)" -ge 20 ] && break; sleep 0.1; done
is "$(crypto_failed)" 20 "and the relay counts and reports them"
ng delete call-id=b-1 from-tag=caller >/dev/null

# Off: the same traffic, no pause.
kill -TERM $SPID
wait $SPID
is $? 0 "sluiced stops cleanly (no leak under ASan)"
start 0
call b-2
P0=$(sysinfo "LOOP BATCH PAUSES")
talk 1000
like "$(tail -1 $TMP/rxe)" "^packets 1000 ok 1000 bad_auth 0 bad_payload 0 " \
	"relay_batch_us = 0: the caller's packets arrive intact"
like "$(tail -1 $TMP/rxc)" "^packets 1000 ok 1000 bad_auth 0 bad_payload 0 " "and the callee's"
is "$(sysinfo "LOOP BATCH PAUSES")" "$P0" "and the loop never paused"
ng delete call-id=b-2 from-tag=caller >/dev/null
done_testing
