#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# An upgrade across the maps' ABI (2 to 3) while media flows. The release
# before ABI 3 is built from this repository's history; its sluicectl
# loads its XDP program on the relay and installs a call's two flows, and
# RTP goes through. Then, in the middle of a stream, the sluiced of this
# tree starts on the same pins: it moves the ABI 2 maps over and switches
# the links to its program. Every packet of the stream must arrive, the
# flows must keep their counters, and nothing of ABI 2 may stay pinned.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip ethtool nsenter git make clang bpftool
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] && [ -x "$RTPIO" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1 || skip_all "no git history to build ABI 2 from"
REV=$(git -C "$TOP" log -1 --format=%H -S'#define SLUICE_ABI_VERSION 3' -- include/sluice/abi.h)
[ -n "$REV" ] && git -C "$TOP" cat-file -e "$REV^" 2>/dev/null ||
	skip_all "the history does not reach the release before ABI 3 (a shallow clone?)"
OLD=$TMP/abi2
mkdir -p $OLD
git -C "$TOP" archive "$REV^" | tar -x -C $OLD
make -C $OLD -j2 all >$TMP/build.log 2>&1 || skip_all "the ABI 2 release does not build here: $(tail -3 $TMP/build.log)"
grep -q '#define SLUICE_ABI_VERSION 2' $OLD/include/sluice/abi.h || skip_all "$REV^ is not ABI 2"

C=suc$$ R=sur$$ E=sue$$
PIN=/sys/fs/bpf/sluice-test-u$$
relay_topology $C $R $E 10.85
cleanup_add "'$SLUICECTL' -p $PIN unload"
plan 10

old() { in_ns $R "$OLD/agent/sluicectl" -p $PIN "$@"; }
out=$(old load r0,r1 native 2>&1)
like "$out" "^XDP native on r0,r1" "the ABI 2 sluicectl loads its program ($REV^)"
old flow add 10.85.1.1:30000 from 10.85.1.2:40000 via 10.85.2.1:30002 to 10.85.2.2:50000 rtp clock 8000 &&
old flow add 10.85.2.1:30002 from 10.85.2.2:50000 via 10.85.1.1:30000 to 10.85.1.2:40000 rtp clock 8000
ok $? "and a call's two flows"

# stream NAME COUNT [MIDWAY]: RTP from the caller to the callee at 200 a
# second; MIDWAY runs a second in. The callee's summary in $TMP/NAME.
stream() {
	nsenter --net=/run/netns/$E "$RTPIO" recv e0 10.85.2.2:50000 $2 2000 >$TMP/$1 &
	local rx=$!
	wait_for $TMP/$1 ready
	nsenter --net=/run/netns/$C "$RTPIO" send 10.85.1.2:40000 10.85.1.1:30000 $2 0xab2 200 \
		$3 >/dev/null &
	local tx=$!
	[ -n "${4:-}" ] && { sleep 1; eval "$4"; }
	wait $tx $rx
}
stream before 200 0
like "$(cat $TMP/before)" "^frames 200 sock 200 bad_ip_csum 0 bad_udp_csum 0 " \
	"the ABI 2 program forwards the call's media"

sluice_conf $TMP/sluice.conf sip.listen=off media.interface="r0, r1" \
	media.address=10.85.1.1 media.ports=31000-31099 media.datapath=auto \
	media.bpf_pin_dir=$PIN mml.listen=off
stream during 600 200 "nsenter --net=/run/netns/$R '$SLUICED' -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 & SPID=\$!"
cleanup_add "kill $SPID 2>/dev/null"
like "$(cat $TMP/during)" "^frames 600 sock 600 bad_ip_csum 0 bad_udp_csum 0 .* first_seq 1200 last_seq 1799 " \
	"every packet of a stream across the upgrade arrives, in order"
like "$(cat $TMP/sluiced.log)" "\[dp\] moved 2 flows from ABI 2 maps to ABI 3: calls keep their media" \
	"sluiced says it moved the ABI 2 flows over"
like "$(cat $TMP/sluiced.log)" "r0: adopted the pinned XDP link \(native\)" "and adopted the links"
list=$(in_ns $R "$SLUICECTL" -p $PIN flow list)
pk=$(printf '%s\n' "$list" | sed -n 's/^10\.85\.1\.1:30000 .*: packets \([0-9]*\) .*/\1/p')
ok $((${pk:-0} >= 790 ? 0 : 1)) "the flow kept its counters across the move (${pk:-0} of 800 packets)"
ok $([ ! -e $PIN/flows_abi2 ] && [ ! -e $PIN/flow_stats ]; echo $?) "nothing of ABI 2 stays pinned"
like "$(bpftool map dump pinned $PIN/abi 2>/dev/null)" "\"value\": 3" "the pinned maps say ABI 3 now"
kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly"
done_testing
