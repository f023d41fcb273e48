#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs each cmocka test binary given on the command line and ends with one
# summary line over all of them: "unit: N passed, N failed, N skipped".
# A binary that crashes or exits non-zero without a cmocka summary counts as
# one failure, so a sanitizer abort cannot hide.
set -u
passed=0 failed=0 skipped=0 broken=0
for bin in "$@"; do
	out=$("$bin" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed "s|^|$(basename "$bin"): |"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	skipped=$((skipped + ${s:-0}))
	if [ $rc -ne 0 ] && [ -z "$f" ]; then
		echo "$(basename "$bin"): exited $rc without a cmocka summary"
		broken=$((broken + 1))
	fi
done
failed=$((failed + broken))
echo "unit: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
