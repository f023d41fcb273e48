#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# NG's ICE=force (rtpp-flags, as Kamailio's rtpengine module sends it):
# sluiced's ICE-lite agent. Namespaces: caller, relay (sluiced with XDP),
# callee. The SDP each side gets carries the relay's candidates and its
# own credentials, none of the other side's ICE; a check signed with those
# credentials gets a success response with the checker's address, signed
# and fingerprinted (tests/tools/stunc.pl checks both with arithmetic of
# its own), a wrong password 401; checks reach neither other side. A
# nominated check (USE-CANDIDATE) latches its leg. Then RTP both ways goes
# into the kernel, and a consent check from a latched peer still reaches
# sluiced (the XDP program passes STUN up), is answered and is not
# forwarded; so after a hand-over (SIGUSR2) to a new sluiced, which
# answers with the credentials it took from the database.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ng-lib.sh"

perl -MDigest::SHA -MCompress::Zlib -e1 2>/dev/null || skip_all "no Digest::SHA / Compress::Zlib"
ng_setup si 10.79 10.79.1.1 32000-32099 auto 30
plan 25

stunc() { local ns=$1; shift; in_ns $ns perl "$TOP/tests/tools/stunc.pl" "$@"; }
attr() { sed -n "s/^a=$1:\(.*\)/\1/p" | tr -d '\r'; }
unlike() { if printf "%s" "$1" | grep -Eq -- "$2"; then ok 1 "$3"; else ok 0 "$3"; fi; }
verdict() { ctl verdicts | awk -v v=$1 '$1 == v { print $2 }'; }
# A phone doing ICE itself: its own credentials and a host candidate.
sdp() {	# sdp FILE ADDR PORT UFRAG
	printf 'v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\nm=audio %s RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=candidate:1 1 UDP 2130706431 %s %s typ host\r\na=candidate:1 2 UDP 2130706430 %s %s typ host\r\n' \
		$2 $2 $4 "${4}passwordpasswordpw" $3 $2 $3 $2 $(($3 + 1)) >$1
}
# watch NS IF LOCAL: a receiver counting every datagram to LOCAL for 1.5 s of silence.
watch() {
	in_ns $1 "$RTPIO" recv $2 $3 1000 1500 >$TMP/watch &
	WATCH=$!
	wait_for $TMP/watch ready
}

sdp $TMP/offer 10.79.1.2 40000 Cllr
out=$(ng offer call-id=ice-1 from-tag=a rtpp-flags="ICE=force replace-origin" sdp=@$TMP/offer)
ok $? "NG offer with ICE=force accepted"
PB=$(printf '%s\n' "$out" | sed -n 's/^m=audio \([0-9]*\) .*/\1/p')
like "$out" "a=ice-lite" "the callee's SDP says the relay is an ICE-lite agent"
like "$out" "a=candidate:1 1 UDP 2130706431 10\.79\.1\.1 $PB typ host" "with the relay's RTP candidate"
like "$out" "a=candidate:1 2 UDP 2130706430 10\.79\.1\.1 $((PB + 1)) typ host" "and its RTCP one"
unlike "$out" "Cllr|10\.79\.1\.2" "and nothing of the caller's ICE"
UB=$(printf '%s\n' "$out" | attr ice-ufrag)
PWB=$(printf '%s\n' "$out" | attr ice-pwd)
sdp $TMP/answer 10.79.2.2 50000 Cllee
out=$(ng answer call-id=ice-1 from-tag=a to-tag=b rtpp-flags="ICE=force" sdp=@$TMP/answer)
ok $? "NG answer with ICE=force accepted"
PA=$(printf '%s\n' "$out" | sed -n 's/^m=audio \([0-9]*\) .*/\1/p')
UA=$(printf '%s\n' "$out" | attr ice-ufrag)
PWA=$(printf '%s\n' "$out" | attr ice-pwd)
like "$out" "a=candidate:1 1 UDP 2130706431 10\.79\.1\.1 $PA typ host" "the caller's SDP has the relay's candidate too"
[ -n "$PA" ] && [ -n "$PB" ] && [ -n "$UA" ] && [ -n "$UB" ] ||
	{ echo "Bail out! no ports or credentials from NG: $(tail -5 $TMP/sluiced.log)"; exit 1; }
