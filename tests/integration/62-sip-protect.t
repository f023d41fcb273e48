#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Protection and STUN: sipvicious' svwar learns no extension from the
# registrar (unknown users and wrong passwords look alike) and is dropped
# outright by its User-Agent; repeated failed authentications block their
# source for a while; a blacklist file drops its sources and is reloaded
# on SIGHUP; STUN Binding requests on the SIP port and on [sip] stun are
# answered with the source's address.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter sqlite3 perl md5sum sha256sum
[ -x "$SLUICED" ] || skip_all "build first (make)"

S=sipp$$
netns_add $S
# Two sources: 127.0.0.1 and 127.0.0.2 are both loopback.
SIP=127.0.0.1:5060
DB=$TMP/sluice.db
: >$TMP/blacklist
write_conf() {	# write_conf SCANNERS [KEEPALIVE_METHOD]
	sluice_conf $TMP/sluice.conf \
		sip.listen=$SIP sip.domain=ims.local sip.keepalive=1 \
		sip.keepalive_method=${2:-crlf} sip.stun=3478 sip.blacklist=$TMP/blacklist \
		sip.auth_fail_limit=5 sip.auth_fail_window=60 sip.auth_block_time=3 \
		sip.scanners="$1" \
		store.db=$DB log.level=debug
}
start() {	# waits for this sluiced's own "running" (the log is appended to)
	local runs i
	runs=$(grep -c "running (data path" $TMP/sluiced.log 2>/dev/null)
	nsenter --net=/run/netns/$S "$SLUICED" -c $TMP/sluice.conf >>$TMP/sluiced.log 2>&1 &
	SPID=$!
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c "running (data path" $TMP/sluiced.log)" -gt "${runs:-0}" ] && break
		grep -q cannot $TMP/sluiced.log && break
		sleep 0.1
	done
}
write_conf ""
start
cleanup_add 'kill $SPID'
grep -q "\[sip\] listening" $TMP/sluiced.log || skip_all "sluiced has no SIP server"
plan 16

for u in 1001 1002 1003; do
	md5=$(printf '%s' "$u:ims.local:secret$u" | md5sum | cut -d' ' -f1)
	sha=$(printf '%s' "$u:ims.local:secret$u" | sha256sum | cut -d' ' -f1)
	sqlite3 $DB "INSERT INTO subscribers (impu, username, realm, ha1_md5, ha1_sha256,
		created, updated) VALUES ('sip:$u@ims.local', '$u', 'ims.local', '$md5', '$sha', 0, 0)"
done

ns() { in_ns $S "$@"; }
sipc() { ns perl "$TOP/tests/tools/sipc.pl" "$@" $SIP; }
ping_from() {	# ping_from LOCAL_ADDR: OPTIONS from that address, its status or drop
	ns perl -MIO::Socket::IP -e '
		my $s = IO::Socket::IP->new(LocalHost => $ARGV[0], PeerHost => "127.0.0.1",
			PeerPort => 5060, Proto => "udp") or die;
		my $p = $s->sockport;
		$s->send("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP $ARGV[0]:$p;branch=z9hG4bK$$\r\n"
			. "Max-Forwards: 70\r\nFrom: <sip:p\@ims.local>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
			. "Call-ID: $$\@p\r\nCSeq: 1 OPTIONS\r\nUser-Agent: $ARGV[1]\r\nContent-Length: 0\r\n\r\n");
		my $r = ""; vec($r, fileno($s), 1) = 1;
		if (select($r, undef, undef, 1)) { $s->recv(my $m, 9000); print $m =~ /^SIP\/2.0 (\d+)/ ? "$1\n" : "junk\n" }
		else { print "drop\n" }' "$1" "${2:-pinger}"
}

if command -v svwar >/dev/null; then
	# --force: scan on even though every extension is challenged alike.
	out=$(ns timeout 60 svwar --force -e1000-1010 -m REGISTER --domain ims.local 127.0.0.1 2>&1)
	like "$out" "found nothing" "svwar --force over 1000-1010 finds nothing (1001-1003 exist)"
