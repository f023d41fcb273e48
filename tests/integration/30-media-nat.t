#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Media sessions end to end, driven through sluiced's NG socket the way
# Kamailio drives it. Namespaces: a caller behind a NAT (nftables
# masquerade, a changed source port too) that advertises its private
# address in SDP, the relay running sluiced with XDP, a callee, and an
# attacker. Media must flow both ways (latched through the NAT), go into
# the kernel once both sides are latched, never reach the callee from the
# attacker, stop in the held direction and come back on resume, and a
# silent call must be declared dead and leave no flow behind.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ng-lib.sh"

ng_require nft

C=smc$$ N=smn$$ R=smr$$ E=sme$$ A=sma$$
PIN=/sys/fs/bpf/sluice-test-m$$
NG=127.0.0.1:22$((RANDOM % 900 + 100))
for ns in $C $N $R $E $A; do netns_add $ns; done
veth_link $C c0 10.0.1.2/24 $N n0 10.0.1.1/24 || skip_all "cannot create veth pairs"
veth_link $N n1 10.77.1.3/24 $R r0 10.77.1.1/24
veth_link $R r1 10.77.2.1/24 $E e0 10.77.2.2/24
veth_link $R r2 10.77.3.1/24 $A a0 10.77.3.2/24
ip -n $C route add default via 10.0.1.1
ip -n $N route add default via 10.77.1.1
ip -n $E route add default via 10.77.2.1
ip -n $A route add default via 10.77.3.1
in_ns $N sysctl -qw net.ipv4.ip_forward=1
in_ns $R sysctl -qw net.ipv4.conf.all.forwarding=1
in_ns $N nft -f - <<NFT || skip_all "nftables NAT unavailable"
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "n1" meta l4proto udp masquerade to :51000-51999
	}
}
NFT
# Real checksums from the phones; NAPI on veths that receive redirects.
for x in "$C c0" "$E e0" "$A a0" "$N n1" "$N n0"; do
	set -- $x
	in_ns $1 ethtool -K $2 gro on tx off >/dev/null
done
for ip in 10.77.1.3 10.77.2.2 10.77.3.2; do in_ns $R ping -c1 -W1 $ip >/dev/null; done

ng_conf 10.77.1.1 30000-30099 auto 3 media.interface="r0, r1, r2"
ng_start
ng_require_xdp r0,r1,r2
plan 25

sdp() {	# sdp FILE ADDR PORT DIR
	printf 'v=0\r\no=- 1 %s IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %s RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=%s\r\n' \
		$RANDOM $2 $2 $3 $4 >$1
}

sdp $TMP/offer 10.0.1.2 40000 sendrecv
out=$(ng offer call-id=nat-1 from-tag=caller sdp=@$TMP/offer)
ok $? "NG offer accepted"
like "$out" "c=IN IP4 10\.77\.1\.1" "the offer to the callee points at the relay"
PB=$(printf '%s\n' "$out" | port_of)
sdp $TMP/answer 10.77.2.2 50000 sendrecv
out=$(ng answer call-id=nat-1 from-tag=caller to-tag=callee sdp=@$TMP/answer)
ok $? "NG answer accepted"
PA=$(printf '%s\n' "$out" | port_of)
[ -n "$PA" ] && [ -n "$PB" ] || { echo "Bail out! no relay ports from NG: $(tail -5 $TMP/sluiced.log)"; exit 1; }
diag "caller sends to relay port $PA, callee to $PB"

# talk FROM_NS FROM DST_PORT COUNT SSRC TO_NS TO_IF TO: sends, returns what arrived
talk() { rtpio_talk send $1 $2 10.77.1.1:$3 "${@:4}"; }

# Latching: the caller speaks first, through the NAT; then the callee.
r=$(talk $C 10.0.1.2:40000 $PA 5 0xca11 $E e0 10.77.2.2:50000)
like "$r" "^frames 5 sock 5 .*from 10\.77\.1\.1:$PB " "caller to callee: relayed while latching"
r=$(talk $E 10.77.2.2:50000 $PB 5 0xca11ee $C c0 10.0.1.2:40000)
like "$r" "^frames 5 sock 5 .*from 10\.77\.1\.1:$PA " \
	"callee to caller: sent to where the caller really is (the NAT), not its SDP address"
list=$(ctl flow list)
like "$list" "^2 flows$" "both directions are in the kernel once both sides latched"
like "$list" "^10\.77\.1\.1:$PA from 10\.77\.1\.3:51[0-9]{3} via 10\.77\.1\.1:$PB to 10\.77\.2\.2:50000 rtp" \
	"the caller's flow expects the NAT's address and port"

