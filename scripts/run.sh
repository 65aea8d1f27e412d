#!/bin/sh
# Start actiond in the foreground for `make run`.
# usage: scripts/run.sh BUILD_DIR LISTEN DATA_DIR
#   e.g. scripts/run.sh build 127.0.0.1:8080 ./var
# Extra configuration comes from the environment (ACTIOND_*) or a file
# named by ACTIOND_CONFIG; see docs/configuration.md.
set -eu

if [ "$#" -ne 3 ]; then
    echo "usage: $0 BUILD_DIR LISTEN DATA_DIR" >&2
    exit 64
fi
build=$1
listen=$2
data_dir=$3

bin="$build/actiond"
if [ ! -x "$bin" ]; then
    echo "run: $bin not found; build it first (make build)" >&2
    exit 1
fi

# The URL to show: ":PORT" listens on every interface, reachable on loopback;
# an IPv6 listen address is already bracketed.
case "$listen" in
    :*) url="http://127.0.0.1$listen" ;;
    0.0.0.0:*) url="http://127.0.0.1:${listen#0.0.0.0:}" ;;
    *) url="http://$listen" ;;
esac

echo "actiond: serving $url (data in $data_dir); Ctrl-C stops it"
echo "try: curl -s $url/readyz   or   $build/actionctl --url $url actions list"
exec "$bin" --listen "$listen" --data-dir "$data_dir"
