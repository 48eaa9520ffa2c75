"""One behavioural suite, run against both clients: the request path is one core.

Each scenario drives :class:`mysdk.Client` (requests) and :class:`mysdk.AsyncClient`
(httpx) against the same scripted loopback server (tests/hostile/server.py) and
asserts the same outcome: reauth, retries, ``Retry-After``, idempotency,
errors, redirects, the limiter, middleware and events. A difference between the
two is a bug in one driver, since neither holds any decision of its own.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pytest

import mysdk
from mysdk.errors import (
    ConnectError,
    NotFoundError,
    ReadTimeoutError,
    RedirectError,
    ServerDisconnectedError,
    ServerError,
    UnauthorizedError,
)
from tests.hostile.server import HostileServer, Request, drip, respond, response_bytes

KINDS = ["sync", "async"]


@dataclass
class Outcome:
    """What one call came to, in terms both clients share."""

    status: int | None = None
    body: bytes = b""
    error: BaseException | None = None
    sleeps: list[float] = field(default_factory=list)
    events: list[mysdk.Event] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def call(kind: str, base_url: str, method: str, path: str, *,
         client: dict[str, Any] | None = None, **kwargs: Any) -> Outcome:
    """Build a client of ``kind``, make one call, close it; never raises."""
    out = Outcome()
    options: dict[str, Any] = {"base_url": base_url, "on_event": out.events.append,
                               "timeout": (2.0, 2.0), **(client or {})}
    if kind == "sync":
        options.setdefault("sleep", out.sleeps.append)
        try:
            with mysdk.Client(**options) as sync_client:
                resp = sync_client.request(method, path, **kwargs)
                out.status, out.body = resp.status_code, resp.content
        except mysdk.MySDKError as exc:
            out.error = exc
        return out

    async def record_sleep(seconds: float) -> None:
        out.sleeps.append(seconds)

    async def run() -> None:
        options.setdefault("sleep", record_sleep)
        try:
            async with mysdk.AsyncClient(**options) as async_client:
                resp = await async_client.request(method, path, **kwargs)
                out.status, out.body = resp.status_code, resp.content
        except mysdk.MySDKError as exc:
            out.error = exc

    asyncio.run(run())
    return out


class Script:
    """A server that answers the n-th request with ``answers[n]`` (the last repeats)."""

    def __init__(self, *answers: Callable[[socket.socket, Request], None]) -> None:
        self.answers = answers
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def __call__(self, conn: socket.socket, request: Request) -> None:
        with self._lock:
            self.requests.append(request)
            answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        answer(conn, request)


def status(code: int, body: Any = b"", headers: dict[str, str] | None = None
           ) -> Callable[[socket.socket, Request], None]:
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    extra = {"Content-Type": "application/json"} if isinstance(body, (dict, list)) else {}
    return lambda conn, request: respond(conn, code, data, {**extra, **(headers or {})})


def no_answer(conn: socket.socket, request: Request) -> None:
    conn.close()  # the request was read: the server may have acted


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def serve() -> Iterator[Callable[[Script], HostileServer]]:
    servers: list[HostileServer] = []

    def start(script: Script) -> HostileServer:
        server = HostileServer(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


RETRY = mysdk.RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=1.0)


# -- retries, Retry-After, idempotency ----------------------------------------------


def test_a_503_is_retried_with_backoff_then_succeeds(kind: str, serve: Any) -> None:
    script = Script(status(503), status(503), status(200, {"ok": True}))
    out = call(kind, serve(script).url, "GET", "/x", client={"retry": RETRY})
    assert out.error is None
    assert out.status == 200
    assert json.loads(out.body) == {"ok": True}
    assert len(script.requests) == 3
    assert len(out.sleeps) == 2
    assert 0 <= out.sleeps[0] <= 0.1
    assert 0 <= out.sleeps[1] <= 0.2
    assert out.kinds == ["response", "retry", "response", "retry", "response"]


def test_retry_after_seconds_is_honoured(kind: str, serve: Any) -> None:
    script = Script(status(503, headers={"Retry-After": "2"}), status(200))
    out = call(kind, serve(script).url, "GET", "/x", client={"retry": RETRY})
    assert out.status == 200
    assert out.sleeps == [2.0]


def test_a_post_without_a_key_is_not_retried(kind: str, serve: Any) -> None:
    script = Script(status(503), status(200))
    out = call(kind, serve(script).url, "POST", "/x", json={"a": 1}, client={"retry": RETRY})
    assert isinstance(out.error, ServerError)
    assert out.error.status_code == 503
    assert len(script.requests) == 1
    assert out.sleeps == []


def test_a_post_with_idempotency_keys_is_retried_with_the_same_key(kind: str, serve: Any) -> None:
    script = Script(status(503), no_answer, status(201, {"id": 1}))
    out = call(kind, serve(script).url, "POST", "/x", json={"a": 1},
               client={"retry": RETRY, "idempotency_keys": True})
    assert out.status == 201
    keys = {r.header("Idempotency-Key") for r in script.requests}
    assert len(script.requests) == 3
    assert len(keys) == 1
    assert None not in keys
    assert all(r.body == b'{"a":1}' for r in script.requests)


def test_a_429_is_retried_whatever_the_method(kind: str, serve: Any) -> None:
    script = Script(status(429, headers={"Retry-After": "1"}), status(200))
    out = call(kind, serve(script).url, "POST", "/x", json={}, client={"retry": RETRY})
    assert out.status == 200
    assert out.sleeps == [1.0]
    assert len(script.requests) == 2


# -- failure phases ------------------------------------------------------------------


def test_a_post_whose_answer_never_came_is_sent_once_with_outcome_unknown(
        kind: str, serve: Any) -> None:
    script = Script(no_answer, status(200))
    out = call(kind, serve(script).url, "POST", "/x", json={}, client={"retry": RETRY})
    assert isinstance(out.error, ServerDisconnectedError)
    assert out.error.outcome_unknown is True
    assert len(script.requests) == 1


def test_a_get_whose_answer_never_came_is_retried(kind: str, serve: Any) -> None:
    script = Script(no_answer, status(200))
    out = call(kind, serve(script).url, "GET", "/x", client={"retry": RETRY})
    assert out.status == 200
    assert len(script.requests) == 2


def test_a_refused_connection_is_a_connect_error_never_sent(kind: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = call(kind, f"http://127.0.0.1:{port}", "POST", "/x", json={},
               client={"retry": RETRY})
    assert isinstance(out.error, ConnectError)
    assert out.error.outcome_unknown is False
    assert out.error.attempts == 3  # never sent, so safe to retry even a POST
    assert f"127.0.0.1:{port}" in str(out.error)


def test_a_stall_after_the_headers_is_a_read_timeout(kind: str, serve: Any) -> None:
    def stall(conn: socket.socket, request: Request) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        time.sleep(1.5)

    out = call(kind, serve(Script(stall)).url, "POST", "/x", json={},
               client={"timeout": (1.0, 0.5), "retry": None})
    assert isinstance(out.error, ReadTimeoutError)
    assert out.error.outcome_unknown is True


def test_a_dripped_body_cannot_outlast_the_calls_budget(kind: str, serve: Any) -> None:
    def slow(conn: socket.socket, request: Request) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        drip(conn, b"x" * 100, 0.05, limit=6.0)

    policy = mysdk.RetryPolicy(max_attempts=1, total_budget=1.0)
    started = time.monotonic()
    out = call(kind, serve(Script(slow)).url, "GET", "/x", client={"retry": policy})
    assert isinstance(out.error, ReadTimeoutError)
    assert time.monotonic() - started < 2.5


# -- errors ----------------------------------------------------------------------------


def test_an_error_envelope_maps_to_the_same_error(kind: str, serve: Any) -> None:
    body = {"error": {"code": "car_not_found", "message": "no car 7"}}
    script = Script(status(404, body, {"X-Request-Id": "req-1"}))
    out = call(kind, serve(script).url, "GET", "/cars/7")
    assert isinstance(out.error, NotFoundError)
    assert (out.error.status_code, out.error.request_id, out.error.body) == (404, "req-1", body)
    assert out.error.method == "GET"
    assert out.error.url.endswith("/cars/7")


def test_a_huge_error_body_is_cut(kind: str, serve: Any) -> None:
    script = Script(status(500, b"e" * (1 << 20)))
    out = call(kind, serve(script).url, "GET", "/x", client={"retry": None})
    assert isinstance(out.error, ServerError)
    assert out.error.body_truncated is True
    assert len(out.error.body) <= mysdk.errors.MAX_ERROR_BODY


# -- redirects -------------------------------------------------------------------------


def test_a_307_keeps_method_and_body_on_the_same_origin(kind: str, serve: Any) -> None:
    script = Script(status(307, headers={"Location": "/moved"}), status(200, {"ok": 1}))
    out = call(kind, serve(script).url, "POST", "/x", json={"a": 1})
    assert out.status == 200
    assert [(r.method, r.target, r.body) for r in script.requests] == [
        ("POST", "/x", b'{"a":1}'), ("POST", "/moved", b'{"a":1}')]
    assert "redirect" in out.kinds


def test_a_303_becomes_a_get_without_body(kind: str, serve: Any) -> None:
    script = Script(status(303, headers={"Location": "/result"}), status(200))
    out = call(kind, serve(script).url, "POST", "/x", json={"a": 1})
    assert out.status == 200
    assert [(r.method, r.body) for r in script.requests] == [("POST", b'{"a":1}'), ("GET", b"")]
    assert script.requests[1].header("Content-Type") is None


def test_a_redirect_to_another_origin_is_refused(kind: str, serve: Any) -> None:
    script = Script(status(302, headers={"Location": "https://evil.example/steal?sig=S3"}))
    out = call(kind, serve(script).url, "GET", "/x",
               client={"auth": mysdk.StaticToken("secret-token")})
    assert isinstance(out.error, RedirectError)
    assert len(script.requests) == 1
    assert "secret-token" not in repr(out.error) + str(out.error)
    assert "S3" not in str(out.error)


def test_at_most_five_hops(kind: str, serve: Any) -> None:
    script = Script(status(302, headers={"Location": "/again"}))
    out = call(kind, serve(script).url, "GET", "/x")
    assert isinstance(out.error, RedirectError)
    assert len(script.requests) == 6


# -- reauth ------------------------------------------------------------------------------


class Rotating:
    """Credentials that hand out token-1, then token-2 after a 401 (sync methods:
    the async client takes plain Credentials too)."""

    def __init__(self) -> None:
        self.value = 1
        self.refreshes = 0

    def apply(self, headers: MutableMapping[str, str]) -> object:
        headers["Authorization"] = f"Bearer token-{self.value}"
        return self.value

    def on_unauthorized(self, used: object) -> bool:
        self.refreshes += 1
        if used == self.value:
            self.value += 1
        return True


def test_a_401_refreshes_and_replays_once(kind: str, serve: Any) -> None:
    def api(conn: socket.socket, request: Request) -> None:
        ok = request.header("Authorization") == "Bearer token-2"
        respond(conn, 200 if ok else 401, b"{}")

    script = Script(api)
    auth = Rotating()
    out = call(kind, serve(script).url, "POST", "/x", json={"a": 1}, client={"auth": auth})
    assert out.status == 200
    assert auth.refreshes == 1
    assert [r.header("Authorization") for r in script.requests] == [
        "Bearer token-1", "Bearer token-2"]
    assert script.requests[1].body == b'{"a":1}'
    assert "reauth" in out.kinds


def test_a_second_401_is_raised_not_looped(kind: str, serve: Any) -> None:
    script = Script(status(401, {"error": "invalid_token"}))
    auth = Rotating()
    out = call(kind, serve(script).url, "GET", "/x", client={"auth": auth, "retry": RETRY})
    assert isinstance(out.error, UnauthorizedError)
    assert len(script.requests) == 2
    assert auth.refreshes == 1


# -- limiter, middleware, events -----------------------------------------------------------


def test_the_limiter_paces_every_attempt(kind: str, serve: Any) -> None:
    script = Script(status(503), status(200))
    bucket = mysdk.TokenBucket(rate=20.0, burst=1)
    out = call(kind, serve(script).url, "GET", "/x",
               client={"retry": mysdk.RetryPolicy(max_attempts=2, base_delay=0.0),
                       "rate_limiter": bucket})
    assert out.status == 200
    waits = [e.delay for e in out.events if e.kind == "rate_limited"]
    assert len(waits) == 1
    assert waits[0] is not None
    assert 0 < waits[0] <= 0.05 + 1e-3


def test_the_limiter_pauses_on_rate_limit_headers(kind: str, serve: Any) -> None:
    script = Script(status(200, headers={"RateLimit-Remaining": "0", "RateLimit-Reset": "30"}))
    bucket = mysdk.TokenBucket(rate=100.0, burst=10)
    out = call(kind, serve(script).url, "GET", "/x",
               client={"rate_limiter": bucket, "rate_limit_headers": True})
    assert out.status == 200
    assert not bucket.try_acquire()


class MarkRetry(mysdk.Middleware):
    """Signs each attempt and marks a response with ``X-Not-Ready`` retryable."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def before_send(self, request: mysdk.OutgoingRequest) -> None:
        request.headers["X-Signature"] = f"sig-{request.attempt}"

    def after_response(self, request: mysdk.OutgoingRequest, response: Any) -> bool:
        self.seen.append((request.operation, response.status_code))
        return "X-Not-Ready" in response.headers


