"""A tiny reference server for the Cat API example (stdlib only, loopback).

The Cat API of the tornado_rest_client seed: ``GET /`` (health), ``GET /cats``
(paginated by page number with ``total_pages``), ``POST /cats``,
``GET /cats/random``, ``GET /cats/{id}``, and a nested listing
``GET /cats/{id}/photos`` paginated by ``Link: <...>; rel="next"`` (RFC 8288).
Every call needs ``X-Api-Key``; errors use the envelope
``{"error": {"code", "message", "request_id"}}``.

Run it alone with ``python -m examples.cat_api.server`` (prints its URL).
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "cat-demo-key"  # a fixed demo credential for loopback tests


class CatServer:
    """The Cat API on ``127.0.0.1:<port>`` (0: ephemeral) until :meth:`stop`."""

    def __init__(self, port: int = 0, *, photos_per_cat: int = 5) -> None:
        self.cats: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(1)  # per server: each starts with cats 1, 2, 3
        self.photos_per_cat = photos_per_cat
        self.requests = 0
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        for name, color in (("Tom", "grey"), ("Felix", "black"), ("Garfield", "orange")):
            self.add(name, color)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def add(self, name: str, color: str | None) -> dict[str, Any]:
        """Store a cat; returns it."""
        with self._lock:
            cat_id = next(self._ids)
            cat: dict[str, Any] = {"id": cat_id, "name": name, "color": color}
            self.cats[cat_id] = cat
            return cat

    def stop(self) -> None:
        """Stop serving and join the thread (at most 5 s)."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> CatServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    state: CatServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo print their own lines."""

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        with self.state._lock:
            self.state.requests += 1
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segments = [s for s in parts.path.split("/") if s]
        if self.headers.get("X-Api-Key") != API_KEY:
            return self._error(401, "unauthorized", "a valid X-Api-Key is required")
        if method == "GET" and not segments:
            return self._json(200, {"status": "ok"})
        if segments[:1] != ["cats"]:
            return self._error(404, "not_found", "no such route")
        if len(segments) == 1:
            return self._list(query) if method == "GET" else self._create()
        if segments[1] == "random" and len(segments) == 2:
            return self._json(200, next(iter(self.state.cats.values())))
        cat = self.state.cats.get(int(segments[1])) if segments[1].isdigit() else None
        if cat is None:
            return self._error(404, "cat_not_found", f"no cat with id {segments[1]}")
        if len(segments) == 2:
            return self._json(200, cat)
        if segments[2:] == ["photos"]:
            return self._photos(cat, query)
        return self._error(404, "not_found", "no such route")

    def _list(self, query: dict[str, str]) -> None:
        per_page = max(1, min(int(query.get("per_page", "2")), 100))
        page = max(1, int(query.get("page", "1")))
        cats = sorted(self.state.cats.values(), key=lambda c: int(c["id"]))
        total_pages = max(1, -(-len(cats) // per_page))
        items = cats[(page - 1) * per_page: page * per_page]
        self._json(200, {"items": items, "page": page, "total_pages": total_pages})

    def _create(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            return self._error(422, "invalid_cat", "name is required")
        self._json(201, self.state.add(body["name"], body.get("color")))

    def _photos(self, cat: dict[str, Any], query: dict[str, str]) -> None:
        limit = max(1, min(int(query.get("limit", "2")), 50))
        after = int(query.get("after", "0"))
        ids = list(range(after + 1, min(after + limit, self.state.photos_per_cat) + 1))
        photos = [{"id": i, "url": f"/photos/{cat['id']}/{i}.jpg"} for i in ids]
        headers = {}
        if ids and ids[-1] < self.state.photos_per_cat:
            nxt = f"/cats/{cat['id']}/photos?limit={limit}&after={ids[-1]}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        self._json(200, photos, headers)

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": {"code": code, "message": message,
                                      "request_id": f"req-{self.state.requests}"}})

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    """Run the server until Ctrl-C."""
    parser = argparse.ArgumentParser(description="The Cat API reference server (loopback).")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    args = parser.parse_args()
    server = CatServer(args.port)
    print(f"cat server listening on {server.url} (X-Api-Key: {API_KEY})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
