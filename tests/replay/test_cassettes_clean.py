"""No secret ever reaches the project's cassettes: scan them all with the kit's scanner."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.cat_api.server import API_KEY as CAT_API_KEY
from mysdk.testing import scan_text
from refserver.config import DEFAULT_CLIENT_SECRET

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
CASSETTE_FILES = sorted(p for p in CASSETTES.rglob("*") if p.is_file())


def test_there_are_cassettes_to_scan() -> None:
    assert len(CASSETTE_FILES) >= 9, f"cassettes missing under {CASSETTES}: run `make record`"


@pytest.mark.parametrize("path", CASSETTE_FILES, ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_holds_no_secret(path: Path) -> None:
    assert scan_text(path.read_text(), known=(DEFAULT_CLIENT_SECRET, CAT_API_KEY)) == []


@pytest.mark.parametrize("path", CASSETTE_FILES, ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_is_on_the_canonical_loopback_origin(path: Path) -> None:
    text = path.read_text()
    assert "uri: http://127.0.0.1:8765/" in text
    assert "refserver.test" not in text
