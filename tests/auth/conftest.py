"""Fixtures for the login tests: reference servers, a fake clock, a private token cache."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mysdk.auth.discovery import clear_discovery_cache
from mysdk.tokens.file import FileTokenCache
from refserver import RunningServer, ServerConfig, start_server


class FakeClock:
    """Monotonic seconds that move only when told (or when ``sleep`` is called)."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
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


@pytest.fixture
def start() -> Iterator[Callable[..., RunningServer]]:
    """Start reference servers with custom config; all are stopped at teardown."""
    started: list[RunningServer] = []

    def _start(**config: object) -> RunningServer:
        server = start_server(ServerConfig(**config))  # type: ignore[arg-type]
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.fixture
def server(start: Callable[..., RunningServer]) -> RunningServer:
    """A reference server with default config (the public client ``mysdk-cli``)."""
    return start()


@pytest.fixture
def token_dir(tmp_path: Path) -> Path:
    return tmp_path / "tokens"


@pytest.fixture
def file_cache(token_dir: Path) -> FileTokenCache:
    return FileTokenCache(token_dir)
