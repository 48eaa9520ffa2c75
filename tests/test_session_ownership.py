"""The client never changes or closes a caller's session, and closes its own."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from requests.adapters import HTTPAdapter
from responses import matchers
from responses.registries import OrderedRegistry
from urllib3.util.retry import Retry

import mysdk
from mysdk import Client, InvalidRequestError, RetryPolicy, TokenRequestError

BASE = "https://api.example.com"
TOKEN_URL = "https://auth.example.com/oauth/token"


class TrackingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.close_calls = 0

    def close(self) -> None:
        self.close_calls += 1
        super().close()


class TrackingAdapter(HTTPAdapter):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.close_calls = 0

    def close(self) -> None:
        self.close_calls += 1
        super().close()


class GatewayAuth(requests.auth.AuthBase):
    """Gateway credentials in their own header, as a caller's session might carry."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["X-Gateway-Auth"] = "gw"
        return r


def _caller_session(seen: list[str], tmp_path: Path) -> TrackingSession:
    for name in ("corp-ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("dummy\n")
    session = TrackingSession()
    session.headers["X-Gateway"] = "gw-1"
    session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.url))
    session.mount("https://", TrackingAdapter(max_retries=Retry(total=0, read=False)))
    session.mount("http://", TrackingAdapter(pool_maxsize=2))
    session.mount("https://api.example.com", TrackingAdapter(pool_connections=3, max_retries=0))
    session.cookies.set("sid", "cookie-1", domain="api.example.com", path="/")
    session.cookies.set_policy(DefaultCookiePolicy(blocked_domains=["tracker.example"]))
    session.verify = str(tmp_path / "corp-ca.pem")
    session.cert = (str(tmp_path / "client.pem"), str(tmp_path / "client.key"))
    session.proxies = {"https": "http://proxy.internal:3128"}
    session.trust_env = False
    session.max_redirects = 7
    return session


def _snapshot(session: requests.Session) -> dict[str, Any]:
    return {
        "headers": dict(session.headers),
        "auth": session.auth,
        "hooks": {event: list(hooks) for event, hooks in session.hooks.items()},
        "adapters": {prefix: adapter for prefix, adapter in session.adapters.items()},
        "max_retries": {prefix: (a.max_retries, repr(a.max_retries))
                        for prefix, a in session.adapters.items()},
        "cookies": session.cookies.get_dict(),
        "cookie_policy": session.cookies.get_policy(),
        "verify": session.verify,
        "cert": session.cert,
        "proxies": dict(session.proxies),
        "trust_env": session.trust_env,
        "max_redirects": session.max_redirects,
        "stream": session.stream,
    }


def _assert_same(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after.keys() == before.keys()
    for name in ("auth", "cookie_policy"):
        assert after[name] is before[name], name
    assert after["adapters"].keys() == before["adapters"].keys()
    for prefix, adapter in before["adapters"].items():
        assert after["adapters"][prefix] is adapter, prefix
        assert after["max_retries"][prefix][0] is before["max_retries"][prefix][0], prefix
        assert after["max_retries"][prefix][1] == before["max_retries"][prefix][1], prefix
    for name, hooks in before["hooks"].items():
        assert len(after["hooks"][name]) == len(hooks)
        assert all(a is b for a, b in zip(after["hooks"][name], hooks, strict=True))
    for name in ("headers", "cookies", "verify", "cert", "proxies", "trust_env",
                 "max_redirects", "stream"):
        assert after[name] == before[name], name


@pytest.fixture
def loopback_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (so a request really goes through the pools)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"alive": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_client_never_mutates_or_closes_a_callers_session(
    loopback_server: str, tmp_path: Path
) -> None:
    seen: list[str] = []
    session = _caller_session(seen, tmp_path)
    before = _snapshot(session)
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="cid", client_secret="sec")
    sleeps: list[float] = []
    client = Client(base_url=BASE, session=session, auth=provider, headers={"X-Client": "c"},
                    retry=RetryPolicy(max_attempts=2), sleep=sleeps.append,
                    monotonic=lambda: 0.0, idempotency_keys=True)
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T1", "expires_in": 3600})
        rs.get(f"{BASE}/ok", json={"n": 1})
        rs.get(f"{BASE}/reauth", status=401)
        rs.post(TOKEN_URL, json={"access_token": "T2", "expires_in": 3600})
        rs.get(f"{BASE}/reauth", json={"n": 2},
               match=[matchers.header_matcher({"Authorization": "Bearer T2"})])
        rs.post(f"{BASE}/retry", status=503, headers={"Retry-After": "1"})
        rs.post(f"{BASE}/retry", status=201, json={"n": 3})
        assert client.get("/ok") == {"n": 1}
        assert client.get("/reauth") == {"n": 2}
        assert client.post("/retry", json={"a": 1}) == {"n": 3}
        api_headers = rs.calls[1].request.headers
        assert api_headers["X-Gateway"] == "gw-1"  # the caller's settings do apply
        assert api_headers["X-Client"] == "c"
        assert "sid=cookie-1" in api_headers["Cookie"]
        client.close()
    assert sleeps == [1.0]
    assert len(seen) == 7  # every call, token requests included, went through the hooks
    _assert_same(before, _snapshot(session))
    assert session.close_calls == 0
    assert all(a.close_calls == 0 for a in session.adapters.values()
               if isinstance(a, TrackingAdapter))
    # Still usable: through responses, and for real through the adapters' pools.
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.get(f"{BASE}/after", json={"still": "open"})
        assert session.get(f"{BASE}/after").json() == {"still": "open"}
    assert session.get(f"{loopback_server}/ping", timeout=5).json() == {"alive": True}
    session.close()


