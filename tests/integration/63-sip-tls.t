#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# SIP over TLS ([sip] listen_tls): a throwaway CA and server certificate
# made with the openssl CLI, sluiced in the relay's namespace between two
# phones' namespaces, with TLS on 5061 beside UDP and TCP on 5060.
#
# Phones: Debian's sipp is built without OpenSSL ("To use a TLS transport
# you must compile SIPp with OpenSSL"), so the TLS phones are Debian's
# baresip (headless as in 73: a tone from a WAV file, commands over its
# cons module), checking the server's certificate against the test CA.
#   a. both baresips register over TLS with digest; their bindings say TLS
#      and the connection's port;
#   b. baresip 1001 calls baresip 1002 (TLS to TLS, media both ways
#      counted at each phone, no SIP over UDP at either), then sipp 1003
#      over UDP calls the TLS baresip 1002 (UDP to TLS, sipp's pcap
#      counted at baresip), then baresip 1001 dials a number that goes to
#      the trunk over TLS ([trunk] transport = tls; openssl s_server as the
#      gateway shows the INVITE), its certificate checked against [trunk]
#      tls_ca (an impostor's refused, sent nothing);
#   c. bad input: a client that connects and never sends a ClientHello,
#      open across the first call (closed after the 10 s handshake
#      timeout, the call undisturbed), an HTTP request instead of a
#      ClientHello, a client offering only TLS 1.0 or 1.1 (refused with a
#      protocol_version alert; TLS 1.2 is accepted); an OPTIONS to a sips:
#      Request-URI answered with received and rport;
#   d. SIGHUP with a new certificate: s_client sees it; a broken one is
#      refused and the running one stays; a sluiced whose certificate
#      cannot be loaded starts on UDP and TCP only, saying so.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tls-lib.sh"

require_root
require_cmd ip nsenter sipp tcpdump sqlite3 perl openssl ss
command -v baresip >/dev/null 2>&1 || skip_all "needs baresip (Debian's baresip-core)"
MODS=/usr/lib/baresip/modules
for m in account g711 aufile aubridge cons menu; do
	[ -r $MODS/$m.so ] || skip_all "no baresip module $MODS/$m.so"
done
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"

C=stc$$ R=str$$ E=ste$$
relay_topology $C $R $E
DB=$TMP/sluice.db
tls_certs $TMP ims.local "DNS:ims.local,IP:10.0.1.1,IP:10.0.2.1" srv ||
	skip_all "openssl cannot make a certificate"
tls_certs $TMP trunk.example "IP:10.0.2.3" trunk
ip -n $E addr add 10.0.2.3/24 dev e0	# the trunk, beside the TLS phone 1002

sluice_conf $TMP/sluice.conf sip.listen=0.0.0.0:5060 sip.domain=ims.local \
	sip.listen_tls=0.0.0.0:5061 sip.tls_cert=$TMP/srv.pem sip.tls_key=$TMP/srv.key \
	media.interface="r0, r1" media.address=10.0.1.1 media.ports=30000-30099 \
	media.datapath=user mml.listen=off log.level=debug \
	trunk.address=10.0.2.3:5081 trunk.transport=tls trunk.tls_ca=$TMP/ca.pem
cat >$TMP/users.json <<JSON
{ "1001": { "username": "1001", "password": "caller-pw" },
  "1002": { "username": "1002", "password": "callee-pw" },
  "1003": { "username": "1003", "password": "udp-pw" } }
JSON
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null ||
	skip_all "import-users failed"
nsenter --net=/run/netns/$R "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
cleanup_add "kill $SPID 2>/dev/null"
wait_for $TMP/sluiced.log "running|cannot" 100

plan 37

like "$(cat $TMP/sluiced.log)" "\[sip\] TLS on 0\.0\.0\.0:5061 \(TLS 1\.2 and later\), certificate /CN=ims\.local" \
	"sluiced listens for TLS on 5061 with the test certificate"

