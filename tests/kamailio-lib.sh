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
# ADDR1 and ADDR2, its relay at SOCKETS, its log in $TMP/NAME.log; its pid
# in KPID. Registrar without authentication, proxy that record-routes,
# route[MEDIA] on every request in and out of a dialog and on replies with
# SDP. KAMAILIO_RELAY says which module drives the relay:
#   rtpengine (the default): rtpengine_sock SOCKETS, rtpengine_manage() as
#     the module's documentation shows it, $rtpstat logged on the BYE;
#   rtpproxy: rtpproxy_sock SOCKETS, rtpproxy_offer("co") on an INVITE
#     with SDP, rtpproxy_answer("co") on a reply with SDP,
#     unforce_rtp_proxy() on the BYE and on a failure.
# KAMAILIO_WRAP (e.g. "taskset -c 0") goes before the command.
# KAMAILIO_NG_FLAGS replaces rtpengine_manage()'s flags ("replace-origin
# replace-session-connection"). The configuration is the same whatever
# SOCKETS point at.
kamailio_start() {
	local relay=${KAMAILIO_RELAY:-rtpengine}
	{
		cat <<CFG
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
loadmodule "$relay.so"
modparam("usrloc", "db_mode", 0)
modparam("$relay", "${relay}_sock", "$3")
CFG
		[ $relay = rtpengine ] && cat <<'CFG'
modparam("rtpengine", "rtpengine_tout_ms", 300)
modparam("rtpengine", "rtpengine_retr", 1)
modparam("rtpengine", "rtpengine_disable_tout", 60)
CFG
		cat <<'CFG'

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
CFG
		if [ $relay = rtpengine ]; then
			cat <<'CFG'

route[MEDIA] {
	if (is_method("BYE"))
		xlog("L_INFO", "rtpstat $ci: $rtpstat\n");
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
		else
			cat <<'CFG'

route[MEDIA] {
	if (is_method("BYE")) {
		unforce_rtp_proxy();
	} else if (is_method("INVITE") && has_body("application/sdp")) {
		rtpproxy_offer("co");
		t_on_reply("MEDIA");
	}
}

onreply_route[MEDIA] {
	if (has_body("application/sdp"))
		rtpproxy_answer("co");
}

failure_route[FAILED] {
	unforce_rtp_proxy();
}
CFG
		fi
	} >$TMP/$1.cfg
	[ -z "${KAMAILIO_NG_FLAGS:-}" ] ||
		sed -i "s|\"replace-origin replace-session-connection\"|\"$KAMAILIO_NG_FLAGS\"|" $TMP/$1.cfg
	nsenter --net=/run/netns/$2 ${KAMAILIO_WRAP:-} kamailio -f $TMP/$1.cfg -DD -E -m 64 -M 8 \
		-P $TMP/$1.pid >$TMP/$1.log 2>&1 &
	KPID=$!
	cleanup_add "kill $KPID"
	wait_for $TMP/$1.log "support for it (dis)?enabled|ERROR" 100
}

# kamailio_pcap_call PIN KLOG: after kamailio_scenarios and both phones'
# kamailio_register, 1001 in C (10.0.1.2:5061) calls 1002 in E
# (10.0.2.2:5062) through Kamailio, each side playing the pcap and
# tcpdump on each phone counting what reached it; the relay's kernel
# flows (sluicectl -p PIN in R) are read while the call is up. Six checks:
# both sides' sipp, every packet each way, two flows, and the kernel
# forwarding all but the first few. Leaves the pcap's packet count in
# sent; KLOG is Kamailio's log, for a failure's diagnosis.
kamailio_pcap_call() {
	local pin=$1 klog=$2 td1 td2 uas uac n min got_callee got_caller

	sent=$(tcpdump -r $PCAP 2>/dev/null | wc -l)
	nsenter --net=/run/netns/$C tcpdump -i c0 -n -w $TMP/caller.pcap udp dst port 6000 \
		2>/dev/null &
	td1=$!
	cleanup_add "kill $td1"
	nsenter --net=/run/netns/$E tcpdump -i e0 -n -w $TMP/callee.pcap udp dst port 6000 \
		2>/dev/null &
	td2=$!
	cleanup_add "kill $td2"
	sleep 1
	nsenter --net=/run/netns/$E sipp -sf $TMP/uas.xml -m 1 -nostdin -timeout 30 -timeout_error \
		-i 10.0.2.2 -p 5062 -mi 10.0.2.2 -mp 6000 -trace_err -error_file $TMP/uas-err.log \
		10.0.2.1:5070 >$TMP/uas.out 2>&1 &
	uas=$!
	sleep 0.5
	nsenter --net=/run/netns/$C sipp -sf $TMP/uac.xml -m 1 -nostdin -timeout 30 -timeout_error \
		-key user 1001 -key target 1002 -key domain ims.local -d 10000 -i 10.0.1.2 -p 5061 \
		-mi 10.0.1.2 -mp 6000 -trace_err -error_file $TMP/uac-err.log 10.0.1.1:5070 \
		>$TMP/uac.out 2>&1 &
	uac=$!
	sleep 8.5	# the pcap plays for 7 s, the call lasts 10: read the flows in between
	flows=$(in_ns $R "$SLUICECTL" -p $pin flow list)
	wait $uac
	ok $? "the caller's call through Kamailio: 200, ACK, media, BYE answered 200" ||
		diag "$(tail -5 $TMP/uac.out; tail -5 $klog)"
	wait $uas
	ok $? "the callee's side: INVITE answered, media, BYE taken"
	sleep 0.5
	kill $td1 $td2
	wait $td1 $td2
	got_callee=$(tcpdump -r $TMP/callee.pcap 2>/dev/null | wc -l)
	got_caller=$(tcpdump -r $TMP/caller.pcap 2>/dev/null | wc -l)
	is "$got_callee" "$sent" "every RTP packet of the caller reached the callee ($sent)"
	is "$got_caller" "$sent" "every RTP packet of the callee reached the caller"
	n=$(printf '%s\n' "$flows" | grep -c ': packets ')
	is "$n" 2 "two flows in the kernel while the call was up"
	min=$(printf '%s\n' "$flows" | sed -n 's/.*: packets \([0-9]*\) .*/\1/p' | sort -n | head -1)
	ok $((${min:-0} >= sent - 10 ? 0 : 1)) \
		"the kernel forwarded all but the first few (at most 10) of each direction (${min:-0} of $sent)"
}
