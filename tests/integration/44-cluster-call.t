#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Two sluiced nodes on one PostgreSQL (issue 16): subscribers added over
# MML on node A are seen by node B within a second (LISTEN/NOTIFY), a
# phone registers on each node, and each calls the other: the call that
# arrives at one node goes through the node the callee registered on
# (the binding row names it), with media relayed both ways by both nodes.
# Both nodes' CDRs land in the one cdr table, each with its node.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pg-lib.sh"
. "$(dirname "$0")/../cluster-lib.sh"

require_root
require_cmd ip nsenter sipp tcpdump perl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"
pg_start
NET=10.44
cluster_topology
cluster_node a
grep -q "connected as node node-a" $TMP/a.log ||
	skip_all "node A did not reach PostgreSQL: $(tail -3 $TMP/a.log)"
cluster_node b
plan 17

like "$(grep 'connected as node' $TMP/b.log)" "node-b \($NET.0.2:5060\)" \
	"node B joins the same store"
node_mml a 'ADD USER: USERNAME="1001", PASSWORD="pw-1001-a";' >$TMP/mml.out 2>&1
added=$(date +%s.%N)
like "$(cat $TMP/mml.out)" "RETCODE = 0" "node A adds subscriber 1001 over MML"
# Node B's copy: its subscriber cache reloads on the NOTIFY.
for ((i = 0; i < 40; i++)); do
	sqlite3 $TMP/b.db "SELECT username FROM subscribers" 2>/dev/null | grep -qx 1001 && break
	sleep 0.05
done
seen=$(date +%s.%N)
lat=$(perl -e 'printf "%d", ($ARGV[1] - $ARGV[0]) * 1000' $added $seen)
ok $((lat < 1000 ? 0 : 1)) "node B has it within a second (${lat} ms)"
node_mml a 'ADD USER: USERNAME="1002", PASSWORD="pw-1002-b";' >/dev/null 2>&1
sleep 0.5
is "$(psql_q 'SELECT count(*) FROM subscribers')" 2 "both subscribers are in PostgreSQL"

phone_register $P1 $NET.0.11 5061 1001 pw-1001-a $NET.0.1
ok $? "phone 1 (1001) registers on node A" || diag "$(tail -3 $TMP/reg-1001.out)"
phone_register $P2 $NET.0.12 5062 1002 pw-1002-b $NET.0.2
ok $? "phone 2 (1002) registers on node B, with the subscriber A added" ||
	diag "$(tail -3 $TMP/reg-1002.out; tail -5 $TMP/b.log)"
is "$(psql_q "SELECT aor || ' ' || node || ' ' || node_addr FROM registrations ORDER BY aor")" \
	"sip:1001@ims.local node-a $NET.0.1:5060
sip:1002@ims.local node-b $NET.0.2:5060" "each binding row names the node that owns the flow"
sleep 0.5	# the NOTIFY of the second binding

PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
D=$TOP/tests/integration/sipp
sed "s|^  <pause/>|  $PLAY\n  <pause/>|" $D/uac_call.xml >$TMP/uac.xml
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $D/uas_answer.xml >$TMP/uas.xml
sent=$(tcpdump -r $PCAP 2>/dev/null | wc -l)

