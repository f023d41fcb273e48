#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The web API with a running sluiced (userspace relay, in a namespace of
# its own): logins (the MML operators, failures delayed and locked out per
# address), sessions (cookie flags, expiry, logout), CSRF, the bearer
# token; every route's success path (subscribers, registrations, a call
# and its streams hung up from the API, CDRs and their CSV, blacklist,
# a users.json imported,
# SYSINFO, SRVSTAT, configuration, log level, operators, HELP); bad input
# refused with a 4xx and a reason, changing nothing; no password or HA1 in
# any answer; the static console files, and nothing outside them.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/web-lib.sh"

require_root
require_cmd ip nsenter curl jq sipp sqlite3
[ -x "$SLUICED" ] || skip_all "build first (make)"

WEB_NS=sweb$$
netns_add $WEB_NS
web_sluiced $WEB_NS http.session_timeout=5
plan 167

# ---- who may ask ----
is "$(api GET /api/sysinfo)" 401 "no login: 401"
is "$(jbody .error)" "not logged in" "... with a reason"
t0=$(date +%s%N)
is "$(api POST /api/login '{"op": "admin", "password": "wrong-pw-x"}')" 401 "a wrong password: 401"
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -ge 900 ]
ok $? "... answered after the MML's delay ($(((t1 - t0) / 1000000)) ms)"
is "$(api POST /api/login '{"op": "nobody", "password": "wrong-pw-x"}')" 401 \
	"an unknown operator: 401"
is "$(cat $TMP/body)" '{"error": "login failed: wrong operator, password or token"}' \
	"... the same answer as a wrong password"
like "$(cat $TMP/sluiced.log)" "\[http\] 127.0.0.1: login as 'nobody' failed" "failed logins are logged"
is "$(sqlite3 $TMP/sluice.db "SELECT failed FROM operators WHERE name = 'admin'")" 1 \
	"... and counted in the operators table, as MML counts them"
is "$(api POST /api/login '{"op": "admin"}')" 400 "a login without a password: 400"
is "$(api POST /api/login '{"op": "admin", "password": "web-admin-pw", "x": 1}')" 400 \
	"a login with an unknown field: 400"
is "$(api POST /api/login '' --data-binary '{"op": "admin", "password": "web-admin-pw"}' -H 'Content-Type: text/plain')" \
	415 "a login that is not application/json: 415"
is "$(api GET /api/login)" 405 "GET /api/login: 405"

api POST /api/login '{"op": "admin", "password": "web-admin-pw"}' -D $TMP/headers >$TMP/st
is "$(cat $TMP/st)" 200 "the right password logs in"
CSRF=$(jbody .csrf)
is "$(jbody .role)" ADMIN "... as ADMIN"
like "$CSRF" "^[0-9a-f]{64}$" "... with a CSRF token"
cookie=$(tr -d '\r' <$TMP/headers | grep -i '^Set-Cookie:')
like "$cookie" "sluice_session=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict" \
	"the session cookie is HttpOnly and SameSite=Strict"
is "$(sqlite3 $TMP/sluice.db "SELECT failed FROM operators WHERE name = 'admin'")" 0 \
	"... and the operator's failures are reset"
is "$(api GET /api/session)" 200 "GET /api/session"
is "$(jbody .op):$(jbody .csrf)" "admin:$CSRF" "... names the operator and its CSRF token"
is "$(api GET /api/sysinfo)" 200 "with the cookie, GET /api/sysinfo: 200"
is "$(jbody '.tables[0].values.NODE')" SLUICE "... DSP SYSINFO's values as an object"
is "$(jbody '.tables[0].values.DATAPATH')" "userspace relay" "... the data path"

good=$CSRF
CSRF=
is "$(api POST /api/subscribers '{"username": "2001", "password": "pw-2001-x"}')" 403 \
	"a change without the CSRF token: 403"
like "$(jbody .error)" "CSRF" "... which says why"
CSRF=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
is "$(api POST /api/subscribers '{"username": "2001", "password": "pw-2001-x"}')" 403 \
	"a change with a wrong CSRF token: 403"
CSRF=$good
is "$(sqlite3 $TMP/sluice.db "SELECT count(*) FROM subscribers")" 0 "... and nothing was added"

is "$(in_ns $WEB_NS curl -s -o $TMP/body -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	$WEB/api/srvstat)" 200 "the bearer token: 200"
like "$(jbody '.tables[0].values["MML LOGINS"]')" "^[0-9]+$" "... DSP SRVSTAT"
is "$(in_ns $WEB_NS curl -s -o $TMP/body -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' -d '{"prefix": "192.0.2.0/24", "reason": "t"}' \
	$WEB/api/blacklist)" 200 "... changes things without a CSRF token (no cookie to forge)"
