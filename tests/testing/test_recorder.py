"""Recorder: one switch for record or replay; replays block the network."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests
from vcr.errors import CannotOverwriteExistingCassetteException

import mysdk
from mysdk.testing import DEFAULT_CANONICAL_ORIGIN, NetworkBlockedError, Recorder, block_network
from tests.testing.tiny_api import TinyAPI


def test_base_url_is_live_when_recording_and_canonical_when_replaying(tmp_path: Path) -> None:
    assert Recorder(tmp_path, record=False).base_url == DEFAULT_CANONICAL_ORIGIN
    live = Recorder(tmp_path, record=True, live_url="http://127.0.0.1:4000")
    assert live.base_url == "http://127.0.0.1:4000"
    with pytest.raises(RuntimeError, match="live"):
        _ = Recorder(tmp_path, record=True).base_url


def test_replaying_a_cassette_never_recorded_says_how_to_record(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, record=False)
    with pytest.raises(FileNotFoundError, match="--record"), recorder.use_cassette("nope"):
        pass


def test_record_then_replay_with_the_network_blocked(tmp_path: Path, tiny_api: TinyAPI) -> None:
    recording = Recorder(tmp_path, record=True, live_url=tiny_api.url)
    client = mysdk.Client(base_url=recording.base_url,
                          auth=mysdk.APIKey(tiny_api.api_key, header="Api-Key"), retry=None)
    with client, recording.use_cassette("whoami", client=client):
        assert client.get("/whoami") == {"user": "tiny"}
    text = recording.path("whoami").read_text()
    assert tiny_api.api_key not in text  # the client's own credential header, found by itself
    replaying = Recorder(tmp_path, record=False)
    client = mysdk.Client(base_url=replaying.base_url,
                          auth=mysdk.APIKey("dummy", header="Api-Key"), retry=None)
    with client, replaying.use_cassette("whoami", client=client):
        assert client.get("/whoami") == {"user": "tiny"}
        with pytest.raises(NetworkBlockedError):
            socket.create_connection(("127.0.0.1", int(tiny_api.url.rsplit(":", 1)[1])))
        with pytest.raises(CannotOverwriteExistingCassetteException):
            client.get("/whoami")  # played already: a second one is not in the cassette
        replaying.assert_all_played()


def test_assert_all_played_lists_what_was_not_replayed(tmp_path: Path, tiny_api: TinyAPI) -> None:
    with Recorder(tmp_path, record=True, live_url=tiny_api.url).use_cassette("two"), \
            requests.Session() as session:
        session.get(f"{tiny_api.url}/new")
        session.get(f"{tiny_api.url}/missing")
    replaying = Recorder(tmp_path, record=False)
    with replaying.use_cassette("two"), requests.Session() as session:
        session.get(f"{DEFAULT_CANONICAL_ORIGIN}/new")
        with pytest.raises(AssertionError, match=r"1 recorded request\(s\).*GET .*/missing"):
            replaying.assert_all_played()


def test_block_network_refuses_inet_and_restores(tiny_api: TinyAPI) -> None:
    port = int(tiny_api.url.rsplit(":", 1)[1])
    with block_network():
        with pytest.raises(NetworkBlockedError, match="network blocked"):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, \
                pytest.raises(NetworkBlockedError):
            sock.connect_ex(("127.0.0.1", port))
        with pytest.raises(NetworkBlockedError):  # not an OSError: no retry hides it
            requests.get(f"{tiny_api.url}/new", timeout=5)
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # restored


def test_block_network_lets_unix_sockets_through(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(1)
        with block_network(), socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
