#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The XDP program keeps each flow's egress (interface, source and next-hop
# MAC) once bpf_fib_lookup has answered, and asks again when sluiced says
# a route, neighbour or link changed, or after SLUICE_EGRESS_TTL_NS (1 s)
# without its word. Streams of 400 RTP packets at 200 a second through a
# relay with XDP on three interfaces, while:
#
#   the callee's MAC changes (ip neigh replace and the callee's new address)
#   the route to a destination moves to another interface (ip route replace)
#   the egress interface goes down (packets pass to the stack, none dropped
#   by XDP) and up again (forwarded in the kernel once resolved)
#   the MAC changes again with no sluiced running (SIGUSR2): within a second
#
# Flows come from sluicectl, beside a sluiced that runs the data path.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip ethtool nsenter tcpdump
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] && [ -x "$RTPIO" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"

N=400 PPS=200
C=sec$$ R=ser$$ E=see$$ F=sef$$
PIN=/sys/fs/bpf/sluice-test-e$$
for x in $C $R $E $F; do netns_add $x; done
veth_link $C c0 10.84.1.2/24 $R r0 10.84.1.1/24 || skip_all "cannot create veth pairs"
veth_link $R r1 10.84.2.1/24 $E e0 10.84.2.2/24
veth_link $R r2 10.84.3.1/24 $F f0 10.84.3.2/24
# 10.84.9.9 lives on both callees; the relay routes it through E first.
ip -n $E addr add 10.84.9.9/32 dev lo
ip -n $F addr add 10.84.9.9/32 dev lo
ip -n $R route add 10.84.9.9/32 via 10.84.2.2 dev r1
in_ns $R sysctl -qw net.ipv4.conf.all.forwarding=1
for x in "$C c0" "$E e0" "$F f0"; do
	set -- $x
	in_ns $1 ethtool -K $2 gro on tx off >/dev/null
done
ip -n $C route replace default via 10.84.1.1
ip -n $E route replace default via 10.84.2.1
ip -n $F route replace default via 10.84.3.1
for a in 10.84.1.2 10.84.2.2 10.84.3.2; do in_ns $R ping -c1 -W1 $a >/dev/null; done

sluice_conf $TMP/sluice.conf sip.listen=off media.interface="r0, r1, r2" \
	media.address=10.84.1.1 media.ports=31000-31099 media.datapath=auto \
	media.bpf_pin_dir=$PIN mml.listen=off
start() {
	nsenter --net=/run/netns/$R "$SLUICED" -c $TMP/sluice.conf >>$TMP/sluiced.log 2>&1 &
	SPID=$!
	wait_for $TMP/sluiced.log "running|cannot" 100
}
start
cleanup_add "kill $SPID 2>/dev/null; '$SLUICECTL' -p $PIN unload"
grep -q "XDP native on r0,r1,r2" $TMP/sluiced.log ||
	skip_all "XDP native not available: $(tail -2 $TMP/sluiced.log)"
plan 12

ctl() { in_ns $R "$SLUICECTL" -p $PIN "$@"; }
ctl flow add 10.84.1.1:30000 from 10.84.1.2:40000 via 10.84.2.1:30002 to 10.84.2.2:50000 rtp clock 8000
ctl flow add 10.84.1.1:30010 from 10.84.1.2:40010 via 10.84.2.1:30012 to 10.84.9.9:50010 rtp clock 8000
verdict() { ctl verdicts | awk -v r=$1 '$1 == r { print $2 }'; }

# stream NAME SRC DST [MIDWAY] then receivers NS:IF:LOCAL...: N packets at
# PPS; MIDWAY runs halfway through. Each receiver's summary in $TMP/NAME.NS.
stream() {
	local name=$1 src=$2 dst=$3 midway=$4 r pids=()
	shift 4
	for r in "$@"; do
		IFS=: read ns ifc local <<<"$r"
		nsenter --net=/run/netns/$ns "$RTPIO" recv $ifc $local $N 1500 >$TMP/$name.$ns &
		pids+=($!)
		wait_for $TMP/$name.$ns ready
	done
	nsenter --net=/run/netns/$C "$RTPIO" send $src $dst $N 0x5eed $PPS >/dev/null &
	local tx=$!
	sleep $(awk -v n=$N -v p=$PPS 'BEGIN { print n / p / 2 }')
	[ -n "$midway" ] && eval "$midway"
	wait $tx "${pids[@]}"
}
sock() { sed -n 's/.* sock \([0-9]*\) .*/\1/p' $TMP/$1 | tail -1; }

# ---- the next hop's MAC changes ----
OLD=$(ip -n $E -o link show e0 | sed 's/.*link\/ether \([0-9a-f:]*\).*/\1/')
NEW=02:84:00:00:02:02
nsenter --net=/run/netns/$E tcpdump -i e0 -e -n -U -B 4096 -w $TMP/mac.pcap udp port 50000 2>/dev/null &
TD=$!
sleep 0.5
stream mac 10.84.1.2:40000 10.84.1.1:30000 \
	"ip -n $R neigh replace 10.84.2.2 lladdr $NEW dev r1 nud permanent; ip -n $E link set e0 address $NEW" \
	$E:e0:10.84.2.2:50000
sleep 0.3
kill $TD; wait $TD 2>/dev/null
got=$(sock mac.$E)
ok $((got >= N - 6 ? 0 : 1)) "the callee's new MAC: all but the packets sent while both moved arrive ($got of $N)"
# In the order they arrived: the old MAC's frames, then the new one's.
order=$(tcpdump -r $TMP/mac.pcap -e -n 2>/dev/null | awk -v old="$OLD," -v new="$NEW," '
	$4 == old { if (seen) late++; else early++ } $4 == new { seen = 1; fresh++ }
	END { printf "%d %d %d\n", early, fresh, late }')
read early fresh late <<<"$order"
# (The capture may miss frames on a loaded machine; the count that matters
# is the callee's socket's, above.)
ok $((early >= N / 2 - 20 && fresh > 0 ? 0 : 1)) \
	"frames went to the old MAC until the change and to the new one after ($early, then $fresh)"
is "$late" 0 "none to the stale MAC once the new one was in use"

# ---- the route moves to another interface ----
stream route 10.84.1.2:40010 10.84.1.1:30010 \
	"ip -n $R route replace 10.84.9.9/32 via 10.84.3.2 dev r2" \
	$E:e0:10.84.9.9:50010 $F:f0:10.84.9.9:50010
e=$(sock route.$E) f=$(sock route.$F)
ok $((e + f >= N - 3 ? 0 : 1)) "the route moved: all but a few arrive, at one callee or the other ($e + $f of $N)"
ok $((f >= N / 2 - 10 && e <= N / 2 + 10 ? 0 : 1)) "before the move through r1, after it through r2 ($e, $f)"

# ---- the egress interface goes down, then up ----
before=$(verdict redirect)
pass_before=$(( $(verdict pass_fib_other) + $(verdict pass_fib_no_neigh) + $(verdict pass_redirect_failed) ))
ip -n $R link set r1 down
N=100 stream down 10.84.1.2:40000 10.84.1.1:30000 "" $E:e0:10.84.2.2:50000
is "$(sock down.$E)" 0 "r1 down: nothing reaches the callee"
passed=$(( $(verdict pass_fib_other) + $(verdict pass_fib_no_neigh) + $(verdict pass_redirect_failed) - pass_before ))
is "$passed" 100 "XDP passed every packet to the stack (no route or no neighbour), dropped none"
is "$(verdict redirect)" "$before" "and redirected none to the interface that is down"
ip -n $R link set r1 up
sleep 0.5
ip -n $R neigh replace 10.84.2.2 lladdr $NEW dev r1 nud permanent
before=$(verdict redirect)
stream up 10.84.1.2:40000 10.84.1.1:30000 "" $E:e0:10.84.2.2:50000
is "$(sock up.$E)" "$N" "r1 up again: every packet arrives"
ok $(( $(verdict redirect) - before >= N - 2 ? 0 : 1 )) "forwarded by XDP ($(( $(verdict redirect) - before )))"

# ---- no sluiced: the cached egress ages out within a second ----
kill -USR2 $SPID
wait $SPID
NEWER=02:84:00:00:02:03
stream nosluiced 10.84.1.2:40000 10.84.1.1:30000 \
	"ip -n $R neigh replace 10.84.2.2 lladdr $NEWER dev r1 nud permanent; ip -n $E link set e0 address $NEWER" \
	$E:e0:10.84.2.2:50000
got=$(sock nosluiced.$E)
ok $((got >= N - PPS - 6 ? 0 : 1)) \
	"without sluiced the program finds the new MAC within a second ($got of $N, at $PPS a second)"
ok $((got < N ? 0 : 1)) "(and that took a while: the bound is the TTL, not an event)"
done_testing
