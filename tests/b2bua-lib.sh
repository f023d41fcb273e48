# SPDX-License-Identifier: GPL-2.0-only
#
# What the B2BUA tests over XDP share (70, 72, 73, 75); source after lib.sh.

# b2bua_sluiced R PIN DIGEST PORTS [WRAPPER...]: subscribers 1001
# (caller-pw) and 1002 (callee-pw) imported, and sluiced started in R
# (under WRAPPER, e.g. prlimit) with XDP on r0 and r1, media on 10.0.1.1,
# its log in $TMP/sluiced.log and its pid in SPID; skips without XDP
# native. DIGEST is [sip] digest, or "default": none written, the shipped
# setting, which sipp and baresip answer with their own defaults.
# B2BUA_CONF (an array, may be unset): more SECTION.KEY=VALUE for sluice_conf.
b2bua_sluiced() {
	local r=$1 pin=$2 digest=$3 ports=$4
	shift 4
	local dig=()
	[ "$digest" = default ] || dig=(sip.digest="$digest")
	sluice_conf $TMP/sluice.conf \
		sip.listen=0.0.0.0:5060 sip.domain=ims.local "${dig[@]}" \
		media.interface="r0, r1" media.address=10.0.1.1 media.ports=$ports \
		media.datapath=auto media.timeout=10 media.bpf_pin_dir=$pin "${B2BUA_CONF[@]}"
	cat >$TMP/users.json <<JSON
{ "1001": { "username": "1001", "password": "caller-pw", "display_name": "Caller" },
  "1002": { "username": "1002", "password": "callee-pw", "display_name": "Callee" } }
JSON
	"$SLUICECTL" -c $TMP/sluice.conf import-users $TMP/users.json >/dev/null ||
		skip_all "import-users failed"
	nsenter --net=/run/netns/$r "$@" "$SLUICED" -c $TMP/sluice.conf >$TMP/sluiced.log 2>&1 &
	SPID=$!
	cleanup_add "kill $SPID"
	cleanup_add "'$SLUICECTL' -p $pin unload"
	wait_for $TMP/sluiced.log "running|cannot" 100
	grep -q "XDP native on r0,r1" $TMP/sluiced.log ||
		skip_all "XDP native not available: $(tail -2 $TMP/sluiced.log)"
}
