#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A real soft phone through the B2BUA with its media in the kernel: Debian's
# baresip (headless: a tone from a WAV file through aufile, what it hears
# into an unpaired aubridge device, commands over the cons module's UDP
# socket) in the callee's namespace, registered as 1002 with digest
# authentication, and sipp as 1001 in the caller's. First sipp calls
# baresip, which answers by itself and takes sipp's BYE; then baresip
# dials sipp (authenticating the INVITE after sluiced's 407), and hangs up
# itself; last, baresip calls again and puts sipp on hold and back by
# re-INVITEs. tcpdump on each phone counts what each sent and what reached
# it (RTP and baresip's RTCP), the XDP program's flow table what the kernel
# forwarded; at the end baresip quits, unregistering, and sluiced stops
# cleanly.
#
# Digest: the shipped [sip] digest and both phones' own defaults (sipp
# without -auth_uri answers with sip:10.0.1.1:5060 as its digest-uri).
# baresip 1.0.0 (libre 1.1.0) answers only MD5, and gives up ("Register:
# Function not implemented") on a 401 that carries any other algorithm,
# even beside an MD5 challenge: this is the test that the default
# registers it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../b2bua-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp tcpdump sqlite3 perl
command -v baresip >/dev/null 2>&1 || skip_all "needs baresip (Debian's baresip-core)"
MODS=/usr/lib/baresip/modules
for m in account g711 aufile aubridge cons menu; do
	[ -r $MODS/$m.so ] || skip_all "no baresip module $MODS/$m.so"
done
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"

C=sbpc$$ R=sbpr$$ E=sbpe$$
PIN=/sys/fs/bpf/sluice-test-p$$
relay_topology $C $R $E

DB=$TMP/sluice.db
b2bua_sluiced $R $PIN default 30000-30099

# baresip's tone: 30 s of 440 Hz, 8 kHz mono 16-bit PCM (aufile wants the
# codec's rate; ausine makes only 48 kHz, which baresip 1.0 cannot send as
# PCMA).
perl -e '
	my ($rate, $n) = (8000, 8000 * 30);
	print "RIFF", pack("V", 36 + 2 * $n), "WAVEfmt ",
		pack("VvvVVvv", 16, 1, 1, $rate, 2 * $rate, 2, 16), "data", pack("V", 2 * $n),
		pack("s<*", map { int(8000 * sin(2 * 3.14159265 * 440 * $_ / $rate)) } 0 .. $n - 1);
' >$TMP/tone.wav
BS=$TMP/baresip
mkdir -p $BS
cat >$BS/config <<CONF
poll_method		epoll
sip_listen		10.0.2.2:5062
net_interface		e0
call_local_timeout	120
call_max_calls		4
audio_player		aubridge,nil
audio_alert		aubridge,nil
audio_source		aufile,$TMP/tone.wav
rtp_ports		6000-6001
rtcp_mux		no
module_path		$MODS
module			g711.so
module			aufile.so
module			aubridge.so
module			cons.so
module_tmp		account.so
module_app		menu.so
cons_listen		127.0.0.1:5555
CONF
cat >$BS/accounts <<ACC
<sip:1002@ims.local>;auth_pass=callee-pw;outbound="sip:10.0.2.1:5060";regint=600;answermode=auto;audio_codecs=PCMA,PCMU
ACC
nsenter --net=/run/netns/$E baresip -f $BS -s </dev/null >$TMP/baresip.log 2>&1 &
BPID=$!
cleanup_add "kill $BPID"
# bs_cmd COMMAND: a command line to baresip's console (cons, UDP).
bs_cmd() { in_ns $E bash -c "printf '%s\n' '$1' >/dev/udp/127.0.0.1/5555"; }

plan 27

wait_for $TMP/baresip.log "1002@ims.local: .* [0-9]{3} " 100
like "$(sqlite3 $DB "SELECT contact || ' ' || user_agent FROM registrations
	WHERE aor = 'sip:1002@ims.local'")" '^sip:1002[^ ]*@10\.0\.2\.2:5062 baresip ' \
	"baresip registers as 1002 (digest MD5): its binding is in the store"
[ "$(grep -c '^WWW-Authenticate: ' $TMP/baresip.log)" -gt 0 ] &&
	grep -q '^Authorization: Digest username="1002"' $TMP/baresip.log
ok $? "baresip was challenged and answered with its credentials"

