#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# WebRTC to a SIP phone: headless chromium (Debian's, driven by
# playwright-core: tests/web/webrtc.js) runs JsSIP (tests/web/webrtc.html)
# and calls over WebSocket ([sip] listen_ws) through the B2BUA ([media]
# srtp = offer) a sipp phone registered over UDP with plain RTP/AVP. The
# browser's offer is UDP/TLS/RTP/SAVPF with ICE and rtcp-mux; the relay
# answers it with its own certificate's fingerprint, a=setup:passive, its
# ICE-lite candidates and rtcp-mux, runs the DTLS handshake as server,
# takes the SRTP keys from it, and bridges to the phone's plain RTP. Audio
# is counted at both ends: the browser's getStats() (inbound packets from
# the phone's pcap, outbound from its fake microphone) and tcpdump at the
# phone. Then a stranger's DTLS ClientHello to a relay port is refused
# and counted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../b2bua-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp tcpdump sqlite3 perl node openssl
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip_all "no chromium (Debian chromium, in make deps)"
[ -d "$TOP/tests/web/node_modules/playwright-core" ] ||
	skip_all "no playwright-core in tests/web/node_modules (make deps installs it with npm)"
[ -d "$TOP/tests/node/node_modules/jssip" ] ||
	skip_all "no JsSIP in tests/node/node_modules (make node-deps installs it with npm)"
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"

C=swc$$ R=swr$$ E=swe$$
PIN=/sys/fs/bpf/sluice-test-sw$$
relay_topology $C $R $E
in_ns $C ip link set lo up
B2BUA_CONF=(sip.listen_ws=0.0.0.0:5066 media.srtp=offer log.level=debug media.timeout=30)
b2bua_sluiced $R $PIN default 30000-30099
plan 13

like "$(cat $TMP/sluiced.log)" "\[media\] DTLS-SRTP certificate sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}" \
	"sluiced made its DTLS certificate (ECDSA P-256) at start"

SIPP_DIR=$TOP/tests/integration/sipp
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
in_ns $E sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user 1002 \
	-key aor 1002 -key domain ims.local -key expires 600 -au 1002 -ap callee-pw \
	-i 10.0.2.2 -p 5062 10.0.2.1:5060 >$TMP/reg.out 2>&1
ok $? "sipp 1002 registers over UDP"

PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $SIPP_DIR/uas_answer.xml >$TMP/uas.xml
in_ns $E tcpdump -i e0 -n -U --immediate-mode -w $TMP/e.pcap udp dst port 6000 2>/dev/null &
TD=$!
cleanup_add "kill $TD 2>/dev/null"
in_ns $E sipp -sf $TMP/uas.xml -m 1 -nostdin -timeout 60 -timeout_error -i 10.0.2.2 -p 5062 \
	-mi 10.0.2.2 -mp 6000 -trace_err -error_file $TMP/uas-err.log -trace_msg \
	-message_file $TMP/uas-msg.log 10.0.2.1:5060 >$TMP/uas.out 2>&1 &
UAS=$!
cleanup_add "kill $UAS 2>/dev/null"
sleep 0.5

Q="ws=ws://10.0.1.1:5066&user=1001&pw=caller-pw&domain=ims.local&target=1002&secs=6"
in_ns $C env CHROMIUM=$CHROMIUM HOME=$TMP timeout 90 node $TOP/tests/web/webrtc.js \
	$((8000 + RANDOM % 1000)) "$Q" 60 >$TMP/browser.out 2>$TMP/browser.log &
BROWSER=$!
cleanup_add "kill $BROWSER 2>/dev/null"
# While the call is up: a stranger's DTLS ClientHello (a record of type
# 22, DTLS 1.2) to the relay port facing the browser.
wait_for $TMP/sluiced.log "DTLS-SRTP with the caller" 300
PW=$(sed -n 's/.*DTLS-SRTP with the caller on port \([0-9]*\):.*/\1/p' $TMP/sluiced.log | tail -1)
in_ns $C perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(PeerAddr => "10.0.1.1:'${PW:-30000}'", Proto => "udp") or die;
	$s->send(pack("C n n n N n n", 22, 0xfefd, 0, 0, 0, 1, 0) . "\x01" . ("\0" x 60)) for 1 .. 3;'
wait $BROWSER
out=$(tail -1 $TMP/browser.out)
diag "browser: $out"
like "$out" '"connected":true' "chromium (JsSIP over ws) calls sipp through the B2BUA: confirmed" ||
	diag "$(tail -20 $TMP/browser.log; grep -E 'media|488|error' $TMP/sluiced.log | tail -10)"
like "$out" '"dtlsState":"connected"' "DTLS with the relay connected"
like "$(cat $TMP/sluiced.log)" "DTLS-SRTP with the caller on port [0-9]+: (AEAD_AES_128_GCM|AES_CM_128_HMAC_SHA1_80)" \
	"the relay took the SRTP keys from the handshake"
rx=$(printf '%s' "$out" | sed -n 's/.*"packetsReceived":\([0-9]*\).*/\1/p')
ok $((${rx:-0} >= 150 ? 0 : 1)) "the browser received and decrypted sipp's audio (${rx:-0} packets, getStats inbound-rtp)"
tx=$(printf '%s' "$out" | sed -n 's/.*"packetsSent":\([0-9]*\).*/\1/p')
ok $((${tx:-0} >= 250 ? 0 : 1)) "the browser sent its microphone (${tx:-0} packets)"
like "$(cat $TMP/uas-msg.log)" "m=audio [0-9]+ RTP/AVP " "sipp was offered RTP/AVP (with the relay's a=crypto, best effort)"
wait $UAS
ok $? "sipp took the browser's BYE"
kill $TD 2>/dev/null
wait $TD 2>/dev/null
got=$(tcpdump -r $TMP/e.pcap -n 'src host 10.0.1.1' 2>/dev/null | wc -l)
ok $((got >= 250 ? 0 : 1)) "sipp received the browser's audio as plain RTP ($got packets, at least 5 s)"
v2=$(tcpdump -r $TMP/e.pcap -n 'src host 10.0.1.1 and udp[8] & 0xc0 = 0x80 and udp[9] & 0x7f = 8' 2>/dev/null | wc -l)
is "$v2" "$got" "... each plain RTP: version 2, payload type 8 (PCMA) in the clear"

like "$(cat $TMP/sluiced.log)" "stream 0: 3 DTLS records to the caller's port refused" \
	"a stranger's 3 DTLS ClientHellos to the browser's relay port, sent during the call, were refused and counted"
kill -TERM $SPID
wait $SPID
is $? 0 "sluiced stops cleanly (no sanitizer report)"
