#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The XDP program forwarding a call's RTP: three namespaces (caller, relay,
# callee) joined by veth pairs, the program attached in the relay with
# sluicectl, a flow pair per family programmed with sluicectl. RTP sent both
# ways must arrive rewritten (source = the relay's other leg) with valid
# checksums, the relay's own sockets must see none of it, the kernel's
# statistics must match, and a stranger's packets must not be forwarded.
# The namespaces and the checks are tests/forward-lib.sh's, which the
# kernel module's qemu guest runs too (tests/kmod/guest-test.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../forward-lib.sh"

require_root
require_cmd ip ethtool nsenter
[ -x "$SLUICECTL" ] && [ -x "$RTPIO" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"

N=50
C=slc$$ R=slr$$ E=sle$$
PIN=/sys/fs/bpf/sluice-test-$$
fwd_namespaces || skip_all "cannot create veth pairs"
fwd_neighbours

ctl() { in_ns $R "$SLUICECTL" -p $PIN "$@"; }
cleanup_add "'$SLUICECTL' -p $PIN unload"

out=$(ctl load r0,r1 native 2>&1) || skip_all "XDP native cannot attach here: $out"
plan 33
like "$out" "^XDP native on r0,r1, pinned in $PIN" "sluicectl load attaches natively to both legs"
like "$(ip -n $R link show r0)" "prog/xdp id" "r0 carries the XDP program"
ok $([ -e $PIN/flows ] && [ -e $PIN/link_r0 ] && [ -e $PIN/link_r1 ]; echo $?) \
	"maps and links are pinned under $PIN"

fwd_checks

out=$(ctl unload)
like "$out" "^detached 2 links" "unload detaches both links"
ok $([ ! -e $PIN ]; echo $?) "and removes the pins"
unlike_xdp=$(ip -n $R link show r0)
ok $(printf '%s' "$unlike_xdp" | grep -q xdp; [ $? -ne 0 ]; echo $?) "r0 has no XDP program any more"
done_testing
