#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-only
#
# ngcalls.pl NG_HOST:PORT N CALLER_IP CALLER_PORT CALLEE_IP CALLEE_PORT_BASE
#
# Sets up N calls on an NG relay (rtpengine, or sluice later) the way
# Kamailio's rtpengine module does: an offer with the caller's SDP, an
# answer with the callee's (callee i at CALLEE_PORT_BASE + 2i). Prints, one
# per line, the relay port the caller must send to for call i.
use strict;
use warnings;
use IO::Socket::INET;

my ($ng, $n, $cip, $cport, $eip, $ebase) = @ARGV;
die "usage: ngcalls.pl NG N CALLER_IP CALLER_PORT CALLEE_IP CALLEE_PORT_BASE\n"
	unless defined $ebase;
my $sock = IO::Socket::INET->new(PeerAddr => $ng, Proto => 'udp')
	or die "ngcalls: $ng: $!\n";

sub bstr { my $s = shift; return length($s) . ":" . $s }

sub sdp {
	my ($ip, $port) = @_;
	return "v=0\r\no=- 1 1 IN IP4 $ip\r\ns=-\r\nc=IN IP4 $ip\r\nt=0 0\r\n" .
	       "m=audio $port RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
}

my $cookie = 0;
sub ng {
	my %d = @_;
	my $body = "d" . join("", map { bstr($_) . bstr($d{$_}) } sort keys %d) . "e";
	my $c = "c" . $cookie++;
	for my $try (1 .. 5) {
		$sock->send("$c $body") or die "ngcalls: send: $!\n";
		my $rin = '';
		vec($rin, fileno($sock), 1) = 1;
		next unless select($rin, undef, undef, 1);
		my $reply;
		$sock->recv($reply, 65535);
		next unless $reply =~ s/^\Q$c\E //;
		die "ngcalls: $d{command}: $reply\n" unless $reply =~ /6:result2:ok/;
		return $reply;
	}
	die "ngcalls: no answer from $ng\n";
}

for my $i (0 .. $n - 1) {
	my %call = ('call-id' => "bench-$i", 'from-tag' => "ft$i");
	ng(command => 'offer', sdp => sdp($cip, $cport), %call);
	my $r = ng(command => 'answer', sdp => sdp($eip, $ebase + 2 * $i),
		   'to-tag' => "tt$i", %call);
	# The answer's SDP is what the caller sees: the relay's port for it.
	my ($port) = $r =~ /m=audio (\d+) /;
	die "ngcalls: no port in answer $i\n" unless $port;
	print "$port\n";
}