# count FILE FILTER: how many UDP packets of FILE match.
count() { tcpdump -r "$1" -n "udp and ($2)" 2>/dev/null | wc -l; }
# capture TAG: tcpdump on both phones' links, pids in TD. Immediate mode:
# without it the packets of the last fraction of a second, still in the
# capture buffer's open block when tcpdump is killed, are lost.
capture() {
	nsenter --net=/run/netns/$C tcpdump -i c0 -n -U --immediate-mode -w $TMP/c-$1.pcap udp 2>/dev/null &
	TD="$!"
	cleanup_add "kill $! 2>/dev/null"
	nsenter --net=/run/netns/$E tcpdump -i e0 -n -U --immediate-mode -w $TMP/e-$1.pcap udp 2>/dev/null &
	TD="$TD $!"
	cleanup_add "kill $! 2>/dev/null"
	sleep 1
}
uncapture() {
	sleep 0.5
	kill $TD 2>/dev/null
	wait $TD 2>/dev/null
}
sent=$(tcpdump -r $PCAP 2>/dev/null | wc -l)
SIPP_DIR=$TOP/tests/integration/sipp
PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'

# Both RTP flows with their counts, and baresip's without loss (the kernel's
# RTP statistics: its sequence numbers arrived unbroken).
flow_checks() {	# flow_checks FLOWS WHAT
	local flows=$1 what=$2 to_bs to_sipp
	is "$(printf '%s\n' "$flows" | grep -c ' rtp.*: packets ')" 2 \
		"$what: two RTP flows in the kernel while the call was up"
	to_bs=$(printf '%s\n' "$flows" | sed -n 's/.* to 10\.0\.2\.2:6000 rtp.*: packets \([0-9]*\) .*/\1/p')
	to_sipp=$(printf '%s\n' "$flows" | sed -n 's/.* to 10\.0\.1\.2:6000 rtp.*: packets \([0-9]*\) .* lost \(-\{0,1\}[0-9]*\).*/\1 \2/p')
	set -- $to_sipp
	ok $((${to_bs:-0} >= sent - 10 && ${1:-0} >= 300 && ${2:-1} == 0 ? 0 : 1)) \
		"$what: the kernel forwarded sipp's ${to_bs:-0} (of $sent, at most 10 short) and baresip's ${1:-0} (at least 6 s of 50/s, ${2:-?} lost)"
	[ -n "$to_bs" ] && [ -n "$to_sipp" ] || diag "$flows"
}
media_checks() {	# media_checks TAG WHAT
	local got_bs bs_sent got_sipp
	got_bs=$(count $TMP/e-$1.pcap "dst host 10.0.2.2 and dst port 6000")
	is "$got_bs" "$sent" "$2: every RTP packet of sipp's reached baresip ($sent)"
	bs_sent=$(count $TMP/e-$1.pcap "src host 10.0.2.2 and src port 6000")
	got_sipp=$(count $TMP/c-$1.pcap "dst host 10.0.1.2 and dst port 6000")
	# A packet baresip sent between sluiced's taking the BYE and baresip's
	# hearing of it finds no flow: at most 2 may be missing.
	ok $((bs_sent >= 350 && got_sipp <= bs_sent && got_sipp >= bs_sent - 2 ? 0 : 1)) \
		"$2: baresip's RTP reached sipp ($got_sipp of $bs_sent, at most 2 short; at least 7 s of it)"
	# RTCP: baresip's first report and the one 5 s later; its last, sent
	# as the call ends, may also find no flow.
	bs_sent=$(count $TMP/e-$1.pcap "src host 10.0.2.2 and src port 6001")
	got_sipp=$(count $TMP/c-$1.pcap "dst host 10.0.1.2 and dst port 6001")
	ok $((got_sipp >= 2 && got_sipp <= bs_sent && got_sipp >= bs_sent - 1 ? 0 : 1)) \
		"$2: baresip's RTCP reached sipp ($got_sipp of $bs_sent, at least 2, at most 1 short)"
}

# 1. sipp (1001) calls baresip (1002), which answers by itself; sipp plays
# the pcap (7 s) and hangs up.
sed "s|^  <pause/>|  $PLAY\n  <pause/>|" $SIPP_DIR/uac_call.xml >$TMP/uac.xml
capture in
in_ns $C sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 30 -timeout_error -key user 1001 \
	-key target 1002 -key domain ims.local -d 9000 -au 1001 -ap caller-pw \
	-i 10.0.1.2 -p 5061 -mi 10.0.1.2 -mp 6000 \
	-trace_err -error_file $TMP/uac-err.log 10.0.1.1:5060 >$TMP/uac.out 2>&1 &
UAC=$!
sleep 8.5
flows=$(in_ns $R "$SLUICECTL" -p $PIN flow list)
wait $UAC
rc=$?
ok $rc "sipp calls baresip: 407, 200 (baresip answers), ACK, media, BYE answered 200"
[ $rc = 0 ] || diag "$(tail -20 $TMP/uac.out; tail -5 $TMP/sluiced.log)"
uncapture
like "$(cat $TMP/baresip.log)" "Call with sip:1001@ims.local terminated" \
	"baresip took sipp's BYE through the B2BUA"
like "$(cat $TMP/sluiced.log)" "\[call\] sip:1001@ims.local -> sip:1002@ims.local ended: the caller hung up" \
	"sluiced: the call ended with the caller's BYE"
