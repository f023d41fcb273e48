#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# table inet sluice: with XDP on the relay's interfaces sluiced installs
# notrack rules for its media ports (and with [media] firewall = yes the
# accepts for SIP and media), a packet to a media port then leaves no
# conntrack entry while one to the SIP port does, a SIGUSR2 restart
# replaces the table instead of adding a second copy of its rules, a clean
# stop removes it, and the userspace relay installs none. Conntrack only
# runs in a namespace where some rule needs it: a probe table with a
# `ct state` rule stands for the host's own stateful firewall.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip ethtool nsenter nft perl
[ -x "$SLUICED" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"
command -v conntrack >/dev/null || [ -r /proc/net/nf_conntrack ] ||
	skip_all "needs conntrack (Debian package conntrack) or /proc/net/nf_conntrack"

C=snc$$ R=snr$$ E=sne$$
PIN=/sys/fs/bpf/sluice-test-n$$
PORTS=30000-30099
relay_topology $C $R $E

# conf DATAPATH FIREWALL: the relay's configuration, XDP on r0 and r1.
conf() {
	sluice_conf $TMP/sluice.conf \
		sip.listen=0.0.0.0:5060 \
		media.interface="r0, r1" media.address=10.0.1.1 media.ports=$PORTS \
		media.datapath=$1 media.firewall=$2 media.bpf_pin_dir=$PIN
}

# start LOG: sluiced in the relay's namespace, its pid in SPID.
start() {
	nsenter --net=/run/netns/$R "$SLUICED" -c $TMP/sluice.conf >$TMP/$1 2>&1 &
	SPID=$!
	cleanup_add "kill $SPID"
	wait_for $TMP/$1 "running|cannot" 100
}

# stop SIGNAL: sluiced's exit status (the SAN build fails it on a leak).
stop() {
	kill -$1 $SPID
	wait $SPID
}

table() { in_ns $R nft list table inet sluice 2>&1; }

# udp_send NS SRC SPORT DST DPORT: one datagram, from a chosen source port.
udp_send() {
	in_ns $1 perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(Proto => "udp", LocalAddr => $ARGV[0],
			LocalPort => $ARGV[1], PeerAddr => "$ARGV[2]:$ARGV[3]") or die "$!\n";
		$s->send("\r\n\r\n") or die "$!\n";' "$2" "$3" "$4" "$5"
}

# ct_count --dport|--sport PORT: the relay's conntrack entries for udp with that port.
ct_count() {
	sleep 0.3	# the veth delivers in softirq, after the sender returned
	if command -v conntrack >/dev/null; then
		in_ns $R conntrack -L -p udp $1 $2 2>/dev/null | grep -c '^udp'
	else
		in_ns $R grep -c "^.* udp .* ${1#--}=$2 " /proc/net/nf_conntrack
	fi
}

conf auto yes
start sluiced.log
grep -q "XDP native on r0,r1" $TMP/sluiced.log ||
	skip_all "XDP native not available: $(tail -2 $TMP/sluiced.log)"
plan 27
cleanup_add "'$SLUICE_BIN/sluicectl' -p $PIN unload"

like "$(cat $TMP/sluiced.log)" \
	"\[dp\] nftables: table inet sluice installed \(notrack udp $PORTS, firewall accepts udp $PORTS, udp/tcp 5060\)" \
	"sluiced logs the table it installed"
t1=$(table)
like "$t1" "hook prerouting priority raw" "a prerouting chain before conntrack"
like "$(printf '%s\n' "$t1" | sed -n '/chain prerouting/,/}/p')" "^\s*udp dport $PORTS notrack$" \
	"which untracks udp to the media ports"
like "$(printf '%s\n' "$t1" | sed -n '/chain output/,/}/p')" "^\s*udp sport $PORTS notrack$" \
	"an output chain untracks the relay's own sends from them"
in=$(printf '%s\n' "$t1" | sed -n '/chain input/,/}/p')
like "$in" "hook input priority filter; policy accept" "firewall = yes: an input chain, policy accept"
is "$(printf '%s\n' "$in" | grep -E '^\s*(udp dport '$PORTS'|udp dport 5060|tcp dport 5060) accept$' | wc -l)" 3 \
	"which accepts udp to the media ports and udp and tcp to the SIP port"

# The host's stateful firewall, for conntrack to run at all.
in_ns $R nft -f - <<NFT
table inet ctprobe {
	chain input {
		type filter hook input priority 10; policy accept;
		ct state new counter
	}
}
NFT
udp_send $C 10.0.1.2 40010 10.0.1.1 30010
is "$(ct_count --dport 30010)" 0 "a packet to a media port leaves no conntrack entry"
udp_send $C 10.0.1.2 40011 10.0.1.1 5060
is "$(ct_count --dport 5060)" 1 "one to the SIP port is tracked (conntrack is on)"
udp_send $R 10.0.1.1 30050 10.0.1.2 40012
is "$(ct_count --sport 30050)" 0 "the relay's own send from a media port leaves none"
udp_send $R 10.0.1.1 30150 10.0.1.2 40013
is "$(ct_count --sport 30150)" 1 "one from outside the range is tracked"

# A restart that hands over: the table stays, and the next sluiced replaces it.
stop USR2
is $? 0 "SIGUSR2: sluiced hands over and exits 0"
is "$(table)" "$t1" "the table stays for the next sluiced"
start sluiced2.log
like "$(cat $TMP/sluiced2.log)" "nftables: table inet sluice installed" \
	"the next sluiced installs it again"
is "$(in_ns $R nft list tables | grep -c 'inet sluice')" 1 "there is one table inet sluice"
is "$(table)" "$t1" "with the same rules, none duplicated"

# Replaced, not added to: a restart without the firewall drops the input chain.
stop USR2
is $? 0 "SIGUSR2 again: exit 0"
conf auto no
start sluiced3.log
t3=$(table)
unlike=$(printf '%s\n' "$t3" | grep -c -E 'chain input|accept$')
is "$unlike" 0 "firewall = no after a restart: the input chain and its accepts are gone"
is "$(printf '%s\n' "$t3" | grep -c 'notrack$')" 2 "the two notrack rules remain, once each"

stop TERM
is $? 0 "SIGTERM: sluiced exits 0"
table >/dev/null
ok $((! $?)) "a clean stop removes the table"
like "$(cat $TMP/sluiced3.log)" "nftables: table inet sluice removed" "and says so"

# The userspace relay installs nothing.
conf user yes
start sluiced-user.log
like "$(cat $TMP/sluiced-user.log)" "running \(data path: userspace" "datapath = user runs"
table >/dev/null
ok $((! $?)) "and installs no table, firewall = yes or not"
stop TERM
is $? 0 "SIGTERM: the userspace sluiced exits 0"

# A handover's table is the operator's to remove once no sluiced follows.
conf auto no
start sluiced4.log
stop USR2
table >/dev/null
ok $? "a handover left the table"
out=$(in_ns $R "$SLUICE_BIN/sluicectl" -p $PIN unload)
like "$out" "removed nftables table inet sluice" "sluicectl unload removes it too"
table >/dev/null
ok $((! $?)) "and it is gone"

done_testing
