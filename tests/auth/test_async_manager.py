"""AsyncTokenManager: the token lifecycle for asyncio, on the rules the sync manager uses.

Against a real loopback token endpoint (the reference server) where the count
of token requests matters: 1,000 tasks meeting one expiry, two processes
sharing a file cache, the refresh grant's fallback and logins. Against a token
endpoint on ``httpx.MockTransport`` (async, gated by the test) where a test must
hold a fetch in flight: followers' own errors, a cancelled leader, bounded
waits. Every wait is bounded; nothing relies on sleeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import requests
import responses

from mysdk import ClientCredentials, Event, MemoryTokenCache, Token, TokenRequestError
from mysdk.auth import _lifecycle
from mysdk.auth.discovery import adiscover, clear_discovery_cache, discover
from mysdk.auth.flow_async import afetch_token
from mysdk.auth.login_errors import DiscoveryError, LoginRequiredError
from mysdk.auth.manager import TokenManager
from mysdk.auth.manager_async import AsyncTokenManager
from mysdk.auth.refresh import RefreshTokenProvider
from mysdk.errors import AuthError, InvalidRequestError
from mysdk.tokens.aio import as_async_cache
from refserver import DEFAULT_PUBLIC_CLIENT_ID, RunningServer
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.auth.test_refresh import device_refresh_token

ROOT = Path(__file__).resolve().parents[2]
URL = "https://auth.example.com/oauth/token"
WAIT = 10.0  # seconds any one wait of a test may last before the test fails


class Wall:
    """Epoch seconds, moved on by the test (tokens carry real issue times)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def at(self, when: float) -> None:
        """Move the clock to ``when`` (epoch seconds)."""
        self.offset = when - time.time()


class FakeEndpoint:
    """A token endpoint on ``httpx.MockTransport``: issues ``AT-1``, ``AT-2``, ...

    Attributes:
        forms: The form of every request, in order.
        gate: When set (an ``asyncio.Event`` of the running loop), each request
            waits for it (at most ``WAIT`` seconds) before answering.
        started: Set when a request arrives (create it in the running loop).
        fail: ``(status, json)`` to answer instead of a token.
        same: Answer the same access token every time.
    """

    def __init__(self, lifetime: float = 1000.0) -> None:
        self.lifetime = lifetime
        self.forms: list[dict[str, str]] = []
        self.gate: asyncio.Event | None = None
        self.started: asyncio.Event | None = None
        self.fail: tuple[int, dict[str, Any]] | None = None
        self.same = False

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.forms.append(dict(parse_qsl(request.content.decode())))
        if self.started is not None:
            self.started.set()
        if self.gate is not None:
            await asyncio.wait_for(self.gate.wait(), WAIT)
        if self.fail is not None:
            return httpx.Response(self.fail[0], json=self.fail[1])
        n = 1 if self.same else len(self.forms)
        return httpx.Response(200, json={"access_token": f"AT-{n}", "token_type": "Bearer",
                                         "expires_in": self.lifetime})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


def provider(url: str = URL) -> ClientCredentials:
    return ClientCredentials(token_url=url, client_id="cid", client_secret="sec")


def manager(http: httpx.AsyncClient, *, clock: Callable[[], float] = time.time,
            cache: Any = None, p: Any = None, **kwargs: Any) -> AsyncTokenManager:
    options: dict[str, Any] = {"timeout": (2.0, 5.0), "leeway": 60.0, "jitter": 0.0,
                               "lock_timeout": WAIT, "clock": clock}
    options.update(kwargs)
    return AsyncTokenManager(p or provider(), cache or as_async_cache(MemoryTokenCache()),
                             http=http, **options)


async def until(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), WAIT)


# --- single flight against a real token endpoint ----------------------------------------------


