#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# /metrics and the API with media in the kernel: a call through the B2BUA
# between phones in namespaces of their own (as 70), both playing Debian's
# G.711 pcap; while the media flows, the streams by path, their packets
# and bytes are what DSP STREAM shows (between two scrapes), on the XDP
# path, and the XDP program's verdicts count what it redirected.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/web-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp curl jq perl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"

C=swc$$ R=swr$$ E=swe$$
PIN=/sys/fs/bpf/sluice-test-w$$
relay_topology $C $R $E 10.61
sluice_conf $TMP/sluice.conf sip.listen=0.0.0.0:5060 sip.domain=ims.local \
	media.interface="r0, r1" media.address=10.61.1.1 media.ports=30200-30299 \
	media.datapath=auto media.timeout=10 media.bpf_pin_dir=$PIN \
	mml.listen=127.0.0.1:7777 mml.admin_password=web-admin-pw \
	http.listen=127.0.0.1:8080 http.token=$TOKEN
cat >$TMP/users.json <<JSON
{ "1001": { "username": "1001", "password": "caller-pw" },
  "1002": { "username": "1002", "password": "callee-pw" } }
JSON
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null ||
	skip_all "import-users failed"
nsenter --net=/run/netns/$R "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
cleanup_add "kill $SPID"
cleanup_add "'$SLUICECTL' -p $PIN unload"
wait_for $TMP/sluiced.log "running|cannot" 100
grep -q "XDP native on r0,r1" $TMP/sluiced.log ||
	skip_all "XDP native not available: $(tail -2 $TMP/sluiced.log)"
plan 13

WEB_NS=$R
bearer() { in_ns $R curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
metric() { awk -v m="$1" 'index($0, m " ") == 1 { print $NF }' $TMP/metrics; }

SIPP_DIR=$TOP/tests/integration/sipp
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
in_ns $E sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user 1002 \
	-key aor 1002 -key domain ims.local -key expires 600 -au 1002 -ap callee-pw \
	-i 10.61.2.2 -p 5062 10.61.2.1:5060 >$TMP/reg.out 2>&1
ok $? "the callee registers" || diag "$(tail -5 $TMP/reg.out)"
PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
sed "s|^  <pause/>|  $PLAY\n  <pause/>|" $SIPP_DIR/uac_call.xml >$TMP/uac.xml
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $SIPP_DIR/uas_answer.xml >$TMP/uas.xml
in_ns $E sipp -sf $TMP/uas.xml -m 1 -nostdin -timeout 30 -timeout_error -i 10.61.2.2 -p 5062 \
	-mi 10.61.2.2 -mp 6000 10.61.2.1:5060 >$TMP/uas.out 2>&1 &
UAS=$!
sleep 0.5
in_ns $C sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 30 -timeout_error -key user 1001 \
	-key target 1002 -key domain ims.local -d 9000 -au 1001 -ap caller-pw \
	-i 10.61.1.2 -p 5061 -mi 10.61.1.2 -mp 6000 10.61.1.1:5060 >$TMP/uac.out 2>&1 &
UAC=$!
sleep 4
# Media may still flow: DSP STREAM between two scrapes lies between them.
in_ns $R curl -s -o $TMP/metrics0 $WEB/metrics
bearer $WEB/api/streams >$TMP/streams
in_ns $R curl -s -o $TMP/metrics $WEB/metrics
bearer $WEB/api/calls >$TMP/calls
between() {	# between METRIC VALUE: first scrape <= VALUE <= second
	local a b
	a=$(awk -v m="$1" 'index($0, m " ") == 1 { print $NF }' $TMP/metrics0)
	b=$(metric "$1")
	[ -n "$a" ] && [ "$a" -le "$2" ] && [ "$2" -le "$b" ] && [ "$b" -gt 0 ]
}

is "$(metric 'sluice_calls{state="active"}')" "$(jq '.tables[0].rows | length' $TMP/calls)" \
	"active calls: as many as DSP CALL shows"
n=$(jq '[.tables[0].rows[] | select(.path == "xdp")] | length' $TMP/streams)
is "$n" 2 "both directions of the stream on the XDP path (DSP STREAM)"
is "$(metric 'sluice_streams{path="xdp"}')" "$n" "... and /metrics says so"
is "$(metric 'sluice_streams{path="user"}')" 0 "... none left in userspace"
pk=$(jq '[.tables[0].rows[] | select(.path == "xdp") | .packets] | add' $TMP/streams)
between 'sluice_stream_packets{path="xdp"}' "$pk"
ok $? "packets on the XDP path: DSP STREAM's sum ($pk) between two scrapes"
by=$(jq '[.tables[0].rows[] | select(.path == "xdp") | .bytes] | add' $TMP/streams)
between 'sluice_stream_bytes{path="xdp"}' "$by"
ok $? "bytes: DSP STREAM's sum ($by) between them"
[ "$(metric 'sluice_kernel_verdict_packets_total{verdict="redirect"}')" -gt 0 ]
ok $? "the XDP program's redirect verdicts are counted"
like "$(metric 'sluice_datapath_info{path="xdp",desc="XDP native on r0,r1"}')" "^1$" "the data path"
bearer -N --max-time 2.5 $WEB/api/events | grep '^data: ' | tail -1 | sed 's/^data: //' >$TMP/event
is "$(jq -r '[.paths.xdp.streams, (.paths.user.streams // 0)] | join(" ")' $TMP/event)" "2 0" \
	"the dashboard's pushed event: both directions on the XDP path"
[ "$(jq -r '.paths.xdp.packets' $TMP/event)" -ge "$pk" ]
ok $? "... with their packets from the kernel's counters ($(jq -r '.paths.xdp.packets' $TMP/event))"
wait $UAC
ok $? "the call ends with the caller's BYE" || diag "$(tail -5 $TMP/uac.out)"
wait $UAS
kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
done_testing
