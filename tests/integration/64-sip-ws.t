#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# SIP over WebSocket (RFC 7118, [sip] listen_ws and listen_wss): sluiced in
# the relay's namespace, browser-like phones in the callee's, sipp over UDP
# as the caller in the caller's.
#
# The phones are node 20 scripts with npm packages (make deps installs them
# into tests/node/node_modules): JsSIP, the browser SIP stack, registering
# over ws and wss with digest (node has no WebSocket, the npm ws client
# stands in for the browser's); and tests/node/wsphone.js, a SIP phone
# speaking text over the ws client (JsSIP cannot answer a call without the
# browser's WebRTC), which registers with digest under a .invalid host and
# answers sipp's calls with an SDP of its own, sending and counting RTP.
# Checked: the bindings say WS and WSS; the calls through the B2BUA over
# each reach the phone down its connection (our Via SIP/2.0/WS, Contact
# ;transport=ws) with media both ways; a binding whose connection is gone
# cannot be called (480, at once); bad input: a plain GET (426), an
# upgrade without the sip subprotocol (400), an unmasked frame (close
# 1002, the RFC 6455 handshake example's accept key checked on the way), a
# connection that never sends its request (closed after 10 s).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tls-lib.sh"

require_root
require_cmd ip nsenter sipp tcpdump sqlite3 openssl curl
command -v node >/dev/null 2>&1 || skip_all "needs node (20, the machine's; see make deps)"
NODE_DIR=$TOP/tests/node
[ -d $NODE_DIR/node_modules/ws ] && [ -d $NODE_DIR/node_modules/jssip ] ||
	skip_all "no npm packages in tests/node/node_modules (make deps)"
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"

C=swc$$ R=swr$$ E=swe$$
relay_topology $C $R $E
DB=$TMP/sluice.db
tls_certs $TMP ims.local "DNS:ims.local,IP:10.0.2.1" srv || skip_all "openssl cannot make a certificate"

sluice_conf $TMP/sluice.conf sip.listen=0.0.0.0:5060 sip.domain=ims.local \
	sip.listen_ws=0.0.0.0:5066 sip.listen_wss=0.0.0.0:5067 \
	sip.tls_cert=$TMP/srv.pem sip.tls_key=$TMP/srv.key \
	media.interface="r0, r1" media.address=10.0.1.1 media.ports=30000-30099 \
	media.datapath=user mml.listen=off log.level=debug
cat >$TMP/users.json <<JSON
{ "1001": { "username": "1001", "password": "caller-pw" },
  "1002": { "username": "1002", "password": "ws-pw" },
  "1003": { "username": "1003", "password": "wss-pw" } }
JSON
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null ||
	skip_all "import-users failed"
nsenter --net=/run/netns/$R "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
cleanup_add "kill $SPID 2>/dev/null"
wait_for $TMP/sluiced.log "running|cannot" 100

plan 26

like "$(cat $TMP/sluiced.log)" "\[sip\] WebSocket \(ws\) on 0\.0\.0\.0:5066" "sluiced listens for ws"
like "$(cat $TMP/sluiced.log)" "\[sip\] WebSocket over TLS \(wss\) on 0\.0\.0\.0:5067 .*certificate /CN=ims\.local" \
	"... and for wss with the test certificate"

