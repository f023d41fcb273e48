#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A hundred concurrent calls through the B2BUA with their media in the
# kernel: the topology of 70-b2bua-call.t (caller, relay and callee
# namespaces, XDP on the relay's interfaces), sipp placing 100 calls at 50
# per second that all overlap, each side of each call playing the G.711
# pcap. tcpdump on each phone counts what reached it; the XDP program's
# flow table, read while all calls are up and their media is over, shows
# that every stream went into the kernel early and stayed there: at least
# half its packets (how many went through userspace before its flow went in
# depends on how loaded the machine is), and from its first packet in the
# kernel to its last, none missing.
#
# sluiced runs with a file descriptor limit of 256, below the 400 media
# sockets 100 calls hold: it must give up the sockets of streams the kernel
# forwards (their ports stay its own) to take the later calls, as it does
# at 20,000 calls against the usual limit.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../b2bua-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp tcpdump sqlite3 perl prlimit
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"

C=shc$$ R=shr$$ E=she$$
PIN=/sys/fs/bpf/sluice-test-h$$
relay_topology $C $R $E

b2bua_sluiced $R $PIN default 30000-30999 prlimit --nofile=256
plan 11

SIPP_DIR=$TOP/tests/integration/sipp
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
in_ns $E sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user 1002 \
	-key aor 1002 -key domain ims.local -key expires 600 -au 1002 -ap callee-pw \
	-i 10.0.2.2 -p 5062 10.0.2.1:5060 >$TMP/reg.out 2>&1
ok $? "the callee registers (sipp, digest)" || diag "$(tail -5 $TMP/reg.out)"

CALLS=100
PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
sed "s|^  <pause/>|  $PLAY\n  <pause/>|" $SIPP_DIR/uac_call.xml >$TMP/uac.xml
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $SIPP_DIR/uas_answer.xml >$TMP/uas.xml
sent=$(tcpdump -r $PCAP 2>/dev/null | wc -l)

in_ns $C tcpdump -U -B 8192 -i c0 -n -w $TMP/caller.pcap udp dst port 6000 2>$TMP/tcpdump-c.log &
cleanup_add "kill $! 2>/dev/null"
in_ns $E tcpdump -U -B 8192 -i e0 -n -w $TMP/callee.pcap udp dst port 6000 2>$TMP/tcpdump-e.log &
cleanup_add "kill $! 2>/dev/null"
sleep 1
in_ns $E sipp -sf $TMP/uas.xml -m $CALLS -nostdin -timeout 60 -timeout_error -i 10.0.2.2 \
	-p 5062 -mi 10.0.2.2 -mp 6000 -trace_err -error_file $TMP/uas-err.log 10.0.2.1:5060 \
	>$TMP/uas.out 2>&1 &
UAS=$!
sleep 0.5
# 50 calls a second for 2 s, each up for 11 s: all 100 overlap from 2 s to 11 s,
# and every pcap (7 s) has finished by 9.5 s.
in_ns $C sipp -sf $TMP/uac.xml -m $CALLS -l $CALLS -r 50 -nostdin -timeout 60 \
	-timeout_error -key user 1001 -key target 1002 -key domain ims.local -d 11000 \
	-au 1001 -ap caller-pw -i 10.0.1.2 -p 5061 -mi 10.0.1.2 \
	-mp 6000 -trace_err -error_file $TMP/uac-err.log 10.0.1.1:5060 >$TMP/uac.out 2>&1 &
UAC=$!
# The flow table while all calls are up and their media is over: polled,
# since on a loaded machine the calls and their pcaps start late; the last
# snapshot with every flow in it, before the first BYE, is the one judged.
flows= min=$((sent / 2))
count_flows() { printf '%s\n' "$1" | grep -c ': packets '; }
count_short() {
	printf '%s\n' "$1" | sed -n 's/.*: packets \([0-9]*\) .*/\1/p' |
		awk -v min=$min '$1 < min' | wc -l
}
count_gaps() {
	printf '%s\n' "$1" | grep ': packets ' | grep -vc 'expected \([0-9]*\) received \1 lost 0 '
}
sleep 8
while kill -0 $UAC 2>/dev/null && ! grep -q "ended: " $TMP/sluiced.log; do
	snap=$(in_ns $R "$SLUICECTL" -p $PIN flow list)
	[ "$(count_flows "$snap")" = $((2 * CALLS)) ] && flows=$snap
	sleep 0.5
done
[ -n "$flows" ] || flows=$snap
printf "%s\n" "$flows" >$TMP/flows.txt
wait $UAC
ok $? "$CALLS calls placed: 407, 200, ACK, media, BYE answered, none failed" ||
	diag "$(grep -E 'Successful call|Failed call' $TMP/uac.out | tail -2; head -5 $TMP/uac-err.log)"
wait $UAS
ok $? "... and taken by the callee" ||
	diag "$(grep -E 'Successful call|Failed call' $TMP/uas.out | tail -2; head -5 $TMP/uas-err.log)"
sleep 1
pkill -f "tcpdump -U -B 8192 -i [ce]0 -n -w $TMP" 2>/dev/null
sleep 0.5
want=$((CALLS * sent))
got_callee=$(tcpdump -r $TMP/callee.pcap 2>/dev/null | wc -l)
got_caller=$(tcpdump -r $TMP/caller.pcap 2>/dev/null | wc -l)
is "$got_callee" "$want" "every RTP packet of the $CALLS callers reached the callee ($CALLS x $sent)" ||
	diag "tcpdump: $(grep dropped $TMP/tcpdump-e.log)"
is "$got_caller" "$want" "every RTP packet of the $CALLS callees reached the caller" ||
	diag "tcpdump: $(grep dropped $TMP/tcpdump-c.log)"
is "$(count_flows "$flows")" $((2 * CALLS)) "$((2 * CALLS)) flows in the kernel while all calls were up"
is "$(count_short "$flows")" 0 "the kernel forwarded at least half ($min) of the packets of every stream" ||
	diag "$(sed -n 's/.*: packets \([0-9]*\) .*/\1/p' $TMP/flows.txt | sort -n | head -3 | xargs)"
is "$(count_gaps "$flows")" 0 "... and, from a stream's first packet in the kernel to its last, every one"
is "$(in_ns $R "$SLUICECTL" -p $PIN flow list | tail -1)" "0 flows" "no flow left after the calls"
like "$(cat $TMP/sluiced.log)" "in the kernel gave up their sockets" \
	"at the fd limit, streams in the kernel gave up their sockets for the later calls"
kill -TERM $SPID
wait $SPID
rc=$?
ok $rc "sluiced stops cleanly (no sanitizer report)"
[ $rc = 0 ] || diag "$(tail -40 $TMP/sluiced.log)"
done_testing
