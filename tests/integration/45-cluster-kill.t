#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A node killed mid-call does not corrupt the shared state (issue 16):
# two sluiced nodes on one PostgreSQL, 1001 (on node A) calls 1002 (on
# node B) through both, and node B is killed with SIGKILL while the call
# is up. Node A goes on: a call between two phones registered on it
# connects, and an MML change on it goes into PostgreSQL. Node B, started
# again, restores its bindings from its own copy, reads the change A made
# meanwhile, and once the call is over no CDR row is left open; B's rows
# in the shared table are the rows in its own copy.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pg-lib.sh"
. "$(dirname "$0")/../cluster-lib.sh"

require_root
require_cmd ip nsenter sipp sqlite3 perl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
pg_start
NET=10.45
cluster_topology
cluster_node a
grep -q "connected as node node-a" $TMP/a.log ||
	skip_all "node A did not reach PostgreSQL: $(tail -3 $TMP/a.log)"
cluster_node b
plan 11

node_mml a 'ADD USER: USERNAME="1001", PASSWORD="pw-1001";' \
	'ADD USER: USERNAME="1002", PASSWORD="pw-1002";' \
	'ADD USER: USERNAME="1003", PASSWORD="pw-1003";' >/dev/null 2>&1
sleep 0.5
phone_register $P1 $NET.0.11 5061 1001 pw-1001 $NET.0.1 &&
	phone_register $P2 $NET.0.12 5062 1002 pw-1002 $NET.0.2 &&
	phone_register $PX $NET.0.5 5063 1003 pw-1003 $NET.0.1
ok $? "1001 and 1003 register on node A, 1002 on node B" ||
	diag "$(tail -3 $TMP/reg-*.out)"
sleep 0.5

D=$TOP/tests/integration/sipp
nsenter --net=/run/netns/$P2 sipp -sf $D/uas_answer.xml -m 1 -nostdin -timeout 40 \
	-i $NET.0.12 -p 5062 -mi $NET.0.12 -mp 6002 $NET.0.2:5060 >$TMP/uas-1002.out 2>&1 &
UAS=$!
sleep 0.5
nsenter --net=/run/netns/$P1 sipp -sf $D/uac_call.xml -m 1 -nostdin -timeout 40 \
	-key user 1001 -key target 1002 -key domain ims.local -d 9000 -au 1001 -ap pw-1001 \
	-i $NET.0.11 -p 5070 -mi $NET.0.11 -mp 6000 $NET.0.1:5060 >$TMP/uac-1002.out 2>&1 &
UAC=$!
wait_for $TMP/b.log "sip:1001@ims.local -> sip:1002@ims.local.* answered|answered" 60
sleep 1
kill -KILL $PID_b
wait $PID_b 2>/dev/null
open_b=$(psql_q "SELECT count(*) FROM cdr WHERE node = 'node-b' AND open = 1")
is "$open_b" 1 "node B dies with its leg of the call up (its CDR row open in PostgreSQL)"

# Node A alone: a call between its own phones, and an MML change.
nsenter --net=/run/netns/$PX sipp -sf $D/uas_answer.xml -m 1 -nostdin -timeout 20 \
	-i $NET.0.5 -p 5063 -mi $NET.0.5 -mp 6004 $NET.0.1:5060 >$TMP/uas-1003.out 2>&1 &
UAS3=$!
sleep 0.5
in_ns $P1 sipp -sf $D/uac_call.xml -m 1 -nostdin -timeout 20 -timeout_error \
	-key user 1001 -key target 1003 -key domain ims.local -d 1000 -au 1001 -ap pw-1001 \
	-i $NET.0.11 -p 5071 -mi $NET.0.11 -mp 6010 $NET.0.1:5060 >$TMP/uac-1003.out 2>&1
ok $? "with node B dead, node A connects 1001 to 1003" || diag "$(tail -3 $TMP/uac-1003.out)"
wait $UAS3
node_mml a 'ADD USER: USERNAME="1004", PASSWORD="pw-1004";' >$TMP/mml.out 2>&1
like "$(cat $TMP/mml.out)" "RETCODE = 0" "... and takes an MML change"
is "$(psql_q "SELECT count(*) FROM subscribers WHERE username = '1004'")" 1 \
	"... which is in PostgreSQL"

cluster_node b
like "$(cat $TMP/b.log)" "\[reg\] 1 registration restored" \
	"node B, started again, restores 1002's binding from its own copy"
is "$(sqlite3 $TMP/b.db "SELECT count(*) FROM subscribers WHERE username = '1004'")" 1 \
	"... and has the subscriber A added while it was dead"
wait $UAC $UAS 2>/dev/null
for ((i = 0; i < 100; i++)); do
	[ "$(psql_q 'SELECT count(*) FROM cdr WHERE open = 1')" = 0 ] && break
	sleep 0.1
done
is "$(psql_q 'SELECT count(*) FROM cdr WHERE open = 1')" 0 \
	"once the call is over no CDR row is left open, on either node"
psql_q "SELECT id || ' ' || a_call_id || ' ' || open || ' ' || disposition FROM cdr
	WHERE node = 'node-b' ORDER BY id" >$TMP/shared-b.txt
sqlite3 $TMP/b.db "SELECT id || ' ' || a_call_id || ' ' || open || ' ' || disposition FROM cdr
	ORDER BY id" >$TMP/local-b.txt
ok $(cmp -s $TMP/shared-b.txt $TMP/local-b.txt && echo 0 || echo 1) \
	"node B's CDR rows in PostgreSQL are those of its own copy ($(wc -l <$TMP/local-b.txt))" ||
	diag "$(diff $TMP/shared-b.txt $TMP/local-b.txt | head -6)"
is "$(psql_q "SELECT count(*) FROM registrations WHERE node = 'node-b'")" 1 \
	"node B's binding is in PostgreSQL once, under its name"

cluster_stop
done_testing