is "$(in_ns $WEB_NS curl -s -o $TMP/body -w '%{http_code}' -H "Authorization: Bearer wrong-token-0123456789" \
	$WEB/api/srvstat)" 401 "a wrong bearer token: 401"

# ---- subscribers ----
is "$(api POST /api/subscribers '{"username": "2001", "password": "pw-2001-x", "display_name": "Alice", "phone": "+4930111"}')" \
	200 "POST /api/subscribers adds one"
is "$(api POST /api/subscribers '{"username": "2002", "password": "pw-2002-x", "display_name": "Bob"}')" \
	200 "... and another"
is "$(api POST /api/subscribers '{"username": "2001", "password": "pw-2001-x"}')" 409 \
	"the same again: 409"
like "$(jbody .error)" "subscriber 2001 exists" "... with the MML's reason"
is "$(api GET /api/subscribers)" 200 "GET /api/subscribers"
is "$(jbody '.tables[0].rows | length')" 2 "... lists both"
is "$(jbody '.tables[0].rows[0] | [.username, .impu, .displayname, .status, .bindings] | join(",")')" \
	"2001,sip:2001@ims.local,Alice,ACTIVE,0" "... with their fields, bindings a number"
is "$(api GET '/api/subscribers?search=bob')" 200 "search"
is "$(jbody '[.tables[0].rows[].username] | join(",")')" 2002 "... finds by display name, any case"
is "$(api GET /api/subscribers/2001)" 200 "GET /api/subscribers/2001"
is "$(jbody '.tables[0].rows[0].phone')" "+4930111" "... that one"
is "$(api GET /api/subscribers/9999)" 404 "an unknown one: 404"
is "$(api PATCH /api/subscribers/2002 '{"phone": "+4930222", "status": "SUSPENDED"}')" 200 \
	"PATCH changes one"
api GET /api/subscribers/2002 >/dev/null
is "$(jbody '.tables[0].rows[0] | [.phone, .status] | join(",")')" "+4930222,SUSPENDED" "... as asked"
api PATCH /api/subscribers/2002 '{"status": "ACTIVE"}' >/dev/null

# Bad input changes nothing.
before=$(sqlite3 $TMP/sluice.db "SELECT * FROM subscribers ORDER BY username" | md5sum)
is "$(api POST /api/subscribers '{"username": "2003", "password": ')" 400 "malformed JSON: 400"
like "$(jbody .error)" "malformed JSON at line 1" "... says where"
is "$(api POST /api/subscribers '{"username": "2003", "password": ["pw-2003-x"]}')" 400 \
	"a field of the wrong type: 400"
like "$(jbody .error)" "password: must be a string" "... says which"
is "$(api POST /api/subscribers '{"username": "2003", "password": true}')" 400 "a boolean: 400"
is "$(api POST /api/subscribers '["2003"]')" 400 "not an object: 400"
is "$(api POST /api/subscribers '{"username": "2003", "password": "pw-2003-x", "colour": "red"}')" 400 \
	"an unknown field: 400"
like "$(jbody .error)" "no parameter COLOUR" "... named"
is "$(api POST /api/subscribers '{"username": "2003", "username": "2004", "password": "pw-2003-x"}')" 400 \
	"a field twice: 400"
is "$(api POST /api/subscribers '{"username": "2003", "password": "pw-2003-x", "Display-Name": "x"}')" 400 \
	"a field name outside a-z0-9_: 400"
is "$(api POST /api/subscribers '{"username": "2003", "password": "pw-2003-x", "phone": "a\nb"}')" 400 \
	"control characters: 400"
is "$(api POST /api/subscribers "{\"username\": \"2003\", \"password\": \"$(head -c 300 /dev/zero | tr '\0' x)\"}")" \
	400 "a value longer than MML takes: 400"
head -c 70000 /dev/zero | tr '\0' ' ' >$TMP/big
is "$(api POST /api/subscribers "" --data-binary @$TMP/big -H 'Content-Type: application/json')" 413 \
	"an oversized body: 413"
like "$(jbody .error)" "larger than 65536" "... with a reason"
is "$(api POST /api/subscribers '' --data-binary '{"username": "2003", "password": "pw-2003-x"}' -H 'Content-Type: text/plain')" \
	415 "a body that is not application/json: 415"
