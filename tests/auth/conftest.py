"""Fixtures for the login tests: reference servers, a fake clock, a private token cache."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mysdk.auth.discovery import clear_discovery_cache
from mysdk.tokens.file import FileTokenCache


class FakeClock:
    """Monotonic seconds that move only when told (or when ``sleep`` is called)."""

    def __init__(self, now: float = 1000.0) -> None:
        self._now = now
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


@pytest.fixture(autouse=True)
def _fresh_discovery() -> Iterator[None]:
    """Each test discovers afresh (the cache is per process)."""
    clear_discovery_cache()
    yield
    clear_discovery_cache()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# The reference-server fixtures of the integration tests: `start(**config)`, `server`.
from tests.integration.conftest import server, start  # noqa: E402, F401 - fixtures


@pytest.fixture
def token_dir(tmp_path: Path) -> Path:
    return tmp_path / "tokens"


@pytest.fixture
def file_cache(token_dir: Path) -> FileTokenCache:
    return FileTokenCache(token_dir)