media_checks in "sipp to baresip"
flow_checks "$flows" "sipp to baresip"
is "$(in_ns $R "$SLUICECTL" -p $PIN flow list | tail -1)" "0 flows" "no flow left after the first call"

# 2. baresip (1002) dials sipp (1001, registered), which answers and plays
# the pcap; baresip hangs up.
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
in_ns $C sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user 1001 \
	-key aor 1001 -key domain ims.local -key expires 600 -au 1001 -ap caller-pw \
	-i 10.0.1.2 -p 5061 10.0.1.1:5060 >$TMP/reg.out 2>&1
rc=$?
ok $rc "sipp registers as 1001"
[ $rc = 0 ] || diag "$(tail -5 $TMP/reg.out; tail -5 $TMP/sluiced.log)"
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $SIPP_DIR/uas_answer.xml >$TMP/uas.xml
capture out
in_ns $C sipp -sf $TMP/uas.xml -m 1 -nostdin -timeout 30 -timeout_error -i 10.0.1.2 -p 5061 \
	-mi 10.0.1.2 -mp 6000 -trace_err -error_file $TMP/uas-err.log 10.0.1.1:5060 \
	>$TMP/uas.out 2>&1 &
UAS=$!
sleep 0.5
bs_cmd "/dial sip:1001@ims.local"
wait_for $TMP/sluiced.log "\[call\] sip:1002@ims.local -> sip:1001@ims.local answered" 50
ok $? "baresip's call, authenticated after sluiced's 407, is answered"
sleep 8.5
flows=$(in_ns $R "$SLUICECTL" -p $PIN flow list)
bs_cmd "/hangup"
wait $UAS
rc=$?
ok $rc "sipp answers baresip's call: INVITE, 200, ACK, media, baresip's BYE answered"
[ $rc = 0 ] || diag "$(tail -20 $TMP/uas.out; tail -5 $TMP/sluiced.log)"
uncapture
like "$(cat $TMP/sluiced.log)" "\[call\] sip:1002@ims.local -> sip:1001@ims.local ended: the caller hung up" \
	"sluiced: the call ended with baresip's BYE"
media_checks out "baresip to sipp"
flow_checks "$flows" "baresip to sipp"
is "$(in_ns $R "$SLUICECTL" -p $PIN flow list | tail -1)" "0 flows" "no flow left after the second call"

# 3. baresip calls sipp again, puts it on hold and resumes it by re-INVITEs
# (sipp checks each offer's direction: sendonly, then sendrecv), then hangs up.
in_ns $C sipp -sf $SIPP_DIR/uas_hold.xml -m 1 -nostdin -timeout 30 -timeout_error -i 10.0.1.2 \
	-p 5061 -mi 10.0.1.2 -mp 6000 -trace_err -error_file $TMP/hold-err.log 10.0.1.1:5060 \
	>$TMP/hold.out 2>&1 &
UAS=$!
sleep 0.5
bs_cmd "/dial sip:1001@ims.local"
for i in $(seq 50); do	# the second answer of a call from baresip
	[ "$(grep -c '\[call\] sip:1002@ims.local -> sip:1001@ims.local answered' $TMP/sluiced.log)" = 2 ] && break
	sleep 0.1
done
sleep 1
bs_cmd "/hold"
sleep 1.5
bs_cmd "/resume"
sleep 1.5
bs_cmd "/hangup"
wait $UAS
rc=$?
ok $rc "baresip holds and resumes sipp by re-INVITE through the B2BUA, then hangs up"
[ $rc = 0 ] || diag "$(tail -20 $TMP/hold.out; cat $TMP/hold-err.log 2>/dev/null | head -40)"
# The trace's messages, one per block: a 200 from sluiced with a=recvonly
# answered baresip's sendonly offer.
perl -0777 -ne 'exit !grep { /^UDP 10\.0\.2\.1:5060 -> 10\.0\.2\.2:5062\r?\nSIP\/2\.0 200 .*^a=recvonly/ms }
	split /\e\[36;1m#/' $TMP/baresip.log
ok $? "baresip's hold was answered recvonly (the relay's answer to its sendonly offer)"
is "$(in_ns $R "$SLUICECTL" -p $PIN flow list | tail -1)" "0 flows" "no flow left after the third call"

# baresip quits, unregistering; sluiced stops.
bs_cmd "/quit"
for i in $(seq 50); do kill -0 $BPID 2>/dev/null || break; sleep 0.1; done
kill -0 $BPID 2>/dev/null
ok $((1 - $?)) "baresip quits on /quit"
is "$(sqlite3 $DB "SELECT count(*) FROM registrations WHERE aor = 'sip:1002@ims.local'")" 0 \
	"baresip's binding is gone (it unregistered on the way out)"
kill -TERM $SPID
wait $SPID
rc=$?
ok $rc "sluiced stops cleanly (no sanitizer report)"
[ $rc = 0 ] || diag "$(tail -40 $TMP/sluiced.log)"
done_testing
