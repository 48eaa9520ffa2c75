"""Fixtures for the testing kit's tests: live loopback servers to record from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from refserver import RunningServer, ServerConfig, start_server
from tests.testing.tiny_api import TinyAPI


@pytest.fixture
def tiny_api() -> Iterator[TinyAPI]:
    """The tiny API on a random loopback port, stopped at teardown."""
    api = TinyAPI()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def refserver() -> Iterator[RunningServer]:
    """A reference Cars API server on a random loopback port."""
    with start_server(ServerConfig()) as server:
        yield server