def test_1000_tasks_meeting_one_expiry_make_one_token_request(server: RunningServer) -> None:
    wall = Wall()
    p = ClientCredentials(token_url=server.token_url, client_id=DEFAULT_CLIENT_ID,
                          client_secret=DEFAULT_CLIENT_SECRET)

    async def run() -> tuple[Token, list[Any]]:
        async with httpx.AsyncClient() as http:
            mgr = manager(http, clock=wall, p=p)
            first = await mgr.token()
            server.stats.reset()
            wall.offset += 3601  # the token has expired for all 1,000 at once
            results = await asyncio.gather(*(mgr.token() for _ in range(1000)),
                                           return_exceptions=True)
            return first, results

    first, results = asyncio.run(run())
    failures = [r for r in results if not isinstance(r, Token)]
    assert failures == []
    assert {r.access_token for r in results} != {first.access_token}
    assert len({r.access_token for r in results}) == 1
    assert server.stats.token_requests == 1


def test_a_manager_outlives_its_event_loop() -> None:
    # asyncio.run twice: nothing in the manager is bound to the first loop.
    endpoint, wall = FakeEndpoint(), Wall()
    http = endpoint.client()
    mgr = manager(http, clock=wall)
    assert asyncio.run(mgr.token()).access_token == "AT-1"
    wall.offset += 1001

    async def storm() -> set[str]:
        tokens = await asyncio.gather(*(mgr.token() for _ in range(100)))
        return {t.access_token for t in tokens}

    assert asyncio.run(storm()) == {"AT-2"}
    assert len(endpoint.forms) == 2
    asyncio.run(http.aclose())


# --- 401: compare before invalidate -----------------------------------------------------------


def test_a_401_takes_the_newer_token_another_holder_stored() -> None:
    endpoint = FakeEndpoint()

    async def run() -> None:
        async with endpoint.client() as http:
            mgr = manager(http)
            old = await mgr.token()
            newer = Token("from-another-process", expires_at=time.time() + 3600,
                          issued_at=time.time())
            await mgr.cache.set(mgr.key, newer)
            assert await mgr.on_unauthorized(old) is True
            assert await mgr.token() == newer
            assert await mgr.cache.get(mgr.key) == newer

    asyncio.run(run())
    assert len(endpoint.forms) == 1  # no request: the cache had a different token


def test_a_401_replaces_the_token_when_the_cache_still_holds_it() -> None:
    endpoint = FakeEndpoint()

    async def run() -> None:
        async with endpoint.client() as http:
            mgr = manager(http)
            old = await mgr.token()
            assert await mgr.on_unauthorized(old) is True
            new = await mgr.token()
            assert new.access_token == "AT-2"
            assert await mgr.cache.get(mgr.key) == new
            # A second 401 for the old token: the cache has moved on, nothing is fetched.
            assert await mgr.on_unauthorized(old) is True

    asyncio.run(run())
    assert len(endpoint.forms) == 2


def test_a_401_reports_when_no_other_token_could_be_had() -> None:
    endpoint = FakeEndpoint()
    endpoint.same = True

    async def run() -> bool:
        async with endpoint.client() as http:
            mgr = manager(http)
            return await mgr.on_unauthorized(await mgr.token())

    assert asyncio.run(run()) is False
    assert len(endpoint.forms) == 3  # the first token, and one more try after the refusal


# --- proactive refresh --------------------------------------------------------------------------


def test_proactive_refresh_and_its_failure_falling_back_to_the_valid_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint, wall = FakeEndpoint(lifetime=1000.0), Wall()
    events: list[Event] = []

    async def run() -> None:
        async with endpoint.client() as http:
            mgr = manager(http, clock=wall, on_event=events.append)
            token = await mgr.token()
            assert token.refresh_at == pytest.approx(token.issued_at + 940)  # leeway 60
            wall.at(token.issued_at + 939)
            assert await mgr.token() is token
            wall.at(token.issued_at + 941)  # inside the leeway
            renewed = await mgr.token()
            assert renewed.access_token == "AT-2"
            wall.at(renewed.issued_at + 950)
            endpoint.fail = (503, {"error": "temporarily_unavailable"})
            with caplog.at_level(logging.WARNING, logger="mysdk.auth"):
                assert await mgr.token() is renewed  # still valid: kept
            assert "proactive token refresh failed" in caplog.text
            wall.at(renewed.issued_at + 1001)  # expired: now the failure surfaces
            with pytest.raises(TokenRequestError) as info:
                await mgr.token()
            assert info.value.retryable

    asyncio.run(run())
    assert len(endpoint.forms) == 4
    assert [(e.kind, e.reason, e.path) for e in events] == [
        ("token_fetched", "fetched", "/oauth/token"), ("token_fetched", "refreshed",
                                                        "/oauth/token")]