def test_middleware_runs_around_every_attempt(kind: str, serve: Any) -> None:
    script = Script(status(200, headers={"X-Not-Ready": "1"}), status(200, {"done": True}))
    middleware = MarkRetry()
    out = call(kind, serve(script).url, "GET", "/x",
               client={"middleware": [middleware], "retry": RETRY}, operation="things.get")
    assert out.status == 200
    assert json.loads(out.body) == {"done": True}
    assert [r.header("X-Signature") for r in script.requests] == ["sig-1", "sig-2"]
    assert middleware.seen == [("things.get", 200), ("things.get", 200)]


def test_both_clients_report_the_same_events(serve: Any) -> None:
    def scenario() -> Script:
        return Script(status(307, headers={"Location": "/b"}), status(503),
                      status(307, headers={"Location": "/b"}), status(200))

    seen = {}
    for each in KINDS:
        out = call(each, serve(scenario()).url, "GET", "/a", client={"retry": RETRY})
        assert out.status == 200
        seen[each] = [(e.kind, e.attempt, e.status, e.path) for e in out.events]
    assert seen["sync"] == seen["async"]
    assert [kind for kind, *_ in seen["sync"]] == [
        "response", "redirect", "response", "retry", "response", "redirect", "response"]


def test_the_wire_requests_match(serve: Any) -> None:
    """Same method, target, body and our headers from both clients."""
    wire = {}
    for each in KINDS:
        script = Script(status(200))
        out = call(each, serve(script).url, "PATCH", "/cars/1", json={"colour": "red"},
                   params={"dry_run": True, "skip": None}, headers={"X-Trace": "t"},
                   client={"auth": mysdk.StaticToken("tok")})
        assert out.status == 200
        request = script.requests[0]
        wire[each] = (request.method, request.target, request.body,
                      request.header("Authorization"), request.header("Content-Type"),
                      request.header("Accept"), request.header("X-Trace"))
    assert wire["sync"] == wire["async"] == (
        "PATCH", "/cars/1?dry_run=true", b'{"colour":"red"}', "Bearer tok",
        "application/json", "application/json", "t")


