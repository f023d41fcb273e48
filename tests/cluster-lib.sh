# SPDX-License-Identifier: GPL-2.0-only
#
# Two sluiced nodes on one PostgreSQL (44, 45, 47); source after lib.sh and
# pg-lib.sh. cluster_topology builds a bridge namespace BR with one port
# each for node A (NET.0.1), node B (NET.0.2), phone 1 (NET.0.11), phone 2
# (NET.0.12) and a spare (NET.0.5, for a proxy in front), each in its own
# namespace: $NA $NB $P1 $P2 $PX. cluster_node X starts node X (a or b)
# with the userspace relay on its own address, its log in $TMP/X.log and
# its pid in PID_X.

cluster_topology() {
	local n=$NET x i
	BR=cbr$$ NA=cna$$ NB=cnb$$ P1=cp1$$ P2=cp2$$ PX=cpx$$
	for x in $BR $NA $NB $P1 $P2 $PX; do netns_add $x; done
	ip -n $BR link add br0 type bridge || skip_all "cannot create a bridge"
	ip -n $BR link set br0 up
	i=0
	for x in "$NA 1" "$NB 2" "$P1 11" "$P2 12" "$PX 5"; do
		set -- $x
		i=$((i + 1))
		ip link add eth0 netns $1 type veth peer name p$i netns $BR ||
			skip_all "cannot create veth pairs"
		ip -n $BR link set p$i master br0 up
		ip -n $1 addr add $n.0.$2/24 dev eth0
		ip -n $1 link set eth0 up
	done
	in_ns $P1 ping -c1 -W2 $n.0.1 >/dev/null && in_ns $P2 ping -c1 -W2 $n.0.2 >/dev/null ||
		skip_all "the bridge does not forward"
}

# cluster_conf X: node X's configuration in $TMP/X.conf.
cluster_conf() {
	local x=$1 ip
	[ $x = a ] && ip=$NET.0.1 || ip=$NET.0.2
	sluice_conf $TMP/$x.conf sip.listen=$ip:5060 sip.domain=ims.local \
		media.interface=eth0 media.address=$ip media.ports=30000-30199 \
		media.bpf_pin_dir=/sys/fs/bpf/sluice-test-$$-$x \
		mml.listen=127.0.0.1:7777 mml.admin_password=admin-pw-1 mml.node=NODE-${x^^} \
		"store.db=$PG_CONNINFO" store.local=$TMP/$x.db store.node=node-$x \
		store.node_address=$ip:5060 "${CLUSTER_CONF[@]}"
}

cluster_node() {
	local x=$1 ns
	[ $x = a ] && ns=$NA || ns=$NB
	[ -f $TMP/$x.conf ] || cluster_conf $x
	[ -f $TMP/$x.log ] && cat $TMP/$x.log >>$TMP/$x-old.log
	nsenter --net=/run/netns/$ns "$SLUICED" -c $TMP/$x.conf >$TMP/$x.log 2>&1 &
	eval PID_$x=$!
	cleanup_add "kill \$PID_$x 2>/dev/null"
	wait_for $TMP/$x.log "running|cannot" 100
}

# cluster_stop: SIGTERM to both nodes; a check that both exit 0 (no sanitizer report).
cluster_stop() {
	local rc_a
	kill -TERM $PID_a $PID_b
	wait $PID_a
	rc_a=$?
	wait $PID_b
	ok $((rc_a | $?)) "both nodes stop cleanly (no sanitizer report)"
}

# node_mml X CMD...: MML commands on node X (as admin), the reply on stdout.
node_mml() {
	local x=$1 ns
	shift
	[ $x = a ] && ns=$NA || ns=$NB
	[ -f $TMP/admin.cred ] ||
		(umask 077 && printf 'user=admin\npassword=admin-pw-1\n' >$TMP/admin.cred)
	timeout 20 nsenter --net=/run/netns/$ns "$SLUICECTL" -c $TMP/$x.conf mml \
		-a $TMP/admin.cred "$@"
}

# phone_register NS IP PORT USER PASSWORD NODE-IP: a sipp REGISTER with digest
# (PHONE_SIPP_ARGS, an array, may add options).
phone_register() {
	sed "s/@EXPECT@/200/" $TOP/tests/integration/sipp/register.xml >$TMP/reg.xml
	in_ns $1 sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user $4 \
		-key aor $4 -key domain ims.local -key expires 600 -au $4 -ap $5 \
		-i $2 -p $3 ${PHONE_SIPP_ARGS[@]} $6:5060 >$TMP/reg-$4.out 2>&1
}
