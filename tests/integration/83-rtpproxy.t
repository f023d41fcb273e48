#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Kamailio drives sluice's kernel relay over the rtpproxy protocol, as it
# drove RTPProxy: sluiced in the relay's namespace with no SIP of its own
# ([sip] listen = off), XDP on both of its interfaces and the protocol on
# udp:127.0.0.1:7722; Kamailio beside it on port 5070 as registrar (no
# authentication, usrloc in memory) and record-routing proxy, with its
# rtpproxy module's rtpproxy_offer, rtpproxy_answer and unforce_rtp_proxy.
# Two sipp phones register with Kamailio and call each other, both playing
# the G.711 pcap; tcpdump on each phone counts what reached it, the XDP
# flow table what the kernel forwarded, sluiced's log what Kamailio asked.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../kamailio-lib.sh"

require_root
require_cmd ip ethtool nsenter sipp tcpdump perl kamailio
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
PCAP=/usr/share/sip-tester/g711a.pcap
[ -r $PCAP ] || skip_all "no $PCAP (sip-tester)"
KMODS=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -r $KMODS/rtpproxy.so ] || skip_all "no Kamailio rtpproxy module in $KMODS"

C=srpc$$ R=srpr$$ E=srpe$$
PIN=/sys/fs/bpf/sluice-test-p$$
relay_topology $C $R $E

cat >$TMP/sluice.conf <<CONF
[sip]
listen = off
[media]
interface = r0, r1
address = 10.0.1.1
ports = 30200-30299
datapath = auto
timeout = 10
bpf_pin_dir = $PIN
[control]
ng = off
rtpproxy = 127.0.0.1:7722
rtpproxy_unix = $TMP/rtpproxy.sock
[store]
db = $TMP/sluice.db
[log]
level = debug
CONF
nsenter --net=/run/netns/$R "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
cleanup_add "kill $SPID"
cleanup_add "'$SLUICECTL' -p $PIN unload"
wait_for $TMP/sluiced.log "running|cannot" 100
grep -q "XDP native on r0,r1" $TMP/sluiced.log ||
	skip_all "XDP native not available: $(tail -2 $TMP/sluiced.log)"
plan 15

like "$(cat $TMP/sluiced.log)" "\[ctl\] rtpproxy protocol on udp port 7722" \
	"sluiced serves the rtpproxy protocol on udp port 7722"
# The unix socket as Kamailio's "unix:" sockets use it: a command, its answer.
got=$(in_ns $R perl -MIO::Socket::UNIX -e '
	my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1;
	print $s "VF 20050322"; my $r; sysread($s, $r, 64); print $r;' $TMP/rtpproxy.sock)
is "$got" "1" "the unix socket answers VF 20050322 with 1, without a cookie"

# Kamailio: registrar without authentication, proxy that record-routes,
# media through the relay on every INVITE with a body and its answers.
cat >$TMP/kamailio.cfg <<'CFG'
#!KAMAILIO
debug=2
log_stderror=yes
children=2
mhomed=1
listen=udp:10.0.1.1:5070
listen=udp:10.0.2.1:5070
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "rtpproxy.so"
modparam("usrloc", "db_mode", 0)
modparam("rtpproxy", "rtpproxy_sock", "udp:127.0.0.1:7722")

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (has_totag()) {
		if (!loose_route()) {
			if (is_method("ACK") && t_check_trans())
				t_relay();
			else if (!is_method("ACK"))
				sl_send_reply("404", "Not here");
			exit;
		}
		if (is_method("BYE"))
			unforce_rtp_proxy();
		else if (is_method("INVITE") && has_body("application/sdp")) {
			rtpproxy_offer("co");
			t_on_reply("MEDIA");
		}
		t_relay();
		exit;
	}
	if (is_method("REGISTER")) {
		save("location");
		exit;
	}
	if (is_method("INVITE")) {
		record_route();
		if (!lookup("location")) {
			sl_send_reply("404", "Not Found");
			exit;
		}
		rtpproxy_offer("co");
		t_on_reply("MEDIA");
		t_on_failure("FAILED");
	}
	if (!t_relay())
		sl_reply_error();
}

onreply_route[MEDIA] {
	if (has_body("application/sdp"))
		rtpproxy_answer("co");
}

failure_route[FAILED] {
	unforce_rtp_proxy();
}
CFG
nsenter --net=/run/netns/$R kamailio -f $TMP/kamailio.cfg -DD -E -m 64 -M 8 \
	-P $TMP/kamailio.pid >$TMP/kamailio.log 2>&1 &
