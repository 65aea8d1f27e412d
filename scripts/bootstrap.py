#!/usr/bin/env python3
"""Load example actions and subscriptions into a running actiond.

usage: bootstrap.py URL FILE

FILE holds {"actions": [{"action": {...}, "subscribe": {...}}]}.  An action
whose name exists already is left as it is (so `make run` can be repeated);
a new one is created with its subscription.  Prints one line per action and
exits non-zero on any other error.
"""
import json
import sys
import urllib.error
import urllib.request


def call(url, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    url, path = sys.argv[1].rstrip("/"), sys.argv[2]
    with open(path) as f:
        spec = json.load(f)
    failed = 0
    for entry in spec["actions"]:
        action = entry["action"]
        st, doc = call(url, "POST", "/v1/actions", action)
        if st == 409:
            print("bootstrap: action %s exists" % action["name"])
            continue
        if st != 201:
            print("bootstrap: action %s: %s %s" % (action["name"], st, doc), file=sys.stderr)
            failed += 1
            continue
        sub = dict(entry["subscribe"], action_id=doc["id"])
        st, sdoc = call(url, "POST", "/v1/subscriptions", sub)
        if st != 201:
            print("bootstrap: subscription for %s: %s %s" % (action["name"], st, sdoc),
                  file=sys.stderr)
            failed += 1
            continue
        print("bootstrap: action %s (%s) on %s" % (action["name"], action["handler"]["kind"],
                                                    ", ".join(sub["event_patterns"])))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