is "$(api PATCH /api/subscribers/2001 '{"username": "2009"}')" 400 \
	"PATCH naming the subscriber in the body as well as the path: 400"
is "$(api POST '/api/subscribers?username=2003' '{"password": "pw-2003-x"}')" 400 \
	"POST with fields in the query: 400"
is "$(api GET /api/subscribers '' -H 'Content-Type: application/json' --data-binary '{}' -X GET)" 400 \
	"GET with a body: 400"
is "$(api GET '/api/cdrs?limit=many')" 400 "a bad query value: 400"
is "$(api GET /api/nothing)" 404 "an unknown route: 404"
is "$(api PUT /api/subscribers '{}')" 405 "a method a route does not have: 405"
is "$(api GET "/api/subscribers?$(seq -s '&' -f 'a%g=1' 20)")" 400 "too many query arguments: 400"
is "$(sqlite3 $TMP/sluice.db "SELECT * FROM subscribers ORDER BY username" | md5sum)" "$before" \
	"... and none of it changed a subscriber"

# ---- registrations, a call, its streams, hung up from the API ----
web_phones_register "registers (sipp)"
is "$(api GET /api/registrations)" 200 "GET /api/registrations"
is "$(jbody '[.tables[0].rows[].impu] | sort | join(",")')" "sip:2001@ims.local,sip:2002@ims.local" \
	"... both bindings"
like "$(jbody '.tables[0].rows[0].expires')" "^[0-9]+$" "... seconds left as a number"
is "$(api GET '/api/registrations?username=2002')" 200 "... one subscriber's"
is "$(jbody '.tables[0].rows | length')" 1 "... only its binding"

web_phones_call 20
is "$(api GET /api/calls)" 200 "GET /api/calls"
is "$(jbody '.tables[0].rows[0] | [.caller, .callee, .state] | join(",")')" \
	"sip:2001@ims.local,sip:2002@ims.local,ACTIVE" "... the call, up"
callid=$(jbody '.tables[0].rows[0].callid')
is "$(api GET /api/streams)" 200 "GET /api/streams"
is "$(jbody '[.tables[0].rows[].leg] | join(",")')" "A,B" "... its stream, both legs"
is "$(jbody '.tables[0].rows[0].path')" user "... on the userspace path"
like "$(jbody '.tables[0].rows[0].relayport')" "^3[01][0-9]{3}$" "... its relay port a number"
ecallid=$(jq -rn --arg c "$callid" '$c|@uri')
is "$(api GET "/api/calls/$ecallid")" 200 "GET /api/calls/CALLID"
is "$(jbody '.tables[0].rows | length')" 1 "... that call"
is "$(api GET "/api/streams?callid=$ecallid")" 200 "GET /api/streams?callid="
is "$(jbody '.tables[0].rows | length')" 2 "... its legs"
is "$(api DELETE "/api/calls/$ecallid")" 200 "DELETE /api/calls/CALLID"
wait $UAC
ok $? "... the caller got a BYE" || diag "$(tail -5 $TMP/uac.out)"
wait $UAS
ok $? "... and so did the callee"
api GET /api/calls >/dev/null
is "$(jbody '.tables[0].rows | length')" 0 "... and the call is gone"
is "$(api DELETE /api/calls/no-such-call)" 404 "an unknown call: 404"
is "$(api DELETE /api/registrations/2002)" 200 "DELETE /api/registrations/NAME"
api GET /api/registrations >/dev/null
is "$(jbody '[.tables[0].rows[].impu] | join(",")')" "sip:2001@ims.local" "... its binding is gone"

# ---- CDRs ----
sleep 0.3
is "$(api GET '/api/cdrs?type=CALL')" 200 "GET /api/cdrs"
is "$(jbody '.tables[0].rows[0] | [.caller, .callee, .disposition, .code] | map(tostring) | join(",")')" \
	"2001,2002,ANSWERED,200" "... the call's record"
