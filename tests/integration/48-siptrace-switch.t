#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The SIP tracker switched while sluiced runs: MML's SET SIPTRACE and its
# twin PUT /api/siptrace. With a running sluiced (trace on from the
# start), phone 2001 registers and is traced; SET SIPTRACE: STATE=OFF
# turns it off (DSP SIPTRACE then says so, /metrics has no tracker, DSP
# CFG shows trace off); 2002 registers and calls 2001's number while it
# is off; PUT /api/siptrace turns it on with an empty ring, in which
# neither 2001's old registration nor anything of 2002's is found; then
# 2002's registration and a call are traced again; off again leaves
# nothing of a call made meanwhile. Bad states, an OPERATOR and no login
# are refused and change nothing.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/web-lib.sh"

require_root
require_cmd ip nsenter curl jq sipp
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"

WEB_NS=strsw$$
netns_add $WEB_NS
web_sluiced $WEB_NS
plan 35

bearer=(-H "Authorization: Bearer $TOKEN")
(umask 077 && printf 'user=admin\npassword=web-admin-pw\n' >$TMP/cred)
mml() { in_ns $WEB_NS "$SLUICECTL" -c $TMP/sluice.conf mml -a $TMP/cred "$1" 2>&1; }
# found NUMBER: how many traced calls and registrations carry it.
found() {
	api GET "/api/siptrace?number=$1" '' "${bearer[@]}" >/dev/null
	jbody '.tables[0].rows | length'
}
# register USER PORT: one REGISTER (challenged, then 200).
register() {
	in_ns $WEB_NS sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error \
		-key user $1 -key aor $1 -key domain ims.local -key expires 600 \
		-au $1 -ap pw-$1-x -i 127.0.0.1 -p $2 127.0.0.1:5060 >$TMP/reg-$1.out 2>&1
}
# call: 2001 calls 2002 and hangs up after the answer; the caller's Call-ID printed.
call() {
	in_ns $WEB_NS sipp -sf $TOP/tests/integration/sipp/uas_answer.xml -m 1 -nostdin \
		-timeout 15 -timeout_error -i 127.0.0.1 -p 5065 -mp 7065 127.0.0.1:5060 \
		>$TMP/uas.out 2>&1 &
	local uas=$!
	sleep 0.3
	in_ns $WEB_NS sipp -sf $TOP/tests/integration/sipp/uac_call.xml -m 1 -nostdin \
		-timeout 15 -timeout_error -d 200 -key user 2001 -key target 2002 \
		-key domain ims.local -au 2001 -ap pw-2001-x -auth_uri 2002@ims.local \
		-i 127.0.0.1 -p 5064 -mp 7064 -trace_msg -message_file $TMP/uac.msg \
		127.0.0.1:5060 >$TMP/uac.out 2>&1
	local rc=$?
	wait $uas
	[ $rc = 0 ] && sed -n 's/^Call-ID: *//Ip' $TMP/uac.msg | tr -d '\r' | tail -1
}
sed "s/@EXPECT@/200/" $TOP/tests/integration/sipp/register.xml >$TMP/reg.xml
web_phones_add

# ---- on from the start ----
register 2001 5064
ok $? "2001 registers" || diag "$(tail -3 $TMP/reg-2001.out)"
[ "$(found 2001)" -ge 1 ]
ok $? "trace on: 2001's registration traced ($(found 2001))"

