#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `sluicectl mml` against a fake MML server (Perl, on 127.0.0.1, a free
# port) that speaks what agent/mml/reply.h lays out: one reply per command,
# each ending with "---    END" and CRLF, sent in pieces with pauses so
# that the client must put partial reads together. The server checks the
# LGI's user and password (quotes and backslashes escaped) and logs every
# line it receives, so the test sees what was sent and in what order.
#
# Good credentials: commands in order, ';' added where missing, replies
# printed, exit 0. A RETCODE that is not 0: exit 1, the other replies still
# printed. A refused login: exit 1, its reply on stderr. A credentials file
# open to others, or someone else's: refused before connecting, exit 2.
# A server that closes mid-reply, none at all, or one that never answers:
# exit 2 with one line saying which.
. "$(dirname "$0")/../lib.sh"

require_cmd perl
[ -x "$SLUICECTL" ] || skip_all "build first (make)"
plan 27

# The fake server: MODE PORTFILE LOGFILE USER PASSWORD. Modes: good (a
# command naming "nobody" gets RETCODE 4), close (the first command's reply
# is cut off by a close), silent (commands get no reply).
cat >$TMP/fake-mml.pl <<'PERL'
use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my ($mode, $portfile, $logfile, $user, $pass) = @ARGV;
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1,
	ReuseAddr => 1) or die "listen: $!";
open my $pf, '>', "$portfile.tmp" or die;
print $pf $srv->sockport, "\n";
close $pf;
rename "$portfile.tmp", $portfile;
local $SIG{ALRM} = sub { exit 0 };
alarm 30;
my $c = $srv->accept or exit 0;
open my $log, '>', $logfile or die;
$log->autoflush(1);
my $seq = 0;

sub unq { my $v = shift; $v =~ s/\\(.)/$1/g; return $v }

# In pieces: the END line itself is split, so one read never holds it all.
sub reply {
	my ($cmd, $code, $reason, $body) = @_;
	my $r = sprintf("+++    SLUICE        2026-11-24 15:04:05\r\nO&M    #%d\r\n%%%%%s%%%%\r\n" .
		"RETCODE = %d  %s\r\n", ++$seq, $cmd, $code, $reason) . $body . "\r\n---    END\r\n";
	my @cut = (int(length($r) / 3), length($r) - 8, length($r) - 1, length($r));
	my $at = 0;
	for my $to (@cut) {
		print $c substr($r, $at, $to - $at);
		$c->flush;
		$at = $to;
		sleep 0.05;
	}
}

