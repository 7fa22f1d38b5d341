#!/usr/bin/env bash
# Installs the Debian packages caddy-c needs. `deps.sh build` covers building and
# running; `deps.sh test` adds what the test suite needs. As root it runs apt-get;
# otherwise it prints the exact apt-get line and fails if something is missing.
set -euo pipefail

build_pkgs=(gcc make pkg-config libc6-dev
    libjansson-dev libmicrohttpd-dev libwolfssl-dev libcurl4-openssl-dev
    libbrotli-dev libzstd-dev zlib1g-dev libsqlite3-dev libcrypt-dev)
test_pkgs=(clang clang-format libclang-rt-14-dev curl python3 wrk zstd brotli jq node-ws openssl pebble testssl.sh)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "caddy-c needs these Debian packages; run as root:" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}"; }
