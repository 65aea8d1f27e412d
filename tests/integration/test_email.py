"""Integration: kind `email` against a real SMTP server on loopback.

The server is Debian's aiosmtpd (tests/integration/smtp_sink.py, run by
/usr/bin/python3, the interpreter that can import it), recording every
accepted message to a directory.  The daemon runs with --egress-allow
127.0.0.0/8 (loopback is refused otherwise).

- plain SMTP: an action subscribed to events sends a templated message;
  the envelope, From/To/Cc/Reply-To, the decoded non-ASCII Subject and the
  text and HTML parts are read back with Python's email package; Bcc is in
  the envelope only; the output names the Message-ID and the recipients;
  550 is dead at once; 451 is retried and the retry carries the same
  Message-ID; CR/LF from the event in the subject is refused (dead) without
  a message sent.
- STARTTLS required by the server, a self-signed certificate made with the
  openssl CLI and trusted through handler.ca_file, AUTH (only after TLS)
  with a sealed config.password: the sink saw TLS and the login; the
  password is redacted in API output; a wrong password is dead (535);
  starttls "never" is refused by the server (530, dead); without ca_file
  the certificate is not trusted.
- smtps:// (TLS from the first byte) with ca_file.
- a daemon without egress.allow refuses loopback, naming the rule, and the
  sink gets nothing.
Skips (TAP # SKIP) when /usr/bin/python3 cannot import aiosmtpd or openssl
is missing.
"""

import base64
import email
import email.policy
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Daemon, PortFilePeer, Tap, chain_final, wait_final  # noqa: E402

t = Tap()
SYSTEM_PYTHON = "/usr/bin/python3"
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp_sink.py")
FINAL = {"succeeded", "dead", "cancelled"}
USER, PASSWORD = "mailer", "p4ss-w0rd!"


class Sink(PortFilePeer):
    """smtp_sink.py in a temporary directory; .port, .records(), .rcpts()."""

    name = "smtp"

    def __init__(self, mode="plain", cert=None, key=None, auth=None):
        self.args = ["--mode", mode]
        if cert:
            self.args += ["--cert", cert, "--key", key]
        if auth:
            self.args += ["--auth", auth]

    def argv(self, tmp, port_file):
        self.dir = os.path.join(tmp, "mail")
        os.mkdir(self.dir)
        return [SYSTEM_PYTHON, SINK, "--dir", self.dir, "--port-file", port_file] + self.args

    def records(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, "*.json"))):
            with open(path) as f:
                out.append(json.load(f))
        return out

    def rcpts(self):
        try:
            with open(os.path.join(self.dir, "rcpts.log")) as f:
                return f.read().split()
        except OSError:
            return []



def last_attempt(d, doc):
    """The full document of the chain's last attempt."""
    last = chain_final(doc or {})
    if not last.get("id") or last.get("id") == (doc or {}).get("id"):
        return doc or {}
    return d.request("GET", f"/v1/executions/{last['id']}").json or {}


def create(d, name, handler, pattern, config=None, **extra):
    body = {"name": name, "handler": dict({"kind": "email"}, **handler)}
    if config:
        body["config"] = config
    body.update(extra)
    r = d.request("POST", "/v1/actions", body)
    if r.status != 201:
        t.diag(f"create {name}: {r}")
        return None
    s = d.request("POST", "/v1/subscriptions", {"action_id": r.json["id"],
                                                "event_patterns": [pattern]})
    if s.status != 201:
        t.diag(f"subscribe {name}: {s}")
    return r.json


def fire(d, etype, data):
    """Post one event; (final chain document, first execution id)."""
    r = d.request("POST", "/v1/events", {"type": etype, "source": "it", "data": data})
    ids = [e["id"] for e in (r.json or {}).get("executions", [])]
    if len(ids) != 1:
        t.diag(f"event {etype}: {r}")
        return {}, None
    return wait_final(d, ids[0]) or {}, ids[0]


def parse(rec):
    """The message as a mail client stores it (line ends as \\n)."""
    return email.message_from_string(rec["data"].replace("\r\n", "\n"),
                                     policy=email.policy.default)


NO_RETRY = {"max_retries": 0}


