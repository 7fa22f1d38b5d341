#!/usr/bin/env bash
# Runs every test: unit programs in $BUILD/tests, shell tests in tests/cli and
# tests/integration (the real binary over loopback), and the
# fuzzer for $FUZZ_SECONDS. Each prints "N passed, N failed"; a program that crashes
# or prints no such line counts as one failure. Ends with the summed line.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
export BUILD BIN CADDYC="$PWD/$BIN/caddy-c"
pass=0 fail=0

run_one() { # name, command...
    local name=$1; shift
    local out rc line
    out=$("$@" 2>&1); rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        printf '%s\n' "$out" | tail -n 30
        echo "== $name: no result line (exit $rc)"
        fail=$((fail + 1)); return
    fi
    local p f
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ "$f" -ne 0 ] && printf '%s\n' "$out" | grep -vE '^[0-9]+ passed' | tail -n 40
    echo "== $name: $p passed, $f failed"
    pass=$((pass + p)); fail=$((fail + f))
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] && run_one "$(basename "$t")" "$t"
done
for s in tests/cli/*.sh tests/integration/*.sh; do
    [ -f "$s" ] && run_one "$(basename "$s")" timeout 600 bash "$s"
done
if [ "$FUZZ_SECONDS" -gt 0 ]; then
    run_one fuzz make --no-print-directory fuzz FUZZ_SECONDS="$FUZZ_SECONDS"
fi
# Sanitizer reports of processes whose output the tests did not see (servers started
# by integration tests write theirs here when run by `make asan`): each is a failure.
if [ -n "${SANITIZER_REPORTS:-}" ] && [ -d "$SANITIZER_REPORTS" ]; then
    for f in "$SANITIZER_REPORTS"/*; do
        [ -f "$f" ] || continue
        echo "== sanitizer report $f:"
        head -n 40 "$f"
        fail=$((fail + 1))
    done
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
