#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A one-armed server wired the way containers, LXC and lab VMs are: sluiced's
# srv0 is a veth whose peer is a port of a Linux bridge, and both phones
# (sipp, registered with digest) sit on the same bridge. The shipped
# configuration plus [sip] listen and domain and [media] interface, address
# and ports; the kernel's default offloads everywhere (no GRO on the peers,
# checksum offload on the phones); forwarding on, as the README asks.
#
# (a) datapath = auto sees that the veth driver would drop what XDP native
#     sends (the peer runs neither XDP nor GRO), says so in one line with
#     the fix and takes XDP generic: a call's media arrives both ways, with
#     checksums the phones accept, and the kernel forwarded most of it.
# (b) With the fix applied on the bridge's side (`sluicectl xdp-pass brs`)
#     the running sluiced moves to native within seconds, and a fresh one
#     chooses native at start; a call's media arrives both ways.
# (c) datapath = xdp-native where native cannot deliver: sluiced refuses to
#     start, with the reason and the fix.
# (d) The peer loses its XDP program in the middle of a call: sluiced falls
#     back to generic within seconds, says so in one line and in DSP
#     SYSINFO, and the rest of the call's media arrives.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter sipp tcpdump perl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] && [ -x "$RTPIO" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"

B=svb$$ S=svs$$ P1=svp$$ P2=svq$$
PIN=/sys/fs/bpf/sluice-test-v$$
NET=10.81
SRV=$NET.0.1 PH1=$NET.0.11 PH2=$NET.0.12
bridge_topology $B $S $P1 $P2 $NET
in_ns $S sysctl -qw net.ipv4.conf.all.forwarding=1
cleanup_add "'$SLUICECTL' -p $PIN unload"
cleanup_add "in_ns $B '$SLUICECTL' xdp-pass -d brs"

# The shipped file with only what the issue's newcomer changed.
sed -e "s|^listen = 0.0.0.0:5060|listen = $SRV:5060|" \
    -e "s|^domain = .*|domain = ims.local|" \
    -e "s|^interface = eth0|interface = srv0|" \
    -e "s|^address = auto|address = $SRV|" \
    -e "s|^ports = 16384-32767|ports = 30000-30099|" \
    -e "s|^bpf_pin_dir = .*|bpf_pin_dir = $PIN|" \
    -e "s|^db = .*|db = $TMP/sluice.db|" \
    -e "s|^listen = 127.0.0.1:7777|listen = 127.0.0.1:$((17000 + $$ % 1000))|" \
    -e "s|^ng = .*|ng = off|" -e "s|^rtpproxy = .*|rtpproxy = off|" \
    -e "s|^export_dir = .*|export_dir = $TMP/export|" \
    "$TOP/conf/sluice.conf" >$TMP/sluice.conf
MML_PORT=$((17000 + $$ % 1000))
cat >$TMP/users.json <<JSON
{ "1001": { "username": "1001", "password": "caller-pw" },
  "1002": { "username": "1002", "password": "callee-pw" } }
JSON
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null ||
	skip_all "import-users failed"

# start [DATAPATH]: sluiced in S, pid in SPID, its log in LOG (one per start).
STARTS=0
start() {
	local conf=$TMP/sluice.conf
	if [ -n "${1:-}" ]; then
		sed "s|^datapath = auto|datapath = $1|" $TMP/sluice.conf >$TMP/forced.conf
		conf=$TMP/forced.conf
	fi
	STARTS=$((STARTS + 1))
	LOG=$TMP/sluiced-$STARTS.log
	nsenter --net=/run/netns/$S "$SLUICED" -c $conf >$LOG 2>&1 &
	SPID=$!
	wait_for $LOG "running|cannot|refused" 100
}
stop() { kill -TERM $SPID 2>/dev/null; wait $SPID; }

mml() {
	local pw
	pw=$(sed -n 's/.*operator admin created with password \([^ ]*\).*/\1/p' $FIRST)
	printf 'user=admin\npassword=%s\n' "$pw" >$TMP/cred
	chmod 600 $TMP/cred
	in_ns $S "$SLUICECTL" -c $TMP/sluice.conf mml -a $TMP/cred "$1"
}

SIPP_DIR=$TOP/tests/integration/sipp
PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
sed "s|^  <pause/>|  $PLAY\n  <pause/>|" $SIPP_DIR/uac_call.xml >$TMP/uac.xml
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $SIPP_DIR/uas_answer.xml >$TMP/uas.xml
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
SENT=$(tcpdump -r $PCAP 2>/dev/null | wc -l)