# ---- off ----
like "$(mml 'SET SIPTRACE: STATE=OFF;')" "RETCODE = 0" "MML: SET SIPTRACE: STATE=OFF"
like "$(mml 'DSP SIPTRACE;')" "RETCODE = 4 .*tracker is off" "... DSP SIPTRACE: the tracker is off"
is "$(api GET /api/siptrace '' "${bearer[@]}")" 404 "... GET /api/siptrace: 404"
in_ns $WEB_NS curl -s $WEB/metrics >$TMP/metrics
is "$(grep -c '^sluice_sip_trace_messages ' $TMP/metrics)" 0 "... /metrics: no tracker"
like "$(mml 'DSP CFG;' | grep -E '^ *http +trace ')" "http +trace +off" "... DSP CFG: [http] trace off"
like "$(grep 'turned the SIP tracker' $TMP/sluiced.log)" "admin turned the SIP tracker off" "... logged, with who"
like "$(mml 'SET SIPTRACE: STATE=OFF;')" "RETCODE = 0" "off again: nothing to do, RETCODE 0"
register 2002 5065
ok $? "2002 registers while the tracker is off" || diag "$(tail -3 $TMP/reg-2002.out)"
A=$(call)
ok $? "2001 calls 2002 while it is off ($A)" || diag "$(tail -5 $TMP/uac.out)"

# ---- on again, through the API ----
is "$(api PUT /api/siptrace '{"state": "on"}' "${bearer[@]}")" 200 "PUT /api/siptrace {state: on}: 200"
is "$(api GET /api/siptrace '' "${bearer[@]}")" 200 "... GET /api/siptrace answers again"
is "$(found 2002)" 0 "... nothing of 2002's registration or call made while off"
is "$(api GET "/api/siptrace?callid=$A" '' "${bearer[@]}")" 200 "... the call made while off by its Call-ID"
is "$(jbody '.tables[0].rows | length')" 0 "... has no messages"
is "$(found 2001)" 0 "... and the ring is fresh: 2001's old registration gone"
like "$(mml 'DSP CFG;' | grep -E '^ *http +trace ')" "http +trace +on" "... DSP CFG: [http] trace on"
register 2002 5065
ok $? "2002 registers again" || diag "$(tail -3 $TMP/reg-2002.out)"
is "$(found 2002)" 1 "... traced"
B=$(call)
ok $? "2001 calls 2002 ($B)" || diag "$(tail -5 $TMP/uac.out)"
api GET "/api/siptrace?callid=$B" '' "${bearer[@]}" >/dev/null
like "$(jbody '[.tables[0].rows[] | .message | split(" ")[0]] | join(" ")')" "^INVITE .*BYE" \
	"... its messages traced, INVITE to BYE"
like "$(in_ns $WEB_NS curl -s $WEB/metrics | grep '^sluice_sip_trace_messages ')" \
	"sluice_sip_trace_messages [1-9]" "... /metrics counts them"

# ---- off again: a call meanwhile leaves nothing ----
is "$(api PUT /api/siptrace '{"state": "off"}' "${bearer[@]}")" 200 "PUT /api/siptrace {state: off}: 200"
C=$(call)
ok $? "a call while off ($C)" || diag "$(tail -5 $TMP/uac.out)"
like "$(mml 'SET SIPTRACE: STATE=ON;')" "RETCODE = 0" "MML: SET SIPTRACE: STATE=ON"
api GET "/api/siptrace?callid=$C" '' "${bearer[@]}" >/dev/null
is "$(jbody '.tables[0].rows | length')" 0 "... the call made while off: no messages"

# ---- refused ----
like "$(mml 'SET SIPTRACE: STATE=MAYBE;')" "RETCODE = 3 .*STATE: ON or OFF" "STATE=MAYBE: RETCODE 3"
is "$(api PUT /api/siptrace '{"state": 1}' "${bearer[@]}")" 400 "PUT {state: 1}: 400"
is "$(api PUT /api/siptrace '' "${bearer[@]}")" 400 "PUT without a state: 400"
is "$(api PUT /api/siptrace '{"state": "off"}')" 401 "PUT without a login: 401"
is "$(api POST /api/operators '{"op": "viewer", "pwd": "viewer-pw-1", "role": "OPERATOR"}' "${bearer[@]}")" 200 \
	"an OPERATOR added"
web_login viewer viewer-pw-1
is "$(api PUT /api/siptrace '{"state": "off"}')" 403 "... it may not switch the tracker (403)"
is "$(api GET /api/siptrace '' "${bearer[@]}")" 200 "the tracker still on after all that"

kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
done_testing
