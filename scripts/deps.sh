#!/bin/sh
# Install the Debian packages actiond needs to build, run and test.
# Idempotent: checks each package with dpkg first and calls apt-get only
# for the missing ones, so a machine that has everything pays ~100 ms.
set -eu

PKGS="build-essential cmake pkg-config \
libmicrohttpd-dev libjansson-dev libpcre2-dev libsqlite3-dev libssl-dev \
libfyaml-dev libcurl4-openssl-dev libpq-dev liblua5.4-dev libseccomp-dev \
clang libclang-rt-14-dev \
sqlite3 postgresql python3 python3-aiosmtpd curl jq wrk nginx openssl"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# Node.js (the example remote plugin and the npm test oracles): any install
# that provides the commands will do (the machine may carry NodeSource's).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Update the package lists only when an install fails without it (fresh machine).
$SUDO apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
    $SUDO apt-get update -qq
    $SUDO apt-get install -y --no-install-recommends $missing
}
