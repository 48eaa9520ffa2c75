"""The test kit records and replays the async client too (vcrpy patches httpx):
secrets scrubbed before writing, replay on the canonical origin with the network blocked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import mysdk
from examples.cat_api.sdk import AsyncCatClient
from examples.cat_api.server import API_KEY, CatServer
from mysdk.testing import DEFAULT_CANONICAL_ORIGIN, block_network, make_vcr, scan_text


async def flows(base_url: str) -> dict[str, Any]:
    async with AsyncCatClient(base_url=base_url, retry=None,
                              auth=mysdk.APIKey(API_KEY, header="X-Api-Key")) as client:
        made = await client.cats.create(name="Tom", color="grey")
        photos = [p.url async for p in client.cats(made.id).photos.list(max_items=3)]
        return {"made": made.name, "got": (await client.cats.get(made.id)).name,
                "photos": photos, "names": [c.name async for c in client.cats.list(per_page=2)]}


def test_an_async_recording_is_clean_and_replays_offline(tmp_path: Path) -> None:
    with CatServer() as server:
        probe = AsyncCatClient(base_url=server.url, auth=mysdk.APIKey("k", header="X-Api-Key"))
        # The kit finds the async client's credential headers as it does the sync one's.
        recorder = make_vcr(tmp_path, record=True, canonical_origin=DEFAULT_CANONICAL_ORIGIN,
                            client=probe)
        with recorder.use_cassette("async.yaml"):
            live = asyncio.run(flows(server.url))
    text = (tmp_path / "async.yaml").read_text()
    assert API_KEY not in text
    assert scan_text(text) == []
    assert "127.0.0.1:8765" in text  # written on the canonical origin

    replayer = make_vcr(tmp_path, record=False, canonical_origin=DEFAULT_CANONICAL_ORIGIN)
    with replayer.use_cassette("async.yaml"), block_network():
        replayed = asyncio.run(flows(DEFAULT_CANONICAL_ORIGIN))
    assert replayed == live
    assert live["photos"][0].startswith("/photos/")