def test_plain(d, sink):
    r = d.request("GET", "/v1/handlers")
    kinds = {h["kind"]: h for h in (r.json or {}).get("items", [])}
    t.ok("email" in kinds and "async" in kinds["email"].get("capabilities", []),
         "GET /v1/handlers lists email with the async capability")

    url = f"smtp://127.0.0.1:{sink.port}"
    a = create(d, "welcome", {
        "smtp_url": url,
        "from": "Shop Bot <bot@shop.example>",
        "to": ["{{ event.data.email }}", "{{ event.data.extra }}"],
        "cc": "Zoë Ops <ops@shop.example>",
        "bcc": "audit@shop.example",
        "reply_to": "help@shop.example",
        "subject": "Grüße, {{ event.data.name }}: order #{{ event.data.order }}",
        "text": "Hello {{ event.data.name }},\nyour total is {{ event.data.total }} €.\n",
        "html": "<p>Hello <b>{{ event.data.name }}</b></p>",
    }, "user.*")
    t.ok(a is not None, "an email action is created")
    doc, eid = fire(d, "user.welcome", {"email": "ann@example.com", "name": "Ann",
                                        "extra": ["bob@example.com", "Cy <cy@example.com>"],
                                        "order": 42, "total": 9.5})
    t.is_(chain_final(doc).get("status"), "succeeded", "the message is sent")
    out = doc.get("output") or {}
    t.is_(out.get("smtp_status"), 250, "output.smtp_status is 250")
    t.is_(out.get("accepted"), ["ann@example.com", "bob@example.com", "cy@example.com",
                                "ops@shop.example", "audit@shop.example"],
          "output.accepted lists to, cc and bcc")
    recs = sink.records()
    t.is_(len(recs), 1, "the sink received one message")
    if not recs:
        return
    rec = recs[0]
    t.is_(rec["mail_from"], "bot@shop.example", "envelope sender")
    t.is_(sorted(rec["rcpt_tos"]), sorted(out.get("accepted") or []),
          "envelope recipients are to + cc + bcc")
    t.ok(not rec["tls"], "a plain server without STARTTLS: no TLS (starttls try)")
    m = parse(rec)
    t.is_(str(m["From"]), "Shop Bot <bot@shop.example>", "From")
    t.is_([a.addr_spec for a in m["To"].addresses],
          ["ann@example.com", "bob@example.com", "cy@example.com"],
          "To: the template that yielded an array is flattened")
    t.is_(m["Cc"].addresses[0].display_name, "Zoë Ops", "Cc: non-ASCII display name decodes")
    t.is_(str(m["Reply-To"]), "help@shop.example", "Reply-To")
    t.is_(m["Subject"], "Grüße, Ann: order #42", "Subject decodes to the rendered text")
    t.ok(m["Bcc"] is None and "audit@" not in rec["data"], "Bcc is in no header")
    t.is_(m["Message-ID"], out.get("message_id"), "Message-ID is the one in the output")
    t.is_(m["Message-ID"], f"<{eid}@shop.example>", "Message-ID from the root execution id")
    t.ok(m["Date"] is not None and m["Date"].datetime is not None, "a Date header parses")
    t.is_(m.get_content_type(), "multipart/alternative", "text + html: multipart/alternative")
    plain = m.get_body(("plain",))
    html = m.get_body(("html",))
    t.is_(plain.get_content() if plain else None,
          "Hello Ann,\nyour total is 9.5 €.\n", "the text part is rendered from the event")
    t.is_(html.get_content().strip() if html else None, "<p>Hello <b>Ann</b></p>",
          "the HTML part is rendered from the event")
    t.ok(all(len(line) <= 998 for line in rec["data"].split("\r\n")), "no line over 998")


