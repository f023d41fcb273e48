# SPDX-License-Identifier: GPL-2.0-only
#
# What the web tests share (51-59); source after lib.sh.

# web_sluiced NS [SECTION.KEY=VALUE...]: sluiced in NS, userspace relay on
# loopback, SIP on 127.0.0.1:5060, MML on :7777 and the web listener on
# 127.0.0.1:8080 with the console from web/, the operator admin with
# password web-admin-pw, the bearer token $TOKEN; its log in
# $TMP/sluiced.log, its pid in SPID.
TOKEN=test-token-0123456789abcdef
WEB=http://127.0.0.1:8080
web_sluiced() {
	local ns=$1
	shift
	sluice_conf $TMP/sluice.conf \
		sip.listen=127.0.0.1:5060 sip.domain=ims.local media.ports=31000-31099 \
		mml.listen=127.0.0.1:7777 mml.admin_password=web-admin-pw \
		http.listen=127.0.0.1:8080 http.root=$TOP/web http.token=$TOKEN \
		cdr.export_dir=$TMP/export "$@"
	nsenter --net=/run/netns/$ns "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
	SPID=$!
	cleanup_add "kill $SPID"
	wait_for $TMP/sluiced.log "running|cannot" 100 || skip_all "sluiced did not start"
	grep -q "\[http\] listening on 127.0.0.1:8080" $TMP/sluiced.log ||
		skip_all "no web listener: $(grep http $TMP/sluiced.log | tail -1)"
}

# api METHOD PATH [JSON] [CURL ARGS...]: in $WEB_NS, with the cookie jar
# $TMP/jar and the CSRF token $CSRF (when set); the body in $TMP/body, the
# status printed; every body also appended to $TMP/bodies.
api() {
	local method=$1 path=$2 body=${3-}
	local args=(-s -o $TMP/body -w '%{http_code}' -X "$method" -b $TMP/jar -c $TMP/jar)
	shift 3 2>/dev/null || shift $#
	[ -n "${CSRF-}" ] && args+=(-H "X-CSRF-Token: $CSRF")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	in_ns $WEB_NS curl "${args[@]}" "$@" "$WEB$path"
	{ cat $TMP/body; echo; } >>$TMP/bodies 2>/dev/null
}

# jbody FILTER: jq over the last body.
jbody() { jq -r "$1" $TMP/body 2>/dev/null; }

# web_login OP PASSWORD: a session in $TMP/jar, its CSRF token in CSRF.
web_login() {
	CSRF=
	api POST /api/login "{\"op\": \"$1\", \"password\": \"$2\"}" >/dev/null
	CSRF=$(jbody .csrf)
}

# web_phones_add: subscribers 2001 and 2002 (pw-2001-x, pw-2002-x) added
# through the API with the bearer token, for web_phones_register.
web_phones_add() {
	local u
	for u in 2001 2002; do
		api POST /api/subscribers "{\"username\": \"$u\", \"password\": \"pw-$u-x\"}" \
			-H "Authorization: Bearer $TOKEN" >/dev/null
	done
}

# web_phones_register WHAT: phones 2001 (port 5064) and 2002 (5065), with
# the passwords pw-2001-x and pw-2002-x, register from $WEB_NS; one test
# each, described as "USER WHAT".
web_phones_register() {
	local u
	sed "s/@EXPECT@/200/" $TOP/tests/integration/sipp/register.xml >$TMP/reg.xml
	for u in 2001:5064 2002:5065; do
		in_ns $WEB_NS sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error \
			-key user ${u%:*} -key aor ${u%:*} -key domain ims.local -key expires 600 \
			-au ${u%:*} -ap pw-${u%:*}-x -i 127.0.0.1 -p ${u#*:} 127.0.0.1:5060 \
			>$TMP/reg-${u%:*}.out 2>&1
		ok $? "${u%:*} $1" || diag "$(tail -3 $TMP/reg-${u%:*}.out)"
	done
}

# web_phones_call TIMEOUT: 2002 answers and 2001 calls it, both in the
# background (pids in UAS and UAC), the caller waiting for a BYE for at
# most TIMEOUT seconds; returns once sluiced logs the answer (5 s at most).
web_phones_call() {
	in_ns $WEB_NS sipp -sf $TOP/tests/integration/sipp/uas_answer.xml -m 1 -nostdin \
		-timeout $1 -timeout_error -i 127.0.0.1 -p 5065 -mp 7065 127.0.0.1:5060 \
		>$TMP/uas.out 2>&1 &
	UAS=$!
	sed "s/@EXPECT@/200/; s/@REASON@/true/" $TOP/tests/integration/sipp/uac_wait_bye.xml \
		>$TMP/uac.xml
	in_ns $WEB_NS sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout $1 -timeout_error \
		-key user 2001 -key target 2002 -key domain ims.local -au 2001 -ap pw-2001-x \
		-i 127.0.0.1 -p 5064 -mp 7064 127.0.0.1:5060 >$TMP/uac.out 2>&1 &
	UAC=$!
	wait_for $TMP/sluiced.log "2002@ims.local answered" 50
}