# JsSIP registers over ws and wss (and unregisters as it stops).
out=$(in_ns $E timeout 20 node $NODE_DIR/jssip-register.js ws://10.0.2.1:5066 1002 ws-pw ims.local 2>&1)
is "$out" "registered" "JsSIP registers over ws with digest"
out=$(in_ns $E timeout 20 node $NODE_DIR/jssip-register.js wss://10.0.2.1:5067 1003 wss-pw ims.local \
	$TMP/ca.pem 2>&1)
is "$out" "registered" "JsSIP registers over wss, the certificate checked against the test CA"
out=$(in_ns $E timeout 20 node $NODE_DIR/jssip-register.js wss://10.0.2.1:5067 1003 wrong ims.local \
	$TMP/ca.pem 2>&1)
like "$out" "^failed " "JsSIP with a wrong password is refused"

# The phones: 1002 over ws, 1003 over wss, each taking one call.
in_ns $E node $NODE_DIR/wsphone.js ws://10.0.2.1:5066 1002 ws-pw ims.local --calls 1 \
	--media 10.0.2.2:7000 --timeout 60 >$TMP/ws.out 2>&1 &
WSP=$!
cleanup_add "kill $WSP 2>/dev/null"
in_ns $E node $NODE_DIR/wsphone.js wss://10.0.2.1:5067 1003 wss-pw ims.local --calls 1 \
	--ca $TMP/ca.pem --media 10.0.2.2:7002 --timeout 60 >$TMP/wss.out 2>&1 &
WSSP=$!
cleanup_add "kill $WSSP 2>/dev/null"
wait_for $TMP/ws.out "registered|error" 100
wait_for $TMP/wss.out "registered|error" 100
# flat FILE: its lines as one, for a regex over several (like() is grep's, line by line).
flat() { tr '\r\n' '  ' <"$1"; }
like "$(flat $TMP/ws.out)" "^connected sip registered - <sip:1002@[0-9a-f]+\.invalid;transport=ws>;expires=600" \
	"a phone over ws: subprotocol sip, registered with digest under its .invalid host"
like "$(cat $TMP/wss.out)" "registered - <sip:1003@[0-9a-f]+\.invalid;transport=wss>;expires=600" \
	"a phone over wss registers too"
row() { sqlite3 $DB "SELECT transport || ' ' || received_addr FROM registrations
	WHERE aor = 'sip:$1@ims.local' AND user_agent = 'sluice-wsphone'"; }
is "$(row 1002)" "WS 10.0.2.2" "the ws binding is its WebSocket connection"
is "$(row 1003)" "WSS 10.0.2.2" "the wss binding too"

# call TARGET PHONE-OUT PROTO PORT: sipp 1001 over UDP calls TARGET (a
# phone over PROTO, our listener PORT), playing the pcap.
PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
sed "s|^  <pause/>|  $PLAY\n  <pause/>|" $TOP/tests/integration/sipp/uac_call.xml >$TMP/uac.xml
sent=$(tcpdump -r $PCAP 2>/dev/null | wc -l)
call() {
	local target=$1 out=$2 rc got proto=$3 port=$4
	in_ns $C tcpdump -i c0 -n -U --immediate-mode -w $TMP/c-$target.pcap udp dst port 6000 2>/dev/null &
	local td=$!
	sleep 1
	in_ns $C sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 30 -timeout_error -key user 1001 \
		-key target $target -key domain ims.local -d 7000 -au 1001 -ap caller-pw \
		-i 10.0.1.2 -p 5061 -mi 10.0.1.2 -mp 6000 \
		-trace_err -error_file $TMP/uac-err-$target.log 10.0.1.1:5060 >$TMP/uac-$target.out 2>&1
	rc=$?
	ok $rc "sipp over UDP calls $target: 407, 200, ACK, media, BYE answered"
	[ $rc = 0 ] || diag "$(tail -20 $TMP/uac-$target.out; tail -5 $TMP/sluiced.log)"
	wait_for $out "done|error" 50
	like "$(flat $out)" "invite <sip:1001@ims\.local>;tag=[0-9a-f]+ via SIP/2\.0/$proto 10\.0\.2\.1:$port;branch=[^ ]+ contact <sip:10\.0\.2\.1:$port;transport=${proto,,}> acked bye [0-9]+ [0-9]+ done" \
		"the phone took the INVITE (our Via SIP/2.0/$proto and Contact on port $port), the ACK and the BYE down its connection"
	set -- $(sed -n 's/^bye //p' $out)
	ok $((${1:-0} >= sent - 2 ? 0 : 1)) "sipp's RTP reached the phone through the relay (${1:-0} of $sent, at most 2 short)"
	sleep 0.5
	kill $td 2>/dev/null
	wait $td 2>/dev/null
	got=$(tcpdump -r $TMP/c-$target.pcap -n "src host 10.0.1.1" 2>/dev/null | wc -l)
	ok $((got >= 300 && got <= ${2:-0} ? 0 : 1)) "the phone's RTP reached sipp ($got of ${2:-0}, at least 6 s)"
}
call 1002 $TMP/ws.out WS 5066
call 1003 $TMP/wss.out WSS 5067
wait $WSP
ok $? "the ws phone ends cleanly"
wait $WSSP
like "$(cat $TMP/sluiced.log)" "connection 10\.0\.2\.2:[0-9]+/wss closed: WebSocket closed by the peer" \
	"the wss phone's close frame is answered and its connection closed"

# The ws binding's connection is gone: a call to it fails at once.
sed "s/@EXPECT@/480/" $TOP/tests/integration/sipp/uac_final.xml >$TMP/final.xml
start=$(date +%s)
in_ns $C sipp -sf $TMP/final.xml -m 1 -nostdin -timeout 15 -timeout_error -key user 1001 \
	-key target 1002 -key domain ims.local -au 1001 -ap caller-pw -i 10.0.1.2 -p 5061 \
	10.0.1.1:5060 >$TMP/final.out 2>&1
rc=$?
ok $((rc == 0 && $(date +%s) - start <= 5 ? 0 : 1)) \
	"a call to a ws binding whose connection is gone gets 480 at once (nothing can connect to a browser)"

# Bad input.
out=$(in_ns $C curl -s -i --max-time 5 http://10.0.1.1:5066/ 2>&1)
like "$out" "^HTTP/1\.1 426 " "a plain GET gets 426 Upgrade Required"
out=$(in_ns $C curl -s -i --max-time 5 -H "Upgrade: websocket" -H "Connection: Upgrade" \
	-H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" \
	-H "Sec-WebSocket-Protocol: chat" http://10.0.1.1:5066/ 2>&1)
like "$(printf '%s' "$out" | tr '\r\n' '  ')" "^HTTP/1\.1 400 .*Sec-WebSocket-Protocol must offer sip" \
	"an upgrade without the sip subprotocol gets 400"
in_ns $C timeout 5 bash -c 'exec 3<>/dev/tcp/10.0.1.1/5066
	printf "GET / HTTP/1.1\r\nHost: ims.local\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n" >&3
	sleep 0.5; printf "\x81\x05hello" >&3; cat <&3' >$TMP/raw.out 2>/dev/null
like "$(head -8 $TMP/raw.out | tr '\r\n' '  ')" "^HTTP/1\.1 101 Switching Protocols.*Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=.*Sec-WebSocket-Protocol: sip" \
	"a good upgrade gets 101 with RFC 6455's example accept key and the sip subprotocol"
is "$(tail -c 4 $TMP/raw.out | od -An -tx1 | tr -d ' \n')" "880203ea" \
	"... then an unmasked frame gets a close with status 1002 and the connection closes"
in_ns $C bash -c 'exec 3<>/dev/tcp/10.0.1.1/5066; sleep 13' &
STALL=$!
cleanup_add "kill $STALL 2>/dev/null"
wait_for $TMP/sluiced.log "WebSocket upgrade of 10\.0\.1\.2:[0-9]+/ws timed out after 10000 ms" 130
ok $? "a connection that never sends its upgrade request is closed after 10 s"
kill $STALL 2>/dev/null

kill -TERM $SPID
wait $SPID
rc=$?
ok $rc "sluiced stops cleanly (no sanitizer report)"
[ $rc = 0 ] || diag "$(tail -40 $TMP/sluiced.log)"
done_testing