# register: 1002 registers with sipp's own digest defaults.
register() {
	in_ns $P2 sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user 1002 \
		-key aor 1002 -key domain ims.local -key expires 600 -au 1002 -ap callee-pw \
		-i $PH2 -p 5062 $SRV:5060 >$TMP/reg.out 2>&1
}

# csum_ok PCAP: every frame to port 6000 in PCAP has valid IPv4 and UDP
# checksums, or a UDP one left for a NIC to finish that is right for the
# frame's addresses (the kernel takes those between namespaces as they are).
csum_ok() {
	local r bad partial
	r=$("$RTPIO" pcap $1 6000)
	bad=$(printf '%s\n' "$r" | sed -n 's/.* bad_udp_csum \([0-9]*\) .*/\1/p')
	partial=$(printf '%s\n' "$r" | sed -n 's/.* partial_udp_csum \([0-9]*\) .*/\1/p')
	printf '%s\n' "$r" | grep -q ' bad_ip_csum 0 ' && [ -n "$bad" ] && [ "$bad" = "$partial" ]
}

# call NAME [MIDCALL]: 1001 calls 1002, both play the pcap; MIDCALL runs
# 1.5 s into the media. Sets GOT1/GOT2 (frames at each phone), CSUM (0
# when every frame's checksums would be taken), FLOWS (the kernel's flows
# as the call ended) and CALL_OK.
call() {
	local name=$1 midcall=${2:-} uac uas
	nsenter --net=/run/netns/$P1 tcpdump -i ph0 -n -w $TMP/$name-1.pcap udp dst port 6000 \
		2>/dev/null &
	local t1=$!
	nsenter --net=/run/netns/$P2 tcpdump -i ph0 -n -w $TMP/$name-2.pcap udp dst port 6000 \
		2>/dev/null &
	local t2=$!
	sleep 1
	nsenter --net=/run/netns/$P2 sipp -sf $TMP/uas.xml -m 1 -nostdin -timeout 30 -timeout_error -i $PH2 -p 5062 \
		-mi $PH2 -mp 6000 $SRV:5060 >$TMP/$name-uas.out 2>&1 &
	uas=$!
	sleep 0.5
	nsenter --net=/run/netns/$P1 sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 30 -timeout_error -key user 1001 \
		-key target 1002 -key domain ims.local -d 8000 -au 1001 -ap caller-pw \
		-i $PH1 -p 5061 -mi $PH1 -mp 6000 $SRV:5060 >$TMP/$name-uac.out 2>&1 &
	uac=$!
	if [ -n "$midcall" ]; then
		sleep 2
		eval "$midcall"
		sleep 5
	else
		sleep 7
	fi
	FLOWS=$(in_ns $S "$SLUICECTL" -p $PIN flow list 2>/dev/null)
	wait $uac
	CALL_OK=$?
	wait $uas
	CALL_OK=$((CALL_OK + $?))
	sleep 0.5
	kill $t1 $t2 2>/dev/null
	wait $t1 $t2 2>/dev/null
	GOT1=$(tcpdump -r $TMP/$name-1.pcap 2>/dev/null | wc -l)
	GOT2=$(tcpdump -r $TMP/$name-2.pcap 2>/dev/null | wc -l)
	csum_ok $TMP/$name-1.pcap && csum_ok $TMP/$name-2.pcap
	CSUM=$?
}

# kernel_min: the fewest packets the kernel forwarded in one direction.
kernel_min() {
	printf '%s\n' "$FLOWS" | sed -n 's/.*: packets \([0-9]*\) .*/\1/p' | sort -n | head -1
}

plan 30

# ---- (a) the newcomer's bridge, datapath = auto ----
start
FIRST=$LOG
like "$(cat $LOG)" "\[dp\] XDP native would not deliver \(srv0 is a veth whose peer brs .*has neither GRO nor an XDP program.*fix: .ethtool -K brs gro on. or .sluicectl xdp-pass brs.*\), using XDP generic on srv0" \
	"(a) auto: one line names the loss native would cause, the fix, and the path taken"
is "$(grep -c 'XDP native would not deliver' $LOG)" 1 "(a) said once"
register
ok $? "(a) the callee registers (sipp, its own digest defaults)" ||
	diag "$(tail -5 $TMP/reg.out; tail -5 $LOG)"
