"""A hostile or broken token endpoint (hardening issue 7, points 3, 4, 5, 9 and 10).

Whatever the token endpoint answers, the token path raises only mysdk errors,
never caches anything but a validated Bearer token, never follows a redirect,
never waits longer than its timeout allows, never keeps more than 64 KiB, and
never puts a token into an error or its ``__cause__``/``__context__`` chain.
"""

from __future__ import annotations

import json
import math
import re
import socket
import time
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import pytest
import requests
import responses
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mysdk import ClientCredentials, MemoryTokenCache, Token
from mysdk.auth import _token_endpoint
from mysdk.auth import manager as manager_mod
from mysdk.auth.manager import TokenManager
from mysdk.errors import (
    ConnectError,
    MySDKError,
    ReadTimeoutError,
    TokenRequestError,
    TransportError,
)
from tests.hostile.server import Request, drip, hostile_server, respond, response_bytes

TOKEN_URL = "https://auth.example.com/oauth/token"
SECRET = "AT-SECRET-5e1f"
TEN_YEARS = 10 * 365 * 24 * 3600.0
HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def _provider(url: str = TOKEN_URL, **kwargs: Any) -> ClientCredentials:
    return ClientCredentials(token_url=url, client_id="cid", client_secret="sec", **kwargs)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__]
    return seen


def _assert_secret_free(exc: BaseException, secret: str = SECRET) -> None:
    for link in _chain(exc):
        for text in (str(link), repr(link), repr(getattr(link, "__dict__", {})),
                     repr(link.args)):
            assert secret not in text, f"{secret!r} leaked via {type(link).__name__}"


# --- point 4: token responses are validated before anything is cached -----------------------

BAD_TOKENS: list[tuple[str, Any]] = [
    ("cr-lf in token", {"access_token": f"{SECRET}\r\nX-Evil: 1"}),
    ("lf in token", {"access_token": f"{SECRET}\nX"}),
    ("nul in token", {"access_token": f"{SECRET}\x00"}),
    ("tab in token", {"access_token": f"{SECRET}\tx"}),
    ("del in token", {"access_token": f"{SECRET}\x7f"}),
    ("inner space", {"access_token": f"{SECRET} x"}),
    ("leading space", {"access_token": f" {SECRET}"}),
    ("trailing space", {"access_token": f"{SECRET} "}),
    ("not latin-1", {"access_token": f"{SECRET}-\u20ac"}),
    ("latin-1 but not ASCII", {"access_token": f"{SECRET}-\u00e9"}),
    ("empty", {"access_token": ""}),
    ("number", {"access_token": 12345}),
    ("list", {"access_token": [SECRET]}),
    ("null", {"access_token": None}),
    ("missing", {"token_type": "Bearer"}),
    ("mac", {"access_token": SECRET, "token_type": "mac"}),
    ("MAC", {"access_token": SECRET, "token_type": "MAC"}),
    ("DPoP", {"access_token": SECRET, "token_type": "DPoP"}),
    ("'123'", {"access_token": SECRET, "token_type": "123"}),
    ("123", {"access_token": SECRET, "token_type": 123}),
    ("empty type", {"access_token": SECRET, "token_type": ""}),
    ("bearer + token", {"access_token": SECRET, "token_type": f"Bearer {SECRET}"}),
    ("bearer + space", {"access_token": SECRET, "token_type": "Bearer "}),
    ("expires_in nan", {"access_token": SECRET, "expires_in": "nan"}),
    ("expires_in NaN", {"access_token": SECRET, "expires_in": math.nan}),
    ("expires_in Infinity", {"access_token": SECRET, "expires_in": math.inf}),
    ("expires_in negative", {"access_token": SECRET, "expires_in": -1}),
    ("expires_in -0.5", {"access_token": SECRET, "expires_in": -0.5}),
    ("expires_in '-5'", {"access_token": SECRET, "expires_in": "-5"}),
    ("expires_in true", {"access_token": SECRET, "expires_in": True}),
    ("expires_in false", {"access_token": SECRET, "expires_in": False}),
    ("expires_in 10**400", {"access_token": SECRET, "expires_in": 10**400}),
    ("expires_in '1e999'", {"access_token": SECRET, "expires_in": "1e999"}),
    ("expires_in 4000 digits", {"access_token": SECRET, "expires_in": int("9" * 4000)}),
    ("expires_in list", {"access_token": SECRET, "expires_in": [60]}),
    ("expires_in word", {"access_token": SECRET, "expires_in": "soon"}),
]


