#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# SRTP <-> RTP relaying per core (make bench-srtp): sluiced (userspace
# crypto path, libsrtp2) and Debian's rtpengine (userspace only,
# --table=-1) in turn as the relay between a caller (C, 10.91.1.2) and a
# callee (E, 10.91.2.2), each relay pinned to core 1, the phones to core
# 0. STREAMS calls are set up over NG as Kamailio would bridge an SRTP
# phone to a plain one (offer RTP/SAVP with an SDES key and
# transport-protocol=RTP/AVP, answer RTP/AVP); each call's caller sends
# COUNT SRTP packets (AES_CM_128_HMAC_SHA1_80) and its callee COUNT plain
# ones at about RATE per second each, so the relay decrypts one way and
# encrypts the other. Measured: packets delivered (checked at each end by
# srtpio: authenticated and intact at the caller, intact at the callee)
# and the relay's CPU time (utime + stime from /proc) over the run: ns per
# packet, and packets per core-second (1e9 / ns).
#
#   tests/bench/srtp.sh [OUT.md]      (root; rtpengine from make bench-deps)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh

require_root
require_cmd ip nsenter taskset chrt perl openssl
SRTPIO=$TOP/build/tests/tools/srtpio
# BENCH_SRTP_BEFORE: another build's sluiced (an earlier commit's), measured
# in the same run as "sluice-before", for a before and after.
BEFORE=${BENCH_SRTP_BEFORE:-}
[ -x "$SRTPIO" ] && [ -x "$TOP/agent/sluiced" ] || skip_all "build first (make all unit-bins)"
OUT=${1:-$TOP/build/bench/srtp.md}
STREAMS=${BENCH_SRTP_STREAMS:-4}
COUNT=${BENCH_SRTP_COUNT:-20000}
RATE=${BENCH_SRTP_RATE:-5000}
NG=127.0.0.1:22291
# Relays and phones alike run under SCHED_FIFO (BENCH_SRTP_SCHED=nice for
# nice -15 instead): on a machine shared with other work (a VM, builds, a
# browser at nice -8) a relay at nice 0, even at nice -15, waited seconds
# for its core in a run of a few, its sockets overflowed and the run
# measured the neighbours, not the relay. Each sleeps between packets, so
# neither can starve the machine.
if [ "${BENCH_SRTP_SCHED:-fifo}" = fifo ]; then
	PIN="chrt -f 10 taskset -c"
else
	PIN="nice -n -15 taskset -c"
fi
mkdir -p "$(dirname "$OUT")"

C=bsc$$ R=bsr$$ E=bse$$
relay_topology $C $R $E 10.91
CK=$(openssl rand -base64 30)
SUITE=AES_CM_128_HMAC_SHA1_80

relay_start() {	# relay_start sluice|sluice-before|rtpengine: pid in RPID
	local bin=$TOP/agent/sluiced
	[ $1 != sluice-before ] || bin=$BEFORE
	if [ $1 != rtpengine ]; then
		sluice_conf $TMP/sluice.conf sip.listen=off media.interface="r0, r1" \
			media.address=10.91.1.1 media.ports=34000-34999 media.datapath=user \
			media.timeout=600 control.ng=$NG control.rtpproxy=off mml.listen=off \
			store.db=$TMP/sluice.db log.level=info ${BENCH_SRTP_BATCH:+media.relay_batch_us=$BENCH_SRTP_BATCH}
		nsenter --net=/run/netns/$R $PIN 1 "$bin" -c $TMP/sluice.conf \
			>$TMP/relay.log 2>&1 &
	else
		command -v rtpengine >/dev/null || return 1
		nsenter --net=/run/netns/$R $PIN 1 rtpengine --config-file=none --foreground \
			--log-stderr --log-level=4 --interface=10.91.1.1 --listen-ng=$NG \
			--port-min=34000 --port-max=34999 --table=-1 --timeout=600 >$TMP/relay.log 2>&1 &
	fi
	RPID=$!
	sleep 1.5
}
cpu_ticks() { awk '{ print $14 + $15 }' /proc/$1/stat; }
sdp() {	# sdp ADDR PORT PROTO [CRYPTO]
	printf "v=0\r\no=- 1 1 IN IP4 $1\r\ns=-\r\nc=IN IP4 $1\r\nt=0 0\r\nm=audio $2 $3 0\r\na=rtpmap:0 PCMU/8000\r\n"
	[ -z "${4:-}" ] || printf "a=crypto:1 $SUITE inline:$4\r\n"
}
ng() { in_ns $R perl "$TOP/tests/tools/ng.pl" $NG "$@"; }

