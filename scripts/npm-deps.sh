#!/bin/sh
# Install the npm dependencies of the Node.js parts of the tree:
#   plugins/email-automation   the example remote plugin (nodemailer, standardwebhooks)
#   tests/integration/node     the test oracles (standardwebhooks)
# Idempotent and quick when nothing changed: each directory keeps a stamp in
# node_modules/ with the checksum of its package.json and package-lock.json,
# and npm runs only when node_modules is missing or the checksum differs.
# With a committed package-lock.json it runs `npm ci` (exact versions),
# otherwise `npm install`, which writes the lock file to commit.
# usage: scripts/npm-deps.sh [DIR...]   (default: both directories above)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$#" -eq 0 ]; then
    set -- "$root/plugins/email-automation" "$root/tests/integration/node"
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "npm-deps: node and npm are needed; run scripts/deps.sh first" >&2
    exit 1
fi

for dir in "$@"; do
    [ -f "$dir/package.json" ] || { echo "npm-deps: no package.json in $dir" >&2; exit 1; }
    sum=$(cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null | cksum)
    stamp="$dir/node_modules/.actiond-npm-stamp"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
        continue
    fi
    echo "npm-deps: installing in ${dir#"$root"/}" >&2
    if [ -f "$dir/package-lock.json" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    else
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
    # npm install may have written the lock file: stamp what is there now.
    cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null | cksum >"$stamp"
done
