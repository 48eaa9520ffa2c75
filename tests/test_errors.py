"""mysdk.errors: the exception tree, status and transport mapping, pickling, no secrets."""

from __future__ import annotations

import base64
import builtins
import http.client
import inspect
import logging
import pickle
import re
import ssl
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

import mysdk
from mysdk import errors
from mysdk.errors import (
    APIStatusError,
    AuthError,
    BadRequestError,
    ClientError,
    ConflictError,
    ConnectError,
    ConnectTimeoutError,
    DecodeError,
    ForbiddenError,
    InvalidRequestError,
    MySDKError,
    NotFoundError,
    RateLimitError,
    ReadTimeoutError,
    RequestTimeoutError,
    ServerDisconnectedError,
    ServerError,
    TokenRequestError,
    TransportError,
    UnauthorizedError,
    UnprocessableEntityError,
)

BASE = "https://api.example.com"


def _client(**kwargs: Any) -> mysdk.Client:
    return mysdk.Client(base_url=BASE, retry=None, **kwargs)


# --- status → class -------------------------------------------------------------

STATUS_CASES = [
    (400, BadRequestError),
    (401, UnauthorizedError),
    (403, ForbiddenError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (418, ClientError),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
]


@pytest.mark.parametrize(("status", "expected"), STATUS_CASES)
def test_status_maps_to_the_class_of_the_tree(status: int, expected: type[APIStatusError]) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.get(f"{BASE}/things/1", status=status, json={"message": "nope"})
        with pytest.raises(APIStatusError) as info:
            _client().get("/things/1")
        assert len(rs.calls) == 1
    err = info.value
    assert type(err) is expected
    assert err.status_code == status
    if status == 401:
        assert isinstance(err, AuthError)
    if 400 <= status < 500:
        assert isinstance(err, ClientError)
        assert not isinstance(err, ServerError)
    else:
        assert isinstance(err, ServerError)
        assert not isinstance(err, ClientError)


# --- requests exception → class -------------------------------------------------


def _protocol_error() -> requests.ConnectionError:
    cause = ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed"))
    return requests.ConnectionError(cause)


def _new_connection_error() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/things/1", reason))  # type: ignore[arg-type]


def _refused() -> requests.ConnectionError:
    return requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))


def _cert_refused() -> requests.exceptions.SSLError:
    return requests.exceptions.SSLError(ssl.SSLCertVerificationError(1, "verify failed"))


