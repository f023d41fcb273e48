#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench-sip: the SIP side on one core, beside Kamailio in the same run.
# sluiced (and Kamailio) pinned to SERVER_CPU, the load (sipp, tlsreg) to
# SIPP_CPU, sluice's sqlite database on a real disk (DB_DIR, refused when it
# is a tmpfs). Phases (PHASES, in this order by default):
#
#   calls  calls per second through the B2BUA: the topology of
#          tests/integration/70-b2bua-call.t (caller, relay, callee
#          namespaces, XDP native on the relay's veths), every INVITE
#          challenged (407) and answered, each side playing 3 packets of
#          Debian's G.711 pcap once answered so that both legs latch and
#          the kernel takes the stream over, each call held 1 s. The rate
#          steps up through RATES, SECS seconds each, until a step fails;
#          SWEEPS sweeps. At the failing step: sluiced's CPU share (from
#          /proc/PID/stat, over the step and its busiest second), the
#          relay's UDP receive-buffer drops, the loop's longest stall
#          (DSP SYSINFO) and how long the loop's thread was on the CPU and
#          runnable but waiting for it (schedstat: on a shared machine
#          other processes take the core), so that the cause of the
#          failure is on record.
#   calls-pg  the same with [store] db on PostgreSQL: a server of the
#          benchmark's own (Debian's postgresql, initdb in DB_DIR, run as
#          nobody, pinned to SERVER_CPU beside sluiced, durable commits as
#          configured by default), the subscribers added over MML.
#   calls2 two nodes on one PostgreSQL (started as for calls-pg): node A
#          on the calls topology (SERVER_CPU), node B in the same relay
#          namespace on a second pair of veths (C c1 - r2, r3 - e1 E; SIP
#          on 10.0.3.1, XDP on r2 and r3, MML on 7778, SIPP_CPU), each
#          with its own caller and callee, half the step's rate each; sipp
#          unpinned (2 cores: the load shares them). The ratio to one node
#          is to calls-pg's figure of the same run.
#   reg    REGISTER per second with digest: REG_SUBS subscribers, REG_CONC
#          in flight, REG_COUNT per run, REPEAT runs 33 s apart (RFC 3261's
#          Timer J); sluiced (a 200 only once the binding is committed),
#          Kamailio with usrloc db_mode 1 (write-through: each binding
#          written to its sqlite database before the 200), and Kamailio
#          with usrloc in memory (db_mode 0) for reference.
#   tls    the same over TLS with tests/bench/tlsreg (Debian's sipp has no
#          TLS): a registration per connection (a full handshake each) and
#          registrations over kept connections, against sluiced and
#          Kamailio's tls module (usrloc db_mode 1).
#   conc   CONC_REGS concurrent registrations, then CONC_CALLS concurrent
#          calls with media offloaded, held HOLD_S s: memory per
#          registration and per call (sluiced's RSS before and after,
#          divided by the count).
#
# sipp runs with its own defaults (digest algorithm and digest-uri
# included); the only keys given are the scenario's and the credentials.
# Results: OUT (default build/bench/sip.md), sipp's errors beside it.
#
#   tests/bench/sip.sh [OUT.md]     (root; sipp, sqlite3, tcpdump, bc; kamailio optional)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SLUICED=${SLUICE_BIN:-$TOP/agent}/sluiced
SLUICECTL=${SLUICE_BIN:-$TOP/agent}/sluicectl
TLSREG=${TLSREG:-$TOP/build/bench/tlsreg}
OUT=${1:-$TOP/build/bench/sip.md}
PHASES=${PHASES:-"calls calls-pg calls2 reg tls conc"}
RATES=${RATES:-"500 1000 1500 2000 2500 3000 3500 4000 5000"}
SECS=${SECS:-10}
SWEEPS=${SWEEPS:-3}
REG_SUBS=${REG_SUBS:-10000}
REG_COUNT=${REG_COUNT:-40000}
REG_CONC=${REG_CONC:-200}
REG_COUNT_DURABLE=${REG_COUNT_DURABLE:-4000}	# Kamailio write-through: a disk write each
REPEAT=${REPEAT:-3}
TLS_COUNT=${TLS_COUNT:-20000}
TLS_CONC=${TLS_CONC:-100}
TLS_COUNT_KAM=${TLS_COUNT_KAM:-2000}	# Kamailio's TLS runs are 10x slower
TLS_GAP=${TLS_GAP:-5}
CONC_REGS=${CONC_REGS:-100000}
CONC_CALLS=${CONC_CALLS:-20000}	# half IPv4, half IPv6 media
CONC_RATE=${CONC_RATE:-100}	# calls per second per family
HOLD_S=${HOLD_S:-60}
GAP=${GAP:-33}		# s between REGISTER runs: RFC 3261 Timer J (32 s) clears the last run's transactions
SERVER_CPU=${SERVER_CPU:-1}
# sluiced's open-file limit: the shipped unit's (conf/sluiced.service), as
# an operator running it as a service has it, or where that cannot be set
# (a container without CAP_SYS_RESOURCE) the hard limit it can have.
# How the phones send their 3 packets: sipp's rtp_stream, from each call's
# own UDP port (stream), or play_pcap_audio (pcap), whose raw sockets get a
# copy of every datagram delivered in the phones' namespaces, most of them
# sluiced's, and that copying runs on sluiced's core: a fifth of it at
# 2,500 calls a second, a cost of this topology that no real phone puts
# on a server.
PLAY=${PLAY:-stream}
NOFILE=${NOFILE:-$(sed -n 's/^LimitNOFILE=//p' "$TOP/conf/sluiced.service")}
prlimit --nofile=$NOFILE true 2>/dev/null || NOFILE=$(ulimit -Hn)
SIPP_CPU=${SIPP_CPU:-0}
DB_DIR=${DB_DIR:-$TOP/build/bench/db}
PCAP=/usr/share/sip-tester/g711a.pcap

