#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# sluice.ko at run time, where this machine's own kernel cannot load it:
# tests/kmod/run-qemu.sh boots Debian's kernel under qemu (software
# emulation without /dev/kvm; about a minute here) with the module,
# sluicectl and rtpio, and the guest runs tests/kmod/guest-test.sh: the
# three-namespace forwarding test of 20-xdp-forward.t through the module,
# its ABI handshake, unloading with flows installed, then the same
# forwarding through the XDP program on that kernel. Its TAP is this
# script's: a guest that crashes, hangs or stops early prints "Bail out!"
# or no plan, and fails. Skips, saying why, without qemu, a Debian kernel
# with its modules, or a kmod/sluice.ko built for it.
#
# Under the sanitizer build (make check: SLUICE_BIN=build/san/agent) the
# guest runs that sluicectl, with libasan and libubsan copied in by ldd.
. "$(dirname "$0")/../lib.sh"

why=$(SLUICE_BIN=$SLUICE_BIN SLUICE_TOOLS=$TOOLS "$TOP/tests/kmod/run-qemu.sh" check) ||
	skip_all "$why"
SLUICE_BIN=$SLUICE_BIN SLUICE_TOOLS=$TOOLS "$TOP/tests/kmod/run-qemu.sh" test
