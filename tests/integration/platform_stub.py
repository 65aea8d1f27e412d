"""Loopback HTTP servers for the plugin registry tests (standard library only).

- PlatformStub: a fake "platform API" (the seed's /api/products, /api/customers,
  ...).  It records every request and answers JSON: 201 with the body echoed
  and an id for POST, 200 otherwise.  `fail[path] = status` makes a path fail.
- PluginStub: a tiny remote plugin.  It records every request (method, path,
  headers, raw body) and answers according to the last path segment:
    ok (default)  200 {"success": true, "action": <segment>, "received": <body>}
    fail500       500 "internal plugin error: <segment>"
    hang          never answers (sleeps until the server stops)
    slow          sleeps `slow_s` seconds, then 200
    reset         closes the connection without an answer (RST)
    garbage       writes bytes that are not HTTP, then closes
    huge          200 with a body of `huge_bytes` bytes
    notjson       200 text/plain
    flaky         503 for the first `flaky_n` calls in all, then 200
  GET / answers 200 {"status": "ok"} (the registry's connectivity test).

Both run a ThreadingHTTPServer on 127.0.0.1:0 in a daemon thread:
    with PluginStub() as plug:
        plug.url  -> "http://127.0.0.1:PORT"
"""

import json
import socket
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that went away (actiond killed, timed out) is expected here


class _Base:
    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = _Server(("127.0.0.1", 0), self._handler_class())
        self.server.owner = self
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)

    def find(self, pred):
        with self.lock:
            return [r for r in self.requests if pred(r)]

    def clear(self):
        with self.lock:
            self.requests.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, fmt, *args):  # quiet
        pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def entry(self, raw):
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return {"method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "raw": raw, "json": body, "time": time.time()}

    def send_json(self, status, obj, ctype="application/json"):
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class PlatformStub(_Base):
    def __init__(self):
        self.fail = {}
        super().__init__()

    def _handler_class(self):
        class H(_Handler):
            def handle_any(self):
                owner = self.server.owner
                raw = self.read_body()
                e = self.entry(raw)
                owner.record(e)
                status = owner.fail.get(self.path.split("?")[0])
                if status:
                    return self.send_json(status, {"error": f"platform says {status}"})
                if self.command == "POST":
                    body = dict(e["json"] or {})
                    body.setdefault("id", str(uuid.uuid4()))
                    return self.send_json(201, {"success": True, "data": body})
                return self.send_json(200, {"success": True, "method": self.command,
                                            "path": self.path, "data": e["json"]})

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any
        return H


class PluginStub(_Base):
    def __init__(self, slow_s=0.3, huge_bytes=3 << 20, flaky_n=1):
        self.slow_s = slow_s
        self.huge_bytes = huge_bytes
        self.flaky_n = flaky_n
        self.flaky_seen = 0
        super().__init__()

    def _handler_class(self):
        class H(_Handler):
            def do_GET(self):
                self.server.owner.record(self.entry(b""))
                self.send_json(200, {"status": "ok"})

            def do_POST(self):
                owner = self.server.owner
                raw = self.read_body()
                e = self.entry(raw)
                owner.record(e)
                kind = self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
                getattr(self, "mode_" + kind.replace("-", "_"), self.mode_ok)(kind, e)

            def mode_ok(self, kind, e):
                self.send_json(200, {"success": True, "action": kind, "received": e["json"]})

            def mode_fail500(self, kind, e):
                self.send_json(500, f"internal plugin error: {kind}".encode(), "text/plain")

            def mode_hang(self, kind, e):
                self.server.owner.stopping.wait(120)
                self.close_connection = True

            def mode_slow(self, kind, e):
                time.sleep(self.server.owner.slow_s)
                self.mode_ok(kind, e)

            def mode_reset(self, kind, e):
                # SO_LINGER 0: close() sends RST instead of FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def mode_garbage(self, kind, e):
                self.wfile.write(b"\x00\x01garbage that is not HTTP\r\n\r\n\xff\xfe")
                self.wfile.flush()
                self.close_connection = True

            def mode_huge(self, kind, e):
                n = self.server.owner.huge_bytes
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(n + 2))
                self.end_headers()
                try:
                    self.wfile.write(b'"' + b"x" * n + b'"')
                except OSError:
                    pass
                self.close_connection = True

            def mode_notjson(self, kind, e):
                self.send_json(200, b"plain text answer", "text/plain")

            def mode_flaky(self, kind, e):
                owner = self.server.owner
                with owner.lock:
                    owner.flaky_seen += 1
                    n = owner.flaky_seen
                if n <= owner.flaky_n:
                    return self.send_json(503, {"error": "try again"})
                self.mode_ok(kind, e)
        return H


if __name__ == "__main__":
    with PlatformStub() as p, PluginStub() as q:
        print("platform", p.url, "plugin", q.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
