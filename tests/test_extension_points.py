"""Extension points instead of overrides (issue 8 §3-4): error mapping, response
checks, middleware, named credentials, rate-limit headers, branding, streaming,
multipart replay and server timing, all through the one request path."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

import mysdk
from mysdk import Event, RetryPolicy, TokenBucket
from tests.hostile.server import Request, hostile_server

BASE = "https://api.example.com"
TOKEN_URL = "https://auth.example.com/token"


@pytest.fixture
def rs() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as mock:
        yield mock


class AcmeError(mysdk.MySDKError):
    """The SDK's root."""


class ItemNotFound(mysdk.NotFoundError):
    """Registered for the code item_not_found."""


class Teapot(mysdk.ClientError):
    """Registered for status 418."""


class Acme(mysdk.Client):
    brand = mysdk.Brand("acme-sdk", "2.1.0", error=AcmeError, logger="acme")
    error_map = mysdk.ErrorMap(envelope=mysdk.ErrorEnvelope(),
                               by_code={"item_not_found": ItemNotFound},
                               by_status={418: Teapot})


ENVELOPE = {"error": {"code": "item_not_found", "message": "no item 9",
                      "request_id": "body-req-1", "details": {"id": 9}}}


# -- error mapping ---------------------------------------------------------------------


def test_the_envelope_fills_code_message_request_id_and_details(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/items/9", status=404, json=ENVELOPE)
    with pytest.raises(ItemNotFound) as info:
        Acme(base_url=BASE, retry=None).get("/items/9")
    err = info.value
    assert (err.code, err.request_id, err.details) == ("item_not_found", "body-req-1", {"id": 9})
    assert "[item_not_found] no item 9" in str(err)
    assert isinstance(err, AcmeError)
    assert isinstance(err, mysdk.NotFoundError)


def test_a_header_request_id_wins_over_the_body(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/items/9", status=404, json=ENVELOPE, headers={"X-Request-Id": "hdr-1"})
    with pytest.raises(ItemNotFound) as info:
        Acme(base_url=BASE, retry=None).get("/items/9")
    assert info.value.request_id == "hdr-1"


def test_classes_by_status_and_the_default_tree(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/a", status=418, json={"error": {"code": "short_and_stout"}})
    rs.get(f"{BASE}/b", status=409, json={"error": {"code": "other"}})
    client = Acme(base_url=BASE, retry=None)
    with pytest.raises(Teapot):
        client.get("/a")
    with pytest.raises(mysdk.ConflictError) as info:
        client.get("/b")
    assert isinstance(info.value, AcmeError)


def test_a_broken_envelope_never_hides_the_error(rs: responses.RequestsMock) -> None:
    def explode(body: Any) -> mysdk.ErrorInfo | None:
        raise KeyError("oops")

    class Fragile(mysdk.Client):
        error_map = mysdk.ErrorMap(envelope=explode)

    rs.get(f"{BASE}/x", status=500, body=b"not json")
    with pytest.raises(mysdk.ServerError):
        Fragile(base_url=BASE, retry=None).get("/x")


def test_error_map_refuses_a_class_outside_the_tree() -> None:
    with pytest.raises(TypeError, match="APIStatusError"):
        mysdk.ErrorMap(by_code={"x": ValueError})  # type: ignore[dict-item]


# -- response check --------------------------------------------------------------------


def test_a_2xx_body_that_reports_failure_raises_parsing_once(
    rs: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Slack(mysdk.Client):
        response_check = mysdk.BodyFlag("ok", error="error")
        error_map = mysdk.ErrorMap(by_code={"ratelimited": mysdk.RateLimitError})

    parses = 0
    original = requests.Response.json

    def counting(self: requests.Response, **kwargs: Any) -> Any:
        nonlocal parses
        parses += 1
        return original(self, **kwargs)

    monkeypatch.setattr(requests.Response, "json", counting)
    rs.post(f"{BASE}/chat", json={"ok": False, "error": "channel_not_found"})
    rs.post(f"{BASE}/chat", json={"ok": True, "ts": "1"})
    client = Slack(base_url=BASE, retry=None)
    with pytest.raises(mysdk.APIResponseError) as info:
        client.post("/chat", json={})
    assert info.value.code == "channel_not_found"
    assert parses == 1
    assert client.post("/chat", json={}) == {"ok": True, "ts": "1"}


# -- middleware ------------------------------------------------------------------------


class Recorder(mysdk.Middleware):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []
        self.errors: list[str] = []

    def before_send(self, request: mysdk.OutgoingRequest) -> None:
        request.headers["X-Signature"] = f"sig-{request.method}-{len(request.body or b'')}"
        self.seen.append(("send", request.operation, request.attempt))

    def after_response(self, request: mysdk.OutgoingRequest,
                       response: requests.Response) -> bool:
        self.seen.append(("response", request.operation, response.status_code))
        return response.status_code == 409 and b"busy" in response.content

    def on_error(self, request: mysdk.OutgoingRequest, error: mysdk.MySDKError) -> None:
        self.errors.append(type(error).__name__)


def test_middleware_signs_every_attempt_and_can_mark_a_response_retryable(
    rs: responses.RequestsMock,
) -> None:
    mw = Recorder()
    sleeps: list[float] = []
    client = mysdk.Client(base_url=BASE, middleware=[mw], sleep=sleeps.append,
                          retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    rs.put(f"{BASE}/x", status=409, body=b"busy",
           match=[matchers.header_matcher({"X-Signature": "sig-PUT-9"})])
    rs.put(f"{BASE}/x", json={"ok": 1})
    assert client.put("/x", json={"a": 123}) == {"ok": 1}
    assert mw.seen == [("send", "PUT /x", 1), ("response", "PUT /x", 409),
                       ("send", "PUT /x", 2), ("response", "PUT /x", 200)]
    assert len(sleeps) == 1


def test_middleware_sees_transport_errors_and_operation_names() -> None:
    class Items(mysdk.Resource):
        path = "/items"

        @mysdk.get("")
        def list(self) -> Any:
            raise NotImplementedError

    class WithItems(mysdk.Client):
        items = mysdk.resource(Items)

    def hang_up(conn: socket.socket, request: Request) -> None:
        conn.shutdown(socket.SHUT_RDWR)

    mw = Recorder()
    with hostile_server(hang_up) as server:
        client = WithItems(base_url=server.url, middleware=[mw], retry=None)
        with pytest.raises(mysdk.ServerDisconnectedError):
            client.items.list()
    assert mw.seen == [("send", "Items.list", 1)]
    assert mw.errors == ["ServerDisconnectedError"]


def test_a_marked_response_to_an_unsafe_call_is_not_repeated(rs: responses.RequestsMock) -> None:
    mw = Recorder()
    rs.post(f"{BASE}/x", status=409, body=b"busy")
    client = mysdk.Client(base_url=BASE, middleware=[mw], sleep=lambda s: None,
                          retry=RetryPolicy(max_attempts=3, base_delay=0))
    with pytest.raises(mysdk.ConflictError):
        client.post("/x", json={})  # no Idempotency-Key: the server may have acted
    assert len(rs.calls) == 1


def test_a_2xx_marked_retryable_is_raised_after_the_last_attempt(
    rs: responses.RequestsMock,
) -> None:
    class Always(mysdk.Middleware):
        def after_response(self, request: mysdk.OutgoingRequest,
                           response: requests.Response) -> bool:
            return True

    rs.get(f"{BASE}/x", json={})
    rs.get(f"{BASE}/x", json={})
    client = mysdk.Client(base_url=BASE, middleware=[Always()], sleep=lambda s: None,
                          retry=RetryPolicy(max_attempts=2, base_delay=0))
    with pytest.raises(mysdk.APIResponseError, match="marked retryable"):
        client.get("/x")


# -- credentials, options, rate limit headers -----------------------------------------


def test_an_api_key_resource_and_an_oauth2_resource_share_one_session_and_limiter(
    rs: responses.RequestsMock,
) -> None:
    class Public(mysdk.Resource):
        path = "/v2/items"

        @mysdk.get("")
        def list(self) -> Any:
            raise NotImplementedError

    class Admin(mysdk.Resource):
        path = "/v2/admin"
        credentials = "admin"

        @mysdk.delete("/{item_id}", expect=(204,))
        def purge(self, item_id: int) -> None:
            raise NotImplementedError

    class Two(mysdk.Client):
        items = mysdk.resource(Public)
        admin = mysdk.resource(Admin)

    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="c", client_secret="s")
    bucket = TokenBucket(100, burst=10)
    session = requests.Session()
    client = Two(base_url=BASE, session=session, auth=mysdk.APIKey("k-1"),
                 credentials={"admin": provider}, rate_limiter=bucket, retry=None)
    rs.get(f"{BASE}/v2/items", json=[], match=[matchers.header_matcher({"X-API-Key": "k-1"})])
    rs.post(TOKEN_URL, json={"access_token": "AT", "expires_in": 3600})
    rs.delete(f"{BASE}/v2/admin/3", status=204,
              match=[matchers.header_matcher({"Authorization": "Bearer AT"})])
    client.items.list()
    client.admin.purge(3)
    assert "Authorization" not in rs.calls[0].request.headers
    assert "X-API-Key" not in rs.calls[2].request.headers
    assert client.admin.client is client
    session.close()


def test_with_options_shares_token_managers_limiter_and_hooks(rs: responses.RequestsMock) -> None:
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="c", client_secret="s")
    events: list[Event] = []
    bucket = TokenBucket(100, burst=10)
    client = mysdk.Client(base_url=BASE, auth=provider, rate_limiter=bucket,
                          on_event=events.append, retry=None)
    rs.post(TOKEN_URL, json={"access_token": "AT", "expires_in": 3600})
    rs.get(f"{BASE}/a", json={})
    rs.get(f"{BASE}/b", json={})
    client.get("/a")
    other = client.with_options(headers={"X-Trace": "1"})
    other.get("/b")  # no second token request: the token manager is shared
    assert other.auth is client.auth
    assert other.rate_limiter is bucket
    assert [e.path for e in events if e.kind == "response"] == ["/a", "/b"]


@pytest.mark.parametrize(("headers", "pause"), [
    ({"RateLimit-Remaining": "0", "RateLimit-Reset": "7"}, 7.0),
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3"}, 3.0),
    ({"RateLimit-Remaining": "5", "RateLimit-Reset": "7"}, None),
    ({"RateLimit-Remaining": "zero", "RateLimit-Reset": "7"}, None),
])
def test_rate_limit_headers_pause_the_limiter_before_a_429(
    rs: responses.RequestsMock, headers: dict[str, str], pause: float | None
) -> None:
    paused: list[float] = []
    bucket = TokenBucket(100, burst=10)
    bucket.pause = paused.append  # type: ignore[method-assign]
    rs.get(f"{BASE}/x", json={}, headers=headers)
    mysdk.Client(base_url=BASE, rate_limiter=bucket, rate_limit_headers=True).get("/x")
    assert paused == ([] if pause is None else [pause])


def test_rate_limit_headers_need_a_limiter() -> None:
    with pytest.raises(mysdk.InvalidRequestError, match="rate_limiter"):
        mysdk.Client(base_url=BASE, rate_limit_headers=True)


# -- branding --------------------------------------------------------------------------


def test_brand_sets_user_agent_but_keeps_a_callers_own(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/x", json={})
    rs.get(f"{BASE}/x", json={})
    Acme(base_url=BASE).get("/x")
    session = requests.Session()
    session.headers["User-Agent"] = "my-app/3"
    Acme(base_url=BASE, session=session).get("/x")
    assert rs.calls[0].request.headers["User-Agent"].startswith("acme-sdk/2.1.0 mysdk/")
    assert rs.calls[1].request.headers["User-Agent"] == "my-app/3"
    assert session.headers["User-Agent"] == "my-app/3"  # the session is untouched


def test_brand_validates_its_parts() -> None:
    with pytest.raises(ValueError, match="product token"):
        mysdk.Brand("acme sdk", "1")
    with pytest.raises(ValueError, match="MySDKError"):
        mysdk.Brand("acme", "1", error=ValueError)  # type: ignore[arg-type]

    class WithInit(mysdk.MySDKError):
        def __init__(self, message: str = "") -> None:
            super().__init__(message)

    with pytest.raises(ValueError, match="__init__"):
        mysdk.Brand("acme", "1", error=WithInit)


def test_every_error_through_a_branded_client_is_the_sdks(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/x", body=requests.ConnectionError(ConnectionRefusedError()))
    client = Acme(base_url=BASE, retry=None)
    for call in (lambda: client.get("/x"), lambda: client.request("BAD METHOD", "/x"),
                 lambda: client.request("GET", "https://other.example/x")):
        with pytest.raises(AcmeError):
            call()


def test_branded_events_go_to_the_sdks_logger(
    rs: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rs.get(f"{BASE}/x", json={})
    Acme(base_url=BASE).get("/x")
    assert {r.name for r in caplog.records} == {"acme"}


# -- streaming -------------------------------------------------------------------------


def test_ndjson_and_lines_stream_as_they_arrive(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/events", body=b'{"n": 1}\n\n{"n": 2}\n', content_type="application/x-ndjson")
    with mysdk.Client(base_url=BASE).stream("GET", "/events") as stream:
        assert list(stream.iter_ndjson()) == [{"n": 1}, {"n": 2}]


def test_sse_events_are_parsed(rs: responses.RequestsMock) -> None:
    body = (b": comment\nevent: add\ndata: {\"x\": 1}\nid: 7\n\n"
            b"data: line1\ndata: line2\nretry: 1500\n\n")
    rs.get(f"{BASE}/sse", body=body, content_type="text/event-stream")
    events = list(mysdk.Client(base_url=BASE).stream("GET", "/sse").iter_sse())
    assert [(e.event, e.data, e.id, e.retry) for e in events] == [
        ("add", '{"x": 1}', "7", None), ("message", "line1\nline2", "7", 1500)]
    assert events[0].json() == {"x": 1}


def test_a_stream_is_retried_up_to_its_headers_and_reauthenticated(
    rs: responses.RequestsMock,
) -> None:
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="c", client_secret="s")
    rs.post(TOKEN_URL, json={"access_token": "A1", "expires_in": 3600})
    rs.get(f"{BASE}/events", status=503)
    rs.get(f"{BASE}/events", status=401)
    rs.post(TOKEN_URL, json={"access_token": "A2", "expires_in": 3600})
    rs.get(f"{BASE}/events", body=b'{"n": 1}\n',
           match=[matchers.header_matcher({"Authorization": "Bearer A2"})])
    client = mysdk.Client(base_url=BASE, auth=provider, sleep=lambda s: None,
                          retry=RetryPolicy(max_attempts=3, base_delay=0))
    assert list(client.stream("GET", "/events").iter_ndjson()) == [{"n": 1}]


def test_a_stream_broken_mid_body_is_a_mysdk_error_and_releases_the_connection() -> None:
    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                     b"Content-Length: 100\r\nConnection: close\r\n\r\n{\"n\": 1}\n")

    with hostile_server(handler) as server:
        stream = mysdk.Client(base_url=server.url).stream("GET", "/e")
        lines = stream.iter_ndjson()
        assert next(lines) == {"n": 1}
        with pytest.raises(mysdk.ServerDisconnectedError):
            next(lines)
    assert stream.response.raw.closed


def test_a_bad_ndjson_line_is_a_decode_error_naming_it(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/events", body=b'{"n": 1}\nnot json\n')
    with pytest.raises(mysdk.DecodeError, match="line 2"):
        list(mysdk.Client(base_url=BASE).stream("GET", "/events").iter_ndjson())


class Tick(mysdk.Model):
    n: int


class Feed(mysdk.Resource):
    path = "/feed"

    @mysdk.get("", stream="ndjson")
    def follow(self, *, since: int = 0) -> mysdk.Stream[Tick]:
        raise NotImplementedError


class Streamer(mysdk.Client):
    feed = mysdk.resource(Feed)


def test_a_streamed_operation_yields_typed_items(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/feed", body=b'{"n": 1}\n{"n": 2}\n',
           match=[matchers.query_param_matcher({"since": "0"})])
    with Streamer(base_url=BASE).feed.follow() as ticks:
        assert [t.n for t in ticks] == [1, 2]


# -- multipart, timing -----------------------------------------------------------------


def test_a_multipart_file_is_rewound_for_a_retry(rs: responses.RequestsMock) -> None:
    rs.put(f"{BASE}/upload", status=503)
    rs.put(f"{BASE}/upload", json={"ok": 1})
    upload = io.BytesIO(b"xxPAYLOAD")
    upload.seek(2)
    client = mysdk.Client(base_url=BASE, sleep=lambda s: None,
                          retry=RetryPolicy(max_attempts=2, base_delay=0))
    client.put("/upload", files={"file": ("p.bin", upload, "application/octet-stream")},
               data={"title": "T"})
    bodies = [c.request.body for c in rs.calls]
    assert all(b"PAYLOAD" in body and b"xxPAYLOAD" not in body for body in bodies)


def test_a_multipart_stream_is_not_resent(rs: responses.RequestsMock) -> None:
    class OneShot(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: Any) -> int:
            return 0

    rs.put(f"{BASE}/upload", status=503)
    client = mysdk.Client(base_url=BASE, sleep=lambda s: None,
                          retry=RetryPolicy(max_attempts=2, base_delay=0))
    with pytest.raises(mysdk.InvalidRequestError, match="cannot be rewound"):
        client.put("/upload", files={"file": ("p.bin", OneShot())})


def test_server_timing_reaches_events_and_errors(rs: responses.RequestsMock) -> None:
    events: list[Event] = []
    rs.get(f"{BASE}/ok", json={}, headers={"Server-Timing": 'db;dur=12.5, app;desc="x";dur=30',
                                          "X-Request-Id": "r-1"})
    rs.get(f"{BASE}/bad", status=500, headers={"X-API-Time": "0.25"})
    client = mysdk.Client(base_url=BASE, on_event=events.append, retry=None)
    client.get("/ok")
    with pytest.raises(mysdk.ServerError) as info:
        client.get("/bad")
    ok = events[0]
    assert (ok.request_id, ok.server_time) == ("r-1", 12.5)
    assert info.value.server_timing == {"x-api-time": 250.0}
