#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo: a call through sluiced between two phones, in network
# namespaces this script makes and removes. sluiced runs in the server's
# namespace with XDP on both of its interfaces; two sipp phones, 1001 and
# 1002, register with digest authentication and 1001 calls 1002 for 10 s,
# each side playing G.711 audio. During the call the script shows the
# streams (MML DSP STREAM, through sluicectl mml) and the kernel's flow
# table (bpftool map dump pinned /sys/fs/bpf/sluice/flows); afterwards the
# call's CDR (DSP CDR). Needs root, sipp and bpftool.
#
# SLUICE_BIN picks the binaries (default agent/); DEMO_KEEP=1 keeps its
# files (configuration, database, logs) in the directory it prints.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SLUICE_BIN:-$TOP/agent}
case $BIN in /*) ;; *) BIN=$TOP/$BIN ;; esac
PCAP=/usr/share/sip-tester/g711a.pcap
SIPP_DIR=$TOP/tests/integration/sipp
PIN=/sys/fs/bpf/sluice
A=sluice-demo-a S=sluice-demo-s B=sluice-demo-b

die() { echo "demo: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP)"
for c in ip nsenter sipp bpftool ethtool; do
	command -v $c >/dev/null || die "needs $c (make deps)"
done
[ -x "$BIN/sluiced" ] && [ -x "$BIN/sluicectl" ] || die "build first (make)"
[ -r $PCAP ] || die "no $PCAP (sip-tester)"
[ -e $PIN ] && die "$PIN exists: is a sluiced running? (sluicectl unload removes it)"

DIR=$(mktemp -d /tmp/sluice-demo.XXXXXX)
SPID=
cleanup() {
	[ -n "$SPID" ] && kill $SPID 2>/dev/null && wait $SPID 2>/dev/null
	"$BIN/sluicectl" -p $PIN unload >/dev/null 2>&1
	for ns in $A $S $B; do ip netns del $ns 2>/dev/null; done
	if [ -n "${DEMO_KEEP:-}" ]; then echo "demo: files kept in $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
in_ns() { local ns=$1; shift; nsenter --net=/run/netns/$ns "$@"; }
step() { printf '\n==== %s\n' "$*"; }

step "network: phone 1001 (10.77.1.2) -- sluiced (10.77.1.1 | 10.77.2.1) -- phone 1002 (10.77.2.2)"
for ns in $A $S $B; do ip netns add $ns && ip -n $ns link set lo up || die "cannot make namespace $ns"; done
ip link add a0 netns $A type veth peer name s0 netns $S || die "cannot make veth pairs"
ip link add b0 netns $B type veth peer name s1 netns $S
ip -n $A addr add 10.77.1.2/24 dev a0
ip -n $S addr add 10.77.1.1/24 dev s0
ip -n $S addr add 10.77.2.1/24 dev s1
ip -n $B addr add 10.77.2.2/24 dev b0
for x in "$A a0" "$S s0" "$S s1" "$B b0"; do set -- $x; ip -n $1 link set $2 up; done
ip -n $A route add default via 10.77.1.1
ip -n $B route add default via 10.77.2.1
in_ns $S sysctl -qw net.ipv4.conf.all.forwarding=1
# XDP native on veth wants GRO on the peer; checksums filled in by the sender.
in_ns $A ethtool -K a0 gro on tx off >/dev/null
in_ns $B ethtool -K b0 gro on tx off >/dev/null
in_ns $A ping -c1 -W2 10.77.1.1 >/dev/null && in_ns $B ping -c1 -W2 10.77.2.1 >/dev/null ||
	die "the namespaces do not reach each other"

step "sluiced: subscribers 1001 and 1002, an MML operator, XDP on s0 and s1"
ADMIN_PW=demo-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >$DIR/sluice.conf <<CONF
[sip]
listen = 0.0.0.0:5060
domain = ims.local
[media]
interface = s0, s1
address = 10.77.1.1
ports = 30000-30099
bpf_pin_dir = $PIN
[store]
db = $DIR/sluice.db
[mml]
listen = 127.0.0.1:7777
admin_password = $ADMIN_PW
[control]
ng = off
rtpproxy = off
CONF
(umask 077; printf 'user=admin\npassword=%s\n' "$ADMIN_PW" >$DIR/mml.credentials)
cat >$DIR/users.json <<JSON
{ "1001": { "username": "1001", "password": "demo-1001", "display_name": "Alice" },
  "1002": { "username": "1002", "password": "demo-1002", "display_name": "Bob" } }
JSON
"$BIN/sluicectl" -c $DIR/sluice.conf import-users $DIR/users.json || die "import-users failed"
nsenter --net=/run/netns/$S "$BIN/sluiced" -c $DIR/sluice.conf >$DIR/sluiced.log 2>&1 &
SPID=$!
for i in $(seq 50); do grep -q "running" $DIR/sluiced.log && break; sleep 0.1; done
grep -E "\[dp\]|running|\[mml\]" $DIR/sluiced.log
grep -q running $DIR/sluiced.log || die "sluiced did not start: $(tail -3 $DIR/sluiced.log)"
mml() { in_ns $S "$BIN/sluicectl" -c $DIR/sluice.conf mml -a $DIR/mml.credentials "$@"; }

step "phones register (digest)"
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$DIR/reg.xml
for x in "$A 1001 10.77.1.2 10.77.1.1" "$B 1002 10.77.2.2 10.77.2.1"; do
	set -- $x
	in_ns $1 sipp -sf $DIR/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user $2 \
		-key aor $2 -key domain ims.local -key expires 600 -au $2 -ap demo-$2 \
		-i $3 -p 5062 $4:5060 >$DIR/reg-$2.out 2>&1 ||
		die "$2 did not register: $(tail -3 $DIR/reg-$2.out)"
	echo "$2 registered from $3"
done
mml 'DSP REG:;'

step "1001 calls 1002 for 10 s, both playing G.711 audio"
PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
sed "s|^  <pause/>|  $PLAY\n  <pause/>|" $SIPP_DIR/uac_call.xml >$DIR/uac.xml
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $SIPP_DIR/uas_answer.xml >$DIR/uas.xml
in_ns $B sipp -sf $DIR/uas.xml -m 1 -nostdin -timeout 30 -timeout_error -i 10.77.2.2 -p 5062 \
	-mi 10.77.2.2 -mp 6000 10.77.2.1:5060 >$DIR/uas.out 2>&1 &
UAS=$!
sleep 0.5
in_ns $A sipp -sf $DIR/uac.xml -m 1 -nostdin -timeout 30 -timeout_error -key user 1001 \
	-key target 1002 -key domain ims.local -d 10000 -au 1001 -ap demo-1001 \
	-i 10.77.1.2 -p 5061 -mi 10.77.1.2 -mp 6000 \
	10.77.1.1:5060 >$DIR/uac.out 2>&1 &
UAC=$!
sleep 5

step "during the call: MML DSP CALL and DSP STREAM"
mml 'DSP CALL:;' 'DSP STREAM:;'

step "during the call: the kernel's flows (bpftool map dump pinned $PIN/flows)"
bpftool map dump pinned $PIN/flows

wait $UAC; rc_uac=$?
wait $UAS; rc_uas=$?
[ $rc_uac = 0 ] && [ $rc_uas = 0 ] || die "the call failed: $(grep -E 'Failed call' $DIR/uac.out $DIR/uas.out)"
sleep 0.2

step "after the call: its CDR (MML DSP CDR)"
mml 'DSP CDR: TYPE="CALL";'
kill -TERM $SPID
wait $SPID
rc=$?
SPID=
[ $rc = 0 ] || die "sluiced exited with status $rc: $(tail -20 $DIR/sluiced.log)"
step "done"
