"""No secret ever reaches a cassette: scan them all, and prove the scrubber works."""

from __future__ import annotations

from pathlib import Path

import pytest
import vcr

import mysdk
from mysdk.testing import find_secrets, make_vcr
from refserver import ServerConfig, start_server
from refserver.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.replay.conftest import CASSETTES

CASSETTE_FILES = sorted(p for p in CASSETTES.rglob("*") if p.is_file())


def test_there_are_cassettes_to_scan() -> None:
    assert len(CASSETTE_FILES) >= 4, f"no cassettes under {CASSETTES}: run `make record`"


@pytest.mark.parametrize("path", CASSETTE_FILES, ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_holds_no_secret(path: Path) -> None:
    assert find_secrets(path.read_text(), known=(DEFAULT_CLIENT_SECRET,)) == []


def _record(tmp_path: Path, recorder: vcr.VCR, auth_method: str) -> str:
    with start_server(ServerConfig(issue_refresh_tokens=True,
                                   access_token_lifetime=3600)) as server:
        provider = mysdk.ClientCredentials(
            token_url=server.token_url, client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET, auth_method=auth_method,  # type: ignore[arg-type]
        )
        with recorder.use_cassette("flow.yaml"), \
                mysdk.Client(base_url=server.base_url, auth=provider) as client:
            client.cars.list()
            server.expire_access_tokens()
            client.cars.list()  # 401 → refresh grant (refresh_token in the form) → replay
    return (tmp_path / "flow.yaml").read_text()


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_scrubber_removes_every_secret(tmp_path: Path, auth_method: str) -> None:
    text = _record(tmp_path, make_vcr(tmp_path, record=True), auth_method)
    assert "refresh_token" in text  # the refresh grant was recorded ...
    assert find_secrets(text, known=(DEFAULT_CLIENT_SECRET,)) == []  # ... scrubbed


def test_scanner_catches_an_unscrubbed_cassette(tmp_path: Path) -> None:
    plain = vcr.VCR(cassette_library_dir=str(tmp_path), record_mode="all")
    text = _record(tmp_path, plain, "client_secret_post")
    hits = find_secrets(text, known=(DEFAULT_CLIENT_SECRET,))
    assert any(hit.startswith('"access_token"') for hit in hits)
    assert any(hit.startswith("Bearer") for hit in hits)
    assert "<known secret #0>" in hits