# run NAME STREAMS COUNT RATE ROWS: STREAMS calls with COUNT packets each
# way at RATE per second each; one result row appended to ROWS: packets
# delivered intact, the relay's CPU time in ticks and ns per packet.
run() {
	local name=$1 streams=$2 count=$3 rate=$4 rows=$5 i pa pb rk t0 t1 got=0 line w0=0
	local sent=$((2 * $2 * $3))
	relay_start $name || { echo "$name - $sent 0" >>$rows; return; }
	for ((i = 0; i < streams; i++)); do
		sdp 10.91.1.2 $((40000 + 2 * i)) RTP/SAVP "$CK" >$TMP/offer
		pb=$(ng offer call-id=b$i from-tag=caller transport-protocol=RTP/AVP \
			sdp=@$TMP/offer | sed -n 's/^m=audio \([0-9]*\) .*/\1/p' | tr -d '\r')
		sdp 10.91.2.2 $((50000 + 2 * i)) RTP/AVP >$TMP/answer
		ng answer call-id=b$i from-tag=caller to-tag=callee sdp=@$TMP/answer >$TMP/ans
		pa=$(sed -n 's/^m=audio \([0-9]*\) .*/\1/p' $TMP/ans | tr -d '\r')
		rk=$(sed -n "s/^a=crypto:1 $SUITE inline:\([A-Za-z0-9+\/=]*\).*/\1/p" $TMP/ans | tr -d '\r')
		echo "$pa $pb $rk" >$TMP/call$i
	done
	t0=$(cpu_ticks $RPID)
	[ -z "${BENCH_VERBOSE:-}" ] || w0=$(awk '{ print $2 }' /proc/$RPID/schedstat)
	for ((i = 0; i < streams; i++)); do
		read -r pa pb rk <$TMP/call$i
		in_ns $C env SRTPIO_PPS=$rate SRTPIO_START_MS=$START_MS $PIN 0 "$SRTPIO" talk \
			10.91.1.2:$((40000 + 2 * i)) 10.91.1.1:$pa $count $SUITE "$CK" "${rk:-x}" \
			$((0x100 + i)) >$TMP/rxc$i &
		in_ns $E env SRTPIO_PPS=$rate SRTPIO_START_MS=$START_MS $PIN 0 "$SRTPIO" talk \
			10.91.2.2:$((50000 + 2 * i)) 10.91.1.1:$pb $count $SUITE - - \
			$((0x200 + i)) >$TMP/rxe$i &
	done
	# BENCH_SRTP_PERF=DIR: the relay's CPU ticks each second for 16 s, and a profile
	[ -z "${BENCH_SRTP_PERF:-}" ] || for ((j = 0; j < 16; j++)); do
		echo "$(date +%s) $(awk '{ print $14, $15 }' /proc/$RPID/stat)"; sleep 1
	done >"$BENCH_SRTP_PERF/$name-$streams.ticks" &
	# BENCH_SRTP_PERF=DIR: a profile of each relay's first seconds of traffic.
	[ -z "${BENCH_SRTP_PERF:-}" ] || perf record -q -g -p $RPID -o "$BENCH_SRTP_PERF/$name-$streams.data" ${BENCH_SRTP_PERF_ARGS:-} \
		-- sleep ${BENCH_SRTP_PERF_SECS:-3} >/dev/null 2>&1
	wait $(jobs -p | grep -v "^$RPID$") 2>/dev/null
	t1=$(cpu_ticks $RPID)
	[ -z "${BENCH_VERBOSE:-}" ] || echo "$name: its main thread waited for the CPU" \
		"$(( ($(awk '{ print $2 }' /proc/$RPID/schedstat) - w0) / 1000000 )) ms" >&2
	for f in $TMP/rxe* $TMP/rxc*; do
		line=$(tail -1 $f)
		got=$((got + $(printf '%s' "$line" | sed -n 's/.* ok \([0-9]*\) .*/\1/p')))
	done
	kill $RPID
	wait $RPID 2>/dev/null
	[ -z "${BENCH_VERBOSE:-}" ] || for ns in $C $R $E; do
		echo "$ns: $(in_ns $ns nstat -az 2>/dev/null | awk '/Udp(InDatagrams|OutDatagrams|RcvbufErrors|SndbufErrors|InErrors|NoPorts) / { printf "%s %s ", $1, $2 }')" >&2
	done
	rm -f $TMP/rxe* $TMP/rxc* $TMP/call*
	echo "$name $got $sent $((t1 - t0))" >>$rows
}

