#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# NG's rtcp-mux flags end to end, as Kamailio sends them in rtpp-flags: a
# caller that multiplexes RTCP on its RTP port (RFC 5761) and a callee that
# takes RTCP on the port above, bridged with rtcp-mux-demux. The callee is
# offered separate ports, the caller's rtcp-mux is accepted back; RTP and
# RTCP both ways reach the right ports from the right relay ports. With
# XDP the kernel forwards all four after the first packets (the caller's
# muxed RTCP by the flow keyed rtcp-mux on its RTP port); then the same
# with datapath = user.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ng-lib.sh"

ng_setup mx 10.79 10.79.1.1 32000-32099 xdp 30
plan 31

sdp() {	# sdp FILE ADDR PORT mux|split
	local extra="a=rtcp:$(($3 + 1))\r\n"
	[ "$4" = mux ] && extra="a=rtcp:$3\r\na=rtcp-mux\r\n"
	printf "v=0\r\no=- 1 $RANDOM IN IP4 $2\r\ns=-\r\nc=IN IP4 $2\r\nt=0 0\r\nm=audio $3 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n$extra" >$1
}
rtcp_of() { sed -n 's/^a=rtcp:\([0-9]*\).*/\1/p' | tr -d '\r'; }

# talk KIND FROM_NS FROM DST_PORT COUNT SSRC TO_NS TO_IF TO: KIND send (RTP)
# or rtcp; returns the receiver's summary.
talk() { rtpio_talk $1 $2 $3 10.79.1.1:$4 "${@:5}"; }

# call CALL-ID: offer (caller muxes) and answer (callee does not) with
# rtcp-mux-demux; sets PA, PB (the relay's ports facing caller and callee).
call() {
	sdp $TMP/offer 10.79.1.2 40000 mux
	OFFER=$(ng offer call-id=$1 from-tag=caller rtpp-flags="rtcp-mux-demux" sdp=@$TMP/offer)
	PB=$(printf '%s\n' "$OFFER" | port_of)
	sdp $TMP/answer 10.79.2.2 50000 split
	ANSWER=$(ng answer call-id=$1 from-tag=caller to-tag=callee rtpp-flags="rtcp-mux-demux" \
		 sdp=@$TMP/answer)
	PA=$(printf '%s\n' "$ANSWER" | port_of)
	[ -n "$PA" ] && [ -n "$PB" ] || {
		echo "Bail out! no relay ports from NG: $(tail -5 $TMP/sluiced.log)"
		exit 1
	}
}

# both_ways WHAT: RTP and RTCP each way while latching (COUNT 5 each)
both_ways() {
	local r
	r=$(talk send $C 10.79.1.2:40000 $PA 5 0xca11 $E e0 10.79.2.2:50000)
	like "$r" "^frames 5 sock 5 .*from 10\.79\.1\.1:$PB .* rtcp 0$" "$1: caller's RTP to the callee's RTP port"
	r=$(talk send $E 10.79.2.2:50000 $PB 5 0xca11ee $C c0 10.79.1.2:40000)
	like "$r" "^frames 5 sock 5 .*from 10\.79\.1\.1:$PA " "$1: callee's RTP to the caller"
	r=$(talk rtcp $C 10.79.1.2:40000 $PA 5 0xca11 $E e0 10.79.2.2:50001)
	like "$r" "^frames 5 sock 5 .*from 10\.79\.1\.1:$((PB + 1)) .* rtcp 5$" \
		"$1: caller's muxed RTCP demultiplexed to the callee's RTCP port, from the relay's RTCP port"
	r=$(talk rtcp $E 10.79.2.2:50001 $((PB + 1)) 5 0xca11ee $C c0 10.79.1.2:40000)
	like "$r" "^frames 5 sock 5 .*from 10\.79\.1\.1:$PA .* rtcp 5$" \
		"$1: callee's RTCP multiplexed onto the caller's one port, from the relay's RTP port"
}

call mux-1
ok $? "NG offer and answer with rtpp-flags rtcp-mux-demux"
unlike() { if printf '%s' "$1" | grep -Eq -- "$2"; then ok 1 "$3"; else ok 0 "$3"; fi; }
unlike "$OFFER" "a=rtcp-mux" "the offer to the callee has no a=rtcp-mux"
is "$(printf '%s\n' "$OFFER" | rtcp_of)" "$((PB + 1))" "and names the relay's RTCP port"
like "$ANSWER" "a=rtcp-mux" "the answer to the caller accepts its rtcp-mux"
is "$(printf '%s\n' "$ANSWER" | rtcp_of)" "$PA" "with RTCP on the relay's RTP port"
diag "caller sends to relay port $PA, callee to $PB and $((PB + 1))"