# 8 kHz tone for both baresips (see 73).
perl -e '
	my ($rate, $n) = (8000, 8000 * 30);
	print "RIFF", pack("V", 36 + 2 * $n), "WAVEfmt ",
		pack("VvvVVvv", 16, 1, 1, $rate, 2 * $rate, 2, 16), "data", pack("V", 2 * $n),
		pack("s<*", map { int(8000 * sin(2 * 3.14159265 * 440 * $_ / $rate)) } 0 .. $n - 1);
' >$TMP/tone.wav
# baresip NS IFACE ADDR USER PASSWORD RELAY: a TLS phone registering at
# RELAY:5061, answering by itself, its log in $TMP/bs-USER.log.
baresip_tls() {
	local ns=$1 ifc=$2 addr=$3 user=$4 pw=$5 relay=$6 dir=$TMP/bs-$4
	mkdir -p $dir
	cat >$dir/config <<CONF
poll_method		epoll
sip_listen		$addr:5062
sip_cafile		$TMP/ca.pem
net_interface		$ifc
call_local_timeout	120
call_max_calls		4
audio_player		aubridge,nil
audio_alert		aubridge,nil
audio_source		aufile,$TMP/tone.wav
rtp_ports		6000-6001
rtcp_mux		no
module_path		$MODS
module			g711.so
module			aufile.so
module			aubridge.so
module			cons.so
module_tmp		account.so
module_app		menu.so
cons_listen		127.0.0.1:5555
CONF
	cat >$dir/accounts <<ACC
<sip:$user@ims.local;transport=tls>;auth_pass=$pw;outbound="sip:$relay:5061;transport=tls";regint=600;answermode=auto;audio_codecs=PCMA
ACC
	nsenter --net=/run/netns/$ns baresip -f $dir -s </dev/null >$TMP/bs-$user.log 2>&1 &
	cleanup_add "kill $! 2>/dev/null"
}
bs_cmd() { in_ns $1 bash -c "printf '%s\n' '$2' >/dev/udp/127.0.0.1/5555"; }
count() { tcpdump -r "$1" -n "udp and ($2)" 2>/dev/null | wc -l; }

