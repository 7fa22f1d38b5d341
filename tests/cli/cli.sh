#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Tests of the caddy-c binary's Caddyfile commands (adapt, validate, fmt, version, help)
# run in a temporary directory: outputs, exit codes and error texts as Caddy's CLI has
# them. $CADDYC names the binary (tests/run.sh sets it; default bin/caddy-c). Ends with
# "N passed, N failed".
set -u
CADDYC=${CADDYC:-bin/caddy-c}
case $CADDYC in /*) ;; *) CADDYC="$PWD/$CADDYC" ;; esac

pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# run ARGS...: runs caddy-c with stdout in $out, stderr in $err, status in $rc
run() {
    "$CADDYC" "$@" >out.txt 2>err.txt
    rc=$?
    out=$(cat out.txt)
    err=$(cat err.txt)
}
# run_in INPUT ARGS...: same, with INPUT on stdin
run_in() {
    local input=$1
    shift
    printf '%s' "$input" | "$CADDYC" "$@" >out.txt 2>err.txt
    rc=$?
    out=$(cat out.txt)
    err=$(cat err.txt)
}
check() { # description, then a command that must succeed
    local what=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $what" >&2
        echo "  exit $rc; stdout: ${out:0:400}" >&2
        echo "  stderr: ${err:0:400}" >&2
    fi
}
has() { [[ $1 == *"$2"* ]]; }
lacks() { [[ $1 != *"$2"* ]]; }
is_json() { python3 -m json.tool <"$1" >/dev/null 2>&1; }
json_eq() { # two files holding the same JSON value
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$1" "$2"
}
lines() { wc -l <"$1" | tr -d ' '; }

site=$':8080 {\n\trespond "hello"\n}\n'
printf '%s' "$site" >Caddyfile

# ---- adapt -----------------------------------------------------------------------
run adapt
check "adapt: default ./Caddyfile exits 0" [ "$rc" -eq 0 ]
check "adapt: output is JSON" is_json out.txt
check "adapt: compact output is one line" [ "$(lines out.txt)" -eq 1 ]
check "adapt: listener from the site address" has "$out" '":8080"'
check "adapt: respond handler" has "$out" '"static_response"'
check "adapt: formatted input gives no warning" lacks "$err" "not formatted"
cp out.txt default.json

printf '%s' "$site" >site.caddy
run adapt --config site.caddy
check "adapt --config F" json_eq out.txt default.json
run adapt --config=site.caddy --adapter=caddyfile
check "adapt --config=F --adapter=caddyfile" json_eq out.txt default.json
run adapt -c site.caddy -a caddyfile
check "adapt -c F -a caddyfile" json_eq out.txt default.json
run_in "$site" adapt --config -
check "adapt --config - reads stdin" json_eq out.txt default.json

run adapt --pretty
check "adapt --pretty exits 0" [ "$rc" -eq 0 ]
check "adapt --pretty is valid JSON" is_json out.txt
check "adapt --pretty is indented with tabs" grep -q "$(printf '^\t"apps"')" out.txt
check "adapt --pretty is the same value" json_eq out.txt default.json
run adapt -p --validate
check "adapt -p --validate exits 0" [ "$rc" -eq 0 ]

printf ':8080 {\nrespond "hello"\n}\n' >Messy
run adapt --config Messy
check "adapt: unformatted input still adapts" json_eq out.txt default.json
check "adapt: unformatted input warns" has "$err" "WARN Messy:2: Caddyfile input is not formatted"

printf ':8080 {\n\tbogus_directive x\n}\n' >Bad
run adapt --config Bad
check "adapt: config error exits 1" [ "$rc" -eq 1 ]
check "adapt: error has Error: FILE:LINE" has "$err" "Error: Bad:2: unrecognized directive: bogus_directive"
check "adapt: no JSON on error" [ -z "$out" ]

run adapt --config missing.caddy
check "adapt: missing file exits 1" [ "$rc" -eq 1 ]
check "adapt: missing file message" has "$err" "reading input file: open missing.caddy: no such file or directory"
run adapt --adapter json
check "adapt: unknown adapter exits 1" [ "$rc" -eq 1 ]
check "adapt: unknown adapter message" has "$err" "unrecognized config adapter: json"
mkdir empty
(cd empty && "$CADDYC" adapt >../out.txt 2>../err.txt)
rc=$? err=$(cat err.txt)
check "adapt: no Caddyfile exits 1" [ "$rc" -eq 1 ]
check "adapt: no Caddyfile message" has "$err" "input file required when there is no Caddyfile"
run adapt --config
check "adapt: --config without value exits 1" [ "$rc" -eq 1 ]
check "adapt: --config without value message" has "$err" "flag needs an argument: --config"
run adapt --bogus
check "adapt: unknown flag exits 1" [ "$rc" -eq 1 ]
check "adapt: unknown flag message" has "$err" "unknown flag: --bogus"

# ---- envfile ---------------------------------------------------------------------
printf ':{$CC_TEST_PORT} {\n\trespond "{$CC_TEST_GREETING:none}"\n}\n' >Envsite
printf '# test env\nCC_TEST_PORT=9123 # port\nexport CC_TEST_GREETING="hi there"\n\nCC_TEST_UNUSED=1\n' >test.env
run adapt --config Envsite --envfile test.env
check "adapt --envfile exits 0" [ "$rc" -eq 0 ]
check "adapt --envfile: {\$VAR} in the address" has "$out" '":9123"'
check "adapt --envfile: quoted value" has "$out" '"hi there"'
CC_TEST_PORT=7000 "$CADDYC" adapt --config Envsite --envfile test.env >out.txt 2>err.txt
rc=$? out=$(cat out.txt)
check "adapt --envfile does not override the environment" has "$out" '":7000"'
run adapt --config Envsite
check "adapt without envfile: default value" has "$out" '"none"'
printf ':8080 {\n\trespond "{$CC_TEST_MULTI}"\n}\n' >Multi
printf "CC_TEST_MULTI='one\\ntwo'\\n" >multi.env
run adapt --config Multi --envfile multi.env
check "adapt --envfile: quoted value over two lines" has "$out" '"one\ntwo"'
printf 'NOEQUALS\n' >broken.env
run adapt --config Envsite --envfile broken.env
check "adapt: bad envfile exits 1" [ "$rc" -eq 1 ]
check "adapt: bad envfile message" has "$err" "can't parse line 1; line should be in KEY=VALUE format"
run validate --config Envsite --adapter caddyfile --envfile test.env
check "validate --envfile exits 0" [ "$rc" -eq 0 ]

# ---- validate --------------------------------------------------------------------
run validate
check "validate: default Caddyfile exits 0" [ "$rc" -eq 0 ]
check "validate: prints Valid configuration" has "$out" "Valid configuration"
run validate --config Bad --adapter caddyfile
check "validate: error exits 1" [ "$rc" -eq 1 ]
check "validate: error names file:line" has "$err" "Bad:2: unrecognized directive: bogus_directive"
check "validate: error says which adapter" has "$err" "adapting config using caddyfile:"
check "validate: nothing on stdout on error" lacks "$out" "Valid configuration"
cp Bad bad.caddyfile
run validate -c bad.caddyfile
check "validate: *.caddyfile implies the adapter" has "$err" "bad.caddyfile:2: unrecognized directive"
cp default.json config.json
run validate --config config.json
check "validate: a JSON config exits 0" [ "$rc" -eq 0 ]
printf '{"apps": ' >broken.json
run validate --config broken.json
check "validate: broken JSON exits 1" [ "$rc" -eq 1 ]
check "validate: broken JSON message" has "$err" "config is not valid JSON"

# ---- fmt -------------------------------------------------------------------------
printf 'a{\nb   c\n}\n' >Caddyfile
want=$'a {\n\tb c\n}'
run fmt
check "fmt: prints the formatted file" [ "$out" == "$want" ]
check "fmt: unformatted input exits 1" [ "$rc" -eq 1 ]
check "fmt: says where it differs" has "$err" "Caddyfile:1: Caddyfile input is not formatted"
check "fmt: file left alone" [ "$(cat Caddyfile)" == $'a{\nb   c\n}' ]

run fmt --diff
check "fmt --diff: removed line" grep -qx -- '- a{' out.txt
check "fmt --diff: added line" grep -qx -- "$(printf '+ \tb c')" out.txt
check "fmt --diff: common line" grep -qx -- '  }' out.txt
check "fmt --diff exits 1 for unformatted input" [ "$rc" -eq 1 ]

cp Caddyfile Other
run fmt --overwrite Other
check "fmt --overwrite exits 0" [ "$rc" -eq 0 ]
check "fmt --overwrite prints nothing" [ -z "$out" ]
check "fmt --overwrite rewrites the file" [ "$(cat Other)" == "$want" ]
run fmt Other
check "fmt: formatted file exits 0" [ "$rc" -eq 0 ]
check "fmt: formatted file printed unchanged" [ "$out" == "$want" ]
run fmt -w
check "fmt -w on the default Caddyfile" [ "$(cat Caddyfile)" == "$want" ]
run fmt -d Other
check "fmt -d: no changes, all common" [ "$(grep -c '^[-+]' out.txt)" -eq 0 ]
check "fmt -d: formatted exits 0" [ "$rc" -eq 0 ]

run_in $'x{\n  y\n}' fmt -
check "fmt -: reads stdin" [ "$out" == $'x {\n\ty\n}' ]
check "fmt -: exits 0" [ "$rc" -eq 0 ]
run fmt --config Other
check "fmt --config F" [ "$out" == "$want" ]
run fmt Other Caddyfile
check "fmt: two files exit 1" [ "$rc" -eq 1 ]
check "fmt: two files message" has "$err" "fmt does not support multiple files"
run fmt nothere
check "fmt: missing file exits 1" [ "$rc" -eq 1 ]
check "fmt: missing file message" has "$err" "reading input file: open nothere: no such file or directory"

# ---- version, help, unknown commands ----------------------------------------------
run version
check "version exits 0" [ "$rc" -eq 0 ]
check "version: one line" [ "$(lines out.txt)" -eq 1 ]
check "version: caddy-c vX.Y.Z" grep -Eq '^caddy-c v[0-9]+\.[0-9]+\.[0-9]+' out.txt
vline=$out
run --version
check "--version matches version" [ "$out" == "$vline" ]

run help
check "help exits 0" [ "$rc" -eq 0 ]
for c in adapt validate fmt version help run reload stop file-server; do
    check "help lists $c" grep -Eq "^  $c +[A-Z]" out.txt
done
run --help
check "--help is the overview" has "$out" "Available Commands"
run
check "no command prints the overview" has "$out" "Available Commands"
run help fmt
check "help fmt: usage" has "$out" "caddy-c fmt [--overwrite] [--diff] [<path>]"
check "help fmt: flags" has "$out" "-w, --overwrite"
run fmt --help
check "fmt --help exits 0" [ "$rc" -eq 0 ]
check "fmt --help shows the flags" has "$out" "-d, --diff"
run adapt -h
check "adapt -h shows the flags" has "$out" "-p, --pretty"
run help nosuch
check "help for an unknown topic" has "$err" "Unknown help topic"

run frobnicate
check "unknown command exits 1" [ "$rc" -eq 1 ]
check "unknown command message" has "$err" 'Error: unknown command "frobnicate" for "caddy-c"'
run --frob
check "unknown root flag exits 1" [ "$rc" -eq 1 ]

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
