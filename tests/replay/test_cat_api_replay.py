"""The Cat API SDK example, replayed with the kit: an ``X-Api-Key``, error envelopes
whose ``error.code`` must survive scrubbing (the SDK maps ``cat_not_found`` to its own
error), page-number and ``Link`` pagination.

Recorded (``make record``) from ``examples.cat_api.server``; this module's fixtures
replace the Cars ones of ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import mysdk
from examples.cat_api.sdk import CatClient, CatNotFound
from examples.cat_api.server import API_KEY, CatServer
from mysdk.testing import Recorder

pytestmark = pytest.mark.replay


@pytest.fixture
def cat_server(mysdk_recording: bool) -> Iterator[CatServer | None]:
    """The live Cat API while recording; ``None`` while replaying."""
    if not mysdk_recording:
        yield None
        return
    with CatServer() as server:
        yield server


@pytest.fixture
def mysdk_live_url(cat_server: CatServer | None) -> str | None:
    return cat_server.url if cat_server is not None else None


@pytest.fixture
def mysdk_make_client(mysdk_recording: bool) -> Callable[[str], CatClient]:
    key = API_KEY if mysdk_recording else "replay-dummy-key"  # CI has no real key

    def make(base_url: str) -> CatClient:
        return CatClient(base_url=base_url, auth=mysdk.APIKey(key, header="X-Api-Key"),
                         retry=None)

    return make


def test_health(recorded_client: CatClient) -> None:
    assert recorded_client.health().status == "ok"


def test_cats_page_by_page(recorded_client: CatClient, mysdk_recorder: Recorder) -> None:
    names = [cat.name for cat in recorded_client.cats.list(per_page=2)]
    assert names == ["Tom", "Felix", "Garfield"]
    mysdk_recorder.assert_all_played()


def test_photos_follow_the_link_header(recorded_client: CatClient,
                                       mysdk_recorder: Recorder) -> None:
    cat = recorded_client.cats.random()
    photos = list(recorded_client.cats(cat.id).photos.list(limit=2))
    assert [photo.id for photo in photos] == [1, 2, 3, 4, 5]
    assert photos[0].url == f"/photos/{cat.id}/1.jpg"
    mysdk_recorder.assert_all_played()


def test_an_unknown_cat_keeps_its_error_code(recorded_client: CatClient) -> None:
    with pytest.raises(CatNotFound) as info:
        recorded_client.cats.get(999999)
    assert info.value.body["error"]["code"] == "cat_not_found"


def test_create_then_read_a_cat(recorded_client: CatClient) -> None:
    cat = recorded_client.cats.create(name="Luna", color="white")
    assert (cat.name, cat.color) == ("Luna", "white")
    assert recorded_client.cats.get(cat.id) == cat


def test_a_cat_without_a_name_is_refused(recorded_client: CatClient) -> None:
    with pytest.raises(mysdk.UnprocessableEntityError) as info:
        recorded_client.post("/cats", json={"color": "grey"})
    assert info.value.body["error"]["code"] == "invalid_cat"