like "$(jbody '.tables[0].rows[0].reason')" "admin" "... closed as admin"
is "$(api GET "/api/cdrs?caller=2002&type=CALL")" 200 "searched by number"
is "$(jbody '.tables[0].rows | length')" 0 "... nothing from 2002"
is "$(api GET "/api/cdrs?from=$(date +%F)&type=CALL")" 200 "searched by time"
is "$(jbody '.tables[0].rows | length')" 1 "... today's call"
is "$(api GET "/api/cdrs?disposition=BUSY")" 200 "searched by disposition"
is "$(jbody '.tables[0].rows | length')" 0 "... none busy"
is "$(api GET "/api/cdrs?number=2002&type=CALL")" 200 "searched by either party's number"
is "$(jbody '.tables[0].rows | length')" 1 "... 2002's call"
is "$(api GET "/api/cdrs?code=200&type=CALL")" 200 "searched by cause (the final status)"
is "$(jbody '.tables[0].rows | length')" 1 "... the answered call"
api GET "/api/cdrs?code=486" >/dev/null
is "$(jbody '.tables[0].rows | length')" 0 "... none 486"
is "$(api GET '/api/cdrs?code=busy')" 400 "a cause that is not a status: 400"
like "$(jbody .error)" "CODE: a SIP status" "... with a reason"
is "$(($(api GET '/api/cdrs.csv?code=200&number=2001&type=CALL' >/dev/null; wc -l <$TMP/body) - 1))" 1 \
	"the CSV export takes the same filters"
is "$(api GET '/api/cdrs.csv?type=CALL' '' -D $TMP/headers)" 200 "GET /api/cdrs.csv"
like "$(tr -d '\r' <$TMP/headers | grep -i '^Content-Type')" "text/csv" "... is CSV"
like "$(tr -d '\r' <$TMP/headers | grep -i '^Content-Disposition')" 'attachment; filename="cdrs.csv"' \
	"... as a download"
like "$(head -1 $TMP/body | tr -d '\r')" "^record_id,record_type,call_state,date,start_time," \
	"... with the CDR columns' header line"
is "$(($(wc -l <$TMP/body) - 1))" 1 "... and the call's row"
is "$(api GET '/api/cdrs.csv?file=x.csv')" 400 "no FILE= through the API"
is "$(api DELETE "/api/cdrs?before=$(date +%F)")" 400 "CLR CDR keeps the last days: 400"

# ---- blacklist, configuration, log, operators, HELP ----
is "$(api POST /api/blacklist '{"prefix": "198.51.100.7", "reason": "scanner"}')" 200 "POST /api/blacklist"
is "$(api GET /api/blacklist)" 200 "GET /api/blacklist"
is "$(jbody '[.tables[0].rows[].prefix] | join(",")')" "192.0.2.0/24,198.51.100.7" "... both prefixes"
is "$(api DELETE /api/blacklist/192.0.2.0/24)" 200 "DELETE /api/blacklist/PREFIX/LEN"
is "$(api POST /api/blacklist '{"prefix": "not-an-address"}')" 400 "a bad prefix: 400"
is "$(api GET /api/config)" 200 "GET /api/config"
is "$(jbody '.tables[0].rows[] | select(.section == "http" and .key == "token") | .value')" '***' \
	"... the token hidden"
is "$(api PUT /api/log '{"level": "debug"}')" 200 "PUT /api/log"
is "$(api POST /api/operators '{"op": "viewer", "pwd": "viewer-pw-1", "role": "OPERATOR"}')" 200 \
	"POST /api/operators"
is "$(api PATCH /api/operators/viewer '{"pwd": "viewer-pw-2"}')" 200 "PATCH /api/operators/NAME"
is "$(api PATCH /api/operators/viewer '{"pwd": "short"}')" 400 "... a password too short: 400"
is "$(api GET /api/operators)" 200 "GET /api/operators"
is "$(jbody '[.tables[0].rows[].op] | join(",")')" "admin,viewer" "... both"
! grep -qiE 'ha1|web-admin-pw|pw-200[123]-x|viewer-pw' $TMP/bodies
ok $? "no password or HA1 in any answer so far ($(wc -l <$TMP/bodies) answers)"
is "$(api GET /api/help)" 200 "GET /api/help"
like "$(jbody '.text | join("\n")')" "DSP USER: show subscribers" "... the commands"

# An OPERATOR may look, not change.
admin_jar=$(cat $TMP/jar)
web_login viewer viewer-pw-2
is "$(jbody .role)" OPERATOR "an OPERATOR logs in"
is "$(api GET /api/subscribers)" 200 "... may look"
is "$(api DELETE /api/subscribers/2001)" 403 "... may not change: 403"
is "$(api POST /api/logout '')" 200 "POST /api/logout"
is "$(api GET /api/session)" 401 "... and the session is over"
printf '%s\n' "$admin_jar" >$TMP/jar
CSRF=$good
is "$(api DELETE /api/operators/viewer)" 200 "DELETE /api/operators/viewer"
is "$(api DELETE /api/subscribers/2002)" 200 "DELETE /api/subscribers/2002"
is "$(sqlite3 $TMP/sluice.db "SELECT username FROM subscribers")" 2001 "... gone from the database"