# call FROM-NS FROM-IP USER PW TO-NS TO-IP TO-PORT TARGET NODE-IP: 0 when the call
# went through and every RTP packet reached both ends.
call() {
	local cns=$1 cip=$2 user=$3 pw=$4 ens=$5 eip=$6 eport=$7 target=$8 node=$9 uas uac rc=0
	nsenter --net=/run/netns/$cns tcpdump -i eth0 -n -w $TMP/c-$user.pcap udp dst port 6000 2>/dev/null &
	local t1=$!
	nsenter --net=/run/netns/$ens tcpdump -i eth0 -n -w $TMP/e-$target.pcap udp dst port 6002 2>/dev/null &
	local t2=$!
	sleep 1
	nsenter --net=/run/netns/$ens sipp -sf $TMP/uas.xml -m 1 -nostdin -timeout 30 -timeout_error \
		-i $eip -p $eport -mi $eip -mp 6002 $node:5060 >$TMP/uas-$target.out 2>&1 &
	uas=$!
	sleep 0.5
	nsenter --net=/run/netns/$cns sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 30 -timeout_error \
		-key user $user -key target $target -key domain ims.local -d 7000 -au $user -ap $pw \
		-i $cip -p 5070 -mi $cip -mp 6000 $node:5060 >$TMP/uac-$user.out 2>&1 &
	uac=$!
	wait $uac || rc=1
	wait $uas || rc=2
	sleep 0.5
	kill $t1 $t2 2>/dev/null
	wait $t1 $t2 2>/dev/null
	GOT_E=$(tcpdump -r $TMP/e-$target.pcap 2>/dev/null | wc -l)
	GOT_C=$(tcpdump -r $TMP/c-$user.pcap 2>/dev/null | wc -l)
	return $rc
}

call $P1 $NET.0.11 1001 pw-1001-a $P2 $NET.0.12 5062 1002 $NET.0.1
ok $? "1001 on node A calls 1002 on node B: answered, media, BYE" ||
	diag "$(tail -3 $TMP/uac-1001.out; grep -i 'call\]' $TMP/a.log $TMP/b.log | tail -6)"
# Two relays in series: each latches on its first packets, a few may go.
ok $((GOT_E >= sent - 5 && GOT_C >= sent - 5 ? 0 : 1)) \
	"the RTP reached each phone, all but at most 5 of $sent each way ($GOT_E, $GOT_C)"
like "$(cat $TMP/a.log)" "sip:1001@ims.local -> sip:1002@ims.local: 1 branch via its node" \
	"node A sent the call to node B, which owns 1002's flow"

call $P2 $NET.0.12 1002 pw-1002-b $P1 $NET.0.11 5061 1001 $NET.0.2
ok $? "1002 on node B calls 1001 on node A: answered, media, BYE" ||
	diag "$(tail -3 $TMP/uac-1002.out; grep -i 'call\]' $TMP/a.log $TMP/b.log | tail -6)"
ok $((GOT_E >= sent - 5 && GOT_C >= sent - 5 ? 0 : 1)) \
	"the RTP reached each phone, the other way too ($GOT_E, $GOT_C of $sent)"
sleep 0.5
is "$(psql_q "SELECT node || ' ' || count(*) FROM cdr WHERE record_type = 'CALL' GROUP BY node ORDER BY node")" \
	"node-a 2
node-b 2" "each node's CDRs of the two calls (caller's leg and callee's) in the one table"

# The blacklist: added on A, in force on B (its copy and its memory).
node_mml a "ADD BLACKLIST: PREFIX=\"$NET.0.11/32\", REASON=\"test\";" >/dev/null 2>&1
wait_for $TMP/b.log "\[sip\] blacklist: 1 entry added over MML" 20
ok $? "node B reloads its blacklist when node A adds to it"
in_ns $P1 sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 3 -timeout_error -key user 1001 \
	-key aor 1001 -key domain ims.local -key expires 600 -au 1001 -ap pw-1001-a \
	-i $NET.0.11 -p 5061 $NET.0.2:5060 >$TMP/reg-blocked.out 2>&1
ok $(($? ? 0 : 1)) "... and no longer answers phone 1"

# 1002 removed on A, the node that does not hold its binding: gone from the shared table.
node_mml a 'RMV USER: USERNAME="1002";' >/dev/null 2>&1
is "$(psql_q "SELECT count(*) FROM registrations WHERE aor = 'sip:1002@ims.local'")" 0 \
	"a subscriber removed on node A loses its binding on node B in PostgreSQL"

cluster_stop
done_testing
