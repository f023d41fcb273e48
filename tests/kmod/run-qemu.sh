#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The kernel module's runtime test, for machines whose own kernel cannot
# load modules: boots Debian's kernel (linux-image-amd64) under qemu, with
# software emulation when there is no /dev/kvm, on an initramfs made here
# of busybox, bash, iproute2's ip, ethtool, kmod/sluice.ko, the kernel's
# veth.ko, sluicectl and rtpio (each with the shared libraries ldd lists),
# tests/lib.sh, tests/forward-lib.sh and tests/kmod/. The guest runs
# guest-test.sh (or, with `bench`, guest-bench.sh), prints its output on
# the serial console between two marker lines and powers off.
#
#   tests/kmod/run-qemu.sh [test|bench|check]
#
# (check: exits 1 with the reason when this machine cannot run the guest.)
# Prints the guest's output between the markers on stdout. Exits 0 when
# the guest finished and its script passed; 1 when the script failed; 2
# (after a "Bail out!" line and the console's last lines) when the guest
# did not finish: it crashed, hung past SLUICE_QEMU_TIMEOUT seconds
# (default 300), or never got to the end marker. The whole console is kept
# in build/kmod-guest/console.log.
#
# Environment: SLUICE_BIN (sluicectl's directory, default agent/),
# SLUICE_TOOLS (rtpio's, default build/tests/tools), SLUICE_KVER (the
# kernel release, default the newest /boot/vmlinuz-*-amd64 with modules),
# SLUICE_QEMU_KVM_BOOT (seconds a KVM guest has to begin the test before
# it is taken for hung and the run goes to software emulation; 60).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
MODE=${1:-test}
OUT=$TOP/build/kmod-guest
ROOT=$OUT/root
BIN=${SLUICE_BIN:-agent}
case $BIN in /*) ;; *) BIN=$TOP/$BIN ;; esac
TOOLS=${SLUICE_TOOLS:-$TOP/build/tests/tools}
TIMEOUT=${SLUICE_QEMU_TIMEOUT:-300}

die() { echo "Bail out! run-qemu: $*"; exit 2; }

# The newest Debian kernel that has its modules installed.
pick_kernel() {
	local v k
	if [ -n "${SLUICE_KVER:-}" ]; then
		echo "$SLUICE_KVER"
		return
	fi
	for k in $(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V -r); do
		v=${k#/boot/vmlinuz-}
		[ -e /usr/lib/modules/$v/kernel/drivers/net/veth.ko ] ||
			[ -e /usr/lib/modules/$v/kernel/drivers/net/veth.ko.xz ] || continue
		echo "$v"
		return
	done
}

# copy_bin SRC [DEST]: a program into the root, with every library it loads.
copy_bin() {
	local src=$1 dest=${2:-$1} lib
	rm -f "$ROOT$dest"
	mkdir -p "$ROOT$(dirname "$dest")"
	cp -L "$src" "$ROOT$dest" || return 1
	for lib in $(ldd "$src" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
		[ -e "$ROOT$lib" ] || cp -L --parents "$lib" "$ROOT" || return 1
	done
}

# A module into /sluice/modules, uncompressed (busybox insmod reads .ko).
copy_module() {
	local ko=/usr/lib/modules/$KVER/$1
	if [ -e "$ko" ]; then
		cp "$ko" "$ROOT/sluice/modules/"
	elif [ -e "$ko.xz" ]; then
		xz -dc "$ko.xz" >"$ROOT/sluice/modules/$(basename "$ko")"
	elif [ -e "$ko.zst" ]; then
		zstd -qdc "$ko.zst" >"$ROOT/sluice/modules/$(basename "$ko")"
	else
		die "no $ko"
	fi
}

build_initramfs() {
	local a
	rm -rf "$ROOT"
	mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc}
	mkdir -p "$ROOT"/sluice/{bin,modules,tests/kmod}
	cp /bin/busybox "$ROOT/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$ROOT/bin/$a"
	done
	# The real ones where busybox's applets differ (ip netns, link types).
	copy_bin /bin/bash /bin/bash
	copy_bin "$(command -v ip)" /bin/ip
	copy_bin "$(command -v ethtool)" /bin/ethtool
	copy_bin "$BIN/sluicectl" /sluice/bin/sluicectl
	copy_bin "$BIN/sluiced" /sluice/bin/sluiced
	copy_bin "$TOOLS/rtpio" /sluice/bin/rtpio
	copy_module kernel/drivers/net/veth.ko
	# nf_tables with notrack (nft_ct) and what they need, in load order, for
	# sluiced's table inet sluice on the module's path; and nft to read it.
	for m in kernel/net/netfilter/nfnetlink.ko kernel/crypto/crc32c_generic.ko \
		kernel/lib/libcrc32c.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko \
		kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/netfilter/nf_conntrack.ko \
		kernel/net/netfilter/nf_tables.ko kernel/net/netfilter/nft_ct.ko; do
		copy_module $m
		basename $m >>"$ROOT/sluice/modules/nft.order"
	done
	copy_bin "$(command -v nft)" /bin/nft
	cp "$TOP/kmod/sluice.ko" "$ROOT/sluice/modules/"
	cp "$TOP/tests/lib.sh" "$TOP/tests/forward-lib.sh" "$ROOT/sluice/tests/"
	cp "$TOP"/tests/kmod/guest-*.sh "$ROOT/sluice/tests/kmod/"
	cp "$TOP/tests/kmod/guest-init.sh" "$ROOT/init"
	chmod +x "$ROOT/init"
	echo "root:x:0:0:root:/:/bin/sh" >"$ROOT/etc/passwd"
	echo "root:x:0:" >"$ROOT/etc/group"
	cat >"$ROOT/sluice/env" <<-EOF
		SLUICE_GUEST_SCRIPT=guest-$MODE.sh
		SLUICE_BIN=/sluice/bin
		SLUICE_TOOLS=/sluice/bin
		SLUICE_KVER=$KVER
		SLUICE_SAN=$SAN
		SLUICE_BENCH_COUNT=${SLUICE_BENCH_COUNT:-50000}
		SLUICE_BENCH_RUNS=${SLUICE_BENCH_RUNS:-3}
		export SLUICE_BIN SLUICE_TOOLS SLUICE_KVER SLUICE_SAN SLUICE_BENCH_COUNT SLUICE_BENCH_RUNS
	EOF
	# Uncompressed: the emulated CPU unpacks it faster than it inflates it.
	(cd "$ROOT" && find . | cpio -o -H newc --quiet) >"$OUT/initramfs.cpio"
}

# Why this machine cannot run the guest, or nothing.
missing() {
	local kver_ko
	command -v qemu-system-x86_64 >/dev/null || { echo "needs qemu-system-x86_64 (qemu-system-x86)"; return; }
	[ -x /bin/busybox ] && command -v cpio >/dev/null || { echo "needs busybox-static and cpio"; return; }
	[ -n "$KVER" ] && [ -e /boot/vmlinuz-$KVER ] ||
		{ echo "no Debian kernel /boot/vmlinuz-*-amd64 with its modules (linux-image-amd64)"; return; }
	[ -e "$TOP/kmod/sluice.ko" ] || { echo "no kmod/sluice.ko (make kmod)"; return; }
	kver_ko=$(modinfo -F vermagic "$TOP/kmod/sluice.ko" | cut -d' ' -f1)
	[ "$kver_ko" = "$KVER" ] || { echo "kmod/sluice.ko is built for $kver_ko, not $KVER (make kmod KDIR=...)"; return; }
	[ -x "$BIN/sluicectl" ] && [ -x "$TOOLS/rtpio" ] ||
		echo "no $BIN/sluicectl or $TOOLS/rtpio (make, make unit-bins)"
}

case $MODE in
test | bench | check) ;;
*) die "usage: run-qemu.sh [test|bench|check]" ;;
esac
KVER=$(pick_kernel)
why=$(missing)
if [ "$MODE" = check ]; then
	[ -z "$why" ] || { echo "$why"; exit 1; }
	exit 0
fi
[ -z "$why" ] || die "$why"
SAN=0
ldd "$BIN/sluicectl" | grep -q libasan && SAN=1

mkdir -p "$OUT"
build_initramfs || die "could not build the initramfs"

CONSOLE=$OUT/console.log
# run_guest ACCEL: boots the guest once; qemu's status in qrc.
run_guest() {	# run_guest ACCEL [BOOT_SECS]: qrc, and booted=no when the TAP did not begin in time
	accel=$1
	booted=yes
	: >"$CONSOLE"
	rm -f "$OUT/qemu.pid"
	start=$(date +%s)
	# loglevel=5: the console shows kernel warnings and worse (a WARN or an
	# oops with its trace) among the test's lines, not the info chatter. An
	# oops panics, and a panic ends qemu (-no-reboot), so a broken module
	# never looks like a guest that merely took long.
	# In a subshell that outlives it, so that a qemu that aborts is not
	# announced by this shell.
	(timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
		-machine q35,accel=$accel -cpu max -m 1024 -smp 2 \
		-nographic -monitor none -serial file:"$CONSOLE" -nic none -no-reboot \
		-pidfile "$OUT/qemu.pid" \
		-kernel /boot/vmlinuz-$KVER -initrd "$OUT/initramfs.cpio" \
		-append "console=ttyS0 loglevel=5 panic=-1 oops=panic rdinit=/init" \
		</dev/null >"$OUT/qemu.log" 2>&1; exit $?) 2>/dev/null &
	local qpid=$! i
	# A guest that has not begun the test within BOOT_SECS hung booting.
	for ((i = 0; i < ${2:-0}; i++)); do
		grep -aq '^==== sluice-guest-tap begin' "$CONSOLE" && break
		kill -0 $qpid 2>/dev/null || break
		sleep 1
	done
	if [ -n "${2:-}" ] && kill -0 $qpid 2>/dev/null &&
	   ! grep -aq '^==== sluice-guest-tap begin' "$CONSOLE"; then
		booted=no
		kill "$(cat "$OUT/qemu.pid" 2>/dev/null)" 2>/dev/null
	fi
	wait $qpid
	qrc=$?
}

# KVM where the host offers it; a host whose KVM refuses the guest's CPU
# before it boots (seen: nested KVM failing to set MSR 0x10a, qemu aborts),
# or whose guest hangs booting (seen: nested KVM on an Intel host, the
# kernel silent after the boot loader), gets software emulation instead,
# said on the way. A guest under KVM begins the test in a few seconds.
KVM_BOOT=${SLUICE_QEMU_KVM_BOOT:-60}
if [ -w /dev/kvm ]; then
	run_guest kvm $KVM_BOOT
	if [ $booted = no ]; then
		echo "# KVM's guest had not begun the test after ${KVM_BOOT}s (console: $(tr -cd '[:print:]\n' <"$CONSOLE" | grep -aE '[[:alpha:]]{4}' | tail -1 | cut -c1-60)); using tcg"
		run_guest tcg
	elif [ $qrc -ne 0 ] && [ ! -s "$CONSOLE" ]; then
		echo "# KVM could not start the guest ($(tail -1 "$OUT/qemu.log")); using tcg"
		run_guest tcg
	fi
else
	run_guest tcg
fi
secs=$(($(date +%s) - start))

tr -d '\r' <"$CONSOLE" >"$CONSOLE.tmp" && mv "$CONSOLE.tmp" "$CONSOLE"
sed -n '/^==== sluice-guest-tap begin/,/^==== sluice-guest-tap end/p' "$CONSOLE" |
	sed '1d; /^==== sluice-guest-tap end/d'
end=$(grep -a '^==== sluice-guest-tap end rc=' "$CONSOLE" | tail -1)
if [ -z "$end" ]; then
	what="qemu exited $qrc"
	[ $qrc -eq 124 ] && what="timed out after ${TIMEOUT}s"
	echo "Bail out! the guest ($KVER, $accel) did not finish: $what"
	tail -40 "$CONSOLE" | sed 's/^/# console: /'
	sed 's/^/# qemu: /' "$OUT/qemu.log" | tail -5
	exit 2
fi
echo "# guest: Debian $KVER under qemu ($accel), $secs s from boot to power-off"
[ "${end##*rc=}" = 0 ] || exit 1
exit 0