def _raw_json(data: Any) -> str:
    # json.dumps writes NaN/Infinity as the (non-standard) bare words servers also send.
    return json.dumps(data)


@pytest.mark.parametrize("data", [d for _, d in BAD_TOKENS], ids=[n for n, _ in BAD_TOKENS])
def test_bad_token_responses_are_refused_and_nothing_is_cached(
    session: requests.Session, data: Any,
) -> None:
    provider = _provider()
    cache = MemoryTokenCache()
    manager = TokenManager(provider, cache, session=session, timeout=(2, 2))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, body=_raw_json(data), content_type="application/json")
        with pytest.raises(TokenRequestError) as info:
            manager.token()
    err = info.value
    assert err.error == "invalid_response"
    assert err.status_code == 200
    assert err.__cause__ is None
    assert err.__context__ is None
    _assert_secret_free(err)
    assert cache.get(provider.cache_key) is None


@pytest.mark.parametrize("body", ['{"access_token": "AT", "expires_in": 1e999}',
                                  '{"access_token": "AT", "expires_in": -Infinity}',
                                  '{"access_token": "AT", "expires_in": NaN}',
                                  '{"access_token": "AT", "expires_in": 1' + "0" * 400 + "}"])
def test_non_finite_expires_in_literals_are_refused(session: requests.Session,
                                                    body: str) -> None:
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, body=body, content_type="application/json")
        with pytest.raises(TokenRequestError) as info:
            _provider().fetch_token(session, timeout=2, previous=None)
    assert info.value.error == "invalid_response"
    assert info.value.__context__ is None


@pytest.mark.parametrize(
    ("data", "lifetime"),
    [
        ({"access_token": "AT"}, None),  # token_type absent: tolerated as Bearer
        ({"access_token": "AT", "token_type": None}, None),
        ({"access_token": "AT", "token_type": "bearer", "expires_in": 60}, 60.0),
        ({"access_token": "AT", "token_type": "BEARER", "expires_in": "60"}, 60.0),
        ({"access_token": "AT", "token_type": "Bearer", "expires_in": 0}, 0.0),
        ({"access_token": "AT", "expires_in": 10**20}, TEN_YEARS),  # clamped
        ({"access_token": "AT", "expires_in": 1e300}, TEN_YEARS),
        ({"access_token": "AT", "expires_in": " 90 "}, 90.0),
        ({"access_token": "eyJ.a-b_c~d+e/f==", "expires_in": 1.5}, 1.5),
        ({"access_token": "app|id:x!#$%&'*()<>?@[]^`{}", "expires_in": 5}, 5.0),
    ],
)
def test_valid_token_responses(session: requests.Session, data: dict[str, Any],
                               lifetime: float | None) -> None:
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, json=data)
        token = _provider().fetch_token(session, timeout=2, previous=None)
    assert token.token_type == "Bearer"
    assert token.access_token == data["access_token"]
    assert token.authorization() == f"Bearer {data['access_token']}"
    assert token.lifetime == (None if lifetime is None else pytest.approx(lifetime))


