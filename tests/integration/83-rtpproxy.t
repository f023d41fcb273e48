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
[ -r $KAMAILIO_MODS/rtpproxy.so ] || skip_all "no Kamailio rtpproxy module in $KAMAILIO_MODS"

C=srpc$$ R=srpr$$ E=srpe$$
PIN=/sys/fs/bpf/sluice-test-p$$
relay_topology $C $R $E

sluice_conf $TMP/sluice.conf \
	sip.listen=off \
	media.interface="r0, r1" media.address=10.0.1.1 media.ports=30200-30299 \
	media.datapath=auto media.timeout=10 media.bpf_pin_dir=$PIN \
	control.rtpproxy=127.0.0.1:7722 control.rtpproxy_unix=$TMP/rtpproxy.sock \
	log.level=debug
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
KAMAILIO_RELAY=rtpproxy kamailio_start kamailio $R "udp:127.0.0.1:7722" 10.0.1.1 10.0.2.1
like "$(cat $TMP/kamailio.log)" "rtp proxy <udp:127.0.0.1:7722> found, support for it enabled" \
	"Kamailio's rtpproxy module finds sluice (V 20040107, VF 20050322)" ||
	diag "$(tail -20 $TMP/kamailio.log)"

kamailio_scenarios $PCAP
kamailio_register $E 1002 10.0.2.2 5062 10.0.2.1
ok $? "the callee registers with Kamailio" || diag "$(tail -5 $TMP/reg-1002.out)"
kamailio_register $C 1001 10.0.1.2 5061 10.0.1.1
ok $? "the caller registers with Kamailio" || diag "$(tail -5 $TMP/reg-1001.out)"

kamailio_pcap_call $PIN $TMP/kamailio.log
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
