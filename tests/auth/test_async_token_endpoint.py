"""The token endpoint over httpx keeps every guarantee of the requests one.

Whatever a token endpoint answers, ``arequest_token``/``arequest_form`` give the
same token or the same error as ``request_token``/``request_form`` (the answer is
judged by the same functions): most tests run both against one misbehaving
loopback server, and a property test feeds both the same answers. The async
side adds its own: the caller's ``httpx.AsyncClient`` is not changed and none of
its credentials (headers, auth, cookies, params) reach the token endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mysdk import ClientCredentials, Token
from mysdk.auth._token_endpoint import request_form, request_token
from mysdk.auth._token_endpoint_async import arequest_form, arequest_token
from mysdk.auth.flow_async import afetch_token
from mysdk.errors import (
    ConnectError,
    InvalidRequestError,
    MySDKError,
    ReadTimeoutError,
    TokenRequestError,
)
from tests.hostile.server import HostileServer, Request, drip, respond, response_bytes
from tests.hostile.test_token_endpoint import BAD_TOKENS, SECRET, _assert_secret_free, bodies

KINDS = ["sync", "async"]
CLIENT_SECRET = "CS-SECRET-77aa"
FORM = {"grant_type": "client_credentials"}
TOKEN_JSON = b'{"access_token": "AT-1", "token_type": "Bearer", "expires_in": 60}'
Handler = Callable[[socket.socket, Request], None]


class Endpoint:
    """The module's loopback server, answering with this test's ``handler``."""

    def __init__(self, server: HostileServer, box: dict[str, Handler]) -> None:
        self.server = server
        self._box = box

    @property
    def url(self) -> str:
        return f"{self.server.url}/oauth/token"

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def handle(self, handler: Handler) -> None:
        self._box["handler"] = handler

    def answer(self, status: int, body: bytes | str = b"",
               headers: dict[str, str] | None = None) -> None:
        self.handle(lambda conn, request: respond(conn, status, body, headers))


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[HostileServer, dict[str, Handler]]]:
    box: dict[str, Handler] = {}

    def dispatch(conn: socket.socket, request: Request) -> None:
        box["handler"](conn, request)

    server = HostileServer(dispatch)
    try:
        yield server, box
    finally:
        server.stop()


@pytest.fixture
def endpoint(_server: tuple[HostileServer, dict[str, Handler]]) -> Endpoint:
    server, box = _server
    server.requests.clear()
    return Endpoint(server, box)


def post(kind: str, url: str, form: dict[str, str] | None = None, *, timeout: Any = (2, 2),
         auth_method: Any = "client_secret_basic", client_secret: str | None = CLIENT_SECRET,
         session: requests.Session | None = None,
         client: Callable[[], httpx.AsyncClient] = httpx.AsyncClient) -> Token:
    """One token request by the ``kind`` transport."""
    args: dict[str, Any] = {"client_id": "cid", "client_secret": client_secret,
                            "auth_method": auth_method, "timeout": timeout}
    if kind == "sync":
        with session or requests.Session() as s:
            return request_token(s, url, form or FORM, **args)

    async def run() -> Token:
        async with client() as http:
            return await arequest_token(http, url, form or FORM, **args)

    return asyncio.run(run())


def outcome(kind: str, url: str, **kwargs: Any) -> Token | MySDKError:
    try:
        return post(kind, url, **kwargs)
    except MySDKError as exc:  # anything else fails the test
        return exc


def refused(kind: str, url: str, **kwargs: Any) -> TokenRequestError:
    result = outcome(kind, url, **kwargs)
    assert isinstance(result, TokenRequestError), result
    assert result.__context__ is None
    return result


# --- valid and invalid token responses -------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("body", "lifetime"), [
    ({"access_token": "AT"}, None),
    ({"access_token": "AT", "token_type": "BEARER", "expires_in": "60"}, 60.0),
    ({"access_token": "AT", "expires_in": 10**20}, 10 * 365 * 24 * 3600.0),
    ({"access_token": "app|id:x!#$%&'*()<>?@[]^`{}", "expires_in": 5}, 5.0),
])
def test_valid_token_responses(endpoint: Endpoint, kind: str, body: dict[str, Any],
                               lifetime: float | None) -> None:
    endpoint.answer(200, json.dumps(body), {"Content-Type": "application/json"})
    before = time.time()
    token = post(kind, endpoint.url)
    assert token.access_token == body["access_token"]
    assert token.token_type == "Bearer"
    assert token.lifetime == (None if lifetime is None else pytest.approx(lifetime))
    assert before <= token.issued_at <= time.time()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("data", [d for _, d in BAD_TOKENS], ids=[n for n, _ in BAD_TOKENS])
def test_bad_token_shapes_are_invalid_responses(endpoint: Endpoint, kind: str,
                                                data: Any) -> None:
    endpoint.answer(200, json.dumps(data), {"Content-Type": "application/json"})
    err = refused(kind, endpoint.url)
    assert err.error == "invalid_response"
    assert err.status_code == 200
    assert err.__cause__ is None
    _assert_secret_free(err)
    _assert_secret_free(err, CLIENT_SECRET)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "body"), [
    ("deep nesting", b"[" * 100_000),
    ("deep object", b'{"a":' * 100_000),
    ("not utf-8", b'{"access_token": "AT-\xff\xfe"}'),
    ("utf-16", '{"access_token": "AT"}'.encode("utf-16")),
    ("empty", b""),
    ("a json array", b'["AT"]'),
    ("a json string", b'"AT"'),
    ("NaN", b'{"access_token": "AT", "expires_in": NaN}'),
    ("html", b"<html>AT</html>"),
    ("over 64 KiB", json.dumps({"access_token": "AT", "pad": "x" * 70_000}).encode()),
])
def test_malformed_bodies_are_invalid_responses(endpoint: Endpoint, kind: str, name: str,
                                                body: bytes) -> None:
    endpoint.answer(200, body, {"Content-Type": "application/json"})
    err = refused(kind, endpoint.url)
    assert err.error == "invalid_response"
    assert err.__cause__ is None


@pytest.mark.parametrize("kind", KINDS)
def test_a_bom_is_ignored_and_the_content_type_is_not_checked(endpoint: Endpoint,
                                                               kind: str) -> None:
    endpoint.answer(200, b"\xef\xbb\xbf" + TOKEN_JSON, {"Content-Type": "text/html"})
    assert post(kind, endpoint.url).access_token == "AT-1"


# --- redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_not_followed(endpoint: Endpoint, kind: str,
                                                status: int) -> None:
    endpoint.answer(status, b"", {
        "Location": f"{endpoint.server.url}/steal?sig=SIG-SECRET&tenant=t1"})
    err = refused(kind, endpoint.url)
    assert len(endpoint.requests) == 1  # not followed, though the target is the same server
    assert err.error == "invalid_response"
    assert err.status_code == status
    assert f"redirect (HTTP {status} to {endpoint.server.url}/steal?sig=***&tenant=t1)" \
        in str(err)
    _assert_secret_free(err, "SIG-SECRET")
    _assert_secret_free(err, CLIENT_SECRET)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("location", ["http://[::1/x", "http://exa mple.com/\x7f", "//[bad/x",
                                      ""])
def test_a_redirect_with_a_malformed_location_is_an_invalid_response(
    endpoint: Endpoint, kind: str, location: str,
) -> None:
    endpoint.answer(302, b"moved", {"Location": location})
    err = refused(kind, endpoint.url)
    assert err.error == "invalid_response"
    assert "redirect" in str(err)
    assert "\x7f" not in str(err)
    assert len(endpoint.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_redirect_with_a_dripping_body_is_refused_without_reading_it(
    endpoint: Endpoint, kind: str,
) -> None:
    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(response_bytes(302, b"", {"Location": "https://evil.example/x",
                                               "Content-Length": "1000"}))
        drip(conn, b"x" * 1000, 0.2, limit=4.0)

    endpoint.handle(handler)
    started = time.monotonic()
    err = refused(kind, endpoint.url, timeout=(0.5, 0.5))
    elapsed = time.monotonic() - started
    assert err.error == "invalid_response"
    assert elapsed < 1.0, f"a dripping redirect held the token request {elapsed:.2f} s"


# --- every wait is bounded; at most 64 KiB is read --------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_dripping_body_is_cut_at_the_deadline(endpoint: Endpoint, kind: str) -> None:
    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(response_bytes(200, b"", {"Content-Length": str(len(TOKEN_JSON))}))
        drip(conn, TOKEN_JSON, 0.2, limit=4.0)  # each byte within the read timeout

    endpoint.handle(handler)
    started = time.monotonic()
    result = outcome(kind, endpoint.url, timeout=(0.5, 0.5))
    elapsed = time.monotonic() - started
    assert isinstance(result, ReadTimeoutError), result
    assert result.__context__ is None
    assert 0.9 <= elapsed < 1.5, f"held {elapsed:.2f} s with timeout=(0.5, 0.5)"


def test_a_dripping_status_line_and_headers_are_cut_at_the_deadline(
    endpoint: Endpoint,
) -> None:
    # httpx's read timeout bounds one read; the async path bounds the whole head too.
    endpoint.handle(lambda conn, request: drip(conn, response_bytes(200, TOKEN_JSON), 0.1,
                                               limit=4.0))
    started = time.monotonic()
    result = outcome("async", endpoint.url, timeout=(0.5, 0.5))
    elapsed = time.monotonic() - started
    assert isinstance(result, ReadTimeoutError), result
    assert result.__context__ is None
    assert elapsed < 1.5


@pytest.mark.parametrize("kind", KINDS)
def test_a_token_response_over_64_kib_is_refused(endpoint: Endpoint, kind: str) -> None:
    endpoint.answer(200, b'{"access_token": "AT", "pad": "' + b"x" * (1 << 20) + b'"}')
    err = refused(kind, endpoint.url)
    assert err.error == "invalid_response"
    assert "64 KiB" in str(err)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unreachable_endpoint_is_a_chain_free_connect_error(kind: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = outcome(kind, f"http://127.0.0.1:{port}/t?sig=SIG-SECRET", timeout=(1, 1))
    assert isinstance(result, ConnectError), result
    assert result.__context__ is None
    _assert_secret_free(result, "SIG-SECRET")
    _assert_secret_free(result, CLIENT_SECRET)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/t", "ftp://127.0.0.1/t"])
def test_a_request_that_cannot_be_built_is_an_invalid_request(kind: str, url: str) -> None:
    result = outcome(kind, url)
    assert isinstance(result, InvalidRequestError), result
    assert result.__context__ is None


def test_a_closed_client_is_an_invalid_request(endpoint: Endpoint) -> None:
    async def run() -> None:
        http = httpx.AsyncClient()
        await http.aclose()
        await arequest_token(http, endpoint.url, FORM, client_id="cid",
                             client_secret=CLIENT_SECRET, auth_method="client_secret_basic",
                             timeout=1)

    with pytest.raises(InvalidRequestError) as info:
        asyncio.run(run())
    assert info.value.__context__ is None
    assert endpoint.requests == []


# --- RFC 6749 §5.2 errors; what is retryable and when ----------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_an_rfc6749_error_is_named_and_tamed(endpoint: Endpoint, kind: str) -> None:
    endpoint.answer(400, json.dumps({"error": "invalid_grant",
                                     "error_description": "bad\r\nX-Injected: 1 " + "y" * 600}))
    err = refused(kind, endpoint.url)
    assert err.error == "invalid_grant"
    assert err.status_code == 400
    assert not err.retryable
    assert "\r" not in str(err)
    assert "\n" not in str(err)
    assert err.error_description is not None
    assert len(err.error_description) <= 515
    _assert_secret_free(err, CLIENT_SECRET)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("status", "headers", "body", "retry_after", "retryable"), [
    (429, {"Retry-After": "7"}, {"error": "slow_down"}, 7.0, True),
    (503, {"Retry-After": "2.5"}, {"error": "temporarily_unavailable"}, 2.5, True),
    (503, {"Retry-After": "soon"}, None, None, True),
    (503, {}, None, None, True),
    (500, {"Retry-After": "2"}, {"error": "server_error"}, 2.0, True),
    (400, {"Retry-After": "3"}, {"error": "temporarily_unavailable"}, 3.0, True),
    (400, {"Retry-After": "7"}, {"error": "invalid_request"}, None, False),
    (401, {"Retry-After": "7"}, {"error": "invalid_client"}, None, False),
])
def test_retryable_failures_keep_retry_after(
    endpoint: Endpoint, kind: str, status: int, headers: dict[str, str],
    body: dict[str, str] | None, retry_after: float | None, retryable: bool,
) -> None:
    endpoint.answer(status, json.dumps(body) if body is not None else "busy", headers)
    err = refused(kind, endpoint.url)
    assert err.status_code == status
    assert err.retryable is retryable
    assert err.retry_after == retry_after
    assert err.error == (body["error"] if body else "invalid_response")


# --- the caller's client: untouched, and none of its credentials sent ------------------------


def _gateway_client() -> httpx.AsyncClient:
    http = httpx.AsyncClient(
        headers={"X-Gateway-Key": "gw-secret", "Authorization": "Bearer api-secret",
                 "User-Agent": "caller-agent/1.0", "Accept": "text/plain"},
        auth=("u", "p"), params={"api_key": "param-secret"})
    http.cookies.set("sid", "cookie-secret", domain="127.0.0.1", path="/")
    return http


def _snapshot(http: httpx.AsyncClient) -> Any:
    return (list(http.headers.multi_items()), http.auth, dict(http.cookies),
            str(http.params), http.follow_redirects, http.timeout, dict(http.event_hooks))


def _assert_no_caller_credentials(request: Request) -> None:
    raw = repr(request)
    for secret in ("gw-secret", "api-secret", "param-secret", "cookie-secret",
                   base64.b64encode(b"u:p").decode()):
        assert secret not in raw, f"{secret} was sent to the token endpoint"
    assert request.header("Cookie") is None
    assert request.header("X-Gateway-Key") is None
    assert request.target == "/oauth/token?tenant=t1"
    assert request.header("User-Agent") == "caller-agent/1.0"  # harmless: kept
    assert request.header("Accept") == "application/json"


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_the_clients_headers_auth_cookies_and_params_are_not_sent(
    endpoint: Endpoint, auth_method: str,
) -> None:
    endpoint.answer(200, TOKEN_JSON, {"Content-Type": "application/json"})

    async def run() -> tuple[Any, Any, Token]:
        async with _gateway_client() as http:
            before = _snapshot(http)
            # Control: the client does send its cookie and credentials to this host.
            await http.get(f"{endpoint.server.url}/control")
            token = await arequest_token(
                http, f"{endpoint.url}?tenant=t1", FORM, client_id="cid",
                client_secret=CLIENT_SECRET, auth_method=auth_method,  # type: ignore[arg-type]
                timeout=(2, 2))
            return before, _snapshot(http), token

    before, after, token = asyncio.run(run())
    assert token.access_token == "AT-1"
    assert before == after  # the client is not changed
    control, sent = endpoint.requests
    assert "cookie-secret" in (control.header("Cookie") or "")
    assert control.header("X-Gateway-Key") == "gw-secret"
    _assert_no_caller_credentials(sent)
    form = dict(p.split("=", 1) for p in sent.body.decode().split("&"))
    expected_basic = "Basic " + base64.b64encode(f"cid:{CLIENT_SECRET}".encode()).decode()
    if auth_method == "client_secret_basic":
        assert sent.header("Authorization") == expected_basic
        assert form == {"grant_type": "client_credentials"}
    else:
        assert sent.header("Authorization") is None
        assert form == {"grant_type": "client_credentials", "client_id": "cid",
                        "client_secret": CLIENT_SECRET}


@pytest.mark.parametrize("kind", KINDS)
def test_both_transports_send_the_same_client_authentication(endpoint: Endpoint,
                                                             kind: str) -> None:
    endpoint.answer(200, TOKEN_JSON)
    # RFC 6749 §2.3.1: each part form-urlencoded before the Basic encoding.
    post(kind, f"{endpoint.url}?tenant=t1", client_secret="s+c/é")
    post(kind, endpoint.url, client_secret=None)  # a public client: its id in the form
    basic, public = endpoint.requests
    assert basic.header("Authorization") == "Basic " + base64.b64encode(
        b"cid:s%2Bc%2F%C3%A9").decode()
    assert basic.body == b"grant_type=client_credentials"
    assert public.header("Authorization") is None
    assert public.body == b"grant_type=client_credentials&client_id=cid"
    assert basic.header("Content-Type") == "application/x-www-form-urlencoded"


def test_userinfo_in_the_url_is_not_sent_as_credentials(endpoint: Endpoint) -> None:
    endpoint.answer(200, TOKEN_JSON)
    url = endpoint.url.replace("http://", "http://url-user:url-pass@")
    post("async", url, auth_method="client_secret_post")
    (sent,) = endpoint.requests
    assert sent.header("Authorization") is None
    assert "url-pass" not in repr(sent)


# --- the form endpoints (device authorization, revocation) -----------------------------------


def form_post(kind: str, url: str) -> dict[str, Any]:
    args: dict[str, Any] = {"client_id": "cid", "client_secret": CLIENT_SECRET,
                            "auth_method": "client_secret_basic", "timeout": (2, 2),
                            "what": "revocation request"}
    if kind == "sync":
        with requests.Session() as session:
            return request_form(session, url, {"token": "t"}, **args)

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            return await arequest_form(http, url, {"token": "t"}, **args)

    return asyncio.run(run())


@pytest.mark.parametrize("kind", KINDS)
def test_form_requests(endpoint: Endpoint, kind: str) -> None:
    endpoint.answer(200, b"")
    assert form_post(kind, endpoint.url) == {}
    endpoint.answer(200, b'{"device_code": "d"}')
    assert form_post(kind, endpoint.url) == {"device_code": "d"}
    endpoint.answer(200, b"[1]")
    with pytest.raises(TokenRequestError, match="revocation request was not answered"):
        form_post(kind, endpoint.url)
    endpoint.answer(400, b'{"error": "unsupported_token_type"}')
    with pytest.raises(TokenRequestError, match="unsupported_token_type"):
        form_post(kind, endpoint.url)
    endpoint.answer(307, b"", {"Location": "/elsewhere"})
    with pytest.raises(TokenRequestError, match="revocation request was answered with a "
                                                "redirect"):
        form_post(kind, endpoint.url)
    assert len(endpoint.requests) == 5


# --- the provider through the async driver ---------------------------------------------------


def test_a_provider_through_the_async_driver_fails_as_it_does_sync(endpoint: Endpoint) -> None:
    endpoint.answer(401, b'{"error": "invalid_client"}')
    provider = ClientCredentials(token_url=endpoint.url, client_id="cid",
                                 client_secret=CLIENT_SECRET)
    with requests.Session() as session, pytest.raises(TokenRequestError) as sync_info:
        provider.fetch_token(session, timeout=2, previous=None)

    async def run() -> Token:
        async with httpx.AsyncClient() as http:
            return await afetch_token(provider, http, timeout=2, previous=None)

    with pytest.raises(TokenRequestError) as async_info:
        asyncio.run(run())
    assert str(async_info.value) == str(sync_info.value)
    assert async_info.value.__context__ is None
    _assert_secret_free(async_info.value, CLIENT_SECRET)


# --- one judge: the same answer, the same outcome --------------------------------------------

URL = "https://auth.example.com/oauth/token"
safe_header = st.from_regex(r"[ -~]{0,24}", fullmatch=True)
answer_headers = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from(["application/json", "text/plain", ""]),
    "Retry-After": safe_header | st.sampled_from(["0", "5", "2.5", "1e999", "-1"]),
})


def _summary(result: Token | MySDKError) -> tuple[Any, ...]:
    if isinstance(result, Token):
        return ("token", result.access_token, result.lifetime, result.refresh_token,
                result.scope)
    retry_after = getattr(result, "retry_after", None)
    return (type(result).__name__, str(result), getattr(result, "error", None),
            getattr(result, "status_code", None), retry_after, result.__context__)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.data_too_large])
@given(status=(st.sampled_from([200, 200, 200, 201, 400, 401, 404, 429, 500, 503])
               | st.integers(200, 299) | st.integers(400, 599)).filter(
           # A 204/205 has no body (RFC 9110 §15.3.5-6): the mocks frame one differently
           # (urllib3 breaks off, MockTransport hands it over) before any rule applies.
           lambda status: status not in (204, 205)),
       body=bodies(), headers=answer_headers)
def test_both_transports_judge_the_same_answer_alike(status: int, body: bytes,
                                                     headers: dict[str, str]) -> None:
    with requests.Session() as session, responses.RequestsMock() as rs:
        rs.post(URL, status=status, body=body, headers=headers)
        sync_result = outcome("sync", URL, session=session)

    def mock() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(
            lambda request: httpx.Response(status, content=body, headers=headers)))

    async_result = outcome("async", URL, client=mock)
    assert _summary(async_result) == _summary(sync_result)
    if isinstance(async_result, MySDKError):
        retry_after = getattr(async_result, "retry_after", None)
        assert retry_after is None or 0 <= retry_after < math.inf
        _assert_secret_free(async_result, CLIENT_SECRET)
        _assert_secret_free(async_result, SECRET)