else
	skip "svwar (sipvicious) not installed"
fi

is "$(ping_from 127.0.0.2)" 200 "a source that has not failed is answered"
for i in 1 2 3 4 5 6; do sipc --user 1001 --pass wrong$i >/dev/null; done
is "$(ping_from 127.0.0.1)" drop "after repeated failed authentications the source is dropped"
is "$(ping_from 127.0.0.2)" 200 "... while another source is still answered"
like "$(cat $TMP/sluiced.log)" "127.0.0.1.*blocked" "one log line names the blocked source"
sleep 3.5
is "$(ping_from 127.0.0.1)" 200 "the block ends after auth_block_time"

echo "127.0.0.2  # a pest" >$TMP/blacklist
kill -HUP $SPID
sleep 0.5
is "$(ping_from 127.0.0.2)" drop "a blacklisted source is dropped after SIGHUP"
is "$(ping_from 127.0.0.1)" 200 "... and others are not"
printf 'not an address\n127.0.0.0/8\n' >$TMP/blacklist
kill -HUP $SPID
sleep 0.5
is "$(ping_from 127.0.0.1)" drop "a prefix blocks every address in it (a bad line is skipped)"
like "$(cat $TMP/sluiced.log)" "blacklist.*:1" "the bad line is logged with its number"
: >$TMP/blacklist
kill -HUP $SPID
sleep 0.5

stun() {	# stun PORT: a Binding request; prints the XOR-MAPPED-ADDRESS and our address
	ns perl -MIO::Socket::IP -e '
		my $s = IO::Socket::IP->new(PeerHost => "127.0.0.1", PeerPort => $ARGV[0], Proto => "udp") or die;
		my $tid = pack("N3", rand(2**32), rand(2**32), rand(2**32));
		$s->send(pack("nnN", 1, 0, 0x2112A442) . $tid);
		my $r = ""; vec($r, fileno($s), 1) = 1;
		select($r, undef, undef, 1) or do { print "none\n"; exit };
		$s->recv(my $m, 2000);
		my ($type, $len, $cookie, $t2) = unpack("nnNa12", $m);
		print "bad header\n" and exit unless $type == 0x0101 && $cookie == 0x2112A442 && $t2 eq $tid;
		my $a = substr($m, 20, $len);
		while (length $a >= 4) {
			my ($at, $al) = unpack("nn", $a);
			if ($at == 0x20) {
				my (undef, undef, undef, $fam, $xp, $xa) = unpack("nnCCnN", $a);
				printf "%s:%d %s:%d\n", join(".", unpack("C4", pack("N", $xa ^ 0x2112A442))),
					$xp ^ 0x2112, $s->sockhost, $s->sockport;
				exit;
			}
			$a = substr($a, 4 + (($al + 3) & ~3));
		}
		print "no XOR-MAPPED-ADDRESS\n"' "$1"
}
out=$(stun 3478)
set -- $out
is "$1" "${2:-?}" "STUN on [sip] stun: XOR-MAPPED-ADDRESS is the source address"
out=$(stun 5060)
set -- $out
is "$1" "${2:-?}" "STUN on the SIP port too"

kill -TERM $SPID
wait $SPID
ok $? "sluiced stops cleanly (no sanitizer report)"
write_conf "friendly-scanner, sipvicious" options
start
is "$(ping_from 127.0.0.1 friendly-scanner)" drop "a scanner's User-Agent is dropped"
is "$(ping_from 127.0.0.1 'Linphone/5.0')" 200 "... a phone's is not"
out=$(sipc --user 1003 --pass secret1003 --contact sip:1003@192.0.2.9:5060 --expires 60 \
	--listen 2.5)
like "$(printf '%s' "$out" | tr '\n' ' ')" "SIP/2.0 200 OK OPTIONS sip:1003@192.0.2.9:5060 SIP/2.0" \
	"keepalive_method = options: a binding behind NAT is probed with OPTIONS"
done_testing
