#!/usr/bin/python3
"""A recording SMTP server for test_email.py: Debian's aiosmtpd (importable
by /usr/bin/python3 only) on 127.0.0.1, port 0, writing the bound port to
--port-file and every accepted message to --dir as NNNN.json:

  {"mail_from", "rcpt_tos", "data" (the message as sent, CRLF kept),
   "tls" (the session was encrypted), "tls_version", "login" (the AUTH
   user, or null)}

Modes: plain (no TLS), starttls (STARTTLS offered and required before MAIL,
--cert/--key), smtps (TLS from the first byte).  --auth user:password
makes AUTH mandatory (offered only after STARTTLS) and checks the pair.

Canned refusals by recipient local part, so the handler's error paths meet
a real server: "reject" gets 550 5.1.1 (permanent), "busy" gets 451 4.3.0
the first time it is seen, then is accepted (transient, then retried).
Every RCPT is also appended to rcpts.log (one address a line).
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, out_dir):
        self.dir = out_dir
        self.n = 0
        self.busy_seen = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with open(os.path.join(self.dir, "rcpts.log"), "a") as f:
            f.write(address + "\n")
        local = address.split("@", 1)[0].lower()
        if local == "reject":
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if local == "busy" and address not in self.busy_seen:
            self.busy_seen.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        ssl_obj = server.transport.get_extra_info("ssl_object")
        self.n += 1
        rec = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.original_content.decode("utf-8", "replace"),
            "tls": ssl_obj is not None or session.ssl is not None,
            "tls_version": ssl_obj.version() if ssl_obj is not None else None,
            "login": (session.login_data.decode() if isinstance(session.login_data, bytes)
                      else session.login_data),
        }
        tmp = os.path.join(self.dir, f".{self.n:04d}.tmp")
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(self.dir, f"{self.n:04d}.json"))
        return "250 2.0.0 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
    return check


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode", choices=["plain", "starttls", "smtps"], default="plain")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    args = ap.parse_args()

    ctx = None
    if args.mode != "plain":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
    handler = Recorder(args.dir)
    kwargs = {"hostname": "sink.test"}  # no getfqdn() lookup
    if args.mode == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True)
    if args.auth:
        user, _, password = args.auth.partition(":")
        kwargs.update(authenticator=authenticator(user, password), auth_required=True,
                      auth_require_tls=args.mode == "starttls")

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, **kwargs), "127.0.0.1", 0,
        ssl=ctx if args.mode == "smtps" else None))
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(args.port_file + ".tmp", args.port_file)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.run_forever()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