def test_both_managers_schedule_the_same_refresh() -> None:
    # One rule: the same answers give the same refresh_at (leeway capped at half
    # the lifetime, jitter, a re-issued token waits for its expiry) and the same
    # follower bound.
    endpoint = FakeEndpoint(lifetime=100.0)
    endpoint.same = True
    with requests.Session() as session, responses.RequestsMock() as rs:
        rs.post(URL, json={"access_token": "AT-1", "expires_in": 100.0})
        sync_mgr = TokenManager(provider(), MemoryTokenCache(), session=session,
                                timeout=(2, 5), leeway=60, jitter=0.5, random=lambda: 0.5)
        sync_first = sync_mgr.token()
        sync_again = sync_mgr.refresh(sync_first)

    async def run() -> tuple[Token, Token]:
        async with endpoint.client() as http:
            mgr = manager(http, leeway=60, jitter=0.5, random=lambda: 0.5)
            first = await mgr.token()
            return first, await mgr.refresh(first)

    first, again = asyncio.run(run())
    assert sync_first.refresh_at is not None
    assert first.refresh_at is not None
    assert first.refresh_at - first.issued_at == pytest.approx(
        sync_first.refresh_at - sync_first.issued_at) == pytest.approx(100 - 50 * 0.75)
    assert again.access_token == sync_again.access_token == "AT-1"
    assert again.refresh_at == again.expires_at  # re-issued: not refreshed early again
    assert sync_again.refresh_at == sync_again.expires_at
    http = httpx.AsyncClient()
    for timeout in [(2, 5), 3, None]:
        async_bound = manager(http, timeout=timeout)._flight_timeout
        sync_bound = TokenManager(provider(), MemoryTokenCache(), session=requests.Session(),
                                  timeout=timeout, lock_timeout=WAIT)._flight_timeout
        assert async_bound == sync_bound == _lifecycle.flight_timeout(
            WAIT, MemoryTokenCache(), timeout)


# --- followers: their own errors, a cancelled leader, bounded waits ---------------------------


def test_each_follower_raises_its_own_copy_of_the_leaders_error() -> None:
    endpoint = FakeEndpoint()
    endpoint.fail = (401, {"error": "invalid_client"})

    async def run() -> list[Any]:
        endpoint.gate, endpoint.started = asyncio.Event(), asyncio.Event()
        async with endpoint.client() as http:
            mgr = manager(http)
            tasks = [asyncio.create_task(mgr.token()) for _ in range(50)]
            await until(endpoint.started)  # every caller has joined the one fetch
            endpoint.gate.set()
            return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(run())
    assert len(endpoint.forms) == 1
    assert all(isinstance(r, TokenRequestError) for r in results), results
    assert len({id(r) for r in results}) == 50
    leader_error = results[0]  # the task that started the fetch raises the original
    for err in results[1:]:
        assert type(err) is TokenRequestError
        assert err.__cause__ is leader_error
        assert str(err) == str(leader_error)
        assert (err.error, err.status_code) == ("invalid_client", 401)
    results[1].attempts = 7
    assert leader_error.attempts == 1
    assert {r.attempts for r in results[2:]} == {1}


def test_a_foreign_error_reaches_followers_as_their_own_auth_errors() -> None:
    own = _lifecycle.own_error(ValueError("bug"), "task")
    assert type(own) is AuthError
    assert str(own) == "another task's token request failed (ValueError)"


