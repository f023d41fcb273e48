#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The store interface against both back ends (issue 16): the same scenario
# (MML changes to subscribers, operators and the blacklist; a phone's
# REGISTER; three calls through the B2BUA) on sluiced with [store] db on
# sqlite, then on PostgreSQL (a server the test starts from Debian's
# postgresql package). The rows each leaves, less ids and clocks, are the
# same; PostgreSQL's schema is the one description (agent/store/schema.c)
# rendered to its dialect, and the node's own sqlite copy holds what
# PostgreSQL holds.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pg-lib.sh"

require_root
require_cmd ip nsenter sipp sqlite3 curl
[ -x "$SLUICED" ] && [ -x "$SLUICECTL" ] || skip_all "build first (make)"
pg_start
S=sb$$
netns_add $S
SIP=127.0.0.1:5060
D=$TOP/tests/integration/sipp
(umask 077 && printf 'user=admin\npassword=admin-pw-1\n' >$TMP/admin.cred)
TOKEN=test-token-0123456789abcdef

# scenario NAME DB: sluiced on [store] db = DB, the scenario, then stopped.
scenario() {
	local name=$1 db=$2 pid uas
	sluice_conf $TMP/$name.conf sip.listen=$SIP sip.domain=ims.local \
		mml.listen=127.0.0.1:7777 mml.admin_password=admin-pw-1 "store.db=$db" \
		store.local=$TMP/$name-local.db store.node=n1 http.listen=127.0.0.1:8080 \
		http.token=$TOKEN
	nsenter --net=/run/netns/$S "$SLUICED" -c $TMP/$name.conf >$TMP/$name.log 2>&1 &
	pid=$!
	cleanup_add "kill $pid 2>/dev/null"
	wait_for $TMP/$name.log "running|cannot" 100
	timeout 20 nsenter --net=/run/netns/$S "$SLUICECTL" -c $TMP/$name.conf mml -a $TMP/admin.cred \
		'ADD USER: USERNAME="caller", PASSWORD="pw-caller";' \
		'ADD USER: USERNAME="callee", PASSWORD="pw-callee", DISPLAYNAME="Callee";' \
		'ADD USER: USERNAME="gone", PASSWORD="pw-gone-1";' \
		'MOD USER: USERNAME="caller", EMAIL="caller@example.org";' \
		'RMV USER: USERNAME="gone";' \
		'ADD OP: OP="ops1", PWD="ops1-password";' \
		'ADD BLACKLIST: PREFIX="192.0.2.0/24", REASON="test";' >$TMP/$name-mml.out 2>&1
	# The web API's twin of ADD USER: with PostgreSQL, answered once it is in.
	API_CODE=$(in_ns $S curl -s -o $TMP/$name-api.out -w '%{http_code}' \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		-d '{"username": "web1", "password": "pw-web-1"}' http://127.0.0.1:8080/api/subscribers)
	[ $name = pg ] && API_ROW=$(psql_q "SELECT count(*) FROM subscribers WHERE username = 'web1'")
	sed "s/@EXPECT@/200/" $D/register.xml >$TMP/reg.xml
	in_ns $S sipp -sf $TMP/reg.xml -m 1 -nostdin -timeout 10 -timeout_error -key user callee \
		-key aor callee -key domain ims.local -key expires 600 -au callee -ap pw-callee \
		-p 5080 $SIP >$TMP/$name-reg.out 2>&1
	nsenter --net=/run/netns/$S sipp -sf $D/uas_answer.xml -m 3 -nostdin -timeout 20 -p 5080 \
		-mp 7080 $SIP >$TMP/$name-uas.out 2>&1 &
	uas=$!
	in_ns $S sipp -sf $D/uac_call.xml -m 3 -r 5 -d 200 -nostdin -timeout 20 -timeout_error \
		-key user caller -key target callee -key domain ims.local -au caller -ap pw-caller \
		-p 5081 -mp 7081 $SIP >$TMP/$name-uac.out 2>&1
	CALLS=$?
	wait $uas
	kill -TERM $pid
	wait $pid
	STOPPED=$?
}

# The rows, less ids and clocks, one table after another.
Q_ROWS="SELECT 'sub ' || username || ' ' || realm || ' ' || ha1_md5 || ' ' || display_name || ' ' ||
		email || ' ' || status FROM subscribers ORDER BY username;
	SELECT 'op ' || name || ' ' || role FROM operators ORDER BY name;
	SELECT 'bl ' || prefix || ' ' || reason FROM blacklist ORDER BY prefix;
	SELECT 'reg ' || aor || ' ' || contact || ' ' || transport FROM registrations ORDER BY aor;
	SELECT 'cdr ' || record_type || ' ' || caller_uri || ' ' || callee_uri || ' ' || disposition ||
		' ' || open FROM cdr ORDER BY 1"

scenario lite $TMP/lite.db
[ "$CALLS" = 0 ] || skip_all "the scenario fails on sqlite: $(tail -3 $TMP/lite-uac.out)"
plan 10
sqlite3 $TMP/lite.db "$Q_ROWS" >$TMP/lite.rows
like "$(cat $TMP/lite.rows)" "^cdr CALL .*caller.*callee" "the scenario on sqlite leaves rows"

scenario pg "$PG_CONNINFO"
is "$CALLS" 0 "the same scenario on PostgreSQL: the calls connect"
is "$(grep -c 'RETCODE = 0' $TMP/pg-mml.out)" 7 "every MML change is answered OK" ||
	diag "$(grep RETCODE $TMP/pg-mml.out)"
is "$STOPPED" 0 "sluiced on PostgreSQL stops cleanly (no sanitizer report)"
is "$API_CODE $API_ROW" "200 1" "the web API's ADD USER is answered once the row is in PostgreSQL"
psql_q "$Q_ROWS" >$TMP/pg.rows
ok $(cmp -s $TMP/lite.rows $TMP/pg.rows && echo 0 || echo 1) \
	"PostgreSQL holds the rows sqlite does ($(wc -l <$TMP/pg.rows) rows)" ||
	diag "$(diff $TMP/lite.rows $TMP/pg.rows | head -8)"
sqlite3 $TMP/pg-local.db "$Q_ROWS" >$TMP/pg-local.rows
ok $(cmp -s $TMP/pg.rows $TMP/pg-local.rows && echo 0 || echo 1) \
	"the node's own sqlite copy holds them too" ||
	diag "$(diff $TMP/pg.rows $TMP/pg-local.rows | head -8)"
is "$(psql_q "SELECT DISTINCT node FROM cdr")" n1 "PostgreSQL's CDR rows name the node"
is "$(psql_q 'SELECT version FROM sluice_schema')" "$(sqlite3 $TMP/lite.db 'PRAGMA user_version')" \
	"both schemas are at the same version"
# The columns of each shared table, by name, in both dialects.
cols_lite=$(for t in subscribers registrations cdr operators blacklist nodes; do
	sqlite3 $TMP/lite.db "SELECT '$t ' || name FROM pragma_table_info('$t') ORDER BY name"
done)
cols_pg=$(psql_q "SELECT table_name || ' ' || column_name FROM information_schema.columns
	WHERE table_name IN ('subscribers', 'registrations', 'cdr', 'operators', 'blacklist', 'nodes')
	ORDER BY array_position(ARRAY['subscribers', 'registrations', 'cdr', 'operators',
		'blacklist', 'nodes']::text[], table_name::text), column_name")
is "$cols_pg" "$cols_lite" "PostgreSQL's tables have sqlite's columns"
done_testing