def _proxy_unreachable() -> requests.exceptions.ProxyError:
    reason = NewConnectionError(None, "Failed to establish a new connection")  # type: ignore[arg-type]
    return requests.exceptions.ProxyError(MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


# Only a failure that proves no byte was sent maps to ConnectError; a bare
# ConnectionError, SSLError or ProxyError proves nothing (outcome unknown).
TRANSPORT_CASES: list[tuple[Callable[[], Exception], type[MySDKError], tuple[type, ...]]] = [
    (lambda: requests.ConnectionError("refused"), ServerDisconnectedError, (TransportError,)),
    (_refused, ConnectError, (TransportError,)),
    (_new_connection_error, ConnectError, (TransportError,)),
    (_cert_refused, ConnectError, (TransportError,)),
    (_proxy_unreachable, ConnectError, (TransportError,)),
    (lambda: requests.ConnectTimeout("slow connect"), ConnectTimeoutError,
     (ConnectError, RequestTimeoutError, TransportError)),
    (lambda: requests.ReadTimeout("slow read"), ReadTimeoutError,
     (RequestTimeoutError, TransportError)),
    (lambda: requests.Timeout("slow"), RequestTimeoutError, (TransportError,)),
    (lambda: requests.exceptions.SSLError("bad record"), ServerDisconnectedError,
     (TransportError,)),
    (lambda: requests.exceptions.ProxyError("proxy down"), ServerDisconnectedError,
     (TransportError,)),
    (lambda: requests.exceptions.ChunkedEncodingError("torn"), TransportError, ()),
    (lambda: requests.exceptions.ContentDecodingError("gzip"), TransportError, ()),
    (lambda: requests.exceptions.TooManyRedirects("loop"), TransportError, ()),
    (lambda: requests.RequestException("other"), TransportError, ()),
    (lambda: requests.exceptions.MissingSchema("no scheme"), InvalidRequestError, (ValueError,)),
    (lambda: requests.exceptions.InvalidURL("bad url"), InvalidRequestError, (ValueError,)),
    (lambda: requests.exceptions.InvalidHeader("bad header"), InvalidRequestError, (ValueError,)),
    (_protocol_error, ServerDisconnectedError, (TransportError,)),
]


@pytest.mark.parametrize(("make_exc", "expected", "also"), TRANSPORT_CASES)
def test_requests_exception_maps_and_chains(
    make_exc: Callable[[], Exception], expected: type[MySDKError], also: tuple[type, ...]
) -> None:
    original = make_exc()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.get(f"{BASE}/things/1", body=original)
        with pytest.raises(MySDKError) as info:
            _client().get("/things/1")
    err = info.value
    assert type(err) is expected
    for cls in also:
        assert isinstance(err, cls)
    # Chained to a copy of the same class whose text holds no URL or header value,
    # and nothing else in the chain (no __context__ carrying the original).
    assert type(err.__cause__) is type(original)
    assert str(original) not in str(err.__cause__)
    assert err.__context__ is None
    if isinstance(err, TransportError):
        assert err.outcome_unknown is (expected not in (ConnectError, ConnectTimeoutError))
        assert err.method == "GET"
        assert err.url == f"{BASE}/things/1"
        assert not isinstance(err, ServerDisconnectedError) or expected is ServerDisconnectedError
    if expected is ConnectError:
        assert not isinstance(err, (RequestTimeoutError, ServerDisconnectedError))


# --- the drawn tree matches the classes -------------------------------------------


def _tree_edges(doc: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Parse the tree drawing: (child, parent) edges and (class, also-a) notes."""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    root_line = block[0]
    root_indent = len(root_line) - len(root_line.lstrip())
    stack = [root_line.strip()]
    edges: list[tuple[str, str]] = []
    also: list[tuple[str, str]] = []
    for line in block[1:]:
        match = re.match(r"^([ │├└─]*)([A-Z]\w+)(.*)$", line)
        assert match, f"unparsable tree line: {line!r}"
        prefix, name, rest = match.groups()
        depth = (len(prefix) - root_indent) // 4
        assert (len(prefix) - root_indent) % 4 == 0, line
        assert 1 <= depth <= len(stack), f"tree line jumps a level: {line!r}"
        del stack[depth:]
        edges.append((name, stack[-1]))
        stack.append(name)
        also.extend((name, other) for other in re.findall(r"also an? (\w+)", rest))
    return edges, also


def test_docstring_tree_matches_the_classes() -> None:
    assert errors.__doc__ is not None
    edges, also = _tree_edges(errors.__doc__)
    drawn = {name for edge in edges for name in edge}
    assert drawn == set(errors.__all__), "every public error is drawn, and only those"
    for child, parent in edges + also:
        child_cls = getattr(errors, child)
        parent_cls = getattr(errors, parent, None) or getattr(builtins, parent)
        assert issubclass(child_cls, parent_cls), f"{child} should subclass {parent}"
    # The other direction: every mysdk base of every class is drawn as its parent.
    parents: dict[str, set[str]] = {}
    for child, parent in edges:
        parents.setdefault(child, set()).add(parent)
    for name in errors.__all__:
        cls = getattr(errors, name)
        bases = {b.__name__ for b in cls.__bases__ if b.__module__ == errors.__name__}
        if name == "MySDKError":
            assert bases == set()
            continue
        assert bases <= parents[name], f"{name}: bases {bases} not all drawn ({parents[name]})"


def test_tree_parser_notices_a_wrong_drawing() -> None:
    bad = "x::\n\n    MySDKError\n    ├── TransportError\n    │   └── NotFoundError\n\ny"
    edges, _ = _tree_edges(bad)
    assert ("NotFoundError", "TransportError") in edges
    assert not issubclass(NotFoundError, TransportError)


# --- attributes of status errors ----------------------------------------------------


def test_status_error_attributes_from_json_response() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.get(
            "https://api.example.com/api/v1/cars/9",
            status=429,
            json={"message": "slow down", "limit": 10},
            headers={"X-Request-Id": "req-42", "Retry-After": "7"},
        )
        client = mysdk.Client(base_url="https://api.example.com", retry=None)
        with pytest.raises(RateLimitError) as info:
            client.get("/api/v1/cars/9", params={"q": "1"})
    err = info.value
    assert err.status_code == 429
    assert err.body == {"message": "slow down", "limit": 10}
    assert err.method == "GET"
    assert err.url == "https://api.example.com/api/v1/cars/9?q=1"
    assert err.request_id == "req-42"
    assert err.retry_after == 7.0
    assert err.headers["X-Request-Id"] == "req-42"
    assert isinstance(err.headers, dict)
    assert "slow down" in str(err)
    assert err.attempts == 1


def test_status_error_text_and_empty_bodies() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(f"{BASE}/text", status=500, body="upstream exploded",
                content_type="text/plain")
        rs.delete(f"{BASE}/empty", status=404, body=b"")
        client = _client()
        with pytest.raises(ServerError) as text_info:
            client.post("/text", json={"a": 1})
        with pytest.raises(NotFoundError) as empty_info:
            client.delete("/empty")
    assert text_info.value.body == "upstream exploded"
    assert text_info.value.method == "POST"
    assert text_info.value.request_id is None
    assert text_info.value.retry_after is None
    assert empty_info.value.body == ""
    assert empty_info.value.method == "DELETE"


# --- pickling ------------------------------------------------------------------------

_SAMPLES: dict[str, Any] = {
    "message": "boom",
    "attempts": 3,
    "method": "PUT",
    "url": "https://api.example.com/p",
    "status_code": 418,
    "headers": {"X-Request-Id": "r-1"},
    "body": {"detail": "teapot"},
    "request_id": "r-1",
    "retry_after": 1.5,
    "content_type": "text/html",
    "error": "invalid_client",
    "error_description": "who are you",
    "token_url": "https://auth.example.com/token",
    "wait": 2.5,
    "response": None,
    "outcome_unknown": True,
}


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_pickles_with_its_attributes(name: str) -> None:
    cls = getattr(errors, name)
    params = inspect.signature(cls.__init__).parameters
    kwargs = {p: _SAMPLES[p] for p in params if p not in ("self", "message")}
    err = cls("boom", **kwargs)
    clone = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own data
    assert type(clone) is cls
    assert vars(clone) == vars(err)
    for attr in kwargs:
        assert getattr(clone, attr) == getattr(err, attr) == _SAMPLES[attr]
    assert str(clone) == str(err)
    assert repr(clone) == repr(err)
    assert clone.args == err.args
    assert clone.retryable == err.retryable


def test_a_status_error_keeps_its_response_but_does_not_pickle_it() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.get(f"{BASE}/gone", status=404, json={"message": "gone"})
        with pytest.raises(NotFoundError) as info:
            mysdk.Client(base_url=BASE, retry=None).get("/gone")
    assert info.value.response is not None
    assert info.value.response.status_code == 404
    clone = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own data
    assert clone.response is None
    assert (clone.status_code, clone.body) == (404, {"message": "gone"})


def test_str_mentions_attempts_only_when_retried() -> None:
    assert str(ServerError("HTTP 503", attempts=1)) == "HTTP 503"
    assert str(ServerError("HTTP 503", attempts=4)) == "HTTP 503 (after 4 attempts)"


# --- no secret in any text ------------------------------------------------------------

SECRETS = (
    "s3cr3t-client", "tok-SECRET-123", "tok-SECRET-789", "rt-SECRET-456", "pw-SECRET",
    # Basic credentials as sent on the wire (client id and secret, URL userinfo).
    base64.b64encode(b"cid:s3cr3t-client").decode(),
    base64.b64encode(b"cid2:s3cr3t-client").decode(),
    base64.b64encode(b"user:pw-SECRET").decode(),
)
API = "https://api.example.com"  # a base_url with userinfo is refused (test_client.py)
TOKEN_URL = "https://tu:pw-SECRET@auth.example.com/oauth/token"


def _assert_clean(text: str, what: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked in {what}: {text!r}"


def test_no_secret_in_errors_tokens_provider_client_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[mysdk.Event] = []
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="cid",
                                       client_secret="s3cr3t-client")
    client = mysdk.Client(base_url=API, auth=provider, retry=None, on_event=events.append)
    failures: list[MySDKError] = []
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, json={"access_token": "tok-SECRET-123", "token_type": "bearer",
                                 "expires_in": 3600, "refresh_token": "rt-SECRET-456"})
        rs.get(f"{API}/cars/1", status=404, json={"message": "no such car"})
        rs.get(f"{API}/boom", status=500, body="kaput", content_type="text/plain")
        rs.get(f"{API}/private", status=401, json={"error": "invalid_token"})
        rs.get(f"{API}/text", status=200, body="not json", content_type="text/plain")
        for path in ("/cars/1", "/boom", "/text"):
            with pytest.raises(MySDKError) as info:
                client.get(path)
            failures.append(info.value)
        rs.replace("POST", TOKEN_URL, json={"access_token": "tok-SECRET-789",
                                            "expires_in": 3600})
        with pytest.raises(UnauthorizedError) as unauthorized:
            client.get("/private")
        failures.append(unauthorized.value)

    other = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="cid2",
                                    client_secret="s3cr3t-client")
    client2 = mysdk.Client(base_url=API, auth=other, retry=None)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, status=401, json={"error": "invalid_client",
                                             "error_description": "unknown client"})
        with pytest.raises(TokenRequestError) as token_error:
            client2.get("/cars/1")
        failures.append(token_error.value)

    kinds = [type(f) for f in failures]
    assert kinds == [NotFoundError, ServerError, DecodeError, UnauthorizedError,
                     TokenRequestError]
    for failure in failures:
        _assert_clean(str(failure), f"str({type(failure).__name__})")
        _assert_clean(repr(failure), f"repr({type(failure).__name__})")
        _assert_clean(repr(vars(failure)), f"vars({type(failure).__name__})")
    assert client.auth is not None
    token = client.auth.token()  # type: ignore[attr-defined]
    assert token.access_token == "tok-SECRET-789"  # the secret really was there
    for obj, what in ((token, "token"), (provider, "provider"), (client, "client"),
                      (client.auth, "manager"), (client2, "client2")):
        _assert_clean(str(obj), f"str({what})")
        _assert_clean(repr(obj), f"repr({what})")
    for event in events:
        _assert_clean(repr(event), "event")
    assert caplog.records, "DEBUG logging captured nothing"
    for record in caplog.records:
        _assert_clean(record.getMessage(), f"log record {record.name}")
    _assert_clean(caplog.text, "caplog")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pw@api.example.com/x?q=1", "https://api.example.com/x?q=1"),
        ("https://api.example.com/x", "https://api.example.com/x"),
        ("http://a:b@host:8080/", "http://host:8080/"),
    ],
)
def test_safe_url_drops_userinfo(url: str, expected: str) -> None:
    assert mysdk.errors.safe_url(url) == expected
