#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the Caddyfile fuzzer for SECONDS, seeded with the Caddyfile part of every golden
# test and every example. Prints one closing "N passed, N failed" line; on a crash, leak
# or timeout it prints the input that caused it and exits non-zero.
# Usage: tests/fuzz/run.sh FUZZ_BIN SECONDS
set -u

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 FUZZ_BIN SECONDS" >&2
    echo "0 passed, 1 failed"
    exit 2
fi
bin=$(realpath -- "$1" 2>/dev/null || echo "$1") secs=$2
cd "$(dirname "$0")/../.." || exit 1
if [ ! -x "$bin" ]; then
    echo "fuzzer binary $bin not found (make fuzz-build)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cc-fuzz-run.XXXXXX")
corpus=$work/corpus artifacts=$work/artifacts
mkdir -p "$corpus" "$artifacts" "$work/tmp"

# Seeds: the text before the "----------" separator of each golden test, and examples.
i=0
for f in tests/caddyfile/*.caddyfiletest; do
    [ -f "$f" ] || continue
    awk '$0 == "----------" { exit } { print }' "$f" >"$corpus/golden-$i"
    i=$((i + 1))
done
for f in examples/*Caddyfile*; do
    [ -f "$f" ] || continue
    cp "$f" "$corpus/example-$i"
    i=$((i + 1))
done
printf 'localhost {\n\trespond "hi" 200\n}\n' >"$corpus/minimal"

# Tokens that steer mutations towards Caddyfile syntax.
cat >"$work/dict" <<'EOF'
"{"
"}"
"\x0a"
"\x22"
"`"
"\\"
"#"
"<<EOF\x0a"
"\x0aEOF"
"{$HOME}"
"{$X:d}"
"@m"
"(snip)"
"import snip"
"{args[0]}"
"{block}"
"handle"
"route"
"reverse_proxy"
"encode"
"header"
"file_server"
"respond"
"rate_limit"
"tls"
"log"
"http://"
":443"
EOF

# Imports the fuzzer's working directory is made under $work/tmp, removed below.
log=$work/fuzz.log
if [ "$secs" -gt 0 ]; then
    TMPDIR=$work/tmp timeout -k 10 $((secs + 120)) "$bin" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -dict="$work/dict" -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
    rc=$?
else
    # No fuzzing time: just run every seed once.
    TMPDIR=$work/tmp timeout -k 10 120 "$bin" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" "$corpus"/* >"$log" 2>&1
    rc=$?
fi

found=$(find "$artifacts" -type f | head -n 5)
if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    tail -n 60 "$log"
    echo "fuzzer exited with status $rc; log: $log"
    for f in $found; do
        echo "== failing input: $f ($(wc -c <"$f") bytes)"
        head -c 4096 "$f" | cat -v
        echo
    done
    echo "0 passed, 1 failed"
    exit 1
fi
grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs)' "$log" | tail -n 1
rm -rf "$work"
echo "1 passed, 0 failed"
