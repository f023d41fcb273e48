#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# HEP3 copies to a Homer collector ([hep] collector): two sipp phones
# register and call through sluiced (userspace relay, in a namespace of
# its own) while tests/tools/hepcat.pl collects what sluiced sends: every
# datagram a well-formed HEP3 packet carrying SIP, and each phone's
# messages, as sipp logged them, all there, once each, with the addresses
# and ports they travelled between; and, every 5 s, a quality report of
# each stream direction (protocol type 5, heplify's RTCP JSON) correlated
# to the call by its Call-ID. (Debian 12's tshark has no HEP
# dissector; hepcat.pl reads the format on its own.)
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter sipp perl
[ -x "$SLUICED" ] || skip_all "build first (make)"

N=shep$$
netns_add $N
sluice_conf $TMP/sluice.conf sip.listen=127.0.0.1:5060 sip.domain=ims.local \
	media.ports=31200-31299 mml.listen=off hep.collector=127.0.0.1:9060 hep.capture_id=4242
cat >$TMP/users.json <<JSON
{ "2001": { "username": "2001", "password": "pw-2001-x" },
  "2002": { "username": "2002", "password": "pw-2002-x" } }
JSON
[ -x "$SLUICECTL" ] || skip_all "build first (make)"
"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null ||
	skip_all "import-users failed"
nsenter --net=/run/netns/$N perl $TOP/tests/tools/hepcat.pl 127.0.0.1:9060 >$TMP/hep.txt \
	2>$TMP/hepcat.err &
HEPCAT=$!
cleanup_add "kill $HEPCAT"
wait_for $TMP/hepcat.err listening 50 || skip_all "hepcat.pl did not start: $(cat $TMP/hepcat.err)"
nsenter --net=/run/netns/$N "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
SPID=$!
cleanup_add "kill $SPID"
wait_for $TMP/sluiced.log "running|cannot" 100 || skip_all "sluiced did not start"
plan 17

like "$(cat $TMP/sluiced.log)" "HEP3 copy of every SIP message goes to 127.0.0.1:9060 \(capture id 4242\)" \
	"sluiced says where the copies go"
