#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Style gates as tests: the layer include rules (make check) and clang-format
# conformance of every tracked C file. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0
if make --no-print-directory check; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
files=$(git ls-files '*.c' '*.h' 2>/dev/null)
if [ -z "$files" ]; then
    # not a git checkout (a tarball): format every source file instead
    files=$(find caddy-c caddyfile core engine handlers storage tests -name '*.[ch]')
fi
# shellcheck disable=SC2086
if clang-format --dry-run -Werror $files; then pass=$((pass + 1)); else
    echo "clang-format: run 'make fmt'" >&2
    fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
