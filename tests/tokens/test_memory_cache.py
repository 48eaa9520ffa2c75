"""MemoryTokenCache: the contract, plus its own knobs."""

from __future__ import annotations

import pytest

from mysdk.tokens import MemoryTokenCache
from mysdk.tokens.cache import REFRESH_TOKEN_RETENTION

from .contract import KEY, TokenCacheContract, make_token


class TestMemoryTokenCache(TokenCacheContract):
    @pytest.fixture
    def cache(self) -> MemoryTokenCache:
        return MemoryTokenCache()


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        MemoryTokenCache(0)


def test_expires_with_injected_clock() -> None:
    now = [1000.0]
    cache = MemoryTokenCache(timer=lambda: now[0])
    token = make_token(expires_at=1100.0, refresh_token=None)
    cache.set(KEY, token)
    assert cache.get(KEY) == token
    now[0] = 1100.0
    assert cache.get(KEY) is None


def test_refresh_token_outlives_the_access_token() -> None:
    now = [1000.0]
    cache = MemoryTokenCache(timer=lambda: now[0])
    token = make_token(expires_at=1100.0)
    cache.set(KEY, token)
    now[0] = 1100.0 + REFRESH_TOKEN_RETENTION - 1
    assert cache.get(KEY) == token
    now[0] = 1100.0 + REFRESH_TOKEN_RETENTION
    assert cache.get(KEY) is None


def test_repr_has_no_secret() -> None:
    cache = MemoryTokenCache()
    cache.set(KEY, make_token("zzz"))
    assert "secret" not in repr(cache)
    assert repr(cache) == "MemoryTokenCache(maxsize=256, entries=1)"