def test_a_session_the_client_creates_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[requests.Session] = []
    original = requests.Session.close

    def spy(self: requests.Session) -> None:
        closed.append(self)
        original(self)

    monkeypatch.setattr(requests.Session, "close", spy)
    caller = requests.Session()
    with Client(base_url=BASE, session=caller):
        pass
    assert closed == []
    client = Client(base_url=BASE)
    assert closed == []
    client.close()
    assert len(closed) == 1
    assert closed[0] is not caller
    with Client(base_url=BASE):
        pass
    assert len(closed) == 2
    caller.close()


@pytest.mark.parametrize(
    "option",
    [{"verify": False}, {"verify": "/ca.pem"}, {"cert": "/c.pem"}, {"cert": None},
     {"proxies": {"https": "http://p:3128"}}, {"proxies": None}],
)
def test_tls_and_proxy_options_conflict_with_a_callers_session(option: dict[str, Any]) -> None:
    session = requests.Session()
    before = _snapshot(session)
    with pytest.raises(InvalidRequestError, match="session"):
        Client(base_url=BASE, session=session, **option)
    _assert_same(before, _snapshot(session))
    session.close()


@responses.activate(assert_all_requests_are_fired=True)
def test_tls_and_proxy_options_configure_the_created_session() -> None:
    responses.get(f"{BASE}/x", json={})
    proxies = {"https": "http://proxy:3128"}
    with Client(base_url=BASE, verify="/ca.pem", cert=("/c.pem", "/k.pem"),
                proxies=proxies) as client:
        client.get("/x")
    kwargs = responses.calls[0].request.req_kwargs
    assert kwargs["verify"] == "/ca.pem"
    assert kwargs["cert"] == ("/c.pem", "/k.pem")
    assert kwargs["proxies"]["https"] == "http://proxy:3128"
    assert responses.calls[0].request.headers["User-Agent"].startswith("mysdk/")


def test_token_requests_use_the_callers_session_settings(tmp_path: Path) -> None:
    seen: list[str] = []
    session = _caller_session(seen, tmp_path)
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="cid", client_secret="sec")
    client = Client(base_url=BASE, session=session, auth=provider, retry=None)
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T1", "expires_in": 3600})
        rs.get(f"{BASE}/x", json={}, match=[matchers.header_matcher(
            {"Authorization": "Bearer T1"})])
        client.get("/x")
        token_call = rs.calls[0]
        assert token_call.request.url == TOKEN_URL
        assert token_call.request.req_kwargs["verify"] == session.verify
        assert token_call.request.req_kwargs["cert"] == session.cert
        assert token_call.request.req_kwargs["proxies"]["https"] == "http://proxy.internal:3128"
        # The gateway header is for the API: it does not go to the token endpoint.
        assert "X-Gateway" not in token_call.request.headers
        assert rs.calls[1].request.headers["X-Gateway"] == "gw-1"
    assert seen == [TOKEN_URL, f"{BASE}/x"]
    session.close()


