#!/usr/bin/env python3
"""The SigV4 verifier of the imitation AWS endpoints (sigv4_verify.py),
tested on AWS's published SigV4 test suite in tests/data/sigv4/ (provenance
in the README there).  No daemon: it runs in well under a second.

- For every vector the verifier's canonical request equals the published
  .creq (where one is published) and its string to sign the published .sts.
- verify() accepts every published request with its published Authorization
  header, except post-x-www-form-urlencoded-parameters, whose published
  signature belongs to a different request (README) and is rejected.
- Tampering is rejected with a reason: one flipped signature digit, a
  changed signed header value, path, query or body, an unknown access key,
  a wrong secret, an unsigned security token, a credential date that
  disagrees with x-amz-date, a stale date, the wrong region/service.
Emits TAP.
"""

import os
import sys
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Tap, source_dir  # noqa: E402
import sigv4_verify as sv  # noqa: E402

SECRETS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
DATA = os.path.join(source_dir(), "tests", "data", "sigv4")
# published .sts/.authz that do not belong to the published .req (see README)
FOREIGN_AUTHZ = {"post-x-www-form-urlencoded-parameters"}
STS_NOT_OF_CREQ = {"post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters"}
t = Tap()


def read(name, ext):
    path = os.path.join(DATA, name, f"{name}.{ext}")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def parse_req(text):
    """(method, target, headers{lower: str|list}, body bytes) from a .req."""
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.lower()
        if name in headers:
            prev = headers[name]
            headers[name] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            headers[name] = value
    return method, target, headers, body.encode("utf-8")


def vectors():
    return sorted(n for n in os.listdir(DATA) if os.path.isdir(os.path.join(DATA, n)))


def test_published():
    names = vectors()
    t.is_(len(names), 30, "30 published vectors found")
    for name in names:
        req, creq, sts, authz = (read(name, e) for e in ("req", "creq", "sts", "authz"))
        if not t.ok(req and authz, f"{name}: .req and .authz present"):
            continue
        method, target, headers, body = parse_req(req)
        auth = sv.parse_authorization(authz)
        if creq is not None:
            signed = creq.split("\n")[-2].split(";")
            mine = sv.canonical_request(method, target, headers, signed, body)
            t.is_(mine, creq, f"{name}: canonical request = published .creq")
            if sts is not None and name not in STS_NOT_OF_CREQ:
                scope = f"{auth['date']}/{auth['region']}/{auth['service']}/aws4_request"
                got = sv.string_to_sign(headers["x-amz-date"].strip(), scope, mine)
                t.is_(got, sts, f"{name}: string to sign = published .sts")
        headers["authorization"] = authz
        ok, why = sv.verify(method, target, headers, body, SECRETS)
        if name in FOREIGN_AUTHZ:
            t.ok(not ok, f"{name}: its foreign signature is rejected ({why})")
        else:
            t.ok(ok, f"{name}: verify() accepts the published authorization", why)


def signed_request(name):
    method, target, headers, body = parse_req(read(name, "req"))
    headers["authorization"] = read(name, "authz")
    return method, target, headers, body


def expect_reject(args, name, reason_part, **kw):
    ok, why = sv.verify(*args, SECRETS, **kw)
    t.ok(not ok and reason_part in why, f"rejected: {name} ({why})")


