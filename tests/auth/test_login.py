"""Saved login (file cache, across processes) and logout with revocation (RFC 7009)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from mysdk.auth.login import Login
from mysdk.auth.login_errors import LoginError
from mysdk.errors import TokenRequestError, TransportError
from mysdk.tokens import MemoryTokenCache, Token
from mysdk.tokens.file import FileTokenCache
from refserver import DEFAULT_PUBLIC_CLIENT_ID, RunningServer

from .conftest import FakeClock

ROOT = Path(__file__).resolve().parents[2]


def logged_in(server: RunningServer, cache: Any, clock: FakeClock, **kwargs: Any) -> Login:
    """A device login, approved as soon as it is shown, saved in ``cache``."""
    login = Login(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID,
                  scope="cars:read cars:write", **kwargs)
    login.device(cache=cache, prompt=lambda code: server.decide_device(code.user_code),
                 sleep=clock.sleep, clock=clock)
    return login


def run_mysdk(args: list[str], server: RunningServer,
              token_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYSDK_ISSUER": server.issuer,
           "MYSDK_CLIENT_ID": DEFAULT_PUBLIC_CLIENT_ID, "MYSDK_SCOPE": "cars:read cars:write",
           "MYSDK_BASE_URL": server.base_url,
           "MYSDK_TOKEN_DIR": str(token_dir)}
    return subprocess.run([sys.executable, "-m", "mysdk", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_next_process_uses_the_saved_login_with_at_most_one_refresh(
    server: RunningServer, file_cache: FileTokenCache, token_dir: Path, clock: FakeClock
) -> None:
    logged_in(server, file_cache, clock)
    files = [p for p in token_dir.iterdir() if p.suffix == ".json"]
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert not [p for p in token_dir.iterdir() if p.suffix == ".tmp"]
    server.stats.reset()
    done = run_mysdk(["call", "GET", "/api/v1/cars"], server, token_dir)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"items": [], "next_cursor": None}
    assert done.stderr == ""  # no prompt
    assert server.stats.token_requests == 0  # the saved access token was used
    server.expire_access_tokens()
    done = run_mysdk(["call", "GET", "/api/v1/cars"], server, token_dir)
    assert done.returncode == 0, done.stderr
    assert server.stats.token_requests_by_grant == {"refresh_token": 1}
    assert server.stats.invalid_grant == 0


def test_logout_revokes_refresh_then_access_token_and_forgets(
    server: RunningServer, file_cache: FileTokenCache, token_dir: Path, clock: FakeClock
) -> None:
    login = logged_in(server, file_cache, clock)
    result = login.logout(cache=file_cache)
    assert result.was_logged_in
    assert result.removed
    assert result.revoked == ("refresh_token", "access_token")
    assert result.ok
    assert login.saved(file_cache) is None
    assert server.stats.revocations == 1  # the access token went with its refresh token
    assert [p.name for p in token_dir.iterdir() if p.suffix != ".lock"] == []


def test_logout_order_is_refresh_token_first() -> None:
    issuer = "https://id.example.com"
    cache = MemoryTokenCache()
    login = Login(token_url=f"{issuer}/token", client_id="cli", revocation_url=f"{issuer}/revoke")
    cache.set(login.cache_key, Token("at-secret", refresh_token="rt-secret",
                                     expires_at=9e9, issued_at=1.0))
    with responses.RequestsMock() as rs:
        rs.post(f"{issuer}/revoke")
        login.logout(cache=cache)
        hints = [str(call.request.body) for call in rs.calls]
    assert "token_type_hint=refresh_token" in hints[0]
    assert "token_type_hint=access_token" in hints[1]


def test_revocation_errors_are_reported_and_the_login_removed_anyway() -> None:
    issuer = "https://id.example.com"
    cache = MemoryTokenCache()
    login = Login(token_url=f"{issuer}/token", client_id="cli", revocation_url=f"{issuer}/revoke")
    cache.set(login.cache_key, Token("at-secret", refresh_token="rt-secret",
                                     expires_at=9e9, issued_at=1.0))
    with responses.RequestsMock() as rs:
        rs.post(f"{issuer}/revoke", status=503, json={"error": "temporarily_unavailable"})
        rs.post(f"{issuer}/revoke", body=requests.exceptions.ConnectionError("down"))
        result = login.logout(cache=cache)
    assert not result.ok
    assert result.revoked == ()
    assert isinstance(result.errors[0], TokenRequestError)
    assert isinstance(result.errors[1], TransportError)
    assert result.removed
    assert login.saved(cache) is None
    assert "secret" not in " ".join(str(e) + repr(e) for e in result.errors)


def test_logout_without_a_revocation_endpoint() -> None:
    cache = MemoryTokenCache()
    login = Login(token_url="https://id.example.com/token", client_id="cli")
    cache.set(login.cache_key, Token("at-secret", refresh_token="rt-secret", issued_at=1.0))
    result = login.logout(cache=cache)
    assert isinstance(result.errors[0], LoginError)
    assert result.errors[0].error == "unsupported"
    assert login.saved(cache) is None


def test_logout_when_not_logged_in() -> None:
    result = Login(token_url="https://id.example.com/token", client_id="cli").logout(
        cache=MemoryTokenCache())
    assert not result.was_logged_in
    assert result.ok


def test_no_device_endpoint_is_a_clear_error() -> None:
    login = Login(token_url="https://id.example.com/token", client_id="cli")
    with pytest.raises(LoginError, match="offers no device login") as info:
        login.device(cache=MemoryTokenCache(), prompt=print)
    assert info.value.error == "unsupported"


def test_login_repr_and_key_hold_no_secret() -> None:
    login = Login(issuer="https://id.example.com", client_id="cli", client_secret="cs-secret",
                  refresh_token="rt-secret")
    assert "secret" not in repr(login)
    assert "secret" not in login.cache_key