die() { echo "sip.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root"
command -v sipp >/dev/null || die "needs sipp (make deps)"
[ -x "$SLUICED" ] || die "build first (make)"
mkdir -p "$DB_DIR" "$(dirname "$OUT")"
[ "$(stat -f -c %T "$DB_DIR")" != tmpfs ] || die "DB_DIR $DB_DIR is a tmpfs: the store must be on a disk"
TMP=$(mktemp -d /tmp/sluice-bench-sip.XXXXXX)
DBD=$(mktemp -d "$DB_DIR/sip.XXXXXX")
ERRLOG=${OUT%.md}-errors.log
LOG=${OUT%.md}.log
C=bsc$$ R=bsr$$ E=bse$$ L=bsl$$
PIN=/sys/fs/bpf/sluice-bench-sip$$
SPID= KPID=
stop_sluiced() {
	[ -n "$SPID" ] || return 0
	kill "$SPID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
	SPID=
}
stop_kamailio() {
	[ -f $TMP/kam.pid ] && kill "$(cat $TMP/kam.pid)" 2>/dev/null
	rm -f $TMP/kam.pid
	sleep 1
}
cleanup() {
	kill $(jobs -p) 2>/dev/null
	stop_sluiced
	stop_kamailio
	pg_bench_stop
	for p in $PIN ${PIN}a ${PIN}b; do "$SLUICECTL" -p $p unload >/dev/null 2>&1; done
	for ns in $C $R $E $L; do ip netns del $ns 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$TMP" "$DBD"
}
trap cleanup EXIT
: >"$ERRLOG"
: >"$LOG"
note() { echo "$*" | tee -a "$LOG" >&2; }
ns() { local n=$1; shift; nsenter --net=/run/netns/$n "$@"; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
# core_ticks CPU: "idle irq seconds" of that core: its idle and iowait
# ticks (exact; the busy ones are not, here: a task's time may reach
# /proc/stat late), its hard and soft interrupt ticks (which the kernel
# does not bill to the process they ran on behalf of, e.g. its sends' veth
# deliveries) and the time of day
core_ticks() { awk -v c=cpu$1 -v t="$(date +%s.%N)" '$1 == c {print $5 + $6, $7 + $8, t}' /proc/stat; }
# the event loop's thread (the main one): ns on a CPU and ns runnable but waiting for one
schedstat() { awk '{print $1, $2}' /proc/$1/task/$1/schedstat; }
# context switches of all the process's threads
ctxsw() { cat /proc/$1/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'; }
rss_kb() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
sipp_count() {	# sipp_count FILE Successful|Failed: the cumulative count
	sed -n "s/^ *$2 call *| *[0-9]* *| *\([0-9]*\).*/\1/p" "$1" | tail -1
}
ROWS=()
row() { ROWS+=("$1"); echo "$1" >>"$LOG"; }

# ---- subscribers: 1001-1004 (the calls' phones) and 2000000+i ----
NSUBS=$REG_SUBS
[[ " $PHASES " == *" conc "* ]] && ((CONC_REGS > NSUBS)) && NSUBS=$CONC_REGS
awk -v n=$NSUBS 'BEGIN { print "SEQUENTIAL"; for (i = 0; i < n; i++) printf "%d;pw%d\n", 2000000 + i, i }' \
	>$TMP/users.csv
awk -v n=$NSUBS 'BEGIN {
	printf "{"
	for (u = 1001; u <= 1004; u++) printf "\"%d\": {\"username\": \"%d\", \"password\": \"pw%d\"},\n", u, u, u
	for (i = 0; i < n; i++)
		printf "\"%d\": {\"username\": \"%d\", \"password\": \"pw%d\"}%s\n", 2000000 + i, 2000000 + i, i, i + 1 < n ? "," : ""
	printf "}"
}' >$TMP/users.json
# Kamailio's subscriber rows: the same HA1s.
awk -v n=$NSUBS 'BEGIN { for (i = 0; i < n; i++) printf "%d:ims.local:pw%d\n", 2000000 + i, i }' |
	perl -MDigest::MD5=md5_hex -ne 'chomp; my ($u) = /^(\d+)/;
		print "INSERT INTO subscriber (username, domain, ha1) VALUES (\x27$u\x27, \x27ims.local\x27, \x27" . md5_hex($_) . "\x27);\n"' \
	>$TMP/kam-subs.sql
mkdir -p $TMP/seed
cat >$TMP/seed/sluice.conf <<CONF
[store]
db = $TMP/seed/sluice.db
CONF
"$SLUICECTL" -c $TMP/seed/sluice.conf import-users $TMP/users.json >/dev/null || die "import-users failed"
note "sip.sh: $NSUBS subscribers; database in $DBD ($(stat -f -c %T "$DBD")); sluiced's open-file limit $NOFILE; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# start_sluiced NS CONF: sluiced pinned to SERVER_CPU in NS, its database a
# fresh copy of the seed's; waits until it runs ($SPID)
start_sluiced() {
	local port=${MML_PORT:-7777}
	rm -f $DBD/sluice.db* $DBD/local${NODE:-}.db*
	[ -n "$STORE_DB" ] || cp $TMP/seed/sluice.db $DBD/sluice.db
	nsenter --net=/run/netns/$1 prlimit --nofile=$NOFILE taskset -c ${CPU:-$SERVER_CPU} "$SLUICED" -c $2 \
		>$TMP/sluiced${NODE:-}.log 2>&1 &
	SPID=$!
	# At level warn it does not say "running": its MML port, opened last, does.
	for ((i = 0; i < 150; i++)); do
		[ -n "$(ns $1 ss -Hltn "sport = :$port")" ] && break
		kill -0 $SPID 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$(ns $1 ss -Hltn "sport = :$port")" ] ||
		die "sluiced did not start: $(tail -3 $TMP/sluiced${NODE:-}.log)"
}
sluice_conf() {	# sluice_conf FILE LISTEN MEDIA-LINES...: a benchmark configuration
	local f=$1 listen=$2
	shift 2
	{
		printf '[sip]\nlisten = %s\ndomain = ims.local\ndigest = md5, sha-256\n' "$listen"
		printf 'keepalive = off\nsession_expires = off\nauth_fail_limit = 1000000\n'
		[ -n "${SIP_EXTRA:-}" ] && printf '%s\n' "$SIP_EXTRA"
		printf '[media]\n'
		printf '%s\n' "$@"
		printf 'bpf_pin_dir = %s\n[control]\nng = off\nrtpproxy = off\n' $PIN${NODE:-}
		printf '[mml]\nlisten = 127.0.0.1:%s\nadmin_password = bench-pw\n' ${MML_PORT:-7777}
		printf '[http]\nlisten = off\n'
		if [ -n "$STORE_DB" ]; then
			printf '[store]\ndb = %s\nlocal = %s/local%s.db\nnode = node%s\n' \
				"$STORE_DB" "$DBD" "${NODE:-}" "${NODE:-}"
		else
			printf '[store]\ndb = %s/sluice.db\n' "$DBD"
		fi
		printf '[log]\nlevel = warn\n'
	} >$f
}
mml() { ns $1 perl $TOP/tests/tools/mmlc.pl 127.0.0.1:${MML_PORT:-7777} 'LGI: OP="admin", PWD="bench-pw";' "$2"; }
D=$TOP/tests/integration/sipp
sed "s/@EXPECT@/200/" $D/register.xml >$TMP/reg.xml
sed -e 's/\[user\]/[field0]/g; s/\[aor\]/[field0]/g' -e 's/@EXPECT@/200/' $D/register.xml >$TMP/reg-csv.xml

# ---- PostgreSQL: a server of the benchmark's own on DB_DIR's disk ----
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
STORE_DB=	# empty: sqlite in DBD; else [store] db, PostgreSQL's conninfo
PGPID=
pg_bench_start() {	# initdb and start as nobody, pinned to SERVER_CPU; STORE_DB
	local i
	[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && id nobody >/dev/null 2>&1 || return 1
	chmod 711 $DBD
	mkdir -p $DBD/pg
	chown nobody $DBD/pg
	runuser -u nobody -- "$PG_BIN/initdb" -D $DBD/pg/data -A trust -U sluice -E UTF8 \
		>$TMP/initdb.log 2>&1 || return 1
	taskset -c $SERVER_CPU runuser -u nobody -- setsid "$PG_BIN/postgres" -D $DBD/pg/data \
		-k $DBD/pg -c listen_addresses= -c max_connections=40 >$TMP/pg.log 2>&1 &
	PGPID=$!
	for ((i = 0; i < 100; i++)); do
		psql -X -A -t -q -h $DBD/pg -U sluice -d postgres -c 'SELECT 1' >/dev/null 2>&1 &&
			break
		sleep 0.1
	done
	STORE_DB="host=$DBD/pg dbname=postgres user=sluice"
}
pg_ticks() {	# CPU ticks of the PostgreSQL server's processes; 0 without one
	local pm p t=0
	pm=$(head -1 $DBD/pg/data/postmaster.pid 2>/dev/null)
	[ -n "$STORE_DB" ] && [ -n "$pm" ] || { echo 0; return; }
	for p in $pm $(pgrep -P $pm); do t=$((t + $(ticks $p 2>/dev/null || echo 0))); done
	echo $t
}
pg_bench_stop() {
	local pid
	STORE_DB=
	pid=$(head -1 $DBD/pg/data/postmaster.pid 2>/dev/null)
	[ -n "$pid" ] || return 0
	kill -INT "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	PGPID=
}

# ---- the calls' topology: caller C - relay R - callee E ----
topology() {
	for ns in $C $R $E; do ip netns add $ns; ip -n $ns link set lo up; done
	ip link add c0 netns $C type veth peer name r0 netns $R
	ip link add r1 netns $R type veth peer name e0 netns $E
	ip -n $C addr add 10.0.1.2/24 dev c0
	ip -n $R addr add 10.0.1.1/24 dev r0
	ip -n $R addr add 10.0.2.1/24 dev r1
	ip -n $E addr add 10.0.2.2/24 dev e0
	ip -n $C addr add fd00:1::2/64 dev c0 nodad
	ip -n $R addr add fd00:1::1/64 dev r0 nodad
	ip -n $R addr add fd00:2::1/64 dev r1 nodad
	ip -n $E addr add fd00:2::2/64 dev e0 nodad
	for x in "$C c0" "$R r0" "$R r1" "$E e0"; do set -- $x; ip -n $1 link set $2 up; done
	ip -n $C route add default via 10.0.1.1
	ip -n $E route add default via 10.0.2.1
	ip -n $C -6 route add default via fd00:1::1
	ip -n $E -6 route add default via fd00:2::1
	ns $R sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1
	for x in "$C c0" "$E e0"; do set -- $x; ns $1 ethtool -K $2 gro on tx off >/dev/null; done
	sleep 1
	local play port='[media_port]'
	if [ "$PLAY" = pcap ]; then
		tcpdump -r $PCAP -c 3 -w $TMP/start.pcap 2>/dev/null
		play='<exec play_pcap_audio="'$TMP/start.pcap'"/>'
	else
		# 3 packets of A-law silence, 20 ms each, from the call's own port
		head -c 480 /dev/zero | tr '\0' '\325' >$TMP/start.alaw
		play='<exec rtp_stream="'$TMP/start.alaw',1,8"/>' port='[rtpstream_audio_port]'
	fi
	play="<nop><action>$play</action></nop>"
	sed -e "s|^  <pause/>|  $play\n  <pause/>|" -e "s|\[media_port\]|$port|" \
		$D/uac_call.xml >$TMP/uac.xml
	sed -e "s|^  <recv request=\"ACK\" crlf=\"true\"/>|&\n  $play|" -e "s|\[media_port\]|$port|" \
		$D/uas_answer.xml >$TMP/uas.xml
}
calls_sluiced() {	# calls_sluiced TIMEOUT_S: sluiced on R with XDP, callees registered
	sluice_conf $TMP/calls.conf 0.0.0.0:5060 "interface = r0, r1" \
		"address = 10.0.1.1, fd00:1::1" "ports = 10000-59999" "datapath = xdp" "timeout = $1"
	start_sluiced $R $TMP/calls.conf
	ns $R ip link show r0 | grep -q xdp || die "no XDP on r0: $(tail -3 $TMP/sluiced.log)"
	local u i
	# The shared store is fed over MML (sluicectl import-users is sqlite's).
	[ -z "$STORE_DB" ] || for u in 1001 1002 1003; do
		mml $R "ADD USER: USERNAME=\"$u\", PASSWORD=\"pw$u\";" >/dev/null
	done
	for x in "1002 5062" "1003 5063"; do
		set -- $x
		for ((i = 0; i < 10; i++)); do
			ns $E sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -key user $1 -key aor $1 \
				-key domain ims.local -key expires 3600 -au $1 -ap pw$1 \
				-i 10.0.2.2 -p $2 -mp 9000 10.0.2.1:5060 >/dev/null 2>&1 && break
			sleep 1
		done
		((i < 10)) || die "callee $1 did not register"
	done
}
# callees FAMILIES TIMEOUT: a callee sipp per family (4 and/or 6), $UAS_PIDS
callees() {
	local x fam=$1 tmo=$2
	UAS_PIDS=""
	for x in "4 1002 5062 10.0.2.2 6000" "6 1003 5063 fd00:2::2 7000"; do
		set -- $x
		[[ " $fam " == *" $1 "* ]] || continue
		nsenter --net=/run/netns/$E taskset -c $SIPP_CPU sipp -sf $TMP/uas.xml -nostdin \
			-i 10.0.2.2 -p $3 -mi $4 -mp $5 -timeout $tmo -max_socket 60000 \
			10.0.2.1:5060 >$TMP/uas-$2.out 2>&1 &
		UAS_PIDS="$UAS_PIDS $!"
	done
	sleep 0.5
}
# callers FAMILIES RATE COUNT HOLD_MS LIMIT: a caller sipp per family, in the background ($UAC_PIDS)
callers() {
	local x fam=$1 rate=$2 count=$3 hold=$4 limit=$5
	UAC_PIDS=""
	for x in "4 1002 5061 10.0.1.2 6000" "6 1003 5064 fd00:1::2 7000"; do
		set -- $x
		[[ " $fam " == *" $1 "* ]] || continue
		rm -f $TMP/uac-err-$2.log
		nsenter --net=/run/netns/$C taskset -c $SIPP_CPU sipp -sf $TMP/uac.xml -nostdin \
			-r $rate -m $count -l $limit -d $hold -key user 1001 -key target $2 \
			-key domain ims.local -au 1001 -ap pw1001 -i 10.0.1.2 -p $3 -mi $4 -mp $5 \
			-timeout $((count / rate + hold / 1000 + 60)) \
			-trace_err -error_file $TMP/uac-err-$2.log 10.0.1.1:5060 >$TMP/uac-$2.out 2>&1 &
		UAC_PIDS="$UAC_PIDS $!"
	done
}
udp_drops() { ns $R awk '/^Udp:/ {n++; if (n == 2) print $6}' /proc/net/snmp; }	# RcvbufErrors
redirected() { ns $R "$SLUICECTL" -p $PIN verdicts | awk '$1 == "redirect" {print $2}'; }

phase_calls() {	# phase_calls STORE: a sweep; STORE names the back end in the rows
	local sweep r bests=() fails=() at_fail="" best cpu peak
	[ -e /run/netns/$R ] || topology
	calls_sluiced 600
	for ((sweep = 0; sweep < SWEEPS; sweep++)); do
		best=0
		for r in $RATES; do
			callees 4 $((SECS + 120))
			local c0 t0 c1 t1 p0 p1 d0 d1 v0 v1 x0 x1 on0 on1 wait0 wait1 okc fail s prev now k offered core cb0 ci0 ct0 cb1 ci1 ct1
			v0=$(redirected) d0=$(udp_drops)
			mml $R 'CLR SYSINFO:;' >/dev/null
			c0=$(ticks $SPID) t0=$(date +%s.%N) x0=$(ctxsw $SPID) p0=$(pg_ticks)
			read -r on0 wait0 < <(schedstat $SPID)
			callers 4 $r $((r * SECS)) 1000 $((r * 6))
			# The busiest second of the step, from /proc/PID/stat each second.
			# ... its share and the core's over the SECS seconds the calls were offered.
			peak=0 prev=$c0 k=0 offered="" core=""
			read -r cb0 ci0 ct0 < <(core_ticks ${CPU:-$SERVER_CPU})
			while kill -0 $UAC_PIDS 2>/dev/null; do
				sleep 1
				now=$(ticks $SPID)
				((now - prev > peak)) && peak=$((now - prev))
				prev=$now
				((++k == SECS)) || continue
				offered=$(((now - c0) / SECS))
				read -r cb1 ci1 ct1 < <(core_ticks ${CPU:-$SERVER_CPU})
				core=$(printf '%.0f%% (interrupts %.0f%%)' \
					"$(echo "100 - ($cb1 - $cb0) / ($ct1 - $ct0)" | bc -l)" \
					"$(echo "($ci1 - $ci0) / ($ct1 - $ct0)" | bc -l)")
			done
			wait $UAC_PIDS
			c1=$(ticks $SPID) t1=$(date +%s.%N) x1=$(ctxsw $SPID) p1=$(pg_ticks)
			read -r on1 wait1 < <(schedstat $SPID)
			d1=$(udp_drops) v1=$(redirected)
			mml $R 'DSP SYSINFO:;' >$TMP/sysinfo.out
			kill $UAS_PIDS 2>/dev/null
			wait $UAS_PIDS 2>/dev/null
			okc=$(sipp_count $TMP/uac-1002.out Successful)
			fail=$(sipp_count $TMP/uac-1002.out Failed)
			cpu=$(echo "($c1 - $c0) / ($t1 - $t0)" | bc -l)	# ticks of 10 ms: percent
			s=$(printf 'sweep %d rate %d: %s ok, %s failed; sluiced %.0f%% CPU (over the %d s of offered calls %s%%, its core busy %s; busiest second %d%%; its loop thread on the CPU %.0f%% and runnable but waiting for it %.0f%% of the time), %.0f µs CPU and %.1f context switches per call, %s UDP drops, loop longest %s, %.2f kernel-forwarded packets per call' \
				$sweep $r "${okc:-0}" "${fail:-?}" $cpu $SECS "${offered:-?}" "${core:-?}" $peak \
				"$(echo "($on1 - $on0) / 10000000 / ($t1 - $t0)" | bc -l)" \
				"$(echo "($wait1 - $wait0) / 10000000 / ($t1 - $t0)" | bc -l)" \
				"$(echo "($c1 - $c0) * 10000 / $((r * SECS))" | bc -l)" "$(echo "($x1 - $x0) / $((r * SECS))" | bc -l)" $((d1 - d0)) \
				"$(awk '/LOOP STALL MAX/ {s = $4 " " $5} /LOOP CPU MAX/ {c = $4 " " $5} /LOOP WAIT MAX/ {w = $4 " " $5} END {print s " (on the CPU " c ", waiting " w ")"}' $TMP/sysinfo.out | tr -d '\r')" \
				"$(echo "(${v1:-0} - ${v0:-0}) / $((r * SECS))" | bc -l)")
			[ -z "$STORE_DB" ] || s="$s; PostgreSQL $(printf '%.0f' "$(echo "($p1 - $p0) * 10000 / $((r * SECS))" | bc -l)") µs CPU per call"
			note "$s"
			cp $TMP/uac-1002.out $TMP/uac-$sweep-$r.out
			if [ "${fail:-1}" = 0 ] && [ "${okc:-0}" = $((r * SECS)) ]; then
				best=$r
				sleep 5
				continue
			fi
			[ -s $TMP/uac-err-1002.log ] && { echo "== sweep $sweep rate $r"; head -c 20000 $TMP/uac-err-1002.log; } >>"$ERRLOG"
			at_fail="$at_fail|$s"
			fails+=("$r")
			break
		done
		bests+=("$best")
		sleep 10
	done
	stop_sluiced
	local med
	med=$(printf '%s\n' "${bests[@]}" | median)
	[ -z "$STORE_DB" ] || PG_BEST=$med
	row "| calls per second through the B2BUA, $1, none failed (digest auth, media offloaded to XDP, held 1 s; ${SECS} s per step of $RATES; median of $SWEEPS sweeps: ${bests[*]}) | $med |"
	row "| ... the first failing step of each sweep | ${fails[*]:-none} |"
	local IFS='|'
	for s in ${at_fail#|}; do row "| ... $s |  |"; done
}

# ---- two nodes on one PostgreSQL, a core each ----
PG_BEST=
topology2() {	# node B's veths: C c1 (10.0.3.2) - r2 (10.0.3.1) R r3 (10.0.4.1) - e1 (10.0.4.2) E
	ip link add c1 netns $C type veth peer name r2 netns $R
	ip link add r3 netns $R type veth peer name e1 netns $E
	ip -n $C addr add 10.0.3.2/24 dev c1
	ip -n $R addr add 10.0.3.1/24 dev r2
	ip -n $R addr add 10.0.4.1/24 dev r3
	ip -n $E addr add 10.0.4.2/24 dev e1
	for x in "$C c1" "$R r2" "$R r3" "$E e1"; do set -- $x; ip -n $1 link set $2 up; done
	ip -n $E route add 10.0.3.0/24 via 10.0.4.1
	for x in "$C c1" "$E e1"; do set -- $x; ns $1 ethtool -K $2 gro on tx off >/dev/null; done
	sleep 1
}
# register2 USER PORT CALLEE-IP NODE-IP: a callee's binding on a node, retried
# while the subscriber added on the other node is on its way (NOTIFY)
register2() {
	local i
	for ((i = 0; i < 10; i++)); do
		ns $E sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -key user $1 -key aor $1 \
			-key domain ims.local -key expires 3600 -au $1 -ap pw$1 \
			-i $3 -p $2 -mp 9000 $4:5060 >/dev/null 2>&1 && return 0
		sleep 1
	done
	die "callee $1 did not register on $4"
}
phase_calls2() {
	local sweep r best bests=() fails=() okc fail ca0 ca1 cb0 cb1 t0 t1 u PA PB pids s med
	[ -e /run/netns/$R ] || topology
	topology2
	NODE=a sluice_conf $TMP/a.conf 10.0.1.1:5060 "interface = r0, r1" "address = 10.0.1.1" \
		"ports = 10000-34999" "datapath = xdp" "timeout = 600"
	NODE=b MML_PORT=7778 sluice_conf $TMP/b.conf 10.0.3.1:5060 "interface = r2, r3" \
		"address = 10.0.3.1" "ports = 35000-59999" "datapath = xdp" "timeout = 600"
	NODE=a start_sluiced $R $TMP/a.conf
	PA=$SPID
	NODE=b MML_PORT=7778 CPU=$SIPP_CPU start_sluiced $R $TMP/b.conf
	PB=$SPID
	SPID=$PA
	for u in 1001 1002 1003; do
		mml $R "ADD USER: USERNAME=\"$u\", PASSWORD=\"pw$u\";" >/dev/null
	done
	register2 1002 5062 10.0.2.2 10.0.1.1
	register2 1003 5063 10.0.4.2 10.0.3.1
	for ((sweep = 0; sweep < SWEEPS; sweep++)); do
		best=0
		for r in $RATES; do
			pids=""
			for x in "10.0.2.2 5062 6000" "10.0.4.2 5063 7000"; do
				set -- $x
				nsenter --net=/run/netns/$E sipp -sf $TMP/uas.xml -nostdin -i $1 -p $2 -mi $1 \
					-mp $3 -timeout $((SECS + 120)) -max_socket 60000 \
					10.0.2.1:5060 >$TMP/uas2-$2.out 2>&1 &
				pids="$pids $!"
			done
			sleep 0.5
			ca0=$(ticks $PA) cb0=$(ticks $PB) t0=$(date +%s.%N)
			UAC_PIDS=""
			for x in "1002 5061 10.0.1.2 6000 10.0.1.1" "1003 5064 10.0.3.2 7000 10.0.3.1"; do
				set -- $x
				nsenter --net=/run/netns/$C sipp -sf $TMP/uac.xml -nostdin -r $((r / 2)) \
					-m $((r / 2 * SECS)) -l $((r * 3)) -d 1000 -key user 1001 -key target $1 \
					-key domain ims.local -au 1001 -ap pw1001 -i $3 -p $2 -mi $3 -mp $4 \
					-timeout $((SECS + 60)) $5:5060 >$TMP/uac2-$1.out 2>&1 &
				UAC_PIDS="$UAC_PIDS $!"
			done
			wait $UAC_PIDS
			ca1=$(ticks $PA) cb1=$(ticks $PB) t1=$(date +%s.%N)
			kill $pids 2>/dev/null
			wait $pids 2>/dev/null
			okc=$(( $(sipp_count $TMP/uac2-1002.out Successful) + $(sipp_count $TMP/uac2-1003.out Successful) ))
			fail=$(( $(sipp_count $TMP/uac2-1002.out Failed) + $(sipp_count $TMP/uac2-1003.out Failed) ))
			s=$(printf 'two nodes, sweep %d rate %d (half each): %s ok, %s failed; node A %.0f%% CPU, node B %.0f%%; %.0f µs CPU per call (both nodes)' \
				$sweep $r $okc $fail "$(echo "($ca1 - $ca0) / ($t1 - $t0)" | bc -l)" \
				"$(echo "($cb1 - $cb0) / ($t1 - $t0)" | bc -l)" \
				"$(echo "($ca1 - $ca0 + $cb1 - $cb0) * 10000 / ($r / 2 * 2 * $SECS)" | bc -l)")
			note "$s"
			if [ "$fail" = 0 ] && [ "$okc" = $((r / 2 * 2 * SECS)) ]; then
				best=$r
				sleep 5
				continue
			fi
			fails+=("$r")
			break
		done
		bests+=("$best")
		sleep 10
	done
	stop_sluiced
	SPID=$PB
	stop_sluiced
	med=$(printf '%s\n' "${bests[@]}" | median)
	row "| calls per second, two nodes on one PostgreSQL, a core each, none failed (median of $SWEEPS sweeps: ${bests[*]}; first failing steps: ${fails[*]:-none}) | $med |"
	[ -n "$PG_BEST" ] && [ "$PG_BEST" != 0 ] &&
		row "| ... the ratio to one node on PostgreSQL in this run ($PG_BEST) | $(printf '%.2f' "$(echo "$med / $PG_BEST" | bc -l)")× |"
}

# ---- REGISTER: sluiced and Kamailio on loopback in L ----
reg_ns() { ip netns add $L 2>/dev/null && ip -n $L link set lo up; }
run_sipp_reg() {	# run_sipp_reg PORT COUNT: "RATE FAILED"
	local t0 t1 okc fail
	t0=$(date +%s.%N)
	ns $L taskset -c $SIPP_CPU sipp -sf $TMP/reg-csv.xml -inf $TMP/users.csv -au '[field0]' -ap '[field1]' \
		-key domain ims.local -key expires 3600 -r 100000 -l $REG_CONC -m $2 -nostdin -timeout 300 \
		-trace_err -error_file $TMP/sipp-err.log -p 0 127.0.0.1:$1 >$TMP/sipp.out 2>&1
	t1=$(date +%s.%N)
	[ -s $TMP/sipp-err.log ] && { echo "== REGISTER to port $1"; head -c 20000 $TMP/sipp-err.log; } >>"$ERRLOG"
	rm -f $TMP/sipp-err.log
	okc=$(sipp_count $TMP/sipp.out Successful)
	fail=$(sipp_count $TMP/sipp.out Failed)
	echo "$(echo "${okc:-0} / ($t1 - $t0)" | bc -l | cut -d. -f1) ${fail:-?}"
}
kam_db() {	# kam_db FILE: Kamailio's sqlite database with the subscribers
	rm -f $1
	cat /usr/share/kamailio/db_sqlite/standard-create.sql /usr/share/kamailio/db_sqlite/auth_db-create.sql \
		/usr/share/kamailio/db_sqlite/usrloc-create.sql | sqlite3 $1
	{ echo "PRAGMA journal_mode = WAL;"; echo "BEGIN;"; cat $TMP/kam-subs.sql; echo "COMMIT;"; } | sqlite3 $1 >/dev/null
}
KAM=${KAM-$(command -v kamailio)}	# KAM= runs without the Kamailio rows
KMOD=$(dirname "$(find /usr/lib -name auth_db.so -path '*kamailio*' 2>/dev/null | head -1)")
have_kam() { [ -n "$KAM" ] && [ -f "$KMOD/db_sqlite.so" ]; }
# start_kamailio DB_MODE [tls]: Kamailio pinned to SERVER_CPU in L, UDP on 5090
# (TLS on 5091): auth_db and usrloc on sqlite, registrar
start_kamailio() {
	kam_db $DBD/kam.db
	{
		cat <<KCFG
#!KAMAILIO
debug=1
log_stderror=yes
fork=yes
children=${KAM_CHILDREN:-1}
tcp_children=${KAM_CHILDREN:-1}
listen=udp:127.0.0.1:5090
mpath="$KMOD/"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "db_sqlite.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("auth", "qop", "auth")
modparam("auth_db", "db_url", "sqlite://$DBD/kam.db")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "load_credentials", "")
modparam("usrloc", "db_url", "sqlite://$DBD/kam.db")
modparam("usrloc", "db_mode", $1)
KCFG
		if [ "${2:-}" = tls ]; then
			cat <<KCFG
enable_tls=yes
listen=tls:127.0.0.1:5091
loadmodule "tls.so"
modparam("tls", "config", "$TMP/kam-tls.cfg")
KCFG
			printf '[server:default]\nmethod = TLSv1.2+\ncertificate = %s\nprivate_key = %s\n' \
				$TMP/cert.pem $TMP/key.pem >$TMP/kam-tls.cfg
		fi
		cat <<'KCFG'
request_route {
	if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
	if (is_method("REGISTER")) {
		if (!auth_check("$fd", "subscriber", "1")) { auth_challenge("$fd", "1"); exit; }
		if (!save("location")) sl_reply_error();
		exit;
	}
	sl_send_reply("405", "Method Not Allowed");
}
KCFG
	} >$TMP/kamailio.cfg
	nsenter --net=/run/netns/$L taskset -c $SERVER_CPU "$KAM" -f $TMP/kamailio.cfg -P $TMP/kam.pid \
		-m 512 -M 64 -E >$TMP/kam.log 2>&1
	sleep 2
	[ -f $TMP/kam.pid ] || die "kamailio did not start: $(tail -5 $TMP/kam.log)"
}
kam_cpu() {	# the CPU ticks of all Kamailio's processes
	local p t=0
	for p in $(pgrep -s "$(ps -o sid= -p "$(cat $TMP/kam.pid)")" 2>/dev/null); do
		t=$((t + $(ticks $p)))
	done
	echo $t
}

reg_series() {	# reg_series NAME PORT COUNT: REPEAT runs; sets MED, FAILED, RUNS
	local r rate fail
	RUNS=() FAILED=0
	for ((r = 0; r < REPEAT; r++)); do
		((r > 0)) && sleep $GAP
		read -r rate fail < <(run_sipp_reg $2 $3)
		RUNS+=("$rate")
		[ "$fail" = 0 ] || FAILED=$((FAILED + ${fail:-1}))
		note "$1 run $r: $rate registrations/s, $fail failed"
	done
	MED=$(printf '%s\n' "${RUNS[@]}" | median)
}

phase_reg() {
	local s_med s_runs s_fail k1_med k1_runs k1_fail k0_med= k0_runs k0_fail
	reg_ns
	sluice_conf $TMP/reg.conf 127.0.0.1:5060 "interface = lo" "address = 127.0.0.1" "datapath = user"
	start_sluiced $L $TMP/reg.conf
	reg_series sluiced 5060 $REG_COUNT
	s_med=$MED s_runs="${RUNS[*]}" s_fail=$FAILED
	local rows
	rows=$(sqlite3 $DBD/sluice.db 'SELECT count(*) FROM registrations;' 2>/dev/null)
	stop_sluiced
	if ! have_kam; then
		note "sip.sh: no Kamailio (kamailio, kamailio-sqlite-modules): no peer"
		row "| REGISTER/s, digest, $REG_SUBS subscribers, one core: sluiced (200 after the binding's commit; runs: $s_runs) | $s_med | $s_fail |  |"
		return
	fi
	sleep $GAP
	start_kamailio 1
	reg_series "kamailio db_mode 1" 5090 $REG_COUNT_DURABLE
	k1_med=$MED k1_runs="${RUNS[*]}" k1_fail=$FAILED
	local krows
	krows=$(sqlite3 $DBD/kam.db 'SELECT count(*) FROM location;' 2>/dev/null)
	stop_kamailio
	start_kamailio 0
	reg_series "kamailio db_mode 0" 5090 $REG_COUNT
	k0_med=$MED k0_runs="${RUNS[*]}" k0_fail=$FAILED
	stop_kamailio
	row "| REGISTER/s, digest (sipp's defaults: MD5), $REG_SUBS subscribers, $REG_CONC in flight, $REG_COUNT per run ($REG_COUNT_DURABLE for Kamailio write-through), one core | median of $REPEAT | failed | vs Kamailio durable |"
	row "|---|---:|---:|---:|"
	row "| sluiced: 200 after the binding's commit (runs: $s_runs; $rows bindings in sqlite after) | $s_med | $s_fail | $(echo "scale=2; $s_med / $k1_med" | bc)× |"
	row "| Kamailio 5.6, usrloc db_mode 1 (write-through to sqlite; runs: $k1_runs; $krows bindings after) | $k1_med | $k1_fail | 1× |"
	row "| Kamailio 5.6, usrloc in memory, db_mode 0 (not durable; runs: $k0_runs) | $k0_med | $k0_fail | $(echo "scale=2; $k0_med / $k1_med" | bc)× |"
}

phase_tls() {
	[ -x "$TLSREG" ] || die "no $TLSREG (make bench-sip builds it)"
	reg_ns
	openssl req -x509 -newkey rsa:2048 -nodes -keyout $TMP/key.pem -out $TMP/cert.pem -days 2 \
		-subj /CN=ims.local >/dev/null 2>&1 || die "openssl req failed"
	SIP_EXTRA="listen_tls = 127.0.0.1:5061
tls_cert = $TMP/cert.pem
tls_key = $TMP/key.pem"
	sluice_conf $TMP/tls.conf 127.0.0.1:5060 "interface = lo" "address = 127.0.0.1" "datapath = user"
	SIP_EXTRA=
	local mode name port res s k
	declare -A tlsr
	for name in sluiced kamailio; do
		if [ $name = sluiced ]; then
			start_sluiced $L $TMP/tls.conf
			port=5061
		else
			have_kam || break
			start_kamailio 1 tls
			port=5091
		fi
		for mode in keep new; do
			local runs=() fails=0 r rate fail n=$TLS_COUNT
			[ $name = kamailio ] && n=$TLS_COUNT_KAM
			for ((r = 0; r < REPEAT; r++)); do
				((r > 0)) && sleep $TLS_GAP
				res=$(ns $L taskset -c $SIPP_CPU "$TLSREG" -c $TLS_CONC -n $n \
					$([ $mode = new ] && echo -N) -u 2000000 -U $REG_SUBS -d ims.local \
					127.0.0.1 $port 2>>"$ERRLOG")
				read -r rate fail <<<"$res"
				runs+=("${rate:-0}")
				fails=$((fails + ${fail:-1}))
				note "$name TLS ($mode) run $r: ${rate:-0} registrations/s, ${fail:-?} failed"
			done
			tlsr[$name-$mode]="$(printf '%s\n' "${runs[@]}" | median) $fails ${runs[*]}"
			sleep $TLS_GAP
		done
		[ $name = sluiced ] && stop_sluiced || stop_kamailio
	done
	row "| REGISTER/s over TLS (tests/bench/tlsreg, MD5 digest, $TLS_CONC connections, $TLS_COUNT per run; Kamailio $TLS_COUNT_KAM), one core | median of $REPEAT | failed | vs Kamailio tls |"
	row "|---|---:|---:|---:|"
	for mode in keep new; do
		read -r s sf sr <<<"${tlsr[sluiced-$mode]}"
		read -r k kf kr <<<"${tlsr[kamailio-$mode]:-0 - }"
		local what="over kept connections"
		[ $mode = new ] && what="a new connection and handshake per registration"
		row "| sluiced, $what (runs: $sr) | $s | $sf | $([ "${k:-0}" != 0 ] && echo "scale=2; $s / $k" | bc)× |"
		row "| Kamailio 5.6 tls + usrloc db_mode 1, $what (runs: $kr) | $k | $kf | 1× |"
	done
}

phase_conc() {
	[ -e /run/netns/$R ] || topology
	local half=$((CONC_CALLS / 2)) ramp tmo rss0 rss1 rss2 okc fail flows
	ramp=$(((half + CONC_RATE - 1) / CONC_RATE))
	tmo=$((2 * ramp + HOLD_S + 120))
	calls_sluiced $((ramp + HOLD_S + 300))
	sleep 2
	rss0=$(rss_kb $SPID)
	# CONC_REGS registrations from the caller's namespace, each its own user.
	head -$((CONC_REGS + 1)) $TMP/users.csv >$TMP/conc-users.csv
	ns $C taskset -c $SIPP_CPU sipp -sf $TMP/reg-csv.xml -inf $TMP/conc-users.csv -au '[field0]' -ap '[field1]' \
		-key domain ims.local -key expires 3600 -r 2000 -l 400 -m $CONC_REGS -nostdin -timeout 600 \
		-i 10.0.1.2 -p 0 10.0.1.1:5060 >$TMP/conc-reg.out 2>&1
	local rok rfail bindings
	rok=$(sipp_count $TMP/conc-reg.out Successful) rfail=$(sipp_count $TMP/conc-reg.out Failed)
	sleep 5
	rss1=$(rss_kb $SPID)
	bindings=$(mml $R 'DSP SYSINFO:;' | awk '$1 == "REGISTRATIONS" {print $2}' | tr -d '\r')
	note "conc: $rok registrations ok, $rfail failed; RSS $rss0 -> $rss1 kB; $bindings bindings"
	callees "4 6" $((tmo + 60))
	callers "4 6" $CONC_RATE $half $(((ramp + HOLD_S) * 1000)) $half
	local pids=$UAC_PIDS
	sleep $((ramp + HOLD_S / 2))
	rss2=$(rss_kb $SPID)
	flows=$(ns $R "$SLUICECTL" -p $PIN flow list | tail -1)
	local fds
	fds=$(ls /proc/$SPID/fd | wc -l)
	wait $pids
	okc=$(( $(sipp_count $TMP/uac-1002.out Successful) + $(sipp_count $TMP/uac-1003.out Successful) ))
	fail=$(( ${fail:-0} + $(sipp_count $TMP/uac-1002.out Failed) + $(sipp_count $TMP/uac-1003.out Failed) ))
	kill $UAS_PIDS 2>/dev/null
	note "conc: $okc calls ok, $fail failed; RSS $rss1 -> $rss2 kB at the plateau; $flows; $fds fds"
	[ "$fail" = 0 ] || { head -c 20000 $TMP/uac-err-*.log; } >>"$ERRLOG"
	stop_sluiced
	row "| $CONC_REGS concurrent registrations (sipp, 2,000 per second; bindings held after: $bindings) | $rok, $rfail failed |"
	row "| ... memory per registration (RSS $((rss0 / 1024)) → $((rss1 / 1024)) MB) | $(((rss1 - rss0) * 1024 / (rok > 0 ? rok : 1))) bytes |"
	row "| $CONC_CALLS concurrent calls, media offloaded (half IPv4, half IPv6), held $HOLD_S s | $okc, $fail failed |"
	row "| ... kernel flows at the plateau | $flows |"
	row "| ... memory per call (RSS $((rss1 / 1024)) → $((rss2 / 1024)) MB; $fds fds) | $(((rss2 - rss1) * 1024 / (okc > 0 ? okc : 1))) bytes |"
}

for p in $PHASES; do
	case $p in
	calls) row "| calls through the B2BUA, sluiced on one core | figure |"; row "|---|---|"
		phase_calls "sqlite on a disk" ;;
	calls-pg)
		if pg_bench_start; then
			row "| calls through the B2BUA, sluiced and PostgreSQL on one core | figure |"; row "|---|---|"
			phase_calls "PostgreSQL on a disk"
			[[ " $PHASES " == *" calls2 "* ]] || pg_bench_stop
		else
			note "calls-pg: skipped: PostgreSQL did not start (Debian's postgresql; $(tail -1 $TMP/initdb.log $TMP/pg.log 2>/dev/null | tr '\n' ' '))"
		fi ;;
	calls2)
		if [ -n "$STORE_DB" ] || pg_bench_start; then
			row "| two nodes, sluiced on a core each | figure |"; row "|---|---|"
			phase_calls2
			pg_bench_stop
		else
			note "calls2: skipped: PostgreSQL did not start"
		fi ;;
	reg) phase_reg ;;
	tls) phase_tls ;;
	conc) row "| concurrent, sluiced on one core | figure |"; row "|---|---|"; phase_conc ;;
	*) die "unknown phase $p" ;;
	esac
	ROWS+=("")
done
printf '%s\n' "${ROWS[@]}" | tee "$OUT"
