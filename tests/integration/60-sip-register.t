#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The registrar as phones meet it: sipp and sipsak (and sipc.pl where a
# SHA-256 digest, a chosen digest-uri or a whole response is needed)
# against sluiced in a network namespace of its own, with the shipped
# [sip] digest and sipp's own digest defaults. Registration with digest
# authentication, refresh, several contacts, removal one by one and with
# Contact: *, 423, wrong password and unknown user answered alike, another's
# AOR refused, TCP, a subscriber hardened to SHA-256 (challenged with it
# alone, its MD5 refused), the digest-uri naming this server or something
# else, a binding that expires, stale nonces and nonce-count replay,
# MESSAGE between two registered phones, NAT keepalives, 405, and bindings
# that survive a restart.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter sipp sipsak sqlite3 perl md5sum sha256sum
[ -x "$SLUICED" ] || skip_all "build first (make)"

S=sips$$
netns_add $S
SIP=127.0.0.1:5060
DB=$TMP/sluice.db
SIPP_DIR=$TOP/tests/integration/sipp

sluice_conf $TMP/sluice.conf \
	sip.listen=$SIP sip.domain=ims.local sip.min_expires=2 sip.max_expires=600 \
	sip.nonce_lifetime=3 sip.keepalive=1 \
	store.db=$DB log.level=debug

start() {	# a fresh log each time: $TMP/sluiced.log
	[ -f $TMP/sluiced.log ] && cat $TMP/sluiced.log >>$TMP/sluiced-all.log
	nsenter --net=/run/netns/$S "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
	SPID=$!
	wait_for $TMP/sluiced.log "running|cannot" 100
}
start
cleanup_add 'kill $SPID'
grep -q "\[sip\] listening on $SIP" $TMP/sluiced.log ||
	skip_all "sluiced did not start its SIP server: $(tail -3 $TMP/sluiced.log)"
plan 58

# Subscribers as the importer writes them: HA1s, never the password.
add_sub() {	# add_sub USER PASSWORD [STATUS [DIGEST]]
	local md5 sha
	md5=$(printf '%s' "$1:ims.local:$2" | md5sum | cut -d' ' -f1)
	sha=$(printf '%s' "$1:ims.local:$2" | sha256sum | cut -d' ' -f1)
	sqlite3 $DB "INSERT INTO subscribers (impu, username, realm, ha1_md5, ha1_sha256, status,
		digest, created, updated) VALUES ('sip:$1@ims.local', '$1', 'ims.local', '$md5',
		'$sha', '${3:-ACTIVE}', '${4:-}', 0, 0)"
}
for u in 1001 1002 1004 1005 1006 1007 1008; do add_sub $u secret$u; done
add_sub 1003 secret1003 ACTIVE SHA-256		# hardened: SHA-256 only
add_sub 1009 secret1009 SUSPENDED

ns() { in_ns $S "$@"; }
sipc() { ns perl "$TOP/tests/tools/sipc.pl" "$@" $SIP; }
bindings() { sqlite3 $DB "SELECT count(*) FROM registrations WHERE aor = 'sip:$1@ims.local'"; }
# sipp_reg USER EXPECT [sipp options]: one REGISTER, challenged and answered.
sipp_reg() {
	local user=$1 expect=$2
	shift 2
	sed "s/@EXPECT@/$expect/" $SIPP_DIR/register.xml >$TMP/reg-$expect.xml
	ns sipp -sf $TMP/reg-$expect.xml -m 1 -nostdin -timeout 10 -timeout_error \
		-key user $user -key aor ${AOR:-$user} -key domain ims.local \
		-key expires ${EXPIRES:-600} -au $user -ap ${PASS:-secret$user} \
		-trace_err -error_file $TMP/sipp-err.log "$@" $SIP >$TMP/sipp.out 2>&1
}

out=$(ns sipsak -v -s sip:$SIP 2>&1)
ok $? "sipsak OPTIONS: answered"
like "$out" "200 OK" "OPTIONS to the server: 200"
out=$(sipc --method OPTIONS --print --to sip:$SIP)
like "$out" "Allow: [^\r]*REGISTER" "its 200 lists Allow"
like "$out" "Accept: " "... and Accept"

sipp_reg 1001 200 -p 5071 -trace_msg -message_file $TMP/sipp-msg.log
ok $? "sipp: 1001 registers with a digest (401, then 200)"
like "$(grep -i '^Authorization:' $TMP/sipp-msg.log)" 'uri="sip:127.0.0.1:5060".*algorithm=MD5' \
	"... answering MD5 with its own default digest-uri, sip:SERVER:PORT for a sip:DOMAIN Request-URI"
