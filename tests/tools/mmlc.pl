#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-only
#
# mmlc.pl HOST:PORT COMMAND...: one MML connection, the commands sent in
# order, each reply printed after a line "=== N MS COMMAND" (N counts the
# commands from 1, MS is how long its reply took). A reply ends with its
# "---    END" line; after LGO, or when the server closes, the rest is
# printed as it came. For the integration tests: no dependency but perl.
use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(time);

my $addr = shift or die "usage: mmlc.pl HOST:PORT COMMAND...\n";
my $s = IO::Socket::INET->new(PeerAddr => $addr, Proto => 'tcp', Timeout => 5)
	or die "mmlc: $addr: $!\n";
$s->autoflush(1);
my $n = 0;
my $buf = '';
for my $cmd (@ARGV) {
	$n++;
	my $t0 = time;
	print $s "$cmd\r\n";
	my $reply;
	while (1) {
		if ($buf =~ /^(.*?---    END\r\n)/s) {
			$reply = $1;
			$buf = substr($buf, length $reply);
			last;
		}
		my $rin = '';
		vec($rin, fileno($s), 1) = 1;
		last unless select($rin, undef, undef, 20);
		my $got = sysread($s, my $chunk, 65536);
		last unless $got;
		$buf .= $chunk;
	}
	$reply = $buf, $buf = '' unless defined $reply;
	printf "=== %d %d %s\n%s", $n, int((time - $t0) * 1000), $cmd, $reply;
}
# Whether the server closed the connection: LGO should, nothing else.
my $rin = '';
vec($rin, fileno($s), 1) = 1;
if (select($rin, undef, undef, 0.5)) {
	my $got = sysread($s, my $chunk, 1);
	print "=== closed\n" unless $got;
} else {
	print "=== open\n";
}
