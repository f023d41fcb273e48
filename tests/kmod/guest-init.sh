#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# /init of the qemu guest that tests/kmod/run-qemu.sh boots (busybox sh):
# the filesystems a test needs, then the script named in /sluice/env
# (guest-test.sh, or guest-bench.sh) with its TAP or table between two
# marker lines on the serial console, then power off. Whatever happens in
# between, the end marker carries the script's exit status, and a guest
# that never prints it has failed.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ip link set lo up
. /sluice/env

echo "==== sluice-guest-tap begin"
bash "/sluice/tests/kmod/$SLUICE_GUEST_SCRIPT" </dev/null 2>&1
rc=$?
echo "==== sluice-guest-tap end rc=$rc"
sync
poweroff -f