def test_a_server_error_from_the_raw_bytes_is_the_same_error(serve: Any) -> None:
    raw = response_bytes(502, b"<html>bad gateway</html>", {"Content-Type": "text/html"},
                         reason="Bad Gateway")
    errors = {}
    for each in KINDS:
        out = call(each, serve(Script(lambda c, r: c.sendall(raw))).url, "GET", "/x",
                   client={"retry": None})
        assert isinstance(out.error, ServerError)
        errors[each] = (type(out.error), str(out.error).split(" for ")[0], out.error.body)
    assert errors["sync"] == errors["async"]


# -- nothing raw escapes -------------------------------------------------------------------


@pytest.mark.parametrize(("method", "headers"), [
    ("GET\r\nX-Injected: 1", None),
    ("GET", {"X-Trace": "a\r\nX-Injected: 1"}),
    ("GET", {"X-Trace": "caf\u00e9 \u2603"}),
    ("GET", {"Bad Name": "v"}),
])
def test_a_malformed_request_is_an_invalid_request_error(
        kind: str, serve: Any, method: str, headers: dict[str, str] | None) -> None:
    script = Script(status(200))
    out = call(kind, serve(script).url, method, "/x", headers=headers)
    assert isinstance(out.error, mysdk.InvalidRequestError), out.error
    assert script.requests == []


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Encoding: gzip\r\n\r\nnope!",
    b"NOT-HTTP garbage\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort",
], ids=["bad-gzip", "bad-status-line", "short-body"])
def test_a_broken_response_is_a_transport_error(kind: str, serve: Any, raw: bytes) -> None:
    out = call(kind, serve(Script(lambda c, r: c.sendall(raw))).url, "GET", "/x",
               client={"retry": None})
    assert isinstance(out.error, mysdk.TransportError), out.error
    assert out.error.outcome_unknown is True


@pytest.mark.parametrize("body", [b"{not json", b"[" * 100_000 + b"]" * 100_000,
                                  b"\xff\xfe\x00garbage"])
def test_a_2xx_body_that_is_not_json_is_a_decode_error(
        kind: str, serve: Any, body: bytes) -> None:
    srv = serve(Script(status(200, body, {"Content-Type": "application/json"})))
    if kind == "sync":
        with mysdk.Client(base_url=srv.url) as client, pytest.raises(mysdk.DecodeError):
            client.get("/x")
        return

    async def go() -> None:
        async with mysdk.AsyncClient(base_url=srv.url) as client:
            with pytest.raises(mysdk.DecodeError):
                await client.get("/x")

    asyncio.run(go())
