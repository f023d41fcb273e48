#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-only
#
# sipsend.pl PROTO SERVER:PORT FILE [WAIT]: sends FILE's bytes as one SIP
# message (a UDP datagram, or over a fresh TCP connection) and prints the
# status code of the first response, or "drop" when none comes within WAIT
# seconds (default 1). Provisional responses are skipped.
use strict;
use warnings;
use IO::Socket::IP;

my ($proto, $server, $file, $wait) = @ARGV;
die "usage: sipsend.pl udp|tcp HOST:PORT FILE [WAIT]\n" unless $file;
$wait //= 1;
my ($host, $port) = $server =~ /^\[?([^\]]+?)\]?:(\d+)$/ or die "bad server\n";
open(my $fh, '<:raw', $file) or die "$file: $!\n";
my $msg = do { local $/; <$fh> };
my $sock = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port,
			       Type => $proto eq 'tcp' ? SOCK_STREAM : SOCK_DGRAM)
	or die "socket: $@\n";
$sock->send($msg) // die "send: $!\n";
my $deadline = time + $wait;
my $buf = '';
while ((my $left = $deadline - time) > 0) {
	my $rin = '';
	vec($rin, fileno($sock), 1) = 1;
	last unless select(my $rout = $rin, undef, undef, $left);
	my $chunk;
	last unless defined $sock->recv($chunk, 65536) && length $chunk;
	$buf .= $chunk;
	while ($buf =~ s/^\s*SIP\/2\.0 (\d{3})[^\n]*\n(.*?\r?\n\r?\n)//s) {
		next if $1 < 200;
		print "$1\n";
		exit 0;
	}
	$buf = '' if $proto eq 'udp';
}
print "drop\n";
