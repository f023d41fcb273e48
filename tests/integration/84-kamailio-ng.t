#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Kamailio drives sluice's kernel relay over the NG protocol, as it drives
# rtpengine: sluiced in the relay's namespace with no SIP of its own
# ([sip] listen = off), XDP on both of its interfaces and NG on
# udp:127.0.0.1:2223; Kamailio beside it on port 5070 as registrar (no
# authentication, usrloc in memory) and record-routing proxy, calling its
# rtpengine module's rtpengine_manage() on every INVITE, reply, ACK and
# BYE, and logging $rtpstat on the BYE before the delete.
#
# First, one call: two sipp phones register and call each other, both
# playing the G.711 pcap; tcpdump on each phone counts what reached it,
# the XDP flow table what the kernel forwarded, Kamailio's log what
# $rtpstat read from sluice's query, sluiced's log what Kamailio asked.
#
# Then two sluiced in one rtpengine set of equal weights, each in a
# namespace of its own with XDP on its own interfaces: the second in a
# fourth namespace behind the relay's (a veth from r2, 10.0.3.1, to its
# s0, 10.0.3.2), serving NG on udp:10.0.3.2:2224 with media on 10.0.3.2.
# Ten calls are spread over both; after the second gets SIGTERM, four
# more all connect through the first, the module having marked the dead
# one disabled after its timeout.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../kamailio-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp tcpdump perl kamailio
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"
[ -r $KAMAILIO_MODS/rtpengine.so ] || skip_all "no Kamailio rtpengine module in $KAMAILIO_MODS"

C=sknc$$ R=sknr$$ E=skne$$ R2=skns$$
PIN=/sys/fs/bpf/sluice-test-k$$
PIN2=/sys/fs/bpf/sluice-test-k$$b
relay_topology $C $R $E
netns_add $R2
veth_link $R r2 10.0.3.1/24 $R2 s0 10.0.3.2/24
ip -n $R2 route add default via 10.0.3.1
in_ns $R ethtool -K r2 gro on tx off >/dev/null

# start_sluiced NAME NS INTERFACES ADDRESS NG PORTS PIN: sluiced in NS,
# serving NG on NG only (XDP on INTERFACES, media on ADDRESS), its log in
# $TMP/NAME.log; its pid in SPID.
start_sluiced() {
	sluice_conf $TMP/$1.conf \
		sip.listen=off \
		media.interface="$3" media.address=$4 media.ports=$6 media.datapath=auto \
		media.timeout=10 media.bpf_pin_dir=$7 \
		store.db=$TMP/$1.db control.ng=$5 log.level=debug
	nsenter --net=/run/netns/$2 "$SLUICED" -c $TMP/$1.conf >$TMP/$1.log 2>&1 &
	SPID=$!
	cleanup_add "kill $SPID"
	cleanup_add "'$SLUICECTL' -p $7 unload"
	wait_for $TMP/$1.log "running|cannot" 100
}

start_sluiced sluiced1 $R "r0, r1" 10.0.1.1 127.0.0.1:2223 30200-30299 $PIN
SPID1=$SPID
grep -q "XDP native on r0,r1" $TMP/sluiced1.log ||
	skip_all "XDP native not available: $(tail -2 $TMP/sluiced1.log)"
plan 26

like "$(cat $TMP/sluiced1.log)" "\[ctl\] NG protocol on udp port 2223" \
	"sluiced serves the NG protocol on udp port 2223"
kamailio_start kamailio1 $R "udp:127.0.0.1:2223" 10.0.1.1 10.0.2.1
KPID1=$KPID
like "$(cat $TMP/kamailio1.log)" "rtpengine instance <udp:127.0.0.1:2223> found, support for it enabled" \
	"Kamailio's rtpengine module finds sluice (ping answered pong)" ||
	diag "$(tail -20 $TMP/kamailio1.log)"

kamailio_scenarios $PCAP
kamailio_register $E 1002 10.0.2.2 5062 10.0.2.1
ok $? "the callee registers with Kamailio" || diag "$(tail -5 $TMP/reg-1002.out)"
kamailio_register $C 1001 10.0.1.2 5061 10.0.1.1
ok $? "the caller registers with Kamailio" || diag "$(tail -5 $TMP/reg-1001.out)"

kamailio_pcap_call $PIN $TMP/kamailio1.log
# $rtpstat: the module's query, sluice's totals of both sides.
stat=$(grep -o 'rtpstat .*' $TMP/kamailio1.log | tail -1)
like "$stat" "RTP: [0-9]+ bytes, [0-9]+ packets, 0 errors; RTCP: " \
	"Kamailio's \$rtpstat reads sluice's totals on the BYE" || diag "$(tail -5 $TMP/kamailio1.log)"