def test_failures(d, sink):
    url = f"smtp://127.0.0.1:{sink.port}"
    base = {"smtp_url": url, "from": "bot@shop.example", "subject": "s {{ event.data.s }}",
            "text": "t"}
    create(d, "reject", dict(base, to="reject@example.com"), "rej.*",
           retry_policy={"max_retries": 3, "initial_delay_ms": 50})
    n_before = len(sink.records())
    doc, _ = fire(d, "rej.x", {"s": 1})
    last = last_attempt(d, doc)
    t.is_(chain_final(doc).get("status"), "dead", "550: dead")
    t.is_(len(doc.get("lineage") or [doc]), 1, "550: after one attempt, no retry")
    t.ok("550 5.1.1 <reject@example.com>: mailbox unavailable" in str(last.get("error")),
         "the error names the server's reply", last.get("error"))
    t.is_((last.get("error_detail") or {}).get("smtp_status"), 550, "error_detail.smtp_status")

    create(d, "busy", dict(base, to="busy@example.com"), "busy.*",
           retry_policy={"max_retries": 2, "initial_delay_ms": 50, "backoff": "fixed",
                         "jitter": False})
    doc, eid = fire(d, "busy.x", {"s": 2})
    t.is_(chain_final(doc).get("status"), "succeeded", "451 is retried, then succeeds")
    t.is_(len(doc.get("lineage") or []), 2, "two attempts")
    t.is_(sink.rcpts().count("busy@example.com"), 2, "the server saw the recipient twice")
    recs = sink.records()[n_before:]
    t.is_(len(recs), 1, "one message arrived")
    if recs:
        t.is_(parse(recs[0])["Message-ID"], f"<{eid}@shop.example>",
              "the retry carries the first execution's Message-ID")

    # Credentials make STARTTLS required by default: this server has none.
    create(d, "cleartext", dict(base, to="ann@example.com"), "clear.*",
           config={"username": USER, "password": PASSWORD}, retry_policy={"max_retries": 3})
    n_before = len(sink.records())
    doc, _ = fire(d, "clear.x", {"s": 3})
    last = last_attempt(d, doc)
    t.ok(chain_final(doc).get("status") == "dead"
         and "does not offer STARTTLS" in str(last.get("error")),
         "with credentials and no STARTTLS offered: dead, nothing sent in clear",
         last.get("error"))
    t.is_(len(sink.records()), n_before, "no message arrived")

    create(d, "inject", dict(base, to="ann@example.com"), "inj.*", retry_policy=NO_RETRY)
    n_before = len(sink.records())
    doc, _ = fire(d, "inj.x", {"s": "hi\r\nBcc: evil@example.com"})
    last = last_attempt(d, doc)
    t.is_(chain_final(doc).get("status"), "dead", "CR/LF in the rendered subject: dead")
    t.ok(str(last.get("error", "")).startswith("handler.subject:")
         and "header injection" in str(last.get("error")),
         "the error names handler.subject and header injection", last.get("error"))
    time.sleep(0.2)
    t.is_(len(sink.records()), n_before, "nothing was sent")


def make_cert(tmp):
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def seal(d, plain):
    """Seal like secret_box.c (AES-256-GCM, AAD "actiond-secret-v1") with the
    daemon's key; None when the key or the cryptography package is missing."""
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        with open(os.path.join(d.tmp, "data", "secret.key"), "rb") as f:
            key = f.read()
    except (ImportError, OSError):
        return None
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, plain.encode(), b"actiond-secret-v1")
    return "v1:" + base64.b64encode(nonce + ct).decode()


