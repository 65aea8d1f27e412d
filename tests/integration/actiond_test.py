"""Shared helpers for the integration tests (Python 3 standard library only).

- Tap: a TAP producer (ok, is_, diag, skip, done).
- Daemon: starts $ACT_BUILD_DIR/actiond on 127.0.0.1:0 with a temporary
  data directory, reads the bound port from the port file, waits for
  /readyz, sends requests, stops it with SIGTERM and reports the exit code.
- wait_for: poll a function until it returns something truthy.

Usage:
    from actiond_test import Tap, Daemon, wait_for
    t = Tap()
    with Daemon() as d:
        r = d.request("GET", "/livez")
        t.is_(r.status, 200, "livez answers")
    sys.exit(t.done())
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def source_dir():
    return os.environ.get("ACT_SOURCE_DIR") or os.path.abspath(
        os.path.join(os.path.dirname(__file__), "..", ".."))


def build_dir():
    return os.environ.get("ACT_BUILD_DIR") or os.path.join(source_dir(), "build")


class Tap:
    """A TAP producer: numbered results, diagnostics on failure, plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, *diag):
        self.n += 1
        status = "ok" if cond else "not ok"
        print(f"{status} {self.n} - {name}", flush=True)
        if not cond:
            self.failed += 1
            frame = sys._getframe(1)
            while frame and frame.f_code.co_filename == __file__:
                frame = frame.f_back
            if frame:
                print(f"#   at {os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}")
            for d in diag:
                self.diag(d)
        return bool(cond)

    def is_(self, got, want, name):
        return self.ok(got == want, name, f"got:      {got!r}", f"expected: {want!r}")

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print(f"# {line}", flush=True)

    def skip(self, why, name):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def bail(self, why):
        print(f"Bail out! {why}", flush=True)
        sys.exit(1)

    def done(self):
        print(f"1..{self.n}", flush=True)
        if self.failed:
            print(f"# failed {self.failed} of {self.n}", flush=True)
        return 1 if self.failed else 0


class Response:
    """status, headers (lowercased names), body (bytes), json (parsed or None), text."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.text = body.decode("utf-8", "replace")
        self.json = None
        ctype = self.headers.get("content-type", "")
        if body and "json" in ctype:
            try:
                self.json = json.loads(self.text)
            except ValueError:
                pass

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    def __repr__(self):
        return f"<Response {self.status} {self.text[:300]!r}>"


def wait_for(fn, timeout=20.0, interval=0.05):
    """Call fn until it returns a truthy value (returned) or timeout (None)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


FINAL_STATUSES = ("succeeded", "dead", "cancelled")


def chain_final(doc):
    """The last attempt of an execution's retry chain (doc may be None)."""
    lineage = (doc or {}).get("lineage") or []
    return lineage[-1] if lineage else (doc or {})


def wait_final(d, exec_id, timeout=60):
    """Poll GET /v1/executions/{exec_id} until its retry chain reached a
    final status; the execution document, or None on timeout."""
    def probe():
        r = d.request("GET", f"/v1/executions/{exec_id}")
        if r.status != 200:
            return None
        return r.json if chain_final(r.json).get("status") in FINAL_STATUSES else None
    return wait_for(probe, timeout, 0.05)


class PortFilePeer:
    """A test peer run as a subprocess that writes the port it listens on to
    a file (the webhook receiver, the SMTP sink).  Subclasses define
    argv(tmp, port_file); the context manager starts it in a temporary
    directory (.tmp), waits for the port (.port), and stops it (SIGTERM,
    then SIGKILL) and removes the directory afterwards."""

    name = "peer"

    def argv(self, tmp, port_file):
        raise NotImplementedError

    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix=f"actiond-{self.name}-")
        port_file = os.path.join(self.tmp, "port")
        self.log = open(os.path.join(self.tmp, f"{self.name}.log"), "wb")
        self.proc = subprocess.Popen(self.argv(self.tmp, port_file), stdout=self.log,
                                     stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: " + open(self.log.name).read())
            try:
                s = open(port_file).read().strip()
                return int(s) if s.isdigit() else None
            except OSError:
                return None
        self.port = wait_for(ready, 20)
        if not self.port:
            self.__exit__()
            raise RuntimeError(f"{self.name} wrote no port")
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False


class Daemon:
    """One actiond process on 127.0.0.1:0 with its own temporary data dir."""

    def __init__(self, extra_args=(), env=None, start_timeout=30.0):
        self.extra_args = list(extra_args)
        self.env = env
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.tmp = None
        self.returncode = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.stop()
        self.cleanup()
        return False

    @property
    def binary(self):
        return os.path.join(build_dir(), "actiond")

    @property
    def log_path(self):
        return os.path.join(self.tmp, "actiond.log")

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="actiond-it-")
        port_file = os.path.join(self.tmp, "port")
        cmd = [self.binary, "--listen", "127.0.0.1:0",
               "--data-dir", os.path.join(self.tmp, "data"),
               "--port-file", port_file] + self.extra_args
        env = dict(os.environ)
        env.setdefault("ACTIOND_OPENAPI", os.path.join(source_dir(), "docs", "openapi.json"))
        if self.env:
            env.update(self.env)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=source_dir(), env=env)

        def port_ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"actiond exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                with open(port_file) as f:
                    s = f.read().strip()
                return int(s) if s.isdigit() and int(s) > 0 else None
            except OSError:
                return None

        self.port = wait_for(port_ready, self.start_timeout)
        if not self.port:
            self.stop(sig=signal.SIGKILL)
            raise RuntimeError("actiond wrote no port file:\n" + self.log_tail())

        def ready():
            try:
                return self.request("GET", "/readyz", timeout=2).status == 200
            except OSError:
                return False

        if not wait_for(ready, self.start_timeout, 0.1):
            self.stop(sig=signal.SIGKILL)
            raise RuntimeError("actiond never became ready:\n" + self.log_tail())

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signal the daemon and wait; returns its exit code, None on timeout
        (the process is then killed)."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.returncode = None
        self.log.close()
        return self.returncode

    def cleanup(self):
        if self.tmp and os.environ.get("ACT_KEEP_TMP") is None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def request(self, method, path, body=None, headers=None, raw=None, timeout=30,
                chunks=None):
        """Send one request on a fresh connection.

        body: a JSON-serialisable value (Content-Type application/json unless
        headers say otherwise); raw: bytes sent as-is; chunks: an iterable of
        bytes sent with Transfer-Encoding: chunked."""
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            if not any(k.lower() == "content-type" for k in hdrs):
                hdrs["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if chunks is not None:
                conn.request(method, path, body=iter(chunks), headers=hdrs, encode_chunked=True)
            else:
                conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def raw_exchange(self, data, timeout=10):
        """Write raw bytes (errors ignored: the server may close early), read
        the whole answer; returns (status, headers dict, body bytes)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            try:
                s.sendall(data)
            except OSError:
                pass
            buf = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                head, sep, rest = buf.partition(b"\r\n\r\n")
                if sep:
                    hdrs = parse_headers(head)
                    n = int(hdrs.get("content-length", "-1"))
                    if n >= 0 and len(rest) >= n:
                        break
        finally:
            s.close()
        head, _, rest = buf.partition(b"\r\n\r\n")
        if not head:
            return None, {}, b""
        status = int(head.split(b" ", 2)[1])
        return status, parse_headers(head), rest


def parse_headers(head):
    out = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        out[k.decode().strip().lower()] = v.decode().strip()
    return out
