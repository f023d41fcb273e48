#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# DTLS-SRTP over NG (docs/media.md "DTLS-SRTP and WebRTC"): a plain caller
# bridged with transport-protocol UDP/TLS/RTP/SAVPF to a DTLS-SRTP callee,
# srtpio (tests/tools/srtpio.c: OpenSSL and libsrtp2 of its own) as that
# callee. The callee is offered the relay's fingerprint, actpass and
# rtcp-mux; then, with the relay as DTLS server (the callee answers
# active) and as client (passive), the handshake checks each side's
# fingerprint against the other's SDP, and media flows both ways, every
# payload intact, none of it in the kernel. Bad input: a callee whose
# certificate is not the one its SDP named (the handshake fails, media is
# refused), one that sends its ClientHello and stalls (given up after
# 10 s), and a stranger's ClientHello (refused, counted); sluiced, under
# ASan, ends without a leak.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ng-lib.sh"

SRTPIO=$TOOLS/srtpio
[ -x "$SRTPIO" ] || skip_all "build the test tools first (make unit-bins)"
require_cmd openssl
ng_setup dt 10.69 10.69.1.1 32200-32299 xdp 30
plan 19

cert() {	# cert NAME: a self-signed P-256 certificate and key in $TMP
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=$1" -keyout $TMP/$1.key -out $TMP/$1.pem >/dev/null 2>&1
	openssl x509 -in $TMP/$1.pem -noout -fingerprint -sha256 | sed 's/.*=//'
}
PFP=$(cert peer) OFP=$(cert other)
sdp() {	# sdp FILE ADDR PORT PROTO [ATTR...]
	local f=$1 a=$2 p=$3 proto=$4 l
	shift 4
	printf "v=0\r\no=- 1 $RANDOM IN IP4 $a\r\ns=-\r\nc=IN IP4 $a\r\nt=0 0\r\nm=audio $p $proto 0\r\na=rtpmap:0 PCMU/8000\r\n" >$f
	for l in "$@"; do printf "a=%s\r\n" "$l" >>$f; done
}
unlike() { if printf '%s' "$1" | grep -Eq -- "$2"; then ok 1 "$3"; else ok 0 "$3"; fi; }

# call ID SETUP FINGERPRINT: the offer with UDP/TLS/RTP/SAVPF and the
# callee's answer; sets OFFER, ANSWER, PA, PB and RFP (the relay's).
call() {
	sdp $TMP/offer 10.69.1.2 40000 RTP/AVP
	OFFER=$(ng offer call-id=$1 from-tag=caller rtpp-flags="UDP/TLS/RTP/SAVPF" sdp=@$TMP/offer)
	PB=$(printf '%s\n' "$OFFER" | port_of)
	RFP=$(printf '%s\n' "$OFFER" | sed -n 's/^a=fingerprint:sha-256 \([0-9A-F:]*\).*/\1/p' | tr -d '\r')
	sdp $TMP/answer 10.69.2.2 50000 UDP/TLS/RTP/SAVPF "fingerprint:sha-256 $3" "setup:$2" rtcp-mux
	ANSWER=$(ng answer call-id=$1 from-tag=caller to-tag=callee sdp=@$TMP/answer)
	PA=$(printf '%s\n' "$ANSWER" | port_of)
}
# media ROLE: the DTLS callee (srtpio dtls ROLE) keys and sends 50 SRTP to
# the caller's plain receiver, then takes 50 plain ones from the caller
# as SRTP; R1 the caller's summary, R2 the callee's lines.
media() {
	in_ns $C "$SRTPIO" recv 10.69.1.2:40000 50 6000 AES_CM_128_HMAC_SHA1_80 - >$TMP/r1 &
	local r1=$!
	wait_for $TMP/r1 ready
	in_ns $E "$SRTPIO" dtls $1 10.69.2.2:50000 10.69.1.1:$PB $TMP/peer.pem $TMP/peer.key \
		"$RFP" 50 >$TMP/r2 2>$TMP/r2.err &
	local r2=$!
	wait $r1
	R1=$(tail -1 $TMP/r1)
	in_ns $C "$SRTPIO" send 10.69.1.2:40000 10.69.1.1:$PA 50 AES_CM_128_HMAC_SHA1_80 - 0xc0
	wait $r2
	R2=$(cat $TMP/r2)
}