def test_cancelling_the_leader_does_not_strand_its_followers() -> None:
    endpoint = FakeEndpoint()

    async def run() -> list[Any]:
        endpoint.gate, endpoint.started = asyncio.Event(), asyncio.Event()
        async with endpoint.client() as http:
            mgr = manager(http)
            leader = asyncio.create_task(mgr.token())
            await until(endpoint.started)
            followers = [asyncio.create_task(mgr.token()) for _ in range(20)]
            await asyncio.sleep(0)  # the followers join the flight
            leader.cancel()
            endpoint.gate.set()
            results = await asyncio.gather(leader, *followers, return_exceptions=True)
            assert await mgr.token() == results[1]  # stored: no request
            return results

    results = asyncio.run(run())
    assert isinstance(results[0], asyncio.CancelledError)
    assert {r.access_token for r in results[1:]} == {"AT-1"}
    assert len(endpoint.forms) == 1


def test_a_fetch_whose_callers_all_left_still_stores_its_token() -> None:
    endpoint = FakeEndpoint()

    async def run() -> Token:
        endpoint.gate, endpoint.started = asyncio.Event(), asyncio.Event()
        async with endpoint.client() as http:
            mgr = manager(http)
            callers = [asyncio.create_task(mgr.token()) for _ in range(3)]
            await until(endpoint.started)
            for caller in callers:
                caller.cancel()
            await asyncio.gather(*callers, return_exceptions=True)
            endpoint.gate.set()
            stored = None
            for _ in range(100):  # the fetch task finishes on its own
                stored = await mgr.cache.get(mgr.key)
                if stored is not None:
                    break
                await asyncio.sleep(0.01)
            assert stored is not None
            assert await mgr.token() == stored
            return stored

    assert asyncio.run(run()).access_token == "AT-1"
    assert len(endpoint.forms) == 1


class StuckCache:
    """An AsyncTokenCache that claims 0 s operations but never answers ``get``."""

    op_timeout = 0.0

    async def get(self, key: str) -> Token | None:
        await asyncio.sleep(WAIT)
        return None

    async def set(self, key: str, token: Token) -> None:
        return None

    async def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        return False

    def lock(self, key: str, *, timeout: float) -> AbstractAsyncContextManager[bool]:
        @asynccontextmanager
        async def held() -> AsyncIterator[bool]:
            yield True

        return held()


def test_every_wait_for_a_fetch_is_bounded_by_the_flight_timeout() -> None:
    endpoint = FakeEndpoint()

    async def run() -> list[Any]:
        async with endpoint.client() as http:
            mgr = manager(http, cache=StuckCache(), lock_timeout=0.0, timeout=(0.1, 0.1))
            assert mgr._flight_timeout == pytest.approx(0.2)  # 0 + 5 x 0 s + 0.1 + 0.1
            return await asyncio.gather(*(mgr.token() for _ in range(10)),
                                        return_exceptions=True)

    started = time.monotonic()
    results = asyncio.run(run())
    assert time.monotonic() - started < 2.0
    assert all(isinstance(r, AuthError) for r in results), results
    assert str(results[0]) == "gave up waiting 0.2 s for the token request"
    assert {str(r) for r in results[1:]} == {
        "gave up waiting 0.2 s for another task's token request"}


# --- across processes ---------------------------------------------------------------------------

_PROCESS = r"""
import asyncio, json, pathlib, sys, time

import httpx

from mysdk import ClientCredentials
from mysdk.auth.manager_async import AsyncTokenManager
from mysdk.tokens.aio import as_async_cache
from mysdk.tokens.file import FileTokenCache

token_url, client_id, secret, directory, ready, go = sys.argv[1:7]


async def main():
    async with httpx.AsyncClient() as http:
        manager = AsyncTokenManager(
            ClientCredentials(token_url=token_url, client_id=client_id, client_secret=secret),
            as_async_cache(FileTokenCache(directory)), http=http, timeout=(5, 5),
            lock_timeout=20)
        pathlib.Path(ready).touch()
        deadline = time.monotonic() + 20
        while not pathlib.Path(go).exists():
            if time.monotonic() > deadline:
                raise SystemExit("never told to go")
            await asyncio.sleep(0.002)
        tokens = await asyncio.gather(*(manager.token() for _ in range(20)))
        print(json.dumps(sorted({t.access_token for t in tokens})))


asyncio.run(main())
"""


