"""The behaviour every :class:`~mysdk.tokens.TokenCache` backend must show.

A backend's test module subclasses :class:`TokenCacheContract` in a ``Test*``
class that provides a ``cache`` fixture returning a fresh, empty cache.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mysdk.tokens import Token, TokenCache, cache_key
from mysdk.tokens.cache import REFRESH_TOKEN_RETENTION

KEY = cache_key("https://auth.example/token", "client-1", "read", None)
OTHER_KEY = cache_key("https://auth.example/token", "client-2", "read", None)

_REPO_ROOT = Path(__file__).resolve().parents[2]


def backends_imported_by(module: str) -> bytes:
    """What a fresh interpreter importing ``module`` loads of the optional backends.

    The sorted list of ``redis``, ``filelock`` and ``platformdirs`` among its
    modules, as printed (``b"[]"`` when none).
    """
    code = (
        f"import sys, {module}; "
        "loaded = {'redis', 'filelock', 'platformdirs'} & set(sys.modules); "
        "print(sorted(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=_REPO_ROOT, capture_output=True, check=True, timeout=30
    )
    return result.stdout.strip()


def make_token(name: str = "a", *, expires_in: float | None = 3600.0, **fields: object) -> Token:
    """A token whose secrets contain ``name``; expiry relative to now (seconds)."""
    now = time.time()
    values: dict[str, object] = {
        "access_token": f"secret-access-{name}",
        "expires_at": None if expires_in is None else now + expires_in,
        "refresh_token": f"secret-refresh-{name}",
        "scope": "read write",
        "issued_at": now,
        "refresh_at": None if expires_in is None else now + expires_in / 2,
    }
    values.update(fields)
    return Token(**values)  # type: ignore[arg-type]


def contender_wait(cache: TokenCache) -> float:
    """Seconds another thread spent in ``lock(KEY, timeout=30)`` while we hold it.

    For backends whose ``lock_timeout`` caps every wait; the contender must not
    get the lock.
    """
    waited: list[float] = []

    def contender() -> None:
        start = time.monotonic()
        with cache.lock(KEY, timeout=30) as held:
            assert held is False
        waited.append(time.monotonic() - start)

    with cache.lock(KEY, timeout=1) as held:
        assert held
        thread = threading.Thread(target=contender)
        thread.start()
        thread.join(timeout=5)
    assert len(waited) == 1
    return waited[0]


class TokenCacheContract:
    """Tests shared by all backends; needs a ``cache`` fixture."""

    def test_is_a_token_cache(self, cache: TokenCache) -> None:
        assert isinstance(cache, TokenCache)

    def test_get_on_empty_is_none(self, cache: TokenCache) -> None:
        assert cache.get(KEY) is None

    def test_round_trip_preserves_every_field(self, cache: TokenCache) -> None:
        token = make_token(token_type="MAC", scope="a b c")
        cache.set(KEY, token)
        got = cache.get(KEY)
        assert got == token
        assert got is not None
        assert got.to_dict() == token.to_dict()

    def test_round_trip_with_optional_fields_empty(self, cache: TokenCache) -> None:
        token = Token(access_token="secret-x", issued_at=12.5, expires_at=time.time() + 60)
        cache.set(KEY, token)
        assert cache.get(KEY) == token

    def test_overwrite_replaces(self, cache: TokenCache) -> None:
        cache.set(KEY, make_token("old"))
        cache.set(KEY, make_token("new"))
        got = cache.get(KEY)
        assert got is not None
        assert got.access_token == "secret-access-new"

    def test_delete_reports_whether_removed(self, cache: TokenCache) -> None:
        cache.set(KEY, make_token())
        assert cache.delete(KEY) is True
        assert cache.get(KEY) is None
        assert cache.delete(KEY) is False

    def test_delete_only_if_other_keeps_entry(self, cache: TokenCache) -> None:
        current = make_token("current")
        cache.set(KEY, current)
        assert cache.delete(KEY, only_if=make_token("stale")) is False
        assert cache.get(KEY) == current

    def test_delete_only_if_same_removes(self, cache: TokenCache) -> None:
        current = make_token("current")
        cache.set(KEY, current)
        assert cache.delete(KEY, only_if=current) is True
        assert cache.get(KEY) is None

    def test_delete_only_if_on_empty(self, cache: TokenCache) -> None:
        assert cache.delete(KEY, only_if=make_token()) is False

    def test_expired_token_not_returned(self, cache: TokenCache) -> None:
        cache.set(KEY, make_token(expires_in=-1.0, refresh_token=None))
        assert cache.get(KEY) is None

    def test_expired_token_kept_for_its_refresh_token(self, cache: TokenCache) -> None:
        # The latest rotated refresh token must survive access-token expiry.
        token = make_token(expires_in=-1.0)
        cache.set(KEY, token)
        assert cache.get(KEY) == token

    def test_refresh_token_dropped_after_retention(self, cache: TokenCache) -> None:
        cache.set(KEY, make_token(expires_in=-REFRESH_TOKEN_RETENTION - 5.0))
        assert cache.get(KEY) is None

    def test_token_without_expiry_is_kept(self, cache: TokenCache) -> None:
        token = make_token(expires_in=None)
        cache.set(KEY, token)
        assert cache.get(KEY) == token

    def test_keys_are_independent(self, cache: TokenCache) -> None:
        one, two = make_token("one"), make_token("two")
        cache.set(KEY, one)
        cache.set(OTHER_KEY, two)
        assert cache.get(KEY) == one
        assert cache.get(OTHER_KEY) == two
        assert cache.delete(KEY) is True
        assert cache.get(KEY) is None
        assert cache.get(OTHER_KEY) == two

    def test_thread_safety(self, cache: TokenCache) -> None:
        shared = cache_key("https://auth.example/token", "shared", None)
        written = {make_token(f"shared-{n}").access_token for n in range(8)}

        def work(n: int) -> Token:
            own_key = cache_key("https://auth.example/token", f"thread-{n}", None)
            mine = make_token(f"shared-{n}")
            last = mine
            for i in range(20):
                last = make_token(f"thread-{n}-{i}")
                cache.set(own_key, last)
                assert cache.get(own_key) == last
                cache.set(shared, mine)
                got = cache.get(shared)
                assert got is None or got.access_token in written  # never torn
                cache.delete(shared, only_if=mine)
            cache.set(own_key, last)
            return last

        with ThreadPoolExecutor(max_workers=8) as pool:
            finals = list(pool.map(work, range(8)))
        for n, last in enumerate(finals):
            assert cache.get(cache_key("https://auth.example/token", f"thread-{n}", None)) == last
        final_shared = cache.get(shared)
        assert final_shared is None or final_shared.access_token in written

    def test_lock_excludes_a_second_holder(self, cache: TokenCache) -> None:
        results: list[bool] = []

        def try_lock() -> None:
            with cache.lock(KEY, timeout=0.2) as held:
                results.append(held)

        with cache.lock(KEY, timeout=1.0) as held:
            assert held is True
            other = threading.Thread(target=try_lock)
            other.start()
            other.join(timeout=5)
        assert results == [False]
        other = threading.Thread(target=try_lock)
        other.start()
        other.join(timeout=5)
        assert results == [False, True]

    def test_lock_is_per_key(self, cache: TokenCache) -> None:
        with cache.lock(KEY, timeout=1.0) as held, cache.lock(OTHER_KEY, timeout=0.2) as other:
            assert held is True
            assert other is True

    def test_lock_released_when_body_raises(self, cache: TokenCache) -> None:
        class Boom(Exception):
            pass

        held: list[bool] = []

        def fail_while_holding() -> None:
            with cache.lock(KEY, timeout=1.0) as acquired:
                held.append(acquired)
                raise Boom

        with pytest.raises(Boom):
            fail_while_holding()
        assert held == [True]
        results: list[bool] = []

        def try_lock() -> None:
            with cache.lock(KEY, timeout=0.5) as again:
                results.append(again)

        other = threading.Thread(target=try_lock)
        other.start()
        other.join(timeout=5)
        assert results == [True]
