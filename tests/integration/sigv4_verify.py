"""An independent AWS Signature Version 4 verifier (header form), standard
library only, for the imitation AWS endpoints of the integration tests.

It plays the server: given a request as it was RECEIVED, it parses the
Authorization header, rebuilds the canonical request from the received
method, path, query, the headers named in SignedHeaders and the body, derives
the signing key from the secret of the access key named in the credential,
and compares signatures in constant time.  It shares no code with the C
signer (src/handler/aws_sigv4*.c); it was written from AWS's description of
the algorithm and is checked against AWS's published test suite by
tests/integration/test_sigv4_vectors.py.

Rules (services other than S3):
- path: dot segments and empty segments are removed (RFC 3986 5.2.4; a
  trailing "/" stays when the last input segment was empty, "." or ".."),
  then each segment is percent-encoded as it was received (so an encoded
  path is encoded twice), RFC 3986 unreserved characters left plain;
- query: split at "&" (empty pieces skipped), each piece at its first "=",
  names and values percent-decoded ("+" stays "+") and re-encoded, sorted by
  name then value;
- headers: lower-case names, values trimmed with inner runs of blanks made
  one space, several values of one name joined with ",";
- the request must sign "host" and "x-amz-date", and "x-amz-security-token"
  when it carries one; x-amz-date must match the credential's date.

    ok, why = verify("POST", "/2015-03-31/functions/f/invocations",
                     {"host": "127.0.0.1:9000", "x-amz-date": "...",
                      "authorization": "AWS4-HMAC-SHA256 Credential=...", ...},
                     b'{"k": 1}', {"AKIDEXAMPLE": "secret"})

`path_with_query` may be str (encoded as UTF-8) or bytes (used as is).  A
header value may be a str or a list of str (repeated header lines, in order).
"""

import calendar
import hashlib
import hmac
import re
import time
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_BLANKS = re.compile(r"[ \t]+")


def _encode(raw):
    """RFC 3986 percent-encoding of bytes: only A-Z a-z 0-9 - . _ ~ stay."""
    return quote(raw, safe=b"~")


def canonical_path(path):
    """The canonical URI of a raw (bytes) path."""
    pieces = path.split(b"/")
    out = []
    for seg in pieces:
        if seg == b"..":
            if out:
                out.pop()
        elif seg not in (b"", b"."):
            out.append(seg)
    trailing = pieces[-1] in (b"", b".", b"..")
    text = "/" + "/".join(_encode(seg) for seg in out)
    if out and trailing:
        text += "/"
    return text


def canonical_query(query):
    pairs = []
    for piece in query.split(b"&"):
        if not piece:
            continue
        name, _, value = piece.partition(b"=")
        pairs.append((_encode(unquote_to_bytes(name)), _encode(unquote_to_bytes(value))))
    pairs.sort()
    return "&".join(f"{n}={v}" for n, v in pairs)


def _header_value(value):
    values = value if isinstance(value, (list, tuple)) else [value]
    return ",".join(_BLANKS.sub(" ", v.strip(" \t")) for v in values)


def canonical_request(method, path_with_query, headers, signed, body):
    """Canonical request text; `signed` is the list of lower-case names."""
    target = path_with_query
    if isinstance(target, str):
        target = target.encode("utf-8")
    path, _, query = target.partition(b"?")
    lines = [method, canonical_path(path), canonical_query(query)]
    lines += [f"{name}:{_header_value(headers[name])}" for name in signed]
    lines += ["", ";".join(signed), hashlib.sha256(body).hexdigest()]
    return "\n".join(lines)


def string_to_sign(amz_date, scope, creq):
    return "\n".join([ALGORITHM, amz_date, scope,
                      hashlib.sha256(creq.encode("utf-8")).hexdigest()])


def signing_key(secret, date, region, service):
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def parse_authorization(value):
    """{'access_key', 'date', 'region', 'service', 'signed', 'signature'} or
    raise ValueError with the reason."""
    if not isinstance(value, str) or not value.startswith(ALGORITHM + " "):
        raise ValueError("authorization is not " + ALGORITHM)
    fields = {}
    for part in value[len(ALGORITHM) + 1:].split(","):
        key, eq, val = part.strip().partition("=")
        if not eq or key in fields:
            raise ValueError(f"malformed authorization part {part.strip()!r}")
        fields[key] = val
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise ValueError("authorization needs Credential, SignedHeaders and Signature")
    cred = fields["Credential"].split("/")
    if len(cred) != 5 or cred[4] != "aws4_request" or not all(cred[:4]):
        raise ValueError("malformed credential scope")
    signed = fields["SignedHeaders"].split(";")
    if any(not s or s != s.lower() for s in signed) or signed != sorted(set(signed)):
        raise ValueError("SignedHeaders must be sorted, unique, lower-case names")
    if not _HEX64.match(fields["Signature"]):
        raise ValueError("signature is not 64 lower-case hex digits")
    return {"access_key": cred[0], "date": cred[1], "region": cred[2], "service": cred[3],
            "signed": signed, "signature": fields["Signature"]}


def verify(method, path_with_query, headers, body, secrets_by_access_key, region=None,
           service=None, now=None, max_skew_s=None):
    """(True, "ok") when the received request carries a valid signature,
    else (False, reason).  `headers` has lower-case names.  Optional checks:
    the credential's region/service, and |x-amz-date - now| <= max_skew_s."""
    try:
        auth = parse_authorization(headers.get("authorization"))
    except ValueError as e:
        return False, str(e)
    if auth["access_key"] not in secrets_by_access_key:
        return False, f"unknown access key {auth['access_key']!r}"
    if region is not None and auth["region"] != region:
        return False, f"credential region {auth['region']!r}, expected {region!r}"
    if service is not None and auth["service"] != service:
        return False, f"credential service {auth['service']!r}, expected {service!r}"
    for name in ("host", "x-amz-date"):
        if name not in auth["signed"]:
            return False, f"{name} is not signed"
    if "x-amz-security-token" in headers and "x-amz-security-token" not in auth["signed"]:
        return False, "x-amz-security-token is not signed"
    missing = [n for n in auth["signed"] if n not in headers]
    if missing:
        return False, f"signed header(s) missing from the request: {', '.join(missing)}"
    amz_date = _header_value(headers["x-amz-date"])
    if not _AMZ_DATE.match(amz_date):
        return False, "x-amz-date is not YYYYMMDDTHHMMSSZ"
    if amz_date[:8] != auth["date"]:
        return False, "x-amz-date and the credential date differ"
    if max_skew_s is not None:
        t = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        if abs(t - (time.time() if now is None else now)) > max_skew_s:
            return False, "x-amz-date is too far from now"
    creq = canonical_request(method, path_with_query, headers, auth["signed"], body or b"")
    scope = f"{auth['date']}/{auth['region']}/{auth['service']}/aws4_request"
    sts = string_to_sign(amz_date, scope, creq)
    key = signing_key(secrets_by_access_key[auth["access_key"]], auth["date"], auth["region"],
                      auth["service"])
    want = hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, auth["signature"]):
        return False, "signature does not match"
    return True, "ok"


def _main():
    """Command-line form, for the C unit test's cross-check: one JSON object
    on stdin {"method", "target", "headers": {lower: str|[str]}, "body"
    (text), "secrets": {access key: secret}}; prints "ok" or "fail: <why>"
    and exits 0 or 1."""
    import json
    import sys
    req = json.load(sys.stdin)
    ok, why = verify(req["method"], req["target"], req["headers"],
                     req.get("body", "").encode("utf-8"), req["secrets"])
    print("ok" if ok else f"fail: {why}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(_main())