def test_starttls_auth(d, cert, key):
    with Sink("starttls", cert, key, auth=f"{USER}:{PASSWORD}") as sink:
        url = f"smtp://127.0.0.1:{sink.port}"
        base = {"smtp_url": url, "from": "bot@shop.example", "to": "ann@example.com",
                "subject": "secure {{ event.data.n }}", "text": "over TLS"}
        sealed = seal(d, PASSWORD)
        if sealed is None:
            t.diag("cannot seal here (no key file or cryptography); using a plain password")
        a = create(d, "tls_auth", dict(base, ca_file=cert), "tls.*",
                   config={"username": USER, "password": sealed or PASSWORD},
                   retry_policy=NO_RETRY)
        got = d.request("GET", f"/v1/actions/{(a or {}).get('id')}").json or {}
        t.is_((got.get("config") or {}).get("password"), "***",
              "config.password is redacted in API output")
        doc, _ = fire(d, "tls.ok", {"n": 1})
        t.ok(chain_final(doc).get("status") == "succeeded",
             "STARTTLS + AUTH with a sealed password: sent", last_attempt(d, doc).get("error"))
        recs = sink.records()
        t.ok(len(recs) == 1 and recs[0]["tls"], "the session used TLS",
             recs and recs[0].get("tls_version"))
        t.ok(len(recs) == 1 and recs[0]["login"] == USER, "the server saw the login")
        t.ok(len(recs) == 1 and parse(recs[0])["Subject"] == "secure 1", "the message arrived")
        log = open(os.path.join(d.tmp, "actiond.log"), errors="replace").read()
        t.ok(PASSWORD not in log, "the password is not in the daemon's log")

        create(d, "tls_badpw", dict(base, ca_file=cert), "badpw.*",
               config={"username": USER, "password": "wrong"}, retry_policy={"max_retries": 3})
        doc, _ = fire(d, "badpw.x", {"n": 2})
        last = last_attempt(d, doc)
        t.is_(chain_final(doc).get("status"), "dead", "a wrong password is dead at once")
        t.ok("535" in str(last.get("error")), "the error carries the 535 reply", last.get("error"))
        t.ok("wrong" not in str(last.get("error")), "without the password")

        create(d, "tls_never", dict(base, starttls="never"), "never.*",
               retry_policy={"max_retries": 3})
        doc, _ = fire(d, "never.x", {"n": 3})
        last = last_attempt(d, doc)
        t.is_(chain_final(doc).get("status"), "dead",
              "starttls never against a server that requires it: dead")
        t.ok("530" in str(last.get("error")), "the error carries the 530 reply",
             last.get("error"))

        create(d, "tls_untrusted", base, "untrusted.*",
               config={"username": USER, "password": PASSWORD}, retry_policy=NO_RETRY)
        doc, _ = fire(d, "untrusted.x", {"n": 4})
        last = last_attempt(d, doc)
        t.ok(chain_final(doc).get("status") == "dead" and "TLS" in str(last.get("error")),
             "without ca_file the self-signed certificate is not trusted", last.get("error"))
        t.is_(len(sink.records()), 1, "no other message arrived")


def test_smtps(d, cert, key):
    with Sink("smtps", cert, key) as sink:
        create(d, "smtps", {"smtp_url": f"smtps://127.0.0.1:{sink.port}", "ca_file": cert,
                            "from": "bot@shop.example", "to": "ann@example.com",
                            "subject": "implicit", "html": "<i>tls</i>"}, "smtps.*",
               retry_policy=NO_RETRY)
        doc, _ = fire(d, "smtps.x", {})
        t.ok(chain_final(doc).get("status") == "succeeded", "smtps:// sends",
             last_attempt(d, doc).get("error"))
        recs = sink.records()
        t.ok(len(recs) == 1 and recs[0]["tls"], "smtps: the session was TLS from the start")


def test_refused(sink):
    with Daemon(env={"ACTIOND_EGRESS_ALLOW": ""}) as d:
        n_before = len(sink.records())
        create(d, "refused", {"smtp_url": f"smtp://127.0.0.1:{sink.port}",
                              "from": "bot@shop.example", "to": "ann@example.com",
                              "subject": "x", "text": "x"}, "ref.*")
        doc, _ = fire(d, "ref.x", {})
        last = last_attempt(d, doc)
        t.is_(chain_final(doc).get("status"), "dead", "without egress.allow: dead")
        t.is_(last.get("error"), "refused 127.0.0.1: loopback (egress.allow does not admit it)",
              "the error names the address and the rule")
        time.sleep(0.2)
        t.is_(len(sink.records()), n_before, "the sink got nothing")


def main():
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd"], capture_output=True) \
        if os.path.exists(SYSTEM_PYTHON) else None
    if not probe or probe.returncode != 0 or not shutil.which("openssl"):
        t.skip("needs /usr/bin/python3 with aiosmtpd (python3-aiosmtpd) and openssl",
               "email integration")
        return t.done()
    tmp = tempfile.mkdtemp(prefix="actiond-email-")
    try:
        cert, key = make_cert(tmp)
        with Sink() as sink:
            with Daemon(extra_args=["--egress-allow", "127.0.0.0/8"]) as d:
                test_plain(d, sink)
                test_failures(d, sink)
                test_starttls_auth(d, cert, key)
                test_smtps(d, cert, key)
            test_refused(sink)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
