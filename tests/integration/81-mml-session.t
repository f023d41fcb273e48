#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# An MML session over TCP with a running sluiced (userspace data path, in
# a namespace of its own): nothing before a login, failed logins delayed
# and counted, the reply layout line by line, every command's success
# path and an error path, roles, and LGO. The client is tests/tools/
# mmlc.pl, one connection per call, replies split at their ---    END.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter perl sipp
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
MMLC=$TOP/tests/tools/mmlc.pl

N=sml$$
netns_add $N
sluice_conf $TMP/sluice.conf \
	sip.listen=127.0.0.1:5060 sip.domain=ims.local \
	media.ports=31000-31099 \
	mml.listen=127.0.0.1:7777 mml.node=TESTNODE mml.admin_password=first-run-pw \
	cdr.export_dir=$TMP/export
nsenter --net=/run/netns/$N "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
cleanup_add "kill $SPID"
wait_for $TMP/sluiced.log "running|cannot" 100 || skip_all "sluiced did not start"
plan 109

mml() { in_ns $N perl $MMLC 127.0.0.1:7777 "$@"; }
# reply FILE N: the Nth reply of an mmlc.pl transcript.
reply() { awk -v n="$2" '/^=== / { k = $2 } k == n && !/^=== /' "$1" | tr -d '\r'; }
ms() { awk -v n="$2" '$1 == "===" && $2 == n { print $3 }' "$1"; }
retcode() { reply "$1" "$2" | sed -n 's/^RETCODE = \([0-9]*\).*/\1/p'; }
LOGIN='LGI: OP="admin", PWD="first-run-pw";'

like "$(cat $TMP/sluiced.log)" "\[mml\] first run: operator admin created with \[mml\] admin_password" \
	"the first run creates the admin from [mml] admin_password"
like "$(cat $TMP/sluiced.log)" "\[mml\] listening on 127.0.0.1:7777" "MML listens"

# Nothing before a login; a wrong password and an unknown operator look alike, delayed.
mml 'DSP SYSINFO:;' 'LGI: OP="admin", PWD="wrong";' 'LGI: OP="nobody", PWD="wrong";' \
	"$LOGIN" 'DSP SYSINFO:;' >$TMP/s1
is "$(retcode $TMP/s1 1)" 6 "before LGI a command gets RETCODE 6"
like "$(reply $TMP/s1 1)" "RETCODE = 6  Not logged in: LGI first" "... and says why"
is "$(retcode $TMP/s1 2)" 6 "a wrong password: RETCODE 6"
is "$(reply $TMP/s1 2 | sed -n 3,4p)" "$(reply $TMP/s1 3 | sed -n 3,4p | sed 's/nobody/admin/')" \
	"an unknown operator gets the same answer as a wrong password"
[ "$(ms $TMP/s1 2)" -ge 900 ]
ok $? "the first failed login is answered after a delay ($(ms $TMP/s1 2) ms)"
[ "$(ms $TMP/s1 3)" -ge 1900 ]
ok $? "the second after a longer one ($(ms $TMP/s1 3) ms)"
is "$(retcode $TMP/s1 4)" 0 "the right password logs in on the same connection"
is "$(retcode $TMP/s1 5)" 0 "... and DSP SYSINFO runs"
like "$(cat $TMP/sluiced.log)" "\[mml\] .*login as 'nobody' failed" "failed logins are logged"

# The layout, line by line.
mml "$LOGIN" 'ADD USER: USERNAME="1001", PASSWORD="alice-pw", DISPLAYNAME="Alice", PHONE="+4930123";' \
	'DSP USER: USERNAME="1001";' 'LGO;' >$TMP/s2
reply $TMP/s2 1 >$TMP/r1
like "$(sed -n 1p $TMP/r1)" '^\+\+\+    TESTNODE      [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' \
	"line 1: +++, the node, the date and time"