is "$(bindings 1001)" 1 "one binding in the database"
sipp_reg 1001 200 -p 5071
ok $? "sipp: 1001 re-registers"
is "$(bindings 1001)" 1 "a refresh is still one binding"
sipp_reg 1001 200 -p 5072
is "$(bindings 1001)" 2 "a second contact: two bindings"
out=$(sipc --user 1001 --pass secret1001 --port 5073 --print)
n=$(printf '%s' "$out" | grep -c '^Contact: .*expires=')
is "$n" 3 "the 200 lists every binding with its expiry"
EXPIRES=0 sipp_reg 1001 200 -p 5072
ok $? "sipp: unregister one contact (Expires: 0)"
is "$(bindings 1001)" 2 "... removes that one only"
# Contact: * (with the Expires the test names): a variant of the scenario.
sipp_star() {	# sipp_star USER EXPIRES EXPECT
	sed -e 's/^\( *\)Contact: <sip:\[user\].*$/\1Contact: */' -e "s/@EXPECT@/$3/" \
		$SIPP_DIR/register.xml >$TMP/star-$3.xml
	ns sipp -sf $TMP/star-$3.xml -m 1 -nostdin -timeout 10 -timeout_error \
		-key user $1 -key aor $1 -key domain ims.local -key expires $2 -au $1 \
		-ap secret$1 -p 5078 $SIP >$TMP/sipp.out 2>&1
}
sipp_star 1001 60 400
ok $? "sipp: Contact: * without Expires: 0 gets 400"
is "$(bindings 1001)" 2 "... and changes nothing"
sipp_star 1001 0 200
ok $? "sipp: Contact: * with Expires: 0 is accepted"
is "$(bindings 1001)" 0 "... and removes every binding"

EXPIRES=1 sipp_reg 1002 423 -p 5079
ok $? "sipp: an expiry below min_expires gets 423"
out=$(sipc --user 1002 --pass secret1002 --expires 1 --print)
like "$out" "Min-Expires: 2" "... with Min-Expires"

PASS=wrong sipp_reg 1002 401 -p 5074
ok $? "sipp: a wrong password is challenged again"
strip() { grep -E '^(SIP/2.0|WWW-Authenticate|Proxy-Authenticate)' | sed -E 's/nonce="[^"]*"/nonce=N/'; }
known=$(sipc --user 1002 --print | strip)
unknown=$(sipc --user 7777 --print | strip)
is "$unknown" "$known" "an unknown user's challenge is the known user's, nonce aside"
is "$(printf '%s\n' "$known" | grep -c 'algorithm=')" 1 "the shipped challenge is a single one ..."
like "$known" "algorithm=MD5" "... MD5, what sipp and baresip answer"
wrong=$(sipc --user 1002 --pass wrong --print | tail -n +1 | strip | tail -3)
nouser=$(sipc --user 7777 --pass wrong --print | strip | tail -3)
is "$nouser" "$wrong" "a wrong password and an unknown user get the same answer"
out=$(sipc --user 1009 --pass secret1009)
like "$out" "403" "a SUSPENDED subscriber may not register"

# The digest-uri: this server by its address, or something else.
out=$(sipc --user 1008 --pass secret1008 --digest-uri sip:127.0.0.1:5060)
like "$out" "SIP/2.0 200" "a digest-uri naming this server's address and port: 200"
out=$(sipc --user 1008 --pass secret1008 --digest-uri sip:192.0.2.9:5060)
like "$out" "SIP/2.0 400 Digest URI does not match" "one naming another host: 400"
out=$(sipc --user 1008 --pass secret1008 --digest-uri sip:1005@ims.local)
like "$out" "SIP/2.0 400 Digest URI does not match" "one naming another user: 400"

AOR=1003 sipp_reg 1002 403 -p 5075
ok $? "sipp: 1002 registering 1003's AOR gets 403"
is "$(bindings 1003)" 0 "... and no binding"

sipp_reg 1002 200 -t t1 -p 5076
ok $? "sipp: REGISTER over TCP"
is "$(sqlite3 $DB "SELECT transport FROM registrations WHERE aor = 'sip:1002@ims.local'")" TCP \
	"the binding remembers TCP"

# 1003 is hardened to SHA-256: so is its challenge, and an MD5 answer fails.
out=$(sipc --user 1003 --print | strip)
like "$out" "algorithm=SHA-256" "a hardened subscriber is challenged with SHA-256 ..."
is "$(printf '%s\n' "$out" | grep -c 'algorithm=')" 1 "... alone"
out=$(sipc --user 1003 --pass secret1003 --answer-alg md5 --print | strip | tail -2)
like "$out" "SIP/2.0 401" "its MD5 answer, right password and all, is refused ..."
like "$out" "algorithm=SHA-256" "... and challenged with SHA-256 again"
sipp_reg 1003 200 -p 5083
[ $? != 0 ]
ok $? "sipp, which knows only MD5, cannot register it"
is "$(bindings 1003)" 0 "... no binding"
out=$(sipc --user 1003 --pass secret1003 --alg sha-256)
like "$out" "200" "a SHA-256 digest registers it (RFC 8760)"
out=$(sipc --user 1003 --pass secret1003 --alg sha-256 --delay 4 --print | tail -20)
like "$out" "stale=true" "an expired nonce with the right password: 401 stale=true"
out=$(sipc --user 1003 --pass secret1003 --replay)
like "$out" "replay: SIP/2.0 401" "the same nonce-count again: challenged"