# --- point 5: nothing raw escapes the token path ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "content_type"),
    [
        ("deep nesting", b"[" * 100_000, "application/json"),
        ("deep object", b'{"a":' * 100_000, "application/json"),
        ("not utf-8", b'{"access_token": "AT-\xff\xfe"}', "application/json"),
        ("utf-16", '{"access_token": "AT"}'.encode("utf-16"), "application/json"),
        ("empty", b"", "application/json"),
        ("a json array", b'["AT"]', "application/json"),
        ("a json string", b'"AT"', "application/json"),
        ("html", b"<html>AT</html>", "text/html"),
        ("over 64 KiB", json.dumps({"access_token": "AT", "pad": "x" * 70_000}).encode(),
         "application/json"),
    ],
)
def test_malformed_bodies_are_invalid_response(session: requests.Session, name: str,
                                               body: bytes, content_type: str) -> None:
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, body=body, content_type=content_type)
        with pytest.raises(TokenRequestError) as info:
            _provider().fetch_token(session, timeout=2, previous=None)
    assert info.value.error == "invalid_response"
    assert info.value.__context__ is None
    assert info.value.__cause__ is None


def test_huge_numbers_in_other_fields_do_not_break_parsing(session: requests.Session) -> None:
    body = '{"access_token": "AT", "expires_in": 60, "x": ' + "7" * 5000 + "}"
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, body=body, content_type="application/json")
        token = _provider().fetch_token(session, timeout=2, previous=None)
    assert token.access_token == "AT"


def test_a_utf8_bom_is_ignored(session: requests.Session) -> None:
    # RFC 8259 §8.1: a parser MAY ignore a byte order mark; mysdk does.
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, body=b'\xef\xbb\xbf{"access_token": "AT", "expires_in": 60}',
                content_type="application/json")
        token = _provider().fetch_token(session, timeout=2, previous=None)
    assert token.access_token == "AT"


@pytest.mark.parametrize("content_type", ["text/plain", "text/html; charset=utf-8", None])
def test_a_json_token_response_with_another_content_type_is_accepted(
    session: requests.Session, content_type: str | None,
) -> None:
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, body='{"access_token": "AT", "expires_in": 60}',
                content_type=content_type)
        token = _provider().fetch_token(session, timeout=2, previous=None)
    assert token.access_token == "AT"


def test_an_error_answer_with_control_characters_is_tamed(session: requests.Session) -> None:
    description = "bad\r\nX-Injected: 1 " + "y" * 5000
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, status=400, json={"error": "invalid_client\r\nX: 1",
                                             "error_description": description})
        with pytest.raises(TokenRequestError) as info:
            _provider().fetch_token(session, timeout=2, previous=None)
    err = info.value
    assert "\r" not in str(err)
    assert "\n" not in str(err)
    assert err.error == "invalid_response"  # not an RFC 6749 §5.2 error code
    assert err.error_description is None or len(err.error_description) <= 1024
    assert err.status_code == 400


json_scalars = (st.none() | st.booleans() | st.integers() | st.floats()
                | st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)
token_objects = st.fixed_dictionaries(
    {},
    optional={
        "access_token": st.from_regex(r"[A-Za-z0-9._~+/|-]{1,40}", fullmatch=True)
        | st.text(max_size=40) | json_values,
        "token_type": st.sampled_from(["Bearer", "bearer", "mac", "DPoP", "", "Bearer x"])
        | json_values,
        "expires_in": st.integers() | st.floats() | st.text(max_size=12) | json_values,
        "refresh_token": st.text(max_size=20) | json_values,
        "scope": st.text(max_size=20) | json_values,
        "error": st.sampled_from(["invalid_grant", "invalid_client"]) | json_values,
        "error_description": json_values,
    },
)