like "$(sed -n 2p $TMP/r1)" '^O&M    #[0-9]+$' "line 2: O&M #n"
is "$(sed -n 3p $TMP/r1)" '%%LGI: OP="admin", PWD="***";%%' "line 3: the command, its password hidden"
is "$(sed -n 4p $TMP/r1)" "RETCODE = 0  Operation succeeded" "line 4: RETCODE = 0"
is "$(sed -n '$p' $TMP/r1)" "---    END" "last line: ---    END"
n1=$(sed -n 's/^O&M    #//p' $TMP/r1)
n2=$(reply $TMP/s2 2 | sed -n 's/^O&M    #//p')
is "$n2" $((n1 + 1)) "replies are numbered in order"
is "$(retcode $TMP/s2 2)" 0 "ADD USER"
reply $TMP/s2 3 >$TMP/r3
is "$(sed -n 5,7p $TMP/r3 | sed 's/ *$//' | head -3 | tr '\n' '|')" "|Subscribers|-----------|" \
	"a table: a blank line, its title, underlined"
like "$(sed -n 8p $TMP/r3)" "^ *USERNAME +IMPU +DISPLAYNAME +PHONE +EMAIL +STATUS" "... the column names"
like "$(sed -n 9p $TMP/r3)" "^ *1001 +sip:1001@ims.local +Alice +\+4930123 +ACTIVE" "... a row"
is "$(sed -n 10p $TMP/r3)" "(Number of results = 1)" "... and the count"
is "$(tail -1 $TMP/s2)" "=== closed" "LGO closes the connection"

# Every command's success path.
REG=$TMP/reg.xml
sed "s/@EXPECT@/200/" $TOP/tests/integration/sipp/register.xml >$REG
in_ns $N sipp -sf $REG -m 1 -nostdin -timeout 10 -timeout_error -key user 1001 -key aor 1001 \
	-key domain ims.local -key expires 600 -au 1001 -ap alice-pw \
	-i 127.0.0.1 -p 5062 127.0.0.1:5060 >$TMP/reg.out 2>&1
ok $? "1001 registers (sipp)" || diag "$(tail -3 $TMP/reg.out)"
mml "$LOGIN" \
	'MOD USER: USERNAME="1001", STATUS="SUSPENDED", EMAIL="alice@example.org";' \
	'DSP USER;' \
	'DSP REG: USERNAME="1001";' \
	'RMV REG: USERNAME="1001";' \
	'DSP REG;' \
	'DSP CALL:;' \
	'DSP STREAM:;' \
	'DSP CDR: TYPE="REGISTER";' \
	'EXP CDR: TYPE="REGISTER";' \
	'DSP SYSINFO:;' \
	'DSP SRVSTAT:;' \
	'ADD BLACKLIST: PREFIX="192.0.2.0/24", REASON="test";' \
	'DSP BLACKLIST:;' \
	'RMV BLACKLIST: PREFIX="192.0.2.0/24";' \
	'SET LOG: LEVEL="debug";' \
	'DSP CFG:;' \
	'HELP:;' \
	'ADD OP: OP="watcher", PWD="watcher-pw", ROLE="OPERATOR";' \
	'DSP OP:;' \
	'CLR CDR: BEFORE="2000-01-01";' \
	'RMV USER: USERNAME="1001";' \
	'DSP USER: USERNAME="1001";' >$TMP/s3
for i in $(seq 2 21); do
	is "$(retcode $TMP/s3 $i)" 0 "$(awk -v n=$i '$1 == "===" && $2 == n { $1 = $2 = $3 = ""; print }' $TMP/s3 | sed 's/^ *//')"
done
like "$(reply $TMP/s3 3)" "1001 +sip:1001@ims.local +Alice +\+4930123 +alice@example.org +SUSPENDED" \
	"MOD USER changed the status and the e-mail"
like "$(reply $TMP/s3 4)" "sip:1001@ims.local +sip:1001@127.0.0.1:5062.* 127.0.0.1:5062 +UDP" \
	"DSP REG shows the binding and where it came from"
like "$(reply $TMP/s3 6)" "\(Number of results = 0\)" "RMV REG removed it"
like "$(reply $TMP/s3 9)" "[0-9]+ +REGISTER +.* 1001 +1001 +OK +200" "DSP CDR: the REGISTER event row"
like "$(reply $TMP/s3 10)" "^record_id,record_type,call_state,date,start_time,end_time,call_id" \
	"EXP CDR: the CSV header"