def test_tampering():
    m, p, h, b = signed_request("post-x-www-form-urlencoded")
    t.ok(sv.verify(m, p, h, b, SECRETS)[0], "baseline with a body verifies")

    sig = h["authorization"][-1]
    flipped = dict(h, authorization=h["authorization"][:-1] + ("0" if sig != "0" else "1"))
    expect_reject((m, p, flipped, b), "one signature digit changed", "does not match")
    expect_reject((m, p, h, b + b"&x=1"), "body changed", "does not match")
    expect_reject((m, p, dict(h, **{"content-type": "text/plain"}), b),
                  "signed header value changed", "does not match")
    expect_reject(("PUT", p, h, b), "method changed", "does not match")
    expect_reject((m, "/other", h, b), "path changed", "does not match")
    expect_reject((m, "/?a=1", h, b), "query added", "does not match")
    ok, _ = sv.verify(m, p, dict(h, **{"content-length": "99"}), b, SECRETS)
    t.ok(ok, "an unsigned header may change (content-length is not signed here)")
    expect_reject((m, p, {k: v for k, v in h.items() if k != "content-type"}, b),
                  "a signed header is missing", "missing")
    ok, why = sv.verify(m, p, h, b, {"AKIDEXAMPLE": "another-secret"})
    t.ok(not ok and "does not match" in why, f"rejected: wrong secret ({why})")
    expect_reject((m, p, dict(h, authorization=h["authorization"].replace(
        "AKIDEXAMPLE", "AKIDOTHER")), b), "unknown access key", "unknown access key")
    expect_reject((m, p, {k: v for k, v in h.items() if k != "authorization"}, b),
                  "no authorization", "not AWS4-HMAC-SHA256")
    expect_reject((m, p, dict(h, authorization=h["authorization"].replace(
        "SignedHeaders=content-type;host;x-amz-date", "SignedHeaders=content-type;host")), b),
        "x-amz-date not signed", "x-amz-date is not signed")
    expect_reject((m, p, dict(h, authorization=h["authorization"].replace(
        "SignedHeaders=content-type;host;", "SignedHeaders=host;content-type;")), b),
        "unsorted SignedHeaders", "sorted")
    expect_reject((m, p, dict(h, **{"x-amz-date": "20150831T123600Z"}), b),
                  "x-amz-date disagrees with the credential", "differ")
    expect_reject((m, p, h, b), "wrong region", "region", region="eu-west-1")
    expect_reject((m, p, h, b), "wrong service", "service", service="lambda")
    t.ok(sv.verify(m, p, h, b, SECRETS, region="us-east-1", service="service")[0],
         "right region and service accepted")
    expect_reject((m, p, h, b), "stale x-amz-date", "too far", max_skew_s=900)
    t.ok(sv.verify(m, p, h, b, SECRETS, now=1440938160 + 60, max_skew_s=900)[0],
         "x-amz-date within the skew accepted (now = 2015-08-30T12:37:00Z)")

    m, p, h, b = signed_request("get-vanilla")
    expect_reject((m, p, dict(h, **{"x-amz-security-token": "tok"}), b),
                  "an unsigned session token", "x-amz-security-token is not signed")
    m, p, h, b = signed_request("post-sts-header-before")
    t.ok(sv.verify(m, p, h, b, SECRETS)[0], "a signed session token verifies")
    expect_reject((m, p, dict(h, **{"x-amz-security-token": "other"}), b),
                  "session token changed", "does not match")
    m, p, h, b = signed_request("get-header-key-duplicate")
    h["my-header1"] = list(reversed(h["my-header1"]))
    expect_reject((m, p, h, b), "repeated header values reordered", "does not match")


def test_rules():
    """Cases the suite lacks, from AWS's written rules (the same table as
    test_canonical_rules in tests/handler/test_sigv4.c)."""
    cases = [
        (b"/2015-03-31/functions/my%3Afn/invocations",
         "/2015-03-31/functions/my%253Afn/invocations", "", "an encoded path is encoded again"),
        (b"/a:b@c", "/a%3Ab%40c", "", "reserved path characters are encoded"),
        (b"/a%2Fb", "/a%252Fb", "", "an encoded '/' in a segment stays in the segment"),
        (b"/?a=%20b&a=%41", "/", "a=%20b&a=A", "query escapes decoded, re-encoded"),
        (b"/?p=a/b", "/", "p=a%2Fb", "'/' in a query value is encoded"),
        (b"/?b&a=1&&c=", "/", "a=1&b=&c=", "a name without '=' gets one; empty pieces go"),
        (b"/?x=1+2&y=%zz", "/", "x=1%2B2&y=%25zz", "'+' and a stray '%' are literal"),
        (b"/?a=1&A=2", "/", "A=2&a=1", "sort is by bytes"),
        (b"/a/b/..", "/a/", "", "a trailing '..' keeps the trailing slash"),
        (b"/a/./b/../../..", "/", "", "'..' never climbs above the root"),
        (b"/a/b/", "/a/b/", "", "a trailing slash stays"),
    ]
    for target, uri, query, what in cases:
        creq = sv.canonical_request("GET", target, {"host": "h"}, ["host"], b"")
        want = "\n".join(["GET", uri, query, "host:h", "", "host",
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
        t.is_(creq, want, f"rule: {what}")


def main():
    try:
        test_published()
        test_tampering()
        test_rules()
    except Exception:  # noqa: BLE001
        t.ok(False, "no exception", traceback.format_exc())
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