# Mostly well-formed token responses, so that the accepting path is exercised too.
plausible_tokens = st.fixed_dictionaries(
    {"access_token": st.from_regex(r"[A-Za-z0-9._~+/|-]{1,40}", fullmatch=True)},
    optional={
        "token_type": st.sampled_from(["Bearer", "bearer", "BEARER", "mac"]) | st.none(),
        "expires_in": st.integers(-5, 10**30) | st.floats(-1, 1e300)
        | st.sampled_from(["3600", " 60 ", "1e3", "1e999", "-1"]),
        "refresh_token": st.text(max_size=20),
        "scope": st.text(max_size=20),
    },
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["plausible", "plausible", "token", "token", "json", "bytes",
                                 "deep", "bom", "utf16"]))
    if kind == "plausible":
        return json.dumps(draw(plausible_tokens)).encode()
    if kind == "token":
        return json.dumps(draw(token_objects)).encode()
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "deep":
        return draw(st.sampled_from([b"[", b"{\"a\":", b"[{\"b\":"])) * draw(
            st.integers(1, 50_000))
    if kind == "bom":
        return b"\xef\xbb\xbf" + json.dumps(draw(token_objects)).encode()
    if kind == "utf16":
        return json.dumps(draw(token_objects)).encode("utf-16")
    return draw(st.binary(max_size=200))


headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(["application/json", "text/plain",
                                         "application/json; charset=latin-1", ""]),
        "Retry-After": st.text(max_size=40) | st.sampled_from(["0", "5", "1e999", "-1",
                                                             "Wed, 21 Oct 2015 07:28:00 GMT"]),
        "Location": st.text(max_size=40) | st.just("https://evil.example/x?sig=s"),
        "Content-Encoding": st.sampled_from(["identity"] * 6 + ["gzip", "deflate", "x"]),
    },
)


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.data_too_large])
@given(status=st.just(200) | st.sampled_from([200, 201, 204, 301, 302, 307, 400, 401, 429,
                                              500, 503]) | st.integers(200, 599),
       body=bodies(), extra=headers)
def test_fuzzed_token_responses_raise_only_mysdk_errors(
    status: int, body: bytes, extra: dict[str, str],
) -> None:
    provider = _provider()
    with requests.Session() as session, responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, status=status, body=body, headers=extra)
        outcome: Token | MySDKError
        try:
            outcome = provider.fetch_token(session, timeout=(2, 2), previous=None)
        except MySDKError as exc:  # anything else fails the test
            outcome = exc
        assert len(rs.calls) == 1  # never a second request (no redirect is followed)
    event(type(outcome).__name__ + f" {getattr(outcome, 'error', '')}".rstrip())
    if isinstance(outcome, MySDKError):
        retry_after = getattr(outcome, "retry_after", None)
        assert retry_after is None or 0 <= retry_after < math.inf
        assert outcome.__context__ is None
        return
    token = outcome
    assert isinstance(token, Token)
    assert status == 200
    assert HEADER_SAFE.fullmatch(token.access_token)
    assert token.token_type == "Bearer"
    assert token.authorization() == f"Bearer {token.access_token}"
    if token.expires_at is not None:
        assert math.isfinite(token.expires_at)
        assert 0 <= token.expires_at - token.issued_at <= TEN_YEARS


@settings(max_examples=200)
@given(data=plausible_tokens)
def test_fuzzed_plausible_token_responses_are_accepted_only_when_valid(
    data: dict[str, Any],
) -> None:
    with requests.Session() as session, responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, body=json.dumps(data), content_type="application/json")
        outcome: Token | TokenRequestError
        try:
            outcome = _provider().fetch_token(session, timeout=(2, 2), previous=None)
        except TokenRequestError as exc:
            outcome = exc
    expires_in = data.get("expires_in")
    must_fail = (str(data.get("token_type", "Bearer")).lower() not in ("bearer", "none")
                 or (isinstance(expires_in, (int, float)) and not 0 <= expires_in < math.inf)
                 or expires_in in ("1e999", "-1"))
    event("refused" if isinstance(outcome, TokenRequestError) else "accepted")
    if isinstance(outcome, TokenRequestError):
        assert outcome.error == "invalid_response"
        assert must_fail
        return
    assert not must_fail
    assert outcome.access_token == data["access_token"]
    assert outcome.authorization() == f"Bearer {data['access_token']}"
    assert outcome.token_type == "Bearer"
    if expires_in is None:
        assert outcome.expires_at is None
    else:
        assert outcome.lifetime is not None
        assert 0 <= outcome.lifetime <= TEN_YEARS