like "$(reply $TMP/s3 11)" "DATAPATH +userspace" "DSP SYSINFO: the data path"
like "$(reply $TMP/s3 12)" "MML LOGIN FAILURES +2" "DSP SRVSTAT counts the failed logins"
like "$(reply $TMP/s3 14)" "192.0.2.0/24 +test" "DSP BLACKLIST shows what ADD BLACKLIST added"
like "$(reply $TMP/s3 17)" "mml +admin_password +\*\*\*" "DSP CFG hides the password"
like "$(reply $TMP/s3 17)" "sip +listen +127.0.0.1:5060" "... and shows the rest"
like "$(reply $TMP/s3 17)" "log +level +debug" "... with the level SET LOG set"
like "$(reply $TMP/s3 18)" "CLR CDR: remove old call detail records \(ADMIN\)" "HELP lists the commands"
like "$(reply $TMP/s3 18)" "    BEFORE +YYYY-MM-DD, at least 7 days ago \(required\)" "... with their parameters"
like "$(reply $TMP/s3 20)" "watcher +OPERATOR" "DSP OP shows the new operator"
is "$(retcode $TMP/s3 23)" 4 "RMV USER removed it: DSP USER finds none (RETCODE 4)"
like "$(cat $TMP/sluiced.log)" "\[mml\] admin set the log level to debug" "SET LOG is logged"

# Error paths: none closes the connection.
mml "$LOGIN" 'DSP USER: USERNAME="1001;' 'FOO BAR:;' 'ADD USER: USERNAME="x";' \
	'DSP USER: COLOR="red";' 'RMV CALL: CALLID="nope";' 'CLR CDR: BEFORE="2099-01-01";' \
	'ADD USER: USERNAME="1002", PASSWORD="pw2";' 'ADD USER: USERNAME="1002", PASSWORD="pw2";' \
	>$TMP/s4
is "$(retcode $TMP/s4 2)" 1 "a syntax error: RETCODE 1"
like "$(reply $TMP/s4 2)" "missing closing quote" "... with the reason"
is "$(retcode $TMP/s4 3)" 2 "an unknown command: RETCODE 2"
is "$(retcode $TMP/s4 4)" 3 "a missing parameter: RETCODE 3"
is "$(retcode $TMP/s4 5)" 3 "an unknown parameter: RETCODE 3"
is "$(retcode $TMP/s4 6)" 4 "RMV CALL of no call: RETCODE 4"
like "$(reply $TMP/s4 7)" "RETCODE = 3  BEFORE is within the last 7 days" "CLR CDR keeps the last 7 days"
is "$(retcode $TMP/s4 9)" 5 "ADD USER twice: RETCODE 5"
is "$(tail -1 $TMP/s4)" "=== open" "after all the errors the connection is still open"

# Roles: OPERATOR looks, does not change.
mml 'LGI: OP="watcher", PWD="watcher-pw";' 'DSP USER:;' 'RMV USER: USERNAME="1002";' >$TMP/s5
is "$(retcode $TMP/s5 2)" 0 "OPERATOR may DSP"
like "$(reply $TMP/s5 3)" "RETCODE = 6  RMV USER needs the ADMIN role" "... and may not RMV"

# The old server's form.
mml "$LOGIN" 'DSP USER USERNAME=1002' >$TMP/s6
like "$(reply $TMP/s6 2)" "1002 +sip:1002@ims.local" "the previous server's form DSP USER USERNAME=1002"

# A subscriber's own digest algorithms: ADD and MOD USER set them, DSP USER
# shows them; held to SHA-256 it is challenged with it alone, and sipp
# (MD5 only) cannot register it until DIGEST="DEFAULT" gives it [sip]
# digest's again.
sipc() { in_ns $N perl $TOP/tests/tools/sipc.pl "$@" 127.0.0.1:5060; }
mml "$LOGIN" 'ADD USER: USERNAME="1201", PASSWORD="pw-1201", DIGEST="sha-256, md5";' \
	'DSP USER: USERNAME="1201";' 'MOD USER: USERNAME="1201", DIGEST="SHA-256";' \
	'DSP USER: USERNAME="1201";' 'MOD USER: USERNAME="1201", DIGEST="sha-512";' >$TMP/s10
is "$(retcode $TMP/s10 2)" 0 "ADD USER with DIGEST"
like "$(reply $TMP/s10 3)" "^ *1201 +sip:1201@ims.local .* +SHA-256, MD5 *\$" \
	"DSP USER shows its algorithms, in order"