call a
is "$CALL_OK" 0 "(a) the call: INVITE, 407, 200, ACK, media, BYE"
ok $((GOT2 >= SENT - 6 ? 0 : 1)) "(a) the caller's media reached the callee ($GOT2 of $SENT)"
ok $((GOT1 >= SENT - 6 ? 0 : 1)) "(a) the callee's media reached the caller ($GOT1 of $SENT)"
is "$CSUM" 0 "(a) with checksums the phones take, at both"
min=$(kernel_min)
ok $((${min:-0} >= SENT - 20 ? 0 : 1)) "(a) the kernel forwarded most of each direction (${min:-0} of $SENT)"
info=$(mml 'DSP SYSINFO:;')
like "$info" "DATAPATH +XDP generic on srv0" "(a) DSP SYSINFO: the path"
like "$info" "DATAPATH NOTE +native would not deliver: srv0 is a veth" "(a) DSP SYSINFO: why not native"

# ---- (b) the documented fix, on the bridge's side ----
out=$(in_ns $B "$SLUICECTL" xdp-pass brs)
ok $? "(b) sluicectl xdp-pass brs: $out"
wait_for $LOG "XDP native delivers again: using XDP native on srv0" 80
ok $? "(b) the running sluiced moves to native within seconds"
like "$(ip -n $S link show srv0)" "xdp id|prog/xdp id" "(b) srv0 runs XDP native now"
call b1
is "$CALL_OK" 0 "(b) a call after the move"
ok $((GOT1 >= SENT - 6 && GOT2 >= SENT - 6 && CSUM == 0 ? 0 : 1)) \
	"(b) media both ways, checksums good ($GOT2 and $GOT1 of $SENT)"
min=$(kernel_min)
ok $((${min:-0} >= SENT - 20 ? 0 : 1)) "(b) in the kernel (${min:-0} of $SENT)"
stop
start
like "$(cat $LOG)" "using XDP native on srv0" "(b) a fresh start chooses native"
ok $(grep -q "would not deliver" $LOG; [ $? -ne 0 ]; echo $?) "(b) and finds nothing to say about it"
register
call b2
ok $((CALL_OK == 0 && GOT1 >= SENT - 6 && GOT2 >= SENT - 6 && CSUM == 0 ? 0 : 1)) \
	"(b) its call carries media both ways, checksums good ($GOT2 and $GOT1 of $SENT)"
verd=$(in_ns $S "$SLUICECTL" -p $PIN verdicts)
tx=$(printf '%s\n' "$verd" | awk '$1 == "tx" { print $2 }')
ok $((${tx:-0} >= 2 * (SENT - 20) ? 0 : 1)) "(b) sent back out of srv0 by the kernel (tx ${tx:-0})"

# ---- (d) the peer loses its program mid-call ----
call d "in_ns $B '$SLUICECTL' xdp-pass -d brs >/dev/null"
like "$(cat $LOG)" "\[dp\] XDP native stopped delivering: .*brs.*; media moved to XDP generic on srv0" \
	"(d) one line says native stopped delivering and where media went"
is "$CALL_OK" 0 "(d) the call completes"
# At 50 packets a second, the 1.5 s before the move may be lost; no more.
ok $((GOT1 >= SENT - 90 && GOT2 >= SENT - 90 ? 0 : 1)) \
	"(d) the rest of the media arrives both ways ($GOT2 and $GOT1 of $SENT)"
last2=$(tcpdump -r $TMP/d-2.pcap -tt 2>/dev/null | tail -1 | cut -d' ' -f1)
first2=$(tcpdump -r $TMP/d-2.pcap -tt 2>/dev/null | head -1 | cut -d' ' -f1)
ok $(perl -e "exit(!($last2 - $first2 > 4.0))"; echo $?) "(d) up to the call's end (${first2}..${last2})"
info=$(mml 'DSP SYSINFO:;')
like "$info" "DATAPATH +XDP generic on srv0" "(d) DSP SYSINFO: the path now"
like "$info" "DATAPATH NOTE +.*fell back from native" "(d) DSP SYSINFO: the fallback and its reason"
like "$info" "DATAPATH FALLBACKS +1" "(d) DSP SYSINFO: counted"
stop
ok $? "sluiced stops cleanly"

# ---- (c) native forced where it cannot deliver ----
start xdp-native
wait $SPID
rc=$?
ok $((rc != 0 ? 0 : 1)) "(c) datapath = xdp-native: sluiced refuses to start (status $rc)"
like "$(cat $LOG)" "datapath = xdp-native refused: srv0 is a veth whose peer brs .*fix: " \
	"(c) with the reason and the fix"
done_testing