# --- point 3: a token request is never redirected ---------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_not_followed(status: int) -> None:
    def handler(conn: socket.socket, request: Request) -> None:
        respond(conn, status, b"", {
            "Location": "https://evil.example/steal?sig=SIG-SECRET&tenant=t1"})

    with hostile_server(handler) as server, requests.Session() as session:
        with pytest.raises(TokenRequestError) as info:
            _provider(f"{server.url}/oauth/token").fetch_token(session, timeout=(2, 2),
                                                               previous=None)
        assert len(server.requests) == 1
    err = info.value
    assert err.error == "invalid_response"
    assert err.status_code == status
    text = str(err)
    assert "redirect" in text
    assert str(status) in text
    assert "https://evil.example/steal?sig=***&tenant=t1" in text
    _assert_secret_free(err, "SIG-SECRET")
    assert err.__context__ is None


def test_a_redirect_with_a_dripping_body_is_refused_without_reading_it() -> None:
    # requests reads a 3xx body in full even with allow_redirects=False (to
    # prepare Response.next); a token request must not wait for it.
    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(response_bytes(302, b"", {"Location": "https://evil.example/x",
                                               "Content-Length": "1000"}))
        drip(conn, b"x" * 1000, 0.2, limit=4.0)

    with hostile_server(handler) as server, requests.Session() as session:
        started = time.monotonic()
        with pytest.raises(TokenRequestError, match="redirect") as info:
            _provider(f"{server.url}/oauth/token").fetch_token(session, timeout=(0.5, 0.5),
                                                               previous=None)
        elapsed = time.monotonic() - started
    assert info.value.error == "invalid_response"
    assert elapsed < 1.0, f"a dripping redirect held the token request {elapsed:.2f} s"


@pytest.mark.parametrize("location", ["http://[::1/x", "http://exa mple.com/\x7f",
                                      "//[bad/x", ""])
def test_a_redirect_with_a_malformed_location_is_an_invalid_response(location: str) -> None:
    def handler(conn: socket.socket, request: Request) -> None:
        respond(conn, 302, b"moved", {"Location": location})

    with hostile_server(handler) as server, requests.Session() as session, \
            pytest.raises(TokenRequestError, match="redirect") as info:
        _provider(f"{server.url}/oauth/token").fetch_token(session, timeout=(2, 2),
                                                           previous=None)
    assert info.value.error == "invalid_response"
    assert "\x7f" not in str(info.value)
    assert info.value.__context__ is None


def test_session_response_hooks_still_see_a_redirect() -> None:
    seen: list[tuple[int, str | None]] = []

    def handler(conn: socket.socket, request: Request) -> None:
        respond(conn, 307, b"", {"Location": "https://evil.example/x"})

    with hostile_server(handler) as server, requests.Session() as session:
        session.hooks["response"].append(
            lambda r, *a, **k: seen.append((r.status_code, r.headers.get("Location"))))
        with pytest.raises(TokenRequestError):
            _provider(f"{server.url}/oauth/token").fetch_token(session, timeout=(2, 2),
                                                               previous=None)
        assert session.hooks["response"][-1] is not None
        assert len(session.hooks["response"]) == 1  # the session is untouched
    assert seen == [(307, "https://evil.example/x")]


def test_a_relative_redirect_is_named_resolved_and_redacted(session: requests.Session) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, status=302, headers={"Location": "/login?code=CODE-SECRET"})
        with pytest.raises(TokenRequestError) as info:
            _provider().fetch_token(session, timeout=2, previous=None)
        assert len(rs.calls) == 1
    assert "https://auth.example.com/login?code=***" in str(info.value)
    _assert_secret_free(info.value, "CODE-SECRET")


# --- point 9: every wait is bounded -------------------------------------------------------------


