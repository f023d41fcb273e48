#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# sluiced as an operator starts it: the configuration check names file,
# line and key; the agent starts on the userspace path, attaches XDP where
# it can (natively, with one log line saying so), falls back with a reason
# where it cannot, adopts pinned state left by a previous run instead of
# wiping it, and stops cleanly on SIGTERM.
. "$(dirname "$0")/../lib.sh"

[ -x "$SLUICED" ] || skip_all "build first (make)"
plan 27

conf() {	# conf FILE KEY=VALUE...: a configuration under $TMP
	local f=$1
	shift
	{
		echo "[media]"
		echo "bpf_pin_dir = ${PIN:-/sys/fs/bpf/sluice-test-$$}"
		for kv in "$@"; do echo "$kv"; done
		echo "[store]"
		echo "db = $TMP/sluice.db"
		echo "[log]"
		echo "level = info"
	} >"$f"
}

printf '[sip]\ndomain = ims.local\n[media]\ncolour = blue\n' >$TMP/bad-key.conf
out=$("$SLUICED" -t -c $TMP/bad-key.conf 2>&1)
rc=$?
is "$rc" 1 "an unknown key stops sluiced -t"
like "$out" "bad-key\.conf:4: \[media\] colour: unknown key" "the error names file, line, section and key"

printf '[media]\nports = 30001-30000\n' >$TMP/bad-value.conf
out=$("$SLUICED" -t -c $TMP/bad-value.conf 2>&1)
like "$out" "bad-value\.conf:2: \[media\] ports: bad value '30001-30000', expected" \
	"a bad value names file, line, key and what was expected"

out=$("$SLUICED" -t -c "$TOP/conf/sluice.conf" 2>&1)
like "$out" "configuration OK" "the shipped conf/sluice.conf is valid"

# start FILE LOG: sluiced in the background (in NS when set), until its
# "running" line or death.
start() {
	if [ -n "${NS:-}" ]; then
		nsenter --net=/run/netns/$NS "$SLUICED" -c "$1" >"$2" 2>&1 &
	else
		"$SLUICED" -c "$1" >"$2" 2>&1 &
	fi
	PID=$!
	wait_for "$2" "running|cannot" 100
}

stop() {	# stop: SIGTERM, and sluiced's exit status
	kill -TERM $PID
	wait $PID
}

conf $TMP/user.conf "interface = lo" "datapath = user"
start $TMP/user.conf $TMP/user.log
like "$(cat $TMP/user.log)" "\[dp\] using the userspace relay \(datapath = user\)" \
	"datapath = user: one line says so"
stop
is $? 0 "SIGTERM: sluiced exits 0"
like "$(cat $TMP/user.log)" "\[core\] stopped" "and says it stopped"

if [ "$(id -u)" -ne 0 ] || ! command -v nsenter >/dev/null || ! bpffs_ready; then
	for i in $(seq 20); do skip "needs root, nsenter and bpffs to attach XDP"; done
	done_testing
	exit
fi

NS=sld$$
PIN=/sys/fs/bpf/sluice-test-$$
netns_add $NS
netns_add ${NS}p
veth_link $NS x0 10.78.0.1/24 ${NS}p x1 10.78.0.2/24
cleanup_add "'$SLUICECTL' -p $PIN unload"

conf $TMP/missing.conf "interface = nosuch0" "datapath = auto"
start $TMP/missing.conf $TMP/missing.log
like "$(cat $TMP/missing.log)" "KERNEL FORWARDING DISABLED, using the userspace relay \(XDP native: nosuch0: no such interface" \
	"auto with a missing interface: one line with the fallback and the reason"
stop

conf $TMP/xdp.conf "interface = x0" "datapath = auto"
# x0's peer runs neither GRO nor XDP: the veth driver would drop what XDP
# native sends out of x0 (96 shows it on a bridge).
start $TMP/xdp.conf $TMP/veth.log
like "$(cat $TMP/veth.log)" "\[dp\] XDP native would not deliver \(x0 is a veth whose peer x1 \(netns id [0-9]+\) has neither GRO nor an XDP program.*\), using XDP generic on x0" \
	"auto on a veth whose peer cannot take XDP frames: generic, and why, in one line"
