#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Kamailio's rtpengine module has sluice bridge SRTP to plain RTP, as
# rtpengine's users configure it: rtpengine_manage("replace-origin
# replace-session-connection RTP/AVP") in front of a caller that offers
# RTP/SAVPF with an SDES key and a callee that speaks RTP/AVP. The callee
# must be offered plain RTP/AVP without a=crypto or a=rtcp-fb, the caller
# answered RTP/SAVPF with the relay's own key; then media both ways
# through the relay (srtpio, tests/tools/srtpio.c, at each end: SRTP with
# the keys the SDP carried at the caller, plain at the callee), every
# payload intact, none of it in the kernel; $rtpstat reads the totals.
# The SIP is sipp's; the SDPs are read off the wire with tcpdump.
# Then with UDP/TLS/RTP/SAVPF in the flags: the callee is offered
# DTLS-SRTP with the relay's fingerprint, a=setup:actpass and rtcp-mux.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../kamailio-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp tcpdump perl kamailio openssl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
[ -x "$TOOLS/srtpio" ] || skip_all "build the test tools first (make unit-bins)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
[ -r $KAMAILIO_MODS/rtpengine.so ] || skip_all "no Kamailio rtpengine module in $KAMAILIO_MODS"

C=kscc$$ R=kscr$$ E=ksce$$
PIN=/sys/fs/bpf/sluice-test-ks$$
relay_topology $C $R $E
sluice_conf $TMP/sluiced.conf sip.listen=off media.interface="r0, r1" media.address=10.0.1.1 \
	media.ports=30400-30499 media.datapath=auto media.timeout=20 media.bpf_pin_dir=$PIN \
	control.ng=127.0.0.1:2223 log.level=debug
nsenter --net=/run/netns/$R "$SLUICED" -c $TMP/sluiced.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
cleanup_add "kill $SPID 2>/dev/null"
cleanup_add "'$SLUICECTL' -p $PIN unload"
wait_for $TMP/sluiced.log "running|cannot" 100
plan 14

KAMAILIO_NG_FLAGS="replace-origin replace-session-connection RTP/AVP"
kamailio_start kamailio $R "udp:127.0.0.1:2223" 10.0.1.1 10.0.2.1
like "$(cat $TMP/kamailio.log)" "rtpengine instance <udp:127.0.0.1:2223> found" \
	"Kamailio's rtpengine module finds sluice" || diag "$(tail -20 $TMP/kamailio.log)"
kamailio_scenarios /dev/null

CK=$(openssl rand -base64 30)
# The caller: RTP/SAVPF with its key and RTCP feedback, media on 7000; it
# holds the call 8 s, then hangs up. The callee: RTP/AVP on 7000.
perl -0pe 's{m=audio \[media_port\] RTP/AVP 8\n(\s*)a=rtpmap:8 PCMA/8000\n}{m=audio 7000 RTP/SAVPF 8\n$1a=rtpmap:8 PCMA/8000\n$1a=rtcp-fb:* nack\n$1a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:'"$CK"'\n}g' \
	$TMP/uac-quiet.xml >$TMP/uac-srtp.xml
perl -0pe 's{m=audio \[media_port\] RTP/AVP 8}{m=audio 7000 RTP/AVP 8}g' $TMP/uas-quiet.xml >$TMP/uas-rtp.xml
grep -q "RTP/SAVPF" $TMP/uac-srtp.xml && grep -q "m=audio 7000 RTP/AVP" $TMP/uas-rtp.xml
ok $? "scenarios: an SRTP caller and a plain callee"

kamailio_register $E 1002 10.0.2.2 5062 10.0.2.1 &&
	kamailio_register $C 1001 10.0.1.2 5061 10.0.1.1
ok $? "both phones register with Kamailio"

in_ns $C tcpdump -i c0 -n -U -A -l udp port 5061 >$TMP/c-sip.txt 2>/dev/null &
cleanup_add "kill $! 2>/dev/null"
in_ns $E tcpdump -i e0 -n -U -A -l udp port 5062 >$TMP/e-sip.txt 2>/dev/null &
cleanup_add "kill $! 2>/dev/null"
sleep 1
in_ns $E sipp -sf $TMP/uas-rtp.xml -m 1 -nostdin -timeout 30 -timeout_error -i 10.0.2.2 \
	-p 5062 -mi 10.0.2.2 -mp 6100 10.0.2.1:5070 >$TMP/uas.out 2>&1 &
UAS=$!
sleep 0.5
in_ns $C sipp -sf $TMP/uac-srtp.xml -m 1 -nostdin -timeout 30 -timeout_error -key user 1001 \
	-key target 1002 -key domain ims.local -d 8000 -i 10.0.1.2 -p 5061 -mi 10.0.1.2 \
	-mp 6100 10.0.1.1:5070 >$TMP/uac.out 2>&1 &
