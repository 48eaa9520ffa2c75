"""Fixtures that start the reference Cars API on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import mysdk
from refserver import RunningServer, ServerConfig, start_server
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.tokens.conftest import redis_server  # noqa: F401 - shared session fixture

pytestmark = pytest.mark.integration


@pytest.fixture
def start() -> Iterator[Callable[..., RunningServer]]:
    """Start servers with custom config; all are stopped at teardown."""
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
    """A reference server with default config (tokens live an hour)."""
    return start()


def provider_for(server: RunningServer, **kwargs: object) -> mysdk.ClientCredentials:
    """Client credentials for the server's default client."""
    return mysdk.ClientCredentials(
        token_url=server.token_url, client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET, **kwargs,  # type: ignore[arg-type]
    )
