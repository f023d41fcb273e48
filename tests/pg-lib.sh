# SPDX-License-Identifier: GPL-2.0-only
#
# A PostgreSQL server of a test's own (43-47): Debian's postgresql package's
# initdb and postgres, run as nobody (initdb refuses root) in a directory
# made for the test, listening on a unix socket in that directory only (no
# TCP port to collide on; sluiced in any network namespace reaches it
# through the file system). Source after lib.sh.
#
#   pg_start            initdb and start; PG_CONNINFO for [store] db;
#                       skips the test without the binaries
#   pg_up / pg_down     start and stop (fast shutdown) the same cluster
#   psql_q SQL          one query's rows, fields separated by |

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

pg_start() {
	[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/postgres" ] ||
		skip_all "needs PostgreSQL's initdb and postgres (Debian's postgresql package)"
	require_cmd psql runuser
	id nobody >/dev/null 2>&1 || skip_all "needs the user nobody to run PostgreSQL as"
	PGDIR=$(mktemp -d /tmp/sluice-pg.XXXXXX)
	cleanup_add "rm -rf $PGDIR"
	chown nobody $PGDIR
	runuser -u nobody -- "$PG_BIN/initdb" -D $PGDIR/data -A trust -U sluice -E UTF8 \
		--no-sync >$PGDIR/initdb.log 2>&1 ||
		skip_all "initdb failed: $(tail -2 $PGDIR/initdb.log)"
	cleanup_add 'pg_down'
	pg_up || skip_all "postgres did not start: $(tail -3 $PGDIR/pg.log)"
	PG_CONNINFO="host=$PGDIR dbname=postgres user=sluice"
}

pg_up() {
	local i
	# Its own session and process group: a test's kill of its group spares it.
	runuser -u nobody -- setsid "$PG_BIN/postgres" -D $PGDIR/data -k $PGDIR \
		-c listen_addresses= -c max_connections=40 -c shared_buffers=16MB \
		>>$PGDIR/pg.log 2>&1 &
	PGPID=$!
	for ((i = 0; i < 100; i++)); do
		psql_q "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

pg_down() {
	local pid
	pid=$(head -1 $PGDIR/data/postmaster.pid 2>/dev/null)
	[ -n "$pid" ] || return 0
	kill -INT "$pid" 2>/dev/null	# fast shutdown: sessions ended, data flushed
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	wait $PGPID 2>/dev/null
	return 0
}

psql_q() {
	psql -X -A -t -q -h $PGDIR -U sluice -d postgres -c "$1"
}
