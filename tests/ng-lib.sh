# SPDX-License-Identifier: GPL-2.0-only
#
# What the tests that drive sluiced over NG with phones in namespaces
# share (30, 40, 86, 87, 88); source after lib.sh. They set R (the
# relay's namespace), PIN (its pin directory) and NG (its NG socket, on
# the relay's loopback), or let ng_setup set them for the usual caller,
# relay and callee.

# ng_require [CMD...]: skips the test unless it can run: root, the tools
# (and CMD), sluiced and rtpio built, bpffs.
ng_require() {
	require_root
	require_cmd ip ethtool nsenter perl "$@"
	[ -x "$SLUICED" ] && [ -x "$RTPIO" ] || skip_all "build first (make)"
	bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
}

# ng_setup TAG NET ADDRESS PORTS DATAPATH TIMEOUT: a test's preamble, for a
# caller and a callee around the relay: ng_require; the namespaces C, R
# and E (TAGc$$, TAGr$$, TAGe$$) of relay_topology on NET; PIN and NG;
# then sluiced started in R on ng_conf ADDRESS PORTS DATAPATH TIMEOUT,
# and the test skipped unless XDP attached natively.
ng_setup() {
	ng_require
	C=$1c$$ R=$1r$$ E=$1e$$
	PIN=/sys/fs/bpf/sluice-test-$1$$
	NG=127.0.0.1:23$((RANDOM % 900 + 100))
	relay_topology $C $R $E $2
	shift 2
	ng_conf "$@"
	ng_start
	ng_require_xdp
}

# ng_conf ADDRESS PORTS DATAPATH TIMEOUT [SECTION.KEY=VALUE...]:
# $TMP/sluice.conf for a relay that serves NG and nothing else, XDP on r0
# and r1 (datapath auto, xdp or user), media on ADDRESS, sessions kept in
# $TMP/sluice.db; then sluice_conf's overrides.
ng_conf() {
	local address=$1 ports=$2 datapath=$3 timeout=$4
	shift 4
	sluice_conf $TMP/sluice.conf media.interface="r0, r1" media.address="$address" \
		media.ports=$ports media.datapath=$datapath media.timeout=$timeout \
		media.bpf_pin_dir=$PIN control.ng=$NG "$@"
}

# ng_start: sluiced in R on $TMP/sluice.conf, its log appended to
# $TMP/sluiced.log, its pid in SPID, waiting for this start's own
# "running" (or "cannot"). The first start arranges the cleanup: the last
# sluiced killed, the pins removed.
ng_start() {
	local before i
	before=$(grep -Ec 'running|cannot' $TMP/sluiced.log 2>/dev/null)
	nsenter --net=/run/netns/$R "$SLUICED" -c $TMP/sluice.conf >>$TMP/sluiced.log 2>&1 &
	SPID=$!
	if [ -z "${_ng_cleanup:-}" ]; then
		cleanup_add "kill \$SPID 2>/dev/null"
		cleanup_add "'$SLUICECTL' -p $PIN unload >/dev/null"
		_ng_cleanup=1
	fi
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -Ec 'running|cannot' $TMP/sluiced.log)" -gt "${before:-0}" ] && return 0
		sleep 0.1
	done
	return 1
}

# ng_require_xdp [IFACES]: skips the test unless the last start attached
# XDP native, on IFACES (r0,r1 unless given).
ng_require_xdp() {
	grep -q "XDP native on ${1:-r0,r1}" $TMP/sluiced.log ||
		skip_all "XDP native not available: $(tail -2 $TMP/sluiced.log)"
}

ng() { in_ns $R perl "$TOP/tests/tools/ng.pl" $NG "$@"; }
ctl() { in_ns $R "$SLUICECTL" -p $PIN "$@"; }
# The relay port in an SDP on stdin (its first m= line).
port_of() { sed -n 's/^m=audio \([0-9]*\) .*/\1/p' | tr -d '\r'; }

# rtpio_talk KIND FROM_NS FROM DST COUNT SSRC TO_NS TO_IF TO: COUNT packets
# (KIND send: RTP, rtcp: RTCP) from FROM to DST, 500 µs apart, and what a
# receiver on TO_IF for TO saw of them within 800 ms (rtpio's summary).
rtpio_talk() {
	in_ns $7 "$RTPIO" recv $8 $9 $5 800 >$TMP/rx &
	local rx=$!
	wait_for $TMP/rx ready
	in_ns $2 "$RTPIO" $1 $3 $4 $5 $6 500 >/dev/null
	wait $rx
	tail -1 $TMP/rx
}
