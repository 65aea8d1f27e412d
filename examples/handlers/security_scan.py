#!/usr/bin/env python3
"""security_scan example (handler kind `command`, examples/actions/security_scan.json).

Scans every string of the event's data for secrets that should never be
committed or posted: cloud keys, private keys, API tokens, passwords in URLs
or assignments.  The actiond command protocol: one JSON request on stdin
({"input", "event", "config", ...}), the result as JSON on stdout.

Output: {"clean": bool, "scanned_strings": N, "findings": [{"path", "rule",
"line", "excerpt"}]} where `excerpt` is masked (first 4 characters, then
'*'), so the report itself never carries the secret.  A scan with findings
still succeeds: the findings are the result; subscribe another action to
act on them, or set config.fail_on_findings to true to fail the execution
(exit 64: permanent, dead-lettered without retries).
Standard library only.
"""
import json
import re
import sys

RULES = [
    ("aws_access_key_id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("private_key", re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----")),
    ("github_token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("stripe_secret_key", re.compile(r"\b[rs]k_live_[A-Za-z0-9]{16,}\b")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("password_in_url", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
    ("password_assignment",
     re.compile(r"(?i)\b\w*(?:password|passwd|pwd|secret|api_?key)\w*\s*[:=]\s*['\"]?[^\s'\"]{6,}")),
]
MAX_STRINGS = 100000
MAX_FINDINGS = 200


def mask(s):
    return s[:4] + "*" * min(len(s) - 4, 16) if len(s) > 4 else "*" * len(s)


def walk(value, path, out):
    """Append (path, string) for every string value under value."""
    if isinstance(value, str):
        out.append((path, value))
    elif isinstance(value, dict):
        for k, v in value.items():
            walk(v, f"{path}.{k}" if path else k, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            walk(v, f"{path}[{i}]", out)


def main():
    req = json.load(sys.stdin)
    config = req.get("config") or {}
    strings = []
    walk(req.get("input"), "data", strings)
    if len(strings) > MAX_STRINGS:
        print(f"too many strings to scan ({len(strings)} > {MAX_STRINGS})", file=sys.stderr)
        return 64
    findings = []
    for path, text in strings:
        for rule, rx in RULES:
            for m in rx.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                findings.append({"path": path, "rule": rule, "line": line,
                                 "excerpt": mask(m.group(0))})
    result = {"clean": not findings, "scanned_strings": len(strings),
              "findings": findings[:MAX_FINDINGS]}
    if len(findings) > MAX_FINDINGS:
        result["truncated"] = True
    json.dump(result, sys.stdout)
    if findings and config.get("fail_on_findings") is True:
        print(f"{len(findings)} secret(s) found, first: {findings[0]['rule']} at "
              f"{findings[0]['path']} line {findings[0]['line']}", file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main())
