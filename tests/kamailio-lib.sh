# SPDX-License-Identifier: GPL-2.0-only
#
# What the tests with Kamailio in front of sluice's relay share (83, 84);
# source after lib.sh. Kamailio listens on port 5070 of the relay's
# addresses, as registrar without authentication and record-routing proxy.

# kamailio_scenarios PCAP: sluice's sipp scenarios trimmed for Kamailio in
# $TMP: reg.xml (a REGISTER answered 200, no challenge), uac-quiet.xml
# (a call without 407 whose ACK and BYE follow the route set Kamailio
# recorded), uas-quiet.xml (the callee, returning the Record-Route so the
# caller's BYE passes it), and uac.xml and uas.xml, the same playing PCAP.
kamailio_scenarios() {
	local dir=$TOP/tests/integration/sipp
	local play='<nop><action><exec play_pcap_audio="'$1'"/></action></nop>'

	perl -0pe 's{<recv response="401".*?<recv response="\@EXPECT\@"/>}{<recv response="200"/>}s' \
		$dir/register.xml >$TMP/reg.xml
	perl -0pe 's{<send retrans="500">.*?<recv response="407" auth="true"/>\s*<send>.*?</send>\s*}{}s;
		s{^\s*\[authentication\]\n}{}m;
		s{^([ \t]*)((?:ACK|BYE) \[next_url\] SIP/2.0\n[^\n]*\n)}{$1$2$1\[routes\]\n}mg' \
		$dir/uac_call.xml >$TMP/uac-quiet.xml
	perl -pe 's{^  <pause/>}{  '"$play"'\n  <pause/>}' $TMP/uac-quiet.xml >$TMP/uac.xml
	perl -pe 's{^(\s*)\[last_CSeq:\]$}{$1\[last_CSeq:\]\n$1\[last_Record-Route:\]}' \
		$dir/uas_answer.xml >$TMP/uas-quiet.xml
	perl -pe 's{^  <recv request="ACK" crlf="true"/>}{$&\n  '"$play"'}' \
		$TMP/uas-quiet.xml >$TMP/uas.xml
}

# kamailio_register NS USER IP PORT GATEWAY: one REGISTER from IP:PORT in NS
# to Kamailio at GATEWAY:5070, answered 200; sipp's output in $TMP/reg-USER.out.
kamailio_register() {
	in_ns $1 sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user $2 \
		-key aor $2 -key domain ims.local -key expires 600 \
		-i $3 -p $4 $5:5070 >$TMP/reg-$2.out 2>&1
}