pk=$(printf '%s\n' "$stat" | sed -n 's/.*RTP: [0-9]* bytes, \([0-9]*\) packets.*/\1/p')
ok $((${pk:-0} >= 2 * sent - 20 ? 0 : 1)) \
	"\$rtpstat counts both directions' packets (${pk:-0}, of $((2 * sent)) sent)"
# What Kamailio sent, as sluiced logs it: offer, answer, query, delete.
like "$(grep -Eo '\[ctl\] ng: [a-z]+' $TMP/sluiced1.log | awk '{print $3}' | grep -v '^ping' |
	uniq | tr '\n' ' ')" "^offer answer query delete $" \
	"Kamailio asked for offer, answer, then query and delete on the BYE"
is "$(in_ns $R "$SLUICECTL" -p $PIN flow list | tail -1)" "0 flows" \
	"no flow left after the BYE"
kill -TERM $KPID1
wait $KPID1 2>/dev/null

# ---- two sluiced in one set ----
start_sluiced sluiced2 $R2 s0 10.0.3.2 10.0.3.2:2224 30300-30399 $PIN2
SPID2=$SPID
like "$(cat $TMP/sluiced2.log)" "XDP native on s0" \
	"a second sluiced in a namespace of its own has XDP on its own interface"
like "$(cat $TMP/sluiced2.log)" "\[ctl\] NG protocol on udp port 2224" \
	"and serves NG on 10.0.3.2:2224"
kamailio_start kamailio2 $R "udp:127.0.0.1:2223=1 udp:10.0.3.2:2224=1" 10.0.1.1 \
	10.0.2.1
KPID2=$KPID
wait_for $TMP/kamailio2.log "2224> found" 50
like "$(grep -o 'rtpengine instance <[^>]*> found, support for it enabled' $TMP/kamailio2.log |
	sort | tr '\n' ' ')" "10\.0\.3\.2:2224> found.*127\.0\.0\.1:2223> found" \
	"Kamailio finds both in its set"
kamailio_register $E 1002 10.0.2.2 5062 10.0.2.1 &&
	kamailio_register $C 1001 10.0.1.2 5061 10.0.1.1
ok $? "both phones register again"

# calls N: N short calls without media, all of which must connect.
calls() {
	nsenter --net=/run/netns/$E sipp -sf $TMP/uas-quiet.xml -m $1 -nostdin -timeout 30 \
		-timeout_error -i 10.0.2.2 -p 5062 -mi 10.0.2.2 -mp 6000 10.0.2.1:5070 \
		>$TMP/uas-many.out 2>&1 &
	local uas=$!
	sleep 0.5
	in_ns $C sipp -sf $TMP/uac-quiet.xml -m $1 -l 1 -nostdin -timeout 30 -timeout_error \
		-key user 1001 -key target 1002 -key domain ims.local -d 200 -i 10.0.1.2 -p 5061 \
		-mi 10.0.1.2 -mp 6000 10.0.1.1:5070 >$TMP/uac-many.out 2>&1
	local rc=$?
	wait $uas
	return $((rc | $?))
}
offers() { grep -c '\[ctl\] ng: offer' $TMP/$1.log; }

a0=$(offers sluiced1)
calls 10
ok $? "ten calls through the set connect and end" || diag "$(tail -5 $TMP/uac-many.out)"
a1=$(($(offers sluiced1) - a0)) b1=$(offers sluiced2)
is "$((a1 + b1))" 10 "each call's offer went to one of the two"
ok $((a1 > 0 && b1 > 0 ? 0 : 1)) "the calls are spread over both ($a1 and $b1)"

kill -TERM $SPID2
wait $SPID2
rc=$?
ok $rc "the second sluiced stops cleanly (no sanitizer report)"
[ $rc = 0 ] || diag "$(tail -40 $TMP/sluiced2.log)"
a0=$(offers sluiced1)
calls 4
ok $? "with the second stopped, four more calls connect" || diag "$(tail -5 $TMP/uac-many.out)"
is "$(($(offers sluiced1) - a0))" 4 "all of them through the first"
like "$(cat $TMP/kamailio2.log)" "timeout waiting reply for command .* <udp:10.0.3.2:2224>" \
	"Kamailio found the second silent and turned to the first"

kill -TERM $KPID2
wait $KPID2 2>/dev/null
kill -TERM $SPID1
wait $SPID1
rc=$?
ok $rc "sluiced stops cleanly (no sanitizer report)"
[ $rc = 0 ] || diag "$(tail -40 $TMP/sluiced1.log)"
done_testing