stop
in_ns ${NS}p ethtool -K x1 gro on >/dev/null
start $TMP/xdp.conf $TMP/xdp.log
like "$(cat $TMP/xdp.log)" "\[dp\] using XDP native on x0" "auto on a veth whose peer has GRO: XDP native, said in one line"
like "$(cat $TMP/xdp.log)" "net\.ipv4\.conf\.x0\.forwarding is 0" "forwarding off: a warning naming the sysctl"
like "$(ip -n $NS link show x0)" "prog/xdp" "the program is attached"
stop
is $? 0 "SIGTERM with XDP: exits 0"
ok $(ip -n $NS link show x0 | grep -q xdp; [ $? -ne 0 ]; echo $?) "a clean stop detaches the program"
ok $([ ! -e $PIN ]; echo $?) "and removes its pins"

# A previous run (here: sluicectl) left a program and a flow pinned:
# sluiced adopts both, and the flow is still there.
in_ns $NS "$SLUICECTL" -p $PIN load x0 >/dev/null 2>&1
in_ns $NS "$SLUICECTL" -p $PIN flow add 10.78.0.1:30000 from 10.78.0.2:4000 via 10.78.0.1:30002 to 10.78.0.2:5000
link_id=$(bpftool link show pinned $PIN/link_x0 | sed -n 's/^\([0-9]*\):.*/\1/p')
start $TMP/xdp.conf $TMP/adopt.log
like "$(cat $TMP/adopt.log)" "x0: adopted the pinned XDP link \(native\)" "sluiced adopts the pinned link"
is "$(bpftool link show pinned $PIN/link_x0 | sed -n 's/^\([0-9]*\):.*/\1/p')" "$link_id" \
	"it is the same link, switched to the new program"
like "$(in_ns $NS "$SLUICECTL" -p $PIN flow list)" "^10\.78\.0\.1:30000 from 10\.78\.0\.2:4000 " \
	"the flow installed before the start survives it"

stop
is $? 0 "SIGTERM after adoption: exits 0"

conf $TMP/generic.conf "interface = x0" "datapath = xdp-generic"
start $TMP/generic.conf $TMP/generic.log
like "$(cat $TMP/generic.log)" "\[core\] sluiced .* running \(data path: XDP generic on x0\)" \
	"datapath = xdp-generic attaches in generic mode"
like "$(ip -n $NS link show x0)" "prog/xdp|xdpgeneric" "the generic program is attached"
stop

# Maps pinned by another ABI version (an older sluiced still attached):
ABI=$(sed -n 's/^#define SLUICE_ABI_VERSION \([0-9]*\)/\1/p' "$TOP/include/sluice/abi.h")
# refused with the reason, and left as they are.
in_ns $NS "$SLUICECTL" -p $PIN load x0 >/dev/null 2>&1
bpftool map update pinned $PIN/abi key 0 0 0 0 value 99 0 0 0
conf $TMP/forced.conf "interface = x0" "datapath = xdp"
start $TMP/forced.conf $TMP/abi.log
wait $PID
is $? 1 "datapath = xdp over maps of another ABI: sluiced does not start"
like "$(cat $TMP/abi.log)" "pinned maps are ABI 99, this sluiced is ABI $ABI: stop the old one and run \`sluicectl unload\`" \
	"the error says which versions and what to do"
like "$(ip -n $NS link show x0)" "prog/xdp" "the pinned program is left attached"
ok $([ -e $PIN/flows ] && [ -e $PIN/link_x0 ]; echo $?) "and its pins are left in place"
out=$(in_ns $NS "$SLUICECTL" -p $PIN flow list 2>&1)
like "$out" "not of this sluicectl's ABI version $ABI" "sluicectl refuses those maps too"
start $TMP/xdp.conf $TMP/abi-auto.log
like "$(cat $TMP/abi-auto.log)" "KERNEL FORWARDING DISABLED, using the userspace relay \(XDP native: pinned maps are ABI 99" \
	"datapath = auto falls back to userspace and says why"
stop
done_testing
