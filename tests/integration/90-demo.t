#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo, as CI runs it: scripts/demo.sh with the binaries under test.
# The demo prints DSP STREAM during its call, the kernel's flow table and
# the call's CDR afterwards; this checks each is there and says what it
# should.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter sipp bpftool ethtool
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
[ -r /usr/share/sip-tester/g711a.pcap ] || skip_all "no pcap (sip-tester)"
[ -e /sys/fs/bpf/sluice ] && skip_all "/sys/fs/bpf/sluice is in use (a sluiced runs?)"
plan 7

SLUICE_BIN=$SLUICE_BIN DEMO_KEEP=1 "$TOP/scripts/demo.sh" >$TMP/demo.out 2>&1
rc=$?
ok $rc "make demo runs to its end" || diag "$(tail -20 $TMP/demo.out)"
dir=$(sed -n 's/^demo: files kept in //p' $TMP/demo.out)
[ -n "$dir" ] && cleanup_add "rm -rf $dir"
like "$(cat $TMP/demo.out)" "XDP native on s0,s1" "sluiced attached XDP to both interfaces"
like "$(cat $TMP/demo.out)" "1001 registered from 10.77.1.2" "the phones registered"
like "$(cat $TMP/demo.out)" " 0 +A +30000 +10.77.1.2:6000 +[1-9][0-9]* .* xdp" \
	"DSP STREAM during the call: leg A in the kernel, packets counted"
like "$(cat $TMP/demo.out)" '"new_dst_addr": \[10,77,2,2' "bpftool shows the flow towards 1002"
like "$(cat $TMP/demo.out)" "CALL +[0-9-]+ [0-9:]+ +1001 +1002 +ANSWERED +200 +1[01] +1[01] +normal by caller +4\.[0-9]+ +4\.[0-9]+ +xdp" \
	"the call's CDR: answered, ~10 s, hung up by the caller, MOS both ways, XDP"
ok $([ ! -e /sys/fs/bpf/sluice ] && ! ip netns list | grep -q sluice-demo; echo $?) \
	"the demo removed its namespaces and pins"
done_testing
