# SPDX-License-Identifier: GPL-2.0-only
#
# What the tests with Kamailio in front of sluice's relay share (83, 84);
# source after lib.sh. Kamailio listens on port 5070 of the relay's
# addresses, as registrar without authentication and record-routing proxy
# (kamailio_start); the NG benchmark (tests/bench/ng.sh) runs the same.

KAMAILIO_MODS=/usr/lib/x86_64-linux-gnu/kamailio/modules

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

# kamailio_start NAME NS SOCKETS ADDR1 ADDR2: Kamailio in NS on port 5070 of
# ADDR1 and ADDR2 with rtpengine_sock SOCKETS, its log in $TMP/NAME.log; its
# pid in KPID. Registrar without authentication, proxy that record-routes,
# rtpengine_manage() as the module's documentation shows it: on requests
# and on replies with SDP. KAMAILIO_WRAP (e.g. "taskset -c 0") goes before
# the command. The configuration is the same whatever SOCKETS point at.
kamailio_start() {
	cat >$TMP/$1.cfg <<CFG
#!KAMAILIO
debug=2
log_stderror=yes
children=2
mhomed=1
listen=udp:$4:5070
listen=udp:$5:5070
mpath="$KAMAILIO_MODS/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "xlog.so"
loadmodule "rtpengine.so"
modparam("usrloc", "db_mode", 0)
modparam("rtpengine", "rtpengine_sock", "$3")
modparam("rtpengine", "rtpengine_tout_ms", 300)
modparam("rtpengine", "rtpengine_retr", 1)
modparam("rtpengine", "rtpengine_disable_tout", 60)
CFG
	cat >>$TMP/$1.cfg <<'CFG'

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (has_totag()) {
		if (!loose_route()) {
			if (is_method("ACK") && t_check_trans())
				t_relay();
			else if (!is_method("ACK"))
				sl_send_reply("404", "Not here");
			exit;
		}
		if (is_method("BYE"))
			xlog("L_INFO", "rtpstat $ci: $rtpstat\n");
		route(MEDIA);
		t_relay();
		exit;
	}
	if (is_method("REGISTER")) {
		save("location");
		exit;
	}
	if (is_method("INVITE")) {
		record_route();
		if (!lookup("location")) {
			sl_send_reply("404", "Not Found");
			exit;
		}
		route(MEDIA);
		t_on_failure("FAILED");
	}
	if (!t_relay())
		sl_reply_error();
}

route[MEDIA] {
	if (is_method("INVITE|ACK|BYE|CANCEL|UPDATE")) {
		rtpengine_manage("replace-origin replace-session-connection");
		t_on_reply("MEDIA");
	}
}

onreply_route[MEDIA] {
	if (has_body("application/sdp"))
		rtpengine_manage("replace-origin replace-session-connection");
}

failure_route[FAILED] {
	rtpengine_delete();
}
CFG
	nsenter --net=/run/netns/$2 ${KAMAILIO_WRAP:-} kamailio -f $TMP/$1.cfg -DD -E -m 64 -M 8 \
		-P $TMP/$1.pid >$TMP/$1.log 2>&1 &
	KPID=$!
	cleanup_add "kill $KPID"
	wait_for $TMP/$1.log "support for it (dis)?enabled|ERROR" 100
}
