#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-only
#
# sipc.pl: a small SIP client for the tests, for what sipp cannot do: a
# SHA-256 digest (RFC 7616/8760), printing whole responses to compare
# them, and listening for the keepalives a registrar sends to a binding
# behind NAT. It shares no code with sluiced: the digest is computed here
# from the RFCs with Perl's Digest::MD5 and Digest::SHA.
#
#   sipc.pl [options] SERVER:PORT
#     --proto udp|tcp     transport (udp)
#     --method M          REGISTER (default), MESSAGE, OPTIONS, INVITE, ...
#     --user U --pass P   digest credentials; without --pass no answer to a challenge
#     --aor U             the user part of To (default --user)
#     --to URI            Request-URI and To for requests other than REGISTER
#     --alg sha-256|md5   the challenge to answer (default: the first offered)
#     --answer-alg ALG    answer the first challenge in ALG whatever it offers
#                         (a phone that knows only ALG, or a downgrade)
#     --digest-uri URI    the credentials' uri (default: the Request-URI)
#     --expires N         Expires header (REGISTER)
#     --contact URI       Contact (default sip:U@LOCAL:PORT), "*" for Contact: *
#     --domain D          the domain (default ims.local)
#     --port N            local port (0: any)
#     --body TEXT         a text/plain body
#     --print             print every response whole (else the final status line)
#     --delay SECS        wait before answering the challenge (a nonce goes stale)
#     --replay            afterwards, the same credentials in a new request:
#                         prints "replay: " and its final status line
#     --listen SECS       afterwards, print what arrives on the socket for SECS
#                         ("CRLF" for a keepalive, else the start line), answering
#                         every request but ACK with 200
# Exit status 0 when a final response came (its code is printed), 1 otherwise.
use strict;
use warnings;
use Getopt::Long;
use IO::Socket::IP;
use Digest::MD5 qw(md5_hex);
use Digest::SHA qw(sha256_hex);

my %o = (proto => 'udp', method => 'REGISTER', domain => 'ims.local', port => 0);
GetOptions(\%o, 'proto=s', 'method=s', 'user=s', 'pass=s', 'aor=s', 'to=s', 'alg=s',
	   'expires=i', 'contact=s', 'domain=s', 'port=i', 'body=s', 'print', 'listen=f',
	   'cseq=i', 'callid=s', 'delay=f', 'replay', 'answer-alg=s', 'digest-uri=s')
	or die "usage: see the head of $0\n";
my $server = shift or die "SERVER:PORT?\n";
my ($shost, $sport) = $server =~ /^\[?([^\]]+?)\]?:(\d+)$/ or die "bad server $server\n";

my $sock = IO::Socket::IP->new(PeerHost => $shost, PeerPort => $sport,
			       LocalPort => $o{port}, ReuseAddr => 1,
			       Proto => $o{proto} eq 'tcp' ? 'tcp' : 'udp',
			       Type => $o{proto} eq 'tcp' ? SOCK_STREAM : SOCK_DGRAM)
	or die "socket: $@\n";
