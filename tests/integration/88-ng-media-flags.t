#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The NG flags that change how a call is relayed, end to end through
# sluiced with XDP: direction (each leg on its own logical interface: the
# caller's side sees only the internal address, the callee's only the
# external one, and the kernel forwards from one to the other),
# asymmetric (a callee that sends from one port and receives on another)
# and transport-protocol (RTP/AVP to RTP/AVPF and back; SRTP refused).
# Namespaces: a caller, the relay, a callee.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ng-lib.sh"

ng_setup sf 10.78 "int/10.78.1.1, ext/10.78.2.1" 30000-30099 xdp 30
plan 20

sdp() {	# sdp FILE ADDR PORT [PROTO]
	printf 'v=0\r\no=- 1 %s IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %s %s 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-fb:0 nack\r\n' \
		$RANDOM $2 $2 $3 ${4:-RTP/AVP} >$1
}
talk() { rtpio_talk send "$@"; }	# talk FROM_NS FROM DST COUNT SSRC TO_NS TO_IF TO

# direction: the caller on "int", the callee on "ext".
sdp $TMP/offer 10.78.1.2 40000
out=$(ng offer call-id=dir-1 from-tag=caller "rtpp-flags=replace-origin direction=int direction=ext" \
	sdp=@$TMP/offer)
ok $? "NG offer with a direction accepted"
like "$out" "c=IN IP4 10\.78\.2\.1" "the offer to the callee carries the external address"
PB=$(printf '%s\n' "$out" | port_of)
sdp $TMP/answer 10.78.2.2 50000
out=$(ng answer call-id=dir-1 from-tag=caller to-tag=callee sdp=@$TMP/answer)
ok $? "NG answer accepted"
like "$out" "c=IN IP4 10\.78\.1\.1" "the answer to the caller carries the internal address"
PA=$(printf '%s\n' "$out" | port_of)
[ -n "$PA" ] && [ -n "$PB" ] || { echo "Bail out! no relay ports from NG: $(tail -5 $TMP/sluiced.log)"; exit 1; }

r=$(talk $C 10.78.1.2:40000 10.78.1.1:$PA 5 0xca11 $E e0 10.78.2.2:50000)
like "$r" "^frames 5 sock 5 .*from 10\.78\.2\.1:$PB " "the callee hears the caller from the external address"
r=$(talk $E 10.78.2.2:50000 10.78.2.1:$PB 5 0xca11ee $C c0 10.78.1.2:40000)
like "$r" "^frames 5 sock 5 .*from 10\.78\.1\.1:$PA " "the caller hears the callee from the internal address"
list=$(ctl flow list)
like "$list" "^10\.78\.1\.1:$PA from 10\.78\.1\.2:40000 via 10\.78\.2\.1:$PB to 10\.78\.2\.2:50000 rtp" \
	"the caller's flow goes from the internal interface out of the external one"
like "$list" "^10\.78\.2\.1:$PB from 10\.78\.2\.2:50000 via 10\.78\.1\.1:$PA to 10\.78\.1\.2:40000 rtp" \
	"and the callee's the other way"
r=$(talk $C 10.78.1.2:40000 10.78.1.1:$PA 100 0xca11 $E e0 10.78.2.2:50000)
like "$r" "^frames 100 sock 100 bad_ip_csum 0 bad_udp_csum 0 " "100 packets across the interfaces, valid checksums"
like "$(ctl flow list)" "^10\.78\.1\.1:$PA .*: packets 100 " "all 100 forwarded by the kernel"
ng delete call-id=dir-1 from-tag=caller >/dev/null
like "$(ctl flow list)" "^0 flows$" "the delete removes both flows"

# asymmetric: the callee sends from 50001 and receives on its SDP's 50000.
sdp $TMP/offer 10.78.1.2 40002
out=$(ng offer call-id=asym-1 from-tag=caller sdp=@$TMP/offer)
PB=$(printf '%s\n' "$out" | port_of)
like "$out" "c=IN IP4 10\.78\.1\.1" "without a direction a call is on the first interface listed"
sdp $TMP/answer 10.78.2.2 50000
out=$(ng answer call-id=asym-1 from-tag=caller to-tag=callee rtpp-flags=asymmetric sdp=@$TMP/answer)
PA=$(printf '%s\n' "$out" | port_of)
r=$(talk $E 10.78.2.2:50001 10.78.1.1:$PB 5 0xca11ee $C c0 10.78.1.2:40002)
like "$r" "^frames 5 sock 5 " "the asymmetric callee is heard from its sending port"
r=$(talk $C 10.78.1.2:40002 10.78.1.1:$PA 5 0xca11 $E e0 10.78.2.2:50000)
like "$r" "^frames 5 sock 5 " "the caller's media goes to the callee's SDP port, not to its source"
list=$(ctl flow list)
like "$list" "^10\.78\.1\.1:$PA from 10\.78\.1\.2:40002 via 10\.78\.1\.1:$PB to 10\.78\.2\.2:50000 rtp" \
	"the kernel sends to the SDP's port"
like "$list" "^10\.78\.1\.1:$PB from 10\.78\.2\.2:50001 " "and forwards only from the latched source"
ng delete call-id=asym-1 from-tag=caller >/dev/null

# transport-protocol: RTP/AVPF towards the callee, RTP/AVP back, no SRTP.
sdp $TMP/offer 10.78.1.2 40004
out=$(ng offer call-id=tp-1 from-tag=caller transport-protocol=RTP/AVPF sdp=@$TMP/offer)
like "$out" "m=audio [0-9]+ RTP/AVPF 0" "the offer goes out as RTP/AVPF"
sdp $TMP/answer 10.78.2.2 50004 RTP/AVPF
out=$(ng answer call-id=tp-1 from-tag=caller to-tag=callee sdp=@$TMP/answer)
like "$out" "m=audio [0-9]+ RTP/AVP 0" "the answer comes back as RTP/AVP"
ng delete call-id=tp-1 from-tag=caller >/dev/null
out=$(ng offer call-id=tp-2 from-tag=caller transport-protocol=TCP/MSRP sdp=@$TMP/offer)
like "$out" "error-reason=transport-protocol TCP/MSRP: not an RTP profile" \
	"a profile that is not RTP is refused with the reason"

kill -TERM $SPID
wait $SPID
is $? 0 "sluiced stops cleanly"
done_testing