# MESSAGE between two registered phones (1005 is sipp at 5081).
sipp_reg 1005 200 -p 5081
ns sipp -sf $SIPP_DIR/message_recv.xml -p 5081 -m 1 -nostdin -timeout 15 -timeout_error \
	-trace_err -error_file $TMP/sipp-recv-err.log $SIP >$TMP/sipp-recv.out 2>&1 &
RPID=$!
sleep 0.5
sed "s/@EXPECT@/200/" $SIPP_DIR/message_send.xml >$TMP/msg.xml
ns sipp -sf $TMP/msg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user 1004 \
	-key target 1005 -key domain ims.local -au 1004 -ap secret1004 -p 5082 \
	$SIP >$TMP/sipp-msg.out 2>&1
ok $? "sipp: MESSAGE from 1004 to 1005, authenticated with 407, answered 200"
wait $RPID
ok $? "sipp: 1005 received the MESSAGE with its text"
out=$(sipc --method MESSAGE --user 1004 --pass secret1004 --to sip:1007@ims.local --body hi)
like "$out" "480" "MESSAGE to a subscriber with no binding: 480"
out=$(sipc --method MESSAGE --user 1004 --pass secret1004 --to sip:4242@ims.local --body hi)
like "$out" "404" "MESSAGE to no subscriber: 404"

# Over TCP: the MESSAGE goes down the connection the phone registered on.
sipc --proto tcp --user 1002 --pass secret1002 --listen 4 >$TMP/tcp-phone.out 2>&1 &
TPID=$!
sleep 1
out=$(sipc --method MESSAGE --user 1004 --pass secret1004 --to sip:1002@ims.local --body over-tcp)
like "$out" "200" "MESSAGE to a phone registered over TCP: 200"
wait $TPID
like "$(tr "\n" " " <$TMP/tcp-phone.out)" "MESSAGE sip:1002@[^ ]*transport=tcp SIP/2.0 over-tcp" \
	"... it arrived on the phone's own TCP connection, with its text"

out=$(sipc --method SUBSCRIBE --user 1004 --pass secret1004 --to sip:1005@ims.local --print)
like "$out" "SIP/2.0 405" "an unhandled method: 405 once authenticated"

# A phone behind NAT: its Contact names an address it is not seen from.
out=$(sipc --user 1004 --pass secret1004 --contact sip:1004@192.0.2.7:5060 --expires 30 \
	--listen 2.5)
like "$out" "CRLF" "a binding behind NAT gets CRLF keepalives at its source address"
is "$(sqlite3 $DB "SELECT nat || ' ' || received_addr FROM registrations
	WHERE aor = 'sip:1004@ims.local'")" "1 127.0.0.1" "... and is stored with where it came from"

EXPIRES=2 sipp_reg 1006 200 -p 5077
sleep 3
out=$(sipc --method MESSAGE --user 1004 --pass secret1004 --to sip:1006@ims.local --body hi)
like "$out" "480" "a binding that expired no longer counts (MESSAGE: 480)"

before=$(sqlite3 $DB "SELECT count(*) FROM registrations WHERE expires > strftime('%s','now')")
kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly with transactions pending (no sanitizer report)"
start
like "$(cat $TMP/sluiced.log)" "$before registrations? restored" "bindings survive a restart"

kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)"

# CDR event rows ([cdr] events = register, message by default).
is "$(sqlite3 $DB "SELECT caller_number, callee_number, status_code, message_body FROM cdr
	WHERE record_type = 'MESSAGE' AND caller_number = '1004' AND callee_number = '1005'")" \
	"1004|1005|200|hello sluice from 1004" "a MESSAGE's event row: parties, status and text"
is "$(sqlite3 $DB "SELECT group_concat(status_code) FROM (SELECT status_code FROM cdr
	WHERE record_type = 'MESSAGE' AND callee_number IN ('1007', '4242') ORDER BY id)")" "480,404" \
	"... failed ones too"
is "$(sqlite3 $DB "SELECT count(*) FROM cdr WHERE record_type = 'REGISTER' AND
	status_code IN (401, 407)")" 0 "no event row for a digest challenge"
is "$(sqlite3 $DB "SELECT expires, contact LIKE '%192.0.2.7%' FROM cdr WHERE record_type = 'REGISTER'
	AND caller_number = '1004' ORDER BY id DESC LIMIT 1")" "30|1" "a REGISTER's row: its expiry and Contact"
done_testing