KPID=$!
cleanup_add "kill $KPID"
wait_for $TMP/kamailio.log "rtp proxy <udp:127.0.0.1:7722> found|ERROR" 100
like "$(cat $TMP/kamailio.log)" "rtp proxy <udp:127.0.0.1:7722> found, support for it enabled" \
	"Kamailio's rtpproxy module finds sluice (V 20040107, VF 20050322)" ||
	diag "$(tail -20 $TMP/kamailio.log)"

kamailio_scenarios $PCAP
kamailio_register $E 1002 10.0.2.2 5062 10.0.2.1
ok $? "the callee registers with Kamailio" || diag "$(tail -5 $TMP/reg-1002.out)"
kamailio_register $C 1001 10.0.1.2 5061 10.0.1.1
ok $? "the caller registers with Kamailio" || diag "$(tail -5 $TMP/reg-1001.out)"

sent=$(tcpdump -r $PCAP 2>/dev/null | wc -l)
nsenter --net=/run/netns/$C tcpdump -i c0 -n -w $TMP/caller.pcap udp dst port 6000 2>/dev/null &
TD1=$!
cleanup_add "kill $TD1"
nsenter --net=/run/netns/$E tcpdump -i e0 -n -w $TMP/callee.pcap udp dst port 6000 2>/dev/null &
TD2=$!
cleanup_add "kill $TD2"
sleep 1
nsenter --net=/run/netns/$E sipp -sf $TMP/uas.xml -m 1 -nostdin -timeout 30 -timeout_error -i 10.0.2.2 -p 5062 \
	-mi 10.0.2.2 -mp 6000 -trace_err -error_file $TMP/uas-err.log 10.0.2.1:5070 \
	>$TMP/uas.out 2>&1 &
UAS=$!
sleep 0.5
nsenter --net=/run/netns/$C sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 30 -timeout_error -key user 1001 \
	-key target 1002 -key domain ims.local -d 10000 -i 10.0.1.2 -p 5061 \
	-mi 10.0.1.2 -mp 6000 -trace_err -error_file $TMP/uac-err.log 10.0.1.1:5070 \
	>$TMP/uac.out 2>&1 &
UAC=$!
sleep 8.5	# the pcap plays for 7 s, the call lasts 10: read the flows in between
flows=$(in_ns $R "$SLUICECTL" -p $PIN flow list)
wait $UAC
ok $? "the caller's call through Kamailio: 200, ACK, media, BYE answered 200" ||
	diag "$(tail -5 $TMP/uac.out; tail -5 $TMP/kamailio.log)"
wait $UAS
ok $? "the callee's side: INVITE answered, media, BYE taken"
sleep 0.5
kill $TD1 $TD2
wait $TD1 $TD2
got_callee=$(tcpdump -r $TMP/callee.pcap 2>/dev/null | wc -l)
got_caller=$(tcpdump -r $TMP/caller.pcap 2>/dev/null | wc -l)
is "$got_callee" "$sent" "every RTP packet of the caller reached the callee ($sent)"
is "$got_caller" "$sent" "every RTP packet of the callee reached the caller"
n=$(printf '%s\n' "$flows" | grep -c ': packets ')
is "$n" 2 "two flows in the kernel while the call was up"
min=$(printf '%s\n' "$flows" | sed -n 's/.*: packets \([0-9]*\) .*/\1/p' | sort -n | head -1)
ok $((${min:-0} >= sent - 10 ? 0 : 1)) \
	"the kernel forwarded all but the first few (at most 10) of each direction (${min:-0} of $sent)"
# What Kamailio sent, as sluiced logs it: the session made by U and L, ended by D.
like "$(grep -Eo 'rtpproxy: [0-9_]+ [A-Z][A-Za-z0-9,]*' $TMP/sluiced.log | awk '{print $3}' |
	grep -v '^V' | uniq | tr '\n' ' ')" "^U[A-Za-z0-9,]* L[A-Za-z0-9,]* D $" \
	"Kamailio asked for U (offer), L (answer), then D on the BYE"
is "$(in_ns $R "$SLUICECTL" -p $PIN flow list | tail -1)" "0 flows" \
	"no flow left after the BYE"
kill -TERM $KPID
wait $KPID 2>/dev/null
kill -TERM $SPID
wait $SPID
rc=$?
ok $rc "sluiced stops cleanly (no sanitizer report)"
[ $rc = 0 ] || diag "$(tail -40 $TMP/sluiced.log)"
like "$(cat $TMP/sluiced.log)" "\[ctl\] rtpproxy protocol on unix socket" "the unix socket was open"
done_testing
