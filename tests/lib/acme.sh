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

# pebble_start NAME DIR_PORT HTTP01_PORT TLSALPN01_PORT [VAR=value...]: a fresh Pebble
# with its state in $WORK/NAME.<try> (DIR_PORT 0 = any free port; its other ports are
# picked free), retried on a port race at start; sets its ACME_* variables and
# PEBBLE_STATE. Returns 1 (after showing the log's end) when it does not come up.
pebble_start() {
    local name=$1 dport=$2 hport=$3 tport=$4 out try
    shift 4
    for try in 1 2 3; do
        out=$(env ACME_STATE="$WORK/$name.$try" ACME_DIR_PORT="$dport" ACME_MGMT_PORT=0 \
            ACME_DNS_PORT=0 ACME_CHALLTEST_MGMT_PORT=0 ACME_HTTP01_PORT="$hport" \
            ACME_TLSALPN01_PORT="$tport" "$@" bash "$HARNESS/pebble-up" 2>"$WORK/$name.up.log")
        [ -n "$out" ] && break
        sleep 1
    done
    if [ -z "$out" ]; then
        tail -n 20 "$WORK/$name.up.log"
        return 1
    fi
    eval "$out"
    PEBBLE_STATE=$ACME_STATE
}

for need in "$@" "$HARNESS/pebble-up"; do
    [ -e "$need" ] || { bad "missing $need"; finish; }
done
command -v pebble >/dev/null || { bad "pebble is not installed (scripts/deps.sh test)"; finish; }
