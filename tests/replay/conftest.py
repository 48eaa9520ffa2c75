"""Cars API replays: the project's own use of mysdk's pytest plugin.

The plugin's ``recorded_client`` does the work; this file only says how to reach
the live API while recording (a fresh reference server per test) and how to build
the client: the example Cars SDK's ``CarsClient``. ``make record`` (``pytest
--record``) re-records ``cassettes/<module>/``; every other run, CI included,
replays them with the network blocked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import mysdk
from examples.cars_sdk import CarsClient
from refserver import RunningServer, ServerConfig, start_server
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


@pytest.fixture
def refserver_live(mysdk_recording: bool) -> Iterator[RunningServer | None]:
    """The live reference server while recording; ``None`` while replaying."""
    if not mysdk_recording:
        yield None
        return
    with start_server(ServerConfig()) as server:
        yield server


@pytest.fixture
def mysdk_live_url(refserver_live: RunningServer | None) -> str | None:
    """Record from the reference server."""
    return refserver_live.base_url if refserver_live is not None else None


@pytest.fixture
def mysdk_make_client() -> Callable[[str], CarsClient]:
    """The demo client of the reference server, on the recording's or the replay's origin."""

    def make(base_url: str) -> CarsClient:
        provider = mysdk.ClientCredentials(
            token_url=f"{base_url}/oauth/token",
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
        )
        return CarsClient(base_url=base_url, auth=provider, retry=None)

    return make
