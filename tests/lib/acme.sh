# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared prologue of the ACME suites (tests/integration/acme*.sh): finds the Pebble
# harness ($ACME_HARNESS, else ../shared/acme beside the checkout, else the machine's
# /work/shared/acme), the pass/fail counters and check/finish, and the refusal to run
# without the harness, pebble and the programs the suite names. Source it from the
# repository root: `. tests/lib/acme.sh PROGRAM...`.
HARNESS=${ACME_HARNESS:-}
if [ -z "$HARNESS" ]; then
    for d in "$PWD/../shared/acme" /work/shared/acme; do
        [ -f "$d/pebble-up" ] && { HARNESS=$d; break; }
    done
    HARNESS=${HARNESS:-$PWD/../shared/acme}
fi
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # description, command...
    local d=$1; shift
    if "$@"; then ok; else bad "$d"; fi
}
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

for need in "$@" "$HARNESS/pebble-up"; do
    [ -e "$need" ] || { bad "missing $need"; finish; }
done
command -v pebble >/dev/null || { bad "pebble is not installed (scripts/deps.sh test)"; finish; }
