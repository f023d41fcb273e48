#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The RFC 4475 torture messages (tests/unit/sip-torture/, byte for byte)
# sent to a running sluiced over UDP and over TCP. Each gets the answer
# the RFC asks for: a valid request is handled (OPTIONS answered 200, the
# others challenged, as every subscriber request is), an invalid one gets
# 400 (505, 416, 420, 483 where the RFC names those) or, when no answer
# can be addressed, nothing; responses are never answered. Between
# messages sluiced must still answer OPTIONS.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter perl
[ -x "$SLUICED" ] || skip_all "build first (make)"
DIR=$TOP/tests/unit/sip-torture
[ -d $DIR ] || skip_all "no torture messages in $DIR"

S=sipt$$
netns_add $S
SIP=127.0.0.1:5060
sluice_conf $TMP/sluice.conf \
	sip.listen=$SIP sip.domain=example.com sip.auth_fail_limit=1000 log.level=debug
nsenter --net=/run/netns/$S "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
cleanup_add "kill $SPID"
wait_for $TMP/sluiced.log "running|cannot" 100
grep -q "\[sip\] listening" $TMP/sluiced.log || skip_all "sluiced has no SIP server"

# RFC 4475 section by section: valid (3.1.1), invalid (3.1.2), transaction
# (3.2), application (3.3), RFC 2543 (3.4). wsinv is a valid INVITE with a
# To tag: a request inside a dialog that does not exist, 481 (RFC 3261
# §12.2.2). cparam01 and cparam02 share a branch, so the second is a
# retransmission of the first and gets the first's 401 again (§17.2.3).
declare -A want=(
	[wsinv]=481 [intmeth]=407 [esc01]=407 [escnull]=401 [esc02]=407 [lwsdisp]=200
	[longreq]=407 [dblreq]=401 [semiuri]=200 [transports]=200 [mpart01]=407
	[unreason]=drop [noreason]=drop
	[badinv01]=400 [clerr]=400 [scalar02]=400 [scalarlg]=drop [quotbal]=400
	[ltgtruri]=400 [lwsruri]=400 [lwsstart]=400 [trws]=400 [escruri]=400
	[baddate]=400 [regbadct]=400 [badaspec]=400 [baddn]=400 [badvers]=505
	[mismatch01]=400 [mismatch02]=400 [bigcode]=drop [ncl]=400
	[badbranch]=200
	[insuf]=400 [unkscm]=416 [novelsc]=416 [unksm2]=400 [bext01]=420 [invut]=407
	[regaut01]=401 [multi01]=400 [mcl01]=400 [bcast]=drop [zeromf]=483
	[cparam01]=401 [cparam02]=401 [regescrt]=401 [sdp01]=407
	[inv2543]=407
)
# Over TCP a Content-Length beyond the bytes sent waits for the rest.
declare -A want_tcp=([clerr]=drop)

n=$(ls $DIR/*.dat | wc -l)
plan $((2 * n + 4))
is "$n" "${#want[@]}" "an expectation for every message"

send() { in_ns $S perl "$TOP/tests/tools/sipsend.pl" "$@"; }
ping() {	# a fresh OPTIONS each time (a new branch): its status
	printf 'OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKping%s\r\nMax-Forwards: 70\r\nFrom: <sip:ping@example.com>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: ping%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
		$SIP $RANDOM$RANDOM $SIP $RANDOM >$TMP/ping
	send udp $SIP $TMP/ping 2
}
alive=0
for proto in udp tcp; do
	for f in $DIR/*.dat; do
		name=$(basename $f .dat)
		exp=${want[$name]:-?}
		[ $proto = tcp ] && [ -n "${want_tcp[$name]:-}" ] && exp=${want_tcp[$name]}
		got=$(send $proto $SIP $f 1)
		is "$got" "$exp" "$name over $proto: $exp"
		[ "$(ping)" = 200 ] && alive=$((alive + 1))
	done
done
is "$alive" $((2 * n)) "sluiced answered OPTIONS after every message"

# Beyond SIP_MAX_MSG (64 KiB) over TCP: 513, and the connection closes.
perl -e 'my $b = "x" x 70000;
	print "MESSAGE sip:1@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKbig\r\n"
	. "Max-Forwards: 70\r\nFrom: <sip:a\@example.com>;tag=1\r\nTo: <sip:1\@example.com>\r\n"
	. "Call-ID: big\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n"
	. "Content-Length: " . length($b) . "\r\n\r\n$b"' >$TMP/big
is "$(send tcp $SIP $TMP/big 2)" 513 "a 70 KB message over TCP: 513 Message Too Large"
kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly after them all (no sanitizer report)"
done_testing
