# SPDX-License-Identifier: GPL-2.0-only
#
# What the tests that drive sluiced over NG with phones in namespaces
# share (30, 40, 86, 87, 88); source after lib.sh. They set R (the
# relay's namespace), PIN (its pin directory) and NG (its NG socket, on
# the relay's loopback).

# ng_conf ADDRESS PORTS DATAPATH TIMEOUT: $TMP/sluice.conf for a relay that
# serves NG and nothing else, XDP on r0 and r1 (datapath auto, xdp or
# user), media on ADDRESS, sessions kept in $TMP/sluice.db.
ng_conf() {
	cat >$TMP/sluice.conf <<CONF
[media]
interface = r0, r1
address = $1
ports = $2
datapath = $3
timeout = $4
bpf_pin_dir = $PIN
[store]
db = $TMP/sluice.db
[control]
ng = $NG
rtpproxy = off
[log]
level = info
CONF
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

# ng_require_xdp: skips the test unless the last start attached XDP native.
ng_require_xdp() {
	grep -q "XDP native on r0,r1" $TMP/sluiced.log ||
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