is "$(retcode $TMP/s10 4)" 0 "MOD USER DIGEST"
like "$(reply $TMP/s10 5)" "^ *1201 +sip:1201@ims.local .* +SHA-256 *\$" "... DSP USER shows SHA-256"
like "$(reply $TMP/s10 6)" "RETCODE = 3  DIGEST: " "an unknown algorithm: RETCODE 3"
out=$(sipc --user 1201 --print)
like "$out" "algorithm=SHA-256" "held to SHA-256, it is challenged with SHA-256 ..."
is "$(printf '%s\n' "$out" | grep -c 'algorithm=')" 1 "... alone"
in_ns $N sipp -sf $REG -m 1 -nostdin -timeout 5 -timeout_error -key user 1201 -key aor 1201 \
	-key domain ims.local -key expires 600 -au 1201 -ap pw-1201 \
	-i 127.0.0.1 -p 5066 127.0.0.1:5060 >$TMP/reg3.out 2>&1
[ $? != 0 ]
ok $? "sipp, MD5 only, cannot register it"
like "$(sipc --user 1201 --pass pw-1201 --answer-alg md5)" "401" "an MD5 answer is refused"
like "$(sipc --user 1201 --pass pw-1201)" "200" "a SHA-256 one registers"
mml "$LOGIN" 'MOD USER: USERNAME="1201", DIGEST="DEFAULT";' 'DSP USER: USERNAME="1201";' \
	>$TMP/s11
like "$(reply $TMP/s11 3)" "^ *1201 +sip:1201@ims.local .* +DEFAULT *\$" \
	"DIGEST=\"DEFAULT\": [sip] digest's again"
in_ns $N sipp -sf $REG -m 1 -nostdin -timeout 5 -timeout_error -key user 1201 -key aor 1201 \
	-key domain ims.local -key expires 600 -au 1201 -ap pw-1201 \
	-i 127.0.0.1 -p 5066 127.0.0.1:5060 >$TMP/reg3.out 2>&1
ok $? "... and sipp registers it" || diag "$(tail -3 $TMP/reg3.out)"

# DSP CALL and RMV CALL on a call that is up: BYE to both phones, the CDR closed as admin.
mml "$LOGIN" 'ADD USER: USERNAME="1101", PASSWORD="pw-1101";' \
	'ADD USER: USERNAME="1102", PASSWORD="pw-1102";' >$TMP/s7
in_ns $N sipp -sf $REG -m 1 -nostdin -timeout 10 -timeout_error -key user 1102 -key aor 1102 \
	-key domain ims.local -key expires 600 -au 1102 -ap pw-1102 \
	-i 127.0.0.1 -p 5064 127.0.0.1:5060 >$TMP/reg2.out 2>&1
ok $? "1102 registers" || diag "$(tail -3 $TMP/reg2.out)"
in_ns $N sipp -sf $TOP/tests/integration/sipp/uas_answer.xml -m 1 -nostdin -timeout 20 \
	-timeout_error -i 127.0.0.1 -p 5064 -mp 7064 127.0.0.1:5060 >$TMP/uas.out 2>&1 &
UAS=$!
sed "s/@EXPECT@/200/; s/@REASON@/true/" $TOP/tests/integration/sipp/uac_wait_bye.xml >$TMP/uac.xml
in_ns $N sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 20 -timeout_error -key user 1101 \
	-key target 1102 -key domain ims.local -au 1101 -ap pw-1101 \
	-i 127.0.0.1 -p 5065 -mp 7065 127.0.0.1:5060 >$TMP/uac.out 2>&1 &
UAC=$!
wait_for $TMP/sluiced.log "1102@ims.local answered" 50
mml "$LOGIN" 'DSP CALL:;' >$TMP/s8
like "$(reply $TMP/s8 2)" "sip:1101@ims.local +sip:1102@ims.local +ACTIVE" "DSP CALL shows the call, up"
callid=$(reply $TMP/s8 2 | awk '/sip:1101@ims.local/ { print $1 }')
mml "$LOGIN" "RMV CALL: CALLID=\"$callid\";" 'DSP CALL:;' >$TMP/s9
is "$(retcode $TMP/s9 2)" 0 "RMV CALL"
wait $UAC
ok $? "... the caller got a BYE with a Reason" || diag "$(tail -5 $TMP/uac.out)"
wait $UAS
ok $? "... and so did the callee"
like "$(reply $TMP/s9 3)" "\(Number of results = 0\)" "... and the call is gone"
sleep 0.1
is "$(sqlite3 $TMP/sluice.db "SELECT disposition, close_reason, released_by FROM cdr
	WHERE a_call_id = '$callid'")" "ANSWERED|admin|system" "... its CDR closed as admin"