my ($lhost, $lport) = ($sock->sockhost, $sock->sockport);
$lhost = "[$lhost]" if $lhost =~ /:/;
my $user = $o{user} // 'anonymous';
my $aor = $o{aor} // $user;
my $callid = $o{callid} // sprintf('%x%x@sipc', time, $$ * 65536 + int(rand(65536)));
my $ftag = sprintf('%08x', int(rand(2**32)));
my $cseq = $o{cseq} // 1;
my $T = uc $o{proto};
my $ruri = $o{method} eq 'REGISTER' ? "sip:$o{domain}" : ($o{to} // "sip:$aor\@$o{domain}");
my $to = $o{method} eq 'REGISTER' ? "sip:$aor\@$o{domain}" : $ruri;
my $contact = $o{contact} // "sip:$user\@$lhost:$lport" . ($T eq 'TCP' ? ';transport=tcp' : '');

sub request {
	my ($auth) = @_;
	my $branch = sprintf('z9hG4bK%08x%04x', int(rand(2**32)), $cseq);
	my $body = $o{body} // '';
	my $m = "$o{method} $ruri SIP/2.0\r\n"
	      . "Via: SIP/2.0/$T $lhost:$lport;branch=$branch;rport\r\n"
	      . "Max-Forwards: 70\r\n"
	      . "From: <sip:$user\@$o{domain}>;tag=$ftag\r\n"
	      . "To: <$to>\r\n"
	      . "Call-ID: $callid\r\n"
	      . "CSeq: $cseq $o{method}\r\n"
	      . ($contact eq '*' ? "Contact: *\r\n" : "Contact: <$contact>\r\n")
	      . (defined $o{expires} ? "Expires: $o{expires}\r\n" : '')
	      . ($auth ? "$auth\r\n" : '')
	      . ($body ne '' ? "Content-Type: text/plain\r\n" : '')
	      . "User-Agent: sipc\r\n"
	      . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
	$cseq++;
	return $m;
}

my $buf = '';
sub read_msg {	# one message, or undef after $secs
	my ($secs) = @_;
	my $deadline = time + $secs;
	while (1) {
		if ($T eq 'TCP') {
			$buf =~ s/^(\r\n)+//;
			if ($buf =~ /^(.*?\r\n\r\n)/s) {
				my $head = $1;
				my ($cl) = $head =~ /^(?:Content-Length|l)\s*:\s*(\d+)/mi;
				$cl //= 0;
				if (length($buf) >= length($head) + $cl) {
					my $msg = substr($buf, 0, length($head) + $cl, '');
					return $msg;
				}
			}
		}
		my $left = $deadline - time;
		return undef if $left <= 0;
		my $rin = '';
		vec($rin, fileno($sock), 1) = 1;
		return undef unless select(my $rout = $rin, undef, undef, $left);
		my $chunk;
		defined $sock->recv($chunk, 65536) or return undef;
		return undef if $T eq 'TCP' && $chunk eq '';
		return $chunk if $T eq 'UDP';
		$buf .= $chunk;
	}
}

sub response_to_this {	# the next response, skipping retransmissions of others
	while (defined(my $m = read_msg(8))) {
		next unless $m =~ /^SIP\/2\.0 (\d{3})/;
		my $code = $1;
		my ($cs) = $m =~ /^CSeq\s*:\s*(\d+)/mi;
		next unless defined $cs && $cs == $cseq - 1;
		print $m if $o{print};
		next if $code < 200;
		return ($code, $m);
	}
	return;
}

sub answer {	# Authorization for a challenge
	my ($resp) = @_;
	my ($hname) = $resp =~ /^SIP\/2\.0 401/ ? ('WWW-Authenticate') : ('Proxy-Authenticate');
	my @chal = $resp =~ /^\Q$hname\E\s*:\s*(.*?)\r?$/mgi;
	for my $c (@chal) {
		my %p;
		while ($c =~ /(\w+)=("((?:[^"\\]|\\.)*)"|[^,\s]+)/g) {
			$p{lc $1} = defined $3 ? $3 : $2;
		}
		my $alg = $o{'answer-alg'} // $p{algorithm} // 'MD5';
		next if $o{alg} && lc $alg ne lc $o{alg};
		my $H = lc $alg eq 'sha-256' ? \&sha256_hex : lc $alg eq 'md5' ? \&md5_hex : next;
		my $cnonce = sprintf('%08x', int(rand(2**32)));
		my $nc = '00000001';
		my $duri = $o{'digest-uri'} // $ruri;
		my $ha1 = $H->("$user:$p{realm}:$o{pass}");
		my $ha2 = $H->("$o{method}:$duri");
		my $r = $H->("$ha1:$p{nonce}:$nc:$cnonce:auth:$ha2");
		my $name = $hname eq 'WWW-Authenticate' ? 'Authorization' : 'Proxy-Authorization';
		return "$name: Digest username=\"$user\", realm=\"$p{realm}\", nonce=\"$p{nonce}\", "
		     . "uri=\"$duri\", response=\"$r\", algorithm=$alg, cnonce=\"$cnonce\", qop=auth, nc=$nc";
	}
	return;
}

sub send_msg {
	my ($m) = @_;
	$sock->send($m) or die "send: $!\n";
}

send_msg(request());
my ($code, $resp) = response_to_this();
if (defined $code && ($code == 401 || $code == 407) && defined $o{pass}) {
	my $auth = answer($resp);
	if ($auth) {
		select(undef, undef, undef, $o{delay}) if $o{delay};
		send_msg(request($auth));
		($code, $resp) = response_to_this();
		$o{replay_auth} = $auth;
	}
}
print defined $code ? ($o{print} ? '' : ($resp =~ /^(SIP\/2\.0 [^\r\n]*)/)[0] . "\n")
		    : "no response\n";
if ($o{replay} && $o{replay_auth}) {
	send_msg(request($o{replay_auth}));
	my ($c2, $r2) = response_to_this();
	print 'replay: ', defined $c2 ? ($r2 =~ /^(SIP\/2\.0 [^\r\n]*)/)[0] : 'no response', "\n";
}
if ($o{listen}) {
	my $deadline = time + $o{listen};
	while ((my $left = $deadline - time) > 0) {
		my $m = read_msg($left);
		last unless defined $m;
		if ($m =~ /^\s*$/) {
			print "CRLF\n";
			next;
		}
		my ($start) = $m =~ /^([^\r\n]*)/;
		print "$start\n";
		if ($start =~ /^[A-Z]+ / && $start !~ /^ACK /) {
			my @h = grep { /^(Via|From|To|Call-ID|CSeq|[vfti])\s*:/i } split /\r\n/, $m;
			print "$1\n" if $m =~ /\r\n\r\n(.+)$/s;	# a body, on its own line
			send_msg("SIP/2.0 200 OK\r\n" . join("\r\n", @h) . "\r\nContent-Length: 0\r\n\r\n");
		}
	}
}
exit(defined $code ? 0 : 1);
