"""Replay fixtures: vcrpy cassettes in cassettes/, recorded from the reference server.

CI replays only (``record_mode="none"``): a request missing from its cassette
fails the test. ``make record`` (MYSDK_RECORD=1) starts a reference server and
re-records every cassette, scrubbed by :func:`mysdk.testing.make_vcr`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import mysdk
from mysdk.testing import make_vcr
from refserver import RunningServer, ServerConfig, start_server
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

RECORD = os.environ.get("MYSDK_RECORD") == "1"
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
ORIGIN = "http://refserver.test"  # recorded origin: cassettes hold no random port


@dataclass
class Replay:
    """A client on the cassette, and the live server when recording."""

    client: mysdk.Client
    server: RunningServer | None

    def expire_tokens(self) -> None:
        """While recording, revoke tokens server-side; a replay already has the 401."""
        if self.server is not None:
            self.server.expire_access_tokens()


@pytest.fixture
def replay(request: pytest.FixtureRequest) -> Iterator[Replay]:
    """A client whose traffic is recorded to / replayed from this test's cassette."""
    server = start_server(ServerConfig()) if RECORD else None
    base_url = server.base_url if server is not None else ORIGIN
    module = request.node.module.__name__.rpartition(".")[2]
    vcr = make_vcr(CASSETTES / module, record=RECORD, canonical_origin=ORIGIN)
    provider = mysdk.ClientCredentials(
        token_url=f"{base_url}/oauth/token",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
    )
    try:
        with vcr.use_cassette(f"{request.node.name}.yaml"), \
                mysdk.Client(base_url=base_url, auth=provider, retry=None) as client:
            yield Replay(client, server)
    finally:
        if server is not None:
            server.stop()
