#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `sluicectl import-users` with a users.json as the previous server wrote
# it: every good entry becomes a subscriber whose HA1s (computed here with
# md5sum and sha256sum) are right and whose password is nowhere in the
# database; bad entries are named with their reason and skipped, and the
# exit status says so; importing again changes nothing, and a changed
# password or status is updated. Our own member, digest, holds a user to
# its algorithms; a file without it keeps what is stored. Then an imported
# subscriber registers with its password against a running sluiced, and
# one held to SHA-256 is refused an MD5 answer.
. "$(dirname "$0")/../lib.sh"

require_cmd sqlite3 md5sum sha256sum perl
[ -x "$SLUICECTL" ] && [ -x "$SLUICED" ] || skip_all "build first (make)"
plan 23

DB=$TMP/sluice.db
USERS=$TOP/tests/testdata/users.json
sluice_conf $TMP/sluice.conf \
	sip.listen=127.0.0.1:5060 sip.domain=ims.example.org store.db=$DB
ctl() { "$SLUICECTL" -c $TMP/sluice.conf "$@"; }
q() { sqlite3 $DB "$@"; }

out=$(ctl import-users $USERS 2>$TMP/err)
rc=$?
is "$rc" 1 "entries were skipped: exit status 1"
like "$out" "5 added, 0 updated, 0 unchanged, 2 skipped" "5 added, 2 skipped"
like "$(cat $TMP/err)" "user 'bad user' skipped: user name" "the bad user name is named with its reason"
like "$(cat $TMP/err)" "user '1099' skipped: status" "... and the unknown status"
is "$(q 'SELECT count(*) FROM subscribers')" 5 "five subscribers"
is "$(q "SELECT impu || '|' || display_name || '|' || phone || '|' || email || '|' || status || '|' || service_type || '|' || role FROM subscribers WHERE username = '1001'")" \
	"sip:1001@ims.example.org|Alice Martin|+33 1 23 45 67 01|alice@example.org|ACTIVE|VOICE|user" \
	"every column of 1001"
is "$(q "SELECT status FROM subscribers WHERE username = '1004'")" SUSPENDED \
	"status is read case-insensitively"
is "$(q "SELECT display_name FROM subscribers WHERE username = '1003'")" "Carol Nguyễn" "UTF-8 names kept"

bad=0
for u in 1001 1002 1003 1004 reception; do
	pw=$(perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0]; print decode_json(<$f>)->{$ARGV[1]}{password}' $USERS $u)
	md5=$(printf '%s' "$u:ims.example.org:$pw" | md5sum | cut -d' ' -f1)
	sha=$(printf '%s' "$u:ims.example.org:$pw" | sha256sum | cut -d' ' -f1)
	[ "$(q "SELECT ha1_md5 || ' ' || ha1_sha256 FROM subscribers WHERE username = '$u'")" = "$md5 $sha" ] ||
		{ diag "HA1s of $u wrong"; bad=1; }
	grep -qaF -- "$pw" $DB* && { diag "password of $u found in the database"; bad=1; }
done
is "$bad" 0 "HA1s for MD5 and SHA-256 are right, and no password is stored"

out=$(ctl import-users $USERS 2>/dev/null)
like "$out" "0 added, 0 updated, 5 unchanged, 2 skipped" "importing again changes nothing"

perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0]; my $u = decode_json(<$f>);
	$u->{1002}{password} = "new-pass"; $u->{1003}{status} = "ACTIVE";
	delete $u->{"bad user"}; delete $u->{1099};
	print JSON::PP->new->utf8->pretty->encode($u)' $USERS >$TMP/users2.json
out=$(ctl import-users $TMP/users2.json)
is "$?" 0 "a clean file: exit status 0"
like "$out" "0 added, 2 updated, 3 unchanged, 0 skipped" "a new password and a new status: two updated"
is "$(q "SELECT ha1_md5 FROM subscribers WHERE username = '1002'")" \
	"$(printf '%s' "1002:ims.example.org:new-pass" | md5sum | cut -d' ' -f1)" "the new password's HA1"

perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0]; my $u = decode_json(<$f>);
	$u->{1001}{digest} = "sha-256"; $u->{1002}{digest} = "SHA-256, md5";
	$u->{1003}{digest} = "sha-1"; $u->{1004}{digest} = "";
	print JSON::PP->new->utf8->pretty->encode($u)' $TMP/users2.json >$TMP/users3.json
out=$(ctl import-users $TMP/users3.json 2>$TMP/err3)
like "$out" "0 added, 2 updated, 2 unchanged, 1 skipped" "digest members: two held to their algorithms"
like "$(cat $TMP/err3)" "user '1003' skipped: digest: " "... an unknown algorithm named with its reason"
digests() { q "SELECT group_concat(username || '=' || digest, ';') FROM
	(SELECT username, digest FROM subscribers ORDER BY username)"; }
is "$(digests)" "1001=SHA-256;1002=SHA-256, MD5;1003=;1004=;reception=" \
	"... stored in their order (empty: [sip] digest's)"
out=$(ctl import-users $TMP/users2.json)
like "$out" "0 added, 0 updated, 5 unchanged" "a file without digest members changes nothing ..."
is "$(digests)" "1001=SHA-256;1002=SHA-256, MD5;1003=;1004=;reception=" "... and keeps them"

printf '{ "1001": ' >$TMP/broken.json
out=$(ctl import-users $TMP/broken.json 2>&1)
is "$?" 1 "a broken file fails"
like "$out" "nothing imported" "... and says nothing was imported"

# An imported subscriber registers with its password.
if [ "$(id -u)" -eq 0 ] && command -v nsenter >/dev/null; then
	NS=simp$$
	netns_add $NS
	nsenter --net=/run/netns/$NS "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
	SPID=$!
	cleanup_add "kill $SPID"
	wait_for $TMP/sluiced.log "running|cannot" 100
	out=$(in_ns $NS perl $TOP/tests/tools/sipc.pl --user 1001 --pass 'Alice#2019' \
		--domain ims.example.org 127.0.0.1:5060)
	like "$out" "SIP/2.0 200" "1001 registers with its imported password (SHA-256)"
	out=$(in_ns $NS perl $TOP/tests/tools/sipc.pl --user 1001 --pass 'Alice#2019' \
		--domain ims.example.org --answer-alg md5 127.0.0.1:5060)
	like "$out" "SIP/2.0 401" "... held to SHA-256, its MD5 answer is refused"
	out=$(in_ns $NS perl $TOP/tests/tools/sipc.pl --user 1004 --pass 'dave pass with spaces' \
		--domain ims.example.org 127.0.0.1:5060)
	like "$out" "SIP/2.0 403" "a SUSPENDED one is refused"
else
	skip "needs root for a network namespace"
	skip "needs root for a network namespace"
	skip "needs root for a network namespace"
fi
done_testing