def test_two_processes_sharing_a_file_cache_make_one_token_request(
    server: RunningServer, tmp_path: Path,
) -> None:
    go = tmp_path / "go"
    procs = [subprocess.Popen(
        [sys.executable, "-c", _PROCESS, server.token_url, DEFAULT_CLIENT_ID,
         DEFAULT_CLIENT_SECRET, str(tmp_path / "tokens"), str(tmp_path / f"ready{i}"), str(go)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"}) for i in range(2)]
    try:
        deadline = time.monotonic() + 30
        while not all((tmp_path / f"ready{i}").exists() for i in range(2)):
            assert time.monotonic() < deadline, "the processes never got ready"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        server.stats.reset()
        go.touch()  # both ask at once
        outputs = [p.communicate(timeout=30) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in procs] == [0, 0], outputs
    seen = [json.loads(out) for out, _ in outputs]
    assert len(seen[0]) == 1
    assert seen[0] == seen[1], outputs  # both processes use the one token
    assert server.stats.token_requests == 1


# --- the providers' logic through the async driver ----------------------------------------------


def test_a_refused_refresh_grant_falls_back_to_client_credentials_once(
    start: Callable[..., RunningServer],
) -> None:
    server = start(issue_refresh_tokens=True)
    p = ClientCredentials(token_url=server.token_url, client_id=DEFAULT_CLIENT_ID,
                          client_secret=DEFAULT_CLIENT_SECRET)
    bogus = Token("old", expires_at=time.time() - 1, refresh_token="rt-never-issued",
                  issued_at=time.time() - 100)

    async def run() -> tuple[Token, Token]:
        async with httpx.AsyncClient() as http:
            first = await afetch_token(p, http, timeout=5, previous=bogus)
            second = await afetch_token(p, http, timeout=5, previous=bogus)
            return first, second

    first, second = asyncio.run(run())
    assert first.access_token != second.access_token
    # The refused refresh token was sent once and never again.
    assert server.stats.token_requests_by_grant == {"refresh_token": 1,
                                                    "client_credentials": 2}
    # A good refresh token is used, and one without rotation kept.
    server.stats.reset()

    async def refresh() -> Token:
        async with httpx.AsyncClient() as http:
            mgr = manager(http, p=p)
            await mgr.cache.set(mgr.key, first.replace(expires_at=time.time() - 1))
            return await mgr.token()

    refreshed = asyncio.run(refresh())
    assert server.stats.token_requests_by_grant == {"refresh_token": 1}
    assert refreshed.refresh_token is not None


def test_a_saved_login_through_the_async_driver(server: RunningServer) -> None:
    with requests.Session() as session:
        refresh_token = device_refresh_token(server, session)
    rotated: list[str] = []
    p = RefreshTokenProvider(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID,
                             refresh_token=refresh_token, on_refresh_token=rotated.append)
    nobody = RefreshTokenProvider(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID)
    revoked = RefreshTokenProvider(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID,
                                   refresh_token="rt-revoked-or-never-issued")

    async def run() -> Token:
        async with httpx.AsyncClient() as http:
            token = await afetch_token(p, http, timeout=5, previous=None)
            with pytest.raises(LoginRequiredError, match="no saved login") as none:
                await afetch_token(nobody, http, timeout=5, previous=None)
            assert none.value.error == "login_required"
            mgr = manager(http, p=revoked)
            with pytest.raises(LoginRequiredError, match="log in again") as info:
                await mgr.token()
            assert info.value.error == "invalid_grant"
            assert "rt-revoked" not in str(info.value)
            with pytest.raises(LoginRequiredError):  # refused before: not sent again
                await afetch_token(revoked, http, timeout=5, previous=None)
            return token

    server.stats.reset()
    token = asyncio.run(run())
    assert token.refresh_token is not None
    assert rotated == [token.refresh_token]  # the server rotated it: called once
    assert server.stats.token_requests_by_grant == {"refresh_token": 2}


def test_a_provider_without_a_flow_is_refused_with_what_to_implement() -> None:
    class SyncOnly:
        cache_key = "k"

        def fetch_token(self, session: Any, *, timeout: object,
                        previous: Token | None) -> Token:
            return Token("AT")

    with pytest.raises(InvalidRequestError, match=r"SyncOnly .*no token_flow\(previous\)"):
        AsyncTokenManager(SyncOnly(), as_async_cache(MemoryTokenCache()),
                          http=httpx.AsyncClient(), timeout=1)

    async def run() -> Token:
        async with httpx.AsyncClient() as http:
            return await afetch_token(SyncOnly(), http, timeout=1, previous=None)

    with pytest.raises(InvalidRequestError, match="Implement token_flow"):
        asyncio.run(run())


# --- discovery: one cache, the same checks --------------------------------------------------------

ISSUER = "https://id.example.com/realms/r"
METADATA = {"issuer": ISSUER, "token_endpoint": f"{ISSUER}/token"}
OIDC = f"{ISSUER}/.well-known/openid-configuration"


def _metadata_client(answers: list[httpx.Response], seen: list[str]) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return answers.pop(0)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle),
                             headers={"Authorization": "Bearer api-secret"},
                             cookies={"sid": "cookie-secret"})


def test_adiscover_and_discover_share_one_cache() -> None:
    seen: list[str] = []

    async def run() -> Any:
        async with _metadata_client([httpx.Response(200, json=METADATA)], seen) as http:
            found = await adiscover(ISSUER, http=http, timeout=2)
            assert await adiscover(ISSUER, http=http, timeout=2) is found
            return found

    found = asyncio.run(run())
    assert seen == [OIDC]
    with requests.Session() as session, responses.RequestsMock():  # any request would fail
        assert discover(ISSUER, session=session, timeout=2) is found
    clear_discovery_cache()
    with requests.Session() as session, responses.RequestsMock() as rs:
        rs.get(OIDC, json=METADATA)
        again = discover(ISSUER, session=session, timeout=2)

    async def reuse() -> Any:
        async with _metadata_client([], seen) as http:  # any request would fail
            return await adiscover(ISSUER, http=http, timeout=2)

    assert asyncio.run(reuse()) is again


@pytest.mark.parametrize(("answers", "message"), [
    ([httpx.Response(302, headers={"Location": "https://evil.example/x"})], "redirect"),
    ([httpx.Response(302, headers={"Location": "http://[::1/x"})], "redirect"),
    ([httpx.Response(200, json={**METADATA, "issuer": "https://evil.example"})],
     "not the configured issuer"),
    ([httpx.Response(404), httpx.Response(503)], "HTTP 503"),
    ([httpx.Response(200, content=b"[1]")], "not a JSON object"),
    ([httpx.Response(200, content=b"x" * (300 * 1024))], "larger than 256 KiB"),
])
def test_adiscover_refuses_what_discover_refuses(answers: list[httpx.Response],
                                                 message: str) -> None:
    seen: list[str] = []

    async def run() -> None:
        async with _metadata_client(answers, seen) as http:
            await adiscover(ISSUER, http=http, timeout=2)

    with pytest.raises(DiscoveryError, match=message) as info:
        asyncio.run(run())
    assert info.value.__context__ is None
    assert "api-secret" not in repr(info.value)
    assert answers == []  # a 404 falls back to RFC 8414 once; nothing else is asked


def test_import_mysdk_does_not_import_httpx() -> None:
    code = ("import sys, mysdk\n"
            "mysdk.ClientCredentials, mysdk.auth.RefreshTokenProvider\n"
            "import mysdk.auth.manager, mysdk.auth.flow, mysdk.auth._lifecycle\n"
            "assert 'httpx' not in sys.modules and 'asyncio' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