UAC=$!
wait_for $TMP/c-sip.txt "^m=audio [0-9]+ RTP/SAVPF 8" 50
sleep 0.3
PA=$(sed -n 's/^m=audio \(304[0-9][0-9]\) RTP\/SAVPF 8.*/\1/p' $TMP/c-sip.txt | tail -1)
RK=$(sed -n 's/^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\([A-Za-z0-9+\/=]*\).*/\1/p' \
	$TMP/c-sip.txt | tr -d '\r' | grep -v -- "$CK" | tail -1)
# What reached the callee: the INVITE's SDP (its own answer is on 7000).
offer=$(grep -v '^m=audio 7000 ' $TMP/e-sip.txt)
PB=$(sed -n 's/^m=audio \(304[0-9][0-9]\) .*/\1/p' $TMP/e-sip.txt | tr -d '\r' | head -1)
like "$offer" "m=audio $PB RTP/AVP 8" "the callee is offered plain RTP/AVP"
ok $(printf '%s' "$offer" | grep -Eq "a=crypto|a=rtcp-fb"; echo $((!$?))) \
	"without a=crypto or a=rtcp-fb"
ok $([ -n "$PA" ] && [ ${#RK} = 40 ]; echo $?) \
	"the caller's 200 OK is RTP/SAVPF with the relay's own key (port ${PA:-none})"

r1=$(in_ns $E "$TOOLS/srtpio" recv 10.0.2.2:7000 50 1500 AES_CM_128_HMAC_SHA1_80 - &
     sleep 0.3
     in_ns $C "$TOOLS/srtpio" send 10.0.1.2:7000 10.0.1.1:${PA:-1} 50 AES_CM_128_HMAC_SHA1_80 "$CK" 0xa1
     wait)
like "$(printf '%s' "$r1" | tail -1)" "^packets 50 ok 50 bad_auth 0 bad_payload 0 rtcp 0 from 10\.0\.1\.1:$PB" \
	"50 SRTP packets from the caller reach the callee as plain RTP"
r2=$(in_ns $C "$TOOLS/srtpio" recv 10.0.1.2:7000 50 1500 AES_CM_128_HMAC_SHA1_80 "${RK:-x}" &
     sleep 0.3
     in_ns $E "$TOOLS/srtpio" send 10.0.2.2:7000 10.0.1.1:${PB:-1} 50 AES_CM_128_HMAC_SHA1_80 - 0xb2
     wait)
like "$(printf '%s' "$r2" | tail -1)" "^packets 50 ok 50 bad_auth 0 bad_payload 0 rtcp 0 from 10\.0\.1\.1:$PA" \
	"50 plain packets from the callee reach the caller as SRTP under the relay's key"
like "$(in_ns $R "$SLUICECTL" -p $PIN flow list)" "^0 flows$" "no kernel flow for the bridged stream"
wait $UAC
ok $? "the caller's call: 200, ACK, BYE answered"
wait $UAS
ok $? "the callee's side: INVITE answered, BYE taken"
stat=$(grep -o 'rtpstat .*' $TMP/kamailio.log | tail -1)
like "$stat" "RTP: [0-9]+ bytes, 1[0-9][0-9] packets, 0 errors" \
	"\$rtpstat on the BYE: both directions' 100 packets, no SRTP error" || diag "$stat"

# UDP/TLS/RTP/SAVPF: the callee (not answering: its INVITE is read off
# the wire) is offered DTLS-SRTP.
kill $KPID
wait $KPID 2>/dev/null
KAMAILIO_NG_FLAGS="replace-origin replace-session-connection UDP/TLS/RTP/SAVPF"
kamailio_start kamailio2 $R "udp:127.0.0.1:2223" 10.0.1.1 10.0.2.1
kamailio_register $E 1002 10.0.2.2 5062 10.0.2.1
: >$TMP/e-sip.txt
in_ns $C sipp -sf $TMP/uac-srtp.xml -m 1 -nostdin -timeout 3 -timeout_error -key user 1001 \
	-key target 1002 -key domain ims.local -d 100 -i 10.0.1.2 -p 5061 -mi 10.0.1.2 \
	-mp 6100 10.0.1.1:5070 >$TMP/uac2.out 2>&1
perl -0777 -ne 'exit !(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 8/m && /^a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/m &&
	/^a=setup:actpass/m && /^a=rtcp-mux/m && !/^a=crypto/m)' $TMP/e-sip.txt
ok $? "UDP/TLS/RTP/SAVPF: the callee is offered DTLS-SRTP (fingerprint, actpass, rtcp-mux, no a=crypto)" ||
	diag "$(grep -a '^[am]=' $TMP/e-sip.txt | head -20)"
kill -TERM $SPID
wait $SPID
is $? 0 "sluiced stops cleanly (no sanitizer report)"