# ---- users.json through the API (sluicectl import-users' code) ----
count() { sqlite3 $TMP/sluice.db "SELECT count(*) FROM subscribers"; }
is "$(api POST /api/subscribers/import '' --data-binary @$TOP/tests/testdata/users.json -H 'Content-Type: application/json')" \
	200 "POST /api/subscribers/import takes a users.json"
is "$(jbody '[.added, .updated, .unchanged, .skipped] | join(",")')" "5,0,0,2" "... 5 added, 2 skipped"
like "$(jbody '.errors | join(" / ")')" "user 'bad user' skipped: user name" "... each skipped entry with its reason"
is "$(count)" 6 "... into the database"
is "$(grep -c 'Alice#2019' $TMP/body)" 0 "... and no password in the answer"
api POST /api/subscribers/import '' --data-binary @$TOP/tests/testdata/users.json -H 'Content-Type: application/json' >/dev/null
is "$(jbody '[.added, .unchanged] | join(",")')" "0,5" "importing again changes nothing"
is "$(api POST /api/subscribers/import '{"1005": {"password": ')" 400 "a malformed users.json: 400"
like "$(jbody .error)" "malformed JSON at line 1" "... says where"
is "$(api POST /api/subscribers/import '["1005"]')" 400 "an array: 400"
is "$(api POST /api/subscribers/import '{}')" 400 "an empty object: 400"
is "$(api POST /api/subscribers/import '' --data-binary @$TOP/tests/testdata/users.json -H 'Content-Type: text/plain')" \
	415 "not application/json: 415"
is "$(api POST '/api/subscribers/import?x=1' '{"1005": {"password": "pw-1005-x"}}')" 400 "a query: 400"
is "$(api GET /api/subscribers/import)" 405 "GET: 405"
is "$(CSRF= api POST /api/subscribers/import '{"1005": {"password": "pw-1005-x"}}')" 403 "no CSRF token: 403"
{ printf '{"1005": {"password": "pw-1005-x", "display_name": "'; head -c 4200000 /dev/zero | tr '\0' x; printf '"}}'; } >$TMP/huge.json
is "$(api POST /api/subscribers/import '' --data-binary @$TMP/huge.json -H 'Content-Type: application/json')" 413 \
	"a users.json over 4 MiB: 413"
is "$(count)" 6 "... none of these changed anything"
is "$(api POST /api/subscribers/import '' --data-binary '{"1005": {"password": "pw-1005-x"}}' -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN")" \
	200 "the bearer token may import"
is "$(jbody .added)" 1 "... one added"
for u in 1001 1002 1003 1004 1005 reception; do api DELETE /api/subscribers/$u >/dev/null; done
is "$(count)" 1 "the imported ones removed again"

# ---- an expired session ----
sleep 6
is "$(api GET /api/sysinfo)" 401 "after [http] session_timeout idle: 401"
is "$(jbody .error)" "session expired: log in again" "... says the session expired"

# ---- the console's files, and nothing else ----
is "$(in_ns $WEB_NS curl -s -o $TMP/page -w '%{http_code}' $WEB/)" 200 "GET / serves the console"
like "$(cat $TMP/page)" "<title>sluice" "... its page"
is "$(in_ns $WEB_NS curl -s -o /dev/null -w '%{http_code}' --path-as-is $WEB/../conf/sluice.conf)" 404 \
	"a path out of [http] root: 404"
is "$(in_ns $WEB_NS curl -s -o /dev/null -w '%{http_code}' $WEB/.hidden)" 404 "a hidden file: 404"

# ---- lockout: five failures from one address, then 429 ----
pids=()
for i in 1 2 3 4 5; do
	in_ns $WEB_NS curl -s -o /dev/null --interface 127.0.0.2 -H 'Content-Type: application/json' \
		-d '{"op": "admin", "password": "wrong-pw-x"}' $WEB/api/login &
	pids+=($!)
done
wait "${pids[@]}"
is "$(in_ns $WEB_NS curl -s -o $TMP/body -w '%{http_code}' --interface 127.0.0.2 \
	-H 'Content-Type: application/json' -d '{"op": "admin", "password": "web-admin-pw"}' \
	$WEB/api/login)" 429 "after five failed logins the address is locked out, right password or not"
web_login admin web-admin-pw
like "$CSRF" "^[0-9a-f]{64}$" "... another address is not"

kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
done_testing
