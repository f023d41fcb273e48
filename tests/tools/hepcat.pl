#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-only
#
# hepcat.pl ADDRESS:PORT: a HEP3 collector for the tests. Binds the UDP
# port, and for every datagram prints one line
#
#	VERSION|CAPTURE_ID|CALL-ID|CSEQ|CODE|SRC:PORT|DST:PORT|PROTO|ERROR
#
# (CODE empty for a request; ERROR empty when the packet is well formed:
# "HEP3", a length equal to the datagram's, whole chunks of vendor 0,
# family, protocol, addresses, ports, time, protocol type 1 and payload
# all present). A quality report (protocol type 5, heplify's RTCP JSON)
# prints instead
#
#	R|CAPTURE_ID|CORRELATION-ID|SSRC LOST FRACTION JITTER MOS|PACKETS|SRC:PORT|DST:PORT|PROTO|ERROR
#
# its ERROR empty when the payload is a JSON object with one report block
# holding heplify's fields. Runs until killed. Its own reading of the format (Homer's
# HEP3 description), sharing nothing with sluiced's encoder: Debian 12's
# tshark (4.0) has no HEP dissector.
use strict;
use warnings;
use IO::Socket::INET;
use JSON::PP;
use Socket qw(inet_ntop AF_INET AF_INET6);

$| = 1;
my $addr = shift or die "usage: hepcat.pl ADDRESS:PORT\n";
my $s = IO::Socket::INET->new(LocalAddr => $addr, Proto => 'udp') or die "hepcat: $addr: $!\n";
print STDERR "hepcat: listening\n";
while (1) {
	my $d;
	defined $s->recv($d, 70000) or next;
	my ($err, %c) = ('');
	if (length($d) < 6 || substr($d, 0, 4) ne 'HEP3') {
		$err = 'no HEP3 header';
	} elsif (unpack('n', substr($d, 4, 2)) != length($d)) {
		$err = 'length ' . unpack('n', substr($d, 4, 2)) . ' of ' . length($d);
	} else {
		my $o = 6;
		while ($o < length($d)) {
			if ($o + 6 > length($d)) { $err = 'cut chunk header'; last; }
			my ($vendor, $type, $len) = unpack('nnn', substr($d, $o, 6));
			if ($len < 6 || $o + $len > length($d)) { $err = "chunk $type length $len"; last; }
			$err = "vendor $vendor" if $vendor;
			$c{$type} = substr($d, $o + 6, $len - 6);
			$o += $len;
		}
	}
	for my $t (1, 2, 7, 8, 9, 10, 11, 12, 15) {
		$err ||= "no chunk $t" unless exists $c{$t};
	}
	my ($fam, $src, $dst) = (0, '?', '?');
	if (!$err) {
		$fam = unpack('C', $c{1});
		my ($s4, $d4) = $fam == 2 ? (3, 4) : (5, 6);
		if (!exists $c{$s4} || !exists $c{$d4}) {
			$err = 'no addresses';
		} else {
			my $af = $fam == 2 ? AF_INET : AF_INET6;
			$src = inet_ntop($af, $c{$s4}) . ':' . unpack('n', $c{7});
			$dst = inet_ntop($af, $c{$d4}) . ':' . unpack('n', $c{8});
		}
		$err ||= 'not SIP or RTCP' if unpack('C', $c{11}) != 1 && unpack('C', $c{11}) != 5;
	}
	my $p = $c{15} // '';
	if (!$err && unpack('C', $c{11}) == 5) {
		my $j = eval { decode_json($p) };
		my $b = ref $j eq 'HASH' && ref $j->{report_blocks} eq 'ARRAY' ? $j->{report_blocks}[0] : undef;
		my $bad = !$b ? 'not an RTCP report' : !exists $c{17} ? 'no correlation id' : '';
		for my $k (qw(source_ssrc fraction_lost packets_lost ia_jitter)) {
			$bad ||= "no $k" unless $b && defined $b->{$k};
		}
		printf "R|%u|%s|%s|%s|%s|%s|%s|%s\n", unpack('N', $c{12}), $c{17} // '',
			$bad ? '' : join(' ', @$b{qw(source_ssrc packets_lost fraction_lost ia_jitter)}, $j->{mos} // '-'),
			$j->{packets} // '', $src, $dst, unpack('C', $c{2}), $bad;
		next;
	}
	my ($cid) = $p =~ /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/mi;
	my ($cseq) = $p =~ /^CSeq[ \t]*:[ \t]*(\d+[ \t]+\S+)/mi;
	my ($code) = $p =~ /^SIP\/2\.0 (\d{3}) /;
	$cseq =~ s/[ \t]+/ / if defined $cseq;
	printf "3|%u|%s|%s|%s|%s|%s|%s|%s\n", exists $c{12} ? unpack('N', $c{12}) : 0,
		$cid // '', $cseq // '', $code // '', $src, $dst,
		exists $c{2} ? unpack('C', $c{2}) : 0, $err;
}