# 1. The relay as DTLS server.
call d-1 active "$PFP"
like "$OFFER" "m=audio $PB UDP/TLS/RTP/SAVPF 0" "UDP/TLS/RTP/SAVPF: the callee is offered DTLS-SRTP"
is "${#RFP}" 95 "with the relay's SHA-256 fingerprint"
like "$OFFER" "a=setup:actpass" "a=setup:actpass"
like "$OFFER" "a=rtcp-mux" "and rtcp-mux"
like "$ANSWER" "m=audio $PA RTP/AVP 0" "the caller's answer is plain RTP/AVP"
unlike "$ANSWER" "a=fingerprint|a=setup|a=crypto" "without the callee's keying"
media client
like "$R2" "keyed SRTP_AES128_CM_SHA1_80" "the callee's handshake with the relay (server) is done, fingerprints checked"
like "$R1" "^packets 50 ok 50 bad_auth 0 bad_payload 0 " "its 50 SRTP packets reach the caller decrypted"
like "$(printf '%s\n' "$R2" | tail -1)" "^packets 50 ok 50 bad_auth 0 " "the caller's 50 reach it encrypted with the DTLS keys"
like "$(cat $TMP/sluiced.log)" "d-1: DTLS-SRTP with the callee on port $PB: AES_CM_128_HMAC_SHA1_80" \
	"the relay logs the association"
like "$(ctl flow list)" "^0 flows$" "none of it in the kernel"
ng delete call-id=d-1 from-tag=caller >/dev/null

# 2. The relay as DTLS client: the callee answers passive.
sdp $TMP/offer 10.69.1.2 40000 RTP/AVP
OFFER=$(ng offer call-id=d-2 from-tag=caller rtpp-flags="UDP/TLS/RTP/SAVPF" sdp=@$TMP/offer)
PB=$(printf '%s\n' "$OFFER" | port_of)
RFP=$(printf '%s\n' "$OFFER" | sed -n 's/^a=fingerprint:sha-256 \([0-9A-F:]*\).*/\1/p' | tr -d '\r')
in_ns $E "$SRTPIO" dtls server 10.69.2.2:50000 10.69.1.1:$PB $TMP/peer.pem $TMP/peer.key \
	"$RFP" 20 >$TMP/r3 2>$TMP/r3.err &
R3=$!
sleep 0.3
sdp $TMP/answer 10.69.2.2 50000 UDP/TLS/RTP/SAVPF "fingerprint:sha-256 $PFP" "setup:passive" rtcp-mux
ANSWER=$(ng answer call-id=d-2 from-tag=caller to-tag=callee sdp=@$TMP/answer)
PA=$(printf '%s\n' "$ANSWER" | port_of)
wait_for $TMP/r3 keyed 50
ok $? "a passive callee: the relay, as DTLS client, sends the first flight and keys" ||
	diag "$(cat $TMP/r3 $TMP/r3.err | head -5)"
sleep 0.5
in_ns $C "$SRTPIO" send 10.69.1.2:40000 10.69.1.1:$PA 20 AES_CM_128_HMAC_SHA1_80 - 0xc1
wait $R3
like "$(tail -1 $TMP/r3)" "^packets 20 ok 20 bad_auth 0 " "and the caller's media reaches it encrypted"
ng delete call-id=d-2 from-tag=caller >/dev/null

# 3. A callee whose certificate is not the one its SDP named.
call d-3 active "$OFP"
media client
like "$(cat $TMP/sluiced.log)" "d-3: DTLS-SRTP handshake with the callee failed" \
	"a certificate that does not match the SDP's fingerprint: the handshake fails"
like "$R1" "^packets 0 " "and nothing of the callee's reaches the caller"
ng delete call-id=d-3 from-tag=caller >/dev/null

# 4. A ClientHello and then nothing; a stranger's ClientHello meanwhile.
call d-4 active "$PFP"
in_ns $E "$SRTPIO" dtls stall 10.69.2.2:50000 10.69.1.1:$PB $TMP/peer.pem $TMP/peer.key \
	"$RFP" 0 >/dev/null 2>&1 &
STALL=$!
in_ns $E "$SRTPIO" dtls stall 10.69.2.2:50077 10.69.1.1:$PB $TMP/peer.pem $TMP/peer.key \
	"$RFP" 0 >/dev/null 2>&1 &
STRANGER=$!
wait_for $TMP/sluiced.log "d-4: stream 0: [0-9]+ DTLS records? to the callee's port refused" 30
ok $? "a stranger's ClientHello (another port) is refused and counted"
wait_for $TMP/sluiced.log "d-4: DTLS-SRTP handshake with the callee not done in time: given up" 150
ok $? "a handshake that never finishes is given up after 10 s"
wait $STALL $STRANGER 2>/dev/null
ng delete call-id=d-4 from-tag=caller >/dev/null

# The first call's kind still works afterwards.
call d-5 active "$PFP"
media client
like "$(printf '%s\n' "$R2" | tail -1)" "^packets 50 ok 50 bad_auth 0 " "a new DTLS call after all that: media both ways"
ng delete call-id=d-5 from-tag=caller >/dev/null

kill -TERM $SPID
wait $SPID
is $? 0 "sluiced stops cleanly (no leak under ASan)"
