#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-only
#
# stunc.pl FROM TO USERNAME PASSWORD [use-candidate]: one ICE connectivity
# check (RFC 8445 §7.2.2) as a full, controlling agent sends it: a Binding
# request from the UDP socket bound to FROM (IPv4 ADDR:PORT) to TO, with
# USERNAME, PRIORITY, ICE-CONTROLLING, optionally USE-CANDIDATE, then
# MESSAGE-INTEGRITY (HMAC-SHA1 keyed by PASSWORD) and FINGERPRINT. Prints
# what came back, checked here with arithmetic of its own:
#   success mapped ADDR:PORT integrity ok|bad|none fingerprint ok|bad|none
#   error CODE integrity ... fingerprint ...
#   timeout
use strict;
use warnings;
use IO::Socket::INET;
use Digest::SHA qw(hmac_sha1);
use Compress::Zlib qw(crc32);

my ($from, $to, $user, $pwd, $opt) = @ARGV;
die "usage: stunc.pl FROM TO USERNAME PASSWORD [use-candidate]\n" unless defined $pwd;
my $COOKIE = 0x2112A442;

sub attr { my ($t, $v) = @_; pack("nn", $t, length $v) . $v . ("\0" x ((4 - length($v) % 4) % 4)) }
# The header for a body of $len bytes.
sub header { my ($type, $len, $tid) = @_; pack("nnN", $type, $len, $COOKIE) . $tid }

my $tid = pack("N3", map { int(rand(2**32)) } 1 .. 3);
my $body = attr(0x0006, $user) . attr(0x0024, pack("N", 0x6e0001ff)) .
	attr(0x802a, pack("N2", int(rand(2**32)), int(rand(2**32))));
$body .= attr(0x0025, "") if ($opt // '') eq 'use-candidate';
my $mi = hmac_sha1(header(1, length($body) + 24, $tid) . $body, $pwd);
$body .= attr(0x0008, $mi);
my $fp = crc32(header(1, length($body) + 8, $tid) . $body) ^ 0x5354554e;
$body .= attr(0x8028, pack("N", $fp));
my $req = header(1, length $body, $tid) . $body;

my ($la, $lp) = split /:/, $from;
my $s = IO::Socket::INET->new(LocalAddr => $la, LocalPort => $lp, PeerAddr => $to,
			      Proto => 'udp', ReuseAddr => 1) or die "stunc.pl: $!\n";
$s->send($req);
my $rin = '';
vec($rin, fileno($s), 1) = 1;
unless (select($rin, undef, undef, 2)) { print "timeout\n"; exit 1; }
my $r;
$s->recv($r, 2048);
my ($type, $len, $cookie) = unpack("nnN", $r);
die "stunc.pl: not an answer to the check\n"
	unless $cookie == $COOKIE && substr($r, 8, 12) eq $tid && 20 + $len == length $r;

my ($mapped, $code, $integrity, $fingerprint) = ('', 0, 'none', 'none');
for (my $off = 20; $off + 4 <= length $r;) {
	my ($t, $l) = unpack("nn", substr($r, $off, 4));
	my $v = substr($r, $off + 4, $l);
	if ($t == 0x0020 && $l == 8) {
		my (undef, $fam, $xport, $xaddr) = unpack("CCnN", $v);
		my $a = $xaddr ^ $COOKIE;
		$mapped = join(".", unpack("C4", pack("N", $a))) . ":" . ($xport ^ ($COOKIE >> 16));
	} elsif ($t == 0x0009) {
		my (undef, $class, $num) = unpack("nCC", $v);
		$code = $class * 100 + $num;
	} elsif ($t == 0x0008) {
		my $want = hmac_sha1(header($type, $off + 24 - 20, $tid) . substr($r, 20, $off - 20),
				     $pwd);
		$integrity = $want eq $v ? 'ok' : 'bad';
	} elsif ($t == 0x8028) {
		my $want = crc32(substr($r, 0, $off)) ^ 0x5354554e;
		$fingerprint = $want == unpack("N", $v) ? 'ok' : 'bad';
	}
	$off += 4 + (($l + 3) & ~3);
}
if ($type == 0x0101) {
	print "success mapped $mapped integrity $integrity fingerprint $fingerprint\n";
} else {
	print "error $code integrity $integrity fingerprint $fingerprint\n";
}