both_ways xdp
list=$(ctl flow list)
like "$list" "^4 flows$" "four flows in the kernel once all four sources latched"
like "$list" "^10\.79\.1\.1:$PA from 10\.79\.1\.2:40000 via 10\.79\.1\.1:$PB to 10\.79\.2\.2:50000 rtp demux " \
	"the caller's RTP flow hands muxed RTCP on"
like "$list" "^10\.79\.1\.1:$PA rtcp-mux from 10\.79\.1\.2:40000 via 10\.79\.1\.1:$((PB + 1)) to 10\.79\.2\.2:50001 rtcp" \
	"to the flow keyed rtcp-mux on the caller's port, towards the callee's RTCP port"
like "$list" "^10\.79\.1\.1:$((PB + 1)) from 10\.79\.2\.2:50001 via 10\.79\.1\.1:$PA to 10\.79\.1\.2:40000 rtcp" \
	"the callee's RTCP goes to the caller's one port"

# Now the kernel's: 100 RTP and 50 RTCP each way.
r=$(talk send $C 10.79.1.2:40000 $PA 100 0xca11 $E e0 10.79.2.2:50000)
like "$r" "^frames 100 sock 100 bad_ip_csum 0 bad_udp_csum 0 .* rtcp 0$" "100 RTP to the callee, valid checksums"
r=$(talk rtcp $C 10.79.1.2:40000 $PA 50 0xca11 $E e0 10.79.2.2:50001)
like "$r" "^frames 50 sock 50 bad_ip_csum 0 bad_udp_csum 0 .*from 10\.79\.1\.1:$((PB + 1)) .* rtcp 50$" \
	"50 muxed RTCP to the callee's RTCP port, valid checksums"
r=$(talk send $E 10.79.2.2:50000 $PB 100 0xca11ee $C c0 10.79.1.2:40000)
like "$r" "^frames 100 sock 100 bad_ip_csum 0 bad_udp_csum 0 .* rtcp 0$" "100 RTP to the caller"
r=$(talk rtcp $E 10.79.2.2:50001 $((PB + 1)) 50 0xca11ee $C c0 10.79.1.2:40000)
like "$r" "^frames 50 sock 50 bad_ip_csum 0 bad_udp_csum 0 .*from 10\.79\.1\.1:$PA .* rtcp 50$" \
	"50 RTCP onto the caller's port"
list=$(ctl flow list)
# The caller's packets while latching all went through userspace (the
# callee's side latched after them), so these counts are exact.
like "$list" "^10\.79\.1\.1:$PA from .* rtp demux .*: packets 100 .* expected 100 received 100 lost 0" \
	"the kernel forwarded the caller's 100 RTP, its RTCP not counted as RTP"
like "$list" "^10\.79\.1\.1:$PA rtcp-mux from .*: packets 50 " "and its 50 muxed RTCP by their own flow"
# The callee's flows went in with the first of a latching batch: up to 4
# more of that batch took the kernel path.
like "$list" "^10\.79\.1\.1:$PB from .*: packets 10[0-4] " "the kernel forwarded the callee's RTP"
like "$list" "^10\.79\.1\.1:$((PB + 1)) from .*: packets 5[0-4] " "and its RTCP"

# Deleting the call removes all four, the keyed one too.
ng delete call-id=mux-1 from-tag=caller >/dev/null
like "$(ctl flow list)" "^0 flows$" "delete leaves no flow behind"

# The same with the userspace relay.
kill -TERM $SPID
wait $SPID
is $? 0 "sluiced (XDP) stops cleanly"
"$SLUICECTL" -p $PIN unload >/dev/null 2>&1
ng_conf 10.79.1.1 32000-32099 user 30
ng_start
like "$(cat $TMP/sluiced.log)" "using the userspace relay \(datapath = user\)" "sluiced restarted with datapath = user"
call mux-2
both_ways user
r=$(talk rtcp $C 10.79.1.2:40000 $PA 50 0xca11 $E e0 10.79.2.2:50001)
like "$r" "^frames 50 sock 50 .*from 10\.79\.1\.1:$((PB + 1)) .* rtcp 50$" "user: 50 more muxed RTCP to the callee's RTCP port"
r=$(talk send $C 10.79.1.2:40000 $PA 50 0xca11 $E e0 10.79.2.2:50000)
like "$r" "^frames 50 sock 50 .* rtcp 0$" "user: RTP still to the callee's RTP port only"

kill -TERM $SPID
wait $SPID
is $? 0 "sluiced (user) stops cleanly"
done_testing