r=$(talk $C 10.0.1.2:40000 $PA 100 0xca11 $E e0 10.77.2.2:50000)
like "$r" "^frames 100 sock 100 bad_ip_csum 0 bad_udp_csum 0 " "100 packets to the callee, valid checksums"
r=$(talk $E 10.77.2.2:50000 $PB 100 0xca11ee $C c0 10.0.1.2:40000)
like "$r" "^frames 100 sock 100 bad_ip_csum 0 bad_udp_csum 0 " "100 packets back through the NAT"
list=$(ctl flow list)
like "$list" "^10\.77\.1\.1:$PA .*: packets 100 .* expected 100 received 100 lost 0" \
	"the kernel forwarded the caller's 100"
# The callee's flow went in with its first packet: the rest of that first
# batch took the kernel path too, as many of the 4 as came after the flow
# (on a loaded machine userspace may take a few more).
like "$list" "^10\.77\.1\.1:$PB .*: packets 10[0-4] " "and the callee's 100, with up to 4 of its latching batch"
q=$(ng query call-id=nat-1)
like "$q" "result=ok" "NG query answers"

# An attacker who found the port gets nothing through.
before=$(ctl verdicts | awk '$1 == "pass_wrong_src" { print $2 }')
r=$(talk $A 10.77.3.2:6666 $PA 50 0xbad $E e0 10.77.2.2:50000)
like "$r" "^frames 0 sock 0 " "the attacker's packets never reach the callee"
after=$(ctl verdicts | awk '$1 == "pass_wrong_src" { print $2 }')
is "$((after - before))" 50 "the kernel counted all 50 as wrong source"
r=$(talk $C 10.0.1.2:40000 $PA 10 0xca11 $E e0 10.77.2.2:50000)
like "$r" "^frames 10 " "the caller still gets through afterwards"

# Hold: the caller goes sendonly; nothing flows to it, it still sends.
sdp $TMP/hold 10.0.1.2 40000 sendonly
ng offer call-id=nat-1 from-tag=caller sdp=@$TMP/hold >/dev/null
sdp $TMP/held 10.77.2.2 50000 recvonly
ng answer call-id=nat-1 from-tag=caller to-tag=callee sdp=@$TMP/held >/dev/null
r=$(talk $E 10.77.2.2:50000 $PB 20 0xca11ee $C c0 10.0.1.2:40000)
like "$r" "^frames 0 sock 0 " "on hold: nothing reaches the caller"
like "$(ctl flow list)" "^1 flow$" "the held direction left the kernel"
# Inactive: nothing either way.
sdp $TMP/inactive 10.0.1.2 40000 inactive
ng offer call-id=nat-1 from-tag=caller sdp=@$TMP/inactive >/dev/null
sdp $TMP/inactive2 10.77.2.2 50000 inactive
ng answer call-id=nat-1 from-tag=caller to-tag=callee sdp=@$TMP/inactive2 >/dev/null
r=$(talk $C 10.0.1.2:40000 $PA 20 0xca11 $E e0 10.77.2.2:50000)
like "$r" "^frames 0 sock 0 " "inactive: nothing reaches the callee"
r=$(talk $E 10.77.2.2:50000 $PB 20 0xca11ee $C c0 10.0.1.2:40000)
like "$r" "^frames 0 sock 0 " "inactive: nothing reaches the caller"
like "$(ctl flow list)" "^0 flows$" "no direction left in the kernel"
# Resume.
ng offer call-id=nat-1 from-tag=caller sdp=@$TMP/offer >/dev/null
ng answer call-id=nat-1 from-tag=caller to-tag=callee sdp=@$TMP/answer >/dev/null
r=$(talk $E 10.77.2.2:50000 $PB 20 0xca11ee $C c0 10.0.1.2:40000)
like "$r" "^frames 20 sock 20 " "resumed: all 20 reach the caller again"
like "$(ctl flow list)" "^2 flows$" "both directions back in the kernel"

# Silence: after [media] timeout (3 s) the session is dead and gone.
sleep 5
like "$(cat $TMP/sluiced.log)" "nat-1: no media for 3 s, session dead" "a silent call is declared dead"
like "$(ctl flow list)" "^0 flows$" "and leaves no flow behind"

kill -TERM $SPID
wait $SPID
is $? 0 "sluiced stops cleanly"
done_testing