def test_token_requests_bypass_the_api_request_path(monkeypatch: pytest.MonkeyPatch) -> None:
    entered: list[str] = []
    original = Client.request

    def spy(self: Client, method: str, path: str, **kwargs: Any) -> requests.Response:
        entered.append(path)
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(Client, "request", spy)
    session = requests.Session()
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="cid", client_secret="sec")
    sleeps: list[float] = []
    client = Client(base_url=BASE, session=session, auth=provider, sleep=sleeps.append,
                    monotonic=lambda: 0.0)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        token = rs.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
        with pytest.raises(TokenRequestError) as info:
            client.get("/x")
        assert token.call_count == 1
        assert len(rs.calls) == 1
    assert info.value.status_code == 401
    assert info.value.error == "invalid_client"
    assert entered == ["/x"]
    assert sleeps == []
    session.close()


# --- session.auth and ~/.netrc never replace the client's credentials -----------------


def test_session_auth_with_client_credentials_is_refused_with_advice() -> None:
    session = requests.Session()
    session.auth = GatewayAuth()
    with pytest.raises(mysdk.InvalidRequestError, match=r"session\.auth = None"):
        Client(base_url=BASE, session=session, auth=mysdk.StaticToken("T"))
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="cid", client_secret="s")
    with pytest.raises(mysdk.InvalidRequestError, match="Authorization"):
        Client(base_url=BASE, session=session, auth=provider)
    assert isinstance(session.auth, GatewayAuth)  # left as it was
    session.close()


def test_session_auth_applies_when_the_client_sends_no_authorization() -> None:
    session = requests.Session()
    session.auth = GatewayAuth()
    for auth in (None, mysdk.APIKey("k-1")):
        client = Client(base_url=BASE, session=session, auth=auth, retry=None)
        with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
            rs.get(f"{BASE}/x", json={}, match=[matchers.header_matcher(
                {"X-Gateway-Auth": "gw"})])
            client.get("/x")
    session.close()


def test_a_netrc_entry_never_replaces_the_bearer_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.example.com login user password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = Client(base_url=BASE, auth=mysdk.StaticToken("T1"), retry=None)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.get(f"{BASE}/x", json={}, match=[matchers.header_matcher(
            {"Authorization": "Bearer T1"})])
        client.get("/x")


# --- a session the client creates reads the environment once ----------------------------


def test_a_created_session_skips_the_environment_when_it_holds_nothing() -> None:
    client = Client(base_url=BASE)
    assert client._session.trust_env is False
    client.close()


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_created_session_keeps_reading_proxy_variables(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "http://proxy.internal:3128")
    client = Client(base_url=BASE)
    assert client._session.trust_env is True
    client.close()


@pytest.mark.parametrize("name", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_variable_is_resolved_once(
    monkeypatch: pytest.MonkeyPatch, name: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("dummy\n")
    monkeypatch.setenv(name, str(bundle))
    client = Client(base_url=BASE, retry=None)
    assert client._session.trust_env is False
    with responses.RequestsMock() as rs:
        rs.get(f"{BASE}/x", json={})
        client.get("/x")
        assert rs.calls[0].request.req_kwargs["verify"] == str(bundle)
    explicit = Client(base_url=BASE, verify=False)
    assert explicit._session.verify is False  # an explicit verify wins


def test_a_created_session_honours_a_netrc_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.example.com login u password p\n")
    monkeypatch.setenv("NETRC", str(netrc))
    assert Client(base_url=BASE)._session.trust_env is True


def test_a_proxy_variable_set_before_the_client_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    client = Client(base_url=BASE, retry=None)
    with responses.RequestsMock() as rs:
        rs.get(f"{BASE}/x", json={})
        client.get("/x")
        assert rs.calls[0].request.req_kwargs["proxies"]["https"] == "http://proxy.internal:3128"


def test_a_callers_session_keeps_its_own_trust_env() -> None:
    session = requests.Session()
    Client(base_url=BASE, session=session)
    assert session.trust_env is True


def test_the_session_and_named_credentials_are_readable_not_writable() -> None:
    session = requests.Session()
    admin = mysdk.StaticToken("admin-token")
    client = Client(base_url=BASE, session=session, credentials={"admin": admin})
    assert client.session is session
    assert client.credentials["admin"] is admin
    with pytest.raises(TypeError):
        client.credentials["other"] = admin  # type: ignore[index]
    assert Client(base_url=BASE).session is not session
