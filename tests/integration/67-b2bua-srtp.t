#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# An encrypted phone calling a plain one through the B2BUA ([media] srtp
# = offer): baresip 1001 over TLS with SRTP mandatory (RTP/SAVP, SDES)
# calls sipp 1002 registered over UDP with plain RTP/AVP. The relay
# terminates the caller's SRTP with a key of its own and offers the callee
# SRTP too, whose plain answer leaves that leg plain. Audio is counted at
# each end: sipp receives plain RTP (172-byte PCMA packets) from baresip's
# tone, baresip SRTP (262 bytes: 252 and the 80-bit tag) from sipp's pcap and
# reports no SRTP error; the stream stays out of the kernel. Bad input
# meanwhile: a TLS client that sends half a ClientHello and stalls (closed
# at the handshake timeout), a stranger's SRTP with a wrong key to the
# caller's relay port (dropped, counted, logged); the call goes on.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../b2bua-lib.sh"
. "$(dirname "$0")/../tls-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp tcpdump sqlite3 perl openssl
command -v baresip >/dev/null 2>&1 || skip_all "needs baresip (Debian's baresip-core)"
MODS=/usr/lib/baresip/modules
for m in account g711 aufile aubridge cons menu srtp; do
	[ -r $MODS/$m.so ] || skip_all "no baresip module $MODS/$m.so"
done
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
[ -x "$TOOLS/srtpio" ] || skip_all "build the test tools first (make unit-bins)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"

C=ssc$$ R=ssr$$ E=sse$$
PIN=/sys/fs/bpf/sluice-test-ss$$
relay_topology $C $R $E
tls_certs $TMP ims.local "DNS:ims.local,IP:10.0.1.1,IP:10.0.2.1" srv ||
	skip_all "openssl cannot make a certificate"
B2BUA_CONF=(sip.listen_tls=0.0.0.0:5061 sip.tls_cert=$TMP/srv.pem sip.tls_key=$TMP/srv.key
	media.srtp=offer log.level=debug)
b2bua_sluiced $R $PIN default 30000-30099
plan 14

# 8 kHz tone for baresip (see 63).
perl -e '
	my ($rate, $n) = (8000, 8000 * 30);
	print "RIFF", pack("V", 36 + 2 * $n), "WAVEfmt ",
		pack("VvvVVvv", 16, 1, 1, $rate, 2 * $rate, 2, 16), "data", pack("V", 2 * $n),
		pack("s<*", map { int(8000 * sin(2 * 3.14159265 * 440 * $_ / $rate)) } 0 .. $n - 1);
' >$TMP/tone.wav
dir=$TMP/bs
mkdir -p $dir
cat >$dir/config <<CONF
poll_method		epoll
sip_listen		10.0.1.2:5062
sip_cafile		$TMP/ca.pem
net_interface		c0
call_local_timeout	120
audio_player		aubridge,nil
audio_alert		aubridge,nil
audio_source		aufile,$TMP/tone.wav
rtp_ports		6000-6001
rtcp_mux		no
module_path		$MODS
module			g711.so
module			aufile.so
module			aubridge.so
module			srtp.so
module			cons.so
module_tmp		account.so
module_app		menu.so
cons_listen		127.0.0.1:5555
CONF
cat >$dir/accounts <<ACC
<sip:1001@ims.local;transport=tls>;auth_pass=caller-pw;outbound="sip:10.0.1.1:5061;transport=tls";regint=600;answermode=auto;audio_codecs=PCMA;mediaenc=srtp-mand
ACC
nsenter --net=/run/netns/$C baresip -f $dir -s </dev/null >$TMP/bs.log 2>&1 &
cleanup_add "kill $! 2>/dev/null"
bs_cmd() { in_ns $C bash -c "printf '%s\n' '$1' >/dev/udp/127.0.0.1/5555"; }

SIPP_DIR=$TOP/tests/integration/sipp
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
in_ns $E sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user 1002 \
	-key aor 1002 -key domain ims.local -key expires 600 -au 1002 -ap callee-pw \
	-i 10.0.2.2 -p 5062 10.0.2.1:5060 >$TMP/reg.out 2>&1
ok $? "sipp 1002 registers over UDP"
wait_for $TMP/bs.log "1001@ims.local: .* 200 " 100
ok $? "baresip 1001 registers over TLS"

PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $SIPP_DIR/uas_answer.xml >$TMP/uas.xml
in_ns $C tcpdump -i c0 -n -U --immediate-mode -w $TMP/c.pcap udp and not port 5060 2>/dev/null &
TD=$!
in_ns $E tcpdump -i e0 -n -U --immediate-mode -w $TMP/e.pcap udp dst port 6000 2>/dev/null &
TD="$TD $!"
cleanup_add "kill $TD 2>/dev/null"
in_ns $E sipp -sf $TMP/uas.xml -m 1 -nostdin -timeout 40 -timeout_error -i 10.0.2.2 -p 5062 \
	-mi 10.0.2.2 -mp 6000 -trace_err -error_file $TMP/uas-err.log -trace_msg \
	-message_file $TMP/uas-msg.log 10.0.2.1:5060 >$TMP/uas.out 2>&1 &
UAS=$!
sleep 1

# Half a ClientHello (a record header announcing 512 bytes, then silence).
in_ns $C bash -c 'exec 3<>/dev/tcp/10.0.1.1/5061; printf "\x16\x03\x01\x02\x00\x01\x00" >&3; sleep 14' &
STALL=$!
cleanup_add "kill $STALL 2>/dev/null"

bs_cmd "/dial sip:1002@ims.local"
wait_for $TMP/sluiced.log "\[call\] sip:1001@ims.local -> sip:1002@ims.local answered" 80
ok $? "baresip (TLS, SRTP mandatory) calls sipp (plain RTP) through the B2BUA: answered"
like "$(cat $TMP/uas-msg.log)" "m=audio [0-9]+ RTP/SAVP 8" "sipp was offered SRTP ([media] srtp = offer)"
perl -0777 -ne 'exit !/^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\S+/m' $TMP/uas-msg.log
ok $? "with the relay's own keys"
sleep 2
# A stranger's SRTP to the port the caller sends to.
PA=$(sed -n 's/^m=audio \(300[0-9][0-9]\) RTP\/SAVP .*/\1/p' $TMP/bs.log | tail -1)
# failed CALLER: SRTP packets from the caller's side that failed, as logged so far.
failed() { sed -n 's/.*stream 0: \([0-9]*\) SRTP packets* from the caller failed.*/\1/p' \
	$TMP/sluiced.log | awk '{ n += $1 } END { print n + 0 }'; }
before=$(failed)
in_ns $C "$TOOLS/srtpio" send 10.0.1.2:7777 10.0.1.1:${PA:-1} 20 AES_CM_128_HMAC_SHA1_80 \
	"$(openssl rand -base64 30)" 0x5151 2>&1
sleep 2.5
is "$(($(failed) - before))" 20 "a stranger's 20 SRTP packets to the caller's relay port fail authentication, dropped and logged"
like "$(in_ns $R "$SLUICECTL" -p $PIN flow list)" "^0 flows$" "the terminated stream stays out of the kernel"
sleep 4
bs_cmd "/hangup"
wait $UAS
ok $? "sipp took the BYE"
sleep 0.5
kill $TD 2>/dev/null
wait $TD 2>/dev/null
plain=$(tcpdump -r $TMP/e.pcap -n 'src host 10.0.1.1' 2>/dev/null | grep -c 'length 172$')
ok $((plain >= 250 ? 0 : 1)) "sipp heard baresip's tone as plain RTP ($plain packets of 172 bytes, at least 5 s)"
sent=$(tcpdump -r $PCAP 2>/dev/null | wc -l)
# sipp's pcap carries 240-byte PCMA payloads: 252 bytes of RTP, 262 of SRTP.
enc=$(tcpdump -r $TMP/c.pcap -n 'src host 10.0.1.1 and dst port 6000' 2>/dev/null | grep -c 'length 262$')
ok $((enc >= sent - 2 ? 0 : 1)) "baresip received sipp's pcap as SRTP ($enc of $sent packets of 262 bytes: 10 more than RTP)"
unlike() { if printf '%s' "$1" | grep -Eiq -- "$2"; then ok 1 "$3"; else ok 0 "$3"; fi; }
unlike "$(cat $TMP/bs.log)" "srtp.*(fail|error|auth)" "baresip reports no SRTP error"
wait_for $TMP/sluiced.log "TLS handshake with 10\.0\.1\.2:[0-9]+/tls timed out after 10000 ms" 60
ok $? "the TLS client that sent half a ClientHello is closed after the handshake timeout"
kill $STALL 2>/dev/null
like "$(cat $TMP/sluiced.log)" "\[call\] sip:1001@ims.local -> sip:1002@ims.local ended: the caller hung up" \
	"the call ended normally, undisturbed"
kill -TERM $SPID
wait $SPID
is $? 0 "sluiced stops cleanly (no sanitizer report)"
