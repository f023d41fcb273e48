#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The same call as 70-b2bua-call.t, with the callee behind a NAT
# (nftables masquerade, its ports rewritten too): it registers from its
# public side while its Contact and SDP name its private address. The
# INVITE must reach it through the NAT's mapping, and its media must be
# latched where it really comes from.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../b2bua-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp tcpdump sqlite3 perl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"

C=snc$$ R=snr$$ E=sne$$ N=snn$$
PIN=/sys/fs/bpf/sluice-test-n$$
for ns in $C $R $E $N; do netns_add $ns; done
veth_link $C c0 10.0.1.2/24 $R r0 10.0.1.1/24 || skip_all "cannot create veth pairs"
veth_link $R r1 10.77.2.1/24 $N n1 10.77.2.3/24
veth_link $N n0 10.0.2.1/24 $E e0 10.0.2.2/24
ip -n $C route add default via 10.0.1.1
ip -n $E route add default via 10.0.2.1
ip -n $N route add default via 10.77.2.1
in_ns $R sysctl -qw net.ipv4.conf.all.forwarding=1
in_ns $N sysctl -qw net.ipv4.ip_forward=1
in_ns $N nft -f - <<NFT || skip_all "nftables NAT unavailable"
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "n1" meta l4proto udp masquerade to :51000-51999
	}
}
NFT
for x in "$C c0" "$E e0" "$N n1" "$N n0"; do
	set -- $x
	in_ns $1 ethtool -K $2 gro on tx off >/dev/null
done
in_ns $C ping -c1 -W2 10.0.1.1 >/dev/null
in_ns $E ping -c1 -W2 10.77.2.1 >/dev/null

b2bua_sluiced $R $PIN default 30000-30099
plan 11

SIPP_DIR=$TOP/tests/integration/sipp
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
in_ns $E sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user 1002 \
	-key aor 1002 -key domain ims.local -key expires 600 -au 1002 -ap callee-pw \
	-i 10.0.2.2 -p 5062 10.77.2.1:5060 >$TMP/reg.out 2>&1
rc=$?
ok $rc "the callee registers through the NAT (sipp, digest)"
is "$(sqlite3 $TMP/sluice.db "SELECT nat || ' ' || received_addr FROM registrations")" \
	"1 10.77.2.3" "its binding is behind NAT, at the NAT's public address"

# Media: both phones play the pcap once the call is up.
PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
# The caller starts 300 ms after the callee: until the callee's first
# packet shows where it is, the relay only knows its private address.
sed "s|^  <pause/>|  <pause milliseconds=\"300\"/>\n  $PLAY\n  <pause/>|" $SIPP_DIR/uac_call.xml >$TMP/uac.xml
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $SIPP_DIR/uas_answer.xml >$TMP/uas.xml
sent=$(tcpdump -r $PCAP 2>/dev/null | wc -l)

in_ns $C tcpdump -i c0 -n -w $TMP/caller.pcap udp dst port 6000 2>/dev/null &
cleanup_add "kill $! 2>/dev/null"
in_ns $E tcpdump -i e0 -n -w $TMP/callee.pcap udp dst port 6000 2>/dev/null &
cleanup_add "kill $! 2>/dev/null"
sleep 1
in_ns $E sipp -sf $TMP/uas.xml -m 1 -nostdin -timeout 30 -timeout_error -i 10.0.2.2 -p 5062 \
	-mi 10.0.2.2 -mp 6000 -trace_err -error_file $TMP/uas-err.log 10.77.2.1:5060 \
	>$TMP/uas.out 2>&1 &
UAS=$!
sleep 0.5
in_ns $C sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 30 -timeout_error -key user 1001 \
	-key target 1002 -key domain ims.local -d 7700 -au 1001 -ap caller-pw \
	-i 10.0.1.2 -p 5061 -mi 10.0.1.2 -mp 6000 \
	-trace_err -error_file $TMP/uac-err.log 10.0.1.1:5060 >$TMP/uac.out 2>&1 &
UAC=$!
sleep 7	# the pcap lasts 4.7 s
flows=$(in_ns $R "$SLUICECTL" -p $PIN flow list)
wait $UAC
ok $? "the caller's call to a callee behind NAT: 407, 180, 200, ACK, media, BYE"
wait $UAS
ok $? "the callee's side: INVITE answered, media, BYE taken"
sleep 0.5
pkill -f "tcpdump -i [ce]0 -n -w $TMP" 2>/dev/null
sleep 0.5
got_callee=$(tcpdump -r $TMP/callee.pcap 2>/dev/null | wc -l)
got_caller=$(tcpdump -r $TMP/caller.pcap 2>/dev/null | wc -l)
is "$got_callee" "$sent" "every RTP packet of the caller reached the callee ($sent)"
is "$got_caller" "$sent" "every RTP packet of the callee reached the caller"
n=$(printf '%s\n' "$flows" | grep -c ': packets ')
is "$n" 2 "two flows in the kernel while the call was up"
min=$(printf '%s\n' "$flows" | sed -n 's/.*: packets \([0-9]*\) .*/\1/p' | sort -n | head -1)
# The callee's first 300 ms (15 packets) wait in userspace for the caller's leg to latch.
ok $((${min:-0} >= sent - 30 ? 0 : 1)) "the kernel forwarded all but the first few (at most 30) of each direction (${min:-0} of $sent)"
like "$(cat $TMP/sluiced.log)" "\[call\] sip:1001@ims.local -> sip:1002@ims.local ended: the caller hung up" \
	"the call ended with the caller's BYE"
is "$(in_ns $R "$SLUICECTL" -p $PIN flow list | tail -1)" "0 flows" "no flow left after the call"
kill -TERM $SPID
wait $SPID
rc=$?
ok $rc "sluiced stops cleanly (no sanitizer report)"
[ $rc = 0 ] || diag "$(grep -A24 -E 'Sanitizer|runtime error' $TMP/sluiced.log | head -50)"
done_testing
