#!/usr/bin/env python3
"""backup_operation example (handler kind `command`, examples/actions/backup_operation.json).

Takes an online backup of a SQLite database in $EXAMPLES_DATA (by default
shop.db, the database of the database_operation and report_generation
examples) into $EXAMPLES_DATA/backups/<name>-<UTC timestamp>.db, with
SQLite's online backup API (what the sqlite3 shell's `.backup` command uses:
a consistent copy while writers keep going), checks the copy with
PRAGMA integrity_check, and keeps only the newest `keep` backups of that
database.

Input (the event's data, all optional): {"database": "shop.db", "keep": 7}.
`database` is a file name inside $EXAMPLES_DATA, never a path, so an event
cannot make the job read or write elsewhere.
Output: {"database", "backup", "bytes", "integrity": "ok", "pruned": [...]}.
Exit 64 (permanent) for bad input or a missing database; exit 1 (retried by
the action's policy) when the copy fails its integrity check.
Standard library only.
"""
import datetime
import json
import os
import re
import sqlite3
import sys


def fail(msg, code=64):
    print(msg, file=sys.stderr)
    return code


def main():
    req = json.load(sys.stdin)
    data = req.get("input") or {}
    name = data.get("database", "shop.db")
    keep = data.get("keep", 7)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}\.db", name):
        return fail("database must be a file name like shop.db (letters, digits, '_', '-')")
    if not isinstance(keep, int) or isinstance(keep, bool) or not 1 <= keep <= 1000:
        return fail("keep must be an integer from 1 to 1000")

    root = os.environ.get("EXAMPLES_DATA", "var/examples")
    src_path = os.path.join(root, name)
    if not os.path.isfile(src_path):
        return fail(f"no database {src_path}")
    out_dir = os.path.join(root, "backups")
    os.makedirs(out_dir, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    stem = name[:-3]
    dst_path = os.path.join(out_dir, f"{stem}-{stamp}.db")

    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
    dst = sqlite3.connect(dst_path)
    try:
        src.backup(dst)
        integrity = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if integrity != "ok":
        os.unlink(dst_path)
        return fail(f"the backup failed its integrity check: {integrity}", 1)

    mine = re.compile(re.escape(stem) + r"-\d{8}T\d{12}Z\.db")
    backups = sorted(os.path.join(out_dir, f) for f in os.listdir(out_dir) if mine.fullmatch(f))
    pruned = backups[:-keep]
    for old in pruned:
        os.unlink(old)
    json.dump({"database": src_path, "backup": dst_path, "bytes": os.path.getsize(dst_path),
               "integrity": integrity, "pruned": pruned}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
