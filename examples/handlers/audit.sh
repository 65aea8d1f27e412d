#!/bin/sh
# A `command` handler: actiond writes {"execution_id", "attempt", "action",
# "event", "input", "config"} on stdin and reads JSON from stdout.  This one
# appends the whole request to $AUDIT_LOG (default ./var/audit.log) and
# answers {"logged": true}.  Exit 0 = success; non-zero = failure (stderr
# becomes the error).
set -eu
log=${AUDIT_LOG:-./var/audit.log}
mkdir -p "$(dirname "$log")"
cat >> "$log"
echo >> "$log"
echo '{"logged": true}'
