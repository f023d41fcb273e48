#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-only
#
# ng.pl HOST:PORT COMMAND [KEY=VALUE ...]: one NG request, as Kamailio's
# rtpengine module sends it; VALUE @FILE reads the value from a file (an
# SDP). Prints the reply dictionary's string values as KEY=VALUE lines
# (the SDP last, as is), and exits 1 when result is not ok / pong.
use strict;
use warnings;
use IO::Socket::INET;

my ($ng, $cmd, @kv) = @ARGV;
die "usage: ng.pl HOST:PORT COMMAND [KEY=VALUE ...]\n" unless $cmd;
my %req = (command => $cmd);
for (@kv) {
	my ($k, $v) = split /=/, $_, 2;
	if ($v =~ s/^@//) {
		open my $f, '<', $v or die "ng.pl: $v: $!\n";
		local $/;
		$v = <$f>;
	}
	$req{$k} = $v;
}
sub bstr { length($_[0]) . ":" . $_[0] }
my $body = "d" . join("", map { bstr($_) . bstr($req{$_}) } sort keys %req) . "e";
my $cookie = "t$$" . int(rand(1e9));
my $s = IO::Socket::INET->new(PeerAddr => $ng, Proto => 'udp') or die "ng.pl: $!\n";
$s->send("$cookie $body");
my $rin = '';
vec($rin, fileno($s), 1) = 1;
select($rin, undef, undef, 2) or die "ng.pl: no answer\n";
my $reply;
$s->recv($reply, 65535);
$reply =~ s/^\Q$cookie\E // or die "ng.pl: wrong cookie\n";

# A small bencode reader: strings and integers of the top dictionary.
my %out;
my $pos = 1;
sub value {
	my $c = substr($reply, $pos, 1);
	if ($c =~ /\d/) {
		my ($len) = substr($reply, $pos) =~ /^(\d+):/;
		$pos += length($len) + 1;
		my $v = substr($reply, $pos, $len);
		$pos += $len;
		return $v;
	} elsif ($c eq 'i') {
		my ($n) = substr($reply, $pos) =~ /^i(-?\d+)e/;
		$pos += length($n) + 2;
		return $n;
	} elsif ($c eq 'l' || $c eq 'd') {
		$pos++;
		value() while substr($reply, $pos, 1) ne 'e';
		$pos++;
		return "($c)";
	}
	die "ng.pl: bad reply\n";
}
while ($pos < length($reply) - 1) {
	my $k = value();
	$out{$k} = value();
}
for (sort grep { $_ ne 'sdp' } keys %out) { print "$_=$out{$_}\n" }
print "sdp=$out{sdp}" if exists $out{sdp};
exit(($out{result} // '') =~ /^(ok|pong)$/ ? 0 : 1);