# sluicectl mml, with a credentials file only its owner may read.
(umask 077; printf 'user=admin\npassword=first-run-pw\n' >$TMP/cred)
out=$(in_ns $N "$SLUICECTL" -c $TMP/sluice.conf mml -a $TMP/cred 'DSP USER: USERNAME="1002";')
ok $? "sluicectl mml runs a command"
like "$out" "1002 +sip:1002@ims.local" "... and prints its reply"

# SIGTERM hangs up a call that is up, with BYE to both phones, and closes its CDR.
in_ns $N sipp -sf $TOP/tests/integration/sipp/uas_answer.xml -m 1 -nostdin -timeout 20 \
	-timeout_error -i 127.0.0.1 -p 5064 -mp 7064 127.0.0.1:5060 >$TMP/uas2.out 2>&1 &
UAS=$!
in_ns $N sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 20 -timeout_error -key user 1101 \
	-key target 1102 -key domain ims.local -au 1101 -ap pw-1101 \
	-i 127.0.0.1 -p 5065 -mp 7065 127.0.0.1:5060 >$TMP/uac2.out 2>&1 &
UAC=$!
for ((i = 0; i < 50; i++)); do
	[ "$(grep -c '1102@ims.local answered' $TMP/sluiced.log)" = 2 ] && break
	sleep 0.1
done
kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
wait $UAC
ok $? "SIGTERM: the caller got a BYE with a Reason" || diag "$(tail -5 $TMP/uac2.out)"
wait $UAS
ok $? "... and so did the callee"
is "$(sqlite3 $TMP/sluice.db "SELECT disposition, close_reason, released_by, open FROM cdr
	WHERE record_type = 'CALL' ORDER BY id DESC LIMIT 1")" "ANSWERED|shutdown|system|0" \
	"... and its CDR is closed as shutdown"

# A record left open by a crash (no call came back for it) is closed at the next start.
sqlite3 $TMP/sluice.db "INSERT INTO cdr (id, record_type, open, invite_ms, answer_ms, disposition)
	VALUES (9999, 'CALL', 1, 1700000000000, 1700000001000, 'ANSWERED')"
nsenter --net=/run/netns/$N "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced2.log 2>&1 &
SPID=$!
wait_for $TMP/sluiced2.log "running|cannot" 100
is "$(sqlite3 $TMP/sluice.db "SELECT open, close_reason, released_by, end_ms > answer_ms FROM cdr
	WHERE id = 9999")" "0|restart|system|1" "a CDR still open at start is closed as restart"
like "$(cat $TMP/sluiced2.log)" "\[cdr\] 1 record of calls lost in a restart closed" "... and logged"
is "$(grep -c 'first run' $TMP/sluiced2.log)" 0 "the second start creates no operator"

# EXP CDR FILE=: a file name in [cdr] export_dir, never a path, no link followed.
mkdir -p $TMP/export
ln -s $TMP/link-target $TMP/export/link.csv
mml "$LOGIN" 'EXP CDR: FILE="calls.csv";' 'EXP CDR: FILE="../escape.csv";' \
	'EXP CDR: FILE="/tmp/sluice-escape-'$$'.csv";' 'EXP CDR: FILE="link.csv";' >$TMP/s9
is "$(retcode $TMP/s9 2)" 0 "EXP CDR FILE= writes a file"
like "$(reply $TMP/s9 2)" "FILE +$TMP/export/calls.csv" "... in [cdr] export_dir"
like "$(head -1 $TMP/export/calls.csv)" "^record_id,record_type,call_state," "... as CSV"
like "$(reply $TMP/s9 3)" "RETCODE = [1-9][0-9]* +FILE \.\./escape\.csv: a file name in \[cdr\] export_dir, not a path" \
	"a relative path is refused with the reason"
ok "$([ ! -e $TMP/escape.csv ]; echo $?)" "... and writes nothing"
like "$(reply $TMP/s9 4)" "RETCODE = [1-9][0-9]* +FILE /tmp/sluice-escape-$$.csv: a file name" \
	"an absolute path too"
like "$(reply $TMP/s9 5)" "RETCODE = [1-9][0-9]* +FILE link\.csv: " "a symbolic link there is not followed"
ok "$([ ! -e $TMP/link-target ]; echo $?)" "... and its target is not created"
kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly again"
done_testing
