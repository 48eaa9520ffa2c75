"""DjangoTokenCache against a real Django settings module: locmem and Redis backends."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

pytest.importorskip("django")

from tests.redis_server import REDIS_MISSING, find_redis_server, start_redis_server
from tests.tokens.contract import KEY, TokenCacheContract, make_token

_redis_url: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def django_settings() -> Iterator[None]:
    """Django configured from tests.auth.django_settings, with a redis-server if installed."""
    server = start_redis_server() if find_redis_server() else None
    previous = {name: os.environ.get(name)
                for name in ("DJANGO_SETTINGS_MODULE", "MYSDK_TEST_REDIS_URL")}
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.auth.django_settings"
    if server is not None:
        os.environ["MYSDK_TEST_REDIS_URL"] = server.url
        _redis_url[:] = [server.url]
    import django
    from django.conf import settings

    django.setup()
    if server is not None:  # in case the settings were read before the server started
        settings.CACHES["redis"]["LOCATION"] = server.url
    yield
    from django.core.cache import caches

    caches.close_all()
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if server is not None:
        server.stop()


class TestDjangoLocmem(TokenCacheContract):
    @pytest.fixture
    def cache(self) -> object:
        from mysdk.tokens.django import DjangoTokenCache

        return DjangoTokenCache("default", prefix=f"t-{uuid.uuid4().hex[:8]}:")


def _no_redis() -> None:
    """Outside CI a missing redis-server skips (``make test`` installs it); in CI it fails."""
    if os.environ.get("CI"):
        pytest.fail(REDIS_MISSING)
    pytest.skip(REDIS_MISSING)


class TestDjangoRedis(TokenCacheContract):
    @pytest.fixture
    def cache(self) -> object:
        if not _redis_url:
            _no_redis()
        from mysdk.tokens.django import DjangoTokenCache

        return DjangoTokenCache("redis", prefix=f"t-{uuid.uuid4().hex[:8]}:")


def test_entry_timeout_follows_the_token() -> None:
    from django.core.cache import caches

    from mysdk.tokens.django import DjangoTokenCache

    cache = DjangoTokenCache("default", prefix="ttl:")
    cache.set(KEY, make_token(expires_in=100.0, refresh_token=None))
    backend = caches["default"]
    key = backend.make_and_validate_key("ttl:" + KEY)
    expiry = backend._expire_info[key]  # type: ignore[attr-defined]
    assert 99 <= expiry - time.time() <= 101
    cache.set(KEY, make_token(expires_in=-5.0, refresh_token=None))  # expired: not kept
    assert backend.get("ttl:" + KEY) is None


def test_redis_entry_ttl_from_the_token() -> None:
    if not _redis_url:
        _no_redis()
    import redis

    from mysdk.tokens.django import DjangoTokenCache

    cache = DjangoTokenCache("redis", prefix="ttl:")
    cache.set(KEY, make_token(expires_in=100.0, refresh_token=None))
    with redis.Redis.from_url(_redis_url[0]) as client:
        (name,) = [k for k in client.keys("*") if b"ttl:" in k]
        assert 99 <= client.ttl(name) <= 100


def test_lock_expires_for_a_dead_holder() -> None:
    from django.core.cache import caches

    from mysdk.tokens.django import DjangoTokenCache

    cache = DjangoTokenCache("default", prefix="dead:", lock_ttl=1)
    caches["default"].add("dead:lock:" + KEY, "someone-who-died", timeout=1)
    with cache.lock(KEY, timeout=3) as held:
        assert held is True


def test_backend_failure_reads_as_empty(caplog: pytest.LogCaptureFixture) -> None:
    from mysdk.tokens.django import DjangoTokenCache

    class Broken:
        def __getattr__(self, name: str) -> object:
            def fail(*args: object, **kwargs: object) -> object:
                raise ConnectionError(f"down, holding {args!r}")
            return fail

    cache = DjangoTokenCache(Broken(), prefix="x:")  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        cache.set(KEY, make_token())
        assert cache.get(KEY) is None
        assert cache.delete(KEY) is False
        with cache.lock(KEY, timeout=0.1) as held:
            assert held is False
    assert "ConnectionError" in caplog.text
    assert "secret" not in caplog.text


def test_corrupt_value_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    from django.core.cache import caches

    from mysdk.tokens.django import DjangoTokenCache

    caches["default"].set("bad:" + KEY, '{"access_token": "secret-x", "issued_at": "x"}')
    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        assert DjangoTokenCache("default", prefix="bad:").get(KEY) is None
    assert "corrupt" in caplog.text
    assert "secret" not in caplog.text


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "django.core.cache", None)
    monkeypatch.delitem(sys.modules, "mysdk.tokens.django", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'mysdk\[django\]'"):
        importlib.import_module("mysdk.tokens.django")


@pytest.mark.parametrize("kwargs", [{"lock_ttl": 0}, {"lock_timeout": -1}])
def test_arguments_checked(kwargs: dict[str, float]) -> None:
    from mysdk.tokens.django import DjangoTokenCache

    with pytest.raises(ValueError, match="lock_"):
        DjangoTokenCache(**kwargs)  # type: ignore[arg-type]
