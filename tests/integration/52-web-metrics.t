#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# /metrics during a call (userspace relay, in a namespace of its own):
# what it says against DSP CALL and DSP STREAM, SIP counters by method and
# code, promtool's check; off loopback it asks for the bearer token, over
# HTTPS ([http] tls_cert, tls_key) with a Secure session cookie.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/web-lib.sh"

require_root
require_cmd ip nsenter curl jq sipp openssl sqlite3
[ -x "$SLUICED" ] && [ -x "$RTPIO" ] || skip_all "build first (make, make unit-bins)"

WEB_NS=smet$$
netns_add $WEB_NS
web_sluiced $WEB_NS
plan 33

bearer() { in_ns $WEB_NS curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
mml() { in_ns $WEB_NS perl $TOP/tests/tools/mmlc.pl 127.0.0.1:7777 \
	'LGI: OP="admin", PWD="web-admin-pw";' "$@" | tr -d '\r'; }
metric() { awk -v m="$1" 'index($0, m " ") == 1 { print $NF }' $TMP/metrics; }

for u in 2001 2002; do
	bearer -H 'Content-Type: application/json' \
		-d "{\"username\": \"$u\", \"password\": \"pw-$u-x\"}" $WEB/api/subscribers >/dev/null
done
web_phones_register "registers"
web_phones_call 30
ok $? "the call is up"

# RTP into both legs of the relay, from where the phones' SDP said.
bearer $WEB/api/streams >$TMP/streams
pa=$(jq -r '.tables[0].rows[] | select(.leg == "A") | .relayport' $TMP/streams)
pb=$(jq -r '.tables[0].rows[] | select(.leg == "B") | .relayport' $TMP/streams)
in_ns $WEB_NS "$RTPIO" send 127.0.0.1:7164 127.0.0.1:$pa 60 1111 200 >/dev/null 2>&1
in_ns $WEB_NS "$RTPIO" send 127.0.0.1:7165 127.0.0.1:$pb 40 2222 200 >/dev/null 2>&1
sleep 0.3

in_ns $WEB_NS curl -s -o $TMP/metrics -w '%{http_code}' -D $TMP/headers $WEB/metrics >$TMP/st
is "$(cat $TMP/st)" 200 "/metrics on loopback needs no login"
like "$(tr -d '\r' <$TMP/headers | grep -i '^Content-Type')" "text/plain; version=0.0.4" \
	"... in the Prometheus text format"
mml 'DSP CALL:;' >$TMP/call
mml 'DSP STREAM:;' >$TMP/stream
calls=$(sed -n 's/^(Number of results = \([0-9]*\))/\1/p' $TMP/call | tail -1)
is "$(metric 'sluice_calls{state="active"}')" "$calls" "active calls: as many as DSP CALL shows ($calls)"
rows=$(sed -n 's/^(Number of results = \([0-9]*\))/\1/p' $TMP/stream | tail -1)
is "$(metric 'sluice_streams{path="user"}')" "$rows" "streams on the user path: DSP STREAM's rows ($rows)"
pk=$(awk '$3 ~ /^[AB]$/ && $4 ~ /^[0-9]+$/ { n += $6 } END { print n + 0 }' $TMP/stream)
is "$(metric 'sluice_stream_packets{path="user"}')" "$pk" "packets: DSP STREAM's sum ($pk)"
[ "$pk" -ge 100 ]
ok $? "... which counted the RTP sent ($pk of 100)"
by=$(awk '$3 ~ /^[AB]$/ && $4 ~ /^[0-9]+$/ { n += $7 } END { print n + 0 }' $TMP/stream)
is "$(metric 'sluice_stream_bytes{path="user"}')" "$by" "bytes: DSP STREAM's sum"
is "$(metric sluice_registrations)" 2 "registrations"
[ "$(metric 'sluice_sip_requests_received_total{method="REGISTER"}')" -ge 4 ]
ok $? "REGISTERs counted (challenged and answered)"
is "$(metric 'sluice_sip_requests_received_total{method="INVITE"}')" 2 "INVITEs counted (challenged, answered)"
[ "$(metric 'sluice_sip_responses_sent_total{code="401"}')" -ge 2 ] &&
	[ "$(metric 'sluice_sip_responses_sent_total{code="200"}')" -ge 3 ]
ok $? "responses sent by code (401, 200)"
is "$(metric 'sluice_sip_responses_received_total{code="200"}')" 1 "responses received (the callee's 200)"
like "$(metric sluice_auth_challenges_total)" "^[1-9]" "digest challenges"
is "$(metric 'sluice_datapath_info{path="user",desc="userspace relay"}')" 1 "the data path"
is "$(metric sluice_subscribers)" 2 "subscribers"
# The count is kept in memory: a change through sluiced and one from outside both show.
bearer -H 'Content-Type: application/json' -d '{"username": "2003", "password": "pw-2003-x"}' \
	$WEB/api/subscribers >/dev/null
is "$(in_ns $WEB_NS curl -s $WEB/metrics | awk '$1 == "sluice_subscribers" { print $2 }')" 3 \
	"... one added through the API: counted at the next scrape"
sqlite3 -cmd ".timeout 3000" $TMP/sluice.db "DELETE FROM subscribers WHERE username = '2003'"
sleep 1
is "$(in_ns $WEB_NS curl -s $WEB/metrics | awk '$1 == "sluice_subscribers" { print $2 }')" 2 \
	"... one removed from outside (sqlite3): counted within a second"
# The live calls page's request: several calls' streams at once.
sess=$(jq -r '.tables[0].rows[0].session' $TMP/streams)
is "$(bearer "$WEB/api/streams?callid=no-such-call&callid=$sess" | jq -c '[.tables[0].rows[] | [.session, .leg]]')" \
	"[[\"$sess\",\"A\"],[\"$sess\",\"B\"]]" \
	"GET /api/streams with callid twice: the streams of each call up"
is "$(bearer -o /dev/null -w '%{http_code}' "$WEB/api/calls?callid=a&callid=b")" 400 \
	"... other fields twice still refused"
if command -v promtool >/dev/null; then
	out=$(promtool check metrics <$TMP/metrics 2>&1)
	ok $? "promtool check metrics accepts it" || diag "$out"
else
	skip "promtool not installed (Debian prometheus)"
fi

bearer -X DELETE "$WEB/api/calls/$(jq -r '.tables[0].rows[0].session' $TMP/streams)" >/dev/null
wait $UAC
ok $? "the call hung up from the API"
wait $UAS
in_ns $WEB_NS curl -s -o $TMP/metrics $WEB/metrics
is "$(metric 'sluice_calls{state="active"}')" 0 "... and /metrics shows no call"
is "$(metric 'sluice_streams{path="user"}')" 0 "... and no stream"

# A second sluiced, off loopback and over HTTPS.
in_ns $WEB_NS ip addr add 10.99.0.1/32 dev lo
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sluice.test \
	-keyout $TMP/key.pem -out $TMP/cert.pem >/dev/null 2>&1
sluice_conf $TMP/b.conf sip.listen=127.0.0.1:5070 media.ports=31100-31199 \
	media.bpf_pin_dir=/sys/fs/bpf/sluice-test-b$$ store.db=$TMP/b.db \
	mml.listen=off mml.admin_password=web-admin-pw http.listen=10.99.0.1:8443 \
	http.tls_cert=$TMP/cert.pem http.tls_key=$TMP/key.pem http.token=$TOKEN
nsenter --net=/run/netns/$WEB_NS "$SLUICED" -c $TMP/b.conf >$TMP/b.log 2>&1 &
BPID=$!
cleanup_add "kill $BPID"
wait_for $TMP/b.log "running|cannot" 100
like "$(cat $TMP/b.log)" "\[http\] listening on 10.99.0.1:8443 \(https\)" "HTTPS with tls_cert and tls_key"
B=https://10.99.0.1:8443
is "$(in_ns $WEB_NS curl -s -o /dev/null -w '%{http_code}' --cacert $TMP/cert.pem \
	--resolve sluice.test:8443:10.99.0.1 https://sluice.test:8443/metrics)" 401 \
	"off loopback, /metrics without the token: 401"
is "$(in_ns $WEB_NS curl -s -o $TMP/m2 -w '%{http_code}' --cacert $TMP/cert.pem \
	--resolve sluice.test:8443:10.99.0.1 -H "Authorization: Bearer $TOKEN" \
	https://sluice.test:8443/metrics)" 200 "... with it: 200, over TLS the certificate checks"
is "$(in_ns $WEB_NS curl -s -o /dev/null -w '%{http_code}' http://10.99.0.1:8443/metrics)" 000 \
	"... and plain HTTP gets no answer"
in_ns $WEB_NS curl -s -k -D $TMP/h2 -o /dev/null -H 'Content-Type: application/json' \
	-d '{"op": "admin", "password": "web-admin-pw"}' $B/api/login
like "$(tr -d '\r' <$TMP/h2 | grep -i '^Set-Cookie')" "HttpOnly; SameSite=Strict; Secure" \
	"over HTTPS the session cookie is Secure"
kill -TERM $BPID
wait $BPID
ok $? "the second sluiced stops cleanly"
kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
done_testing
