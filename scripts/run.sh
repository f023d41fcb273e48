#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make run: sluiced in the foreground on this machine, its state in var/
# (SLUICE_VAR names another directory; SLUICE_PIN another bpffs pin dir):
# var/sluice.conf (conf/sluice.conf with the media interface of the default
# route and a first-run MML password), var/sluice.db, var/mml.credentials
# for `sluicectl mml`, and two demo subscribers (1001, 1002) with random
# passwords in var/demo-users.txt. What exists is kept from run to run.
# As root XDP attaches to the interface when it can ([media] datapath =
# auto); otherwise the userspace relay carries the media.
set -eu
cd "$(dirname "$0")/.."
BIN=${SLUICE_BIN:-agent}
VAR=${SLUICE_VAR:-var}
mkdir -p "$VAR"
chmod 700 "$VAR"

rand() { head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }

if [ ! -e $VAR/mml.credentials ]; then
	(umask 077; printf 'user=admin\npassword=%s\n' "$(rand 16)" >$VAR/mml.credentials)
fi
admin_pw=$(sed -n 's/^password=//p' $VAR/mml.credentials)
iface=$(ip -o route show default 2>/dev/null | awk '{ print $5; exit }')
[ -n "$iface" ] || iface=lo
(
	umask 077
	cat conf/sluice.conf
	printf '\n# Added by make run (scripts/run.sh).\n[media]\ninterface = %s\n' "$iface"
	[ -z "${SLUICE_PIN:-}" ] || printf 'bpf_pin_dir = %s\n' "$SLUICE_PIN"
	printf '[store]\ndb = %s/sluice.db\n[mml]\nadmin_password = %s\n' "$VAR" "$admin_pw"
) >$VAR/sluice.conf
"$BIN/sluiced" -c $VAR/sluice.conf -t >/dev/null

if [ ! -e $VAR/demo-users.txt ]; then
	p1=$(rand 12) p2=$(rand 12)
	cat >$VAR/demo-users.json <<JSON
{ "1001": { "username": "1001", "password": "$p1", "display_name": "Demo 1001" },
  "1002": { "username": "1002", "password": "$p2", "display_name": "Demo 1002" } }
JSON
	"$BIN/sluicectl" -c $VAR/sluice.conf import-users $VAR/demo-users.json >/dev/null
	rm -f $VAR/demo-users.json
	(umask 077; printf '1001 %s\n1002 %s\n' "$p1" "$p2" >$VAR/demo-users.txt)
fi

echo "sluice: configuration $VAR/sluice.conf, database $VAR/sluice.db, media on $iface"
echo "sluice: MML on 127.0.0.1:7777, operator admin, password $admin_pw"
echo "        (in $VAR/mml.credentials: agent/sluicectl -c $VAR/sluice.conf mml 'DSP SYSINFO:;')"
echo "sluice: web console on http://127.0.0.1:8080/, the same operator and password"
while read -r user pw; do
	echo "sluice: demo subscriber sip:$user@ims.local, password $pw"
done <$VAR/demo-users.txt
[ "$(id -u)" = 0 ] || echo "sluice: not root: XDP cannot attach, the userspace relay carries media"
exec "$BIN/sluiced" -c $VAR/sluice.conf