SIPP_DIR=$TOP/tests/integration/sipp
sed "s/@EXPECT@/200/" $SIPP_DIR/register.xml >$TMP/reg.xml
for u in 2001:5064 2002:5065; do
	in_ns $N sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user ${u%:*} \
		-key aor ${u%:*} -key domain ims.local -key expires 600 -au ${u%:*} \
		-ap pw-${u%:*}-x -i 127.0.0.1 -p ${u#*:} -trace_msg -message_file $TMP/reg-${u%:*}.msg \
		127.0.0.1:5060 >$TMP/reg-${u%:*}.out 2>&1
	ok $? "${u%:*} registers" || diag "$(tail -3 $TMP/reg-${u%:*}.out)"
done
# A phone's messages: what sipp logged ("message sent" or "received"), by
# Call-ID and CSeq (and code, for responses).
msgs() {	# msgs FILE: one line per message, "CALLID|CSEQ|CODE"
	awk '/message (sent|received)/ { inm = 1; first = ""; cid = ""; cseq = ""; next }
	     inm && first == "" && NF { first = $0; next }
	     inm && tolower($1) == "call-id:" { cid = $2 }
	     inm && tolower($1) == "cseq:" { cseq = $2 " " $3 }
	     inm && NF == 0 && first != "" {
		code = ""; if (first ~ /^SIP\/2\.0/) { split(first, f, " "); code = f[2] }
		print cid "|" cseq "|" code; inm = 0 }' "$1" | tr -d '\r' | sort
}
# Both phones play G.711 (4.7 s) once the call is up, and the call lasts
# 7 s: a quality report (every 5 s) falls within it.
PCAP=/usr/share/sip-tester/g711a.pcap
PLAY='<nop><action><exec play_pcap_audio="'$PCAP'"/></action></nop>'
sed "s|^  <pause/>|  $PLAY\n  <pause/>|" $SIPP_DIR/uac_call.xml >$TMP/uac.xml
sed "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $PLAY|" $SIPP_DIR/uas_answer.xml >$TMP/uas.xml
in_ns $N sipp -sf $TMP/uas.xml -m 1 -nostdin -timeout 30 -timeout_error \
	-i 127.0.0.1 -p 5065 -mp 7065 -trace_msg -message_file $TMP/uas.msg 127.0.0.1:5060 \
	>$TMP/uas.out 2>&1 &
UAS=$!
in_ns $N sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 30 -timeout_error -key user 2001 \
	-key target 2002 -key domain ims.local -d 7000 -au 2001 -ap pw-2001-x -i 127.0.0.1 \
	-p 5064 -mp 7064 -trace_msg -message_file $TMP/uac.msg 127.0.0.1:5060 >$TMP/uac.out 2>&1
ok $? "2001 calls 2002, media both ways, and hangs up" || diag "$(tail -5 $TMP/uac.out)"
wait $UAS
sleep 0.5
kill $HEPCAT
wait $HEPCAT 2>/dev/null

frames=$(grep -c '^3|' $TMP/hep.txt)
[ "$frames" -gt 0 ]
ok $? "sluiced sent HEP datagrams of SIP ($frames)"
is "$(awk -F'|' '$1 == 3 && $2 == 4242 && $3 != "" && $8 == 17 && $9 == ""' $TMP/hep.txt | wc -l)" "$frames" \
	"every one well-formed HEP3 from capture agent 4242, SIP over UDP" ||
	diag "$(awk -F'|' '$9 != ""' $TMP/hep.txt | head -3)"

# Quality reports (protocol type 5, heplify's RTCP JSON), by Call-ID.
cid=$(msgs $TMP/uac.msg | head -1 | cut -d'|' -f1)
reports=$(grep -c '^R|' $TMP/hep.txt)
[ "$reports" -ge 2 ]
ok $? "quality reports sent for the call's two directions ($reports)" || diag "$(grep -v '^3|' $TMP/hep.txt | head -3)"
is "$(awk -F'|' '$1 == "R" && ($2 != 4242 || $3 != "'$cid'" || $4 == "" || $8 != 17 || $9 != "")' $TMP/hep.txt | head -3)" "" \
	"... each well formed, correlated to the caller's Call-ID, with loss, jitter and MOS"
like "$(awk -F'|' '$1 == "R" { print $6 "->" $7 }' $TMP/hep.txt | sort -u | tr '\n' ' ')" \
	"127.0.0.1:7064->127.0.0.1:312[0-9][0-9] .*127.0.0.1:7065->127.0.0.1:312[0-9][0-9]|127.0.0.1:7065->127.0.0.1:312[0-9][0-9] .*127.0.0.1:7064->127.0.0.1:312[0-9][0-9]" \
	"... from each phone's RTP to sluiced's relay port"
like "$(awk -F'|' '$1 == "R" { print $5 }' $TMP/hep.txt | sort -n | tail -1)" "^[1-9][0-9]+$" \
	"... counting the packets received"

hep_of() {	# hep_of CALLID: the copies of that dialog, "CALLID|CSEQ|CODE"
	awk -F'|' -v c="$1" '$1 == 3 && $3 == c { print $3 "|" $4 "|" $5 }' $TMP/hep.txt | sort
}
for f in reg-2001 reg-2002 uac uas; do
	cid=$(msgs $TMP/$f.msg | head -1 | cut -d'|' -f1)
	want=$(msgs $TMP/$f.msg)
	n=$(printf '%s\n' "$want" | grep -c .)
	is "$(hep_of "$cid")" "$want" "$f: each of its $n messages copied once (Call-ID $cid)"
done
# The INVITE from the caller: from its address and port to sluiced's.
is "$(awk -F'|' '$4 == "1 INVITE" && $5 == "" && $6 == "127.0.0.1:5064" { print $6 "->" $7; exit }' $TMP/hep.txt)" \
	"127.0.0.1:5064->127.0.0.1:5060" "the caller's INVITE: its source and destination"
is "$(awk -F'|' '$4 == "1 INVITE" && $5 == "" && $7 == "127.0.0.1:5065" { print $6 "->" $7; exit }' $TMP/hep.txt)" \
	"127.0.0.1:5060->127.0.0.1:5065" "... and sluiced's INVITE to the callee"
kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)" || diag "$(tail -20 $TMP/sluiced.log)"
done_testing
