"""A tiny loopback API to record from: every secret kind, Link pagination, redirects.

Secrets are fresh random values per server (listed in ``TinyAPI.secrets``) so a
test can prove none of them reaches a cassette. Routes:

* ``POST /oauth/token``: client credentials (HTTP Basic) -> a token response with
  a UTF-8 BOM; authorization code (+PKCE) -> one served as ``text/plain``.
  Both carry JWT-shaped access and id tokens and a refresh token.
* ``GET /whoami``: needs ``Api-Key``; echoes it in the ``Api-Key`` and
  ``X-Echo-Key`` response headers and sets a session cookie.
* ``GET /search?access_token=…&q=…``: echoes its own absolute URL in the body.
* ``POST /bulk``: NDJSON in (``password`` per line), NDJSON out (``api_key``).
* ``GET /missing``: 404 with ``{"error": {"code": "item_not_found", …}}``.
* ``GET /items?page=N``: 3 pages; the next page's absolute URL in ``Link``
  and in the body's ``next``; the page's own URL in ``Content-Location``.
* ``GET /old``: 307 to the absolute URL of ``/new``; ``GET /new``: ``{"moved": true}``.
* ``GET /authorize``: 302 to ``/callback?code=…&state=…``; ``GET /callback``: ``{"ok": true}``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CLIENT_ID = "tiny-client"
PAGES = 3


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{signature}"


class TinyAPI:
    """The server; ``url`` is its origin, ``secrets`` every secret it knows or issued."""

    def __init__(self) -> None:
        self.client_secret = secrets.token_urlsafe(18)
        self.api_key = "ak_" + secrets.token_hex(16)
        self.session_cookie = secrets.token_urlsafe(24)
        self.issued: list[str] = []
        self.received: list[str] = []  # secrets clients sent (codes, passwords, query tokens)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def secrets(self) -> tuple[str, ...]:
        with self._lock:
            return (self.client_secret, self.api_key, self.session_cookie, *self.issued,
                    *self.received)

    def issue(self, kind: str) -> str:
        value = (_jwt({"sub": CLIENT_ID, "kind": kind, "jti": secrets.token_hex(8)})
                 if kind in ("access", "id") else secrets.token_urlsafe(24))
        with self._lock:
            self.issued.append(value)
        return value

    def saw(self, value: str) -> None:
        with self._lock:
            self.received.append(value)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler(api: TinyAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes | str | dict[str, Any] | None,
                  headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> None:
            raw = (json.dumps(body).encode() if isinstance(body, dict)
                   else body.encode() if isinstance(body, str) else body or b"")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            route = {"/whoami": self._whoami, "/search": self._search,
                     "/missing": self._missing, "/items": self._items, "/old": self._old,
                     "/new": self._new, "/authorize": self._authorize,
                     "/callback": self._callback}.get(parts.path)
            if route is None:
                self._send(404, {"error": {"code": "no_route", "message": parts.path}})
            else:
                route(query)

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            if path == "/oauth/token":
                self._token(dict(parse_qsl(self._body().decode())))
            elif path == "/bulk":
                self._bulk(self._body())
            else:
                self._send(404, {"error": {"code": "no_route", "message": path}})

        def _token(self, form: dict[str, str]) -> None:
            answer = {"access_token": api.issue("access"), "id_token": api.issue("id"),
                      "refresh_token": api.issue("refresh"), "token_type": "Bearer",
                      "expires_in": 3600}
            if form.get("grant_type") == "client_credentials":
                expected = base64.b64encode(f"{CLIENT_ID}:{api.client_secret}".encode())
                if self.headers.get("Authorization") != f"Basic {expected.decode()}":
                    self._send(401, {"error": "invalid_client"})
                    return
                raw = b"\xef\xbb\xbf" + json.dumps(answer).encode()  # a BOM, RFC 8259 §8.1
                self._send(200, raw, {"Cache-Control": "no-store"})
            elif form.get("grant_type") == "authorization_code":
                api.saw(form["code"])
                api.saw(form["code_verifier"])
                self._send(200, json.dumps(answer), content_type="text/plain; charset=utf-8")
            else:
                self._send(400, {"error": "unsupported_grant_type"})

        def _whoami(self, query: dict[str, str]) -> None:
            key = self.headers.get("Api-Key")
            if key != api.api_key:
                self._send(401, {"error": {"code": "bad_key", "message": "no key"}})
                return
            self._send(200, {"user": "tiny"}, {
                "Api-Key": key, "X-Echo-Key": key,
                "Set-Cookie": f"session={api.session_cookie}; Path=/; HttpOnly"})

        def _search(self, query: dict[str, str]) -> None:
            api.saw(query["access_token"])
            self._send(200, {"results": [query.get("q")], "self": api.url + self.path})

        def _missing(self, query: dict[str, str]) -> None:
            self._send(404, {"error": {"code": "item_not_found", "message": "no such item"}})

        def _bulk(self, body: bytes) -> None:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            for line in lines:
                api.saw(line["password"])
            out = "".join(json.dumps({"user": line["user"], "api_key": api.issue("key")}) + "\n"
                          for line in lines)
            self._send(200, out, content_type="application/x-ndjson")

        def _items(self, query: dict[str, str]) -> None:
            page = int(query.get("page", "1"))
            next_url = f"{api.url}/items?page={page + 1}" if page < PAGES else None
            headers = {"Content-Location": f"{api.url}/items?page={page}"}
            if next_url:
                headers["Link"] = f'<{next_url}>; rel="next", <{api.url}/items?page=1>; rel="first"'
            self._send(200, {"items": [f"item-{page}a", f"item-{page}b"], "next": next_url},
                       headers)

        def _old(self, query: dict[str, str]) -> None:
            self._send(307, {"moved_to": f"{api.url}/new"}, {"Location": f"{api.url}/new"})

        def _new(self, query: dict[str, str]) -> None:
            self._send(200, {"moved": True})

        def _authorize(self, query: dict[str, str]) -> None:
            code = api.issue("code")
            self._send(302, None, {"Location": f"{api.url}/callback?code={code}&state=s-1"})

        def _callback(self, query: dict[str, str]) -> None:
            self._send(200, {"ok": True, "state": query.get("state")})

    return Handler