ok "$([ "$UA:$PWA" != "$UB:$PWB" ]; echo $?)" "each leg has credentials of its own ($UA, $UB)"
diag "caller -> 10.79.1.1:$PA ($UA), callee -> 10.79.1.1:$PB ($UB)"

# Checks: wrong password first (401, nothing latched), then the right one.
watch $C c0 10.79.1.2:40000
r=$(stunc $E 10.79.2.2:50000 10.79.1.1:$PB "$UB:Cllee" wrongpasswordwrongpassw use-candidate)
is "$r" "error 401 integrity none fingerprint ok" "a check with the wrong password gets 401, unsigned"
r=$(stunc $E 10.79.2.2:50000 10.79.1.1:$PB "XXXX:Cllee" "$PWB" use-candidate)
is "$r" "error 401 integrity none fingerprint ok" "a check with another ufrag gets 401"
like "$(ctl flow list)" "^0 flows$" "rejected checks latch nothing"
r=$(stunc $E 10.79.2.2:50000 10.79.1.1:$PB "$UB:Cllee" "$PWB" use-candidate)
is "$r" "success mapped 10.79.2.2:50000 integrity ok fingerprint ok" \
	"the callee's check: success, its address, signed with the relay's password, fingerprinted"
wait $WATCH
like "$(tail -1 $TMP/watch)" "^frames 0 sock 0 " "the caller saw none of the callee's checks"
watch $E e0 10.79.2.2:50000
r=$(stunc $C 10.79.1.2:40000 10.79.1.1:$PA "$UA:Cllr" "$PWA" use-candidate)
is "$r" "success mapped 10.79.1.2:40000 integrity ok fingerprint ok" "the caller's check too"
wait $WATCH
like "$(tail -1 $TMP/watch)" "^frames 0 sock 0 " "the callee saw none of the caller's"
like "$(ctl flow list)" "^2 flows$" "both nominated checks latched their legs: the call is in the kernel"

# talk FROM_NS FROM DST_PORT COUNT SSRC TO_NS TO_IF TO
talk() { rtpio_talk send $1 $2 10.79.1.1:$3 "${@:4}"; }
r=$(talk $C 10.79.1.2:40000 $PA 100 0xca11 $E e0 10.79.2.2:50000)
like "$r" "^frames 100 sock 100 bad_ip_csum 0 bad_udp_csum 0 .*from 10\.79\.1\.1:$PB " "100 RTP packets to the callee"
r=$(talk $E 10.79.2.2:50000 $PB 100 0xca11ee $C c0 10.79.1.2:40000)
like "$r" "^frames 100 sock 100 bad_ip_csum 0 bad_udp_csum 0 .*from 10\.79\.1\.1:$PA " "100 back to the caller"
like "$(ctl flow list)" "^10\.79\.1\.1:$PA from 10\.79\.1\.2:40000 .*: packets 100 " "the kernel forwarded the caller's"

# Consent (RFC 7675) from the latched caller, in the kernel's stream.
stun0=$(verdict pass_stun)
watch $E e0 10.79.2.2:50000
r=$(stunc $C 10.79.1.2:40000 10.79.1.1:$PA "$UA:Cllr" "$PWA")
is "$r" "success mapped 10.79.1.2:40000 integrity ok fingerprint ok" \
	"a consent check from the latched caller is answered by sluiced"
wait $WATCH
like "$(tail -1 $TMP/watch)" "^frames 0 sock 0 " "and not forwarded to the callee"
is "$(( $(verdict pass_stun) - stun0 ))" 1 "the XDP program passed it up as STUN"

# A hand-over: the next sluiced answers with the credentials it adopted.
kill -USR2 $SPID
wait $SPID
ng_start
for i in $(seq 100); do [ "$(grep -c ' running ' $TMP/sluiced.log)" -ge 2 ] && break; sleep 0.1; done
like "$(cat $TMP/sluiced.log)" "adopted 1 media session" "the next sluiced adopted the call"
r=$(stunc $E 10.79.2.2:50000 10.79.1.1:$PB "$UB:Cllee" "$PWB")
is "$r" "success mapped 10.79.2.2:50000 integrity ok fingerprint ok" \
	"and answers the callee's consent check with the same credentials"

ng delete call-id=ice-1 from-tag=a >/dev/null
kill -TERM $SPID
wait $SPID
is $? 0 "sluiced stops cleanly"
done_testing