# The rows: relay, delivered of sent, ns per packet, packets per core-second,
# and the ratio to rtpengine's ns per packet.
table_pps() {
	local ref
	ref=$(awk '$1 == "rtpengine" && $2 > 0 { print $4 * 10000000 / $2 }' $1)
	awk -v ref="${ref:-0}" '{
		ns = $2 ? $4 * 10000000 / $2 : 0
		printf "| %s | %d of %d | %d | %s | %s |\n", $1, $2, $3, ns,
			ns ? sprintf("%d", 1e9 / ns) : "-", ns && ref ? sprintf("%.2fx", ref / ns) : "-"
	}' $1
}
# Streams: CPU per stream (both directions at RATE each) in microseconds per
# second of call, and how many such streams that is per core.
table_streams() {
	local ref
	ref=$(awk '$1 == "rtpengine" && $4 > 0 { print $4 }' $1)
	awk -v ref="${ref:-0}" -v streams=$STREAMS_MANY -v secs=$(awk "BEGIN { print $COUNT_MANY / $RATE_MANY }") '{
		us = $4 * 10000 / streams / secs
		printf "| %s | %d of %d | %.1f | %s | %s |\n", $1, $2, $3, us,
			us ? sprintf("%d", 1e6 / us) : "-", us && ref ? sprintf("%.2fx", ref / $4) : "-"
	}' $1
}

START_MS=1000
STREAMS_MANY=${BENCH_SRTP_STREAMS_MANY:-100}
RATE_MANY=50
COUNT_MANY=${BENCH_SRTP_COUNT_MANY:-500}
: >$TMP/rows
: >$TMP/rows_many
# BENCH_SRTP_RELAYS: which relays, for profiling one (the default: all, in this order).
for relay in ${BENCH_SRTP_RELAYS:-sluice ${BEFORE:+sluice-before} rtpengine}; do
	[ "$STREAMS" -eq 0 ] || run $relay $STREAMS $COUNT $RATE $TMP/rows
	[ "$STREAMS_MANY" -eq 0 ] || run $relay $STREAMS_MANY $COUNT_MANY $RATE_MANY $TMP/rows_many
done
{
	echo "SRTP <-> RTP: $STREAMS calls, $COUNT packets each way each at about $RATE/s; relay on one core."
	echo
	echo "| relay | packets delivered intact | relay CPU ns / packet | packets per core-second | × rtpengine |"
	echo "|---|---|---:|---:|---:|"
	table_pps $TMP/rows
	if [ "$STREAMS_MANY" -gt 0 ]; then
		echo
		echo "$STREAMS_MANY calls at $RATE_MANY packets a second each way (G.711 at 20 ms), $COUNT_MANY each way."
		echo
		echo "| relay | packets delivered intact | relay CPU µs per call-second | calls per core | × rtpengine |"
		echo "|---|---|---:|---:|---:|"
		table_streams $TMP/rows_many
	fi
} | tee "$OUT"
