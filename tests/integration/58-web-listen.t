#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Listening in on a live call whose media is in the kernel (XDP): two
# phones in namespaces of their own (sipp for SIP, rtpio for RTP both
# ways, tcpdump counting what reaches each), sluiced between them with
# its web listener. First a plain WebSocket client (curl) takes a ticket
# from POST /api/listen and receives RTP payloads; then headless Chromium
# (tests/web/listen.js) logs in, presses Listen on the live calls page and
# decodes G.711 in both directions. While someone listens the streams'
# path is "user", after it "xdp" again; the phones receive every packet,
# in sequence, throughout; the CDR names the listeners.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/b2bua-lib.sh"
. "$TOP/tests/web-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp tcpdump curl jq
[ -x "$SLUICED" ] && [ -x "$RTPIO" ] || skip_all "build first (make, make unit-bins)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip_all "no chromium (Debian chromium, in make deps)"
command -v node >/dev/null || skip_all "no node (the machine's node 20)"
[ -d "$TOP/tests/web/node_modules/playwright-core" ] ||
	skip_all "no playwright-core in tests/web/node_modules (make deps installs it with npm)"

C=slc$$ R=slr$$ E=sle$$
PIN=/sys/fs/bpf/sluice-test-l$$
relay_topology $C $R $E
B2BUA_CONF=(mml.listen=127.0.0.1:7777 mml.admin_password=web-admin-pw control.ng=127.0.0.1:2223
	http.listen=127.0.0.1:8080 http.root=$TOP/web http.token=$TOKEN)
b2bua_sluiced $R $PIN default 30000-30099
WEB_NS=$R
plan 40

SIPP_DIR=$TOP/tests/integration/sipp
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
in_ns $E sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user 1002 \
	-key aor 1002 -key domain ims.local -key expires 600 -au 1002 -ap callee-pw \
	-i 10.0.2.2 -p 5062 10.0.2.1:5060 >$TMP/reg.out 2>&1
ok $? "the callee registers" || diag "$(tail -5 $TMP/reg.out)"

# The call, up until the API hangs it up.
in_ns $E sipp -sf $SIPP_DIR/uas_answer.xml -m 1 -nostdin -timeout 90 -timeout_error \
	-i 10.0.2.2 -p 5062 -mi 10.0.2.2 -mp 6000 10.0.2.1:5060 >$TMP/uas.out 2>&1 &
UAS=$!
sed "s/@EXPECT@/200/; s/@REASON@/true/" $SIPP_DIR/uac_wait_bye.xml >$TMP/uac.xml
in_ns $C sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 90 -timeout_error -key user 1001 \
	-key target 1002 -key domain ims.local -au 1001 -ap caller-pw -i 10.0.1.2 -p 5061 \
	-mi 10.0.1.2 -mp 6000 10.0.1.1:5060 >$TMP/uac.out 2>&1 &
UAC=$!
cleanup_add "kill $UAS $UAC 2>/dev/null"
wait_for $TMP/sluiced.log "1002@ims.local answered" 50
ok $? "1001 calls 1002, answered" || diag "$(tail -5 $TMP/uac.out)"