# a. Registration over TLS, with digest.
baresip_tls $E e0 10.0.2.2 1002 callee-pw 10.0.2.1
baresip_tls $C c0 10.0.1.2 1001 caller-pw 10.0.1.1
wait_for $TMP/bs-1002.log "1002@ims.local: .* [0-9]{3} " 100
wait_for $TMP/bs-1001.log "1001@ims.local: .* [0-9]{3} " 100
row() { sqlite3 $DB "SELECT transport || ' ' || received_addr || ' ' || (received_port != 5062)
	FROM registrations WHERE aor = 'sip:$1@ims.local'"; }
is "$(row 1002)" "TLS 10.0.2.2 1" "baresip 1002 registers over TLS: its binding is its TLS connection"
is "$(row 1001)" "TLS 10.0.1.2 1" "baresip 1001 registers over TLS too"
grep -q '^WWW-Authenticate: Digest' $TMP/bs-1002.log &&
	grep -q '^Authorization: Digest username="1002"' $TMP/bs-1002.log
ok $? "baresip 1002 was challenged (401) and answered with its credentials, over TLS"
like "$(cat $TMP/sluiced.log)" "TLS with 10\.0\.2\.2:[0-9]+/tls: TLSv1\.[23]" \
	"sluiced logs the TLS version of the phone's connection"

# c. A client that connects and never speaks, open across the call below.
in_ns $C bash -c 'exec 3<>/dev/tcp/10.0.1.1/5061; sleep 14' &
STALL=$!
cleanup_add "kill $STALL 2>/dev/null"

# b. TLS to TLS: 1001 calls 1002, 6 s of tone each way.
in_ns $C tcpdump -i c0 -n -U --immediate-mode -w $TMP/c-tls.pcap udp 2>/dev/null &
TD=$!
in_ns $E tcpdump -i e0 -n -U --immediate-mode -w $TMP/e-tls.pcap udp 2>/dev/null &
TD="$TD $!"
cleanup_add "kill $TD 2>/dev/null"
sleep 1
bs_cmd $C "/dial sip:1002@ims.local"
wait_for $TMP/sluiced.log "\[call\] sip:1001@ims.local -> sip:1002@ims.local answered" 80
ok $? "baresip 1001 calls baresip 1002 over TLS through the B2BUA: answered"
sleep 6
bs_cmd $C "/hangup"
wait_for $TMP/sluiced.log "\[call\] sip:1001@ims.local -> sip:1002@ims.local ended: the caller hung up" 50
ok $? "the caller's BYE ends the call"
wait_for $TMP/bs-1002.log "Call with sip:1001@ims.local terminated" 50
ok $? "baresip 1002 took the BYE"
sleep 0.5
kill $TD 2>/dev/null
wait $TD 2>/dev/null
to_e=$(count $TMP/e-tls.pcap "src host 10.0.1.1 and dst host 10.0.2.2 and dst port 6000")
to_c=$(count $TMP/c-tls.pcap "src host 10.0.1.1 and dst host 10.0.1.2 and dst port 6000")
ok $((to_e >= 250 ? 0 : 1)) "the callee heard the caller through the relay ($to_e RTP packets, at least 5 s)"
ok $((to_c >= 250 ? 0 : 1)) "the caller heard the callee ($to_c RTP packets, at least 5 s)"
is "$(count $TMP/e-tls.pcap "port 5060 or port 5061 or port 5062")$(count $TMP/c-tls.pcap "port 5060 or port 5061 or port 5062")" \
	"00" "no SIP over UDP at either TLS phone"
perl -0777 -ne 'exit !/^TLS 10\.0\.2\.1:5061 -> 10\.0\.2\.2:\d+\r?\nINVITE sip:1002[^@ ]*\@10\.0\.2\.2:\d+;transport=tls/m' \
	$TMP/bs-1002.log
ok $? "sluiced's INVITE reached baresip 1002 over its registered TLS connection" ||
	diag "$(grep -A2 '^TLS 10.0.2.1:5061 -> ' $TMP/bs-1002.log | head -12)"
perl -0777 -ne 'exit !/^TLS 10\.0\.2\.1:5061 -> 10\.0\.2\.2:\d+\r?\nINVITE .*?^Via: SIP\/2\.0\/TLS 10\.0\.2\.1:5061;.*?^Contact: <sip:10\.0\.2\.1:5061;transport=tls>/ms' \
	$TMP/bs-1002.log
ok $? "... with our Via SIP/2.0/TLS and Contact ;transport=tls on the TLS port"

wait_for $TMP/sluiced.log "TLS handshake with 10\.0\.1\.2:[0-9]+/tls timed out after 10000 ms" 60
ok $? "the client that never sent a ClientHello is closed after the handshake timeout"
is "$(in_ns $R ss -tnH state established '( sport = :5061 )' | grep -c ' 10\.0\.1\.2:')" 1 \
	"... its connection is gone, baresip 1001's stays"
kill $STALL 2>/dev/null

# b. UDP to TLS: sipp 1003 over UDP calls baresip 1002, playing the pcap.
sed "s/@EXPECT@/200/" $TOP/tests/integration/sipp/register.xml >$TMP/reg.xml
PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
sed "s|^  <pause/>|  $PLAY\n  <pause/>|" $TOP/tests/integration/sipp/uac_call.xml >$TMP/uac.xml
sent=$(tcpdump -r $PCAP 2>/dev/null | wc -l)
in_ns $E tcpdump -i e0 -n -U --immediate-mode -w $TMP/e-udp.pcap udp 2>/dev/null &
TD=$!
cleanup_add "kill $TD 2>/dev/null"
sleep 1
in_ns $C sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 30 -timeout_error -key user 1003 \
	-key target 1002 -key domain ims.local -d 7000 -au 1003 -ap udp-pw \
	-i 10.0.1.2 -p 5070 -mi 10.0.1.2 -mp 7000 \
	-trace_err -error_file $TMP/uac-err.log 10.0.1.1:5060 >$TMP/uac.out 2>&1
rc=$?
ok $rc "sipp over UDP calls the TLS phone: 407, 200, ACK, media, BYE answered"
[ $rc = 0 ] || diag "$(tail -20 $TMP/uac.out; tail -5 $TMP/sluiced.log)"
sleep 0.5
kill $TD 2>/dev/null
wait $TD 2>/dev/null
got=$(count $TMP/e-udp.pcap "src host 10.0.1.1 and dst host 10.0.2.2 and dst port 6000")
ok $((got >= sent - 2 ? 0 : 1)) "sipp's RTP reached the TLS phone ($got of $sent, at most 2 short)"
like "$(cat $TMP/bs-1002.log)" "Call with sip:1003@ims.local terminated" "baresip 1002 took sipp's BYE"

# b. Out to a trunk over TLS: openssl s_server stands in for the gateway
# and shows what it was sent (it never answers). trunk_server NAME OUT:
# with certificate NAME.pem, its pid in TRUNK.
trunk_server() {
	sleep 30 | nsenter --net=/run/netns/$E timeout 25 openssl s_server \
		-accept 10.0.2.3:5081 -cert $TMP/$1.pem -key $TMP/$1.key -quiet -naccept 1 >$2 2>&1 &
	TRUNK=$!
	cleanup_add "kill $TRUNK 2>/dev/null"
	sleep 1
}
like "$(cat $TMP/sluiced.log)" "\[trunk\] TLS: the gateway's certificate is checked against .*/ca\.pem for 10\.0\.2\.3" \
	"[trunk] tls_ca: the gateway's certificate will be checked"
trunk_server trunk $TMP/trunk.out
bs_cmd $C "/dial sip:0301234@ims.local"
wait_for $TMP/trunk.out "^INVITE " 50
like "$(tr '\r\n' '  ' <$TMP/trunk.out)" "^INVITE sip:0301234@10\.0\.2\.3:5081;transport=tls SIP/2\.0 +Via: SIP/2\.0/TLS 10\.0\.2\.1:5061;" \
	"a number goes to the trunk over TLS ([trunk] transport = tls), our Via SIP/2.0/TLS"
like "$(cat $TMP/sluiced.log)" "TLS with 10\.0\.2\.3:5081/tls: TLSv1\.[23]" \
	"... on a connection sluiced opened, its handshake done on the loop"
# No provisional came, so no CANCEL may go (RFC 3261 §9.1): the caller just leaves.
bs_cmd $C "/hangup"
kill $TRUNK
wait $TRUNK 2>/dev/null
# An impostor on the trunk's address, with a certificate the CA never signed.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-keyout $TMP/impostor.key -out $TMP/impostor.pem -subj "/CN=trunk.example" \
	-addext "subjectAltName=IP:10.0.2.3" >/dev/null 2>&1
trunk_server impostor $TMP/impostor.out
bs_cmd $C "/dial sip:0301234@ims.local"
wait_for $TMP/sluiced.log "TLS handshake with 10\.0\.2\.3:5081/tls failed: .*certificate verify failed" 50
ok $? "a gateway whose certificate the CA did not sign: the handshake fails"
ok $(grep -c '^INVITE ' $TMP/impostor.out) "... and it is sent nothing"
bs_cmd $C "/hangup"
kill $TRUNK

# c. Bad input.
in_ns $C timeout 5 bash -c 'exec 3<>/dev/tcp/10.0.1.1/5061
	printf "OPTIONS / HTTP/1.0\r\n\r\n" >&3; cat <&3 >/dev/null' 2>/dev/null
rc=$?	# 0 at a close, 1 at a reset (what it had sent unread), 124: still open
ok $((rc == 0 || rc == 1 ? 0 : 1)) "an HTTP request instead of a ClientHello: sluiced closes the connection at once"
like "$(cat $TMP/sluiced.log)" "TLS handshake with 10\.0\.1\.2:[0-9]+/tls failed: .*(wrong version number|http request)" \
	"... and says why"
for v in 1.0:tls1 1.1:tls1_1; do
	out=$(in_ns $C timeout 5 openssl s_client -connect 10.0.1.1:5061 -${v#*:} \
		-cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1)
	like "$out" "alert protocol version" "a client offering only TLS ${v%:*} gets a protocol_version alert"
done
is "$(grep -c 'TLS handshake with 10\.0\.1\.2:[0-9]*/tls failed: .*unsupported protocol' $TMP/sluiced.log)" 2 \
	"... and sluiced logs each"
out=$(in_ns $C timeout 5 openssl s_client -connect 10.0.1.1:5061 -tls1_2 -CAfile $TMP/ca.pem \
	-verify_return_error </dev/null 2>&1)
like "$out" "Protocol *: TLSv1\.2" "TLS 1.2 is accepted, the certificate verified against the test CA"

# A sips: Request-URI over TLS is this server's (RFC 3261 §26.2).
printf 'OPTIONS sips:ims.local SIP/2.0\r\nVia: SIP/2.0/TLS 10.0.1.2:5099;branch=z9hG4bK-sips1;rport\r\nMax-Forwards: 70\r\nFrom: <sips:probe@ims.local>;tag=p1\r\nTo: <sips:ims.local>\r\nCall-ID: sips-probe-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' >$TMP/opt.txt
out=$( (cat $TMP/opt.txt; sleep 1) | in_ns $C timeout 5 openssl s_client -connect 10.0.1.1:5061 \
	-CAfile $TMP/ca.pem -quiet 2>/dev/null | tr '\r\n' '  ')
like "$out" "^SIP/2\.0 200 OK +Via: SIP/2\.0/TLS 10\.0\.1\.2:5099;branch=z9hG4bK-sips1;rport=[0-9]+;received=10\.0\.1\.2 " \
	"OPTIONS sips:ims.local over TLS: 200, received and rport on the Via"

# d. SIGHUP: a renewed certificate, then a broken one.
tls_certs $TMP renewed.ims.local "DNS:ims.local,IP:10.0.1.1,IP:10.0.2.1" srv2
cp $TMP/srv2.pem $TMP/srv.pem
cp $TMP/srv2.key $TMP/srv.key
kill -HUP $SPID
wait_for $TMP/sluiced.log "TLS certificate reloaded: /CN=renewed\.ims\.local" 30
ok $? "SIGHUP reloads the certificate"
is "$(tls_subject $C 10.0.1.1:5061)" "CN = renewed.ims.local" "openssl s_client sees the new one"
echo "not a certificate" >$TMP/broken.pem
sed -i "s|^tls_cert = .*|tls_cert = $TMP/broken.pem|" $TMP/sluice.conf
kill -HUP $SPID
wait_for $TMP/sluiced.log "TLS certificate not reloaded, keeping /CN=renewed\.ims\.local" 30
ok $? "a broken certificate on SIGHUP is refused with one line"
is "$(tls_subject $C 10.0.1.1:5061)" "CN = renewed.ims.local" "... and the running one stays"

# A sluiced whose certificate cannot be loaded runs on UDP and TCP.
sluice_conf $TMP/bad.conf sip.listen=10.0.1.1:5080 sip.listen_tls=10.0.1.1:5081 \
	sip.tls_cert=$TMP/broken.pem sip.tls_key=$TMP/srv.key media.interface=r0 \
	media.address=10.0.1.1 media.ports=30100-30199 store.db=$TMP/bad.db mml.listen=off
nsenter --net=/run/netns/$R "$SLUICED" -c $TMP/bad.conf >$TMP/bad.log 2>&1 &
BAD=$!
cleanup_add "kill $BAD 2>/dev/null"
wait_for $TMP/bad.log "running|cannot" 100
like "$(cat $TMP/bad.log)" "\[sip\] TLS off: tls_cert and tls_key not loaded: .*no start line .*broken\.pem\); listening on UDP and TCP only" \
	"a certificate that cannot be loaded: one line, TLS off"
kill -TERM $BAD
wait $BAD
ok $? "... and that sluiced ran on UDP and TCP and stops cleanly"

for ns in $C $E; do bs_cmd $ns "/quit"; done
sleep 1
kill -TERM $SPID
wait $SPID
rc=$?
ok $rc "sluiced stops cleanly (no sanitizer report)"
[ $rc = 0 ] || diag "$(tail -40 $TMP/sluiced.log)"
done_testing
