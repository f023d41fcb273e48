#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# SRTP by SDES over NG, as rtpengine bridges it (docs/media.md "SRTP"):
# an SRTP caller (RTP/SAVP, AES_CM_128_HMAC_SHA1_80) to a plain callee
# with transport-protocol RTP/AVP, the relay decrypting one way and
# encrypting the other with a key of its own; a wrong key's packets
# dropped and counted while the call goes on; then a plain caller to an
# SRTP callee (RTP/SAVP offered, AEAD_AES_128_GCM answered); then SRTP on
# both sides without flags, passed through with the peers' own keys and
# forwarded by the kernel. Each end checks with a libsrtp2 context of its
# own (tests/tools/srtpio.c) that every payload arrives intact.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ng-lib.sh"

SRTPIO=$TOOLS/srtpio
[ -x "$SRTPIO" ] || skip_all "build the test tools first (make unit-bins)"
require_cmd openssl
require_cmd curl
HTTP=127.0.0.1:$((8100 + RANDOM % 800))
ng_setup sr 10.65 10.65.1.1 32100-32199 xdp 30 http.listen=$HTTP
plan 28

sdp() {	# sdp FILE ADDR PORT PROTO [CRYPTO-LINE...]
	local f=$1 a=$2 p=$3 proto=$4 l
	shift 4
	printf "v=0\r\no=- 1 $RANDOM IN IP4 $a\r\ns=-\r\nc=IN IP4 $a\r\nt=0 0\r\nm=audio $p $proto 0\r\na=rtpmap:0 PCMU/8000\r\n" >$f
	for l in "$@"; do printf "a=crypto:%s\r\n" "$l" >>$f; done
}
# key_of TAG SUITE: the inline key of that a=crypto line in an SDP on stdin
key_of() { sed -n "s/^a=crypto:$1 $2 inline:\([A-Za-z0-9+\/=]*\).*/\1/p" | tr -d '\r'; }

# srtp SUITE KEY FROM_NS FROM DST COUNT SSRC TO_NS TO RSUITE RKEY [rtcp]: COUNT
# packets from FROM to the relay's DST; what srtpio on TO saw of them.
srtp() {
	in_ns $8 "$SRTPIO" recv $9 $6 800 ${10} ${11} >$TMP/rx &
	local rx=$!
	wait_for $TMP/rx ready
	in_ns $3 "$SRTPIO" send $4 10.65.1.1:$5 $6 $1 $2 $7 ${12:-} 2>&1
	wait $rx
	tail -1 $TMP/rx
}
C80=AES_CM_128_HMAC_SHA1_80 GCM=AEAD_AES_128_GCM

# 1. SRTP caller, plain callee.
CK=$(openssl rand -base64 30)
sdp $TMP/offer 10.65.1.2 40000 RTP/SAVP "1 $C80 inline:$CK"
OFFER=$(ng offer call-id=s-1 from-tag=caller transport-protocol=RTP/AVP sdp=@$TMP/offer)
PB=$(printf '%s\n' "$OFFER" | port_of)
like "$OFFER" "m=audio $PB RTP/AVP 0" "transport-protocol RTP/AVP: the callee is offered plain RTP"
unlike() { if printf '%s' "$1" | grep -Eq -- "$2"; then ok 1 "$3"; else ok 0 "$3"; fi; }
unlike "$OFFER" "a=crypto" "and no a=crypto"
sdp $TMP/answer 10.65.2.2 50000 RTP/AVP
ANSWER=$(ng answer call-id=s-1 from-tag=caller to-tag=callee sdp=@$TMP/answer)
PA=$(printf '%s\n' "$ANSWER" | port_of)
like "$ANSWER" "m=audio $PA RTP/SAVP 0" "the caller's answer is RTP/SAVP"
RK=$(printf '%s\n' "$ANSWER" | key_of 1 $C80)
is "${#RK}" 40 "with the relay's own AES_CM_128_HMAC_SHA1_80 key under the caller's tag"
[ "$RK" != "$CK" ]
ok $? "not the caller's key"

r=$(srtp $C80 "$CK" $C 10.65.1.2:40000 $PA 50 0x1111 $E 10.65.2.2:50000 $C80 -)
like "$r" "^packets 50 ok 50 bad_auth 0 bad_payload 0 rtcp 0 from 10\.65\.1\.1:$PB" \
	"50 SRTP from the caller reach the callee decrypted, payloads intact"
r=$(srtp $C80 - $E 10.65.2.2:50000 $PB 50 0x2222 $C 10.65.1.2:40000 $C80 "$RK")
like "$r" "^packets 50 ok 50 bad_auth 0 bad_payload 0 rtcp 0 from 10\.65\.1\.1:$PA" \
	"50 RTP from the callee reach the caller encrypted with the relay's key"
# SRTCP on the caller's RTCP port reaches the callee's RTCP port as RTCP.
r=$(srtp $C80 "$CK" $C 10.65.1.2:40001 $((PA + 1)) 10 0x1111 $E 10.65.2.2:50001 $C80 - rtcp)
like "$r" "^packets 10 ok 10 bad_auth 0 bad_payload 0 rtcp 10 from 10\.65\.1\.1:$((PB + 1))" \
	"10 SRTCP from the caller reach the callee's RTCP port as RTCP"
like "$(ctl flow list)" "^0 flows$" "no kernel flow: the relay decrypts and encrypts every packet"

