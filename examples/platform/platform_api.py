#!/usr/bin/env python3
"""A tiny stand-in for the platform API of seed 2, for `make run`.

The dispatcher routes platform actions (create_product, update_order_status,
...) to a platform's own REST API at `platform.base_url`. This server plays
that platform on loopback so the seed's scripts work out of the box: it keeps
objects in memory per collection and answers JSON.

    POST   /api/<collection...>            -> 201 {"id": ..., ...body}
    PUT    /api/<collection...>/<id>[/x]   -> 200 {"id": ..., ...body}  (404 when unknown)
    DELETE /api/<collection...>/<id>       -> 200 {"id": ..., "deleted": true}
    GET    /api/<collection...>            -> 200 [objects]

usage: platform_api.py [PORT]   (default 3200; standard library only)
"""
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

store = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("platform: " + (fmt % args) + "\n")

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            v = json.loads(self.rfile.read(n) or b"{}")
            return v if isinstance(v, dict) else {"value": v}
        except ValueError:
            return None

    def split(self):
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        return parts if parts[:1] == ["api"] else None

    def do_GET(self):
        parts = self.split()
        if not parts:
            return self.answer(404, {"error": "not found"})
        with lock:
            return self.answer(200, list(store.get("/".join(parts), {}).values()))

    def do_POST(self):
        parts, data = self.split(), self.body()
        if not parts or data is None:
            return self.answer(400 if data is None else 404, {"error": "bad request"})
        obj = dict(data, id=data.get("id") or str(uuid.uuid4()))
        with lock:
            store.setdefault("/".join(parts), {})[obj["id"]] = obj
        self.answer(201, obj)

    def change(self, delete):
        parts = self.split()
        data = {} if delete else self.body()
        if not parts or len(parts) < 3 or data is None:
            return self.answer(400, {"error": "bad request"})
        # /api/orders/{id}/status -> collection api/orders, id, sub-resource
        for i in range(len(parts) - 1, 1, -1):
            coll, oid = "/".join(parts[:i]), parts[i]
            with lock:
                objs = store.setdefault(coll, {})
                if oid in objs or i == len(parts) - 1:
                    if delete:
                        objs.pop(oid, None)
                        return self.answer(200, {"id": oid, "deleted": True})
                    objs[oid] = dict(objs.get(oid, {}), **data, id=oid)
                    return self.answer(200, objs[oid])
        self.answer(404, {"error": "not found"})

    def do_PUT(self):
        self.change(False)

    def do_DELETE(self):
        self.change(True)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 3200
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    sys.stderr.write("platform: listening on http://127.0.0.1:%d\n" % port)
    srv.serve_forever()