my $buf = '';
while (1) {
	while ($buf !~ /\r\n/) {
		my $n = sysread($c, $buf, 4096, length $buf);
		exit 0 unless $n;
	}
	$buf =~ s/^(.*?)\r\n//s;
	my $line = $1;
	print $log "$line\n";
	if ($line =~ /^LGI: OP="((?:[^"\\]|\\.)*)", PWD="((?:[^"\\]|\\.)*)";$/) {
		if (unq($1) eq $user && unq($2) eq $pass) {
			reply('LGI: OP="' . unq($1) . '", PWD="***";', 0, 'Operation succeeded', '');
		} else {
			reply('LGI: OP="' . unq($1) . '", PWD="***";', 6, 'Wrong user name or password', '');
		}
	} elsif ($line eq 'LGO;') {
		reply('LGO;', 0, 'Operation succeeded', '');
		exit 0;
	} elsif ($mode eq 'close') {
		print $c "+++    SLUICE        2026-11-24 15:04:05\r\nRETCODE = 0  Operation";
		exit 0;
	} elsif ($mode eq 'silent') {
		sleep 20;
		exit 0;
	} elsif ($line =~ /nobody/) {
		reply($line, 4, 'Object does not exist', '');
	} else {
		reply($line, 0, 'Operation succeeded',
			"\r\nResult\r\n------\r\n VALUE\r\n answer to $line\r\n(Number of results = 1)\r\n");
	}
}
PERL

USER=ops
PASS='pa"ss\word with spaces'
CRED=$TMP/mml.credentials
(umask 077 && printf '# MML login for scripts\n\nuser=%s\npassword=%s\n' "$USER" "$PASS" >$CRED)

SPID=
# start_server MODE: the fake server on a free port, and a sluice.conf for it.
start_server() {
	rm -f $TMP/port $TMP/server.log
	perl $TMP/fake-mml.pl "$1" $TMP/port $TMP/server.log "$USER" "$PASS" &
	SPID=$!
	wait_for $TMP/port '^[0-9]+$' 50 || diag "the fake server did not start"
	PORT=$(cat $TMP/port)
	write_conf "$PORT"
}
# server_done: waits for the server to end by itself; stop_server ends it.
# SPID is cleared once it is reaped, so that no reused pid is killed later.
server_done() { wait "$SPID" 2>/dev/null; SPID=; }
stop_server() { [ -z "$SPID" ] || kill "$SPID" 2>/dev/null; server_done; }
cleanup_add stop_server
write_conf() {
	sluice_conf $TMP/sluice.conf mml.listen=127.0.0.1:$1
}
mml() { "$SLUICECTL" -c $TMP/sluice.conf mml "$@" >$TMP/out 2>$TMP/err; }

# Good credentials: three commands, in order; replies printed with LF line ends.
start_server good
mml -a $CRED 'DSP CALL:;' 'LST USER' 'DSP VERSION: ;  '
is "$?" 0 "good credentials, every RETCODE 0: exit 0"
server_done
is "$(cat $TMP/server.log)" 'LGI: OP="ops", PWD="pa\"ss\\word with spaces";
DSP CALL:;
LST USER;
DSP VERSION: ;
LGO;' "LGI (quote and backslash escaped), the commands in order with ';' added, LGO"
is "$(grep -c -- '^---    END$' $TMP/out)" 3 "three replies printed, each to its END line"
like "$(sed -n '3p' $TMP/out)" '^%%DSP CALL:;%%$' "the first reply is the first command's"
like "$(cat $TMP/out)" 'answer to LST USER;' "the second reply's table"
is "$(grep -o '^%%.*%%$' $TMP/out | tr '\n' '|')" '%%DSP CALL:;%%|%%LST USER;%%|%%DSP VERSION: ;%%|' \
	"replies in the order of the commands"
is "$(grep -c $'\r' $TMP/out)" 0 "CRLF printed as LF"
is "$(cat $TMP/err)" "" "nothing on stderr"

# A RETCODE that is not 0.
start_server good
mml -a $CRED 'RMV USER: USERNAME="nobody";' 'DSP CALL:;'
is "$?" 1 "a RETCODE of 4: exit 1"
server_done
like "$(cat $TMP/out)" '^RETCODE = 4  Object does not exist' "its reply is printed"
is "$(grep -c -- '^---    END$' $TMP/out)" 2 "... and the next command still runs"
like "$(tail -1 $TMP/server.log)" '^LGO;$' "... and the session ends with LGO"

# A wrong password: refused, the reply on stderr, no command sent.
start_server good
(umask 077 && printf 'user=ops\npassword=wrong-password\n' >$TMP/wrong.cred)
mml -a $TMP/wrong.cred 'DSP CALL:;'
is "$?" 1 "a refused login: exit 1"
server_done
like "$(cat $TMP/err)" 'RETCODE = 6  Wrong user name or password' "its reply is on stderr"
is "$(grep -c 'DSP CALL' $TMP/server.log)" 0 "no command was sent"

# The default credentials file: $SLUICE_MML_CREDENTIALS.
start_server good
SLUICE_MML_CREDENTIALS=$CRED "$SLUICECTL" -c $TMP/sluice.conf mml 'DSP CALL' >$TMP/out 2>$TMP/err
is "$?" 0 "credentials from \$SLUICE_MML_CREDENTIALS"
server_done

# A credentials file others can read: refused before connecting.
start_server good
cp $CRED $TMP/open.cred && chmod 0644 $TMP/open.cred
mml -a $TMP/open.cred 'DSP CALL:;'
is "$?" 2 "a credentials file of mode 0644: exit 2"
like "$(cat $TMP/err)" 'open.cred refused: open to group or others \(owner uid [0-9]+, mode 0644\)' \
	"... saying why, in one line"
is "$(wc -l <$TMP/err)" 1 "... one line"
chmod 0620 $TMP/open.cred
mml -a $TMP/open.cred 'DSP CALL:;'
is "$?" 2 "... and one the group can write: exit 2"
stop_server
[ -s $TMP/server.log ]
is "$?" 1 "... without connecting"

# Someone else's credentials file (root can make one).
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	cp $CRED $TMP/other.cred && chmod 0600 $TMP/other.cred && chown nobody $TMP/other.cred
	mml -a $TMP/other.cred 'DSP CALL:;'
	rc=$?
	like "$rc $(cat $TMP/err)" '^2 .*other.cred refused: not owned by you' \
		"a credentials file owned by another user: exit 2"
else
	skip "needs root to give a file to another user"
fi

# The server closes in the middle of a reply.
start_server close
mml -a $CRED 'DSP CALL:;'
is "$?" 2 "the server closes mid-reply: exit 2"
like "$(cat $TMP/err)" "^sluicectl: mml: DSP CALL:;: 127.0.0.1:$PORT closed the connection$" \
	"... saying so"
server_done

# Nothing listens.
write_conf "$PORT"
mml -a $CRED 'DSP CALL:;'
is "$?" 2 "no server: exit 2"
like "$(cat $TMP/err)" "cannot connect to 127.0.0.1:$PORT: Connection refused" "... saying so"

# A server that never answers: given up after 10 s.
start_server silent
start=$SECONDS
mml -a $CRED 'DSP CALL:;'
rc=$?
like "$rc $((SECONDS - start))s $(cat $TMP/err)" \
	'^2 (9|10|11|12)s sluicectl: mml: DSP CALL:;: no complete reply from .* within 10 s$' \
	"no reply: exit 2 after 10 s"
stop_server

done_testing