tok() { in_ns $R curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
streams() { tok $WEB/api/streams | jq -r '.tables[0].rows[] | "\(.leg) \(.relayport) \(.path) \(.packets)"'; }
paths() { streams | awk '{print $3}' | sort -u | tr '\n' ' ' | sed 's/ $//'; }
wait_paths() { local i; for ((i = 0; i < 40; i++)); do [ "$(paths)" = "$1" ] && return 0; sleep 0.1; done; return 1; }
callid=$(tok $WEB/api/calls | jq -r '.tables[0].rows[0].callid')
pa=$(streams | awk '$1 == "A" {print $2}')
pb=$(streams | awk '$1 == "B" {print $2}')

# RTP both ways: one packet each to latch, then 50 a second for 36 s,
# counted at each phone.
N=1800
in_ns $C "$RTPIO" send 10.0.1.2:7000 10.0.1.1:$pa 1 1111 50 >/dev/null 2>&1
in_ns $E "$RTPIO" send 10.0.2.2:7002 10.0.1.1:$pb 1 2222 50 >/dev/null 2>&1
sleep 0.3
nsenter --net=/run/netns/$C tcpdump -U --immediate-mode -i c0 -n -w $TMP/caller.pcap udp dst port 7000 2>/dev/null &
TA=$!
nsenter --net=/run/netns/$E tcpdump -U --immediate-mode -i e0 -n -w $TMP/callee.pcap udp dst port 7002 2>/dev/null &
TB=$!
cleanup_add "kill $TA $TB 2>/dev/null"
sleep 1
in_ns $C "$RTPIO" send 10.0.1.2:7000 10.0.1.1:$pa $N 1111 50 1 >/dev/null 2>&1 &
RA=$!
in_ns $E "$RTPIO" send 10.0.2.2:7002 10.0.1.1:$pb $N 2222 50 1 >/dev/null 2>&1 &
RB=$!
cleanup_add "kill $RA $RB 2>/dev/null"
wait_paths xdp
is "$(paths)" xdp "both directions go by XDP before anyone listens"

# A plain WebSocket client: the API's ticket, then the upgrade.
is "$(api POST /api/listen '{"callid": "nope"}' -H "Authorization: Bearer $TOKEN")" 404 \
	"no listening to a call that does not exist"
api POST /api/operators '{"op": "viewer", "pwd": "viewer-pw-1", "role": "OPERATOR"}' \
	-H "Authorization: Bearer $TOKEN" >/dev/null
cp $TMP/jar $TMP/jar.admin 2>/dev/null
web_login viewer viewer-pw-1
is "$(api POST /api/listen "{\"callid\": \"$callid\"}")" 403 "an OPERATOR may not listen in (ADMIN only)"
CSRF=
rm -f $TMP/jar
is "$(api POST /api/listen "{\"callid\": \"$callid\"}" -H "Authorization: Bearer $TOKEN")" 200 \
	"POST /api/listen (STR LISTEN) with the token"
url=$(jbody '.tables[0].rows[0].url')
like "$url" '^/api/listen/ws\?ticket=[0-9a-f]{32}$' "it answers a one-use ticket's URL"
like "$(jbody '.tables[0].rows[0].codec')" '^PCMA$' "... and the call's codec"
wait_paths user
is "$(paths)" user "while someone listens, both directions go through userspace"
ws() {
	in_ns $R curl -s -N --http1.1 --max-time "$1" -o "$2" -w '%{http_code}' \
		-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$WEB$3"
}
ws 2 $TMP/ws.bin "$url" >$TMP/ws.code
is "$(cat $TMP/ws.code)" 101 "the WebSocket upgrade with the ticket: 101"
# Binary frames of 2 + 160 bytes: 0x82 0x7e 0x00 0xa2, then direction and PT 0.
frames=$(od -An -v -tx1 $TMP/ws.bin | tr -d '\n' | grep -o '82 7e 00 a2 0[01] 00' | sort | uniq -c |
	awk '{print $6 ":" $1}' | tr '\n' ' ')
like "$frames" "^00:[0-9]+ 01:[0-9]+ $" "RTP payloads of both directions arrive as binary messages ($frames)"
is "$(ws 2 /dev/null "$url")" 403 "the ticket is used up: 403"
wait_paths xdp
is "$(paths)" xdp "the client gone, both directions are back in XDP"

# STP LISTEN's API twin ends a listen before anyone took up its ticket.
api POST /api/listen "{\"callid\": \"$callid\"}" -H "Authorization: Bearer $TOKEN" >/dev/null
url2=$(jbody '.tables[0].rows[0].url')
wait_paths user
is "$(api DELETE /api/listen/$callid '' -H "Authorization: Bearer $TOKEN")" 200 \
	"DELETE /api/listen/CALLID (STP LISTEN)"
wait_paths xdp
is "$(paths)" xdp "... puts the flows back at once"
is "$(ws 2 /dev/null "$url2")" 403 "... and its ticket is void"

# A session relayed for Kamailio (NG) is listened to by its id.
printf 'v=0\r\no=- 1 1 IN IP4 10.0.1.2\r\ns=-\r\nc=IN IP4 10.0.1.2\r\nt=0 0\r\nm=audio 41000 RTP/AVP 8\r\n' \
	>$TMP/ng-offer
in_ns $R perl $TOP/tests/tools/ng.pl 127.0.0.1:2223 offer call-id=ng-listen-1 from-tag=caller \
	sdp=@$TMP/ng-offer >/dev/null
ok $? "an NG offer makes a session"
is "$(api POST /api/listen '{"callid": "ng-listen-1"}' -H "Authorization: Bearer $TOKEN")" 200 \
	"STR LISTEN by an NG session's id" || diag "$(cat $TMP/body)"
is "$(api DELETE /api/listen/ng-listen-1 '' -H "Authorization: Bearer $TOKEN")" 200 "... and STP LISTEN"
in_ns $R perl $TOP/tests/tools/ng.pl 127.0.0.1:2223 delete call-id=ng-listen-1 from-tag=caller \
	>/dev/null

# The browser.
mkdir -p $TMP/steps $TOP/build
CHROMIUM=$CHROMIUM nsenter --net=/run/netns/$R node $TOP/tests/web/listen.js $WEB $TMP/steps \
	$TOP/build >$TMP/browser.out 2>&1 &
BROWSER=$!
cleanup_add "kill $BROWSER 2>/dev/null"
wait_for_file() { local i; for ((i = 0; i < $2; i++)); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }
wait_for_file $TMP/steps/listening 300
ok $? "the browser listens" || diag "$(tail -5 $TMP/browser.out)"
is "$(paths)" user "... and the streams go through userspace meanwhile"
touch $TMP/steps/checked
wait_for_file $TMP/steps/stopped 100
wait_paths xdp
is "$(paths)" xdp "after Stop listening, back in XDP"
wait $BROWSER
ok $? "the browser run passes" || diag "$(grep -v '^RESULT 0' $TMP/browser.out | tail -5)"
while read -r tag rc what; do
	[ "$tag" = RESULT ] && ok "$rc" "browser: $what"
done <$TMP/browser.out

# The phones: every packet, in order, across the switches of path.
wait $RA $RB
sleep 1.5
got() { "$RTPIO" pcap $1 $2 | sed -n 's/.*frames \([0-9]*\) .*first_seq \([0-9]*\) last_seq \([0-9]*\).*/\1 \2 \3/p'; }
kill $TA $TB
wait $TA $TB 2>/dev/null
is "$(got $TMP/caller.pcap 7000)" "$N 1001 $((1000 + N))" "the caller received every packet of the callee, in sequence"
is "$(got $TMP/callee.pcap 7002)" "$N 1001 $((1000 + N))" "the callee received every packet of the caller, in sequence"
pk=$(streams | awk '{print $4}' | tr '\n' ' ')
like "$pk" "^$((N + 1)) $((N + 1)) $" "the streams' packet counts ran on across the switches ($pk)"

is "$(tok -X DELETE $WEB/api/calls/$callid -o /dev/null -w '%{http_code}')" 200 "the call is hung up"
wait $UAC
ok $? "the caller got its BYE"
sleep 0.5
listeners=$(tok "$WEB/api/cdrs?type=CALL" | jq -r '.tables[0].rows[0].listenedby')
is "$listeners" "token, admin" "the CDR names who listened in"

kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
done_testing
