"""OIDC discovery / RFC 8414 metadata: once per process, issuer checked, failures raised."""

from __future__ import annotations

import pickle
import socket
import threading
from collections.abc import Iterator

import pytest
import requests
import responses

from mysdk.auth.discovery import DISCOVERY_TTL, discover, metadata_urls
from mysdk.auth.login_errors import DiscoveryError
from mysdk.errors import AuthError, InvalidRequestError
from refserver import RunningServer

from .conftest import FakeClock

ISSUER = "https://id.example.com/realms/cars"
OIDC = "https://id.example.com/realms/cars/.well-known/openid-configuration"
RFC8414 = "https://id.example.com/.well-known/oauth-authorization-server/realms/cars"


def document(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "issuer": ISSUER,
        "token_endpoint": f"{ISSUER}/token",
        "authorization_endpoint": f"{ISSUER}/auth",
        "device_authorization_endpoint": f"{ISSUER}/device",
        "revocation_endpoint": f"{ISSUER}/revoke",
        "code_challenge_methods_supported": ["S256"],
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        yield rs


def test_metadata_urls() -> None:
    assert metadata_urls(ISSUER) == (OIDC, RFC8414)
    assert metadata_urls("https://id.example.com/")[0] == (
        "https://id.example.com/.well-known/openid-configuration")  # §4.1: no double slash


def test_discovers_the_refserver(server: RunningServer, session: requests.Session) -> None:
    meta = discover(server.issuer, session=session, timeout=5)
    assert meta.issuer == server.issuer
    assert meta.token_endpoint == server.token_url
    assert meta.device_authorization_endpoint == f"{server.issuer}/oauth/device_authorization"
    assert meta.authorization_endpoint == f"{server.issuer}/oauth/authorize"
    assert meta.revocation_endpoint == f"{server.issuer}/oauth/revoke"
    assert meta.code_challenge_methods == ("S256",)
    assert meta.iss_parameter_supported is True


def test_fetched_once_per_process_and_issuer(
    mock: responses.RequestsMock, session: requests.Session
) -> None:
    mock.get(OIDC, json=document())
    results = []

    def ask() -> None:
        results.append(discover(ISSUER, session=session, timeout=5))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 8
    assert len({id(r) for r in results}) == 1
    assert len(mock.calls) == 1


def test_ttl_then_fetched_again(mock: responses.RequestsMock, session: requests.Session,
                                clock: FakeClock) -> None:
    mock.get(OIDC, json=document())
    discover(ISSUER, session=session, timeout=5, clock=clock)
    clock.advance(DISCOVERY_TTL - 1)
    discover(ISSUER, session=session, timeout=5, clock=clock)
    assert len(mock.calls) == 1
    clock.advance(2)
    discover(ISSUER, session=session, timeout=5, clock=clock)
    assert len(mock.calls) == 2


def test_uses_the_timeout_and_not_the_sessions_credentials(
    mock: responses.RequestsMock,
) -> None:
    mock.get(OIDC, json=document())
    seen: list[int] = []
    with requests.Session() as session:
        session.headers["Authorization"] = "Bearer session-secret"
        session.headers["X-Api-Key"] = "gateway-secret"
        session.hooks["response"].append(lambda r, *a, **k: seen.append(r.status_code))
        discover(ISSUER, session=session, timeout=(2, 7))
    request = mock.calls[0].request
    assert "Authorization" not in request.headers
    assert "X-Api-Key" not in request.headers
    assert request.req_kwargs["timeout"] == (2, 7)
    assert seen == [200]  # the session's own hooks still ran


def test_issuer_mismatch_is_refused(mock: responses.RequestsMock,
                                    session: requests.Session) -> None:
    mock.get(OIDC, json=document(issuer="https://evil.example.com"))
    with pytest.raises(DiscoveryError, match=r"not the configured issuer.*RFC 8414 §3\.3") as info:
        discover(ISSUER, session=session, timeout=5)
    assert isinstance(info.value, AuthError)
    assert info.value.retryable is False


def test_trailing_slash_is_not_the_same_issuer(mock: responses.RequestsMock,
                                               session: requests.Session) -> None:
    mock.get(OIDC, json=document(issuer=ISSUER + "/"))
    with pytest.raises(DiscoveryError, match="identical"):
        discover(ISSUER, session=session, timeout=5)


def test_falls_back_to_rfc8414_on_404(mock: responses.RequestsMock,
                                      session: requests.Session) -> None:
    mock.get(OIDC, status=404)
    mock.get(RFC8414, json=document())
    assert discover(ISSUER, session=session, timeout=5).token_endpoint == f"{ISSUER}/token"


def test_errors_are_raised_and_not_cached(mock: responses.RequestsMock,
                                          session: requests.Session) -> None:
    mock.get(OIDC, status=503)
    with pytest.raises(DiscoveryError, match="HTTP 503") as info:
        discover(ISSUER, session=session, timeout=5)
    assert info.value.retryable is True
    assert info.value.status_code == 503
    mock.replace(responses.GET, OIDC, json=document())
    assert discover(ISSUER, session=session, timeout=5).issuer == ISSUER


@pytest.mark.parametrize(("body", "match"), [
    ({"status": 404}, "HTTP 404"),
    ({"body": "not json"}, "not a JSON object"),
    ({"json": ["a list"]}, "not a JSON object"),
    ({"json": document(token_endpoint=None)}, "no token_endpoint"),
    ({"json": document(token_endpoint="http://id.example.com/token")}, "not loopback"),
    ({"json": document(revocation_endpoint=5)}, "not a string"),
    ({"status": 302, "headers": {"Location": "https://elsewhere.example/meta"}}, "redirect"),
])
def test_unusable_answers(mock: responses.RequestsMock, session: requests.Session,
                          body: dict[str, object], match: str) -> None:
    mock.get(OIDC, **body)  # type: ignore[arg-type]
    mock.get(RFC8414, status=404)
    with pytest.raises(DiscoveryError, match=match) as info:
        discover(ISSUER, session=session, timeout=5)
    pickled = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own data
    assert type(pickled) is DiscoveryError
    assert pickled.message == info.value.message


def test_transport_failure_is_a_retryable_discovery_error(session: requests.Session) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DiscoveryError, match="cannot connect") as info:
        discover(f"http://127.0.0.1:{port}", session=session, timeout=2)
    assert info.value.retryable is True
    assert info.value.__cause__ is not None


def test_read_timeout_is_a_discovery_error(mock: responses.RequestsMock,
                                           session: requests.Session) -> None:
    mock.get(OIDC, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(DiscoveryError, match="read timeout"):
        discover(ISSUER, session=session, timeout=1)


@pytest.mark.parametrize("issuer", ["http://id.example.com", "https://id.example.com?x=1",
                                    "https://id.example.com#f", "ftp://id.example.com"])
def test_issuer_must_be_https_without_query(issuer: str, session: requests.Session) -> None:
    with pytest.raises(InvalidRequestError):
        discover(issuer, session=session, timeout=1)


def test_http_allowed_when_asked(mock: responses.RequestsMock, session: requests.Session) -> None:
    issuer = "http://id.internal"
    mock.get(f"{issuer}/.well-known/openid-configuration",
             json={"issuer": issuer, "token_endpoint": f"{issuer}/token"})
    meta = discover(issuer, session=session, timeout=5, allow_http=True)
    assert meta.token_endpoint == f"{issuer}/token"
    assert meta.device_authorization_endpoint is None