def test_a_dripping_token_endpoint_is_cut_off_at_the_timeout() -> None:
    body = b'{"access_token": "AT-1", "token_type": "Bearer", "expires_in": 60}'

    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(response_bytes(200, b"", {"Content-Length": str(len(body)),
                                               "Content-Type": "application/json"}))
        drip(conn, body, 0.2, limit=4.0)

    with hostile_server(handler) as server, requests.Session() as session:
        provider = _provider(f"{server.url}/oauth/token")
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError) as info:
            provider.fetch_token(session, timeout=(0.5, 0.5), previous=None)
        elapsed = time.monotonic() - started
    assert isinstance(info.value, TransportError)
    assert elapsed < 1.5, f"token request held {elapsed:.2f} s with timeout=(0.5, 0.5)"
    assert info.value.__context__ is None


@pytest.mark.parametrize(("timeout", "seconds"), [
    ((0.5, 0.5), 1.0), ((2, 7.5), 9.5), (3, 6.0), (0.25, 0.5), (None, 300.0),
    ((None, 4), 154.0), ((1, None), 151.0)])
def test_the_deadline_matches_the_token_managers_budget(timeout: Any, seconds: float) -> None:
    assert _token_endpoint.request_seconds(timeout) == seconds
    # A follower waits at least as long as the leader's token request may take.
    manager = manager_mod.TokenManager(_provider("https://auth.example.com/token"),
                                       MemoryTokenCache(), session=requests.Session(),
                                       timeout=timeout, lock_timeout=0.0)
    assert manager._flight_timeout >= seconds


def test_a_token_response_over_64_kib_is_refused_without_reading_it_all() -> None:
    big = b'{"access_token": "AT", "pad": "' + b"x" * (1 << 20) + b'"}'

    def handler(conn: socket.socket, request: Request) -> None:
        respond(conn, 200, big, {"Content-Type": "application/json"})

    with hostile_server(handler) as server, requests.Session() as session, \
            pytest.raises(TokenRequestError, match="64 KiB") as info:
        _provider(f"{server.url}/oauth/token").fetch_token(session, timeout=(2, 2),
                                                           previous=None)
    assert info.value.error == "invalid_response"


def test_an_unreachable_endpoint_raises_a_chain_free_connect_error(
    session: requests.Session,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectError) as info:
        _provider(f"http://127.0.0.1:{port}/t?sig=SIG-SECRET").fetch_token(
            session, timeout=(1, 1), previous=None)
    assert info.value.__context__ is None
    _assert_secret_free(info.value, "SIG-SECRET")


# --- point 10: transient failures say when to retry -------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "body", "retry_after"),
    [
        (429, {"Retry-After": "7"}, {"error": "slow_down"}, 7.0),
        (503, {"Retry-After": "2.5"}, {"error": "temporarily_unavailable"}, 2.5),
        (503, {"Retry-After": "soon"}, None, None),
        (503, {}, None, None),
        (500, {"Retry-After": "2"}, {"error": "server_error"}, 2.0),
        (400, {"Retry-After": "3"}, {"error": "temporarily_unavailable"}, 3.0),
        (400, {"Retry-After": "7"}, {"error": "invalid_request"}, None),
        (401, {"Retry-After": "7"}, {"error": "invalid_client"}, None),
    ],
)
def test_retry_after_is_kept_on_transient_failures(
    session: requests.Session, status: int, headers: dict[str, str],
    body: dict[str, str] | None, retry_after: float | None,
) -> None:
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, status=status, headers=headers,
                **({"json": body} if body is not None else {"body": "busy"}))
        with pytest.raises(TokenRequestError) as info:
            _provider().fetch_token(session, timeout=2, previous=None)
    err = info.value
    assert err.retry_after == retry_after
    assert err.retryable == (status not in (400, 401) or body == {
        "error": "temporarily_unavailable"})
    assert err.status_code == status


def test_retry_after_as_an_http_date(session: requests.Session) -> None:
    when = formatdate(time.time() + 30, usegmt=True)
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, status=503, headers={"Retry-After": when}, body="down")
        with pytest.raises(TokenRequestError) as info:
            _provider().fetch_token(session, timeout=2, previous=None)
    assert info.value.retry_after is not None
    assert 25 <= info.value.retry_after <= 31
