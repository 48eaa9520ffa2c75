"""A cached token is only ever used for what it was issued for (hardening issue 7, point 1).

Two providers that differ in any grant parameter that changes what a token is
good for (``audience``, ``resource``, scope, grant type) must never share a
cache entry, in one process, across processes (file cache) or machines (Redis).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from mysdk import ClientCredentials, MemoryTokenCache, Token
from mysdk.auth.manager import TokenManager
from mysdk.tokens import cache_key
from mysdk.tokens.file import FileTokenCache

TOKEN_URL = "https://auth.example.com/oauth/token"
REPO = Path(__file__).resolve().parents[2]


def _provider(**kwargs: Any) -> ClientCredentials:
    options: dict[str, Any] = {"token_url": TOKEN_URL, "client_id": "cid",
                               "client_secret": "sec", "scope": "cars:read"}
    options.update(kwargs)
    return ClientCredentials(**options)


def _v1_key(token_url: str, client_id: str, scope: str | None) -> str:
    """The key format of mysdk <= 0.x (no audience, no grant type)."""
    raw = json.dumps([token_url, client_id, scope or "", ""], separators=(",", ":"))
    return "mysdk-token-" + hashlib.sha256(raw.encode()).hexdigest()


def _documented_v2_key(token_url: str, client_id: str, grant_type: str, scope: str | None,
                       subject: str | None, params: dict[str, str]) -> str:
    """The v2 recipe exactly as the ``cache_key`` docstring states it."""
    canonical = [token_url, client_id, grant_type, sorted(set((scope or "").split())),
                 subject or "", [[name, params[name]] for name in sorted(params)]]
    raw = json.dumps(canonical, separators=(",", ":"), ensure_ascii=True)
    return "mysdk-token-v2-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def test_providers_differing_only_by_audience_get_different_keys() -> None:
    api_a = _provider(extra_params={"audience": "https://api-a.example.com"})
    api_b = _provider(extra_params={"audience": "https://api-b.example.com"})
    assert api_a.cache_key != api_b.cache_key
    assert api_a.cache_key != _provider().cache_key  # no audience at all is different too


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"resource": "https://r1.example"}, {"resource": "https://r2.example"}),
        ({"resource": "r"}, {"audience": "r"}),  # same value, different parameter
        ({"audience": "a"}, {"audience": "a", "resource": "r"}),
        ({"audience": ""}, {}),
    ],
)
def test_every_extra_param_is_part_of_the_key(one: dict[str, str],
                                              other: dict[str, str]) -> None:
    assert _provider(extra_params=one).cache_key != _provider(extra_params=other).cache_key


def test_grant_type_and_subject_are_part_of_the_key() -> None:
    base = cache_key(TOKEN_URL, "cid", "a")
    assert cache_key(TOKEN_URL, "cid", "a", grant_type="client_credentials") == base
    assert cache_key(TOKEN_URL, "cid", "a", grant_type="password") != base
    assert cache_key(TOKEN_URL, "cid", "a", "alice") != base
    assert cache_key(TOKEN_URL, "cid", "a", params={"audience": "x"}) != base


def test_extra_params_order_does_not_change_the_key() -> None:
    forward = _provider(extra_params={"audience": "A", "resource": "R", "x-tenant": "t1"})
    backward = _provider(extra_params={"x-tenant": "t1", "resource": "R", "audience": "A"})
    assert forward.cache_key == backward.cache_key


def test_scope_is_compared_as_a_set_of_scope_tokens() -> None:
    # RFC 6749 §3.3: the scope is an unordered list of space-delimited tokens.
    assert _provider(scope="b a").cache_key == _provider(scope="a  b a").cache_key
    assert _provider(scope="a b").cache_key != _provider(scope="a").cache_key
    assert _provider(scope=None).cache_key == _provider(scope="").cache_key


def test_the_key_follows_the_documented_v2_format() -> None:
    params = {"resource": "r\u00e9", "audience": "https://api.example.com"}
    key = cache_key(TOKEN_URL, "cid", "b a", "sub", grant_type="client_credentials",
                    params=params)
    assert key == _documented_v2_key(TOKEN_URL, "cid", "client_credentials", "b a", "sub",
                                     params)
    provider = _provider(scope="b a", extra_params=params)
    assert provider.cache_key == _documented_v2_key(TOKEN_URL, "cid", "client_credentials",
                                                    "b a", None, params)
    assert len(key) == len("mysdk-token-v2-") + 64
    assert "cid" not in key
    assert "api.example.com" not in key


def test_the_key_is_identical_in_a_fresh_interpreter() -> None:
    provider = _provider(scope="z y", extra_params={"resource": "R", "audience": "A"})
    code = (
        "from mysdk import ClientCredentials\n"
        f"p = ClientCredentials(token_url={TOKEN_URL!r}, client_id='cid', client_secret='x',"
        " scope='y z', extra_params={'audience': 'A', 'resource': 'R'})\n"
        "print(p.cache_key)\n"
    )
    keys = set()
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, timeout=60,
                                capture_output=True, text=True, check=True)
        keys.add(result.stdout.strip())
    assert keys == {provider.cache_key}


def test_cache_key_keeps_its_positional_signature() -> None:
    key = cache_key("https://auth.example/token", "client-1", "read", None)
    assert key.startswith("mysdk-token-v2-")
    assert key == cache_key("https://auth.example/token", "client-1", "read")


def test_an_entry_under_the_v1_key_is_never_used(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "tokens")
    provider = _provider(extra_params={"audience": "https://api-b.example.com"})
    # A token for another audience, written by an older mysdk under the v1 key,
    # which covered token URL, client id and scope only.
    old = Token(access_token="token-for-api-a", expires_at=time.time() + 3600,
                issued_at=time.time())
    cache.set(_v1_key(TOKEN_URL, "cid", "cars:read"), old)
    assert provider.cache_key != _v1_key(TOKEN_URL, "cid", "cars:read")
    assert cache.get(provider.cache_key) is None

    with requests.Session() as session, responses.RequestsMock() as rs:
        fetched = rs.post(TOKEN_URL, json={"access_token": "token-for-api-b",
                                           "expires_in": 3600})
        manager = TokenManager(provider, cache, session=session, timeout=(1, 1))
        assert manager.token().access_token == "token-for-api-b"
        assert fetched.call_count == 1


def test_one_cache_two_audiences_two_tokens() -> None:
    cache = MemoryTokenCache()
    api_a = _provider(extra_params={"audience": "api-a"})
    api_b = _provider(extra_params={"audience": "api-b"})
    with requests.Session() as session, responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, json={"access_token": "AT-A", "expires_in": 3600},
                match=[matchers.urlencoded_params_matcher(
                    {"grant_type": "client_credentials", "scope": "cars:read",
                     "audience": "api-a"})])
        rs.post(TOKEN_URL, json={"access_token": "AT-B", "expires_in": 3600},
                match=[matchers.urlencoded_params_matcher(
                    {"grant_type": "client_credentials", "scope": "cars:read",
                     "audience": "api-b"})])
        first = TokenManager(api_a, cache, session=session, timeout=(1, 1)).token()
        second = TokenManager(api_b, cache, session=session, timeout=(1, 1)).token()
    assert (first.access_token, second.access_token) == ("AT-A", "AT-B")


@pytest.mark.parametrize("extra", [{"audience": 7}, {"": "x"}, {3: "x"}])
def test_extra_params_must_map_names_to_strings(extra: dict[Any, Any]) -> None:
    with pytest.raises(ValueError, match="extra_params"):
        _provider(extra_params=extra)
