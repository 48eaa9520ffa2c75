"""Fixtures for the token cache tests: a real redis-server and unique key prefixes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.redis_server import REDIS_MISSING, RedisServer, find_redis_server, start_redis_server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server for the whole session; skipped (failed under CI) if not installed."""
    executable = find_redis_server()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail(REDIS_MISSING)
        pytest.skip(REDIS_MISSING)
    server = start_redis_server(executable)
    yield server
    server.stop()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix unique to one test, so tests sharing the server never collide."""
    return f"test-{uuid.uuid4().hex[:12]}:"
