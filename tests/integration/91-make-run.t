#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make run (scripts/run.sh) in a namespace whose default route goes out of
# one end of a veth pair: what it prints, the files it makes and their modes,
# MML through the credentials it wrote, and a second run that keeps them.
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip nsenter sqlite3
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
bpffs_ready || skip_all "no bpffs on /sys/fs/bpf"

N=smr$$
netns_add $N
ip -n $N link add d0 type veth peer name d1 && ip -n $N addr add 10.88.0.1/24 dev d0 &&
	ip -n $N link set d1 up && ip -n $N link set d0 up &&
	ip -n $N route add default via 10.88.0.2 || skip_all "cannot make a veth pair"
PIN=/sys/fs/bpf/sluice-test-r$$
cleanup_add "'$SLUICECTL' -p $PIN unload"
V=$TMP/var
plan 14

run() {	# run LOG: make run in the namespace, until sluiced runs
	SLUICE_BIN=$SLUICE_BIN SLUICE_VAR=$V SLUICE_PIN=$PIN \
		nsenter --net=/run/netns/$N "$TOP/scripts/run.sh" >$1 2>&1 &
	RPID=$!
	cleanup_add "kill $RPID 2>/dev/null"
	wait_for $1 "running|cannot|error" 100
}
stop() {
	kill -TERM $RPID
	wait $RPID
}

run $TMP/run1.log
like "$(cat $TMP/run1.log)" "\[core\] sluiced .* running" "make run starts sluiced in the foreground"
like "$(cat $TMP/run1.log)" "media on d0" "... on the default route's interface"
like "$(cat $TMP/run1.log)" "data path: XDP (native|generic) on d0" "... with XDP attached, as root"
pw=$(sed -n 's/.*operator admin, password \([A-Za-z0-9]*\).*/\1/p' $TMP/run1.log)
[ ${#pw} = 16 ]
ok $? "it prints the MML admin's password (16 characters)"
like "$(cat $TMP/run1.log)" "demo subscriber sip:1001@ims.local, password [A-Za-z0-9]{12}" \
	"... and two demo subscribers'"
is "$(stat -c %a $V $V/mml.credentials $V/demo-users.txt | xargs)" "700 600 600" \
	"var/ and the secrets in it are its owner's only"
is "$(sqlite3 $V/sluice.db 'SELECT group_concat(username) FROM subscribers')" "1001,1002" \
	"the database has the demo subscribers"
out=$(in_ns $N "$SLUICECTL" -c $V/sluice.conf mml -a $V/mml.credentials 'DSP SYSINFO:;')
ok $? "sluicectl mml logs in with var/mml.credentials"
like "$out" "SUBSCRIBERS +2" "... and DSP SYSINFO answers"
stop
ok $? "sluiced stops on SIGTERM"

run $TMP/run2.log
like "$(cat $TMP/run2.log)" "operator admin, password $pw" "a second run keeps the password"
is "$(grep -c 'first run' $TMP/run2.log)" 0 "... and creates no operator again"
like "$(cat $TMP/run2.log)" "$(grep 'demo subscriber sip:1002' $TMP/run1.log)" "... nor subscribers"
stop
ok $? "sluiced stops again"
done_testing
