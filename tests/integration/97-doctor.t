#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `sluicectl doctor` and `sluiced -t` on a host set up wrong, then right.
# The server's namespace has d0, a veth whose peer (in a namespace of its
# own, as a host's bridge port would be) runs neither GRO nor XDP;
# forwarding is off, another program holds the SIP port, and the open-file
# limit is too low for the media ports. Each fault must be named with its
# fix and the exit status must say that calls or media would be lost; with
# the faults mended the doctor must say so and exit 0.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter perl prlimit
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"

D=sdd$$ H=sdh$$
netns_add $D
netns_add $H
veth_link $D d0 10.83.0.1/24 $H hp0 10.83.0.2/24 || skip_all "cannot create veth pairs"
PIN=/sys/fs/bpf/sluice-test-d$$

sluice_conf $TMP/sluice.conf sip.listen=10.83.0.1:5060 sip.domain=ims.local \
	media.interface=d0 media.address=10.83.0.1 media.ports=30000-31999 media.datapath=auto \
	media.bpf_pin_dir=$PIN mml.listen=off
sed 's/^datapath = auto/datapath = xdp-native/' $TMP/sluice.conf >$TMP/native.conf

doctor() { in_ns $D "$@" "$SLUICECTL" -c ${CONF:-$TMP/sluice.conf} doctor; }

# Another program on the SIP port.
nsenter --net=/run/netns/$D perl -MIO::Socket::INET -e \
	'$s = IO::Socket::INET->new(LocalAddr => "10.83.0.1:5060", Proto => "udp") or die; sleep 60' &
HOLDER=$!
cleanup_add "kill $HOLDER"
sleep 0.5
in_ns $D sysctl -qw net.ipv4.conf.all.forwarding=0 net.ipv4.conf.d0.forwarding=0

plan 20

out=$(doctor prlimit --nofile=512:512)
rc=$?
is "$rc" 1 "doctor exits 1 on a host that would lose calls"
like "$out" "^FAIL +limits +open files: at most 512, but 2000 media ports .* need 3024" \
	"the open-file limit against the media ports"
like "$out" "fix: LimitNOFILE=3024 or more" "... with its fix"
like "$out" "^WARN +kernel +d0: ipv4 forwarding is off" "forwarding off on the media interface"
like "$out" "fix: sysctl -w net.ipv4.conf.d0.forwarding=1" "... with its fix"
like "$out" "^FAIL +ports +\[sip\] listen 10\.83\.0\.1:5060 \(udp\): in use by perl \(pid [0-9]+\)" \
	"the program on the SIP port, by name and pid"
like "$out" "^WARN +veth +d0 is a veth whose peer hp0 \(netns id [0-9]+\) has neither GRO nor an XDP program" \
	"the veth peer that would drop XDP native's frames"
like "$out" "fix: .ethtool -K hp0 gro on. or .sluicectl xdp-pass hp0." "... with its fix"
like "$out" "^2 faults that would lose media or calls" "the count of faults"

out=$(CONF=$TMP/native.conf doctor)
like "$out" "^FAIL +veth +d0 is a veth .*with datapath = xdp-native sluiced refuses to start" \
	"with datapath = xdp-native the veth peer is a fault"

out=$(in_ns $D prlimit --nofile=512:512 "$SLUICED" -t -c $TMP/sluice.conf)
rc=$?
like "$out" "configuration OK" "sluiced -t: the configuration is fine"
like "$out" "^FAIL +limits +open files" "sluiced -t runs the same checks"
is "$rc" 1 "sluiced -t exits 1 as well"

# Mend it: the program gone, forwarding on, GRO on the peer, the limit left
# to what the test runs with.
kill $HOLDER
wait $HOLDER 2>/dev/null
in_ns $D sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv4.conf.d0.forwarding=1
in_ns $H ethtool -K hp0 gro on >/dev/null
out=$(doctor prlimit --nofile=8192:8192)
rc=$?
is "$rc" 0 "the mended host: exit 0"
ok $(printf '%s\n' "$out" | grep -q '^FAIL'; [ $? -ne 0 ]; echo $?) "no FAIL left"
like "$out" "^ok +veth +d0: a veth whose peer is hp0 .*which takes XDP frames" \
	"the veth peer with GRO takes XDP frames"
like "$out" "^ok +ports +\[sip\] listen 10\.83\.0\.1:5060 is free" "the SIP port is free"
like "$out" "^ok +limits +open files: up to 8192, enough for 2000 media ports" "the limit is enough"
ok $(printf '%s\n' "$out" | grep -q 'forwarding is off'; [ $? -ne 0 ]; echo $?) \
	"forwarding is no longer reported"

# What sluiced itself says at start about the same host: the fd limit's
# raise, and nothing it will not act on.
nsenter --net=/run/netns/$D prlimit --nofile=1024:8192 "$SLUICED" -c $TMP/sluice.conf \
	>$TMP/start.log 2>&1 &
SPID=$!
cleanup_add "kill $SPID 2>/dev/null; '$SLUICECTL' -p $PIN unload"
wait_for $TMP/start.log "running|cannot" 100
like "$(cat $TMP/start.log)" "\[core\] open files: limit raised from 1024 to 8192" \
	"sluiced raises its soft open-file limit at start"
kill -TERM $SPID
wait $SPID
done_testing
