#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Kamailio's dispatcher in front of two sluiced nodes on one PostgreSQL
# (issue 16; the configuration is the one docs/store.md shows): phones
# send everything to Kamailio, which spreads new requests over the nodes
# by a hash of the Call-ID (a challenge and its answer reach the same
# node); a call that lands on the node without the callee's binding goes
# through the node that has it. Twelve calls: both nodes take some, and
# every one connects.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pg-lib.sh"
. "$(dirname "$0")/../cluster-lib.sh"

require_root
require_cmd ip nsenter sipp kamailio perl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
MODS=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -r $MODS/dispatcher.so ] || skip_all "no Kamailio dispatcher module in $MODS"
pg_start
NET=10.47
cluster_topology
cluster_node a
grep -q "connected as node node-a" $TMP/a.log ||
	skip_all "node A did not reach PostgreSQL: $(tail -3 $TMP/a.log)"
cluster_node b

cat >$TMP/dispatcher.list <<LIST
1 sip:$NET.0.1:5060
1 sip:$NET.0.2:5060
LIST
cat >$TMP/kamailio.cfg <<CFG
#!KAMAILIO
debug=2
log_stderror=yes
children=2
listen=udp:$NET.0.5:5060
mpath="$MODS/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "dispatcher.so"
modparam("dispatcher", "list_file", "$TMP/dispatcher.list")
# sipp's scenarios expect the 407 first, not a 100 from the proxy.
modparam("tm", "auto_inv_100", 0)
request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	# New requests for the domain: a node by the Call-ID's hash (algorithm 0).
	if (!has_totag() && \$rd == "ims.local") {
		if (!ds_select_dst("1", "0")) {
			sl_send_reply("503", "No sluice node");
			exit;
		}
		xlog("L_INFO", "dispatch \$rm \$ci to \$du\n");
	}
	# Everything else (a node's requests to a phone, in-dialog ones): by the R-URI.
	t_relay();
}
CFG
nsenter --net=/run/netns/$PX kamailio -f $TMP/kamailio.cfg -DD -E -m 64 -M 8 >$TMP/kamailio.log 2>&1 &
KPID=$!
cleanup_add "kill $KPID"
sleep 2
kill -0 $KPID 2>/dev/null || skip_all "Kamailio did not start: $(tail -3 $TMP/kamailio.log)"
plan 6

node_mml a 'ADD USER: USERNAME="caller", PASSWORD="pw-caller";' \
	'ADD USER: USERNAME="callee", PASSWORD="pw-callee";' >/dev/null 2>&1
sleep 0.5
# Digest URIs name the domain: by default sipp's would name Kamailio's address.
PHONE_SIPP_ARGS=(-auth_uri ims.local)
phone_register $P2 $NET.0.12 5062 callee pw-callee $NET.0.5
ok $? "the callee registers through Kamailio" ||
	diag "$(tail -3 $TMP/reg-callee.out; tail -3 $TMP/kamailio.log)"
sleep 0.5
D=$TOP/tests/integration/sipp
nsenter --net=/run/netns/$P2 sipp -sf $D/uas_answer.xml -m 12 -nostdin -timeout 40 \
	-i $NET.0.12 -p 5062 -mi $NET.0.12 -mp 6002 $NET.0.5:5060 >$TMP/uas.out 2>&1 &
UAS=$!
sleep 0.5
in_ns $P1 sipp -sf $D/uac_call.xml -m 12 -r 4 -d 300 -nostdin -timeout 40 -timeout_error \
	-key user caller -key target callee -key domain ims.local -au caller -ap pw-caller \
	-auth_uri ims.local -i $NET.0.11 -p 5070 -mi $NET.0.11 -mp 6000 $NET.0.5:5060 >$TMP/uac.out 2>&1
ok $? "twelve calls through Kamailio connect" ||
	diag "$(tail -5 $TMP/uac.out; grep '\[call\]' $TMP/a.log $TMP/b.log | tail -4)"
wait $UAS
na=$(grep -c 'dispatch INVITE .* to sip:'$NET'.0.1:5060' $TMP/kamailio.log)
nb=$(grep -c 'dispatch INVITE .* to sip:'$NET'.0.2:5060' $TMP/kamailio.log)
ok $((na > 0 && nb > 0 ? 0 : 1)) "Kamailio sent INVITEs to both nodes ($na to A, $nb to B)"
ca=$(grep -c '\[call\] sip:caller@ims.local -> sip:callee@ims.local' $TMP/a.log)
cb=$(grep -c '\[call\] sip:caller@ims.local -> sip:callee@ims.local' $TMP/b.log)
ok $((ca > 0 && cb > 0 ? 0 : 1)) "both nodes took calls from the caller ($ca on A, $cb on B)"
sleep 0.5
# The node Kamailio chose writes a row with Kamailio as the caller's address;
# the node it went on to (the callee's), one with the first node's.
is "$(psql_q "SELECT count(*) FROM cdr WHERE record_type = 'CALL' AND caller_ip = '$NET.0.5'
	AND disposition = 'ANSWERED'")" 12 "each call's CDR, from the node that took it, in the one table"

cluster_stop
done_testing
