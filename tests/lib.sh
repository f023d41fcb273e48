# SPDX-License-Identifier: GPL-2.0-only
# Shared helpers for the integration scripts (TAP producers run by prove):
# plan and results, skips with a reason, and network namespaces that the
# script creates and a trap removes, whatever happens.
#
# A script sources this, calls `plan N` (or `skip_all REASON`), then `ok`,
# `is` and friends; `cleanup_add CMD` registers what to undo.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SLUICE_BIN=${SLUICE_BIN:-$TOP/agent}
case $SLUICE_BIN in /*) ;; *) SLUICE_BIN=$TOP/$SLUICE_BIN ;; esac
TOOLS=${SLUICE_TOOLS:-$TOP/build/tests/tools}
SLUICED=$SLUICE_BIN/sluiced
SLUICECTL=$SLUICE_BIN/sluicectl
RTPIO=$TOOLS/rtpio
# Under the ASan/UBSan build a sanitizer report ends the process with an
# error, so a test that runs the agent sees it fail.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

_tap_n=0
_tap_failed=0
_cleanup=()
TMP=$(mktemp -d /tmp/sluice-test.XXXXXX)

plan() { echo "1..$1"; }

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

ok() {	# ok CONDITION-STATUS DESCRIPTION: returns the status, for `ok ... || diag ...`
	local rc=$1
	shift
	_tap_n=$((_tap_n + 1))
	if [ "$rc" -eq 0 ]; then
		echo "ok $_tap_n - $*"
	else
		echo "not ok $_tap_n - $*"
		_tap_failed=$((_tap_failed + 1))
	fi
	return $rc
}

is() {	# is GOT WANT DESCRIPTION
	local got=$1 want=$2
	shift 2
	if [ "$got" = "$want" ]; then
		ok 0 "$*"
	else
		ok 1 "$*"
		echo "#   got:  '$got'"
		echo "#   want: '$want'"
	fi
}

like() {	# like TEXT REGEX DESCRIPTION
	local text=$1 re=$2
	shift 2
	if printf '%s\n' "$text" | grep -Eq -- "$re"; then
		ok 0 "$*"
	else
		ok 1 "$*"
		printf '%s\n' "$text" | sed 's/^/#   /' | head -20
		echo "#   does not match: $re"
	fi
}

re_quote() {	# re_quote TEXT: TEXT as an extended regex matching itself
	printf '%s' "$1" | sed 's/[][\\.*^$+?(){}|/]/\\&/g'
}

skip() {	# skip REASON: one skipped test
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n # skip $*"
}

diag() { echo "# $*" >&2; }

cleanup_add() { _cleanup+=("$*"); }

_run_cleanup() {
	local i
	for ((i = ${#_cleanup[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup[$i]}" >/dev/null 2>&1 || true
	done
	if [ -n "${SLUICE_KEEP_TMP:-}" ]; then
		echo "# kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap _run_cleanup EXIT
trap 'exit 130' INT TERM

require_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces, XDP)"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "needs $c"
	done
}

# netns_add NAME: a namespace removed at exit, with loopback up.
netns_add() {
	ip netns add "$1" || skip_all "cannot create network namespace $1"
	cleanup_add "ip netns del $1"
	ip -n "$1" link set lo up
}

# in_ns NS CMD...: runs CMD in NS's network namespace only. Not `ip netns
# exec`, which also gives CMD a private /sys without the bpffs mounted on
# /sys/fs/bpf, so that pins made there vanish with CMD.
in_ns() {
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" "$@"
}

# veth_link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair across two namespaces.
# Addresses take a prefix (10.0.0.1/24); IPv6 ones are added without DAD.
veth_link() {
	local ns1=$1 if1=$2 a1=$3 ns2=$4 if2=$5 a2=$6
	ip link add "$if1" netns "$ns1" type veth peer name "$if2" netns "$ns2" || return 1
	ip -n "$ns1" addr add "$a1" dev "$if1"
	ip -n "$ns2" addr add "$a2" dev "$if2"
	ip -n "$ns1" link set "$if1" up
	ip -n "$ns2" link set "$if2" up
}

addr6() {	# addr6 NS IF ADDR/PREFIX
	ip -n "$1" addr add "$3" dev "$2" nodad
}

# relay_topology C R E [NET]: the caller's namespace C (NET.1.2), the
# relay's R (r0 NET.1.1 towards C, r1 NET.2.1 towards E, forwarding) and
# the callee's E (NET.2.2), joined by veth pairs; NET is 10.0 unless
# given. GRO on the phones' ends, so that XDP native works on the relay's,
# and real UDP checksums from the phones, as from behind a NIC.
relay_topology() {
	local c=$1 r=$2 e=$3 n=${4:-10.0} x
	for x in $c $r $e; do netns_add $x; done
	veth_link $c c0 $n.1.2/24 $r r0 $n.1.1/24 || skip_all "cannot create veth pairs"
	veth_link $r r1 $n.2.1/24 $e e0 $n.2.2/24
	ip -n $c route add default via $n.1.1
	ip -n $e route add default via $n.2.1
	in_ns $r sysctl -qw net.ipv4.conf.all.forwarding=1
	for x in "$c c0" "$e e0"; do
		set -- $x
		in_ns $1 ethtool -K $2 gro on tx off >/dev/null
	done
	in_ns $c ping -c1 -W2 $n.1.1 >/dev/null
	in_ns $e ping -c1 -W2 $n.2.1 >/dev/null
}

# bridge_topology B S P1 P2 [NET]: a one-armed server as containers, LXC
# and lab VMs wire one. B holds the bridge br0 (the host's side); the
# server's namespace S has srv0 (NET.0.1/24), a veth whose peer brs is a
# port of br0; the phones' namespaces P1 and P2 have ph0 (NET.0.11, .12),
# veths whose peers are ports too. Every interface keeps the kernel's
# defaults (no GRO on the peers, checksum offload on the phones), as a
# newcomer's would. NET is 10.80 unless given.
bridge_topology() {
	local b=$1 s=$2 p1=$3 p2=$4 n=${5:-10.80} x i=0
	for x in $b $s $p1 $p2; do netns_add $x; done
	ip -n $b link add br0 type bridge || skip_all "cannot create a bridge"
	ip -n $b link set br0 up
	ip link add srv0 netns $s type veth peer name brs netns $b || skip_all "cannot create veth pairs"
	ip -n $b link set brs master br0 up
	ip -n $s addr add $n.0.1/24 dev srv0
	ip -n $s link set srv0 up
	for x in $p1 $p2; do
		i=$((i + 1))
		ip link add ph0 netns $x type veth peer name bp$i netns $b
		ip -n $b link set bp$i master br0 up
		ip -n $x addr add $n.0.1$i/24 dev ph0
		ip -n $x link set ph0 up
		in_ns $x ping -c1 -W2 $n.0.1 >/dev/null
	done
}

# sluice_conf FILE [SECTION.KEY=VALUE ...]: FILE, a configuration for a
# test's sluiced (or sluicectl): these defaults, then each SECTION.KEY=VALUE
# in turn, replacing a default or adding a key; what is not written takes
# conf/sluice.conf's default. The defaults: the userspace relay on
# loopback, the pins of this script only, the database in $TMP, no NG or
# rtpproxy control socket, no web listener ([http] listen = off; the web
# tests set their own), logging at info.
#   sluice_conf $TMP/sluice.conf sip.listen=$SIP sip.digest="md5, sha-256" log.level=debug
sluice_conf() {
	local file=$1 kv k sec lines
	local -A val=()
	local keys=()
	shift
	for kv in media.interface=lo media.address=127.0.0.1 media.datapath=user \
		media.bpf_pin_dir=/sys/fs/bpf/sluice-test-$$ store.db=$TMP/sluice.db \
		control.ng=off control.rtpproxy=off http.listen=off log.level=info "$@"; do
		case $kv in
		sip.?*=* | trunk.?*=* | media.?*=* | store.?*=* | mml.?*=* | cdr.?*=* | \
		control.?*=* | http.?*=* | testcall.?*=* | hep.?*=* | log.?*=*) ;;
		*) echo "Bail out! sluice_conf: '$kv' is not SECTION.KEY=VALUE"; exit 1 ;;
		esac
		k=${kv%%=*}
		[ -n "${val[$k]+set}" ] || keys+=("$k")
		val[$k]=${kv#*=}
	done
	# Sections in conf/sluice.conf's order, keys in the order first given.
	for sec in sip trunk media store mml http testcall hep cdr control log; do
		lines=
		for k in "${keys[@]}"; do
			[ "${k%%.*}" = $sec ] && lines+="${k#*.} = ${val[$k]}"$'\n'
		done
		[ -z "$lines" ] || printf '[%s]\n%s' $sec "$lines"
	done >"$file"
}

# wait_for FILE REGEX [TENTHS]: until a line matches, or give up.
wait_for() {
	local i
	for ((i = 0; i < ${3:-50}; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

bpffs_ready() {
	[ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ] ||
		mount -t bpf bpf /sys/fs/bpf 2>/dev/null
}

done_testing() {
	[ "$_tap_failed" -eq 0 ]
}