# A wrong key: dropped and counted, the call unharmed.
WK=$(openssl rand -base64 30)
r=$(srtp $C80 "$WK" $C 10.65.1.2:40000 $PA 20 0x3333 $E 10.65.2.2:50000 $C80 -)
like "$r" "^packets 0 " "20 packets with a wrong key: none reach the callee"
wait_for $TMP/sluiced.log "s-1: stream 0: 20 SRTP packets from the caller failed authentication" 30
ok $? "and the relay counts and reports them"
r=$(srtp $C80 "$CK" $C 10.65.1.2:40000 $PA 20 0x4444 $E 10.65.2.2:50000 $C80 -)
like "$r" "^packets 20 ok 20 " "the caller's right key still goes through"
r=$(srtp $C80 - $E 10.65.2.2:50000 $PB 20 0x2223 $C 10.65.1.2:40000 $C80 "$RK")
like "$r" "^packets 20 ok 20 bad_auth 0 " "and the callee's way too"
# A stranger with no key does not latch or pass either.
r=$(srtp $C80 - $C 10.65.1.2:40100 $PA 10 0x5555 $E 10.65.2.2:50000 $C80 -)
like "$r" "^packets 0 " "plain RTP from a stranger to the SRTP leg: dropped"
ng delete call-id=s-1 from-tag=caller >/dev/null

# 2. Plain caller, SRTP callee: keys offered per suite, GCM answered.
sdp $TMP/offer 10.65.1.2 40002 RTP/AVP
OFFER=$(ng offer call-id=s-2 from-tag=caller rtpp-flags="RTP/SAVP SDES-no-AEAD_AES_256_GCM" sdp=@$TMP/offer)
PB=$(printf '%s\n' "$OFFER" | port_of)
like "$OFFER" "m=audio $PB RTP/SAVP 0" "RTP/SAVP: the callee is offered SRTP"
like "$OFFER" "a=crypto:1 $C80 inline:" "AES_CM_128_HMAC_SHA1_80 first"
like "$OFFER" "a=crypto:3 $GCM inline:" "and AEAD_AES_128_GCM"
unlike "$OFFER" "AEAD_AES_256_GCM" "SDES-no-AEAD_AES_256_GCM leaves that one out"
RK=$(printf '%s\n' "$OFFER" | key_of 3 $GCM)
EK=$(openssl rand -base64 28)
sdp $TMP/answer 10.65.2.2 50002 RTP/SAVP "3 $GCM inline:$EK"
ANSWER=$(ng answer call-id=s-2 from-tag=caller to-tag=callee sdp=@$TMP/answer)
PA=$(printf '%s\n' "$ANSWER" | port_of)
like "$ANSWER" "m=audio $PA RTP/AVP 0" "the caller's answer is plain RTP/AVP"
unlike "$ANSWER" "a=crypto" "without a key"
r=$(srtp $GCM - $C 10.65.1.2:40002 $PA 50 0x6666 $E 10.65.2.2:50002 $GCM "$RK")
like "$r" "^packets 50 ok 50 bad_auth 0 bad_payload 0 " "plain RTP from the caller reaches the callee as AES-GCM SRTP"
r=$(srtp $GCM "$EK" $E 10.65.2.2:50002 $PB 50 0x7777 $C 10.65.1.2:40002 $GCM -)
like "$r" "^packets 50 ok 50 bad_auth 0 bad_payload 0 " "the callee's AES-GCM SRTP reaches the caller decrypted"
ng delete call-id=s-2 from-tag=caller >/dev/null

# Counted by the once-a-second tick, which a loaded machine may run late:
# the scrape is repeated for up to 10 s until it has them (or never does).
for i in $(seq 50); do
	M=$(in_ns $R curl -s http://$HTTP/metrics)
	case "$M" in *"sluice_srtp_auth_failures_total 30"*) break ;; esac
	sleep 0.2
done
like "$M" "sluice_srtp_auth_failures_total 30" \
	"/metrics counts the 30 that failed authentication (a wrong key's 20, the stranger's 10)"

# 3. SRTP both sides, no flags: the keys pass end to end, the kernel forwards.
CK=$(openssl rand -base64 30) EK=$(openssl rand -base64 30)
sdp $TMP/offer 10.65.1.2 40004 RTP/SAVP "1 $C80 inline:$CK"
OFFER=$(ng offer call-id=s-3 from-tag=caller sdp=@$TMP/offer)
PB=$(printf '%s\n' "$OFFER" | port_of)
is "$(printf '%s\n' "$OFFER" | key_of 1 $C80)" "$CK" "pass-through: the callee gets the caller's key"
sdp $TMP/answer 10.65.2.2 50004 RTP/SAVP "1 $C80 inline:$EK"
ANSWER=$(ng answer call-id=s-3 from-tag=caller to-tag=callee sdp=@$TMP/answer)
PA=$(printf '%s\n' "$ANSWER" | port_of)
is "$(printf '%s\n' "$ANSWER" | key_of 1 $C80)" "$EK" "and the caller the callee's"
srtp $C80 "$CK" $C 10.65.1.2:40004 $PA 5 0x8888 $E 10.65.2.2:50004 $C80 "$CK" >/dev/null
srtp $C80 "$EK" $E 10.65.2.2:50004 $PB 5 0x9999 $C 10.65.1.2:40004 $C80 "$EK" >/dev/null
r=$(srtp $C80 "$CK" $C 10.65.1.2:40004 $PA 100 0x8888 $E 10.65.2.2:50004 $C80 "$CK")
like "$r" "^packets 100 ok 100 bad_auth 0 " "100 more SRTP packets decrypt at the callee with the caller's key"
like "$(ctl flow list)" "^2 flows$" "both directions in the kernel: SRTP's header is clear"
ng delete call-id=s-3 from-tag=caller >/dev/null

kill -TERM $SPID
wait $SPID
is $? 0 "sluiced stops cleanly (no leak under ASan)"
done_testing
