#!/usr/bin/env python3
"""background_job example (handler kind `command`, examples/actions/background_job.json).

A job that should not run inside the request that asked for it: write an
export of rows as a CSV file.  The event carries the rows; the file lands in
$EXAMPLES_DATA/exports/<export_id>.csv (written to a temporary name and
renamed, so a reader never sees half a file; a retry overwrites it).

Input (the event's data): {"export_id": "exp-42", "columns": ["sku", "qty"],
"rows": [{"sku": "A-1", "qty": 2}, ...]}.
Output: {"file", "rows", "bytes", "sha256"}.
Exit 64 (permanent: dead-lettered at once, no retry) for input that can
never work: a bad export_id, no columns, too many rows.
Standard library only.
"""
import csv
import hashlib
import io
import json
import os
import re
import sys

MAX_ROWS = 100000


def fail(msg):
    print(msg, file=sys.stderr)
    return 64


def main():
    req = json.load(sys.stdin)
    data = req.get("input") or {}
    export_id = data.get("export_id")
    columns = data.get("columns")
    rows = data.get("rows") or []
    if not isinstance(export_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", export_id):
        return fail("export_id must be 1-64 letters, digits, '_' or '-'")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        return fail("columns must be a non-empty list of names")
    if not isinstance(rows, list) or len(rows) > MAX_ROWS:
        return fail(f"rows must be a list of at most {MAX_ROWS} objects")

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            return fail(f"rows[{i}] is not an object")
        w.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    body = buf.getvalue().encode()

    out_dir = os.path.join(os.environ.get("EXAMPLES_DATA", "var/examples"), "exports")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, export_id + ".csv")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    json.dump({"file": path, "rows": len(rows), "bytes": len(body),
               "sha256": hashlib.sha256(body).hexdigest()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
